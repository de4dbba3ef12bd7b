/*
 * MariaDB connection pool on Connector/C.  A mutex and a condition variable
 * guard a stack of idle connections and the count of open ones; a thread
 * that finds none idle opens a new one (outside the lock) while fewer than
 * size are open, else waits on the condition until its deadline.  Queries
 * are prepared statements cached per connection, parameters and results
 * travel as strings.
 *
 * Failure model: MYSQL_OPT_RECONNECT stays off, because a silent reconnect
 * would lose session state and cached statements in the middle of a query.
 * Instead a query that fails for any reason other than the statement itself
 * reports SQL_TEMPFAIL and marks the connection broken; sqlpool_put() then
 * closes it and the next sqlpool_get() opens a fresh one.  Connect, read and
 * write timeouts bound every wait, so a frozen server costs at most
 * rw_timeout per query (Connector/C 3.x does not retry timed-out reads the
 * way old libmysqlclient did).
 *
 * Threads: mysql_library_init() runs once (pthread_once).  Every thread that
 * calls sqlpool_get() gets mysql_thread_init() on its first call, and a
 * thread-specific key calls mysql_thread_end() when the thread exits, so
 * worker threads need not do either themselves.
 *
 * Error strings handed out through error_r live in a thread-local buffer:
 * valid until the same thread's next sqlpool call, and still valid after the
 * connection is put back.
 */
#include "sqlpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "xalloc.h"

/* Prepared statements kept per connection; the least recently used goes. */
#define SQLPOOL_STMT_CACHE 32
/* Largest column value returned; a longer one is SQL_ERROR. */
#define SQLPOOL_COLUMN_MAX (1024 * 1024)
/* First buffer per column; longer values are fetched again in full. */
#define SQLPOOL_COLUMN_INITIAL 256
/* An idle connection older than this is pinged before it is handed out,
   so a server restart costs no failed query. */
#define SQLPOOL_IDLE_PING_SECS 5
/* Used when opts leave a timeout at 0 (which libmariadb reads as "none"). */
#define SQLPOOL_DEFAULT_CONNECT_TIMEOUT 5
#define SQLPOOL_DEFAULT_RW_TIMEOUT	10

struct stmt_entry {
	char *query; /* owned; NULL: slot free */
	MYSQL_STMT *stmt;
	uint64_t last_use;
};

struct sqlconn {
	MYSQL *my;
	struct stmt_entry stmts[SQLPOOL_STMT_CACHE];
	uint64_t use_clock;
	time_t idle_since;    /* CLOCK_MONOTONIC seconds */
	bool broken;	      /* a query hit a connection-level failure */
	unsigned last_errno;  /* MySQL error code of the last failure */
	struct sqlconn *next; /* idle stack link */
};

struct sqlpool {
	char *host, *socket, *user, *password, *database;
	unsigned port, size, connect_timeout, rw_timeout;

	pthread_mutex_t lock;
	pthread_cond_t freed; /* a connection went idle or was closed */
	struct sqlconn *idle;
	unsigned open; /* connections idle or checked out */
};

static pthread_once_t sqlpool_once = PTHREAD_ONCE_INIT;
static pthread_key_t sqlpool_thread_key;
static int sqlpool_lib_ok;

static _Thread_local char sqlpool_errbuf[512];

__attribute__((format(printf, 1, 2))) static const char *
set_error(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sqlpool_errbuf, sizeof(sqlpool_errbuf), fmt, ap);
	va_end(ap);
	if (n < 0)
		sqlpool_errbuf[0] = '\0';
	/* truncation is harmless: the buffer is always NUL-terminated */
	return sqlpool_errbuf;
}

static void thread_end(void *unused)
{
	mysql_thread_end();
}

static void library_init(void)
{
	if (mysql_library_init(0, NULL, NULL) != 0)
		return;
	if (pthread_key_create(&sqlpool_thread_key, thread_end) != 0)
		return;
	sqlpool_lib_ok = 1;
}

/* Library and per-thread set-up.  Returns 0 or -1. */
static int thread_setup(void)
{
	static const int marker = 1;

	if (pthread_once(&sqlpool_once, library_init) != 0 || !sqlpool_lib_ok)
		return -1;
	if (pthread_getspecific(sqlpool_thread_key) != NULL)
		return 0;
	if (mysql_thread_init() != 0)
		return -1;
	if (pthread_setspecific(sqlpool_thread_key, &marker) != 0) {
		mysql_thread_end();
		return -1;
	}
	return 0;
}

static time_t mono_secs(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return ts.tv_sec;
}

static char *dup_opt(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

struct sqlpool *sqlpool_new(const struct sqlpool_opts *opts)
{
	struct sqlpool *pool = xcalloc(1, sizeof(*pool));
	pthread_condattr_t attr;

	pool->host = dup_opt(opts->host);
	pool->socket = dup_opt(opts->socket);
	pool->user = dup_opt(opts->user);
	pool->password = dup_opt(opts->password);
	pool->database = dup_opt(opts->database);
	pool->port = opts->port;
	pool->size = opts->size > 0 ? opts->size : 1;
	pool->connect_timeout = opts->connect_timeout > 0
				    ? opts->connect_timeout
				    : SQLPOOL_DEFAULT_CONNECT_TIMEOUT;
	pool->rw_timeout = opts->rw_timeout > 0 ? opts->rw_timeout
						: SQLPOOL_DEFAULT_RW_TIMEOUT;

	if (pthread_mutex_init(&pool->lock, NULL) != 0)
		abort();
	/* a monotonic clock so wait_ms survives changes of the wall clock */
	if (pthread_condattr_init(&attr) != 0 ||
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&pool->freed, &attr) != 0)
		abort();
	pthread_condattr_destroy(&attr);
	return pool;
}

static void conn_close(struct sqlconn *c)
{
	for (size_t i = 0; i < SQLPOOL_STMT_CACHE; i++) {
		if (c->stmts[i].query == NULL)
			continue;
		/* mysql_stmt_close on a dead link returns an error but still
		   frees the handle; there is nothing more to do with it */
		(void)mysql_stmt_close(c->stmts[i].stmt);
		free(c->stmts[i].query);
	}
	if (c->my != NULL)
		mysql_close(c->my);
	free(c);
}

void sqlpool_free(struct sqlpool **poolp)
{
	struct sqlpool *pool = *poolp;

	if (pool == NULL)
		return;
	/* connections still checked out are the caller's bug; they leak
	   rather than being freed under a thread that uses them */
	while (pool->idle != NULL) {
		struct sqlconn *c = pool->idle;
		pool->idle = c->next;
		conn_close(c);
	}
	pthread_cond_destroy(&pool->freed);
	pthread_mutex_destroy(&pool->lock);
	free(pool->host);
	free(pool->socket);
	free(pool->user);
	free_secret(&pool->password);
	free(pool->database);
	free(pool);
	*poolp = NULL;
}

/* Opens a new connection.  Returns it, or NULL with *error_r. */
static struct sqlconn *conn_open(struct sqlpool *pool, const char **error_r)
{
	struct sqlconn *c;
	MYSQL *my = mysql_init(NULL);
	my_bool off = 0;
	unsigned int ct = pool->connect_timeout, rw = pool->rw_timeout;
	unsigned int no_local = 0;
	const char *host = pool->host;

	if (my == NULL) {
		*error_r = set_error("mysql_init failed");
		return NULL;
	}
	if (mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &ct) != 0 ||
	    mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &rw) != 0 ||
	    mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &rw) != 0 ||
	    mysql_options(my, MYSQL_OPT_RECONNECT, &off) != 0 ||
	    mysql_options(my, MYSQL_OPT_LOCAL_INFILE, &no_local) != 0 ||
	    mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0) {
		*error_r =
		    set_error("cannot set MySQL options: %s", mysql_error(my));
		mysql_close(my);
		return NULL;
	}
	if (host != NULL && host[0] == '\0')
		host = NULL; /* "localhost": the Unix socket */
	if (mysql_real_connect(my, host, pool->user, pool->password,
			       pool->database, pool->port, pool->socket,
			       0) == NULL) {
		*error_r = set_error("cannot connect to MySQL server: %s (%u)",
				     mysql_error(my), mysql_errno(my));
		mysql_close(my);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->my = my;
	return c;
}

/* Adds ms milliseconds to now on CLOCK_MONOTONIC. */
static struct timespec deadline_after(unsigned ms)
{
	struct timespec ts = {0, 0};

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		abort();
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Called with the lock held: one fewer connection open. */
static void pool_forget_locked(struct sqlpool *pool)
{
	pool->open--;
	pthread_cond_signal(&pool->freed);
}

struct sqlconn *sqlpool_get(struct sqlpool *pool, unsigned wait_ms,
			    const char **error_r)
{
	struct timespec deadline = deadline_after(wait_ms);
	struct sqlconn *c = NULL;

	if (thread_setup() < 0) {
		*error_r = set_error("cannot initialise the MySQL library");
		return NULL;
	}
	pthread_mutex_lock(&pool->lock);
	while (pool->idle == NULL && pool->open >= pool->size) {
		int e = pthread_cond_timedwait(&pool->freed, &pool->lock,
					       &deadline);
		if (e == ETIMEDOUT && pool->idle == NULL &&
		    pool->open >= pool->size) {
			pthread_mutex_unlock(&pool->lock);
			*error_r = set_error(
			    "no free MySQL connection within %u ms", wait_ms);
			return NULL;
		}
	}
	if (pool->idle != NULL) {
		c = pool->idle;
		pool->idle = c->next;
		c->next = NULL;
		pthread_mutex_unlock(&pool->lock);
		if (mono_secs() - c->idle_since < SQLPOOL_IDLE_PING_SECS ||
		    mysql_ping(c->my) == 0)
			return c;
		/* it died while idle (server restart, wait_timeout): open a
		   fresh one in its slot */
		conn_close(c);
	} else {
		/* reserve a slot, then connect without holding the lock */
		pool->open++;
		pthread_mutex_unlock(&pool->lock);
	}
	c = conn_open(pool, error_r);
	if (c != NULL)
		return c;
	pthread_mutex_lock(&pool->lock);
	pool_forget_locked(pool);
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

void sqlpool_put(struct sqlpool *pool, struct sqlconn **connp, bool broken)
{
	struct sqlconn *c = *connp;

	if (c == NULL)
		return;
	*connp = NULL;
	if (broken || c->broken) {
		conn_close(c);
		pthread_mutex_lock(&pool->lock);
		pool_forget_locked(pool);
		pthread_mutex_unlock(&pool->lock);
		return;
	}
	c->idle_since = mono_secs();
	pthread_mutex_lock(&pool->lock);
	c->next = pool->idle;
	pool->idle = c;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

void sqlresult_free(struct sqlresult *res)
{
	if (res == NULL)
		return;
	for (size_t r = 0; r < res->nrows; r++) {
		struct sqlrow *row = &res->rows[r];
		for (size_t i = 0; i < row->ncols; i++) {
			/* results may hold password hashes */
			if (row->cols[i] != NULL) {
				explicit_bzero(row->cols[i], row->lens[i]);
				free(row->cols[i]);
			}
		}
		free(row->cols);
		free(row->lens);
	}
	free(res->rows);
	res->rows = NULL;
	res->nrows = 0;
	res->affected = 0;
}

/*
 * Server errors that are the statement's own fault: retrying cannot help
 * and the server is fine.  Everything else (client errors, timeouts, lock
 * waits, deadlocks, shutdown, too many connections, access denied, and any
 * code not listed) is a temporary failure: an outage must never look like
 * "not found" or "wrong query".
 */
static bool statement_fault(unsigned code)
{
	switch (code) {
	case ER_PARSE_ERROR:
	case ER_SYNTAX_ERROR:
	case ER_EMPTY_QUERY:
	case ER_BAD_FIELD_ERROR:
	case ER_NO_SUCH_TABLE:
	case ER_BAD_TABLE_ERROR:
	case ER_UNKNOWN_TABLE:
	case ER_BAD_DB_ERROR:
	case ER_NO_DB_ERROR:
	case ER_NON_UNIQ_ERROR:
	case ER_WRONG_FIELD_WITH_GROUP:
	case ER_WRONG_VALUE_COUNT:
	case ER_WRONG_VALUE_COUNT_ON_ROW:
	case ER_WRONG_ARGUMENTS:
	case ER_WRONG_PARAMCOUNT_TO_PROCEDURE:
	case ER_SP_DOES_NOT_EXIST:
	case ER_SP_WRONG_NO_OF_ARGS:
	case ER_UNSUPPORTED_PS:
	case ER_OPERAND_COLUMNS:
	case ER_SUBQUERY_NO_1_ROW:
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
	case ER_DUP_FIELDNAME:
	case ER_DUP_KEYNAME:
	case ER_TABLE_EXISTS_ERROR:
	case ER_DB_CREATE_EXISTS:
	case ER_DB_DROP_EXISTS:
	case ER_CANT_DROP_FIELD_OR_KEY:
	case ER_BAD_NULL_ERROR:
	case ER_NO_DEFAULT_FOR_FIELD:
	case ER_DATA_TOO_LONG:
	case ER_TRUNCATED_WRONG_VALUE:
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
	case ER_WARN_DATA_OUT_OF_RANGE:
	case ER_DIVISION_BY_ZERO:
	case ER_ROW_IS_REFERENCED:
	case ER_ROW_IS_REFERENCED_2:
	case ER_NO_REFERENCED_ROW:
	case ER_NO_REFERENCED_ROW_2:
	case ER_INVALID_CHARACTER_STRING:
	case ER_CANT_AGGREGATE_2COLLATIONS:
	case ER_CANT_AGGREGATE_3COLLATIONS:
	case ER_CONSTRAINT_FAILED:
	case ER_FIELD_SPECIFIED_TWICE:
	case ER_UPDATE_TABLE_USED:
	case ER_TOO_LONG_IDENT:
	case ER_TOO_BIG_FIELDLENGTH:
	case ER_WRONG_FIELD_SPEC:
	case ER_WRONG_COLUMN_NAME:
	case ER_WRONG_TABLE_NAME:
	case ER_WRONG_DB_NAME:
	case ER_FUNCTION_NOT_DEFINED:
	case ER_WRONG_TYPE_FOR_VAR:
	case ER_UNKNOWN_SYSTEM_VARIABLE:
		return true;
	default:
		return false;
	}
}

/*
 * Classifies the statement's error and marks the connection broken unless
 * the statement is at fault.
 */
static enum sqlpool_status stmt_failed(struct sqlconn *c, MYSQL_STMT *stmt,
				       const char *what, const char **error_r)
{
	unsigned code =
	    stmt != NULL ? mysql_stmt_errno(stmt) : mysql_errno(c->my);
	const char *msg =
	    stmt != NULL ? mysql_stmt_error(stmt) : mysql_error(c->my);

	*error_r = set_error("MySQL %s failed: %s (%u)", what, msg, code);
	c->last_errno = code;
	if (code != 0 && statement_fault(code))
		return SQL_ERROR;
	c->broken = true;
	return SQL_TEMPFAIL;
}

/* Drops cache slot i (closing its statement). */
static void stmt_evict(struct sqlconn *c, size_t i)
{
	(void)mysql_stmt_close(c->stmts[i].stmt);
	free(c->stmts[i].query);
	c->stmts[i].query = NULL;
	c->stmts[i].stmt = NULL;
}

/*
 * Finds or prepares query.  Returns the statement, or NULL with *status_r
 * and *error_r.
 */
static MYSQL_STMT *stmt_get(struct sqlconn *c, const char *query,
			    enum sqlpool_status *status_r, const char **error_r)
{
	size_t slot = 0, i;
	MYSQL_STMT *stmt;

	for (i = 0; i < SQLPOOL_STMT_CACHE; i++) {
		if (c->stmts[i].query != NULL &&
		    strcmp(c->stmts[i].query, query) == 0) {
			c->stmts[i].last_use = ++c->use_clock;
			return c->stmts[i].stmt;
		}
	}
	/* a free slot, else the least recently used one */
	for (i = 0; i < SQLPOOL_STMT_CACHE; i++) {
		if (c->stmts[i].query == NULL) {
			slot = i;
			break;
		}
		if (c->stmts[i].last_use < c->stmts[slot].last_use)
			slot = i;
	}
	if (c->stmts[slot].query != NULL)
		stmt_evict(c, slot);

	stmt = mysql_stmt_init(c->my);
	if (stmt == NULL) {
		*status_r = stmt_failed(c, NULL, "statement init", error_r);
		return NULL;
	}
	if (mysql_stmt_prepare(stmt, query, strlen(query)) != 0) {
		*status_r = stmt_failed(c, stmt, "prepare", error_r);
		(void)mysql_stmt_close(stmt);
		return NULL;
	}
	c->stmts[slot].query = xstrdup(query);
	c->stmts[slot].stmt = stmt;
	c->stmts[slot].last_use = ++c->use_clock;
	return stmt;
}

/* Binds args as strings (NULL entries as SQL NULL). */
static int bind_params(MYSQL_STMT *stmt, const char *const *args, size_t nargs,
		       MYSQL_BIND *bind, unsigned long *lens)
{
	for (size_t i = 0; i < nargs; i++) {
		memset(&bind[i], 0, sizeof(bind[i]));
		if (args[i] == NULL) {
			bind[i].buffer_type = MYSQL_TYPE_NULL;
			continue;
		}
		lens[i] = (unsigned long)strlen(args[i]);
		bind[i].buffer_type = MYSQL_TYPE_STRING;
		bind[i].buffer = (void *)args[i]; /* only read */
		bind[i].buffer_length = lens[i];
		bind[i].length = &lens[i];
	}
	return nargs > 0 && mysql_stmt_bind_param(stmt, bind) ? -1 : 0;
}

struct colbuf {
	char *buf;
	unsigned long cap;
	unsigned long len;
	my_bool is_null;
	my_bool error;
};

/*
 * Copies column i of the current row into row (fetching it again in full
 * when the first buffer was too small).  Returns 0, or -1 with *error_r:
 * *status_r SQL_ERROR when the value passes the maximum, else TEMPFAIL.
 */
static int take_column(struct sqlconn *c, MYSQL_STMT *stmt, struct colbuf *cb,
		       unsigned i, struct sqlrow *row,
		       enum sqlpool_status *status_r, const char **error_r)
{
	MYSQL_BIND b;
	char *v;

	if (cb->is_null) {
		row->cols[i] = NULL;
		row->lens[i] = 0;
		return 0;
	}
	if (cb->len > SQLPOOL_COLUMN_MAX) {
		*error_r = set_error("MySQL column %u longer than %d bytes", i,
				     SQLPOOL_COLUMN_MAX);
		*status_r = SQL_ERROR;
		return -1;
	}
	if (cb->len < cb->cap) {
		row->cols[i] = xmemdup0(cb->buf, cb->len);
		row->lens[i] = cb->len;
		return 0;
	}
	/* truncated: fetch the whole value into a buffer of its size */
	v = xmalloc((size_t)cb->len + 1);
	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_STRING;
	b.buffer = v;
	b.buffer_length = cb->len + 1;
	unsigned long got = 0;
	b.length = &got;
	if (mysql_stmt_fetch_column(stmt, &b, i, 0) != 0) {
		free(v);
		*status_r = stmt_failed(c, stmt, "fetch column", error_r);
		return -1;
	}
	if (got != cb->len) {
		free(v);
		*error_r = set_error("MySQL column %u changed length", i);
		c->broken = true;
		*status_r = SQL_TEMPFAIL;
		return -1;
	}
	v[got] = '\0';
	row->cols[i] = v;
	row->lens[i] = got;
	return 0;
}

/* Reads every row of the open result set into res. */
static enum sqlpool_status fetch_rows(struct sqlconn *c, MYSQL_STMT *stmt,
				      MYSQL_RES *meta, size_t max_rows,
				      struct sqlresult *res,
				      const char **error_r)
{
	unsigned ncols = mysql_num_fields(meta);
	struct colbuf *cbs = xcalloc(ncols ? ncols : 1, sizeof(*cbs));
	MYSQL_BIND *bind = xcalloc(ncols ? ncols : 1, sizeof(*bind));
	enum sqlpool_status status = SQL_OK;
	size_t cap = 0;

	for (unsigned i = 0; i < ncols; i++) {
		cbs[i].cap = SQLPOOL_COLUMN_INITIAL;
		cbs[i].buf = xmalloc(cbs[i].cap);
		bind[i].buffer_type = MYSQL_TYPE_STRING;
		bind[i].buffer = cbs[i].buf;
		bind[i].buffer_length = cbs[i].cap;
		bind[i].length = &cbs[i].len;
		bind[i].is_null = &cbs[i].is_null;
		bind[i].error = &cbs[i].error;
	}
	if (mysql_stmt_bind_result(stmt, bind) != 0) {
		status = stmt_failed(c, stmt, "bind result", error_r);
		goto out;
	}
	for (;;) {
		int rc = mysql_stmt_fetch(stmt);
		struct sqlrow *row;

		if (rc == MYSQL_NO_DATA)
			break;
		if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) {
			status = stmt_failed(c, stmt, "fetch", error_r);
			goto out;
		}
		if (res->nrows >= max_rows) {
			*error_r = set_error("MySQL query returned more than "
					     "%zu rows",
					     max_rows);
			status = SQL_ERROR;
			goto out;
		}
		if (res->nrows == cap) {
			cap = cap ? cap * 2 : 4;
			if (cap > max_rows)
				cap = max_rows;
			res->rows =
			    xrealloc(res->rows, cap * sizeof(*res->rows));
		}
		row = &res->rows[res->nrows++];
		row->ncols = ncols;
		row->cols = xcalloc(ncols ? ncols : 1, sizeof(*row->cols));
		row->lens = xcalloc(ncols ? ncols : 1, sizeof(*row->lens));
		for (unsigned i = 0; i < ncols; i++) {
			if (take_column(c, stmt, &cbs[i], i, row, &status,
					error_r) < 0)
				goto out;
		}
	}
out:
	for (unsigned i = 0; i < ncols; i++) {
		explicit_bzero(cbs[i].buf, cbs[i].cap);
		free(cbs[i].buf);
	}
	free(cbs);
	free(bind);
	return status;
}

enum sqlpool_status sqlconn_query(struct sqlconn *c, const char *query,
				  const char *const *args, size_t nargs,
				  size_t max_rows, struct sqlresult *res_r,
				  const char **error_r)
{
	enum sqlpool_status status = SQL_OK;
	MYSQL_STMT *stmt;
	MYSQL_RES *meta;
	MYSQL_BIND *bind = NULL;
	unsigned long *lens = NULL;

	memset(res_r, 0, sizeof(*res_r));
	if (c->broken) {
		*error_r = set_error("MySQL connection is broken");
		return SQL_TEMPFAIL;
	}
	stmt = stmt_get(c, query, &status, error_r);
	if (stmt == NULL)
		return status;
	if (mysql_stmt_param_count(stmt) != nargs) {
		*error_r = set_error("MySQL query takes %lu parameters, not "
				     "%zu",
				     mysql_stmt_param_count(stmt), nargs);
		return SQL_ERROR;
	}
	if (nargs > 0) {
		bind = xcalloc(nargs, sizeof(*bind));
		lens = xcalloc(nargs, sizeof(*lens));
	}
	if (bind_params(stmt, args, nargs, bind, lens) < 0) {
		status = stmt_failed(c, stmt, "bind", error_r);
		goto out;
	}
	if (mysql_stmt_execute(stmt) != 0) {
		status = stmt_failed(c, stmt, "execute", error_r);
		goto out;
	}
	meta = mysql_stmt_result_metadata(stmt);
	if (meta == NULL) {
		if (mysql_stmt_errno(stmt) != 0) {
			status = stmt_failed(c, stmt, "metadata", error_r);
			goto out;
		}
		/* no result set: INSERT, UPDATE, DELETE, DDL */
		res_r->affected = mysql_stmt_affected_rows(stmt);
		if (res_r->affected == (uint64_t)-1)
			res_r->affected = 0;
		goto out;
	}
	status = fetch_rows(c, stmt, meta, max_rows, res_r, error_r);
	mysql_free_result(meta);
	/* discards unread rows (more than max_rows), keeping the protocol
	   in step for the next statement */
	if (!c->broken && mysql_stmt_free_result(stmt) != 0 && status == SQL_OK)
		status = stmt_failed(c, stmt, "free result", error_r);
	if (status != SQL_OK)
		sqlresult_free(res_r);
out:
	free(bind);
	free(lens);
	return status;
}

unsigned sqlconn_last_errno(const struct sqlconn *c)
{
	return c->last_errno;
}

bool sqlconn_is_duplicate(const struct sqlconn *c)
{
	return c->last_errno == ER_DUP_ENTRY ||
	       c->last_errno == ER_DUP_ENTRY_WITH_KEY_NAME;
}

/* mysql_autocommit/commit/rollback are the C API's transaction calls:
   no SQL text, so nothing to prepare */
enum sqlpool_status sqlconn_begin(struct sqlconn *c, const char **error_r)
{
	if (mysql_autocommit(c->my, 0) != 0)
		return stmt_failed(c, NULL, "begin", error_r);
	return SQL_OK;
}

enum sqlpool_status sqlconn_commit(struct sqlconn *c, const char **error_r)
{
	if (mysql_commit(c->my) != 0) {
		enum sqlpool_status st =
		    stmt_failed(c, NULL, "commit", error_r);
		(void)mysql_rollback(c->my);
		(void)mysql_autocommit(c->my, 1);
		return st;
	}
	if (mysql_autocommit(c->my, 1) != 0)
		return stmt_failed(c, NULL, "autocommit", error_r);
	return SQL_OK;
}

void sqlconn_rollback(struct sqlconn *c)
{
	if (mysql_rollback(c->my) != 0 || mysql_autocommit(c->my, 1) != 0)
		c->broken = true; /* closed on put: the server rolls back */
}
