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
 * Errors: since Linux 5.8 syncfs reports writeback errors on the file
 * system since the descriptor's last syncfs.  An error may belong to a
 * request that waited meanwhile (its pages were written back, and failed,
 * while the earlier flush ran), so a failed flush fails every ticket
 * issued until it returned, not only those it was started for.
 */
#include "syncgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SYNCGROUP_DIR_MAX 4096

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
	unsigned long long flushes;
} sg = {.mu = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.lead = PTHREAD_COND_INITIALIZER,
	.fd = -1};

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

/* Called with the lock held: wakes the gathering leader once every
   member has asked. */
static void sg_poke_leader(void)
{
	if (sg.gathering && sg.asking >= sg.members)
		pthread_cond_signal(&sg.lead);
}

int syncgroup_wait(void)
{
	pthread_mutex_lock(&sg.mu);
	if (sg.fd < 0) {
		pthread_mutex_unlock(&sg.mu);
		errno = EBADF;
		return -1;
	}
	uint64_t ticket = ++sg.issued;
	bool member = sg_member;
	if (member) {
		sg.asking++;
		sg_poke_leader();
	}
	struct timespec deadline = {0, 0};
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
		/* lead: every write before a ticket up to hi is done */
		sg.busy = true;
		uint64_t lo = sg.synced + 1, hi = sg.issued;
		int fd = sg.fd;
		sg.flushes++;
		pthread_mutex_unlock(&sg.mu);
		int rc = syncfs(fd);
		int e = errno;
		pthread_mutex_lock(&sg.mu);
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
		pthread_cond_broadcast(&sg.done);
	}
	if (member)
		sg.asking--;
	bool failed =
	    sg.err_hi != 0 && ticket >= sg.err_lo && ticket <= sg.err_hi;
	int e = sg.err_errno;
	pthread_mutex_unlock(&sg.mu);
	if (failed) {
		errno = e;
		return -1;
	}
	return 0;
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
	*flushes_r = sg.flushes;
	*requests_r = (unsigned long long)sg.issued;
	pthread_mutex_unlock(&sg.mu);
}
