/*
 * youju-webadmin's shared state and the helpers its handlers use: the
 * caller's identity (session or API token, role, CSRF), the role check on
 * a domain, SQL through one pooled connection per request, the audit log
 * and the authd cache flush.  Handlers run on the HTTP layer's worker
 * threads (lib/http.h), one request per thread.
 */
#ifndef YOUJU_WA_H
#define YOUJU_WA_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "sqlpool.h"
#include "websession.h"

#define WA_COOKIE "youju_webadmin"
/* rows per page in lists */
#define WA_PAGE_SIZE 50
/* most rows one list query keeps */
#define WA_ROWS_MAX 10000

struct wa_throttle;

struct wa {
	const struct conf *conf;
	struct sqlpool *pool;
	struct websession_store *sessions;
	struct wa_throttle *throttle;
	const char *authd_socket;
	const char *run_directory;
	const char *mailbox_base;
	bool check_expiry;
	bool signup; /* webadmin_signup */
	/* SHA-256 of the token in $config_directory/secrets/webadmin-cli-token
	   (the `youju domain|user|alias|manager` commands), "" if none */
	char cli_token_hash[65];
	int64_t started;
};

/* Who is calling: set by wa_authorize() for routes with HTTP_F_SESSION. */
struct wa_caller {
	char username[WEBSESSION_USER_MAX];
	bool admin;
	bool token; /* came with a Bearer token */
	char session_id[WEBSESSION_ID_LEN + 1];
};

/* ---- forwards.c ---- */
/* Adds "forwards" to each mailbox object of items (its "username" and
   "maildir"): {"alias": {"to", "keep"}, "sieve": {"script", "to",
   "copy"}} (either may be absent), or null when it forwards nowhere. */
struct sqlconn;
void wa_forwards_annotate(struct http_req *req, struct sqlconn *c,
			  json_t *items);

/* ---- api.c ---- */
bool wa_authorize(void *app, struct http_req *req, unsigned flags);
extern const struct http_route wa_routes[];
/* The caller of this request (borrowed; NULL outside session routes). */
const struct wa_caller *wa_caller(struct http_req *req);
/*
 * True when the caller may manage domain: admin, or a postmaster with an
 * active domain_manager row for exactly that name.  Otherwise replies 403
 * (or 503 on a database failure) and returns false.
 */
bool wa_can_domain(struct http_req *req, struct sqlconn *c, const char *domain);

/* ---- db helpers (api.c) ---- */
/* A pooled connection, or NULL after replying 503. */
struct sqlconn *wa_db(struct http_req *req);
/* Gives it back (rolling back an open transaction first when rollback). */
void wa_db_put(struct http_req *req, struct sqlconn **c, bool broken);
/*
 * Runs one prepared statement; on failure replies (503 temporary, 409
 * duplicate, 500 otherwise) and returns -1.  res may be NULL for
 * statements without rows.  Frees nothing: the caller frees res.
 */
int wa_q(struct http_req *req, struct sqlconn *c, const char *sql,
	 const char *const *args, size_t nargs, struct sqlresult *res);
/* One integer from a one-row, one-column query (COUNT, SUM); -1 after a
   reply. */
int wa_q_int(struct http_req *req, struct sqlconn *c, const char *sql,
	     const char *const *args, size_t nargs, int64_t *v_r);
/* The first column of every row as a JSON array of strings (owned; SQL
   NULLs left out), or NULL after a reply. */
json_t *wa_q_strings(struct http_req *req, struct sqlconn *c, const char *sql,
		     const char *const *args, size_t nargs);
int wa_begin(struct http_req *req, struct sqlconn *c);
int wa_commit(struct http_req *req, struct sqlconn *c);

/* ---- audit.c ---- */
/*
 * Writes one audit row in the current transaction: the caller, the client
 * address, action ("domain.create"), object, and before/after as JSON with
 * "password" and "clearpwd" removed (the values are borrowed; NULL for
 * none).  Returns 0 or -1 after a reply.
 */
int wa_audit(struct http_req *req, struct sqlconn *c, const char *action,
	     const char *object, json_t *before, json_t *after);
/*
 * The end of a change whose statements so far returned rc: when rc is 0,
 * the audit row (as wa_audit) and the commit.  Returns 0, or -1 (rc, or
 * after a reply); rolling back is the caller's.
 */
int wa_audit_commit(struct http_req *req, struct sqlconn *c, int rc,
		    const char *action, const char *object, json_t *before,
		    json_t *after);
void wa_audit_list(struct http_req *req);

/* ---- authd cache ---- */
/* Tells youju-authd that key (an address, @domain or domain) changed:
   its cached answers for it are dropped.  Best effort: a failure is
   logged (the caches expire by themselves). */
void wa_authd_flush(const struct wa *wa, const char *key);

/* ---- mailboxes.c (shared with import.c) ---- */
struct record;
/* the six disable* service columns, NULL-terminated */
extern const char *const wa_services[];
/* A new mailbox local@domain as ExtMan made it: paths domain/local, the
   domain d's default quotas, expiry (capped at the domain's) and service
   template; password unset. */
void wa_mailbox_defaults(struct record *m, const struct record *d,
			 const char *local, const char *domain);

/* ---- stats.c ---- */
struct wa_stats {
	int64_t users, aliases, quota, netdiskquota;
};
/* A domain's usage, from a cache of a few seconds (see stats.c); -1
   after a reply. */
int wa_domain_stats(struct http_req *req, struct sqlconn *c, const char *domain,
		    struct wa_stats *out);
/* The mailbox figures (users, quota, netdiskquota; not aliases) read
   now, uncached (inside a transaction that locked the domain).  0, or -1
   after a reply. */
int wa_mailbox_usage(struct http_req *req, struct sqlconn *c,
		     const char *domain, struct wa_stats *st);
/* Drops the domain's cached usage (after a change). */
void wa_stats_forget(const char *domain);

/* ---- purge.c ---- */
/* Renames virtual_mailbox_base/homedir aside and removes it in the
   background.  0: done or nothing there; -1: refused (path outside the
   base, rename failed). */
int wa_purge_home(const struct wa *wa, const char *homedir);

/* ---- handlers ---- */
/* dkim.c: a domain's DKIM keys (docs/mta.md "DKIM") */
void wa_dkim_list(struct http_req *req);
void wa_dkim_create(struct http_req *req);
void wa_dkim_delete(struct http_req *req);
/* graphs.c: GET /api/graphs/{graph}.png (docs/mailgraph.md) */
void wa_graph(struct http_req *req);
void wa_session_login(struct http_req *req);
void wa_session_logout(struct http_req *req);
void wa_session_get(struct http_req *req);
void wa_domains_list(struct http_req *req);
void wa_domain_get(struct http_req *req);
void wa_domain_create(struct http_req *req);
void wa_domain_update(struct http_req *req);
void wa_domain_delete(struct http_req *req);
void wa_mailboxes_list(struct http_req *req);
void wa_mailbox_get(struct http_req *req);
void wa_mailbox_create(struct http_req *req);
void wa_mailbox_update(struct http_req *req);
void wa_mailbox_delete(struct http_req *req);
void wa_aliases_list(struct http_req *req);
void wa_alias_get(struct http_req *req);
void wa_alias_create(struct http_req *req);
void wa_alias_update(struct http_req *req);
void wa_alias_delete(struct http_req *req);
void wa_managers_list(struct http_req *req);
void wa_manager_get(struct http_req *req);
void wa_manager_create(struct http_req *req);
void wa_manager_update(struct http_req *req);
void wa_manager_delete(struct http_req *req);
void wa_tokens_list(struct http_req *req);
void wa_token_create(struct http_req *req);
void wa_token_delete(struct http_req *req);
void wa_password_change(struct http_req *req);
void wa_status(struct http_req *req);
void wa_metrics(struct http_req *req);
void wa_extman_redirect(struct http_req *req);
void wa_export(struct http_req *req);
void wa_groupmail(struct http_req *req);
void wa_self_password(struct http_req *req);
void wa_self_question(struct http_req *req);
void wa_self_reset(struct http_req *req);
void wa_self_signup(struct http_req *req);
void wa_import(struct http_req *req);

/* ---- helpers for rows (rows.c) ---- */
/* A row as a JSON object: the columns by name, integers for the int and
   flag columns, bytes for the quota columns; never password/clearpwd. */
json_t *wa_row_json(const char *const *cols, const struct sqlrow *row);
/* ?page= (1-based, default 1) as an SQL OFFSET text; -1 after a 400. */
int wa_page(struct http_req *req, char *offset, size_t sz);
/* Lower-cases a copy (owned: free). */
char *wa_lower(const char *s);
/* Wipes and frees a secret string (a password hash); NULL is a no-op. */
void wa_secret_free(char *s);
/* Today as YYYY-MM-DD (UTC) into out (11 bytes). */
void wa_today(char *out);
/* Now as "YYYY-MM-DD hh:mm:ss" (local time, as MySQL's NOW()) into out
   (20 bytes). */
void wa_now(char *out);
/* "%q%" for LIKE with q's wildcards escaped (owned: free). */
char *wa_like_pattern(const char *q);
/* SHA-256 of an API token as 64 hex digits and a NUL. */
void wa_token_hash(const char *token, char out[65]);

#endif
