/*
 * Unit tests for lib/submit against a small SMTP server on a real Unix
 * socket (a thread here): a refused recipient fails the transaction with
 * all_rcpts and not without; no recipient at all stops before DATA; the
 * end of data (".\r\n" after a final CRLF, "\r\n.\r\n" without one); the
 * queue ID; multi-line replies; a socket that is not there.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "submit.h"
#include "test.h"

struct server {
	int lfd;
	char seen[8192]; /* what the client sent */
	size_t len;
};

static bool has_line_end(const char *p, size_t len)
{
	return len >= 2 && p[len - 2] == '\r' && p[len - 1] == '\n';
}

/* Answers one session: RCPT TO:<bad...> gets 550, everything else the
   usual; the data ends at "\r\n.\r\n". */
static void *serve(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	const char *greet = "220-youju\r\n220 ready\r\n";
	(void)!write(fd, greet, strlen(greet));
	bool data = false;
	size_t start = 0;
	for (;;) {
		ssize_t r =
		    read(fd, s->seen + s->len, sizeof s->seen - 1 - s->len);
		if (r <= 0)
			break;
		s->len += (size_t)r;
		s->seen[s->len] = '\0';
		while (!data && has_line_end(s->seen, s->len) &&
		       start < s->len) {
			const char *c = s->seen + start;
			const char *rep = "250 ok\r\n";
			if (strncmp(c, "EHLO", 4) == 0)
				rep = "250-hi\r\n250 8BITMIME\r\n";
			else if (strncmp(c, "RCPT TO:<bad", 12) == 0)
				rep = "550 5.1.1 no such user\r\n";
			else if (strncmp(c, "DATA", 4) == 0) {
				rep = "354 go\r\n";
				data = true;
			} else if (strncmp(c, "QUIT", 4) == 0)
				rep = "221 bye\r\n";
			(void)!write(fd, rep, strlen(rep));
			start = s->len;
		}
		if (data && s->len >= 5 &&
		    memcmp(s->seen + s->len - 5, "\r\n.\r\n", 5) == 0) {
			const char *q = "250 2.0.0 Ok: queued as ABC123\r\n";
			(void)!write(fd, q, strlen(q));
			data = false;
			start = s->len;
		}
	}
	close(fd);
	return NULL;
}

static int run(const char *path, char *const *rcpts, size_t n, bool all,
	       const char *msg, struct submit_result *r, struct server *s)
{
	memset(s, 0, sizeof *s);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(s->lfd, 1) < 0)
		return -2;
	pthread_t t;
	pthread_create(&t, NULL, serve, s);
	int rc = submit_local(path, "test", "from@a.test", rcpts, n, all, msg,
			      strlen(msg), r);
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(s->lfd);
	unlink(path);
	return rc;
}

int main(void)
{
	char path[108];
	snprintf(path, sizeof path, "/tmp/youju-test-submit.%d", (int)getpid());
	struct submit_result r;
	struct server *s = malloc(sizeof *s);

	test_begin("submit: accepted");
	char *both[] = {"a@b.test", "bad@b.test"};
	char *good[] = {"a@b.test", "c@b.test"};
	test_assert(
	    run(path, good, 2, true, "Subject: x\r\n\r\nhi\r\n", &r, s) == 0);
	test_assert(r.accepted == 2 && strcmp(r.queue_id, "ABC123") == 0);
	test_assert(strcmp(r.reply, "250 2.0.0 Ok: queued as ABC123") == 0);
	test_assert(strstr(s->seen, "EHLO test\r\nMAIL FROM:<from@a.test>\r\n"
				    "RCPT TO:<a@b.test>\r\n") != NULL);
	test_assert(strstr(s->seen, "\r\nhi\r\n.\r\nQUIT\r\n") != NULL);

	test_begin("submit: no final CRLF");
	test_assert(run(path, good, 1, true, "Subject: x\r\n\r\nhi", &r, s) ==
		    0);
	test_assert(strstr(s->seen, "\r\nhi\r\n.\r\nQUIT\r\n") != NULL);

	test_begin("submit: a refused recipient");
	test_assert(run(path, both, 2, true, "x\r\n", &r, s) == -1);
	test_assert(strcmp(r.reply, "550 5.1.1 no such user") == 0);
	test_assert(strstr(s->seen, "DATA") == NULL);
	test_assert(run(path, both, 2, false, "x\r\n", &r, s) == 0);
	test_assert(r.accepted == 1 && strcmp(r.queue_id, "ABC123") == 0);
	test_assert(run(path, both + 1, 1, false, "x\r\n", &r, s) == -1);
	test_assert(r.accepted == 0 && strstr(s->seen, "DATA") == NULL);

	test_begin("submit: no socket");
	test_assert(submit_local(path, "test", "", good, 1, true, "x\r\n", 3,
				 &r) == -1);
	test_assert(strcmp(r.reply, "cannot connect to youju-mta") == 0);
	char longp[200];
	memset(longp, 'x', sizeof longp - 1);
	longp[sizeof longp - 1] = '\0';
	test_assert(submit_local(longp, "test", "", good, 1, true, "x\r\n", 3,
				 &r) == -1);
	free(s);
	return test_end();
}
