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
#include "listcache.h"
#include "mailmatch.h"
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
	const struct wm_summary *s; /* borrowed from the folder's lc */
};

struct conv {
	struct maildir_folder *f[2];
	const char *name[2];
	struct listcache *lc[2]; /* the list's kept summaries and keys */
	struct cand *c;
	size_t n;
	json_t *out;
};

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

/*
 * Is m's Message-ID in the folded References frefs?  From its youju.index
 * entry (Message-IDs decoded and folded there), else from its file head.
 */
static bool named(struct maildir_folder *f, const struct maildir_index *ix,
		  struct maildir_msg *m, const struct buf *frefs,
		  struct buf *hdr)
{
	struct maildir_index_entry e;
	if (ix != NULL && maildir_index_get(ix, m->uid, str_from_cstr(m->base),
					    m->size, &e)) {
		struct str fv = e.field[MIDX_MESSAGE_ID], seg;
		while (maildir_index_seg_next(&fv, &seg))
			if (seg.len > 2 && memmem(frefs->p, frefs->len, seg.p,
						  seg.len) != NULL)
				return true;
		return false;
	}
	size_t h = head_of(f, m, hdr);
	struct buf id, fid;
	buf_init(&id, 4096);
	buf_init(&fid, 32768);
	bool hit = h > 0 && mailsort_field(hdr->p, h, "Message-ID", &id) &&
		   id.len > 2 && mailmatch_needle(id.p, id.len, &fid) == 0 &&
		   fid.len > 2 &&
		   memmem(frefs->p, frefs->len, fid.p, fid.len) != NULL;
	buf_deinit(&fid);
	buf_deinit(&id);
	return hit;
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
		wm_msg_row(o, v->f[c->folder], c->m, c->s, false);
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
	/* the message's base subject (the list's kept SUBJECT key) and
	   References, folded as youju.index keeps Message-IDs */
	struct maildir_index *ix[2] = {NULL, NULL};
	for (size_t fi = 0; fi < 2; fi++)
		if (v.f[fi] != NULL) {
			ix[fi] = maildir_index_open(v.f[fi]->path,
						    v.f[fi]->uidvalidity, NULL);
			v.lc[fi] = listcache_get(v.f[fi], ix[fi]);
		}
	const char *tbase = listcache_subject_key(v.lc[0], (size_t)ti);
	struct buf refs, frefs;
	buf_init(&refs, 1 << 20);
	buf_init(&frefs, 8 << 20);
	size_t hl = head_of(v.f[0], &v.f[0]->msgs[ti], &hdr);
	if (hl > 0) {
		struct buf val;
		buf_init(&val, 1 << 20);
		if (mailsort_field(hdr.p, hl, "References", &val))
			(void)!buf_append(&refs, val.p ? val.p : "", val.len);
		if (mailsort_field(hdr.p, hl, "In-Reply-To", &val))
			(void)!buf_append(&refs, val.p ? val.p : "", val.len);
		buf_deinit(&val);
		(void)!mailmatch_needle(refs.p ? refs.p : "", refs.len, &frefs);
	}

	v.c = xcalloc(THREAD_MSGS_MAX, sizeof *v.c);
	struct mailthread *t = mailthread_new();
	uint32_t target = UINT32_MAX;
	for (size_t fi = 0; fi < 2; fi++) {
		struct maildir_folder *f = v.f[fi];
		if (f == NULL)
			continue;
		for (size_t i = 0; i < f->n && v.n < THREAD_MSGS_MAX; i++) {
			struct maildir_msg *m = &f->msgs[i];
			bool is_target = fi == 0 && (long)i == ti;
			bool same = is_target ||
				    (tbase[0] != '\0' &&
				     strcmp(listcache_subject_key(v.lc[fi], i),
					    tbase) == 0);
			if (!same && frefs.len > 0)
				same = named(f, ix[fi], m, &frefs, &hdr);
			if (!same)
				continue;
			size_t h = head_of(f, m, &hdr);
			struct cand *c = &v.c[v.n];
			c->folder = fi;
			c->m = m;
			c->s = listcache_summary(v.lc[fi], i);
			if (is_target)
				target = (uint32_t)v.n;
			mailthread_add(t, (uint32_t)v.n, (uint32_t)v.n,
				       (int64_t)m->mtime, h > 0 ? hdr.p : "",
				       h);
			v.n++;
		}
	}
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
	free(v.c);
	for (size_t fi = 0; fi < 2; fi++) {
		listcache_put(&v.lc[fi]);
		maildir_index_free(&ix[fi]);
	}
	buf_deinit(&frefs);
	buf_deinit(&refs);
	buf_deinit(&hdr);
	maildir_folder_free(&v.f[0]);
	maildir_folder_free(&v.f[1]);
}
