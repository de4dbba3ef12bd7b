/*
 * LOOKUP directory <domain> (docs/authd-protocol.md §3): the active
 * mailboxes of one domain, address and display name, for youju-webmail's
 * address completion and read-only directory (webmail holds no database
 * credentials).  Bounded: at most AUTHD_DIRECTORY_MAX entries.
 */
#ifndef AUTHD_DIRECTORY_H
#define AUTHD_DIRECTORY_H

#include "buf.h"
#include "cfg.h"
#include "db.h"

#define AUTHD_DIRECTORY_MAX 1000

/*
 * Appends the reply for domain (lower-cased, one word) to out:
 * "ENTRY=<address> <name>\n" per mailbox in address order, then
 * "TRUNCATED=1\n" when there were more than AUTHD_DIRECTORY_MAX, then
 * ".\n".  AUTHD_NOTFOUND: the domain is not hosted or not active.
 * Runs on a worker thread.
 */
enum authd_status authd_directory(struct authd_cfg *cfg, const char *domain,
				  struct buf *out);

#endif
