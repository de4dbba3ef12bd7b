/*
 * /api/domains/{domain}/mailboxes: the mailbox table (ExtMan's user pages,
 * web.md §2) for the super administrator and the domain's postmasters.
 * The domain's limits are enforced in the same transaction as the change,
 * with the domain row locked (FOR UPDATE) so that two concurrent creates
 * cannot both pass the check: maxusers, sum of quotas <= maxquota (and
 * NetDisk likewise; on update only an increase is checked, as ExtMan),
 * expiredate <= the domain's, and a postmaster cannot allow a service the
 * domain's template disables.  Passwords are written SHA-512-crypt and
 * never returned; clearpwd is neither written nor shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extmail_sql.h"
#include "log.h"
#include "pwhash.h"
#include "record.h"
#include "listing.h"
#include "wa.h"
#include "webjson.h"
#include "xalloc.h"

/* clang-format off */
const struct rec_field wa_mailbox_fields[] = {
	{ "username", REC_FIXED, 0, 0, 0 },
	{ "uid", REC_FIXED, 0, 0, 0 },
	{ "password", REC_FIXED, 0, 0, 0 },
	{ "clearpwd", REC_FIXED, 0, 0, 0 },
	{ "name", REC_STR, 255, 0, 0 },
	{ "mailhost", REC_STR, 255, 0, 0 },
	{ "maildir", REC_FIXED, 0, 0, 0 },
	{ "homedir", REC_FIXED, 0, 0, 0 },
	{ "quota", REC_QUOTA, 0, 0, 0 },
	{ "netdiskquota", REC_QUOTA, 0, 0, 0 },
	{ "domain", REC_FIXED, 0, 0, 0 },
	{ "uidnumber", REC_INT, 0, 1, 2147483647 },
	{ "gidnumber", REC_INT, 0, 1, 2147483647 },
	{ "createdate", REC_FIXED, 0, 0, 0 },
	{ "expiredate", REC_DATE, 0, 0, 0 },
	{ "active", REC_FLAG, 0, 0, 0 },
	{ "disablepwdchange", REC_FLAG, 0, 0, 0 },
	REC_SERVICE_FIELDS,
	{ "question", REC_STR, 255, 0, 0 },
	{ "answer", REC_STR, 255, 0, 0 },
	{ NULL, REC_FIXED, 0, 0, 0 },
};
/* clang-format on */

const char *const wa_services[] = {
    "disablesmtpd",
    "disablesmtp",
    "disablewebmail",
    "disablenetdisk",
    "disableimap",
    "disablepop3",
    NULL,
};

#define MARKS_10 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
#define MARKS_50                                                               \
	MARKS_10 ", " MARKS_10 ", " MARKS_10 ", " MARKS_10 ", " MARKS_10

#define PASSWORD_MIN 8
#define PASSWORD_MAX 256

/* Fields of the request that are not columns: password (new), purge. */
static int take_password(struct http_req *req, json_t *in, bool required,
			 char **hash_r)
{
	const char *pw = NULL;
	*hash_r = NULL;
	int rc =
	    webjson_get_str(req, in, "password", required, PASSWORD_MAX, &pw);
	if (rc <= 0)
		return rc;
	if (strlen(pw) < PASSWORD_MIN) {
		webjson_error(req, 400, "invalid",
			      "password: at least 8 characters", "password");
		return -1;
	}
	const char *err = NULL;
	*hash_r = pwhash_make(pw, "sha512-crypt", &err);
	if (*hash_r == NULL) {
		webjson_error(req, 500, "internal", "cannot hash", "password");
		return -1;
	}
	json_object_del(in, "password");
	return 1;
}

int wa_lock_domain(struct http_req *req, struct sqlconn *c, const char *domain,
		   struct record *d, bool answer_404)
{
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	const char *args[1] = {domain};
	if (wa_q(req, c,
		 "SELECT " EXTMAIL_DOMAIN_SELECT
		 " FROM domain WHERE domain = ? FOR UPDATE",
		 args, 1, &res) < 0)
		return -1;
	if (res.nrows == 0) {
		sqlresult_free(&res);
		if (answer_404)
			webjson_error(req, 404, "not_found", "no such domain",
				      "domain");
		return 0;
	}
	rec_load(d, &res.rows[0]);
	sqlresult_free(&res);
	return 1;
}

static int limit_error(struct http_req *req, const char *field, const char *msg)
{
	webjson_error(req, 422, "limit", msg, field);
	return -1;
}

/*
 * The domain's rules for a mailbox m (old: the stored row on update, or
 * NULL on create).  Returns 0 or -1 after a reply.
 */
static int check_limits(struct http_req *req, struct sqlconn *c,
			const struct record *d, const struct record *m,
			const struct record *old)
{
	const struct wa_caller *me = wa_caller(req);
	const char *domain = rec_get(d, "domain");
	const char *args[1] = {domain};
	if (old == NULL) {
		int64_t maxusers = rec_int(d, "maxusers"), users = 0;
		if (wa_q_int(req, c,
			     "SELECT COUNT(*) FROM mailbox WHERE domain = ?",
			     args, 1, &users) < 0)
			return -1;
		if (maxusers > 0 && users + 1 > maxusers)
			return limit_error(req, "maxusers",
					   "the domain has its maximum number "
					   "of mailboxes (maxusers)");
	}
	static const char *const q[2][3] = {
	    {"quota", "maxquota",
	     "SELECT COALESCE(SUM(CAST(quota AS UNSIGNED)), 0) FROM "
	     "mailbox WHERE domain = ?"},
	    {"netdiskquota", "maxnetdiskquota",
	     "SELECT COALESCE(SUM(CAST(netdiskquota AS UNSIGNED)), 0) "
	     "FROM mailbox WHERE domain = ?"},
	};
	for (int i = 0; i < 2; i++) {
		uint64_t max = rec_quota(d, q[i][1]);
		uint64_t want = rec_quota(m, q[i][0]);
		uint64_t had = old != NULL ? rec_quota(old, q[i][0]) : 0;
		if (max == 0)
			continue; /* the domain has no maximum */
		if (want == 0 && (old == NULL || had != 0)) {
			char msg[160];
			snprintf(msg, sizeof msg,
				 "%s: unlimited is not allowed in a domain "
				 "with %s",
				 q[i][0], q[i][1]);
			return limit_error(req, q[i][0], msg);
		}
		if (want <= had)
			continue; /* no increase */
		int64_t sum = 0;
		if (wa_q_int(req, c, q[i][2], args, 1, &sum) < 0)
			return -1;
		if ((uint64_t)sum - had + want > max) {
			char msg[160];
			snprintf(msg, sizeof msg,
				 "%s: the domain's mailboxes would pass its "
				 "%s",
				 q[i][0], q[i][1]);
			return limit_error(req, q[i][0], msg);
		}
	}
	const char *dexp = rec_get(d, "expiredate");
	const char *mexp = rec_get(m, "expiredate");
	if (dexp != NULL && strcmp(dexp, "0000-00-00") != 0 && mexp != NULL &&
	    (strcmp(mexp, "0000-00-00") == 0 || strcmp(mexp, dexp) > 0))
		return limit_error(req, "expiredate",
				   "expiredate: not after the domain's "
				   "expiredate");
	if (!me->admin)
		for (size_t i = 0; wa_services[i] != NULL; i++) {
			bool dom_off = rec_int(d, wa_services[i]) == 1;
			bool want_on = rec_int(m, wa_services[i]) != 1;
			bool was_on =
			    old != NULL && rec_int(old, wa_services[i]) != 1;
			if (dom_off && want_on && !was_on) {
				char msg[160];
				snprintf(msg, sizeof msg,
					 "%s: the domain disables this "
					 "service",
					 wa_services[i]);
				return limit_error(req, wa_services[i], msg);
			}
		}
	return 0;
}

void wa_mailboxes_list(struct http_req *req)
{
	const char *domain = http_req_param(req, 0);
	char offset[32];
	int page = wa_page(req, offset, sizeof offset);
	if (page < 0)
		return;
	/* q: the address starts with it (a range of the primary key, fast
	   with 100,000 mailboxes); name: the name contains it (a scan of
	   the domain's rows) */
	const char *q = http_req_query(req, "q");
	const char *name = http_req_query(req, "name");
	char *like = NULL;
	int mode = 0;
	if (q != NULL && q[0] != '\0') {
		like = wa_like_pattern(q);
		like[0] = '\0'; /* "%q%" -> "q%": a prefix */
		memmove(like, like + 1, strlen(like + 1) + 1);
		mode = 1;
	} else if (name != NULL && name[0] != '\0') {
		like = wa_like_pattern(name);
		mode = 2;
	}
	/* count, then the page: the inner query walks only the domain
	   index (which holds the primary key, in order), and the 50 rows
	   are fetched by key */
	static const char *const count_sql[3] = {
	    NULL, /* stats.c */
	    "SELECT COUNT(*) FROM mailbox WHERE domain = ? AND "
	    "username LIKE ?",
	    "SELECT COUNT(*) FROM mailbox WHERE domain = ? AND name LIKE ?",
	};
	/* the page in two steps: the keys from the domain index alone
	   (it holds the primary key, in order), then those rows by key.
	   (One statement with a derived table "JOIN (SELECT ... LIMIT ?
	   OFFSET ?)" crashes MariaDB 10.11's server when re-executed as a
	   prepared statement; two simple ones do not.) */
	static const char *const keys_sql[3] = {
	    "SELECT username FROM mailbox FORCE INDEX (youju_domain_user) "
	    "WHERE domain = ? "
	    "ORDER BY username LIMIT 50 OFFSET ?",
	    "SELECT username FROM mailbox FORCE INDEX (youju_domain_user) "
	    "WHERE domain = ? AND "
	    "username LIKE ? ORDER BY username LIMIT 50 OFFSET ?",
	    "SELECT username FROM mailbox FORCE INDEX (youju_domain_user) "
	    "WHERE domain = ? AND name LIKE ? "
	    "ORDER BY username LIMIT 50 OFFSET ?",
	};
	static const char *const after_sql[3] = {
	    "SELECT username FROM mailbox FORCE INDEX (youju_domain_user) "
	    "WHERE domain = ? AND username > ? "
	    "ORDER BY username LIMIT 50",
	    "SELECT username FROM mailbox FORCE INDEX (youju_domain_user) "
	    "WHERE domain = ? AND "
	    "username LIKE ? AND username > ? ORDER BY username LIMIT 50",
	    "SELECT username FROM mailbox FORCE INDEX (youju_domain_user) "
	    "WHERE domain = ? AND name LIKE ? "
	    "AND username > ? ORDER BY username LIMIT 50",
	};
	/* ?after=<username>: the page after that one, by key (constant
	   time however deep; "next" in the reply gives it) */
	const char *after = http_req_query(req, "after");
	const char *args[3] = {domain, mode != 0 ? like : offset, offset};
	size_t nargs = mode != 0 ? 3 : 2;
	const char *keys_q = keys_sql[mode];
	if (after != NULL) {
		args[nargs - 1] = after;
		keys_q = after_sql[mode];
	}
	struct sqlconn *c = wa_db(req);
	if (c == NULL) {
		free(like);
		return;
	}
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	int64_t total = 0;
	struct wa_stats st;
	if (!wa_can_domain(req, c, domain))
		goto out;
	if (mode == 0) {
		/* the whole domain: the cached count (stats.c) */
		if (wa_domain_stats(req, c, domain, &st) < 0)
			goto out;
		total = st.users;
	} else if (wa_q_int(req, c, count_sql[mode], args, nargs - 1, &total) <
		   0)
		goto out;
	struct sqlresult keys;
	memset(&keys, 0, sizeof keys);
	if (wa_q(req, c, keys_q, args, nargs, &keys) < 0)
		goto out;
	/* 50 placeholders, unused ones NULL (matching nothing) */
	const char *in[WA_PAGE_SIZE];
	for (size_t i = 0; i < WA_PAGE_SIZE; i++)
		in[i] = i < keys.nrows ? keys.rows[i].cols[0] : NULL;
	int rc =
	    keys.nrows == 0
		? 0
		: wa_q(req, c,
		       "SELECT " EXTMAIL_MAILBOX_SELECT " FROM mailbox "
		       "WHERE username IN (" MARKS_50 ") ORDER BY username",
		       in, WA_PAGE_SIZE, &res);
	sqlresult_free(&keys);
	if (rc < 0)
		goto out;
	json_t *items = json_array();
	for (size_t i = 0; i < res.nrows; i++)
		json_array_append_new(
		    items, wa_row_json(extmail_mailbox_cols, &res.rows[i]));
	wa_forwards_annotate(req, c, items);
	json_t *o = wa_page_json(total, page, items);
	if (res.nrows == WA_PAGE_SIZE) {
		const char *last = res.rows[res.nrows - 1].cols[0];
		json_t *n = last != NULL ? json_string(last) : NULL;
		json_object_set_new(o, "next", n != NULL ? n : json_null());
	} else
		json_object_set_new(o, "next", json_null());
	webjson_reply(req, 200, o);
out:
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
	free(like);
}

/* Loads the mailbox local@domain; 1, 0 after 404, -1 after error. */
static int load_mailbox(struct http_req *req, struct sqlconn *c,
			const char *address, const char *domain, bool lock,
			struct record *m)
{
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	const char *args[2] = {address, domain};
	if (wa_q(req, c,
		 lock ? "SELECT " EXTMAIL_MAILBOX_SELECT
			" FROM mailbox WHERE username = ? AND domain = ? "
			"FOR UPDATE"
		      : "SELECT " EXTMAIL_MAILBOX_SELECT
			" FROM mailbox WHERE username = ? AND domain = ?",
		 args, 2, &res) < 0)
		return -1;
	if (res.nrows == 0) {
		sqlresult_free(&res);
		webjson_error(req, 404, "not_found", "no such mailbox",
			      "username");
		return 0;
	}
	rec_load(m, &res.rows[0]);
	sqlresult_free(&res);
	return 1;
}

static char *address_of(const char *local, const char *domain)
{
	size_t n = strlen(local) + strlen(domain) + 2;
	char *a = xmalloc(n);
	snprintf(a, n, "%s@%s", local, domain);
	return a;
}

void wa_mailbox_get(struct http_req *req)
{
	const char *domain = http_req_param(req, 0);
	char *address = address_of(http_req_param(req, 1), domain);
	struct record m;
	rec_init(&m, extmail_mailbox_cols, wa_mailbox_fields);
	struct sqlconn *c = wa_db(req);
	if (c != NULL && wa_can_domain(req, c, domain) &&
	    load_mailbox(req, c, address, domain, false, &m) == 1) {
		json_t *one = json_array(), *o = rec_json(&m);
		json_array_append(one, o);
		wa_forwards_annotate(req, c, one);
		json_decref(one);
		webjson_reply(req, 200, o);
	}
	wa_db_put(req, &c, false);
	rec_deinit(&m);
	free(address);
}

/* "1y" "6m" "30d" from today, capped; "" or bad: "0000-00-00". */
static void expire_from(const char *spec, char *out)
{
	snprintf(out, 11, "0000-00-00");
	if (spec == NULL || spec[0] == '\0')
		return;
	char *end;
	long n = strtol(spec, &end, 10);
	if (n <= 0 || n > 1000 || end[1] != '\0')
		return;
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (*end == 'y')
		tm.tm_year += (int)n;
	else if (*end == 'm')
		tm.tm_mon += (int)n;
	else if (*end == 'd')
		tm.tm_mday += (int)n;
	else
		return;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

void wa_mailbox_defaults(struct record *m, const struct record *d,
			 const char *local, const char *domain)
{
	/* ExtMan's new mailbox: paths domain/user, the domain's defaults
	   and service template */
	char maildir[600], homedir[600], now[20], exp[11];
	snprintf(homedir, sizeof homedir, "%s/%s", domain, local);
	snprintf(maildir, sizeof maildir, "%s/%s/Maildir/", domain, local);
	wa_now(now);
	expire_from(rec_get(d, "default_expire"), exp);
	const char *dexp = rec_get(d, "expiredate");
	if (dexp != NULL && strcmp(dexp, "0000-00-00") != 0 &&
	    (strcmp(exp, "0000-00-00") == 0 || strcmp(exp, dexp) > 0))
		snprintf(exp, sizeof exp, "%s", dexp);
	char address[EXTMAIL_ADDRESS_MAX + 2];
	snprintf(address, sizeof address, "%s@%s", local, domain);
	rec_set(m, "username", address);
	rec_set(m, "uid", local);
	rec_set(m, "clearpwd", "");
	rec_set(m, "name", local);
	rec_set(m, "mailhost", "");
	rec_set(m, "maildir", maildir);
	rec_set(m, "homedir", homedir);
	rec_set(m, "quota", rec_get(d, "default_quota"));
	rec_set(m, "netdiskquota", rec_get(d, "default_netdiskquota"));
	rec_set(m, "domain", domain);
	rec_set(m, "uidnumber", "1000");
	rec_set(m, "gidnumber", "1000");
	rec_set(m, "createdate", now);
	rec_set(m, "expiredate", exp);
	rec_set(m, "active", "1");
	rec_set(m, "disablepwdchange", "0");
	for (size_t i = 0; wa_services[i] != NULL; i++)
		rec_set(m, wa_services[i],
			rec_int(d, wa_services[i]) == 1 ? "1" : "0");
	rec_set(m, "question", "");
	rec_set(m, "answer", "");
	/* normalise the quota columns to the S form */
	char qs[24];
	extmail_quota_format(rec_quota(m, "quota"), qs);
	rec_set(m, "quota", qs);
	extmail_quota_format(rec_quota(m, "netdiskquota"), qs);
	rec_set(m, "netdiskquota", qs);
}

void wa_mailbox_create(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const char *domain = http_req_param(req, 0);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	struct record m, d;
	rec_init(&m, extmail_mailbox_cols, wa_mailbox_fields);
	rec_init(&d, extmail_domain_cols, wa_mailbox_fields);
	char *local = NULL, *address = NULL, *hash = NULL;
	struct sqlconn *c = NULL;
	const char *local0 = NULL;
	/* the role first: a postmaster learns nothing about other domains */
	if ((c = wa_db(req)) == NULL || !wa_can_domain(req, c, domain))
		goto out;
	/* the local part comes as "uid" (ExtMail's column) or "local" */
	if (json_object_get(in, "local") != NULL &&
	    json_object_get(in, "uid") == NULL) {
		json_object_set(in, "uid", json_object_get(in, "local"));
		json_object_del(in, "local");
	}
	if (webjson_get_str(req, in, "uid", true, EXTMAIL_LOCAL_MAX, &local0) <
	    0)
		goto out;
	local = wa_lower(local0);
	json_object_del(in, "uid");
	if (!extmail_local_valid(local)) {
		webjson_error(req, 400, "invalid",
			      "uid: not a valid local part (a-z 0-9 . _ + -)",
			      "uid");
		goto out;
	}
	address = address_of(local, domain);
	if (take_password(req, in, true, &hash) < 0 || wa_begin(req, c) < 0)
		goto out;
	if (wa_lock_domain(req, c, domain, &d, true) != 1) {
		sqlconn_rollback(c);
		goto out;
	}
	wa_mailbox_defaults(&m, &d, local, domain);
	rec_set(&m, "password", hash);
	if (rec_apply(req, &m, in) < 0 ||
	    check_limits(req, c, &d, &m, NULL) < 0) {
		sqlconn_rollback(c);
		goto out;
	}
	json_t *after = rec_json(&m);
	int rc = wa_q(req, c,
		      "INSERT INTO mailbox (" EXTMAIL_MAILBOX_SELECT
		      ") VALUES (" EXTMAIL_MAILBOX_MARKS ")",
		      rec_args(&m), m.n, NULL);
	if (rc < 0 && sqlconn_is_duplicate(c))
		webjson_error(req, 409, "exists", "the mailbox exists already",
			      "uid");
	if (rc == 0) {
		/* a mailbox hides an alias of the same address: refuse */
		int64_t n = 0;
		const char *args[1] = {address};
		rc = wa_q_int(req, c,
			      "SELECT COUNT(*) FROM alias WHERE address = ?",
			      args, 1, &n);
		if (rc == 0 && n > 0) {
			webjson_error(req, 409, "exists",
				      "an alias has this address", "uid");
			rc = -1;
		}
	}
	rc =
	    wa_audit_commit(req, c, rc, "mailbox.create", address, NULL, after);
	if (rc < 0) {
		sqlconn_rollback(c);
		json_decref(after);
		goto out;
	}
	wa_authd_flush(wa, address);
	webjson_reply(req, 201, after);
out:
	wa_db_put(req, &c, false);
	rec_deinit(&m);
	rec_deinit(&d);
	wa_secret_free(hash);
	free(local);
	free(address);
	json_decref(in);
}

void wa_mailbox_update(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const char *domain = http_req_param(req, 0);
	char *address = address_of(http_req_param(req, 1), domain);
	json_t *in = webjson_request(req);
	struct record m, d, old;
	rec_init(&m, extmail_mailbox_cols, wa_mailbox_fields);
	rec_init(&old, extmail_mailbox_cols, wa_mailbox_fields);
	rec_init(&d, extmail_domain_cols, wa_mailbox_fields);
	char *hash = NULL;
	struct sqlconn *c = NULL;
	if (in == NULL)
		goto out;
	if ((c = wa_db(req)) == NULL || !wa_can_domain(req, c, domain) ||
	    take_password(req, in, false, &hash) < 0 || wa_begin(req, c) < 0)
		goto out;
	if (wa_lock_domain(req, c, domain, &d, true) != 1 ||
	    load_mailbox(req, c, address, domain, true, &old) != 1) {
		sqlconn_rollback(c);
		goto out;
	}
	for (size_t i = 0; i < old.n; i++)
		rec_set(&m, old.cols[i], old.v[i]);
	if (hash != NULL)
		rec_set(&m, "password", hash);
	if (rec_apply(req, &m, in) < 0 ||
	    check_limits(req, c, &d, &m, &old) < 0) {
		sqlconn_rollback(c);
		goto out;
	}
	json_t *before = rec_json(&old), *after = rec_json(&m);
	if (hash != NULL)
		json_object_set_new(after, "password_changed", json_true());
	const char *args[REC_COLS_MAX + 1];
	for (size_t i = 0; i < m.n; i++)
		args[i] = m.v[i];
	args[m.n] = address;
	int rc = wa_q(req, c,
		      "UPDATE mailbox SET username = ?, uid = ?, password = ?, "
		      "clearpwd = ?, name = ?, mailhost = ?, maildir = ?, "
		      "homedir = ?, quota = ?, netdiskquota = ?, domain = ?, "
		      "uidnumber = ?, gidnumber = ?, createdate = ?, "
		      "expiredate = ?, active = ?, disablepwdchange = ?, "
		      "disablesmtpd = ?, disablesmtp = ?, disablewebmail = ?, "
		      "disablenetdisk = ?, disableimap = ?, disablepop3 = ?, "
		      "question = ?, answer = ? WHERE username = ?",
		      args, m.n + 1, NULL);
	rc = wa_audit_commit(req, c, rc, "mailbox.update", address, before,
			     after);
	json_decref(before);
	if (rc < 0) {
		sqlconn_rollback(c);
		json_decref(after);
		goto out;
	}
	json_object_del(after, "password_changed");
	wa_authd_flush(wa, address);
	webjson_reply(req, 200, after);
out:
	wa_db_put(req, &c, false);
	rec_deinit(&m);
	rec_deinit(&old);
	rec_deinit(&d);
	wa_secret_free(hash);
	free(address);
	json_decref(in);
}

void wa_mailbox_delete(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const char *domain = http_req_param(req, 0);
	char *address = address_of(http_req_param(req, 1), domain);
	struct record m;
	rec_init(&m, extmail_mailbox_cols, wa_mailbox_fields);
	struct sqlconn *c = wa_db(req);
	if (c == NULL || !wa_can_domain(req, c, domain) || wa_begin(req, c) < 0)
		goto out;
	if (load_mailbox(req, c, address, domain, true, &m) != 1) {
		sqlconn_rollback(c);
		goto out;
	}
	json_t *before = rec_json(&m);
	const char *args[1] = {address};
	int rc = wa_q(req, c, "DELETE FROM mailbox WHERE username = ?", args, 1,
		      NULL);
	rc = wa_audit_commit(req, c, rc, "mailbox.delete", address, before,
			     NULL);
	json_decref(before);
	if (rc < 0) {
		sqlconn_rollback(c);
		goto out;
	}
	wa_authd_flush(wa, address);
	/* ?purge=1 also removes the files, in the background; without it
	   the Maildir stays for the operator */
	const char *purge = http_req_query(req, "purge");
	json_t *o = json_object();
	if (purge != NULL &&
	    (strcmp(purge, "1") == 0 || strcmp(purge, "true") == 0)) {
		const char *home = rec_get(&m, "homedir");
		if (home == NULL || home[0] == '\0')
			home = rec_get(&m, "maildir");
		bool done = wa_purge_home(wa, home) == 0;
		if (!done)
			log_warning(
			    "webadmin: %s deleted, its files not purged "
			    "(%s)",
			    address, home != NULL ? home : "");
		json_object_set_new(o, "purged", json_boolean(done));
	}
	webjson_reply(req, 200, o);
out:
	wa_db_put(req, &c, false);
	rec_deinit(&m);
	free(address);
}
