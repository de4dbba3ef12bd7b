/*
 * mysql: lookup tables run by youju-authd for youju-mta (MAPLOOKUP,
 * docs/authd-protocol.md §3).  youju-mta holds no database credentials
 * (DESIGN §3), so a Postfix "check_sender_access mysql:/etc/x.cf" is sent
 * here.  This module reads mysql_table(5) files, turns their query into a
 * prepared statement (each %s %u %d %1..%9 expansion becomes a '?' bound
 * to that part of the key; no key byte ever reaches the SQL text), applies
 * result_format, domain and expansion_limit as Postfix does, and keeps the
 * allow-list: the mysql:PATH words found in youju.cf's values, read when
 * the daemon starts and on SIGHUP.  No other path is ever opened on a
 * client's request.  hosts, user, password and dbname are not used: the
 * query runs on authd's own connection (mysql_* parameters).
 */
#ifndef AUTHD_SQLMAP_H
#define AUTHD_SQLMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "sqlpool.h"

/* Biggest .cf file read, and longest logical line in it. */
#define SQLMAP_FILE_MAX (64 * 1024)
#define SQLMAP_LINE_MAX 8192
/* Longest key looked up (youju-mta's MAP_KEY_MAX). */
#define SQLMAP_KEY_MAX 1024
/* Longest path of a table. */
#define SQLMAP_PATH_MAX 1024
/* Most placeholders in one query. */
#define SQLMAP_ARGS_MAX 32
/* Longest joined result, and most result values kept. */
#define SQLMAP_VALUE_MAX 4096
#define SQLMAP_ROWS_MAX	 1000
/* Most tables in the allow-list. */
#define SQLMAP_SET_MAX 256

/* One parsed mysql_table(5) file. */
struct sqlmap {
	char *path;
	char *query; /* with '?' placeholders */
	/* what each '?' binds, in order: 's' the key, 'u' its local part,
	   'd' its domain, '1'..'9' a label of the domain (1 = rightmost) */
	char args[SQLMAP_ARGS_MAX];
	size_t nargs;
	char *result_format; /* "%s" by default */
	char **domains;	     /* domain = list (lower case), or none */
	size_t ndomains;
	unsigned expansion_limit; /* 0: none */
	/* what the key must have for the lookup to run at all (from the
	   query and result_format): a local part, a domain, n labels */
	bool need_local, need_domain;
	unsigned need_labels;
	/* kept only to warn when they differ from authd's own */
	char *hosts, *user, *dbname;
	bool has_password;
};

/*
 * Parses a mysql_table(5) file's text (main.cf syntax: "name = value",
 * '#' comments, continuation lines start with white space).  path names the
 * table in messages.  Returns the table (free with sqlmap_free) or NULL
 * with a message in err (errsz bytes), e.g. "line 3: no query".  The
 * password, when there is one, is not kept (has_password says so).
 */
struct sqlmap *sqlmap_parse(const char *path, const char *text, size_t len,
			    char *err, size_t errsz);
void sqlmap_free(struct sqlmap **m);

/*
 * Converts a Postfix query template to a prepared statement: "%s" etc.
 * become '?' (a quoted '%s' loses its quotes; a quoted literal mixing text
 * and expansions, such as '%u@%d', becomes CONCAT('...', ?, ...)), "%%"
 * becomes '%'.  The expansion letters go to args (*nargs_r of them, at most
 * SQLMAP_ARGS_MAX).  Refuses a '?' outside string literals, an unknown
 * %-letter, an expansion inside a `quoted` identifier and an unclosed
 * quote.  Returns 0, or -1 with err set.
 */
int sqlmap_convert_query(const char *query, struct buf *out, char *args,
			 size_t *nargs_r, char *err, size_t errsz);

/* The parts of one key, NUL-terminated copies in mem. */
struct sqlmap_key {
	char mem[3 * (SQLMAP_KEY_MAX + 1)];
	const char *key, *local, *domain; /* local, domain: NULL w/o '@' */
	const char *labels[9];		  /* labels[0] = %1 */
	unsigned nlabels;
};

/*
 * Splits key for m.  Returns true when the lookup should run, false when
 * Postfix suppresses it (not found): the domain list does not match, or
 * the key lacks a part the query or result_format needs.  args_r gets the
 * nargs values to bind (pointing into k).
 */
bool sqlmap_bind(const struct sqlmap *m, const char *key, struct sqlmap_key *k,
		 const char **args_r);

/*
 * Appends one result value formatted with result_format to out, after a
 * ',' when out is not empty.  Returns 1 appended, 0 skipped (NULL or empty
 * value, or no part that %u / %d need), -1 too long.
 */
int sqlmap_format(const struct sqlmap *m, const struct sqlmap_key *k,
		  const char *value, struct buf *out);

enum sqlmap_status {
	SQLMAP_FOUND = 1,
	SQLMAP_NOTFOUND = 0,
	SQLMAP_TEMPFAIL = -1,
};

/*
 * Runs m for key on a connection of pool (waiting at most wait_ms for
 * one).  On SQLMAP_FOUND the joined value (at most SQLMAP_VALUE_MAX bytes,
 * CR, LF and other control bytes turned into spaces) is in val (valsz
 * bytes).  *error_r gets the reason of a SQLMAP_TEMPFAIL.
 */
enum sqlmap_status sqlmap_lookup(const struct sqlmap *m, struct sqlpool *pool,
				 unsigned wait_ms, const char *key, char *val,
				 size_t valsz, const char **error_r);

/* ------------------------------------------------------- the allow-list */

struct sqlmap_set;

/* What authd itself connects with, for the "differs" warnings. */
struct sqlmap_db {
	const char *host, *socket, *user, *dbname, *password;
};

/*
 * Builds the allow-list from the configuration file conf_path: every
 * "mysql:/path" word in the value of any parameter youju knows.  Each
 * file is read and parsed; a file that cannot be read because authd has
 * dropped root (EACCES) keeps its parse from old (the set in use, may be
 * NULL).  A file that fails (missing, bad, or holding a password while
 * group or others may read it, or writable by group or others) stays in
 * the set as broken: its lookups are temporary failures.  Problems are
 * logged.  Never NULL.
 */
struct sqlmap_set *sqlmap_set_load(const char *conf_path,
				   const struct sqlmap_db *db,
				   const struct sqlmap_set *old);
void sqlmap_set_free(struct sqlmap_set **s);
/* Number of tables (broken ones included). */
size_t sqlmap_set_count(const struct sqlmap_set *s);

/*
 * Finds path in the set.  Returns 1 with *m_r (borrowed until the set is
 * freed), 0 when path is in the set but broken (*error_r says why), -1
 * when path is not in the set.
 */
int sqlmap_set_find(const struct sqlmap_set *s, const char *path,
		    const struct sqlmap **m_r, const char **error_r);

/*
 * Reads and parses one file as sqlmap_set_load does (permission rules
 * included).  NULL with err set; *eacces_r tells an EACCES open failure.
 */
struct sqlmap *sqlmap_load_file(const char *path, char *err, size_t errsz,
				bool *eacces_r);

#endif
