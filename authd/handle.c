/*
 * Request handling for youju-authd (see handle.h), on worker threads.
 *
 * Caches: the users cache holds whole mailbox rows (hash included) keyed by
 * the lower-cased login, so PRE, AUTH and LOOKUP user share one SQL round
 * trip per authd_cache_ttl; the lookups cache holds finished LOOKUP
 * replies.  Successful password checks are remembered for the same TTL in
 * credcache (saslauthd -c), keyed to the stored hash, so a re-login with
 * the same password skips crypt(3) and a changed hash or another password
 * runs it; failures always run it.  A PASSWD drops the user's entry at once;
 * edits made in SQL by other tools are seen within the TTL (negative TTL for
 * rows that did not exist).
 *
 * Courier compatibility notes: PRE returns PASSWD (and PASSWD2 from a
 * configured clear column); AUTH login echoes the password as PASSWD2; the
 * CRAM reply has no NAME, QUOTA or PASSWD (as captured from authdaemond);
 * PASSWD answers FAIL even on a temporary failure, as courier does.
 */
#include "handle.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "credcache.h"
#include "db.h"
#include "directory.h"
#include "generation.h"
#include "lanes.h"
#include "log.h"
#include "md5crypt_batch.h"
#include "pwhash.h"
#include "resolve.h"
#include "sqlmap.h"
#include "str.h"
#include "xalloc.h"

#define CACHE_MAX_ENTRIES 100000
/* how long a MAPLOOKUP waits for a pooled connection (as db.c) */
#define MAP_POOL_WAIT_MS 3000

static struct cache *users_cache;
static struct cache *lookups_cache;

static void *user_dup(const void *v)
{
	return authd_user_dup(v);
}

static void user_free(void *v)
{
	authd_user_free(v);
	free(v);
}

static const struct cache_ops user_ops = {user_dup, user_free};

void authd_handle_init(void)
{
	users_cache = cache_new(CACHE_MAX_ENTRIES, &user_ops);
	lookups_cache = cache_new(CACHE_MAX_ENTRIES, &cache_string_ops);
	if (credcache_init() < 0)
		log_warning("authd: no random key: credentials cache off");
}

void authd_handle_deinit(void)
{
	cache_free(&users_cache);
	cache_free(&lookups_cache);
	credcache_deinit();
}

void authd_handle_clear_caches(void)
{
	cache_clear(users_cache);
	cache_clear(lookups_cache);
	credcache_clear();
	/* after the clearing: an answer read under the new generation
	   cannot come from the old entries */
	authd_gen_bump();
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct authd_job *authd_job_new(struct authd_request *req,
				struct authd_cfg *cfg)
{
	struct authd_job *j = xcalloc(1, sizeof(*j));
	j->req = *req;
	memset(req, 0, sizeof(*req));
	authd_cfg_ref(cfg);
	j->cfg = cfg;
	buf_init(&j->reply, AUTHD_REPLY_MAX);
	j->reply_fd = -1;
	atomic_init(&j->reply_fd_state, 0);
	return j;
}

void authd_job_free(struct authd_job **jp)
{
	struct authd_job *j = *jp;
	if (j == NULL)
		return;
	authd_request_free(&j->req);
	/* a parked AUTH's row and hash, when it was cancelled before its
	   check (workq_free at shutdown): freed and wiped here */
	authd_user_free(&j->lookup_user);
	explicit_bzero(j->lookup.md5, sizeof(j->lookup.md5));
	buf_wipe(&j->reply); /* may hold PASSWD2 */
	buf_deinit(&j->reply);
	authd_cfg_unref(&j->cfg);
	free(j);
	*jp = NULL;
}

int authd_login_name(const struct authd_cfg *cfg, const char *user, char *out,
		     size_t outsz)
{
	const char *dd = cfg->default_domain;
	int n;
	if (strchr(user, '@') == NULL && dd != NULL && dd[0] != '\0')
		n = snprintf(out, outsz, "%s@%s", user, dd);
	else
		n = snprintf(out, outsz, "%s", user);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static void cache_key(char *out, size_t outsz, const char *prefix,
		      const char *name)
{
	int n = snprintf(out, outsz, "%s%s", prefix, name);
	if (n < 0 || (size_t)n >= outsz)
		out[0] = '\0';
	/* MySQL's default collations compare without case */
	str_lower(out);
}

/* The users cache's answer for login: a hit fills *u_r (free with
   authd_user_free). */
static enum cache_result user_cached(const char *login, uint64_t now,
				     struct authd_user *u_r)
{
	char key[600];
	cache_key(key, sizeof(key), "u:", login);
	void *v = NULL;
	enum cache_result cr = cache_get(users_cache, key, now, &v);
	if (cr == CACHE_HIT) {
		*u_r = *(struct authd_user *)v;
		free(v);
	}
	return cr;
}

/* Remembers the database's answer for login, asked at now. */
static void user_store(const struct authd_cfg *cfg, const char *login,
		       enum authd_status st, const struct authd_user *u,
		       uint64_t now)
{
	char key[600];
	cache_key(key, sizeof(key), "u:", login);
	if (st == AUTHD_FOUND)
		cache_put(users_cache, key, u, cfg->cache_ttl_ms, now);
	else if (st == AUTHD_NOTFOUND)
		cache_put(users_cache, key, NULL, cfg->neg_ttl_ms, now);
}

/* The user row of login, through the cache.  password: AUTH login's (its
   "$1$" check may be computed with the row: authd_db_user), or NULL. */
static enum authd_status get_user(struct authd_cfg *cfg, const char *login,
				  const char *password, struct authd_user *u_r)
{
	uint64_t now = now_ms();
	enum cache_result cr = user_cached(login, now, u_r);
	if (cr == CACHE_HIT)
		return AUTHD_FOUND;
	if (cr == CACHE_NEGATIVE)
		return AUTHD_NOTFOUND;
	enum authd_status st = authd_db_user(cfg, login, password, u_r);
	user_store(cfg, login, st, u_r, now);
	return st;
}

static void forget_user(const char *login)
{
	char key[600];
	cache_key(key, sizeof(key), "u:", login);
	cache_del(users_cache, key);
	cache_clear(lookups_cache);
	authd_gen_bump(); /* the clients' copies go too */
}

static void reply_fail(struct authd_job *j, const char *reason, bool login)
{
	buf_reset(&j->reply);
	if (buf_append_str(&j->reply, "FAIL\n") < 0)
		j->tempfail = true;
	j->reason = reason;
	j->login_failed = login;
}

static void tempfail(struct authd_job *j, const char *reason)
{
	buf_reset(&j->reply);
	j->tempfail = true;
	j->reason = reason;
}

static const char *unusable_reason(const struct authd_user *u)
{
	if (!u->mailbox_active)
		return "account disabled";
	if (!u->domain_active)
		return "domain disabled";
	return "account expired";
}

/* Services whose disable* switch authd enforces itself: Cyrus SASL never
   looks at OPTIONS, so "SASL auth off" (disablesmtpd) must be applied
   here; the others are applied here too as defence in depth. */
static bool service_disabled(const struct authd_user *u, const char *svc)
{
	static const struct {
		const char *svc;
		unsigned bit;
	} map[] = {
	    {"smtp", AUTHD_DIS_SMTPD},	    {"smtps", AUTHD_DIS_SMTPD},
	    {"esmtp", AUTHD_DIS_SMTPD},	    {"submission", AUTHD_DIS_SMTPD},
	    {"imap", AUTHD_DIS_IMAP},	    {"imaps", AUTHD_DIS_IMAP},
	    {"pop3", AUTHD_DIS_POP3},	    {"pop3s", AUTHD_DIS_POP3},
	    {"webmail", AUTHD_DIS_WEBMAIL},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i].svc, svc) == 0)
			return (u->disabled & map[i].bit) != 0;
	}
	return false;
}

/* Checks password against the row: the crypt column when it is set
   (authmysql: a non-empty crypt value wins), else the clear column. */
static bool password_ok(const struct authd_cfg *cfg, const struct authd_user *u,
			const char *password, const char **reason_r)
{
	*reason_r = "password mismatch";
	if (password == NULL || password[0] == '\0')
		return false;
	if (u->passwd != NULL && u->passwd[0] != '\0') {
		uint64_t now = now_ms();
		if (u->address != NULL &&
		    credcache_check(u->address, u->passwd, password, now))
			return true;
		enum pwhash_result r =
		    pwhash_verify(password, u->passwd, cfg->plain_fallback);
		if (r == PWHASH_UNSUPPORTED)
			*reason_r = "unsupported password scheme";
		if (r == PWHASH_MATCH && u->address != NULL)
			credcache_remember(u->address, u->passwd, password,
					   cfg->cache_ttl_ms, now);
		return r == PWHASH_MATCH;
	}
	if (u->clearpw != NULL && u->clearpw[0] != '\0') {
		size_t a = strlen(password), b = strlen(u->clearpw);
		return a == b && str_secure_eq(password, u->clearpw, a);
	}
	*reason_r = "no password stored";
	return false;
}

int authd_cram_hmac(enum authd_authtype t, const char *key,
		    const unsigned char *challenge, size_t clen, char *hex)
{
	const EVP_MD *md = t == AUTHD_AUTH_CRAM_MD5	 ? EVP_md5()
			   : t == AUTHD_AUTH_CRAM_SHA1	 ? EVP_sha1()
			   : t == AUTHD_AUTH_CRAM_SHA256 ? EVP_sha256()
							 : NULL;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	if (md == NULL || HMAC(md, key, (int)strlen(key), challenge, clen, mac,
			       &maclen) == NULL)
		return -1;
	static const char digits[] = "0123456789abcdef";
	for (unsigned i = 0; i < maclen; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[2 * maclen] = '\0';
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

static void set_user(struct authd_job *j, const char *user)
{
	if (snprintf(j->user, sizeof(j->user), "%s", user) < 0)
		j->user[0] = '\0';
}

static void do_pre(struct authd_job *j)
{
	struct authd_cfg *cfg = j->cfg;
	char login[512];
	struct authd_user u;
	set_user(j, j->req.user);
	if (authd_login_name(cfg, j->req.user, login, sizeof(login)) < 0) {
		reply_fail(j, "login too long", false);
		return;
	}
	enum authd_status st = get_user(cfg, login, NULL, &u);
	if (st == AUTHD_TEMPFAIL) {
		tempfail(j, "database unavailable");
		return;
	}
	if (st == AUTHD_NOTFOUND) {
		reply_fail(j, "unknown user", false);
		return;
	}
	if (!authd_user_usable(&u)) {
		reply_fail(j, unusable_reason(&u), false);
	} else if (authd_reply_user(&j->reply, &u, u.clearpw, true, true, true,
				    cfg->default_options) < 0) {
		tempfail(j, "reply too long");
	}
	authd_user_free(&u);
}

/* The end of an AUTH once the password was checked (ok or not). */
static void auth_reply(struct authd_job *j, const struct authd_user *u, bool ok,
		       const char *reason, bool cram)
{
	if (!ok) {
		reply_fail(j, reason, true);
	} else if (!authd_user_usable(u)) {
		reply_fail(j, unusable_reason(u), true);
		j->refusal = "inactive";
	} else if (service_disabled(u, j->req.service)) {
		reply_fail(j, "service disabled for this account", true);
		j->refusal = "disabled";
	} else if (authd_reply_user(&j->reply, u, cram ? NULL : j->req.password,
				    !cram, !cram, !cram,
				    j->cfg->default_options) < 0) {
		tempfail(j, "reply too long");
	}
}

/* The rest of an AUTH once its user row is known (st; u on AUTHD_FOUND,
   freed here): the password or CRAM check and the reply. */
static void auth_check(struct authd_job *j, enum authd_status st,
		       struct authd_user *u)
{
	const char *reason = NULL;
	bool cram = j->req.authtype != AUTHD_AUTH_LOGIN;
	if (st == AUTHD_TEMPFAIL) {
		tempfail(j, "database unavailable");
		return;
	}
	if (st == AUTHD_NOTFOUND) {
		reply_fail(j, "unknown user", true);
		return;
	}
	bool ok;
	if (cram) {
		char cuser[512], digest[256];
		unsigned char ch[1024];
		char want[2 * EVP_MAX_MD_SIZE + 1];
		/* decoded again: do_auth's copy is gone when the job was
		   parked, and this is cheaper than keeping it in the job */
		long cl = authd_b64_decode(j->req.challenge, ch, sizeof(ch));
		ok = authd_cram_decode(j->req.response, cuser, sizeof(cuser),
				       digest, sizeof(digest)) == 0 &&
		     cl > 0 && u->clearpw != NULL && u->clearpw[0] != '\0' &&
		     authd_cram_hmac(j->req.authtype, u->clearpw, ch,
				     (size_t)cl, want) == 0 &&
		     strlen(want) == strlen(digest) &&
		     str_secure_eq(want, digest, strlen(want));
		reason = "password mismatch";
		explicit_bzero(want, sizeof(want));
		explicit_bzero(digest, sizeof(digest));
	} else {
		ok = password_ok(j->cfg, u, j->req.password, &reason);
	}
	auth_reply(j, u, ok, reason, cram);
	authd_user_free(u);
}

/* A parked AUTH's password check and reply, on whichever thread finishes
   it, with the hash its batch computed (if any) preset for exactly its
   pair: pwhash still compares it in constant time. */
static void auth_parked_finish(struct authd_job *j)
{
	struct authd_user_lookup *l = &j->lookup;
	if (l->md5[0] != '\0' && l->st == AUTHD_FOUND)
		md5crypt_batch_preset(j->req.password, j->lookup_user.passwd,
				      l->md5);
	explicit_bzero(l->md5, sizeof(l->md5));
	auth_check(j, l->st, &j->lookup_user);
	md5crypt_batch_done(); /* drops the preset if unused */
}

static struct authd_job *job_of(struct authd_user_lookup *l)
{
	return (struct authd_job *)((char *)l -
				    offsetof(struct authd_job, lookup));
}

/* A parked AUTH whose check the hash stage computed (authd/lanes.h), on
   one of its threads. */
static void auth_hashed(struct authd_user_lookup *l)
{
	struct authd_job *j = job_of(l);
	auth_parked_finish(j);
	j->complete(j);
}

/* The continuation of a parked AUTH's lookup (authd_db_user_async), on the
   thread that ran its batch.  A "$1$" check goes to the hash stage
   (authd/lanes.h), which computes it with others in vector lanes while
   this thread runs the next batch's query.  A password that still needs a
   hash of its own goes back to a worker, so that one thread does not hash
   a whole batch's one by one; everything else is a compare and a reply,
   finished here. */
static void auth_looked_up(struct authd_user_lookup *l, bool own)
{
	struct authd_job *j = job_of(l);
	const struct authd_user *u = &j->lookup_user;
	user_store(j->cfg, j->lookup_login, l->st, u, j->lookup_now);
	if (l->password != NULL) {
		/* told to the stage when it was parked (auth_expect) */
		l->hashed = auth_hashed;
		if (authd_lanes_add(l, j->cfg->md5crypt_batch))
			return; /* not ours any more */
	}
	if (!own && l->st == AUTHD_FOUND && l->md5[0] == '\0' &&
	    j->req.authtype == AUTHD_AUTH_LOGIN && j->req.password != NULL &&
	    j->req.password[0] != '\0' && u->passwd != NULL &&
	    u->passwd[0] != '\0' && j->resume(j) == 0)
		return;
	auth_parked_finish(j);
	j->complete(j);
}

void authd_handle_resumed(struct authd_job *j)
{
	auth_parked_finish(j);
}

enum auth_prep {
	PREP_ANSWERED, /* refused before any lookup: results set */
	PREP_ROW,      /* the users cache answered: *st_r, *u_r */
	PREP_LOOKUP,   /* the row must come from the database */
};

/* The start of an AUTH, up to its user row: the CRAM response, the login
   name (j->lookup_login) and the users cache (asked at *now_r).  Cheap
   enough for the event loop's thread; repeating it changes nothing. */
static enum auth_prep auth_prepare(struct authd_job *j, enum authd_status *st_r,
				   struct authd_user *u_r, uint64_t *now_r)
{
	struct authd_cfg *cfg = j->cfg;
	char cuser[512], digest[256];
	const char *user = j->req.user;

	j->login = true;
	if (j->req.authtype != AUTHD_AUTH_LOGIN) {
		if (cfg->clear_pwfield[0] == '\0') {
			reply_fail(j, "CRAM needs authd_clear_pwfield", false);
			return PREP_ANSWERED;
		}
		if (j->req.response == NULL ||
		    authd_cram_decode(j->req.response, cuser, sizeof(cuser),
				      digest, sizeof(digest)) < 0) {
			reply_fail(j, "malformed CRAM response", true);
			return PREP_ANSWERED;
		}
		explicit_bzero(digest, sizeof(digest));
		user = cuser;
	}
	set_user(j, user);
	if (authd_login_name(cfg, user, j->lookup_login,
			     sizeof(j->lookup_login)) < 0) {
		reply_fail(j, "login too long", true);
		return PREP_ANSWERED;
	}
	*now_r = now_ms();
	switch (user_cached(j->lookup_login, *now_r, u_r)) {
	case CACHE_HIT:
		*st_r = AUTHD_FOUND;
		return PREP_ROW;
	case CACHE_NEGATIVE:
		*st_r = AUTHD_NOTFOUND;
		return PREP_ROW;
	default:
		return PREP_LOOKUP;
	}
}

/* Sets up j->lookup for a batched user lookup (authd_db_user_async or
   authd_db_user_try_park). */
static void auth_lookup_init(struct authd_job *j, uint64_t now)
{
	j->lookup = (struct authd_user_lookup){
	    .login = j->lookup_login,
	    .password =
		j->req.authtype == AUTHD_AUTH_LOGIN ? j->req.password : NULL,
	    .u = &j->lookup_user,
	    .done = auth_looked_up};
	j->lookup_now = now;
}

/* A parked AUTH with a password: its check will come to the hash stage
   (authd/lanes.h), which waits for it rather than evaluate without it;
   auth_looked_up tells the stage when its lookup is back. */
static void auth_expect(struct authd_job *j)
{
	if (j->lookup.password != NULL)
		authd_lanes_expect();
}

/* The same, for an AUTH that was not parked after all. */
static void auth_unexpect(struct authd_job *j)
{
	if (j->lookup.password != NULL)
		(void)authd_lanes_add(&j->lookup, false);
}

/* Returns false when the job was parked (see authd_handle). */
static bool do_auth(struct authd_job *j)
{
	struct authd_cfg *cfg = j->cfg;
	struct authd_user u;
	enum authd_status st = AUTHD_TEMPFAIL;
	uint64_t now = 0;

	switch (auth_prepare(j, &st, &u, &now)) {
	case PREP_ANSWERED:
		return true;
	case PREP_ROW:
		break;
	case PREP_LOOKUP:
		if (cfg->user_gather != NULL && j->park != NULL) {
			/* the worker goes on with other jobs meanwhile */
			auth_lookup_init(j, now);
			j->park(j);
			auth_expect(j);
			authd_db_user_async(cfg, &j->lookup);
			return false;
		}
		st = authd_db_user(cfg, j->lookup_login,
				   j->req.authtype == AUTHD_AUTH_LOGIN
				       ? j->req.password
				       : NULL,
				   &u);
		user_store(cfg, j->lookup_login, st, &u, now);
		break;
	}
	auth_check(j, st, &u);
	return true;
}

enum authd_park authd_handle_park_prepare(struct authd_job *j)
{
	struct authd_user u;
	enum authd_status st = AUTHD_TEMPFAIL;
	uint64_t now = 0;
	if (j->req.cmd != AUTHD_CMD_AUTH || j->cfg->user_gather == NULL)
		return AUTHD_PARK_NO;
	switch (auth_prepare(j, &st, &u, &now)) {
	case PREP_ANSWERED:
		return AUTHD_PARK_ANSWERED;
	case PREP_ROW:
		if (st == AUTHD_NOTFOUND) {
			auth_check(j, st, &u); /* "unknown user": no hash */
			return AUTHD_PARK_ANSWERED;
		}
		authd_user_free(&u); /* the check needs a worker */
		return AUTHD_PARK_NO;
	case PREP_LOOKUP:
		break;
	}
	auth_lookup_init(j, now);
	return AUTHD_PARK_READY;
}

bool authd_handle_park(struct authd_job *j)
{
	auth_expect(j);
	if (authd_db_user_try_park(j->cfg, &j->lookup))
		return true;
	/* not parked: do_auth tells it again */
	auth_unexpect(j);
	return false;
}

static bool lookup_cached(struct authd_job *j, char *arg, size_t argsz,
			  char *key, size_t keysz, uint64_t *ttl_r);
static void reply_ttl(struct authd_job *j, uint64_t ttl_ms);

/* The hot path of a busy server with the cache on: an MUA or SMTP client
   logging in again.  Exactly what do_auth does for a cached row and
   remembered credentials, minus the hand-off to a worker thread (two
   thread wake-ups and an eventfd round trip, more than the work itself). */
bool authd_handle_fast(struct authd_job *j)
{
	struct authd_cfg *cfg = j->cfg;
	char login[512], key[600];
	if (j->req.cmd == AUTHD_CMD_LOOKUP) {
		/* the MTA's three or four per message (recipient, domain),
		   answered from the lookups cache without a worker */
		char arg[512];
		uint64_t ttl;
		if (!lookup_cached(j, arg, sizeof(arg), key, sizeof(key), &ttl))
			return false;
		reply_ttl(j, ttl);
		return true;
	}
	if (j->req.cmd != AUTHD_CMD_AUTH ||
	    j->req.authtype != AUTHD_AUTH_LOGIN || cfg->cache_ttl_ms == 0 ||
	    j->req.password == NULL || j->req.password[0] == '\0' ||
	    authd_login_name(cfg, j->req.user, login, sizeof(login)) < 0)
		return false;
	cache_key(key, sizeof(key), "u:", login);
	void *v = NULL;
	uint64_t now = now_ms();
	if (cache_get(users_cache, key, now, &v) != CACHE_HIT)
		return false;
	struct authd_user *u = v;
	bool hit = u->passwd != NULL && u->passwd[0] != '\0' &&
		   u->address != NULL &&
		   credcache_check(u->address, u->passwd, j->req.password, now);
	if (hit) {
		j->login = true;
		set_user(j, j->req.user);
		auth_reply(j, u, true, NULL, false);
	}
	user_free(u);
	return hit;
}

static void do_passwd(struct authd_job *j)
{
	struct authd_cfg *cfg = j->cfg;
	char login[512];
	const char *reason = NULL, *err = NULL;
	struct authd_user u;

	j->login = true;
	set_user(j, j->req.user);
	if (authd_login_name(cfg, j->req.user, login, sizeof(login)) < 0) {
		reply_fail(j, "login too long", true);
		return;
	}
	enum authd_status st = get_user(cfg, login, NULL, &u);
	if (st != AUTHD_FOUND) {
		/* courier answers FAIL even for a temporary failure */
		reply_fail(j,
			   st == AUTHD_TEMPFAIL ? "database unavailable"
						: "unknown user",
			   st == AUTHD_NOTFOUND);
		return;
	}
	if (!password_ok(cfg, &u, j->req.password, &reason)) {
		reply_fail(j, reason, true);
	} else if (!authd_user_usable(&u)) {
		reply_fail(j, unusable_reason(&u), true);
	} else if (u.pwchange_disabled) {
		reply_fail(j, "password change disabled", false);
	} else if (j->req.newpassword[0] == '\0') {
		reply_fail(j, "empty new password", false);
	} else {
		char *h =
		    pwhash_make(j->req.newpassword, cfg->password_scheme, &err);
		if (h == NULL) {
			log_error("authd: cannot hash a password with %s: %s",
				  cfg->password_scheme, err ? err : "?");
			reply_fail(j, "hashing failed", false);
		} else {
			/* the clear column is written only where the operator
			   configured one, as courier's authmysql does */
			st = authd_db_set_password(cfg, u.address, h,
						   j->req.newpassword);
			explicit_bzero(h, strlen(h));
			free(h);
			forget_user(login);
			if (st == AUTHD_FOUND) {
				if (buf_append_str(&j->reply, "OK\n") < 0)
					j->tempfail = true;
				j->reason = "password changed";
			} else {
				reply_fail(j,
					   st == AUTHD_TEMPFAIL
					       ? "database unavailable"
					       : "no row updated",
					   false);
			}
		}
	}
	authd_user_free(&u);
}

static int enum_cb(const struct authd_user *u, void *ctx)
{
	struct authd_job *j = ctx;
	return authd_reply_enum(&j->reply, u, j->cfg->default_options);
}

static void do_enumerate(struct authd_job *j)
{
	if (buf_append_str(&j->reply, "# authmysql\n\n") < 0) {
		tempfail(j, "reply too long");
		return;
	}
	enum authd_status st = authd_db_enumerate(j->cfg, enum_cb, j);
	if (st != AUTHD_FOUND) {
		/* the rows come in one result set, so a failure comes before
		   any record: nothing to flush, close without a reply */
		tempfail(j, "enumeration failed");
		return;
	}
	if (buf_append_str(&j->reply, ".\n") < 0)
		tempfail(j, "reply too long");
}

/* ---- LOOKUP ---- */

static int reply_user_lookup(struct buf *out, const struct authd_user *u,
			     const char *defaults)
{
	struct buf opts, merged;
	int rc = -1;
	buf_init(&opts, 4096);
	buf_init(&merged, 4096);
	if (authd_reply_kv(out, "ADDRESS", u->address) < 0 ||
	    buf_printf(out, "UID=%lu\nGID=%lu\n", u->uid, u->gid) < 0 ||
	    authd_reply_kv(out, "HOME", u->home) < 0 ||
	    authd_reply_kv(out, "MAILDIR", u->maildir) < 0 ||
	    authd_reply_kv(out, "QUOTA", u->quota) < 0 ||
	    authd_reply_kv(out, "NAME", u->name) < 0 ||
	    buf_printf(out, "ACTIVE=%d\nDISABLEPWDCHANGE=%d\n",
		       authd_user_usable(u), u->pwchange_disabled) < 0 ||
	    authd_user_options(u, &opts) < 0 ||
	    authd_options_merge(buf_cstr(&opts), defaults, &merged) < 0 ||
	    authd_reply_kv(out, "OPTIONS", buf_cstr(&merged)) < 0 ||
	    buf_append_str(out, ".\n") < 0)
		goto out;
	rc = 0;
out:
	buf_deinit(&opts);
	buf_deinit(&merged);
	return rc;
}

/* The resolver's context for one LOOKUP rcpt: the configuration, and the
   transport column of the address's own domain, read by the first domain
   query of the walk (the reply carries it: DOMAIN_TRANSPORT). */
struct rcpt_walk {
	struct authd_cfg *cfg;
	bool domain_seen;
	char *transport; /* owned; NULL: none */
};

static enum authd_status r_alias(void *ctx, const char *a, char **g)
{
	struct rcpt_walk *w = ctx;
	return authd_db_alias(w->cfg, a, g);
}

static enum authd_status r_mailbox(void *ctx, const char *a)
{
	struct rcpt_walk *w = ctx;
	struct authd_user u;
	enum authd_status st = get_user(w->cfg, a, NULL, &u);
	if (st == AUTHD_FOUND) {
		if (!authd_user_usable(&u))
			st = AUTHD_NOTFOUND;
		authd_user_free(&u);
	}
	return st;
}

static enum authd_status r_domain(void *ctx, const char *d)
{
	struct rcpt_walk *w = ctx;
	bool active = false;
	/* the walk starts with the address's own domain */
	bool first = !w->domain_seen;
	w->domain_seen = true;
	enum authd_status st =
	    authd_db_domain(w->cfg, d, &active, first ? &w->transport : NULL);
	if (st == AUTHD_FOUND && !active)
		st = AUTHD_NOTFOUND;
	return st;
}

static const struct resolve_ops rops = {r_alias, r_mailbox, r_domain};

/* Builds the reply of one LOOKUP into j->reply (FAIL / tempfail set). */
static void lookup_uncached(struct authd_job *j, const char *arg)
{
	struct authd_cfg *cfg = j->cfg;
	enum authd_status st;
	switch (j->req.lookup) {
	case AUTHD_LOOKUP_USER: {
		struct authd_user u;
		st = get_user(cfg, arg, NULL, &u);
		if (st == AUTHD_FOUND) {
			if (reply_user_lookup(&j->reply, &u,
					      cfg->default_options) < 0)
				st = AUTHD_TEMPFAIL;
			authd_user_free(&u);
		}
		break;
	}
	case AUTHD_LOOKUP_DOMAIN: {
		bool active;
		char *transport = NULL;
		st = authd_db_domain(cfg, arg, &active, &transport);
		if (st == AUTHD_FOUND &&
		    (authd_reply_kv(&j->reply, "DOMAIN", arg) < 0 ||
		     buf_printf(&j->reply, "ACTIVE=%d\n", active) < 0 ||
		     (transport != NULL &&
		      authd_reply_kv(&j->reply, "TRANSPORT", transport) < 0) ||
		     buf_append_str(&j->reply, ".\n") < 0))
			st = AUTHD_TEMPFAIL;
		free(transport);
		break;
	}
	case AUTHD_LOOKUP_QUOTA: {
		struct authd_quota q;
		st = authd_db_quota(cfg, arg, &q);
		if (st == AUTHD_FOUND &&
		    (authd_reply_kv(&j->reply, "DOMAIN", arg) < 0 ||
		     buf_printf(&j->reply,
				"ACTIVE=%d\nMAXQUOTA=%llu\nMAXUSERS=%llu\n"
				"MAXALIAS=%llu\nUSERS=%llu\nQUOTASUM=%llu\n"
				"ALIASES=%llu\n.\n",
				q.active, (unsigned long long)q.maxquota,
				(unsigned long long)q.maxusers,
				(unsigned long long)q.maxalias,
				(unsigned long long)q.users,
				(unsigned long long)q.quota_sum,
				(unsigned long long)q.aliases) < 0))
			st = AUTHD_TEMPFAIL;
		break;
	}
	case AUTHD_LOOKUP_DIRECTORY:
		st = authd_directory(cfg, arg, &j->reply);
		break;
	case AUTHD_LOOKUP_RCPT:
	default: {
		struct resolve_result r;
		struct rcpt_walk w = {cfg, false, NULL};
		st = resolve_rcpt(&rops, &w, arg, cfg->alias_max_depth, &r);
		/* the domain's transport column, empty when none: the queue
		   manager routes with it and needs no LOOKUP domain of its
		   own (docs/authd-protocol.md) */
		const char *dt = w.transport != NULL ? w.transport : "";
		if (st == AUTHD_TEMPFAIL && r.error != NULL) {
			char esc[300];
			log_warning(
			    "authd: lookup rcpt %s: %s",
			    log_escape(esc, sizeof(esc), arg, strlen(arg)),
			    r.error);
		}
		if (st == AUTHD_FOUND && !r.is_alias) {
			struct authd_user u;
			st = get_user(cfg, r.targets[0].address, NULL, &u);
			if (st == AUTHD_FOUND) {
				if (buf_append_str(&j->reply,
						   "TYPE=mailbox\n") < 0 ||
				    authd_reply_kv(&j->reply,
						   "DOMAIN_TRANSPORT",
						   dt) < 0 ||
				    reply_user_lookup(&j->reply, &u,
						      cfg->default_options) < 0)
					st = AUTHD_TEMPFAIL;
				authd_user_free(&u);
			}
		} else if (st == AUTHD_FOUND) {
			static const char *const key[] = {"MAILBOX", "REMOTE",
							  "UNKNOWN"};
			if (buf_append_str(&j->reply, "TYPE=alias\n") < 0 ||
			    authd_reply_kv(&j->reply, "DOMAIN_TRANSPORT", dt) <
				0 ||
			    authd_reply_kv(&j->reply, "ADDRESS", arg) < 0)
				st = AUTHD_TEMPFAIL;
			for (size_t i = 0; st == AUTHD_FOUND && i < r.n; i++) {
				if (authd_reply_kv(&j->reply,
						   key[r.targets[i].kind],
						   r.targets[i].address) < 0)
					st = AUTHD_TEMPFAIL;
			}
			if (st == AUTHD_FOUND &&
			    buf_append_str(&j->reply, ".\n") < 0)
				st = AUTHD_TEMPFAIL;
		}
		resolve_result_free(&r);
		free(w.transport);
		break;
	}
	}
	if (st == AUTHD_TEMPFAIL)
		tempfail(j, "lookup failed");
	else if (st == AUTHD_NOTFOUND)
		reply_fail(j, "not found", false);
}

/*
 * The start of every LOOKUP: the lower-cased argument into arg and the
 * lookups cache's key into key.  True when the request is answered
 * already (a cache hit, a cached "not found", a bad argument); false when
 * the directory must be asked (lookup_uncached, then lookup_store).
 */
static bool lookup_cached(struct authd_job *j, char *arg, size_t argsz,
			  char *key, size_t keysz, uint64_t *ttl_r)
{
	*ttl_r = 0;
	set_user(j, j->req.user);
	if (snprintf(arg, argsz, "%s", j->req.user) >= (int)argsz) {
		reply_fail(j, "argument too long", false);
		return true;
	}
	str_lower(arg);
	key[0] = '\0';
	if (j->req.lookup == AUTHD_LOOKUP_USER)
		return false; /* straight from the users cache */
	int n = snprintf(key, keysz, "%s:%s", authd_lookup_name(j->req.lookup),
			 arg);
	if (n < 0 || (size_t)n >= keysz) {
		reply_fail(j, "argument too long", false);
		return true;
	}
	void *v = NULL;
	enum cache_result cr =
	    cache_get_left(lookups_cache, key, now_ms(), &v, ttl_r);
	if (cr == CACHE_HIT) {
		if (buf_append_str(&j->reply, v) < 0)
			tempfail(j, "reply too long");
		free(v);
		return true;
	}
	if (cr == CACHE_NEGATIVE) {
		reply_fail(j, "not found", false);
		return true;
	}
	return false;
}

/*
 * REUSE=1 (lib/authc_cache, youju's own clients): the reply goes out
 * after "TTL=<ms>\n", what is left of the cache entry it came from, so
 * the client keeps it exactly as long as this cache would have answered
 * it.  0 when nothing was cached, and whenever authd_cache_ttl is 0
 * (caching off: nothing is reused).  A FLUSH, PASSWD, reload or restart
 * cuts it short through the generation (generation.h).
 */
static void reply_ttl(struct authd_job *j, uint64_t ttl_ms)
{
	if (!j->req.reuse || j->tempfail)
		return;
	if (j->cfg->cache_ttl_ms == 0)
		ttl_ms = 0;
	struct buf b;
	buf_init(&b, AUTHD_REPLY_MAX);
	if (buf_printf(&b, "TTL=%llu\n", (unsigned long long)ttl_ms) < 0 ||
	    buf_append(&b, j->reply.p, j->reply.len) < 0) {
		buf_deinit(&b);
		tempfail(j, "reply too long");
		return;
	}
	buf_deinit(&j->reply);
	j->reply = b;
}

static void do_lookup(struct authd_job *j)
{
	struct authd_cfg *cfg = j->cfg;
	char arg[512], key[600];
	uint64_t ttl = 0;
	if (lookup_cached(j, arg, sizeof(arg), key, sizeof(key), &ttl)) {
		reply_ttl(j, ttl);
		return;
	}
	lookup_uncached(j, arg);
	if (j->tempfail || key[0] == '\0') {
		reply_ttl(j, 0); /* LOOKUP user: not from this cache */
		return;
	}
	uint64_t now = now_ms();
	if (strcmp(buf_cstr(&j->reply), "FAIL\n") == 0) {
		cache_put(lookups_cache, key, NULL, cfg->neg_ttl_ms, now);
		ttl = cfg->neg_ttl_ms;
	} else {
		cache_put(lookups_cache, key, buf_cstr(&j->reply),
			  cfg->cache_ttl_ms, now);
		ttl = cfg->cache_ttl_ms;
	}
	reply_ttl(j, ttl);
}

/* ---- MAPLOOKUP ---- */

/* Only tables named in youju.cf (cfg->maps) are run: the socket is open
   to the mail group, and a path from a client must never make authd read
   a file of its choosing. */
static void do_maplookup(struct authd_job *j)
{
	struct authd_cfg *cfg = j->cfg;
	const char *path = j->req.map, *key = j->req.user;
	const struct sqlmap *m = NULL;
	const char *why = NULL;
	char esc[300], pesc[300];
	set_user(j, key);
	log_escape(pesc, sizeof(pesc), path, strlen(path));
	int found = sqlmap_set_find(cfg->maps, path, &m, &why);
	if (found < 0) {
		log_warning("authd: maplookup: mysql:%s is not a table named "
			    "in youju.cf: refused",
			    pesc);
		tempfail(j, NULL);
		return;
	}
	if (found == 0) {
		log_warning("authd: maplookup: mysql:%s: %s", pesc,
			    why != NULL ? why : "unusable");
		tempfail(j, NULL);
		return;
	}
	struct buf ck;
	buf_init(&ck, AUTHD_MAP_PATH_MAX + AUTHD_MAP_KEY_MAX + 8);
	bool cacheable = buf_printf(&ck, "m:%s\n%s", path, key) == 0;
	uint64_t now = now_ms();
	void *v = NULL;
	enum cache_result cr =
	    cacheable ? cache_get(lookups_cache, buf_cstr(&ck), now, &v)
		      : CACHE_MISS;
	if (cr == CACHE_HIT) {
		if (buf_append_str(&j->reply, v) < 0)
			tempfail(j, "reply too long");
		free(v);
		buf_deinit(&ck);
		return;
	}
	if (cr == CACHE_NEGATIVE) {
		reply_fail(j, "not found", false);
		buf_deinit(&ck);
		return;
	}
	char val[SQLMAP_VALUE_MAX + 1];
	enum sqlmap_status st = sqlmap_lookup(m, cfg->pool, MAP_POOL_WAIT_MS,
					      key, val, sizeof(val), &why);
	if (st == SQLMAP_TEMPFAIL) {
		log_warning("authd: maplookup: mysql:%s, key <%s>: %s", pesc,
			    log_escape(esc, sizeof(esc), key, strlen(key)),
			    why != NULL ? why : "database unavailable");
		tempfail(j, NULL);
	} else if (st == SQLMAP_NOTFOUND) {
		reply_fail(j, "not found", false);
		if (cacheable)
			cache_put(lookups_cache, buf_cstr(&ck), NULL,
				  cfg->neg_ttl_ms, now);
	} else if (authd_reply_kv(&j->reply, "VALUE", val) < 0 ||
		   buf_append_str(&j->reply, ".\n") < 0) {
		tempfail(j, "reply too long");
	} else if (cacheable) {
		cache_put(lookups_cache, buf_cstr(&ck), buf_cstr(&j->reply),
			  cfg->cache_ttl_ms, now);
	}
	buf_deinit(&ck);
}

bool authd_handle(struct authd_job *j)
{
	switch (j->req.cmd) {
	case AUTHD_CMD_PRE:
		do_pre(j);
		break;
	case AUTHD_CMD_AUTH:
		/* a password AUTH will likely reach the MD5-crypt stage after
		   its query: say so, so that pairs waiting there go with it
		   rather than just before it (lib/md5crypt_batch.h).  Not with
		   batched user lookups: their worker hashes a batch's checks
		   itself (authd_db_user), and a pair in the stage must not
		   wait for AUTHs that will never come there */
		if (j->req.authtype == AUTHD_AUTH_LOGIN &&
		    j->cfg->user_gather == NULL)
			md5crypt_batch_announce();
		if (!do_auth(j))
			return false; /* parked: not ours any more */
		md5crypt_batch_done();
		break;
	case AUTHD_CMD_PASSWD:
		do_passwd(j);
		break;
	case AUTHD_CMD_ENUMERATE:
		do_enumerate(j);
		break;
	case AUTHD_CMD_LOOKUP:
		do_lookup(j);
		break;
	case AUTHD_CMD_MAPLOOKUP:
		do_maplookup(j);
		break;
	case AUTHD_CMD_FLUSH:
		authd_handle_clear_caches();
		if (buf_append_str(&j->reply, "OK\n") < 0)
			j->tempfail = true;
		break;
	case AUTHD_CMD_REJECT:
		reply_fail(j, j->req.reject_reason, false);
		break;
	}
	return true;
}
