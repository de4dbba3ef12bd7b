/*
 * The root master of a daemon that serves through child processes
 * (youju-authd, youju-mta, youju-mra): one copy of the rules they share.
 *
 * - Generations: a child belongs to the configuration it was forked on.
 *   A reload (SIGHUP) builds a new configuration, forks its children and
 *   waits until each reports ready (a byte on a pipe); only then are the
 *   old ones told (SIGUSR1) to stop accepting and to exit when their last
 *   session ends, and kept in the master's list of old processes.  If the
 *   new children do not start, the old ones carry on untouched.
 * - Restarts: a current child that dies is restarted, at once when it
 *   had run MASTER_RESTART_YOUNG_S, else after a delay doubling from 1 s
 *   to MASTER_RESTART_MAX_S.
 * - Signals: the master blocks SIGCHLD, SIGHUP, SIGTERM, SIGINT and
 *   SIGUSR1 before its first fork and takes them with sigtimedwait (it has
 *   no event loop); children inherit the mask, so a signal that arrives
 *   while a child starts waits for the child's own loop (ev_signal).
 *   SIGTERM/SIGINT: every child gets SIGTERM, and SIGKILL after the stop
 *   time.
 *
 * The master keeps its children in a struct master (the current
 * generation is the caller's array; its size may change at a reload);
 * master_run() is its whole loop.  The caller's callbacks start a child
 * and reload.
 */
#ifndef YOUJU_MASTER_H
#define YOUJU_MASTER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"

#define MASTER_RESTART_YOUNG_S 10
#define MASTER_RESTART_MAX_S   30

/* A child of the master. */
struct master_proc {
	pid_t pid; /* 0: not running */
	time_t started;
	unsigned fails;	     /* deaths in a row soon after the start */
	uint64_t restart_at; /* monotonic ms; 0: none scheduled */
	unsigned slot;	     /* the caller's (youju-mra: counters column) */
	char what[40];	     /* for the log: "worker 1", "smtpd process" */
};

struct master {
	const char *log_prefix; /* "authd: " or "" */
	/* the current generation (the caller's array) */
	struct master_proc *cur;
	size_t ncur;
	/* old generations finishing their sessions (the caller's array) */
	struct master_proc *old;
	size_t nold, old_max;
	/* an old process that must make room (old_max reached) is waited
	   for this long before SIGKILL; 0: SIGTERM only, not waited for */
	uint64_t old_stop_wait_ms;
	uint64_t stop_wait_ms; /* SIGTERM to SIGKILL at a stop */
	/* Starts the child cur[i] again (it died); its pid, or -1 after
	   logging why (tried again later). */
	pid_t (*restart)(size_t i);
	/* SIGHUP */
	void (*reload)(void);
	/* Optional: a process is gone for good (reaped, current or old). */
	void (*gone)(const struct master_proc *p);
};

uint64_t master_now_ms(void);

/* Blocks the master's signals (see above) and sets *wait_r to those
   master_run() takes (SIGUSR1, the children's signal, excluded).  Call
   before the first fork; fatal() on failure. */
void master_block_signals(sigset_t *wait_r);

/* Opens the log as configured in c (log_file, syslog_name,
   syslog_enable, debug) under ident; a log file the master creates gets
   mail_owner as its owner, so that the children can reopen it. */
void master_log_conf(const struct conf *c, const char *ident, bool foreground);

/* Reopens the log file (SIGHUP, rotation); logs a failure. */
void master_log_reopen(void);

/*
 * Forks a child that runs child(ctx, master pid, ready_fd): it must call
 * master_child_ready(ready_fd, ...) once it serves, and never return.
 * Waits up to wait_ms for that.  Returns the child's pid, or -1 with a
 * message in err (the child, if any, is killed and reaped).
 */
pid_t master_spawn(void (*child)(void *ctx, pid_t master, int ready_fd),
		   void *ctx, uint64_t wait_ms, char *err, size_t errsz);

/* Reads ready bytes from rfd until n came, end of file (a child died) or
   wait_ms passed; closes rfd.  Returns how many came. */
unsigned master_ready_wait(int rfd, unsigned n, uint64_t wait_ms);

/* SIGKILL to pid and reaps it. */
void master_kill_wait(pid_t pid);

/* Moves p (a child of the generation being replaced, already told to
   drain) to the old list; when that is full the oldest is stopped. */
void master_old_add(struct master *m, const struct master_proc *p);

/* Stops the oldest old process (waited for as old_stop_wait_ms says)
   and forgets it. */
void master_old_stop_oldest(struct master *m);

/* The master's loop: restarts, SIGCHLD, SIGHUP (m->reload), and at
   SIGTERM/SIGINT stops every child and returns. */
void master_run(struct master *m, const sigset_t *set);

/* ---- in a child -------------------------------------------------------- */

/* First thing after fork: the pid for the log, SIGCHLD unblocked (the
   other signals stay blocked for the child's loop to take over). */
void master_child_begin(void);

/* After the privilege drop (which clears it): the master's death sends
   signo, and a master already gone ends the child at once. */
void master_child_tie(pid_t master, int signo);

/* Tells the master the child serves (ready_fd < 0: nobody waits), and
   unless foreground lets go of the stderr `youju start` waits on. */
void master_child_ready(int ready_fd, bool foreground);

#endif
