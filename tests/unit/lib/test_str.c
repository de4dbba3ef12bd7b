/* Unit tests for lib/str: number parsing bounds, comparisons, trimming. */
#include <string.h>

#include "str.h"
#include "test.h"

int main(void)
{
	uint64_t u = 7;
	int64_t i = 7;

	test_begin("u64 parse");
	static const struct {
		const char *in;
		uint64_t min, max;
		int ok;
		uint64_t want;
	} cases[] = {
	    {"0", 0, 10, 1, 0},
	    {"10", 0, 10, 1, 10},
	    {"11", 0, 10, 0, 0},
	    {"", 0, 10, 0, 0},
	    {"-1", 0, 10, 0, 0},
	    {"+1", 0, 10, 0, 0},
	    {" 1", 0, 10, 0, 0},
	    {"1 ", 0, 10, 0, 0},
	    {"1x", 0, 10, 0, 0},
	    {"18446744073709551615", 0, UINT64_MAX, 1, UINT64_MAX},
	    {"18446744073709551616", 0, UINT64_MAX, 0, 0},
	    {"99999999999999999999999", 0, UINT64_MAX, 0, 0},
	    {"5", 6, 10, 0, 0},
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		u = 7;
		int r =
		    str_parse_u64(cases[k].in, cases[k].min, cases[k].max, &u);
		test_assert((r == 0) == cases[k].ok);
		test_assert(cases[k].ok ? u == cases[k].want : u == 7);
	}

	test_begin("embedded NUL is not a digit");
	test_assert(str_to_u64((struct str){"1\0"
					    "2",
					    3},
			       0, 1000, &u) == -1);

	test_begin("i64 parse");
	test_assert(str_parse_i64("-5", -10, 10, &i) == 0 && i == -5);
	test_assert(str_parse_i64("-11", -10, 10, &i) == -1);
	test_assert(str_parse_i64("-9223372036854775808", INT64_MIN, 0, &i) ==
			0 &&
		    i == INT64_MIN);
	test_assert(str_parse_i64("9223372036854775808", 0, INT64_MAX, &i) ==
		    -1);
	test_assert(str_parse_i64("-0", -1, 1, &i) == -1);

	test_begin("compare and trim");
	test_assert(str_case_eq_cstr(STR_LIT("HeLo"), "helo"));
	test_assert(!str_case_eq_cstr(STR_LIT("HeLo "), "helo"));
	test_assert(str_has_prefix_case(STR_LIT("MAIL FROM:<>"), "mail from:"));
	struct str t = str_trim(STR_LIT(" \t x y \t"));
	test_assert(str_eq_cstr(t, "x y"));
	test_assert(str_trim(STR_LIT("   ")).len == 0);
	test_assert(str_is_printable(STR_LIT("abc ~")));
	test_assert(!str_is_printable(STR_LIT("a\rb")));
	test_assert(str_secure_eq("abc", "abc", 3));
	test_assert(!str_secure_eq("abc", "abd", 3));
	char low[] = "MiXeD@Example.ORG";
	str_lower(low);
	test_assert(strcmp(low, "mixed@example.org") == 0);

	test_begin("host names");
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
		bool ok;
	} hn[] = {
	    {"mail.example.com", 0, true},
	    {"a", 0, true},
	    {"_dmarc.x-y.example.", 0, true},
	    {"127.0.0.1", 0, true}, /* numeric is the caller's rule */
	    {"", 0, false},
	    {"a b", 0, false},
	    {"a\rb", 0, false},
	    {"a\nb", 0, false},
	    {"a\0b", 3, false}, /* embedded NUL */
	    {"[1.2.3.4]", 0, false},
	    {"exa\xc3\xa9mple", 0, false},
	    {"a@b", 0, false},
	    {"a/b", 0, false},
	};
	for (size_t k = 0; k < sizeof hn / sizeof *hn; k++) {
		struct str s = {hn[k].in,
				hn[k].len ? hn[k].len : strlen(hn[k].in)};
		test_assert(str_is_hostname(s) == hn[k].ok);
	}
	char big[STR_HOSTNAME_MAX + 2];
	memset(big, 'a', sizeof(big));
	test_assert(str_is_hostname((struct str){big, STR_HOSTNAME_MAX}));
	test_assert(!str_is_hostname((struct str){big, STR_HOSTNAME_MAX + 1}));
	for (unsigned c = 0; c < 256; c++) {
		bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			    c == '_';
		test_assert(str_is_host_char((unsigned char)c) == want);
	}

	test_begin("utf8_encode: every length's bounds");
	{
		static const struct {
			uint32_t cp;
			const char *utf8;
		} u[] = {
		    {0, ""},
		    {0x7f, "\x7f"},
		    {0x80, "\xc2\x80"},
		    {0x7ff, "\xdf\xbf"},
		    {0x800, "\xe0\xa0\x80"},
		    {0xfffd, "\xef\xbf\xbd"},
		    {0xffff, "\xef\xbf\xbf"},
		    {0x10000, "\xf0\x90\x80\x80"},
		    {0x10ffff, "\xf4\x8f\xbf\xbf"},
		};
		for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
			char out[4];
			size_t want = u[i].cp == 0 ? 1 : strlen(u[i].utf8);
			test_assert(str_utf8_encode(u[i].cp, out) == want);
			test_assert(memcmp(out, u[i].cp == 0 ? "\0" : u[i].utf8,
					   want) == 0);
		}
	}
	test_begin("utf8_decode: well-formed, stray, cut, overlong, surrogate");
	{
		static const struct {
			const char *in;
			size_t n, len;
			uint32_t cp;
		} d[] = {
		    {"a", 1, 1, 'a'},
		    {"\0", 1, 1, 0},
		    {"\xc2\x80", 2, 2, 0x80},
		    {"\xdf\xbf", 2, 2, 0x7ff},
		    {"\xe0\xa0\x80", 3, 3, 0x800},
		    {"\xef\xbf\xbd", 3, 3, 0xfffd},
		    {"\xf0\x90\x80\x80", 4, 4, 0x10000},
		    {"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
		    {"\x80", 1, 0, 0},		   /* stray continuation */
		    {"\xc0\xaf", 2, 0, 0},	   /* overlong '/' */
		    {"\xc1\xbf", 2, 0, 0},	   /* overlong */
		    {"\xe0\x9f\xbf", 3, 0, 0},	   /* overlong */
		    {"\xf0\x8f\xbf\xbf", 4, 0, 0}, /* overlong */
		    {"\xed\xa0\x80", 3, 0, 0},	   /* surrogate */
		    {"\xf4\x90\x80\x80", 4, 0, 0}, /* past U+10FFFF */
		    {"\xf5\x80\x80\x80", 4, 0, 0},
		    {"\xe2\x82", 2, 0, 0},     /* cut short */
		    {"\xe2\x28\xa1", 3, 0, 0}, /* bad continuation */
		};
		for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
			uint32_t cp = 0xdead;
			size_t l = str_utf8_decode(
			    (const unsigned char *)d[i].in, d[i].n, &cp);
			test_assert(l == d[i].len);
			test_assert(l == 0 ? cp == 0xdead : cp == d[i].cp);
			test_assert(
			    str_utf8_decode((const unsigned char *)d[i].in,
					    d[i].n, NULL) == d[i].len);
		}
	}
	return test_end();
}
