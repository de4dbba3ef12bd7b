/*
 * A bounded pool of worker threads for youju-authd: the event loop submits
 * jobs, threads run authd_handle() on them, and finished jobs come back
 * through a queue whose eventfd the loop watches.  The loop never blocks
 * on a query or a password hash.
 */
#ifndef AUTHD_WORKQ_H
#define AUTHD_WORKQ_H

#include <stddef.h>

#include "handle.h"

struct workq;

/* Starts threads workers; at most max_queue jobs wait (beyond the ones
   running).  Aborts if threads cannot be started (start-up only). */
struct workq *workq_new(unsigned threads, size_t max_queue);
/* Stops the threads (running jobs finish first; waiting jobs and finished
   ones not yet taken are freed). */
void workq_free(struct workq **q);

/* Queues job.  Returns 0, or -1 when the queue is full (the caller answers
   with a temporary failure). */
int workq_submit(struct workq *q, struct authd_job *job);
/* The eventfd that becomes readable when finished jobs are waiting. */
int workq_fd(const struct workq *q);
/* Takes every finished job (a list linked through ->next, oldest first)
   and resets the eventfd; NULL when none. */
struct authd_job *workq_take_done(struct workq *q);
/* Jobs waiting or running. */
size_t workq_pending(struct workq *q);

#endif
