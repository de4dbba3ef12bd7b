/*
 * Gathering concurrent requests into one batch ("group commit"): worker
 * threads that each need the same kind of work done (youju-authd: a user
 * row from MySQL) submit an item and block; while fewer than max_running
 * batches are under way, a submitting thread becomes the leader at once,
 * takes its own item and the oldest waiting ones (up to max_batch), runs
 * them through the batch function and wakes their owners.  While
 * max_running batches are under way, items wait, so the next leader takes
 * everything that queued meanwhile: batches grow with the load.  Optionally
 * (gather_set_hold) a leader waits a bounded time for a few more items
 * while the caller says more are on their way.  A lone request (nothing
 * else in flight) never waits.
 * lib/md5crypt_batch has a different policy (it waits a bounded time for
 * announced requests): see there.  Thread-safe.
 *
 * Two ways to submit, mixed freely in one gather: gather_submit() blocks
 * until the item's batch is done; gather_submit_async() never waits for a
 * batch under way: the item is parked with a continuation, the call
 * returns at once, and the thread that runs the item's batch calls the
 * continuation after it (youju-authd: a worker thread goes back to its
 * pool instead of sleeping while another worker's query runs).  Progress
 * without a timer or a helper thread: whoever ends a batch leads the next
 * one when items wait and nobody else does.
 */
#ifndef YOUJU_GATHER_H
#define YOUJU_GATHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Largest batch a gather accepts. */
#define GATHER_BATCH_MAX 64

struct gather_item;

/* An async item's continuation: runs once, after the item's batch (run,
   then finish) is done, on the thread that led it, without any lock held.
   own: that thread is the one that submitted the item (it led its own
   batch at once).  The item is the caller's again. */
typedef void gather_cont_fn(struct gather_item *item, bool own);

/* Embedded in the caller's request (first member or container_of). */
struct gather_item {
	struct gather_item *next; /* private */
	int state;		  /* private */
	gather_cont_fn *cont;	  /* private: NULL for gather_submit */
	pthread_cond_t cv;	  /* private: gather_submit's owner waits */
};

/*
 * Runs the n items of one batch (1 <= n <= max_batch; items[0] is the
 * leader's own), on the leader's thread, without any lock held.  It must
 * complete every item (store each owner's result in the owner's struct);
 * the owners return from gather_submit() when it returns.
 */
typedef void gather_run_fn(void *ctx, struct gather_item *const *items,
			   size_t n);

struct gather;

/* max_batch: 1..GATHER_BATCH_MAX; max_running: batches under way at
   once, at least 1.  ctx is passed to run and finish.  finish (may be
   NULL) is a second step of the batch, on the same thread after run,
   that does not count as under way: the next batch may start while it
   runs (youju-authd: the next batch's SQL query while this one's hashes
   are computed).  The owners return when finish returns. */
struct gather *gather_new(unsigned max_batch, unsigned max_running,
			  gather_run_fn *run, gather_run_fn *finish, void *ctx);
/* Frees g; no submit may be running.  Sets *g to NULL. */
void gather_free(struct gather **g);

/* Runs item in some batch (maybe led by this thread) and returns when its
   batch is done.  item is borrowed until then. */
void gather_submit(struct gather *g, struct gather_item *item);

/*
 * Runs item in some batch and then cont(item, own) on the thread that led
 * the batch.  When no batch slot is free the item is parked and the call
 * returns at once; otherwise this thread leads a batch at once (its own
 * item first: a lone request never waits), calls the continuations, and
 * leads the batches of items that wait meanwhile while nobody else can
 * before it returns.  So cont may run before or after this returns, on
 * this thread or another; item is borrowed until cont is called.
 */
void gather_submit_async(struct gather *g, struct gather_item *item,
			 gather_cont_fn *cont);

/*
 * Parks item with cont when no batch slot is free and returns true: cont
 * then runs as for gather_submit_async (own false), on the thread that
 * leads its batch.  Never leads and never waits: for a thread that must
 * not run a batch itself (youju-authd's event loop).  Returns false when
 * a slot is free: the item is not taken (submit it from a thread that may
 * lead).
 */
bool gather_try_park(struct gather *g, struct gather_item *item,
		     gather_cont_fn *cont);

/* Whether more items are on their way soon (see gather_set_hold).  Called
   with the gather's lock held: it must not call into the gather, and
   should be cheap. */
typedef bool gather_busy_fn(void *ctx);

/*
 * Lets a leader hold its batch open: when fewer than min_items would go
 * and busy(ctx) is true, it waits, holding the batch slot (so that what
 * arrives queues behind it), until min_items wait or wait_us passed, then
 * takes what came (up to max_batch).  busy must be false when nothing
 * else is in flight: a lone request never waits.  One leader holds at a
 * time.  busy NULL (the default) turns it off.  Call before any submit.
 */
void gather_set_hold(struct gather *g, unsigned min_items, unsigned wait_us,
		     gather_busy_fn *busy);

/* Counters since gather_new: batches run and items they held (items /
   batches is the mean batch size). */
void gather_stats(struct gather *g, unsigned long *batches_r,
		  unsigned long *items_r);

/* Batches whose leader held them open (gather_set_hold) since
   gather_new. */
unsigned long gather_held(struct gather *g);

#endif
