/*
 * The event loop; see ev.h.  fd watchers sit in an epoll set (level
 * triggered), timers in a binary min-heap ordered by (deadline, arming
 * sequence), and signals arrive through a signalfd that is itself an
 * internal fd watcher, so handlers run in normal context.
 *
 * Freeing during dispatch: epoll_wait() hands us a batch of pointers to
 * watchers.  A callback may free any watcher, including one whose event is
 * still further down the batch, so ev_io_free() only marks the watcher dead
 * while the loop dispatches and the memory is released after the batch.
 * Timers are popped from the heap before their callback runs, so no pointer
 * to a timer is held across a callback and they are freed at once.
 */
#include "ev.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

#define EV_BATCH 64
#define EV_NSIG	 65

struct ev_io {
	struct ev_loop *loop;
	int fd;
	unsigned events;
	bool in_epoll; /* registered with the kernel (events != 0) */
	bool dead;     /* freed during dispatch; memory released later */
	ev_io_cb *cb;
	void *ctx;
	struct ev_io *prev, *next; /* loop->ios, or loop->dead_ios */
};

struct ev_timer {
	struct ev_loop *loop;
	uint64_t when;	 /* absolute deadline, ev_now_ms() clock */
	uint64_t seq;	 /* arming order: ties and "armed during dispatch" */
	size_t heap_idx; /* position in loop->heap, or EV_NOT_ARMED */
	ev_timer_cb *cb;
	void *ctx;
	struct ev_timer *prev, *next; /* loop->timers */
};

#define EV_NOT_ARMED ((size_t)-1)

struct ev_signal_slot {
	ev_signal_cb *cb;
	void *ctx;
};

struct ev_loop {
	int epfd;
	bool stop;
	bool dispatching;
	uint64_t now;
	uint64_t timer_seq;

	struct ev_io *ios;	 /* every live fd watcher */
	struct ev_io *dead_ios;	 /* freed while dispatching */
	struct ev_timer *timers; /* every timer, armed or not */

	struct ev_timer **heap;
	size_t heap_len, heap_cap;

	int sigfd;
	struct ev_io *sig_io;
	sigset_t sigmask; /* signals we blocked, to restore at free */
	struct ev_signal_slot sig[EV_NSIG];
};

static uint64_t ev_clock_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		abort(); /* cannot fail with a valid clock id */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct ev_loop *ev_loop_new(void)
{
	struct ev_loop *loop = xcalloc(1, sizeof *loop);

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->now = ev_clock_ms();
	return loop;
}

/* ---- timers: binary min-heap ---- */

static bool ev_timer_before(const struct ev_timer *a, const struct ev_timer *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	return a->seq < b->seq;
}

static void ev_heap_place(struct ev_loop *loop, size_t i, struct ev_timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i;
}

static void ev_heap_up(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ev_timer_before(t, loop->heap[parent]))
			break;
		ev_heap_place(loop, i, loop->heap[parent]);
		i = parent;
	}
	ev_heap_place(loop, i, t);
}

static void ev_heap_down(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];
	size_t n = loop->heap_len;

	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= n)
			break;
		if (child + 1 < n &&
		    ev_timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!ev_timer_before(loop->heap[child], t))
			break;
		ev_heap_place(loop, i, loop->heap[child]);
		i = child;
	}
	ev_heap_place(loop, i, t);
}

static void ev_heap_remove(struct ev_loop *loop, struct ev_timer *t)
{
	size_t i = t->heap_idx;

	if (i == EV_NOT_ARMED)
		return;
	t->heap_idx = EV_NOT_ARMED;
	loop->heap_len--;
	if (i == loop->heap_len)
		return;
	ev_heap_place(loop, i, loop->heap[loop->heap_len]);
	ev_heap_down(loop, i);
	ev_heap_up(loop, loop->heap[i]->heap_idx);
}

static void ev_heap_insert(struct ev_loop *loop, struct ev_timer *t)
{
	if (loop->heap_len == loop->heap_cap) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
		loop->heap = xrealloc(loop->heap, cap * sizeof *loop->heap);
		loop->heap_cap = cap;
	}
	loop->heap[loop->heap_len] = t;
	t->heap_idx = loop->heap_len;
	loop->heap_len++;
	ev_heap_up(loop, t->heap_idx);
}

struct ev_timer *ev_timer_new(struct ev_loop *loop, uint64_t ms,
			      ev_timer_cb *cb, void *ctx)
{
	struct ev_timer *t = xcalloc(1, sizeof *t);

	t->loop = loop;
	t->cb = cb;
	t->ctx = ctx;
	t->heap_idx = EV_NOT_ARMED;
	t->next = loop->timers;
	if (loop->timers != NULL)
		loop->timers->prev = t;
	loop->timers = t;
	ev_timer_set(t, ms);
	return t;
}

void ev_timer_set(struct ev_timer *t, uint64_t ms)
{
	struct ev_loop *loop = t->loop;

	ev_heap_remove(loop, t);
	t->when = ms > UINT64_MAX - loop->now ? UINT64_MAX : loop->now + ms;
	t->seq = loop->timer_seq++;
	ev_heap_insert(loop, t);
}

void ev_timer_free(struct ev_timer **tp)
{
	struct ev_timer *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	ev_heap_remove(t->loop, t);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		t->loop->timers = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	free(t);
}

/*
 * Fires due timers.  A timer armed by a callback of this round (seq >= limit)
 * waits for the next iteration even with a 0 ms delay, so a callback that
 * keeps re-arming itself cannot starve fd events.
 */
static void ev_timers_run(struct ev_loop *loop)
{
	uint64_t limit = loop->timer_seq;

	while (loop->heap_len > 0 && !loop->stop) {
		struct ev_timer *t = loop->heap[0];
		if (t->when > loop->now || t->seq >= limit)
			break;
		ev_heap_remove(loop, t);
		t->cb(t, t->ctx);
	}
}

/* ---- fd watchers ---- */

static int ev_io_apply(struct ev_io *io)
{
	struct epoll_event ee;
	int op;

	memset(&ee, 0, sizeof ee);
	ee.data.ptr = io;
	if (io->events & EV_READ)
		ee.events |= EPOLLIN | EPOLLRDHUP;
	if (io->events & EV_WRITE)
		ee.events |= EPOLLOUT;
	if (ee.events == 0) {
		/* Even with no interest the kernel reports ERR/HUP, which
		   would spin a level-triggered loop: leave the set. */
		if (!io->in_epoll)
			return 0;
		op = EPOLL_CTL_DEL;
	} else {
		op = io->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	}
	if (epoll_ctl(io->loop->epfd, op, io->fd, &ee) < 0)
		return -1;
	io->in_epoll = op != EPOLL_CTL_DEL;
	return 0;
}

struct ev_io *ev_io_new(struct ev_loop *loop, int fd, unsigned events,
			ev_io_cb *cb, void *ctx)
{
	struct ev_io *io = xcalloc(1, sizeof *io);
	struct epoll_event ee;

	io->loop = loop;
	io->fd = fd;
	io->cb = cb;
	io->ctx = ctx;
	io->events = events & (EV_READ | EV_WRITE);
	/* Register at once, even when paused, so an fd epoll cannot watch (a
	   regular file, a duplicate watcher) fails here, not later.  With
	   interest, the ADD carries it (one epoll_ctl per new connection:
	   youju-authd makes one per AUTH); paused, an empty ADD then the
	   DEL of ev_io_apply. */
	io->in_epoll = false;
	if (io->events == 0) {
		memset(&ee, 0, sizeof ee);
		ee.data.ptr = io;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ee) < 0) {
			int saved = errno;
			free(io);
			errno = saved;
			return NULL;
		}
		io->in_epoll = true;
	}
	if (ev_io_apply(io) < 0) {
		int saved = errno;
		if (io->in_epoll)
			(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		free(io);
		errno = saved;
		return NULL;
	}
	io->next = loop->ios;
	if (loop->ios != NULL)
		loop->ios->prev = io;
	loop->ios = io;
	return io;
}

void ev_io_set(struct ev_io *io, unsigned events)
{
	events &= EV_READ | EV_WRITE;
	if (io->dead || events == io->events)
		return;
	io->events = events;
	if (ev_io_apply(io) < 0)
		log_error("ev: epoll_ctl(fd %d) failed: %s", io->fd,
			  strerror(errno));
}

void ev_io_free(struct ev_io **iop)
{
	struct ev_io *io = *iop;
	struct ev_loop *loop;

	if (io == NULL)
		return;
	*iop = NULL;
	loop = io->loop;
	if (io->in_epoll)
		(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->in_epoll = false;
	if (io->prev != NULL)
		io->prev->next = io->next;
	else
		loop->ios = io->next;
	if (io->next != NULL)
		io->next->prev = io->prev;
	io->prev = NULL;
	if (loop->dispatching) {
		io->dead = true;
		io->next = loop->dead_ios;
		loop->dead_ios = io;
		return;
	}
	free(io);
}

static void ev_io_reap(struct ev_loop *loop)
{
	while (loop->dead_ios != NULL) {
		struct ev_io *io = loop->dead_ios;
		loop->dead_ios = io->next;
		free(io);
	}
}

/* ---- signals ---- */

static void ev_signal_read(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct ev_loop *loop = ctx;
	struct signalfd_siginfo si;

	for (;;) {
		ssize_t n = read(fd, &si, sizeof si);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof si)
			return; /* EAGAIN: drained */
		struct ev_signal_slot *slot =
		    si.ssi_signo < EV_NSIG ? &loop->sig[si.ssi_signo] : NULL;
		if (slot != NULL && slot->cb != NULL)
			slot->cb((int)si.ssi_signo, slot->ctx);
		if (loop->stop)
			return; /* the rest stays queued for the next run */
	}
}

int ev_signal(struct ev_loop *loop, int signo, ev_signal_cb *cb, void *ctx)
{
	sigset_t one, mask;

	if (signo <= 0 || signo >= EV_NSIG || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	mask = loop->sigmask;
	if (sigaddset(&mask, signo) < 0)
		return -1;
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return -1;
	int fd = signalfd(loop->sigfd, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		int saved = errno;
		if (!sigismember(&loop->sigmask, signo))
			(void)sigprocmask(SIG_UNBLOCK, &one, NULL);
		errno = saved;
		return -1;
	}
	if (loop->sigfd < 0) {
		loop->sig_io =
		    ev_io_new(loop, fd, EV_READ, ev_signal_read, loop);
		if (loop->sig_io == NULL) {
			int saved = errno;
			close(fd);
			(void)sigprocmask(SIG_UNBLOCK, &one, NULL);
			errno = saved;
			return -1;
		}
		loop->sigfd = fd;
	}
	loop->sigmask = mask;
	loop->sig[signo].cb = cb;
	loop->sig[signo].ctx = ctx;
	return 0;
}

/* ---- the loop ---- */

uint64_t ev_now_ms(struct ev_loop *loop)
{
	return loop->now;
}

void ev_loop_stop(struct ev_loop *loop)
{
	loop->stop = true;
}

static int ev_timeout(struct ev_loop *loop)
{
	if (loop->heap_len == 0)
		return -1;
	uint64_t when = loop->heap[0]->when;
	if (when <= loop->now)
		return 0;
	uint64_t d = when - loop->now;
	return d > INT_MAX ? INT_MAX : (int)d;
}

static unsigned ev_map(uint32_t e, unsigned want)
{
	unsigned got = 0;

	if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		got |= EV_READ;
	if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		got |= EV_WRITE;
	return got & want;
}

int ev_loop_run(struct ev_loop *loop)
{
	struct epoll_event evs[EV_BATCH];

	loop->stop = false;
	while (!loop->stop) {
		loop->now = ev_clock_ms();
		int n = epoll_wait(loop->epfd, evs, EV_BATCH, ev_timeout(loop));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		loop->now = ev_clock_ms();
		loop->dispatching = true;
		for (int i = 0; i < n && !loop->stop; i++) {
			struct ev_io *io = evs[i].data.ptr;
			if (io->dead)
				continue;
			/* Mask with the current interest: an earlier callback
			   in this batch may have paused this watcher. */
			unsigned got = ev_map(evs[i].events, io->events);
			if (got != 0)
				io->cb(io, io->fd, got, io->ctx);
		}
		if (!loop->stop)
			ev_timers_run(loop);
		loop->dispatching = false;
		ev_io_reap(loop);
	}
	return 0;
}

void ev_loop_free(struct ev_loop **loopp)
{
	struct ev_loop *loop = *loopp;

	if (loop == NULL)
		return;
	*loopp = NULL;
	while (loop->ios != NULL) {
		struct ev_io *io = loop->ios;
		ev_io_free(&io);
	}
	ev_io_reap(loop);
	while (loop->timers != NULL) {
		struct ev_timer *t = loop->timers;
		ev_timer_free(&t);
	}
	if (loop->sigfd >= 0) {
		/* Drop what is queued so unblocking does not deliver it with
		   the default action (SIGTERM at shutdown would kill us). */
		struct signalfd_siginfo si;
		while (read(loop->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
			;
		close(loop->sigfd);
		(void)sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
	}
	close(loop->epfd);
	free(loop->heap);
	free(loop);
}
