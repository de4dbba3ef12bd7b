/*
 * Login throttling for the console (issue 11, as docs/authd-protocol.md §5
 * does for the mail services): failed logins are counted per account and
 * per client address within a window; past a limit the key is locked out
 * for a while and its logins are refused (429) without checking the
 * password.  A success clears the account's counter.  In memory,
 * thread-safe, bounded (the oldest entries go when full).
 */
#ifndef YOUJU_WA_THROTTLE_H
#define YOUJU_WA_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

struct wa_throttle;

/* limit_user/limit_client: failures before a lockout (0: that table
   off); window and lockout in seconds. */
struct wa_throttle *wa_throttle_new(unsigned limit_user, unsigned limit_client,
				    int64_t window, int64_t lockout);
void wa_throttle_free(struct wa_throttle **t);
/* True when user or client is locked out now. */
bool wa_throttle_locked(struct wa_throttle *t, const char *user,
			const char *client);
/* Counts one failure for both. */
void wa_throttle_fail(struct wa_throttle *t, const char *user,
		      const char *client);
/* A success: forgets the user's failures. */
void wa_throttle_ok(struct wa_throttle *t, const char *user);

#endif
