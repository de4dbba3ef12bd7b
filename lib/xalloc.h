/*
 * Allocation wrappers that abort on out-of-memory (the "x" prefix, STYLE.md):
 * callers never handle NULL.  Sizes that come from a peer must be checked
 * against a limit before they get here.
 */
#ifndef YOUJU_XALLOC_H
#define YOUJU_XALLOC_H

#include <stddef.h>
#include <stdlib.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Copies n bytes and appends a NUL. */
char *xmemdup0(const void *p, size_t n);

#endif
