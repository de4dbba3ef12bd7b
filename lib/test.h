/*
 * Minimal unit-test support: table-driven tests call test_assert() and the
 * program ends with test_end(), whose exit status is non-zero when any
 * assertion failed.  Each assertion prints its location on failure so a red
 * run points at the line.  Header-only so every test links it for free.
 */
#ifndef YOUJU_TEST_H
#define YOUJU_TEST_H

#include <stdio.h>
#include <stdlib.h>

static int test_failures_;
static int test_count_;
static const char *test_name_ = "";

static inline void test_begin(const char *name)
{
	test_name_ = name;
}

#define test_assert(cond)                                                      \
	do {                                                                   \
		test_count_++;                                                 \
		if (!(cond)) {                                                 \
			test_failures_++;                                      \
			fprintf(stderr, "FAIL %s: %s:%d: %s\n", test_name_,    \
				__FILE__, __LINE__, #cond);                    \
		}                                                              \
	} while (0)

/* Ends the test program: prints a summary, returns the exit status. */
static inline int test_end(void)
{
	fprintf(stderr, "%s: %d assertions, %d failed\n",
		test_failures_ ? "FAIL" : "ok", test_count_, test_failures_);
	return test_failures_ ? 1 : 0;
}

#endif
