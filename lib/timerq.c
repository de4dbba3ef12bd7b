/*
 * lib/timerq: one thread, a small unsorted array of deadlines (the queue
 * is bounded and short: web logins failing in the same seconds), a
 * condition variable on CLOCK_MONOTONIC.  Each pass runs what is due and
 * sleeps until the earliest deadline left.
 */
#include "timerq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xalloc.h"

struct timerq_entry {
	uint64_t due; /* CLOCK_MONOTONIC, ms */
	timerq_fn *fn;
	void *ctx;
};

struct timerq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct timerq_entry *e;
	size_t n, max;
	bool stop;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *timerq_main(void *arg)
{
	struct timerq *q = arg;
	pthread_mutex_lock(&q->lock);
	while (!q->stop) {
		uint64_t now = now_ms(), next = UINT64_MAX;
		size_t i = 0;
		while (i < q->n) {
			if (q->e[i].due > now) {
				if (q->e[i].due < next)
					next = q->e[i].due;
				i++;
				continue;
			}
			struct timerq_entry e = q->e[i];
			q->e[i] = q->e[--q->n];
			pthread_mutex_unlock(&q->lock);
			e.fn(e.ctx);
			pthread_mutex_lock(&q->lock);
			now = now_ms();
			i = 0;
			next = UINT64_MAX;
			if (q->stop)
				break;
		}
		if (q->stop)
			break;
		if (next == UINT64_MAX) {
			pthread_cond_wait(&q->cond, &q->lock);
		} else {
			struct timespec ts = {
			    .tv_sec = (time_t)(next / 1000u),
			    .tv_nsec = (long)(next % 1000u) * 1000000L,
			};
			(void)pthread_cond_timedwait(&q->cond, &q->lock, &ts);
		}
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

struct timerq *timerq_new(size_t max)
{
	struct timerq *q = xcalloc(1, sizeof *q);
	q->max = max > 0 ? max : 1;
	q->e = xcalloc(q->max, sizeof *q->e);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&q->lock, NULL);
	int rc = pthread_create(&q->thread, NULL, timerq_main, q);
	if (rc != 0)
		fatal("timerq: pthread_create: %s", strerror(rc));
	return q;
}

int timerq_add(struct timerq *q, unsigned ms, timerq_fn *fn, void *ctx)
{
	pthread_mutex_lock(&q->lock);
	if (q->stop || q->n >= q->max) {
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	q->e[q->n++] = (struct timerq_entry){now_ms() + ms, fn, ctx};
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void timerq_free(struct timerq **qp)
{
	struct timerq *q = *qp;
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	for (size_t i = 0; i < q->n; i++)
		q->e[i].fn(q->e[i].ctx);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->e);
	free(q);
	*qp = NULL;
}
