/*
 * Mailbox self-service, ExtMan's public pages (web.md §2): a mailbox user
 * changes their password (old + new), resets a forgotten one with the
 * recovery question and answer, or signs up in a domain that allows it.
 * No session: each request carries the account and its proof, must be
 * JSON (a cross-site form cannot send application/json without CORS, so
 * these POSTs cannot be forged from another site), and failures are
 * throttled per account and per client like console logins.  Refused
 * when the mailbox has disablepwdchange, is inactive, or its domain is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extmail_sql.h"
#include "log.h"
#include "pwhash.h"
#include "record.h"
#include "str.h"
#include "throttle.h"
#include "wa.h"
#include "webjson.h"
#include "xalloc.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 256

static _Thread_local struct wa_caller tl_self;

/* Common start: JSON content type, the body, the lower-cased user, the
   throttle.  Returns the parsed body or NULL after a reply. */
static json_t *begin(struct http_req *req, char **user_r)
{
	struct wa *wa = http_req_app(req);
	const char *ct = http_req_header(req, "Content-Type");
	*user_r = NULL;
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
		webjson_error(req, 415, "unsupported_media_type",
			      "send application/json", NULL);
		return NULL;
	}
	json_t *in = webjson_request(req);
	if (in == NULL)
		return NULL;
	const char *u = NULL;
	if (webjson_get_str(req, in, "user", true, EXTMAIL_ADDRESS_MAX, &u) <
	    0) {
		json_decref(in);
		return NULL;
	}
	*user_r = wa_lower(u);
	http_req_set_user(req, *user_r);
	if (wa_throttle_locked(wa->throttle, *user_r, http_req_client(req))) {
		webjson_error(req, 429, "throttled",
			      "too many failed attempts, try again later",
			      NULL);
		free(*user_r);
		*user_r = NULL;
		json_decref(in);
		return NULL;
	}
	memset(&tl_self, 0, sizeof tl_self);
	snprintf(tl_self.username, sizeof tl_self.username, "%s", *user_r);
	http_req_set_ctx(req, &tl_self);
	return in;
}

static int new_hash(struct http_req *req, json_t *in, char **hash_r)
{
	const char *pw = NULL;
	if (webjson_get_str(req, in, "new", true, PASSWORD_MAX, &pw) < 0)
		return -1;
	if (strlen(pw) < PASSWORD_MIN) {
		webjson_error(req, 400, "invalid", "new: at least 8 characters",
			      "new");
		return -1;
	}
	const char *err = NULL;
	*hash_r = pwhash_make(pw, "sha512-crypt", &err);
	if (*hash_r == NULL) {
		webjson_error(req, 500, "internal", "cannot hash", "new");
		return -1;
	}
	return 0;
}

/* The mailbox row joined with its domain's state, locked. */
static int load(struct http_req *req, struct sqlconn *c, const char *user,
		struct sqlresult *res)
{
	const char *args[1] = {user};
	return wa_q(req, c,
		    "SELECT m.password, m.active, m.disablepwdchange, "
		    "m.question, m.answer, d.active FROM mailbox m JOIN "
		    "domain d ON d.domain = m.domain WHERE m.username = ? "
		    "FOR UPDATE",
		    args, 1, res);
}

static void fail_auth(struct http_req *req, const char *user, const char *why)
{
	struct wa *wa = http_req_app(req);
	wa_throttle_fail(wa->throttle, user, http_req_client(req));
	log_info("webadmin: self-service refused: user=<%s>, rip=%s, "
		 "reason=%s",
		 user, http_req_client(req), why);
	webjson_error(req, 403, "refused",
		      "wrong account, password or answer, or changes are "
		      "disabled",
		      NULL);
}

/* The row load() gave: mailbox and domain active, and changes allowed
   (disablepwdchange not set). */
static bool changes_allowed(char **v)
{
	return v != NULL && v[1] != NULL && strcmp(v[1], "1") == 0 &&
	       v[5] != NULL && strcmp(v[5], "1") == 0 &&
	       !(v[2] != NULL && strcmp(v[2], "1") == 0);
}

/* Writes the new hash (row locked by load) and the audit row, commits,
   and replies 200: 0, or -1 after an error reply (rolling back is the
   caller's). */
static int store(struct http_req *req, struct sqlconn *c, const char *user,
		 const char *hash, const char *action)
{
	struct wa *wa = http_req_app(req);
	const char *args[2] = {hash, user};
	if (wa_q(req, c, "UPDATE mailbox SET password = ? WHERE username = ?",
		 args, 2, NULL) < 0 ||
	    wa_audit_commit(req, c, 0, action, user, NULL, NULL) < 0)
		return -1;
	wa_throttle_ok(wa->throttle, user);
	wa_authd_flush(wa, user);
	webjson_reply(req, 200, json_object());
	return 0;
}

/* The proof a change of password checks on the row load() gave (NULL:
   no such mailbox): NULL when it holds, or the reason logged. */
typedef const char *self_proof_fn(char **v, const char *proof);

/* POST {"user", proof_field, "new"}: the new password stored when the
   proof holds (check), audited as action. */
static void self_update(struct http_req *req, const char *proof_field,
			size_t proof_max, self_proof_fn *check,
			const char *action)
{
	char *user = NULL, *hash = NULL;
	json_t *in = begin(req, &user);
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	struct sqlconn *c = NULL;
	const char *proof = NULL;
	const char *const allowed[] = {"user", proof_field, "new", NULL};
	if (in == NULL || webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, proof_field, true, proof_max, &proof) <
		0 ||
	    new_hash(req, in, &hash) < 0)
		goto out;
	if ((c = wa_db(req)) == NULL || wa_begin(req, c) < 0)
		goto out;
	if (load(req, c, user, &res) < 0)
		goto rollback;
	const char *why =
	    check(res.nrows == 1 ? res.rows[0].cols : NULL, proof);
	if (why != NULL) {
		fail_auth(req, user, why);
		goto rollback;
	}
	if (store(req, c, user, hash, action) < 0)
		goto rollback;
	goto out;
rollback:
	sqlconn_rollback(c);
out:
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
	wa_secret_free(hash);
	free(user);
	json_decref(in);
}

/* the old password, and changes allowed */
static const char *old_password_proof(char **v, const char *old)
{
	if (v == NULL || v[0] == NULL ||
	    pwhash_verify(old, v[0], false) != PWHASH_MATCH)
		return v == NULL ? "unknown user" : "password mismatch";
	if (!changes_allowed(v))
		return "disabled";
	return NULL;
}

/* POST /api/self/password {"user", "old", "new"} */
void wa_self_password(struct http_req *req)
{
	self_update(req, "old", PASSWORD_MAX, old_password_proof,
		    "mailbox.self_password");
}

/* POST /api/self/question {"user"} -> {"question"}: only when a reset
   could succeed (active, changes allowed, a question and answer set);
   otherwise the same refusal as a wrong answer. */
void wa_self_question(struct http_req *req)
{
	char *user = NULL;
	json_t *in = begin(req, &user);
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	struct sqlconn *c = NULL;
	static const char *const allowed[] = {"user", NULL};
	if (in == NULL || webjson_only(req, in, allowed) < 0)
		goto out;
	if ((c = wa_db(req)) == NULL || wa_begin(req, c) < 0)
		goto out;
	if (load(req, c, user, &res) < 0)
		goto rollback;
	char **v = res.nrows == 1 ? res.rows[0].cols : NULL;
	if (!changes_allowed(v) || v[3] == NULL || v[3][0] == '\0' ||
	    v[4] == NULL || v[4][0] == '\0') {
		fail_auth(req, user, "no recovery question");
		goto rollback;
	}
	json_t *o = json_object();
	json_t *q = json_string(v[3]);
	json_object_set_new(o, "question", q != NULL ? q : json_string(""));
	sqlconn_rollback(c);
	webjson_reply(req, 200, o);
	goto out;
rollback:
	sqlconn_rollback(c);
out:
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
	free(user);
	json_decref(in);
}

/* the recovery answer, with changes allowed and an answer set */
static const char *answer_proof(char **v, const char *answer)
{
	bool usable = changes_allowed(v) && v[4] != NULL && v[4][0] != '\0';
	/* constant time over the stored answer's length */
	bool match = usable && strlen(answer) == strlen(v[4]) &&
		     str_secure_eq(answer, v[4], strlen(v[4]));
	if (!match)
		return usable ? "wrong answer" : "no reset";
	return NULL;
}

/* POST /api/self/reset {"user", "answer", "new"} */
void wa_self_reset(struct http_req *req)
{
	self_update(req, "answer", 255, answer_proof, "mailbox.self_reset");
}

/* POST /api/self/signup {"user": "local@domain", "password", "name"}:
   only with webadmin_signup = yes and the domain's can_signup; every
   attempt counts against the client's throttle, so one address cannot
   make mailboxes in bulk. */
void wa_self_signup(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	char *user = NULL, *hash = NULL;
	json_t *in = begin(req, &user);
	struct record m, d;
	rec_init(&m, extmail_mailbox_cols, wa_mailbox_fields);
	rec_init(&d, extmail_domain_cols, wa_mailbox_fields);
	struct sqlconn *c = NULL;
	const char *name = "";
	static const char *const allowed[] = {"user", "password", "name", NULL};
	if (in == NULL)
		goto out;
	if (!wa->signup) {
		webjson_error(req, 403, "disabled", "signup is disabled", NULL);
		goto out;
	}
	/* each attempt counts: signups are rate-limited per client */
	wa_throttle_fail(wa->throttle, "", http_req_client(req));
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "name", false, 255, &name) < 0)
		goto out;
	json_object_set_new(in, "new",
			    json_incref(json_object_get(in, "password")));
	if (json_object_get(in, "new") == NULL ||
	    json_is_null(json_object_get(in, "new"))) {
		webjson_error(req, 400, "invalid", "password: required",
			      "password");
		goto out;
	}
	if (new_hash(req, in, &hash) < 0)
		goto out;
	char *at = strrchr(user, '@');
	if (at == NULL || at == user) {
		webjson_error(req, 400, "invalid", "user: local@domain",
			      "user");
		goto out;
	}
	*at = '\0';
	const char *local = user, *domain = at + 1;
	if (!extmail_local_valid(local) || !extmail_domain_valid(domain)) {
		webjson_error(req, 400, "invalid", "user: local@domain",
			      "user");
		goto out;
	}
	if ((c = wa_db(req)) == NULL || wa_begin(req, c) < 0)
		goto out;
	const char *dargs[1] = {domain};
	int found = wa_lock_domain(req, c, domain, &d, false);
	if (found < 0)
		goto rollback;
	if (found == 0 || rec_int(&d, "can_signup") != 1 ||
	    rec_int(&d, "active") != 1) {
		webjson_error(req, 403, "disabled",
			      "this domain does not take signups", "user");
		goto rollback;
	}
	int64_t users = 0, exists = 0;
	char address[EXTMAIL_ADDRESS_MAX + 2];
	snprintf(address, sizeof address, "%s@%s", local, domain);
	const char *aargs[2] = {address, address};
	if (wa_q_int(req, c, "SELECT COUNT(*) FROM mailbox WHERE domain = ?",
		     dargs, 1, &users) < 0 ||
	    wa_q_int(req, c,
		     "SELECT (SELECT COUNT(*) FROM mailbox WHERE username = ?) "
		     "+ (SELECT COUNT(*) FROM alias WHERE address = ?)",
		     aargs, 2, &exists) < 0)
		goto rollback;
	if (exists > 0) {
		webjson_error(req, 409, "exists", "this address is taken",
			      "user");
		goto rollback;
	}
	int64_t maxusers = rec_int(&d, "maxusers");
	if (maxusers > 0 && users + 1 > maxusers) {
		webjson_error(req, 422, "limit", "the domain is full",
			      "maxusers");
		goto rollback;
	}
	wa_mailbox_defaults(&m, &d, local, domain);
	rec_set(&m, "password", hash);
	rec_set(&m, "expiredate", rec_get(&d, "expiredate")); /* as ExtMan */
	if (name[0] != '\0')
		rec_set(&m, "name", name);
	uint64_t maxq = rec_quota(&d, "maxquota");
	uint64_t q = rec_quota(&m, "quota");
	if (maxq > 0) {
		int64_t sum = 0;
		if (wa_q_int(req, c,
			     "SELECT COALESCE(SUM(CAST(quota AS UNSIGNED)), 0) "
			     "FROM mailbox WHERE domain = ?",
			     dargs, 1, &sum) < 0)
			goto rollback;
		if (q == 0 || (uint64_t)sum + q > maxq) {
			webjson_error(req, 422, "limit", "the domain is full",
				      "quota");
			goto rollback;
		}
	}
	json_t *after = rec_json(&m);
	int rc = wa_q(req, c,
		      "INSERT INTO mailbox (" EXTMAIL_MAILBOX_SELECT
		      ") VALUES (" EXTMAIL_MAILBOX_MARKS ")",
		      rec_args(&m), m.n, NULL);
	rc =
	    wa_audit_commit(req, c, rc, "mailbox.signup", address, NULL, after);
	if (rc < 0) {
		json_decref(after);
		goto rollback;
	}
	wa_authd_flush(wa, address);
	webjson_reply(req, 201, after);
	goto out;
rollback:
	sqlconn_rollback(c);
out:
	wa_db_put(req, &c, false);
	rec_deinit(&m);
	rec_deinit(&d);
	wa_secret_free(hash);
	free(user);
	json_decref(in);
}
