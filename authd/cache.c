/*
 * The TTL cache of youju-authd (see cache.h): a chained hash table under
 * one mutex.  Worker threads hit it once per request; the critical sections
 * are a hash walk and a copy, short next to an SQL round trip.
 */
#include "cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "xalloc.h"

#define CACHE_BUCKETS 8192

struct cache_entry {
	struct cache_entry *next;
	uint64_t expires_ms;
	void *value; /* NULL: negative */
	char key[];
};

struct cache {
	pthread_mutex_t lock;
	struct cache_entry *bucket[CACHE_BUCKETS];
	size_t n, max;
	const struct cache_ops *ops;
};

static void *string_dup(const void *v)
{
	return xstrdup(v);
}

const struct cache_ops cache_string_ops = {string_dup, free};

/* keyed (lib/hash): login names come from clients */
static uint32_t hash_key(const char *s)
{
	return (uint32_t)(hash_str(s) % CACHE_BUCKETS);
}

struct cache *cache_new(size_t max_entries, const struct cache_ops *ops)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		abort();
	c->max = max_entries;
	c->ops = ops;
	return c;
}

static void entry_free(struct cache *c, struct cache_entry *e)
{
	if (e->value != NULL)
		c->ops->free(e->value);
	free(e);
}

static void clear_locked(struct cache *c)
{
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		struct cache_entry *e = c->bucket[i];
		while (e != NULL) {
			struct cache_entry *next = e->next;
			entry_free(c, e);
			e = next;
		}
		c->bucket[i] = NULL;
	}
	c->n = 0;
}

void cache_free(struct cache **cp)
{
	struct cache *c = *cp;
	if (c == NULL)
		return;
	clear_locked(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
}

static struct cache_entry **find(struct cache *c, const char *key)
{
	struct cache_entry **pp = &c->bucket[hash_key(key)];
	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

enum cache_result cache_get(struct cache *c, const char *key, uint64_t now_ms,
			    void **value_r)
{
	uint64_t left;
	return cache_get_left(c, key, now_ms, value_r, &left);
}

enum cache_result cache_get_left(struct cache *c, const char *key,
				 uint64_t now_ms, void **value_r,
				 uint64_t *left_ms_r)
{
	enum cache_result r = CACHE_MISS;
	*value_r = NULL;
	*left_ms_r = 0;
	pthread_mutex_lock(&c->lock);
	struct cache_entry **pp = find(c, key);
	struct cache_entry *e = *pp;
	if (e != NULL) {
		if (e->expires_ms <= now_ms) {
			*pp = e->next;
			entry_free(c, e);
			c->n--;
		} else if (e->value == NULL) {
			r = CACHE_NEGATIVE;
			*left_ms_r = e->expires_ms - now_ms;
		} else {
			*value_r = c->ops->dup(e->value);
			r = CACHE_HIT;
			*left_ms_r = e->expires_ms - now_ms;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

static void sweep_locked(struct cache *c, uint64_t now)
{
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		struct cache_entry **pp = &c->bucket[i];
		while (*pp != NULL) {
			struct cache_entry *e = *pp;
			if (e->expires_ms <= now) {
				*pp = e->next;
				entry_free(c, e);
				c->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

void cache_put(struct cache *c, const char *key, const void *value,
	       uint64_t ttl_ms, uint64_t now_ms)
{
	if (ttl_ms == 0 || c->max == 0)
		return;
	void *copy = value != NULL ? c->ops->dup(value) : NULL;
	size_t kl = strlen(key);
	pthread_mutex_lock(&c->lock);
	struct cache_entry **pp = find(c, key);
	if (*pp != NULL) {
		struct cache_entry *old = *pp;
		*pp = old->next;
		entry_free(c, old);
		c->n--;
	}
	if (c->n >= c->max)
		sweep_locked(c, now_ms);
	if (c->n >= c->max)
		clear_locked(c);
	struct cache_entry *e = xmalloc(sizeof(*e) + kl + 1);
	memcpy(e->key, key, kl + 1);
	e->value = copy;
	e->expires_ms = now_ms + ttl_ms;
	uint32_t h = hash_key(key);
	e->next = c->bucket[h];
	c->bucket[h] = e;
	c->n++;
	pthread_mutex_unlock(&c->lock);
}

void cache_del(struct cache *c, const char *key)
{
	pthread_mutex_lock(&c->lock);
	struct cache_entry **pp = find(c, key);
	if (*pp != NULL) {
		struct cache_entry *e = *pp;
		*pp = e->next;
		entry_free(c, e);
		c->n--;
	}
	pthread_mutex_unlock(&c->lock);
}

void cache_clear(struct cache *c)
{
	pthread_mutex_lock(&c->lock);
	clear_locked(c);
	pthread_mutex_unlock(&c->lock);
}

size_t cache_count(struct cache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}
