/*
 * Unit tests for webmail/outcharset ("try local charset" for outgoing
 * mail): which texts fit a charset (round trip, no transliteration), the
 * converted bytes, and the RFC 2047 words, each complete in its charset
 * (ISO-2022-JP back in ASCII at the end of every word).
 */
#include <string.h>

#include "../../../webmail/compose.h"
#include "base64.h"
#include "str.h"
#include "test.h"

static bool fits(const char *cs, const char *a, const char *b)
{
	const char *t[] = {a, b};
	size_t l[] = {strlen(a), strlen(b)};
	return wm_out_charset_fits(cs, t, l, 2);
}

static bool converts_to(const char *cs, const char *s, const char *want,
			size_t wlen)
{
	struct buf out;
	buf_init(&out, 1024);
	bool ok = wm_out_convert(cs, s, strlen(s), &out) == 0 &&
		  out.len == wlen && memcmp(out.p, want, wlen) == 0;
	buf_deinit(&out);
	return ok;
}

int main(void)
{
	test_begin("fits");
	test_assert(fits("GB2312", "你好，世界", "subject 测试"));
	test_assert(!fits("GB2312", "你好", "堃")); /* GBK only */
	test_assert(fits("GBK", "你好", "堃"));
	test_assert(fits("GB18030", "😀 €", "堃"));
	test_assert(fits("Big5", "繁體", ""));
	test_assert(!fits("Big5", "繁體", "简")); /* simplified */
	test_assert(fits("ISO-8859-1", "café", "ascii"));
	test_assert(!fits("ISO-8859-1", "café", "€"));
	test_assert(!fits("", "a", "b"));
	test_assert(!fits("x-no-such-charset", "a", "b"));
	/* invalid UTF-8 never fits */
	test_assert(!fits("GB18030", "\xff\xfe", ""));
	test_assert(!fits("GB18030", "\xe4\xbd", ""));
	test_end();

	test_begin("convert");
	test_assert(converts_to("GB2312", "你好", "\xc4\xe3\xba\xc3", 4));
	test_assert(converts_to("Big5", "中文", "\xa4\xa4\xa4\xe5", 4));
	/* ISO-2022-JP: ESC $ B, the JIS bytes, back to ASCII at the end */
	test_assert(
	    converts_to("ISO-2022-JP", "日本", "\x1b$BF|K\\\x1b(B", 10));
	struct buf out;
	buf_init(&out, 16);
	test_assert(wm_out_convert("GB2312", "堃", 3, &out) < 0);
	buf_deinit(&out);
	test_end();

	test_begin("words");
	struct buf m;
	buf_init(&m, 4096);
	/* 40 characters of 3 UTF-8 bytes: words of 10 characters */
	char s[200] = "";
	for (int i = 0; i < 40; i++)
		memcpy(s + 3 * i, "日", 4);
	test_assert(wm_out_words(&m, "ISO-2022-JP", s) == 0);
	const char *p = buf_cstr(&m);
	int words = 0;
	while ((p = strstr(p, " =?ISO-2022-JP?B?")) != NULL) {
		p += 17;
		const char *e = strstr(p, "?=\r\n");
		test_assert(e != NULL && e - p < 200);
		unsigned char dec[200];
		size_t n = 0;
		struct str enc = {p, (size_t)(e - p)};
		test_assert(base64_decode(enc, false, dec, sizeof dec, &n) ==
			    0);
		/* ESC $ B, 10 characters, ESC ( B */
		test_assert(n == 26 && memcmp(dec, "\x1b$B", 3) == 0 &&
			    memcmp(dec + 23, "\x1b(B", 3) == 0);
		words++;
	}
	test_assert(words == 4);
	buf_reset(&m);
	test_assert(wm_out_words(&m, "no-such-charset", "x") < 0);
	buf_deinit(&m);
	return test_end();
}
