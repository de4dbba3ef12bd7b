/*
 * Unit tests for lib/md5crypt_batch: sixteen threads hash at once through
 * the stage and each must get its own pair's crypt_r() result (not a
 * neighbour's lane), with every pair counted once; a lone caller gets
 * crypt_r's result; settings md5crypt_x8 refuses and the stage switched
 * off return -1 so the caller runs crypt_r itself.  Through pwhash, a
 * "$1$" check matches and mismatches as before.
 */
#include <crypt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md5crypt_batch.h"
#include "pwhash.h"
#include "test.h"

#define THREADS	   16
#define PER_THREAD 12

static char *reference(const char *pw, const char *setting)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *o = crypt_r(pw, setting, cd);
	char *r = o == NULL ? NULL : strdup(o);
	free(cd);
	return r;
}

struct job {
	int id;
	int bad;
	int pw_ok;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		char pw[64], st[32], out[MD5CRYPT_X8_OUT_SIZE];
		/* lengths 0..40 across threads: mixed block counts */
		int len = (j->id * 7 + i * 3) % 41;
		memset(pw, 'a' + j->id % 26, (size_t)len);
		pw[len] = '\0';
		snprintf(st, sizeof(st), "$1$s%02d%02d$", j->id, i);
		if (md5crypt_batch_hash(pw, st, out) != 0) {
			j->bad++;
			continue;
		}
		char *want = reference(pw, st);
		if (want == NULL || strcmp(want, out) != 0)
			j->bad++;
		/* the same through pwhash: the right password matches, a
		   wrong one does not */
		if (want != NULL && i % 4 == 0) {
			j->pw_ok +=
			    pwhash_verify(pw, want, false) == PWHASH_MATCH;
			j->pw_ok +=
			    pwhash_verify("x", want, false) == PWHASH_MISMATCH;
		}
		free(want);
	}
	return NULL;
}

static void test_threads(unsigned parallel)
{
	pthread_t t[THREADS];
	struct job jobs[THREADS];
	unsigned long b0, p0, b1, p1;
	int bad = 0, pw_ok = 0;

	test_begin("threads");
	md5crypt_batch_config(parallel, true);
	md5crypt_batch_stats(&b0, &p0);
	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct job){i, 0, 0};
		test_assert(pthread_create(&t[i], NULL, worker, &jobs[i]) == 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		bad += jobs[i].bad;
		pw_ok += jobs[i].pw_ok;
	}
	md5crypt_batch_stats(&b1, &p1);
	test_assert(bad == 0);
	/* 3 pwhash checks of 2 verdicts per thread */
	test_assert(pw_ok == THREADS * 3 * 2);
	/* every pair counted once: the hash calls and the pwhash checks */
	test_assert(p1 - p0 == THREADS * (PER_THREAD + 3 * 2));
	test_assert(b1 - b0 >= 1 && b1 - b0 <= p1 - p0);
	fprintf(stderr, "parallel %u: %lu pairs in %lu evaluations\n", parallel,
		p1 - p0, b1 - b0);
}

struct lone {
	int rc;
	char out[MD5CRYPT_X8_OUT_SIZE];
};

static void *lone_hash(void *arg)
{
	struct lone *l = arg;
	l->rc = md5crypt_batch_hash("second", "$1$other$", l->out);
	return NULL;
}

static void wait_for_waiting(unsigned n)
{
	while (md5crypt_batch_waiting() != n)
		sched_yield();
}

/* A pair waits for an announced job and goes with it; done() without a
   hash releases it.  The wait cap is set far out so the order is fixed. */
static void test_announce(void)
{
	unsigned long b0, p0, b1, p1;
	struct lone l = {-1, ""};
	char out[MD5CRYPT_X8_OUT_SIZE];
	pthread_t t;

	test_begin("announce");
	md5crypt_batch_config(0, true);
	md5crypt_batch_set_wait(60000);
	md5crypt_batch_stats(&b0, &p0);
	md5crypt_batch_announce();
	test_assert(pthread_create(&t, NULL, lone_hash, &l) == 0);
	wait_for_waiting(1);
	test_assert(md5crypt_batch_hash("extmail", "$1$phz1mRrj$", out) == 0);
	pthread_join(t, NULL);
	md5crypt_batch_done(); /* after the hash: nothing left to retract */
	md5crypt_batch_stats(&b1, &p1);
	test_assert(strcmp(out, "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0") == 0);
	char *want = reference("second", "$1$other$");
	test_assert(l.rc == 0 && want != NULL && strcmp(l.out, want) == 0);
	test_assert(b1 - b0 == 1 && p1 - p0 == 2);

	test_begin("announce, then done without a hash");
	md5crypt_batch_stats(&b0, &p0);
	l.rc = -1;
	md5crypt_batch_announce();
	test_assert(pthread_create(&t, NULL, lone_hash, &l) == 0);
	wait_for_waiting(1);
	test_assert(l.rc == -1); /* still waiting for us */
	md5crypt_batch_done();
	pthread_join(t, NULL);
	md5crypt_batch_stats(&b1, &p1);
	test_assert(l.rc == 0 && want != NULL && strcmp(l.out, want) == 0);
	test_assert(b1 - b0 == 1 && p1 - p0 == 1);
	free(want);

	test_begin("announced job that never comes: the cap");
	md5crypt_batch_set_wait(MD5CRYPT_BATCH_WAIT_MS);
	md5crypt_batch_announce();
	test_assert(md5crypt_batch_hash("x", "$1$ab$", out) == 0);
	md5crypt_batch_announce();
	l.rc = -1;
	test_assert(pthread_create(&t, NULL, lone_hash, &l) == 0);
	pthread_join(t, NULL); /* returns after the cap although we never
				  hash */
	test_assert(l.rc == 0);
	md5crypt_batch_done();
}

/* md5crypt_batch_hash_now computes a held batch at once; a result preset
   for this thread is used by the next hash of exactly that pair only, and
   md5crypt_batch_done() drops it. */
static void test_now_and_preset(void)
{
	const char *pw[4] = {"alpha", "beta", "gamma", "delta"};
	const char *st[4] = {"$1$s1$", "$1$s2$", "$6$saltsalt$", "$1$s4$"};
	char out[4][MD5CRYPT_X8_OUT_SIZE], o[MD5CRYPT_X8_OUT_SIZE];
	unsigned long b0, p0, b1, p1;

	test_begin("hash_now");
	md5crypt_batch_config(0, true);
	md5crypt_batch_stats(&b0, &p0);
	/* the $6$ pair is not md5crypt_x8's: left empty */
	test_assert(md5crypt_batch_hash_now(4, pw, st, out) == 3);
	md5crypt_batch_stats(&b1, &p1);
	test_assert(b1 - b0 == 1 && p1 - p0 == 3);
	test_assert(out[2][0] == '\0');
	for (int i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		char *want = reference(pw[i], st[i]);
		test_assert(want != NULL && strcmp(want, out[i]) == 0);
		free(want);
	}
	/* one pair alone: nothing computed (crypt_r in the stage is cheaper) */
	test_assert(md5crypt_batch_hash_now(1, pw, st, out) == 0);
	test_assert(out[0][0] == '\0');
	md5crypt_batch_config(0, false);
	test_assert(md5crypt_batch_hash_now(2, pw, st, out) == 0);
	md5crypt_batch_config(0, true);

	test_begin("preset");
	md5crypt_batch_preset("alpha", "$1$s1$", "$1$s1$not-the-real-hash");
	/* another password or setting: computed, the preset kept */
	test_assert(md5crypt_batch_hash("alphA", "$1$s1$", o) == 0);
	char *want = reference("alphA", "$1$s1$");
	test_assert(want != NULL && strcmp(o, want) == 0);
	free(want);
	test_assert(md5crypt_batch_hash("alpha", "$1$s2$", o) == 0);
	want = reference("alpha", "$1$s2$");
	test_assert(want != NULL && strcmp(o, want) == 0);
	free(want);
	/* the pair it was made for: the preset value, once */
	test_assert(md5crypt_batch_hash("alpha", "$1$s1$", o) == 0);
	test_assert(strcmp(o, "$1$s1$not-the-real-hash") == 0);
	test_assert(md5crypt_batch_hash("alpha", "$1$s1$", o) == 0);
	want = reference("alpha", "$1$s1$");
	test_assert(want != NULL && strcmp(o, want) == 0);
	free(want);
	/* done() drops an unused preset */
	md5crypt_batch_preset("alpha", "$1$s1$", "$1$s1$stale");
	md5crypt_batch_done();
	test_assert(md5crypt_batch_hash("alpha", "$1$s1$", o) == 0);
	test_assert(strcmp(o, "$1$s1$stale") != 0);
	/* an empty result presets nothing */
	md5crypt_batch_preset("alpha", "$1$s1$", "");
	test_assert(md5crypt_batch_hash("alpha", "$1$s1$", o) == 0);
	test_assert(o[0] == '$' && strcmp(o, "$1$s1$") != 0);
	/* through pwhash: the stored hash is the setting */
	char *h = reference("gamma", "$1$abc$");
	test_assert(h != NULL);
	md5crypt_batch_preset("gamma", h, h);
	test_assert(pwhash_verify("gamma", h, false) == PWHASH_MATCH);
	md5crypt_batch_preset("wrong", h, "$1$abc$xxxxxxxxxxxxxxxxxxxxxx");
	test_assert(pwhash_verify("wrong", h, false) == PWHASH_MISMATCH);
	md5crypt_batch_done();
	free(h);
}

int main(void)
{
	char out[MD5CRYPT_X8_OUT_SIZE];

	test_begin("lone caller");
	test_assert(md5crypt_batch_hash("extmail", "$1$phz1mRrj$", out) == 0);
	test_assert(strcmp(out, "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0") == 0);
	test_begin("refused");
	test_assert(md5crypt_batch_hash("pw", "$1$a*b$", out) == -1);
	test_assert(md5crypt_batch_hash("pw", "$6$saltsalt$", out) == -1);
	test_threads(1);
	test_threads(2);
	test_threads(0);
	test_announce();
	test_now_and_preset();
	test_begin("off");
	md5crypt_batch_config(0, false);
	test_assert(md5crypt_batch_hash("extmail", "$1$phz1mRrj$", out) == -1);
	test_assert(pwhash_verify("extmail",
				  "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0",
				  false) == PWHASH_MATCH);
	md5crypt_batch_config(0, true);
	return test_end();
}
