/*
 * A bounded pool of worker threads for the blocking steps of a daemon
 * (STYLE.md "Never block the loop"): SQL queries, password hashing, authd
 * round trips, DNS, fsync.  A job runs on a worker thread; its completion
 * ("done") is delivered in one of two ways, chosen when the pool is made:
 *
 * - loop mode (opts.loop set): done runs on that lib/ev loop's thread,
 *   woken through an eventfd.  For youju-authd, youju-mta and youju-mra,
 *   whose sessions belong to the loop thread.
 * - callback mode (opts.loop NULL): done runs on the worker thread right
 *   after the job, for users with their own thread-safe wake-up, such as
 *   libmicrohttpd's MHD_resume_connection() (web daemons).
 *
 * Jobs start in submission order.  Bounded: at most queue_max jobs wait
 * (besides the ones running); a full queue refuses the job at once, and the
 * caller answers with a temporary failure.  Workers block every signal, so
 * signals reach the loop's signalfd.
 *
 * Deferred completion: a job that must wait for something another thread
 * will do (youju-authd: an AUTH whose user row comes with a batch another
 * worker leads) calls workq_defer() and returns; its worker takes the next
 * job at once.  The job is then finished by whoever holds the handle, from
 * any thread: workq_complete() (done follows as for any job) or
 * workq_resume() (the job runs again on a worker, with another function).
 * A deferred job counts in workq_pending() until its done has run.
 *
 * Lazy completions (loop mode, opts.lazy_ms > 0): a job whose done is
 * bookkeeping only (youju-authd: the reply was sent by the thread that
 * finished the AUTH) may be completed lazily, workq_complete_lazy() or
 * workq_lazy() in the job: its done then waits for the loop's next
 * workq_take() (the owner calls it when the loop wakes anyway, for an
 * accept) or at most about lazy_ms, instead of waking the loop through the
 * eventfd.  Only while jobs are pending: a lazy job finishing on an idle
 * pool wakes the loop as any other.  Other jobs, and pools without
 * lazy_ms, behave as before.
 *
 * Thread safety: workq_submit(), workq_pending(), workq_complete(),
 * workq_complete_lazy() and workq_resume() may be called from any thread;
 * workq_defer() and workq_lazy() only from a job; workq_take() from the
 * loop thread; workq_free() from the thread that owns the pool (in loop
 * mode, the loop thread), never from a job or a done callback.
 */
#ifndef YOUJU_WORKQ_H
#define YOUJU_WORKQ_H

#include <stddef.h>

#include "ev.h"

struct workq;

/* Runs on a worker thread: must touch only what ctx gives it, plus
   thread-safe shared state. */
typedef void workq_job_fn(void *ctx);
/* The completion: on the loop thread (loop mode) or on the worker thread
   (callback mode).  Owns ctx again. */
typedef void workq_done_fn(void *ctx);
/* Called by workq_free() for each job whose done callback will never run
   (still waiting, or finished but not yet delivered), so its owner can
   free ctx.  Runs on the thread calling workq_free(). */
typedef void workq_cancel_fn(void *ctx);

struct workq_opts {
	const char *name;	 /* thread names and log lines ("authd") */
	unsigned threads;	 /* workers, at least 1 */
	unsigned queue_max;	 /* jobs waiting beyond the running ones */
	struct ev_loop *loop;	 /* loop mode; NULL: callback mode */
	workq_cancel_fn *cancel; /* may be NULL (ctx is then left alone) */
	size_t stack_size;	 /* per thread; 0: the system default */
	unsigned lazy_ms; /* loop mode: bound of a lazy done; 0: none lazy */
};

/* Starts opts->threads workers.  Aborts on failure (start-up only).  The
   name is copied. */
struct workq *workq_new(const struct workq_opts *opts);

/* Queues job(ctx), then done(ctx).  done may be NULL (nothing to report).
   Returns 0, or -1 when queue_max jobs are already waiting or the pool is
   being freed (the job is not queued; ctx stays the caller's). */
__attribute__((warn_unused_result)) int workq_submit(struct workq *q,
						     workq_job_fn *job,
						     workq_done_fn *done,
						     void *ctx);

/* A job taken over by workq_defer(): opaque, valid until workq_complete()
   or until the job resumed by workq_resume() runs. */
struct workq_job;

/*
 * Called by a job on its worker thread: the job will be finished later
 * (workq_complete or workq_resume on the handle returned), not when it
 * returns.  From this call on the job's ctx belongs to whoever holds the
 * handle: after the job function returns, the worker touches neither.
 * Every deferred job must be finished: workq_free() waits for it.  Aborts
 * when called outside a job.
 */
struct workq_job *workq_defer(void);

/* A job that starts deferred, made by any thread (youju-authd's loop
   thread: a request it parks itself, with no worker to run it first),
   finished like any deferred job by workq_complete or workq_resume.
   Counted in workq_pending; never refused (its owner bounds how many it
   makes).  done and ctx as for workq_submit. */
struct workq_job *workq_defer_new(struct workq *q, workq_done_fn *done,
				  void *ctx);

/* Finishes a deferred job: its done runs as for any job (loop mode: on the
   loop thread, one eventfd wake-up per burst; callback mode: here, on the
   calling thread).  From any thread; j and ctx are not to be touched after
   the call.  While the pool is being freed, the job is cancelled instead
   (opts.cancel, by workq_free). */
void workq_complete(struct workq_job *j);

/* workq_complete, for a job whose done may wait for the loop's next
   workq_take() or about opts.lazy_ms, whichever comes first (see above);
   as workq_complete when the pool has no lazy_ms or the loop's tick is
   off. */
void workq_complete_lazy(struct workq_job *j);

/* Called by a job on its worker thread: its done, when the job returns
   without deferring, is delivered as by workq_complete_lazy.  Aborts
   when called outside a job. */
void workq_lazy(void);

/* Loop mode, on the loop thread: runs the done callbacks of the jobs
   finished so far unless an eventfd wake-up is already on its way for
   them.  A no-op without opts.lazy_ms.  done callbacks run here. */
void workq_take(struct workq *q);

/* Completions that skipped the eventfd (lazy ones taken by workq_take or
   the tick), since workq_new. */
size_t workq_lazy_count(struct workq *q);

/* Queues a deferred job to run again on a worker, as job(ctx), ahead of
   the jobs waiting (it was accepted long ago); then done as usual, unless
   it defers once more.  Never refused for a full queue.  Returns 0, or -1
   while the pool is being freed (the job is still deferred: the caller
   finishes it with workq_complete). */
__attribute__((warn_unused_result)) int workq_resume(struct workq_job *j,
						     workq_job_fn *job);

/* Jobs accepted whose done callback has not run yet (waiting, running,
   deferred, or finished and not yet delivered). */
size_t workq_pending(struct workq *q);

/* Stops the pool: jobs running finish (their done callbacks do not run),
   jobs waiting are not started, every deferred job is waited for (it must
   be finished by a job still running or by another thread), and every job
   whose done did not run gets opts.cancel.  Joins the threads and frees the
   pool; sets *q to NULL.  NULL-safe. */
void workq_free(struct workq **q);

#endif
