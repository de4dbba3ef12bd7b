/*
 * Failure counters for console logins (see throttle.h).  Two small tables
 * (accounts, client addresses) of fixed size with linear search: the
 * console sees few logins, and a fixed table cannot be grown by a flood of
 * made-up names; when full, the entry touched longest ago is reused.
 */
#include "throttle.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xalloc.h"

#define TABLE_SIZE 1024
#define KEY_MAX	   256

struct entry {
	char key[KEY_MAX];
	unsigned failures;
	int64_t first, locked_until, touched;
};

struct table {
	struct entry e[TABLE_SIZE];
	unsigned limit;
};

struct wa_throttle {
	pthread_mutex_t lock;
	struct table user, client;
	int64_t window, lockout;
};

static int64_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

struct wa_throttle *wa_throttle_new(unsigned limit_user, unsigned limit_client,
				    int64_t window, int64_t lockout)
{
	struct wa_throttle *t = xcalloc(1, sizeof *t);
	pthread_mutex_init(&t->lock, NULL);
	t->user.limit = limit_user;
	t->client.limit = limit_client;
	t->window = window;
	t->lockout = lockout;
	return t;
}

void wa_throttle_free(struct wa_throttle **tp)
{
	if (*tp == NULL)
		return;
	pthread_mutex_destroy(&(*tp)->lock);
	free(*tp);
	*tp = NULL;
}

static struct entry *lookup(struct table *tb, const char *key, bool create,
			    int64_t now)
{
	struct entry *lru = &tb->e[0];
	for (size_t i = 0; i < TABLE_SIZE; i++) {
		struct entry *e = &tb->e[i];
		if (e->key[0] != '\0' && strcmp(e->key, key) == 0)
			return e;
		if (e->touched < lru->touched)
			lru = e;
	}
	if (!create)
		return NULL;
	memset(lru, 0, sizeof *lru);
	snprintf(lru->key, sizeof lru->key, "%s", key);
	lru->first = lru->touched = now;
	return lru;
}

static bool locked(struct wa_throttle *t, struct table *tb, const char *key,
		   int64_t now)
{
	if (tb->limit == 0 || key == NULL || key[0] == '\0')
		return false;
	struct entry *e = lookup(tb, key, false, now);
	return e != NULL && e->locked_until > now;
}

bool wa_throttle_locked(struct wa_throttle *t, const char *user,
			const char *client)
{
	int64_t now = now_s();
	pthread_mutex_lock(&t->lock);
	bool r = locked(t, &t->user, user, now) ||
		 locked(t, &t->client, client, now);
	pthread_mutex_unlock(&t->lock);
	return r;
}

static void fail(struct wa_throttle *t, struct table *tb, const char *key,
		 int64_t now)
{
	if (tb->limit == 0 || key == NULL || key[0] == '\0')
		return;
	struct entry *e = lookup(tb, key, true, now);
	if (now - e->first > t->window) {
		e->failures = 0;
		e->first = now;
	}
	e->touched = now;
	if (++e->failures >= tb->limit) {
		e->locked_until = now + t->lockout;
		e->failures = 0;
		e->first = now;
	}
}

void wa_throttle_fail(struct wa_throttle *t, const char *user,
		      const char *client)
{
	int64_t now = now_s();
	pthread_mutex_lock(&t->lock);
	fail(t, &t->user, user, now);
	fail(t, &t->client, client, now);
	pthread_mutex_unlock(&t->lock);
}

void wa_throttle_ok(struct wa_throttle *t, const char *user)
{
	int64_t now = now_s();
	pthread_mutex_lock(&t->lock);
	struct entry *e = lookup(&t->user, user, false, now);
	if (e != NULL && e->locked_until <= now)
		memset(e, 0, sizeof *e);
	pthread_mutex_unlock(&t->lock);
}
