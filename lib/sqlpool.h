/*
 * A pool of MariaDB/MySQL connections shared by worker threads, for the
 * programs that hold database credentials (youju-authd, youju-webadmin).
 * Connections are opened lazily, checked out one per thread, re-opened after
 * a server restart, and every connect, read and write has a timeout so a
 * frozen server becomes a temporary failure within bounded time.  Only
 * prepared statements are offered: no SQL is ever built from input.
 */
#ifndef YOUJU_SQLPOOL_H
#define YOUJU_SQLPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sqlpool_opts {
	const char *host;   /* NULL or "" with socket: local socket */
	unsigned port;	    /* 0: default */
	const char *socket; /* Unix socket path, or NULL */
	const char *user;
	const char *password;
	const char *database;
	unsigned size;		  /* most connections open at once */
	unsigned connect_timeout; /* seconds */
	unsigned rw_timeout;	  /* seconds, per read and per write */
};

struct sqlpool;
struct sqlconn;

/* Copies opts (strings included).  Connects nothing yet. */
struct sqlpool *sqlpool_new(const struct sqlpool_opts *opts);
void sqlpool_free(struct sqlpool **pool);

/*
 * Takes a connection, waiting at most wait_ms for one to be free; connects it
 * if needed.  Returns NULL (temporary failure, reason in *error_r) when none
 * can be had in time or the server is down.
 */
struct sqlconn *sqlpool_get(struct sqlpool *pool, unsigned wait_ms,
			    const char **error_r);
/* Gives it back; broken = the connection failed and must be closed. */
void sqlpool_put(struct sqlpool *pool, struct sqlconn **conn, bool broken);

/* Values bound to '?' placeholders, all passed as strings (or NULL). */
struct sqlrow {
	size_t ncols;
	char **cols; /* NUL-terminated values, NULL for SQL NULL */
	size_t *lens;
};

/*
 * Result of a query: rows owned by the result.  For statements that change
 * rows, affected holds the count.
 */
struct sqlresult {
	size_t nrows;
	struct sqlrow *rows;
	uint64_t affected;
};
void sqlresult_free(struct sqlresult *res);

enum sqlpool_status {
	SQL_OK = 0,
	SQL_TEMPFAIL = -1, /* connection lost, timeout, server error: retry */
	SQL_ERROR = -2,	   /* the statement is wrong (syntax, unknown column) */
};

/*
 * Runs query (with '?' placeholders) as a prepared statement bound to the
 * nargs string args (NULL entries bind SQL NULL).  Statements are prepared
 * once per connection and cached by text.  At most max_rows rows are kept
 * (more is SQL_ERROR).  On SQL_TEMPFAIL the connection should be put back
 * with broken = true.  *error_r gets a message on failure.
 */
enum sqlpool_status sqlconn_query(struct sqlconn *conn, const char *query,
				  const char *const *args, size_t nargs,
				  size_t max_rows, struct sqlresult *res_r,
				  const char **error_r);

/* The MySQL error code of the connection's last failed statement (0:
   none), and whether it was a duplicate key (ER_DUP_ENTRY). */
unsigned sqlconn_last_errno(const struct sqlconn *conn);
bool sqlconn_is_duplicate(const struct sqlconn *conn);

/*
 * Transactions (InnoDB): begin turns autocommit off; commit commits and
 * turns it on again (on failure it rolls back); rollback undoes and turns
 * it on (a connection where that fails is closed when put back).  Put a
 * connection back only outside a transaction.
 */
enum sqlpool_status sqlconn_begin(struct sqlconn *conn, const char **error_r);
enum sqlpool_status sqlconn_commit(struct sqlconn *conn, const char **error_r);
void sqlconn_rollback(struct sqlconn *conn);

#endif
