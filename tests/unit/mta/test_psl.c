/*
 * Unit tests for mta/psl: the Public Suffix List's rules (plain,
 * wildcard, exception, the default "*") on a small inline list, the
 * parser's limits (comments, blanks, bad rules, embedded NUL, CR LF, the
 * longest rule and one more byte), and DMARC's organizational domain from
 * Debian's list when it is installed (co.uk, com.cn, github.io).
 */
#include <stdio.h>
#include <string.h>

#include "../../../mta/dmarc.h"
#include "../../../mta/psl.h"
#include "test.h"

static const char list[] =
    "// ===BEGIN ICANN DOMAINS===\n"
    "com\n"
    "uk\n"
    "co.uk\n"
    "cn\n"
    "com.cn\n"
    "// wildcard and exceptions, as the list writes them\n"
    "*.ck\n"
    "!www.ck\n"
    "jp\n"
    "*.kawasaki.jp\n"
    "!city.kawasaki.jp\n"
    "  io   trailing words are ignored\n"
    "github.io\r\n"
    "\n"
    "bad..rule\n"
    "*bad\n"
    ".lead\n"
    "trail.\n"
    "x!y\n";

struct org_case {
	const char *domain, *org;
};

static const struct org_case inline_cases[] = {
    {"example.com", "example.com"},
    {"www.example.com", "example.com"},
    {"a.b.c.example.com", "example.com"},
    {"WWW.Example.COM.", "example.com"},
    {"com", "com"},
    {"www.bbc.co.uk", "bbc.co.uk"},
    {"bbc.co.uk", "bbc.co.uk"},
    {"co.uk", "co.uk"},
    {"mail.example.com.cn", "example.com.cn"},
    {"foo.github.io", "foo.github.io"},
    {"a.foo.github.io", "foo.github.io"},
    {"github.io", "github.io"},
    {"a.b.ck", "a.b.ck"},
    {"x.a.b.ck", "a.b.ck"},
    {"www.ck", "www.ck"},
    {"a.www.ck", "www.ck"},
    {"a.city.kawasaki.jp", "city.kawasaki.jp"},
    {"a.b.other.kawasaki.jp", "b.other.kawasaki.jp"},
    /* no rule: the default "*" */
    {"mail.example.zz", "example.zz"},
    {"zz", "zz"},
    {"", ""},
    /* rules that were skipped do not match */
    {"a.b.lead", "b.lead"},
};

static void check(const struct psl *l, const struct org_case *c)
{
	char out[PSL_NAME_MAX + 1];
	size_t n = psl_org_domain(l, c->domain, out, sizeof(out));
	if (strcmp(out, c->org) != 0 || n != strlen(c->org))
		printf("  %s -> %s (want %s)\n", c->domain, out, c->org);
	test_assert(strcmp(out, c->org) == 0);
	test_assert(n == strlen(c->org));
}

int main(void)
{
	test_begin("psl: inline list");
	struct psl *l = psl_parse(list, sizeof(list) - 1);
	test_assert(psl_count(l) == 12);
	for (size_t i = 0; i < sizeof(inline_cases) / sizeof(inline_cases[0]);
	     i++)
		check(l, &inline_cases[i]);

	test_begin("psl: limits");
	{
		char out[8];
		/* too small an output buffer: "" and 0 */
		test_assert(psl_org_domain(l, "www.example.com", out,
					   sizeof(out)) == 0);
		test_assert(out[0] == '\0');
		test_assert(psl_org_domain(l, "a.com", out, 0) == 0);
		/* a name over PSL_NAME_MAX is copied, lower case */
		char big[PSL_NAME_MAX + 2], o2[PSL_NAME_MAX + 3];
		memset(big, 'A', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		test_assert(psl_org_domain(l, big, o2, sizeof(o2)) ==
			    PSL_NAME_MAX + 1);
		test_assert(o2[0] == 'a');
		/* the longest rule is kept, one more byte is not */
		char r[2 * PSL_NAME_MAX + 8];
		memset(r, 'r', PSL_NAME_MAX);
		r[0] = 'x';
		r[1] = '.';
		memcpy(r + PSL_NAME_MAX, "\nq", 2);
		memset(r + PSL_NAME_MAX + 2, 'q', PSL_NAME_MAX);
		r[PSL_NAME_MAX + 2] = 'y';
		r[PSL_NAME_MAX + 3] = '.';
		struct psl *m = psl_parse(r, 2 * PSL_NAME_MAX + 2);
		test_assert(psl_count(m) == 1);
		psl_free(&m);
		test_assert(m == NULL);
		/* embedded NUL: the rule is skipped; a bare CR ends the
		   word ("c") */
		m = psl_parse("a\0b\nc\rd\n\n", 10);
		test_assert(psl_count(m) == 1);
		psl_free(&m);
		m = psl_parse("", 0);
		test_assert(psl_count(m) == 0);
		test_assert(
		    psl_org_domain(m, "a.b.example.org", o2, sizeof(o2)) == 11);
		test_assert(strcmp(o2, "example.org") == 0);
		psl_free(&m);
		test_assert(psl_load("/nonexistent/psl.dat") == NULL);
	}
	psl_free(&l);

	test_begin("psl: Debian's list through dmarc_org_domain");
	struct psl *d =
	    psl_load("/usr/share/publicsuffix/public_suffix_list.dat");
	if (d == NULL) {
		printf("  (publicsuffix not installed: skipped)\n");
	} else {
		static const struct org_case deb[] = {
		    {"www.bbc.co.uk", "bbc.co.uk"},
		    {"mail.example.com.cn", "example.com.cn"},
		    {"user.github.io", "user.github.io"},
		    {"a.b.user.github.io", "user.github.io"},
		    {"mail.example.org", "example.org"},
		    {"a.b.example.co.jp", "example.co.jp"},
		    {"x.y.blogspot.com", "y.blogspot.com"},
		};
		test_assert(psl_count(d) > 5000);
		for (size_t i = 0; i < sizeof(deb) / sizeof(deb[0]); i++) {
			char out[256];
			dmarc_org_domain(d, deb[i].domain, out, sizeof(out));
			if (strcmp(out, deb[i].org) != 0)
				printf("  %s -> %s\n", deb[i].domain, out);
			test_assert(strcmp(out, deb[i].org) == 0);
		}
		psl_free(&d);
	}
	/* without a list: the old guess */
	char out[256];
	dmarc_org_domain(NULL, "mail.example.co.uk", out, sizeof(out));
	test_assert(strcmp(out, "example.co.uk") == 0);
	dmarc_org_domain(NULL, "user.github.io", out, sizeof(out));
	test_assert(strcmp(out, "github.io") == 0);
	return test_end();
}
