/*
 * The literal8 APPEND conversion (mra/imap_binary): a message without NUL
 * is left alone, a single-part and a multipart message get their NUL
 * parts in base64 with the old Content-Transfer-Encoding dropped (folded
 * field included), other parts byte for byte, and a full buffer fails.
 */
#include <stdio.h>
#include <string.h>

#include "../../../mra/imap_binary.h"
#include "base64.h"
#include "test.h"

static void test_none(void)
{
	test_begin("none");
	struct buf b;
	buf_init(&b, 1 << 16);
	static const char m[] = "Subject: x\r\n\r\nno nul\r\n";
	test_assert(imap_binary_to_base64(m, sizeof m - 1, &b) == 0 &&
		    b.len == 0);
	test_assert(imap_binary_to_base64("", 0, &b) == 0 && b.len == 0);
	buf_deinit(&b);
}

static void test_single(void)
{
	test_begin("single");
	static const char m[] = "From: a@b\r\n"
				"Content-Transfer-Encoding: binary\r\n"
				"X-A: 1\r\n\r\n\0-\xe4\r\n\r\n";
	struct buf b;
	buf_init(&b, 1 << 16);
	test_assert(imap_binary_to_base64(m, sizeof m - 1, &b) == 1);
	char b64[32];
	test_assert(base64_encode("\0-\xe4\r\n\r\n", 7, b64, sizeof b64) == 0);
	char want[256];
	int n = snprintf(want, sizeof want,
			 "From: a@b\r\nX-A: 1\r\n"
			 "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n",
			 b64);
	test_assert(n > 0 && b.len == (size_t)n &&
		    memcmp(b.p, want, (size_t)n) == 0);
	buf_deinit(&b);
	/* full */
	buf_init(&b, 20);
	test_assert(imap_binary_to_base64(m, sizeof m - 1, &b) < 0);
	buf_deinit(&b);
}

static void test_multipart(void)
{
	test_begin("multipart");
	static const char m[] = "Content-Type: multipart/mixed; boundary=x\r\n"
				"\r\n--x\r\n\r\ntext\r\n"
				"--x\r\nContent-Transfer-Encoding:\r\n"
				" binary\r\n\r\nA\0B\r\n--x--\r\n";
	struct buf b;
	buf_init(&b, 1 << 16);
	test_assert(imap_binary_to_base64(m, sizeof m - 1, &b) == 1);
	const char *s = b.p;
	test_assert(memchr(s, '\0', b.len) == NULL);
	test_assert(strstr(s, "\r\n--x\r\n\r\ntext\r\n--x\r\n"
			      "Content-Transfer-Encoding: base64\r\n\r\n"
			      "QQBC\r\n\r\n--x--\r\n") != NULL);
	test_assert(strstr(s, " binary") == NULL);
	buf_deinit(&b);
}

int main(void)
{
	test_none();
	test_single();
	test_multipart();
	return test_end();
}
