/*
 * youju-authd's runtime configuration: the values read from youju.cf
 * (lib/params.c, table "authd" + "common"), the SQL texts built from the
 * column mapping once per load, and the MySQL pool those queries run on.
 * A cfg is immutable and reference-counted: each request holds the cfg it
 * started with, so SIGHUP can swap in a new one while old requests finish.
 */
#ifndef AUTHD_CFG_H
#define AUTHD_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "extmail_sql.h"
#include "gather.h"
#include "sqlmap.h"
#include "sqlpool.h"

struct authd_cfg {
	int refs;	      /* atomic */
	struct conf *conf;    /* owned */
	struct sqlpool *pool; /* owned */

	/* from the configuration (borrowed from conf) */
	const char *socket_path;
	const char *run_directory;
	const char *mail_owner;
	const char *mailbox_base;
	const char *default_options;
	const char *default_domain;
	const char *password_scheme;
	const char *clear_pwfield; /* "" = none */
	bool plain_fallback;
	bool md5crypt_batch; /* authd_md5crypt_batch (lib/md5crypt_batch) */
	bool user_batch;     /* authd_user_batch (db.c, lib/gather) */
	bool have_uid, have_gid;
	unsigned long fixed_uid, fixed_gid;
	unsigned workers, max_clients, alias_max_depth;
	uint64_t cache_ttl_ms, neg_ttl_ms, request_timeout_ms;
	uint64_t failure_delay_ms, failure_delay_max_ms, failure_window_ms,
	    lockout_ms;
	unsigned failure_limit_user, failure_limit_client;
	unsigned query_timeout_s;

	/* SQL built at load time; placeholders only */
	char *q_user; /* ? = login; columns: extmail_login_cols */
	/* q_user for n logins at once (extmail_login_batch_query), n =
	   2..EXTMAIL_LOGIN_BATCH_MAX; NULL where it could not be built */
	char *q_user_batch[EXTMAIL_LOGIN_BATCH_MAX + 1];
	/* concurrent user lookups share one q_user_batch (db.c); NULL when
	   authd_user_batch = no */
	struct gather *user_gather;
	char *q_enumerate;
	char *q_passwd;		/* ? = crypted[, clear], login */
	bool passwd_has_clear;	/* ? = crypted, clear, login */
	bool passwd_clear_only; /* ? = clear, login */
	char *q_alias;		/* ? = address */
	char *q_domain;		/* ? = domain; extmail_domain_cols */
	char *q_quota;		/* ? = domain */

	/* the mysql: tables named in youju.cf (MAPLOOKUP's allow-list) */
	struct sqlmap_set *maps; /* owned; NULL until authd_cfg_load_maps */
};

/* The columns q_quota selects, in order (read by name in db.c). */
extern const char *const authd_quota_cols[];

/*
 * Builds a cfg from a loaded configuration (takes ownership of conf) and
 * the MySQL password (copied; may be NULL).  Returns NULL with *error_r on
 * a bad value (uid 0, a column name with a quote, ...).  refs = 1.
 */
struct authd_cfg *authd_cfg_new(struct conf *conf, const char *db_password,
				const char **error_r);
/*
 * Builds cfg->maps from the configuration file cfg was loaded from (see
 * sqlmap_set_load).  old (may be NULL) is the cfg in use: a table that can
 * no longer be read after the privilege drop keeps its parse from there.
 * Call before cfg is shared with the workers.
 */
void authd_cfg_load_maps(struct authd_cfg *cfg, const char *db_password,
			 const struct authd_cfg *old);
void authd_cfg_ref(struct authd_cfg *cfg);
/* Drops one reference; frees at zero.  Sets *cfg to NULL. */
void authd_cfg_unref(struct authd_cfg **cfg);

/*
 * Reads the MySQL password file: first line, trailing CR/LF stripped.
 * Refuses (NULL with *error_r) a file that the group or others may read.
 * Returns a malloc'd string (wipe and free it).
 */
char *authd_read_secret(const char *path, const char **error_r);

#endif
