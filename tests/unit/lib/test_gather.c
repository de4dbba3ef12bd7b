/*
 * Unit tests for lib/gather: a lone submit runs at once in a batch of one
 * on the caller's thread; many threads submitting at once each get their
 * own item's result (the batch function writes a value derived from each
 * item), no batch is larger than max_batch, no more than max_running
 * batches run at once, every item is run exactly once (and finished once
 * after it is run, when there is a finish step), and a batch under way
 * makes the others gather into larger batches.  Async submits: a lone one
 * runs its continuation on the caller's thread before it returns; one
 * made while a batch is under way returns at once and is run and
 * continued by the thread that ends that batch, with nobody submitting
 * after it; with many threads (async alone, and mixed with waiting
 * submits) every continuation runs exactly once, with the item's own
 * result, after its batch, and none is left when the submitters are gone.
 * gather_try_park takes an item only behind a batch under way.  A hold
 * (gather_set_hold): a lone submit is never held; while busy, the batch
 * after one under way waits for its minimum and takes what parked
 * meanwhile; not busy, it goes at once; a hold ends at its deadline; and
 * the threads' tests again with every batch held.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gather.h"
#include "test.h"

#define THREADS	   16
#define PER_THREAD 200

struct item {
	struct gather_item g; /* first */
	unsigned in;
	unsigned out;
	int runs, finished;
	pthread_t ran_on;
};

struct ctx {
	unsigned max_batch;
	atomic_uint running, max_seen_running, max_seen_batch;
	atomic_uint bad;
	unsigned slow_us; /* each batch takes this long */
};

/* The start of a batch of n in run or arun: counts it and checks its
   size, then takes slow_us. */
static void batch_start(struct ctx *c, size_t n)
{
	unsigned r = atomic_fetch_add(&c->running, 1) + 1;
	unsigned m = atomic_load(&c->max_seen_running);
	while (r > m &&
	       !atomic_compare_exchange_weak(&c->max_seen_running, &m, r))
		;
	m = atomic_load(&c->max_seen_batch);
	while (n > m && !atomic_compare_exchange_weak(&c->max_seen_batch, &m,
						      (unsigned)n))
		;
	if (n < 1 || n > c->max_batch)
		atomic_fetch_add(&c->bad, 1);
	if (c->slow_us > 0)
		usleep(c->slow_us);
}

static void run_items(struct ctx *c, struct gather_item *const *items, size_t n,
		      bool async);

static void run(void *vctx, struct gather_item *const *items, size_t n)
{
	run_items(vctx, items, n, false);
}

/* the finish step: after run, outside the running count */
static void run_finish(void *vctx, struct gather_item *const *items, size_t n)
{
	struct ctx *c = vctx;
	if (c->slow_us > 0)
		usleep(c->slow_us);
	for (size_t i = 0; i < n; i++) {
		struct item *it = (struct item *)items[i];
		if (it->runs != 1 || it->out != it->in * 3 + 1)
			atomic_fetch_add(&c->bad, 1);
		it->finished++;
	}
}

struct worker {
	struct gather *g;
	unsigned id;
	int bad;
	bool finish;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	for (unsigned i = 0; i < PER_THREAD; i++) {
		struct item it;
		memset(&it, 0, sizeof(it));
		it.in = w->id * 100000 + i;
		gather_submit(w->g, &it.g);
		if (it.runs != 1 || it.out != it.in * 3 + 1 ||
		    it.finished != (w->finish ? 1 : 0))
			w->bad++;
	}
	return NULL;
}

static void test_lone(void)
{
	struct ctx c = {.max_batch = 8};
	struct gather *g = gather_new(8, 1, run, NULL, &c);
	struct item it;
	unsigned long b, n;

	test_begin("lone submit");
	memset(&it, 0, sizeof(it));
	it.in = 7;
	gather_submit(g, &it.g);
	test_assert(it.runs == 1 && it.out == 22);
	test_assert(pthread_equal(it.ran_on, pthread_self()));
	gather_stats(g, &b, &n);
	test_assert(b == 1 && n == 1);
	gather_free(&g);
	test_assert(g == NULL);
	gather_free(&g); /* NULL: nothing */
}

static void test_threads(unsigned max_batch, unsigned max_running,
			 unsigned slow_us, bool finish)
{
	struct ctx c = {.max_batch = max_batch, .slow_us = slow_us};
	struct gather *g = gather_new(max_batch, max_running, run,
				      finish ? run_finish : NULL, &c);
	pthread_t t[THREADS];
	struct worker w[THREADS];
	unsigned long b, n;
	int bad = 0;
	char name[96];

	snprintf(name, sizeof(name), "threads: batch %u, running %u, %u us%s",
		 max_batch, max_running, slow_us,
		 finish ? ", finish step" : "");
	test_begin(name);
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = (struct worker){g, i, 0, finish};
		test_assert(pthread_create(&t[i], NULL, worker, &w[i]) == 0);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
	}
	gather_stats(g, &b, &n);
	test_assert(bad == 0);
	test_assert(atomic_load(&c.bad) == 0);
	test_assert(n == THREADS * PER_THREAD);
	test_assert(b >= n / max_batch && b <= n);
	test_assert(atomic_load(&c.max_seen_running) <= max_running);
	test_assert(atomic_load(&c.max_seen_batch) <= max_batch);
	/* with a slow batch under way, the others pile up behind it */
	if (slow_us > 0 && max_batch > 1)
		test_assert(atomic_load(&c.max_seen_batch) > 1 && b < n);
	fprintf(stderr, "%s: %lu items in %lu batches\n", name, n, b);
	gather_free(&g);
}

/* ---- async submits ---- */

struct aitem {
	struct gather_item g; /* first */
	unsigned in, out;
	int runs, finished;
	pthread_t ran_on;
	pthread_t submitter;
	atomic_int conts;
	atomic_int bad;
	bool own;
	pthread_t cont_on;
	bool finish;
};

/* run and finish as above, for struct aitem */
static void arun(void *vctx, struct gather_item *const *items, size_t n)
{
	run_items(vctx, items, n, true);
}

/* A batch of struct item (run) or struct aitem (arun): each gets its
   value, counts its run, and remembers the thread. */
#define RUN_ITEM(it)                                                           \
	do {                                                                   \
		(it)->out = (it)->in * 3 + 1;                                  \
		(it)->runs++;                                                  \
		(it)->ran_on = pthread_self();                                 \
	} while (0)

static void run_items(struct ctx *c, struct gather_item *const *items, size_t n,
		      bool async)
{
	batch_start(c, n);
	for (size_t i = 0; i < n; i++) {
		if (async)
			RUN_ITEM((struct aitem *)items[i]);
		else
			RUN_ITEM((struct item *)items[i]);
	}
	atomic_fetch_sub(&c->running, 1);
}

static void afinish(void *vctx, struct gather_item *const *items, size_t n)
{
	struct ctx *c = vctx;
	for (size_t i = 0; i < n; i++) {
		struct aitem *it = (struct aitem *)items[i];
		if (it->runs != 1 || it->out != it->in * 3 + 1)
			atomic_fetch_add(&c->bad, 1);
		it->finished++;
	}
}

static void acont(struct gather_item *g, bool own)
{
	struct aitem *it = (struct aitem *)g;
	it->own = own;
	it->cont_on = pthread_self();
	/* after its batch: run once, finished once, the item's own value,
	   on the thread that ran the batch */
	if (it->runs != 1 || it->out != it->in * 3 + 1 ||
	    it->finished != (it->finish ? 1 : 0) ||
	    !pthread_equal(it->ran_on, it->cont_on) ||
	    (own && !pthread_equal(it->submitter, it->cont_on)))
		atomic_fetch_add(&it->bad, 1);
	atomic_fetch_add(&it->conts, 1);
}

static void test_async_lone(void)
{
	struct ctx c = {.max_batch = 8};
	struct gather *g = gather_new(8, 1, arun, afinish, &c);
	struct aitem it;

	test_begin("async: lone submit");
	memset(&it, 0, sizeof(it));
	it.in = 5;
	it.finish = true;
	it.submitter = pthread_self();
	gather_submit_async(g, &it.g, acont);
	/* led at once by the caller, continued before the return */
	test_assert(atomic_load(&it.conts) == 1 && it.own);
	test_assert(atomic_load(&it.bad) == 0 && it.out == 16);
	test_assert(pthread_equal(it.cont_on, pthread_self()));
	gather_free(&g);
}

/* A batch held under way by a gate: async submits meanwhile return at
   once, unrun; when the gate opens, the thread that ran the held batch
   also runs theirs and continues them, though nobody submits after. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open, gate_entered;

static void gated_run(void *vctx, struct gather_item *const *items, size_t n)
{
	pthread_mutex_lock(&gate_mu);
	gate_entered = true;
	pthread_cond_broadcast(&gate_cv);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	arun(vctx, items, n);
}

static void *gated_submitter(void *arg)
{
	struct gather *g = arg;
	struct aitem it;
	memset(&it, 0, sizeof(it));
	it.in = 1;
	gather_submit(g, &it.g);
	return it.runs == 1 && it.out == 4 ? NULL : (void *)1;
}

/* Starts a gated_submitter on g and returns once its batch is held under
   way (the gate closed). */
static bool gate_hold(struct gather *g, pthread_t *t)
{
	gate_open = gate_entered = false;
	if (pthread_create(t, NULL, gated_submitter, g) != 0)
		return false;
	pthread_mutex_lock(&gate_mu);
	while (!gate_entered)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	return true;
}

/* Opens the gate and joins t: true when its own item came back right. */
static bool gate_release(pthread_t t)
{
	void *rv = (void *)1;
	pthread_mutex_lock(&gate_mu);
	gate_open = true;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	return pthread_join(t, &rv) == 0 && rv == NULL;
}

/* Whether each of it[0..n) was continued once, right, by thread t. */
static bool continued_by(const struct aitem *it, unsigned n, pthread_t t)
{
	bool ok = true;
	for (unsigned i = 0; i < n; i++)
		ok = ok && atomic_load(&it[i].conts) == 1 &&
		     atomic_load(&it[i].bad) == 0 && !it[i].own &&
		     pthread_equal(it[i].cont_on, t);
	return ok;
}

static void test_async_parked(void)
{
	struct ctx c = {.max_batch = 4};
	struct gather *g = gather_new(4, 1, gated_run, NULL, &c);
	static struct aitem it[10];
	pthread_t t;
	unsigned long b, n;

	test_begin("async: parked behind a batch, led by its leader");
	memset(it, 0, sizeof(it));
	test_assert(gate_hold(g, &t));
	for (unsigned i = 0; i < 10; i++) {
		it[i].in = 100 + i;
		it[i].submitter = pthread_self();
		gather_submit_async(g, &it[i].g, acont);
		/* returned without waiting for the batch under way */
		test_assert(atomic_load(&it[i].conts) == 0 && it[i].runs == 0);
	}
	test_assert(gate_release(t));
	/* the leader came back only after it ran them all: 1 + 4 + 4 + 2 */
	test_assert(continued_by(it, 10, t));
	gather_stats(g, &b, &n);
	test_assert(b == 4 && n == 11);
	test_assert(atomic_load(&c.max_seen_batch) == 4);
	gather_free(&g);
}

/* gather_try_park: taken only behind a batch under way, and then run and
   continued by that batch's leader; with no batch under way, refused and
   left alone */
static void test_try_park(void)
{
	struct ctx c = {.max_batch = 4};
	struct gather *g = gather_new(4, 1, gated_run, NULL, &c);
	static struct aitem it[6];
	pthread_t t;

	test_begin("try_park: only behind a batch under way");
	memset(it, 0, sizeof(it));
	/* nothing under way: not taken */
	test_assert(!gather_try_park(g, &it[5].g, acont));
	test_assert(gate_hold(g, &t));
	for (unsigned i = 0; i < 5; i++) {
		it[i].in = 200 + i;
		test_assert(gather_try_park(g, &it[i].g, acont));
		test_assert(atomic_load(&it[i].conts) == 0 && it[i].runs == 0);
	}
	test_assert(gate_release(t));
	test_assert(continued_by(it, 5, t));
	test_assert(atomic_load(&it[5].conts) == 0 && it[5].runs == 0);
	/* nothing under way again */
	test_assert(!gather_try_park(g, &it[5].g, acont));
	gather_free(&g);
}

/* gather_set_hold's busy: what the test says */
static atomic_bool busy_now;

static bool test_busy(void *ctx)
{
	(void)ctx;
	return atomic_load(&busy_now);
}

/* Opens the gate without joining its thread. */
static void gate_open_only(void)
{
	pthread_mutex_lock(&gate_mu);
	gate_open = true;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

/* Waits (at most ~5 s) until g has held n batches open. */
static bool held_reaches(struct gather *g, unsigned long n)
{
	for (int i = 0; i < 5000 && gather_held(g) < n; i++)
		usleep(1000);
	return gather_held(g) >= n;
}

/* A gather of batches up to 8 whose leaders hold for min items, at most
   wait_us, while test_busy says so; nothing busy yet */
static struct gather *held_gather(struct ctx *c, gather_run_fn *fn,
				  unsigned min, unsigned wait_us)
{
	struct gather *g = gather_new(8, 1, fn, NULL, c);
	gather_set_hold(g, min, wait_us, test_busy);
	atomic_store(&busy_now, false);
	return g;
}

/* A lone submit with a hold set but nothing busy: led at once, alone, not
   held (the hold's 10 s would show as a hang) */
static void test_hold_lone(void)
{
	test_begin("hold: a lone submit, nothing busy, never held");
	struct ctx c = {.max_batch = 8};
	struct gather *g = held_gather(&c, arun, 4, 10000000);
	struct aitem it = {.in = 3, .submitter = pthread_self()};
	unsigned long b, n;
	gather_submit_async(g, &it.g, acont);
	test_assert(atomic_load(&it.conts) == 1 && it.own);
	gather_stats(g, &b, &n);
	test_assert(b == 1 && n == 1 && gather_held(g) == 0);
	gather_free(&g);
}

/* While busy, the batch after a held one waits for min items (parked
   after its leader started holding) and runs them together; without
   busy, what waits goes at once */
static void test_hold_gathers(bool busy)
{
	struct ctx c = {.max_batch = 8};
	static struct aitem it[4];
	pthread_t t;
	unsigned long b, n;

	test_begin(busy ? "hold: busy, the next batch waits for its four"
			: "hold: not busy, the next batch goes at once");
	/* (the gated batch itself is not held: nothing busy yet) */
	struct gather *g = held_gather(&c, gated_run, 4, 10000000);
	memset(it, 0, sizeof(it));
	test_assert(gate_hold(g, &t));
	atomic_store(&busy_now, busy);
	for (unsigned i = 0; i < 2; i++) {
		it[i].in = 300 + i;
		test_assert(gather_try_park(g, &it[i].g, acont));
	}
	if (busy) {
		gate_open_only();
		/* t ends its batch and holds the next one open for two
		   more: they park behind it and go in the same batch */
		test_assert(held_reaches(g, 1));
		for (unsigned i = 2; i < 4; i++) {
			it[i].in = 300 + i;
			test_assert(gather_try_park(g, &it[i].g, acont));
		}
		test_assert(gate_release(t));
		test_assert(continued_by(it, 4, t));
		gather_stats(g, &b, &n);
		test_assert(b == 2 && n == 5 && gather_held(g) == 1);
		test_assert(atomic_load(&c.max_seen_batch) == 4);
	} else {
		test_assert(gate_release(t));
		test_assert(continued_by(it, 2, t));
		gather_stats(g, &b, &n);
		test_assert(b == 2 && n == 3 && gather_held(g) == 0);
	}
	gather_free(&g);
}

/* The hold ends at its deadline with what came */
static void test_hold_deadline(void)
{
	test_begin("hold: bounded by its deadline");
	/* one item, held for 8 that never come: 20 ms, then it goes */
	struct ctx c = {.max_batch = 8};
	struct gather *g = held_gather(&c, gated_run, 8, 20000);
	static struct aitem it[1] = {{.in = 400}};
	pthread_t t;
	test_assert(gate_hold(g, &t));
	atomic_store(&busy_now, true);
	test_assert(gather_try_park(g, &it[0].g, acont));
	test_assert(gate_release(t));
	test_assert(continued_by(it, 1, t));
	unsigned long b, n;
	gather_stats(g, &b, &n);
	test_assert(b == 2 && n == 2 && gather_held(g) == 1);
	gather_free(&g);
}

#define ATHREADS    8
#define APER_THREAD 300

struct aworker {
	struct gather *g;
	unsigned id;
	struct aitem *items; /* APER_THREAD: async, or waited for */
	bool sync;
	int bad;
};

static void *aworker_main(void *arg)
{
	struct aworker *w = arg;
	for (unsigned i = 0; i < APER_THREAD; i++) {
		struct aitem *it = &w->items[i];
		it->in = w->id * 100000 + i;
		it->finish = true;
		it->submitter = pthread_self();
		if (w->sync) {
			gather_submit(w->g, &it->g);
			if (it->runs != 1 || it->out != it->in * 3 + 1 ||
			    it->finished != 1)
				w->bad++;
		} else {
			gather_submit_async(w->g, &it->g, acont);
		}
		if (i % 16 == 0)
			sched_yield();
	}
	return NULL;
}

static void test_async_threads(bool mixed, unsigned slow_us, bool hold)
{
	struct ctx c = {.max_batch = 8, .slow_us = slow_us};
	struct gather *g = gather_new(8, 1, arun, afinish, &c);
	pthread_t t[ATHREADS];
	struct aworker w[ATHREADS];
	unsigned long b, n;
	char name[96];

	snprintf(name, sizeof(name), "async threads%s, %u us%s",
		 mixed ? ", mixed with waiting submits" : "", slow_us,
		 hold ? ", held for 6 (200 us)" : "");
	test_begin(name);
	if (hold) {
		gather_set_hold(g, 6, 200, test_busy);
		atomic_store(&busy_now, true);
	}
	for (unsigned i = 0; i < ATHREADS; i++) {
		w[i] = (struct aworker){g, i, NULL, mixed && i % 2 == 1, 0};
		w[i].items = calloc(APER_THREAD, sizeof(struct aitem));
		test_assert(pthread_create(&t[i], NULL, aworker_main, &w[i]) ==
			    0);
	}
	for (unsigned i = 0; i < ATHREADS; i++)
		pthread_join(t[i], NULL);
	/* every submitter has returned: nothing may be left parked */
	int bad = 0, elsewhere = 0, missing = 0;
	for (unsigned i = 0; i < ATHREADS; i++) {
		bad += w[i].bad;
		for (unsigned k = 0; !w[i].sync && k < APER_THREAD; k++) {
			struct aitem *it = &w[i].items[k];
			if (atomic_load(&it->conts) != 1)
				missing++;
			bad += atomic_load(&it->bad);
			if (!pthread_equal(it->cont_on, it->submitter))
				elsewhere++;
		}
		free(w[i].items);
	}
	gather_stats(g, &b, &n);
	test_assert(missing == 0 && bad == 0);
	test_assert(atomic_load(&c.bad) == 0);
	test_assert(n == ATHREADS * APER_THREAD);
	test_assert(atomic_load(&c.max_seen_running) <= 1);
	test_assert(atomic_load(&c.max_seen_batch) <= 8);
	/* slow batches: submits parked and were continued by others */
	if (slow_us > 0)
		test_assert(elsewhere > 0 && b < n);
	fprintf(stderr,
		"%s: %lu items in %lu batches, %d continued on "
		"another thread\n",
		name, n, b, elsewhere);
	gather_free(&g);
}

int main(void)
{
	test_lone();
	test_threads(8, 1, 0, false);
	test_threads(8, 1, 200, false);
	test_threads(8, 2, 200, false);
	test_threads(1, 1, 0, false);
	test_threads(GATHER_BATCH_MAX, 3, 50, false);
	test_threads(8, 1, 0, true);
	test_threads(8, 1, 200, true);
	test_threads(8, 2, 100, true);
	test_async_lone();
	test_async_parked();
	test_try_park();
	test_async_threads(false, 0, false);
	test_async_threads(false, 200, false);
	test_async_threads(true, 200, false);
	test_hold_lone();
	test_hold_gathers(true);
	test_hold_gathers(false);
	test_hold_deadline();
	test_async_threads(false, 0, true);
	test_async_threads(true, 100, true);
	return test_end();
}
