/*
 * RFC 5322 address lists (lib/addrlist): a table of real-world and broken
 * fields rendered entry by entry, the normal form used by SEARCH, the
 * ADDRLIST_MAX bound, embedded NUL and control bytes, bare CR/LF, and
 * linear time on a pathological field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addrlist.h"
#include "test.h"

/* "(name|route|mailbox|domain)" per entry, "-" for NULL; group markers
   as "[name:" and "]" */
static void render(const struct addrlist *l, char *out, size_t outsz)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < l->n && o < outsz; i++) {
		const struct addrlist_addr *a = &l->v[i];
		int k;
		if (a->kind == ADDRLIST_GROUP_START)
			k = snprintf(out + o, outsz - o,
				     "[%s:", a->name ? a->name : "-");
		else if (a->kind == ADDRLIST_GROUP_END)
			k = snprintf(out + o, outsz - o, "]");
		else
			k = snprintf(out + o, outsz - o, "(%s|%s|%s|%s)",
				     a->name ? a->name : "-",
				     a->route ? a->route : "-", a->mailbox,
				     a->domain ? a->domain : "-");
		if (k < 0)
			return;
		o += (size_t)k;
	}
}

static void test_table(void)
{
	test_begin("table");
	static const struct {
		const char *in, *out, *norm;
	} t[] = {
	    {"", "", ""},
	    {"   ", "", ""},
	    {"a@b", "(-|-|a|b)", "a@b"},
	    {"From Real <fromuser@fromdomain.org>",
	     "(From Real|-|fromuser|fromdomain.org)",
	     "From Real <fromuser@fromdomain.org>"},
	    {"user@domain (Real Name)", "(Real Name|-|user|domain)",
	     "Real Name <user@domain>"},
	    {"user@domain (Real  (nested) \\) Name)",
	     "(Real (nested) ) Name|-|user|domain)", NULL},
	    {"group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;",
	     "[group:(-|-|g1|d1.org)(-|-|g2|d2.org)][group2:"
	     "(-|-|g3|d3.org)]",
	     "group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;"},
	    {"group:;, group2: (foo) ;", "[group:][group2:]",
	     "group: ;, group2: ;"},
	    {"undisclosed-recipients:;", "[undisclosed-recipients:]", NULL},
	    {"open: a@b", "[open:(-|-|a|b)]", NULL},
	    {"<@route:user@domain>", "(-|@route|user|domain)", "user@domain"},
	    {"<@r1,@r2:a@x>", "(-|@r1,@r2|a|x)", NULL},
	    {"\"Doe, J\" <a@x>, b@y", "(Doe, J|-|a|x)(-|-|b|y)",
	     "Doe, J <a@x>, b@y"},
	    {"\"a b\"@x", "(-|-|\"a b\"|x)", NULL},
	    {"<\"a\\\"b\"@x>", "(-|-|\"a\\\"b\"|x)", NULL},
	    {"<user-from (comment)@ (comment) domain.org>",
	     "(-|-|user-from|domain.org)", "user-from@domain.org"},
	    {"John Q. Public <jqp@x>", "(John Q. Public|-|jqp|x)", NULL},
	    {"=?UTF-8?B?w6TDtg==?= <a@x>", "(=?UTF-8?B?w6TDtg==?=|-|a|x)",
	     NULL},
	    {"a@[127.0.0.1]", "(-|-|a|[127.0.0.1])", NULL},
	    {"root", "(-|-|root|-)", "root"},
	    {",,a@x,,", "(-|-||-)(-|-||-)(-|-|a|x)(-|-||-)", NULL},
	    {"a@b,", "(-|-|a|b)", "a@b"},
	    {"a@b, , c@d", "(-|-|a|b)(-|-||-)(-|-|c|d)", "a@b, , c@d"},
	    {"g:a@b,,c@d;", "[g:(-|-|a|b)(-|-||-)(-|-|c|d)]", NULL},
	    {"\"a b\"@x, \"c\\\"d\"@y", "(-|-|\"a b\"|x)(-|-|\"c\\\"d\"|y)",
	     "a b@x, c\"d@y"},
	    {"A\r\n <a@x>,\n\tb@y", "(A|-|a|x)(-|-|b|y)", NULL},
	    {"a@x (unterminated", "(unterminated|-|a|x)", NULL},
	    {"\"unterminated", "(-|-|\"unterminated\"|-)", NULL},
	    {"<a@x", "(-|-|a|x)", NULL},
	    {"<>", "(-|-||-)", NULL},
	    {"(\\", "", NULL},
	    {"a@b >) :", "(-|-|a|b)", NULL},
	    {"x: y: a@b;", "[x:(-|-|a|b)]", NULL},
	    {"\r", "", NULL},
	    {"\n", "", NULL},
	};
	char out[1024];
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		struct addrlist l;
		addrlist_parse(t[i].in, strlen(t[i].in), &l);
		render(&l, out, sizeof out);
		test_assert(strcmp(out, t[i].out) == 0);
		if (strcmp(out, t[i].out) != 0)
			fprintf(stderr, "  case %zu: got %s\n", i, out);
		if (t[i].norm != NULL) {
			struct buf b;
			buf_init(&b, 4096);
			test_assert(addrlist_format(&l, &b) == 0);
			test_assert(strcmp(buf_cstr(&b), t[i].norm) == 0);
			if (strcmp(buf_cstr(&b), t[i].norm) != 0)
				fprintf(stderr, "  norm %zu: got %s\n", i,
					buf_cstr(&b));
			buf_deinit(&b);
		}
		addrlist_free(&l);
	}
}

static void test_bytes(void)
{
	test_begin("bytes");
	struct addrlist l;
	/* embedded NUL: kept, flagged, with the member's span */
	addrlist_parse("a\0b@x, c@y", 10, &l);
	test_assert(l.n == 2 && l.v[0].ctl && l.v[0].mailbox_len == 3 &&
		    memcmp(l.v[0].mailbox, "a\0b", 3) == 0);
	test_assert(l.v[0].src_off == 0 && l.v[0].src_len == 5);
	test_assert(!l.v[1].ctl && strcmp(l.v[1].mailbox, "c") == 0);
	addrlist_free(&l);
	addrlist_parse("a\x01@x", 4, &l);
	test_assert(l.n == 1 && l.v[0].ctl);
	addrlist_free(&l);
	/* 8-bit text is atom text */
	addrlist_parse("J\xc3\xb6rg <j@x>", 12, &l);
	test_assert(l.n == 1 && strcmp(l.v[0].name, "J\xc3\xb6rg") == 0);
	addrlist_free(&l);
	/* a full output buffer */
	addrlist_parse("a@b, c@d", 8, &l);
	struct buf b;
	buf_init(&b, 5);
	test_assert(addrlist_format(&l, &b) < 0);
	buf_deinit(&b);
	addrlist_free(&l);
}

static void test_limits(void)
{
	test_begin("limits");
	/* ADDRLIST_MAX entries are kept, one more is dropped */
	size_t n = ADDRLIST_MAX + 1, len = n * 4;
	char *s = malloc(len + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * 4, "a@b,", 4);
	s[len] = '\0';
	struct addrlist l;
	addrlist_parse(s, len - 4, &l);
	test_assert(l.n == ADDRLIST_MAX && !l.truncated);
	addrlist_free(&l);
	addrlist_parse(s, len, &l);
	test_assert(l.n == ADDRLIST_MAX && l.truncated);
	addrlist_free(&l);
	free(s);
	/* linear time: a megabyte of nested comments, quotes and routes */
	len = 1 << 20;
	s = malloc(len);
	static const char pat[] = "((\"<@a,@b:\\";
	for (size_t i = 0; i < len; i++)
		s[i] = pat[i % (sizeof pat - 1)];
	clock_t t0 = clock();
	addrlist_parse(s, len, &l);
	addrlist_free(&l);
	memset(s, '<', len);
	addrlist_parse(s, len, &l);
	addrlist_free(&l);
	memset(s, ',', len);
	addrlist_parse(s, len, &l);
	test_assert(l.n == ADDRLIST_MAX && l.truncated);
	addrlist_free(&l);
	test_assert((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
	free(s);
}

/* fn for addrlist_each_addr_spec: collects "addr;" and stops at "stop@x" */
static bool collect(void *ctx, const char *addr)
{
	char *out = ctx;
	size_t o = strlen(out);
	snprintf(out + o, 256 - o, "%s;", addr);
	return strcmp(addr, "stop@x") != 0;
}

static void test_addr_spec(void)
{
	static const struct {
		const char *field;
		size_t len; /* 0: strlen */
		long n;
		const char *seen;
	} cases[] = {
	    {"", 0, 0, ""},
	    {"Undisclosed recipients:;", 0, 0, ""},
	    {"A <a@b.org>, \"q u\"@c.org (C)", 0, 2, "a@b.org;q u@c.org;"},
	    {"grp: x@y, z@w;, v@u", 0, 3, "x@y;z@w;v@u;"},
	    {"a@b, stop@x, c@d", 0, 2, "a@b;stop@x;"},
	    {"a@b, nodomain, c@d", 0, -1, "a@b;"},
	    {"a@b, \"x\ty\"@d", 0, -1, "a@b;"},
	    {"a@b, x\0y@d", 11, -1, "a@b;"},
	    {"<>", 0, -1, ""},
	};
	test_begin("addr_spec");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char seen[256] = "";
		size_t len =
		    cases[i].len ? cases[i].len : strlen(cases[i].field);
		long n =
		    addrlist_each_addr_spec(cases[i].field, len, collect, seen);
		test_assert(n == cases[i].n);
		test_assert(strcmp(seen, cases[i].seen) == 0);
	}
	/* 511 bytes fit, 512 do not */
	char big[600], out[512];
	memset(big, 'l', sizeof big);
	memcpy(big + 507, "@d.o", 4); /* 511 */
	struct addrlist l;
	addrlist_parse(big, 511, &l);
	test_assert(l.n == 1 &&
		    addrlist_addr_spec(&l.v[0], out, sizeof out) == 0 &&
		    strlen(out) == 511);
	addrlist_free(&l);
	memcpy(big + 507, "l@d.o", 5); /* 512 */
	addrlist_parse(big, 512, &l);
	test_assert(l.n == 1 &&
		    addrlist_addr_spec(&l.v[0], out, sizeof out) < 0);
	addrlist_free(&l);
}

int main(void)
{
	test_addr_spec();
	test_table();
	test_bytes();
	test_limits();
	return test_end();
}
