/*
 * Unit tests for lib/timerq: each callback runs once and never before its
 * delay (a lower bound only: no test here depends on the machine being
 * fast), zero delays, the bound on waiting entries (max, max+1), and
 * timerq_free running what still waits at once.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "timerq.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

struct item {
	uint64_t added, ran; /* CLOCK_MONOTONIC ms */
	unsigned delay;
	int runs;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fire(void *ctx)
{
	struct item *it = ctx;
	pthread_mutex_lock(&mu);
	it->ran = now_ms();
	it->runs++;
	pthread_mutex_unlock(&mu);
}

static int runs(struct item *it)
{
	pthread_mutex_lock(&mu);
	int n = it->runs;
	pthread_mutex_unlock(&mu);
	return n;
}

int main(void)
{
	test_begin("timerq: delays");
	struct timerq *q = timerq_new(8);
	struct item it[4] = {
	    {.delay = 60}, {.delay = 0}, {.delay = 20}, {.delay = 40}};
	for (size_t i = 0; i < 4; i++) {
		it[i].added = now_ms();
		test_assert(timerq_add(q, it[i].delay, fire, &it[i]) == 0);
	}
	for (size_t i = 0; i < 4; i++) {
		while (runs(&it[i]) == 0)
			usleep(2000);
		test_assert(runs(&it[i]) == 1);
		test_assert(it[i].ran >= it[i].added + it[i].delay);
	}
	test_begin("timerq: bounded");
	struct item w[3] = {
	    {.delay = 3600000}, {.delay = 3600000}, {.delay = 3600000}};
	struct timerq *small = timerq_new(2);
	test_assert(timerq_add(small, w[0].delay, fire, &w[0]) == 0);
	test_assert(timerq_add(small, w[1].delay, fire, &w[1]) == 0);
	test_assert(timerq_add(small, w[2].delay, fire, &w[2]) == -1);
	test_begin("timerq: free runs what waits");
	timerq_free(&small);
	test_assert(small == NULL);
	test_assert(runs(&w[0]) == 1 && runs(&w[1]) == 1 && runs(&w[2]) == 0);
	timerq_free(&q);
	timerq_free(&q); /* NULL-safe */
	for (size_t i = 0; i < 4; i++)
		test_assert(runs(&it[i]) == 1);
	return test_end();
}
