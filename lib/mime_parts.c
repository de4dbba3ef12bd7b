/*
 * Part numbering (mime_parts.h): the walk that hands out the numbers and
 * the lookup that takes one back, side by side so they cannot drift.
 */
#include "mime_parts.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "str.h"

static void mime_parts_children(const struct mime_part *p, const char *prefix,
				void (*fn)(void *, const struct mime_part *,
					   const char *),
				void *ctx)
{
	size_t i = 1;
	for (const struct mime_part *c = p->children; c != NULL;
	     c = c->next, i++) {
		char spec[MIME_SPEC_MAX];
		int n = prefix[0] != '\0'
			    ? snprintf(spec, sizeof spec, "%s.%zu", prefix, i)
			    : snprintf(spec, sizeof spec, "%zu", i);
		if (n < 0 || (size_t)n >= sizeof spec)
			return;
		if (c->kind == MIME_MULTIPART)
			mime_parts_children(c, spec, fn, ctx);
		else
			fn(ctx, c, spec);
	}
}

void mime_parts_walk(const struct mime_part *root,
		     void (*fn)(void *ctx, const struct mime_part *p,
				const char *spec),
		     void *ctx)
{
	if (root->kind == MIME_MULTIPART)
		mime_parts_children(root, "", fn, ctx);
	else
		fn(ctx, root, "1");
}

const struct mime_part *mime_parts_find(const struct mime_part *root,
					const char *spec)
{
	const struct mime_part *p = root;
	const char *s = spec;
	if (root->kind != MIME_MULTIPART)
		return strcmp(spec, "1") == 0 ? root : NULL;
	while (*s != '\0') {
		if (p->kind != MIME_MULTIPART)
			return NULL;
		uint64_t k = 0;
		size_t len = strspn(s, "0123456789");
		if (len == 0 || len > 6)
			return NULL;
		char num[8];
		memcpy(num, s, len);
		num[len] = '\0';
		if (str_parse_u64(num, 1, MIME_PARTS_MAX, &k) < 0)
			return NULL;
		const struct mime_part *c = p->children;
		for (uint64_t i = 1; c != NULL && i < k; i++)
			c = c->next;
		if (c == NULL)
			return NULL;
		p = c;
		s += len;
		if (*s == '.')
			s++;
		else if (*s != '\0')
			return NULL;
	}
	return p;
}
