/* Unit tests for lib/authc_async (youju-authd LOOKUPs on an event loop)
   against forked fake youju-authd servers.  A fake answers each LOOKUP with
   the address asked, its own tag, the number of the connection and of the
   request on it; "no@b" gets FAIL, "mute@b" nothing, "temp@b" a close
   without a reply (authd's temporary failure), "slow@b" its reply in two
   pieces, "big@b" a reply over one read, "close@b" its reply and then a
   close (an idle timeout), and after "dropnext@b" the next request on that
   connection is closed unanswered (a kept connection the server dropped
   under the client). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authc_async.h"
#include "ev.h"
#include "fake_authd.h"
#include "test.h"

static bool fake_write(int fd, const char *p, size_t n)
{
	return write(fd, p, n) == (ssize_t)n;
}

/* Answers every complete request of c; false when c is finished. */
static bool fake_answer(struct fake_conn *c, void *arg)
{
	char tag = *(const char *)arg;
	char *lf;
	while ((lf = memchr(c->in, '\n', c->len)) != NULL) {
		size_t ll = (size_t)(lf - c->in) + 1;
		char line[600];
		snprintf(line, sizeof(line), "%.*s", (int)(ll - 1), c->in);
		memmove(c->in, c->in + ll, c->len - ll);
		c->len -= ll;
		if (strchr(line, ' ') == NULL)
			continue; /* KEEPALIVE=1 */
		if (c->drop_next)
			return false;
		c->nreq++;
		const char *addr = strrchr(line, ' ') + 1;
		if (strcmp(addr, "mute@b") == 0)
			continue;
		if (strcmp(addr, "temp@b") == 0)
			return false;
		if (strcmp(addr, "no@b") == 0) {
			if (!fake_write(c->fd, "FAIL\n", 5))
				return false;
			continue;
		}
		static char out[12000];
		int n = snprintf(out, sizeof(out),
				 "ADDRESS=%s\nSRV=%c\nCONN=%d\nREQ=%d\n", addr,
				 tag, c->id, c->nreq);
		if (strcmp(addr, "big@b") == 0) {
			memcpy(out + n, "PAD=", 4);
			n += 4;
			memset(out + n, 'x', 9000);
			n += 9000;
			out[n++] = '\n';
		}
		memcpy(out + n, ".\n", 2);
		n += 2;
		size_t half =
		    strcmp(addr, "slow@b") == 0 ? (size_t)n / 2 : (size_t)n;
		if (!fake_write(c->fd, out, half))
			return false;
		if (half < (size_t)n) {
			usleep(100 * 1000);
			if (!fake_write(c->fd, out + half, (size_t)n - half))
				return false;
		}
		if (strcmp(addr, "close@b") == 0)
			return false;
		if (strcmp(addr, "dropnext@b") == 0)
			c->drop_next = true;
	}
	return true;
}

/* A fake server on path, tagged; its pid. */
static pid_t fake_start(const char *path, char tag)
{
	unlink(path);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 64) < 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0)
		fake_serve(lfd, fake_answer, &tag);
	close(lfd);
	return pid;
}

static void fake_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- results ---- */

struct res {
	int done; /* times the callback ran */
	enum authc_status st;
	char addr[64];
	char srv;
	int conn, req;
	size_t pad;
};

static struct ev_loop *loop;
static int outstanding;
static struct res *order[64]; /* the order callbacks ran in */
static int norder;

static int num(const char *s)
{
	return s != NULL ? (int)strtol(s, NULL, 10) : -1;
}

static void on_result(void *ctx, enum authc_status st,
		      const struct authc_reply *reply)
{
	struct res *r = ctx;
	r->done++;
	r->st = st;
	const char *a = authc_get(reply, "ADDRESS");
	const char *srv = authc_get(reply, "SRV");
	const char *pad = authc_get(reply, "PAD");
	snprintf(r->addr, sizeof(r->addr), "%s", a != NULL ? a : "");
	r->srv = srv != NULL ? srv[0] : '?';
	r->conn = num(authc_get(reply, "CONN"));
	r->req = num(authc_get(reply, "REQ"));
	r->pad = pad != NULL ? strlen(pad) : 0;
	if (norder < 64)
		order[norder++] = r;
	if (--outstanding == 0)
		ev_loop_stop(loop);
}

static void on_guard(struct ev_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	ev_loop_stop(loop);
}

/* Runs the loop until every outstanding callback ran (or 5 s passed). */
static void run(void)
{
	struct ev_timer *guard = ev_timer_new(loop, 5000, on_guard, NULL);
	if (outstanding > 0)
		(void)ev_loop_run(loop);
	ev_timer_free(&guard);
}

/* Runs the loop for ms milliseconds. */
static void idle(unsigned ms)
{
	struct ev_timer *guard = ev_timer_new(loop, ms, on_guard, NULL);
	(void)ev_loop_run(loop);
	ev_timer_free(&guard);
}

/* The first result, then a second lookup from inside the callback. */
static struct authc_async *chain_a;
static struct res chain_second;

static void on_chain(void *ctx, enum authc_status st,
		     const struct authc_reply *reply)
{
	struct res *r = ctx;
	r->done++;
	r->st = st;
	(void)reply;
	memset(&chain_second, 0, sizeof(chain_second));
	if (authc_async_lookup(chain_a, "domain", "b", on_result,
			       &chain_second) == NULL)
		outstanding--;
	if (outstanding == 0)
		ev_loop_stop(loop);
}

static struct authc_async_req *ask(struct authc_async *a, const char *addr,
				   struct res *r)
{
	memset(r, 0, sizeof(*r));
	struct authc_async_req *q =
	    authc_async_lookup(a, "rcpt", addr, on_result, r);
	if (q != NULL)
		outstanding++;
	return q;
}

int main(void)
{
	char path[108], moved[120];
	snprintf(path, sizeof(path), "/tmp/test-authc-async-%d.sock",
		 (int)getpid());
	snprintf(moved, sizeof(moved), "%s.old", path);
	signal(SIGPIPE, SIG_IGN);
	pid_t fa = fake_start(path, 'A');
	loop = ev_loop_new();
	struct authc_async *a = authc_async_new(loop, path, 3, 64, 2000);
	struct res r[40];

	test_begin("found, not found, never inside the call");
	ask(a, "a@b", &r[0]);
	ask(a, "no@b", &r[1]);
	ask(a, "bad addr", &r[2]); /* not a word: NOTFOUND without asking */
	ask(a, "", &r[3]);
	test_assert(r[0].done == 0 && r[1].done == 0 && r[2].done == 0 &&
		    r[3].done == 0);
	test_assert(authc_async_pending(a) == 4);
	run();
	test_assert(r[0].done == 1 && r[0].st == AUTHC_OK &&
		    strcmp(r[0].addr, "a@b") == 0 && r[0].srv == 'A');
	test_assert(r[1].done == 1 && r[1].st == AUTHC_NOTFOUND);
	test_assert(r[2].done == 1 && r[2].st == AUTHC_NOTFOUND);
	test_assert(r[3].done == 1 && r[3].st == AUTHC_NOTFOUND);
	test_assert(authc_async_pending(a) == 0);

	test_begin("one kept connection for lookups in turn");
	ask(a, "c1@b", &r[0]);
	run();
	ask(a, "c2@b", &r[1]);
	run();
	test_assert(r[0].st == AUTHC_OK && r[1].st == AUTHC_OK);
	test_assert(r[0].conn == r[1].conn && r[1].req == r[0].req + 1);

	test_begin("many at once: at most max_conns, each its own reply");
	norder = 0;
	for (int i = 0; i < 30; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "m%d@b", i);
		ask(a, addr, &r[i]);
	}
	test_assert(authc_async_conns(a) <= 3);
	run();
	bool all = true;
	for (int i = 0; i < 30; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "m%d@b", i);
		all &= r[i].done == 1 && r[i].st == AUTHC_OK &&
		       strcmp(r[i].addr, addr) == 0;
	}
	test_assert(all);
	test_assert(authc_async_conns(a) == 3);
	test_assert(norder == 30);

	test_begin("a reply in pieces, a reply over one read");
	ask(a, "slow@b", &r[0]);
	ask(a, "big@b", &r[1]);
	run();
	test_assert(r[0].st == AUTHC_OK && strcmp(r[0].addr, "slow@b") == 0);
	test_assert(r[1].st == AUTHC_OK && r[1].pad == 9000);

	test_begin("a kept connection dropped under a request: asked again");
	authc_async_free(&a);
	a = authc_async_new(loop, path, 1, 64, 2000);
	ask(a, "dropnext@b", &r[0]);
	run();
	ask(a, "after@b", &r[1]);
	run();
	test_assert(r[0].st == AUTHC_OK && r[1].st == AUTHC_OK);
	test_assert(r[1].conn > r[0].conn && r[1].req == 1);

	test_begin("closed by the server while idle: a new one");
	ask(a, "close@b", &r[0]);
	run();
	idle(50);
	test_assert(authc_async_conns(a) == 0);
	ask(a, "next@b", &r[1]);
	run();
	test_assert(r[1].st == AUTHC_OK && r[1].conn > r[0].conn);

	test_begin("closed without a reply: a temporary failure");
	ask(a, "temp@b", &r[0]); /* on the kept one, then on a new one */
	ask(a, "ok@b", &r[1]);
	run();
	test_assert(r[0].st == AUTHC_TEMPFAIL && r[1].st == AUTHC_OK);

	test_begin("no reply within the deadline: a temporary failure");
	authc_async_free(&a);
	a = authc_async_new(loop, path, 1, 64, 300);
	ask(a, "mute@b", &r[0]);
	ask(a, "waits@b", &r[1]); /* waits behind it: its deadline too */
	ask(a, "x@b", &r[2]);
	run();
	test_assert(r[0].st == AUTHC_TEMPFAIL && r[1].st == AUTHC_TEMPFAIL &&
		    r[2].st == AUTHC_TEMPFAIL);
	ask(a, "back@b", &r[3]);
	run();
	test_assert(r[3].st == AUTHC_OK);

	test_begin("the wait queue is bounded");
	authc_async_free(&a);
	a = authc_async_new(loop, path, 1, 2, 2000);
	test_assert(ask(a, "q1@b", &r[0]) != NULL);
	test_assert(ask(a, "q2@b", &r[1]) != NULL);
	test_assert(ask(a, "q3@b", &r[2]) != NULL);
	test_assert(ask(a, "q4@b", &r[3]) == NULL);
	run();
	test_assert(r[0].st == AUTHC_OK && r[1].st == AUTHC_OK &&
		    r[2].st == AUTHC_OK && r[3].done == 0);

	test_begin("cancel: waiting, in flight, finished");
	struct authc_async_req *q0 = ask(a, "mute@b", &r[0]);
	struct authc_async_req *q1 = ask(a, "w@b", &r[1]);
	struct authc_async_req *q2 = ask(a, "bad addr", &r[2]);
	authc_async_cancel(&q1);
	authc_async_cancel(&q2);
	authc_async_cancel(&q0);
	test_assert(q0 == NULL && q1 == NULL && q2 == NULL);
	outstanding = 0;
	test_assert(authc_async_pending(a) == 0);
	idle(100);
	test_assert(r[0].done == 0 && r[1].done == 0 && r[2].done == 0);
	authc_async_free(&a);
	a = authc_async_new(loop, path, 2, 64, 2000);
	q0 = ask(a, "slow@b", &r[0]);
	ask(a, "s2@b", &r[1]);
	authc_async_cancel(&q0); /* its reply is read and dropped */
	outstanding--;
	run();
	test_assert(r[0].done == 0 && r[1].st == AUTHC_OK);
	idle(200);
	ask(a, "s3@b", &r[2]);
	ask(a, "s4@b", &r[3]);
	run();
	test_assert(r[2].st == AUTHC_OK && r[3].st == AUTHC_OK);
	test_assert(authc_async_conns(a) == 2);

	test_begin("a new server on the path: the kept connection goes");
	ask(a, "old@b", &r[0]);
	run();
	test_assert(r[0].srv == 'A');
	rename(path, moved);
	pid_t fb = fake_start(path, 'B');
	ask(a, "new@b", &r[1]);
	run();
	test_assert(r[1].st == AUTHC_OK && r[1].srv == 'B');

	test_begin("no socket: a temporary failure");
	fake_stop(fb);
	unlink(path);
	ask(a, "gone@b", &r[0]);
	test_assert(r[0].done == 0);
	run();
	test_assert(r[0].st == AUTHC_TEMPFAIL);
	rename(moved, path);
	ask(a, "again@b", &r[1]);
	run();
	test_assert(r[1].st == AUTHC_OK && r[1].srv == 'A');

	test_begin("a callback may ask again (LOOKUP rcpt, then domain)");
	chain_a = a;
	memset(&r[0], 0, sizeof(r[0]));
	test_assert(authc_async_lookup(a, "rcpt", "no@b", on_chain, &r[0]) !=
		    NULL);
	outstanding = 1;
	run();
	test_assert(r[0].done == 1 && r[0].st == AUTHC_NOTFOUND);
	test_assert(chain_second.done == 1 && chain_second.st == AUTHC_OK &&
		    strcmp(chain_second.addr, "b") == 0);

	test_begin("freed with requests pending: no callback");
	ask(a, "mute@b", &r[0]);
	ask(a, "bad addr", &r[1]);
	outstanding = 0;
	authc_async_free(&a);
	test_assert(a == NULL && r[0].done == 0 && r[1].done == 0);
	idle(20);
	test_assert(r[1].done == 0);

	fake_stop(fa);
	unlink(path);
	unlink(moved);
	ev_loop_free(&loop);
	return test_end();
}
