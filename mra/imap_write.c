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

#include "imap_binary.h"
#include "imap_flags.h"
#include "imap_parse.h"
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

/*
 * After lib/mailbox took messages out of the view (gone[i] for the old
 * message i): sends their EXPUNGE responses when report and drops their
 * \Recent marks.
 */
static void imap_expunged(struct mra_conn *c, const bool *gone, size_t old_n,
			  bool report)
{
	struct imap_sess *s = c->sess;
	size_t w = 0, k = 0;
	for (size_t i = 0; i < old_n; i++) {
		if (gone[i]) {
			if (report)
				(void)mra_conn_printf(c, "* %zu EXPUNGE\r\n",
						      i + 1 - k);
			k++;
			continue;
		}
		s->recent[w++] = s->recent[i];
	}
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
	if (mailbox_expunge(&u, f, sel, &removed) < 0)
		log_error("imap(%s): expunge in %s: %s", s->login_user, f->path,
			  strerror(errno));
	imap_expunged(c, sel, n, report);
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
	if (x->cmd->nargs != 3 || a[0].type != IMAP_ARG_ATOM ||
	    !imap_seqset_ok(a[0].s) || a[1].type != IMAP_ARG_ATOM) {
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
	for (size_t i = 0; i < s->f->n; i++) {
		if (!imap_in_set(s, a[0].s, x->uid, i))
			continue;
		struct maildir_msg *m = &s->f->msgs[i];
		/* applied to the flags on disk now: another session's
		   change since our last sync is kept (imaptest) */
		if (mailbox_msg_flags(s->f, m, fm, fs.sys, kwb) < 0)
			continue; /* expunged meanwhile: the sync tells */
		if (silent)
			continue;
		(void)mra_conn_printf(x->c, "* %zu FETCH (", i + 1);
		if (x->uid)
			(void)mra_conn_printf(x->c, "UID %lu ",
					      (unsigned long)m->uid);
		(void)mra_conn_write(x->c, "FLAGS ", 6);
		imap_flags_write(x->c, &s->f->kw, m->letters, s->recent[i]);
		(void)mra_conn_write(x->c, ")\r\n", 3);
	}
	imap_tagged(x->c, x->cmd->tag, "OK Store completed.");
}

/* Appends a UID set of uids[0..n) (ascending) to out: "1:3,7". */
static int imap_uidset(struct buf *out, const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (buf_printf(out, "%s%lu", i ? "," : "",
			       (unsigned long)uids[i]) < 0 ||
		    (j > i &&
		     buf_printf(out, ":%lu", (unsigned long)uids[j]) < 0))
			return -1;
		i = j + 1;
	}
	return 0;
}

/* "COPYUID <uidvalidity> <src> <dst>" (RFC 4315 §3) into out. */
static int imap_copyuid(struct buf *out, const struct mailbox_copy_result *r)
{
	return buf_printf(out, "COPYUID %lu ", (unsigned long)r->uidvalidity) <
			   0 ||
		       imap_uidset(out, r->src_uids, r->n) < 0 ||
		       buf_append_char(out, ' ') < 0 ||
		       imap_uidset(out, r->dst_uids, r->n) < 0
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
		imap_expunged(x->c, sel, n, true);
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
	free(sel);
}

/* A literal8 message with NUL bytes gets its binary parts in base64
   before it is stored (RFC 3516 §4.4, imap_binary.h).  0 or -1. */
static int imap_append_unbinary(struct imap_arg *m)
{
	if (!m->literal8)
		return 0;
	struct buf conv;
	buf_init(&conv, 2 * m->len + 4096);
	int r = imap_binary_to_base64(m->s, m->len, &conv);
	if (r == 1) {
		free(m->s);
		m->s = xmemdup0(conv.p, conv.len);
		m->len = conv.len;
	}
	buf_deinit(&conv);
	return r < 0 ? -1 : 0;
}

void imap_cmd_append(struct imap_ctx *x)
{
	struct imap_sess *s = x->s;
	struct imap_arg *a = x->cmd->args;
	size_t n = x->cmd->nargs;
	if (n < 2 || n > 4 || !imap_arg_is_astring(&a[0]) ||
	    a[n - 1].type != IMAP_ARG_LITERAL) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	if (imap_append_unbinary(&a[n - 1]) < 0) {
		imap_tagged(x->c, x->cmd->tag, "NO [LIMIT] Message too large.");
		return;
	}
	struct imap_flagset fs;
	memset(&fs, 0, sizeof fs);
	time_t when = 0;
	for (size_t i = 1; i < n - 1; i++) {
		if (a[i].type == IMAP_ARG_LIST) {
			if (imap_flags_parse(a[i].list, a[i].n, &fs) < 0) {
				imap_tagged(x->c, x->cmd->tag,
					    "BAD Invalid flags.");
				return;
			}
		} else if (a[i].type == IMAP_ARG_STRING) {
			struct tm tm;
			memset(&tm, 0, sizeof tm);
			const char *end =
			    strptime(a[i].s, "%d-%b-%Y %H:%M:%S", &tm);
			if (end == NULL) {
				imap_tagged(x->c, x->cmd->tag,
					    "BAD Invalid date-time.");
				return;
			}
			when = timegm(&tm);
			int sign, hh, mm;
			char sg;
			if (sscanf(end, " %c%2d%2d", &sg, &hh, &mm) == 3) {
				sign = sg == '-' ? -1 : 1;
				when -= sign * (hh * 3600 + mm * 60);
			}
		} else {
			imap_tagged(x->c, x->cmd->tag,
				    "BAD Invalid arguments.");
			return;
		}
	}
	char *path = imap_folder_path(s, a[0].s);
	if (path == NULL || access(path, F_OK) < 0) {
		free(path);
		imap_tagged(x->c, x->cmd->tag,
			    "NO [TRYCREATE] Mailbox doesn't exist.");
		return;
	}
	struct imap_arg *msg = &a[n - 1];
	struct mailbox_user u;
	struct mailbox_append ap = {msg->s, msg->len, fs.sys,
				    fs.kw,  fs.nkw,   when};
	uint32_t validity = 0, uid = 0;
	const char *err = "";
	imap_user(s, &u);
	if (mailbox_append(&u, path, &ap, &validity, &uid, &err) < 0) {
		int e = errno;
		if (e == EDQUOT)
			imap_tagged(x->c, x->cmd->tag,
				    "NO [OVERQUOTA] Quota exceeded.");
		else if (e == ENOSPC && strcmp(err, "keywords") == 0)
			imap_tagged(x->c, x->cmd->tag,
				    "NO [LIMIT] Too many keywords in this "
				    "mailbox (26).");
		else {
			log_error("imap(%s): append to %s: %s: %s",
				  s->login_user, path, err, strerror(e));
			imap_tagged(x->c, x->cmd->tag,
				    "NO [SERVERBUG] Append failed.");
		}
		free(path);
		return;
	}
	bool same = s->f != NULL && strcmp(s->f->path, path) == 0;
	free(path);
	if (same)
		imap_sync(x->c, true);
	if (uid != 0)
		imap_tagged(x->c, x->cmd->tag,
			    "OK [APPENDUID %lu %lu] Append completed.",
			    (unsigned long)validity, (unsigned long)uid);
	else
		imap_tagged(x->c, x->cmd->tag, "OK Append completed.");
}
