/*
 * The MD5-crypt verifier stage (see md5crypt_batch.h).
 *
 * Callers are worker threads (youju-authd's lib/workq pool) that would
 * each have run crypt_r.  One mutex guards a FIFO of waiting requests, the
 * number of evaluations under way and the number of announced jobs not yet
 * in the stage ("coming").  A caller appends its request and waits until
 * its request is done or it may start an evaluation: a slot is free and
 * nobody announced is still coming, or eight requests wait, or its own
 * wait passed MD5CRYPT_BATCH_WAIT_MS.  Then it claims its own request and
 * up to seven of the oldest others, computes them outside the lock, marks
 * them done and wakes everyone.
 *
 * Why announcements: MD5-crypt pays off in lanes only if requests meet in
 * the stage, and they rarely do by chance (at 2,000 AUTHs/s and ~150 us
 * per hash, two hashes overlap less than a third of the time: measured,
 * 1.0-1.15 pairs per evaluation without them).  Waiting for company on a
 * timer would add its latency to every lone request; waiting for the jobs
 * that are known to be on their way (in a worker, in their SQL query)
 * costs at most one query's time and only when there is company to wait
 * for.  Jobs still queued for a worker are not waited for.
 */
#include "md5crypt_batch.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

enum req_state { REQ_WAITING, REQ_RUNNING, REQ_DONE };

struct req {
	const char *password, *setting;
	char *out;
	int rc;
	enum req_state state;
	struct req *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct req *head, **tailp = &head;
static unsigned running;
static unsigned waiting; /* requests in the FIFO */
static unsigned coming;	 /* announced jobs not yet in the stage */
static _Thread_local bool announced;
static unsigned wait_ms = MD5CRYPT_BATCH_WAIT_MS;
static unsigned max_running; /* 0: not yet set */
static bool batching = true;
static unsigned long n_batches, n_pairs;

/* a result another thread computed for this one (md5crypt_batch_preset) */
#define PRESET_SETTING_MAX 255
static _Thread_local struct {
	bool set;
	char password[MD5CRYPT_X8_PASSWORD_MAX + 1];
	char setting[PRESET_SETTING_MAX + 1];
	char out[MD5CRYPT_X8_OUT_SIZE];
} preset;

static void preset_clear(void)
{
	if (preset.set) {
		explicit_bzero(&preset, sizeof(preset));
		preset.set = false;
	}
}

void md5crypt_batch_preset(const char *password, const char *setting,
			   const char *out)
{
	size_t pl = strlen(password), sl = strlen(setting);
	preset_clear();
	if (out[0] == '\0' || pl > MD5CRYPT_X8_PASSWORD_MAX ||
	    sl > PRESET_SETTING_MAX ||
	    strnlen(out, MD5CRYPT_X8_OUT_SIZE) == MD5CRYPT_X8_OUT_SIZE)
		return;
	memcpy(preset.password, password, pl + 1);
	memcpy(preset.setting, setting, sl + 1);
	memcpy(preset.out, out, strlen(out) + 1);
	preset.set = true;
}

/* Takes the preset result when it is for this pair. */
static bool preset_take(const char *password, const char *setting,
			char out[MD5CRYPT_X8_OUT_SIZE])
{
	if (!preset.set || strcmp(preset.setting, setting) != 0 ||
	    strcmp(preset.password, password) != 0)
		return false;
	memcpy(out, preset.out, MD5CRYPT_X8_OUT_SIZE);
	preset_clear();
	return true;
}

size_t md5crypt_batch_hash_now(size_t n, const char *const password[],
			       const char *const setting[],
			       char out[][MD5CRYPT_X8_OUT_SIZE])
{
	const char *pw[MD5CRYPT_X8_LANES_MAX], *st[MD5CRYPT_X8_LANES_MAX];
	char o[MD5CRYPT_X8_LANES_MAX][MD5CRYPT_X8_OUT_SIZE];
	size_t idx[MD5CRYPT_X8_LANES_MAX], k = 0, max = md5crypt_x8_max();

	pthread_mutex_lock(&mu);
	bool on = batching;
	pthread_mutex_unlock(&mu);
	for (size_t i = 0; i < n && i < max; i++) {
		out[i][0] = '\0';
		if (on && password[i] != NULL && setting[i] != NULL &&
		    md5crypt_x8_accepts(password[i], setting[i])) {
			pw[k] = password[i];
			st[k] = setting[i];
			idx[k++] = i;
		}
	}
	if (k < 2 || md5crypt_x8(k, pw, st, o) != 0) {
		/* one alone is cheaper through crypt_r, in the stage */
		explicit_bzero(o, sizeof(o));
		return 0;
	}
	for (size_t i = 0; i < k; i++)
		memcpy(out[idx[i]], o[i], MD5CRYPT_X8_OUT_SIZE);
	explicit_bzero(o, sizeof(o));
	pthread_mutex_lock(&mu);
	n_batches++;
	n_pairs += k;
	pthread_mutex_unlock(&mu);
	return k;
}

void md5crypt_batch_config(unsigned parallel, bool enabled)
{
	pthread_mutex_lock(&mu);
	max_running = parallel > 64 ? 64 : parallel; /* 0: the CPU count */
	batching = enabled;
	pthread_mutex_unlock(&mu);
}

void md5crypt_batch_set_wait(unsigned ms)
{
	pthread_mutex_lock(&mu);
	wait_ms = ms;
	pthread_mutex_unlock(&mu);
}

unsigned md5crypt_batch_waiting(void)
{
	pthread_mutex_lock(&mu);
	unsigned n = waiting;
	pthread_mutex_unlock(&mu);
	return n;
}

void md5crypt_batch_stats(unsigned long *batches_r, unsigned long *pairs_r)
{
	pthread_mutex_lock(&mu);
	*batches_r = n_batches;
	*pairs_r = n_pairs;
	pthread_mutex_unlock(&mu);
}

void md5crypt_batch_announce(void)
{
	if (announced)
		return;
	pthread_mutex_lock(&mu);
	coming++;
	announced = true;
	pthread_mutex_unlock(&mu);
}

/* Called with mu held: the thread's announced job has arrived or ended. */
static void arrived(void)
{
	if (announced) {
		announced = false;
		coming--;
		pthread_cond_broadcast(&cv);
	}
}

void md5crypt_batch_done(void)
{
	preset_clear();
	if (!announced)
		return;
	pthread_mutex_lock(&mu);
	arrived();
	pthread_mutex_unlock(&mu);
}

/* One pair alone: libxcrypt's scalar code. */
static int run_one(struct req *r)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *o = crypt_r(r->password, r->setting, cd);
	int rc = -1;

	if (o != NULL && o[0] == '$' && strlen(o) < MD5CRYPT_X8_OUT_SIZE) {
		memcpy(r->out, o, strlen(o) + 1);
		rc = 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

static void run_batch(struct req *b[], size_t n)
{
	const char *pw[MD5CRYPT_X8_LANES], *st[MD5CRYPT_X8_LANES];
	char out[MD5CRYPT_X8_LANES][MD5CRYPT_X8_OUT_SIZE];

	if (n == 1) {
		b[0]->rc = run_one(b[0]);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		pw[i] = b[i]->password;
		st[i] = b[i]->setting;
	}
	if (md5crypt_x8(n, pw, st, out) == 0) {
		for (size_t i = 0; i < n; i++) {
			memcpy(b[i]->out, out[i], MD5CRYPT_X8_OUT_SIZE);
			b[i]->rc = 0;
		}
	} else {
		/* cannot happen: every pair was accepted on entry */
		for (size_t i = 0; i < n; i++)
			b[i]->rc = run_one(b[i]);
	}
	explicit_bzero(out, sizeof(out));
}

/* Unlinks r from the waiting FIFO.  Called with mu held. */
static void unlink_req(struct req *r)
{
	struct req **pp = &head;

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	if (tailp == &r->next)
		tailp = pp;
	r->next = NULL;
	waiting--;
}

/* Now + ms on the condition variable's clock (CLOCK_REALTIME). */
static struct timespec deadline_in(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

int md5crypt_batch_hash(const char *password, const char *setting,
			char out[MD5CRYPT_X8_OUT_SIZE])
{
	struct req r = {password, setting, out, -1, REQ_WAITING, NULL};
	struct req *b[MD5CRYPT_X8_LANES];

	if (preset_take(password, setting, out)) {
		md5crypt_batch_done();
		return 0;
	}
	pthread_mutex_lock(&mu);
	arrived();
	if (!batching || !md5crypt_x8_accepts(password, setting)) {
		pthread_mutex_unlock(&mu);
		return -1;
	}
	if (max_running == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		max_running = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
	}
	*tailp = &r;
	tailp = &r.next;
	waiting++;
	struct timespec until = deadline_in((long)wait_ms);
	bool late = false;
	while (r.state != REQ_DONE) {
		if (r.state != REQ_WAITING || running >= max_running) {
			pthread_cond_wait(&cv, &mu);
			continue;
		}
		if (coming > 0 && waiting < MD5CRYPT_X8_LANES && !late) {
			/* company is on its way */
			late = pthread_cond_timedwait(&cv, &mu, &until) ==
			       ETIMEDOUT;
			continue;
		}
		/* our own request first, then the oldest waiting ones */
		size_t n = 0;
		unlink_req(&r);
		b[n++] = &r;
		while (head != NULL && n < MD5CRYPT_X8_LANES) {
			struct req *o = head;
			unlink_req(o);
			b[n++] = o;
		}
		for (size_t i = 0; i < n; i++)
			b[i]->state = REQ_RUNNING;
		running++;
		n_batches++;
		n_pairs += n;
		pthread_mutex_unlock(&mu);
		run_batch(b, n);
		pthread_mutex_lock(&mu);
		for (size_t i = 0; i < n; i++)
			b[i]->state = REQ_DONE;
		running--;
		pthread_cond_broadcast(&cv);
	}
	pthread_mutex_unlock(&mu);
	return r.rc;
}
