/*
 * Alias expansion for LOOKUP rcpt (see resolve.h).  Loops are caught two
 * ways: the depth limit (authd_alias_max_depth, like Postfix's
 * virtual_alias_recursion_limit) and a cap on queries per lookup, so a wide
 * fan-out cannot turn one request into an exponential number of queries.
 */
#include "resolve.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "str.h"
#include "xalloc.h"

struct walk {
	const struct resolve_ops *ops;
	void *ctx;
	unsigned max_depth;
	unsigned queries;
	struct resolve_result *res;
};

void resolve_result_free(struct resolve_result *res)
{
	for (size_t i = 0; i < res->n; i++)
		free(res->targets[i].address);
	free(res->targets);
	memset(res, 0, sizeof(*res));
}

static enum authd_status add(struct walk *w, enum resolve_kind kind,
			     const char *address)
{
	struct resolve_result *r = w->res;
	for (size_t i = 0; i < r->n; i++) {
		if (strcasecmp(r->targets[i].address, address) == 0)
			return AUTHD_FOUND;
	}
	if (r->n >= RESOLVE_MAX_TARGETS) {
		r->error = "too many alias targets";
		return AUTHD_TEMPFAIL;
	}
	r->targets = xrealloc(r->targets, (r->n + 1) * sizeof(*r->targets));
	r->targets[r->n].kind = kind;
	r->targets[r->n].address = xstrdup(address);
	str_lower(r->targets[r->n].address);
	r->n++;
	return AUTHD_FOUND;
}

static bool budget(struct walk *w)
{
	if (++w->queries > RESOLVE_MAX_QUERIES) {
		w->res->error = "alias expansion needs too many lookups";
		return false;
	}
	return true;
}

static enum authd_status expand(struct walk *w, const char *addr,
				unsigned depth);

/* Expands a goto list; self is the alias's own address, or NULL. */
static enum authd_status expand_list(struct walk *w, const char *list,
				     const char *self, const char *orig_local,
				     unsigned depth)
{
	const char *p = list;
	while (*p != '\0') {
		size_t l = strcspn(p, ", \t\r\n");
		if (l > 0 && l < 512) {
			char t[1024];
			if (p[0] == '@' && orig_local != NULL) {
				/* catch-all to another domain: keep the
				   local part */
				size_t ol = strlen(orig_local);
				if (ol + l >= sizeof(t))
					goto next;
				memcpy(t, orig_local, ol);
				memcpy(t + ol, p, l);
				t[ol + l] = '\0';
			} else {
				memcpy(t, p, l);
				t[l] = '\0';
			}
			enum authd_status st;
			if (self != NULL && strcasecmp(t, self) == 0) {
				if (!budget(w))
					return AUTHD_TEMPFAIL;
				st = w->ops->mailbox(w->ctx, t);
				if (st == AUTHD_TEMPFAIL)
					return st;
				st = add(w,
					 st == AUTHD_FOUND ? RESOLVE_MAILBOX
							   : RESOLVE_UNKNOWN,
					 t);
			} else {
				st = expand(w, t, depth + 1);
			}
			if (st == AUTHD_TEMPFAIL)
				return st;
		}
	next:
		p += l;
		while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\r' ||
		       *p == '\n')
			p++;
	}
	return AUTHD_FOUND;
}

/* Adds the final targets of addr to w->res. */
static enum authd_status expand(struct walk *w, const char *addr,
				unsigned depth)
{
	if (depth > w->max_depth) {
		w->res->error = "alias nesting too deep (a loop?)";
		return AUTHD_TEMPFAIL;
	}
	const char *at = strrchr(addr, '@');
	if (at == NULL || at[1] == '\0')
		return add(w, RESOLVE_UNKNOWN, addr);
	if (!budget(w))
		return AUTHD_TEMPFAIL;
	enum authd_status st = w->ops->domain(w->ctx, at + 1);
	if (st == AUTHD_TEMPFAIL)
		return st;
	if (st == AUTHD_NOTFOUND)
		return add(w, RESOLVE_REMOTE, addr);

	char *list = NULL;
	if (!budget(w))
		return AUTHD_TEMPFAIL;
	st = w->ops->alias(w->ctx, addr, &list);
	if (st == AUTHD_TEMPFAIL)
		return st;
	if (st == AUTHD_FOUND) {
		st = expand_list(w, list, addr, NULL, depth);
		free(list);
		return st;
	}
	if (!budget(w))
		return AUTHD_TEMPFAIL;
	st = w->ops->mailbox(w->ctx, addr);
	if (st != AUTHD_NOTFOUND)
		return st == AUTHD_FOUND ? add(w, RESOLVE_MAILBOX, addr) : st;
	if (!budget(w))
		return AUTHD_TEMPFAIL;
	st = w->ops->alias(w->ctx, at, &list);
	if (st == AUTHD_TEMPFAIL)
		return st;
	if (st == AUTHD_FOUND) {
		char *local = xmemdup0(addr, (size_t)(at - addr));
		st = expand_list(w, list, NULL, local, depth);
		free(local);
		free(list);
		return st;
	}
	return add(w, RESOLVE_UNKNOWN, addr);
}

enum authd_status resolve_rcpt(const struct resolve_ops *ops, void *ctx,
			       const char *address, unsigned max_depth,
			       struct resolve_result *res_r)
{
	memset(res_r, 0, sizeof(*res_r));
	struct walk w = {ops, ctx, max_depth, 0, res_r};
	char *addr = xstrdup(address);
	str_lower(addr);
	const char *at = strrchr(addr, '@');
	enum authd_status st;
	if (at == NULL || at == addr || at[1] == '\0') {
		st = AUTHD_NOTFOUND;
		goto out;
	}
	st = expand(&w, addr, 0);
	if (st != AUTHD_FOUND)
		goto out;
	/* what did the top level turn into? */
	if (res_r->n == 1 && strcmp(res_r->targets[0].address, addr) == 0) {
		if (res_r->targets[0].kind == RESOLVE_MAILBOX) {
			/* could still be a self-alias: ask again */
			char *list = NULL;
			enum authd_status a = ops->alias(ctx, addr, &list);
			free(list);
			if (a == AUTHD_TEMPFAIL) {
				st = a;
				goto out;
			}
			res_r->is_alias = a == AUTHD_FOUND;
		} else {
			/* not hosted, or nothing there */
			st = AUTHD_NOTFOUND;
		}
	} else {
		res_r->is_alias = true;
	}
out:
	free(addr);
	return st;
}
