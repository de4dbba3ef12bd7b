/*
 * Unit tests for lib/gather: a lone submit runs at once in a batch of one
 * on the caller's thread; many threads submitting at once each get their
 * own item's result (the batch function writes a value derived from each
 * item), no batch is larger than max_batch, no more than max_running
 * batches run at once, every item is run exactly once (and finished once
 * after it is run, when there is a finish step), and a batch under way
 * makes the others gather into larger batches.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
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

static void run(void *vctx, struct gather_item *const *items, size_t n)
{
	struct ctx *c = vctx;
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
	for (size_t i = 0; i < n; i++) {
		struct item *it = (struct item *)items[i];
		it->out = it->in * 3 + 1;
		it->runs++;
		it->ran_on = pthread_self();
	}
	atomic_fetch_sub(&c->running, 1);
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
	return test_end();
}
