/*
 * Worker threads of youju-authd (see workq.h).  One mutex guards both
 * queues; the condition variable wakes idle workers; an eventfd tells the
 * loop that results are ready (one write per batch is enough since the
 * loop takes the whole done list).
 */
#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t *threads;
	unsigned nthreads;
	size_t max_queue, queued, running;
	struct authd_job *head, *tail;		 /* waiting */
	struct authd_job *done_head, *done_tail; /* finished */
	bool stop;
	int efd;
};

static void *worker_main(void *arg)
{
	struct workq *q = arg;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->stop && q->head == NULL)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->stop)
			break;
		struct authd_job *j = q->head;
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->queued--;
		q->running++;
		pthread_mutex_unlock(&q->lock);

		j->next = NULL;
		authd_handle(j);

		pthread_mutex_lock(&q->lock);
		q->running--;
		bool was_empty = q->done_head == NULL;
		if (q->done_tail != NULL)
			q->done_tail->next = j;
		else
			q->done_head = j;
		q->done_tail = j;
		if (was_empty) {
			uint64_t one = 1;
			if (write(q->efd, &one, sizeof(one)) < 0 &&
			    errno != EAGAIN)
				log_error("authd: eventfd write: %m");
		}
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

struct workq *workq_new(unsigned threads, size_t max_queue)
{
	struct workq *q = xcalloc(1, sizeof(*q));
	if (pthread_mutex_init(&q->lock, NULL) != 0 ||
	    pthread_cond_init(&q->cond, NULL) != 0)
		fatal("authd: cannot initialise the worker queue");
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0)
		fatal("authd: eventfd: %m");
	q->max_queue = max_queue;
	q->threads = xcalloc(threads, sizeof(*q->threads));
	/* workers must not take the signals the loop handles */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < threads; i++) {
		int rc = pthread_create(&q->threads[i], NULL, worker_main, q);
		if (rc != 0)
			fatal("authd: cannot start worker threads: %s",
			      strerror(rc));
		q->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return q;
}

static void free_list(struct authd_job *j)
{
	while (j != NULL) {
		struct authd_job *next = j->next;
		authd_job_free(&j);
		j = next;
	}
}

void workq_free(struct workq **qp)
{
	struct workq *q = *qp;
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	free_list(q->head);
	free_list(q->done_head);
	close(q->efd);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q->threads);
	free(q);
	*qp = NULL;
}

int workq_submit(struct workq *q, struct authd_job *job)
{
	pthread_mutex_lock(&q->lock);
	if (q->queued >= q->max_queue) {
		pthread_mutex_unlock(&q->lock);
		return -1;
	}
	job->next = NULL;
	if (q->tail != NULL)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	q->queued++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int workq_fd(const struct workq *q)
{
	return q->efd;
}

struct authd_job *workq_take_done(struct workq *q)
{
	uint64_t v;
	pthread_mutex_lock(&q->lock);
	/* reset under the lock so a worker's write cannot be lost */
	if (read(q->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_error("authd: eventfd read: %m");
	struct authd_job *j = q->done_head;
	q->done_head = q->done_tail = NULL;
	pthread_mutex_unlock(&q->lock);
	return j;
}

size_t workq_pending(struct workq *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->queued + q->running;
	pthread_mutex_unlock(&q->lock);
	return n;
}
