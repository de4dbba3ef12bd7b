/*
 * lib/mime_parts: the numbers the walk hands out are IMAP's section
 * numbers (RFC 3501 §6.4.5: a single-part message is "1", nested
 * multiparts "2.1", a message/rfc822 part is one part), and the lookup
 * takes each of them back to the same part; bad numbers find nothing.
 */
#include <stdio.h>
#include <string.h>

#include "mime_parts.h"
#include "test.h"

struct seen {
	char specs[16][MIME_SPEC_MAX];
	const struct mime_part *parts[16];
	size_t n;
};

static void note(void *ctx, const struct mime_part *p, const char *spec)
{
	struct seen *s = ctx;
	if (s->n < 16) {
		snprintf(s->specs[s->n], MIME_SPEC_MAX, "%s", spec);
		s->parts[s->n++] = p;
	}
}

static struct mime_part *parse(const char *s)
{
	return mime_parse(s, strlen(s));
}

static void test_single(void)
{
	test_begin("single part");
	struct mime_part *r = parse("Subject: x\r\n\r\nhello\r\n");
	struct seen s = {.n = 0};
	mime_parts_walk(r, note, &s);
	test_assert(s.n == 1 && strcmp(s.specs[0], "1") == 0);
	test_assert(s.parts[0] == r);
	test_assert(mime_parts_find(r, "1") == r);
	test_assert(mime_parts_find(r, "2") == NULL);
	test_assert(mime_parts_find(r, "1.1") == NULL);
	test_assert(mime_parts_find(r, "") == NULL);
	mime_free(&r);
}

static const char nested[] =
    "Content-Type: multipart/mixed; boundary=\"a\"\r\n\r\n"
    "--a\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
    "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
    "--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
    "--b--\r\n"
    "--a\r\nContent-Type: message/rfc822\r\n\r\n"
    "Content-Type: multipart/mixed; boundary=\"c\"\r\n\r\n"
    "--c\r\nContent-Type: text/plain\r\n\r\ninner\r\n--c--\r\n"
    "--a\r\nContent-Type: image/png\r\nContent-ID: <x@y>\r\n\r\nAAAA\r\n"
    "--a--\r\n";

static void test_nested(void)
{
	test_begin("nested");
	struct mime_part *r = parse(nested);
	struct seen s = {.n = 0};
	mime_parts_walk(r, note, &s);
	/* the multiparts are not visited; the message/rfc822 is one part */
	static const char *const want[] = {"1.1", "1.2", "2", "3"};
	test_assert(s.n == 4);
	for (size_t i = 0; i < s.n && i < 4; i++) {
		test_assert(strcmp(s.specs[i], want[i]) == 0);
		test_assert(mime_parts_find(r, want[i]) == s.parts[i]);
	}
	test_assert(s.n == 4 && s.parts[2]->kind == MIME_MESSAGE);
	test_assert(s.n == 4 && mime_is_type(s.parts[1], "text", "html"));
	/* a multipart by its number; its parent by none */
	test_assert(mime_parts_find(r, "1") == r->children);
	test_assert(mime_parts_find(r, "") == r);
	/* not a part here, or not a number */
	static const char *const bad[] = {
	    "4",  "0",	"1.3", "2.1",	  "1.1.1", "1..1", ".1",  "a",
	    "1a", "-1", "01x", "1234567", "1 1",   "2001", "1.0",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		test_assert(mime_parts_find(r, bad[i]) == NULL);
	mime_free(&r);
}

int main(void)
{
	test_single();
	test_nested();
	return test_end();
}
