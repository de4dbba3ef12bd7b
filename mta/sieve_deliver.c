/*
 * Sieve at delivery (see sieve_deliver.h, docs/sieve.md).  The cost
 * without a script is one failed open() of HOME/.dovecot.sieve; with one,
 * an open() and fstat(), the program coming from the compile cache
 * (mta/sieve_cache.c) unless the script changed.  The order is: stores first
 * (keep, fileinto), then the messages that leave (redirect, vacation), so that
 * a store that must be retried (deferred) has sent nothing yet; reject becomes
 * a bounce, whose DSN the queue manager sends like any other.
 */
#include "sieve_deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "buf.h"
#include "hash.h"
#include "conf.h"
#include "dsn.h"
#include "file.h"
#include "log.h"
#include "mailbox.h"
#include "maildir.h"
#include "maildir_folders.h"
#include "mime.h"
#include "sieve.h"
#include "sieve_cache.h"
#include "sieve_store.h"
#include "str.h"
#include "xalloc.h"

#define SIEVE_ACTIVE ".dovecot.sieve"
/* state files in HOME/sieve/ (names Pigeonhole never uses) */
#define SIEVE_VACATION_DB  ".youju-vacation"
#define SIEVE_DUPLICATE_DB ".youju-duplicate"
#define SIEVE_NOTICE_FILE  ".youju-error-notice"
#define SIEVE_DB_MAX	   (256u * 1024)
/* RFC 5230 §4.1: 7 days by default, at least 1 day (vacation-seconds:
   at least 1 s is accepted) and a week-long cap of our own is not
   needed; cap at a year */
#define SIEVE_VACATION_DEFAULT (7 * 86400)
#define SIEVE_VACATION_MAX     (365 * 86400)

static char sieve_delimiter[16];

void sieve_deliver_configure(const struct conf *conf)
{
	const char *d = conf_str(conf, "recipient_delimiter");
	snprintf(sieve_delimiter, sizeof(sieve_delimiter), "%s",
		 d != NULL ? d : "");
}

int sieve_home(const char *maildir, char *out, size_t outsz)
{
	return sieve_store_home(maildir, out, outsz);
}

static void sieve_ign(int r)
{
	(void)r;
}

/* ---- small state files: "<key> <expiry>\n" lines ------------------------ */

/* FNV-1a of the key: the files never hold addresses in clear. */
static unsigned long long sieve_hash(const char *p, size_t len)
{
	return hash_fnv1a(p, len);
}

/*
 * True when key's record in home/sieve/name has not expired; otherwise
 * (when record) a record valid for seconds is written, expired lines
 * dropped.  Under a dotlock: two deliveries at once answer once.
 */
static bool sieve_db_seen(const char *home, const char *name, const char *key,
			  size_t keylen, uint64_t seconds, bool record)
{
	char dir[PATH_MAX], path[PATH_MAX], lock[PATH_MAX + 8];
	if (file_path(dir, sizeof(dir), home, "sieve") < 0 ||
	    file_path(path, sizeof(path), dir, name) < 0)
		return false;
	snprintf(lock, sizeof(lock), "%s.lock", path);
	(void)mkdir(dir, 0700);
	unsigned long long h = sieve_hash(key, keylen);
	time_t now = time(NULL);
	bool locked = file_dotlock(lock, 5000, 60) == 0;
	char *data = NULL;
	size_t len = 0;
	bool seen = false;
	struct buf out;
	buf_init(&out, SIEVE_DB_MAX);
	if (file_read(path, SIEVE_DB_MAX, O_NOFOLLOW, &data, &len, NULL) <= 0)
		len = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t e = nl != NULL ? (size_t)(nl - data) : len;
		unsigned long long k;
		long long exp;
		char line[80];
		size_t ll = e - i < sizeof(line) - 1 ? e - i : sizeof(line) - 1;
		memcpy(line, data + i, ll);
		line[ll] = '\0';
		if (sscanf(line, "%llx %lld", &k, &exp) == 2 && exp > now) {
			if (k == h)
				seen = true;
			else if (buf_printf(&out, "%016llx %lld\n", k, exp) < 0)
				break;
		}
		i = e + 1;
	}
	free(data);
	if (seen || record) {
		long long exp = (long long)now + (long long)seconds;
		if (seen) {
			/* keep the old record as it was */
			exp = 0;
		}
		if (exp > 0 && buf_printf(&out, "%016llx %lld\n", h, exp) < 0) {
			/* full: forget the oldest half */
			buf_consume(&out, out.len / 2);
		}
		if (!seen && record)
			sieve_ign(file_replace(path, out.p != NULL ? out.p : "",
					       out.len, NULL));
	}
	buf_deinit(&out);
	if (locked)
		file_dotunlock(lock);
	return seen;
}

struct sieve_cb {
	const char *home;
	const char *root;
};

static bool sieve_cb_duplicate(void *ctx, const char *id, size_t idlen,
			       uint64_t seconds, bool last)
{
	const struct sieve_cb *cb = ctx;
	return sieve_db_seen(cb->home, SIEVE_DUPLICATE_DB, id, idlen, seconds,
			     true);
}

/* Folder name from a script ("Lists/ietf", "INBOX.Junk") to its name on
   disk under the Maildir (modified UTF-7, "." separated); "" for INBOX. */
static int sieve_folder_name(const char *name, char *out, size_t outsz)
{
	char tmp[1024];
	if (strcasecmp(name, "INBOX") == 0) {
		out[0] = '\0';
		return 0;
	}
	if (strncasecmp(name, "INBOX.", 6) == 0 ||
	    strncasecmp(name, "INBOX/", 6) == 0)
		name += 6;
	size_t n = strlen(name);
	if (n >= sizeof(tmp))
		return -1;
	for (size_t i = 0; i <= n; i++)
		tmp[i] = name[i] == '/' ? '.' : name[i];
	if (maildir_utf8_to_mutf7(str_from_cstr(tmp), out, outsz) < 0 ||
	    !maildir_folder_name_ok(out))
		return -1;
	return 0;
}

static bool sieve_cb_exists(void *ctx, const char *name)
{
	const struct sieve_cb *cb = ctx;
	char f[1024], p[PATH_MAX];
	struct stat st;
	if (sieve_folder_name(name, f, sizeof(f)) < 0)
		return false;
	if (f[0] == '\0')
		return true;
	int n = snprintf(p, sizeof(p), "%s/.%s", cb->root, f);
	if (n <= 0 || (size_t)n >= sizeof(p))
		return false;
	if (stat(p, &st) == 0)
		return S_ISDIR(st.st_mode);
	/* a default folder of a Maildir that no login has completed (a
	   delivery made it bare) exists as far as the script can tell, as
	   with Dovecot's "auto = create": made now, so fileinto "Junk" and
	   mailboxexists "Junk" work as before; one that the user deleted
	   stays missing */
	const char *err = "";
	return errno == ENOENT &&
	       maildir_default_folder_want(cb->root, f, &err) > 0 &&
	       stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- storing --------------------------------------------------------------
 */

static unsigned sieve_flags(const char *flags, struct str *kw, size_t *nkw,
			    size_t kwmax)
{
	unsigned f = 0;
	const char *p = flags;
	*nkw = 0;
	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		const char *s = p;
		while (*p != '\0' && *p != ' ')
			p++;
		struct str w = {s, (size_t)(p - s)};
		if (w.len == 0)
			break;
		unsigned bit = mailbox_flag_bit(w);
		if (bit != 0)
			f |= bit;
		else if (w.p[0] != '\\' && *nkw < kwmax)
			kw[(*nkw)++] = w;
	}
	return f;
}

/* The result of one store, as deliver_maildir() would say it. */
static void sieve_store(const struct deliver_cfg *cfg, const char *root,
			const char *folder,
			const struct maildir_quota_rule *rule,
			const char *content, size_t len, const char *flags,
			struct deliver_result *r)
{
	const char *err = "";
	struct str kw[26];
	size_t nkw;
	unsigned f = sieve_flags(flags, kw, &nkw, 26);
	struct mailbox_user u = {root, *rule};
	struct mailbox_append a = {content, len, f, kw, nkw, 0};
	if (mailbox_append(&u, folder, &a, NULL, NULL, &err) == 0) {
		r->status = DELIVER_OK;
		snprintf(r->dsn, sizeof(r->dsn), "2.0.0");
		return;
	}
	int e = errno;
	if (e == EDQUOT) {
		r->status =
		    cfg->overquota_bounce ? DELIVER_BOUNCE : DELIVER_DEFER;
		snprintf(r->dsn, sizeof(r->dsn), "%s",
			 cfg->overquota_bounce ? "5.2.2" : "4.2.2");
		snprintf(r->text, sizeof(r->text), "%s", cfg->limit_message);
		return;
	}
	r->status = DELIVER_DEFER;
	snprintf(r->dsn, sizeof(r->dsn), "4.2.0");
	snprintf(r->text, sizeof(r->text), "cannot deliver to maildir: %s: %s",
		 err, strerror(e));
}

/* ---- messages that leave ------------------------------------------------- */

static void sieve_header_get(const char *msg, size_t len, const char *name,
			     struct buf *out)
{
	size_t pos = 0;
	struct str fn, fv;
	buf_reset(out);
	while (mime_header_next(msg, len, &pos, &fn, &fv))
		if (str_case_eq_cstr(fn, name)) {
			if (mime_unfold(fv, out) < 0)
				buf_reset(out);
			return;
		}
}

/* Header values we write: no line breaks from the script or the mail. */
static int sieve_put_clean(struct buf *b, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '\r' || c == '\n' || c == '\0')
			c = ' ';
		if (buf_append_char(b, c) < 0)
			return -1;
	}
	return 0;
}

static bool sieve_is_ascii(const char *p)
{
	for (; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return false;
	return true;
}

static void sieve_vacation(const struct sieve_deliver_ctx *c,
			   const char *address, const char *home,
			   const struct sieve_action *a)
{
	char esc[300];
	const char *why = "";
	const char **addrs = xcalloc(a->naddresses + 2, sizeof(char *));
	size_t na = 0;
	addrs[na++] = address;
	if (c->orig_rcpt != NULL && c->orig_rcpt[0] != '\0')
		addrs[na++] = c->orig_rcpt;
	for (size_t i = 0; i < a->naddresses; i++)
		addrs[na++] = a->addresses[i];
	bool ok =
	    sieve_vacation_allowed(c->msg, c->len, c->sender, addrs, na, &why);
	free(addrs);
	if (!ok) {
		log_info("%s: sieve: to=<%s>, vacation not sent: %s",
			 c->queue_id, address, why);
		return;
	}
	uint64_t period = a->seconds > 0 ? a->seconds : SIEVE_VACATION_DEFAULT;
	if (period > SIEVE_VACATION_MAX)
		period = SIEVE_VACATION_MAX;
	/* once per sender per period, per handle (RFC 5230 §4.2): the
	   handle defaults to the reason, :subject and :from */
	struct buf key;
	buf_init(&key, 256 * 1024);
	if (buf_printf(&key, "%s", c->sender) < 0 || buf_append_char(&key, 0) ||
	    (a->handle != NULL
		 ? buf_append_str(&key, a->handle)
		 : buf_printf(&key, "%s\n%s\n%s", a->arg ? a->arg : "",
			      a->subject ? a->subject : "",
			      a->from ? a->from : "")) < 0) {
		buf_deinit(&key);
		return;
	}
	if (sieve_db_seen(home, SIEVE_VACATION_DB, key.p, key.len, period,
			  true)) {
		buf_deinit(&key);
		log_info(
		    "%s: sieve: to=<%s>, vacation not sent: already "
		    "answered %s",
		    c->queue_id, address,
		    log_escape(esc, sizeof(esc), c->sender, strlen(c->sender)));
		return;
	}
	buf_deinit(&key);

	struct buf m, v;
	buf_init(&m, 1024 * 1024);
	buf_init(&v, 64 * 1024);
	char date[64];
	time_t now = time(NULL);
	dsn_date(now, date, sizeof(date));
	int rc = buf_printf(&m, "Date: %s\nFrom: ", date);
	if (a->from != NULL && a->from[0] != '\0')
		rc |= sieve_put_clean(&m, a->from, strlen(a->from));
	else
		rc |= buf_printf(&m, "<%s>", address);
	rc |= buf_printf(&m, "\nTo: <%s>\nSubject: ", c->sender);
	if (a->subject != NULL) {
		rc |= sieve_put_clean(&m, a->subject, strlen(a->subject));
	} else {
		/* RFC 5230 §4.4: "Auto: " and the original subject */
		sieve_header_get(c->msg, c->len, "subject", &v);
		rc |= buf_append_str(&m, "Auto: ");
		rc |= sieve_put_clean(&m, v.p != NULL ? v.p : "", v.len);
	}
	sieve_header_get(c->msg, c->len, "message-id", &v);
	if (v.len > 0) {
		rc |= buf_append_str(&m, "\nIn-Reply-To: ");
		rc |= sieve_put_clean(&m, v.p, v.len);
		rc |= buf_append_str(&m, "\nReferences: ");
		rc |= sieve_put_clean(&m, v.p, v.len);
	}
	rc |= buf_printf(&m,
			 "\nMessage-ID: <%lld.%s.vacation@%s>\n"
			 "Auto-Submitted: auto-replied (vacation)\n"
			 "Precedence: bulk\n"
			 "MIME-Version: 1.0\n",
			 (long long)now, c->queue_id, c->hostname);
	const char *body = a->arg != NULL ? a->arg : "";
	if (a->mime) {
		/* :mime: the reason is a MIME entity, header included */
		rc |= buf_append_str(&m, body);
	} else {
		rc |= buf_printf(&m,
				 "Content-Type: text/plain; charset=%s\n"
				 "Content-Transfer-Encoding: 8bit\n\n",
				 sieve_is_ascii(body) ? "us-ascii" : "utf-8");
		for (const char *p = body; *p != '\0'; p++)
			if (*p != '\r')
				rc |= buf_append_char(&m, *p);
	}
	if (m.len > 0 && m.p[m.len - 1] != '\n')
		rc |= buf_append_char(&m, '\n');
	buf_deinit(&v);
	char id[QUEUE_ID_LEN + 1];
	const char *err = "";
	/* RFC 5230 §5.1: from the null sender */
	if (rc != 0 || bounce_queue_message(c->queue_dir, "", c->sender, m.p,
					    m.len, id, &err) < 0)
		log_warning("%s: sieve: to=<%s>, vacation not sent: %s",
			    c->queue_id, address,
			    rc != 0 ? "message too large" : err);
	else
		log_info("%s: sieve: to=<%s>, vacation reply queued as %s",
			 c->queue_id, address, id);
	buf_deinit(&m);
}

static int sieve_redirect(const struct sieve_deliver_ctx *c,
			  const char *address, const char *target,
			  const char *content, size_t len)
{
	char id[QUEUE_ID_LEN + 1];
	const char *err = "";
	/* the original envelope sender, unchanged (no SRS: docs/sieve.md);
	   Delivered-To: of this mailbox stays in the header, so a message
	   that comes back here is a loop (5.4.6) */
	if (bounce_queue_message(c->queue_dir, c->sender, target, content, len,
				 id, &err) < 0) {
		log_warning("%s: sieve: to=<%s>, redirect to <%s> failed: %s",
			    c->queue_id, address, target, err);
		return -1;
	}
	log_info("%s: sieve: to=<%s>, redirected to <%s> as %s", c->queue_id,
		 address, target, id);
	return 0;
}

/* ---- the script ------------------------------------------------------------
 */

/* The user is told about a broken script once per version of it: a
   notice into INBOX, remembered by the script's mtime and size. */
static void sieve_notice(const struct sieve_deliver_ctx *c, const char *address,
			 const char *home, const char *root,
			 const struct stat *st, const char *error)
{
	char key[128];
	int kl =
	    snprintf(key, sizeof(key), "%lld.%lld.%lld", (long long)st->st_ino,
		     (long long)st->st_mtime, (long long)st->st_size);
	if (kl < 0 || sieve_db_seen(home, SIEVE_NOTICE_FILE, key, (size_t)kl,
				    SIEVE_VACATION_MAX, true))
		return;
	struct buf m;
	buf_init(&m, 64 * 1024);
	char date[64];
	dsn_date(time(NULL), date, sizeof(date));
	int rc = buf_printf(
	    &m,
	    "Date: %s\n"
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\n"
	    "To: <%s>\n"
	    "Subject: Your mail filter (Sieve script) has an error\n"
	    "Auto-Submitted: auto-generated\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n\n"
	    "Your active mail filter could not be used, so your mail is\n"
	    "being delivered to your inbox without filtering.\n\n"
	    "The error was:\n\n    ",
	    date, c->hostname, address);
	rc |= sieve_put_clean(&m, error, strlen(error));
	rc |=
	    buf_append_str(&m, "\n\nCorrect the script (ManageSieve, or the "
			       "webmail's filter settings) to turn\nfiltering "
			       "on again.  This notice is sent once.\n");
	struct maildir_quota_rule rule = {0};
	struct mailbox_user u = {root, rule};
	const char *err = "";
	if (rc == 0)
		(void)mailbox_deliver(&u, root, m.p, m.len, &err);
	buf_deinit(&m);
}

/* The active script open for reading (st its fstat), or -1: none. */
static int sieve_open_active(const char *home, struct stat *st)
{
	char path[PATH_MAX];
	if (file_path(path, sizeof(path), home, SIEVE_ACTIVE) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0) {
		/* an unreadable script: never compiles (kept, reported) */
		memset(st, 0, sizeof(*st));
	}
	return fd;
}

/* An X-Loop: field naming address (ExtMail's forwarding and many list
   managers add one): the message came back through a filter of ours. */
static bool sieve_has_xloop(const char *msg, size_t len, const char *address)
{
	size_t pos = 0, alen = strlen(address);
	struct str fn, fv;
	while (mime_header_next(msg, len, &pos, &fn, &fv)) {
		if (!str_case_eq_cstr(fn, "x-loop"))
			continue;
		for (size_t i = 0; i + alen <= fv.len; i++)
			if (strncasecmp(fv.p + i, address, alen) == 0)
				return true;
	}
	return false;
}

void sieve_deliver(const struct deliver_cfg *cfg,
		   const struct sieve_deliver_ctx *c, const char *address,
		   const char *maildir, const char *quota,
		   struct deliver_result *r)
{
	char home[PATH_MAX], root[PATH_MAX];
	struct stat st;
	int sfd = -1;
	if (maildir != NULL && maildir[0] == '/' &&
	    sieve_home(maildir, home, sizeof(home)) == 0 &&
	    sieve_home(maildir, root, sizeof(root)) == 0 &&
	    !deliver_has_delivered_to(c->msg, c->len, address))
		sfd = sieve_open_active(home, &st);
	if (sfd >= 0 && sieve_has_xloop(c->msg, c->len, address)) {
		/* no filter runs twice on its own output: plain delivery */
		log_info("%s: sieve: to=<%s>, X-Loop names the mailbox, script "
			 "not run",
			 c->queue_id, address);
		close(sfd);
		sfd = -1;
	}
	if (sfd < 0) {
		deliver_maildir(cfg, address, maildir, quota, c->sender, c->msg,
				c->len, r);
		return;
	}
	snprintf(root, sizeof(root), "%s", maildir);
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		root[--rl] = '\0';

	/* a new mailbox: the Maildir first, as deliver_maildir() makes it
	   (INBOX only; sieve_cb_exists() makes the default folders when the
	   script looks for one) */
	char newdir[PATH_MAX];
	struct stat nst;
	const char *merr = "";
	if (file_path(newdir, sizeof(newdir), root, "new") == 0 &&
	    stat(newdir, &nst) < 0 && errno == ENOENT &&
	    maildir_create_inbox(root, &merr) < 0)
		log_warning("%s: sieve: cannot create maildir %s: %s: %s",
			    c->queue_id, root, merr, strerror(errno));

	/* compiled once per version of the script (mta/sieve_cache.c) */
	char err[SIEVE_ERROR_MAX];
	struct sieve_cached *p = sieve_cache_load(sfd, &st, err, sizeof(err));
	close(sfd);
	struct sieve_result res = {0};
	bool ran = false;
	struct sieve_cb cb = {home, root};
	if (p != NULL) {
		struct sieve_msg m = {c->msg, c->len, c->sender, address,
				      c->orig_rcpt != NULL ? c->orig_rcpt
							   : address};
		struct sieve_env env = {
		    .delimiter = sieve_delimiter,
		    .now = time(NULL),
		    .duplicate = sieve_cb_duplicate,
		    .mailbox_exists = sieve_cb_exists,
		    .ctx = &cb,
		};
		ran = sieve_run(sieve_cached_program(p), &m, &env, &res, err,
				sizeof(err)) == 0;
		sieve_cache_release(&p);
	}
	if (!ran) {
		char esc[SIEVE_ERROR_MAX + 64];
		log_warning("%s: sieve: to=<%s>, script %s/%s failed, message "
			    "kept: %s",
			    c->queue_id, address, home, SIEVE_ACTIVE,
			    log_escape(esc, sizeof(esc), err, strlen(err)));
		deliver_maildir(cfg, address, maildir, quota, c->sender, c->msg,
				c->len, r);
		if (r->status == DELIVER_OK) {
			/* the script may be fine and the failure at run
			   time: it is the same script error for the user */
			sieve_notice(c, address, home, root, &st, err);
		}
		return;
	}

	/* the stored form: Return-Path, Delivered-To, the (edited) header */
	struct maildir_quota_rule rule;
	if (maildir_quota_rule_make(quota, cfg->default_limit,
				    cfg->global_limit_only, &rule) < 0) {
		deliver_maildir(cfg, address, maildir, quota, c->sender, c->msg,
				c->len, r);
		sieve_result_free(&res);
		return;
	}
	struct buf content;
	buf_init(&content, c->len + (res.header ? res.header_len : 0) + 4096);
	int rc = buf_printf(&content, "Return-Path: <%s>\nDelivered-To: %s\n",
			    c->sender, address);
	if (res.header != NULL)
		rc |= buf_append(&content, res.header, res.header_len);
	rc |= buf_append(&content, c->msg + (res.header ? res.body_off : 0),
			 c->len - (res.header ? res.body_off : 0));
	/* what leaves carries Delivered-To (loops) but no Return-Path */
	const char *out =
	    content.p + strlen("Return-Path: <>\n") + strlen(c->sender);
	size_t outlen = content.len - (size_t)(out - content.p);
	if (rc != 0) {
		buf_deinit(&content);
		sieve_result_free(&res);
		deliver_maildir(cfg, address, maildir, quota, c->sender, c->msg,
				c->len, r);
		return;
	}

	r->status = DELIVER_OK;
	r->unsynced = false;
	r->pending = NULL;
	snprintf(r->dsn, sizeof(r->dsn), "2.0.0");
	struct buf text;
	buf_init(&text, sizeof(r->text) - 1);
	bool stored = false;
	/* 1. stores, and reject */
	for (size_t i = 0; i < res.n && r->status == DELIVER_OK; i++) {
		const struct sieve_action *a = &res.v[i];
		struct deliver_result one = {0};
		if (a->kind == SIEVE_ACT_REJECT) {
			r->status = DELIVER_BOUNCE;
			snprintf(r->dsn, sizeof(r->dsn), "5.7.1");
			snprintf(r->text, sizeof(r->text),
				 "rejected by the recipient's filter: %s",
				 a->arg != NULL ? a->arg : "");
			for (char *q = r->text; *q != '\0'; q++)
				if (*q == '\r' || *q == '\n')
					*q = ' ';
			buf_deinit(&text);
			buf_deinit(&content);
			sieve_result_free(&res);
			log_info("%s: sieve: to=<%s>, rejected", c->queue_id,
				 address);
			return;
		}
		if (a->kind != SIEVE_ACT_KEEP && a->kind != SIEVE_ACT_FILEINTO)
			continue;
		char folder[PATH_MAX], fname[1024];
		const char *where = "INBOX";
		snprintf(folder, sizeof(folder), "%s", root);
		if (a->kind == SIEVE_ACT_FILEINTO) {
			if (sieve_folder_name(a->arg, fname, sizeof(fname)) <
			    0) {
				log_warning("%s: sieve: to=<%s>, bad folder "
					    "name, kept in INBOX",
					    c->queue_id, address);
			} else if (fname[0] != '\0') {
				if (!sieve_cb_exists(&cb, a->arg) &&
				    a->create &&
				    maildir_folder_create(root, fname) < 0 &&
				    errno != EEXIST)
					log_warning(
					    "%s: sieve: to=<%s>, cannot "
					    "create folder %s: %s",
					    c->queue_id, address, fname,
					    strerror(errno));
				int fl = snprintf(folder, sizeof(folder),
						  "%s/.%s", root, fname);
				if (fl > 0 && (size_t)fl < sizeof(folder) &&
				    sieve_cb_exists(&cb, a->arg)) {
					where = fname;
				} else {
					/* RFC 5228 §4.1: fileinto to a
					   folder that cannot be used: keep */
					snprintf(folder, sizeof(folder), "%s",
						 root);
					log_info(
					    "%s: sieve: to=<%s>, no folder "
					    "%s, kept in INBOX",
					    c->queue_id, address, fname);
				}
			}
		}
		/* keep and fileinto INBOX only once */
		if (strcmp(where, "INBOX") == 0) {
			if (stored)
				continue;
			stored = true;
		}
		if (strcmp(where, "INBOX") == 0 &&
		    (a->flags == NULL || a->flags[0] == '\0') &&
		    res.header == NULL) {
			/* the plain path, exactly as without a script */
			deliver_maildir(cfg, address, maildir, quota, c->sender,
					c->msg, c->len, &one);
		} else {
			sieve_store(cfg, root, folder, &rule, content.p,
				    content.len, a->flags, &one);
		}
		if (one.status != DELIVER_OK) {
			deliver_drop(r); /* an earlier keep, never named */
			*r = one;
			break;
		}
		/* the plain path's file waits in tmp/ for the caller's
		   flushes (deliver.h); the folders' stores are on disk but
		   their names want the second flush too */
		if (one.pending != NULL)
			r->pending = one.pending;
		r->unsynced |= one.unsynced || cfg->group_sync;
		sieve_ign(
		    buf_printf(&text, "%s%s", text.len ? ", " : "", where));
	}
	if (r->status != DELIVER_OK) {
		buf_deinit(&text);
		buf_deinit(&content);
		sieve_result_free(&res);
		return;
	}
	/* 2. what leaves */
	for (size_t i = 0; i < res.n; i++) {
		const struct sieve_action *a = &res.v[i];
		if (a->kind == SIEVE_ACT_REDIRECT) {
			if (sieve_redirect(c, address, a->arg, out, outlen) <
			    0) {
				/* nothing was stored unless :copy: retry */
				if (!stored && text.len == 0) {
					r->status = DELIVER_DEFER;
					snprintf(r->dsn, sizeof(r->dsn),
						 "4.3.0");
					snprintf(r->text, sizeof(r->text),
						 "sieve redirect failed");
					break;
				}
				continue;
			}
			sieve_ign(buf_printf(&text, "%sredirect to %s",
					     text.len ? ", " : "", a->arg));
		} else if (a->kind == SIEVE_ACT_VACATION) {
			sieve_vacation(c, address, home, a);
		}
	}
	if (r->status == DELIVER_OK)
		snprintf(r->text, sizeof(r->text), "%s%s",
			 text.len ? "delivered via sieve to "
				  : "discarded by sieve",
			 text.len ? text.p : "");
	buf_deinit(&text);
	buf_deinit(&content);
	sieve_result_free(&res);
}
