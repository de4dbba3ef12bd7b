/*
 * LIST pattern matching (mra/imap_mbox imap_mbox_match): table cases,
 * random patterns and names over a small alphabet compared with the plain
 * backtracking definition, and the wildcard pile-up of issue 10 (which
 * took the backtracking matcher seconds) done in well under a second.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../mra/imap_mbox.h"
#include "test.h"

/* RFC 3501 §6.3.8 written the obvious (exponential) way */
static bool ref(const char *pat, const char *name)
{
	if (*pat == '\0')
		return *name == '\0';
	if (*pat == '*' || *pat == '%') {
		for (const char *n = name;; n++) {
			if (ref(pat + 1, n))
				return true;
			if (*n == '\0' || (*pat == '%' && *n == '.'))
				return false;
		}
	}
	return *name != '\0' && *pat == *name && ref(pat + 1, name + 1);
}

static void test_table(void)
{
	test_begin("table");
	static const struct {
		const char *pat, *name;
		bool match;
	} t[] = {
	    {"", "", true},
	    {"", "a", false},
	    {"*", "", true},
	    {"%", "", true},
	    {"*", "a.b.c", true},
	    {"%", "a.b", false},
	    {"%", "ab", true},
	    {"a.%", "a.b", true},
	    {"a.%", "a.b.c", false},
	    {"a.*", "a.b.c", true},
	    {"a%", "a.b", false},
	    {"%.%", "a.b", true},
	    {"%*", "a.b", true},
	    {"*%", "a.b", true},
	    {"%%", "a.b", false},
	    {"%.b%", "x.bcd", true},
	    {"*Z", "a.b.Z", true},
	    {"*Z", "a.b.Zx", false},
	    {"foo[bar", "foo[bar", true},
	    {"a*b*c", "aXbYc", true},
	    {"a*b*c", "aXcYb", false},
	    {"INBOX", "INBOX", true},
	    {"INBOX", "INBO", false},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		test_assert(imap_mbox_match(t[i].pat, t[i].name) == t[i].match);
		test_assert(ref(t[i].pat, t[i].name) == t[i].match);
	}
	/* a name longer than the matcher's stack rows */
	char longname[700];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	longname[300] = '.';
	test_assert(imap_mbox_match("*", longname));
	test_assert(imap_mbox_match("a*.*a", longname));
	test_assert(!imap_mbox_match("%", longname));
	test_assert(imap_mbox_match("%.%", longname));
}

static void test_random(void)
{
	test_begin("random");
	static const char pchars[] = "ab.*%";
	static const char nchars[] = "ab.";
	srand(10);
	for (int k = 0; k < 20000; k++) {
		char pat[9], name[9];
		size_t pl = (size_t)rand() % 8, nl = (size_t)rand() % 8;
		for (size_t i = 0; i < pl; i++)
			pat[i] = pchars[rand() % 5];
		pat[pl] = '\0';
		for (size_t i = 0; i < nl; i++)
			name[i] = nchars[rand() % 3];
		name[nl] = '\0';
		test_assert(imap_mbox_match(pat, name) == ref(pat, name));
	}
}

static void test_stars(void)
{
	test_begin("stars");
	/* 1000 wildcards of both kinds, mixed with literals, against a
	   long name that almost matches */
	char pat[2048], name[256];
	size_t n = 0;
	for (int i = 0; i < 1000; i++)
		pat[n++] = i % 7 == 3 ? 'a' : i % 2 ? '*' : '%';
	pat[n++] = 'Z';
	pat[n] = '\0';
	memset(name, 'a', sizeof name - 1);
	for (size_t i = 5; i < sizeof name - 1; i += 9)
		name[i] = '.';
	name[sizeof name - 1] = '\0';
	clock_t t0 = clock();
	for (int i = 0; i < 100; i++)
		test_assert(!imap_mbox_match(pat, name));
	test_assert((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
}

int main(void)
{
	test_table();
	test_random();
	test_stars();
	return test_end();
}
