/* Unit tests for the TTL cache (authd/cache.c). */
#include <stdlib.h>
#include <string.h>

#include "../../../authd/cache.h"
#include "test.h"

int main(void)
{
	struct cache *c = cache_new(3, &cache_string_ops);
	void *v;

	test_begin("positive");
	test_assert(cache_get(c, "k", 100, &v) == CACHE_MISS && v == NULL);
	cache_put(c, "k", "value", 1000, 100);
	test_assert(cache_get(c, "k", 1099, &v) == CACHE_HIT);
	test_assert(v != NULL && strcmp(v, "value") == 0);
	free(v);
	test_assert(cache_get(c, "k", 1100, &v) == CACHE_MISS);
	test_assert(cache_count(c) == 0);

	test_begin("negative");
	cache_put(c, "n", NULL, 500, 100);
	test_assert(cache_get(c, "n", 200, &v) == CACHE_NEGATIVE && v == NULL);
	cache_put(c, "n", "now", 500, 200);
	test_assert(cache_get(c, "n", 300, &v) == CACHE_HIT);
	free(v);
	cache_del(c, "n");
	test_assert(cache_get(c, "n", 300, &v) == CACHE_MISS);
	cache_put(c, "zero", "x", 0, 300);
	test_assert(cache_get(c, "zero", 300, &v) == CACHE_MISS);

	test_begin("bounded");
	cache_put(c, "a", "1", 100, 1000);
	cache_put(c, "b", "2", 1000, 1000);
	cache_put(c, "c", "3", 1000, 1000);
	test_assert(cache_count(c) == 3);
	/* "a" expired: swept to make room */
	cache_put(c, "d", "4", 1000, 1200);
	test_assert(cache_count(c) == 3);
	test_assert(cache_get(c, "b", 1200, &v) == CACHE_HIT);
	free(v);
	/* nothing expired: emptied */
	cache_put(c, "e", "5", 1000, 1300);
	test_assert(cache_count(c) == 1);
	test_assert(cache_get(c, "e", 1300, &v) == CACHE_HIT);
	free(v);
	cache_clear(c);
	test_assert(cache_count(c) == 0);
	cache_free(&c);
	test_assert(c == NULL);
	return test_end();
}
