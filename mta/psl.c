/*
 * The Public Suffix List (see psl.h).  Rules are kept as they are written
 * in the list ("example", "*.example", "!www.example"), lower-cased, in
 * one sorted array: a lookup tries, for each suffix of the domain, the
 * exception, the plain rule and the wildcard one level up, with bsearch.
 * The list is about 10,000 rules; loading it takes a few milliseconds and
 * happens once per process.
 */
#include "psl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

/* the list file is about 250 KB; refuse anything absurd */
#define PSL_FILE_MAX (16u << 20)

struct psl {
	char **rules;
	size_t n;
};

static int cmp_rule(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A rule is labels separated by single dots; "*." only as the first
   label, "!" only first; no NUL, no control bytes, no blank. */
static bool rule_ok(const char *r, size_t n)
{
	if (n == 0 || n > PSL_NAME_MAX)
		return false;
	size_t i = 0;
	if (r[0] == '!')
		i = 1;
	else if (n >= 2 && r[0] == '*' && r[1] == '.')
		i = 2;
	if (i >= n || r[i] == '.' || r[n - 1] == '.')
		return false;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)r[i];
		if (c <= ' ' || c == 0x7f || c == '!' || c == '*')
			return false;
		if (c == '.' && r[i + 1] == '.')
			return false;
	}
	return true;
}

struct psl *psl_parse(const char *data, size_t len)
{
	struct psl *l = xcalloc(1, sizeof(*l));
	size_t cap = 0;
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		/* the rule is the line's first word */
		const char *w = p;
		while (w < le && (*w == ' ' || *w == '\t'))
			w++;
		const char *we = w;
		while (we < le && *we != ' ' && *we != '\t' && *we != '\r')
			we++;
		size_t wn = (size_t)(we - w);
		p = nl ? nl + 1 : end;
		if (wn == 0 || (wn >= 2 && w[0] == '/' && w[1] == '/'))
			continue;
		if (memchr(w, '\0', wn) != NULL || !rule_ok(w, wn))
			continue;
		if (l->n >= PSL_RULES_MAX)
			break;
		if (l->n == cap) {
			cap = cap ? cap * 2 : 1024;
			l->rules = xrealloc(l->rules, cap * sizeof(*l->rules));
		}
		char *r = xmemdup0(w, wn);
		for (size_t i = 0; i < wn; i++)
			r[i] = lower(r[i]);
		l->rules[l->n++] = r;
	}
	if (l->n > 1)
		qsort(l->rules, l->n, sizeof(*l->rules), cmp_rule);
	return l;
}

struct psl *psl_load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)PSL_FILE_MAX) {
		if (errno == 0 || S_ISREG(st.st_mode))
			errno = EFBIG;
		close(fd);
		return NULL;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *b = xmalloc(size + 1);
	while (got < size) {
		ssize_t r = read(fd, b + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	struct psl *l = psl_parse(b, got);
	free(b);
	if (l->n == 0) {
		psl_free(&l);
		errno = ENOENT;
	}
	return l;
}

size_t psl_count(const struct psl *l)
{
	return l ? l->n : 0;
}

void psl_free(struct psl **lp)
{
	struct psl *l = *lp;
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->rules[i]);
	free(l->rules);
	free(l);
	*lp = NULL;
}

/* Is prefix + s (s of n bytes) a rule? */
static bool has(const struct psl *l, const char *prefix, const char *s,
		size_t n)
{
	char key[PSL_NAME_MAX + 3];
	size_t pl = strlen(prefix);
	if (pl + n >= sizeof(key))
		return false;
	memcpy(key, prefix, pl);
	memcpy(key + pl, s, n);
	key[pl + n] = '\0';
	const char *k = key;
	return bsearch(&k, l->rules, l->n, sizeof(*l->rules), cmp_rule) != NULL;
}

size_t psl_org_domain(const struct psl *l, const char *domain, char *out,
		      size_t outsz)
{
	char d[PSL_NAME_MAX + 1];
	size_t n = strlen(domain);
	while (n > 0 && domain[n - 1] == '.')
		n--;
	if (outsz == 0)
		return 0;
	out[0] = '\0';
	if (n > PSL_NAME_MAX) {
		if (n >= outsz)
			return 0;
		for (size_t i = 0; i < n; i++)
			out[i] = lower(domain[i]);
		out[n] = '\0';
		return n;
	}
	for (size_t i = 0; i < n; i++)
		d[i] = lower(domain[i]);
	d[n] = '\0';
	/* label starts, left to right */
	size_t start[PSL_NAME_MAX / 2 + 2], k = 0;
	start[k++] = 0;
	for (size_t i = 0; i < n; i++)
		if (d[i] == '.' && k < sizeof(start) / sizeof(start[0]))
			start[k++] = i + 1;
	/* the public suffix's number of labels */
	size_t ps = 1, exc = 0;
	for (size_t i = 0; i < k && l != NULL && l->n > 0; i++) {
		const char *s = d + start[i];
		size_t sl = n - start[i], labels = k - i;
		if (exc == 0 && has(l, "!", s, sl))
			exc = labels - 1;
		if (labels > ps && has(l, "", s, sl))
			ps = labels;
		if (i + 1 < k && labels > ps &&
		    has(l, "*.", d + start[i + 1], n - start[i + 1]))
			ps = labels;
	}
	if (exc > 0)
		ps = exc;
	size_t from = ps < k ? start[k - ps - 1] : 0;
	size_t len = n - from;
	if (len >= outsz)
		return 0;
	memcpy(out, d + from, len);
	out[len] = '\0';
	return len;
}
