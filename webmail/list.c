/*
 * The message list sorted by date, sender or subject (GET /api/messages,
 * docs/webmail.md "Performance"): the order comes from the kept sort
 * keys (listcache.c), so a page of a large folder costs a walk of the
 * kept order and the page's flags, not a parse of every summary.  The
 * keys are IMAP SORT's (lib/mailsort): DATE, DISPLAYFROM, SUBJECT.
 */
#include <stdlib.h>

#include "listcache.h"
#include "maildir_index.h"
#include "wm.h"

void wm_list_sorted(struct http_req *req, struct maildir_folder *f, int key,
		    bool desc, size_t page)
{
	struct wm *wm = http_req_app(req);
	/* the user's preference (prefs.c), else webmail_page_size */
	const unsigned psize = wm_caller(req)->prefs.page_size > 0
				   ? wm_caller(req)->prefs.page_size
				   : wm->page_size;
	/* youju.index for the messages the kept keys do not have yet */
	struct maildir_index *ix =
	    maildir_index_open(f->path, f->uidvalidity, NULL);
	struct listcache *lc = listcache_get(f, ix);
	maildir_index_free(&ix);
	const uint32_t *order = listcache_order(lc, (enum listcache_key)key);
	size_t from = (page - 1) * psize;
	json_t *list = json_array();
	for (size_t k = from; k < f->n && k < from + psize; k++) {
		size_t i = desc ? order[f->n - 1 - k] : order[k];
		const struct maildir_msg *m = &f->msgs[i];
		const struct wm_summary *s = listcache_summary(lc, i);
		json_t *o = json_object();
		json_object_set_new(o, "uid", json_integer(m->uid));
		json_t *js = json_string(s->subject);
		json_object_set_new(o, "subject", js ? js : json_string(""));
		js = json_string(s->from);
		json_object_set_new(o, "from", js ? js : json_string(""));
		json_object_set_new(
		    o, "date", json_integer(s->has_date ? s->date : m->mtime));
		json_object_set_new(o, "arrival", json_integer(m->mtime));
		json_object_set_new(o, "size",
				    json_integer((json_int_t)m->size));
		json_object_set_new(o, "flags", wm_flags_json(f, m));
		json_object_set_new(o, "attachments",
				    json_boolean(s->attachments));
		json_array_append_new(list, o);
	}
	listcache_put(&lc);
	json_t *out = json_object();
	json_object_set_new(out, "total", json_integer((json_int_t)f->n));
	json_object_set_new(out, "page", json_integer((json_int_t)page));
	json_object_set_new(out, "page_size", json_integer(psize));
	json_object_set_new(out, "messages", list);
	webjson_reply(req, 200, out);
}
