/*
 * The audit log (table youju_audit, sql/migrations/0010): one row per
 * change made through webadmin, written in the change's own transaction
 * so that a change and its record stand or fall together.  Who, when,
 * from which address, what, and the object before and after as JSON,
 * without password hashes or answers (wa_row_json never emits them).
 * Admins read every row; a postmaster reads the rows of its domains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "listing.h"
#include "wa.h"
#include "webjson.h"

static char *dump(json_t *v)
{
	if (v == NULL)
		return NULL;
	json_t *copy = json_deep_copy(v);
	if (copy == NULL)
		return NULL;
	json_object_del(copy, "password");
	json_object_del(copy, "clearpwd");
	json_object_del(copy, "answer");
	char *s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	return s;
}

/* The domain an object belongs to: after '@', or the object itself. */
static const char *object_domain(const char *object)
{
	const char *at = strrchr(object, '@');
	return at != NULL ? at + 1 : object;
}

int wa_audit(struct http_req *req, struct sqlconn *c, const char *action,
	     const char *object, json_t *before, json_t *after)
{
	const struct wa_caller *me = wa_caller(req);
	char *b = dump(before), *a = dump(after);
	char now[20];
	wa_now(now);
	const char *args[] = {
	    now,
	    me != NULL ? me->username : "",
	    http_req_client(req),
	    action,
	    object,
	    object_domain(object),
	    b,
	    a,
	};
	int rc = wa_q(req, c,
		      "INSERT INTO youju_audit (ts, username, ip, action, "
		      "object, domain, before_json, after_json) VALUES "
		      "(?, ?, ?, ?, ?, ?, ?, ?)",
		      args, 8, NULL);
	free(b);
	free(a);
	if (rc == 0) {
		char obj[300];
		log_info("webadmin: %s: object=%s, by=%s, rip=%s", action,
			 log_escape(obj, sizeof obj, object, strlen(object)),
			 me != NULL ? me->username : "-", http_req_client(req));
	}
	return rc;
}

static const char *const audit_cols[] = {
    "id",     "ts",	"username", "ip",    "action",
    "object", "domain", "before",   "after", NULL,
};

int wa_audit_commit(struct http_req *req, struct sqlconn *c, int rc,
		    const char *action, const char *object, json_t *before,
		    json_t *after)
{
	if (rc == 0)
		rc = wa_audit(req, c, action, object, before, after);
	if (rc == 0)
		rc = wa_commit(req, c);
	return rc;
}

static json_t *audit_item(struct http_req *req, struct sqlconn *c,
			  const struct sqlrow *row)
{
	(void)req;
	(void)c;
	json_t *o = json_object();
	for (size_t k = 0; audit_cols[k] != NULL; k++) {
		const char *v = row->cols[k];
		json_t *jv;
		if (v == NULL)
			jv = json_null();
		else if (k == 0)
			jv = json_integer(strtoll(v, NULL, 10));
		else if (k >= 7) {
			jv = json_loads(v, 0, NULL);
			if (jv == NULL)
				jv = json_null();
		} else {
			jv = json_string(v);
			if (jv == NULL)
				jv = json_string("");
		}
		json_object_set_new(o, audit_cols[k], jv);
	}
	return o;
}

void wa_audit_list(struct http_req *req)
{
	const struct wa_caller *me = wa_caller(req);
	struct wa_search s;
	if (wa_search_begin(req, &s) < 0)
		return;
	const char *dom = http_req_query(req, "domain");
	const char *action = http_req_query(req, "action");
	const char *args[] = {
	    me->admin ? "1" : "0",
	    me->username,
	    s.q,
	    s.like,
	    s.like,
	    dom != NULL ? dom : "",
	    dom != NULL ? dom : "",
	    action != NULL ? action : "",
	    action != NULL ? action : "",
	    s.offset,
	};
#undef WHERE
#define WHERE                                                                  \
	" FROM youju_audit a WHERE (? = '1' OR EXISTS (SELECT 1 FROM "         \
	"domain_manager dm WHERE BINARY dm.domain = a.domain AND "             \
	"BINARY dm.username = ? AND dm.active = 1)) AND (? = '' OR "           \
	"a.object LIKE ? OR a.username LIKE ?) AND (? = '' OR a.domain = "     \
	"?) AND (? = '' OR a.action = ?)"
	struct sqlconn *c = wa_db(req);
	if (c != NULL) {
		wa_list_reply(req, c, s.page, "SELECT COUNT(*)" WHERE,
			      "SELECT id, ts, username, ip, action, object, "
			      "domain, before_json, after_json" WHERE
			      " ORDER BY id DESC LIMIT 50 OFFSET ?",
			      args, 10, audit_item);
		wa_db_put(req, &c, false);
	}
	wa_search_end(&s);
}
