/*
 * A thread-safe TTL cache for youju-authd's directory answers, positive
 * (a value) and negative (the key is known not to exist).  Values are
 * copied in and out through the ops given at creation, so a caller never
 * holds a pointer into the cache.  Bounded: when max_entries is reached the
 * expired entries are swept, and if that frees nothing the whole cache is
 * emptied (simple, and an SQL round trip is the worst it costs).  The TTL is
 * what bounds how long an edit made directly in SQL can go unseen.
 */
#ifndef AUTHD_CACHE_H
#define AUTHD_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache_ops {
	void *(*dup)(const void *value); /* owned copy */
	void (*free)(void *value);
};

/* Copies and frees C strings. */
extern const struct cache_ops cache_string_ops;

enum cache_result {
	CACHE_MISS,
	CACHE_HIT,	/* *value_r: an owned copy */
	CACHE_NEGATIVE, /* cached "not found" */
};

struct cache;

struct cache *cache_new(size_t max_entries, const struct cache_ops *ops);
void cache_free(struct cache **c);

enum cache_result cache_get(struct cache *c, const char *key, uint64_t now_ms,
			    void **value_r);
/* The same, with what is left of a hit's or negative entry's lifetime
   in *left_ms_r (0 on a miss): how long a client may reuse the answer. */
enum cache_result cache_get_left(struct cache *c, const char *key,
				 uint64_t now_ms, void **value_r,
				 uint64_t *left_ms_r);
/* Stores a copy of value (NULL: negative entry) for ttl_ms; ttl_ms 0 does
   nothing. */
void cache_put(struct cache *c, const char *key, const void *value,
	       uint64_t ttl_ms, uint64_t now_ms);
void cache_del(struct cache *c, const char *key);
void cache_clear(struct cache *c);
size_t cache_count(struct cache *c);

#endif
