/*
 * youju-webadmin's route table, the caller check every route goes through
 * (session cookie + CSRF header, or a Bearer API token; the manager row is
 * re-read on every request so that disabling or expiring a manager takes
 * effect at once), the role check on domains, and the SQL helpers.
 * DESIGN §10 "API contract" is the specification of the paths.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authc.h"
#include "extmail_sql.h"
#include "log.h"
#include "pwhash.h"
#include "str.h"
#include "throttle.h"
#include "wa.h"
#include "webauth.h"
#include "webjson.h"
#include "xalloc.h"

/* clang-format off */
#define S HTTP_F_SESSION
#define C HTTP_F_CSRF
#define A HTTP_F_ADMIN
const struct http_route wa_routes[] = {
	{ "POST", "/api/session", wa_session_login, 0 },
	{ "GET", "/api/session", wa_session_get, S },
	{ "DELETE", "/api/session", wa_session_logout, S | C },
	{ "PUT", "/api/password", wa_password_change, S | C },
	{ "GET", "/api/domains", wa_domains_list, S },
	{ "POST", "/api/domains", wa_domain_create, S | C | A },
	{ "GET", "/api/domains/{}", wa_domain_get, S },
	{ "PUT", "/api/domains/{}", wa_domain_update, S | C | A },
	{ "DELETE", "/api/domains/{}", wa_domain_delete, S | C | A },
	{ "GET", "/api/domains/{}/mailboxes", wa_mailboxes_list, S },
	{ "POST", "/api/domains/{}/mailboxes", wa_mailbox_create, S | C },
	{ "GET", "/api/domains/{}/mailboxes/{}", wa_mailbox_get, S },
	{ "PUT", "/api/domains/{}/mailboxes/{}", wa_mailbox_update, S | C },
	{ "DELETE", "/api/domains/{}/mailboxes/{}", wa_mailbox_delete, S | C },
	{ "GET", "/api/domains/{}/dkim", wa_dkim_list, S },
	{ "POST", "/api/domains/{}/dkim", wa_dkim_create, S | C },
	{ "DELETE", "/api/domains/{}/dkim/{}", wa_dkim_delete, S | C },
	{ "GET", "/api/domains/{}/export", wa_export, S },
	{ "POST", "/api/domains/{}/import", wa_import, S | C },
	{ "GET", "/api/domains/{}/aliases", wa_aliases_list, S },
	{ "POST", "/api/domains/{}/aliases", wa_alias_create, S | C },
	{ "GET", "/api/domains/{}/aliases/{}", wa_alias_get, S },
	{ "PUT", "/api/domains/{}/aliases/{}", wa_alias_update, S | C },
	{ "DELETE", "/api/domains/{}/aliases/{}", wa_alias_delete, S | C },
	{ "GET", "/api/managers", wa_managers_list, S | A },
	{ "POST", "/api/managers", wa_manager_create, S | C | A },
	{ "GET", "/api/managers/{}", wa_manager_get, S | A },
	{ "PUT", "/api/managers/{}", wa_manager_update, S | C | A },
	{ "DELETE", "/api/managers/{}", wa_manager_delete, S | C | A },
	{ "GET", "/api/tokens", wa_tokens_list, S },
	{ "POST", "/api/tokens", wa_token_create, S | C },
	{ "DELETE", "/api/tokens/{}", wa_token_delete, S | C },
	{ "GET", "/api/audit", wa_audit_list, S },
	{ "POST", "/api/groupmail", wa_groupmail, S | C },
	{ "GET", "/api/status", wa_status, S },
	{ "GET", "/metrics", wa_metrics, S | A },
	{ "GET", "/api/graphs/{}", wa_graph, S },
	{ "POST", "/api/self/password", wa_self_password, 0 },
	{ "POST", "/api/self/question", wa_self_question, 0 },
	{ "POST", "/api/self/reset", wa_self_reset, 0 },
	{ "POST", "/api/self/signup", wa_self_signup, 0 },
	{ "GET", "/extman", wa_extman_redirect, 0 },
	{ "GET", "/extman/*", wa_extman_redirect, 0 },
	{ NULL, NULL, NULL, 0 },
};
#undef S
#undef C
#undef A
/* clang-format on */

/* one request per worker thread at a time: the caller lives here */
static _Thread_local struct wa_caller tl_caller;

const struct wa_caller *wa_caller(struct http_req *req)
{
	return http_req_ctx(req);
}

/* ---- SQL helpers ---- */

struct sqlconn *wa_db(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const char *err = NULL;
	struct sqlconn *c = sqlpool_get(wa->pool, 5000, &err);
	if (c == NULL) {
		log_warning("webadmin: database: %s", err);
		webjson_error(req, 503, "unavailable",
			      "database temporarily unavailable", NULL);
	}
	return c;
}

void wa_db_put(struct http_req *req, struct sqlconn **c, bool broken)
{
	struct wa *wa = http_req_app(req);
	if (*c == NULL)
		return;
	sqlpool_put(wa->pool, c, broken);
}

int wa_q(struct http_req *req, struct sqlconn *c, const char *sql,
	 const char *const *args, size_t nargs, struct sqlresult *res)
{
	struct sqlresult tmp;
	const char *err = NULL;
	memset(&tmp, 0, sizeof tmp);
	enum sqlpool_status st = sqlconn_query(c, sql, args, nargs, WA_ROWS_MAX,
					       res != NULL ? res : &tmp, &err);
	if (res == NULL)
		sqlresult_free(&tmp);
	if (st == SQL_OK)
		return 0;
	if (st == SQL_ERROR && sqlconn_is_duplicate(c)) {
		webjson_error(req, 409, "exists", "it exists already", NULL);
		return -1;
	}
	log_warning("webadmin: %s", err);
	if (st == SQL_TEMPFAIL)
		webjson_error(req, 503, "unavailable",
			      "database temporarily unavailable", NULL);
	else
		webjson_error(req, 500, "internal", "database error", NULL);
	return -1;
}

json_t *wa_q_strings(struct http_req *req, struct sqlconn *c, const char *sql,
		     const char *const *args, size_t nargs)
{
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	if (wa_q(req, c, sql, args, nargs, &res) < 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < res.nrows; i++)
		if (res.rows[i].cols[0] != NULL)
			json_array_append_new(a,
					      json_string(res.rows[i].cols[0]));
	sqlresult_free(&res);
	return a;
}

int wa_q_int(struct http_req *req, struct sqlconn *c, const char *sql,
	     const char *const *args, size_t nargs, int64_t *v_r)
{
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	if (wa_q(req, c, sql, args, nargs, &res) < 0)
		return -1;
	*v_r = 0;
	if (res.nrows > 0 && res.rows[0].ncols > 0 &&
	    res.rows[0].cols[0] != NULL) {
		int64_t v;
		if (str_parse_i64(res.rows[0].cols[0], INT64_MIN, INT64_MAX,
				  &v) == 0)
			*v_r = v;
	}
	sqlresult_free(&res);
	return 0;
}

/* BEGIN or COMMIT (step): 0, or -1 after logging and replying 503. */
static int tx_step(struct http_req *req, struct sqlconn *c,
		   enum sqlpool_status (*step)(struct sqlconn *, const char **))
{
	const char *err = NULL;
	if (step(c, &err) != SQL_OK) {
		log_warning("webadmin: %s", err);
		webjson_error(req, 503, "unavailable",
			      "database temporarily unavailable", NULL);
		return -1;
	}
	return 0;
}

int wa_begin(struct http_req *req, struct sqlconn *c)
{
	return tx_step(req, c, sqlconn_begin);
}

int wa_commit(struct http_req *req, struct sqlconn *c)
{
	return tx_step(req, c, sqlconn_commit);
}

/* ---- identity ---- */

/* SHA-256 of an API token as hex: what the table stores. */
static void token_hash(const char *token, char out[65])
{
	unsigned char md[32];
	unsigned len = 0;
	static const char hex[] = "0123456789abcdef";
	if (EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) !=
		1 ||
	    len != 32) {
		out[0] = '\0';
		return;
	}
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

void wa_token_hash(const char *token, char out[65])
{
	token_hash(token, out);
}

/* manager active and not past expiredate (when checked) */
static bool manager_usable(const struct wa *wa, const char *active,
			   const char *expiredate)
{
	if (active == NULL || strcmp(active, "1") != 0)
		return false;
	if (!wa->check_expiry || expiredate == NULL ||
	    strcmp(expiredate, "0000-00-00") == 0 || expiredate[0] == '\0')
		return true;
	char today[11];
	wa_today(today);
	return strcmp(expiredate, today) >= 0;
}

bool wa_authorize(void *app, struct http_req *req, unsigned flags)
{
	struct wa *wa = app;
	memset(&tl_caller, 0, sizeof tl_caller);
	http_req_set_ctx(req, NULL);
	if ((flags & HTTP_F_SESSION) == 0)
		return true;

	const char *auth = http_req_header(req, "Authorization");
	char hash[65];
	struct websession_info info; /* arg points into it */
	const char *sql;
	const char *arg;
	if (auth != NULL) {
		if (strncasecmp(auth, "Bearer ", 7) != 0 ||
		    strlen(auth) > 200) {
			webjson_error(req, 401, "unauthorized",
				      "bad Authorization header", NULL);
			return false;
		}
		token_hash(auth + 7, hash);
		if (wa->cli_token_hash[0] != '\0' &&
		    str_secure_eq(hash, wa->cli_token_hash, 64)) {
			/* the youju CLI on this host: the super administrator,
			   named so in the audit log */
			snprintf(tl_caller.username, sizeof tl_caller.username,
				 "youju-cli");
			tl_caller.admin = true;
			tl_caller.token = true;
			http_req_set_user(req, tl_caller.username);
			http_req_set_ctx(req, &tl_caller);
			return true;
		}
		sql = "SELECT m.username, m.type, m.active, m.expiredate "
		      "FROM youju_api_token t JOIN manager m "
		      "ON m.username = t.username WHERE t.token_hash = ?";
		arg = hash;
		tl_caller.token = true;
	} else {
		char id[WEBSESSION_ID_LEN + 1];
		if (!webauth_session(req, wa->sessions, WA_COOKIE, flags, id,
				     &info))
			return false;
		memcpy(tl_caller.session_id, id, sizeof id);
		sql = "SELECT username, type, active, expiredate FROM manager "
		      "WHERE username = ?";
		arg = info.user;
	}
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		return false;
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	const char *args[1] = {arg};
	if (wa_q(req, c, sql, args, 1, &res) < 0) {
		wa_db_put(req, &c, false);
		return false;
	}
	if (tl_caller.token && res.nrows == 1) {
		const char *targs[1] = {hash};
		struct sqlresult r2;
		memset(&r2, 0, sizeof r2);
		(void)sqlconn_query(
		    c,
		    "UPDATE youju_api_token SET lastused = NOW() "
		    "WHERE token_hash = ?",
		    targs, 1, 0, &r2, &sql);
		sqlresult_free(&r2);
	}
	wa_db_put(req, &c, false);
	bool ok = res.nrows == 1;
	if (ok) {
		struct sqlrow *r = &res.rows[0];
		ok = manager_usable(wa, r->cols[2], r->cols[3]);
		snprintf(tl_caller.username, sizeof tl_caller.username, "%s",
			 r->cols[0] != NULL ? r->cols[0] : "");
		tl_caller.admin =
		    r->cols[1] != NULL && strcmp(r->cols[1], "admin") == 0;
		if (!ok)
			websession_destroy_user(wa->sessions,
						tl_caller.username);
	}
	sqlresult_free(&res);
	if (!ok) {
		if (!tl_caller.token && tl_caller.session_id[0] != '\0')
			websession_destroy(wa->sessions, tl_caller.session_id);
		webjson_error(
		    req, 401, "unauthorized",
		    tl_caller.token ? "invalid token" : "session ended", NULL);
		return false;
	}
	http_req_set_user(req, tl_caller.username);
	http_req_set_ctx(req, &tl_caller);
	if ((flags & HTTP_F_ADMIN) && !tl_caller.admin) {
		webjson_error(req, 403, "forbidden",
			      "only the super administrator may do this", NULL);
		return false;
	}
	return true;
}

bool wa_can_domain(struct http_req *req, struct sqlconn *c, const char *domain)
{
	const struct wa_caller *me = wa_caller(req);
	if (me == NULL) {
		webjson_error(req, 403, "forbidden", "not allowed", NULL);
		return false;
	}
	if (me->admin)
		return true;
	int64_t n = 0;
	const char *args[2] = {me->username, domain};
	/* exact, case-sensitive match on the stored names (BINARY): the
	   collation would otherwise fold case and trailing spaces */
	if (wa_q_int(req, c,
		     "SELECT COUNT(*) FROM domain_manager WHERE "
		     "BINARY username = ? AND BINARY domain = ? AND active = 1",
		     args, 2, &n) < 0)
		return false;
	if (n > 0)
		return true;
	webjson_error(req, 403, "forbidden", "not your domain", "domain");
	return false;
}

/* ---- rows ---- */

static bool is_int_col(const char *name)
{
	static const char *const ints[] = {
	    "maxalias",		"maxusers",    "can_signup",
	    "disablesmtpd",	"disablesmtp", "disablewebmail",
	    "disablenetdisk",	"disableimap", "disablepop3",
	    "active",		"uidnumber",   "gidnumber",
	    "disablepwdchange", NULL,
	};
	for (size_t i = 0; ints[i] != NULL; i++)
		if (strcmp(ints[i], name) == 0)
			return true;
	return false;
}

static bool is_quota_col(const char *name)
{
	return strcmp(name, "maxquota") == 0 ||
	       strcmp(name, "maxnetdiskquota") == 0 ||
	       strcmp(name, "quota") == 0 ||
	       strcmp(name, "netdiskquota") == 0 ||
	       strcmp(name, "default_quota") == 0 ||
	       strcmp(name, "default_netdiskquota") == 0;
}

json_t *wa_row_json(const char *const *cols, const struct sqlrow *row)
{
	json_t *o = json_object();
	for (size_t i = 0; cols[i] != NULL && i < row->ncols; i++) {
		const char *n = cols[i];
		const char *v = row->cols[i];
		if (strcmp(n, "password") == 0 || strcmp(n, "clearpwd") == 0 ||
		    strcmp(n, "answer") == 0)
			continue;
		json_t *jv;
		if (is_int_col(n)) {
			int64_t x = 0;
			if (v != NULL &&
			    str_parse_i64(v, INT64_MIN, INT64_MAX, &x) < 0)
				x = 0;
			jv = json_integer(x);
		} else if (is_quota_col(n)) {
			uint64_t b = 0;
			if (extmail_quota_bytes(v, &b) < 0)
				b = 0;
			jv = json_integer((json_int_t)b);
		} else if (v == NULL)
			jv = json_null();
		else {
			jv = json_string(v);
			if (jv == NULL) /* not UTF-8 in an old database */
				jv = json_string("");
		}
		json_object_set_new(o, n, jv);
	}
	return o;
}

int wa_page(struct http_req *req, char *offset, size_t sz)
{
	const char *p = http_req_query(req, "page");
	uint64_t page = 1;
	if (p != NULL && p[0] != '\0' &&
	    str_parse_u64(p, 1, 1000000, &page) < 0) {
		webjson_error(req, 400, "invalid", "page: must be from 1",
			      "page");
		return -1;
	}
	snprintf(offset, sz, "%llu",
		 (unsigned long long)((page - 1) * WA_PAGE_SIZE));
	return (int)page;
}

char *wa_lower(const char *s)
{
	char *c = xstrdup(s);
	str_lower(c);
	return c;
}

void wa_secret_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void wa_today(char *out)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

void wa_now(char *out)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ---- session ---- */

/* The caller's domains (postmaster) as a JSON array; admin: []. */
static void reply_session(struct http_req *req, struct sqlconn *c,
			  const char *user, const char *type, const char *csrf)
{
	const char *args[1] = {user};
	json_t *doms = wa_q_strings(req, c,
				    "SELECT domain FROM domain_manager WHERE "
				    "username = ? AND active = 1 ORDER BY "
				    "domain",
				    args, 1);
	if (doms == NULL)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "user", json_string(user));
	json_object_set_new(o, "type", json_string(type));
	if (csrf != NULL)
		json_object_set_new(o, "csrf", json_string(csrf));
	json_object_set_new(o, "domains", doms);
	webjson_reply(req, 200, o);
}

void wa_session_login(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	const char *user = NULL, *password = NULL;
	if (webjson_get_str(req, in, "user", true, EXTMAIL_ADDRESS_MAX, &user) <
		0 ||
	    webjson_get_str(req, in, "password", true, 1024, &password) < 0) {
		json_decref(in);
		return;
	}
	char *luser = wa_lower(user);
	const char *ip = http_req_client(req);
	http_req_set_user(req, luser);
	if (wa_throttle_locked(wa->throttle, luser, ip)) {
		log_info("webadmin: login throttled: user=<%s>, rip=%s", luser,
			 ip);
		webjson_error(req, 429, "throttled",
			      "too many failed logins, try again later", NULL);
		goto out;
	}
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		goto out;
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	const char *args[1] = {luser};
	if (wa_q(req, c,
		 "SELECT username, password, type, active, expiredate "
		 "FROM manager WHERE username = ?",
		 args, 1, &res) < 0) {
		wa_db_put(req, &c, false);
		goto out;
	}
	bool found = res.nrows == 1 && res.rows[0].cols[1] != NULL;
	bool match = found && pwhash_verify(password, res.rows[0].cols[1],
					    false) == PWHASH_MATCH;
	if (!match) {
		wa_throttle_fail(wa->throttle, luser, ip);
		log_info("webadmin: login failed: user=<%s>, rip=%s, "
			 "reason=%s",
			 luser, ip,
			 found ? "password mismatch" : "unknown user");
		webjson_error(req, 401, "bad_login", "wrong user or password",
			      NULL);
	} else if (!manager_usable(wa, res.rows[0].cols[3],
				   res.rows[0].cols[4])) {
		wa_throttle_fail(wa->throttle, luser, ip);
		log_info("webadmin: login refused: user=<%s>, rip=%s, "
			 "reason=account disabled or expired",
			 luser, ip);
		webjson_error(req, 403, "disabled",
			      "this account is disabled or expired", NULL);
	} else {
		wa_throttle_ok(wa->throttle, luser);
		struct websession_info info;
		const char *type =
		    res.rows[0].cols[2] != NULL ? res.rows[0].cols[2] : "";
		if (webauth_start(req, wa->sessions, WA_COOKIE, luser, type,
				  &info) < 0) {
			webjson_error(req, 500, "internal", "no random bytes",
				      NULL);
		} else {
			log_info("webadmin: login: user=<%s>, rip=%s", luser,
				 ip);
			reply_session(req, c, luser, type, info.csrf);
		}
	}
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
out:
	free(luser);
	json_decref(in);
}

void wa_session_get(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const struct wa_caller *me = wa_caller(req);
	struct websession_info info;
	const char *csrf = NULL;
	if (!me->token && websession_get(wa->sessions, me->session_id, &info))
		csrf = info.csrf;
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		return;
	reply_session(req, c, me->username, me->admin ? "admin" : "postmaster",
		      csrf);
	wa_db_put(req, &c, false);
}

void wa_session_logout(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const struct wa_caller *me = wa_caller(req);
	webauth_end(req, wa->sessions, WA_COOKIE,
		    me->token ? NULL : me->session_id);
	webjson_reply(req, 200, json_object());
}

void wa_extman_redirect(struct http_req *req)
{
	http_reply_header(req, "Location", "/");
	http_reply_raw(req, 301, "text/plain; charset=utf-8", "moved to /\n",
		       11);
}

/* ---- authd cache ---- */

void wa_authd_flush(const struct wa *wa, const char *key)
{
	const char *at = strrchr(key, '@');
	wa_stats_forget(at != NULL ? at + 1 : key);
	char req[600];
	int n = snprintf(req, sizeof req, "FLUSH %s\n", key);
	if (n < 0 || (size_t)n >= sizeof req || strpbrk(key, " \r\n") != NULL)
		return;
	struct authc_reply r;
	memset(&r, 0, sizeof r);
	enum authc_status st =
	    authc_request(wa->authd_socket, req, (size_t)n, &r);
	authc_reply_free(&r);
	if (st != AUTHC_OK)
		log_warning("webadmin: youju-authd did not flush %s (its "
			    "caches expire within authd_cache_ttl)",
			    key);
}
