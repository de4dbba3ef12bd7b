/*
 * Unit tests for webmail/summary: the RFC 5322 date parser (zones, day
 * name and seconds optional, obsolete years and zone names, comments,
 * garbage, empty input, embedded NUL, bare CR or LF) and the list
 * summary of a header block (RFC 2047 subjects, the first of repeated
 * fields, the attachment mark, missing fields).
 */
#include <string.h>

#include "../../../webmail/summary.h"
#include "test.h"

static bool date_is(const char *s, size_t len, int64_t want)
{
	int64_t t = 0;
	return wm_parse_date(s, len, &t) == 0 && t == want;
}

#define DATE(lit, want) date_is((lit), sizeof(lit) - 1, (want))
#define BAD(lit)	(wm_parse_date((lit), sizeof(lit) - 1, &(int64_t){0}) < 0)

int main(void)
{
	test_begin("date");
	/* 2003-07-01 08:52:37 UTC = 1057049557 */
	test_assert(DATE("Tue, 1 Jul 2003 10:52:37 +0200", 1057049557));
	test_assert(DATE("1 Jul 2003 10:52:37 +0200", 1057049557));
	test_assert(DATE("Tue, 01 Jul 2003 08:52:37 +0000", 1057049557));
	test_assert(DATE("Tue, 1 Jul 2003 08:52:37 GMT", 1057049557));
	test_assert(DATE("Tue, 1 Jul 03 08:52:37 UT", 1057049557));
	test_assert(DATE("Tue, 1 Jul 2003 04:52:37 EDT", 1057049557));
	test_assert(DATE("Tue, 1 Jul 2003 01:52:37 -0700 (PDT)", 1057049557));
	test_assert(DATE("Tue,\r\n 1 Jul 2003\n 08:52:37 +0000", 1057049557));
	test_assert(DATE("Tue, 1 Jul 2003 08:52 +0000", 1057049520));
	test_assert(DATE("(c) Tue, 1 Jul 2003 08:52:37", 1057049557));
	test_assert(DATE("Thu, 1 Jan 1970 00:00:00 +0000", 0));
	test_assert(DATE("Sat, 29 Feb 2020 12:00:00 +0800", 1582948800));
	test_assert(BAD(""));
	test_assert(BAD("yesterday"));
	test_assert(BAD("Tue, 32 Jul 2003 08:52:37 +0000"));
	test_assert(BAD("Tue, 1 Foo 2003 08:52:37 +0000"));
	test_assert(BAD("Tue, 1 Jul 2003 24:00:00 +0000"));
	test_assert(BAD("Tue, 1 Jul 2003"));
	test_assert(BAD("Tue, 1 Jul 2003 08:52:61 +0000"));
	test_assert(BAD("Tue, 1 Jul 99999999999 08:52:37 +0000"));
	test_assert(BAD("\0Tue, 1 Jul 2003 08:52:37 +0000"));
	/* a NUL ends the value where the length says so */
	test_assert(DATE("1 Jul 2003 08:52:37 +0000\0garbage", 1057049557));
	test_assert(BAD("1 Jul 2003 08\0:52:37"));
	test_end();

	test_begin("summary");
	static const char h1[] =
	    "From: =?UTF-8?B?5byg5LiJ?= <zs@example.com>\r\n"
	    "Subject: =?UTF-8?Q?caf=C3=A9?= au lait\r\n"
	    "Subject: second\r\n"
	    "Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
	    "Content-Type: Multipart/Mixed;\r\n boundary=x\r\n\r\n";
	struct wm_summary s;
	memset(&s, 0, sizeof s);
	wm_summary_from_header(h1, sizeof h1 - 1, &s);
	test_assert(strcmp(s.from, "张三 <zs@example.com>") == 0);
	test_assert(strcmp(s.subject, "café au lait") == 0);
	test_assert(s.has_date && s.date == 1057049557);
	test_assert(s.attachments);
	wm_summary_free(&s);

	static const char h2[] = "X-Other: 1\nContent-Type: text/plain\n\n";
	memset(&s, 0, sizeof s);
	wm_summary_from_header(h2, sizeof h2 - 1, &s);
	test_assert(strcmp(s.from, "") == 0 && strcmp(s.subject, "") == 0);
	test_assert(!s.has_date && !s.attachments);
	wm_summary_free(&s);

	memset(&s, 0, sizeof s);
	wm_summary_from_header("", 0, &s);
	test_assert(s.subject != NULL && s.subject[0] == '\0');
	wm_summary_free(&s);

	static const char h3[] = "Subject: a\0b\rc\r\n\r\n";
	memset(&s, 0, sizeof s);
	wm_summary_from_header(h3, sizeof h3 - 1, &s);
	test_assert(s.subject != NULL);
	wm_summary_free(&s);
	test_end();

	test_begin("envelope");
	static const char env[] =
	    "(\"Tue, 1 Jul 2003 10:52:37 +0200\" "
	    "\"=?UTF-8?B?5L2g5aW9?= \\\"q\\\"\" "
	    "((\"=?UTF-8?B?5byg5LiJ?=\" NIL \"zs\" \"example.com\")"
	    "(NIL NIL \"b\" \"x.org\")) NIL NIL NIL NIL NIL NIL "
	    "\"<id@x>\")";
	static const char bs[] =
	    "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1)"
	    "(\"application\" \"pdf\" NIL NIL NIL \"base64\" 10) "
	    "\"mixed\" (\"boundary\" \"x\") NIL NIL NIL)";
	memset(&s, 0, sizeof s);
	test_assert(wm_summary_from_envelope(env, sizeof env - 1, bs,
					     sizeof bs - 1, &s) == 0);
	test_assert(s.subject != NULL && strcmp(s.subject, "你好 \"q\"") == 0);
	test_assert(s.from != NULL &&
		    strcmp(s.from, "张三 <zs@example.com>") == 0);
	test_assert(s.has_date && s.date == 1057049557);
	test_assert(s.attachments);
	wm_summary_free(&s);
	/* a literal, no name, a single-part body */
	static const char env2[] = "(NIL {3}\r\nabc ((NIL NIL \"a\" "
				   "\"b.c\")) NIL NIL NIL NIL NIL NIL NIL)";
	static const char bs2[] = "(\"text\" \"plain\" NIL NIL NIL "
				  "\"7bit\" 5 1)";
	memset(&s, 0, sizeof s);
	test_assert(wm_summary_from_envelope(env2, sizeof env2 - 1, bs2,
					     sizeof bs2 - 1, &s) == 0);
	test_assert(strcmp(s.subject, "abc") == 0);
	test_assert(strcmp(s.from, "a@b.c") == 0);
	test_assert(!s.has_date && !s.attachments);
	wm_summary_free(&s);
	/* malformed: refused, nothing allocated */
	static const char *const bad[] = {
	    "",
	    "(",
	    "(NIL",
	    "(NIL NIL",
	    "(NIL {9}\r\nab NIL)",
	    "(NIL \"abc NIL)",
	    "(NIL NIL ((NIL NIL \"a\"))",
	    "(NIL NIL (( NIL NIL \"a\" \"b\")",
	    "NIL",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&s, 0, sizeof s);
		test_assert(wm_summary_from_envelope(bad[i], strlen(bad[i]), "",
						     0, &s) < 0);
		test_assert(s.subject == NULL);
	}
	/* an embedded NUL in a quoted string is kept as a byte */
	static const char env3[] = "(NIL \"a\0b\" NIL NIL)";
	memset(&s, 0, sizeof s);
	test_assert(
	    wm_summary_from_envelope(env3, sizeof env3 - 1, "(", 1, &s) == 0);
	wm_summary_free(&s);
	test_end();
	return 0;
}
