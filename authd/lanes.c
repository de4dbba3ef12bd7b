/*
 * The hash stage of parked AUTHs (see lanes.h).
 *
 * One mutex guards a FIFO of checks, the count of lookups on their way
 * and the threads' state.  A thread sleeps on the condition variable
 * while nothing is to be done, or until the oldest check's deadline while
 * it waits for company; authd_lanes_add wakes one when a full evaluation
 * (or, with nothing on its way, any) is ready, and a second when two are.
 * The evaluation and the AUTHs' ends (l->hashed: the compare, the reply,
 * the completion to the loop) run without the lock.
 */
#include "lanes.h"

#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "md5crypt_batch.h"
#include "md5crypt_x8.h"
#include "xalloc.h"

/* An evaluation starts when eight checks wait and takes up to
   md5crypt_x8_max(): sixteen on a CPU with AVX-512 (one 512-bit vector, at
   ~1.1 times the cost of eight), those that queued while the stage's
   threads waited for a CPU.  Waiting for sixteen cost less CPU per AUTH
   (23 against 30 us) but added the time eight more checks take to come to
   every AUTH's latency (docs/authd.md, "Eighth round"). */
#define LANES	    MD5CRYPT_X8_LANES
#define LANES_MAX   MD5CRYPT_X8_LANES_MAX
#define THREADS_MAX 8
/* the stage's threads' nice value above the process's (lanes_main) */
#define AUTHD_LANES_NICE 10

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static struct authd_user_lookup *head, **tailp = &head;
static unsigned waiting; /* checks in the FIFO */
static long coming;	 /* lookups with a password on their way */
static unsigned idle;	 /* threads with nothing taken */
static unsigned taken;	 /* checks in evaluations under way */
static bool running, stopping;
static pthread_t threads[THREADS_MAX];
static unsigned nthreads;
static unsigned long n_checks, n_evals;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* How many checks an evaluation takes now, 0 to wait.  Called with mu
   held. */
static unsigned to_take(uint64_t now)
{
	if (waiting == 0)
		return 0;
	unsigned max = (unsigned)md5crypt_x8_max();
	if (waiting >= LANES)
		return waiting < max ? waiting : max;
	if (coming > 0 && !stopping &&
	    now < head->lanes_t + AUTHD_LANES_WAIT_MS * 1000000ull)
		return 0; /* company on its way */
	return waiting;
}

/* Computes the n checks of b and ends their AUTHs.  Without the lock. */
static void evaluate(struct authd_user_lookup **b, unsigned n)
{
	const char *pw[LANES_MAX], *st[LANES_MAX];
	char out[LANES_MAX][MD5CRYPT_X8_OUT_SIZE];
	for (unsigned i = 0; i < n; i++) {
		pw[i] = b[i]->password;
		st[i] = b[i]->u->passwd;
	}
	/* a single one, or the lanes switched off meanwhile: no preset,
	   each AUTH hashes its own through crypt_r in l->hashed */
	if (n >= 2 && md5crypt_batch_hash_now(n, pw, st, out) > 0) {
		for (unsigned i = 0; i < n; i++)
			memcpy(b[i]->md5, out[i], MD5CRYPT_X8_OUT_SIZE);
	}
	explicit_bzero(out, sizeof(out));
	for (unsigned i = 0; i < n; i++)
		b[i]->hashed(b[i]); /* b[i] is not ours after */
}

static void *lanes_main(void *arg)
{
	(void)arg;
	/* below the loop thread and MariaDB: the query and the socket work
	   are one at a time, the hashes two at once, so a hash must not
	   hold the CPU the next query's rows wait for */
	id_t tid = (id_t)gettid();
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, tid);
	if (errno == 0) {
		/* relative: a daemon started under nice stays below it */
		prio =
		    prio + AUTHD_LANES_NICE > 19 ? 19 : prio + AUTHD_LANES_NICE;
		if (setpriority(PRIO_PROCESS, tid, prio) < 0)
			log_warning("authd: hash stage: setpriority: %s",
				    strerror(errno));
	}
	pthread_mutex_lock(&mu);
	for (;;) {
		uint64_t now = now_ns();
		unsigned n = to_take(now);
		if (n == 0) {
			if (stopping && waiting == 0)
				break;
			if (waiting == 0) {
				pthread_cond_wait(&cv, &mu);
			} else {
				/* until the oldest check's deadline */
				uint64_t t = head->lanes_t +
					     AUTHD_LANES_WAIT_MS * 1000000ull;
				struct timespec ts = {
				    .tv_sec = (time_t)(t / 1000000000u),
				    .tv_nsec = (long)(t % 1000000000u)};
				pthread_cond_timedwait(&cv, &mu, &ts);
			}
			continue;
		}
		struct authd_user_lookup *b[LANES_MAX];
		for (unsigned i = 0; i < n; i++) {
			b[i] = head;
			head = head->lanes_next;
			b[i]->lanes_next = NULL;
		}
		if (head == NULL)
			tailp = &head;
		waiting -= n;
		taken += n;
		n_checks += n;
		n_evals++;
		idle--;
		pthread_mutex_unlock(&mu);
		evaluate(b, n);
		pthread_mutex_lock(&mu);
		taken -= n;
		idle++;
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

void authd_lanes_start(unsigned nt)
{
	if (nt == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		nt = n < 1 ? 1 : n > THREADS_MAX ? THREADS_MAX : (unsigned)n;
	}
	if (nt > THREADS_MAX)
		nt = THREADS_MAX;
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&cv, &ca) != 0)
		fatal("authd: cannot set up the hash stage");
	pthread_condattr_destroy(&ca);
	stopping = false;
	running = true;
	idle = nt;
	/* signals go to the loop's signalfd, as with the workers */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (nthreads = 0; nthreads < nt; nthreads++) {
		int e =
		    pthread_create(&threads[nthreads], NULL, lanes_main, NULL);
		if (e != 0)
			fatal("authd: cannot start the hash stage: %s",
			      strerror(e));
		char tn[16];
		if (snprintf(tn, sizeof(tn), "authd-lanes%u", nthreads) > 0)
			(void)pthread_setname_np(threads[nthreads], tn);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void authd_lanes_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	nthreads = 0;
	running = false;
	pthread_cond_destroy(&cv);
}

void authd_lanes_expect(void)
{
	pthread_mutex_lock(&mu);
	coming++;
	pthread_mutex_unlock(&mu);
}

/* Whether l's check is one for the lanes. */
static bool lanes_pair(const struct authd_user_lookup *l)
{
	return l->st == AUTHD_FOUND && l->password != NULL &&
	       l->password[0] != '\0' && l->u->passwd != NULL &&
	       strncmp(l->u->passwd, "$1$", 3) == 0 &&
	       md5crypt_x8_accepts(l->password, l->u->passwd);
}

bool authd_lanes_add(struct authd_user_lookup *l, bool take)
{
	bool pair = take && lanes_pair(l);
	pthread_mutex_lock(&mu);
	coming--;
	if (!pair || !running || stopping || (waiting == 0 && coming <= 0)) {
		/* not ours, or alone: crypt_r on the caller's thread costs
		   less than one lane evaluation and a wake-up; those
		   waiting for company need not wait for this one */
		bool wake = !pair && coming <= 0 && waiting > 0;
		pthread_mutex_unlock(&mu);
		if (wake)
			pthread_cond_signal(&cv);
		return false;
	}
	l->lanes_next = NULL;
	l->lanes_t = now_ns();
	*tailp = l;
	tailp = &l->lanes_next;
	waiting++;
	/* a thread for each evaluation ready, as far as they go; and one
	   for the first check, to wait for its company no longer than its
	   deadline */
	unsigned ready = to_take(l->lanes_t);
	bool one = ready > 0 || waiting == 1;
	/* the second's evaluation must have its eight too */
	bool two =
	    ready > 0 && waiting >= md5crypt_x8_max() + LANES && idle >= 2;
	pthread_mutex_unlock(&mu);
	if (one)
		pthread_cond_signal(&cv);
	if (two)
		pthread_cond_signal(&cv);
	return true;
}

unsigned authd_lanes_backlog(void)
{
	pthread_mutex_lock(&mu);
	unsigned n = waiting + taken;
	pthread_mutex_unlock(&mu);
	return n;
}

void authd_lanes_stats(unsigned long *checks_r, unsigned long *evals_r)
{
	pthread_mutex_lock(&mu);
	*checks_r = n_checks;
	*evals_r = n_evals;
	pthread_mutex_unlock(&mu);
}
