/*
 * mta/syncgroup: the group commit over one file system.  Unset, a request
 * fails (EBADF); set, requests succeed, later inits change nothing; a
 * Maildir on the group's file system is left to the caller by
 * deliver_maildir() (unsynced: the file in tmp/, nothing in new/ until
 * deliver_link(); deliver_drop() removes it); and members that ask together
 * share flushes: 8 threads x 20 requests take far fewer syncfs calls than 160;
 * three processes sharing flushes (syncgroup_share) all get theirs, and
 * never run two syncfs at once;
 * asynchronous requests (an event loop's) stay pending until the flusher
 * is kicked, then its eventfd says they are covered, one flush for all.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../mta/deliver.h"
#include "../../../mta/syncgroup.h"
#include "test.h"

#define THREADS 8
#define ROUNDS	20

static char dir[] = "/tmp/youju-test-syncgroup-XXXXXX";

static void *member(void *arg)
{
	int *fails = arg;
	for (int i = 0; i < ROUNDS; i++) {
		syncgroup_enter();
		usleep(200);
		if (syncgroup_wait() < 0)
			(*fails)++;
		syncgroup_leave();
	}
	return NULL;
}

static void test_unset_and_set(void)
{
	test_begin("syncgroup unset, then set");
	struct stat st;
	test_assert(stat(dir, &st) == 0);
	test_assert(!syncgroup_covers(st.st_dev));
	errno = 0;
	test_assert(syncgroup_wait() == -1 && errno == EBADF);
	test_assert(syncgroup_init("/nonexistent/youju-syncgroup") == -1);
	test_assert(!syncgroup_is_dir("/nonexistent/youju-syncgroup"));
	test_assert(syncgroup_init(dir) == 0);
	test_assert(syncgroup_is_dir(dir));
	test_assert(syncgroup_covers(st.st_dev));
	test_assert(syncgroup_init("/") == 0); /* the first one wins */
	test_assert(syncgroup_is_dir(dir) && !syncgroup_is_dir("/"));
	test_assert(syncgroup_wait() == 0);
	unsigned long long f, r;
	syncgroup_stats(&f, &r);
	test_assert(f == 1 && r == 1);
}

static void test_members_share(void)
{
	test_begin("syncgroup members share flushes");
	syncgroup_set_delay(50);
	pthread_t t[THREADS];
	int fails[THREADS] = {0};
	unsigned long long f0, r0, f1, r1;
	syncgroup_stats(&f0, &r0);
	for (int i = 0; i < THREADS; i++)
		test_assert(pthread_create(&t[i], NULL, member, &fails[i]) ==
			    0);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		test_assert(fails[i] == 0);
	}
	syncgroup_stats(&f1, &r1);
	test_assert(r1 - r0 == THREADS * ROUNDS);
	printf("  %llu requests, %llu flushes\n", r1 - r0, f1 - f0);
	test_assert(f1 - f0 < (unsigned long long)THREADS * ROUNDS / 2);
	syncgroup_set_delay(0);
}

/* files in root/sub, not counting . and .. */
static int count_files(const char *root, const char *sub)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, sub);
	DIR *d = opendir(p);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_async(void)
{
	test_begin("syncgroup asynchronous requests");
	errno = 0;
	test_assert(syncgroup_check(0) == -1 && errno == EBADF);
	int fd = syncgroup_async_fd();
	test_assert(fd >= 0);
	test_assert(syncgroup_async_fd() == fd); /* one flusher */
	unsigned long long f0, r0, f1, r1;
	syncgroup_stats(&f0, &r0);
	uint64_t t[3];
	for (int i = 0; i < 3; i++) {
		t[i] = syncgroup_request();
		test_assert(t[i] != 0);
		test_assert(i == 0 || t[i] > t[i - 1]);
	}
	/* not flushed before the kick: the loop's batch is not done yet */
	usleep(20000);
	test_assert(syncgroup_check(t[2]) == 0);
	struct pollfd p = {fd, POLLIN, 0};
	test_assert(poll(&p, 1, 0) == 0);
	syncgroup_kick();
	test_assert(poll(&p, 1, 10000) == 1);
	syncgroup_async_drain();
	for (int i = 0; i < 3; i++)
		test_assert(syncgroup_check(t[i]) == 1);
	syncgroup_stats(&f1, &r1);
	test_assert(r1 - r0 == 3 && f1 - f0 == 1);
	/* a waiting thread's flush covers what was asked before it */
	uint64_t t4 = syncgroup_request();
	test_assert(syncgroup_wait() == 0);
	test_assert(syncgroup_check(t4) == 1);
	/* drained: nothing new until the next flush ends */
	test_assert(poll(&p, 1, 0) == 0);
}

static void test_deliver_unsynced(void)
{
	test_begin("deliver_maildir leaves the flush to the group");
	char root[256];
	snprintf(root, sizeof root, "%s/Maildir", dir);
	struct deliver_cfg cfg = {.limit_message = "over quota",
				  .group_sync = true};
	struct deliver_result r;
	const char msg[] = "Subject: s\n\nbody\n";
	deliver_maildir(&cfg, "u@extmail.org", root, NULL, "a@example.net", msg,
			sizeof msg - 1, &r);
	test_assert(r.status == DELIVER_OK && r.unsynced && r.pending != NULL);
	/* no name in new/ before the caller's flush */
	test_assert(count_files(root, "tmp") == 1);
	test_assert(count_files(root, "new") == 0);
	test_assert(syncgroup_wait() == 0);
	test_assert(deliver_link(&r) == 0);
	test_assert(r.status == DELIVER_OK && r.pending == NULL);
	test_assert(count_files(root, "tmp") == 0);
	test_assert(count_files(root, "new") == 1);
	test_assert(deliver_link(&r) == 0); /* nothing pending: a no-op */
	/* a failed flush: the file is dropped, never named */
	deliver_maildir(&cfg, "u@extmail.org", root, NULL, "a@example.net", msg,
			sizeof msg - 1, &r);
	test_assert(r.status == DELIVER_OK && r.pending != NULL);
	deliver_drop(&r);
	test_assert(r.pending == NULL);
	test_assert(count_files(root, "tmp") == 0);
	test_assert(count_files(root, "new") == 1);
	cfg.group_sync = false;
	deliver_maildir(&cfg, "u@extmail.org", root, NULL, "a@example.net", msg,
			sizeof msg - 1, &r);
	test_assert(r.status == DELIVER_OK && !r.unsynced && r.pending == NULL);
	test_assert(count_files(root, "new") == 2);
}

static void *committer(void *arg)
{
	int *fails = arg;
	for (int i = 0; i < ROUNDS; i++)
		if (syncgroup_wait() < 0)
			(*fails)++;
	return NULL;
}

/* One process of the sharing test: THREADS committers, as the SMTP
   server's (no members, no delay).  Exit status: requests that failed. */
static int share_proc(void)
{
	if (syncgroup_init(dir) < 0)
		return 100;
	pthread_t t[THREADS];
	int fails[THREADS] = {0}, n = 0;
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, committer, &fails[i]) != 0)
			return 101;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		n += fails[i];
	}
	unsigned long long f, r;
	syncgroup_stats(&f, &r);
	return r == THREADS * ROUNDS ? n : 102;
}

/* Runs share_proc() in three processes sharing one group, forked from a
   child so that this process's group stays unset, unshared; the child's
   exit status: the processes that failed, plus 50 when two of their
   syncfs calls ran at once and overlaps count. */
static int shared_processes(bool overlaps_fail)
{
	pid_t c = fork();
	if (c == 0) {
		if (syncgroup_share(dir) < 0)
			_exit(110);
		pid_t k[3];
		for (int i = 0; i < 3; i++)
			if ((k[i] = fork()) == 0)
				_exit(share_proc());
		int bad = 0;
		for (int i = 0; i < 3; i++) {
			int st = -1;
			if (k[i] < 0 || waitpid(k[i], &st, 0) != k[i] ||
			    !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "  process %d: status %d\n", i,
					st);
				bad++;
			}
		}
		unsigned long long o = syncgroup_overlaps();
		if (o > 0)
			fprintf(stderr, "  %llu overlapping flushes\n", o);
		_exit(bad + (overlaps_fail && o > 0 ? 50 : 0));
	}
	int st = -1;
	if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void test_processes_share(void)
{
	test_begin("syncgroup shared by processes");
	test_assert(shared_processes(false) == 0);
}

/* The same load: never two syncfs at once across the processes (each
   waits for the one running, then takes or leads the next).  Without the
   processes' flush lock their leaders overlap within a few rounds. */
static void test_processes_serialised(void)
{
	test_begin("syncgroup processes flush one at a time");
	test_assert(shared_processes(true) == 0);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* first: its processes are forked before this one sets its group */
	test_processes_share();
	test_processes_serialised();
	test_unset_and_set();
	test_members_share();
	test_async();
	test_deliver_unsynced();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return test_end();
}
