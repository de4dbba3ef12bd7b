/* Unit tests for lib/buf: limits, binary safety, consume, printf. */
#include <string.h>

#include "buf.h"
#include "test.h"

int main(void)
{
	struct buf b;

	test_begin("empty");
	buf_init(&b, 8);
	test_assert(b.len == 0);
	test_assert(strcmp(buf_cstr(&b), "") == 0);
	test_assert(buf_room(&b) == 8);
	test_assert(buf_append(&b, "", 0) == 0);
	buf_deinit(&b);

	test_begin("maximum and maximum+1");
	buf_init(&b, 8);
	test_assert(buf_append(&b, "12345678", 8) == 0);
	test_assert(b.len == 8 && b.p[8] == '\0');
	test_assert(buf_append_char(&b, 'x') == -1);
	test_assert(b.len == 8 && memcmp(b.p, "12345678", 8) == 0);
	buf_reset(&b);
	test_assert(buf_append(&b, "123456789", 9) == -1);
	test_assert(b.len == 0);
	buf_deinit(&b);

	test_begin("embedded NUL, CR, LF kept");
	buf_init(&b, 64);
	test_assert(buf_append(&b, "a\0b\r\nc\r", 7) == 0);
	test_assert(b.len == 7 && memcmp(b.p, "a\0b\r\nc\r", 7) == 0);
	test_assert(b.p[7] == '\0');
	buf_deinit(&b);

	test_begin("consume and truncate");
	buf_init(&b, 64);
	test_assert(buf_append_str(&b, "hello world") == 0);
	buf_consume(&b, 6);
	test_assert(strcmp(buf_cstr(&b), "world") == 0);
	buf_truncate(&b, 3);
	test_assert(strcmp(buf_cstr(&b), "wor") == 0);
	buf_consume(&b, 100);
	test_assert(b.len == 0 && strcmp(buf_cstr(&b), "") == 0);
	buf_deinit(&b);

	test_begin("printf within and past the maximum");
	buf_init(&b, 10);
	test_assert(buf_printf(&b, "%d-%s", 42, "ab") == 0);
	test_assert(strcmp(buf_cstr(&b), "42-ab") == 0);
	test_assert(buf_printf(&b, "%s", "123456") == -1);
	test_assert(strcmp(buf_cstr(&b), "42-ab") == 0);
	test_assert(buf_printf(&b, "%s", "12345") == 0);
	test_assert(b.len == 10);
	buf_deinit(&b);

	test_begin("growth across many appends");
	buf_init(&b, 100000);
	for (int i = 0; i < 10000; i++)
		test_assert(buf_append(&b, "0123456789", 10) == 0);
	test_assert(b.len == 100000);
	test_assert(buf_append_char(&b, 'x') == -1);
	buf_wipe(&b);
	test_assert(b.len == 0);
	buf_deinit(&b);

	return test_end();
}
