/*
 * Binary search by UID over an array of structs kept in ascending UID
 * order: a folder's messages, the pending entries of a cache, a saved
 * search.  One lower bound serves them all, so the rule (first element
 * whose UID is not below the one sought) is written once.
 */
#ifndef YOUJU_UIDSEARCH_H
#define YOUJU_UIDSEARCH_H

#include <stddef.h>
#include <stdint.h>

/*
 * The index of the first of the n elements at base (each size bytes, in
 * ascending order of the uint32_t at byte offset off) whose UID is >= uid,
 * or n when none is.  O(log n); base may be NULL when n is 0.
 */
size_t uidsearch_lower_bound(const void *base, size_t n, size_t size,
			     size_t off, uint32_t uid);

/* The index of the element whose UID is uid, or n when there is none. */
size_t uidsearch_find(const void *base, size_t n, size_t size, size_t off,
		      uint32_t uid);

#endif
