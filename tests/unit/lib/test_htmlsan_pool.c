/*
 * Unit tests for lib/htmlsan_pool: the sanitizer in helper processes (this
 * binary re-executed with HTMLSAN_WORKER_ARG).  The pool's output equals
 * the in-process sanitizer's (cid: table included) from many threads at
 * once; a killed worker is replaced; a worker over the time limit (a
 * 1 MiB document with a 1 ms budget, or a stopped process) is killed,
 * reaped, the call fails with HTMLSAN_FAILED and the next one succeeds.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "htmlsan.h"
#include "htmlsan_pool.h"
#include "test.h"

static const char doc[] =
    "<p onclick=x style='color:red;position:fixed'>hi <b>there"
    "<img src=cid:a1><img src='cid:nope'><img src=http://canary/x.png>"
    "<a href=javascript:alert(1)>j</a><script>alert(1)</script>";
static const char png[] = "data:image/png;base64,iVBORw0KGgo=";

static int cid_inproc(void *ctx, const char *cid, size_t len, struct buf *u)
{
	if (len == 2 && memcmp(cid, "a1", 2) == 0)
		return buf_append_str(u, png);
	return -1;
}

static const struct htmlsan_cid table[] = {
    {"a1", 2, png, sizeof png - 1},
    {"b2", 2, "data:image/gif;base64,R0lG", 26},
};

static void expected(struct buf *want, struct htmlsan_report *r)
{
	struct htmlsan_opts o = {.wrap = true, .cid_url = cid_inproc};
	buf_init(want, 1 << 20);
	test_assert(htmlsan_html(doc, strlen(doc), &o, want, r) == HTMLSAN_OK);
}

static struct htmlsan_pool *pool;
static char *want_s;

static void *hammer(void *arg)
{
	long bad = 0;
	for (int i = 0; i < 25; i++) {
		struct htmlsan_opts o = {.wrap = true};
		struct buf out;
		buf_init(&out, 1 << 20);
		struct htmlsan_report r;
		if (htmlsan_pool_html(pool, doc, strlen(doc), &o, table, 2,
				      &out, &r) != HTMLSAN_OK ||
		    strcmp(buf_cstr(&out), want_s) != 0)
			bad++;
		buf_deinit(&out);
	}
	return (void *)bad;
}

static bool alive(pid_t pid)
{
	return pid > 0 && kill(pid, 0) == 0;
}

static void test_same_output(void)
{
	test_begin("pool output equals in-process output, 4 threads");
	struct buf want;
	struct htmlsan_report wr = {0}, r;
	expected(&want, &wr);
	want_s = (char *)buf_cstr(&want);
	test_assert(strstr(want_s, png) != NULL);
	test_assert(strstr(want_s, "onclick") == NULL);
	struct htmlsan_opts o = {.wrap = true};
	struct buf out;
	buf_init(&out, 1 << 20);
	test_assert(htmlsan_pool_html(pool, doc, strlen(doc), &o, table, 2,
				      &out, &r) == HTMLSAN_OK);
	test_assert(strcmp(buf_cstr(&out), want_s) == 0);
	test_assert(r.remote_blocked == 1 && wr.remote_blocked == 1);
	test_assert(r.urls_dropped == wr.urls_dropped);
	buf_deinit(&out);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < 4; i++) {
		void *bad = NULL;
		pthread_join(t[i], &bad);
		test_assert(bad == NULL);
	}
	/* too big stays too big */
	size_t n = HTMLSAN_IN_MAX + 1;
	char *big = malloc(n);
	memset(big, 'a', n);
	buf_init(&out, 1 << 20);
	test_assert(htmlsan_pool_html(pool, big, n, &o, NULL, 0, &out, &r) ==
		    HTMLSAN_TOO_BIG);
	test_assert(out.len == 0);
	buf_deinit(&out);
	free(big);
	buf_deinit(&want);
}

static int run_one(struct htmlsan_pool *p, const char *in, size_t len)
{
	struct htmlsan_opts o = {.wrap = true};
	struct buf out;
	buf_init(&out, 8 << 20);
	struct htmlsan_report r;
	int rc = htmlsan_pool_html(p, in, len, &o, NULL, 0, &out, &r);
	if (rc == HTMLSAN_FAILED)
		test_assert(out.len == 0);
	buf_deinit(&out);
	return rc;
}

static void test_killed_worker(void)
{
	test_begin("a killed worker is replaced");
	pid_t old = htmlsan_pool_pid(pool, 0);
	test_assert(alive(old));
	test_assert(kill(old, SIGKILL) == 0);
	/* wait until it is dead, without reaping it (the pool does) */
	siginfo_t si;
	test_assert(waitid(P_PID, (id_t)old, &si, WEXITED | WNOWAIT) == 0);
	/* every worker gets a turn: the dead one must be replaced */
	for (int i = 0; i < 4; i++)
		test_assert(run_one(pool, doc, strlen(doc)) == HTMLSAN_OK);
	pid_t now = htmlsan_pool_pid(pool, 0);
	test_assert(alive(now) && now != old);
	test_assert(waitpid(old, NULL, WNOHANG) < 0 && errno == ECHILD);
}

static void test_timeouts(void)
{
	test_begin("over the time limit: killed, failed, replaced");
	/* a stopped worker never answers */
	struct htmlsan_pool_opts po = {.workers = 1, .timeout_ms = 300};
	const char *err = NULL;
	struct htmlsan_pool *p = htmlsan_pool_start(&po, &err);
	test_assert(p != NULL);
	if (p == NULL)
		return;
	pid_t old = htmlsan_pool_pid(p, 0);
	test_assert(kill(old, SIGSTOP) == 0);
	test_assert(run_one(p, doc, strlen(doc)) == HTMLSAN_FAILED);
	test_assert(htmlsan_pool_pid(p, 0) == -1);
	test_assert(waitpid(old, NULL, WNOHANG) < 0 && errno == ECHILD);
	test_assert(run_one(p, doc, strlen(doc)) == HTMLSAN_OK);
	test_assert(alive(htmlsan_pool_pid(p, 0)));
	htmlsan_pool_stop(&p);

	/* a document that needs more than its budget: 1 MiB, 1 ms */
	po.timeout_ms = 1;
	p = htmlsan_pool_start(&po, &err);
	test_assert(p != NULL);
	if (p == NULL)
		return;
	static const char unit[] = "<b>mail &amp; more text, and more text, "
				   "and more text, fine.</b>";
	size_t u = sizeof unit - 1, n = (HTMLSAN_IN_MAX - 64) / u * u;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i += u)
		memcpy(big + i, unit, u);
	old = htmlsan_pool_pid(p, 0);
	test_assert(run_one(p, big, n) == HTMLSAN_FAILED);
	test_assert(waitpid(old, NULL, WNOHANG) < 0 && errno == ECHILD);
	htmlsan_pool_stop(&p);
	/* the same document within a normal budget */
	test_assert(run_one(pool, big, n) == HTMLSAN_OK);
	free(big);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], HTMLSAN_WORKER_ARG) == 0)
		return htmlsan_pool_worker(HTMLSAN_WORKER_FD);
	struct htmlsan_pool_opts po = {.workers = 2, .timeout_ms = 20000};
	const char *err = NULL;
	pool = htmlsan_pool_start(&po, &err);
	test_assert(pool != NULL);
	if (pool == NULL) {
		fprintf(stderr, "pool: %s\n", err);
		return test_end();
	}
	test_same_output();
	test_killed_worker();
	test_timeouts();
	htmlsan_pool_stop(&pool);
	return test_end();
}
