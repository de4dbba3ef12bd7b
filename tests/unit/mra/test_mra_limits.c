/*
 * The shared connection counters (mra/mra_limits): limits hold across
 * processes, a release frees the key, a dead worker's counts stop counting
 * once the master marks it gone, a replacement starts from zero, and many
 * keys in a small table (collisions, backward-shift deletion) stay exact.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../mra/mra_limits.h"
#include "test.h"

#define K(s) (s), (sizeof(s) - 1)

/* In a child acting as worker w: takes n counts of key, then exits (the
   counts stay in w's column, as with a worker killed by SIGKILL). */
static void child_take(struct mra_limits *l, unsigned w, const char *key,
		       size_t len, unsigned n, unsigned max)
{
	pid_t pid = fork();
	if (pid == 0) {
		int ok = mra_limits_attach(l, w) == 0;
		for (unsigned i = 0; i < n; i++)
			ok &= mra_limits_acquire(l, key, len, max) == 1;
		_exit(ok ? 0 : 1);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	test_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_across_processes(void)
{
	test_begin("limits across processes");
	struct mra_limits *l = mra_limits_new(3, 64);
	test_assert(l != NULL);
	test_assert(mra_limits_attach(l, 0) == 0);
	test_assert(mra_limits_attach(l, 3) == -1);
	child_take(l, 1,
		   K("imap\0u@d\0"
		     "1.2.3.4"),
		   4, 10);
	child_take(l, 2,
		   K("imap\0u@d\0"
		     "1.2.3.4"),
		   5, 10);
	test_assert(mra_limits_count(l, K("imap\0u@d\0"
					  "1.2.3.4")) == 9);
	/* the 10th here, the 11th refused whoever asks */
	test_assert(mra_limits_acquire(l,
				       K("imap\0u@d\0"
					 "1.2.3.4"),
				       10) == 1);
	test_assert(mra_limits_acquire(l,
				       K("imap\0u@d\0"
					 "1.2.3.4"),
				       10) == 0);
	/* another key (and protocol) is counted apart */
	test_assert(mra_limits_acquire(l,
				       K("pop3\0u@d\0"
					 "1.2.3.4"),
				       10) == 1);
	test_assert(mra_limits_count(l, K("pop3\0u@d\0"
					  "1.2.3.4")) == 1);
	/* worker 2 dies: its 5 are gone at the next operation */
	mra_limits_worker_gone(l, 2);
	test_assert(mra_limits_count(l, K("imap\0u@d\0"
					  "1.2.3.4")) == 5);
	/* worker 1 is replaced: the new one starts from zero */
	child_take(l, 1, K("other"), 1, 10);
	test_assert(mra_limits_count(l, K("imap\0u@d\0"
					  "1.2.3.4")) == 1);
	test_assert(mra_limits_count(l, K("other")) == 1);
	mra_limits_release(l, K("imap\0u@d\0"
				"1.2.3.4"));
	test_assert(mra_limits_count(l, K("imap\0u@d\0"
					  "1.2.3.4")) == 0);
	/* releasing what we do not hold changes nothing */
	mra_limits_release(l, K("other"));
	test_assert(mra_limits_count(l, K("other")) == 1);
	/* max 0 refuses, a key over the maximum length is not counted */
	test_assert(mra_limits_acquire(l, K("zero"), 0) == 0);
	char big[MRA_LIMITS_KEY_MAX + 1];
	memset(big, 'x', sizeof big);
	test_assert(mra_limits_acquire(l, big, sizeof big, 5) == -1);
	test_assert(mra_limits_acquire(l, big, MRA_LIMITS_KEY_MAX, 5) == 1);
	test_assert(mra_limits_new(0, 64) == NULL);
	test_assert(mra_limits_new(MRA_LIMITS_COLUMNS_MAX + 1, 64) == NULL);
	mra_limits_free(&l);
	test_assert(l == NULL);
	mra_limits_free(&l);
}

static void test_many_keys(void)
{
	test_begin("limits: many keys, deletions, full table");
	struct mra_limits *l = mra_limits_new(1, 16);
	test_assert(mra_limits_attach(l, 0) == 0);
	char key[32];
	/* 3/4 of 16 = 12 keys fit, the 13th is not counted */
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 12; i++) {
			snprintf(key, sizeof key, "k%d.%d", round, i);
			test_assert(
			    mra_limits_acquire(l, key, strlen(key), 3) == 1);
		}
		test_assert(mra_limits_acquire(l, K("one too many"), 3) == -1);
		/* every key still reachable after deletions in the middle
		   of the probe runs */
		for (int i = 0; i < 12; i += 2) {
			snprintf(key, sizeof key, "k%d.%d", round, i);
			mra_limits_release(l, key, strlen(key));
		}
		for (int i = 0; i < 12; i++) {
			snprintf(key, sizeof key, "k%d.%d", round, i);
			test_assert(mra_limits_count(l, key, strlen(key)) ==
				    (unsigned)(i % 2));
		}
		for (int i = 1; i < 12; i += 2) {
			snprintf(key, sizeof key, "k%d.%d", round, i);
			mra_limits_release(l, key, strlen(key));
		}
	}
	/* a key with an embedded NUL differs from its prefix */
	test_assert(mra_limits_acquire(l, K("a\0b"), 1) == 1);
	test_assert(mra_limits_acquire(l, K("a"), 1) == 1);
	test_assert(mra_limits_acquire(l, K("a\0b"), 1) == 0);
	/* gone on the only worker: everything is dropped */
	mra_limits_worker_gone(l, 0);
	test_assert(mra_limits_count(l, K("a\0b")) == 0);
	test_assert(mra_limits_acquire(l, K("a\0b"), 1) == 1);
	mra_limits_free(&l);
}

int main(void)
{
	test_across_processes();
	test_many_keys();
	return test_end();
}
