/*
 * One event loop per process (epoll): fd callbacks with a typed context,
 * one-shot timers, and signals delivered as loop events through signalfd so
 * handlers run in normal context.  Sockets are non-blocking.  Callbacks may
 * add, change or remove any watcher, including their own.
 */
#ifndef YOUJU_EV_H
#define YOUJU_EV_H

#include <stdbool.h>
#include <stdint.h>

struct ev_loop;
struct ev_io;
struct ev_timer;

enum { EV_READ = 1, EV_WRITE = 2 };

typedef void ev_io_cb(struct ev_io *io, int fd, unsigned events, void *ctx);
typedef void ev_timer_cb(struct ev_timer *t, void *ctx);
typedef void ev_signal_cb(int signo, void *ctx);

struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop **loop);
/* Runs until ev_loop_stop(); returns 0, or -1 on an epoll failure. */
int ev_loop_run(struct ev_loop *loop);
void ev_loop_stop(struct ev_loop *loop);
/* Monotonic milliseconds, cached per loop iteration. */
uint64_t ev_now_ms(struct ev_loop *loop);

/* Watches fd for events (EV_READ|EV_WRITE, may be 0 = paused).  The fd stays
   the caller's to close, after ev_io_free. */
struct ev_io *ev_io_new(struct ev_loop *loop, int fd, unsigned events,
			ev_io_cb *cb, void *ctx);
void ev_io_set(struct ev_io *io, unsigned events);
void ev_io_free(struct ev_io **io);

/* A one-shot timer firing after ms; ev_timer_set re-arms it. */
struct ev_timer *ev_timer_new(struct ev_loop *loop, uint64_t ms,
			      ev_timer_cb *cb, void *ctx);
void ev_timer_set(struct ev_timer *t, uint64_t ms);
void ev_timer_free(struct ev_timer **t);

/* Blocks signo for the process and delivers it through the loop.  Returns
   0 or -1. */
int ev_signal(struct ev_loop *loop, int signo, ev_signal_cb *cb, void *ctx);

#endif
