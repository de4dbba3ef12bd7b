/*
 * Failure throttling against password guessing: counters of failed logins
 * per key (a client address, a client address plus login, or a login)
 * within a window.  Once a key has
 * half its limit of failures its replies are delayed; at the limit it is
 * locked out (temporary refusal) for the lockout time.  A success resets a
 * key.  Used from the event loop thread only, so no locking.  The table is
 * bounded: past max_entries new keys go untracked until expired entries are
 * swept (the per-IP table still catches a spray of user names).
 */
#ifndef AUTHD_THROTTLE_H
#define AUTHD_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

enum throttle_state {
	THROTTLE_OK,	 /* answer normally */
	THROTTLE_DELAY,	 /* answer, after the failure delay */
	THROTTLE_LOCKED, /* refuse (temporary failure) */
};

struct throttle;

/* limit 0 disables the table (every check is THROTTLE_OK). */
struct throttle *throttle_new(size_t max_entries, unsigned limit,
			      uint64_t window_ms, uint64_t lockout_ms);
void throttle_free(struct throttle **t);
/* New limits (config reload); counters are kept. */
void throttle_configure(struct throttle *t, unsigned limit, uint64_t window_ms,
			uint64_t lockout_ms);

/* The state of key at now_ms.  An empty key is always THROTTLE_OK. */
enum throttle_state throttle_check(struct throttle *t, const char *key,
				   uint64_t now_ms);
/* Counts one failure; returns the state after it (THROTTLE_LOCKED when
   this failure reached the limit). */
enum throttle_state throttle_fail(struct throttle *t, const char *key,
				  uint64_t now_ms);
/* Forgets key (after a success). */
void throttle_reset(struct throttle *t, const char *key);
/* Forgets everything. */
void throttle_clear(struct throttle *t);
/* The failures counted for key in the current window (0: none). */
unsigned throttle_failures(struct throttle *t, const char *key,
			   uint64_t now_ms);
/* Dovecot's auth penalty: the delay of a FAIL after n earlier failures,
   base_ms doubled n times, at most max_ms (base_ms 0: no delay). */
uint64_t throttle_penalty_ms(unsigned n, uint64_t base_ms, uint64_t max_ms);
/* Number of tracked keys (for tests). */
size_t throttle_count(const struct throttle *t);

#endif
