/*
 * The ExtMail tables as one module (DESIGN §3, §6; extmail-compat.md):
 * the column lists of domain, mailbox, alias, manager and domain_manager
 * in ExtMail's order, access to a result row by column name (so a SELECT
 * list can change without breaking its readers), the quota format
 * (Maildir++ "NNNNS" strings in the tables, bytes everywhere else), and
 * validators for the names that become keys (domains, local parts).
 * Used by youju-webadmin and youju-authd (its user row, whose select list
 * follows the authd_*_field settings, is read by the names of
 * extmail_login_cols).
 */
#ifndef YOUJU_EXTMAIL_SQL_H
#define YOUJU_EXTMAIL_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqlpool.h"

/* NULL-terminated column lists, ExtMail's order (sql/schema.sql). */
extern const char *const extmail_domain_cols[];
extern const char *const extmail_mailbox_cols[];
extern const char *const extmail_alias_cols[];
extern const char *const extmail_manager_cols[];

/*
 * youju-authd's user query: its select list is built in this order
 * (authd/cfg.c: login..name are the columns the authd_*_field settings
 * name, domain_active and expired are computed), and its rows are read by
 * these names with extmail_col().
 */
extern const char *const extmail_login_cols[];
#define EXTMAIL_LOGIN_NCOLS 20

/*
 * Most logins youju-authd looks up in one statement (16: two MD5-crypt
 * evaluations of 8 lanes; with AUTHs parked instead of holding a worker,
 * batches of 8 filled, docs/authd.md), and the rows one login may have
 * before its lookup fails (its one-login query keeps 2: "several rows",
 * and fails on a third).
 */
#define EXTMAIL_LOGIN_BATCH_MAX	 16
#define EXTMAIL_LOGIN_BATCH_ROWS 3

/*
 * youju-authd's user lookup for n logins (2..EXTMAIL_LOGIN_BATCH_MAX) in
 * one statement:
 *   SELECT login = ?, ..., login = ?, <cols> FROM <table>
 *   WHERE login IN (?, ..., ?) [AND (<where>)]
 * Bind the n logins twice, in the same order: the first n columns of a row
 * tell which logins it is for (1 where the login matches), the rest is the
 * one-login query's row.  Each flag is the same comparison as the one-login
 * query's "login = ?" (the column's collation, trailing spaces), so every
 * login gets exactly the rows it would get alone, also when two logins of
 * a batch match the same row; the IN list lets MariaDB read all rows with
 * one index lookup each (bench/authd/sqlprobe.py: 8 logins cost it 26-29
 * us each against 87-91 us alone; one UNION ALL of 8 one-login queries
 * 34-38 us).  cols, table, login and where are the operator's configured
 * SQL (authd/cfg.c); no request byte is in the text.  Returns an owned
 * string (free), or NULL when n is out of range or the text would pass
 * 256 KiB.
 */
char *extmail_login_batch_query(const char *cols, const char *table,
				const char *login, const char *where,
				unsigned n);

/* The same lists as SELECT text (a unit test checks they agree). */
#define EXTMAIL_DOMAIN_SELECT                                                  \
	"domain, description, hashdirpath, maxalias, maxusers, maxquota, "     \
	"maxnetdiskquota, transport, can_signup, default_quota, "              \
	"default_netdiskquota, default_expire, disablesmtpd, disablesmtp, "    \
	"disablewebmail, disablenetdisk, disableimap, disablepop3, "           \
	"createdate, expiredate, active"
#define EXTMAIL_MAILBOX_SELECT                                                 \
	"username, uid, password, clearpwd, name, mailhost, maildir, "         \
	"homedir, quota, netdiskquota, domain, uidnumber, gidnumber, "         \
	"createdate, expiredate, active, disablepwdchange, disablesmtpd, "     \
	"disablesmtp, disablewebmail, disablenetdisk, disableimap, "           \
	"disablepop3, question, answer"
#define EXTMAIL_ALIAS_SELECT "address, goto, domain, createdate, active"
#define EXTMAIL_MANAGER_SELECT                                                 \
	"username, password, type, uid, name, question, answer, "              \
	"disablepwdchange, createdate, expiredate, active"
/* "?, ?, ..." for an INSERT of every column */
#define EXTMAIL_DOMAIN_MARKS                                                   \
	"?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
#define EXTMAIL_MAILBOX_MARKS                                                  \
	"?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "   \
	"?, ?, ?"
#define EXTMAIL_ALIAS_MARKS   "?, ?, ?, ?, ?"
#define EXTMAIL_MANAGER_MARKS "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"

#define EXTMAIL_DOMAIN_MAX  253
#define EXTMAIL_LOCAL_MAX   64
#define EXTMAIL_ADDRESS_MAX 255
/* largest quota accepted: 1 PiB in bytes */
#define EXTMAIL_QUOTA_MAX (UINT64_C(1) << 50)

/*
 * The value of column name in row, where cols lists the SELECT's columns
 * in order; NULL when SQL NULL or when name is not in cols (a programming
 * error that a test catches).  Borrowed from the row.
 */
const char *extmail_col(const char *const *cols, const struct sqlrow *row,
			const char *name);

/*
 * Parses a quota column ("104857600S", "104857600", "5000S,100C", "0",
 * "" or NULL) into bytes: the S part, or the bare number; 0 = unlimited
 * (as ExtMail: empty, zero or no S part).  Returns 0, or -1 when the text
 * is not a Maildir++ quota or is over EXTMAIL_QUOTA_MAX.
 */
int extmail_quota_bytes(const char *col, uint64_t *bytes_r);
/*
 * The same parse, both limits: bytes (the S part or the bare number) and
 * messages (the C part); 0 = no limit.  Returns 0, or -1 as above.
 */
int extmail_quota_parse(const char *col, uint64_t *bytes_r, uint64_t *msgs_r);
/*
 * A quota column as the Maildir++ definition a login result carries
 * ("104857600" -> "104857600S", "5000S,100C" as it is); NULL when there
 * is no limit (empty, zero, NULL) and also, with *bad_r set, when the
 * text is not a quota.  Owned: free().  bad_r may be NULL.
 */
char *extmail_quota_definition(const char *col, bool *bad_r);
/* Writes the table form of bytes: "NNNNS", or "0" for unlimited.  out
   must hold 24 bytes. */
void extmail_quota_format(uint64_t bytes, char *out);

/* A host name: LDH labels of 1..63 bytes, at least two labels, total at
   most 253, lower case only (callers lower-case first). */
bool extmail_domain_valid(const char *d);
/* A local part as webadmin accepts it: 1..64 of [a-z0-9._+-], lower case,
   no leading, trailing or double dot. */
bool extmail_local_valid(const char *l);
/* "YYYY-MM-DD" (a real date) or "0000-00-00" ("never"). */
bool extmail_date_valid(const char *s);

/*
 * Reads the one-line secret in path (first line, at most 1023 bytes):
 * refused unless a regular file that group and others cannot read (not
 * followed through a symlink).  Returns it (owned: wipe and free), or NULL
 * with *error_r and errno.
 */
char *extmail_read_secret(const char *path, const char **error_r);

#endif
