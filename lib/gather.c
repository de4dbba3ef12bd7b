/*
 * Gathering concurrent requests into batches (see gather.h).
 *
 * One mutex guards a FIFO of waiting items and the number of batches under
 * way.  A gather_submit() caller appends its item, then loops: done ->
 * return; a slot free -> lead a batch (own item first, then the oldest
 * others); else wait on its item's condition variable.  A leader marks its
 * items done and wakes exactly their owners, and the owner of the oldest
 * waiting gather_submit() item when a slot is free (it leads next): no
 * thundering herd of workers that wake only to sleep again.  With a finish
 * step the slot is given back (and the next leader woken) before it.  By
 * default no timer: a batch under way already makes the others wait for as
 * long as it takes, and whatever queued by then goes in the next batch.
 * When the batches run faster than requests come, that leaves batches of
 * two or three; the hold (gather_set_hold) lets a leader, with the slot
 * already counted as under way, wait a bounded time for a few more, but
 * only while the caller's busy() says they are on their way (youju-authd:
 * many AUTHs in its hash stage, whose clients come back soon), so the
 * wait is paid only where it buys a larger batch and never by a lone
 * request.  The thread that parks the item that completes the batch wakes
 * the holder (hold_check).
 *
 * Async items (gather_submit_async) have no thread waiting for them: the
 * leader calls their continuations itself after the batch, and when only
 * async items wait once its batch is over (no gather_submit() owner to
 * wake), it leads the next batch too.  Every path that ends a batch checks
 * the FIFO under the mutex, and an item is parked only while a batch is
 * under way, so no parked item is left without a leader.
 */
#include "gather.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "xalloc.h"

enum item_state { ITEM_WAITING, ITEM_RUNNING, ITEM_DONE };

struct gather {
	pthread_mutex_t mu;
	struct gather_item *head, **tailp;
	unsigned queued; /* items in the FIFO */
	unsigned running, max_running, max_batch;
	unsigned sync_waiting; /* gather_submit items in the FIFO */
	gather_run_fn *run, *finish;
	void *ctx;
	unsigned long n_batches, n_items, n_held;
	/* gather_set_hold: a leader that holds its batch open waits on
	   hold_cv until it has hold_min items or hold_ns passed */
	unsigned hold_min;
	uint64_t hold_ns;
	gather_busy_fn *busy;
	bool holding;
	unsigned hold_have; /* items the holding leader took already */
	pthread_cond_t hold_cv;
};

struct gather *gather_new(unsigned max_batch, unsigned max_running,
			  gather_run_fn *run, gather_run_fn *finish, void *ctx)
{
	if (max_batch < 1 || max_batch > GATHER_BATCH_MAX || max_running < 1)
		abort(); /* a programming error */
	struct gather *g = xcalloc(1, sizeof(*g));
	pthread_condattr_t ca;
	if (pthread_mutex_init(&g->mu, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&g->hold_cv, &ca) != 0)
		abort();
	pthread_condattr_destroy(&ca);
	g->tailp = &g->head;
	g->max_batch = max_batch;
	g->max_running = max_running;
	g->run = run;
	g->finish = finish;
	g->ctx = ctx;
	return g;
}

void gather_free(struct gather **gp)
{
	struct gather *g = *gp;
	if (g == NULL)
		return;
	if (g->head != NULL || g->running != 0)
		abort(); /* freed under a submitter */
	pthread_cond_destroy(&g->hold_cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
	*gp = NULL;
}

void gather_set_hold(struct gather *g, unsigned min_items, unsigned wait_us,
		     gather_busy_fn *busy)
{
	pthread_mutex_lock(&g->mu);
	g->hold_min = min_items > g->max_batch ? g->max_batch : min_items;
	g->hold_ns = (uint64_t)wait_us * 1000u;
	g->busy = busy;
	pthread_mutex_unlock(&g->mu);
}

void gather_stats(struct gather *g, unsigned long *batches_r,
		  unsigned long *items_r)
{
	pthread_mutex_lock(&g->mu);
	*batches_r = g->n_batches;
	*items_r = g->n_items;
	pthread_mutex_unlock(&g->mu);
}

unsigned long gather_held(struct gather *g)
{
	pthread_mutex_lock(&g->mu);
	unsigned long n = g->n_held;
	pthread_mutex_unlock(&g->mu);
	return n;
}

/* A new item: waiting, with its continuation (NULL: gather_submit). */
static void item_init(struct gather_item *item, gather_cont_fn *cont)
{
	item->next = NULL;
	item->state = ITEM_WAITING;
	item->cont = cont;
}

/* Appends item to the FIFO.  Called with mu held. */
static void append(struct gather *g, struct gather_item *item)
{
	*g->tailp = item;
	g->tailp = &item->next;
	g->queued++;
}

/* After an append while a batch is under way: wakes a leader that holds
   its batch open (hold) once enough items wait.  Called with mu held. */
static void hold_check(struct gather *g)
{
	if (g->holding && g->hold_have + g->queued >= g->hold_min)
		pthread_cond_signal(&g->hold_cv);
}

/* Takes the first item off the FIFO.  Called with mu held. */
static struct gather_item *pop(struct gather *g)
{
	struct gather_item *it = g->head;
	g->head = it->next;
	if (g->head == NULL)
		g->tailp = &g->head;
	it->next = NULL;
	g->queued--;
	return it;
}

/* Unlinks it from the FIFO.  Called with mu held. */
static void unlink_item(struct gather *g, struct gather_item *it)
{
	struct gather_item **pp = &g->head;
	while (*pp != it)
		pp = &(*pp)->next;
	*pp = it->next;
	if (g->tailp == &it->next)
		g->tailp = pp;
	it->next = NULL;
	g->queued--;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Before a batch is taken (its slot already counted as under way, have
 * items taken): while fewer than hold_min would go and busy(ctx) says more
 * are on their way, waits for them, at most hold_ns.  Never for a lone
 * request: busy is false when nothing else is in flight.  One leader
 * holds at a time.  Called with mu held; may release it while waiting.
 */
static void hold(struct gather *g, unsigned have)
{
	if (g->busy == NULL || g->holding || have + g->queued >= g->hold_min ||
	    !g->busy(g->ctx))
		return;
	uint64_t t = now_ns() + g->hold_ns;
	struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u),
			      .tv_nsec = (long)(t % 1000000000u)};
	g->holding = true;
	g->hold_have = have;
	g->n_held++;
	while (have + g->queued < g->hold_min) {
		if (pthread_cond_timedwait(&g->hold_cv, &g->mu, &ts) != 0)
			break; /* ETIMEDOUT: what came goes */
	}
	g->holding = false;
}

/* Wakes the owner of the oldest gather_submit item waiting when a slot is
   free: it leads the next batch.  When only async items wait, nobody is
   woken: the thread that ends a batch leads them (lead_waiting).  Called
   with mu held. */
static void wake_next_leader(struct gather *g)
{
	if (g->head == NULL || g->running >= g->max_running ||
	    g->sync_waiting == 0)
		return;
	for (struct gather_item *it = g->head; it != NULL; it = it->next) {
		if (it->cont == NULL) {
			pthread_cond_signal(&it->cv);
			return;
		}
	}
}

/*
 * Leads one batch: first (if not NULL, still in the FIFO) and the oldest
 * waiting items, up to max_batch.  self: the calling thread's own item (or
 * NULL), whose owner needs no wake-up.  Called with mu held and a slot
 * free; returns with mu held, after the async items' continuations ran.
 */
static void lead(struct gather *g, struct gather_item *first,
		 const struct gather_item *self)
{
	struct gather_item *b[GATHER_BATCH_MAX], *a[GATHER_BATCH_MAX];
	bool own[GATHER_BATCH_MAX];
	size_t n = 0, na = 0;

	/* the slot is ours from here: what arrives meanwhile queues */
	g->running++;
	if (first != NULL) {
		unlink_item(g, first);
		b[n++] = first;
		first->state = ITEM_RUNNING;
		if (first->cont == NULL)
			g->sync_waiting--;
	}
	hold(g, (unsigned)n);
	for (size_t i = n; g->head != NULL && i < g->max_batch; i++) {
		b[n++] = pop(g);
		b[i]->state = ITEM_RUNNING;
		if (b[i]->cont == NULL)
			g->sync_waiting--;
	}
	g->n_batches++;
	g->n_items += n;
	pthread_mutex_unlock(&g->mu);
	g->run(g->ctx, b, n);
	pthread_mutex_lock(&g->mu);
	g->running--;
	if (g->finish != NULL) {
		/* the slot is free for the next batch meanwhile */
		wake_next_leader(g);
		pthread_mutex_unlock(&g->mu);
		g->finish(g->ctx, b, n);
		pthread_mutex_lock(&g->mu);
	}
	/* exactly the owners of this batch, and the next leader */
	for (size_t i = 0; i < n; i++) {
		b[i]->state = ITEM_DONE;
		if (b[i]->cont != NULL) {
			own[na] = b[i] == self;
			a[na++] = b[i];
		} else if (b[i] != self) {
			pthread_cond_signal(&b[i]->cv);
		}
	}
	wake_next_leader(g);
	if (na == 0)
		return;
	pthread_mutex_unlock(&g->mu);
	for (size_t i = 0; i < na; i++)
		a[i]->cont(a[i], own[i]); /* a[i] is not ours after */
	pthread_mutex_lock(&g->mu);
}

/* After a batch: while only async items wait and a slot is free, nobody
   else will lead them (their owners went on with other work), so the
   caller does.  Called with mu held. */
static void lead_waiting(struct gather *g)
{
	while (g->head != NULL && g->running < g->max_running &&
	       g->sync_waiting == 0)
		lead(g, NULL, NULL);
}

void gather_submit(struct gather *g, struct gather_item *item)
{
	item_init(item, NULL);
	if (pthread_cond_init(&item->cv, NULL) != 0)
		abort();
	pthread_mutex_lock(&g->mu);
	append(g, item);
	g->sync_waiting++;
	hold_check(g);
	bool led = false;
	while (item->state != ITEM_DONE) {
		if (item->state != ITEM_WAITING ||
		    g->running >= g->max_running) {
			pthread_cond_wait(&item->cv, &g->mu);
			continue;
		}
		/* our own item first, then the oldest waiting ones */
		lead(g, item, item);
		led = true;
	}
	if (led)
		lead_waiting(g);
	pthread_mutex_unlock(&g->mu);
	pthread_cond_destroy(&item->cv);
}

void gather_submit_async(struct gather *g, struct gather_item *item,
			 gather_cont_fn *cont)
{
	item_init(item, cont);
	pthread_mutex_lock(&g->mu);
	append(g, item);
	if (g->running < g->max_running) {
		/* our own item first, then the oldest waiting ones; item
		   may be gone once lead returns */
		lead(g, item, item);
		lead_waiting(g);
	} else {
		hold_check(g);
	}
	pthread_mutex_unlock(&g->mu);
}

bool gather_try_park(struct gather *g, struct gather_item *item,
		     gather_cont_fn *cont)
{
	item_init(item, cont);
	pthread_mutex_lock(&g->mu);
	/* parked only behind a batch under way: its leader looks at the
	   FIFO when it ends (lead_waiting), so the item is never left
	   without one */
	bool park = g->running >= g->max_running;
	if (park) {
		append(g, item);
		hold_check(g);
	}
	pthread_mutex_unlock(&g->mu);
	return park;
}
