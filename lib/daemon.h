/*
 * Going to the background the careful way: the foreground process that
 * the user (or `youju start`) ran waits until the daemon says it is ready,
 * so a start-up failure (bad config, port in use) is reported on the
 * terminal and as exit status 1 instead of vanishing into the log.  Also
 * the pidfile helpers that `youju stop/status` use.
 */
#ifndef YOUJU_DAEMON_H
#define YOUJU_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "conf.h"

/* What every youju daemon's command line gives: [-f] [-c configfile]. */
struct daemon_opts {
	bool foreground; /* -f: stay in the foreground, log to stderr too */
	char *conf_path; /* -c, else conf_default_path(); owned: free() */
};

/*
 * Parses argv into *o; anything else prints "usage: PROG [-f] [-c
 * configfile]" and exits 2.  Then the start-up every daemon shares: loads
 * o->conf_path with the tables of conf_tables_for(program), opens the log
 * under ident (log_file and syslog_enable), logs to stderr too with -f, and
 * sets debug.  A config that does not load is fatal.  Returns the config
 * (owned: conf_free()).
 */
struct conf *daemon_begin(int argc, char **argv, const char *prog,
			  const char *program, const char *ident,
			  struct daemon_opts *o);

/*
 * Refuses to start when pidfile names a live process (error "already
 * running").  foreground: writes the pidfile and returns 0.  Otherwise
 * forks: the parent never returns (it exits 0 once the child has called
 * daemon_ready(), 1 if the child exits or dies first); the child starts a
 * new session, points stdin and stdout at /dev/null (stderr stays, so
 * start-up errors still reach the terminal, until daemon_ready()), writes
 * pidfile (its pid and "\n", through a temporary file and rename), and
 * returns 0.  pidfile may be NULL.  Returns -1 with *error_r (static
 * text) and errno before forking or in the child; the caller then reports
 * and exits non-zero.
 */
__attribute__((warn_unused_result)) int
daemon_start(const char *pidfile, bool foreground, const char **error_r);

/*
 * daemon_start() with the pid file run_directory/<prog>.pid (written into
 * pidfile, of pidsz bytes), then the pid for the log, and SIGPIPE
 * ignored.  fatal() on failure.
 */
void daemon_detach(const char *run_directory, const char *prog, bool foreground,
		   char *pidfile, size_t pidsz);

/* Start-up succeeded: releases the waiting parent and points stderr at
   /dev/null.  No-op in the foreground or when called again. */
void daemon_ready(void);

/* In a child forked before daemon_ready(): closes its copy of the
   readiness pipe without writing, so that only the parent releases the
   starting command. */
void daemon_ready_forget(void);

/* Writes getpid() and "\n" to path via "<path>.tmp" and rename (mode
   0644).  Returns 0 or -1 with errno. */
__attribute__((warn_unused_result)) int daemon_pidfile_write(const char *path);

/* The pid in path (decimal, optional trailing newline), or 0 when the file
   is missing, unreadable or malformed. */
pid_t daemon_pidfile_read(const char *path);

/*
 * After a reload: when "<run_dir>/<name>.pid" is not path (run_directory
 * changed), writes the pid file there, removes the one at path and copies
 * the new name into path (size bytes).  Failures are logged; path then
 * stays.
 */
void daemon_pidfile_follow(char *path, size_t size, const char *run_dir,
			   const char *name);

/* True when path names a process that exists (kill(pid, 0)). */
bool daemon_is_running(const char *path);

/* Removes path at a clean exit, but only when it still holds our pid (a
   newer instance may have replaced it).  NULL-safe. */
void daemon_pidfile_remove(const char *path);

#endif
