/*
 * The event-loop side of youju-authd: accepts on the authdaemond socket,
 * reads one request per connection (10 s idle limit, bounded buffer),
 * applies failure throttling, hands the work to the worker pool, writes the
 * reply and closes.  SIGHUP reloads the configuration, SIGTERM/SIGINT stop.
 */
#ifndef AUTHD_SERVER_H
#define AUTHD_SERVER_H

#include "cfg.h"

/* courier's per-read idle limit (reference §4) */
#define AUTHD_IDLE_MS 10000
/* a whole request must arrive within this */
#define AUTHD_READ_DEADLINE_MS 30000
/* courier's write limit */
#define AUTHD_WRITE_MS 30000

/*
 * Serves listen_fd until SIGTERM.  cfg: a reference that the server takes
 * over; conf_path: where SIGHUP re-reads the configuration; db_password:
 * kept for reloads (copied).  Returns 0 at a clean stop, -1 on a loop
 * failure.
 */
int authd_server_run(int listen_fd, struct authd_cfg *cfg,
		     const char *conf_path, const char *db_password);

#endif
