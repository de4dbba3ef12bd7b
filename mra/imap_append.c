/*
 * APPEND with MULTIAPPEND (RFC 3502) and CATENATE (RFC 4469).
 *
 *   APPEND mailbox 1*([flags] [date] (literal / CATENATE (parts)))
 *
 * Every message of the command is built first (a CATENATE message from
 * its TEXT literals and the URL parts it names: messages, or sections of
 * them, of the same user's mailboxes), then all are stored at once by
 * mailbox_append_many(): all or nothing, and APPENDUID gives their UIDs
 * as a set.  The whole command is one framed command, so its literals
 * together are bounded by message_size_limit (mra/imap.c framing).
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
#include "imap_fetch.h"
#include "imap_flags.h"
#include "imap_parse.h"
#include "imap_render.h"
#include "imap_sess.h"
#include "imap_url.h"
#include "log.h"
#include "mailbox.h"
#include "maildir.h"
#include "xalloc.h"

/* At most this many messages in one APPEND. */
#define IMAP_APPEND_MAX 1000
/* At most this many parts in one CATENATE. */
#define IMAP_CATENATE_MAX 100

/* One message of the command. */
struct imap_append_msg {
	struct imap_flagset fs;
	time_t when;
	struct imap_arg *lit; /* a plain literal, or NULL */
	struct imap_arg *cat; /* CATENATE's part list, or NULL */
	struct buf built;     /* the CATENATE result */
};

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

/* An APPEND date-time ("dd-Mon-yyyy hh:mm:ss +zzzz"): 0, or -1. */
static int imap_append_date(const char *s, time_t *when_r)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(s, "%d-%b-%Y %H:%M:%S", &tm);
	if (end == NULL)
		return -1;
	time_t when = timegm(&tm);
	int hh, mm;
	char sg;
	if (sscanf(end, " %c%2d%2d", &sg, &hh, &mm) == 3)
		when -= (sg == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
	*when_r = when;
	return 0;
}

/* Builds a CATENATE message into m->built.  NULL, or the tagged reply's
   text for the failure. */
static const char *imap_catenate(struct imap_sess *s, struct imap_append_msg *m)
{
	const struct imap_arg *l = m->cat;
	if (l->n == 0 || l->n % 2 != 0 || l->n / 2 > IMAP_CATENATE_MAX)
		return "BAD Invalid CATENATE parts.";
	for (size_t i = 0; i < l->n; i += 2) {
		const struct imap_arg *k = &l->list[i], *v = &l->list[i + 1];
		if (k->type != IMAP_ARG_ATOM)
			return "BAD Invalid CATENATE parts.";
		if (strcasecmp(k->s, "TEXT") == 0 &&
		    v->type == IMAP_ARG_LITERAL) {
			if (buf_append(&m->built, v->s, v->len) < 0)
				return "NO [TOOBIG] Message too large.";
		} else if (strcasecmp(k->s, "URL") == 0 &&
			   imap_arg_is_astring(v)) {
			size_t before = m->built.len;
			if (imap_url_fetch(s->maildir, v->s, &m->built) < 0) {
				if (m->built.len > before)
					buf_truncate(&m->built, before);
				return "NO [BADURL] Invalid or unknown URL.";
			}
		} else {
			return "BAD Invalid CATENATE parts.";
		}
	}
	return NULL;
}

/* Parses the messages of the command (args after the mailbox) into ms
   (*n_r of them).  NULL, or the tagged reply's text. */
static const char *imap_append_parse(struct imap_arg *a, size_t na,
				     struct imap_append_msg *ms, size_t *n_r)
{
	size_t n = 0;
	size_t i = 0;
	while (i < na) {
		if (n == IMAP_APPEND_MAX)
			return "NO [LIMIT] Too many messages.";
		struct imap_append_msg *m = &ms[n];
		if (i < na && a[i].type == IMAP_ARG_LIST) {
			if (imap_flags_parse(a[i].list, a[i].n, &m->fs) < 0)
				return "BAD Invalid flags.";
			i++;
		}
		if (i < na && a[i].type == IMAP_ARG_STRING) {
			if (imap_append_date(a[i].s, &m->when) < 0)
				return "BAD Invalid date-time.";
			i++;
		}
		if (i < na && a[i].type == IMAP_ARG_LITERAL) {
			m->lit = &a[i++];
			if (imap_append_unbinary(m->lit) < 0)
				return "NO [LIMIT] Message too large.";
		} else if (i + 1 < na && a[i].type == IMAP_ARG_ATOM &&
			   strcasecmp(a[i].s, "CATENATE") == 0 &&
			   a[i + 1].type == IMAP_ARG_LIST) {
			m->cat = &a[i + 1];
			i += 2;
		} else {
			return "BAD Invalid arguments.";
		}
		n++;
	}
	*n_r = n;
	return n == 0 ? "BAD Invalid arguments." : NULL;
}

void imap_cmd_append(struct imap_ctx *x)
{
	struct imap_sess *s = x->s;
	struct imap_arg *a = x->cmd->args;
	size_t na = x->cmd->nargs;
	if (na < 2 || !imap_arg_is_astring(&a[0])) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	size_t cap = na - 1 < IMAP_APPEND_MAX ? na - 1 : IMAP_APPEND_MAX;
	struct imap_append_msg *ms = xcalloc(cap, sizeof *ms);
	for (size_t i = 0; i < cap; i++)
		buf_init(&ms[i].built, mra_srv.message_size_limit);
	size_t n = 0;
	uint32_t *uids = NULL;
	struct mailbox_append *ap = NULL;
	char *path = NULL;
	const char *reply = imap_append_parse(a + 1, na - 1, ms, &n);
	if (reply != NULL)
		goto out;
	path = imap_folder_path(s, a[0].s);
	if (path == NULL || access(path, F_OK) < 0) {
		reply = "NO [TRYCREATE] Mailbox doesn't exist.";
		goto out;
	}
	ap = xcalloc(n, sizeof *ap);
	for (size_t i = 0; i < n; i++) {
		struct imap_append_msg *m = &ms[i];
		if (m->cat != NULL && (reply = imap_catenate(s, m)) != NULL)
			goto out;
		ap[i] =
		    (struct mailbox_append){m->lit	 ? m->lit->s
					    : m->built.p ? m->built.p
							 : "",
					    m->lit ? m->lit->len : m->built.len,
					    m->fs.sys,
					    m->fs.kw,
					    m->fs.nkw,
					    m->when};
	}
	struct mailbox_user u;
	if (mailbox_user_init(&u, s->maildir, s->quota) < 0)
		log_warning("imap(%s): bad quota definition %s", s->login_user,
			    s->quota);
	uids = xcalloc(n, sizeof *uids);
	uint32_t validity = 0;
	const char *err = "";
	if (mailbox_append_many(&u, path, ap, n, &validity, uids, &err) < 0) {
		int e = errno;
		if (e == EDQUOT)
			reply = "NO [OVERQUOTA] Quota exceeded.";
		else if (e == ENOSPC && strcmp(err, "keywords") == 0)
			reply = "NO [LIMIT] Too many keywords in this mailbox "
				"(26).";
		else {
			log_error("imap(%s): append to %s: %s: %s",
				  s->login_user, path, err, strerror(e));
			reply = "NO [SERVERBUG] Append failed.";
		}
		goto out;
	}
	if (s->f != NULL && strcmp(s->f->path, path) == 0)
		imap_sync(x->c, true);
	bool numbered = true;
	for (size_t i = 0; i < n; i++)
		numbered &= uids[i] != 0;
	if (numbered) {
		struct buf set;
		buf_init(&set, 22 * (size_t)n + 16);
		(void)imap_render_seqset(&set, uids, n); /* room for all */
		imap_tagged(x->c, x->cmd->tag,
			    "OK [APPENDUID %lu %.*s] Append completed.",
			    (unsigned long)validity, (int)set.len,
			    set.p ? set.p : "");
		buf_deinit(&set);
	} else {
		imap_tagged(x->c, x->cmd->tag, "OK Append completed.");
	}
out:
	if (reply != NULL)
		imap_tagged(x->c, x->cmd->tag, "%s", reply);
	for (size_t i = 0; i < cap; i++)
		buf_deinit(&ms[i].built);
	free(ms);
	free(ap);
	free(uids);
	free(path);
}
