/*
 * Group commit with syncfs(2) (see syncgroup.h, docs/queue.md).
 *
 * Each request takes a ticket.  Tickets up to `synced` are covered by a
 * finished flush.  A request whose ticket is not covered either waits for
 * the flush in progress (it began before the ticket was issued, so it may
 * miss the caller's writes) or, when none runs, leads the next one for
 * every ticket issued so far.
 *
 * Why syncfs and not fsync of each file and directory: on a file system
 * without a journal (and on any, for names) a delivered message needs its
 * data and its directory entry flushed, two fsyncs each, and the disk
 * serialises them, so concurrent sessions cannot share them.  One syncfs
 * flushes the data, inodes and directory blocks of every request of the
 * batch at once.  It also flushes whatever else is dirty on the file
 * system: the reason the queue and the mailboxes should have a file
 * system of their own on a busy host (docs/queue.md).
 *
 * Wake-ups: a flush's end wakes its waiters (`done`), and only the one
 * would-be leader waiting for the members sleeps on `lead`, woken once,
 * when the last member asks or leaves.  (One condition variable for both,
 * broadcast at every request, woke every waiter at every request to find
 * it had nothing to do: 36 context switches per delivered message.)
 * While a leader waits for the members, later requests wait for its flush
 * (their tickets are issued before it begins, so it covers them).
 *
 * Across processes (syncgroup_share): the SMTP server and the queue
 * manager flush the same file system, each with its own group.  A page
 * shared by the processes the master forks counts the flushes begun and
 * remembers the highest one that returned 0: a leader whose requests were
 * all made before another process's flush began does not start its own,
 * it waits for that one (a syncfs waits for every dirty page of the file
 * system, whoever dirtied it) and takes its result.  The page also holds
 * a robust process-shared mutex around every syncfs: the two processes'
 * leaders used to flush at once, back to back (1.05-1.4 syncfs per
 * message under bench/mta, ~0.17 ms of CPU each on the test guest); now
 * a leader waits for the flush running and then takes or runs the next.
 * Only successes are borrowed: after any failed flush (counted in the
 * page) since this process's own last syncfs, it runs its own, which
 * reports the error to its descriptor if it concerns it.  A process
 * killed in its flush leaves the lock to the next (EOWNERDEAD) and a
 * flush that never ended: nothing is borrowed from it.  (Without the
 * lock, a flush whose process died in it is waited for at most
 * SYNCGROUP_BORROW_MS.)
 *
 * Errors: since Linux 5.8 syncfs reports writeback errors on the file
 * system since the descriptor's last syncfs.  An error may belong to a
 * request that waited meanwhile (its pages were written back, and failed,
 * while the earlier flush ran), so a failed flush fails every ticket
 * issued until it returned, not only those it was started for.
 */
#include "syncgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SYNCGROUP_DIR_MAX 4096
/* the longest wait for another process's flush before running one's own
   (a process killed inside syncfs never ends its flush) */
#define SYNCGROUP_BORROW_MS 1000
/* after a flush of the file system ends, the next begins no sooner:
   a leader whose file system was flushed less than this ago waits out
   the rest first, so the requests of that moment, in any process, share
   its flush (a quiet server's lone request waits for nothing); 6 ms
   flushed less but cost more CPU and rate than 3 (docs/queue.md,
   "Seventh round") */
#define SYNCGROUP_GAP_US 3000

/* The page shared by the processes of one youju-mta (syncgroup_share). */
struct sg_shared {
	/* held by the process whose syncfs runs: one flush at a time across
	   the processes (robust: a process killed in it does not block the
	   others) */
	pthread_mutex_t flush_mu;
	bool flush_mu_ok;	  /* initialised as process-shared and robust */
	_Atomic uint64_t started; /* flushes begun; a flush's id is its count */
	_Atomic uint64_t ok_max;  /* the highest id whose syncfs returned 0 */
	_Atomic uint64_t failures; /* flushes whose syncfs returned -1 */
	_Atomic uint32_t ends;	   /* futex word: bumped at every flush's end */
	_Atomic int64_t last_end_us; /* CLOCK_MONOTONIC at the last end */
	/* syncfs calls running, and those that began while another ran
	   (syncgroup_overlaps) */
	_Atomic uint32_t running;
	_Atomic uint64_t overlaps;
	dev_t dev; /* the file system it is for */
};

static struct sg_shared *sg_sh;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t done; /* a flush returned */
	pthread_cond_t lead; /* the waiting leader: every member asked */
	uint64_t issued, synced, err_lo, err_hi;
	int err_errno;
	bool busy;		  /* a flush runs */
	bool gathering;		  /* a leader waits for the members (lead) */
	unsigned members, asking; /* entered; of them, in syncgroup_wait */
	unsigned delay_ms;
	int fd; /* the directory given to syncgroup_init, or -1 */
	dev_t dev;
	char dir[SYNCGROUP_DIR_MAX];
	unsigned long long flushes, borrowed;
	struct sg_shared *sh; /* sg_sh when it is for this file system */
	uint64_t issued_gen;  /* sh->started when the last ticket was issued */
	uint64_t fails_base;  /* sh->failures before this process's last
				 own syncfs began */
	/* asynchronous requests (syncgroup_request): the last ticket
	   issued, the last one kicked (syncgroup_kick), which the flusher
	   thread covers, and the last one it told the loop about through
	   the eventfd */
	pthread_cond_t async_cv;
	uint64_t async_hi, async_kick, async_told;
	int async_efd;
	bool flusher_idle;
} sg = {.mu = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.lead = PTHREAD_COND_INITIALIZER,
	.async_cv = PTHREAD_COND_INITIALIZER,
	.fd = -1,
	.async_efd = -1};

/* this thread entered (syncgroup_enter) and has not left */
static _Thread_local bool sg_member;

int syncgroup_init(const char *dir)
{
	int rc = 0;
	pthread_mutex_lock(&sg.mu);
	if (sg.fd < 0) {
		struct stat st;
		size_t n = strlen(dir);
		int fd = -1;
		if (n >= sizeof(sg.dir)) {
			errno = ENAMETOOLONG;
			rc = -1;
		} else if ((fd = open(dir, O_RDONLY | O_DIRECTORY |
					       O_CLOEXEC)) < 0 ||
			   fstat(fd, &st) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			errno = e;
			rc = -1;
		} else {
			memcpy(sg.dir, dir, n + 1);
			sg.dev = st.st_dev;
			sg.fd = fd;
			if (sg_sh != NULL && sg_sh->dev == st.st_dev) {
				sg.sh = sg_sh;
				sg.fails_base = atomic_load(&sg_sh->failures);
			}
		}
	}
	pthread_mutex_unlock(&sg.mu);
	return rc;
}

bool syncgroup_covers(dev_t dev)
{
	pthread_mutex_lock(&sg.mu);
	bool r = sg.fd >= 0 && sg.dev == dev;
	pthread_mutex_unlock(&sg.mu);
	return r;
}

bool syncgroup_is_dir(const char *dir)
{
	pthread_mutex_lock(&sg.mu);
	bool r = sg.fd >= 0 && strcmp(sg.dir, dir) == 0;
	pthread_mutex_unlock(&sg.mu);
	return r;
}

int syncgroup_share(const char *dir)
{
	struct stat st;
	if (sg_sh != NULL)
		return 0;
	if (stat(dir, &st) < 0)
		return -1;
	void *p = mmap(NULL, sizeof(struct sg_shared), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	struct sg_shared *sh = p; /* zero-filled by mmap */
	sh->dev = st.st_dev;
	pthread_mutexattr_t a;
	if (pthread_mutexattr_init(&a) == 0) {
		sh->flush_mu_ok =
		    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) ==
			0 &&
		    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) ==
			0 &&
		    pthread_mutex_init(&sh->flush_mu, &a) == 0;
		pthread_mutexattr_destroy(&a);
	}
	sg_sh = sh;
	return 0;
}

static void sg_futex_wait(_Atomic uint32_t *w, uint32_t seen, long ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
	/* not FUTEX_PRIVATE: the word is in a page shared by processes */
	(void)syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, seen, &ts, NULL, 0);
}

static void sg_futex_wake(_Atomic uint32_t *w)
{
	(void)syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT_MAX, NULL, NULL,
		      0);
}

static int64_t sg_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * True when a flush of another process that began after every request
 * of this batch was made (sh->started was need or less then) returned 0,
 * waiting for one that runs; false when none began since (or it failed,
 * or any flush failed since this process's last own syncfs: fails), and
 * this process must run its own.  Called without the lock.
 */
static bool sg_borrow(struct sg_shared *sh, uint64_t need, uint64_t fails)
{
	int64_t deadline = 0;
	for (;;) {
		uint32_t ends = atomic_load(&sh->ends);
		if (atomic_load(&sh->failures) != fails)
			return false;
		if (atomic_load(&sh->ok_max) > need)
			return atomic_load(&sh->failures) == fails;
		if (atomic_load(&sh->started) <= need)
			return false;
		/* one began after our writes and runs: its end wakes us */
		int64_t now = sg_mono_ms();
		if (deadline == 0)
			deadline = now + SYNCGROUP_BORROW_MS;
		if (now >= deadline)
			return false;
		sg_futex_wait(&sh->ends, ends, deadline - now);
	}
}

static int64_t sg_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static _Atomic int64_t sg_last_end_us; /* without a shared page */

/* How long a leader waits before its flush: what is left of the gap
   since the last flush of the file system ended. */
static int64_t sg_gap_wait_us(void)
{
	_Atomic int64_t *last =
	    sg.sh != NULL ? &sg.sh->last_end_us : &sg_last_end_us;
	int64_t l = atomic_load(last);
	if (l == 0)
		return 0;
	int64_t w = l + SYNCGROUP_GAP_US - sg_mono_us();
	return w > SYNCGROUP_GAP_US ? SYNCGROUP_GAP_US : w;
}

static void sg_note_end(void)
{
	_Atomic int64_t *last =
	    sg.sh != NULL ? &sg.sh->last_end_us : &sg_last_end_us;
	atomic_store(last, sg_mono_us());
}

/* sg_borrow() with the processes' flush lock held: no flush runs, so
   there is none to wait for (one begun and never ended was a process
   killed in it). */
static bool sg_borrowable(struct sg_shared *sh, uint64_t need, uint64_t fails)
{
	return atomic_load(&sh->failures) == fails &&
	       atomic_load(&sh->ok_max) > need;
}

/* Takes the processes' flush lock: false when it cannot (never set up,
   or unusable), and the caller flushes without it. */
static bool sg_flush_lock(struct sg_shared *sh)
{
	if (!sh->flush_mu_ok)
		return false;
	int r = pthread_mutex_lock(&sh->flush_mu);
	if (r == EOWNERDEAD) {
		/* its owner died in a flush, which then never ended: the
		   counters say so (no ok_max for it), nothing to repair */
		r = pthread_mutex_consistent(&sh->flush_mu);
	}
	return r == 0;
}

/* Called with the lock held: wakes the gathering leader once every
   member has asked. */
static void sg_poke_leader(void)
{
	if (sg.gathering && sg.asking >= sg.members)
		pthread_cond_signal(&sg.lead);
}

/* Called with the lock held and the group set: a new ticket. */
static uint64_t sg_issue(void)
{
	uint64_t ticket = ++sg.issued;
	if (sg.sh != NULL)
		sg.issued_gen = atomic_load(&sg.sh->started);
	return ticket;
}

/* Called with the lock held: true when ticket's flush failed. */
static bool sg_failed(uint64_t ticket)
{
	return sg.err_hi != 0 && ticket >= sg.err_lo && ticket <= sg.err_hi;
}

/* Called with the lock held (released while flushing or waiting):
   returns once a flush covering ticket has returned.  True when this
   thread led that flush: the caller then wakes the waiters (done) after
   it unlocks.  Woken under the lock, each waiter ran at once (the
   scheduler's wake-up preemption on these few CPUs), found the lock
   held and slept on it again: a switch and a futex pair per waiter and
   flush, most of the queue manager's mutex waits. */
static bool sg_cover(uint64_t ticket)
{
	bool led = false;
	struct timespec deadline = {0, 0};
	bool gapped = false;
	while (sg.synced < ticket) {
		if (sg.busy || sg.gathering) {
			/* the flush running may miss our writes; the one
			   gathered will not: either way, its end wakes us */
			pthread_cond_wait(&sg.done, &sg.mu);
			continue;
		}
		/* members still at work will ask soon: wait for them, but
		   never longer than the delay */
		if (sg.delay_ms > 0 && sg.asking < sg.members) {
			if (deadline.tv_sec == 0) {
				clock_gettime(CLOCK_REALTIME, &deadline);
				deadline.tv_nsec +=
				    (long)sg.delay_ms % 1000 * 1000000L;
				deadline.tv_sec +=
				    (time_t)(sg.delay_ms / 1000) +
				    deadline.tv_nsec / 1000000000L;
				deadline.tv_nsec %= 1000000000L;
			}
			int r = 0;
			sg.gathering = true;
			while (sg.asking < sg.members && r != ETIMEDOUT)
				r = pthread_cond_timedwait(&sg.lead, &sg.mu,
							   &deadline);
			sg.gathering = false;
		}
		/* the file system was flushed a moment ago (by whichever
		   process): let the requests of that moment come before the
		   next flush, once per lead */
		if (!gapped) {
			gapped = true;
			int64_t us = sg_gap_wait_us();
			if (us > 0) {
				sg.gathering = true;
				pthread_mutex_unlock(&sg.mu);
				struct timespec ts = {us / 1000000,
						      us % 1000000 * 1000};
				while (nanosleep(&ts, &ts) < 0 &&
				       errno == EINTR)
					;
				pthread_mutex_lock(&sg.mu);
				sg.gathering = false;
				continue; /* this thread leads: nobody else did
					   */
			}
		}
		/* lead: every write before a ticket up to hi is done */
		sg.busy = true;
		uint64_t lo = sg.synced + 1, hi = sg.issued;
		int fd = sg.fd;
		struct sg_shared *sh = sg.sh;
		uint64_t need = sg.issued_gen, fails = sg.fails_base;
		pthread_mutex_unlock(&sg.mu);
		int rc = 0, e = 0;
		/* one flush at a time across the processes: a leader waits
		   for the one running (it may miss our writes) and then
		   takes the one that began after our requests, if another
		   process ran it meanwhile, or runs its own for everyone
		   who asked before it began */
		bool locked = sh != NULL && sg_flush_lock(sh);
		bool borrowed =
		    sh != NULL && (locked ? sg_borrowable(sh, need, fails)
					  : sg_borrow(sh, need, fails));
		if (!borrowed) {
			uint64_t base = 0, id = 0;
			if (sh != NULL) {
				base = atomic_load(&sh->failures);
				id = atomic_fetch_add(&sh->started, 1) + 1;
				if (atomic_fetch_add(&sh->running, 1) > 0)
					atomic_fetch_add(&sh->overlaps, 1);
			}
			rc = syncfs(fd);
			e = errno;
			if (sh != NULL)
				atomic_fetch_sub(&sh->running, 1);
			sg_note_end();
			if (sh != NULL) {
				if (rc < 0) {
					atomic_fetch_add(&sh->failures, 1);
				} else {
					uint64_t m = atomic_load(&sh->ok_max);
					while (m < id &&
					       !atomic_compare_exchange_weak(
						   &sh->ok_max, &m, id))
						;
				}
				atomic_fetch_add(&sh->ends, 1);
				sg_futex_wake(&sh->ends);
			}
			if (locked)
				pthread_mutex_unlock(&sh->flush_mu);
			pthread_mutex_lock(&sg.mu);
			sg.flushes++;
			if (sh != NULL && rc == 0)
				sg.fails_base = base;
		} else {
			if (locked)
				pthread_mutex_unlock(&sh->flush_mu);
			pthread_mutex_lock(&sg.mu);
			sg.borrowed++;
		}
		if (rc < 0) {
			/* also the tickets that waited meanwhile (above) */
			if (sg.err_hi == 0 || lo < sg.err_lo)
				sg.err_lo = lo;
			if (sg.issued > sg.err_hi)
				sg.err_hi = sg.issued;
			sg.err_errno = e;
		}
		sg.synced = hi;
		sg.busy = false;
		led = true;
	}
	return led;
}

int syncgroup_wait(void)
{
	pthread_mutex_lock(&sg.mu);
	if (sg.fd < 0) {
		pthread_mutex_unlock(&sg.mu);
		errno = EBADF;
		return -1;
	}
	uint64_t ticket = sg_issue();
	bool member = sg_member;
	if (member) {
		sg.asking++;
		sg_poke_leader();
	}
	bool led = sg_cover(ticket);
	if (member)
		sg.asking--;
	bool failed = sg_failed(ticket);
	int e = sg.err_errno;
	pthread_mutex_unlock(&sg.mu);
	if (led)
		pthread_cond_broadcast(&sg.done);
	if (failed) {
		errno = e;
		return -1;
	}
	return 0;
}

/*
 * The flusher thread of the asynchronous requests: for the highest
 * ticket kicked so far (syncgroup_kick: the requests an event loop made
 * while it handled one batch of events) it leads (or joins) a flush as a
 * waiting thread would, then makes the eventfd readable; the tickets
 * kicked meanwhile are the next round, at once.  One thread per process,
 * started by the first syncgroup_async_fd().
 */
static void *sg_flusher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&sg.mu);
	for (;;) {
		while (sg.async_kick <= sg.async_told) {
			sg.flusher_idle = true;
			pthread_cond_wait(&sg.async_cv, &sg.mu);
			sg.flusher_idle = false;
		}
		uint64_t t = sg.async_kick;
		bool led = sg_cover(t);
		sg.async_told = t;
		int efd = sg.async_efd;
		pthread_mutex_unlock(&sg.mu);
		if (led)
			pthread_cond_broadcast(&sg.done);
		uint64_t one = 1;
		/* a full counter (never, at one per flush) still reads */
		ssize_t w = write(efd, &one, sizeof(one));
		(void)w;
		pthread_mutex_lock(&sg.mu);
	}
	return NULL;
}

int syncgroup_async_fd(void)
{
	pthread_mutex_lock(&sg.mu);
	int efd = sg.async_efd;
	if (efd < 0 && sg.fd >= 0) {
		efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		pthread_t t;
		pthread_attr_t a;
		int e = 0;
		if (efd < 0)
			e = errno;
		else if ((e = pthread_attr_init(&a)) == 0) {
			(void)pthread_attr_setdetachstate(
			    &a, PTHREAD_CREATE_DETACHED);
			e = pthread_create(&t, &a, sg_flusher, NULL);
			pthread_attr_destroy(&a);
		}
		if (e != 0) {
			if (efd >= 0)
				close(efd);
			efd = -1;
			errno = e;
		}
		sg.async_efd = efd;
	} else if (efd < 0) {
		errno = EBADF;
	}
	pthread_mutex_unlock(&sg.mu);
	return efd;
}

uint64_t syncgroup_request(void)
{
	pthread_mutex_lock(&sg.mu);
	uint64_t ticket = 0;
	if (sg.async_efd >= 0) {
		ticket = sg_issue();
		sg.async_hi = ticket;
	}
	pthread_mutex_unlock(&sg.mu);
	return ticket;
}

void syncgroup_kick(void)
{
	pthread_mutex_lock(&sg.mu);
	sg.async_kick = sg.async_hi;
	bool wake = sg.flusher_idle && sg.async_kick > sg.async_told;
	pthread_mutex_unlock(&sg.mu);
	/* after the unlock: woken under it, the flusher went straight
	   back to sleep on the mutex (two more futex calls and a switch
	   per flush); the kick is already visible to it either way */
	if (wake)
		pthread_cond_signal(&sg.async_cv);
}

int syncgroup_check(uint64_t ticket)
{
	pthread_mutex_lock(&sg.mu);
	int r = 0;
	if (ticket == 0) {
		r = -1;
		errno = EBADF;
	} else if (sg.synced >= ticket && sg_failed(ticket)) {
		r = -1;
		errno = sg.err_errno;
	} else if (sg.synced >= ticket) {
		r = 1;
	}
	pthread_mutex_unlock(&sg.mu);
	return r;
}

void syncgroup_async_drain(void)
{
	uint64_t n;
	pthread_mutex_lock(&sg.mu);
	int efd = sg.async_efd;
	pthread_mutex_unlock(&sg.mu);
	if (efd >= 0 && read(efd, &n, sizeof(n)) < 0)
		n = 0; /* EAGAIN: nothing new */
}

void syncgroup_enter(void)
{
	pthread_mutex_lock(&sg.mu);
	if (!sg_member)
		sg.members++;
	sg_member = true;
	pthread_mutex_unlock(&sg.mu);
}

void syncgroup_leave(void)
{
	pthread_mutex_lock(&sg.mu);
	if (sg_member && sg.members > 0)
		sg.members--;
	sg_member = false;
	sg_poke_leader(); /* one fewer to wait for */
	pthread_mutex_unlock(&sg.mu);
}

void syncgroup_set_delay(unsigned ms)
{
	pthread_mutex_lock(&sg.mu);
	sg.delay_ms = ms;
	pthread_mutex_unlock(&sg.mu);
}

void syncgroup_stats(unsigned long long *flushes_r,
		     unsigned long long *requests_r)
{
	pthread_mutex_lock(&sg.mu);
	*flushes_r = sg.flushes + sg.borrowed;
	*requests_r = (unsigned long long)sg.issued;
	pthread_mutex_unlock(&sg.mu);
}

unsigned long long syncgroup_overlaps(void)
{
	return sg_sh != NULL ? (unsigned long long)atomic_load(&sg_sh->overlaps)
			     : 0;
}
