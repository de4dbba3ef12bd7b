/*
 * Looking into a compiled program without running it (see sieve.h,
 * sieve_redirects): what an administrator's console shows of a mailbox's
 * filter.  The walk recurses into blocks, never deeper than the parser's
 * SIEVE_DEPTH_MAX.
 */
#include <string.h>

#include "sieve_int.h"

static size_t walk(const struct sieve_node *v, size_t n, unsigned depth,
		   void (*fn)(void *, const char *, size_t, bool), void *ctx)
{
	size_t found = 0;
	if (depth > SIEVE_DEPTH_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct sieve_node *c = &v[i];
		if (c->cmd == SC_REDIRECT && c->l1 != NULL) {
			for (size_t k = 0; k < c->l1->n; k++) {
				fn(ctx, c->l1->v[k].p, c->l1->v[k].len,
				   c->copy);
				found++;
			}
		}
		if (c->has_block)
			found += walk(c->block, c->nblock, depth + 1, fn, ctx);
	}
	return found;
}

size_t sieve_redirects(const struct sieve_program *p,
		       void (*fn)(void *ctx, const char *addr, size_t len,
				  bool copy),
		       void *ctx)
{
	return walk(p->cmds, p->n, 0, fn, ctx);
}
