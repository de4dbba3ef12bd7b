/* Unit tests for lib/authc's kept-alive connections (authc_set_keepalive)
   against a forked fake youju-authd: it answers every request with the
   number of its connection and of the request on it, keeps a connection
   open only after a KEEPALIVE=1 request, and closes after a lookup of
   "close@b" as an idle timeout would; "slow@b" gets its reply in two
   pieces, "mute@b" none. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authc.h"
#include "fake_authd.h"
#include "test.h"

/* Answers every complete request in c; false when c is finished. */
static bool fake_answer(struct fake_conn *c, void *arg)
{
	(void)arg;
	char *lf;
	while ((lf = memchr(c->in, '\n', c->len)) != NULL) {
		size_t ll = (size_t)(lf - c->in) + 1;
		bool meta = memchr(c->in, '=', ll) != NULL &&
			    memchr(c->in, ' ', ll) == NULL;
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)ll, c->in);
		memmove(c->in, c->in + ll, c->len - ll);
		c->len -= ll;
		if (meta) {
			if (strcmp(line, "KEEPALIVE=1\n") == 0)
				c->close_next = false;
			continue;
		}
		char out[256];
		int n = snprintf(out, sizeof(out), "CONN=%d\nREQ=%d\n.\n",
				 c->id, ++c->nreq);
		if (strstr(line, "mute@b") != NULL)
			continue;
		int half = strstr(line, "slow@b") != NULL ? n / 2 : n;
		if (write(c->fd, out, (size_t)half) != half)
			return false;
		if (half < n) {
			usleep(100 * 1000);
			if (write(c->fd, out + half, (size_t)(n - half)) !=
			    n - half)
				return false;
		}
		bool keep = !c->close_next && strstr(line, "close@b") == NULL;
		c->close_next = true;
		if (!keep)
			return false;
	}
	return true;
}

static int num(const char *s)
{
	if (s == NULL)
		return -1;
	char *end;
	long v = strtol(s, &end, 10);
	return *end == '\0' && v > 0 && v < 1000 ? (int)v : -1;
}

/* CONN and REQ of one lookup; -1 each on failure */
static void ask(const char *path, const char *addr, int *conn, int *req)
{
	struct authc_reply r;
	*conn = *req = -1;
	if (authc_lookup_rcpt(path, addr, &r) == AUTHC_OK) {
		*conn = num(authc_get(&r, "CONN"));
		*req = num(authc_get(&r, "REQ"));
	}
	authc_reply_free(&r);
}

static const char *sock_path;
static int thread_conn;

static void *thread_main(void *arg)
{
	int req;
	(void)arg;
	ask(sock_path, "t@b", &thread_conn, &req);
	return NULL;
}

int main(void)
{
	char path[108];
	snprintf(path, sizeof(path), "/tmp/test-authc-ka-%d.sock",
		 (int)getpid());
	sock_path = path;
	unlink(path);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 8) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0)
		fake_serve(lfd, fake_answer, NULL);
	close(lfd);
	authc_set_timeout(5000);

	int c1, c2, r1, r2;
	test_begin("off: a connection per request");
	ask(path, "a@b", &c1, &r1);
	ask(path, "a@b", &c2, &r2);
	test_assert(c1 > 0 && c2 > 0 && c1 != c2 && r1 == 1 && r2 == 1);

	test_begin("on: one connection for the lookups");
	authc_set_keepalive(true);
	ask(path, "a@b", &c1, &r1);
	ask(path, "b@b", &c2, &r2);
	test_assert(c1 > 0 && c2 == c1 && r1 == 1 && r2 == 2);
	char v[64];
	test_assert(authc_map_lookup(path, "/etc/t.cf", "k", v, sizeof(v)) ==
		    AUTHC_TEMPFAIL); /* no VALUE in the fake reply... */
	ask(path, "c@b", &c2, &r2);
	test_assert(c2 == c1 && r2 == 4); /* ...but on the same connection */

	test_begin("on: AUTH and PRE still one per connection");
	struct authc_reply r;
	test_assert(authc_pre(path, "imap", "a@b", &r) == AUTHC_OK);
	test_assert(strcmp(authc_get(&r, "REQ"), "1") == 0);
	test_assert(num(authc_get(&r, "CONN")) != c1);
	authc_reply_free(&r);
	ask(path, "c@b", &c2, &r2);
	test_assert(c2 == c1 && r2 == 5);

	test_begin("server closed the kept connection: a new one");
	ask(path, "close@b", &c2, &r2);
	test_assert(c2 == c1 && r2 == 6);
	ask(path, "d@b", &c2, &r2);
	test_assert(c2 > c1 && r2 == 1);
	c1 = c2;

	test_begin("a forked child opens its own");
	pid_t ch = fork();
	if (ch == 0) {
		ask(path, "e@b", &c2, &r2);
		_exit(c2 > c1 && r2 == 1 ? 0 : 1);
	}
	int status = -1;
	waitpid(ch, &status, 0);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ask(path, "f@b", &c2, &r2);
	test_assert(c2 == c1 && r2 == 2);

	test_begin("a thread has its own");
	pthread_t th;
	test_assert(pthread_create(&th, NULL, thread_main, NULL) == 0);
	pthread_join(th, NULL);
	test_assert(thread_conn > c1);
	ask(path, "g@b", &c2, &r2);
	test_assert(c2 == c1 && r2 == 3);

	test_begin("socket taken away: the kept connection is not used");
	char away[120];
	snprintf(away, sizeof(away), "%s.away", path);
	test_assert(rename(path, away) == 0);
	ask(path, "h@b", &c2, &r2);
	test_assert(c2 == -1);
	test_assert(rename(away, path) == 0);
	ask(path, "i@b", &c2, &r2);
	test_assert(c2 == c1 && r2 == 4);

	test_begin("a reply in pieces on a kept connection");
	ask(path, "slow@b", &c2, &r2);
	test_assert(c2 == c1 && r2 == 5);
	ask(path, "j@b", &c2, &r2);
	test_assert(c2 == c1 && r2 == 6);

	test_begin("a kept connection without an answer: temporary failure");
	/* a shorter timeout: the kept connection (its socket timeouts set
	   for 5 s) is not reused, the new one waits 300 ms */
	authc_set_timeout(300);
	struct authc_reply mr;
	test_assert(authc_lookup_rcpt(path, "mute@b", &mr) == AUTHC_TEMPFAIL);
	authc_reply_free(&mr);
	authc_set_timeout(5000);
	ask(path, "k@b", &c2, &r2);
	test_assert(c2 > c1 && r2 == 1);

	test_begin("no server");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(path);
	ask(path, "h@b", &c2, &r2);
	test_assert(c2 == -1);
	return test_end();
}
