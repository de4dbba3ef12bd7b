/*
 * Unit tests for cli/sendmail_msg: the input conversion (whole and one
 * byte at a time, so chunk boundaries cannot matter), the header split,
 * address lists, From: with a full name, xtext and the SMTP encoding.
 */
#include <stdio.h>
#include <string.h>

#include "../../../cli/sendmail_msg.h"
#include "test.h"

/* Runs the input machine over in (len n) in pieces of step bytes. */
static void convert(const char *in, size_t n, bool ignore_dots, size_t step,
		    struct buf *out, size_t *consumed_r)
{
	struct sm_input st;
	struct buf tmp;
	sm_input_init(&st, ignore_dots);
	buf_init(&tmp, 1 << 20);
	buf_reset(out);
	size_t used = 0;
	while (used < n && !st.done) {
		size_t k = n - used < step ? n - used : step;
		buf_reset(&tmp);
		ssize_t r = sm_input_feed(&st, in + used, k, &tmp);
		test_assert(r >= 0);
		if (r < 0)
			break;
		used += (size_t)r;
		test_assert(buf_append(out, tmp.p ? tmp.p : "", tmp.len) == 0);
	}
	buf_reset(&tmp);
	test_assert(sm_input_end(&st, &tmp) == 0);
	test_assert(buf_append(out, tmp.p ? tmp.p : "", tmp.len) == 0);
	*consumed_r = used;
	buf_deinit(&tmp);
}

static void test_input(void)
{
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
		bool ignore_dots;
		const char *out;
		size_t outlen; /* 0: strlen */
	} cases[] = {
	    {"", 0, false, "", 0},
	    {"a\nb\n", 0, false, "a\nb\n", 0},
	    {"a\r\nb\r\n", 0, false, "a\nb\n", 0},
	    {"no newline", 0, false, "no newline\n", 0},
	    {"bare\rcr\n", 0, false, "bare\rcr\n", 0},
	    {"end cr\r", 0, false, "end cr\r\n", 0},
	    {"a\n.\nb\n", 0, false, "a\n", 0},
	    {"a\r\n.\r\nb\r\n", 0, false, "a\n", 0},
	    {"a\n.\nb\n", 0, true, "a\n.\nb\n", 0},
	    {"a\n..\n.x\n", 0, false, "a\n..\n.x\n", 0},
	    {".\n", 0, false, "", 0},
	    {"a\n.", 0, false, "a\n", 0},
	    {"a\n.", 0, true, "a\n.\n", 0},
	    {"a\n.\r", 0, false, "a\n.\r\n", 0},
	    {"a\n.\rx\n", 0, false, "a\n.\rx\n", 0},
	    {"x.\n", 0, false, "x.\n", 0},
	    {"\r.\n", 0, false, "\r.\n", 0},
	    {"\n\n", 0, false, "\n\n", 0},
	    {"n\0l\n", 4, false, "n\0l\n", 4},
	};
	test_begin("input");
	struct buf out;
	buf_init(&out, 1 << 20);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = cases[i].len ? cases[i].len : strlen(cases[i].in);
		size_t on =
		    cases[i].outlen ? cases[i].outlen : strlen(cases[i].out);
		for (size_t step = 1; step <= n + 1; step += n ? n : 1) {
			size_t used;
			convert(cases[i].in, n, cases[i].ignore_dots, step,
				&out, &used);
			test_assert(out.len == on);
			test_assert(out.len == on &&
				    memcmp(out.len ? out.p : "", cases[i].out,
					   on) == 0);
			if (out.len != on ||
			    memcmp(out.len ? out.p : "", cases[i].out, on))
				fprintf(stderr, "  case %zu step %zu\n", i,
					step);
		}
	}
	/* the lone dot stops consumption: the rest is ignored */
	size_t used;
	convert("a\n.\nrest\n", 9, false, 100, &out, &used);
	test_assert(used == 4);
	/* a full output buffer is an error, not an overflow */
	struct sm_input st;
	struct buf small;
	sm_input_init(&st, false);
	buf_init(&small, 2);
	test_assert(sm_input_feed(&st, "abcdef", 6, &small) == -1);
	buf_deinit(&small);
	buf_deinit(&out);
}

static void header_case(const char *msg, const char *want_hdr,
			const char *want_body)
{
	FILE *f = fmemopen((void *)msg, strlen(msg), "r");
	struct buf hdr;
	off_t off = -1;
	const char *err = "";
	buf_init(&hdr, SM_HEADER_MAX);
	test_assert(f != NULL);
	if (f == NULL)
		return;
	test_assert(sm_header_read(f, &hdr, &off, &err) == 0);
	test_assert(strcmp(buf_cstr(&hdr), want_hdr) == 0);
	test_assert(off >= 0 && strcmp(msg + off, want_body) == 0);
	if (strcmp(buf_cstr(&hdr), want_hdr) != 0)
		fprintf(stderr, "  header of %s: [%s]\n", msg, buf_cstr(&hdr));
	fclose(f);
	buf_deinit(&hdr);
}

static void test_header(void)
{
	test_begin("header");
	header_case("", "", "");
	header_case("\nbody\n", "", "body\n");
	header_case("A: 1\nB: 2\n\nbody\n", "A: 1\nB: 2\n", "body\n");
	header_case("A: 1\n folded\nB: 2\n", "A: 1\n folded\nB: 2\n", "");
	header_case("A: 1\nnot a header\n", "A: 1\n", "not a header\n");
	header_case("From x@y Mon\nA: 1\n\nb\n", "A: 1\n", "b\n");
	header_case("A: 1\nFrom x\n", "A: 1\n", "From x\n");
	header_case(" lead\nA: 1\n", "", " lead\nA: 1\n");
	header_case("Bad Name: x\n", "", "Bad Name: x\n");
	header_case(":x\n", "", ":x\n");
	header_case("A: no lf", "A: no lf\n", "");

	/* the limit: a header section over it is EFBIG */
	static char big[300];
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "A: ", 3);
	FILE *f = fmemopen(big, strlen(big), "r");
	struct buf hdr;
	off_t off;
	const char *err = "";
	buf_init(&hdr, 100);
	test_assert(sm_header_read(f, &hdr, &off, &err) == -1);
	fclose(f);
	buf_deinit(&hdr);
}

struct collect {
	char out[1024];
	int stop_at;
	int n;
};

static int collect(void *ctx, const char *addr, size_t len)
{
	struct collect *c = ctx;
	test_assert(strlen(addr) == len && len <= SM_ADDR_MAX);
	if (++c->n == c->stop_at)
		return -1;
	size_t o = strlen(c->out);
	snprintf(c->out + o, sizeof(c->out) - o, "%s|", addr);
	return 0;
}

static void test_addr_list(void)
{
	static const struct {
		const char *in;
		int count;
		const char *out;
	} cases[] = {
	    {"", 0, ""},
	    {"a@x", 1, "a@x|"},
	    {" a@x , b@y ", 2, "a@x|b@y|"},
	    {"Name <a@x>", 1, "a@x|"},
	    {"\"Doe, J\" <a@x>, b@y", 2, "a@x|b@y|"},
	    {"a@x (comment, with (nested) commas)", 1, "a@x|"},
	    {"group: a@x, b@y;, c@z", 3, "a@x|b@y|c@z|"},
	    {"undisclosed-recipients:;", 0, ""},
	    {"<@r1,@r2:a@x>", 1, "a@x|"},
	    {"\"a b\"@x", 1, "\"a b\"@x|"},
	    {"<\"a b\"@x>", 1, "\"a b\"@x|"},
	    {"root", 1, "root|"},
	    {",,a@x,,", 1, "a@x|"},
	    {"A\n <a@x>,\n\tb@y", 2, "a@x|b@y|"},
	    {"a@x (unterminated", 1, "a@x|"},
	    {"\"unterminated", 1, "\"unterminated\"|"},
	    {"<a@x", 1, "a@x|"},
	    {"(\\", 0, ""},
	};
	test_begin("addr_list");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct collect c = {.stop_at = -1};
		struct str bad;
		int r =
		    sm_addr_list(str_from_cstr(cases[i].in), collect, &c, &bad);
		test_assert(r == cases[i].count);
		test_assert(strcmp(c.out, cases[i].out) == 0);
		if (r != cases[i].count || strcmp(c.out, cases[i].out) != 0)
			fprintf(stderr, "  case %zu: %d [%s]\n", i, r, c.out);
	}
	/* SM_ADDR_MAX fits, one more does not; a long display name is fine */
	char addr[SM_ADDR_MAX + 2];
	memset(addr, 'a', sizeof(addr));
	addr[SM_ADDR_MAX] = '\0';
	struct collect c = {.stop_at = -1};
	struct str bad;
	test_assert(sm_addr_list(str_from_cstr(addr), collect, &c, &bad) == 1);
	addr[SM_ADDR_MAX] = 'a';
	addr[SM_ADDR_MAX + 1] = '\0';
	c = (struct collect){.stop_at = -1};
	test_assert(sm_addr_list(str_from_cstr(addr), collect, &c, &bad) == -1);
	char named[600];
	snprintf(named, sizeof(named), "\"%s\" <a@x>", addr);
	c = (struct collect){.stop_at = -1};
	test_assert(sm_addr_list(str_from_cstr(named), collect, &c, &bad) == 1);
	/* control bytes and NUL in an address */
	c = (struct collect){.stop_at = -1};
	test_assert(sm_addr_list((struct str){"a\0b@x, c@y", 10}, collect, &c,
				 &bad) == -1);
	test_assert(bad.len == 5);
	c = (struct collect){.stop_at = -1};
	test_assert(sm_addr_list(str_from_cstr("a\x01@x"), collect, &c, &bad) ==
		    -1);
	/* the callback stops the walk */
	c = (struct collect){.stop_at = 2};
	test_assert(sm_addr_list(str_from_cstr("a@x, b@y, c@z"), collect, &c,
				 &bad) == -1);
}

static void test_from_xtext_enc(void)
{
	test_begin("from");
	struct buf b;
	buf_init(&b, 4096);
	test_assert(sm_from_header(&b, "", "a@x") == 0);
	test_assert(strcmp(buf_cstr(&b), "From: a@x\n") == 0);
	buf_reset(&b);
	test_assert(sm_from_header(&b, "Jane \"J\" \\Doe\x01", "a@x") == 0);
	test_assert(strcmp(buf_cstr(&b),
			   "From: \"Jane \\\"J\\\" \\\\Doe\" <a@x>\n") == 0);
	buf_reset(&b);
	test_assert(sm_from_header(&b, "\xe5\xbc\xa0\xe4\xb8\x89", "a@x") == 0);
	test_assert(
	    strcmp(buf_cstr(&b), "From: =?UTF-8?B?5byg5LiJ?= <a@x>\n") == 0);
	/* a long non-ASCII name: several encoded-words, no split sequence */
	char name[SM_FULLNAME_MAX + 10];
	for (int i = 0; i < 40; i++)
		memcpy(name + 3 * i, "\xe5\xbc\xa0", 3);
	name[120] = '\0';
	buf_reset(&b);
	test_assert(sm_from_header(&b, name, "a@x") == 0);
	test_assert(strstr(buf_cstr(&b), "?=\n =?UTF-8?B?") != NULL);
	/* RFC 2047 §2: a line with encoded-words is 76 bytes at most */
	for (const char *l = buf_cstr(&b); *l != '\0';) {
		const char *nl = strchr(l, '\n');
		test_assert(nl != NULL && nl - l <= 76);
		l = nl != NULL ? nl + 1 : l + strlen(l);
	}
	struct buf tiny;
	buf_init(&tiny, 8);
	test_assert(sm_from_header(&tiny, "Name", "a@x") == -1);
	buf_deinit(&tiny);

	test_begin("xtext");
	char x[16];
	test_assert(sm_xtext("a b+c=", x, sizeof(x)) == 0);
	test_assert(strcmp(x, "a+20b+2Bc+3D") == 0);
	test_assert(sm_xtext("", x, sizeof(x)) == 0 && x[0] == '\0');
	test_assert(sm_xtext("0123456789abcdef", x, sizeof(x)) == -1);
	test_assert(sm_xtext("0123456789abcde", x, sizeof(x)) == 0);

	buf_deinit(&b);
}

int main(void)
{
	test_input();
	test_header();
	test_addr_list();
	test_from_xtext_enc();
	return test_end();
}
