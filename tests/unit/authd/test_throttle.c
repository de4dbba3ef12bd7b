/* Unit tests for failure throttling (authd/throttle.c). */
#include <stdio.h>

#include "../../../authd/throttle.h"
#include "test.h"

int main(void)
{
	struct throttle *t = throttle_new(3, 4, 60000, 300000);
	uint64_t now = 1000000;

	test_begin("counting");
	test_assert(throttle_check(t, "u", now) == THROTTLE_OK);
	test_assert(throttle_check(t, "", now) == THROTTLE_OK);
	test_assert(throttle_fail(t, "", now) == THROTTLE_OK);
	test_assert(throttle_fail(t, "u", now) == THROTTLE_OK);
	test_assert(throttle_check(t, "u", now) == THROTTLE_OK);
	test_assert(throttle_fail(t, "u", now + 1) == THROTTLE_DELAY);
	test_assert(throttle_check(t, "u", now + 2) == THROTTLE_DELAY);
	test_assert(throttle_fail(t, "u", now + 3) == THROTTLE_DELAY);
	test_assert(throttle_fail(t, "u", now + 4) == THROTTLE_LOCKED);
	test_assert(throttle_check(t, "u", now + 5) == THROTTLE_LOCKED);
	test_assert(throttle_check(t, "u", now + 299999) == THROTTLE_LOCKED);
	test_assert(throttle_fail(t, "u", now + 6) == THROTTLE_LOCKED);
	/* the lockout ends: the key starts from zero */
	test_assert(throttle_check(t, "u", now + 4 + 300000) == THROTTLE_OK);
	test_assert(throttle_count(t) == 0);

	test_begin("window");
	test_assert(throttle_fail(t, "w", now) == THROTTLE_OK);
	test_assert(throttle_fail(t, "w", now + 1) == THROTTLE_DELAY);
	/* the window passes: counting starts again */
	test_assert(throttle_fail(t, "w", now + 60001) == THROTTLE_OK);
	test_assert(throttle_check(t, "w", now + 60002) == THROTTLE_OK);

	test_begin("reset");
	test_assert(throttle_fail(t, "w", now + 60003) == THROTTLE_DELAY);
	throttle_reset(t, "w");
	test_assert(throttle_check(t, "w", now + 60004) == THROTTLE_OK);
	throttle_reset(t, "nothing");

	test_begin("bounded");
	test_assert(throttle_fail(t, "a", now) == THROTTLE_OK);
	test_assert(throttle_fail(t, "b", now) == THROTTLE_OK);
	test_assert(throttle_fail(t, "c", now) == THROTTLE_OK);
	test_assert(throttle_count(t) == 3);
	/* full: a new key goes untracked */
	test_assert(throttle_fail(t, "d", now) == THROTTLE_OK);
	test_assert(throttle_fail(t, "d", now) == THROTTLE_OK);
	test_assert(throttle_count(t) == 3);
	/* after the window, stale entries are swept to make room */
	test_assert(throttle_fail(t, "d", now + 70000) == THROTTLE_OK);
	test_assert(throttle_count(t) == 1);

	test_begin("disabled");
	throttle_configure(t, 0, 1000, 1000);
	for (int i = 0; i < 10; i++)
		test_assert(throttle_fail(t, "z", now) == THROTTLE_OK);
	test_assert(throttle_check(t, "z", now) == THROTTLE_OK);
	throttle_clear(t);
	test_assert(throttle_count(t) == 0);
	throttle_free(&t);
	test_assert(t == NULL);

	test_begin("failures");
	t = throttle_new(10, 5, 60000, 300000);
	test_assert(throttle_failures(t, "ip", now) == 0);
	test_assert(throttle_failures(t, "", now) == 0);
	(void)throttle_fail(t, "ip", now);
	(void)throttle_fail(t, "ip", now + 1);
	test_assert(throttle_failures(t, "ip", now + 2) == 2);
	test_assert(throttle_failures(t, "ip\tu", now + 2) == 0);
	/* the window ends: counted from zero again */
	test_assert(throttle_failures(t, "ip", now + 60001) == 0);
	throttle_free(&t);

	test_begin("penalty");
	/* Dovecot: 2, 4, 8, then 15 s for ever */
	test_assert(throttle_penalty_ms(0, 2000, 15000) == 2000);
	test_assert(throttle_penalty_ms(1, 2000, 15000) == 4000);
	test_assert(throttle_penalty_ms(2, 2000, 15000) == 8000);
	test_assert(throttle_penalty_ms(3, 2000, 15000) == 15000);
	test_assert(throttle_penalty_ms(4000000000u, 2000, 15000) == 15000);
	test_assert(throttle_penalty_ms(5, 0, 15000) == 0);
	test_assert(throttle_penalty_ms(0, 1000, 1000) == 1000);
	test_assert(throttle_penalty_ms(3, 1000, 500) == 500);
	return test_end();
}
