/*
 * Unit tests for webmail's reading helpers (reading.h): the From field as
 * the list shows it (quoted display names, RFC 2047 inside and outside
 * quotes, comments, groups, no address, empty input, embedded NUL, bare
 * CR/LF), the "try local charset" decoding (no label, a wrong label, a
 * right one, the override, the text's own U+FFFD), raw 8-bit headers, and
 * the list of local charsets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../webmail/prefs.h"
#include "../../../webmail/reading.h"
#include "buf.h"
#include "test.h"

static bool from_is(const char *in, size_t n, const char *want)
{
	char *s = wm_from_display((struct str){in, n});
	bool ok = strcmp(s, want) == 0;
	if (!ok)
		fprintf(stderr, "from \"%.*s\" gave \"%s\"", (int)n, in, s);
	free(s);
	return ok;
}
#define FROM(lit, want) from_is((lit), sizeof(lit) - 1, (want))

static bool dec_is(const char *label, const char *in, size_t n, const char *ovr,
		   const char *local, const char *want)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	struct wm_charsets cs = {.override = ovr, .local = local};
	int rc = wm_text_decode(label, in, n, &cs, &b);
	bool ok = rc == 0 && strcmp(buf_cstr(&b), want) == 0;
	if (!ok)
		fprintf(stderr, "decode gave rc %d \"%s\"", rc, buf_cstr(&b));
	buf_deinit(&b);
	return ok;
}

static bool hdr_is(const char *in, const char *local, const char *want)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	int rc = wm_header_decode(str_from_cstr(in), local, &b);
	bool ok = rc == 0 && strcmp(buf_cstr(&b), want) == 0;
	if (!ok)
		fprintf(stderr, "header gave \"%s\"", buf_cstr(&b));
	buf_deinit(&b);
	return ok;
}

int main(void)
{
	test_begin("from display");
	test_assert(
	    FROM("\"Zhang, San\" <z@x.example>", "Zhang, San <z@x.example>"));
	test_assert(FROM("Zhang San <z@x.example>", "Zhang San <z@x.example>"));
	test_assert(FROM("\"=?UTF-8?B?5byg5LiJ?=, Li\" <li@x.example>",
			 "张三, Li <li@x.example>"));
	test_assert(
	    FROM("=?UTF-8?B?5byg5LiJ?= <z@x.example>", "张三 <z@x.example>"));
	test_assert(
	    FROM("\"a \\\"q\\\" b\" <a@b.example>", "a \"q\" b <a@b.example>"));
	test_assert(FROM("w@x.example (Wang Wu)", "Wang Wu <w@x.example>"));
	test_assert(FROM("plain@x.example", "plain@x.example"));
	test_assert(FROM("\"\" <e@x.example>", "e@x.example"));
	test_assert(FROM("g: \"One, 1\" <o@x.example>, t@x.example;",
			 "One, 1 <o@x.example>"));
	test_assert(FROM("", ""));
	test_assert(FROM("Undisclosed", "Undisclosed"));
	test_assert(FROM("\"A\r\n B\" <a@b.example>", "A B <a@b.example>"));
	test_assert(FROM("\"A\rB\" <a@b.example>", "AB <a@b.example>"));
	test_assert(FROM("A\0B <a@b.example>", "A B <a@b.example>"));
	/* broken input: read as far as it goes */
	char *u = wm_from_display(str_from_cstr("\"unterminated <u@x"));
	test_assert(u != NULL);
	free(u);

	test_begin("local charsets");
	test_assert(wm_local_charset_ok("GB18030"));
	test_assert(wm_local_charset_ok("big5"));
	test_assert(wm_local_charset_ok("Shift_JIS"));
	test_assert(!wm_local_charset_ok(""));
	test_assert(!wm_local_charset_ok("UTF-7"));
	test_assert(!wm_local_charset_ok("GB18030 "));

	test_begin("local charset preference");
	struct wm_prefs pr;
	memset(&pr, 0, sizeof pr);
	test_assert(wm_prefs_parse(&pr, "local_charset = big5\n", 20, false) ==
		    1);
	test_assert(strcmp(pr.local_charset, "big5") == 0);
	test_assert(wm_prefs_parse(&pr, "local_charset = UTF-7\n", 21, false) ==
		    0);
	test_assert(strcmp(pr.local_charset, "big5") == 0);
	test_assert(wm_prefs_parse(&pr, "local_charset =\n", 16, false) == 1);
	test_assert(pr.local_charset[0] == '\0');
	/* ExtMail's user.cf: trylocal, not youju's key */
	test_assert(wm_prefs_parse(&pr, "trylocal = 1\n", 13, true) == 1);
	test_assert(strcmp(pr.local_charset, "GB18030") == 0);
	test_assert(wm_prefs_parse(&pr, "trylocal = 2\n", 13, true) == 0);
	test_assert(wm_prefs_parse(&pr, "trylocal = 0\n", 13, true) == 1);
	test_assert(pr.local_charset[0] == '\0');
	test_assert(wm_prefs_parse(&pr, "trylocal = 1\n", 13, false) == 0);
	test_assert(wm_prefs_parse(&pr, "local_charset = big5\n", 20, true) ==
		    0);

	test_begin("text decode");
	/* "测试" in GB18030 */
	static const char gb[] = "\xb2\xe2\xca\xd4";
	static const char big5[] = "\xb4\xfa\xb8\xd5";
	test_assert(dec_is(NULL, gb, 4, NULL, "GB18030", "测试"));
	test_assert(dec_is("", gb, 4, NULL, "GB18030", "测试"));
	test_assert(dec_is("utf-8", gb, 4, NULL, "GB18030", "测试"));
	test_assert(dec_is("us-ascii", gb, 4, NULL, "GB18030", "测试"));
	test_assert(dec_is("x-unknown", gb, 4, NULL, "GB18030", "测试"));
	/* off: replacement characters */
	test_assert(dec_is("utf-8", gb, 4, NULL, NULL,
			   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
	test_assert(dec_is("utf-8", gb, 4, NULL, "",
			   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
	/* a right label stays */
	test_assert(
	    dec_is("utf-8", "测试", strlen("测试"), NULL, "GB18030", "测试"));
	test_assert(dec_is("big5", big5, 4, NULL, "GB18030", "測試"));
	/* ISO-8859-1 never fails, so it is believed */
	test_assert(dec_is("iso-8859-1", "\xe9", 1, NULL, "GB18030", "é"));
	/* the override wins */
	test_assert(dec_is("gb18030", big5, 4, "big5", "GB18030", "測試"));
	/* the text's own U+FFFD is not a wrong label */
	test_assert(dec_is("utf-8", "a\xef\xbf\xbd", 4, NULL, "GB18030",
			   "a\xef\xbf\xbd"));
	/* empty input, embedded NUL, bare CR and LF */
	test_assert(dec_is(NULL, "", 0, NULL, "GB18030", ""));
	struct buf b;
	buf_init(&b, 64);
	struct wm_charsets cs = {.local = "GB18030"};
	test_assert(wm_text_decode(NULL, "a\0b\rc\n", 6, &cs, &b) == 0 &&
		    b.len == 6 && memcmp(b.p, "a\0b\rc\n", 6) == 0);
	buf_deinit(&b);
	/* the maximum: a full buffer is an error */
	buf_init(&b, 3);
	test_assert(wm_text_decode(NULL, gb, 4, &cs, &b) < 0);
	buf_deinit(&b);

	test_begin("header decode");
	test_assert(hdr_is("\xb2\xe2\xca\xd4", "GB18030", "测试"));
	test_assert(
	    hdr_is("=?UTF-8?B?5rWL6K+V?= \xb2\xe2", "GB18030", "测试 测"));
	test_assert(hdr_is("测试", "GB18030", "测试"));
	test_assert(hdr_is("plain", "GB18030", "plain"));
	test_assert(hdr_is("=?GB2312?B?suLK1A==?=", NULL, "测试"));
	test_assert(!hdr_is("\xb2\xe2\xca\xd4", NULL, "测试"));
	return test_end();
}
