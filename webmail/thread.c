/*
 * GET /api/thread?folder=F&uid=U: the conversation of a message, built
 * by IMAP THREAD=REFERENCES's code (lib/mailthread) over the folder and
 * Sent (the Inbox when the folder is Sent), so one's own replies are
 * in it (docs/webmail.md "Conversations").
 *
 * The candidates are the messages of those folders whose base subject
 * (RFC 5256 §2.1, lib/mailsort) is the message's, taken from the list
 * summaries (youju.index where it has them), and the messages named by
 * its References; only the candidates' files are read for their
 * Message-ID, References and In-Reply-To.  A reply whose subject was
 * changed is found when it is in References, not otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fcache.h"
#include "log.h"
#include "maildir.h"
#include "maildir_index.h"
#include "mailsort.h"
#include "mailthread.h"
#include "mime.h"
#include "str.h"
#include "summary.h"
#include "wm.h"
#include "xalloc.h"

/* Most messages in one conversation. */
#define THREAD_MSGS_MAX 1000

struct cand {
	size_t folder;
	struct maildir_msg *m;
	struct wm_summary s;
};

struct conv {
	struct maildir_folder *f[2];
	const char *name[2];
	struct cand *c;
	size_t n;
	json_t *out;
};

static char *base_of(const char *subject)
{
	struct buf b;
	buf_init(&b, 4 * strlen(subject) + 16);
	char *r = mailsort_base_subject(subject, strlen(subject), &b, NULL) == 0
		      ? mailsort_fold(b.p ? b.p : "", b.len)
		      : xstrdup("");
	buf_deinit(&b);
	return r;
}

/* The header block of message m read into hdr; its length, or 0. */
static size_t head_of(struct maildir_folder *f, struct maildir_msg *m,
		      struct buf *hdr)
{
	buf_reset(hdr);
	if (maildir_msg_read(f, m, hdr) < 0)
		return 0;
	struct mime_part *root = mime_parse(hdr->p ? hdr->p : "", hdr->len);
	size_t hl = root->hdr_off + root->hdr_len;
	mime_free(&root);
	return hl;
}

/* Appends node k and the nodes below it, depth first, to a. */
static void walk(struct conv *v, const struct mailthread *t, size_t k,
		 unsigned depth, json_t *a)
{
	uint32_t id;
	unsigned d = depth;
	if (mailthread_id(t, k, &id) && id < v->n) {
		struct cand *c = &v->c[id];
		json_t *o = json_object();
		json_object_set_new(o, "folder",
				    json_string(v->name[c->folder]));
		json_object_set_new(o, "uid", json_integer(c->m->uid));
		json_t *js = json_string(c->s.subject ? c->s.subject : "");
		json_object_set_new(o, "subject", js ? js : json_string(""));
		js = json_string(c->s.from ? c->s.from : "");
		json_object_set_new(o, "from", js ? js : json_string(""));
		json_object_set_new(
		    o, "date",
		    json_integer(c->s.has_date ? c->s.date : c->m->mtime));
		json_object_set_new(o, "flags",
				    wm_flags_json(v->f[c->folder], c->m));
		json_object_set_new(o, "depth", json_integer(depth));
		json_array_append_new(a, o);
		d = depth + 1;
	}
	if (d >= 64) /* deeper replies are shown at depth 64 */
		d = 64;
	for (size_t g = mailthread_child(t, k); g != MAILTHREAD_NONE;
	     g = mailthread_next(t, g))
		walk(v, t, g, d, a);
}

/* Does the subtree of k hold the candidate target? */
static bool holds(const struct mailthread *t, size_t k, uint32_t target,
		  unsigned depth)
{
	uint32_t id;
	if (mailthread_id(t, k, &id) && id == target)
		return true;
	if (depth >= MAILTHREAD_DEPTH_MAX)
		return false;
	for (size_t g = mailthread_child(t, k); g != MAILTHREAD_NONE;
	     g = mailthread_next(t, g))
		if (holds(t, g, target, depth + 1))
			return true;
	return false;
}

void wm_thread(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	const char *folder = http_req_query(req, "folder");
	const char *uid_s = http_req_query(req, "uid");
	uint64_t uid = 0;
	if (uid_s == NULL || str_parse_u64(uid_s, 1, UINT32_MAX, &uid) < 0) {
		webjson_error(req, 400, "invalid", "uid: a message UID", "uid");
		return;
	}
	if (folder == NULL || folder[0] == '\0')
		folder = "INBOX";
	struct conv v;
	memset(&v, 0, sizeof v);
	v.f[0] = wm_folder_open(req, folder);
	if (v.f[0] == NULL)
		return;
	v.name[0] = strcasecmp(folder, "INBOX") == 0 ? "INBOX" : folder;
	long ti = maildir_folder_find(v.f[0], (uint32_t)uid);
	if (ti < 0) {
		maildir_folder_free(&v.f[0]);
		webjson_error(req, 404, "not_found", "no such message", "uid");
		return;
	}
	/* the other folder: Sent, or the Inbox from Sent */
	v.name[1] = strcmp(v.name[0], "Sent") == 0 ? "INBOX" : "Sent";
	char path[4200];
	const char *err = NULL;
	int pn =
	    strcmp(v.name[1], "INBOX") == 0
		? snprintf(path, sizeof path, "%s", me->acct.maildir)
		: snprintf(path, sizeof path, "%s/.Sent", me->acct.maildir);
	if (pn > 0 && (size_t)pn < sizeof path)
		v.f[1] = fcache_open(path, &err);

	struct buf hdr;
	buf_init(&hdr, WM_MESSAGE_MAX);
	/* the message's base subject and References */
	struct wm_summary ts;
	struct maildir_index *ix0 =
	    maildir_index_open(v.f[0]->path, v.f[0]->uidvalidity, NULL);
	(void)wm_msg_summary(v.f[0], ix0, &v.f[0]->msgs[ti], &ts);
	char *tbase = base_of(ts.subject ? ts.subject : "");
	wm_summary_free(&ts);
	struct buf refs;
	buf_init(&refs, 1 << 20);
	size_t hl = head_of(v.f[0], &v.f[0]->msgs[ti], &hdr);
	if (hl > 0) {
		struct buf val;
		buf_init(&val, 1 << 20);
		if (mailsort_field(hdr.p, hl, "References", &val))
			(void)!buf_append(&refs, val.p ? val.p : "", val.len);
		if (mailsort_field(hdr.p, hl, "In-Reply-To", &val))
			(void)!buf_append(&refs, val.p ? val.p : "", val.len);
		buf_deinit(&val);
	}

	v.c = xcalloc(THREAD_MSGS_MAX, sizeof *v.c);
	struct mailthread *t = mailthread_new();
	uint32_t target = UINT32_MAX;
	for (size_t fi = 0; fi < 2; fi++) {
		struct maildir_folder *f = v.f[fi];
		if (f == NULL)
			continue;
		struct maildir_index *ix =
		    fi == 0 ? ix0
			    : maildir_index_open(f->path, f->uidvalidity, NULL);
		for (size_t i = 0; i < f->n && v.n < THREAD_MSGS_MAX; i++) {
			struct cand *c = &v.c[v.n];
			if (!wm_msg_summary(f, ix, &f->msgs[i], &c->s)) {
				wm_summary_free(&c->s);
				continue;
			}
			bool is_target = fi == 0 && (long)i == ti;
			char *b = base_of(c->s.subject ? c->s.subject : "");
			bool same = tbase[0] != '\0' && strcmp(b, tbase) == 0;
			free(b);
			size_t h = 0;
			if (same || is_target || refs.len > 0)
				h = head_of(f, &f->msgs[i], &hdr);
			if (!same && !is_target && h > 0 && refs.len > 0) {
				/* named by the message's References? */
				struct buf id;
				buf_init(&id, 4096);
				same = mailsort_field(hdr.p, h, "Message-ID",
						      &id) &&
				       id.len > 2 &&
				       memmem(refs.p, refs.len, id.p, id.len) !=
					   NULL;
				buf_deinit(&id);
			}
			if (!same && !is_target) {
				wm_summary_free(&c->s);
				continue;
			}
			c->folder = fi;
			c->m = &f->msgs[i];
			if (is_target)
				target = (uint32_t)v.n;
			mailthread_add(t, (uint32_t)v.n, (uint32_t)v.n,
				       (int64_t)c->m->mtime, h > 0 ? hdr.p : "",
				       h);
			v.n++;
		}
		if (fi == 1)
			maildir_index_free(&ix);
	}
	maildir_index_free(&ix0);
	mailthread_build(t, true);
	json_t *a = json_array();
	size_t root = mailthread_root(t);
	for (size_t g = mailthread_child(t, root); g != MAILTHREAD_NONE;
	     g = mailthread_next(t, g))
		if (target != UINT32_MAX && holds(t, g, target, 0)) {
			walk(&v, t, g, 0, a);
			break;
		}
	json_t *o = json_object();
	json_object_set_new(o, "messages", a);
	webjson_reply(req, 200, o);
	mailthread_free(&t);
	for (size_t i = 0; i < v.n; i++)
		wm_summary_free(&v.c[i].s);
	free(v.c);
	free(tbase);
	buf_deinit(&refs);
	buf_deinit(&hdr);
	maildir_folder_free(&v.f[0]);
	maildir_folder_free(&v.f[1]);
}
