/*
 * Group commit over one file system (docs/queue.md, "Durability"): the
 * threads of a process that need what they wrote (file data, renames,
 * links, unlinks) on disk before they answer ask for a flush; one of them
 * runs syncfs(2) for every request made before that flush began, and the
 * requests made meanwhile share the next one.  A lone request on a quiet
 * file system is flushed at once; one that comes within 3 ms of the end
 * of the last flush (of any process sharing the page) waits out the rest
 * of those 3 ms, so that a busy server's requests share fewer flushes.
 *
 * One group per process, for the file system of the queue directory (the
 * receive side's queue files, the queue manager's deliveries into
 * Maildirs on that file system).  Thread-safe.
 */
#ifndef MTA_SYNCGROUP_H
#define MTA_SYNCGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Lets the processes forked after this call share flushes of the file
 * system holding dir: each still has its own group, but their flushes
 * run one at a time (a process-shared lock), and a leader whose requests
 * were all made before another process's flush began takes that flush
 * instead of starting one (only a flush that returned 0 is taken; see
 * syncgroup.c).  Called once by the parent before it forks
 * (youju-mta's master: the SMTP server and the queue manager); a group
 * set up on another file system flushes alone.  0, or -1 with errno (the
 * processes then flush alone).
 */
int syncgroup_share(const char *dir);

/*
 * Sets the group's file system to the one holding dir (opened and kept
 * open for the process's life).  The first call wins; later calls with
 * any dir return 0 and change nothing.  -1 with errno when dir cannot be
 * opened (the group stays unset: syncgroup_covers() is false).
 */
int syncgroup_init(const char *dir);

/* True when the group is set and its file system is dev (st_dev). */
bool syncgroup_covers(dev_t dev);

/* True when the group is set and dir is the directory it was set with
   (the string, as given to syncgroup_init). */
bool syncgroup_is_dir(const char *dir);

/*
 * Returns once a syncfs(2) that began after this call has returned: all
 * that the caller wrote, renamed or linked on the group's file system
 * before calling is on disk.  0, or -1 with errno when that flush (or an
 * earlier one that failed while this request waited) reported an error:
 * the caller must treat its writes as not durable.  -1 with EBADF when
 * the group is not set.
 */
int syncgroup_wait(void);

/*
 * Members (optional): a thread that will ask for a flush soon (the queue
 * manager's delivery threads, from taking a message to its flush) calls
 * syncgroup_enter() first and syncgroup_leave() when done (after its
 * syncgroup_wait(), or without one).  A leader about to flush waits, up
 * to the delay set with syncgroup_set_delay(), until every member has
 * asked, so that one flush serves them all: a batch as large as the
 * number of threads at work, without a timer when they arrive together.
 * Callers that never enter (the SMTP server's commits) are flushed at
 * once, as before.
 */
void syncgroup_enter(void);
void syncgroup_leave(void);
void syncgroup_set_delay(unsigned ms);

/*
 * Asynchronous requests, for an event loop that must not wait for a
 * flush (the SMTP server's commits): syncgroup_request() takes a ticket
 * as syncgroup_wait() would at that moment, and a flusher thread of the
 * process leads or joins the flush that covers it, then makes the
 * eventfd of syncgroup_async_fd() readable.  The loop then asks
 * syncgroup_check() about its tickets.  Same flushes, same sharing (with
 * the waiting threads and the other processes) and the same errors as
 * syncgroup_wait().
 *
 * syncgroup_async_fd(): starts the flusher thread on the first call and
 * returns the eventfd (non-blocking; owned by the group, never closed),
 * or -1 with errno (the group is not set: EBADF).
 * syncgroup_request(): a ticket for everything the caller wrote, renamed
 * or linked so far, or 0 when syncgroup_async_fd() has not succeeded.
 * syncgroup_kick(): the flusher covers the tickets issued so far (the
 * loop calls it once the batch of events at hand is handled, so that its
 * commits share one flush); a ticket is flushed only after a kick.
 * syncgroup_check(): 1 when a flush that covers ticket returned 0, 0
 * while it is pending, -1 with errno when it failed (the caller's writes
 * are not durable) or ticket is 0.
 * syncgroup_async_drain(): resets the eventfd (call before the checks).
 */
int syncgroup_async_fd(void);
uint64_t syncgroup_request(void);
void syncgroup_kick(void);
int syncgroup_check(uint64_t ticket);
void syncgroup_async_drain(void);

/* The flushes of the processes sharing this one's page (syncgroup_share)
   that began while another of them ran: 0 as long as their flush lock
   works (for tests; a process killed inside a flush leaves it counted
   as running). */
unsigned long long syncgroup_overlaps(void);

/* Flushes and requests so far (for logs and tests); a flush of another
   process waited for counts as one. */
void syncgroup_stats(unsigned long long *flushes_r,
		     unsigned long long *requests_r);

#endif
