/*
 * The IMAP commands that change messages (RFC 3501 §6.4): STORE with
 * flag changes applied atomically to the flags on disk, COPY and MOVE
 * (RFC 6851) with COPYUID (RFC 4315), APPEND with APPENDUID and BINARY
 * literals (RFC 3516), EXPUNGE and UID EXPUNGE.  The mail semantics
 * (quota, keywords, hard links, maildirsize) are lib/mailbox's; this
 * file is the protocol around them.
 */
#include "mra.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "imap_condstore.h"
#include "imap_context.h"
#include "imap_flags.h"
#include "imap_parse.h"
#include "imap_qresync.h"
#include "imap_render.h"
#include "imap_sess.h"
#include "log.h"
#include "mailbox.h"
#include "maildir.h"
#include "xalloc.h"

/* The session's store for lib/mailbox: its Maildir and authd's quota. */
static void imap_user(const struct imap_sess *s, struct mailbox_user *u)
{
	if (mailbox_user_init(u, s->maildir, s->quota) < 0)
		log_warning("imap(%s): bad quota definition %s", s->login_user,
			    s->quota);
}

/* The UIDs of f's messages (owned), before lib/mailbox compacts it. */
static uint32_t *imap_uids(const struct maildir_folder *f)
{
	uint32_t *v = xcalloc(f->n ? f->n : 1, sizeof *v);
	for (size_t i = 0; i < f->n; i++)
		v[i] = f->msgs[i].uid;
	return v;
}

/*
 * After lib/mailbox took messages out of the view (gone[i] for the old
 * message i, whose UID was uids[i]): sends their EXPUNGE responses (one
 * VANISHED with QRESYNC) when report, drops their \Recent marks and
 * records the expunges in youju-modseq (CONDSTORE).
 */
static void imap_expunged(struct mra_conn *c, const bool *gone, uint32_t *uids,
			  size_t old_n, bool report)
{
	struct imap_sess *s = c->sess;
	size_t w = 0, k = 0;
	for (size_t i = 0; i < old_n; i++) {
		if (gone[i]) {
			if (report) {
				imap_context_expunge(c, i + 1 - k);
				if (!s->qresync)
					(void)mra_conn_printf(
					    c, "* %zu EXPUNGE\r\n", i + 1 - k);
			}
			uids[k++] = uids[i]; /* i >= k: not read again */
			continue;
		}
		s->recent[w++] = s->recent[i];
	}
	if (report && s->qresync)
		imap_qresync_report(c, uids, k);
	if (k > 0 && s->condstore)
		imap_condstore_refresh(s);
}

/* Removes \Deleted messages; uidset limits it (UID EXPUNGE).  Sends
   EXPUNGE responses when report. */
void imap_expunge(struct mra_conn *c, const char *uidset, bool report)
{
	struct imap_sess *s = c->sess;
	struct maildir_folder *f = s->f;
	struct mailbox_user u;
	size_t n = f->n, removed;
	uint32_t maxuid = n ? f->msgs[n - 1].uid : 0;
	bool *sel = xcalloc(n ? n : 1, sizeof *sel);
	for (size_t i = 0; i < n; i++) {
		struct maildir_msg *m = &f->msgs[i];
		sel[i] =
		    (maildir_flags_parse(str_from_cstr(m->letters)) &
		     MAILDIR_TRASHED) &&
		    (uidset == NULL || imap_seqset_has(uidset, m->uid, maxuid));
	}
	imap_user(s, &u);
	uint32_t *uids = imap_uids(f);
	if (mailbox_expunge(&u, f, sel, &removed) < 0)
		log_error("imap(%s): expunge in %s: %s", s->login_user, f->path,
			  strerror(errno));
	imap_expunged(c, sel, uids, n, report);
	free(uids);
	free(sel);
}

void imap_cmd_expunge(struct imap_ctx *x)
{
	if (x->s->readonly) {
		imap_tagged(x->c, x->cmd->tag,
			    "NO [READ-ONLY] Mailbox is "
			    "read-only.");
		return;
	}
	const char *set = NULL;
	if (x->uid) {
		if (x->cmd->nargs != 1 ||
		    x->cmd->args[0].type != IMAP_ARG_ATOM ||
		    !imap_seqset_ok(x->cmd->args[0].s)) {
			imap_tagged(x->c, x->cmd->tag,
				    "BAD Invalid arguments.");
			return;
		}
		set = x->cmd->args[0].s;
	}
	imap_expunge(x->c, set, true);
	imap_sync(x->c, true);
	imap_tagged(x->c, x->cmd->tag, "OK Expunge completed.");
}

/*
 * Gives fs's keywords letters in the selected folder; when that adds to
 * its table, the client hears the new FLAGS first.  0, or -1 with errno
 * (ENOSPC: no letter left).
 */
static int imap_kw_assign(struct mra_conn *c, struct imap_sess *s,
			  const struct imap_flagset *fs)
{
	if (fs->nkw == 0)
		return 0;
	struct maildir_keywords kw;
	maildir_keywords_init(&kw);
	int r = maildir_keywords_assign(s->f->path, fs->kw, fs->nkw, &kw);
	int e = errno;
	if (!maildir_keywords_equal(&kw, &s->f->kw)) {
		maildir_keywords_copy(&s->f->kw, &kw);
		imap_flags_write_defs(c, &s->f->kw);
	}
	maildir_keywords_deinit(&kw);
	errno = e;
	return r;
}

void imap_cmd_store(struct imap_ctx *x)
{
	struct imap_sess *s = x->s;
	struct imap_arg *a = x->cmd->args;
	const char *set = x->cmd->nargs > 0 ? x->cmd->args[0].s : NULL;
	uint64_t since = 0;
	bool cond = false;
	/* STORE set (UNCHANGEDSINCE n) item flags (RFC 7162 §3.1.3) */
	if (x->cmd->nargs == 4 && a[1].type == IMAP_ARG_LIST) {
		if (a[1].n != 2 || a[1].list[0].type != IMAP_ARG_ATOM ||
		    strcasecmp(a[1].list[0].s, "UNCHANGEDSINCE") != 0 ||
		    a[1].list[1].type != IMAP_ARG_ATOM ||
		    str_parse_u64(a[1].list[1].s, 0, INT64_MAX, &since) < 0) {
			imap_tagged(x->c, x->cmd->tag,
				    "BAD Invalid STORE modifier.");
			return;
		}
		cond = true;
		a++; /* the rest as without it */
	} else if (x->cmd->nargs != 3) {
		a = NULL;
	}
	if (a == NULL || x->cmd->args[0].type != IMAP_ARG_ATOM ||
	    !imap_seqset_ok(set) || a[1].type != IMAP_ARG_ATOM) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	const char *op = a[1].s;
	int mode = op[0] == '+' ? 1 : op[0] == '-' ? -1 : 0;
	if (mode != 0)
		op++;
	bool silent = strcasecmp(op, "FLAGS.SILENT") == 0;
	if (!silent && strcasecmp(op, "FLAGS") != 0) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid STORE item.");
		return;
	}
	struct imap_flagset fs;
	int r = a[2].type == IMAP_ARG_LIST
		    ? imap_flags_parse(a[2].list, a[2].n, &fs)
		    : imap_flags_parse(&a[2], 1, &fs);
	if (r < 0) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid flags.");
		return;
	}
	if (s->readonly) {
		imap_tagged(x->c, x->cmd->tag,
			    "NO [READ-ONLY] Mailbox is "
			    "read-only.");
		return;
	}
	/* removing a keyword the folder does not know changes nothing */
	if (mode >= 0 && imap_kw_assign(x->c, s, &fs) < 0) {
		imap_tagged(x->c, x->cmd->tag, "NO %s",
			    errno == ENOSPC ? "[LIMIT] Too many keywords in "
					      "this mailbox (26)."
					    : "[SERVERBUG] Cannot store "
					      "keywords.");
		return;
	}
	uint32_t kwb = imap_flags_kwbits(&fs, &s->f->kw);
	enum mailbox_flags_mode fm = mode > 0	? MAILBOX_FLAGS_ADD
				     : mode < 0 ? MAILBOX_FLAGS_REMOVE
						: MAILBOX_FLAGS_REPLACE;
	if (cond)
		imap_condstore_enable(x->c, true);
	else
		imap_condstore_refresh(s);
	bool *done = xcalloc(s->f->n ? s->f->n : 1, sizeof *done);
	struct buf modified;
	buf_init(&modified, 64 * 1024);
	size_t nmod = 0;
	for (size_t i = 0; i < s->f->n; i++) {
		if (!imap_in_set(s, set, x->uid, i))
			continue;
		struct maildir_msg *m = &s->f->msgs[i];
		if (cond && imap_condstore_modseq(s, i) > since) {
			/* changed since: not stored, told in MODIFIED */
			if (buf_printf(&modified, "%s%lu", nmod ? "," : "",
				       x->uid ? (unsigned long)m->uid
					      : (unsigned long)(i + 1)) == 0)
				nmod++;
			continue;
		}
		/* applied to the flags on disk now: another session's
		   change since our last sync is kept (imaptest) */
		if (mailbox_msg_flags(s->f, m, fm, fs.sys, kwb) < 0)
			continue; /* expunged meanwhile: the sync tells */
		done[i] = true;
	}
	/* the new modseqs, for the FETCH lines (RFC 7162 §3.1.3) */
	imap_condstore_refresh(s);
	for (size_t i = 0; i < s->f->n; i++) {
		if (!done[i] || (silent && !s->condstore))
			continue;
		struct maildir_msg *m = &s->f->msgs[i];
		(void)mra_conn_printf(x->c, "* %zu FETCH (", i + 1);
		if (x->uid || s->qresync) /* RFC 7162 §3.2.4 */
			(void)mra_conn_printf(x->c, "UID %lu ",
					      (unsigned long)m->uid);
		if (!silent) {
			(void)mra_conn_write(x->c, "FLAGS ", 6);
			imap_flags_write(x->c, &s->f->kw, m->letters,
					 s->recent[i]);
		}
		if (imap_condstore_modseqs(s) != NULL)
			(void)mra_conn_printf(
			    x->c, "%sMODSEQ (%llu)", silent ? "" : " ",
			    (unsigned long long)imap_condstore_modseq(s, i));
		(void)mra_conn_write(x->c, ")\r\n", 3);
	}
	free(done);
	if (nmod > 0)
		imap_tagged(x->c, x->cmd->tag,
			    "OK [MODIFIED %.*s] Conditional STORE failed.",
			    (int)modified.len, modified.p);
	else
		imap_tagged(x->c, x->cmd->tag, "OK Store completed.");
	buf_deinit(&modified);
}

/* "COPYUID <uidvalidity> <src> <dst>" (RFC 4315 §3) into out. */
static int imap_copyuid(struct buf *out, const struct mailbox_copy_result *r)
{
	return buf_printf(out, "COPYUID %lu ", (unsigned long)r->uidvalidity) <
			   0 ||
		       imap_render_seqset(out, r->src_uids, r->n) < 0 ||
		       buf_append_char(out, ' ') < 0 ||
		       imap_render_seqset(out, r->dst_uids, r->n) < 0
		   ? -1
		   : 0;
}

void imap_cmd_copy(struct imap_ctx *x)
{
	struct imap_sess *s = x->s;
	struct imap_arg *a = x->cmd->args;
	bool move = strcmp(x->cmd->name, "MOVE") == 0;
	if (x->cmd->nargs != 2 || a[0].type != IMAP_ARG_ATOM ||
	    !imap_seqset_ok(a[0].s) || !imap_arg_is_astring(&a[1])) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	char *dst = imap_folder_path(s, a[1].s);
	if (dst == NULL || access(dst, F_OK) < 0) {
		free(dst);
		imap_tagged(x->c, x->cmd->tag,
			    "NO [TRYCREATE] Mailbox doesn't exist.");
		return;
	}
	size_t n = s->f->n;
	bool *sel = xcalloc(n ? n : 1, sizeof *sel), any = false;
	for (size_t i = 0; i < n; i++)
		any |= sel[i] = imap_in_set(s, a[0].s, x->uid, i);
	if (!any) {
		free(sel);
		free(dst);
		imap_tagged(x->c, x->cmd->tag, "OK No messages found.");
		return;
	}
	struct mailbox_user u;
	struct mailbox_copy_result r;
	const char *err = "";
	imap_user(s, &u);
	/* a read-only mailbox keeps its messages: MOVE copies only */
	bool expunge = move && !s->readonly;
	uint32_t *uids = imap_uids(s->f);
	if (mailbox_copy(&u, s->f, sel, dst, expunge, &r, &err) < 0) {
		if (errno == EDQUOT) {
			imap_tagged(x->c, x->cmd->tag,
				    "NO [OVERQUOTA] Quota exceeded.");
		} else {
			log_error("imap(%s): %s to %s: %s: %s", s->login_user,
				  move ? "move" : "copy", dst, err,
				  strerror(errno));
			imap_tagged(x->c, x->cmd->tag,
				    "NO [SERVERBUG] %s failed.",
				    move ? "Move" : "Copy");
		}
		free(uids);
		free(sel);
		free(dst);
		return;
	}
	bool same = strcmp(dst, s->f->path) == 0;
	free(dst);
	struct buf cu;
	buf_init(&cu, 64 + r.n * 24);
	bool have_cu = r.n > 0 && imap_copyuid(&cu, &r) == 0;
	if (expunge) {
		/* RFC 6851 §4.3: COPYUID untagged, before the EXPUNGEs */
		if (have_cu)
			(void)mra_conn_printf(x->c, "* OK [%s] Moved UIDs.\r\n",
					      cu.p);
		imap_expunged(x->c, sel, uids, n, true);
	}
	if (same) {
		s->dirty = true; /* the copies are new messages here */
		imap_sync(x->c, true);
	}
	if (have_cu && !expunge)
		imap_tagged(x->c, x->cmd->tag, "OK [%s] %s completed.", cu.p,
			    move ? "Move" : "Copy");
	else
		imap_tagged(x->c, x->cmd->tag, "OK %s completed.",
			    move ? "Move" : "Copy");
	buf_deinit(&cu);
	mailbox_copy_result_free(&r);
	free(uids);
	free(sel);
}
