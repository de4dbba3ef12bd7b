/*
 * Server-side web sessions (DESIGN §10): 256-bit random IDs from
 * getrandom(2), sent only in an HttpOnly SameSite=Strict cookie (Secure
 * over TLS), never in a URL; idle and absolute timeouts; one CSRF token
 * per session, checked in constant time against the X-CSRF-Token header of
 * every state change.  The store lives in memory (a restart logs everyone
 * out) and is safe to use from several threads.  Also the Cookie header
 * parser, which sees hostile input (tests/fuzz/lib/fuzz_webcookie.c).
 */
#ifndef YOUJU_WEBSESSION_H
#define YOUJU_WEBSESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hex digits of a session ID and of a CSRF token (32 random bytes) */
#define WEBSESSION_ID_LEN   64
#define WEBSESSION_USER_MAX 256
#define WEBSESSION_ROLE_MAX 32

struct websession_store;

/* A copy of a session's state (no pointers into the store). */
struct websession_info {
	char user[WEBSESSION_USER_MAX];
	char role[WEBSESSION_ROLE_MAX];
	char csrf[WEBSESSION_ID_LEN + 1];
	int64_t created, last; /* CLOCK_REALTIME seconds */
};

/* max: sessions held at once; idle/absolute: timeouts in seconds. */
struct websession_store *websession_store_new(size_t max, int64_t idle,
					      int64_t absolute);
void websession_store_free(struct websession_store **st);

/*
 * Starts a session for user (role: the application's, e.g. "admin").
 * Writes the ID into id_r (WEBSESSION_ID_LEN + 1 bytes) and the session's
 * copy into *info_r.  Expired sessions are dropped first; when the store is
 * still full the oldest session goes.  Returns 0, or -1 when no random
 * bytes could be had (errno).
 */
__attribute__((warn_unused_result)) int
websession_create(struct websession_store *st, const char *user,
		  const char *role, char *id_r, struct websession_info *info_r);
/*
 * Looks id up: true with *info_r when it names a live session (its idle
 * timer restarts), false when unknown or expired (then it is dropped).
 */
bool websession_get(struct websession_store *st, const char *id,
		    struct websession_info *info_r);
/* Ends the session id (no-op when unknown). */
void websession_destroy(struct websession_store *st, const char *id);
/* Ends every session of user (a manager deleted, disabled, password
   changed); returns how many. */
size_t websession_destroy_user(struct websession_store *st, const char *user);

/* True when token (may be NULL) equals the session's CSRF token; constant
   time. */
bool websession_csrf_ok(const struct websession_info *info, const char *token);

/*
 * Finds cookie name in a Cookie header value (RFC 6265 §5.4: "a=b; c=d",
 * values optionally in double quotes).  Copies the value into out (outsz
 * bytes) and returns true; false when absent, when the value does not fit
 * or holds bytes outside RFC 6265's cookie-octet, or when the header has
 * more than 64 cookies or is over 8192 bytes.
 */
bool websession_cookie_get(const char *header, size_t len, const char *name,
			   char *out, size_t outsz);
/* True when s is exactly WEBSESSION_ID_LEN lower-case hex digits. */
bool websession_id_valid(const char *s);
/*
 * Builds the Set-Cookie value for the session cookie: name=id; Path=/;
 * HttpOnly; SameSite=Strict[; Secure].  An empty id expires the cookie
 * (logout).  Returns 0 or -1 when out is too small.
 */
int websession_set_cookie(char *out, size_t outsz, const char *name,
			  const char *id, bool secure);
/* Fills out with nbytes random bytes as 2*nbytes lower-case hex digits
   and a NUL (getrandom).  Returns 0 or -1 with errno. */
__attribute__((warn_unused_result)) int websession_random_hex(char *out,
							      size_t nbytes);

#endif
