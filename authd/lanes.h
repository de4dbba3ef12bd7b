/*
 * The hash stage of parked AUTHs (docs/authd.md, "Pipelined lookups and
 * hashes"): the MD5-crypt checks of AUTHs whose user rows came from
 * batched lookups wait here and are computed eight (sixteen with AVX-512)
 * at a time in vector lanes (lib/md5crypt_batch, md5crypt_x8) by the
 * stage's own threads, one per CPU.  So the thread that ran a batch's query
 * goes on at once with the next batch's query while this one's hashes are
 * computed, two evaluations run at once on two CPUs, and an evaluation takes
 * checks from as many batches as it needs to fill its lanes.
 *
 * When to evaluate: as soon as eight checks wait (then up to sixteen are
 * taken with AVX-512, md5crypt_x8_max); with fewer, while more are on their way
 * (a lookup with a password was asked for and its row is not back yet,
 * authd_lanes_expect) the checks wait for them, at most AUTHD_LANES_WAIT_MS
 * after the oldest arrived (a query stuck on a frozen database must not hold
 * the others); with none on its way, at once.  A lone check with nothing on its
 * way is not taken (authd_lanes_add returns false): its thread hashes it
 * through crypt_r at once.
 *
 * Process-wide (the pairs carry their own jobs and configuration); every
 * function but start and stop is thread-safe.
 */
#ifndef AUTHD_LANES_H
#define AUTHD_LANES_H

#include <stdbool.h>

#include "db.h"

/* The longest a check waits for company while more are on their way. */
#define AUTHD_LANES_WAIT_MS 5

/* Starts the stage's threads (0: one per CPU online, at most 8). */
void authd_lanes_start(unsigned threads);

/* Computes every check still waiting, then joins the threads.  Call
   after the worker pool is gone (its deferred AUTHs may wait here). */
void authd_lanes_stop(void);

/* One more lookup of an AUTH with a password is on its way: checks wait
   for it (see above).  Its end must be told with authd_lanes_add. */
void authd_lanes_expect(void);

/*
 * A lookup told by authd_lanes_expect is back: takes its check (take
 * true, a "$1$" row found and a password md5crypt_x8 accepts) and
 * returns true:
 * crypt(l->password, l->u->passwd) goes into l->md5, then l->hashed(l)
 * runs on a stage thread, without a lock held.  Returns false, and takes
 * nothing, for any other lookup, for a check that would be alone with
 * nothing on its way, or when the stage is not running: the caller ends
 * the AUTH itself (crypt_r where it needs a hash).
 */
bool authd_lanes_add(struct authd_user_lookup *l, bool take);

/* Checks in the stage now: waiting, or in an evaluation under way.  Their
   AUTHs are answered soon (youju-authd's user batches wait a little for
   the next logins while there are many: authd/db.c). */
unsigned authd_lanes_backlog(void);

/* Counters since the start: checks taken and evaluations run. */
void authd_lanes_stats(unsigned long *checks_r, unsigned long *evals_r);

#endif
