/* Unit tests for lib/qfile: the trailing records the envelope tests in
   tests/unit/mta/test_delivery.c do not cover (W, B, Y), message offsets
   and queue ID syntax. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qfile.h"
#include "test.h"

static const char base[] = "YOUJU-QUEUE 2\n"
			   "I 6B00CFEBA5790000\n"
			   "T 1763679339\n"
			   "S \n"
			   "R x@extmail.org\n"
			   "R y@extmail.org\n"
			   "M 00000000000000000003\n"
			   "hi\n"
			   "\nE\n";

/* only queue IDs, sorted */
static void test_list_ids(void)
{
	test_begin("list ids");
	char dir[] = "/tmp/test_qfile.XXXXXX";
	test_assert(mkdtemp(dir) != NULL);
	static const char *const names[] = {
	    "00000000000000B2", "00000000000000A1", "not-an-id",
	    "00000000000000a1", "00000000000000C3.tmp"};
	char path[256];
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "w");
		test_assert(f != NULL);
		if (f != NULL)
			fclose(f);
	}
	size_t n;
	char **ids = qfile_list_ids(dir, &n);
	test_assert(ids != NULL && n == 2);
	test_assert(n == 2 && strcmp(ids[0], "00000000000000A1") == 0 &&
		    strcmp(ids[1], "00000000000000B2") == 0);
	qfile_ids_free(ids, n);
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	test_assert(qfile_list_ids(dir, &n) == NULL && n == 0 &&
		    errno == ENOENT);
}

int main(void)
{
	struct qfile qf;
	test_list_ids();
	const char *err = "";
	char buf[1024];

	test_begin("W B Y records");
	int n = snprintf(buf, sizeof(buf),
			 "%sW y@extmail.org first\nB 300\nW y@extmail.org "
			 "host said: 451 later\nB 600\nY 1763679400\nZ new\n"
			 "W nobody@x ignored\nB 9",
			 base);
	test_assert(qfile_parse(buf, (size_t)n, &qf, &err) == 0);
	test_assert(qf.rcpts[0].why == NULL);
	test_assert(qf.rcpts[1].why != NULL &&
		    strcmp(qf.rcpts[1].why, "host said: 451 later") == 0);
	test_assert(qf.backoff == 600); /* the partial "B 9" is ignored */
	test_assert(qf.warned == 1763679400);
	test_assert(qf.msg_off == strlen(base) - 6 && qf.msg_len == 3);
	test_assert(memcmp(buf + qf.msg_off, "hi\n", 3) == 0);
	qfile_free(&qf);

	test_begin("bad B and Y records");
	n = snprintf(buf, sizeof(buf), "%sB x\n", base);
	test_assert(qfile_parse(buf, (size_t)n, &qf, &err) < 0);
	qfile_free(&qf);
	n = snprintf(buf, sizeof(buf), "%sY -1\n", base);
	test_assert(qfile_parse(buf, (size_t)n, &qf, &err) < 0);
	qfile_free(&qf);

	test_begin("queue IDs");
	test_assert(qfile_is_id("6B00CFEBA5790000"));
	test_assert(!qfile_is_id("6B00CFEBA579000"));
	test_assert(!qfile_is_id("6B00CFEBA57900000"));
	test_assert(!qfile_is_id("6b00cfeba5790000"));
	test_assert(!qfile_is_id(""));
	test_assert(!qfile_is_id("6B00CFEBA579000G"));
	return test_end();
}
