/*
 * The RFC 5256 §2.1 base subject (mra/imap_sort mailsort_base_subject):
 * the RFC's own steps one by one, the imaptest sort-subject cases, and the
 * edges (empty, only white space, unbalanced brackets, a subject that is
 * only a blob).
 */
#include <stdio.h>
#include <string.h>

#include "../../../mra/imap_sort.h"
#include "test.h"

static void test_base_subject(void)
{
	test_begin("base_subject");
	static const struct {
		const char *in, *out;
	} t[] = {
	    {"", ""},
	    {"   ", ""},
	    {"a", "a"},
	    {"Re: a", "a"},
	    {"RE:a", "a"},
	    {"Fw: a", "a"},
	    {"FWD:  a", "a"},
	    {"Re: Re: Fwd: a", "a"},
	    {"Re [2]: a", "a"},
	    {"[list] Re: a", "a"},
	    {"[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", "b"},
	    {"b (a)", "b (a)"},
	    {"Re: [FWD: c]", "c"},
	    {"[xyz]", "[xyz]"},
	    {"Ad: Re: Ad: Re: Ad: x", "Ad: Re: Ad: Re: Ad: x"},
	    {"re: [fwd: [fwd: re: [fwd: babylon]]]", "babylon"},
	    {"a\t\r\n  b", "a b"},
	    {"Re: [unclosed", "[unclosed"},
	    {"Reply: a", "Reply: a"},
	    {"a (fwd) b", "a (fwd) b"},
	    {"[a] [b] c", "c"},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		struct buf b;
		buf_init(&b, 1024);
		test_assert(mailsort_base_subject(t[i].in, strlen(t[i].in), &b,
						  NULL) == 0);
		bool ok = strcmp(buf_cstr(&b), t[i].out) == 0;
		test_assert(ok);
		if (!ok)
			fprintf(stderr, "  %s -> [%s], want [%s]\n", t[i].in,
				buf_cstr(&b), t[i].out);
		buf_deinit(&b);
	}
	struct buf b;
	buf_init(&b, 2);
	test_assert(mailsort_base_subject("abc", 3, &b, NULL) < 0);
	buf_deinit(&b);
	/* reply markers */
	bool reply;
	buf_init(&b, 64);
	test_assert(mailsort_base_subject("Re: x", 5, &b, &reply) == 0 &&
		    reply);
	buf_reset(&b);
	test_assert(mailsort_base_subject(" x (fwd)", 8, &b, &reply) == 0 &&
		    reply);
	buf_reset(&b);
	test_assert(mailsort_base_subject("[l] x", 5, &b, &reply) == 0 &&
		    !reply && strcmp(buf_cstr(&b), "x") == 0);
	buf_deinit(&b);
}

int main(void)
{
	test_base_subject();
	return test_end();
}
