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
#include "log.h"
#include "str.h"
#include "xalloc.h"

/* user batches under way at once (lib/gather max_running) */
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

/* Runs one query; logs failures.  Returns SQL status mapped to ours
   (FOUND = ran fine). */
static enum authd_status run(struct authd_cfg *cfg, const char *q,
			     const char *const *args, size_t nargs,
			     size_t max_rows, struct sqlresult *res)
{
	const char *err = NULL;
	memset(res, 0, sizeof(*res));
	struct sqlconn *conn = sqlpool_get(cfg->pool, DB_POOL_WAIT_MS, &err);
	if (conn == NULL) {
		log_warning("authd: database unavailable: %s",
			    err != NULL ? err : "no connection");
		return AUTHD_TEMPFAIL;
	}
	enum sqlpool_status st =
	    sqlconn_query(conn, q, args, nargs, max_rows, res, &err);
	if (st != SQL_OK) {
		log_warning("authd: query failed%s: %s",
			    st == SQL_ERROR ? " (check the authd_* column "
					      "settings)"
					    : "",
			    err != NULL ? err : "?");
		sqlresult_free(res);
		sqlpool_put(cfg->pool, &conn, st == SQL_TEMPFAIL);
		return AUTHD_TEMPFAIL;
	}
	sqlpool_put(cfg->pool, &conn, false);
	return AUTHD_FOUND;
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
 * for n waiting logins and hands each its answer.  Each login's part of
 * the statement is q_user with a LIMIT of 3 and a tag column, so each gets
 * the rows q_user would give it: 0 (not found), 1, 2 ("several rows"),
 * or 3 (q_user would have failed on its row limit: a temporary failure).
 * A failed statement (database down, bad settings) fails every login in
 * it, as it would have failed each alone.  Measured with
 * bench/authd/sqlprobe.py: 8 logins in one statement cost MariaDB about
 * 45 us each against 110-130 us alone (docs/authd.md).
 */
struct user_req {
	struct gather_item item; /* first: the gather hands these back */
	const char *login;
	struct authd_user *u;
	enum authd_status st;
};

static void users_run(void *ctx, struct gather_item *const *items, size_t n)
{
	struct authd_cfg *cfg = ctx;
	struct user_req *r[EXTMAIL_LOGIN_BATCH_MAX];
	const char *args[EXTMAIL_LOGIN_BATCH_MAX] = {NULL};
	for (size_t i = 0; i < n; i++) {
		r[i] = (struct user_req *)items[i];
		args[i] = r[i]->login;
		memset(r[i]->u, 0, sizeof(*r[i]->u));
	}
	if (n == 1 || cfg->q_user_batch[n] == NULL) {
		for (size_t i = 0; i < n; i++)
			r[i]->st = user_one(cfg, r[i]->login, r[i]->u);
		return;
	}
	struct sqlresult res;
	if (run(cfg, cfg->q_user_batch[n], args, n,
		n * EXTMAIL_LOGIN_BATCH_ROWS, &res) != AUTHD_FOUND) {
		for (size_t i = 0; i < n; i++)
			r[i]->st = AUTHD_TEMPFAIL;
		return;
	}
	/* rows by tag, in the order MariaDB returned them */
	size_t count[EXTMAIL_LOGIN_BATCH_MAX] = {0};
	const struct sqlrow *first[EXTMAIL_LOGIN_BATCH_MAX] = {NULL};
	struct sqlrow view[EXTMAIL_LOGIN_BATCH_MAX];
	bool bad = false;
	for (size_t k = 0; k < res.nrows; k++) {
		const struct sqlrow *row = &res.rows[k];
		uint64_t tag;
		if (row->ncols < 1 || row->cols[0] == NULL ||
		    str_parse_u64(row->cols[0], 0, n - 1, &tag) < 0) {
			bad = true;
			break;
		}
		if (count[tag]++ == 0)
			first[tag] = row;
	}
	for (size_t i = 0; i < n; i++) {
		if (bad) {
			r[i]->st = AUTHD_TEMPFAIL;
			continue;
		}
		if (count[i] >= EXTMAIL_LOGIN_BATCH_ROWS) {
			/* as q_user's own failure on its row limit */
			log_warning("authd: query failed (check the authd_* "
				    "column settings): more than 2 rows for "
				    "one login");
			r[i]->st = AUTHD_TEMPFAIL;
			continue;
		}
		/* the row without its tag: q_user's columns */
		if (count[i] > 0)
			view[i] = (struct sqlrow){first[i]->ncols - 1,
						  first[i]->cols + 1,
						  first[i]->lens + 1};
		r[i]->st = user_from_rows(cfg, count[i] > 0 ? &view[i] : NULL,
					  count[i], r[i]->u);
	}
	if (bad)
		log_warning("authd: user batch query returned a row without "
			    "its tag: refusing the batch");
	sqlresult_free(&res);
}

void authd_db_batch_init(struct authd_cfg *cfg)
{
	unsigned running = AUTHD_DB_BATCH_RUNNING;
	const char *e = getenv("YOUJU_AUTHD_USER_RUNNING"); /* XXX experiment */
	if (e != NULL && e[0] >= '1' && e[0] <= '8')
		running = (unsigned)(e[0] - '0');
	cfg->user_gather =
	    gather_new(EXTMAIL_LOGIN_BATCH_MAX, running, users_run, cfg);
}

void authd_db_batch_free(struct authd_cfg *cfg)
{
	unsigned long batches = 0, items = 0;
	if (cfg->user_gather == NULL)
		return;
	gather_stats(cfg->user_gather, &batches, &items);
	if (batches > 0)
		log_info("authd: user lookups: %lu in %lu queries (%.2f per "
			 "query)",
			 items, batches, (double)items / (double)batches);
	gather_free(&cfg->user_gather);
}

enum authd_status authd_db_user(struct authd_cfg *cfg, const char *login,
				struct authd_user *u_r)
{
	if (cfg->user_gather == NULL)
		return user_one(cfg, login, u_r);
	struct user_req r = {.login = login, .u = u_r, .st = AUTHD_TEMPFAIL};
	gather_submit(cfg->user_gather, &r.item);
	return r.st;
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
