/*
 * Per-client connection counting for youju-mta, Postfix's anvil(8) inside
 * the one server process: how many sessions a client address has open,
 * and how many it opened in the current rate window.  Loop thread only.
 */
#ifndef MTA_ANVIL_H
#define MTA_ANVIL_H

#include <stdint.h>

struct anvil;

/* Most client addresses tracked; beyond it old idle entries are reused. */
#define ANVIL_MAX_CLIENTS 65536

struct anvil *anvil_new(void);
void anvil_free(struct anvil **a);
/* Counts a new connection from addr at now_ms (windows of unit_ms).
   *count_r: sessions now open (this one included); *rate_r: connections
   in the current window (this one included). */
void anvil_connect(struct anvil *a, const char *addr, uint64_t now_ms,
		   uint64_t unit_ms, unsigned *count_r, unsigned *rate_r);
/* Ends one session of addr. */
void anvil_disconnect(struct anvil *a, const char *addr);

#endif
