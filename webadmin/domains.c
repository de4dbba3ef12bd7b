/*
 * /api/domains: the domain table (ExtMan's domain pages, web.md §2).
 * Everyone with a session lists and reads the domains they manage (admin:
 * all); only the super administrator creates, changes and deletes them.
 * A domain is deleted only when no mailbox or alias refers to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extmail_sql.h"
#include "log.h"
#include "record.h"
#include "listing.h"
#include "wa.h"
#include "webjson.h"
#include "xalloc.h"

/* clang-format off */
static const struct rec_field domain_fields[] = {
	{ "domain", REC_FIXED, 0, 0, 0 },
	{ "description", REC_STR, 255, 0, 0 },
	{ "hashdirpath", REC_STR, 255, 0, 0 },
	{ "maxalias", REC_INT, 0, 0, 100000000 },
	{ "maxusers", REC_INT, 0, 0, 100000000 },
	{ "maxquota", REC_QUOTA, 0, 0, 0 },
	{ "maxnetdiskquota", REC_QUOTA, 0, 0, 0 },
	{ "transport", REC_STR, 255, 0, 0 },
	{ "can_signup", REC_FLAG, 0, 0, 0 },
	{ "default_quota", REC_QUOTA, 0, 0, 0 },
	{ "default_netdiskquota", REC_QUOTA, 0, 0, 0 },
	{ "default_expire", REC_STR, 12, 0, 0 },
	REC_SERVICE_FIELDS,
	{ "createdate", REC_FIXED, 0, 0, 0 },
	{ "expiredate", REC_DATE, 0, 0, 0 },
	{ "active", REC_FLAG, 0, 0, 0 },
	{ NULL, REC_FIXED, 0, 0, 0 },
};
/* clang-format on */

/* domain row + usage object (the cached figures of stats.c) */
static json_t *domain_json(struct http_req *req, struct sqlconn *c,
			   const struct sqlrow *row)
{
	struct wa_stats st;
	const char *name = row->cols[0] != NULL ? row->cols[0] : "";
	if (wa_domain_stats(req, c, name, &st) < 0)
		return NULL;
	json_t *o = wa_row_json(extmail_domain_cols, row);
	json_t *u = json_object();
	json_object_set_new(u, "users", json_integer(st.users));
	json_object_set_new(u, "aliases", json_integer(st.aliases));
	json_object_set_new(u, "quota", json_integer(st.quota));
	json_object_set_new(u, "netdiskquota", json_integer(st.netdiskquota));
	json_object_set_new(o, "usage", u);
	return o;
}

/* "%q%" with LIKE's wildcards escaped (backslash is the default escape) */
char *wa_like_pattern(const char *q)
{
	size_t n = strlen(q);
	char *p = xmalloc(2 * n + 3), *o = p;
	*o++ = '%';
	for (size_t i = 0; i < n; i++) {
		if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
			*o++ = '\\';
		*o++ = q[i];
	}
	*o++ = '%';
	*o = '\0';
	return p;
}

void wa_domains_list(struct http_req *req)
{
	const struct wa_caller *me = wa_caller(req);
	struct wa_search s;
	if (wa_search_begin(req, &s) < 0)
		return;
	const char *args[] = {
	    me->admin ? "1" : "0", me->username, s.q, s.like, s.like, s.offset};
#undef WHERE
#define WHERE                                                                  \
	" FROM domain d WHERE (? = '1' OR EXISTS (SELECT 1 FROM "              \
	"domain_manager dm WHERE BINARY dm.domain = d.domain AND "             \
	"BINARY dm.username = ? AND dm.active = 1)) AND (? = '' OR "           \
	"d.domain LIKE ? OR d.description LIKE ?)"
	struct sqlconn *c = wa_db(req);
	if (c != NULL) {
		wa_list_reply(req, c, s.page, "SELECT COUNT(*)" WHERE,
			      "SELECT " EXTMAIL_DOMAIN_SELECT WHERE
			      " ORDER BY d.domain LIMIT 50 OFFSET ?",
			      args, 6, domain_json);
		wa_db_put(req, &c, false);
	}
	wa_search_end(&s);
}

/* Loads domain name into res (FOR UPDATE inside a transaction when lock).
   Returns 1 found, 0 after a 404, -1 after an error reply. */
static int load_domain(struct http_req *req, struct sqlconn *c,
		       const char *name, bool lock, struct sqlresult *res)
{
	const char *args[1] = {name};
	int rc = wa_q(req, c,
		      lock ? "SELECT " EXTMAIL_DOMAIN_SELECT
			     " FROM domain d WHERE domain = ? FOR UPDATE"
			   : "SELECT " EXTMAIL_DOMAIN_SELECT
			     " FROM domain d WHERE domain = ?",
		      args, 1, res);
	if (rc < 0)
		return -1;
	if (res->nrows == 0) {
		webjson_error(req, 404, "not_found", "no such domain",
			      "domain");
		return 0;
	}
	return 1;
}

void wa_domain_get(struct http_req *req)
{
	const char *name = http_req_param(req, 0);
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		return;
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	if (wa_can_domain(req, c, name) &&
	    load_domain(req, c, name, false, &res) == 1) {
		json_t *d = domain_json(req, c, &res.rows[0]);
		if (d != NULL)
			webjson_reply(req, 200, d);
	}
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
}

/* Checks what the field specs cannot: transport, default_expire,
   hashdirpath.  Returns 0 or -1 after a 400. */
static int domain_check(struct http_req *req, const struct record *r)
{
	const char *t = rec_get(r, "transport");
	if (t != NULL && t[0] != '\0') {
		/* docs/delivery.md: the transports youju-mta uses */
		static const char *const ok[] = {
		    "smtp",    "relay", "",	 "virtual", "local", "maildrop",
		    "dovecot", "error", "retry", "discard", NULL,
		};
		size_t tl = strcspn(t, ":");
		bool good = false;
		for (size_t i = 0; ok[i] != NULL && !good; i++)
			good = strlen(ok[i]) == tl &&
			       strncmp(ok[i], t, tl) == 0 &&
			       (t[tl] == ':' || (tl > 0 && t[tl] == '\0'));
		for (const char *p = t; *p != '\0' && good; p++)
			good = *p > 0x20 && *p < 0x7f ? true : *p == ' ';
		if (!good) {
			webjson_error(req, 400, "invalid",
				      "transport: must be a transport(5) value "
				      "youju-mta uses (smtp:[host]:port, "
				      "relay:, virtual:, error:, ...)",
				      "transport");
			return -1;
		}
	}
	const char *e = rec_get(r, "default_expire");
	if (e != NULL && e[0] != '\0') {
		size_t d = strspn(e, "0123456789");
		if (d == 0 || d > 4 || strlen(e) != d + 1 ||
		    strchr("dmy", e[d]) == NULL) {
			webjson_error(req, 400, "invalid",
				      "default_expire: must be like 30d, 6m "
				      "or 1y",
				      "default_expire");
			return -1;
		}
	}
	const char *h = rec_get(r, "hashdirpath");
	if (h != NULL && h[0] != '\0') {
		bool good = h[0] != '/' && strstr(h, "..") == NULL;
		for (const char *p = h; *p != '\0' && good; p++)
			good = (*p >= 'A' && *p <= 'Z') ||
			       (*p >= 'a' && *p <= 'z') ||
			       (*p >= '0' && *p <= '9') || *p == '/' ||
			       *p == '_' || *p == '-';
		if (!good) {
			webjson_error(req, 400, "invalid",
				      "hashdirpath: letters, digits, / _ - "
				      "only, relative",
				      "hashdirpath");
			return -1;
		}
	}
	return 0;
}

void wa_domain_create(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	const char *name0 = NULL;
	if (webjson_get_str(req, in, "domain", true, EXTMAIL_DOMAIN_MAX,
			    &name0) < 0) {
		json_decref(in);
		return;
	}
	char *name = wa_lower(name0);
	struct record r;
	rec_init(&r, extmail_domain_cols, domain_fields);
	struct sqlconn *c = NULL;
	if (!extmail_domain_valid(name)) {
		webjson_error(req, 400, "invalid",
			      "domain: not a valid domain name", "domain");
		goto out;
	}
	char desc[300], now[20];
	snprintf(desc, sizeof desc, "virtualDomain for %s", name);
	wa_now(now);
	/* ExtMan's defaults (webman.cf): 100 users, 100 aliases, 500 MB;
	   users 5 MB, 1 year; service template webmail, smtpd, smtp, pop3,
	   imap, netdisk all allowed */
	static const char *const defaults[][2] = {
	    {"hashdirpath", ""},
	    {"maxalias", "100"},
	    {"maxusers", "100"},
	    {"maxquota", "524288000S"},
	    {"maxnetdiskquota", "524288000S"},
	    {"can_signup", "0"},
	    {"default_quota", "5242880S"},
	    {"default_netdiskquota", "5242880S"},
	    {"default_expire", "1y"},
	    {"expiredate", "0000-00-00"},
	    {"active", "1"},
	};
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		rec_set(&r, defaults[i][0], defaults[i][1]);
	for (size_t i = 0; wa_services[i] != NULL; i++)
		rec_set(&r, wa_services[i], "0");
	rec_set(&r, "description", desc);
	rec_set(&r, "createdate", now);
	json_object_del(in, "domain");
	if (rec_apply(req, &r, in) < 0 || domain_check(req, &r) < 0)
		goto out;
	rec_set(&r, "domain", name);
	if ((c = wa_db(req)) == NULL || wa_begin(req, c) < 0)
		goto out;
	json_t *after = rec_json(&r);
	int rc = wa_q(req, c,
		      "INSERT INTO domain (" EXTMAIL_DOMAIN_SELECT
		      ") VALUES (" EXTMAIL_DOMAIN_MARKS ")",
		      rec_args(&r), r.n, NULL);
	rc = wa_audit_commit(req, c, rc, "domain.create", name, NULL, after);
	if (rc < 0) {
		sqlconn_rollback(c);
		json_decref(after);
		goto out;
	}
	wa_authd_flush(wa, name);
	webjson_reply(req, 201, after);
out:
	wa_db_put(req, &c, false);
	rec_deinit(&r);
	free(name);
	json_decref(in);
}

void wa_domain_update(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const char *name = http_req_param(req, 0);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	struct record r;
	rec_init(&r, extmail_domain_cols, domain_fields);
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	struct sqlconn *c = wa_db(req);
	if (c == NULL || wa_begin(req, c) < 0)
		goto out;
	if (load_domain(req, c, name, true, &res) != 1) {
		sqlconn_rollback(c);
		goto out;
	}
	rec_load(&r, &res.rows[0]);
	json_t *before = rec_json(&r);
	if (rec_apply(req, &r, in) < 0 || domain_check(req, &r) < 0) {
		sqlconn_rollback(c);
		json_decref(before);
		goto out;
	}
	json_t *after = rec_json(&r);
	/* every column but the key, then the key */
	const char *args[REC_COLS_MAX + 1];
	for (size_t i = 0; i < r.n; i++)
		args[i] = r.v[i];
	args[r.n] = name;
	int rc = wa_q(req, c,
		      "UPDATE domain SET domain = ?, description = ?, "
		      "hashdirpath = ?, maxalias = ?, maxusers = ?, "
		      "maxquota = ?, maxnetdiskquota = ?, transport = ?, "
		      "can_signup = ?, default_quota = ?, "
		      "default_netdiskquota = ?, default_expire = ?, "
		      "disablesmtpd = ?, disablesmtp = ?, disablewebmail = ?, "
		      "disablenetdisk = ?, disableimap = ?, disablepop3 = ?, "
		      "createdate = ?, expiredate = ?, active = ? "
		      "WHERE domain = ?",
		      args, r.n + 1, NULL);
	rc = wa_audit_commit(req, c, rc, "domain.update", name, before, after);
	json_decref(before);
	if (rc < 0) {
		sqlconn_rollback(c);
		json_decref(after);
		goto out;
	}
	wa_authd_flush(wa, name);
	webjson_reply(req, 200, after);
out:
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
	rec_deinit(&r);
	json_decref(in);
}

void wa_domain_delete(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const char *name = http_req_param(req, 0);
	struct record r;
	rec_init(&r, extmail_domain_cols, domain_fields);
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	struct sqlconn *c = wa_db(req);
	if (c == NULL || wa_begin(req, c) < 0)
		goto out;
	if (load_domain(req, c, name, true, &res) != 1) {
		sqlconn_rollback(c);
		goto out;
	}
	rec_load(&r, &res.rows[0]);
	const char *args[1] = {name};
	int64_t users = 0, aliases = 0;
	/* lock the rows that would block the delete while we decide */
	if (wa_q_int(req, c,
		     "SELECT COUNT(*) FROM mailbox WHERE domain = ? "
		     "LOCK IN SHARE MODE",
		     args, 1, &users) < 0 ||
	    wa_q_int(req, c,
		     "SELECT COUNT(*) FROM alias WHERE domain = ? "
		     "LOCK IN SHARE MODE",
		     args, 1, &aliases) < 0) {
		sqlconn_rollback(c);
		goto out;
	}
	if (users > 0 || aliases > 0) {
		sqlconn_rollback(c);
		webjson_error(req, 409, "not_empty",
			      "the domain still has mailboxes or aliases",
			      "domain");
		goto out;
	}
	json_t *before = rec_json(&r);
	int rc = wa_q(req, c, "DELETE FROM domain_manager WHERE domain = ?",
		      args, 1, NULL);
	if (rc == 0)
		rc = wa_q(req, c, "DELETE FROM domain WHERE domain = ?", args,
			  1, NULL);
	rc = wa_audit_commit(req, c, rc, "domain.delete", name, before, NULL);
	json_decref(before);
	if (rc < 0) {
		sqlconn_rollback(c);
		goto out;
	}
	wa_authd_flush(wa, name);
	webjson_reply(req, 200, json_object());
out:
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
	rec_deinit(&r);
}
