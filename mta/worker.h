/*
 * A bounded pool of worker threads for the blocking steps of an SMTP
 * session (STYLE.md "Never block the loop"): directory lookups through
 * youju-authd, Cyrus SASL steps (whose authdaemond checkpass blocks), and
 * the fsync of a queue file.  A job runs in a worker; its completion runs
 * back on the event loop thread, woken through an eventfd.
 */
#ifndef MTA_WORKER_H
#define MTA_WORKER_H

#include "ev.h"

struct worker_pool;

/* Runs in a worker thread: must touch only what ctx gives it. */
typedef void worker_job_fn(void *ctx);
/* Runs on the loop thread after the job finished. */
typedef void worker_done_fn(void *ctx);

/* nthreads workers, at most queue_max jobs waiting.  Aborts on failure
   (start-up only). */
struct worker_pool *worker_pool_new(struct ev_loop *loop, unsigned nthreads,
				    unsigned queue_max);
/* Queues a job.  Returns 0, or -1 when the queue is full (the caller
   answers with a temporary failure). */
__attribute__((warn_unused_result)) int worker_submit(struct worker_pool *pool,
						      worker_job_fn *job,
						      worker_done_fn *done,
						      void *ctx);
/* Stops the workers (waiting for running jobs; queued jobs are dropped
   without their done callback) and frees the pool.  NULL-safe. */
void worker_pool_free(struct worker_pool **pool);

#endif
