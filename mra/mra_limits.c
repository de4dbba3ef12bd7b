/*
 * The shared connection counters of youju-mra (see mra_limits.h): one
 * anonymous MAP_SHARED mapping holding a header with the lock, an open
 * addressing table of keys (linear probing, backward-shift deletion so no
 * tombstones pile up) and a counter per key and worker.  Everything but
 * the "gone" mask is read and written under the lock; the operations are
 * a few hundred nanoseconds at accept, login and close, so contention
 * does not matter next to the system calls around them.
 */
#include "mra_limits.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "hash.h"
#include "log.h"
#include "xalloc.h"

struct mra_limits_slot {
	uint64_t hash; /* 0: empty */
	uint16_t len;
	char key[MRA_LIMITS_KEY_MAX];
};

struct mra_limits_hdr {
	pthread_mutex_t lock;
	/* workers whose column must be cleared, 64 per word */
	_Atomic uint64_t gone[MRA_LIMITS_COLUMNS_MAX / 64];
	uint32_t workers;
	uint32_t entries;
	uint32_t used;
	bool full_warned;
};

struct mra_limits {
	struct mra_limits_hdr *hdr;
	struct mra_limits_slot *slots;
	uint32_t *counts; /* [entry * workers + worker] */
	size_t map_size;
	unsigned me; /* this process's column */
};

/* keyed (lib/hash): the client address and login name are the peer's
   choice.  The key is made in the parent (mra_limits_new) before the
   workers fork, so every worker probes the shared table alike. */
static uint64_t mra_limits_hash(const void *key, size_t len)
{
	uint64_t h = hash_bytes(key, len);
	return h ? h : 1;
}

struct mra_limits *mra_limits_new(unsigned workers, size_t entries)
{
	if (workers == 0 || workers > MRA_LIMITS_COLUMNS_MAX || entries < 4 ||
	    entries > UINT32_MAX / MRA_LIMITS_COLUMNS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	hash_init(); /* before the workers fork: they share the key */
	size_t hdr = (sizeof(struct mra_limits_hdr) + 63) & ~(size_t)63;
	size_t slots = entries * sizeof(struct mra_limits_slot);
	size_t counts = entries * workers * sizeof(uint32_t);
	size_t size = hdr + slots + counts;
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	struct mra_limits *l = xcalloc(1, sizeof *l);
	l->hdr = m;
	l->slots = (struct mra_limits_slot *)((char *)m + hdr);
	l->counts = (uint32_t *)((char *)m + hdr + slots);
	l->map_size = size;
	l->hdr->workers = workers;
	l->hdr->entries = (uint32_t)entries;
	for (size_t i = 0; i < MRA_LIMITS_COLUMNS_MAX / 64; i++)
		atomic_init(&l->hdr->gone[i], 0);
	pthread_mutexattr_t a;
	int r = pthread_mutexattr_init(&a);
	if (r == 0)
		r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (r == 0)
		r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (r == 0)
		r = pthread_mutex_init(&l->hdr->lock, &a);
	pthread_mutexattr_destroy(&a);
	if (r != 0) {
		munmap(m, size);
		free(l);
		errno = r;
		return NULL;
	}
	return l;
}

void mra_limits_free(struct mra_limits **lp)
{
	struct mra_limits *l = *lp;
	if (l == NULL)
		return;
	munmap(l->hdr, l->map_size);
	free(l);
	*lp = NULL;
}

static uint32_t *mra_limits_row(struct mra_limits *l, uint32_t i)
{
	return &l->counts[(size_t)i * l->hdr->workers];
}

static uint64_t mra_limits_total(struct mra_limits *l, uint32_t i)
{
	uint64_t t = 0;
	uint32_t *row = mra_limits_row(l, i);
	for (uint32_t w = 0; w < l->hdr->workers; w++)
		t += row[w];
	return t;
}

/* Removes entry i, moving later entries of its probe run back into the
   hole so that every key stays reachable from its home slot. */
static void mra_limits_delete(struct mra_limits *l, uint32_t i)
{
	uint32_t n = l->hdr->entries, w = l->hdr->workers;
	uint32_t hole = i;
	for (uint32_t j = (i + 1) % n; l->slots[j].hash != 0; j = (j + 1) % n) {
		uint32_t home = (uint32_t)(l->slots[j].hash % n);
		/* j may move to hole unless its home lies cyclically in
		   (hole, j] */
		bool stays = hole <= j ? (home > hole && home <= j)
				       : (home > hole || home <= j);
		if (stays)
			continue;
		l->slots[hole] = l->slots[j];
		memcpy(mra_limits_row(l, hole), mra_limits_row(l, j),
		       w * sizeof(uint32_t));
		hole = j;
	}
	l->slots[hole].hash = 0;
	memset(mra_limits_row(l, hole), 0, w * sizeof(uint32_t));
	l->hdr->used--;
}

/* Clears column c and drops the keys nobody counts any more.  A deletion
   fills the hole from later in the run, so slot i is looked at again. */
static void mra_limits_clear_column(struct mra_limits *l, unsigned c)
{
	uint32_t n = l->hdr->entries;
	for (uint32_t i = 0; i < n; i++)
		mra_limits_row(l, i)[c] = 0;
	for (uint32_t i = 0; i < n;) {
		if (l->slots[i].hash != 0 && mra_limits_total(l, i) == 0)
			mra_limits_delete(l, i);
		else
			i++;
	}
}

static int mra_limits_lock(struct mra_limits *l)
{
	int r = pthread_mutex_lock(&l->hdr->lock);
	if (r == EOWNERDEAD) {
		/* a worker died inside.  Its column is cleared through the
		   gone mask; at worst it left a key twice (killed in the
		   middle of a deletion), whose copies are dropped once
		   their counts are back to zero */
		log_warning("connection limits: lock owner died");
		r = pthread_mutex_consistent(&l->hdr->lock);
	}
	if (r != 0) {
		errno = r;
		return -1;
	}
	for (unsigned i = 0; i < MRA_LIMITS_COLUMNS_MAX / 64; i++) {
		uint64_t gone = atomic_exchange(&l->hdr->gone[i], 0);
		for (unsigned b = 0; gone != 0 && b < 64; b++)
			if ((gone & ((uint64_t)1 << b)) &&
			    i * 64 + b < l->hdr->workers)
				mra_limits_clear_column(l, i * 64 + b);
	}
	return 0;
}

static void mra_limits_unlock(struct mra_limits *l)
{
	(void)pthread_mutex_unlock(&l->hdr->lock);
}

/* Index of key, or -1 (*free_r: where it would go, or -1 when the probe
   run found no room). */
static int64_t mra_limits_find(struct mra_limits *l, const void *key,
			       size_t len, int64_t *free_r)
{
	uint32_t n = l->hdr->entries;
	uint64_t h = mra_limits_hash(key, len);
	uint32_t i = (uint32_t)(h % n);
	*free_r = -1;
	for (uint32_t k = 0; k < n; k++, i = (i + 1) % n) {
		struct mra_limits_slot *s = &l->slots[i];
		if (s->hash == 0) {
			*free_r = i;
			return -1;
		}
		if (s->hash == h && s->len == len &&
		    memcmp(s->key, key, len) == 0)
			return i;
	}
	return -1;
}

int mra_limits_attach(struct mra_limits *l, unsigned w)
{
	if (w >= l->hdr->workers) {
		errno = EINVAL;
		return -1;
	}
	l->me = w;
	if (mra_limits_lock(l) < 0)
		return -1;
	mra_limits_clear_column(l, w);
	mra_limits_unlock(l);
	return 0;
}

void mra_limits_worker_gone(struct mra_limits *l, unsigned w)
{
	if (w < MRA_LIMITS_COLUMNS_MAX)
		atomic_fetch_or(&l->hdr->gone[w / 64], (uint64_t)1 << (w % 64));
}

int mra_limits_acquire(struct mra_limits *l, const void *key, size_t len,
		       unsigned max)
{
	if (len > MRA_LIMITS_KEY_MAX)
		return -1;
	if (mra_limits_lock(l) < 0)
		return -1;
	int64_t fr;
	int64_t i = mra_limits_find(l, key, len, &fr);
	int ret = 1;
	if (i >= 0) {
		if (mra_limits_total(l, (uint32_t)i) >= max)
			ret = 0;
		else
			mra_limits_row(l, (uint32_t)i)[l->me]++;
	} else if (max == 0) {
		ret = 0;
	} else if (fr < 0 || (uint64_t)l->hdr->used * 4 >=
				 (uint64_t)l->hdr->entries * 3) {
		if (!l->hdr->full_warned)
			log_warning("connection limits: table full (%u keys), "
				    "not counting new ones",
				    l->hdr->used);
		l->hdr->full_warned = true;
		ret = -1;
	} else {
		struct mra_limits_slot *s = &l->slots[fr];
		s->hash = mra_limits_hash(key, len);
		s->len = (uint16_t)len;
		memcpy(s->key, key, len);
		mra_limits_row(l, (uint32_t)fr)[l->me] = 1;
		l->hdr->used++;
	}
	mra_limits_unlock(l);
	return ret;
}

void mra_limits_release(struct mra_limits *l, const void *key, size_t len)
{
	if (len > MRA_LIMITS_KEY_MAX || mra_limits_lock(l) < 0)
		return;
	int64_t fr;
	int64_t i = mra_limits_find(l, key, len, &fr);
	if (i >= 0) {
		uint32_t *c = &mra_limits_row(l, (uint32_t)i)[l->me];
		if (*c > 0)
			(*c)--;
		if (mra_limits_total(l, (uint32_t)i) == 0)
			mra_limits_delete(l, (uint32_t)i);
	}
	mra_limits_unlock(l);
}

unsigned mra_limits_count(struct mra_limits *l, const void *key, size_t len)
{
	if (len > MRA_LIMITS_KEY_MAX || mra_limits_lock(l) < 0)
		return 0;
	int64_t fr;
	int64_t i = mra_limits_find(l, key, len, &fr);
	uint64_t t = i >= 0 ? mra_limits_total(l, (uint32_t)i) : 0;
	mra_limits_unlock(l);
	return t > UINT32_MAX ? UINT32_MAX : (unsigned)t;
}
