/*
 * Unit tests for lib/workq: loop mode (done on the loop thread, every job
 * delivered once, start order FIFO with one worker), callback mode (done on
 * the worker thread), the queue bound (queue_max + 1 refused), real
 * parallelism (N jobs that each wait for all N to be running), pending
 * counts, workq_free cancelling what never completed (ASan catches a
 * leak or a double free), and many threads submitting at once.  Deferred
 * jobs: a worker that defers takes the next job at once (one worker runs
 * every job while none is completed), completions from another thread
 * deliver each done once on the loop thread (or on the completing thread
 * in callback mode), a resumed job runs its second function on a worker
 * before its done, pending counts deferred jobs, and workq_free waits for
 * a deferred job completed late and cancels it; jobs made deferred by
 * the loop thread (workq_defer_new) finish the same ways.  Lazy
 * completions (opts.lazy_ms): on an idle pool they wake the loop as any;
 * while a job is pending they skip the eventfd, workq_take() runs their
 * done at once, the tick within its bound, and an ordinary completion
 * after a lazy one still wakes the loop (and takes both).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "test.h"
#include "workq.h"

#define NJOBS 200

static pthread_t loop_thread;

struct item {
	int id;
	bool ran, done;
	pthread_t ran_on, done_on;
	struct ev_loop *loop;
	int *ndone, want;
	int *order, *norder;
	pthread_mutex_t *gate; /* job blocks on it when set */
};

static void item_job(void *ctx)
{
	struct item *it = ctx;
	if (it->gate != NULL) {
		pthread_mutex_lock(it->gate);
		pthread_mutex_unlock(it->gate);
	}
	it->ran = true;
	it->ran_on = pthread_self();
	if (it->order != NULL)
		it->order[(*it->norder)++] = it->id; /* one worker only */
}

static void item_done(void *ctx)
{
	struct item *it = ctx;
	it->done = true;
	it->done_on = pthread_self();
	if (++*it->ndone == it->want && it->loop != NULL)
		ev_loop_stop(it->loop);
}

static void on_guard(struct ev_timer *t, void *ctx)
{
	ev_loop_stop(ctx);
}

static void test_loop_mode(unsigned threads)
{
	struct ev_loop *loop = ev_loop_new();
	struct workq_opts o = {.name = "test",
			       .threads = threads,
			       .queue_max = NJOBS,
			       .loop = loop};
	static struct item it[NJOBS];
	int order[NJOBS], norder = 0, ndone = 0;

	test_begin(threads == 1 ? "loop mode, 1 thread" : "loop mode");
	struct workq *q = workq_new(&o);
	memset(it, 0, sizeof(it));
	for (int i = 0; i < NJOBS; i++) {
		it[i].id = i;
		it[i].loop = loop;
		it[i].ndone = &ndone;
		it[i].want = NJOBS;
		if (threads == 1) {
			it[i].order = order;
			it[i].norder = &norder;
		}
		test_assert(workq_submit(q, item_job, item_done, &it[i]) == 0);
	}
	test_assert(workq_pending(q) > 0);
	struct ev_timer *guard = ev_timer_new(loop, 10000, on_guard, loop);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(ndone == NJOBS);
	bool all = true;
	for (int i = 0; i < NJOBS; i++) {
		all = all && it[i].ran && it[i].done &&
		      pthread_equal(it[i].done_on, loop_thread) &&
		      !pthread_equal(it[i].ran_on, loop_thread);
	}
	test_assert(all);
	test_assert(workq_pending(q) == 0);
	if (threads == 1) {
		bool fifo = norder == NJOBS;
		for (int i = 0; fifo && i < NJOBS; i++)
			fifo = order[i] == i;
		test_assert(fifo);
	}
	ev_timer_free(&guard);
	workq_free(&q);
	test_assert(q == NULL);
	ev_loop_free(&loop);
}

/* callback mode: done runs on the worker, right after the job */
static atomic_int cb_done;

static void cb_job(void *ctx)
{
	struct item *it = ctx;
	it->ran_on = pthread_self();
	it->ran = true;
}

static void cb_done_fn(void *ctx)
{
	struct item *it = ctx;
	it->done_on = pthread_self();
	it->done = true;
	atomic_fetch_add(&cb_done, 1);
}

static void test_callback_mode(void)
{
	struct workq_opts o = {.name = "cb",
			       .threads = 3,
			       .queue_max = NJOBS,
			       .stack_size = 256 * 1024};
	static struct item it[NJOBS];

	test_begin("callback mode");
	memset(it, 0, sizeof(it));
	atomic_store(&cb_done, 0);
	struct workq *q = workq_new(&o);
	for (int i = 0; i < NJOBS; i++)
		test_assert(workq_submit(q, cb_job, cb_done_fn, &it[i]) == 0);
	for (int i = 0; i < 1000 && atomic_load(&cb_done) < NJOBS; i++)
		usleep(5000);
	test_assert(atomic_load(&cb_done) == NJOBS);
	bool same = true;
	for (int i = 0; i < NJOBS; i++)
		same = same && it[i].ran && it[i].done &&
		       pthread_equal(it[i].ran_on, it[i].done_on) &&
		       !pthread_equal(it[i].ran_on, loop_thread);
	test_assert(same);
	/* pending drops after done returned: poll briefly */
	for (int i = 0; i < 200 && workq_pending(q) != 0; i++)
		usleep(1000);
	test_assert(workq_pending(q) == 0);
	/* done may be NULL */
	struct item extra = {0};
	test_assert(workq_submit(q, cb_job, NULL, &extra) == 0);
	for (int i = 0; i < 200 && workq_pending(q) != 0; i++)
		usleep(1000);
	test_assert(extra.ran && workq_pending(q) == 0);
	workq_free(&q);
}

/* the bound: with the only worker blocked, queue_max jobs wait and the
   next is refused; workq_free cancels the waiting ones and the one that
   finished undelivered */
static int cancelled;

static void count_cancel(void *ctx)
{
	struct item *it = ctx;
	test_assert(!it->done);
	cancelled++;
}

static void test_bound_and_cancel(void)
{
	struct ev_loop *loop = ev_loop_new();
	pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
	struct workq_opts o = {.name = "bound",
			       .threads = 1,
			       .queue_max = 4,
			       .loop = loop,
			       .cancel = count_cancel};
	struct item it[6];
	int ndone = 0;

	test_begin("bound and cancel");
	memset(it, 0, sizeof(it));
	cancelled = 0;
	struct workq *q = workq_new(&o);
	pthread_mutex_lock(&gate);
	it[0].gate = &gate;
	it[0].ndone = &ndone;
	test_assert(workq_submit(q, item_job, item_done, &it[0]) == 0);
	/* wait until the worker holds job 0 (the queue is then empty) */
	for (int i = 0; i < 1000; i++) {
		if (workq_pending(q) == 1) {
			usleep(20000);
			break;
		}
		usleep(1000);
	}
	for (int i = 1; i <= 4; i++) {
		it[i].ndone = &ndone;
		test_assert(workq_submit(q, item_job, item_done, &it[i]) == 0);
	}
	/* queue_max waiting: maximum + 1 is refused */
	test_assert(workq_submit(q, item_job, item_done, &it[5]) == -1);
	test_assert(workq_pending(q) == 5);
	pthread_mutex_unlock(&gate);
	/* job 0 finishes, but the loop never runs: its done is not
	   delivered; free races with the worker taking jobs 1-4, and every
	   job either ran undelivered or never started: all cancelled */
	usleep(20000);
	workq_free(&q);
	test_assert(cancelled == 5);
	test_assert(ndone == 0);
	test_assert(!it[5].ran);
	ev_loop_free(&loop);
	pthread_mutex_destroy(&gate);
}

/* parallelism: N jobs each wait until all N are running at once */
static atomic_int running;

static void barrier_job(void *ctx)
{
	int *ok = ctx;
	atomic_fetch_add(&running, 1);
	for (int i = 0; i < 2000 && atomic_load(&running) < 4; i++)
		usleep(1000);
	*ok = atomic_load(&running) >= 4;
}

static void test_parallel(void)
{
	struct workq_opts o = {.name = "par", .threads = 4, .queue_max = 8};
	int ok[4] = {0};

	test_begin("parallel");
	atomic_store(&running, 0);
	struct workq *q = workq_new(&o);
	for (int i = 0; i < 4; i++)
		test_assert(workq_submit(q, barrier_job, NULL, &ok[i]) == 0);
	for (int i = 0; i < 3000 && workq_pending(q) != 0; i++)
		usleep(1000);
	test_assert(ok[0] && ok[1] && ok[2] && ok[3]);
	workq_free(&q);
	workq_free(&q); /* NULL-safe */
}

/* many submitting threads (as libmicrohttpd's would), a small queue:
   refused submissions are retried, every job completes exactly once */
#define SUBMITTERS    4
#define PER_SUBMITTER 500

static atomic_int hits[SUBMITTERS * PER_SUBMITTER];
static atomic_int refused;
static struct workq *shared_q;

static void hit_job(void *ctx)
{
	(void)ctx;
}

static void hit_done(void *ctx)
{
	atomic_fetch_add(&hits[(intptr_t)ctx], 1);
}

static void *submitter(void *arg)
{
	intptr_t base = (intptr_t)arg * PER_SUBMITTER;
	for (intptr_t i = 0; i < PER_SUBMITTER; i++) {
		while (workq_submit(shared_q, hit_job, hit_done,
				    (void *)(base + i)) < 0) {
			atomic_fetch_add(&refused, 1);
			sched_yield();
		}
	}
	return NULL;
}

static void test_many_submitters(void)
{
	struct workq_opts o = {.name = "many", .threads = 3, .queue_max = 8};
	pthread_t th[SUBMITTERS];

	test_begin("many submitters, small queue");
	for (int i = 0; i < SUBMITTERS * PER_SUBMITTER; i++)
		atomic_store(&hits[i], 0);
	shared_q = workq_new(&o);
	for (intptr_t i = 0; i < SUBMITTERS; i++)
		test_assert(
		    pthread_create(&th[i], NULL, submitter, (void *)i) == 0);
	for (int i = 0; i < SUBMITTERS; i++)
		test_assert(pthread_join(th[i], NULL) == 0);
	for (int i = 0; i < 3000 && workq_pending(shared_q) != 0; i++)
		usleep(1000);
	test_assert(workq_pending(shared_q) == 0);
	bool once = true;
	for (int i = 0; i < SUBMITTERS * PER_SUBMITTER; i++)
		once = once && atomic_load(&hits[i]) == 1;
	test_assert(once);
	workq_free(&shared_q);
}

/* ---- deferred jobs ---- */

#define NDEFER 64

struct djob {
	int id;
	atomic_int ran, resumed, done, cancelled;
	pthread_t done_on, resumed_on;
	struct workq_job *h;
	bool resume;	      /* resume instead of complete */
	bool complete_in_job; /* defer, then complete at once */
	struct ev_loop *loop;
	atomic_int *ndone;
	int want;
};

/* handed over to the completer thread */
static pthread_mutex_t dmu = PTHREAD_MUTEX_INITIALIZER;
static struct djob *dlist[NDEFER];
static int dn;
static atomic_int deferred_running;

static void djob_run(void *ctx)
{
	struct djob *d = ctx;
	atomic_fetch_add(&d->ran, 1);
	d->h = workq_defer();
	if (d->complete_in_job) {
		workq_complete(d->h);
		return;
	}
	atomic_fetch_add(&deferred_running, 1);
	pthread_mutex_lock(&dmu);
	dlist[dn++] = d;
	pthread_mutex_unlock(&dmu);
}

static void djob_resumed(void *ctx)
{
	struct djob *d = ctx;
	d->resumed_on = pthread_self();
	atomic_fetch_add(&d->resumed, 1);
}

static void djob_done(void *ctx)
{
	struct djob *d = ctx;
	d->done_on = pthread_self();
	/* a resumed job's done comes after its second function */
	if (d->resume && atomic_load(&d->resumed) != 1)
		atomic_fetch_add(&d->cancelled, 100);
	atomic_fetch_add(&d->done, 1);
	if (atomic_fetch_add(d->ndone, 1) + 1 == d->want && d->loop != NULL)
		ev_loop_stop(d->loop);
}

static void djob_cancel(void *ctx)
{
	struct djob *d = ctx;
	atomic_fetch_add(&d->cancelled, 1);
}

/* The completer: waits until want jobs are deferred (all of them, on one
   worker: so the worker did not wait for any), then finishes them in
   reverse order. */
struct completer {
	int want;
	unsigned delay_us;
	pthread_t th;
};

static void *completer_main(void *arg)
{
	struct completer *c = arg;
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&dmu);
		int n = dn;
		pthread_mutex_unlock(&dmu);
		if (n >= c->want)
			break;
		usleep(200);
	}
	if (c->delay_us > 0)
		usleep(c->delay_us);
	pthread_mutex_lock(&dmu);
	int n = dn;
	pthread_mutex_unlock(&dmu);
	for (int i = n - 1; i >= 0; i--) {
		struct djob *d = dlist[i];
		if (d->resume && workq_resume(d->h, djob_resumed) == 0)
			continue;
		workq_complete(d->h);
	}
	return NULL;
}

static void test_defer(bool loop_mode)
{
	struct ev_loop *loop = loop_mode ? ev_loop_new() : NULL;
	struct workq_opts o = {.name = "defer",
			       .threads = 1,
			       .queue_max = NJOBS,
			       .loop = loop,
			       .cancel = djob_cancel};
	static struct djob d[NDEFER];
	atomic_int ndone;
	struct completer c = {.want = NDEFER};

	test_begin(loop_mode ? "defer, loop mode" : "defer, callback mode");
	memset(d, 0, sizeof(d));
	dn = 0;
	atomic_store(&ndone, 0);
	atomic_store(&deferred_running, 0);
	struct workq *q = workq_new(&o);
	for (int i = 0; i < NDEFER; i++) {
		d[i].id = i;
		d[i].resume = i % 3 == 1;
		d[i].loop = loop;
		d[i].ndone = &ndone;
		d[i].want = NDEFER;
		test_assert(workq_submit(q, djob_run, djob_done, &d[i]) == 0);
	}
	test_assert(pthread_create(&c.th, NULL, completer_main, &c) == 0);
	if (loop_mode) {
		struct ev_timer *guard =
		    ev_timer_new(loop, 20000, on_guard, loop);
		test_assert(ev_loop_run(loop) == 0);
		ev_timer_free(&guard);
	} else {
		for (int i = 0; i < 4000 && atomic_load(&ndone) < NDEFER; i++)
			usleep(1000);
	}
	test_assert(pthread_join(c.th, NULL) == 0);
	/* the one worker ran all before any completion: none waited */
	test_assert(dn == NDEFER);
	test_assert(atomic_load(&ndone) == NDEFER);
	bool ok = true;
	for (int i = 0; i < NDEFER; i++) {
		ok = ok && atomic_load(&d[i].ran) == 1 &&
		     atomic_load(&d[i].done) == 1 &&
		     atomic_load(&d[i].cancelled) == 0 &&
		     atomic_load(&d[i].resumed) == (d[i].resume ? 1 : 0);
		if (loop_mode)
			ok = ok && pthread_equal(d[i].done_on, loop_thread);
		else if (!d[i].resume)
			/* the completer's own thread */
			ok = ok && pthread_equal(d[i].done_on, c.th);
		if (d[i].resume)
			ok = ok && !pthread_equal(d[i].resumed_on, c.th) &&
			     !pthread_equal(d[i].resumed_on, loop_thread);
	}
	test_assert(ok);
	for (int i = 0; i < 200 && workq_pending(q) != 0; i++)
		usleep(1000);
	test_assert(workq_pending(q) == 0);
	workq_free(&q);
	if (loop != NULL)
		ev_loop_free(&loop);
}

/* jobs made deferred by the loop thread itself (workq_defer_new), never
   run by a worker first: completed by another thread (done on the loop)
   or resumed (their function on a worker, then done) */
static void test_defer_new(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct workq_opts o = {.name = "dnew",
			       .threads = 2,
			       .queue_max = 4,
			       .loop = loop,
			       .cancel = djob_cancel};
	static struct djob d[NDEFER];
	atomic_int ndone;
	struct completer c = {.want = NDEFER};

	test_begin("deferred from the start");
	memset(d, 0, sizeof(d));
	dn = 0;
	atomic_store(&ndone, 0);
	struct workq *q = workq_new(&o);
	for (int i = 0; i < NDEFER; i++) {
		d[i].resume = i % 2 == 0;
		d[i].loop = loop;
		d[i].ndone = &ndone;
		d[i].want = NDEFER;
		/* more than queue_max: never refused */
		d[i].h = workq_defer_new(q, djob_done, &d[i]);
		test_assert(d[i].h != NULL);
		dlist[dn++] = &d[i];
	}
	test_assert(workq_pending(q) == NDEFER);
	test_assert(pthread_create(&c.th, NULL, completer_main, &c) == 0);
	struct ev_timer *guard = ev_timer_new(loop, 20000, on_guard, loop);
	test_assert(ev_loop_run(loop) == 0);
	ev_timer_free(&guard);
	test_assert(pthread_join(c.th, NULL) == 0);
	test_assert(atomic_load(&ndone) == NDEFER);
	bool ok = true;
	for (int i = 0; i < NDEFER; i++)
		ok = ok && atomic_load(&d[i].done) == 1 &&
		     atomic_load(&d[i].ran) == 0 &&
		     atomic_load(&d[i].cancelled) == 0 &&
		     atomic_load(&d[i].resumed) == (d[i].resume ? 1 : 0) &&
		     pthread_equal(d[i].done_on, loop_thread) &&
		     (!d[i].resume ||
		      (!pthread_equal(d[i].resumed_on, c.th) &&
		       !pthread_equal(d[i].resumed_on, loop_thread)));
	test_assert(ok);
	test_assert(workq_pending(q) == 0);
	workq_free(&q);
	ev_loop_free(&loop);
}

/* a job that defers and completes before it returns is an ordinary job */
static void test_defer_in_job(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct workq_opts o = {
	    .name = "inj", .threads = 2, .queue_max = NJOBS, .loop = loop};
	static struct djob d[NDEFER];
	atomic_int ndone;

	test_begin("defer and complete in the job");
	memset(d, 0, sizeof(d));
	dn = 0;
	atomic_store(&ndone, 0);
	struct workq *q = workq_new(&o);
	for (int i = 0; i < NDEFER; i++) {
		d[i].complete_in_job = true;
		d[i].loop = loop;
		d[i].ndone = &ndone;
		d[i].want = NDEFER;
		test_assert(workq_submit(q, djob_run, djob_done, &d[i]) == 0);
	}
	struct ev_timer *guard = ev_timer_new(loop, 20000, on_guard, loop);
	test_assert(ev_loop_run(loop) == 0);
	ev_timer_free(&guard);
	test_assert(atomic_load(&ndone) == NDEFER);
	bool ok = true;
	for (int i = 0; i < NDEFER; i++)
		ok = ok && atomic_load(&d[i].done) == 1 &&
		     pthread_equal(d[i].done_on, loop_thread);
	test_assert(ok && dn == 0);
	test_assert(workq_pending(q) == 0);
	workq_free(&q);
	ev_loop_free(&loop);
}

/* workq_free with deferred jobs out: it waits for their completion (from
   another thread, late), cancels them, and a resume while it stops is
   refused (the completer then completes) */
static void test_free_waits(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct workq_opts o = {.name = "fw",
			       .threads = 2,
			       .queue_max = NJOBS,
			       .loop = loop,
			       .cancel = djob_cancel};
	static struct djob d[8];
	atomic_int ndone;
	struct completer c = {.want = 8, .delay_us = 100000};

	test_begin("free waits for deferred jobs");
	memset(d, 0, sizeof(d));
	dn = 0;
	atomic_store(&ndone, 0);
	struct workq *q = workq_new(&o);
	for (int i = 0; i < 8; i++) {
		d[i].resume = i % 2 == 0;
		d[i].ndone = &ndone;
		test_assert(workq_submit(q, djob_run, djob_done, &d[i]) == 0);
	}
	for (int i = 0; i < 2000 && dn < 8; i++)
		usleep(1000);
	test_assert(dn == 8);
	test_assert(workq_pending(q) == 8);
	test_assert(pthread_create(&c.th, NULL, completer_main, &c) == 0);
	workq_free(&q); /* the completer sleeps 100 ms before it starts */
	test_assert(q == NULL);
	test_assert(pthread_join(c.th, NULL) == 0);
	/* (a resume that came before the stop may have run: never its
	   done) */
	bool ok = true;
	for (int i = 0; i < 8; i++)
		ok = ok && atomic_load(&d[i].cancelled) == 1 &&
		     atomic_load(&d[i].done) == 0;
	test_assert(ok);
	ev_loop_free(&loop);
}

/* Lazy completions. */
struct lazy_item {
	bool lazy_job; /* calls workq_lazy() */
	atomic_int *ran;
	int *ndone, want;
	struct ev_loop *loop; /* stopped at the want-th done */
};

static void lazy_job(void *ctx)
{
	struct lazy_item *it = ctx;
	if (it->lazy_job)
		workq_lazy();
	atomic_fetch_add(it->ran, 1);
}

static void lazy_done(void *ctx)
{
	struct lazy_item *it = ctx;
	test_assert(pthread_equal(pthread_self(), loop_thread));
	if (++*it->ndone == it->want && it->loop != NULL)
		ev_loop_stop(it->loop);
}

static void wait_ran(atomic_int *ran, int n)
{
	for (int i = 0; i < 5000 && atomic_load(ran) < n; i++)
		usleep(1000);
	/* and the worker's delivery after the job function */
	usleep(20000);
}

/* Submits n jobs (lazy_job: workq_lazy in each) and waits until they ran. */
static void lazy_submit(struct workq *q, struct lazy_item *it, int n, bool lazy,
			atomic_int *ran)
{
	int before = atomic_load(ran);
	for (int i = 0; i < n; i++) {
		it[i].lazy_job = lazy;
		it[i].ran = ran;
		test_assert(workq_submit(q, lazy_job, lazy_done, &it[i]) == 0);
	}
	wait_ran(ran, before + n);
}

static void test_lazy(void)
{
	struct ev_loop *loop = ev_loop_new();
	/* a tick far beyond the guards: whatever arrives before them came
	   through workq_take or the eventfd */
	struct workq_opts o = {.name = "lazy",
			       .threads = 1,
			       .queue_max = NJOBS,
			       .loop = loop,
			       .lazy_ms = 600000};
	static struct lazy_item it[16];
	atomic_int ran;
	int ndone = 0;

	test_begin("lazy completions");
	atomic_store(&ran, 0);
	memset(it, 0, sizeof(it));
	for (int i = 0; i < 16; i++) {
		it[i].ndone = &ndone;
		it[i].loop = loop;
	}
	struct workq *q = workq_new(&o);

	/* idle pool, nothing pending: a lazy job wakes the loop */
	it[0].want = 1;
	lazy_submit(q, it, 1, true, &ran);
	struct ev_timer *guard = ev_timer_new(loop, 5000, on_guard, loop);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(ndone == 1);
	test_assert(workq_lazy_count(q) == 0);

	/* a job pending (the keeper): the loop's look arms the tick, and
	   lazy jobs finished after it wait for workq_take */
	static struct lazy_item keeper;
	keeper.ndone = &ndone;
	keeper.loop = loop;
	struct workq_job *kj = workq_defer_new(q, lazy_done, &keeper);
	workq_take(q);
	ndone = 1;
	for (int i = 1; i < 9; i++)
		it[i].want = -1;
	lazy_submit(q, it + 1, 8, true, &ran);
	test_assert(ndone == 1);
	test_assert(workq_lazy_count(q) == 8);
	workq_take(q);
	test_assert(ndone == 9);
	test_assert(workq_pending(q) == 1);

	/* an ordinary completion after a lazy one wakes the loop, and the
	   lazy one's done runs with it */
	it[9].want = -1;
	lazy_submit(q, it + 9, 1, true, &ran);
	test_assert(workq_lazy_count(q) == 9);
	it[10].want = -1;
	lazy_submit(q, it + 10, 1, false, &ran);
	ev_timer_set(guard, 5000);
	keeper.want = 12;
	workq_complete(kj);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(ndone == 12);
	test_assert(workq_pending(q) == 0);
	ev_timer_free(&guard);
	workq_free(&q);

	/* the bound: with nothing else to wake the loop, the tick takes
	   lazy completions (here 20 ms; the guard is 5 s) */
	o.lazy_ms = 20;
	q = workq_new(&o);
	ndone = 0;
	keeper.want = -1;
	kj = workq_defer_new(q, lazy_done, &keeper);
	workq_take(q);
	for (int i = 0; i < 4; i++)
		it[i].want = 4;
	lazy_submit(q, it, 4, true, &ran);
	test_assert(workq_lazy_count(q) == 4);
	guard = ev_timer_new(loop, 5000, on_guard, loop);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(ndone == 4);
	ev_timer_free(&guard);
	workq_complete(kj);
	/* the keeper's done is not run: cancelled by workq_free */
	workq_free(&q);
	test_assert(ndone == 4);
	ev_loop_free(&loop);
}

int main(void)
{
	loop_thread = pthread_self();
	test_loop_mode(1);
	test_loop_mode(4);
	test_callback_mode();
	test_bound_and_cancel();
	test_parallel();
	test_many_submitters();
	test_defer(true);
	test_defer(false);
	test_defer_new();
	test_defer_in_job();
	test_free_waits();
	test_lazy();
	return test_end();
}
