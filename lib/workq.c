/*
 * Worker threads (see workq.h).  One mutex guards a FIFO of waiting jobs and
 * a list of finished ones; a condition variable wakes idle workers.  In loop
 * mode a worker writes the eventfd only when the finished list goes from
 * empty to non-empty, and the loop resets the eventfd and takes the whole
 * list under the same mutex, so no wake-up is lost and a burst of
 * completions costs one write and one read.  Started as a generalisation of
 * mta/worker.c and authd/workq.c, which it replaces.
 *
 * Deferred jobs: the worker knows its current job through a thread-local
 * pointer, so workq_defer() needs no argument; a flag tells the worker,
 * after the job function returns, that the job is no longer its own (it
 * may already be completed and freed by then).  q->deferred counts the
 * jobs taken over and not yet handed back, and workq_free() waits for it
 * to reach zero after the join, so that a completion from a foreign thread
 * never touches a freed pool.
 *
 * Lazy completions (opts.lazy_ms): q->woken says that an eventfd write is
 * on its way for the finished list, so a push writes only when it is
 * false.  A lazy push also skips the write while q->tick_armed: the loop
 * has armed q->tick (lazy_ms from its last look at the list) and will take
 * the list then, or sooner from workq_take().  The loop re-arms the tick
 * after each look while jobs are pending, so under load (an accept every
 * ~100 us) it never fires, and with nothing pending it is left to run out:
 * a job submitted to an idle pool finds the tick off and wakes the loop as
 * before.  Both flags are under mu; the tick is the loop thread's.
 */
#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

struct workq_job {
	struct workq_job *next;
	struct workq *q;
	workq_job_fn *job;
	workq_done_fn *done;
	void *ctx;
};

struct workq {
	char *name;
	struct ev_loop *loop;
	struct ev_io *io;
	int efd;
	workq_cancel_fn *cancel;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_cond_t freed_cv;	 /* workq_free waits for deferred */
	struct workq_job *head, *tail;	 /* waiting */
	struct workq_job *dhead, *dtail; /* finished, done not run */
	size_t waiting, pending;
	size_t deferred; /* taken over by workq_defer, not handed back */
	unsigned idle;	 /* workers waiting for a job */
	bool woken;	 /* an eventfd write is due or done for dhead */
	bool tick_armed; /* loop mode, lazy: q->tick will take dhead */
	unsigned lazy_ms;
	struct ev_timer *tick;
	size_t n_lazy; /* completions that skipped the eventfd */
	unsigned queue_max;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
};

/* The job this worker thread is running, and whether it deferred. */
static _Thread_local struct workq_job *cur_job;
static _Thread_local bool cur_deferred;
static _Thread_local bool cur_lazy;

/* Appends j to the finished list.  Under q->mu. */
static void done_push(struct workq *q, struct workq_job *j)
{
	j->next = NULL;
	if (q->dtail != NULL)
		q->dtail->next = j;
	else
		q->dhead = j;
	q->dtail = j;
}

static void wake_loop(struct workq *q)
{
	uint64_t one = 1;
	while (write(q->efd, &one, sizeof(one)) < 0) {
		if (errno == EINTR)
			continue;
		/* EAGAIN: the counter is already huge, the loop will wake */
		if (errno != EAGAIN)
			log_error("%s: workq eventfd write: %s", q->name,
				  strerror(errno));
		break;
	}
}

/* Delivers finished job j: loop mode pushes it to the loop's list and
   writes the eventfd (after the unlock, so that the loop thread never
   waits for the lock while this thread is in write(): the first push
   after the loop took the list is always followed by a write, and
   take_done resets the eventfd and takes the list under the lock, so a
   job pushed before a reset is taken with it and one pushed after gets
   its own wake-up, at worst a spurious one that finds the list empty);
   a lazy one (lazy true, the pool in lazy mode) writes nothing while the
   loop's tick is armed.  Callback mode runs done here.  Called with mu
   held; returns with it held. */
static void deliver(struct workq *q, struct workq_job *j, bool lazy)
{
	if (q->loop != NULL) {
		done_push(q, j);
		if (q->woken)
			return;
		if (lazy && q->lazy_ms > 0 && q->tick_armed) {
			q->n_lazy++;
			return;
		}
		q->woken = true;
		pthread_mutex_unlock(&q->mu);
		wake_loop(q);
		pthread_mutex_lock(&q->mu);
		return;
	}
	pthread_mutex_unlock(&q->mu);
	if (j->done != NULL)
		j->done(j->ctx);
	free(j);
	pthread_mutex_lock(&q->mu);
	q->pending--;
}

static void *worker_main(void *arg)
{
	struct workq *q = arg;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->head == NULL && !q->stopping) {
			q->idle++;
			pthread_cond_wait(&q->cv, &q->mu);
			q->idle--;
		}
		if (q->stopping)
			break;
		struct workq_job *j = q->head;
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->waiting--;
		pthread_mutex_unlock(&q->mu);

		cur_job = j;
		cur_deferred = false;
		cur_lazy = false;
		j->job(j->ctx);
		cur_job = NULL;

		pthread_mutex_lock(&q->mu);
		if (cur_deferred) {
			/* not ours any more: whoever took it over finishes
			   it (it may be gone already) */
			if (q->stopping)
				break;
			continue;
		}
		if (q->stopping) {
			/* workq_free cancels it after the join */
			done_push(q, j);
			break;
		}
		deliver(q, j, cur_lazy);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Runs the done callbacks of a list taken from q->dhead, on the loop
   thread, then (rearm) re-arms the lazy tick while jobs are pending. */
static void run_done(struct workq *q, struct workq_job *list, bool rearm)
{
	while (list != NULL) {
		struct workq_job *j = list;
		list = j->next;
		pthread_mutex_lock(&q->mu);
		q->pending--;
		pthread_mutex_unlock(&q->mu);
		if (j->done != NULL)
			j->done(j->ctx);
		free(j);
	}
	if (q->lazy_ms == 0 || !rearm)
		return;
	pthread_mutex_lock(&q->mu);
	bool busy = q->pending > 0;
	if (busy)
		q->tick_armed = true;
	pthread_mutex_unlock(&q->mu);
	/* pushed back at each look, so under load it never fires; armed
	   after the flag: a lazy push between the two is taken sooner */
	if (busy)
		ev_timer_set(q->tick, q->lazy_ms);
}

/* Loop mode: the eventfd is readable, finished jobs wait. */
static void take_done(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct workq *q = ctx;
	uint64_t n;
	pthread_mutex_lock(&q->mu);
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_error("%s: workq eventfd read: %s", q->name,
			  strerror(errno));
	q->woken = false;
	struct workq_job *list = q->dhead;
	q->dhead = q->dtail = NULL;
	pthread_mutex_unlock(&q->mu);
	run_done(q, list, true);
}

/* Lazy mode: the loop's promised look at the finished list.  The timer
   is off now: until run_done arms it again, a lazy push wakes the loop.
   A tick that found nothing is not re-armed: jobs pending for long (a
   frozen database) cost one tick per eventfd wake-up, not one per
   lazy_ms. */
static void tick_fired(struct ev_timer *t, void *ctx)
{
	struct workq *q = ctx;
	pthread_mutex_lock(&q->mu);
	q->tick_armed = false;
	struct workq_job *list = NULL;
	if (!q->woken) {
		list = q->dhead;
		q->dhead = q->dtail = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	run_done(q, list, list != NULL);
}

void workq_take(struct workq *q)
{
	if (q->lazy_ms == 0)
		return;
	pthread_mutex_lock(&q->mu);
	/* with a write on its way the eventfd's callback takes the list
	   (in this round of the loop, or the next): reading it here would
	   only leave it a spurious wake-up */
	struct workq_job *list = NULL;
	if (!q->woken) {
		list = q->dhead;
		q->dhead = q->dtail = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	run_done(q, list, true);
}

struct workq *workq_new(const struct workq_opts *opts)
{
	if (opts->threads == 0)
		fatal("workq_new: no threads");
	struct workq *q = xcalloc(1, sizeof(*q));
	q->name = xstrdup(opts->name != NULL ? opts->name : "workq");
	q->loop = opts->loop;
	q->cancel = opts->cancel;
	q->queue_max = opts->queue_max;
	q->efd = -1;
	if (pthread_mutex_init(&q->mu, NULL) != 0 ||
	    pthread_cond_init(&q->cv, NULL) != 0 ||
	    pthread_cond_init(&q->freed_cv, NULL) != 0)
		fatal("%s: cannot initialise the worker queue", q->name);
	if (q->loop != NULL) {
		q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q->efd < 0)
			fatal("%s: eventfd: %s", q->name, strerror(errno));
		q->io = ev_io_new(q->loop, q->efd, EV_READ, take_done, q);
		q->lazy_ms = opts->lazy_ms;
		if (q->lazy_ms > 0) {
			/* made armed (lib/ev has no unarmed timer); nothing
			   is pending, so firing once it only disarms */
			q->tick =
			    ev_timer_new(q->loop, q->lazy_ms, tick_fired, q);
		}
	}
	q->threads = xcalloc(opts->threads, sizeof(*q->threads));
	/* workers take no signals: SIGHUP, SIGTERM and friends must reach
	   the loop's signalfd, whenever the loop starts watching them */
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) != 0 ||
	    (opts->stack_size > 0 &&
	     pthread_attr_setstacksize(&attr, opts->stack_size) != 0))
		fatal("%s: bad worker thread attributes", q->name);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < opts->threads; i++) {
		int e = pthread_create(&q->threads[i], &attr, worker_main, q);
		if (e != 0)
			fatal("%s: cannot start worker threads: %s", q->name,
			      strerror(e));
		/* "authd-w3" in top -H and perf; at most 15 bytes */
		char tn[16];
		if (snprintf(tn, sizeof(tn), "%.8s-w%u", q->name, i) > 0)
			(void)pthread_setname_np(q->threads[i], tn);
		q->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return q;
}

int workq_submit(struct workq *q, workq_job_fn *job, workq_done_fn *done,
		 void *ctx)
{
	pthread_mutex_lock(&q->mu);
	if (q->waiting >= q->queue_max || q->stopping) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	/* allocated under the lock only to keep the refusal path free of
	   it; malloc has its own per-thread arenas */
	struct workq_job *j = xmalloc(sizeof(*j));
	j->next = NULL;
	j->q = q;
	j->job = job;
	j->done = done;
	j->ctx = ctx;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->waiting++;
	q->pending++;
	bool wake = q->idle > 0;
	pthread_mutex_unlock(&q->mu);
	/* after the unlock: a worker woken under the lock would at once
	   block on it again (two more futex calls and a context switch
	   per job); the waiting list is checked under the lock, so no
	   job is missed.  No signal while every worker is busy: each
	   looks at the list before it waits. */
	if (wake)
		pthread_cond_signal(&q->cv);
	return 0;
}

struct workq_job *workq_defer(void)
{
	struct workq_job *j = cur_job;
	if (j == NULL || cur_deferred)
		fatal("workq_defer: not in a job, or deferred twice");
	cur_deferred = true;
	pthread_mutex_lock(&j->q->mu);
	j->q->deferred++;
	pthread_mutex_unlock(&j->q->mu);
	return j;
}

struct workq_job *workq_defer_new(struct workq *q, workq_done_fn *done,
				  void *ctx)
{
	struct workq_job *j = xmalloc(sizeof(*j));
	j->next = NULL;
	j->q = q;
	j->job = NULL;
	j->done = done;
	j->ctx = ctx;
	pthread_mutex_lock(&q->mu);
	q->pending++;
	q->deferred++;
	pthread_mutex_unlock(&q->mu);
	return j;
}

/* One deferred job handed back.  Called with mu held. */
static void deferred_put(struct workq *q)
{
	q->deferred--;
	if (q->deferred == 0 && q->stopping)
		pthread_cond_broadcast(&q->freed_cv);
}

static void complete(struct workq_job *j, bool lazy)
{
	struct workq *q = j->q;
	pthread_mutex_lock(&q->mu);
	if (q->stopping) {
		/* cancelled by workq_free, which waits for this */
		done_push(q, j);
		deferred_put(q);
		pthread_mutex_unlock(&q->mu);
		return;
	}
	/* as a worker does after a job; in loop mode the deferred count
	   drops only after the write, so that workq_free never closes the
	   eventfd under it */
	deliver(q, j, lazy);
	deferred_put(q);
	pthread_mutex_unlock(&q->mu);
}

void workq_complete(struct workq_job *j)
{
	complete(j, false);
}

void workq_complete_lazy(struct workq_job *j)
{
	complete(j, true);
}

void workq_lazy(void)
{
	if (cur_job == NULL)
		fatal("workq_lazy: not in a job");
	cur_lazy = true;
}

size_t workq_lazy_count(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->n_lazy;
	pthread_mutex_unlock(&q->mu);
	return n;
}

int workq_resume(struct workq_job *j, workq_job_fn *job)
{
	struct workq *q = j->q;
	pthread_mutex_lock(&q->mu);
	if (q->stopping) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	/* first in line: it was accepted before every job waiting */
	j->job = job;
	j->next = q->head;
	q->head = j;
	if (q->tail == NULL)
		q->tail = j;
	q->waiting++;
	deferred_put(q);
	bool wake = q->idle > 0;
	pthread_mutex_unlock(&q->mu);
	if (wake)
		pthread_cond_signal(&q->cv);
	return 0;
}

size_t workq_pending(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->pending;
	pthread_mutex_unlock(&q->mu);
	return n;
}

static void cancel_list(struct workq *q, struct workq_job *j)
{
	while (j != NULL) {
		struct workq_job *n = j->next;
		if (q->cancel != NULL)
			q->cancel(j->ctx);
		free(j);
		j = n;
	}
}

void workq_free(struct workq **qp)
{
	struct workq *q = *qp;
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	/* deferred jobs are finished by jobs that ran to their end above,
	   or by other threads: their completions land in the done list */
	pthread_mutex_lock(&q->mu);
	while (q->deferred > 0)
		pthread_cond_wait(&q->freed_cv, &q->mu);
	pthread_mutex_unlock(&q->mu);
	cancel_list(q, q->head);
	cancel_list(q, q->dhead);
	ev_io_free(&q->io);
	ev_timer_free(&q->tick);
	if (q->efd >= 0)
		close(q->efd);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	pthread_cond_destroy(&q->freed_cv);
	free(q->threads);
	free(q->name);
	free(q);
	*qp = NULL;
}
