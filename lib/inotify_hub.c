/*
 * The process's shared inotify instance (see inotify_hub.h).  Directories
 * are found by watch descriptor in a small hash table: the kernel gives
 * the same descriptor for the same directory, so a second client of a
 * folder only joins the list of the first.  Events mark the clients of
 * their directory; marked clients that have a callback wait in a pending
 * list and are called once each after the read, so a burst of events
 * (a thousand flag renames) costs one callback per client, not one per
 * event.  A directory the kernel stopped watching (deleted: IN_IGNORED)
 * leaves the table but lives until its last client lets go.
 */
#include "inotify_hub.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

#define HUB_BUCKETS 1024
#define HUB_MASK                                                               \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)

struct hub_dir {
	struct hub_dir *next; /* hash chain, or the dead list */
	struct inotify_hub *hub;
	int wd;
	bool dead;
	struct inotify_watch *subs;
};

struct inotify_watch {
	struct inotify_watch *prev, *next;   /* the directory's clients */
	struct inotify_watch *pprev, *pnext; /* the pending list */
	struct hub_dir *dir;
	inotify_hub_fn *fn;
	void *ctx;
	bool changed, pending;
};

struct inotify_hub {
	struct ev_loop *loop;
	int fd;
	struct ev_io *io;
	struct ev_timer *kick; /* callbacks marked outside hub_event */
	struct hub_dir *b[HUB_BUCKETS];
	struct hub_dir *dead;
	unsigned ndirs;
	struct inotify_watch *pend_head, *pend_tail;
};

static unsigned bucket(int wd)
{
	return (unsigned)wd % HUB_BUCKETS;
}

static struct hub_dir *dir_find(struct inotify_hub *h, int wd)
{
	struct hub_dir *d = h->b[bucket(wd)];
	while (d != NULL && d->wd != wd)
		d = d->next;
	return d;
}

/* Takes d out of the hash table or the dead list. */
static void dir_unlink(struct inotify_hub *h, struct hub_dir *d)
{
	struct hub_dir **pp = d->dead ? &h->dead : &h->b[bucket(d->wd)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	if (!d->dead)
		h->ndirs--;
	d->next = NULL;
}

static void pend_unlink(struct inotify_hub *h, struct inotify_watch *w)
{
	if (!w->pending)
		return;
	if (w->pprev != NULL)
		w->pprev->pnext = w->pnext;
	else
		h->pend_head = w->pnext;
	if (w->pnext != NULL)
		w->pnext->pprev = w->pprev;
	else
		h->pend_tail = w->pprev;
	w->pprev = w->pnext = NULL;
	w->pending = false;
}

static void mark(struct inotify_hub *h, struct inotify_watch *w)
{
	w->changed = true;
	if (w->fn == NULL || w->pending)
		return;
	w->pending = true;
	w->pnext = NULL;
	w->pprev = h->pend_tail;
	if (h->pend_tail != NULL)
		h->pend_tail->pnext = w;
	else
		h->pend_head = w;
	h->pend_tail = w;
}

static void mark_dir(struct inotify_hub *h, struct hub_dir *d)
{
	for (struct inotify_watch *w = d->subs; w != NULL; w = w->next)
		mark(h, w);
}

static void mark_all(struct inotify_hub *h)
{
	for (size_t i = 0; i < HUB_BUCKETS; i++)
		for (struct hub_dir *d = h->b[i]; d != NULL; d = d->next)
			mark_dir(h, d);
	for (struct hub_dir *d = h->dead; d != NULL; d = d->next)
		mark_dir(h, d);
}

/* Reads every queued event and marks the clients concerned. */
static void hub_read(struct inotify_hub *h)
{
	char buf[8192] __attribute__((aligned(8)));
	for (;;) {
		ssize_t n = read(h->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			/* nothing sure any more: everyone rescans */
			log_warning("inotify read: %s", strerror(errno));
			mark_all(h);
		}
		if (n <= 0)
			return;
		for (size_t o = 0;
		     o + sizeof(struct inotify_event) <= (size_t)n;) {
			const struct inotify_event *e =
			    (const struct inotify_event *)(buf + o);
			o += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				mark_all(h);
				continue;
			}
			struct hub_dir *d = dir_find(h, e->wd);
			if (d == NULL)
				continue; /* removed by us: its IN_IGNORED */
			mark_dir(h, d);
			if (e->mask & IN_IGNORED) {
				dir_unlink(h, d);
				d->dead = true;
				d->next = h->dead;
				h->dead = d;
			}
		}
	}
}

static void dispatch(struct inotify_hub *h)
{
	/* a callback may end any watch, the next one included: unwatch
	   takes it out of this list */
	struct inotify_watch *w;
	while ((w = h->pend_head) != NULL) {
		pend_unlink(h, w);
		w->fn(w->ctx);
	}
}

static void hub_event(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct inotify_hub *h = ctx;
	hub_read(h);
	dispatch(h);
}

static void hub_kick(struct ev_timer *t, void *ctx)
{
	dispatch(ctx);
}

struct inotify_hub *inotify_hub_new(struct ev_loop *loop)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct inotify_hub *h = xcalloc(1, sizeof(*h));
	h->loop = loop;
	h->fd = fd;
	h->io = ev_io_new(loop, fd, EV_READ, hub_event, h);
	h->kick = ev_timer_new(loop, UINT64_MAX / 4, hub_kick, h);
	return h;
}

static void dir_free_all(struct hub_dir *d)
{
	while (d->subs != NULL) {
		struct inotify_watch *w = d->subs;
		d->subs = w->next;
		free(w);
	}
	free(d);
}

void inotify_hub_free(struct inotify_hub **ph)
{
	struct inotify_hub *h = *ph;
	if (h == NULL)
		return;
	for (size_t i = 0; i < HUB_BUCKETS; i++) {
		while (h->b[i] != NULL) {
			struct hub_dir *d = h->b[i];
			h->b[i] = d->next;
			dir_free_all(d);
		}
	}
	while (h->dead != NULL) {
		struct hub_dir *d = h->dead;
		h->dead = d->next;
		dir_free_all(d);
	}
	ev_io_free(&h->io);
	ev_timer_free(&h->kick);
	close(h->fd);
	free(h);
	*ph = NULL;
}

struct inotify_watch *inotify_hub_watch(struct inotify_hub *h, const char *dir,
					inotify_hub_fn *fn, void *ctx)
{
	int wd = inotify_add_watch(h->fd, dir, HUB_MASK);
	if (wd < 0)
		return NULL;
	struct hub_dir *d = dir_find(h, wd);
	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		d->hub = h;
		d->wd = wd;
		d->next = h->b[bucket(wd)];
		h->b[bucket(wd)] = d;
		h->ndirs++;
	}
	struct inotify_watch *w = xcalloc(1, sizeof(*w));
	w->dir = d;
	w->fn = fn;
	w->ctx = ctx;
	w->next = d->subs;
	if (d->subs != NULL)
		d->subs->prev = w;
	d->subs = w;
	return w;
}

void inotify_hub_unwatch(struct inotify_watch **pw)
{
	struct inotify_watch *w = *pw;
	if (w == NULL)
		return;
	struct hub_dir *d = w->dir;
	struct inotify_hub *h = d->hub;
	pend_unlink(h, w);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		d->subs = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	free(w);
	*pw = NULL;
	if (d->subs != NULL)
		return;
	/* the last client: the kernel watch goes (its IN_IGNORED, still
	   queued, finds no directory and is skipped) */
	if (!d->dead && inotify_rm_watch(h->fd, d->wd) < 0)
		log_debug("inotify_rm_watch: %s", strerror(errno));
	dir_unlink(h, d);
	free(d);
}

bool inotify_watch_take(struct inotify_watch *w)
{
	struct inotify_hub *h = w->dir->hub;
	hub_read(h);
	/* events read here for other clients: their callbacks run from the
	   loop, since the descriptor will not wake it for them again */
	if (h->pend_head != NULL)
		ev_timer_set(h->kick, 0);
	bool c = w->changed;
	w->changed = false;
	return c;
}

unsigned inotify_hub_dirs(const struct inotify_hub *h)
{
	return h->ndirs;
}
