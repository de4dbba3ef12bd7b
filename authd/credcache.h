/*
 * The verified-credentials cache, as saslauthd's -c: for authd_cache_ttl it
 * remembers that a password matched a stored hash, so a client that logs in
 * again (an MUA polling, an SMTP client re-authenticating per message) costs
 * no crypt(3) run.  What is kept is an HMAC-SHA256, under a key drawn at
 * start-up and never written anywhere, of the stored hash and the password:
 * no password or password-equivalent is held, a different password or a
 * changed hash (PASSWD, an SQL edit) misses, and failures are never cached.
 */
#ifndef AUTHD_CREDCACHE_H
#define AUTHD_CREDCACHE_H

#include <stdbool.h>
#include <stdint.h>

/* Draws the key and makes the cache.  Returns 0, or -1 (no randomness:
   the cache then stays off). */
int credcache_init(void);
void credcache_deinit(void);
void credcache_clear(void);

/* True when login verified with exactly this password against exactly this
   stored hash less than the TTL ago. */
bool credcache_check(const char *login, const char *stored,
		     const char *password, uint64_t now_ms);
/* Records a successful verification for ttl_ms (0: nothing). */
void credcache_remember(const char *login, const char *stored,
			const char *password, uint64_t ttl_ms, uint64_t now_ms);

#endif
