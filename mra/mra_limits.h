/*
 * Connection counters shared by youju-mra's worker processes, so that
 * mra_max_userip_connections and mra_client_connection_count_limit hold
 * for the whole server, whichever worker a connection lands on.
 *
 * The master creates the table in anonymous shared memory before it forks
 * the workers.  Each worker counts in its own column (one counter per
 * worker per key); a total is the sum of the columns.  When the master
 * reaps a dead worker it only sets that worker's bit in an atomic mask;
 * the next operation of any worker, under the table's lock, clears the
 * column, and a replacement worker clears its column before it counts.
 * So the master (root) never takes the lock nor reads what the workers
 * wrote.  The lock is a robust process-shared mutex: a worker killed while
 * holding it does not block the others.
 */
#ifndef YOUJU_MRA_LIMITS_H
#define YOUJU_MRA_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* Most worker processes. */
#define MRA_LIMITS_WORKERS_MAX 64
/* Most columns: during a reload the workers of the old and the new set
   count at once, each in its own column (bits of the "gone" mask). */
#define MRA_LIMITS_COLUMNS_MAX (2 * MRA_LIMITS_WORKERS_MAX)
/* Longest key: protocol, user (255) and IP address, with separators. */
#define MRA_LIMITS_KEY_MAX 320

struct mra_limits;

/*
 * Maps a table for workers columns (1..MRA_LIMITS_COLUMNS_MAX) and
 * entries keys (at most 3/4 of them in use at once).  Call before fork;
 * every process then shares it.  Returns the table (freed with
 * mra_limits_free) or NULL with errno.
 */
struct mra_limits *mra_limits_new(unsigned workers, size_t entries);
/* Unmaps the table (this process's view).  NULL-safe, sets *l = NULL. */
void mra_limits_free(struct mra_limits **l);

/* Makes this process worker w (< workers): it counts in column w, which
   is cleared first (the counts of the worker it replaces).  Returns 0 or
   -1 (lock unusable). */
int mra_limits_attach(struct mra_limits *l, unsigned w);

/* Worker w is gone: its counts stop counting.  Async-signal-safe, never
   blocks (an atomic store); for the master. */
void mra_limits_worker_gone(struct mra_limits *l, unsigned w);

/*
 * If fewer than max connections of key (any bytes, keylen up to
 * MRA_LIMITS_KEY_MAX) are counted over all workers, counts one more for
 * this worker and returns 1; returns 0 when max is reached.  Returns -1
 * when the key cannot be counted (table full, lock unusable): the caller
 * lets the connection in, a limit must not become an outage.
 */
int mra_limits_acquire(struct mra_limits *l, const void *key, size_t keylen,
		       unsigned max);

/* Gives back one count of key taken by mra_limits_acquire() == 1 in this
   process. */
void mra_limits_release(struct mra_limits *l, const void *key, size_t keylen);

/* The total count of key over all workers (0 when unknown). */
unsigned mra_limits_count(struct mra_limits *l, const void *key, size_t keylen);

#endif
