/* lib/uidsearch: lower bound and exact find by UID over arrays of structs
   with the UID at any offset. */
#include <stddef.h>
#include <stdint.h>

#include "test.h"
#include "uidsearch.h"

struct at0 {
	uint32_t uid;
	char pad[5];
};

struct atend {
	uint64_t size;
	char c;
	uint32_t uid;
};

#define LB(a, n, type, u)                                                      \
	uidsearch_lower_bound((a), (n), sizeof(type), offsetof(type, uid), (u))
#define FIND(a, n, type, u)                                                    \
	uidsearch_find((a), (n), sizeof(type), offsetof(type, uid), (u))

int main(void)
{
	static const uint32_t uids[] = {2, 3, 7, 10, 11, 4000000000u};
	enum { N = sizeof uids / sizeof uids[0] };
	struct at0 a[N];
	struct atend b[N];
	for (size_t i = 0; i < N; i++) {
		a[i] = (struct at0){.uid = uids[i]};
		b[i] = (struct atend){.size = 99, .c = 'x', .uid = uids[i]};
	}
	static const struct {
		uint32_t uid;
		size_t lb, find;
	} cases[] = {
	    {0, 0, N},	{1, 0, N},	     {2, 0, 0},		 {3, 1, 1},
	    {4, 2, N},	{7, 2, 2},	     {8, 3, N},		 {11, 4, 4},
	    {12, 5, N}, {4000000000u, 5, 5}, {UINT32_MAX, N, N},
	};

	test_begin("uidsearch empty");
	test_assert(uidsearch_lower_bound(NULL, 0, sizeof a[0], 0, 5) == 0);
	test_assert(uidsearch_find(NULL, 0, sizeof a[0], 0, 5) == 0);

	test_begin("uidsearch uid first");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		test_assert(LB(a, N, struct at0, cases[i].uid) == cases[i].lb);
		test_assert(FIND(a, N, struct at0, cases[i].uid) ==
			    cases[i].find);
	}

	test_begin("uidsearch uid last");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		test_assert(LB(b, N, struct atend, cases[i].uid) ==
			    cases[i].lb);
		test_assert(FIND(b, N, struct atend, cases[i].uid) ==
			    cases[i].find);
	}

	test_begin("uidsearch one element and every prefix");
	for (size_t n = 1; n <= N; n++) {
		test_assert(FIND(b, n, struct atend, uids[n - 1]) == n - 1);
		test_assert(LB(b, n, struct atend, uids[n - 1] + 1) == n);
		test_assert(FIND(b, n, struct atend, uids[n - 1] + 1) == n);
	}
	return test_end();
}
