/*
 * Failure counters for youju-authd (see throttle.h).  A chained hash table
 * keyed by the user name or IP; entries carry their window start and lockout
 * end so expiry needs no timer: stale entries are dropped when touched or
 * swept when the table is full.
 */
#include "throttle.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "xalloc.h"

#define THROTTLE_BUCKETS 4096

struct throttle_entry {
	struct throttle_entry *next;
	uint64_t first_ms; /* start of the counting window */
	uint64_t locked_until;
	unsigned count;
	char key[];
};

struct throttle {
	struct throttle_entry *bucket[THROTTLE_BUCKETS];
	size_t n, max;
	unsigned limit;
	uint64_t window_ms, lockout_ms;
};

/* keyed (lib/hash): the keys are client addresses and login names */
static uint32_t hash_key(const char *s)
{
	return (uint32_t)(hash_str(s) % THROTTLE_BUCKETS);
}

struct throttle *throttle_new(size_t max_entries, unsigned limit,
			      uint64_t window_ms, uint64_t lockout_ms)
{
	struct throttle *t = xcalloc(1, sizeof(*t));
	t->max = max_entries;
	throttle_configure(t, limit, window_ms, lockout_ms);
	return t;
}

void throttle_configure(struct throttle *t, unsigned limit, uint64_t window_ms,
			uint64_t lockout_ms)
{
	t->limit = limit;
	t->window_ms = window_ms;
	t->lockout_ms = lockout_ms;
}

void throttle_clear(struct throttle *t)
{
	for (size_t i = 0; i < THROTTLE_BUCKETS; i++) {
		struct throttle_entry *e = t->bucket[i];
		while (e != NULL) {
			struct throttle_entry *next = e->next;
			free(e);
			e = next;
		}
		t->bucket[i] = NULL;
	}
	t->n = 0;
}

void throttle_free(struct throttle **tp)
{
	if (*tp == NULL)
		return;
	throttle_clear(*tp);
	free(*tp);
	*tp = NULL;
}

size_t throttle_count(const struct throttle *t)
{
	return t->n;
}

static bool entry_stale(const struct throttle *t,
			const struct throttle_entry *e, uint64_t now)
{
	return e->locked_until <= now && now - e->first_ms >= t->window_ms;
}

static void sweep(struct throttle *t, uint64_t now)
{
	for (size_t i = 0; i < THROTTLE_BUCKETS; i++) {
		struct throttle_entry **pp = &t->bucket[i];
		while (*pp != NULL) {
			struct throttle_entry *e = *pp;
			if (entry_stale(t, e, now)) {
				*pp = e->next;
				free(e);
				t->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static struct throttle_entry **find(struct throttle *t, const char *key)
{
	struct throttle_entry **pp = &t->bucket[hash_key(key)];
	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

enum throttle_state throttle_check(struct throttle *t, const char *key,
				   uint64_t now_ms)
{
	if (t->limit == 0 || key == NULL || key[0] == '\0')
		return THROTTLE_OK;
	struct throttle_entry **pp = find(t, key);
	struct throttle_entry *e = *pp;
	if (e == NULL)
		return THROTTLE_OK;
	if (e->locked_until > now_ms)
		return THROTTLE_LOCKED;
	if (now_ms - e->first_ms >= t->window_ms) {
		*pp = e->next;
		free(e);
		t->n--;
		return THROTTLE_OK;
	}
	/* half the limit: start slowing the guesser down */
	if (e->count >= (t->limit + 1) / 2)
		return THROTTLE_DELAY;
	return THROTTLE_OK;
}

enum throttle_state throttle_fail(struct throttle *t, const char *key,
				  uint64_t now_ms)
{
	if (t->limit == 0 || key == NULL || key[0] == '\0')
		return THROTTLE_OK;
	struct throttle_entry **pp = find(t, key);
	struct throttle_entry *e = *pp;
	if (e == NULL) {
		if (t->n >= t->max)
			sweep(t, now_ms);
		if (t->n >= t->max)
			return THROTTLE_OK; /* full: untracked */
		size_t kl = strlen(key);
		e = xcalloc(1, sizeof(*e) + kl + 1);
		memcpy(e->key, key, kl + 1);
		e->first_ms = now_ms;
		e->next = t->bucket[hash_key(key)];
		t->bucket[hash_key(key)] = e;
		t->n++;
	} else if (e->locked_until <= now_ms &&
		   now_ms - e->first_ms >= t->window_ms) {
		e->count = 0;
		e->first_ms = now_ms;
		e->locked_until = 0;
	}
	if (e->locked_until > now_ms)
		return THROTTLE_LOCKED;
	e->count++;
	if (e->count >= t->limit) {
		/* locked; once it ends the key starts from zero */
		e->locked_until = now_ms + t->lockout_ms;
		e->count = 0;
		e->first_ms = now_ms;
		return THROTTLE_LOCKED;
	}
	if (e->count >= (t->limit + 1) / 2)
		return THROTTLE_DELAY;
	return THROTTLE_OK;
}

void throttle_reset(struct throttle *t, const char *key)
{
	if (key == NULL || key[0] == '\0')
		return;
	struct throttle_entry **pp = find(t, key);
	struct throttle_entry *e = *pp;
	if (e == NULL)
		return;
	*pp = e->next;
	free(e);
	t->n--;
}

unsigned throttle_failures(struct throttle *t, const char *key, uint64_t now_ms)
{
	if (t->limit == 0 || key == NULL || key[0] == '\0')
		return 0;
	const struct throttle_entry *e = *find(t, key);
	if (e == NULL || entry_stale(t, e, now_ms))
		return 0;
	return e->count;
}

uint64_t throttle_penalty_ms(unsigned n, uint64_t base_ms, uint64_t max_ms)
{
	if (base_ms == 0)
		return 0;
	uint64_t d = base_ms;
	/* doubling past max_ms: stop before the shift can overflow */
	while (n-- > 0 && d < max_ms)
		d *= 2;
	return d < max_ms ? d : max_ms;
}
