/*
 * Worker threads (see worker.h).  Jobs wait in a singly linked FIFO under
 * one mutex; finished jobs move to a second list and the eventfd wakes the
 * loop, which runs their done callbacks in submission-completion order.
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

struct worker_job {
	struct worker_job *next;
	worker_job_fn *job;
	worker_done_fn *done;
	void *ctx;
};

struct worker_pool {
	struct ev_loop *loop;
	struct ev_io *io;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct worker_job *head, *tail;	  /* waiting */
	struct worker_job *dhead, *dtail; /* done */
	unsigned queued, queue_max;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
};

static void *worker_main(void *arg)
{
	struct worker_pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stopping) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		struct worker_job *j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->mu);

		j->job(j->ctx);

		pthread_mutex_lock(&p->mu);
		j->next = NULL;
		if (p->dtail != NULL)
			p->dtail->next = j;
		else
			p->dhead = j;
		p->dtail = j;
		pthread_mutex_unlock(&p->mu);
		uint64_t one = 1;
		while (write(p->efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
}

static void worker_wake(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct worker_pool *p = ctx;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warning("worker eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&p->mu);
	struct worker_job *list = p->dhead;
	p->dhead = p->dtail = NULL;
	pthread_mutex_unlock(&p->mu);
	while (list != NULL) {
		struct worker_job *j = list;
		list = j->next;
		j->done(j->ctx);
		free(j);
	}
}

struct worker_pool *worker_pool_new(struct ev_loop *loop, unsigned nthreads,
				    unsigned queue_max)
{
	struct worker_pool *p = xcalloc(1, sizeof(*p));
	p->loop = loop;
	p->queue_max = queue_max;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0)
		fatal("eventfd: %s", strerror(errno));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->io = ev_io_new(loop, p->efd, EV_READ, worker_wake, p);
	p->threads = xcalloc(nthreads, sizeof(*p->threads));
	/* workers take no signals: SIGHUP, SIGTERM and friends must reach
	   the loop's signalfd, whenever the loop starts watching them */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < nthreads; i++) {
		int e = pthread_create(&p->threads[i], NULL, worker_main, p);
		if (e != 0)
			fatal("pthread_create: %s", strerror(e));
		p->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p;
}

int worker_submit(struct worker_pool *p, worker_job_fn *job,
		  worker_done_fn *done, void *ctx)
{
	pthread_mutex_lock(&p->mu);
	if (p->queued >= p->queue_max || p->stopping) {
		pthread_mutex_unlock(&p->mu);
		return -1;
	}
	struct worker_job *j = xcalloc(1, sizeof(*j));
	j->job = job;
	j->done = done;
	j->ctx = ctx;
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static void free_list(struct worker_job *j)
{
	while (j != NULL) {
		struct worker_job *n = j->next;
		free(j);
		j = n;
	}
}

void worker_pool_free(struct worker_pool **pp)
{
	struct worker_pool *p = *pp;
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free_list(p->head);
	free_list(p->dhead);
	ev_io_free(&p->io);
	close(p->efd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p);
	*pp = NULL;
}
