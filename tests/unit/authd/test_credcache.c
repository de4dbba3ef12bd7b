/* Unit tests for authd/credcache: what a remembered login does and does
   not let through. */
#include "../../../authd/credcache.h"
#include "test.h"

int main(void)
{
	const char *h1 = "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0";
	const char *h2 = "$6$abc$def";

	test_begin("init");
	test_assert(credcache_init() == 0);

	test_begin("nothing remembered");
	test_assert(!credcache_check("u@d", h1, "extmail", 1000));

	test_begin("remembered success");
	credcache_remember("u@d", h1, "extmail", 5000, 1000);
	test_assert(credcache_check("u@d", h1, "extmail", 1001));
	test_assert(credcache_check("u@d", h1, "extmail", 5999));

	test_begin("another password, hash, user, or expired: miss");
	test_assert(!credcache_check("u@d", h1, "extmail ", 2000));
	test_assert(!credcache_check("u@d", h1, "", 2000));
	test_assert(!credcache_check("u@d", h2, "extmail", 2000));
	test_assert(!credcache_check("v@d", h1, "extmail", 2000));
	test_assert(!credcache_check("u@d", h1, "extmail", 6001));

	test_begin("stored and password are not confused at the boundary");
	credcache_remember("w@d", "ab", "c", 5000, 1000);
	test_assert(!credcache_check("w@d", "a", "bc", 1001));
	test_assert(credcache_check("w@d", "ab", "c", 1001));

	test_begin("ttl 0 remembers nothing; clear forgets");
	credcache_remember("x@d", h1, "pw", 0, 1000);
	test_assert(!credcache_check("x@d", h1, "pw", 1000));
	credcache_remember("x@d", h1, "pw", 5000, 1000);
	credcache_clear();
	test_assert(!credcache_check("x@d", h1, "pw", 1001));

	test_begin("over-long input is not cached");
	static char big[5000];
	for (size_t i = 0; i < sizeof big - 1; i++)
		big[i] = 'a';
	credcache_remember("y@d", h1, big, 5000, 1000);
	test_assert(!credcache_check("y@d", h1, big, 1001));

	credcache_deinit();
	return test_end();
}
