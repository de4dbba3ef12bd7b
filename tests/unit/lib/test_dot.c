/*
 * lib/dot, the one dot-stuffing encoder: table cases for POP3 (CR LF in,
 * TOP), SMTP from LF files (every CR is data) and folding, then random
 * messages made of the troublesome bytes (CR, LF, ".", NUL, x) cut at
 * random places, compared with a whole-message reference (the rules of
 * RFC 1939 §3 and RFC 5321 §4.5.2 written the plain way).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dot.h"
#include "test.h"

static void put(struct buf *o, const char *p, size_t n)
{
	test_assert(buf_append(o, p, n) == 0);
}

/* The reference: line by line over the whole message. */
static void ref(const char *p, size_t n, unsigned flags, uint64_t body_lines,
		size_t line_max, struct buf *o)
{
	const char *end = p + n;
	bool in_body = false;
	uint64_t lines = 0;
	char wire[2048];
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t len = (size_t)(le - p);
		if ((flags & DOT_CRLF_IN) && len > 0 && p[len - 1] == '\r')
			len--;
		if (in_body && lines++ >= body_lines)
			break;
		size_t w = 0;
		if (len > 0 && p[0] == '.')
			wire[w++] = '.';
		memcpy(wire + w, p, len);
		w += len;
		if (line_max == 0 || w <= line_max) {
			put(o, wire, w);
		} else {
			put(o, wire, line_max);
			for (size_t k = line_max; k < w; k += line_max - 1) {
				size_t c =
				    w - k < line_max - 1 ? w - k : line_max - 1;
				put(o, "\r\n ", 3);
				put(o, wire + k, c);
			}
		}
		put(o, "\r\n", 2);
		if (len == 0)
			in_body = true;
		p = nl ? nl + 1 : end;
	}
	put(o, ".\r\n", 3);
}

/* The module, fed in pieces of the given sizes (cycled). */
static int pieces(const char *p, size_t n, unsigned flags, uint64_t body_lines,
		  size_t line_max, const size_t *cuts, size_t ncuts,
		  struct buf *o)
{
	struct dot_enc d;
	dot_enc_init(&d, flags, body_lines, line_max);
	size_t off = 0, k = 0;
	while (off < n && !dot_enc_done(&d)) {
		size_t c = cuts[k++ % ncuts];
		if (c > n - off)
			c = n - off;
		if (dot_enc_feed(&d, p + off, c, o) < 0)
			return -1;
		off += c;
	}
	return dot_enc_end(&d, o);
}

static void check(const char *p, size_t n, unsigned flags, uint64_t body_lines,
		  size_t line_max, const size_t *cuts, size_t ncuts)
{
	struct buf a, b;
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	ref(p, n, flags, body_lines, line_max, &a);
	test_assert(
	    pieces(p, n, flags, body_lines, line_max, cuts, ncuts, &b) == 0);
	test_assert(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		fprintf(stderr,
			"  input %zu bytes, flags %u, lines %llu, "
			"max %zu, cut %zu\n",
			n, flags, (unsigned long long)body_lines, line_max,
			cuts[0]);
	buf_deinit(&a);
	buf_deinit(&b);
}

static void test_pop3_table(void)
{
	test_begin("dot: POP3 table (CR LF in, TOP)");
	static const struct {
		const char *in;
		uint64_t lines;
		const char *out;
	} t[] = {
	    {"", DOT_ALL_LINES, ".\r\n"},
	    {"a\nb\n", DOT_ALL_LINES, "a\r\nb\r\n.\r\n"},
	    {"a\r\nb", DOT_ALL_LINES, "a\r\nb\r\n.\r\n"},
	    {".x\n..\n.\n", DOT_ALL_LINES, "..x\r\n...\r\n..\r\n.\r\n"},
	    {"a\rb\n", DOT_ALL_LINES, "a\rb\r\n.\r\n"},
	    {"a\r\r\n", DOT_ALL_LINES, "a\r\r\n.\r\n"},
	    {"a\r", DOT_ALL_LINES, "a\r\n.\r\n"},
	    {"\r", DOT_ALL_LINES, "\r\n.\r\n"},
	    {"\n\n", DOT_ALL_LINES, "\r\n\r\n.\r\n"},
	    {"H: 1\n\nb1\nb2\n", 1, "H: 1\r\n\r\nb1\r\n.\r\n"},
	    {"H: 1\n\nb1\nb2\n", 0, "H: 1\r\n\r\n.\r\n"},
	    {"H: 1\r\n\r\n.b1\r\n", 5, "H: 1\r\n\r\n..b1\r\n.\r\n"},
	    {"H: 1\nH: 2", 0, "H: 1\r\nH: 2\r\n.\r\n"},
	};
	static const size_t cuts[] = {1, 2, 3, 1000};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (size_t c = 0; c < 4; c++) {
			struct buf o;
			buf_init(&o, 4096);
			test_assert(pieces(t[i].in, strlen(t[i].in),
					   DOT_CRLF_IN, t[i].lines, 0, &cuts[c],
					   1, &o) == 0);
			test_assert(strcmp(o.p ? o.p : "", t[i].out) == 0);
			buf_deinit(&o);
		}
	}
}

/* LF files (queue, sendmail's spool): a CR is always data */
static void test_lf_table(void)
{
	test_begin("dot: SMTP from LF lines");
	static const struct {
		const char *in;
		const char *out;
	} t[] = {
	    {"", ".\r\n"},
	    {"x", "x\r\n.\r\n"},
	    {".a\nb.\n.c\n..\n", "..a\r\nb.\r\n..c\r\n...\r\n.\r\n"},
	    {"a\n.b\n..\nc", "a\r\n..b\r\n...\r\nc\r\n.\r\n"},
	    {"a\r\n", "a\r\r\n.\r\n"},
	    {"a\r", "a\r\r\n.\r\n"},
	    {"\r\n\r\n.\r\n", "\r\r\n\r\r\n..\r\r\n.\r\n"},
	    {"\n.\n", "\r\n..\r\n.\r\n"},
	};
	static const size_t cuts[] = {1, 2, 5, 1000};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (size_t c = 0; c < 4; c++) {
			struct buf o;
			buf_init(&o, 4096);
			test_assert(pieces(t[i].in, strlen(t[i].in), 0,
					   DOT_ALL_LINES, 0, &cuts[c], 1,
					   &o) == 0);
			test_assert(strcmp(o.p ? o.p : "", t[i].out) == 0);
			buf_deinit(&o);
		}
		struct buf o;
		buf_init(&o, 4096);
		test_assert(dot_encode(t[i].in, strlen(t[i].in), 0, 0, &o) ==
			    0);
		test_assert(strcmp(o.p ? o.p : "", t[i].out) == 0);
		buf_deinit(&o);
	}
}

static void test_fold(void)
{
	test_begin("dot: folding at line_max");
	struct buf o;
	buf_init(&o, 4096);
	/* exactly line_max: no fold; one more byte: CR LF SP */
	test_assert(dot_encode("abcd\n", 5, 0, 4, &o) == 0);
	test_assert(strcmp(o.p, "abcd\r\n.\r\n") == 0);
	buf_reset(&o);
	test_assert(dot_encode("abcde\n", 6, 0, 4, &o) == 0);
	test_assert(strcmp(o.p, "abcd\r\n e\r\n.\r\n") == 0);
	/* the stuffed dot counts; continuation lines hold line_max - 1 */
	buf_reset(&o);
	test_assert(dot_encode(".bcdefgh", 8, 0, 4, &o) == 0);
	test_assert(strcmp(o.p, "..bc\r\n def\r\n gh\r\n.\r\n") == 0);
	/* a dot after a fold is not stuffed: the line starts with SP */
	buf_reset(&o);
	test_assert(dot_encode("abcd.\n", 6, 0, 4, &o) == 0);
	test_assert(strcmp(o.p, "abcd\r\n .\r\n.\r\n") == 0);
	/* CR LF in: the CR at the fold point is the line end, no fold */
	buf_reset(&o);
	test_assert(dot_encode("abcd\r\n", 6, DOT_CRLF_IN, 4, &o) == 0);
	test_assert(strcmp(o.p, "abcd\r\n.\r\n") == 0);
	/* line_max 1 counts as 2: terminates */
	buf_reset(&o);
	test_assert(dot_encode(".ab\n", 4, 0, 1, &o) == 0);
	test_assert(strcmp(o.p, "..\r\n a\r\n b\r\n.\r\n") == 0);
	buf_deinit(&o);
}

static void test_limits(void)
{
	test_begin("dot: NUL and the output maximum");
	struct buf o;
	buf_init(&o, 64);
	test_assert(pieces("a\0b\n", 4, DOT_CRLF_IN, DOT_ALL_LINES, 0,
			   (size_t[]){2}, 1, &o) == 0);
	test_assert(o.len == 8 && memcmp(o.p, "a\0b\r\n.\r\n", 8) == 0);
	buf_deinit(&o);
	/* output maximum: -1, never past it */
	buf_init(&o, 8);
	test_assert(pieces("0123456789\n", 11, DOT_CRLF_IN, DOT_ALL_LINES, 0,
			   (size_t[]){4}, 1, &o) == -1);
	test_assert(o.len <= 8);
	buf_deinit(&o);
	buf_init(&o, 8);
	test_assert(dot_encode("0123456789\n", 11, 0, 5, &o) == -1);
	test_assert(o.len <= 8);
	buf_deinit(&o);
	/* the maximum exactly: "0123\r\n.\r\n" is 9 bytes */
	buf_init(&o, 9);
	test_assert(dot_encode("0123\n", 5, 0, 0, &o) == 0 && o.len == 9);
	buf_deinit(&o);
	buf_init(&o, 8);
	test_assert(dot_encode("0123\n", 5, 0, 0, &o) == -1);
	buf_deinit(&o);
}

static void test_random(void)
{
	test_begin("dot: random pieces against the reference");
	static const char alphabet[] = {'\r', '\n', '.', 'x', '\0', '\n'};
	static const size_t maxes[] = {0, 3, 7, 40};
	char msg[600];
	srand(42);
	for (int round = 0; round < 4000; round++) {
		size_t n = (size_t)rand() % sizeof msg;
		for (size_t i = 0; i < n; i++)
			msg[i] = alphabet[rand() % (int)sizeof alphabet];
		size_t cuts[3] = {1 + (size_t)rand() % 7,
				  1 + (size_t)rand() % 64, 1};
		uint64_t lines =
		    round % 3 == 0 ? DOT_ALL_LINES : (uint64_t)(rand() % 6);
		unsigned flags = round % 2 == 0 ? DOT_CRLF_IN : 0;
		check(msg, n, flags, lines, maxes[round % 4], cuts, 3);
	}
}

int main(void)
{
	test_pop3_table();
	test_lf_table();
	test_fold();
	test_limits();
	test_random();
	return test_end();
}
