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
 * step the slot is given back (and the next leader woken) before it.  Why
 * no timer: a batch under way already makes the others wait for as long
 * as it takes, and whatever queued by then goes in the next batch; waiting
 * longer for company would add latency with no bound on the gain.
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
#include <stdlib.h>

#include "xalloc.h"

enum item_state { ITEM_WAITING, ITEM_RUNNING, ITEM_DONE };

struct gather {
	pthread_mutex_t mu;
	struct gather_item *head, **tailp;
	unsigned running, max_running, max_batch;
	unsigned sync_waiting; /* gather_submit items in the FIFO */
	gather_run_fn *run, *finish;
	void *ctx;
	unsigned long n_batches, n_items;
};

struct gather *gather_new(unsigned max_batch, unsigned max_running,
			  gather_run_fn *run, gather_run_fn *finish, void *ctx)
{
	if (max_batch < 1 || max_batch > GATHER_BATCH_MAX || max_running < 1)
		abort(); /* a programming error */
	struct gather *g = xcalloc(1, sizeof(*g));
	if (pthread_mutex_init(&g->mu, NULL) != 0)
		abort();
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
	pthread_mutex_destroy(&g->mu);
	free(g);
	*gp = NULL;
}

void gather_stats(struct gather *g, unsigned long *batches_r,
		  unsigned long *items_r)
{
	pthread_mutex_lock(&g->mu);
	*batches_r = g->n_batches;
	*items_r = g->n_items;
	pthread_mutex_unlock(&g->mu);
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
}

/* Takes the first item off the FIFO.  Called with mu held. */
static struct gather_item *pop(struct gather *g)
{
	struct gather_item *it = g->head;
	g->head = it->next;
	if (g->head == NULL)
		g->tailp = &g->head;
	it->next = NULL;
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

	if (first != NULL) {
		unlink_item(g, first);
		b[n++] = first;
	}
	while (g->head != NULL && n < g->max_batch)
		b[n++] = pop(g);
	for (size_t i = 0; i < n; i++) {
		b[i]->state = ITEM_RUNNING;
		if (b[i]->cont == NULL)
			g->sync_waiting--;
	}
	g->running++;
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
	if (park)
		append(g, item);
	pthread_mutex_unlock(&g->mu);
	return park;
}
