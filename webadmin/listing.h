/*
 * The shape every list route of youju-webadmin shares (GET /api/domains,
 * /api/managers, /api/audit, /api/domains/{}/aliases and .../mailboxes):
 * ?page= and ?q= read once, COUNT(*) and one page of rows, and the reply
 * {total, page, page_size, items}.  Each handler keeps only its own WHERE
 * clause and its row's JSON.
 */
#ifndef YOUJU_WA_LISTING_H
#define YOUJU_WA_LISTING_H

#include <jansson.h>
#include <stdint.h>

#include "http.h"
#include "sqlpool.h"

/* ?page= and ?q= of a list request */
struct wa_search {
	int page;	 /* 1-based */
	char offset[32]; /* the page's SQL OFFSET: a list's last argument */
	const char *q;	 /* ?q=, "" when absent (borrowed from the request) */
	char *like;	 /* "%q%" for LIKE, wildcards escaped (owned) */
};

/* Reads ?page= and ?q= into s: 0, or -1 after a 400 (nothing to end). */
int wa_search_begin(struct http_req *req, struct wa_search *s);
/* Frees what wa_search_begin() made. */
void wa_search_end(struct wa_search *s);

/* One row of a list as JSON (owned by the caller), or NULL after an
   error reply. */
typedef json_t *wa_item_json_fn(struct http_req *req, struct sqlconn *c,
				const struct sqlrow *row);

/*
 * Replies with one page: count_sql with the first nargs - 1 of args gives
 * the total, rows_sql with all nargs (the last is the OFFSET) the rows,
 * each turned into JSON by item.  On a query or item failure the error
 * reply has been sent.  Frees nothing of the caller's.
 */
void wa_list_reply(struct http_req *req, struct sqlconn *c, int page,
		   const char *count_sql, const char *rows_sql,
		   const char *const *args, size_t nargs,
		   wa_item_json_fn *item);

/* {total, page, page_size, items}; steals items. */
json_t *wa_page_json(int64_t total, int page, json_t *items);

#endif
