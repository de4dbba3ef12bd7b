/*
 * youju-mailgraph: mailgraph_ext for youju.  It follows log_file, counts
 * per minute what mailgraph_ext counted (mailgraph/classify.c decides
 * which lines), and writes the counts into RRD files with mailgraph_ext's
 * names, data sources, step and archives, so ExtMan's and Debian
 * mailgraph's CGIs read them; plus one file per hosted domain.  The queue
 * sizes are sampled once a minute from queue_directory.  A restart resumes
 * after the last update of mailgraph.rrd (lines of minutes already written
 * are skipped), so nothing is counted twice.  `--cat FILE...` replays old
 * logs (Postfix's or youju's) and exits.  docs/mailgraph.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <rrd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "classify.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "privsep.h"

/* a broken invariant (STYLE.md: active in release builds) */
#define MG_ASSERT(c)                                                           \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)
#define MG_STEP	       60
#define MG_BATCH       128   /* updates per rrd_update_r call */
#define MG_DOMAINS_MAX 4096  /* per-domain files kept open per run */
#define MG_QCACHE      65536 /* queue IDs remembered (direct-mapped) */
#define MG_GRACE       5     /* seconds a minute stays open past its end */
#define MG_NDS_MAX     6
#define MG_READ_MAX    65536
#define MG_OLD_FOLLOW  300 /* seconds a rotated-away file is still read */

/* the files: mailgraph_ext's names and DS order */
enum { F_MAIL, F_VIRUS, F_BYTES, F_COURIER, F_WEBMAIL, F_QUEUE, F_NFILES };
static const struct {
	const char *name;
	const char *ds[MG_NDS_MAX];
	int nds;
} mg_layout[F_NFILES] = {
    {"mailgraph.rrd", {"sent", "recv", "bounced", "rejected"}, 4},
    {"mailgraph_virus.rrd", {"virus", "spam"}, 2},
    {"mailgraph_bytes.rrd", {"bytesin", "bytesout"}, 2},
    {"mailgraph_courier.rrd",
     {"imapd_ssl_login", "imapd_login", "pop3d_ssl_login", "pop3d_login"},
     4},
    {"mailgraph_webmail.rrd", {"wmstat0", "wmstat1", "wmstat2", "wmstat3"}, 4},
    {"mailgraph_queue.rrd",
     {"incoming", "maildrop", "active", "deferred", "hold"},
     5},
};
/* per-domain file: domain/<domain>.rrd */
static const char *const mg_domain_ds[MG_NDS_MAX] = {
    "recv", "sent", "rejected", "bounced", "bytesin", "bytesout",
};
enum { D_RECV, D_SENT, D_REJECTED, D_BOUNCED, D_BYTESIN, D_BYTESOUT };

struct mg_file {
	char path[PATH_MAX];
	const char *const *ds;
	int nds;
	int64_t last; /* last update written (rrd_last), 0: no file yet */
	bool broken;  /* create/update failed: logged once, skipped */
	double v[MG_NDS_MAX]; /* counts of the current minute */
	char *pend[MG_BATCH]; /* "t:v:v..." strings not yet written */
	int npend;
};

struct mg_domain {
	char name[MG_DOMAIN_MAX + 1];
	struct mg_file f;
};

/*
 * What is known of a queue ID.  youju's SMTP server writes the "queue
 * active" line and the queue manager the delivery lines, so a delivery
 * line can come first: its byte and per-domain credit then waits here
 * (pend_*) for the qmgr line.
 */
struct mg_qent {
	char qid[MG_QID_MAX + 1];
	bool via_smtpd;
	bool queued; /* the qmgr line was seen: size, from_domain */
	uint64_t size;
	char from_domain[MG_DOMAIN_MAX + 1];
	unsigned pend_sent, pend_bounced;
	char bounce_domain[MG_DOMAIN_MAX + 1]; /* recipient of pend_bounced */
};

struct mg {
	char rrd_dir[PATH_MAX];
	const char *syslog_name;
	const char *mailbox_base;
	const char *queue_dir;
	bool domains_on;
	bool daemon;
	struct mg_file f[F_NFILES];
	struct mg_domain *dom[MG_DOMAINS_MAX];
	size_t ndom;
	struct mg_qent *qcache; /* MG_QCACHE entries */
	int64_t resume;		/* lines of minutes <= this are skipped */
	int64_t cur;		/* the minute being counted, 0: none yet */
	int64_t early;		/* a minute SIGUSR1 wrote before its end */
	struct mg_clock clk;
	uint64_t lines, counted;
	struct mg_metrics met; /* the daemon's totals for /metrics */
};

static volatile sig_atomic_t mg_stop, mg_hup, mg_close;

static void mg_on_signal(int sig)
{
	if (sig == SIGHUP)
		mg_hup = 1;
	else if (sig == SIGUSR1)
		mg_close = 1;
	else
		mg_stop = 1;
}

static int mg_path(char *out, const char *dir, const char *sub,
		   const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s%s%s", dir, sub,
			 sub[0] ? "/" : "", name);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

static void mg_file_init(struct mg_file *f, const char *const *ds, int nds)
{
	f->ds = ds;
	f->nds = nds;
	f->last = 0;
	struct stat st;
	if (stat(f->path, &st) == 0) {
		rrd_clear_error();
		time_t l = rrd_last_r(f->path);
		if (l <= 0) {
			log_error("mailgraph: %s: %s", f->path,
				  rrd_get_error());
			f->broken = true;
		} else {
			f->last = (int64_t)l;
		}
	}
}

/* mailgraph_ext's layout: step 60, ABSOLUTE, heartbeat 120, AVERAGE and
   MAX at 8/56/280/3360 steps, 198 rows each (web.md §3) */
static int mg_file_create(struct mg_file *f, int64_t start)
{
	static const int steps[4] = {8, 56, 280, 3360};
	char dsbuf[MG_NDS_MAX][64], rra[8][48];
	const char *argv[MG_NDS_MAX + 8];
	int argc = 0;
	for (int i = 0; i < f->nds; i++) {
		int n =
		    snprintf(dsbuf[i], sizeof dsbuf[i], "DS:%s:ABSOLUTE:%d:0:U",
			     f->ds[i], 2 * MG_STEP);
		MG_ASSERT(n > 0 && (size_t)n < sizeof dsbuf[i]);
		argv[argc++] = dsbuf[i];
	}
	for (int i = 0; i < 8; i++) {
		int n = snprintf(rra[i], sizeof rra[i], "RRA:%s:0.5:%d:198",
				 i < 4 ? "AVERAGE" : "MAX", steps[i % 4]);
		MG_ASSERT(n > 0 && (size_t)n < sizeof rra[i]);
		argv[argc++] = rra[i];
	}
	rrd_clear_error();
	if (rrd_create_r(f->path, MG_STEP, (time_t)start, argc, argv) != 0) {
		log_error("mailgraph: cannot create %s: %s", f->path,
			  rrd_get_error());
		f->broken = true;
		return -1;
	}
	f->last = start;
	return 0;
}

static void mg_file_row(struct mg_file *f, int64_t m);

/*
 * A new file whose last update is m: created a consolidation interval
 * (8 steps) earlier and filled with zero rows up to m, so the first
 * minutes counted land in an archive row with enough known steps to be
 * kept (xff 0.5; mailgraph.pl loses them).
 */
static int mg_file_start(struct mg_file *f, int64_t m)
{
	if (mg_file_create(f, m - 9 * MG_STEP) < 0)
		return -1;
	for (int64_t t = m - 8 * MG_STEP; t <= m; t += MG_STEP)
		mg_file_row(f, t);
	return 0;
}

static void mg_file_flush(struct mg_file *f)
{
	if (f->npend == 0)
		return;
	if (!f->broken) {
		rrd_clear_error();
		if (rrd_update_r(f->path, NULL, f->npend,
				 (const char **)f->pend) != 0) {
			log_error("mailgraph: update %s: %s", f->path,
				  rrd_get_error());
			f->broken = true;
		}
	}
	for (int i = 0; i < f->npend; i++)
		free(f->pend[i]);
	f->npend = 0;
}

/* Queues the row of minute m (the current counts) and zeroes them. */
static void mg_file_row(struct mg_file *f, int64_t m)
{
	if (f->broken || m <= f->last) {
		memset(f->v, 0, sizeof f->v);
		return;
	}
	if (f->last == 0) {
		double keep[MG_NDS_MAX];
		memcpy(keep, f->v, sizeof keep);
		memset(f->v, 0, sizeof f->v);
		if (mg_file_start(f, m - MG_STEP) < 0)
			return;
		memcpy(f->v, keep, sizeof keep);
	}
	char row[32 + MG_NDS_MAX * 24];
	int n = snprintf(row, sizeof row, "%lld", (long long)m);
	for (int i = 0; i < f->nds && n > 0 && (size_t)n < sizeof row; i++)
		n +=
		    snprintf(row + n, sizeof row - (size_t)n, ":%.0f", f->v[i]);
	memset(f->v, 0, sizeof f->v);
	if (n < 0 || (size_t)n >= sizeof row)
		return;
	f->pend[f->npend++] = strdup(row);
	if (f->pend[f->npend - 1] == NULL)
		f->npend--;
	f->last = m;
	if (f->npend == MG_BATCH)
		mg_file_flush(f);
}

static void mg_flush_all(struct mg *g)
{
	for (int i = 0; i < F_NFILES; i++)
		mg_file_flush(&g->f[i]);
	for (size_t i = 0; i < g->ndom; i++)
		mg_file_flush(&g->dom[i]->f);
}

/* The count of regular files under dir (recursively one level: youju's
   queue directories may hash into subdirectories). */
static unsigned mg_count_dir(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (e->d_type == DT_DIR && depth < 2) {
			char sub[PATH_MAX];
			if (mg_path(sub, dir, "", e->d_name) == 0)
				n += mg_count_dir(sub, depth + 1);
		} else if (e->d_type == DT_REG || e->d_type == DT_UNKNOWN) {
			n++;
		}
	}
	closedir(d);
	return n;
}

static void mg_sample_queue(struct mg *g)
{
	static const char *const q[5] = {"incoming", NULL, "active", "deferred",
					 "hold"};
	struct mg_file *f = &g->f[F_QUEUE];
	for (int i = 0; i < 5; i++) {
		char p[PATH_MAX];
		f->v[i] =
		    q[i] != NULL && mg_path(p, g->queue_dir, "", q[i]) == 0
			? mg_count_dir(p, 0)
			: 0;
	}
}

/* Writes the rows of every minute before m (zeros for idle minutes). */
static void mg_advance(struct mg *g, int64_t m)
{
	if (g->daemon && g->cur != 0 && g->cur < m)
		mg_sample_queue(g);
	while (g->cur != 0 && g->cur < m) {
		for (int i = 0; i < F_NFILES; i++)
			if (g->daemon || i != F_QUEUE)
				mg_file_row(&g->f[i], g->cur);
		for (size_t i = 0; i < g->ndom; i++)
			mg_file_row(&g->dom[i]->f, g->cur);
		g->cur += MG_STEP;
	}
	if (g->cur == 0)
		g->cur = m;
}

/* A hosted domain: a directory under virtual_mailbox_base. */
static struct mg_domain *mg_domain(struct mg *g, const char *d)
{
	if (!g->domains_on || d[0] == '\0')
		return NULL;
	for (size_t i = 0; i < g->ndom; i++)
		if (strcmp(g->dom[i]->name, d) == 0)
			return g->dom[i];
	if (g->ndom == MG_DOMAINS_MAX)
		return NULL;
	char p[PATH_MAX];
	struct stat st;
	if (mg_path(p, g->mailbox_base, "", d) < 0 || stat(p, &st) < 0 ||
	    !S_ISDIR(st.st_mode))
		return NULL;
	struct mg_domain *x = calloc(1, sizeof *x);
	if (x == NULL)
		return NULL;
	memcpy(x->name, d, strlen(d) + 1);
	char name[MG_DOMAIN_MAX + 8];
	int n = snprintf(name, sizeof name, "%s.rrd", d);
	if (n < 0 || (size_t)n >= sizeof name ||
	    mg_path(x->f.path, g->rrd_dir, "domain", name) < 0) {
		free(x);
		return NULL;
	}
	mg_file_init(&x->f, mg_domain_ds, 6);
	/* a new file starts at the current minute: the rows before it
	   would all be zeros */
	g->dom[g->ndom++] = x;
	return x;
}

static struct mg_qent *mg_qent(struct mg *g, const char *qid, bool create)
{
	uint32_t h = 2166136261u;
	for (const char *p = qid; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	struct mg_qent *e = &g->qcache[h % MG_QCACHE];
	if (strcmp(e->qid, qid) == 0)
		return e;
	if (!create)
		return NULL;
	memset(e, 0, sizeof *e);
	memcpy(e->qid, qid, strlen(qid) + 1);
	return e;
}

static void mg_dcount(struct mg *g, const char *d, int ds, double v)
{
	struct mg_domain *x = mg_domain(g, d);
	if (x != NULL)
		x->f.v[ds] += v;
}

static void mg_credit_sent(struct mg *g, const struct mg_qent *q, unsigned n)
{
	g->f[F_BYTES].v[1] += (double)q->size * n;
	mg_dcount(g, q->from_domain, D_SENT, n);
	mg_dcount(g, q->from_domain, D_BYTESOUT, (double)q->size * n);
}

/* a bounce belongs to the sender's domain when it is hosted, else to
   the recipient's */
static void mg_credit_bounced(struct mg *g, const char *from_domain,
			      const char *rcpt_domain, unsigned n)
{
	if (mg_domain(g, from_domain) != NULL)
		mg_dcount(g, from_domain, D_BOUNCED, n);
	else
		mg_dcount(g, rcpt_domain, D_BOUNCED, n);
}

static void mg_count(struct mg *g, const struct mg_event *ev)
{
	double *mail = g->f[F_MAIL].v;
	struct mg_qent *q;
	switch (ev->kind) {
	case MG_RECEIVED:
		mail[1]++;
		mg_qent(g, ev->qid, true)->via_smtpd = true;
		break;
	case MG_QUEUED:
		q = mg_qent(g, ev->qid, true);
		q->size = ev->size;
		q->queued = true;
		memcpy(q->from_domain, ev->domain, sizeof q->from_domain);
		if (q->via_smtpd)
			g->f[F_BYTES].v[0] +=
			    (double)ev->size * (double)ev->nrcpt;
		if (q->pend_sent > 0)
			mg_credit_sent(g, q, q->pend_sent);
		if (q->pend_bounced > 0)
			mg_credit_bounced(g, q->from_domain, q->bounce_domain,
					  q->pend_bounced);
		q->pend_sent = q->pend_bounced = 0;
		break;
	case MG_SENT:
		mail[0]++;
		q = mg_qent(g, ev->qid, true);
		if (q->queued)
			mg_credit_sent(g, q, 1);
		else
			q->pend_sent++;
		break;
	case MG_DELIVERED:
		q = mg_qent(g, ev->qid, false);
		mg_dcount(g, ev->domain, D_RECV, 1);
		if (q != NULL)
			mg_dcount(g, ev->domain, D_BYTESIN, (double)q->size);
		break;
	case MG_BOUNCED:
		mail[2]++;
		q = mg_qent(g, ev->qid, true);
		if (q->queued) {
			mg_credit_bounced(g, q->from_domain, ev->domain, 1);
		} else {
			q->pend_bounced++;
			memcpy(q->bounce_domain, ev->domain,
			       sizeof q->bounce_domain);
		}
		break;
	case MG_REJECTED:
		mail[3]++;
		mg_dcount(g, ev->domain, D_REJECTED, 1);
		break;
	case MG_VIRUS:
		g->f[F_VIRUS].v[0]++;
		break;
	case MG_SPAM:
		g->f[F_VIRUS].v[1]++;
		break;
	case MG_IMAP_LOGIN:
		g->f[F_COURIER].v[ev->tls ? 0 : 1]++;
		break;
	case MG_POP3_LOGIN:
		g->f[F_COURIER].v[ev->tls ? 2 : 3]++;
		break;
	case MG_WEBMAIL_LOGIN:
		g->f[F_WEBMAIL].v[ev->wm_status]++;
		break;
	case MG_CONNECT:
	case MG_AUTH_FAILED:
	case MG_NONE:
		break;
	}
}

static void mg_line(struct mg *g, const char *line, size_t len)
{
	struct mg_event ev;
	g->lines++;
	if (!mg_classify(line, len, g->syslog_name, &g->clk, &ev))
		return;
	int64_t m = ev.time - ev.time % MG_STEP;
	/* the rest of a minute SIGUSR1 closed early counts in the next */
	if (g->early != 0 && m >= g->early && m < g->cur)
		m = g->cur;
	if (m <= g->resume)
		return; /* written before a restart */
	if (g->cur != 0 && m < g->cur)
		return; /* a late line for a minute already written */
	if (ev.kind == MG_CONNECT || ev.kind == MG_AUTH_FAILED) {
		/* no RRD has them: they do not move the minute */
		if (g->daemon)
			mg_metrics_event(&g->met, &ev);
		return;
	}
	mg_advance(g, m);
	if (!g->daemon) {
		mg_count(g, &ev);
		g->counted++;
		return;
	}
	/* the totals for /metrics: what this line added to the RRD rows */
	double before[F_QUEUE][MG_NDS_MAX];
	for (int i = 0; i < F_QUEUE; i++)
		memcpy(before[i], g->f[i].v, sizeof before[i]);
	mg_count(g, &ev);
	g->counted++;
	double *tot[F_QUEUE] = {g->met.mail, g->met.virus, g->met.bytes,
				g->met.logins, g->met.webmail};
	for (int i = 0; i < F_QUEUE; i++)
		for (int j = 0; j < g->f[i].nds; j++)
			tot[i][j] += g->f[i].v[j] - before[i][j];
	mg_metrics_event(&g->met, &ev);
	g->met.dirty = true;
}

/* Reads whole lines from fd; keeps a partial last line in buf. */
struct mg_reader {
	char buf[MG_READ_MAX];
	size_t len;
	bool skipping; /* inside a line longer than the buffer */
};

static int mg_read(struct mg *g, int fd, struct mg_reader *r)
{
	ssize_t n = read(fd, r->buf + r->len, sizeof r->buf - r->len);
	if (n <= 0)
		return (int)n;
	r->len += (size_t)n;
	size_t start = 0;
	for (;;) {
		char *nl = memchr(r->buf + start, '\n', r->len - start);
		if (nl == NULL)
			break;
		size_t l = (size_t)(nl - (r->buf + start));
		if (!r->skipping)
			mg_line(g, r->buf + start, l);
		r->skipping = false;
		start += l + 1;
	}
	memmove(r->buf, r->buf + start, r->len - start);
	r->len -= start;
	if (r->len == sizeof r->buf) { /* a line too long: drop it */
		r->len = 0;
		r->skipping = true;
	}
	return 1;
}

static void mg_init(struct mg *g, const struct conf *c, const char *rrd_dir)
{
	memset(g, 0, sizeof *g);
	int n = snprintf(
	    g->rrd_dir, sizeof g->rrd_dir, "%s",
	    rrd_dir != NULL ? rrd_dir : conf_str(c, "mailgraph_rrd_directory"));
	if (n < 0 || (size_t)n >= sizeof g->rrd_dir - 64)
		fatal("mailgraph: the RRD directory's name is too long");
	g->syslog_name = conf_str(c, "syslog_name");
	g->mailbox_base = conf_str(c, "virtual_mailbox_base");
	g->queue_dir = conf_str(c, "queue_directory");
	g->domains_on = conf_bool(c, "mailgraph_domains");
	g->clk.now = (int64_t)time(NULL);
	g->qcache = calloc(MG_QCACHE, sizeof *g->qcache);
	if (g->qcache == NULL)
		fatal("mailgraph: out of memory");
	for (int i = 0; i < F_NFILES; i++) {
		if (mg_path(g->f[i].path, g->rrd_dir, "", mg_layout[i].name) <
		    0)
			fatal("mailgraph: %s: path too long", g->rrd_dir);
		mg_file_init(&g->f[i], mg_layout[i].ds, mg_layout[i].nds);
	}
	g->resume = g->f[F_MAIL].last;
	/* idle minutes since the last update are written as zeros */
	if (g->resume > 0)
		g->cur = g->resume + MG_STEP;
}

static void mg_deinit(struct mg *g)
{
	mg_flush_all(g);
	for (size_t i = 0; i < g->ndom; i++)
		free(g->dom[i]);
	free(g->qcache);
}

/* Creates dir (and dir/domain) for mail_owner while still root. */
static void mg_make_dir(const struct conf *c, const char *dir)
{
	char dd[PATH_MAX];
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		fatal("mailgraph: mkdir %s: %s", dir, strerror(errno));
	if (mg_path(dd, dir, "", "domain") < 0 ||
	    (mkdir(dd, 0755) < 0 && errno != EEXIST))
		fatal("mailgraph: mkdir %s/domain: %s", dir, strerror(errno));
	if (geteuid() != 0)
		return;
	uid_t uid;
	gid_t gid;
	if (privsep_lookup(conf_str(c, "mail_owner"), &uid, &gid) != 1)
		fatal("mailgraph: no user %s", conf_str(c, "mail_owner"));
	if (chown(dir, uid, gid) < 0 || chown(dd, uid, gid) < 0)
		fatal("mailgraph: chown %s: %s", dir, strerror(errno));
}

/*
 * The files are opened first (an administrator may replay logs only root
 * can read); parsing runs as mail_owner, who also owns the RRD files the
 * daemon goes on updating.
 */
static int mg_cat(const struct conf *c, const char *rrd_dir, const char *name,
		  int nfiles, char **files)
{
	int rc = 0;
	int *fds = calloc((size_t)nfiles, sizeof *fds);
	if (fds == NULL)
		fatal("mailgraph: out of memory");
	for (int i = 0; i < nfiles; i++) {
		fds[i] = strcmp(files[i], "-") == 0
			     ? 0
			     : open(files[i], O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			fprintf(stderr, "youju-mailgraph: %s: %s\n", files[i],
				strerror(errno));
			rc = 1;
		}
	}
	const char *dir =
	    rrd_dir != NULL ? rrd_dir : conf_str(c, "mailgraph_rrd_directory");
	mg_make_dir(c, dir);
	const char *err = NULL;
	if (privsep_drop(conf_str(c, "mail_owner"), &err) < 0)
		fatal("mailgraph: cannot drop privileges to %s: %s",
		      conf_str(c, "mail_owner"), err);

	struct mg g;
	mg_init(&g, c, rrd_dir);
	if (name != NULL) /* a replay of another host's log */
		g.syslog_name = name;
	static struct mg_reader r;
	for (int i = 0; i < nfiles; i++) {
		int fd = fds[i];
		if (fd < 0)
			continue;
		r.len = 0;
		r.skipping = false;
		int n;
		while ((n = mg_read(&g, fd, &r)) > 0)
			;
		if (n < 0) {
			fprintf(stderr, "youju-mailgraph: %s: %s\n", files[i],
				strerror(errno));
			rc = 1;
		}
		if (r.len > 0 && !r.skipping) /* last line without newline */
			mg_line(&g, r.buf, r.len);
		if (fd != 0)
			close(fd);
	}
	free(fds);
	/* the last minute is complete in an old log: write it too */
	if (g.cur != 0 && g.counted > 0)
		mg_advance(&g, g.cur + MG_STEP);
	mg_flush_all(&g);
	bool broken = false;
	for (int i = 0; i < F_NFILES; i++)
		broken |= g.f[i].broken;
	printf("youju-mailgraph: %llu lines, %llu counted, into %s\n",
	       (unsigned long long)g.lines, (unsigned long long)g.counted,
	       g.rrd_dir);
	mg_deinit(&g);
	return rc != 0 || broken ? 1 : 0;
}

/*
 * SIGUSR1, for tests (docs/mailgraph.md "Closing a minute early"): the
 * minutes being counted, up to the current one, are written now, as if it
 * were over, so a test need
 * not wait for the end of the minute.  Its events read later are counted
 * in the next minute rather than dropped as late.  After a restart within
 * the minute a stop wrote, the minute being counted has not begun yet:
 * nothing is written (no row of the future).
 */
static void mg_close_early(struct mg *g)
{
	int64_t now = (int64_t)time(NULL);
	int64_t wall = now - now % MG_STEP;
	if (g->cur == 0 || g->cur > wall) {
		log_info("mailgraph: SIGUSR1: the minute being counted has "
			 "not begun, nothing written");
		return;
	}
	log_info("mailgraph: minute %lld closed early on SIGUSR1",
		 (long long)wall);
	/* within the grace (MG_GRACE) the minute before is still open */
	g->early = g->cur;
	mg_advance(g, wall + MG_STEP);
	mg_flush_all(g);
}

/*
 * Following log_file: read to the end, then poll once a second.  A new
 * inode at the path (rotation) is switched to after the old file has been
 * read to its end; a file that got shorter (truncation) is read again from
 * the start.
 */
static void mg_follow(struct mg *g, const char *path)
{
	static struct mg_reader r, old_r;
	int fd = -1;
	/* the file before a rotation: processes that have not reopened
	   their log yet still append to it for a while */
	int old_fd = -1;
	int64_t old_until = 0;
	struct stat cur;
	memset(&cur, 0, sizeof cur);
	off_t pos = 0;
	bool metrics_failed = false; /* logged once */
	g->met.started = (int64_t)time(NULL);
	g->met.dirty = true;
	while (!mg_stop) {
		if (mg_hup) {
			mg_hup = 0;
			(void)log_reopen();
		}
		struct stat st;
		bool exists = stat(path, &st) == 0;
		if (fd < 0 && exists) {
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 && fstat(fd, &cur) == 0) {
				pos = 0;
				r.len = 0;
				r.skipping = false;
			}
		}
		if (fd >= 0) {
			struct stat fst;
			if (fstat(fd, &fst) == 0 && fst.st_size < pos) {
				log_info("mailgraph: %s was truncated", path);
				(void)lseek(fd, 0, SEEK_SET);
				pos = 0;
				r.len = 0;
			}
			int n;
			while (!mg_stop && (n = mg_read(g, fd, &r)) > 0)
				pos = lseek(fd, 0, SEEK_CUR);
			if (exists && (st.st_ino != cur.st_ino ||
				       st.st_dev != cur.st_dev)) {
				/* rotated: the old file is read out, and
				   followed a little longer */
				if (old_fd >= 0)
					close(old_fd);
				old_fd = fd;
				old_r = r;
				old_until = (int64_t)time(NULL) + MG_OLD_FOLLOW;
				fd = -1;
				continue;
			}
		}
		if (old_fd >= 0) {
			while (!mg_stop && mg_read(g, old_fd, &old_r) > 0)
				;
			if ((int64_t)time(NULL) > old_until) {
				close(old_fd);
				old_fd = -1;
			}
		}
		/* the signalled close covers every line written before the
		   signal: read to the end once more after taking the flag */
		if (mg_close) {
			mg_close = 0;
			while (fd >= 0 && !mg_stop && mg_read(g, fd, &r) > 0)
				pos = lseek(fd, 0, SEEK_CUR);
			mg_close_early(g);
		}
		/* close the minute once it is over (and a little more, for
		   lines written late) */
		int64_t now = (int64_t)time(NULL);
		int64_t open_min =
		    (now - MG_GRACE) - (now - MG_GRACE) % MG_STEP;
		if (g->cur == 0)
			g->cur = g->resume > 0 && g->resume + MG_STEP > open_min
				     ? g->resume + MG_STEP
				     : open_min;
		if (open_min > g->cur) {
			mg_advance(g, open_min);
			mg_flush_all(g);
		}
		if (g->met.dirty || g->met.lines != g->lines) {
			g->met.lines = g->lines;
			g->met.dirty = false;
			if (mg_metrics_write(&g->met, g->rrd_dir) < 0 &&
			    !metrics_failed) {
				log_warning("mailgraph: %s/%s: %s", g->rrd_dir,
					    MG_METRICS_FILE, strerror(errno));
				metrics_failed = true;
			}
		}
		sleep(1);
	}
	if (fd >= 0)
		close(fd);
	if (old_fd >= 0)
		close(old_fd);
	/* stopping: the current minute is written as it is; lines of it
	   that come later are skipped after a restart.  A minute that has
	   not begun (after SIGUSR1) is not written: a row of the future
	   would make a restart skip the lines up to its end. */
	int64_t now = (int64_t)time(NULL);
	if (g->cur != 0 && g->cur <= now - now % MG_STEP) {
		bool any = false;
		for (int i = 0; i < F_NFILES; i++)
			for (int j = 0; j < g->f[i].nds; j++)
				any |= g->f[i].v[j] != 0;
		for (size_t i = 0; i < g->ndom; i++)
			for (int j = 0; j < 6; j++)
				any |= g->dom[i]->f.v[j] != 0;
		if (any)
			mg_advance(g, g->cur + MG_STEP);
	}
}

static void mg_usage(void)
{
	fprintf(stderr, "usage: youju-mailgraph [-f] [-c configfile]\n"
			"       youju-mailgraph --cat [-c configfile] "
			"[--rrd-dir DIR] [--syslog-name NAME] FILE...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--cat") == 0) {
		const char *cpath = NULL, *rrd_dir = NULL, *name = NULL;
		int i = 2;
		for (; i < argc; i++) {
			if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
				cpath = argv[++i];
			else if (strcmp(argv[i], "--rrd-dir") == 0 &&
				 i + 1 < argc)
				rrd_dir = argv[++i];
			else if (strcmp(argv[i], "--syslog-name") == 0 &&
				 i + 1 < argc)
				name = argv[++i];
			else if (strcmp(argv[i], "--") == 0) {
				i++;
				break;
			} else if (argv[i][0] == '-' && argv[i][1] != '\0')
				mg_usage();
			else
				break;
		}
		if (i >= argc)
			mg_usage();
		char *def = cpath == NULL ? conf_default_path() : NULL;
		const char *err = NULL;
		struct conf *c = conf_load(cpath != NULL ? cpath : def,
					   conf_tables_for("mailgraph"), &err);
		free(def);
		if (c == NULL) {
			fprintf(stderr, "youju-mailgraph: %s\n", err);
			return 1;
		}
		log_set_stderr(true);
		int rc = mg_cat(c, rrd_dir, name, argc - i, argv + i);
		conf_free(&c);
		return rc;
	}

	struct daemon_opts opts;
	struct conf *conf = daemon_begin(argc, argv, "youju-mailgraph",
					 "mailgraph", "mailgraph", &opts);
	const char *err = NULL;
	char pidfile[PATH_MAX];
	if (mg_path(pidfile, conf_str(conf, "run_directory"), "",
		    "youju-mailgraph.pid") < 0)
		fatal("mailgraph: run_directory too long");

	/* the RRD directory belongs to mail_owner, who writes it */
	mg_make_dir(conf, conf_str(conf, "mailgraph_rrd_directory"));
	if (daemon_start(pidfile, opts.foreground, &err) < 0)
		fatal("mailgraph: %s: %s", err, strerror(errno));
	log_set_pid();
	if (privsep_drop(conf_str(conf, "mail_owner"), &err) < 0)
		fatal("mailgraph: cannot drop privileges to %s: %s",
		      conf_str(conf, "mail_owner"), err);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = mg_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct mg g;
	mg_init(&g, conf, NULL);
	g.daemon = true;
	/* a first start: the files begin now, older lines are history for
	   --cat */
	int64_t now = (int64_t)time(NULL);
	if (g.resume == 0) {
		g.resume = now - now % MG_STEP - MG_STEP;
		g.cur = g.resume + MG_STEP;
	}
	for (int i = 0; i < F_NFILES; i++)
		if (g.f[i].last == 0 && mg_file_start(&g.f[i], g.resume) < 0)
			fatal("mailgraph: cannot create the RRD files in %s",
			      g.rrd_dir);
	log_info("mailgraph: counting %s into %s", conf_str(conf, "log_file"),
		 g.rrd_dir);
	daemon_ready();
	mg_follow(&g, conf_str(conf, "log_file"));
	mg_deinit(&g);
	log_info("mailgraph: stopped");
	daemon_pidfile_remove(pidfile);
	free(opts.conf_path);
	log_close();
	conf_free(&conf);
	return 0;
}
