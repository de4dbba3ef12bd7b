/*
 * The queue manager (see qmgr.h and docs/delivery.md).
 *
 * Process layout: youju-mta forks a supervisor (which drops to
 * mail_owner at once), which forks the worker
 * and restarts it (after a second) when it dies.  The worker's main
 * thread watches active/ with inotify (new mail is seen at once, whoever
 * wrote it: the SMTP server, `youju queue flush`, a bounce) and runs the
 * deferred queue every queue_run_delay; delivery threads take one
 * message each.  A message's progress is appended to its own file (D and
 * F records, qfile.h) after each delivery, so a restart resumes where it
 * stopped: at most the delivery in flight is repeated, nothing is lost.
 */
#include "qmgr.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authc.h"
#include "authc_cache.h"
#include "bounce.h"
#include "buf.h"
#include "conf.h"
#include "deliver.h"
#include "dest.h"
#include "dsn.h"
#include "log.h"
#include "maps.h"
#include "privsep.h"
#include "qfile.h"
#include "qmgr_int.h"
#include "queue.h"
#include "recycle.h"
#include "route.h"
#include "sieve_deliver.h"
#include "smtpc.h"
#include "syncgroup.h"
#include "tls.h"
#include "xalloc.h"

#define QMGR_PATH_MAX	   4096
#define QMGR_THREADS_MAX   256
#define QMGR_AUTHD_TIMEOUT 10000
#define QMGR_TARGETS_MAX   1000
/* how long a delivery's flush waits for the other delivery threads'
   (syncgroup.h): the batch is every thread at work, unless one is slow */
#define QMGR_SYNC_DELAY_MS 20
/* a delivery thread's batch (qmgr_deliver_batch): at most this many
   messages, and no more once their files hold this many bytes */
#define QMGR_BATCH_MAX	 8
#define QMGR_BATCH_BYTES (4u << 20)

_Static_assert(QFILE_ID_LEN == QUEUE_ID_LEN, "one queue ID syntax");

static volatile sig_atomic_t qmgr_child;
/* SIGUSR1 (a reload): finish the deliveries in flight, take no new ones,
   exit; the supervisor then exits too (qmgr_drain). */
static volatile sig_atomic_t qmgr_draining;
static int qmgr_wake_fd = -1; /* the worker's wake pipe, for the handler */

static double qmgr_now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int qmgr_path(char *out, const char *dir, const char *sub,
		     const char *id)
{
	int n = snprintf(out, QMGR_PATH_MAX, "%s/%s/%s", dir, sub, id);
	return n < 0 || n >= QMGR_PATH_MAX ? -1 : 0;
}

/* ---- configuration ------------------------------------------------------ */

/* "postmaster" -> "postmaster@$myorigin" (Postfix append_at_myorigin). */
static char *qmgr_qualify(const struct conf *conf, const char *name)
{
	const char *addr = conf_str(conf, name);
	if (strchr(addr, '@') != NULL)
		return xstrdup(addr);
	struct buf b;
	buf_init(&b, QUEUE_VALUE_MAX);
	if (buf_printf(&b, "%s@%s", addr, conf_str(conf, "myorigin")) < 0)
		fatal("%s: address too long", name);
	char *r = xstrdup(b.p);
	buf_deinit(&b);
	return r;
}

static struct map *qmgr_open_map(const struct conf *conf, const char *name)
{
	char err[512];
	const char *spec = conf_str(conf, name);
	if (spec[0] == '\0')
		return NULL;
	struct map *m = map_open(spec, err, sizeof(err));
	if (m == NULL)
		fatal("%s: %s", name, err);
	return m;
}

static void qmgr_cfg_load(struct qmgr_cfg *c, const struct conf *conf)
{
	const char *err = "";
	size_t n;
	c->queue_dir = xstrdup(conf_str(conf, "queue_directory"));
	c->authd_socket = xstrdup(conf_str(conf, "authd_socket"));
	c->hostname = xstrdup(conf_str(conf, "myhostname"));
	sieve_deliver_configure(conf);
	c->relayhost = xstrdup(conf_str(conf, "relayhost"));
	c->limit_message =
	    xstrdup(conf_str(conf, "virtual_maildir_limit_message"));
	c->postmaster = qmgr_qualify(conf, "2bounce_notice_recipient");
	c->bounce_notice = qmgr_qualify(conf, "bounce_notice_recipient");
	c->double_bounce = qmgr_qualify(conf, "double_bounce_sender");
	const char *const *classes = conf_list(conf, "notify_classes", &n);
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(classes[i], "2bounce") == 0)
			c->notify_2bounce = true;
		else if (strcasecmp(classes[i], "bounce") == 0)
			c->notify_bounce = true;
	}
	c->min_backoff = conf_time(conf, "minimal_backoff_time");
	c->max_backoff = conf_time(conf, "maximal_backoff_time");
	if (c->max_backoff < c->min_backoff)
		c->max_backoff = c->min_backoff;
	c->run_delay = conf_time(conf, "queue_run_delay");
	c->max_lifetime = conf_time(conf, "maximal_queue_lifetime");
	c->bounce_lifetime = conf_time(conf, "bounce_queue_lifetime");
	c->delay_warning = conf_time(conf, "delay_warning_time");
	c->active_limit = (size_t)conf_int(conf, "qmgr_message_active_limit");
	c->bounce_size_limit = (size_t)conf_int(conf, "bounce_size_limit");
	c->rcpt_limit =
	    (size_t)conf_int(conf, "default_destination_recipient_limit");
	c->threads = (unsigned)conf_int(conf, "qmgr_delivery_threads");
	c->transport_map = qmgr_open_map(conf, "transport_maps");
	c->dcfg.default_limit =
	    (uint64_t)conf_int(conf, "virtual_mailbox_limit");
	c->dcfg.overquota_bounce = conf_bool(conf, "virtual_overquota_bounce");
	c->dcfg.limit_message = c->limit_message;
	c->dcfg.global_limit_only =
	    !conf_bool(conf, "virtual_mailbox_limit_override");
	c->destcfg.initial =
	    (unsigned)conf_int(conf, "initial_destination_concurrency");
	c->destcfg.limit =
	    (unsigned)conf_int(conf, "default_destination_concurrency_limit");
	c->destcfg.cohort_limit = (unsigned)conf_int(
	    conf, "default_destination_concurrency_failed_cohort_limit");
	c->destcfg.dead_time = c->min_backoff; /* as Postfix's qmgr */
	c->scfg.helo_name = c->hostname;
	c->scfg.relayhost = c->relayhost;
	c->scfg.connect_timeout =
	    (unsigned)conf_time(conf, "smtp_connect_timeout");
	c->scfg.cmd_timeout = (unsigned)conf_time(conf, "smtp_helo_timeout");
	c->scfg.data_timeout =
	    (unsigned)conf_time(conf, "smtp_data_done_timeout");
	c->scfg.cache_time =
	    conf_bool(conf, "smtp_connection_cache_on_demand")
		? (unsigned)conf_time(conf, "smtp_connection_cache_time_limit")
		: 0;
	c->scfg.reuse_time =
	    (unsigned)conf_time(conf, "smtp_connection_reuse_time_limit");
	c->scfg.line_limit = (size_t)conf_int(conf, "smtp_line_length_limit");
	c->scfg.sasl_enable = conf_bool(conf, "smtp_sasl_auth_enable");
	c->scfg.sasl_passwords =
	    c->scfg.sasl_enable ? qmgr_open_map(conf, "smtp_sasl_password_maps")
				: NULL;
	const char *lvl = conf_str(conf, "smtp_tls_security_level");
	c->scfg.tls_level =
	    strcmp(lvl, "none") == 0	  ? SMTPC_TLS_NONE
	    : strcmp(lvl, "encrypt") == 0 ? SMTPC_TLS_ENCRYPT
	    : strcmp(lvl, "verify") == 0 || strcmp(lvl, "secure") == 0
		? SMTPC_TLS_VERIFY
		: SMTPC_TLS_MAY;
	c->scfg.tls_policy = qmgr_open_map(conf, "smtp_tls_policy_maps");
	/* an opportunistic context for may/encrypt, a verifying one for
	   verify/secure (globally or through the policy table) */
	if (c->scfg.tls_level != SMTPC_TLS_NONE || c->scfg.tls_policy != NULL) {
		c->scfg.tls = tls_client_ctx_new(false, NULL, &err);
		if (c->scfg.tls == NULL)
			log_warning("SMTP client TLS disabled: %s", err);
	}
	if (c->scfg.tls_level == SMTPC_TLS_VERIFY ||
	    c->scfg.tls_policy != NULL) {
		const char *ca = conf_str(conf, "smtp_tls_CAfile");
		c->scfg.tls_verify =
		    tls_client_ctx_new(true, ca[0] != '\0' ? ca : NULL, &err);
		if (c->scfg.tls_verify == NULL)
			log_warning("SMTP client TLS verification impossible "
				    "(mail for verify destinations waits): %s",
				    err);
	}
	const char *const *dt = conf_list(conf, "defer_transports", &n);
	c->defer_transports = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char *d = xstrdup(dt[i]);
		for (char *p = d; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		c->defer_transports[c->ndefer++] = d;
	}
}

/* smtp_tls_security_level's words, or -1. */
static int qmgr_tls_level(const char *lvl)
{
	if (strcmp(lvl, "none") == 0)
		return SMTPC_TLS_NONE;
	if (strcmp(lvl, "may") == 0)
		return SMTPC_TLS_MAY;
	if (strcmp(lvl, "encrypt") == 0)
		return SMTPC_TLS_ENCRYPT;
	if (strcmp(lvl, "verify") == 0 || strcmp(lvl, "secure") == 0)
		return SMTPC_TLS_VERIFY;
	return -1;
}

int qmgr_check_conf(const struct conf *conf, char *err, size_t errsz)
{
	static const char *const maps[] = {"transport_maps",
					   "smtp_sasl_password_maps",
					   "smtp_tls_policy_maps"};
	char merr[512];
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		const char *spec = conf_str(conf, maps[i]);
		if (spec[0] == '\0')
			continue;
		struct map *m = map_open(spec, merr, sizeof(merr));
		if (m == NULL) {
			(void)snprintf(err, errsz, "%s: %s", maps[i], merr);
			return -1;
		}
		map_free(&m);
	}
	const char *lvl = conf_str(conf, "smtp_tls_security_level");
	if (qmgr_tls_level(lvl) < 0) {
		(void)snprintf(
		    err, errsz,
		    "bad value for smtp_tls_security_level: '%s' "
		    "(expected none, may, encrypt, verify or secure)",
		    lvl);
		return -1;
	}
	return 0;
}

/* ---- logging ------------------------------------------------------------ */

static const char *qmgr_status_name(enum deliver_status s)
{
	return s == DELIVER_OK	    ? "sent"
	       : s == DELIVER_DEFER ? "deferred"
				    : "bounced";
}

static void qmgr_fmt_secs(char *out, size_t sz, double v)
{
	if (v < 0)
		v = 0;
	if (v < 0.01)
		snprintf(out, sz, "%s", v < 0.005 ? "0" : "0.01");
	else if (v < 10)
		snprintf(out, sz, "%.2g", v);
	else
		snprintf(out, sz, "%.0f", v);
}

static void qmgr_log_target(struct qmgr_job *j, struct qmgr_target *t)
{
	const char *orig = j->qf.rcpts[t->rcpt].addr;
	char orig_to[QUEUE_VALUE_MAX + 16] = "";
	char d[16], a[16], b[16], dd[16];
	if (strcasecmp(orig, t->addr) != 0)
		snprintf(orig_to, sizeof(orig_to), "orig_to=<%s>, ", orig);
	double end = t->t_end > 0 ? t->t_end : qmgr_now();
	double start = t->t_start > 0 ? t->t_start : end;
	qmgr_fmt_secs(d, sizeof(d), end - j->arrival);
	qmgr_fmt_secs(a, sizeof(a), j->t_pick - j->arrival);
	qmgr_fmt_secs(b, sizeof(b), start - j->t_pick);
	qmgr_fmt_secs(dd, sizeof(dd), end - start);
	const char *relay = t->relay[0] != '\0' ? t->relay : "none";
	/* under Postfix's delivery agent names: mailgraph counts "sent"
	   from smtp and bounces from smtp, error, virtual */
	log_info_as(t->kind == TGT_MAILBOX   ? "virtual"
		    : t->kind == TGT_REMOTE  ? "smtp"
		    : t->kind == TGT_DISCARD ? "discard"
		    : t->kind == TGT_BOUNCE  ? "error"
					     : "qmgr",
		    "%s: to=<%s>, %srelay=%s, delay=%s, delays=%s/%s/0/%s, "
		    "dsn=%s, status=%s (%s)",
		    j->id, t->addr, orig_to, relay, d, a, b, dd, t->res.dsn,
		    qmgr_status_name(t->res.status), t->res.text);
	t->logged = true;
}

/* ---- resolution --------------------------------------------------------- */

static void qmgr_set(struct qmgr_target *t, enum deliver_status st,
		     const char *dsn, const char *text)
{
	t->res.status = st;
	snprintf(t->res.dsn, sizeof(t->res.dsn), "%s", dsn);
	snprintf(t->res.text, sizeof(t->res.text), "%s", text);
}

static struct qmgr_target *qmgr_add_target(struct qmgr_job *j, size_t rcpt,
					   const char *addr,
					   enum qmgr_kind kind)
{
	j->t = xrealloc(j->t, (j->nt + 1) * sizeof(*j->t));
	struct qmgr_target *t = &j->t[j->nt++];
	memset(t, 0, sizeof(*t));
	t->rcpt = rcpt;
	t->addr = xstrdup(addr);
	t->kind = kind;
	snprintf(t->transport, sizeof(t->transport), "%s",
		 kind == TGT_REMOTE ? "smtp" : "virtual");
	return t;
}

static bool qmgr_seen(const struct qmgr_job *j, const char *addr)
{
	for (size_t i = 0; i < j->nt; i++)
		if (strcasecmp(j->t[i].addr, addr) == 0 &&
		    j->t[i].kind != TGT_DEFER)
			return true;
	return false;
}

/* A target to be delivered or reported, unless an earlier recipient or
   an earlier run already took care of it. */
static struct qmgr_target *qmgr_target(struct qmgr_job *j, size_t rcpt,
				       const char *addr, enum qmgr_kind kind)
{
	if (qfile_final_done(&j->qf, addr) || qmgr_seen(j, addr))
		return NULL;
	return qmgr_add_target(j, rcpt, addr, kind);
}

static void qmgr_unknown(struct qmgr_job *j, size_t rcpt, const char *addr)
{
	struct qmgr_target *t = qmgr_target(j, rcpt, addr, TGT_BOUNCE);
	if (t != NULL) {
		snprintf(t->relay, sizeof(t->relay), "virtual");
		qmgr_set(t, DELIVER_BOUNCE, "5.1.1", "unknown user: \"");
		size_t l = strlen(t->res.text);
		snprintf(t->res.text + l, sizeof(t->res.text) - l, "%s\"",
			 addr);
	}
}

static void qmgr_defer_rcpt(struct qmgr_job *j, size_t rcpt, const char *dsn,
			    const char *text)
{
	struct qmgr_target *t =
	    qmgr_add_target(j, rcpt, j->qf.rcpts[rcpt].addr, TGT_DEFER);
	qmgr_set(t, DELIVER_DEFER, dsn, text);
}

/* The absolute Maildir of an authd reply (lib/authc's one HOME/MAILDIR
   rule), owned; NULL when it has none (delivery defers). */
static char *qmgr_maildir(const struct authc_reply *r)
{
	struct authc_account a;
	const char *err;
	return authc_account_get(r, &a, &err) == 0 ? xstrdup(a.maildir) : NULL;
}

static void qmgr_mailbox(struct qmgr_job *j, size_t rcpt, const char *addr,
			 const struct authc_reply *known)
{
	struct qmgr_target *t = qmgr_target(j, rcpt, addr, TGT_MAILBOX);
	if (t == NULL)
		return;
	snprintf(t->relay, sizeof(t->relay), "virtual");
	if (known != NULL) {
		const char *qt = authc_get(known, "QUOTA");
		t->maildir = qmgr_maildir(known);
		t->quota = qt != NULL ? xstrdup(qt) : NULL;
		return;
	}
	struct authc_reply u = {0};
	enum authc_status st =
	    authc_lookup_user(j->q->cfg.authd_socket, addr, &u);
	if (st == AUTHC_OK) {
		const char *active = authc_get(&u, "ACTIVE");
		const char *qt = authc_get(&u, "QUOTA");
		if (active != NULL && strcmp(active, "1") != 0) {
			t->kind = TGT_BOUNCE;
			qmgr_set(t, DELIVER_BOUNCE, "5.2.1",
				 "mailbox is disabled");
		} else {
			t->maildir = qmgr_maildir(&u);
			t->quota = qt != NULL ? xstrdup(qt) : NULL;
		}
	} else if (st == AUTHC_NOTFOUND) {
		t->kind = TGT_BOUNCE;
		qmgr_set(t, DELIVER_BOUNCE, "5.1.1",
			 "unknown user in virtual mailbox table");
	} else {
		t->kind = TGT_DEFER;
		qmgr_set(t, DELIVER_DEFER, "4.3.0", "temporary lookup failure");
	}
	authc_reply_free(&u);
}

static const char *qmgr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at != NULL ? at + 1 : "";
}

/* A remote target through nexthop (NULL or "": relayhost, else the
   recipient's domain). */
static void qmgr_remote(struct qmgr_job *j, size_t rcpt, const char *addr,
			const char *nexthop, const char *transport)
{
	struct qmgr_target *t = qmgr_target(j, rcpt, addr, TGT_REMOTE);
	if (t == NULL)
		return;
	if (transport != NULL && transport[0] != '\0')
		snprintf(t->transport, sizeof(t->transport), "%s", transport);
	const char *relay = j->q->cfg.relayhost;
	const char *hop = nexthop != NULL && nexthop[0] != '\0' ? nexthop
			  : relay[0] != '\0'			? relay
					     : qmgr_domain(addr);
	snprintf(t->nexthop, sizeof(t->nexthop), "%s", hop);
}

/* Applies a route found for addr; false when it says "deliver here". */
static bool qmgr_route(struct qmgr_job *j, size_t rcpt, const char *addr,
		       const struct route *r)
{
	struct qmgr_target *t;
	switch (r->kind) {
	case ROUTE_LOCAL:
		return false;
	case ROUTE_SMTP:
		qmgr_remote(j, rcpt, addr,
			    r->nexthop[0] != '\0' ? r->nexthop
						  : qmgr_domain(addr),
			    r->transport);
		return true;
	case ROUTE_ERROR:
		if ((t = qmgr_target(j, rcpt, addr, TGT_BOUNCE)) != NULL)
			qmgr_set(t, DELIVER_BOUNCE, r->dsn, r->text);
		return true;
	case ROUTE_RETRY:
		if ((t = qmgr_target(j, rcpt, addr, TGT_DEFER)) != NULL)
			qmgr_set(t, DELIVER_DEFER, r->dsn, r->text);
		return true;
	case ROUTE_DISCARD:
		if ((t = qmgr_target(j, rcpt, addr, TGT_DISCARD)) != NULL) {
			snprintf(t->relay, sizeof(t->relay), "discard");
			qmgr_set(t, DELIVER_OK, "2.0.0", r->text);
		}
		return true;
	}
	return false;
}

/* The domain's answer is known for this message already. */
static bool qmgr_domain_known(const struct qmgr_job *j, const char *domain)
{
	return j->dom_name != NULL && strcasecmp(j->dom_name, domain) == 0;
}

/* Remembers a domain's answer (status, transport column; NULL or empty:
   none) for the rest of the message. */
static void qmgr_domain_set(struct qmgr_job *j, const char *domain,
			    enum authc_status st, const char *transport)
{
	free(j->dom_name);
	free(j->dom_transport);
	j->dom_name = xstrdup(domain);
	j->dom_status = st;
	j->dom_transport =
	    st == AUTHC_OK && transport != NULL && transport[0] != '\0'
		? xstrdup(transport)
		: NULL;
}

/* LOOKUP domain, remembered for the rest of the message. */
static enum authc_status qmgr_lookup_domain(struct qmgr_job *j,
					    const char *domain)
{
	if (qmgr_domain_known(j, domain))
		return j->dom_status;
	struct authc_reply d = {0};
	enum authc_status st =
	    authc_lookup_domain(j->q->cfg.authd_socket, domain, &d);
	qmgr_domain_set(j, domain, st, authc_get(&d, "TRANSPORT"));
	authc_reply_free(&d);
	return j->dom_status;
}

/*
 * Routing of one original recipient, in Postfix's order: transport_maps,
 * then the domain's transport column, then (hosted domains) youju-authd's
 * recipient lookup, else remote delivery (relayhost or MX).
 */
static void qmgr_resolve(struct qmgr_job *j, size_t rcpt)
{
	const char *addr = j->qf.rcpts[rcpt].addr;
	const char *sock = j->q->cfg.authd_socket;
	const char *at = strrchr(addr, '@');
	struct route rt;
	if (at == NULL || at[1] == '\0') {
		struct qmgr_target *t = qmgr_target(j, rcpt, addr, TGT_BOUNCE);
		if (t != NULL)
			qmgr_set(t, DELIVER_BOUNCE, "5.1.3",
				 "bad address syntax");
		return;
	}
	if (strcasecmp(addr, j->q->cfg.double_bounce) == 0) {
		/* replies to postmaster notices end here (no loops) */
		struct qmgr_target *t = qmgr_target(j, rcpt, addr, TGT_DISCARD);
		if (t != NULL) {
			snprintf(t->relay, sizeof(t->relay), "none");
			qmgr_set(t, DELIVER_OK, "2.0.0", "discarded");
		}
		return;
	}
	enum route_status rs = route_lookup(j->q->cfg.transport_map, addr, &rt);
	if (rs == ROUTE_TEMPFAIL) {
		qmgr_defer_rcpt(j, rcpt, "4.3.0",
				"transport table lookup failure");
		return;
	}
	if (rs == ROUTE_FOUND && qmgr_route(j, rcpt, addr, &rt))
		return;
	struct authc_reply r = {0};
	enum authc_status st = AUTHC_TEMPFAIL;
	bool asked = false;
	if (rs == ROUTE_NONE && !qmgr_domain_known(j, at + 1)) {
		/* ask once: a found recipient's reply names its domain's
		   transport column (DOMAIN_TRANSPORT), which is all the
		   LOOKUP domain below was for; the domain is asked on its
		   own only when the recipient was not found (hosted, or
		   not?) or the reply lacks the field */
		st = authc_lookup_rcpt(sock, addr, &r);
		asked = true;
		const char *dt =
		    st == AUTHC_OK ? authc_get(&r, "DOMAIN_TRANSPORT") : NULL;
		if (dt != NULL)
			qmgr_domain_set(j, at + 1, AUTHC_OK, dt);
	}
	if (rs == ROUTE_NONE) {
		enum authc_status ds = qmgr_lookup_domain(j, at + 1);
		if (ds == AUTHC_TEMPFAIL) {
			qmgr_defer_rcpt(j, rcpt, "4.3.0",
					"temporary lookup failure");
			authc_reply_free(&r);
			return;
		}
		if (ds == AUTHC_NOTFOUND) {
			qmgr_remote(j, rcpt, addr, NULL, NULL);
			authc_reply_free(&r);
			return;
		}
		/* ExtMan's column: junk in it must not stop local mail */
		if (j->dom_transport != NULL) {
			if (route_parse(j->dom_transport, &rt) < 0) {
				log_warning("%s: domain %s: unusable transport "
					    "\"%.100s\" ignored",
					    j->id, at + 1, j->dom_transport);
			} else if (qmgr_route(j, rcpt, addr, &rt)) {
				authc_reply_free(&r);
				return;
			}
		}
	}
	if (!asked)
		st = authc_lookup_rcpt(sock, addr, &r);
	if (st == AUTHC_TEMPFAIL) {
		qmgr_defer_rcpt(j, rcpt, "4.3.0", "temporary lookup failure");
		authc_reply_free(&r);
		return;
	}
	if (st == AUTHC_NOTFOUND) {
		qmgr_unknown(j, rcpt, addr);
		authc_reply_free(&r);
		return;
	}
	const char *type = authc_get(&r, "TYPE");
	if (type != NULL && strcmp(type, "mailbox") == 0) {
		const char *a = authc_get(&r, "ADDRESS");
		qmgr_mailbox(j, rcpt, a != NULL ? a : addr, &r);
	} else {
		size_t n = 0;
		for (size_t i = 0; i < r.n && n < QMGR_TARGETS_MAX; i++) {
			const char *k = r.kv[i].key, *v = r.kv[i].value;
			if (strcmp(k, "MAILBOX") == 0) {
				qmgr_mailbox(j, rcpt, v, NULL);
			} else if (strcmp(k, "REMOTE") == 0) {
				/* forwarded mail is routed like any other */
				struct route ar;
				enum route_status ars = route_lookup(
				    j->q->cfg.transport_map, v, &ar);
				if (ars == ROUTE_TEMPFAIL) {
					struct qmgr_target *t =
					    qmgr_target(j, rcpt, v, TGT_DEFER);
					if (t != NULL)
						qmgr_set(t, DELIVER_DEFER,
							 "4.3.0",
							 "transport table "
							 "lookup failure");
				} else if (ars == ROUTE_NONE ||
					   !qmgr_route(j, rcpt, v, &ar)) {
					qmgr_remote(j, rcpt, v, NULL, NULL);
				}
			} else if (strcmp(k, "UNKNOWN") == 0) {
				qmgr_unknown(j, rcpt, v);
			} else {
				continue;
			}
			n++;
		}
		if (n == 0)
			qmgr_unknown(j, rcpt, addr);
	}
	authc_reply_free(&r);
}

/* ---- progress records ---------------------------------------------------- */

static int qmgr_record(struct qmgr_job *j, struct buf *b)
{
	if (b->len == 0)
		return 0;
	if (qfile_append(j->fd, b->p, b->len) < 0) {
		log_error("%s: cannot record delivery progress: %s", j->id,
			  strerror(errno));
		return -1;
	}
	buf_reset(b);
	return 0;
}

/*
 * A finished target's "F" record waits in j->pending: the common case is
 * a message whose every recipient finishes in this pass, and its file is
 * unlinked without ever writing them (the deliveries themselves are
 * durable; a crash before the unlink delivers again: at least once, as a
 * crash between a delivery and its record always did).  They go to disk
 * before anything slow (an SMTP transaction), and with the other records
 * when the file stays.
 */
static int qmgr_record_final(struct qmgr_job *j, const char *addr)
{
	if (buf_printf(&j->pending, "F %s\n", addr) == 0)
		return 0;
	if (qmgr_record(j, &j->pending) < 0 ||
	    buf_printf(&j->pending, "F %s\n", addr) < 0)
		return -1;
	return 0;
}

/* ---- delivery ------------------------------------------------------------ */

/* defer_transports: their targets wait (Postfix's "deferred transport")
   until `youju queue flush`. */
static void qmgr_hold_transports(struct qmgr_job *j)
{
	const struct qmgr_cfg *c = &j->q->cfg;
	if (c->ndefer == 0 || j->flushed)
		return;
	for (size_t i = 0; i < j->nt; i++) {
		struct qmgr_target *t = &j->t[i];
		if (t->kind != TGT_MAILBOX && t->kind != TGT_REMOTE)
			continue;
		for (size_t k = 0; k < c->ndefer; k++)
			if (strcmp(c->defer_transports[k], t->transport) == 0) {
				t->kind = TGT_DEFER;
				snprintf(t->relay, sizeof(t->relay), "none");
				qmgr_set(t, DELIVER_DEFER, "4.3.2",
					 "deferred transport");
				break;
			}
	}
}

/*
 * True when `youju queue flush` ran since the message's last deferral:
 * the flush stamp (spool/flush.stamp, touched by the command) is newer
 * than the file's retry time minus its back-off (the moment it was
 * deferred; new mail: its arrival).
 */
static bool qmgr_flushed(const struct qmgr_job *j)
{
	char p[QMGR_PATH_MAX];
	struct stat st, fs;
	if (qmgr_path(p, j->q->cfg.queue_dir, "", "flush.stamp") < 0 ||
	    stat(p, &fs) < 0 || fstat(j->fd, &st) < 0)
		return false;
	int64_t deferred_at = (int64_t)st.st_mtim.tv_sec - j->qf.backoff;
	return (int64_t)fs.st_mtim.tv_sec >= deferred_at;
}

/*
 * Local targets: each is delivered (deliver.h) without a flush of its own
 * when its Maildir is on the queue's file system, its file left in tmp/.
 * Then two requests to the sync group (syncgroup.h), each shared with the
 * other delivery threads: the first makes the files' bytes durable, only
 * then are they linked into new/ (Maildir's rule: never a name in new/
 * for bytes a crash could tear), and the second makes those names
 * durable; only then are they logged as sent and counted as done.  A
 * failed flush defers them (the next attempt delivers again: at least
 * once, never lost).  A per-recipient decision on where the message goes
 * (a filter's folder or redirect) belongs before deliver_maildir(), the
 * flushes after every target of the message.
 */
static bool qmgr_local_write(struct qmgr_job *j)
{
	bool flush = false;
	for (size_t i = 0; i < j->nt; i++) {
		struct qmgr_target *t = &j->t[i];
		if (t->kind == TGT_DISCARD) {
			t->t_start = t->t_end = qmgr_now();
			continue;
		}
		if (t->kind != TGT_MAILBOX)
			continue;
		t->t_start = qmgr_now();
		/* with the mailbox's Sieve script, if any (docs/sieve.md) */
		struct sieve_deliver_ctx sc = {
		    j->q->cfg.queue_dir, j->q->cfg.hostname,	    j->id,
		    j->qf.sender,	 j->qf.rcpts[t->rcpt].addr, j->qf.msg,
		    j->qf.msg_len};
		sieve_deliver(&j->q->cfg.dcfg, &sc, t->addr, t->maildir,
			      t->quota, &t->res);
		t->t_end = qmgr_now();
		flush |= t->res.status == DELIVER_OK && t->res.unsynced;
	}
	return flush;
}

/* After the first flush (sync_errno: its failure, or 0): the files are
   linked into new/, or dropped from tmp/.  True when a name needs the
   second flush. */
static bool qmgr_local_link(struct qmgr_job *j, int sync_errno)
{
	bool names = false;
	for (size_t i = 0; i < j->nt; i++) {
		struct qmgr_target *t = &j->t[i];
		if (t->kind != TGT_MAILBOX)
			continue;
		if (t->res.status != DELIVER_OK || sync_errno != 0)
			deliver_drop(&t->res); /* never named; deferred below */
		else if (deliver_link(&t->res) == 0 && t->res.unsynced)
			names = true;
	}
	return names;
}

/* After the second flush: the local targets' outcomes, logged. */
static void qmgr_local_done(struct qmgr_job *j, int sync_errno)
{
	for (size_t i = 0; i < j->nt; i++) {
		struct qmgr_target *t = &j->t[i];
		if (t->kind != TGT_MAILBOX && t->kind != TGT_DISCARD)
			continue;
		if (t->res.status == DELIVER_OK && t->res.unsynced &&
		    sync_errno != 0)
			qmgr_set(t, DELIVER_DEFER, "4.3.0",
				 "cannot flush the maildir");
		else if (t->res.unsynced)
			t->t_end = qmgr_now(); /* the flush is part of it */
		if (t->kind == TGT_DISCARD || t->res.status == DELIVER_OK)
			(void)qmgr_record_final(j, t->addr);
		qmgr_log_target(j, t);
	}
	if (sync_errno != 0)
		log_error("%s: syncfs of the queue file system: %s", j->id,
			  strerror(sync_errno));
}

/*
 * Remote targets, one transaction per next hop and at most
 * default_destination_recipient_limit recipients each.  Every attempt
 * holds a slot of its destination's concurrency window; a dead
 * destination defers its mail without a connection.
 */
static void qmgr_deliver_remote(struct qmgr_job *j)
{
	const struct qmgr_cfg *c = &j->q->cfg;
	bool *done = xcalloc(j->nt + 1, sizeof(bool));
	struct smtpc_rcpt *rc = xcalloc(j->nt + 1, sizeof(*rc));
	size_t *map = xcalloc(j->nt + 1, sizeof(size_t));
	size_t limit = c->rcpt_limit > 0 ? c->rcpt_limit : 1;
	for (size_t i = 0; i < j->nt; i++) {
		if (j->t[i].kind != TGT_REMOTE || done[i])
			continue;
		const char *hop = j->t[i].nexthop;
		size_t n = 0;
		for (size_t k = i; k < j->nt && n < limit; k++) {
			if (j->t[k].kind != TGT_REMOTE || done[k] ||
			    strcasecmp(j->t[k].nexthop, hop) != 0)
				continue;
			done[k] = true;
			const struct qfile_rcpt *orig =
			    &j->qf.rcpts[j->t[k].rcpt];
			memset(&rc[n], 0, sizeof(rc[n]));
			rc[n].addr = j->t[k].addr;
			rc[n].notify = orig->notify;
			rc[n].orcpt = orig->orcpt;
			rc[n].orig = orig->addr;
			map[n++] = k;
		}
		char relay[QMGR_RELAY_MAX], why[400];
		/* what is finished so far survives a crash in the
		   (slow) transaction */
		(void)qmgr_record(j, &j->pending);
		double t0 = qmgr_now();
		if (dest_acquire(j->q->dests, hop, why, sizeof(why)) < 0) {
			for (size_t m = 0; m < n; m++) {
				struct deliver_result *r = &rc[m].res;
				r->status = DELIVER_DEFER;
				snprintf(r->dsn, sizeof(r->dsn), "4.4.1");
				snprintf(r->text, sizeof(r->text),
					 "delivery temporarily suspended: %s",
					 why);
			}
			snprintf(relay, sizeof(relay), "none");
		} else {
			struct smtpc_msg m = {
			    .sender = j->qf.sender,
			    .envid = j->qf.envid,
			    .ret = j->qf.ret,
			    .data = j->qf.msg,
			    .len = j->qf.msg_len,
			};
			int alive = smtpc_deliver(&c->scfg, hop, &m, rc, n,
						  relay, sizeof(relay));
			dest_release(j->q->dests, hop,
				     alive > 0	  ? DEST_OK
				     : alive == 0 ? DEST_FAILED
						  : DEST_NEUTRAL,
				     n > 0 ? rc[0].res.text : "");
		}
		double t1 = qmgr_now();
		for (size_t m = 0; m < n; m++) {
			struct qmgr_target *t = &j->t[map[m]];
			t->res = rc[m].res;
			t->dsn_passed = rc[m].dsn_passed;
			t->t_start = t0;
			t->t_end = t1;
			snprintf(t->relay, sizeof(t->relay), "%s", relay);
			if (t->res.status == DELIVER_OK)
				(void)qmgr_record_final(j, t->addr);
			qmgr_log_target(j, t);
		}
	}
	free(done);
	free(rc);
	free(map);
}

/* Postfix's exponential back-off: each deferral doubles the previous
   wait (the file's last B record), within [minimal_backoff_time,
   maximal_backoff_time]. */
static int64_t qmgr_backoff(const struct qmgr_cfg *c, int64_t previous)
{
	int64_t d = previous > 0 && previous <= INT64_MAX / 2 ? previous * 2
							      : c->min_backoff;
	if (d < c->min_backoff)
		d = c->min_backoff;
	if (d > c->max_backoff)
		d = c->max_backoff;
	return d;
}

static void qmgr_move_corrupt(struct qmgr *q, const char *id, const char *why)
{
	char src[QMGR_PATH_MAX], dst[QMGR_PATH_MAX];
	log_warning("%s: corrupt queue file: %s: moved to corrupt/", id, why);
	if (qmgr_path(src, q->cfg.queue_dir, "active", id) == 0 &&
	    qmgr_path(dst, q->cfg.queue_dir, "corrupt", id) == 0 &&
	    rename(src, dst) < 0)
		log_error("%s: rename to corrupt/: %s", id, strerror(errno));
}

static void qmgr_job_free(struct qmgr_job *j)
{
	free(j->dom_name);
	free(j->dom_transport);
	j->dom_name = j->dom_transport = NULL;
	for (size_t i = 0; i < j->nt; i++) {
		free(j->t[i].addr);
		free(j->t[i].maildir);
		free(j->t[i].quota);
	}
	free(j->t);
	j->t = NULL;
	j->nt = 0;
}

/* Releases what qmgr_job_open() took. */
static void qmgr_job_close(struct qmgr_job *j)
{
	qmgr_job_free(j);
	buf_deinit(&j->pending);
	qfile_free(&j->qf);
	free(j->data);
	j->data = NULL;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

/* Takes the message id from active/: read, parsed and resolved into j.
   False when there is nothing to deliver (gone meanwhile, unreadable,
   or moved to corrupt/); j is then released. */
static bool qmgr_job_open(struct qmgr *q, const char *id, struct qmgr_job *j)
{
	const struct qmgr_cfg *c = &q->cfg;
	char path[QMGR_PATH_MAX];
	const char *err = "";

	memset(j, 0, sizeof(*j));
	j->q = q;
	j->fd = -1;
	buf_init(&j->pending, (size_t)1 << 24);
	memcpy(j->id, id, QUEUE_ID_LEN + 1);
	j->t_pick = qmgr_now();
	if (qmgr_path(path, c->queue_dir, "active", id) < 0) {
		buf_deinit(&j->pending);
		return false;
	}
	/* relative to active/: no walk of the queue's path per message */
	j->fd = q->active_fd >= 0 ? openat(q->active_fd, id, O_RDWR | O_CLOEXEC)
				  : open(path, O_RDWR | O_CLOEXEC);
	if (j->fd < 0) {
		if (errno != ENOENT)
			log_error("%s: open %s: %s", id, path, strerror(errno));
		buf_deinit(&j->pending);
		return false; /* held, deleted or already done meanwhile */
	}
	if (qfile_read_fd(j->fd, &j->data, &j->len) < 0) {
		log_error("%s: read %s: %s", id, path, strerror(errno));
		close(j->fd);
		buf_deinit(&j->pending);
		return false;
	}
	if (qfile_parse(j->data, j->len, &j->qf, &err) < 0 ||
	    strcmp(j->qf.id, id) != 0) {
		qmgr_move_corrupt(q, id, err[0] != '\0' ? err : "ID mismatch");
		qmgr_job_close(j);
		return false;
	}
	j->arrival =
	    (double)j->qf.arrival_sec + (double)j->qf.arrival_usec / 1e6;

	/* resolve; local mail is delivered next, remote mail after */
	j->flushed = c->ndefer > 0 && qmgr_flushed(j);
	for (size_t i = 0; i < j->qf.nrcpt; i++)
		if (!j->qf.rcpts[i].done)
			qmgr_resolve(j, i);
	qmgr_hold_transports(j);
	return true;
}

/* After its local deliveries: remote mail, notices, then the file is
   retired or deferred, and j released. */
static void qmgr_job_finish(struct qmgr_job *jp)
{
	struct qmgr_job j = *jp;
	struct qmgr *q = j.q;
	const struct qmgr_cfg *c = &q->cfg;
	const char *id = j.id;
	char path[QMGR_PATH_MAX];
	size_t len = j.len;

	if (qmgr_path(path, c->queue_dir, "active", id) < 0)
		goto out;
	qmgr_deliver_remote(&j);
	double now = qmgr_now();
	double age = now - j.arrival;
	int64_t life =
	    j.qf.sender[0] == '\0' ? c->bounce_lifetime : c->max_lifetime;
	bool expired = age >= (double)life;
	for (size_t i = 0; i < j.nt; i++) {
		struct qmgr_target *t = &j.t[i];
		if (!t->logged)
			qmgr_log_target(&j, t);
		if (expired && t->res.status == DELIVER_DEFER) {
			t->res.status = DELIVER_BOUNCE;
			size_t l = strlen(t->res.text);
			snprintf(t->res.text + l, sizeof(t->res.text) - l, "%s",
				 l > 0 ? " (message expired)" : "");
			log_info("%s: to=<%s>, relay=none, dsn=%s, "
				 "status=expired, returned to sender",
				 j.id, t->addr, t->res.dsn);
		}
	}

	/* notices, then the progress records that retire their targets */
	qmgr_success(&j);
	bool bounced_ok = qmgr_bounce(&j) == 0;
	/* after the F records still pending */
	struct buf rec = j.pending;
	buf_init(&j.pending, 1);
	for (size_t i = 0; i < j.nt && bounced_ok; i++)
		if (j.t[i].res.status == DELIVER_BOUNCE &&
		    buf_printf(&rec, "F %s\n", j.t[i].addr) < 0)
			bounced_ok = false;
	size_t left = 0;
	for (size_t r = 0; r < j.qf.nrcpt; r++) {
		if (j.qf.rcpts[r].done)
			continue;
		bool fin = true;
		for (size_t i = 0; i < j.nt; i++)
			if (j.t[i].rcpt == r &&
			    (j.t[i].res.status == DELIVER_DEFER ||
			     (j.t[i].res.status == DELIVER_BOUNCE &&
			      !bounced_ok)))
				fin = false;
		if (fin && buf_printf(&rec, "D %zu\n", r) == 0)
			j.qf.rcpts[r].done = true;
		else
			left++;
	}
	/* why the rest waits, for `youju queue list` ("W <rcpt> <text>") */
	for (size_t i = 0; i < j.nt; i++)
		if (j.t[i].res.status == DELIVER_DEFER &&
		    buf_printf(&rec, "W %s %s\n", j.qf.rcpts[j.t[i].rcpt].addr,
			       j.t[i].res.text) < 0)
			break;
	int64_t delay = qmgr_backoff(c, j.qf.backoff);
	if (left > 0) {
		/* the next deferral doubles this wait */
		if (buf_printf(&rec, "B %lld\n", (long long)delay) < 0)
			log_warning("%s: back-off not recorded", id);
		if (qmgr_delay_warning(&j, age) &&
		    buf_printf(&rec, "Y %lld\n", (long long)now) < 0)
			log_warning("%s: delay warning not recorded", id);
	}
	if (left == 0) {
		/* all done: the records would be unlinked with the file */
		if ((q->active_fd >= 0
			 ? recycle_put_at(c->queue_dir, q->active_fd, id, id,
					  (off_t)len)
			 : recycle_put(c->queue_dir, path, id, (off_t)len)) <
			0 &&
		    errno != ENOENT) {
			log_error("%s: unlink: %s", id, strerror(errno));
			/* the file stays: spare its recipients a repeat */
			(void)qmgr_record(&j, &rec);
		} else {
			log_info("%s: removed", id);
		}
		buf_deinit(&rec);
		goto out;
	}
	if (qmgr_record(&j, &rec) < 0)
		left = 1; /* keep the file: a retry repeats, never loses */
	buf_deinit(&rec);

	/* deferred: the file's mtime is the next attempt, as in Postfix */
	struct timespec ts[2] = {{(time_t)now + delay, 0},
				 {(time_t)now + delay, 0}};
	char dst[QMGR_PATH_MAX];
	if (futimens(j.fd, ts) < 0)
		log_warning("%s: set retry time: %s", id, strerror(errno));
	if (qmgr_path(dst, c->queue_dir, "deferred", id) < 0 ||
	    rename(path, dst) < 0) {
		if (errno != ENOENT)
			log_error("%s: move to deferred/: %s", id,
				  strerror(errno));
	}
out:
	qmgr_job_close(&j);
}

/* ---- scheduling -----------------------------------------------------------
 */

static bool qmgr_known(const struct qmgr *q, const char *id)
{
	for (size_t i = 0; i < q->npending; i++) {
		size_t k = (q->head + i) % q->cfg.active_limit;
		if (strcmp(q->pending[k], id) == 0)
			return true;
	}
	for (size_t i = 0; i < q->nbusy; i++)
		if (strcmp(q->busy[i], id) == 0)
			return true;
	return false;
}

/* Called with the lock held; true when id joined the pending list (the
   caller wakes a delivery thread per admitted message after unlocking:
   a thread woken under the lock would block on it at once). */
static bool qmgr_admit(struct qmgr *q, const char *id)
{
	if (qmgr_draining || !qfile_is_id(id) || qmgr_known(q, id))
		return false;
	if (q->npending + q->nbusy >= q->cfg.active_limit) {
		q->need_rescan = true;
		return false;
	}
	size_t k = (q->head + q->npending) % q->cfg.active_limit;
	memcpy(q->pending[k], id, QUEUE_ID_LEN + 1);
	q->npending++;
	return true;
}

/* How many delivery threads to wake for n admitted messages (lock
   held): none while a thread is still gathering its batch (it takes
   them, or wakes one when its batch is full: qmgr_deliver_batch). */
static size_t qmgr_to_wake(const struct qmgr *q, size_t n)
{
	return q->collecting > 0 ? 0 : n;
}

/* Wakes delivery threads for n admitted messages (lock not held). */
static void qmgr_wake(struct qmgr *q, size_t n)
{
	if (n > 1)
		pthread_cond_broadcast(&q->cond);
	else if (n == 1)
		pthread_cond_signal(&q->cond);
}

/* Admits every file of active/, oldest first. */
static void qmgr_scan_active(struct qmgr *q)
{
	char dir[QMGR_PATH_MAX];
	if (qmgr_path(dir, q->cfg.queue_dir, "active", "") < 0)
		return;
	size_t n;
	char **names = qfile_list_ids(dir, &n);
	if (names == NULL && errno != 0) {
		log_error("opendir %s: %s", dir, strerror(errno));
		return;
	}
	size_t admitted = 0;
	pthread_mutex_lock(&q->lock);
	q->need_rescan = false;
	for (size_t i = 0; i < n; i++)
		admitted += qmgr_admit(q, names[i]);
	admitted = qmgr_to_wake(q, admitted);
	pthread_mutex_unlock(&q->lock);
	qmgr_wake(q, admitted);
	qfile_ids_free(names, n);
}

/* Moves deferred files whose retry time has come back to active/. */
static void qmgr_run_deferred(struct qmgr *q)
{
	char dir[QMGR_PATH_MAX], src[QMGR_PATH_MAX], dst[QMGR_PATH_MAX];
	time_t now = time(NULL);
	if (qmgr_path(dir, q->cfg.queue_dir, "deferred", "") < 0)
		return;
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (!qfile_is_id(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    st.st_mtime > now)
			continue;
		if (qmgr_path(src, q->cfg.queue_dir, "deferred", de->d_name) ==
			0 &&
		    qmgr_path(dst, q->cfg.queue_dir, "active", de->d_name) ==
			0 &&
		    rename(src, dst) < 0 && errno != ENOENT)
			log_error("%s: move to active/: %s", de->d_name,
				  strerror(errno));
	}
	closedir(d);
}

/* True when j has a target for the SMTP client (qmgr_deliver_remote). */
static bool qmgr_job_remote(const struct qmgr_job *j)
{
	for (size_t i = 0; i < j->nt; i++)
		if (j->t[i].kind == TGT_REMOTE)
			return true;
	return false;
}

/* Takes the next pending ID into busy (lock held); false when none. */
static bool qmgr_take(struct qmgr *q, char id[QUEUE_ID_LEN + 1])
{
	if (q->npending == 0)
		return false;
	memcpy(id, q->pending[q->head], QUEUE_ID_LEN + 1);
	q->head = (q->head + 1) % q->cfg.active_limit;
	q->npending--;
	memcpy(q->busy[q->nbusy++], id, QUEUE_ID_LEN + 1);
	return true;
}

/*
 * One delivery thread's batch: the message it took (ids[0]) and, while
 * more wait and the batch is under QMGR_BATCH_MAX messages and
 * QMGR_BATCH_BYTES and holds no message with remote targets (remote
 * transactions stay one message per thread, in parallel as before), the
 * next pending ones.  Their local deliveries share
 * the two flushes of qmgr_local_write() (one request each to the sync
 * group, shared with the other threads at work as before), so that a
 * busy queue costs two flush waits and one wake-up per batch rather than
 * per message; then each message goes on alone (remote mail, notices,
 * retirement), those without remote targets first, so that no slow SMTP
 * transaction holds back the retirement of a message delivered locally.
 * Returns the number of IDs taken (all in busy).
 */
static size_t qmgr_deliver_batch(struct qmgr *q, char (*ids)[QUEUE_ID_LEN + 1])
{
	struct qmgr_job *jobs = xcalloc(QMGR_BATCH_MAX, sizeof(*jobs));
	bool ok[QMGR_BATCH_MAX];
	size_t n = 1, bytes = 0;
	bool flush = false, collecting = true, wake = false, remote = false;
	for (size_t i = 0; i < n; i++) {
		ok[i] = qmgr_job_open(q, ids[i], &jobs[i]);
		if (ok[i]) {
			bytes += jobs[i].len;
			flush |= qmgr_local_write(&jobs[i]);
		}
		if (!collecting)
			continue;
		/* decided under the lock the admitting thread holds when it
		   counts the collectors: a message admitted meanwhile is
		   either taken here or gets a thread woken for it */
		if (ok[i] && qmgr_job_remote(&jobs[i]))
			remote = true;
		bool room = n < QMGR_BATCH_MAX && bytes < QMGR_BATCH_BYTES &&
			    !remote && !qmgr_draining;
		pthread_mutex_lock(&q->lock);
		if (room && qmgr_take(q, ids[n]))
			n++;
		else if (!room || i + 1 == n) {
			collecting = false;
			q->collecting--;
			wake = !room && q->npending > 0;
		}
		pthread_mutex_unlock(&q->lock);
	}
	if (wake)
		pthread_cond_signal(&q->cond);
	int sync_errno = 0;
	if (flush && syncgroup_wait() < 0) /* 1: the files' bytes */
		sync_errno = errno;
	bool names = false;
	for (size_t i = 0; i < n; i++)
		if (ok[i])
			names |= qmgr_local_link(&jobs[i], sync_errno);
	if (names && sync_errno == 0 &&
	    syncgroup_wait() < 0) /* 2: their names in new/ */
		sync_errno = errno;
	for (size_t i = 0; i < n; i++)
		if (ok[i])
			qmgr_local_done(&jobs[i], sync_errno);
	syncgroup_leave(); /* remote mail may take long: no batch waits */
	/* the messages without remote targets first: their files are
	   retired without waiting for another's SMTP transactions */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if (ok[i] && qmgr_job_remote(&jobs[i]) == (pass == 1)) {
				qmgr_job_finish(&jobs[i]);
				ok[i] = false;
			}
	free(jobs);
	return n;
}

static void *qmgr_thread(void *arg)
{
	struct qmgr *q = arg;
	char ids[QMGR_BATCH_MAX][QUEUE_ID_LEN + 1];
	for (;;) {
		pthread_mutex_lock(&q->lock);
		while (!qmgr_take(q, ids[0]))
			pthread_cond_wait(&q->cond, &q->lock);
		q->collecting++; /* until qmgr_deliver_batch says */
		pthread_mutex_unlock(&q->lock);

		/* a member of the flush batch until its local deliveries
		   are flushed (qmgr_deliver_batch leaves then) */
		syncgroup_enter();
		size_t n = qmgr_deliver_batch(q, ids);
		syncgroup_leave();

		pthread_mutex_lock(&q->lock);
		for (size_t k = 0; k < n; k++)
			for (size_t i = 0; i < q->nbusy; i++)
				if (strcmp(q->busy[i], ids[k]) == 0) {
					memcpy(q->busy[i], q->busy[--q->nbusy],
					       sizeof(ids[k]));
					break;
				}
		bool rescan = q->need_rescan;
		pthread_mutex_unlock(&q->lock);
		if (rescan) {
			char c = 1;
			ssize_t w = write(q->wake_w, &c, 1);
			(void)w; /* a full pipe already wakes the loop */
		}
	}
	return NULL;
}

static void qmgr_inotify(struct qmgr *q, int fd)
{
	char ev[8192]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(fd, ev, sizeof(ev));
		if (n <= 0)
			return;
		size_t admitted = 0;
		pthread_mutex_lock(&q->lock);
		for (char *p = ev; p < ev + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			if (e->mask & IN_Q_OVERFLOW)
				q->need_rescan = true;
			else if (e->len > 0)
				admitted += qmgr_admit(q, e->name);
			p += sizeof(*e) + e->len;
		}
		admitted = qmgr_to_wake(q, admitted);
		pthread_mutex_unlock(&q->lock);
		qmgr_wake(q, admitted);
		/* room for more events was left: the queue was drained
		   (what comes later makes poll() report the fd again), so
		   no read that can only say EAGAIN */
		if ((size_t)n + sizeof(struct inotify_event) + NAME_MAX + 1 <=
		    sizeof(ev))
			return;
	}
}

static void qmgr_lock_queue(const char *queue_dir)
{
	char p[QMGR_PATH_MAX];
	if (qmgr_path(p, queue_dir, "", "qmgr.lock") < 0)
		fatal("queue_directory too long");
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		fatal("open %s: %s", p, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		log_info("waiting for the previous queue manager to exit");
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR)
				fatal("flock %s: %s", p, strerror(errno));
	}
	/* fd stays open: the lock lives as long as this process */
}

static void qmgr_on_drain(int signo)
{
	int saved = errno;
	pid_t c = qmgr_child;
	qmgr_draining = 1;
	if (c > 0)
		(void)kill(c, SIGUSR1); /* the supervisor passes it on */
	if (qmgr_wake_fd >= 0) {
		char b = 1;
		ssize_t w = write(qmgr_wake_fd, &b, 1);
		(void)w; /* a full pipe already wakes the loop */
	}
	errno = saved;
}

/* Draining: once no delivery is in flight, closes the cached SMTP
   connections and exits; the next queue manager takes over active/. */
static void qmgr_drain_step(struct qmgr *q)
{
	pthread_mutex_lock(&q->lock);
	q->npending = 0; /* still in active/: the next one admits them */
	bool idle = q->nbusy == 0;
	pthread_mutex_unlock(&q->lock);
	if (!idle)
		return;
	smtpc_cache_sweep(&q->cfg.scfg, true);
	log_info("queue manager stopped for a reload");
	exit(0);
}

static __attribute__((noreturn)) void qmgr_worker(const struct conf *conf)
{
	struct qmgr q = {0};
	int pfd[2];
	char dir[QMGR_PATH_MAX];

	qmgr_cfg_load(&q.cfg, conf);
	if (q.cfg.active_limit == 0)
		q.cfg.active_limit = 1;
	qmgr_lock_queue(q.cfg.queue_dir);
	/* deliveries into Maildirs on the queue's file system (two rounds:
	   the files' bytes, then their names in new/), and the bounces
	   queued here, share syncfs calls per batch (syncgroup.h) */
	if (syncgroup_init(q.cfg.queue_dir) < 0)
		log_warning("%s: %s: every delivery fsynced alone",
			    q.cfg.queue_dir, strerror(errno));
	q.cfg.dcfg.group_sync = true;
	syncgroup_set_delay(QMGR_SYNC_DELAY_MS);
	authc_set_timeout(QMGR_AUTHD_TIMEOUT);
	/* each delivery thread keeps its youju-authd connection open */
	authc_set_keepalive(true);
	/* and reuses authd's answers while its cache would (one lookup
	   per recipient instead of a round trip: lib/authc_cache.h) */
	authc_cache_enable(true);
	pthread_mutex_init(&q.lock, NULL);
	pthread_cond_init(&q.cond, NULL);
	q.pending = xcalloc(q.cfg.active_limit, sizeof(*q.pending));
	q.busy = xcalloc(q.cfg.active_limit, sizeof(*q.busy));
	q.dests = dest_table_new(&q.cfg.destcfg);
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("pipe: %s", strerror(errno));
	q.wake_w = pfd[1];
	qmgr_wake_fd = pfd[1];
	struct sigaction sd = {.sa_handler = qmgr_on_drain};
	sigemptyset(&sd.sa_mask);
	if (sigaction(SIGUSR1, &sd, NULL) < 0)
		fatal("sigaction: %s", strerror(errno));
	int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino < 0)
		fatal("inotify_init1: %s", strerror(errno));
	if (qmgr_path(dir, q.cfg.queue_dir, "active", "") < 0 ||
	    inotify_add_watch(ino, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
		fatal("inotify on %s: %s", dir, strerror(errno));
	/* the directory inotify watches: files are opened and retired
	   relative to it */
	q.active_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	unsigned nthreads = q.cfg.threads;
	if (nthreads == 0 || nthreads > QMGR_THREADS_MAX)
		nthreads = 8;
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, qmgr_thread, &q) != 0)
			fatal("pthread_create: %s", strerror(errno));
		pthread_detach(t);
	}
	log_info("queue manager started: %u delivery threads", nthreads);
	qmgr_scan_active(&q);
	time_t next_run = 0, last_sweep = 0;
	for (;;) {
		if (qmgr_draining)
			qmgr_drain_step(&q);
		time_t now = time(NULL);
		if (now != last_sweep) {
			/* idle cached SMTP connections expire */
			smtpc_cache_sweep(&q.cfg.scfg, false);
			last_sweep = now;
		}
		if (now >= next_run) {
			qmgr_run_deferred(&q);
			next_run = now + (time_t)q.cfg.run_delay;
		}
		pthread_mutex_lock(&q.lock);
		bool rescan =
		    q.need_rescan && q.npending + q.nbusy < q.cfg.active_limit;
		pthread_mutex_unlock(&q.lock);
		if (rescan && !qmgr_draining)
			qmgr_scan_active(&q);
		struct pollfd p[2] = {{.fd = ino, .events = POLLIN},
				      {.fd = pfd[0], .events = POLLIN}};
		int ms = (int)(next_run - now) * 1000;
		if (ms < 0)
			ms = 0;
		if (ms > 1000 && q.cfg.scfg.cache_time > 0)
			ms = 1000;
		if (qmgr_draining && ms > 200)
			ms = 200;
		if (poll(p, 2, ms) < 0 && errno != EINTR)
			fatal("poll: %s", strerror(errno));
		if (p[0].revents & POLLIN)
			qmgr_inotify(&q, ino);
		if (p[1].revents & POLLIN) {
			char b[64];
			while (read(pfd[0], b, sizeof(b)) > 0)
				;
		}
	}
}

/* ---- supervisor ------------------------------------------------------------
 */

static void qmgr_on_term(int signo)
{
	pid_t c = qmgr_child;
	if (c > 0)
		kill(c, SIGTERM);
	_exit(0);
}

static void qmgr_die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		fatal("prctl: %s", strerror(errno));
	if (getppid() != parent)
		_exit(0); /* the parent died before prctl */
}

pid_t qmgr_start(const struct conf *conf, bool foreground, const int *fds,
		 size_t nfds)
{
	pid_t main_pid = getpid();
	pid_t pid = fork();
	if (pid < 0)
		log_error("queue manager: fork: %s", strerror(errno));
	if (pid != 0)
		return pid;
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	(void)prctl(PR_SET_NAME, "youju-qmgr"); /* for ps and the tests */

	/* supervisor: the terminal is the starting command's, not ours */
	qmgr_die_with_parent(main_pid);
	const char *perr = "";
	if (privsep_drop(conf_str(conf, "mail_owner"), &perr) < 0)
		fatal("queue manager: cannot drop privileges: %s", perr);
	qmgr_die_with_parent(main_pid); /* the drop cleared the setting */
	if (!foreground) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			(void)dup2(nul, STDERR_FILENO);
			close(nul);
		}
	}
	const char *log_file = conf_str(conf, "log_file");
	(void)log_open("qmgr", log_file[0] != '\0' ? log_file : NULL,
		       conf_bool(conf, "syslog_enable"));
	log_set_stderr(foreground);
	log_set_pid();
	struct sigaction sa = {.sa_handler = qmgr_on_term};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct sigaction sd = {.sa_handler = qmgr_on_drain};
	sigemptyset(&sd.sa_mask);
	sigaction(SIGUSR1, &sd, NULL);
	signal(SIGHUP, SIG_IGN);
	/* youju-mta's master takes its signals blocked (sigtimedwait) */
	sigset_t none;
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN); /* a peer closing on the SMTP client */
	pid_t sup = getpid();
	for (;;) {
		if (qmgr_draining)
			_exit(0);
		time_t started = time(NULL);
		pid_t w = fork();
		if (w < 0) {
			log_error("fork: %s", strerror(errno));
			sleep(1);
			continue;
		}
		if (w == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			qmgr_die_with_parent(sup);
			log_set_pid();
			qmgr_worker(conf);
		}
		qmgr_child = w;
		int status;
		while (waitpid(w, &status, 0) < 0)
			if (errno != EINTR)
				_exit(1);
		qmgr_child = 0;
		if (qmgr_draining)
			_exit(0);
		if (WIFSIGNALED(status))
			log_warning("queue manager pid %ld killed by signal %d",
				    (long)w, WTERMSIG(status));
		else
			log_warning("queue manager pid %ld exit status %d",
				    (long)w, WEXITSTATUS(status));
		if (time(NULL) - started < 2)
			sleep(1); /* no tight respawn loop */
	}
}

void qmgr_drain(pid_t pid)
{
	if (pid > 0)
		(void)kill(pid, SIGUSR1);
}

void qmgr_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	if (kill(pid, SIGTERM) == 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}
