/*
 * Queries of youju-authd (see db.h).  Paths: HOME and MAILDIR are
 * virtual_mailbox_base + "/" + the relative column (ExtMail stores
 * "domain/user" and "domain/user/Maildir/"); an absolute column value is
 * taken as it is; an empty maildir column means HOME/Maildir as ExtMail
 * does.  uid/gid 0 is refused like authmysql does (a row whose uid is 0 is
 * reported as not found and logged).
 */
#include "db.h"

#include <stdlib.h>
#include <string.h>

#include "extmail_sql.h"
#include "lanes.h"
#include "log.h"
#include "md5crypt_batch.h"
#include "str.h"
#include "xalloc.h"

/* User batches under way at once (lib/gather max_running).  One: while it
   runs the other workers gather behind it, and 8 workers make batches of
   about 4.  Two (measured with bench/authd) halved the batches and cost
   more CPU per AUTH for no higher rate on 2 CPUs. */
#define AUTHD_DB_BATCH_RUNNING 1
/* how long a worker waits for a pooled connection */
#define DB_POOL_WAIT_MS	 3000
#define DB_ENUM_MAX_ROWS 10000000

static char *join_path(const char *base, const char *rel)
{
	if (rel == NULL || rel[0] == '\0')
		return NULL;
	if (rel[0] == '/')
		return xstrdup(rel);
	size_t bl = strlen(base), rl = strlen(rel);
	while (bl > 1 && base[bl - 1] == '/')
		bl--;
	char *p = xmalloc(bl + 1 + rl + 1);
	memcpy(p, base, bl);
	p[bl] = '/';
	memcpy(p + bl + 1, rel, rl + 1);
	return p;
}

static bool flag(const char *v)
{
	uint64_t n;
	return v != NULL && str_parse_u64(v, 0, UINT64_MAX, &n) == 0 && n != 0;
}

static unsigned long id_of(const char *v)
{
	uint64_t n;
	if (v == NULL || str_parse_u64(v, 0, 4294967294u, &n) < 0)
		return 0;
	return (unsigned long)n;
}

/* a column of a user row by name (extmail_login_cols) */
static const char *ucol(const struct sqlrow *row, const char *name)
{
	return extmail_col(extmail_login_cols, row, name);
}

/* ExtMail's disable* columns, in the order of the AUTHD_DIS_* bits */
static const char *const dis_cols[AUTHD_DIS_COUNT] = {
    "disablesmtpd",   "disablesmtp", "disablewebmail",
    "disablenetdisk", "disableimap", "disablepop3",
};

void authd_db_row_to_user(const struct authd_cfg *cfg, const struct sqlrow *row,
			  struct authd_user *u)
{
	memset(u, 0, sizeof(*u));
	const char *login = ucol(row, "login"), *crypt = ucol(row, "crypt");
	const char *clear = ucol(row, "clear"), *quota = ucol(row, "quota");
	const char *name = ucol(row, "name");
	const char *netdisk = ucol(row, "netdiskquota");
	u->address = xstrdup(login != NULL ? login : "");
	u->passwd = crypt != NULL && crypt[0] != '\0' ? xstrdup(crypt) : NULL;
	u->clearpw = cfg->clear_pwfield[0] != '\0' && clear != NULL
			 ? xstrdup(clear)
			 : NULL;
	u->uid = cfg->have_uid ? cfg->fixed_uid : id_of(ucol(row, "uid"));
	u->gid = cfg->have_gid ? cfg->fixed_gid : id_of(ucol(row, "gid"));
	u->home = join_path(cfg->mailbox_base, ucol(row, "home"));
	u->maildir = join_path(cfg->mailbox_base, ucol(row, "maildir"));
	if (u->maildir == NULL && u->home != NULL) {
		size_t hl = strlen(u->home);
		u->maildir = xmalloc(hl + sizeof("/Maildir"));
		memcpy(u->maildir, u->home, hl);
		memcpy(u->maildir + hl, "/Maildir", sizeof("/Maildir"));
	}
	bool bad = false;
	u->quota = extmail_quota_definition(quota, &bad);
	if (bad) {
		char esc[64];
		log_warning("authd: bad quota value for %s: '%s' "
			    "(ignored: no limit)",
			    u->address,
			    log_escape(esc, sizeof(esc), quota, strlen(quota)));
	}
	u->name = name != NULL ? xstrdup(name) : NULL;
	for (unsigned i = 0; i < AUTHD_DIS_COUNT; i++) {
		if (flag(ucol(row, dis_cols[i])))
			u->disabled |= 1u << i;
	}
	u->pwchange_disabled = flag(ucol(row, "disablepwdchange"));
	u->mailbox_active = flag(ucol(row, "active"));
	u->domain_active = flag(ucol(row, "domain_active"));
	u->expired = flag(ucol(row, "expired"));
	u->netdiskquota =
	    netdisk != NULL && netdisk[0] != '\0' && strcmp(netdisk, "0") != 0
		? xstrdup(netdisk)
		: NULL;
}

/* Runs one query on a pooled connection; logs a temporary failure, and a
   refused statement unless quiet (the caller retries it another way).
   Failed results are freed. */
static enum sqlpool_status query(struct authd_cfg *cfg, const char *q,
				 const char *const *args, size_t nargs,
				 size_t max_rows, struct sqlresult *res,
				 bool quiet)
{
	const char *err = NULL;
	memset(res, 0, sizeof(*res));
	struct sqlconn *conn = sqlpool_get(cfg->pool, DB_POOL_WAIT_MS, &err);
	if (conn == NULL) {
		log_warning("authd: database unavailable: %s",
			    err != NULL ? err : "no connection");
		return SQL_TEMPFAIL;
	}
	enum sqlpool_status st =
	    sqlconn_query(conn, q, args, nargs, max_rows, res, &err);
	if (st == SQL_TEMPFAIL || (st == SQL_ERROR && !quiet))
		log_warning("authd: query failed%s: %s",
			    st == SQL_ERROR ? " (check the authd_* column "
					      "settings)"
					    : "",
			    err != NULL ? err : "?");
	if (st != SQL_OK)
		sqlresult_free(res);
	sqlpool_put(cfg->pool, &conn, st == SQL_TEMPFAIL);
	return st;
}

/* Runs one query; logs failures.  Returns SQL status mapped to ours
   (FOUND = ran fine). */
static enum authd_status run(struct authd_cfg *cfg, const char *q,
			     const char *const *args, size_t nargs,
			     size_t max_rows, struct sqlresult *res)
{
	return query(cfg, q, args, nargs, max_rows, res, false) == SQL_OK
		   ? AUTHD_FOUND
		   : AUTHD_TEMPFAIL;
}

/* The answer of the user query from the nrows rows it returned for one
   login (at most 2: a third is a failed query). */
static enum authd_status user_from_rows(struct authd_cfg *cfg,
					const struct sqlrow *row, size_t nrows,
					struct authd_user *u_r)
{
	enum authd_status st = AUTHD_NOTFOUND;
	if (nrows == 1 && row->ncols == EXTMAIL_LOGIN_NCOLS) {
		authd_db_row_to_user(cfg, row, u_r);
		if (u_r->home == NULL || u_r->uid == 0 || u_r->gid == 0) {
			/* authmysql: empty home = no such user, uid 0 =
			   error */
			log_warning("authd: account %s has no home or a "
				    "uid/gid of 0: ignored",
				    u_r->address);
			authd_user_free(u_r);
		} else {
			st = AUTHD_FOUND;
		}
	} else if (nrows > 1) {
		log_warning("authd: several rows for one login: refusing");
	}
	return st;
}

static enum authd_status user_one(struct authd_cfg *cfg, const char *login,
				  struct authd_user *u_r)
{
	struct sqlresult res;
	const char *args[1] = {login};
	memset(u_r, 0, sizeof(*u_r));
	if (run(cfg, cfg->q_user, args, 1, 2, &res) != AUTHD_FOUND)
		return AUTHD_TEMPFAIL;
	enum authd_status st = user_from_rows(cfg, res.rows, res.nrows, u_r);
	sqlresult_free(&res);
	return st;
}

/*
 * Concurrent user lookups (lib/gather): one worker runs q_user_batch[n]
 * for n waiting logins and hands each its answer.  A row's first n
 * columns say which logins it belongs to (extmail_login_batch_query), so
 * each login gets the rows q_user would give it: 0 (not found), 1, 2
 * ("several rows"), or 3 or more (q_user would have failed on its row
 * limit: a temporary failure).  A statement that fails on the database
 * side (down, timed out) fails every login in it, as each would have
 * failed alone; one that the server refuses (bad settings) or that
 * returns too many rows is retried one login at a time, so each gets
 * q_user's own answer and log line.  Lookups come as struct
 * authd_user_lookup (db.h), from gather_submit (authd_db_user: the worker
 * sleeps until its batch is done) or gather_submit_async (an AUTH parked
 * without a thread: handle.c finishes it in the continuation).
 */

/*
 * The MD5-crypt checks of a batch's waiting AUTHs (authd_db_user: the
 * owner sleeps until its batch is done), computed by the worker that ran
 * its query, in vector lanes: each owner then finds its result preset
 * (lib/md5crypt_batch) and the batch needs no wait for company.  Only
 * "$1$" rows of AUTHs with a password; the rest is checked as before.  A
 * parked AUTH's check (done set) goes to the hash stage instead, in its
 * continuation (handle.c, authd/lanes.h).
 */
static void users_hash(void *ctx, struct gather_item *const *items, size_t n)
{
	const char *pw[EXTMAIL_LOGIN_BATCH_MAX], *st[EXTMAIL_LOGIN_BATCH_MAX];
	char out[EXTMAIL_LOGIN_BATCH_MAX][MD5CRYPT_X8_OUT_SIZE];
	size_t k = 0;
	struct authd_user_lookup *of[EXTMAIL_LOGIN_BATCH_MAX];
	for (size_t i = 0; i < n; i++) {
		struct authd_user_lookup *r =
		    (struct authd_user_lookup *)items[i];
		const struct authd_user *u = r->u;
		if (r->done == NULL && r->st == AUTHD_FOUND &&
		    r->password != NULL && r->password[0] != '\0' &&
		    u->passwd != NULL && strncmp(u->passwd, "$1$", 3) == 0) {
			pw[k] = r->password;
			st[k] = u->passwd;
			of[k++] = r;
		}
	}
	if (k < 2)
		return;
	/* evaluations of at most MD5CRYPT_X8_LANES, as even as possible
	   (9 checks: 5 + 4, not 8 + a lone one left to crypt_r) */
	size_t evals = (k + MD5CRYPT_X8_LANES - 1) / MD5CRYPT_X8_LANES;
	for (size_t e = 0, at = 0; e < evals; e++) {
		size_t m = (k - at) / (evals - e);
		if (m >= 2 && md5crypt_batch_hash_now(m, pw + at, st + at,
						      out + at) > 0) {
			for (size_t i = at; i < at + m; i++)
				memcpy(of[i]->md5, out[i],
				       MD5CRYPT_X8_OUT_SIZE);
		}
		at += m;
	}
	explicit_bzero(out, sizeof(out));
}

static void users_run(void *ctx, struct gather_item *const *items, size_t n)
{
	struct authd_cfg *cfg = ctx;
	struct authd_user_lookup *r[EXTMAIL_LOGIN_BATCH_MAX];
	/* the logins twice: the flag columns, then the IN list */
	const char *args[2 * EXTMAIL_LOGIN_BATCH_MAX] = {NULL};
	for (size_t i = 0; i < n; i++) {
		r[i] = (struct authd_user_lookup *)items[i];
		args[i] = args[n + i] = r[i]->login;
		memset(r[i]->u, 0, sizeof(*r[i]->u));
	}
	struct sqlresult res;
	/* a refused statement or too many rows: retried one by one */
	enum sqlpool_status qs =
	    n >= 2 && cfg->q_user_batch[n] != NULL
		? query(cfg, cfg->q_user_batch[n], args, 2 * n,
			n * EXTMAIL_LOGIN_BATCH_ROWS, &res, true)
		: SQL_ERROR;
	if (qs == SQL_TEMPFAIL) {
		for (size_t i = 0; i < n; i++)
			r[i]->st = AUTHD_TEMPFAIL;
		return;
	}
	if (qs != SQL_OK) {
		for (size_t i = 0; i < n; i++)
			r[i]->st = user_one(cfg, r[i]->login, r[i]->u);
		return;
	}
	/* each login's rows: how many, and the first one's columns */
	size_t count[EXTMAIL_LOGIN_BATCH_MAX] = {0};
	struct sqlrow first[EXTMAIL_LOGIN_BATCH_MAX];
	for (size_t k = 0; k < res.nrows; k++) {
		const struct sqlrow *row = &res.rows[k];
		if (row->ncols < n)
			continue; /* cannot happen: n flags come first */
		for (size_t i = 0; i < n; i++) {
			const char *f = row->cols[i];
			if (f == NULL || strcmp(f, "1") != 0)
				continue;
			if (count[i]++ == 0)
				first[i] = (struct sqlrow){row->ncols - n,
							   row->cols + n,
							   row->lens + n};
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (count[i] >= EXTMAIL_LOGIN_BATCH_ROWS) {
			/* q_user's own failure on its row limit */
			log_warning("authd: query failed (check the authd_* "
				    "column settings): more than 2 rows for "
				    "one login");
			r[i]->st = AUTHD_TEMPFAIL;
			continue;
		}
		r[i]->st = user_from_rows(cfg, count[i] > 0 ? &first[i] : NULL,
					  count[i], r[i]->u);
	}
	sqlresult_free(&res);
}

/*
 * The hold (lib/gather's gather_set_hold): while at least
 * AUTHD_DB_HOLD_BUSY checks are in the hash stage (waiting or being
 * evaluated: their clients are answered, and under load come back, within
 * about an evaluation), the next user query waits for AUTHD_DB_HOLD_MIN
 * logins, at most AUTHD_DB_HOLD_US.  With nothing in the stage (a lone
 * AUTH, a few clients) nothing waits.  Without it a faster
 * loop left batches of 2.75 logins and MariaDB 43 us per AUTH;
 * docs/authd.md, "Tenth round", has the A/B of 150, 300 and 600 us and
 * of a minimum of 16.
 */
#define AUTHD_DB_HOLD_US   300
#define AUTHD_DB_HOLD_MIN  8
#define AUTHD_DB_HOLD_BUSY 8

static bool users_coming(void *ctx)
{
	(void)ctx;
	return authd_lanes_backlog() >= AUTHD_DB_HOLD_BUSY;
}

void authd_db_batch_init(struct authd_cfg *cfg)
{
	/* the hashes after the query, while the next batch's query runs */
	cfg->user_gather =
	    gather_new(EXTMAIL_LOGIN_BATCH_MAX, AUTHD_DB_BATCH_RUNNING,
		       users_run, users_hash, cfg);
	gather_set_hold(cfg->user_gather, AUTHD_DB_HOLD_MIN, AUTHD_DB_HOLD_US,
			users_coming);
}

void authd_db_batch_free(struct authd_cfg *cfg)
{
	unsigned long batches = 0, items = 0;
	if (cfg->user_gather == NULL)
		return;
	gather_stats(cfg->user_gather, &batches, &items);
	if (batches > 0)
		log_info("authd: user lookups: %lu in %lu queries (%.2f per "
			 "query), %lu held for more",
			 items, batches, (double)items / (double)batches,
			 gather_held(cfg->user_gather));
	gather_free(&cfg->user_gather);
}

enum authd_status authd_db_user(struct authd_cfg *cfg, const char *login,
				const char *password, struct authd_user *u_r)
{
	if (cfg->user_gather == NULL)
		return user_one(cfg, login, u_r);
	struct authd_user_lookup r = {.login = login,
				      .password = password,
				      .u = u_r,
				      .st = AUTHD_TEMPFAIL};
	gather_submit(cfg->user_gather, &r.item);
	if (r.md5[0] != '\0' && r.st == AUTHD_FOUND)
		md5crypt_batch_preset(password, u_r->passwd, r.md5);
	explicit_bzero(r.md5, sizeof(r.md5));
	return r.st;
}

static void user_async_done(struct gather_item *item, bool own)
{
	struct authd_user_lookup *r = (struct authd_user_lookup *)item;
	r->done(r, own);
}

void authd_db_user_async(struct authd_cfg *cfg, struct authd_user_lookup *l)
{
	l->st = AUTHD_TEMPFAIL;
	l->md5[0] = '\0';
	gather_submit_async(cfg->user_gather, &l->item, user_async_done);
}

bool authd_db_user_try_park(struct authd_cfg *cfg, struct authd_user_lookup *l)
{
	l->st = AUTHD_TEMPFAIL;
	l->md5[0] = '\0';
	return gather_try_park(cfg->user_gather, &l->item, user_async_done);
}

enum authd_status authd_db_set_password(struct authd_cfg *cfg,
					const char *login, const char *crypted,
					const char *clear)
{
	struct sqlresult res;
	const char *args[3];
	size_t n = 0;
	if (cfg->passwd_has_clear) {
		args[n++] = crypted;
		args[n++] = clear;
	} else if (cfg->passwd_clear_only) {
		args[n++] = clear;
	} else {
		args[n++] = crypted;
	}
	args[n++] = login;
	if (run(cfg, cfg->q_passwd, args, n, 0, &res) != AUTHD_FOUND)
		return AUTHD_TEMPFAIL;
	enum authd_status st = res.affected > 0 ? AUTHD_FOUND : AUTHD_NOTFOUND;
	sqlresult_free(&res);
	return st;
}

enum authd_status
authd_db_enumerate(struct authd_cfg *cfg,
		   int (*cb)(const struct authd_user *u, void *ctx), void *ctx)
{
	struct sqlresult res;
	if (run(cfg, cfg->q_enumerate, NULL, 0, DB_ENUM_MAX_ROWS, &res) !=
	    AUTHD_FOUND)
		return AUTHD_TEMPFAIL;
	enum authd_status st = AUTHD_FOUND;
	for (size_t i = 0; i < res.nrows; i++) {
		if (res.rows[i].ncols != EXTMAIL_LOGIN_NCOLS)
			continue;
		struct authd_user u;
		authd_db_row_to_user(cfg, &res.rows[i], &u);
		int rc = 0;
		/* the client ignores uid/gid 0 too; skip unusable rows */
		if (u.home != NULL && u.uid != 0 && u.gid != 0 &&
		    authd_user_usable(&u))
			rc = cb(&u, ctx);
		authd_user_free(&u);
		if (rc < 0) {
			st = AUTHD_TEMPFAIL;
			break;
		}
	}
	sqlresult_free(&res);
	return st;
}

enum authd_status authd_db_alias(struct authd_cfg *cfg, const char *address,
				 char **goto_r)
{
	struct sqlresult res;
	const char *args[1] = {address};
	*goto_r = NULL;
	if (run(cfg, cfg->q_alias, args, 1, 1, &res) != AUTHD_FOUND)
		return AUTHD_TEMPFAIL;
	enum authd_status st = AUTHD_NOTFOUND;
	if (res.nrows == 1 && res.rows[0].ncols == 1 &&
	    res.rows[0].cols[0] != NULL) {
		*goto_r = xstrdup(res.rows[0].cols[0]);
		st = AUTHD_FOUND;
	}
	sqlresult_free(&res);
	return st;
}

enum authd_status authd_db_domain(struct authd_cfg *cfg, const char *domain,
				  bool *active_r, char **transport_r)
{
	struct sqlresult res;
	const char *args[1] = {domain};
	*active_r = false;
	if (transport_r != NULL)
		*transport_r = NULL;
	if (run(cfg, cfg->q_domain, args, 1, 1, &res) != AUTHD_FOUND)
		return AUTHD_TEMPFAIL;
	enum authd_status st = AUTHD_NOTFOUND;
	if (res.nrows == 1) {
		const struct sqlrow *row = &res.rows[0];
		const char *t =
		    extmail_col(extmail_domain_cols, row, "transport");
		*active_r =
		    flag(extmail_col(extmail_domain_cols, row, "active"));
		if (transport_r != NULL && t != NULL && t[0] != '\0')
			*transport_r = xstrdup(t);
		st = AUTHD_FOUND;
	}
	sqlresult_free(&res);
	return st;
}

static uint64_t num_prefix(const char *v)
{
	uint64_t n = 0;
	if (v == NULL)
		return 0;
	for (; *v >= '0' && *v <= '9'; v++) {
		if (n > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	return n;
}

enum authd_status authd_db_quota(struct authd_cfg *cfg, const char *domain,
				 struct authd_quota *q)
{
	struct sqlresult res;
	const char *args[1] = {domain};
	memset(q, 0, sizeof(*q));
	if (run(cfg, cfg->q_quota, args, 1, 1, &res) != AUTHD_FOUND)
		return AUTHD_TEMPFAIL;
	enum authd_status st = AUTHD_NOTFOUND;
	if (res.nrows == 1) {
		const struct sqlrow *row = &res.rows[0];
#define QCOL(name) num_prefix(extmail_col(authd_quota_cols, row, name))
		q->maxquota = QCOL("maxquota");
		q->maxusers = QCOL("maxusers");
		q->maxalias = QCOL("maxalias");
		q->users = QCOL("users");
		q->quota_sum = QCOL("quota_sum");
		q->aliases = QCOL("aliases");
#undef QCOL
		q->active = flag(extmail_col(authd_quota_cols, row, "active"));
		st = AUTHD_FOUND;
	}
	sqlresult_free(&res);
	return st;
}
