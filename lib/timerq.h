/*
 * A thread that runs callbacks after a delay, for code without a lib/ev
 * loop of its own: the web daemons hold a failed login's reply for
 * youju-authd's penalty (docs/authd-protocol.md §5) without holding a
 * worker thread (lib/http http_reply_delay).  Bounded: at most max
 * entries wait; beyond that timerq_add refuses and the caller runs its
 * callback at once.  Callbacks run on the timer thread, one at a time, and
 * must not block.
 */
#ifndef YOUJU_TIMERQ_H
#define YOUJU_TIMERQ_H

#include <stddef.h>

struct timerq;

typedef void timerq_fn(void *ctx);

/* Starts the thread; max entries may wait at once.  Aborts on failure
   (start-up only). */
struct timerq *timerq_new(size_t max);

/* Runs fn(ctx) on the timer thread after ms milliseconds.  Returns 0, or
   -1 when max entries already wait or the queue is stopping (fn is not
   called; ctx stays the caller's).  Thread-safe. */
__attribute__((warn_unused_result)) int
timerq_add(struct timerq *q, unsigned ms, timerq_fn *fn, void *ctx);

/* Runs every waiting callback now (on the calling thread, after the timer
   thread has stopped), then frees q and sets *q to NULL.  NULL-safe. */
void timerq_free(struct timerq **q);

#endif
