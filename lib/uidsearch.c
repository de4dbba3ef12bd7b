/*
 * Lower bound by UID (see uidsearch.h).  The UID is read with memcpy so
 * that any struct layout works without casts through misaligned pointers.
 */
#include "uidsearch.h"

#include <string.h>

static uint32_t uidsearch_at(const void *base, size_t i, size_t size,
			     size_t off)
{
	uint32_t u;
	memcpy(&u, (const char *)base + i * size + off, sizeof u);
	return u;
}

size_t uidsearch_lower_bound(const void *base, size_t n, size_t size,
			     size_t off, uint32_t uid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uidsearch_at(base, mid, size, off) < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t uidsearch_find(const void *base, size_t n, size_t size, size_t off,
		      uint32_t uid)
{
	size_t k = uidsearch_lower_bound(base, n, size, off, uid);
	return k < n && uidsearch_at(base, k, size, off) == uid ? k : n;
}
