/*
 * One list page (listing.h): the request's ?page= and ?q=, the two
 * queries and the reply, shared by the list handlers so the paging and
 * search rules and the reply's shape live here once.
 */
#include "listing.h"

#include <stdlib.h>
#include <string.h>

#include "wa.h"
#include "webjson.h"

int wa_search_begin(struct http_req *req, struct wa_search *s)
{
	memset(s, 0, sizeof *s);
	s->page = wa_page(req, s->offset, sizeof s->offset);
	if (s->page < 0)
		return -1;
	s->q = http_req_query(req, "q");
	if (s->q == NULL)
		s->q = "";
	s->like = wa_like_pattern(s->q);
	return 0;
}

void wa_search_end(struct wa_search *s)
{
	free(s->like);
	s->like = NULL;
}

json_t *wa_page_json(int64_t total, int page, json_t *items)
{
	json_t *o = json_object();
	json_object_set_new(o, "total", json_integer(total));
	json_object_set_new(o, "page", json_integer(page));
	json_object_set_new(o, "page_size", json_integer(WA_PAGE_SIZE));
	json_object_set_new(o, "items", items);
	return o;
}

void wa_list_reply(struct http_req *req, struct sqlconn *c, int page,
		   const char *count_sql, const char *rows_sql,
		   const char *const *args, size_t nargs, wa_item_json_fn *item)
{
	int64_t total = 0;
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	if (wa_q_int(req, c, count_sql, args, nargs - 1, &total) < 0 ||
	    wa_q(req, c, rows_sql, args, nargs, &res) < 0)
		goto out;
	json_t *items = json_array();
	for (size_t i = 0; i < res.nrows; i++) {
		json_t *o = item(req, c, &res.rows[i]);
		if (o == NULL) {
			json_decref(items);
			goto out;
		}
		json_array_append_new(items, o);
	}
	webjson_reply(req, 200, wa_page_json(total, page, items));
out:
	sqlresult_free(&res);
}
