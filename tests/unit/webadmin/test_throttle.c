/*
 * Unit tests for webadmin/throttle: the per-account and per-client
 * limits, a success clearing the account, a limit of 0 turning a table
 * off, empty keys, and the lockout ending.
 */
#include <unistd.h>

#include "../../../webadmin/throttle.h"
#include "test.h"

int main(void)
{
	test_begin("throttle");
	struct wa_throttle *t = wa_throttle_new(3, 5, 60, 1);
	test_assert(!wa_throttle_locked(t, "a", "1.1.1.1"));
	wa_throttle_fail(t, "a", "1.1.1.1");
	wa_throttle_fail(t, "a", "1.1.1.1");
	test_assert(!wa_throttle_locked(t, "a", "1.1.1.1"));
	wa_throttle_ok(t, "a"); /* a success forgets the account's count */
	wa_throttle_fail(t, "a", "1.1.1.1");
	wa_throttle_fail(t, "a", "1.1.1.1");
	test_assert(!wa_throttle_locked(t, "a", "2.2.2.2"));
	wa_throttle_fail(t, "a", "2.2.2.2"); /* third for a */
	test_assert(wa_throttle_locked(t, "a", "3.3.3.3"));
	test_assert(!wa_throttle_locked(t, "b", "3.3.3.3"));
	/* 1.1.1.1 has 4 failures; the fifth locks it for any account */
	wa_throttle_fail(t, "c", "1.1.1.1");
	test_assert(wa_throttle_locked(t, "d", "1.1.1.1"));
	test_assert(!wa_throttle_locked(t, "d", ""));
	sleep(2); /* lockout 1 s */
	test_assert(!wa_throttle_locked(t, "a", "1.1.1.1"));
	wa_throttle_free(&t);
	test_assert(t == NULL);

	/* 0: that table off; empty keys never count */
	t = wa_throttle_new(0, 2, 60, 60);
	for (int i = 0; i < 10; i++)
		wa_throttle_fail(t, "x", "");
	test_assert(!wa_throttle_locked(t, "x", "9.9.9.9"));
	wa_throttle_fail(t, "", "9.9.9.9");
	wa_throttle_fail(t, "", "9.9.9.9");
	test_assert(wa_throttle_locked(t, "y", "9.9.9.9"));
	/* many keys: the table stays bounded and still works */
	char k[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof k, "u%d", i);
		wa_throttle_fail(t, k, "");
	}
	test_assert(wa_throttle_locked(t, "y", "9.9.9.9"));
	wa_throttle_free(&t);
	return test_end();
}
