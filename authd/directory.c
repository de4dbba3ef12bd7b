/*
 * The domain directory (see directory.h).  The query is made from the
 * operator's column settings (authd_user_table, authd_login_field,
 * authd_name_field, authd_where_clause: SQL text from youju.cf, as in
 * cfg.c) plus ExtMail's own mailbox.domain and mailbox.active columns; the
 * domain is a bound value.  One row more than the limit is asked for, to
 * tell a full directory from a cut one.
 */
#include "directory.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "reply.h"

#define DIR_POOL_WAIT_MS 3000

/* Appends v up to its first control byte or comma (ExtMail's name
   column may hold "name,extra"), at most 200 bytes. */
static int append_name(struct buf *out, const char *v)
{
	size_t n = 0;
	while (v != NULL && v[n] != '\0' && v[n] != ',' &&
	       (unsigned char)v[n] >= 0x20 && v[n] != 0x7f && n < 200)
		n++;
	return n > 0 ? buf_append(out, v, n) : 0;
}

static bool word_ok(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

enum authd_status authd_directory(struct authd_cfg *cfg, const char *domain,
				  struct buf *out)
{
	bool active = false;
	enum authd_status st = authd_db_domain(cfg, domain, &active, NULL);
	if (st != AUTHD_FOUND)
		return st;
	if (!active)
		return AUTHD_NOTFOUND;
	const char *table = conf_str(cfg->conf, "authd_user_table");
	const char *login = conf_str(cfg->conf, "authd_login_field");
	const char *name = conf_str(cfg->conf, "authd_name_field");
	const char *where = conf_str(cfg->conf, "authd_where_clause");
	char q[4096];
	bool w = where[0] != '\0';
	int n = snprintf(q, sizeof q,
			 "SELECT %s, %s FROM %s WHERE domain = ? AND "
			 "active = 1%s%s%s ORDER BY %s LIMIT %u",
			 login, name[0] != '\0' ? name : "''", table,
			 w ? " AND (" : "", where, w ? ")" : "", login,
			 AUTHD_DIRECTORY_MAX + 1);
	if (n < 0 || (size_t)n >= sizeof q) {
		log_warning("authd: lookup directory: query too long");
		return AUTHD_TEMPFAIL;
	}
	const char *err = NULL;
	struct sqlconn *conn = sqlpool_get(cfg->pool, DIR_POOL_WAIT_MS, &err);
	if (conn == NULL) {
		log_warning("authd: database unavailable: %s",
			    err != NULL ? err : "no connection");
		return AUTHD_TEMPFAIL;
	}
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	const char *args[1] = {domain};
	enum sqlpool_status qs = sqlconn_query(
	    conn, q, args, 1, AUTHD_DIRECTORY_MAX + 1, &res, &err);
	sqlpool_put(cfg->pool, &conn, qs == SQL_TEMPFAIL);
	if (qs != SQL_OK) {
		log_warning("authd: lookup directory: query failed: %s",
			    err != NULL ? err : "?");
		sqlresult_free(&res);
		return AUTHD_TEMPFAIL;
	}
	st = AUTHD_FOUND;
	for (size_t i = 0; i < res.nrows && i < AUTHD_DIRECTORY_MAX; i++) {
		char *const *c = res.rows[i].cols;
		if (res.rows[i].ncols != 2 || !word_ok(c[0]) ||
		    strlen(c[0]) > 255)
			continue;
		if (buf_printf(out, "ENTRY=%s ", c[0]) < 0 ||
		    append_name(out, c[1]) < 0 ||
		    buf_append_char(out, '\n') < 0) {
			st = AUTHD_TEMPFAIL;
			break;
		}
	}
	if (st == AUTHD_FOUND && ((res.nrows > AUTHD_DIRECTORY_MAX &&
				   buf_append_str(out, "TRUNCATED=1\n") < 0) ||
				  buf_append_str(out, ".\n") < 0))
		st = AUTHD_TEMPFAIL;
	sqlresult_free(&res);
	return st;
}
