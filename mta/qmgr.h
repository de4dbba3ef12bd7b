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
#include <stddef.h>
#include <sys/types.h>

struct conf;

/* Forks the supervisor (it drops to mail_owner; the child closes the nfds
   descriptors fds, the caller's listeners); returns its pid (the caller
   stops it with qmgr_stop at exit), or -1 when fork fails. */
pid_t qmgr_start(const struct conf *conf, bool foreground, const int *fds,
		 size_t nfds);

/* Reload: the worker of supervisor pid finishes the deliveries in flight
   and exits, then the supervisor exits (a new qmgr_start() waits for the
   queue lock meanwhile).  The caller reaps pid. */
void qmgr_drain(pid_t pid);

/*
 * Checks what the queue manager would refuse to run with: the tables
 * (transport_maps, smtp_sasl_password_maps, smtp_tls_policy_maps) open and
 * smtp_tls_security_level is known.  Returns 0, or -1 with a message that
 * names the parameter in err.
 */
int qmgr_check_conf(const struct conf *conf, char *err, size_t errsz);

/* SIGTERM to the supervisor, which stops the worker; waits for it. */
void qmgr_stop(pid_t pid);

#endif
