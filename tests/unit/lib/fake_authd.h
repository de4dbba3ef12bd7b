/*
 * A fake youju-authd for lib/authc's unit tests (test_authc_keepalive,
 * test_authc_async): run in a forked process, it accepts on a listening
 * Unix socket and hands each connection's bytes to the test's answer
 * function, which writes the replies and says whether the connection goes
 * on.  Header-only, as lib/test.h.
 */
#ifndef TEST_FAKE_AUTHD_H
#define TEST_FAKE_AUTHD_H

#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#define FAKE_AUTHD_MAXC 32

struct fake_conn {
	int fd;
	int id, nreq; /* the connection's number (from 1), its requests */
	char in[4096];
	size_t len;
	bool close_next; /* for the test's use; starts true */
	bool drop_next;	 /* for the test's use; starts false */
};

/* Answers the complete requests in c->in (and consumes them); false when
   c is finished (it is closed). */
typedef bool fake_answer_fn(struct fake_conn *c, void *arg);

/* Serves lfd until killed. */
static inline __attribute__((noreturn)) void
fake_serve(int lfd, fake_answer_fn *answer, void *arg)
{
	struct fake_conn c[FAKE_AUTHD_MAXC];
	int nc = 0, ids = 0;
	for (;;) {
		struct pollfd p[FAKE_AUTHD_MAXC + 1];
		p[0] = (struct pollfd){lfd, POLLIN, 0};
		for (int i = 0; i < nc; i++)
			p[i + 1] = (struct pollfd){c[i].fd, POLLIN, 0};
		if (poll(p, (nfds_t)nc + 1, -1) < 0)
			_exit(1);
		for (int i = nc - 1; i >= 0; i--) {
			if (p[i + 1].revents == 0)
				continue;
			ssize_t n = read(c[i].fd, c[i].in + c[i].len,
					 sizeof(c[i].in) - c[i].len);
			if (n > 0)
				c[i].len += (size_t)n;
			if (n <= 0 || !answer(&c[i], arg)) {
				close(c[i].fd);
				c[i] = c[--nc];
			}
		}
		if ((p[0].revents & POLLIN) && nc < FAKE_AUTHD_MAXC) {
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				_exit(1);
			c[nc++] = (struct fake_conn){
			    .fd = fd, .id = ++ids, .close_next = true};
		}
	}
}

#endif
