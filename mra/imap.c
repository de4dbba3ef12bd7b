/*
 * IMAP4rev1 (RFC 3501) session on Maildir++: framing with counted and
 * capped literals (RFC 3501 §4.3, LITERAL+ RFC 7888), login through authd,
 * folder selection and the commands on messages.  The selected folder is a
 * snapshot (lib/maildir) re-synchronised after commands and while idling:
 * vanished files become EXPUNGE responses, new ones EXISTS/RECENT, renamed
 * ones FETCH FLAGS, so several sessions on one mailbox stay consistent.
 * Mailbox names are Dovecot's default view of a Maildir++: no namespace
 * prefix, '.' separator, modified UTF-7 as stored on disk.
 */
#include "mra.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "imap_parse.h"
#include "imap_binary.h"
#include "imap_qresync.h"
#include "imap_compress.h"
#include "imap_condstore.h"
#include "imap_context.h"
#include "imap_fetch.h"
#include "imap_flags.h"
#include "imap_index.h"
#include "imap_objectid.h"
#include "imap_mbox.h"
#include "imap_notify.h"
#include "imap_preview_cache.h"
#include "imap_recent.h"
#include "imap_render.h"
#include "imap_rev2.h"
#include "imap_search.h"
#include "imap_searchres.h"
#include "imap_select.h"
#include "imap_sess.h"
#include "imap_sort.h"
#include "imap_status.h"
#include "imap_thread.h"
#include "imap_urlauth.h"
#include "imap_utf8.h"
#include "inotify_hub.h"
#include "log.h"
#include "mailbox.h"
#include "maildir.h"
#include "maildir_index.h"
#include "maildir_modseq.h"
#include "xalloc.h"

/* A command line (without literals); RFC 7162 §4 recommends >= 8192. */
#define IMAP_LINE_MAX 65536
/* A command's literals together, apart from APPEND's message. */
#define IMAP_LITERALS_MAX (64 * 1024)
/* How often IDLE looks for changes when inotify is not available. */
#define IMAP_IDLE_POLL_MS 2000
/* "* OK Still here" while idling, for NAT boxes (Dovecot's default
   imap_idle_notify_interval).  It does not reset the autologout. */
#define IMAP_IDLE_KEEPALIVE_MS (2 * 60 * 1000)
/*
 * youju.index saving.  A save rewrites the whole file (about 1 KiB per
 * message), so after a command it happens only once enough is new: at
 * least IMAP_INDEX_SAVE_MIN entries or an eighth of the file, or entries
 * waiting IMAP_INDEX_SAVE_AGE_MS; always when the folder is closed.
 * imap_index_bound() keeps one long FETCH or SEARCH from holding more
 * than IMAP_INDEX_PENDING_MAX new entries in memory.  A busy lock is not
 * waited for long: the entries stay pending for the next try.
 */
#define IMAP_INDEX_SAVE_MIN    256
#define IMAP_INDEX_SAVE_AGE_MS (60 * 1000)
#define IMAP_INDEX_LOCK_MS     200

/*
 * A FETCH in progress: its reply is produced message by message as the
 * client takes the output (c->produce), a whole-message literal from the
 * file in pieces, so a session's output stays bounded whatever the FETCH
 * asks for.  Commands pipelined behind it wait in the input meanwhile
 * (the connection does not process input while producing).
 */
struct imap_fetch_cur {
	char *tag;
	char *set; /* the sequence set */
	bool uid;
	struct imap_fetch_items items;
	size_t next; /* the next message index to look at */
	struct imap_fetch_stream st;
	uint64_t changedsince; /* CHANGEDSINCE (RFC 7162), 0: none */
};

void imap_tagged(struct mra_conn *c, const char *tag, const char *fmt, ...)
{
	va_list ap;
	imap_context_notify(c); /* RFC 5267 updates before the reply */
	(void)mra_conn_printf(c, "%s ", tag);
	va_start(ap, fmt);
	int r = buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	if (r < 0)
		mra_conn_close(c);
	(void)mra_conn_write(c, "\r\n", 2);
}

static const char *imap_capabilities(const struct mra_conn *c, bool authed)
{
	static char caps[512];
	snprintf(
	    caps, sizeof caps,
	    "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE "
	    "UIDPLUS UNSELECT CHILDREN SPECIAL-USE MOVE QUOTA BINARY ESEARCH "
	    "SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT "
	    "THREAD=REFERENCES MULTIAPPEND CATENATE LIST-STATUS CONTEXT=SEARCH "
	    "CONTEXT=SORT SEARCHRES UTF8=ACCEPT "
	    "CONDSTORE QRESYNC NOTIFY URLAUTH URLAUTH=BINARY "
	    "STATUS=SIZE OBJECTID SAVEDATE PREVIEW "
	    "LIST-EXTENDED%s%s%s",
	    authed ? " COMPRESS=DEFLATE" : "",
	    !authed && mra_srv.tls != NULL && !c->tls_on ? " STARTTLS" : "",
	    authed			? ""
	    : !mra_conn_plaintext_ok(c) ? " LOGINDISABLED"
					: " AUTH=PLAIN");
	return caps;
}

static void imap_start(struct mra_conn *c)
{
	struct imap_sess *s = xcalloc(1, sizeof *s);
	c->sess = s;
	s->conn_id = c->id;
	buf_init(&s->cmd, IMAP_LINE_MAX + IMAP_LITERALS_MAX +
			      mra_srv.message_size_limit);
	(void)mra_conn_printf(c, "* OK [CAPABILITY %s] youju ready.\r\n",
			      imap_capabilities(c, false));
}

static void imap_unwatch(struct imap_sess *s)
{
	inotify_hub_unwatch(&s->ino_w[0]);
	inotify_hub_unwatch(&s->ino_w[1]);
	s->dirty = true;
}

static bool imap_watching(const struct imap_sess *s)
{
	return s->ino_w[0] != NULL && s->ino_w[1] != NULL;
}

/* Takes the changes inotify saw; any change means "rescan". */
static void imap_ino_drain(struct imap_sess *s)
{
	if (!imap_watching(s))
		return;
	/* both: each call clears its own mark */
	bool a = inotify_watch_take(s->ino_w[0]);
	bool b = inotify_watch_take(s->ino_w[1]);
	if (a || b)
		s->dirty = true;
}

static void imap_ino_event(void *ctx)
{
	struct mra_conn *c = mra_conn_find((uint64_t)(uintptr_t)ctx);
	if (c == NULL || c->sess == NULL)
		return;
	struct imap_sess *s = c->sess;
	/* outside IDLE the change is told at the next command (RFC 3501
	   §5.2 allows untagged data only with a command in progress),
	   unless NOTIFY asked for it at once (RFC 5465 §5.1); never inside
	   a FETCH being produced */
	if (s->idle_tag != NULL) {
		imap_sync(c, true);
		mra_conn_kick(c);
	} else if (imap_notify_selected_now(s) && c->produce == NULL &&
		   !c->paused) {
		/* SELECTED-DELAYED: no EXPUNGE between commands (§5.2) */
		imap_sync_held(c, imap_notify_selected_delayed(s));
		mra_conn_kick(c);
	}
}

/*
 * The process's one inotify instance (lib/inotify_hub.h): Linux allows
 * 128 instances per user and all of youju-mra runs as vmail, so the
 * sessions of a process share one, with a watch per directory.
 */
static struct inotify_hub *imap_hub;

struct inotify_hub *imap_inotify_hub(void)
{
	if (imap_hub == NULL)
		imap_hub = inotify_hub_new(mra_srv.loop);
	return imap_hub;
}

/*
 * Watches new/ and cur/ of the selected folder: a delivery is a link into
 * new/, a flag change a rename in cur/, an expunge an unlink, so every
 * change by another session or agent shows as an event and nothing needs
 * polling.  Without inotify (no instance, no watch left) the folder is
 * rescanned at every command and polled while idling.
 */
static void imap_watch(struct mra_conn *c, struct imap_sess *s)
{
	imap_unwatch(s);
	if (s->f == NULL)
		return;
	if (imap_hub == NULL) {
		/* tried again at the next SELECT: the limit may have moved */
		static bool warned;
		imap_hub = inotify_hub_new(mra_srv.loop);
		if (imap_hub == NULL && !warned)
			log_warning("imap: inotify: %s: polling folders",
				    strerror(errno));
		warned = imap_hub == NULL;
		if (imap_hub == NULL)
			return;
	}
	static const char *const subs[] = {"new", "cur"};
	for (size_t i = 0; i < 2; i++) {
		char p[4096];
		int k = snprintf(p, sizeof p, "%s/%s", s->f->path, subs[i]);
		errno = ENAMETOOLONG;
		if (k >= 0 && (size_t)k < sizeof p)
			s->ino_w[i] =
			    inotify_hub_watch(imap_hub, p, imap_ino_event,
					      (void *)(uintptr_t)c->id);
		if (s->ino_w[i] == NULL) {
			log_warning("imap(%s): inotify %s: %s", s->login_user,
				    p, strerror(errno));
			imap_unwatch(s);
			return;
		}
	}
	/* changes between the scan and the watch: look once more */
	s->dirty = true;
}

static uint64_t imap_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Saves youju.index when the policy above says so (always: force). */
static void imap_index_save(struct imap_sess *s, bool force)
{
	if (s->ix == NULL || s->f == NULL)
		return;
	size_t pend = maildir_index_pending(s->ix);
	if (pend == 0) {
		s->ix_pending_since = 0;
		return;
	}
	uint64_t now = imap_now_ms();
	if (s->ix_pending_since == 0)
		s->ix_pending_since = now;
	if (!force && pend < IMAP_INDEX_SAVE_MIN &&
	    pend * 8 < maildir_index_count(s->ix) &&
	    now - s->ix_pending_since < IMAP_INDEX_SAVE_AGE_MS)
		return;
	if (maildir_index_save(s->ix, s->f, IMAP_INDEX_LOCK_MS) < 0) {
		if (errno != EWOULDBLOCK)
			log_warning("imap(%s): %s/" MAILDIR_INDEX_FILE ": %s",
				    s->login_user, s->f->path, strerror(errno));
		return;
	}
	s->ix_pending_since = 0;
}

/* Saves the PREVIEW cache once enough is new (always: force). */
static void imap_preview_save(struct imap_sess *s, bool force)
{
	if (s->pv == NULL || s->f == NULL)
		return;
	size_t n = imap_preview_cache_pending(s->pv);
	if (n == 0 || (!force && n < IMAP_PREVIEW_CACHE_SAVE_MIN))
		return;
	if (imap_preview_cache_save(s->pv, s->f) < 0)
		log_warning("imap(%s): %s/" IMAP_PREVIEW_CACHE_FILE ": %s",
			    s->login_user, s->f->path, strerror(errno));
}

static void imap_close_folder(struct imap_sess *s)
{
	imap_preview_save(s, true);
	imap_preview_cache_free(&s->pv);
	imap_context_clear(s);
	imap_searchres_reset(&s->saved); /* RFC 5182 §2.1 */
	maildir_modseq_deinit(&s->ms);
	imap_index_save(s, true);
	maildir_index_free(&s->ix);
	s->ix_pending_since = 0;
	imap_unwatch(s);
	if (s->f != NULL)
		imap_thread_folder_closed(s, s->f->path);
	maildir_folder_free(&s->f);
	free(s->recent);
	s->recent = NULL;
	ev_timer_free(&s->idle_timer);
	free(s->idle_tag);
	s->idle_tag = NULL;
}

/* Drops the FETCH in progress (done, or the session ends). */
static void imap_fetch_end(struct mra_conn *c, struct imap_sess *s)
{
	struct imap_fetch_cur *fc = s->fetch;
	if (fc == NULL)
		return;
	imap_fetch_stream_close(&fc->st);
	imap_fetch_items_free(&fc->items);
	free(fc->tag);
	free(fc->set);
	free(fc);
	s->fetch = NULL;
	c->produce = NULL;
}

static void imap_free(struct mra_conn *c)
{
	struct imap_sess *s = c->sess;
	if (s == NULL)
		return;
	if (s->fails > 0 && s->state == IMAP_NOAUTH)
		mra_log_auth_failed(c, s->login_user, s->method, s->fails,
				    "auth failed");
	else if (s->plaintext_refused && s->state == IMAP_NOAUTH)
		mra_log_plaintext_refused(c, s->login_user);
	else if (s->state != IMAP_NOAUTH)
		log_info("imap(%s): Disconnected: %s", s->login_user,
			 s->state == IMAP_LOGOUT ? "Logged out"
						 : "Connection closed");
	imap_fetch_end(c, s);
	imap_close_folder(s);
	imap_notify_free(&s->notify);
	buf_deinit(&s->cmd);
	free(s->maildir);
	free(s->quota);
	free(s->login_tag);
	free(s->sasl_tag);
	free(s);
	c->sess = NULL;
}

static void imap_timeout(struct mra_conn *c)
{
	(void)mra_conn_printf(c, "* BYE Disconnected for inactivity.\r\n");
}

/* ---- mailbox names ------------------------------------------------------ */

/* The folder directory of an IMAP mailbox name, or NULL when invalid. */
char *imap_folder_path(struct imap_sess *s, const char *name)
{
	return imap_mbox_path(s->maildir, name);
}

/* ---- selected folder --------------------------------------------------- */

static unsigned imap_count_recent(const struct imap_sess *s)
{
	unsigned n = 0;
	for (size_t i = 0; i < s->f->n; i++)
		n += s->recent[i];
	return n;
}

static uint32_t imap_max_uid(const struct maildir_folder *f)
{
	return f->n > 0 ? f->msgs[f->n - 1].uid : 0;
}

/* The recent watermark for a session on f: a read-write session takes
   the messages above it for itself (imap_recent.h). */
static uint32_t imap_recent_take(const struct imap_sess *s,
				 const struct maildir_folder *f)
{
	if (s->rev2) /* no \Recent in IMAP4rev2 (RFC 9051 E.7.2): none
			taken from IMAP4rev1 sessions either */
		return imap_max_uid(f);
	return imap_recent_claim(f->path, f->uidvalidity, imap_max_uid(f),
				 !s->readonly);
}

/* NOTIFY MessageNew with fetch-atts (RFC 5465 §5.2): a FETCH of each new
   message k >= from, after its EXISTS; no \Seen is set. */
static void imap_notify_fetch_new(struct mra_conn *c, struct imap_sess *s,
				  size_t from)
{
	const struct imap_fetch_items *nf = imap_notify_new_fetch(s);
	if (nf == NULL)
		return;
	struct imap_fetch_items it = *nf;
	it.modseqs = imap_condstore_modseqs(s);
	it.modseq = it.modseq && it.modseqs != NULL;
	it.uid = it.uid || s->qresync; /* RFC 7162 §3.2.4 */
	for (size_t k = from; k < s->f->n; k++)
		if (imap_fetch_one(c, s->f, k, s->recent[k], &it, true, s->ix) <
		    0)
			break;
}

static void imap_sync_ex(struct mra_conn *c, bool report, bool hold_expunges);

void imap_sync(struct mra_conn *c, bool report)
{
	imap_sync_ex(c, report, false);
}

void imap_sync_held(struct mra_conn *c, bool hold_expunges)
{
	imap_sync_ex(c, true, hold_expunges);
}

/* Re-reads the folder; report: send EXPUNGE/EXISTS/RECENT/FETCH.
   hold_expunges: a message gone keeps its place until the next sync
   (RFC 5465 §5.2 SELECTED-DELAYED, imap_notify_keep_gone); the rest is
   told now. */
static void imap_sync_ex(struct mra_conn *c, bool report, bool hold_expunges)
{
	struct imap_sess *s = c->sess;
	if (s->f == NULL)
		return;
	imap_ino_drain(s);
	if (!s->dirty)
		return; /* inotify saw nothing: the snapshot is current */
	if (imap_watching(s))
		s->dirty = false; /* events from now on count again */
	const char *err;
	struct maildir_folder *nf =
	    imap_select_open(s->f->path, !s->readonly, &err);
	if (nf == NULL) {
		log_error("imap(%s): %s: %s: %s", s->login_user, s->f->path,
			  err, strerror(errno));
		return;
	}
	if (hold_expunges && imap_notify_keep_gone(s->f, nf))
		s->dirty = true; /* the expunges at the next sync */
	bool *nrecent = xcalloc(nf->n ? nf->n : 1, sizeof *nrecent);
	size_t i = 0, j = 0, removed = 0;
	/* CONDSTORE: nf's modseqs, for the FETCH lines below */
	struct maildir_modseq nms;
	memset(&nms, 0, sizeof nms);
	if (s->condstore && imap_select_modseq_sync(nf, 2000, &nms) < 0)
		log_warning("imap(%s): %s/" MAILDIR_MODSEQ_FILE ": %s",
			    s->login_user, nf->path, strerror(errno));
	/* another session added a keyword: new FLAGS first (RFC 3501
	   §7.2.6), so the FETCH responses below may use it */
	if (report && !maildir_keywords_equal(&s->f->kw, &nf->kw))
		imap_flags_write_defs(c, &nf->kw);
	bool changed_count = false;
	/* QRESYNC: one VANISHED instead of the EXPUNGEs (RFC 7162 §3.2.10) */
	uint32_t *vanished =
	    s->qresync ? xcalloc(s->f->n + 1, sizeof *vanished) : NULL;
	size_t nvanished = 0;
	while (i < s->f->n) {
		struct maildir_msg *om = &s->f->msgs[i];
		if (j < nf->n && nf->msgs[j].uid == om->uid) {
			nrecent[j] = s->recent[i];
			if (strcmp(om->letters, nf->msgs[j].letters) != 0 &&
			    report) {
				(void)mra_conn_printf(c, "* %zu FETCH (",
						      j + 1);
				if (s->qresync) /* RFC 7162 §3.2.4 */
					(void)mra_conn_printf(
					    c, "UID %lu ",
					    (unsigned long)om->uid);
				(void)mra_conn_write(c, "FLAGS ", 6);
				imap_flags_write(c, &nf->kw,
						 nf->msgs[j].letters,
						 nrecent[j]);
				if (nms.v != NULL)
					(void)mra_conn_printf(
					    c, " MODSEQ (%llu)",
					    (unsigned long long)nms.v[j]);
				(void)mra_conn_write(c, ")\r\n", 3);
			}
			i++;
			j++;
			continue;
		}
		if (j < nf->n && nf->msgs[j].uid < om->uid) {
			j++; /* cannot happen: new UIDs are larger */
			continue;
		}
		/* expunged by someone else */
		if (report) {
			imap_context_expunge(c, i + 1 - removed);
			if (vanished != NULL)
				vanished[nvanished++] = om->uid;
			else
				(void)mra_conn_printf(c, "* %zu EXPUNGE\r\n",
						      i + 1 - removed);
		}
		removed++;
		changed_count = true;
		i++;
	}
	imap_qresync_report(c, vanished, nvanished);
	free(vanished);
	size_t old_left = s->f->n - removed;
	uint32_t first_old = old_left < nf->n ? imap_recent_take(s, nf) : 0;
	for (size_t k = old_left; k < nf->n; k++) {
		nrecent[k] = nf->msgs[k].uid > first_old;
		changed_count = true;
	}
	if (nf->n != s->f->n || changed_count) {
		if (report) {
			(void)mra_conn_printf(c, "* %zu EXISTS\r\n", nf->n);
		}
	}
	maildir_folder_free(&s->f);
	free(s->recent);
	s->f = nf;
	s->recent = nrecent;
	maildir_modseq_deinit(&s->ms);
	s->ms = nms;
	if (report && nf->n > old_left && !s->rev2)
		(void)mra_conn_printf(c, "* %u RECENT\r\n",
				      imap_count_recent(s));
	if (report && nf->n > old_left)
		imap_notify_fetch_new(c, s, old_left);
	if (report && s->idle_tag != NULL)
		imap_context_notify(c);
}

/* ---- commands ------------------------------------------------------------ */

static void cmd_capability(struct imap_ctx *x)
{
	(void)mra_conn_printf(
	    x->c, "* CAPABILITY %s\r\n",
	    imap_capabilities(x->c, x->s->state != IMAP_NOAUTH));
	imap_tagged(x->c, x->cmd->tag, "OK Capability completed.");
}

static void cmd_noop(struct imap_ctx *x)
{
	imap_sync(x->c, true);
	imap_tagged(x->c, x->cmd->tag, "OK %s completed.", x->cmd->name);
}

static void cmd_logout(struct imap_ctx *x)
{
	(void)mra_conn_printf(x->c, "* BYE Logging out\r\n");
	imap_tagged(x->c, x->cmd->tag, "OK Logout completed.");
	if (x->s->state != IMAP_NOAUTH)
		x->s->state = IMAP_LOGOUT;
	mra_conn_close(x->c);
}

static void cmd_starttls(struct imap_ctx *x)
{
	if (mra_srv.tls == NULL || x->c->tls_on) {
		imap_tagged(x->c, x->cmd->tag, "BAD TLS is not available.");
		return;
	}
	imap_tagged(x->c, x->cmd->tag, "OK Begin TLS negotiation now.");
	mra_conn_starttls(x->c);
}

static void imap_login(struct imap_ctx *x, const char *user, const char *pass,
		       size_t passlen, const char *method)
{
	struct imap_sess *s = x->s;
	snprintf(s->method, sizeof s->method, "%s", method);
	log_escape(s->login_user, sizeof s->login_user, user, strlen(user));
	if (!mra_conn_plaintext_ok(x->c)) {
		/* AUTHENTICATE is refused before its response (below) */
		imap_tagged(x->c, x->cmd->tag,
			    "NO [PRIVACYREQUIRED] Plaintext authentication "
			    "disabled.");
		return;
	}
	if (mra_login_start(x->c, "imap", str_from_cstr(user),
			    (struct str){pass, passlen}) < 0) {
		imap_tagged(x->c, x->cmd->tag,
			    "NO [UNAVAILABLE] Temporary authentication "
			    "failure.");
		return;
	}
	free(s->login_tag);
	s->login_tag = xstrdup(x->cmd->tag);
	s->login_wait = true;
}

static void cmd_login(struct imap_ctx *x)
{
	struct imap_arg *a = x->cmd->args;
	if (x->cmd->nargs != 2 || !imap_arg_is_astring(&a[0]) ||
	    !imap_arg_is_astring(&a[1])) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	if (!mra_conn_plaintext_ok(x->c)) {
		x->s->plaintext_refused = true;
		log_escape(x->s->login_user, sizeof x->s->login_user, a[0].s,
			   strlen(a[0].s));
		/* Dovecot 2.3's words (disable_plaintext_auth = yes) */
		(void)mra_conn_printf(
		    x->c,
		    "* BAD [ALERT] Plaintext authentication not allowed "
		    "without SSL/TLS, but your client did it anyway. If "
		    "anyone was listening, the password was exposed.\r\n");
		imap_tagged(x->c, x->cmd->tag,
			    "NO [PRIVACYREQUIRED] Plaintext authentication "
			    "disallowed on non-secure (SSL/TLS) connections.");
		return;
	}
	imap_login(x, a[0].s, a[1].s, a[1].len, "PLAIN");
}

static void imap_sasl_plain(struct imap_ctx *x, struct str resp)
{
	char *user, *pass;
	if (resp.len == 1 && resp.p[0] == '*') {
		imap_tagged(x->c, x->cmd->tag, "BAD Authentication aborted.");
		return;
	}
	if (mra_sasl_plain(resp, &user, &pass) < 0) {
		x->s->fails++;
		imap_tagged(x->c, x->cmd->tag,
			    "NO [AUTHENTICATIONFAILED] Invalid base64 data.");
		return;
	}
	imap_login(x, user, pass, strlen(pass), "PLAIN");
	explicit_bzero(pass, strlen(pass));
	free(pass);
	free(user);
}

static void cmd_authenticate(struct imap_ctx *x)
{
	struct imap_arg *a = x->cmd->args;
	if (x->cmd->nargs < 1 || x->cmd->nargs > 2 ||
	    a[0].type != IMAP_ARG_ATOM) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	if (strcasecmp(a[0].s, "PLAIN") != 0) {
		imap_tagged(x->c, x->cmd->tag,
			    "NO Unsupported authentication mechanism.");
		return;
	}
	if (!mra_conn_plaintext_ok(x->c)) {
		x->s->plaintext_refused = true;
		/* as Dovecot: refused before the response is asked for */
		imap_tagged(x->c, x->cmd->tag,
			    "NO [PRIVACYREQUIRED] Plaintext authentication "
			    "disabled.");
		return;
	}
	if (x->cmd->nargs == 2) { /* SASL-IR, RFC 4959 */
		struct str ir = {a[1].s, a[1].len};
		if (ir.len == 1 && ir.p[0] == '=')
			ir.len = 0;
		imap_sasl_plain(x, ir);
		return;
	}
	x->s->sasl_wait = true;
	free(x->s->sasl_tag);
	x->s->sasl_tag = xstrdup(x->cmd->tag);
	(void)mra_conn_write(x->c, "+ \r\n", 4);
}

static void imap_login_done(struct mra_conn *c,
			    const struct mra_login_result *r)
{
	struct imap_sess *s = c->sess;
	const char *tag = s->login_tag ? s->login_tag : "*";
	s->login_wait = false;
	switch (r->status) {
	case MRA_LOGIN_OK:
		break;
	case MRA_LOGIN_FAIL:
		s->fails++;
		imap_tagged(c, tag,
			    "NO [AUTHENTICATIONFAILED] "
			    "Authentication failed.");
		if (s->fails >= MRA_AUTH_FAILS_MAX) {
			(void)mra_conn_printf(c, "* BYE Too many invalid "
						 "commands.\r\n");
			mra_conn_close(c);
		}
		return;
	case MRA_LOGIN_DISABLED:
		mra_log_auth_failed(c, s->login_user, s->method, 1,
				    "IMAP disabled for this user");
		imap_tagged(c, tag,
			    "NO [AUTHORIZATIONFAILED] IMAP is "
			    "disabled for this account.");
		return;
	case MRA_LOGIN_TEMPFAIL:
		log_warning("imap-login: authd: %s, user=<%s>, rip=%s",
			    r->error ? r->error : "?", s->login_user, c->rip);
		imap_tagged(c, tag,
			    "NO [UNAVAILABLE] Temporary "
			    "authentication failure.");
		return;
	}
	snprintf(s->login_user, sizeof s->login_user, "%s", r->user);
	s->maildir = xstrdup(r->maildir);
	s->quota = xstrdup(r->quota);
	s->state = IMAP_AUTH;
	s->fails = 0;
	mra_log_login(c, r->user, s->method);
	imap_tagged(c, tag, "OK [CAPABILITY %s] Logged in",
		    imap_capabilities(c, true));
}

static void cmd_select(struct imap_ctx *x)
{
	struct imap_sess *s = x->s;
	struct imap_arg *a = x->cmd->args;
	if (x->cmd->nargs < 1 || !imap_arg_is_astring(&a[0])) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	if (s->f != NULL) {
		imap_close_folder(s);
		(void)mra_conn_printf(x->c, "* OK [CLOSED] Previous mailbox "
					    "closed.\r\n");
	}
	s->state = IMAP_AUTH;
	/* SELECT box (CONDSTORE) (RFC 7162 §3.1.8), (QRESYNC (...)) §3.2.5 */
	struct imap_qresync_req qr = {0};
	bool cs = false;
	const char *qerr = "BAD Invalid arguments.";
	if (x->cmd->nargs > 2 ||
	    (x->cmd->nargs == 2 &&
	     imap_qresync_parse_select(s, &a[1], &qr, &cs, &qerr) < 0)) {
		imap_tagged(x->c, x->cmd->tag, "%s", qerr);
		return;
	}
	if (cs)
		s->condstore = true;
	char *path = imap_folder_path(s, a[0].s);
	const char *err = "no such mailbox";
	s->readonly = strcmp(x->cmd->name, "EXAMINE") == 0;
	if (path != NULL && access(path, F_OK) == 0)
		s->f = imap_select_open(path, !s->readonly, &err);
	free(path);
	if (s->f == NULL) {
		imap_tagged(x->c, x->cmd->tag,
			    "NO [NONEXISTENT] Mailbox doesn't exist: %s",
			    a[0].s);
		return;
	}
	int ixst;
	s->ix = maildir_index_open(s->f->path, s->f->uidvalidity, &ixst);
	if (ixst < 0)
		log_info("imap(%s): %s/" MAILDIR_INDEX_FILE " unusable "
			 "(corrupt, old or another UIDVALIDITY): rebuilding",
			 s->login_user, s->f->path);
	s->recent = xcalloc(s->f->n ? s->f->n : 1, sizeof *s->recent);
	uint32_t first_old = imap_recent_take(s, s->f);
	size_t unseen = 0;
	for (size_t i = 0; i < s->f->n; i++) {
		s->recent[i] = s->f->msgs[i].uid > first_old;
		if (unseen == 0 && !(maildir_flags_parse(
					 str_from_cstr(s->f->msgs[i].letters)) &
				     MAILDIR_SEEN))
			unseen = i + 1;
	}
	struct mra_conn *c = x->c;
	imap_flags_write_defs(c, &s->f->kw);
	(void)mra_conn_printf(c, "* %zu EXISTS\r\n", s->f->n);
	if (!s->rev2) /* RFC 9051 E.7.2, E.7.3: no RECENT, no UNSEEN */
		(void)mra_conn_printf(c, "* %u RECENT\r\n",
				      imap_count_recent(s));
	if (unseen > 0 && !s->rev2)
		(void)mra_conn_printf(c, "* OK [UNSEEN %zu] First unseen.\r\n",
				      unseen);
	(void)mra_conn_printf(c,
			      "* OK [UIDVALIDITY %lu] UIDs valid\r\n"
			      "* OK [UIDNEXT %lu] Predicted next UID\r\n",
			      (unsigned long)s->f->uidvalidity,
			      (unsigned long)s->f->next_uid);
	char mbid[IMAP_OBJECTID_SIZE];
	if (imap_objectid_mailbox(s->f->path, mbid) == 0) /* RFC 8474 §4 */
		(void)mra_conn_printf(c, "* OK [MAILBOXID (%s)] Ok\r\n", mbid);
	s->state = IMAP_SELECTED;
	if (s->condstore) {
		imap_condstore_refresh(s);
		(void)mra_conn_printf(c,
				      "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
				      (unsigned long long)s->ms.highest);
	}
	imap_qresync_select(c, &qr);
	imap_watch(c, s);
	imap_tagged(c, x->cmd->tag, "OK [%s] %s completed.",
		    s->readonly ? "READ-ONLY" : "READ-WRITE", x->cmd->name);
}

static void cmd_status(struct imap_ctx *x)
{
	struct imap_arg *a = x->cmd->args;
	if (x->cmd->nargs != 2 || !imap_arg_is_astring(&a[0]) ||
	    a[1].type != IMAP_ARG_LIST) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	if (!imap_status_items_ok(&a[1])) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid status item.");
		return;
	}
	const char *no = imap_status_write(x->c, x->s->maildir, a[0].s, &a[1]);
	imap_tagged(x->c, x->cmd->tag, "%s", no ? no : "OK Status completed.");
}

static void cmd_create(struct imap_ctx *x)
{
	struct imap_arg *a = x->cmd->args;
	if (x->cmd->nargs != 1 || !imap_arg_is_astring(&a[0])) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	char name[MAILDIR_FOLDER_MAX + 1];
	snprintf(name, sizeof name, "%s", a[0].s);
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		name[len - 1] = '\0'; /* "foo." asks for a parent */
	if (maildir_folder_create(x->s->maildir, name) < 0) {
		imap_tagged(x->c, x->cmd->tag, "NO %s",
			    errno == EEXIST ? "[ALREADYEXISTS] Mailbox "
					      "already exists."
					    : "[CANNOT] Invalid mailbox name.");
		return;
	}
	/* RFC 8474 §4: the new mailbox's id in the reply */
	char *path = imap_folder_path(x->s, name);
	char mbid[IMAP_OBJECTID_SIZE];
	if (path != NULL && imap_objectid_mailbox(path, mbid) == 0)
		imap_tagged(x->c, x->cmd->tag,
			    "OK [MAILBOXID (%s)] Create completed.", mbid);
	else
		imap_tagged(x->c, x->cmd->tag, "OK Create completed.");
	free(path);
}

static void imap_mbox_run(struct imap_ctx *x,
			  const char *(*fn)(const struct imap_mbox_ctx *))
{
	struct imap_mbox_ctx mx = {x->c, x->s->maildir, x->s->quota, x->cmd};
	const char *reply = fn(&mx);
	imap_tagged(x->c, x->cmd->tag, "%s", reply);
}

static void cmd_list(struct imap_ctx *x)
{
	imap_mbox_run(x, imap_mbox_list);
}

static void cmd_subscribe(struct imap_ctx *x)
{
	imap_mbox_run(x, imap_mbox_subscribe);
}

static void cmd_quota(struct imap_ctx *x)
{
	imap_mbox_run(x, imap_mbox_quota);
}

/* The selected folder's directory when it is path or lies under it. */
static bool imap_selected_under(const struct imap_sess *s, const char *path)
{
	size_t len = strlen(path);
	return s->f != NULL && strncmp(s->f->path, path, len) == 0 &&
	       (s->f->path[len] == '\0' || s->f->path[len] == '.');
}

static void cmd_delete(struct imap_ctx *x)
{
	struct imap_sess *s = x->s;
	char *path = x->cmd->nargs == 1 && imap_arg_is_astring(&x->cmd->args[0])
			 ? imap_folder_path(s, x->cmd->args[0].s)
			 : NULL;
	if (path != NULL && s->f != NULL && strcmp(s->f->path, path) == 0 &&
	    strcmp(path, s->maildir) != 0) {
		maildir_index_free(&s->ix); /* going away: not worth saving */
		imap_preview_cache_free(&s->pv);
		imap_close_folder(s);
		s->state = IMAP_AUTH;
	}
	free(path);
	imap_mbox_run(x, imap_mbox_delete);
}

static void cmd_rename(struct imap_ctx *x)
{
	struct imap_sess *s = x->s;
	struct imap_arg *a = x->cmd->args;
	char *from = NULL, *to = NULL;
	if (x->cmd->nargs == 2 && imap_arg_is_astring(&a[0]) &&
	    imap_arg_is_astring(&a[1]) && strcasecmp(a[0].s, "INBOX") != 0) {
		from = imap_folder_path(s, a[0].s);
		to = imap_folder_path(s, a[1].s);
	}
	imap_mbox_run(x, imap_mbox_rename);
	/* the selected folder moved with its parent: follow it */
	if (from != NULL && to != NULL && imap_selected_under(s, from) &&
	    access(from, F_OK) < 0) {
		char np[4096];
		int k = snprintf(np, sizeof np, "%s%s", to,
				 s->f->path + strlen(from));
		if (k > 0 && (size_t)k < sizeof np) {
			free(s->f->path);
			s->f->path = xstrdup(np);
			imap_watch(x->c, s);
			/* the index moved along; what was pending is lost */
			maildir_index_free(&s->ix);
			imap_preview_cache_free(&s->pv);
			s->ix = maildir_index_open(np, s->f->uidvalidity, NULL);
		}
	}
	free(from);
	free(to);
}

static void cmd_namespace(struct imap_ctx *x)
{
	(void)mra_conn_printf(x->c, "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n");
	imap_tagged(x->c, x->cmd->tag, "OK Namespace completed.");
}

static void cmd_id(struct imap_ctx *x)
{
	(void)mra_conn_printf(x->c, "* ID (\"name\" \"youju\")\r\n");
	imap_tagged(x->c, x->cmd->tag, "OK ID completed.");
}

static void cmd_enable(struct imap_ctx *x)
{
	bool cs = false, qr = false, rev2 = false, utf8 = false;
	for (size_t i = 0; i < x->cmd->nargs; i++) {
		const struct imap_arg *a = &x->cmd->args[i];
		if (a->type == IMAP_ARG_ATOM &&
		    strcasecmp(a->s, "CONDSTORE") == 0)
			cs = !x->s->condstore;
		if (a->type == IMAP_ARG_ATOM &&
		    strcasecmp(a->s, "QRESYNC") == 0)
			qr = !x->s->qresync;
	}
	if (imap_args_have_atom(x->cmd->args, x->cmd->nargs, "IMAP4rev2") &&
	    !x->s->rev2)
		rev2 = x->s->rev2 = true; /* mra/imap_rev2.c */
	if (imap_args_have_atom(x->cmd->args, x->cmd->nargs, "UTF8=ACCEPT") &&
	    !x->s->utf8)
		utf8 = x->s->utf8 = true; /* RFC 6855, mra/imap_utf8.c */
	if (cs)
		imap_condstore_enable(x->c, false);
	if (qr)
		imap_qresync_enable(x->c);
	(void)mra_conn_printf(x->c, "* ENABLED%s%s%s%s\r\n",
			      cs ? " CONDSTORE" : "", qr ? " QRESYNC" : "",
			      rev2 ? " IMAP4rev2" : "",
			      utf8 ? " UTF8=ACCEPT" : "");
	imap_tagged(x->c, x->cmd->tag, "OK Enabled.");
}

static void cmd_check(struct imap_ctx *x)
{
	imap_sync(x->c, true);
	imap_tagged(x->c, x->cmd->tag, "OK Check completed.");
}

static void cmd_close(struct imap_ctx *x)
{
	if (strcmp(x->cmd->name, "CLOSE") == 0 && !x->s->readonly)
		imap_expunge(x->c, NULL, false);
	imap_close_folder(x->s);
	x->s->state = IMAP_AUTH;
	imap_tagged(x->c, x->cmd->tag, "OK %s completed.", x->cmd->name);
}

/* message numbers of the set: seq or UID */
bool imap_in_set(const struct imap_sess *s, const char *set, bool uid, size_t i)
{
	if (uid)
		return imap_seqset_has(set, s->f->msgs[i].uid,
				       s->f->n ? s->f->msgs[s->f->n - 1].uid
					       : 0);
	return imap_seqset_has(set, (uint32_t)(i + 1), (uint32_t)s->f->n);
}

/* c->produce during a FETCH: the next piece of a literal being sent,
   else the next message of the set, else the tagged reply. */
static void imap_fetch_produce(struct mra_conn *c)
{
	struct imap_sess *s = c->sess;
	struct imap_fetch_cur *fc = s->fetch;
	if (fc->st.fd >= 0 || fc->st.left > 0) {
		if (imap_fetch_stream_step(c, &fc->st) < 0)
			imap_fetch_end(c, s);
		return;
	}
	while (fc->next < s->f->n) {
		size_t i = fc->next++;
		if (!imap_in_set(s, fc->set, fc->uid, i))
			continue;
		if (fc->changedsince != 0 &&
		    imap_condstore_modseq(s, i) <= fc->changedsince)
			continue;
		int r =
		    imap_fetch_one_stream(c, s->f, i, s->recent[i], &fc->items,
					  s->readonly, s->ix, &fc->st);
		if (r < 0) {
			imap_fetch_end(c, s);
			return;
		}
		if (s->ix != NULL)
			imap_index_bound(s->ix, s->f);
		return; /* one message per call: the output is looked at */
	}
	imap_index_save(s, false);
	imap_preview_save(s, false);
	imap_tagged(c, fc->tag, "OK Fetch completed.");
	imap_fetch_end(c, s);
}

static void cmd_fetch(struct imap_ctx *x)
{
	struct imap_sess *s = x->s;
	struct imap_arg *a = x->cmd->args;
	uint64_t since = 0;
	bool vanished = false;
	/* FETCH set items (CHANGEDSINCE n [VANISHED]) (RFC 7162 §3.1.4.1,
	   §3.2.6) */
	if (x->cmd->nargs == 3 &&
	    imap_qresync_fetch_mods(x->s, &a[2], x->uid, &since, &vanished) <
		0) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid FETCH modifier.");
		return;
	}
	if ((x->cmd->nargs != 2 && x->cmd->nargs != 3) ||
	    a[0].type != IMAP_ARG_ATOM || !imap_seqset_ok(a[0].s)) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	struct imap_fetch_cur *fc = xcalloc(1, sizeof *fc);
	const char *err;
	if (imap_fetch_parse(&a[1], x->uid, &fc->items, &err) < 0) {
		free(fc);
		imap_tagged(x->c, x->cmd->tag, "BAD %s", err);
		return;
	}
	if (fc->items.modseq || since != 0)
		imap_condstore_enable(x->c, true);
	if (s->condstore && (fc->items.flags || since != 0))
		fc->items.modseq = true; /* RFC 7162 §3.1.4 */
	if (s->qresync)
		fc->items.uid = true; /* every FETCH names its UID (§3.2.4) */
	fc->items.modseqs = imap_condstore_modseqs(s);
	if (fc->items.preview && s->pv == NULL)
		s->pv = imap_preview_cache_open(s->f->path, s->f->uidvalidity);
	fc->items.pvcache = s->pv;
	fc->changedsince = since;
	if (vanished)
		imap_qresync_vanished(x->c, a[0].s, since);
	fc->tag = xstrdup(x->cmd->tag);
	fc->set = xstrdup(a[0].s);
	fc->uid = x->uid;
	fc->st.fd = -1;
	s->fetch = fc;
	x->c->produce = imap_fetch_produce;
	/* a small FETCH is done at once, and pipelined commands go on in
	   the same pass */
	mra_conn_pump(x->c);
}

static uint64_t imap_idle_interval(const struct imap_sess *s)
{
	return s->f != NULL && !imap_watching(s) ? IMAP_IDLE_POLL_MS
						 : IMAP_IDLE_KEEPALIVE_MS;
}

static void imap_idle_tick(struct ev_timer *t, void *ctx)
{
	struct mra_conn *c = mra_conn_find((uint64_t)(uintptr_t)ctx);
	if (c == NULL)
		return;
	struct imap_sess *s = c->sess;
	if (s->f != NULL && !imap_watching(s))
		imap_sync(c, true); /* no inotify: poll */
	else
		(void)mra_conn_printf(c, "* OK Still here\r\n");
	ev_timer_set(s->idle_timer, imap_idle_interval(s));
	mra_conn_kick(c);
}

/*
 * IDLE (RFC 2177): changes are pushed as inotify reports them.  The
 * autologout timer keeps running (only client input resets it), so a
 * client must re-issue IDLE within imap_autologout (30 min by default;
 * RFC 2177 tells clients to do so every 29 minutes).
 */
static void cmd_idle(struct imap_ctx *x)
{
	struct imap_sess *s = x->s;
	free(s->idle_tag);
	s->idle_tag = xstrdup(x->cmd->tag);
	(void)mra_conn_write(x->c, "+ idling\r\n", 10);
	imap_sync(x->c, true);
	if (s->idle_timer == NULL)
		s->idle_timer =
		    ev_timer_new(mra_srv.loop, imap_idle_interval(s),
				 imap_idle_tick, (void *)(uintptr_t)x->c->id);
	else
		ev_timer_set(s->idle_timer, imap_idle_interval(s));
}

/* CANCELUPDATE "tag" ... (RFC 5267 §4.3) */
static void cmd_cancelupdate(struct imap_ctx *x)
{
	struct imap_arg *a = x->cmd->args;
	bool ok = x->cmd->nargs > 0;
	for (size_t i = 0; ok && i < x->cmd->nargs; i++)
		ok = imap_arg_is_astring(&a[i]) &&
		     imap_context_cancel(x->s, a[i].s) == 0;
	imap_tagged(x->c, x->cmd->tag,
		    ok ? "OK Updates cancelled." : "BAD Unknown search tag.");
}

static void cmd_sort(struct imap_ctx *x)
{
	if (imap_searchres_asked(x->cmd->args, x->cmd->nargs)) {
		imap_tagged(x->c, x->cmd->tag, "BAD SAVE is for SEARCH only.");
		return;
	}
	imap_sort_cmd(x->c, x->cmd->tag, x->s->f, x->s->recent, x->s->ix,
		      x->uid, x->cmd->args, x->cmd->nargs);
	imap_index_save(x->s, false);
}

static void cmd_thread(struct imap_ctx *x)
{
	imap_thread_cmd(x->c, x->cmd->tag, x->s->f, x->s->recent, x->s->ix,
			x->uid, x->cmd->args, x->cmd->nargs);
	imap_index_save(x->s, false);
}

static void cmd_search(struct imap_ctx *x)
{
	/* SEARCH MODSEQ enables CONDSTORE (RFC 7162 §3.1) */
	if (imap_args_have_atom(x->cmd->args, x->cmd->nargs, "MODSEQ"))
		imap_condstore_enable(x->c, true);
	/* IMAP4rev2 answers a plain SEARCH with ESEARCH (RFC 9051 E.7.4) */
	size_t n = x->cmd->nargs;
	struct imap_arg *args = imap_rev2_search_args(x->s, x->cmd->args, &n);
	imap_search_cmd(x->c, x->cmd->tag, x->s->f, x->s->recent,
			imap_condstore_modseqs(x->s), x->uid, x->s->ix,
			args ? args : x->cmd->args, n, &x->s->saved);
	free(args);
	imap_index_save(x->s, false);
}

/* ---- dispatch ------------------------------------------------------------ */

enum { ANY = 1, NOAUTH = 2, AUTH = 4, SEL = 8, UIDOK = 16 };

static const struct {
	const char *name;
	void (*fn)(struct imap_ctx *x);
	unsigned flags;
} imap_cmds[] = {
    {"CAPABILITY", cmd_capability, ANY},
    {"NOOP", cmd_noop, ANY},
    {"LOGOUT", cmd_logout, ANY},
    {"ID", cmd_id, ANY},
    {"STARTTLS", cmd_starttls, NOAUTH},
    {"LOGIN", cmd_login, NOAUTH},
    {"AUTHENTICATE", cmd_authenticate, NOAUTH},
    {"SELECT", cmd_select, AUTH | SEL},
    {"EXAMINE", cmd_select, AUTH | SEL},
    {"CREATE", cmd_create, AUTH | SEL},
    {"DELETE", cmd_delete, AUTH | SEL},
    {"RENAME", cmd_rename, AUTH | SEL},
    {"SUBSCRIBE", cmd_subscribe, AUTH | SEL},
    {"GETQUOTAROOT", cmd_quota, AUTH | SEL},
    {"GETQUOTA", cmd_quota, AUTH | SEL},
    {"SETQUOTA", cmd_quota, AUTH | SEL},
    {"UNSUBSCRIBE", cmd_subscribe, AUTH | SEL},
    {"LIST", cmd_list, AUTH | SEL},
    {"LSUB", cmd_list, AUTH | SEL},
    {"STATUS", cmd_status, AUTH | SEL},
    {"APPEND", imap_cmd_append, AUTH | SEL},
    {"NAMESPACE", cmd_namespace, AUTH | SEL},
    {"ENABLE", cmd_enable, AUTH | SEL},
    {"IDLE", cmd_idle, AUTH | SEL},
    {"CHECK", cmd_check, SEL},
    {"CLOSE", cmd_close, SEL},
    {"UNSELECT", cmd_close, SEL},
    {"EXPUNGE", imap_cmd_expunge, SEL | UIDOK},
    {"FETCH", cmd_fetch, SEL | UIDOK},
    {"STORE", imap_cmd_store, SEL | UIDOK},
    {"COPY", imap_cmd_copy, SEL | UIDOK},
    {"MOVE", imap_cmd_copy, SEL | UIDOK},
    {"SEARCH", cmd_search, SEL | UIDOK},
    {"SORT", cmd_sort, SEL | UIDOK},
    {"THREAD", cmd_thread, SEL | UIDOK},
    {"CANCELUPDATE", cmd_cancelupdate, SEL},
    {"NOTIFY", imap_cmd_notify, AUTH | SEL},
    {"GENURLAUTH", imap_cmd_genurlauth, AUTH | SEL},
    {"RESETKEY", imap_cmd_resetkey, AUTH | SEL},
    {"URLFETCH", imap_cmd_urlfetch, AUTH | SEL},
    {"COMPRESS", imap_compress_cmd, AUTH | SEL},
};

static void imap_dispatch(struct mra_conn *c, struct imap_cmd *cmd)
{
	struct imap_sess *s = c->sess;
	struct imap_ctx x = {c, s, cmd, false};
	if (strcmp(cmd->name, "UID") == 0) {
		if (cmd->nargs < 1 || cmd->args[0].type != IMAP_ARG_ATOM) {
			imap_tagged(c, cmd->tag, "BAD Missing UID command.");
			return;
		}
		/* shift "UID FETCH ..." to "FETCH ..." */
		free(cmd->name);
		cmd->name = cmd->args[0].s;
		for (char *q = cmd->name; *q != '\0'; q++)
			if (*q >= 'a' && *q <= 'z')
				*q = (char)(*q - 32);
		cmd->args[0].s = NULL;
		cmd->nargs--;
		memmove(cmd->args, cmd->args + 1,
			cmd->nargs * sizeof *cmd->args);
		x.uid = true;
	}
	for (size_t i = 0; i < sizeof imap_cmds / sizeof *imap_cmds; i++) {
		if (strcmp(imap_cmds[i].name, cmd->name) != 0)
			continue;
		unsigned fl = imap_cmds[i].flags;
		if (x.uid && !(fl & UIDOK))
			break;
		bool ok = (fl & ANY) ||
			  (s->state == IMAP_NOAUTH && (fl & NOAUTH)) ||
			  (s->state == IMAP_AUTH && (fl & AUTH)) ||
			  (s->state == IMAP_SELECTED && (fl & SEL));
		if (!ok) {
			imap_tagged(c, cmd->tag,
				    "BAD Command not valid in "
				    "this state.");
			s->bad++;
			return;
		}
		s->bad = 0;
		const char *uerr;
		if (s->state != IMAP_NOAUTH &&
		    imap_utf8_command(s->utf8, s->utf8 || s->rev2, cmd, &uerr) <
			0) {
			imap_tagged(c, cmd->tag, "BAD %s", uerr);
			return;
		}
		if (s->state == IMAP_SELECTED) /* "$" (RFC 5182) */
			imap_searchres_expand(&s->saved, s->f, cmd, x.uid);
		imap_cmds[i].fn(&x);
		/* Dovecot-like: report changes after most commands */
		if (s->state == IMAP_SELECTED && s->idle_tag == NULL &&
		    (fl & UIDOK) && strcmp(cmd->name, "FETCH") != 0 &&
		    strcmp(cmd->name, "STORE") != 0 &&
		    strcmp(cmd->name, "SEARCH") != 0 &&
		    strcmp(cmd->name, "SORT") != 0 &&
		    strcmp(cmd->name, "THREAD") != 0)
			imap_sync(c, true);
		return;
	}
	s->bad++;
	imap_tagged(c, cmd->tag, "BAD Unknown command.");
}

static void imap_run_command(struct mra_conn *c)
{
	struct imap_sess *s = c->sess;
	struct imap_cmd cmd;
	const char *err = "Parse error";
	if (imap_parse(s->cmd.p ? s->cmd.p : "", s->cmd.len, &cmd, &err) < 0) {
		s->bad++;
		imap_tagged(c, cmd.tag ? cmd.tag : "*", "BAD %s", err);
	} else {
		imap_dispatch(c, &cmd);
	}
	imap_cmd_free(&cmd);
	buf_reset(&s->cmd);
	if (s->bad >= MRA_BAD_MAX) {
		(void)mra_conn_printf(c,
				      "* BYE Too many invalid commands.\r\n");
		mra_conn_close(c);
	}
}

static void imap_continuation(struct mra_conn *c, struct str line)
{
	struct imap_sess *s = c->sess;
	if (s->idle_tag != NULL) {
		if (str_case_eq_cstr(line, "DONE")) {
			imap_tagged(c, s->idle_tag, "OK Idle completed.");
		} else {
			imap_tagged(c, s->idle_tag, "BAD Expected DONE.");
		}
		free(s->idle_tag);
		s->idle_tag = NULL;
		ev_timer_free(&s->idle_timer);
		return;
	}
	/* AUTHENTICATE PLAIN response */
	struct imap_cmd cmd = {.tag = s->sasl_tag, .name = (char *)"AUTH"};
	struct imap_ctx x = {c, s, &cmd, false};
	s->sasl_wait = false;
	imap_sasl_plain(&x, line);
	free(s->sasl_tag);
	s->sasl_tag = NULL;
}

static void imap_input(struct mra_conn *c)
{
	struct imap_sess *s = c->sess;
	while (!c->closing && !c->paused && !c->starttls_pending &&
	       !c->compress_pending && c->produce == NULL &&
	       !mra_conn_backlogged(c)) {
		if (s->lit_left > 0) {
			size_t take = c->in.len < s->lit_left
					  ? c->in.len
					  : (size_t)s->lit_left;
			if (take == 0)
				return;
			if (buf_append(&s->cmd, c->in.p, take) < 0) {
				mra_conn_close(c);
				return;
			}
			buf_consume(&c->in, take);
			s->lit_left -= take;
			continue;
		}
		if (s->skipping) {
			if (!net_skip_line(&c->in))
				return;
			s->skipping = false;
			continue;
		}
		struct str line;
		enum net_line r = net_read_line(&c->in, IMAP_LINE_MAX, &line);
		if (r == LINE_MORE)
			return;
		if (r == LINE_TOOLONG) {
			(void)mra_conn_printf(c, "* BAD Command line too "
						 "long.\r\n");
			buf_reset(&s->cmd);
			s->skipping = true;
			if (++s->bad >= MRA_BAD_MAX)
				mra_conn_close(c);
			continue;
		}
		if (s->idle_tag != NULL || s->sasl_wait) {
			imap_continuation(c, line);
			net_line_consume(&c->in, line);
			continue;
		}
		uint64_t lit = 0;
		bool sync = false;
		/* APPEND may carry a message-sized literal, others little */
		bool is_append = false;
		{
			const char *sp = s->cmd.len ? s->cmd.p : line.p;
			size_t sl = s->cmd.len ? s->cmd.len : line.len;
			const char *q = memchr(sp, ' ', sl);
			if (q != NULL) {
				struct str rest = {q + 1,
						   sl - (size_t)(q + 1 - sp)};
				is_append =
				    str_has_prefix_case(rest, "APPEND ");
			}
		}
		uint64_t cap =
		    is_append ? mra_srv.message_size_limit : IMAP_LITERALS_MAX;
		int fr = imap_frame_line(line, cap, &lit, &sync);
		if (buf_append(&s->cmd, line.p, line.len) < 0 || fr < 0) {
			/* RFC 7888 §4: a non-synchronising literal that is
			   too big cannot be skipped reliably: close */
			bool plus = line.len > 2 && line.p[line.len - 2] == '+';
			(void)mra_conn_printf(c, "* BAD [TOOBIG] Literal or "
						 "command too large.\r\n");
			buf_reset(&s->cmd);
			net_line_consume(&c->in, line);
			if (plus)
				mra_conn_close(c);
			continue;
		}
		net_line_consume(&c->in, line);
		if (fr == 1) {
			if (buf_append(&s->cmd, "\r\n", 2) < 0) {
				mra_conn_close(c);
				return;
			}
			s->lit_left = lit;
			if (sync)
				(void)mra_conn_write(c, "+ OK\r\n", 6);
			continue;
		}
		imap_run_command(c);
	}
}

const struct mra_proto mra_imap_proto = {
    .name = "imap",
    .start = imap_start,
    .input = imap_input,
    .login_done = imap_login_done,
    .timeout = imap_timeout,
    .free = imap_free,
};
