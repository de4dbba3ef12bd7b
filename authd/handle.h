/*
 * Answering one parsed request (runs on a worker thread): directory lookups
 * through the caches and lib/sqlpool, password checks through lib/pwhash,
 * and the reply bytes.  The event loop owns the connection; a job carries
 * the request in and the reply (or "temporary failure": close silently)
 * out, plus what the loop needs for throttling and logging.
 *
 * An AUTH whose user row must come from MySQL while lookups are batched
 * (authd_user_batch) does not hold its worker while it waits: it is
 * parked in the batch (authd_db_user_async) and finished by the thread
 * that ran its batch, or, when its password still needs a hash of its
 * own, on a worker again (the job's park, complete and resume hooks).
 */
#ifndef AUTHD_HANDLE_H
#define AUTHD_HANDLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "cfg.h"
#include "db.h"
#include "proto.h"

struct workq_job;

/* the largest reply: ENUMERATE of a big site */
#define AUTHD_REPLY_MAX (64u << 20)

struct authd_job {
	struct authd_request req;
	struct authd_cfg *cfg; /* a reference, dropped by job_free */

	/* results */
	bool tempfail; /* close without a reply */
	struct buf reply;
	bool login;	    /* AUTH or PASSWD: counts for throttling */
	bool login_failed;  /* a FAIL for bad credentials */
	const char *reason; /* static: why FAIL / tempfail */
	/* an AUTH refused although the password matched: "inactive"
	   (mailbox or domain off, expired) or "disabled" (the service is
	   off); NULL otherwise.  Told only to FAILDELAY=1 clients. */
	const char *refusal;
	char user[256]; /* the login as logged (escaped later) */

	/* owned by the event loop */
	void *conn;
	void *srv;
	/* The connection's fd when the thread that finishes the job may
	   send a successful AUTH's reply and close it itself (server.c,
	   reply_early), else -1 (authd_job_new); reply_fd_state says who
	   owns the fd meanwhile (server.c's REPLY_FD_*). */
	int reply_fd;
	atomic_int reply_fd_state;

	/* Set by the caller of authd_handle() to let a job be parked (NULL:
	   it never is).  park: called on the job's thread just before it
	   is parked (the job is the hooks' from then on: lib/workq's
	   workq_defer).  complete: the result fields are filled; from any
	   thread, the job's last touch.  resume: run authd_handle_resumed()
	   on a worker, then complete as an ordinary job; 0, or -1 when it
	   cannot (the job is then finished where it is). */
	void (*park)(struct authd_job *j);
	void (*complete)(struct authd_job *j);
	int (*resume)(struct authd_job *j);
	struct workq_job *wq_job; /* the hooks' handle */

	/* private: a parked AUTH */
	struct authd_user_lookup lookup;
	struct authd_user lookup_user;
	uint64_t lookup_now;
	char lookup_login[512]; /* the login as looked up */
};

/* Sets up the process-wide caches (call once, before the workers). */
void authd_handle_init(void);
void authd_handle_deinit(void);
/* Empties the caches (SIGHUP). */
void authd_handle_clear_caches(void);

/* A job for req (moved in: req is zeroed) under cfg (a reference is
   taken). */
struct authd_job *authd_job_new(struct authd_request *req,
				struct authd_cfg *cfg);
void authd_job_free(struct authd_job **job);

/* Does the work: fills the result fields and returns true; or parks the
   job (only with job->park set: an AUTH waiting for a batched user
   lookup) and returns false, and the job is finished later through its
   complete or resume hook, perhaps before this returns: then the caller
   does not touch the job again.  Thread-safe. */
bool authd_handle(struct authd_job *job);

/*
 * Parking on the event loop's thread, before a job goes to a worker: an
 * AUTH whose user row must come from a batched lookup while a batch is
 * under way waits there without any worker having run it (the hand-off to
 * a worker and its wake-up saved).  authd_handle_park_prepare() does the
 * cheap start of an AUTH: AUTHD_PARK_ANSWERED, the result fields are set
 * (a refusal before any lookup, or an unknown user from the negative
 * cache); AUTHD_PARK_NO, the job is for a worker as usual (not an AUTH,
 * no user batch, or a cached row whose password needs a hash); or
 * AUTHD_PARK_READY.  Then the caller makes the job's handle for its
 * complete and resume hooks (no worker will call park) and calls
 * authd_handle_park(): true, parked (finished as a parked AUTH is); false,
 * no batch is under way and nothing was taken: the job goes to a worker,
 * which runs it whole (authd_handle).
 */
enum authd_park {
	AUTHD_PARK_NO,
	AUTHD_PARK_ANSWERED,
	AUTHD_PARK_READY,
};
enum authd_park authd_handle_park_prepare(struct authd_job *job);
bool authd_handle_park(struct authd_job *job);

/* The rest of a parked job, on the worker its resume hook chose: fills the
   result fields (complete is not called: the job ends as an ordinary one
   when this returns). */
void authd_handle_resumed(struct authd_job *job);

/* Answers job at once when that needs neither SQL nor a password hash (an
   AUTH login whose mailbox row is cached and whose password matches the
   remembered credentials; a LOOKUP whose answer is in the lookups cache):
   returns true with the result fields filled.
   Otherwise returns false and leaves job as it was, for authd_handle() on
   a worker.  A cache lookup and an HMAC: cheap enough for the event loop
   thread. */
bool authd_handle_fast(struct authd_job *job);

/* The login as looked up: lower-cased? no: as sent, plus
   @authd_default_domain when it has no '@'.  Into out (size outsz);
   returns 0 or -1 when it does not fit. */
int authd_login_name(const struct authd_cfg *cfg, const char *user, char *out,
		     size_t outsz);

/* HMAC of challenge under key with the CRAM type's hash, lower-case hex,
   into hex (at least 129 bytes).  0 or -1. */
int authd_cram_hmac(enum authd_authtype t, const char *key,
		    const unsigned char *challenge, size_t clen, char *hex);

#endif
