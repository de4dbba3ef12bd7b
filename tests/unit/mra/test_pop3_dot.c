/*
 * POP3 RETR/TOP conversion in pieces (mra/pop3_dot): table cases, then
 * random messages made of the troublesome bytes (CR, LF, ".", NUL, x) cut
 * at random places, compared with a whole-message reference (the rules
 * of RFC 1939 §3 written the plain way).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../mra/pop3_dot.h"
#include "test.h"

static void put(struct buf *o, const char *p, size_t n)
{
	test_assert(buf_append(o, p, n) == 0);
}

/* The reference: line by line over the whole message. */
static void ref(const char *p, size_t n, uint64_t body_lines, struct buf *o)
{
	const char *end = p + n;
	bool in_body = false;
	uint64_t lines = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t len = (size_t)(le - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (in_body && lines++ >= body_lines)
			break;
		if (len > 0 && p[0] == '.')
			put(o, ".", 1);
		put(o, p, len);
		put(o, "\r\n", 2);
		if (len == 0)
			in_body = true;
		p = nl ? nl + 1 : end;
	}
	put(o, ".\r\n", 3);
}

/* The module, fed in pieces of the given sizes (cycled). */
static int pieces(const char *p, size_t n, uint64_t body_lines,
		  const size_t *cuts, size_t ncuts, struct buf *o)
{
	struct pop3_dot d;
	pop3_dot_init(&d, body_lines);
	size_t off = 0, k = 0;
	while (off < n && !pop3_dot_done(&d)) {
		size_t c = cuts[k++ % ncuts];
		if (c > n - off)
			c = n - off;
		if (pop3_dot_feed(&d, p + off, c, o) < 0)
			return -1;
		off += c;
	}
	return pop3_dot_end(&d, o);
}

static void check(const char *p, size_t n, uint64_t body_lines,
		  const size_t *cuts, size_t ncuts)
{
	struct buf a, b;
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	ref(p, n, body_lines, &a);
	test_assert(pieces(p, n, body_lines, cuts, ncuts, &b) == 0);
	test_assert(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		fprintf(stderr, "  input %zu bytes, lines %llu, cut %zu\n", n,
			(unsigned long long)body_lines, cuts[0]);
	buf_deinit(&a);
	buf_deinit(&b);
}

static void test_table(void)
{
	test_begin("pop3_dot table");
	static const struct {
		const char *in;
		uint64_t lines;
		const char *out;
	} t[] = {
		{ "", UINT64_MAX, ".\r\n" },
		{ "a\nb\n", UINT64_MAX, "a\r\nb\r\n.\r\n" },
		{ "a\r\nb", UINT64_MAX, "a\r\nb\r\n.\r\n" },
		{ ".x\n..\n.\n", UINT64_MAX, "..x\r\n...\r\n..\r\n.\r\n" },
		{ "a\rb\n", UINT64_MAX, "a\rb\r\n.\r\n" },
		{ "a\r\r\n", UINT64_MAX, "a\r\r\n.\r\n" },
		{ "a\r", UINT64_MAX, "a\r\n.\r\n" },
		{ "\r", UINT64_MAX, "\r\n.\r\n" },
		{ "\n\n", UINT64_MAX, "\r\n\r\n.\r\n" },
		{ "H: 1\n\nb1\nb2\n", 1, "H: 1\r\n\r\nb1\r\n.\r\n" },
		{ "H: 1\n\nb1\nb2\n", 0, "H: 1\r\n\r\n.\r\n" },
		{ "H: 1\r\n\r\n.b1\r\n", 5, "H: 1\r\n\r\n..b1\r\n.\r\n" },
		{ "H: 1\nH: 2", 0, "H: 1\r\nH: 2\r\n.\r\n" },
	};
	static const size_t cuts[] = { 1, 2, 3, 1000 };
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (size_t c = 0; c < 4; c++) {
			struct buf o;
			buf_init(&o, 4096);
			test_assert(pieces(t[i].in, strlen(t[i].in),
					   t[i].lines, &cuts[c], 1, &o) == 0);
			test_assert(strcmp(o.p ? o.p : "", t[i].out) == 0);
			buf_deinit(&o);
		}
	}
	/* embedded NUL passes through */
	struct buf o;
	buf_init(&o, 64);
	test_assert(pieces("a\0b\n", 4, UINT64_MAX, (size_t[]){ 2 }, 1,
			   &o) == 0);
	test_assert(o.len == 8 && memcmp(o.p, "a\0b\r\n.\r\n", 8) == 0);
	buf_deinit(&o);
	/* output maximum: -1, never past it */
	buf_init(&o, 8);
	test_assert(pieces("0123456789\n", 11, UINT64_MAX, (size_t[]){ 4 }, 1,
			   &o) == -1);
	test_assert(o.len <= 8);
	buf_deinit(&o);
}

static void test_random(void)
{
	test_begin("pop3_dot random pieces against the reference");
	static const char alphabet[] = { '\r', '\n', '.', 'x', '\0', '\n' };
	char msg[600];
	srand(42);
	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)rand() % sizeof msg;
		for (size_t i = 0; i < n; i++)
			msg[i] = alphabet[rand() % (int)sizeof alphabet];
		size_t cuts[3] = { 1 + (size_t)rand() % 7,
				   1 + (size_t)rand() % 64, 1 };
		uint64_t lines = round % 3 == 0 ? UINT64_MAX
						: (uint64_t)(rand() % 6);
		check(msg, n, lines, cuts, 3);
	}
}

int main(void)
{
	test_table();
	test_random();
	return test_end();
}
