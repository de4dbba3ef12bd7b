/*
 * The MTA's copy of youju-authd's LOOKUP answers (docs/authd-protocol.md
 * §4, "Reuse by the clients"), shared by lib/authc's blocking client and
 * lib/authc_async.  An answer is kept as the exact bytes authd sent (so a
 * reuse is byte-identical to asking again) for the time authd said it may
 * be reused (its "TTL=<ms>" line: what is left of authd's own cache
 * entry), and only while authd's cache generation is the one read before
 * the request was sent.  authd changes the generation (a counter in the
 * file <authd_socket>.gen, mapped read-only here) on FLUSH, PASSWD, a
 * reload and a (re)start, so a change made through authd is seen at once
 * and one made in SQL within authd_cache_ttl, as with authd's own cache.
 *
 * Bounded (AUTHC_CACHE_MAX entries, clock eviction) and thread-safe (one
 * mutex: youju-qmgr's delivery threads).  A hit costs no system call: a
 * hash walk, an atomic load of the mapped counter and a copy.
 */
#ifndef YOUJU_AUTHC_CACHE_H
#define YOUJU_AUTHC_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the generation file (written by youju-authd, authd/generation.c) */

/* <authd_socket> + this suffix */
#define AUTHC_GEN_SUFFIX ".gen"
/* bytes 0..7: the magic; 8..15: the generation, a native-endian 64-bit
   counter changed only with atomic operations */
#define AUTHC_GEN_MAGIC	    "youjugn1"
#define AUTHC_GEN_MAGIC_LEN 8
#define AUTHC_GEN_OFFSET    8
#define AUTHC_GEN_SIZE	    16

/* ---- the client's cache ------------------------------------------------ */

/* entries kept at most, and the largest reply kept (bytes) */
#define AUTHC_CACHE_MAX	     4096
#define AUTHC_CACHE_BODY_MAX 16384
/* the longest lifetime accepted from a reply (a bound on a bad TTL) */
#define AUTHC_CACHE_TTL_MAX_MS 3600000u

struct buf;

/* What a miss read before its request went out: the generation and the
   time, which an answer is stored under (authc_cache_put). */
struct authc_cache_token {
	bool ok; /* false: the generation file is missing, nothing is kept */
	uint64_t gen;
	uint64_t epoch; /* which mapping gen came from */
	int64_t t_ms;	/* CLOCK_MONOTONIC */
};

/* Turns reuse on for the process (LOOKUPs then send REUSE=1).  Call once
   at start-up, before threads use the client. */
void authc_cache_enable(bool on);
bool authc_cache_enabled(void);

/*
 * The answer kept for key (key_len bytes: "<kind> <argument>") at
 * socket_path: true with its bytes appended to out (the reply as authd
 * sent it, without the TTL line).  On a miss, false with *tok_r filled
 * (it may map, or map again, the generation file: a stat() and maybe an
 * open() and mmap()).  out must have room; a reply that does not fit is
 * a miss.
 */
bool authc_cache_get(const char *socket_path, const char *key, size_t key_len,
		     struct buf *out, struct authc_cache_token *tok_r);

/* Keeps body[0..len) (a whole reply, not a temporary failure) for key,
   for ttl_ms after tok->t_ms and while the generation is tok->gen.
   Nothing is kept when ttl_ms is 0, the token is not ok or stale, or the
   body is over AUTHC_CACHE_BODY_MAX. */
void authc_cache_put(const char *socket_path,
		     const struct authc_cache_token *tok, const char *key,
		     size_t key_len, uint64_t ttl_ms, const char *body,
		     size_t len);

/*
 * The reuse line a REUSE=1 reply starts with: "TTL=<ms>\n" (1 to 10
 * digits).  Returns its length with *ttl_ms_r, 0 when p does not start
 * with "TTL=" (an older authd: nothing may be kept), or -1 when the line
 * is not complete yet or is malformed (*bad_r tells which).
 */
long authc_reply_ttl(const char *p, size_t len, uint64_t *ttl_ms_r,
		     bool *bad_r);

/* Entries kept now, and hits since start: for tests. */
size_t authc_cache_count(void);
uint64_t authc_cache_hits(void);
/* Drops every entry and the mapping (tests). */
void authc_cache_reset(void);

#endif
