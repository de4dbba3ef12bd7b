/*
 * Unit tests for lib/ev: fd watchers on pipes, timer order and re-arming,
 * signals through signalfd, and watchers freed from inside callbacks (ASan
 * catches a use after free).
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"
#include "test.h"

struct io_state {
	struct ev_loop *loop;
	int calls;
	char got[16];
	size_t got_len;
	struct ev_io *self;
	struct ev_io *other;
};

static void on_read(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct io_state *st = ctx;

	st->calls++;
	test_assert(events == EV_READ);
	ssize_t n =
	    read(fd, st->got + st->got_len, sizeof st->got - st->got_len);
	if (n > 0)
		st->got_len += (size_t)n;
	ev_loop_stop(st->loop);
}

static void on_stop_timer(struct ev_timer *t, void *ctx)
{
	ev_loop_stop(ctx);
}

static void test_io_pipe(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct io_state st = {.loop = loop};
	int p[2];

	test_begin("io pipe");
	test_assert(loop != NULL);
	test_assert(pipe(p) == 0);
	struct ev_io *io = ev_io_new(loop, p[0], EV_READ, on_read, &st);
	test_assert(io != NULL);
	struct ev_timer *guard = ev_timer_new(loop, 2000, on_stop_timer, loop);
	test_assert(write(p[1], "hello", 5) == 5);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(st.calls == 1);
	test_assert(st.got_len == 5 && memcmp(st.got, "hello", 5) == 0);

	/* paused watcher: data waits, the loop ends on the timer */
	ev_io_set(io, 0);
	test_assert(write(p[1], "x", 1) == 1);
	ev_timer_set(guard, 20);
	uint64_t t0 = ev_now_ms(loop);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(st.calls == 1);
	test_assert(ev_now_ms(loop) >= t0 + 20);

	/* resumed */
	ev_io_set(io, EV_READ);
	ev_timer_set(guard, 2000);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(st.calls == 2);

	/* the write side of a pipe is writable */
	struct ev_io *wio = ev_io_new(loop, p[1], EV_WRITE, on_read, &st);
	test_assert(wio != NULL);
	/* a second watcher on the same fd is refused */
	test_assert(ev_io_new(loop, p[0], EV_READ, on_read, &st) == NULL);
	ev_io_free(&wio);
	test_assert(wio == NULL);
	ev_io_free(&io);
	test_assert(io == NULL);
	ev_io_free(&io); /* idempotent on NULL */
	ev_timer_free(&guard);
	close(p[0]);
	close(p[1]);
	ev_loop_free(&loop);
	test_assert(loop == NULL);
}

struct order_state {
	struct ev_loop *loop;
	int order[8];
	int n;
	struct ev_timer *t[8];
	int rearm_left;
};

static void on_order(struct ev_timer *t, void *ctx)
{
	struct order_state *st = ctx;

	for (int i = 0; i < 8; i++) {
		if (st->t[i] == t && st->n < 8)
			st->order[st->n++] = i;
	}
	if (st->n == 4)
		ev_loop_stop(st->loop);
}

static void test_timer_order(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct order_state st = {.loop = loop};
	static const uint64_t delays[4] = {30, 10, 20, 0};

	test_begin("timer order");
	for (int i = 0; i < 4; i++)
		st.t[i] = ev_timer_new(loop, delays[i], on_order, &st);
	uint64_t t0 = ev_now_ms(loop);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(st.n == 4);
	test_assert(st.order[0] == 3 && st.order[1] == 1 && st.order[2] == 2 &&
		    st.order[3] == 0);
	test_assert(ev_now_ms(loop) >= t0 + 30);
	for (int i = 0; i < 4; i++)
		ev_timer_free(&st.t[i]);

	/* re-arming moves a timer: 50 -> 5 fires before the one at 20 */
	st.n = 0;
	st.t[0] = ev_timer_new(loop, 50, on_order, &st);
	st.t[1] = ev_timer_new(loop, 20, on_order, &st);
	st.t[2] = ev_timer_new(loop, 30, on_order, &st);
	st.t[3] = ev_timer_new(loop, 40, on_order, &st);
	ev_timer_set(st.t[0], 5);
	ev_timer_set(st.t[2], 60);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(st.n == 4);
	test_assert(st.order[0] == 0 && st.order[1] == 1 && st.order[2] == 3 &&
		    st.order[3] == 2);
	/* timers left armed are released by ev_loop_free */
	ev_loop_free(&loop);
}

static void on_rearm(struct ev_timer *t, void *ctx)
{
	struct order_state *st = ctx;

	st->n++;
	if (--st->rearm_left > 0)
		ev_timer_set(t, 0);
	else
		ev_loop_stop(st->loop);
}

/* A timer re-armed with 0 ms inside its callback must not starve fds. */
static void test_timer_rearm(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct order_state st = {.loop = loop, .rearm_left = 5};
	struct io_state io_st = {.loop = NULL};
	int p[2];

	test_begin("timer rearm");
	test_assert(pipe(p) == 0);
	test_assert(write(p[1], "a", 1) == 1);
	struct ev_io *io = ev_io_new(loop, p[0], EV_READ, on_read, &io_st);
	io_st.loop = ev_loop_new(); /* on_read stops a loop we don't run */
	struct ev_timer *t = ev_timer_new(loop, 0, on_rearm, &st);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(st.n == 5);
	test_assert(io_st.calls >= 1);
	ev_timer_free(&t);
	ev_io_free(&io);
	ev_loop_free(&io_st.loop);
	ev_loop_free(&loop);
	close(p[0]);
	close(p[1]);
}

static int sig_seen;

static void on_signal(int signo, void *ctx)
{
	sig_seen = signo;
	ev_loop_stop(ctx);
}

static void on_raise(struct ev_timer *t, void *ctx)
{
	test_assert(raise(SIGUSR1) == 0);
}

static void test_signal(void)
{
	struct ev_loop *loop = ev_loop_new();

	test_begin("signal");
	test_assert(ev_signal(loop, SIGUSR1, on_signal, loop) == 0);
	test_assert(ev_signal(loop, 0, on_signal, loop) == -1);
	test_assert(ev_signal(loop, 999, on_signal, loop) == -1);
	struct ev_timer *t = ev_timer_new(loop, 1, on_raise, NULL);
	struct ev_timer *guard = ev_timer_new(loop, 2000, on_stop_timer, loop);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(sig_seen == SIGUSR1);
	/* a second signal handled too */
	sig_seen = 0;
	ev_timer_set(t, 1);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(sig_seen == SIGUSR1);
	ev_timer_free(&t);
	ev_timer_free(&guard);
	ev_loop_free(&loop);
	/* unblocked again after free */
	sigset_t cur;
	test_assert(sigprocmask(SIG_BLOCK, NULL, &cur) == 0);
	test_assert(!sigismember(&cur, SIGUSR1));
}

struct free_state {
	struct ev_loop *loop;
	struct ev_io *a, *b;
	struct ev_timer *ta, *tb;
	int io_calls;
	int timer_calls;
};

/* Whichever pipe fires first frees both watchers. */
static void on_free_both(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct free_state *st = ctx;

	st->io_calls++;
	test_assert(io == st->a || io == st->b);
	ev_io_free(&st->a);
	ev_io_free(&st->b);
}

/* Frees itself and the other due timer. */
static void on_timer_free_both(struct ev_timer *t, void *ctx)
{
	struct free_state *st = ctx;

	st->timer_calls++;
	ev_timer_free(&st->ta);
	ev_timer_free(&st->tb);
}

static void test_free_in_callback(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct free_state st = {.loop = loop};
	int p1[2], p2[2];

	test_begin("free in callback");
	test_assert(pipe(p1) == 0 && pipe(p2) == 0);
	test_assert(write(p1[1], "1", 1) == 1 && write(p2[1], "2", 1) == 1);
	st.a = ev_io_new(loop, p1[0], EV_READ, on_free_both, &st);
	st.b = ev_io_new(loop, p2[0], EV_READ, on_free_both, &st);
	st.ta = ev_timer_new(loop, 5, on_timer_free_both, &st);
	st.tb = ev_timer_new(loop, 5, on_timer_free_both, &st);
	struct ev_timer *stop = ev_timer_new(loop, 30, on_stop_timer, loop);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(st.io_calls == 1);
	test_assert(st.timer_calls == 1);
	test_assert(st.a == NULL && st.b == NULL);
	test_assert(st.ta == NULL && st.tb == NULL);
	ev_timer_free(&stop);
	ev_loop_free(&loop);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}

/* Freeing a watcher and closing its fd, then watching a new fd that reuses
   the number, in the same batch. */
struct reuse_state {
	struct ev_loop *loop;
	struct ev_io *a, *b;
	int fd_a;
	int new_pipe[2];
	struct ev_io *c;
	int calls;
};

static void on_reuse_c(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct reuse_state *st = ctx;

	st->calls += 100;
	ev_loop_stop(st->loop);
}

static void on_reuse(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct reuse_state *st = ctx;

	st->calls++;
	ev_io_free(&st->a);
	ev_io_free(&st->b);
	close(st->fd_a);
	if (pipe(st->new_pipe) == 0) {
		st->c = ev_io_new(st->loop, st->new_pipe[1], EV_WRITE,
				  on_reuse_c, st);
	}
}

static void test_fd_reuse(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct reuse_state st = {.loop = loop};
	int p1[2], p2[2];

	test_begin("fd reuse");
	test_assert(pipe(p1) == 0 && pipe(p2) == 0);
	test_assert(write(p1[1], "1", 1) == 1 && write(p2[1], "2", 1) == 1);
	st.fd_a = p1[0];
	st.a = ev_io_new(loop, p1[0], EV_READ, on_reuse, &st);
	st.b = ev_io_new(loop, p2[0], EV_READ, on_reuse, &st);
	struct ev_timer *guard = ev_timer_new(loop, 2000, on_stop_timer, loop);
	test_assert(ev_loop_run(loop) == 0);
	test_assert(st.calls == 101);
	test_assert(st.c != NULL);
	ev_io_free(&st.c);
	ev_timer_free(&guard);
	ev_loop_free(&loop);
	close(st.new_pipe[0]);
	close(st.new_pipe[1]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}

int main(void)
{
	test_io_pipe();
	test_timer_order();
	test_timer_rearm();
	test_signal();
	test_free_in_callback();
	test_fd_reuse();
	return test_end();
}
