/*
 * Destination concurrency and the dead-site cache (see dest.h).
 * The table is a small array searched linearly: the number of distinct
 * remote destinations active at once is small, and idle entries are
 * dropped when the table fills, so the memory stays bounded.
 */
#include "dest.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "xalloc.h"

#define DEST_MAX     4096
#define DEST_KEY_MAX 300
#define DEST_WHY_MAX 400

struct dest {
	char key[DEST_KEY_MAX];
	unsigned active, window, failures;
	time_t dead_until, used;
	char why[DEST_WHY_MAX];
};

struct dest_table {
	struct dest_cfg cfg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct dest *d;
	size_t n;
};

struct dest_table *dest_table_new(const struct dest_cfg *cfg)
{
	struct dest_table *t = xcalloc(1, sizeof(*t));
	t->cfg = *cfg;
	if (t->cfg.limit == 0)
		t->cfg.limit = 1;
	if (t->cfg.initial == 0)
		t->cfg.initial = 1;
	if (t->cfg.initial > t->cfg.limit)
		t->cfg.initial = t->cfg.limit;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	t->d = xcalloc(DEST_MAX, sizeof(*t->d));
	return t;
}

void dest_table_free(struct dest_table **tp)
{
	struct dest_table *t = *tp;
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
	free(t->d);
	free(t);
	*tp = NULL;
}

/* An entry is only worth keeping while it is busy, dead or has learnt
   something (a window away from the initial one). */
static bool dest_idle(const struct dest_table *t, const struct dest *d,
		      time_t now)
{
	return d->active == 0 && d->dead_until <= now &&
	       (d->window == t->cfg.initial || now - d->used > 300);
}

/* Called with the lock held; NULL when the table is full of busy ones. */
static struct dest *dest_get(struct dest_table *t, const char *key, bool make)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcasecmp(t->d[i].key, key) == 0)
			return &t->d[i];
	if (!make || strlen(key) >= DEST_KEY_MAX)
		return NULL;
	if (t->n == DEST_MAX) {
		time_t now = time(NULL);
		size_t k = 0;
		for (size_t i = 0; i < t->n; i++)
			if (!dest_idle(t, &t->d[i], now))
				t->d[k++] = t->d[i];
		t->n = k;
		if (t->n == DEST_MAX)
			return NULL;
	}
	struct dest *d = &t->d[t->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->key, sizeof(d->key), "%s", key);
	d->window = t->cfg.initial;
	return d;
}

int dest_acquire(struct dest_table *t, const char *key, char *reason_r,
		 size_t reason_sz)
{
	pthread_mutex_lock(&t->lock);
	for (;;) {
		struct dest *d = dest_get(t, key, true);
		if (d == NULL)
			break; /* untracked: no limit rather than no mail */
		time_t now = time(NULL);
		if (d->dead_until > now) {
			snprintf(reason_r, reason_sz, "%s", d->why);
			pthread_mutex_unlock(&t->lock);
			return -1;
		}
		if (d->active < d->window) {
			d->active++;
			d->used = now;
			break;
		}
		/* wake up now and then: a dead site must be noticed */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		(void)pthread_cond_timedwait(&t->cond, &t->lock, &ts);
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void dest_release(struct dest_table *t, const char *key, enum dest_feedback fb,
		  const char *reason)
{
	pthread_mutex_lock(&t->lock);
	struct dest *d = dest_get(t, key, false);
	if (d != NULL) {
		if (d->active > 0)
			d->active--;
		d->used = time(NULL);
		if (fb == DEST_OK) {
			d->failures = 0;
			if (d->window < t->cfg.limit)
				d->window++;
		} else if (fb == DEST_FAILED) {
			d->failures++;
			d->window = 1; /* probe with one connection */
			if (t->cfg.cohort_limit > 0 &&
			    d->failures >= t->cfg.cohort_limit) {
				d->dead_until = d->used + t->cfg.dead_time;
				snprintf(d->why, sizeof(d->why), "%s",
					 reason != NULL ? reason : "");
			}
		}
	}
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

unsigned dest_window(struct dest_table *t, const char *key)
{
	pthread_mutex_lock(&t->lock);
	struct dest *d = dest_get(t, key, false);
	unsigned w = d != NULL ? d->window : 0;
	pthread_mutex_unlock(&t->lock);
	return w;
}
