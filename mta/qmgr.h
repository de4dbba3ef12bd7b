/*
 * The queue manager (Postfix qmgr + virtual + smtp + bounce in one
 * process): forked by youju-mta at start-up, before any thread, listener
 * or key exists; it drops to mail_owner itself.  The SMTP event loop never
 * waits for it.
 * A small supervisor process restarts the worker if it dies; both die
 * with youju-mta (PR_SET_PDEATHSIG), and an flock on
 * queue_directory/qmgr.lock keeps two queue managers from ever running
 * at once.  See docs/delivery.md.
 */
#ifndef MTA_QMGR_H
#define MTA_QMGR_H

#include <stdbool.h>
#include <sys/types.h>

struct conf;

/* Forks the supervisor (it drops to mail_owner); returns its pid (the caller
   stops it with qmgr_stop at exit).  Aborts on failure (start-up only). */
pid_t qmgr_start(const struct conf *conf, bool foreground);

/* SIGTERM to the supervisor, which stops the worker; waits for it. */
void qmgr_stop(pid_t pid);

#endif
