/*
 * The message list (GET /api/messages, docs/webmail.md "Performance").
 * Sorted by date, sender or subject, the order comes from the kept sort
 * keys (listcache.c); by arrival it is the UID order of the scan, by size
 * a sort of the scan's sizes.  Each reads the folder's shared scan
 * (fcache_get) without copying it, so a page of a large folder costs a
 * walk of an order and the page's own summaries and flags, not a pass
 * over every message.  The keys are IMAP SORT's (lib/mailsort): DATE,
 * DISPLAYFROM, SUBJECT, ARRIVAL, SIZE.
 */
#include <stdlib.h>
#include <string.h>

#include "fcache.h"
#include "listcache.h"
#include "maildir_index.h"
#include "wm.h"
#include "xalloc.h"

/* The page size: the user's preference (prefs.c), else
   webmail_page_size. */
static unsigned page_size(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	return wm_caller(req)->prefs.page_size > 0
		   ? wm_caller(req)->prefs.page_size
		   : wm->page_size;
}

void wm_msg_row(json_t *o, const struct maildir_folder *f,
		const struct maildir_msg *m, const struct wm_summary *s,
		bool full)
{
	json_object_set_new(o, "uid", json_integer(m->uid));
	json_t *js = json_string(s->subject != NULL ? s->subject : "");
	json_object_set_new(o, "subject", js ? js : json_string(""));
	js = json_string(s->from != NULL ? s->from : "");
	json_object_set_new(o, "from", js ? js : json_string(""));
	json_object_set_new(o, "date",
			    json_integer(s->has_date ? s->date : m->mtime));
	if (full) {
		json_object_set_new(o, "arrival", json_integer(m->mtime));
		json_object_set_new(o, "size",
				    json_integer((json_int_t)m->size));
	}
	json_object_set_new(o, "flags", wm_flags_json(f, m));
	if (full)
		json_object_set_new(o, "attachments",
				    json_boolean(s->attachments));
}

static json_t *row_json(const struct maildir_folder *f,
			const struct maildir_msg *m, const struct wm_summary *s)
{
	json_t *o = json_object();
	wm_msg_row(o, f, m, s, true);
	return o;
}

static void reply(struct http_req *req, size_t total, size_t page,
		  unsigned psize, json_t *list)
{
	json_t *out = json_object();
	json_object_set_new(out, "total", json_integer((json_int_t)total));
	json_object_set_new(out, "page", json_integer((json_int_t)page));
	json_object_set_new(out, "page_size", json_integer(psize));
	json_object_set_new(out, "messages", list);
	webjson_reply(req, 200, out);
}

void wm_list_sorted(struct http_req *req, const struct fcache_scan *scan,
		    int key, bool desc, size_t page)
{
	const unsigned psize = page_size(req);
	const struct maildir_folder *f = fcache_scan_folder(scan);
	struct listcache *lc = listcache_get_scan(scan);
	const uint32_t *order = listcache_order(lc, (enum listcache_key)key);
	size_t from = (page - 1) * psize;
	json_t *list = json_array();
	for (size_t k = from; k < f->n && k < from + psize; k++) {
		size_t i = desc ? order[f->n - 1 - k] : order[k];
		json_array_append_new(
		    list, row_json(f, &f->msgs[i], listcache_summary(lc, i)));
	}
	listcache_put(&lc);
	reply(req, f->n, page, psize, list);
}

static _Thread_local const struct maildir_folder *size_f;

/* by size, ties in arrival (UID) order */
static int size_cmp(const void *pa, const void *pb)
{
	const struct maildir_msg *a = &size_f->msgs[*(const uint32_t *)pa];
	const struct maildir_msg *b = &size_f->msgs[*(const uint32_t *)pb];
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

void wm_list_plain(struct http_req *req, const struct fcache_scan *scan,
		   bool by_size, bool desc, size_t page)
{
	const unsigned psize = page_size(req);
	const struct maildir_folder *f = fcache_scan_folder(scan);
	size_t from = (page - 1) * psize;
	size_t n = from < f->n ? f->n - from : 0;
	if (n > psize)
		n = psize;
	/* the page's messages, in page order */
	size_t *idx = xcalloc(n ? n : 1, sizeof *idx);
	if (by_size && n > 0) {
		uint32_t *o = xcalloc(f->n, sizeof *o);
		for (size_t i = 0; i < f->n; i++)
			o[i] = (uint32_t)i;
		size_f = f;
		qsort(o, f->n, sizeof *o, size_cmp);
		size_f = NULL;
		for (size_t k = 0; k < n; k++)
			idx[k] = desc ? o[f->n - 1 - from - k] : o[from + k];
		free(o);
	} else {
		/* the scan ascends by UID: arrival order */
		for (size_t k = 0; k < n; k++)
			idx[k] = desc ? f->n - 1 - from - k : from + k;
	}
	/* summaries: the kept ones when the kept set matches this scan,
	   else the page's own from youju.index or the files (read through
	   a copy of just these messages: reading updates the folder) */
	struct listcache *lc = listcache_peek_scan(scan);
	struct maildir_folder *own = NULL;
	struct maildir_index *ix = NULL;
	if (lc == NULL && n > 0) {
		own = fcache_scan_copy_msgs(scan, idx, n);
		ix = maildir_index_open(f->path, f->uidvalidity, NULL);
	}
	json_t *list = json_array();
	for (size_t k = 0; k < n; k++) {
		const struct maildir_msg *m = &f->msgs[idx[k]];
		if (lc != NULL) {
			json_array_append_new(
			    list,
			    row_json(f, m, listcache_summary(lc, idx[k])));
			continue;
		}
		struct wm_summary s;
		if (!wm_msg_summary(own, ix, &own->msgs[k], &s))
			memset(&s, 0, sizeof s); /* expunged meanwhile */
		json_array_append_new(list, row_json(f, m, &s));
		wm_summary_free(&s);
	}
	listcache_put(&lc);
	maildir_index_free(&ix);
	maildir_folder_free(&own);
	free(idx);
	reply(req, f->n, page, psize, list);
}
