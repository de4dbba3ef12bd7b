/*
 * The compile cache of the delivery threads (see sieve_cache.h).  One
 * mutex guards the slots and the reference counts; reading and compiling
 * happen outside it, so two threads that miss on the same new script may
 * both compile it, and the second simply replaces the first in the slot.
 */
#include "sieve_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "file.h"
#include "xalloc.h"

/* seconds a script must be unchanged before it is kept */
#define SIEVE_CACHE_SETTLE 1

struct sieve_cached {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	struct sieve_program *prog;
	unsigned refs; /* the slot's, and each delivery's */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sieve_cached *cache_slots[SIEVE_CACHE_SLOTS];

static size_t cache_slot(const struct stat *st)
{
	uint64_t h = (uint64_t)st->st_dev * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)st->st_ino * 0xff51afd7ed558ccdull;
	return (size_t)((h ^ (h >> 29)) % SIEVE_CACHE_SLOTS);
}

static bool cache_same(const struct sieve_cached *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino &&
	       e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec &&
	       e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       e->ctime.tv_sec == st->st_ctim.tv_sec &&
	       e->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* Drops one reference; the caller holds cache_lock. */
static void cache_unref_locked(struct sieve_cached *e)
{
	if (--e->refs == 0) {
		sieve_free(&e->prog);
		free(e);
	}
}

struct sieve_cached *sieve_cache_load(int fd, const struct stat *st, char *err,
				      size_t errsz)
{
	if (!S_ISREG(st->st_mode) || st->st_size < 0 ||
	    (uint64_t)st->st_size > SIEVE_SCRIPT_MAX) {
		snprintf(err, errsz,
			 "the script is not a regular file of at "
			 "most 256 KiB");
		return NULL;
	}
	size_t slot = cache_slot(st);
	pthread_mutex_lock(&cache_lock);
	struct sieve_cached *e = cache_slots[slot];
	if (e != NULL && cache_same(e, st)) {
		e->refs++;
		pthread_mutex_unlock(&cache_lock);
		return e;
	}
	pthread_mutex_unlock(&cache_lock);

	char *data = NULL;
	size_t len = 0;
	if (file_read_fd(fd, SIEVE_SCRIPT_MAX, &data, &len) < 0) {
		free(data);
		snprintf(err, errsz,
			 "the script cannot be read (or is larger "
			 "than 256 KiB)");
		return NULL;
	}
	struct sieve_program *p = sieve_compile(data, len, err, errsz);
	free(data);
	if (p == NULL)
		return NULL;
	e = xcalloc(1, sizeof *e);
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->ctime = st->st_ctim;
	e->prog = p;
	e->refs = 1;
	/* what was read must be the version st describes (an edit in
	   place between fstat and read would be cached under old times),
	   and that version must be older than the file system's timestamp
	   granularity: a rewrite of the same size within the same tick
	   would otherwise look unchanged (Git's "racily clean" files) */
	struct stat now;
	struct timespec ts;
	bool keep = len <= SIEVE_CACHE_SCRIPT_MAX && fstat(fd, &now) == 0 &&
		    cache_same(e, &now) &&
		    clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
		    ts.tv_sec > st->st_mtim.tv_sec + SIEVE_CACHE_SETTLE;
	if (keep) {
		pthread_mutex_lock(&cache_lock);
		struct sieve_cached *old = cache_slots[slot];
		cache_slots[slot] = e;
		e->refs++;
		if (old != NULL)
			cache_unref_locked(old);
		pthread_mutex_unlock(&cache_lock);
	}
	return e;
}

const struct sieve_program *sieve_cached_program(const struct sieve_cached *c)
{
	return c->prog;
}

void sieve_cache_release(struct sieve_cached **c)
{
	if (*c == NULL)
		return;
	pthread_mutex_lock(&cache_lock);
	cache_unref_locked(*c);
	pthread_mutex_unlock(&cache_lock);
	*c = NULL;
}

void sieve_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < SIEVE_CACHE_SLOTS; i++) {
		if (cache_slots[i] != NULL)
			cache_unref_locked(cache_slots[i]);
		cache_slots[i] = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
}
