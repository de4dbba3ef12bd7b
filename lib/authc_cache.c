/*
 * The clients' cache of youju-authd's LOOKUP answers (see authc_cache.h).
 * A chained hash table over a fixed array of slots under one mutex,
 * evicted by a clock hand (an entry hit since the hand last passed gets a
 * second chance).  Validity is checked at every hit: before its expiry
 * (authd's own, sent as TTL=) and under the generation authd publishes.
 *
 * The generation file is mapped read-only once and checked again (a
 * stat() of its name) only on a miss, which then costs a round trip to
 * authd anyway: authd keeps the file in place across restarts and bumps
 * it, so a mapping seldom goes stale; one replaced by hand (the run
 * directory wiped) is noticed at the next miss, and until then no entry
 * outlives its TTL.
 */
#include "authc_cache.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "hash.h"
#include "xalloc.h"

#define NBUCKETS     (2 * AUTHC_CACHE_MAX)
#define GEN_PATH_MAX 4200

struct centry {
	char *key; /* NULL: slot free */
	size_t klen;
	char *body;
	size_t blen;
	uint64_t gen, epoch;
	int64_t exp_ms;
	int32_t next; /* in its bucket's chain, -1: end */
	uint32_t bucket;
	bool ref;
};

static bool cache_on;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct centry *slots; /* AUTHC_CACHE_MAX, made at first put */
static int32_t *buckets;
static size_t hand, count;
static uint64_t hits;

/* the generation file of the socket the entries came from */
static char gen_sock[GEN_PATH_MAX];
static const unsigned char *gen_map; /* AUTHC_GEN_SIZE bytes, or NULL */
static dev_t gen_dev;
static ino_t gen_ino;
static uint64_t gen_epoch;

/* A fork() while another thread holds the lock (a delivery thread's
   lookup) must not leave the child a lock nobody will release. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&cache_lock);
}

static void fork_after(void)
{
	pthread_mutex_unlock(&cache_lock);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_init(void)
{
	if (pthread_atfork(fork_prepare, fork_after, fork_after) != 0)
		abort();
}

void authc_cache_enable(bool on)
{
	pthread_once(&atfork_once, atfork_init);
	cache_on = on;
}

bool authc_cache_enabled(void)
{
	return cache_on;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t gen_load(void)
{
	/* the counter is 8-aligned in a page-aligned mapping */
	const uint64_t *g =
	    (const uint64_t *)(const void *)(gen_map + AUTHC_GEN_OFFSET);
	return __atomic_load_n(g, __ATOMIC_ACQUIRE);
}

static void slot_drop(size_t i)
{
	struct centry *e = &slots[i];
	int32_t *pp = &buckets[e->bucket];
	while (*pp != (int32_t)i)
		pp = &slots[*pp].next;
	*pp = e->next;
	free(e->key);
	free(e->body);
	memset(e, 0, sizeof(*e));
	e->next = -1;
	count--;
}

static void drop_all_locked(void)
{
	if (slots == NULL)
		return;
	for (size_t i = 0; i < AUTHC_CACHE_MAX; i++) {
		if (slots[i].key != NULL)
			slot_drop(i);
	}
}

static void unmap_locked(void)
{
	if (gen_map != NULL)
		(void)munmap((void *)gen_map, AUTHC_GEN_SIZE);
	gen_map = NULL;
	gen_epoch++;
	drop_all_locked();
}

/* Maps socket_path's generation file when it is not mapped, or is no
   longer the file at that name.  The entries go with an old mapping. */
static void gen_check_locked(const char *socket_path)
{
	char path[GEN_PATH_MAX];
	size_t sl = strlen(socket_path);
	if (sl + sizeof(AUTHC_GEN_SUFFIX) > sizeof(path)) {
		unmap_locked();
		return;
	}
	memcpy(path, socket_path, sl);
	memcpy(path + sl, AUTHC_GEN_SUFFIX, sizeof(AUTHC_GEN_SUFFIX));
	struct stat st;
	if (gen_map != NULL && strcmp(gen_sock, socket_path) == 0 &&
	    stat(path, &st) == 0 && st.st_dev == gen_dev &&
	    st.st_ino == gen_ino)
		return;
	unmap_locked();
	memcpy(gen_sock, socket_path, sl + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	void *m = MAP_FAILED;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= AUTHC_GEN_SIZE)
		m = mmap(NULL, AUTHC_GEN_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return;
	if (memcmp(m, AUTHC_GEN_MAGIC, AUTHC_GEN_MAGIC_LEN) != 0) {
		(void)munmap(m, AUTHC_GEN_SIZE);
		return;
	}
	gen_map = m;
	gen_dev = st.st_dev;
	gen_ino = st.st_ino;
}

static uint32_t bucket_of(const char *key, size_t klen)
{
	return (uint32_t)(hash_bytes(key, klen) % NBUCKETS);
}

static int32_t find_locked(const char *key, size_t klen, uint32_t b)
{
	int32_t i = buckets[b];
	while (i >= 0 &&
	       (slots[i].klen != klen || memcmp(slots[i].key, key, klen) != 0))
		i = slots[i].next;
	return i;
}

bool authc_cache_get(const char *socket_path, const char *key, size_t key_len,
		     struct buf *out, struct authc_cache_token *tok_r)
{
	bool hit = false;
	int64_t now = mono_ms();
	pthread_mutex_lock(&cache_lock);
	if (slots != NULL && gen_map != NULL &&
	    strcmp(gen_sock, socket_path) == 0) {
		uint32_t b = bucket_of(key, key_len);
		int32_t i = find_locked(key, key_len, b);
		if (i >= 0) {
			struct centry *e = &slots[i];
			if (now < e->exp_ms && e->epoch == gen_epoch &&
			    e->gen == gen_load() &&
			    buf_append(out, e->body, e->blen) == 0) {
				e->ref = true;
				hits++;
				hit = true;
			} else {
				slot_drop((size_t)i);
			}
		}
	}
	if (!hit) {
		gen_check_locked(socket_path);
		tok_r->ok = gen_map != NULL;
		tok_r->gen = gen_map != NULL ? gen_load() : 0;
		tok_r->epoch = gen_epoch;
		tok_r->t_ms = now;
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

/* A slot for a new entry: a free one, else the clock's victim. */
static size_t slot_take_locked(void)
{
	for (;;) {
		size_t i = hand;
		hand = (hand + 1) % AUTHC_CACHE_MAX;
		struct centry *e = &slots[i];
		if (e->key == NULL)
			return i;
		if (e->ref) {
			e->ref = false;
			continue;
		}
		slot_drop(i);
		return i;
	}
}

void authc_cache_put(const char *socket_path,
		     const struct authc_cache_token *tok, const char *key,
		     size_t key_len, uint64_t ttl_ms, const char *body,
		     size_t len)
{
	if (!tok->ok || ttl_ms == 0 || len == 0 || len > AUTHC_CACHE_BODY_MAX)
		return;
	if (ttl_ms > AUTHC_CACHE_TTL_MAX_MS)
		ttl_ms = AUTHC_CACHE_TTL_MAX_MS;
	char *k = xmemdup0(key, key_len);
	char *v = xmemdup0(body, len);
	pthread_mutex_lock(&cache_lock);
	if (gen_map == NULL || tok->epoch != gen_epoch ||
	    strcmp(gen_sock, socket_path) != 0 || tok->gen != gen_load()) {
		/* changed while the request was out: the answer may be
		   older than the change */
		pthread_mutex_unlock(&cache_lock);
		free(k);
		free(v);
		return;
	}
	if (slots == NULL) {
		slots = xcalloc(AUTHC_CACHE_MAX, sizeof(*slots));
		buckets = xmalloc(NBUCKETS * sizeof(*buckets));
		for (size_t i = 0; i < NBUCKETS; i++)
			buckets[i] = -1;
		for (size_t i = 0; i < AUTHC_CACHE_MAX; i++)
			slots[i].next = -1;
	}
	uint32_t b = bucket_of(k, key_len);
	int32_t old = find_locked(k, key_len, b);
	if (old >= 0)
		slot_drop((size_t)old);
	size_t i = slot_take_locked();
	struct centry *e = &slots[i];
	e->key = k;
	e->klen = key_len;
	e->body = v;
	e->blen = len;
	e->gen = tok->gen;
	e->epoch = tok->epoch;
	e->exp_ms = tok->t_ms + (int64_t)ttl_ms;
	e->bucket = b;
	e->ref = false;
	e->next = buckets[b];
	buckets[b] = (int32_t)i;
	count++;
	pthread_mutex_unlock(&cache_lock);
}

long authc_reply_ttl(const char *p, size_t len, uint64_t *ttl_ms_r, bool *bad_r)
{
	*ttl_ms_r = 0;
	*bad_r = false;
	/* nothing yet (p may then be NULL: an empty buffer) is "more to
	   come", as is any beginning of "TTL=" */
	if (len < 4)
		return len == 0 || memcmp(p, "TTL=", len) == 0 ? -1 : 0;
	if (memcmp(p, "TTL=", 4) != 0)
		return 0;
	uint64_t v = 0;
	size_t i = 4;
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		if (i - 4 >= 10) {
			*bad_r = true;
			return -1;
		}
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (i == len)
		return -1; /* more to come */
	if (i == 4 || p[i] != '\n') {
		*bad_r = true;
		return -1;
	}
	*ttl_ms_r = v;
	return (long)(i + 1);
}

size_t authc_cache_count(void)
{
	pthread_mutex_lock(&cache_lock);
	size_t n = count;
	pthread_mutex_unlock(&cache_lock);
	return n;
}

uint64_t authc_cache_hits(void)
{
	pthread_mutex_lock(&cache_lock);
	uint64_t n = hits;
	pthread_mutex_unlock(&cache_lock);
	return n;
}

void authc_cache_reset(void)
{
	pthread_mutex_lock(&cache_lock);
	unmap_locked();
	gen_sock[0] = '\0';
	pthread_mutex_unlock(&cache_lock);
}
