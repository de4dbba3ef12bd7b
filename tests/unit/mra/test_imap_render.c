/*
 * The connection-free IMAP renderers (mra/imap_render): quoting, nstrings
 * and literals at their edges (empty, embedded NUL, bare CR and LF, 8-bit,
 * the 1023/1024 quoting limit, a full buffer), the header-block end, and
 * ENVELOPE with the address forms of RFC 5322.
 */
#include <stdio.h>
#include <string.h>

#include "../../../mra/imap_render.h"
#include "test.h"

static void expect(const struct buf *b, const char *want, size_t n)
{
	bool ok = b->len == n && memcmp(b->p ? b->p : "", want, n) == 0;
	test_assert(ok);
	if (!ok)
		fprintf(stderr, "  got [%.*s] want [%.*s]\n", (int)b->len,
			b->p ? b->p : "", (int)n, want);
}
#define EXPECT(b, s) expect((b), (s), sizeof(s) - 1)

static void test_strings(void)
{
	test_begin("strings");
	struct buf b;
	buf_init(&b, 1 << 16);
	test_assert(imap_render_quoted(&b, "", 0) == 0);
	EXPECT(&b, "\"\"");
	buf_reset(&b);
	test_assert(imap_render_quoted(&b, "a\"b\\c", 5) == 0);
	EXPECT(&b, "\"a\\\"b\\\\c\"");
	buf_reset(&b);
	test_assert(imap_render_nstring(&b, NULL, 0, false) == 0);
	EXPECT(&b, "NIL");
	buf_reset(&b);
	test_assert(imap_render_nstring(&b, "", 0, true) == 0);
	EXPECT(&b, "NIL");
	buf_reset(&b);
	test_assert(imap_render_nstring(&b, "", 0, false) == 0);
	EXPECT(&b, "\"\"");
	static const char *const lit[] = {"a\rb", "a\nb",
					  "\xc3\xa4"
					  "b"};
	for (size_t i = 0; i < 3; i++) {
		buf_reset(&b);
		test_assert(imap_render_nstring(&b, lit[i], 3, false) == 0);
		test_assert(b.len == 8 && memcmp(b.p, "{3}\r\n", 5) == 0 &&
			    memcmp(b.p + 5, lit[i], 3) == 0);
	}
	buf_reset(&b);
	test_assert(imap_render_nstring(&b, "a\0b", 3, false) == 0);
	EXPECT(&b, "{3}\r\na\0b");
	/* 1023 bytes are quoted, 1024 are a literal */
	char big[1024];
	memset(big, 'x', sizeof big);
	buf_reset(&b);
	test_assert(imap_render_nstring(&b, big, 1023, false) == 0);
	test_assert(b.len == 1025 && b.p[0] == '"');
	buf_reset(&b);
	test_assert(imap_render_nstring(&b, big, 1024, false) == 0);
	test_assert(b.len == 1024 + 8 && b.p[0] == '{');
	buf_deinit(&b);
	/* a full buffer fails, never writes half a quoted string */
	buf_init(&b, 4);
	test_assert(imap_render_quoted(&b, "abcd", 4) < 0);
	buf_deinit(&b);
}

static void test_header_end(void)
{
	test_begin("header_end");
	test_assert(imap_render_header_end("", 0) == 0);
	test_assert(imap_render_header_end("\n", 1) == 1);
	test_assert(imap_render_header_end("\r\nbody", 6) == 2);
	test_assert(imap_render_header_end("A: b\r\n\r\nc", 9) == 8);
	test_assert(imap_render_header_end("A: b\n\nc", 7) == 6);
	test_assert(imap_render_header_end("A: b\r\nB: c", 10) == 10);
	test_assert(imap_render_header_end("A: b\rB\n\nc", 9) == 8);
}

static void test_envelope(void)
{
	test_begin("envelope");
	struct buf b;
	buf_init(&b, 1 << 16);
	static const char m1[] = "Date: Thu, 15 Feb 2007 01:02:03 +0200\r\n"
				 "Subject: a \"q\"\r\n\tfolded\r\n"
				 "From: user@domain (Real Name)\r\n"
				 "Reply-To: \r\n"
				 "To: group: g1@d1.org, <@r:g2@d2.org>;, x\r\n"
				 "Message-ID: <m@id>\r\n\r\nTo: not@header\r\n";
	test_assert(imap_render_envelope(&b, m1, sizeof m1 - 1) == 0);
	EXPECT(&b,
	       "(\"Thu, 15 Feb 2007 01:02:03 +0200\" "
	       "{12}\r\na \"q\"\tfolded "
	       "((\"Real Name\" NIL \"user\" \"domain\")) "
	       "((\"Real Name\" NIL \"user\" \"domain\")) "
	       "((\"Real Name\" NIL \"user\" \"domain\")) "
	       "((NIL NIL \"group\" NIL)(NIL NIL \"g1\" \"d1.org\")"
	       "(NIL \"@r\" \"g2\" \"d2.org\")(NIL NIL NIL NIL)"
	       "(NIL NIL \"x\" \"MISSING_DOMAIN\")) NIL NIL NIL \"<m@id>\")");
	buf_reset(&b);
	test_assert(imap_render_envelope(&b, "", 0) == 0);
	EXPECT(&b, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	buf_deinit(&b);
	buf_init(&b, 20);
	test_assert(imap_render_envelope(&b, m1, sizeof m1 - 1) < 0);
	buf_deinit(&b);
}

static void test_seqset(void)
{
	static const uint32_t one[] = {7};
	static const uint32_t mix[] = {1, 2,  3,	   7,
				       9, 10, 4294967294u, 4294967295u};
	static const uint32_t gaps[] = {2, 4, 6};
	struct buf b;
	buf_init(&b, 256);
	test_begin("seqset");
	test_assert(imap_render_seqset(&b, NULL, 0) == 0 && b.len == 0);
	test_assert(imap_render_seqset(&b, one, 1) == 0);
	EXPECT(&b, "7");
	buf_reset(&b);
	test_assert(imap_render_seqset(&b, mix, 8) == 0);
	EXPECT(&b, "1:3,7,9:10,4294967294:4294967295");
	buf_reset(&b);
	test_assert(imap_render_seqset(&b, gaps, 3) == 0);
	EXPECT(&b, "2,4,6");
	buf_deinit(&b);
	/* the documented bound: 22 bytes a number */
	buf_init(&b, 22 * 8);
	test_assert(imap_render_seqset(&b, mix, 8) == 0);
	buf_deinit(&b);
	buf_init(&b, 4);
	test_assert(imap_render_seqset(&b, mix, 8) < 0);
	buf_deinit(&b);
}

int main(void)
{
	test_seqset();
	test_strings();
	test_header_end();
	test_envelope();
	return test_end();
}
