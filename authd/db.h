/*
 * The MySQL side of youju-authd: every query it runs, on the ExtMail tables,
 * through lib/sqlpool with prepared statements.  Called from worker threads
 * only (each call checks a connection out of the pool and back).  Every
 * function is tri-state: a database that is down, frozen or misconfigured is
 * AUTHD_TEMPFAIL, never "not found".
 */
#ifndef AUTHD_DB_H
#define AUTHD_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "gather.h"
#include "md5crypt_x8.h"
#include "reply.h"

enum authd_status {
	AUTHD_FOUND = 1,
	AUTHD_NOTFOUND = 0,
	AUTHD_TEMPFAIL = -1,
};

/* The mailbox row of login (any state: see authd_user_usable()).  On
   AUTHD_FOUND *u_r is filled (free with authd_user_free).  With
   cfg->user_gather, lookups by several workers at the same moment share
   one statement (cfg->q_user_batch); the answers are those of q_user.
   password (AUTH login's, or NULL): the batch's worker also computes its
   "$1$" check and presets it for this thread (lib/md5crypt_batch; the
   job's md5crypt_batch_done() drops what it did not use). */
enum authd_status authd_db_user(struct authd_cfg *cfg, const char *login,
				const char *password, struct authd_user *u_r);

/*
 * A user lookup that holds no thread while it waits (cfg->user_gather
 * only): the caller fills the inputs and done, and
 * authd_db_user_async() returns at once when another batch is under way
 * (the lookup is parked and done(l, false) runs on the thread that runs
 * its batch, after its query and its lanes), or runs the lookup's batch
 * on the calling thread and calls done(l, true) before it returns.  done
 * runs exactly once, without a lock held; the outputs are as
 * authd_db_user's, plus md5: crypt(password, u->passwd) when the batch
 * computed it in vector lanes (a "$1$" row, a password, at least two such
 * in the batch), else "".  The caller hands md5 to lib/md5crypt_batch
 * (md5crypt_batch_preset on the thread that checks the password) and
 * wipes it.
 */
struct authd_user_lookup {
	struct gather_item item; /* private, first */
	/* in: borrowed until done */
	const char *login;
	const char *password; /* AUTH login's, or NULL */
	struct authd_user *u; /* out: filled on AUTHD_FOUND */
	void (*done)(struct authd_user_lookup *l, bool own);
	/* out */
	enum authd_status st;
	char md5[MD5CRYPT_X8_OUT_SIZE];
	/* authd/lanes.h: its check's end once md5 is computed; and the
	   stage's private fields */
	void (*hashed)(struct authd_user_lookup *l);
	struct authd_user_lookup *lanes_next;
	uint64_t lanes_t;
};
void authd_db_user_async(struct authd_cfg *cfg, struct authd_user_lookup *l);
/* The same, but only when a batch is under way: parks l behind it and
   returns true (done(l, false) follows on another thread), or returns
   false and takes nothing.  Never runs a query on the calling thread: for
   the event loop. */
bool authd_db_user_try_park(struct authd_cfg *cfg, struct authd_user_lookup *l);

/* Sets the password columns of login.  AUTHD_NOTFOUND: no row changed. */
enum authd_status authd_db_set_password(struct authd_cfg *cfg,
					const char *login, const char *crypted,
					const char *clear);

/* Calls cb for every active account (cb returns 0 to go on, -1 to stop
   with AUTHD_TEMPFAIL). */
enum authd_status
authd_db_enumerate(struct authd_cfg *cfg,
		   int (*cb)(const struct authd_user *u, void *ctx), void *ctx);

/* The goto list of an active alias (owned string in *goto_r). */
enum authd_status authd_db_alias(struct authd_cfg *cfg, const char *address,
				 char **goto_r);

/* A hosted domain; *active_r tells whether it is active.  transport_r
   (may be NULL) gets the domain.transport column as an owned string, or
   NULL when the column is NULL or empty. */
enum authd_status authd_db_domain(struct authd_cfg *cfg, const char *domain,
				  bool *active_r, char **transport_r);

struct authd_quota {
	uint64_t maxquota;  /* bytes, 0 = unlimited */
	uint64_t maxusers;  /* 0 = unlimited */
	uint64_t maxalias;  /* 0 = unlimited */
	uint64_t users;	    /* mailboxes now */
	uint64_t quota_sum; /* sum of the mailboxes' quotas, bytes */
	uint64_t aliases;
	bool active;
};
enum authd_status authd_db_quota(struct authd_cfg *cfg, const char *domain,
				 struct authd_quota *q_r);

/* Sets up / frees cfg->user_gather (authd/cfg.c calls these). */
void authd_db_batch_init(struct authd_cfg *cfg);
void authd_db_batch_free(struct authd_cfg *cfg);

/* Fills u from one row of q_user, read by the column names of
   extmail_login_cols (exported for tests). */
void authd_db_row_to_user(const struct authd_cfg *cfg, const struct sqlrow *row,
			  struct authd_user *u);

#endif
