/*
 * /api/managers (super administrator only): the manager table and each
 * manager's domain_manager rows, shown as "domains"; nobody deletes
 * themselves.  Also every manager's own password change (/api/password)
 * and API tokens (/api/tokens).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "daemon.h"
#include "extmail_sql.h"
#include "log.h"
#include "pwhash.h"
#include "record.h"
#include "listing.h"
#include "wa.h"
#include "webjson.h"
#include "websession.h"
#include "xalloc.h"

/* clang-format off */
static const struct rec_field manager_fields[] = {
	{ "username", REC_FIXED, 0, 0, 0 },
	{ "password", REC_FIXED, 0, 0, 0 },
	{ "type", REC_STR, 64, 0, 0 },
	{ "uid", REC_STR, 255, 0, 0 },
	{ "name", REC_STR, 255, 0, 0 },
	{ "question", REC_STR, 255, 0, 0 },
	{ "answer", REC_STR, 255, 0, 0 },
	{ "disablepwdchange", REC_FLAG, 0, 0, 0 },
	{ "createdate", REC_FIXED, 0, 0, 0 },
	{ "expiredate", REC_DATE, 0, 0, 0 },
	{ "active", REC_FLAG, 0, 0, 0 },
	{ NULL, REC_FIXED, 0, 0, 0 },
};
/* clang-format on */

#define PASSWORD_MIN 8
#define PASSWORD_MAX 256

static json_t *domains_of(struct http_req *req, struct sqlconn *c,
			  const char *user)
{
	const char *args[1] = {user};
	return wa_q_strings(req, c,
			    "SELECT domain FROM domain_manager WHERE "
			    "username = ? ORDER BY domain",
			    args, 1);
}

static json_t *manager_json(struct http_req *req, struct sqlconn *c,
			    const struct sqlrow *row)
{
	json_t *o = wa_row_json(extmail_manager_cols, row);
	json_t *d =
	    domains_of(req, c, row->cols[0] != NULL ? row->cols[0] : "");
	if (d == NULL) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "domains", d);
	return o;
}

void wa_managers_list(struct http_req *req)
{
	struct wa_search s;
	if (wa_search_begin(req, &s) < 0)
		return;
	const char *args[] = {s.q, s.like, s.like, s.offset};
#undef WHERE
#define WHERE                                                                  \
	" FROM manager WHERE (? = '' OR username "                             \
	"LIKE ? OR name LIKE ?)"
	struct sqlconn *c = wa_db(req);
	if (c != NULL) {
		wa_list_reply(req, c, s.page, "SELECT COUNT(*)" WHERE,
			      "SELECT " EXTMAIL_MANAGER_SELECT WHERE
			      " ORDER BY username LIMIT 50 OFFSET ?",
			      args, 4, manager_json);
		wa_db_put(req, &c, false);
	}
	wa_search_end(&s);
}

static int load_manager(struct http_req *req, struct sqlconn *c,
			const char *user, bool lock, struct sqlresult *res)
{
	const char *args[1] = {user};
	if (wa_q(req, c,
		 lock ? "SELECT " EXTMAIL_MANAGER_SELECT
			" FROM manager WHERE username = ? FOR UPDATE"
		      : "SELECT " EXTMAIL_MANAGER_SELECT
			" FROM manager WHERE username = ?",
		 args, 1, res) < 0)
		return -1;
	if (res->nrows == 0) {
		webjson_error(req, 404, "not_found", "no such manager",
			      "username");
		return 0;
	}
	return 1;
}

void wa_manager_get(struct http_req *req)
{
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	struct sqlconn *c = wa_db(req);
	if (c != NULL &&
	    load_manager(req, c, http_req_param(req, 0), false, &res) == 1) {
		json_t *m = manager_json(req, c, &res.rows[0]);
		if (m != NULL)
			webjson_reply(req, 200, m);
	}
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
}

/* Replaces user's domain_manager rows with the "domains" list (each an
   existing domain); -1 after a reply. */
static int set_domains(struct http_req *req, struct sqlconn *c,
		       const char *user, json_t *list)
{
	if (!json_is_array(list) || json_array_size(list) > 10000) {
		webjson_error(req, 400, "invalid",
			      "domains: a list of domain names", "domains");
		return -1;
	}
	const char *uargs[1] = {user};
	if (wa_q(req, c, "DELETE FROM domain_manager WHERE username = ?", uargs,
		 1, NULL) < 0)
		return -1;
	char now[20];
	wa_now(now);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *d = json_is_string(v) ? json_string_value(v) : "";
		int64_t n = 0;
		const char *dargs[1] = {d};
		if (wa_q_int(req, c,
			     "SELECT COUNT(*) FROM domain WHERE domain = ?",
			     dargs, 1, &n) < 0)
			return -1;
		if (n == 0) {
			char msg[320];
			snprintf(msg, sizeof msg,
				 "domains: no such domain (entry %zu)", i + 1);
			webjson_error(req, 400, "invalid", msg, "domains");
			return -1;
		}
		const char *args[] = {user, d, now};
		if (wa_q(req, c,
			 "INSERT INTO domain_manager (username, domain, "
			 "createdate, active) VALUES (?, ?, ?, 1)",
			 args, 3, NULL) < 0)
			return -1;
	}
	return 0;
}

static int check_type(struct http_req *req, const struct record *r)
{
	const char *t = rec_get(r, "type");
	if (t == NULL ||
	    (strcmp(t, "admin") != 0 && strcmp(t, "postmaster") != 0)) {
		webjson_error(req, 400, "invalid", "type: admin or postmaster",
			      "type");
		return -1;
	}
	return 0;
}

static int new_password(struct http_req *req, json_t *in, const char *field,
			bool required, char **hash_r)
{
	const char *pw = NULL;
	*hash_r = NULL;
	int rc = webjson_get_str(req, in, field, required, PASSWORD_MAX, &pw);
	if (rc <= 0)
		return rc;
	if (strlen(pw) < PASSWORD_MIN) {
		char msg[80];
		snprintf(msg, sizeof msg, "%s: at least 8 characters", field);
		webjson_error(req, 400, "invalid", msg, field);
		return -1;
	}
	const char *err = NULL;
	*hash_r = pwhash_make(pw, "sha512-crypt", &err);
	if (*hash_r == NULL) {
		webjson_error(req, 500, "internal", "cannot hash", field);
		return -1;
	}
	return 1;
}

static void manager_write(struct http_req *req, bool create)
{
	struct wa *wa = http_req_app(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	struct record r;
	rec_init(&r, extmail_manager_cols, manager_fields);
	char *user = NULL, *hash = NULL;
	json_t *domains = NULL, *before = NULL;
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	struct sqlconn *c = NULL;
	if (create) {
		const char *u0 = NULL;
		if (webjson_get_str(req, in, "username", true,
				    EXTMAIL_ADDRESS_MAX, &u0) < 0)
			goto out;
		user = wa_lower(u0);
		const char *at = strrchr(user, '@');
		bool ok = strlen(user) >= 2;
		for (const char *p = user; *p != '\0' && ok; p++)
			ok = (unsigned char)*p > 0x20 && *p != 0x7f &&
			     *p != '/' && *p != '"';
		if (ok && at != NULL)
			ok = at > user && extmail_domain_valid(at + 1);
		if (!ok) {
			webjson_error(req, 400, "invalid",
				      "username: a login such as "
				      "admin@example.com",
				      "username");
			goto out;
		}
		json_object_del(in, "username");
	} else
		user = xstrdup(http_req_param(req, 0));
	if (new_password(req, in, "password", create, &hash) < 0)
		goto out;
	json_object_del(in, "password");
	domains = json_object_get(in, "domains");
	if (domains != NULL) {
		json_incref(domains);
		json_object_del(in, "domains");
	}
	if ((c = wa_db(req)) == NULL || wa_begin(req, c) < 0)
		goto out;
	if (create) {
		char now[20];
		wa_now(now);
		rec_set(&r, "username", user);
		rec_set(&r, "type", "postmaster");
		rec_set(&r, "uid", user);
		rec_set(&r, "name", user);
		rec_set(&r, "question", "");
		rec_set(&r, "answer", "");
		rec_set(&r, "disablepwdchange", "0");
		rec_set(&r, "createdate", now);
		rec_set(&r, "expiredate", "0000-00-00");
		rec_set(&r, "active", "1");
	} else {
		if (load_manager(req, c, user, true, &res) != 1)
			goto rollback;
		rec_load(&r, &res.rows[0]);
		before = rec_json(&r);
		json_t *bd = domains_of(req, c, user);
		if (bd == NULL)
			goto rollback;
		json_object_set_new(before, "domains", bd);
	}
	if (hash != NULL)
		rec_set(&r, "password", hash);
	if (rec_apply(req, &r, in) < 0 || check_type(req, &r) < 0)
		goto rollback;
	const struct wa_caller *me = wa_caller(req);
	if (!create && strcmp(user, me->username) == 0 &&
	    (rec_int(&r, "active") != 1 ||
	     strcmp(rec_get(&r, "type"), "admin") != 0)) {
		webjson_error(req, 409, "self",
			      "you cannot disable or demote yourself", "type");
		goto rollback;
	}
	int rc;
	if (create) {
		rc = wa_q(req, c,
			  "INSERT INTO manager (" EXTMAIL_MANAGER_SELECT
			  ") VALUES (" EXTMAIL_MANAGER_MARKS ")",
			  rec_args(&r), r.n, NULL);
		if (rc < 0 && sqlconn_is_duplicate(c))
			webjson_error(req, 409, "exists",
				      "the manager exists already", "username");
	} else {
		const char *args[REC_COLS_MAX + 1];
		for (size_t i = 0; i < r.n; i++)
			args[i] = r.v[i];
		args[r.n] = user;
		rc = wa_q(req, c,
			  "UPDATE manager SET username = ?, password = ?, "
			  "type = ?, uid = ?, name = ?, question = ?, "
			  "answer = ?, disablepwdchange = ?, createdate = ?, "
			  "expiredate = ?, active = ? WHERE username = ?",
			  args, r.n + 1, NULL);
	}
	if (rc < 0)
		goto rollback;
	if (domains != NULL && set_domains(req, c, user, domains) < 0)
		goto rollback;
	json_t *after = rec_json(&r);
	json_t *ad = domains_of(req, c, user);
	if (ad == NULL) {
		json_decref(after);
		goto rollback;
	}
	json_object_set_new(after, "domains", ad);
	rc = wa_audit_commit(req, c, rc,
			     create ? "manager.create" : "manager.update", user,
			     before, after);
	if (rc < 0) {
		json_decref(after);
		goto rollback;
	}
	/* a disabled manager or a new password ends the other sessions */
	if (!create && (hash != NULL || rec_int(&r, "active") != 1) &&
	    strcmp(user, me->username) != 0)
		websession_destroy_user(wa->sessions, user);
	webjson_reply(req, create ? 201 : 200, after);
	goto out;
rollback:
	sqlconn_rollback(c);
out:
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
	rec_deinit(&r);
	wa_secret_free(hash);
	free(user);
	json_decref(domains);
	json_decref(before);
	json_decref(in);
}

void wa_manager_create(struct http_req *req)
{
	manager_write(req, true);
}

void wa_manager_update(struct http_req *req)
{
	manager_write(req, false);
}

void wa_manager_delete(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const char *user = http_req_param(req, 0);
	const struct wa_caller *me = wa_caller(req);
	if (strcmp(user, me->username) == 0) {
		webjson_error(req, 409, "self", "you cannot delete yourself",
			      "username");
		return;
	}
	struct record r;
	rec_init(&r, extmail_manager_cols, manager_fields);
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	struct sqlconn *c = wa_db(req);
	if (c == NULL || wa_begin(req, c) < 0)
		goto out;
	if (load_manager(req, c, user, true, &res) != 1) {
		sqlconn_rollback(c);
		goto out;
	}
	rec_load(&r, &res.rows[0]);
	json_t *before = rec_json(&r);
	const char *args[1] = {user};
	int rc = wa_q(req, c, "DELETE FROM domain_manager WHERE username = ?",
		      args, 1, NULL);
	if (rc == 0)
		rc = wa_q(req, c,
			  "DELETE FROM youju_api_token WHERE username = ?",
			  args, 1, NULL);
	if (rc == 0)
		rc = wa_q(req, c, "DELETE FROM manager WHERE username = ?",
			  args, 1, NULL);
	rc = wa_audit_commit(req, c, rc, "manager.delete", user, before, NULL);
	json_decref(before);
	if (rc < 0) {
		sqlconn_rollback(c);
		goto out;
	}
	websession_destroy_user(wa->sessions, user);
	webjson_reply(req, 200, json_object());
out:
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
	rec_deinit(&r);
}

/* PUT /api/password {"old", "new"}: the caller's own password. */
void wa_password_change(struct http_req *req)
{
	const struct wa_caller *me = wa_caller(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	const char *old = NULL;
	char *hash = NULL;
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	struct sqlconn *c = NULL;
	static const char *const allowed[] = {"old", "new", NULL};
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "old", true, PASSWORD_MAX, &old) < 0 ||
	    new_password(req, in, "new", true, &hash) < 0)
		goto out;
	if ((c = wa_db(req)) == NULL || wa_begin(req, c) < 0)
		goto out;
	const char *args[2] = {me->username, NULL};
	if (wa_q(req, c,
		 "SELECT password, disablepwdchange FROM manager WHERE "
		 "username = ? FOR UPDATE",
		 args, 1, &res) < 0)
		goto rollback;
	if (res.nrows != 1 || res.rows[0].cols[0] == NULL ||
	    pwhash_verify(old, res.rows[0].cols[0], false) != PWHASH_MATCH) {
		webjson_error(req, 403, "bad_password",
			      "the old password is wrong", "old");
		goto rollback;
	}
	if (res.rows[0].cols[1] != NULL &&
	    strcmp(res.rows[0].cols[1], "1") == 0) {
		webjson_error(req, 403, "disabled",
			      "password changes are disabled for you", "new");
		goto rollback;
	}
	const char *uargs[2] = {hash, me->username};
	int rc =
	    wa_q(req, c, "UPDATE manager SET password = ? WHERE username = ?",
		 uargs, 2, NULL);
	rc = wa_audit_commit(req, c, rc, "manager.password", me->username, NULL,
			     NULL);
	if (rc < 0)
		goto rollback;
	webjson_reply(req, 200, json_object());
	goto out;
rollback:
	sqlconn_rollback(c);
out:
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
	wa_secret_free(hash);
	json_decref(in);
}

/* ---- API tokens ---- */

void wa_tokens_list(struct http_req *req)
{
	const struct wa_caller *me = wa_caller(req);
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		return;
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	const char *args[1] = {me->username};
	if (wa_q(req, c,
		 "SELECT id, name, createdate, lastused FROM youju_api_token "
		 "WHERE username = ? ORDER BY id",
		 args, 1, &res) == 0) {
		json_t *items = json_array();
		for (size_t i = 0; i < res.nrows; i++) {
			char **v = res.rows[i].cols;
			json_t *o = json_object();
			json_object_set_new(
			    o, "id",
			    json_integer(strtoll(v[0] ? v[0] : "0", NULL, 10)));
			json_object_set_new(o, "name",
					    json_string(v[1] ? v[1] : ""));
			json_object_set_new(o, "createdate",
					    json_string(v[2] ? v[2] : ""));
			json_object_set_new(o, "lastused",
					    v[3] ? json_string(v[3])
						 : json_null());
			json_array_append_new(items, o);
		}
		json_t *o = json_object();
		json_object_set_new(o, "items", items);
		webjson_reply(req, 200, o);
	}
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
}

/* POST /api/tokens {"name"} -> {"id", "name", "token"}: the token is shown
   this once; the table keeps its SHA-256. */
void wa_token_create(struct http_req *req)
{
	const struct wa_caller *me = wa_caller(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	const char *name = "";
	static const char *const allowed[] = {"name", NULL};
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "name", false, 64, &name) < 0) {
		json_decref(in);
		return;
	}
	char token[68], hash[65], now[20];
	if (websession_random_hex(token, 32) < 0) {
		webjson_error(req, 500, "internal", "no random bytes", NULL);
		json_decref(in);
		return;
	}
	wa_token_hash(token, hash);
	wa_now(now);
	struct sqlconn *c = wa_db(req);
	if (c == NULL) {
		json_decref(in);
		return;
	}
	const char *args[] = {me->username, name, hash, now};
	int64_t id = 0;
	const char *uargs[1] = {hash};
	if (wa_begin(req, c) == 0) {
		int rc = wa_q(req, c,
			      "INSERT INTO youju_api_token (username, name, "
			      "token_hash, createdate) VALUES (?, ?, ?, ?)",
			      args, 4, NULL);
		if (rc == 0)
			rc = wa_q_int(req, c,
				      "SELECT id FROM youju_api_token WHERE "
				      "token_hash = ?",
				      uargs, 1, &id);
		rc = wa_audit_commit(req, c, rc, "token.create", me->username,
				     NULL, NULL);
		if (rc < 0)
			sqlconn_rollback(c);
		else {
			json_t *o = json_object();
			json_object_set_new(o, "id", json_integer(id));
			json_object_set_new(o, "name", json_string(name));
			json_object_set_new(o, "token", json_string(token));
			webjson_reply(req, 201, o);
		}
	}
	explicit_bzero(token, sizeof token);
	wa_db_put(req, &c, false);
	json_decref(in);
}

void wa_token_delete(struct http_req *req)
{
	const struct wa_caller *me = wa_caller(req);
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		return;
	const char *args[2] = {http_req_param(req, 0), me->username};
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	if (wa_begin(req, c) == 0) {
		int rc = wa_q(req, c,
			      "DELETE FROM youju_api_token WHERE id = ? AND "
			      "username = ?",
			      args, 2, &res);
		if (rc == 0 && res.affected == 0) {
			webjson_error(req, 404, "not_found", "no such token",
				      "id");
			rc = -1;
		}
		rc = wa_audit_commit(req, c, rc, "token.delete", me->username,
				     NULL, NULL);
		if (rc < 0)
			sqlconn_rollback(c);
		else
			webjson_reply(req, 200, json_object());
	}
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
}
