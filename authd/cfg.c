/*
 * Configuration of youju-authd (see cfg.h).  The user query mirrors the one
 * courier's authmysql builds from authmysqlrc (reference/authd-protocol.md
 * §5.2): column names come from authd_*_field, authd_where_clause is ANDed
 * in verbatim, and the login is the only value bound, always as a '?'
 * placeholder.  The column and where-clause texts are operator-written SQL
 * (like MYSQL_*_FIELD and MYSQL_WHERE_CLAUSE); no request byte ever reaches
 * the SQL text.  ExtMail's own columns (disable*, active, domain) are used
 * as they are named in extmail.sql.
 */
#include "cfg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "confbind.h"
#include "db.h"
#include "extmail_sql.h"
#include "file.h"
#include "str.h"
#include "xalloc.h"

static const char *field_or_empty(const char *f)
{
	return f != NULL && f[0] != '\0' ? f : "''";
}

static char *build(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *build(const char *fmt, ...)
{
	struct buf b;
	buf_init(&b, 65536);
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		buf_deinit(&b);
		return NULL;
	}
	char *s = xstrdup(buf_cstr(&b));
	buf_deinit(&b);
	return s;
}

/* The settings of youju.cf a cfg holds (lib/confbind). */
#define B(kind, name, field) CONF_BIND(kind, name, struct authd_cfg, field)
static const struct conf_bind cfg_binds[] = {
    B(CONF_B_STR, "authd_socket", socket_path),
    B(CONF_B_STR, "run_directory", run_directory),
    B(CONF_B_STR, "mail_owner", mail_owner),
    B(CONF_B_STR, "virtual_mailbox_base", mailbox_base),
    B(CONF_B_STR, "authd_default_options", default_options),
    B(CONF_B_STR, "authd_default_domain", default_domain),
    B(CONF_B_STR, "authd_password_scheme", password_scheme),
    B(CONF_B_STR, "authd_clear_pwfield", clear_pwfield),
    B(CONF_B_BOOL, "authd_plain_fallback", plain_fallback),
    B(CONF_B_BOOL, "authd_md5crypt_batch", md5crypt_batch),
    B(CONF_B_BOOL, "authd_user_batch", user_batch),
    B(CONF_B_UINT, "authd_workers", workers),
    B(CONF_B_UINT, "authd_max_clients", max_clients),
    B(CONF_B_UINT, "authd_alias_max_depth", alias_max_depth),
    B(CONF_B_MS, "authd_cache_ttl", cache_ttl_ms),
    B(CONF_B_MS, "authd_negative_cache_ttl", neg_ttl_ms),
    B(CONF_B_MS, "authd_request_timeout", request_timeout_ms),
    B(CONF_B_MS, "authd_failure_delay", failure_delay_ms),
    B(CONF_B_MS, "authd_failure_delay_max", failure_delay_max_ms),
    B(CONF_B_MS, "authd_failure_window", failure_window_ms),
    B(CONF_B_MS, "authd_lockout_time", lockout_ms),
    B(CONF_B_UINT, "authd_failure_limit_user", failure_limit_user),
    B(CONF_B_UINT, "authd_failure_limit_client", failure_limit_client),
    B(CONF_B_SECS, "mysql_query_timeout", query_timeout_s),
};
#undef B

/* The user query's columns that authd_*_field settings name (the
   others are ExtMail's columns, or computed). */
static const struct {
	const char *col;   /* in extmail_login_cols */
	const char *param; /* the setting naming the SQL column */
} user_fields[] = {
    {"login", "authd_login_field"},	{"crypt", "authd_crypt_pwfield"},
    {"clear", "authd_clear_pwfield"},	{"uid", "authd_uid_field"},
    {"gid", "authd_gid_field"},		{"home", "authd_home_field"},
    {"maildir", "authd_maildir_field"}, {"quota", "authd_quota_field"},
    {"name", "authd_name_field"},
};

const char *const authd_quota_cols[] = {
    "domain",	 "maxquota", "maxusers", "maxalias", "users",
    "quota_sum", "aliases",  "active",	 NULL,
};

/* The index of a column of extmail_login_cols. */
static size_t user_col(const char *name)
{
	size_t i = 0;
	while (strcmp(extmail_login_cols[i], name) != 0)
		i++;
	return i;
}

/* "a, b, c" of n expressions, or NULL when too long. */
static char *select_list(const char *const *exprs, size_t n)
{
	struct buf b;
	buf_init(&b, 65536);
	for (size_t i = 0; i < n; i++)
		if (buf_printf(&b, "%s%s", i ? ", " : "", exprs[i]) < 0) {
			buf_deinit(&b);
			return NULL;
		}
	char *s = xstrdup(buf_cstr(&b));
	buf_deinit(&b);
	return s;
}

static int parse_id(const char *s, unsigned long *v_r, const char **error_r)
{
	uint64_t v;
	if (str_parse_u64(s, 1, 4294967294u, &v) < 0) {
		*error_r = "authd_uid/authd_gid must be a number from 1 "
			   "(uid/gid 0 is refused)";
		return -1;
	}
	*v_r = (unsigned long)v;
	return 0;
}

static void cfg_free(struct authd_cfg *c)
{
	authd_db_batch_free(c);
	sqlpool_free(&c->pool);
	sqlmap_set_free(&c->maps);
	conf_free(&c->conf);
	free(c->q_user);
	for (size_t i = 0; i <= EXTMAIL_LOGIN_BATCH_MAX; i++)
		free(c->q_user_batch[i]);
	free(c->q_enumerate);
	free(c->q_passwd);
	free(c->q_alias);
	free(c->q_domain);
	free(c->q_quota);
	free(c);
}

struct authd_cfg *authd_cfg_new(struct conf *conf, const char *db_password,
				const char **error_r)
{
	struct authd_cfg *c = xcalloc(1, sizeof(*c));
	c->refs = 1;
	c->conf = conf;
	conf_bind_apply(conf, cfg_binds, sizeof cfg_binds / sizeof *cfg_binds,
			c);
	if (c->failure_delay_max_ms < c->failure_delay_ms)
		c->failure_delay_max_ms = c->failure_delay_ms;

	const char *uid = conf_str(conf, "authd_uid");
	const char *gid = conf_str(conf, "authd_gid");
	if (uid[0] != '\0') {
		if (parse_id(uid, &c->fixed_uid, error_r) < 0)
			goto fail;
		c->have_uid = true;
	}
	if (gid[0] != '\0') {
		if (parse_id(gid, &c->fixed_gid, error_r) < 0)
			goto fail;
		c->have_gid = true;
	}
	if (strcmp(c->password_scheme, "sha512-crypt") != 0 &&
	    strcmp(c->password_scheme, "yescrypt") != 0 &&
	    strcmp(c->password_scheme, "bcrypt") != 0 &&
	    strcmp(c->password_scheme, "md5-crypt") != 0) {
		*error_r = "authd_password_scheme must be sha512-crypt, "
			   "yescrypt, bcrypt or md5-crypt";
		goto fail;
	}

	const char *table = conf_str(conf, "authd_user_table");
	const char *login = conf_str(conf, "authd_login_field");
	const char *crypt = conf_str(conf, "authd_crypt_pwfield");
	const char *where = conf_str(conf, "authd_where_clause");
	if (table[0] == '\0' || login[0] == '\0') {
		*error_r = "authd_user_table and authd_login_field must be set";
		goto fail;
	}
	if (crypt[0] == '\0' && c->clear_pwfield[0] == '\0') {
		*error_r = "authd_crypt_pwfield or authd_clear_pwfield must be "
			   "set";
		goto fail;
	}
	char *domain_active =
	    conf_bool(conf, "authd_check_domain_active")
		? build("(SELECT COUNT(*) FROM domain WHERE "
			"domain.domain = SUBSTRING_INDEX(%s.%s, '@', "
			"-1) AND domain.active = 1)",
			table, login)
		: xstrdup("1");
	const char *expired = conf_bool(conf, "authd_check_expiry")
				  ? "(expiredate > '1000-01-01' AND "
				    "expiredate < CURDATE())"
				  : "0";
	/* extmail_login_cols' order; db.c reads the row by those names */
	const char *exprs[EXTMAIL_LOGIN_NCOLS];
	for (size_t i = 0; i < EXTMAIL_LOGIN_NCOLS; i++) {
		const char *name = extmail_login_cols[i];
		exprs[i] = name; /* ExtMail's own column */
		for (size_t k = 0; k < sizeof user_fields / sizeof *user_fields;
		     k++)
			if (strcmp(user_fields[k].col, name) == 0)
				exprs[i] = field_or_empty(
				    conf_str(conf, user_fields[k].param));
	}
	exprs[user_col("domain_active")] = domain_active;
	exprs[user_col("expired")] = expired;
	char *cols = select_list(exprs, EXTMAIL_LOGIN_NCOLS);
	free(domain_active);
	if (cols == NULL) {
		*error_r = "user query too long";
		goto fail;
	}
	bool w = where[0] != '\0';
	char *rest = build("FROM %s WHERE %s = ?%s%s%s", table, login,
			   w ? " AND (" : "", where, w ? ")" : "");
	c->q_user = rest != NULL ? build("SELECT %s %s", cols, rest) : NULL;
	for (unsigned n = 2; n <= EXTMAIL_LOGIN_BATCH_MAX; n++)
		c->q_user_batch[n] =
		    extmail_login_batch_query(cols, table, login, where, n);
	free(rest);
	c->q_enumerate =
	    build("SELECT %s FROM %s WHERE active = 1%s%s%s "
		  "ORDER BY %s",
		  cols, table, w ? " AND (" : "", where, w ? ")" : "", login);
	free(cols);
	if (crypt[0] != '\0' && c->clear_pwfield[0] != '\0') {
		c->q_passwd = build("UPDATE %s SET %s = ?, %s = ? WHERE %s = ?",
				    table, crypt, c->clear_pwfield, login);
		c->passwd_has_clear = true;
	} else if (crypt[0] != '\0') {
		c->q_passwd = build("UPDATE %s SET %s = ? WHERE %s = ?", table,
				    crypt, login);
	} else {
		/* only a clear column: PASSWD writes the clear text, as
		   authmysql does */
		c->q_passwd = build("UPDATE %s SET %s = ? WHERE %s = ?", table,
				    c->clear_pwfield, login);
		c->passwd_clear_only = true;
	}
	c->q_alias = xstrdup("SELECT goto FROM alias WHERE address = ? AND "
			     "active = 1");
	c->q_domain = xstrdup("SELECT " EXTMAIL_DOMAIN_SELECT " FROM domain "
			      "WHERE domain = ?");
	c->q_quota = xstrdup(
	    "SELECT d.domain, d.maxquota, d.maxusers, d.maxalias, "
	    "(SELECT COUNT(*) FROM mailbox m WHERE m.domain = d.domain), "
	    "(SELECT COALESCE(SUM(CAST(m.quota AS UNSIGNED)), 0) FROM "
	    "mailbox m WHERE m.domain = d.domain), "
	    "(SELECT COUNT(*) FROM alias a WHERE a.domain = d.domain), "
	    "d.active FROM domain d WHERE d.domain = ?");
	if (c->q_user == NULL || c->q_enumerate == NULL ||
	    c->q_passwd == NULL) {
		*error_r = "query too long";
		goto fail;
	}

	const char *host = conf_str(conf, "mysql_host");
	struct sqlpool_opts po = {
	    .host = host[0] != '\0' ? host : NULL,
	    .port = (unsigned)conf_int(conf, "mysql_port"),
	    .socket = host[0] == '\0' ? conf_str(conf, "mysql_socket") : NULL,
	    .user = conf_str(conf, "mysql_user"),
	    .password = db_password,
	    .database = conf_str(conf, "mysql_dbname"),
	    .size = (unsigned)conf_int(conf, "authd_pool_size"),
	    .connect_timeout =
		(unsigned)conf_time(conf, "mysql_connect_timeout"),
	    .rw_timeout = c->query_timeout_s,
	};
	c->pool = sqlpool_new(&po);
	if (c->user_batch)
		authd_db_batch_init(c);
	return c;
fail:
	c->conf = NULL; /* the caller keeps conf on failure */
	cfg_free(c);
	return NULL;
}

void authd_cfg_load_maps(struct authd_cfg *cfg, const char *db_password,
			 const struct authd_cfg *old)
{
	const char *host = conf_str(cfg->conf, "mysql_host");
	struct sqlmap_db db = {
	    .host = host,
	    .socket = conf_str(cfg->conf, "mysql_socket"),
	    .user = conf_str(cfg->conf, "mysql_user"),
	    .dbname = conf_str(cfg->conf, "mysql_dbname"),
	    .password = db_password,
	};
	sqlmap_set_free(&cfg->maps);
	cfg->maps = sqlmap_set_load(conf_path(cfg->conf), &db,
				    old != NULL ? old->maps : NULL);
}

void authd_cfg_ref(struct authd_cfg *cfg)
{
	__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL);
}

void authd_cfg_unref(struct authd_cfg **cfgp)
{
	struct authd_cfg *c = *cfgp;
	*cfgp = NULL;
	if (c == NULL)
		return;
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		cfg_free(c);
}

char *authd_read_secret(const char *path, const char **error_r)
{
	/* one reader for both daemons with database credentials */
	return extmail_read_secret(path, error_r);
}
