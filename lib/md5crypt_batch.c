/*
 * The MD5-crypt verifier stage (see md5crypt_batch.h).
 *
 * Callers are worker threads (youju-authd's lib/workq pool) that would
 * each have run crypt_r.  One mutex guards a FIFO of waiting requests and
 * the number of evaluations under way.  A caller appends its request; if
 * an evaluation slot is free and its request is still waiting, it claims
 * its own request and up to seven of the oldest others, computes them
 * outside the lock, marks them done and wakes everyone.  Otherwise it
 * sleeps until its request is done or a slot frees.  So under light load
 * every request runs at once and alone (crypt_r: one lane of a vector
 * costs as much as the scalar code), and under load requests pile up
 * while the slots are busy and leave in groups of up to eight, which cost
 * about what one costs.  The slots default to the CPU count: more would
 * only make the batches smaller.
 */
#include "md5crypt_batch.h"

#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
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
static unsigned max_running; /* 0: not yet set */
static bool batching = true;
static unsigned long n_batches, n_pairs;

void md5crypt_batch_config(unsigned parallel, bool enabled)
{
	pthread_mutex_lock(&mu);
	max_running = parallel > 64 ? 64 : parallel; /* 0: the CPU count */
	batching = enabled;
	pthread_mutex_unlock(&mu);
}

void md5crypt_batch_stats(unsigned long *batches_r, unsigned long *pairs_r)
{
	pthread_mutex_lock(&mu);
	*batches_r = n_batches;
	*pairs_r = n_pairs;
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
}

int md5crypt_batch_hash(const char *password, const char *setting,
			char out[MD5CRYPT_X8_OUT_SIZE])
{
	struct req r = {password, setting, out, -1, REQ_WAITING, NULL};
	struct req *b[MD5CRYPT_X8_LANES];

	if (!md5crypt_x8_accepts(password, setting))
		return -1;
	pthread_mutex_lock(&mu);
	if (!batching) {
		pthread_mutex_unlock(&mu);
		return -1;
	}
	if (max_running == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		max_running = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
	}
	*tailp = &r;
	tailp = &r.next;
	while (r.state != REQ_DONE) {
		if (r.state != REQ_WAITING || running >= max_running) {
			pthread_cond_wait(&cv, &mu);
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
