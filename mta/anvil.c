/*
 * Client connection counts and rates (see anvil.h).  A hash table with
 * chaining; an entry lives while the client has sessions open or its rate
 * window is still running, and idle entries are dropped as they are met.
 * The rate is a fixed window starting at the client's first connection in
 * it, as Postfix's anvil counts.
 */
#include "anvil.h"

#include <stdbool.h>
#include <string.h>

#include "hash.h"
#include "net.h"
#include "xalloc.h"

#define ANVIL_BUCKETS 4096

struct anvil_ent {
	struct anvil_ent *next;
	char addr[NET_ADDR_MAX];
	unsigned count;
	unsigned rate;
	uint64_t window_start;
	uint64_t window_len;
};

struct anvil {
	struct anvil_ent *b[ANVIL_BUCKETS];
	size_t n;
};

/* keyed (lib/hash): client addresses must not be able to pick a bucket */
static unsigned hash(const char *s)
{
	return (unsigned)(hash_str(s) % ANVIL_BUCKETS);
}

struct anvil *anvil_new(void)
{
	return xcalloc(1, sizeof(struct anvil));
}

void anvil_free(struct anvil **pa)
{
	struct anvil *a = *pa;
	if (a == NULL)
		return;
	for (size_t i = 0; i < ANVIL_BUCKETS; i++) {
		while (a->b[i] != NULL) {
			struct anvil_ent *e = a->b[i];
			a->b[i] = e->next;
			free(e);
		}
	}
	free(a);
	*pa = NULL;
}

static struct anvil_ent *find(struct anvil *a, const char *addr, uint64_t now,
			      bool create)
{
	struct anvil_ent **pp = &a->b[hash(addr)];
	while (*pp != NULL) {
		struct anvil_ent *e = *pp;
		if (strcmp(e->addr, addr) == 0)
			return e;
		if (e->count == 0 && now >= e->window_start + e->window_len) {
			*pp = e->next; /* idle: drop */
			free(e);
			a->n--;
			continue;
		}
		pp = &e->next;
	}
	if (!create || a->n >= ANVIL_MAX_CLIENTS)
		return NULL;
	struct anvil_ent *e = xcalloc(1, sizeof(*e));
	size_t l = strlen(addr);
	if (l >= sizeof(e->addr))
		l = sizeof(e->addr) - 1;
	memcpy(e->addr, addr, l);
	*pp = e;
	a->n++;
	return e;
}

void anvil_connect(struct anvil *a, const char *addr, uint64_t now,
		   uint64_t unit_ms, unsigned *count_r, unsigned *rate_r)
{
	struct anvil_ent *e = find(a, addr, now, true);
	if (e == NULL) {
		*count_r = *rate_r = 1;
		return;
	}
	/* the current unit decides (it may have changed on reload) */
	e->window_len = unit_ms;
	if (e->rate == 0 || now >= e->window_start + unit_ms) {
		e->window_start = now;
		e->rate = 0;
	}
	e->count++;
	e->rate++;
	*count_r = e->count;
	*rate_r = e->rate;
}

void anvil_disconnect(struct anvil *a, const char *addr)
{
	struct anvil_ent *e = find(a, addr, 0, false);
	if (e != NULL && e->count > 0)
		e->count--;
}
