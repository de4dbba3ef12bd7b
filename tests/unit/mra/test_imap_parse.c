/*
 * The IMAP command parser and literal framing (mra/imap_parse), the FETCH
 * section parser, sequence sets and SASL PLAIN decoding: table-driven,
 * with the edge cases STYLE.md asks for (empty, maximum, maximum+1,
 * embedded NUL, bare CR/LF).
 */
#include <string.h>

#include "../../../mra/imap_fetch.h"
#include "../../../mra/imap_parse.h"
#include "../../../mra/mra.h"
#include "test.h"

static int parse(const char *s, size_t len, struct imap_cmd *cmd)
{
	const char *err = NULL;
	return imap_parse(s, len, cmd, &err);
}

static void test_basic(void)
{
	test_begin("basic");
	struct imap_cmd cmd;
	static const char l1[] = "a1 login \"us\\\"er\" {4}\r\npa\0s";
	test_assert(parse(l1, sizeof l1 - 1, &cmd) == 0);
	test_assert(strcmp(cmd.tag, "a1") == 0 &&
		    strcmp(cmd.name, "LOGIN") == 0 && cmd.nargs == 2);
	test_assert(cmd.args[0].type == IMAP_ARG_STRING &&
		    strcmp(cmd.args[0].s, "us\"er") == 0);
	test_assert(cmd.args[1].type == IMAP_ARG_LITERAL &&
		    cmd.args[1].len == 4 &&
		    memcmp(cmd.args[1].s, "pa\0s", 4) == 0);
	imap_cmd_free(&cmd);

	static const char l2[] =
	    "t FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.10> "
	    "NIL (a (b)))";
	test_assert(parse(l2, sizeof l2 - 1, &cmd) == 0);
	test_assert(cmd.nargs == 2 && cmd.args[1].type == IMAP_ARG_LIST &&
		    cmd.args[1].n == 4);
	test_assert(strcmp(cmd.args[1].list[1].s,
			   "BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.10>") == 0);
	test_assert(cmd.args[1].list[2].type == IMAP_ARG_NIL);
	test_assert(cmd.args[1].list[3].list[1].type == IMAP_ARG_LIST);
	imap_cmd_free(&cmd);

	test_assert(parse("x NOOP", 6, &cmd) == 0 && cmd.nargs == 0);
	imap_cmd_free(&cmd);
	test_assert(parse("x LITERAL {3+}\r\nabc", 19, &cmd) == 0 &&
		    cmd.args[0].len == 3);
	imap_cmd_free(&cmd);
	test_assert(parse("x STORE 1 +FLAGS (\\Seen \\Deleted)", 33, &cmd) ==
			0 &&
		    strcmp(cmd.args[2].list[0].s, "\\Seen") == 0);
	imap_cmd_free(&cmd);
	/* '[' is an atom character in a mailbox name (issue 10) */
	test_assert(parse("x SELECT foo[bar", 16, &cmd) == 0 &&
		    cmd.nargs == 1 && strcmp(cmd.args[0].s, "foo[bar") == 0);
	imap_cmd_free(&cmd);
	static const char l3[] = "x LIST \"\" !#$&'+,-.09:;<=>?@^_`|[}%*";
	test_assert(parse(l3, strlen(l3), &cmd) == 0 && cmd.nargs == 2 &&
		    strcmp(cmd.args[1].s, l3 + 10) == 0);
	imap_cmd_free(&cmd);
	/* ... but opens a section after a fetch-att name */
	static const char l4[] = "x FETCH 1 (binary.peek[1 (x)] BODY[] "
				 "BODY.PEEK[HEADER.FIELDS (A)])";
	test_assert(parse(l4, strlen(l4), &cmd) == 0 && cmd.args[1].n == 3 &&
		    strcmp(cmd.args[1].list[0].s, "binary.peek[1 (x)]") == 0);
	imap_cmd_free(&cmd);
	/* an unquoted NIL is an astring ("NIL") and an nstring */
	test_assert(parse("x SEARCH SUBJECT nil", 20, &cmd) == 0 &&
		    cmd.args[1].type == IMAP_ARG_NIL &&
		    imap_arg_is_astring(&cmd.args[1]) &&
		    imap_arg_is_nstring(&cmd.args[1]) &&
		    strcmp(cmd.args[1].s, "nil") == 0);
	imap_cmd_free(&cmd);
	test_assert(parse("x S (a)", 7, &cmd) == 0 &&
		    !imap_arg_is_astring(&cmd.args[0]));
	imap_cmd_free(
	    &cmd); /* literal8 (RFC 3516): ~{n} and ~{n+}, NULs kept */
	static const char l5[] = "x APPEND b ~{3}\r\na\0b ~{1+}\r\nc";
	test_assert(parse(l5, sizeof l5 - 1, &cmd) == 0 && cmd.nargs == 3 &&
		    cmd.args[1].type == IMAP_ARG_LITERAL &&
		    cmd.args[1].literal8 && cmd.args[1].len == 3 &&
		    memcmp(cmd.args[1].s, "a\0b", 3) == 0 &&
		    cmd.args[2].literal8 && !cmd.args[0].literal8);
	imap_cmd_free(&cmd);
	test_assert(parse("x A ~", 5, &cmd) == 0 &&
		    strcmp(cmd.args[0].s, "~") == 0);
	imap_cmd_free(&cmd);
	test_assert(parse("x A ~{2}\r\na", 11, &cmd) < 0);
	imap_cmd_free(&cmd);
}

static void test_bad(void)
{
	test_begin("bad");
	static const char *const bad[] = {
	    "",		       /* empty */
	    "a",	       /* no command */
	    "a ",	       /* no command */
	    "+ NOOP",	       /* bad tag */
	    "a NOOP ",	       /* trailing space */
	    "a X \"open",      /* unterminated */
	    "a X \"a\\b\"",    /* bad escape */
	    "a X (a",	       /* missing ) */
	    "a X a)",	       /* stray ) */
	    "a X {5}\r\nabc",  /* short literal */
	    "a X {5}abc",      /* no CRLF after marker */
	    "a X {}\r\n",      /* no digits */
	    "a X  b",	       /* double space */
	    "a X BODY[HEADER", /* missing ] */
	    "a X \"a\rb\"",    /* bare CR */
	    "a X \"a\nb\"",    /* bare LF */
	    "a N0OP",	       /* non-alpha command */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct imap_cmd cmd;
		test_assert(parse(bad[i], strlen(bad[i]), &cmd) < 0);
		imap_cmd_free(&cmd);
	}
	struct imap_cmd cmd;
	test_assert(parse("a X \"a\0b\"", 9, &cmd) < 0);
	imap_cmd_free(&cmd);
	/* nesting: the maximum depth - 1 is fine, the maximum is not */
	char deep[128];
	size_t n = 0;
	memcpy(deep, "a X ", 4);
	n = 4;
	for (int i = 0; i < IMAP_DEPTH_MAX - 1; i++)
		deep[n++] = '(';
	for (int i = 0; i < IMAP_DEPTH_MAX - 1; i++)
		deep[n++] = ')';
	test_assert(parse(deep, n, &cmd) == 0);
	imap_cmd_free(&cmd);
	n = 4;
	for (int i = 0; i < IMAP_DEPTH_MAX; i++)
		deep[n++] = '(';
	for (int i = 0; i < IMAP_DEPTH_MAX; i++)
		deep[n++] = ')';
	test_assert(parse(deep, n, &cmd) < 0);
	imap_cmd_free(&cmd);
	/* too many arguments */
	static char many[2 * (IMAP_ARGS_MAX + 2) + 8];
	n = 0;
	memcpy(many, "a X", 3);
	n = 3;
	for (int i = 0; i < IMAP_ARGS_MAX + 1; i++) {
		many[n++] = ' ';
		many[n++] = 'x';
	}
	test_assert(parse(many, n, &cmd) < 0);
	imap_cmd_free(&cmd);
	test_assert(parse(many, n - 2, &cmd) == 0);
	imap_cmd_free(&cmd);
}

static void test_frame(void)
{
	test_begin("frame");
	uint64_t n = 0;
	bool sync = false;
	test_assert(imap_frame_line(STR_LIT("a LOGIN {5}"), 100, &n, &sync) ==
			1 &&
		    n == 5 && sync);
	test_assert(imap_frame_line(STR_LIT("a LOGIN {5+}"), 100, &n, &sync) ==
			1 &&
		    n == 5 && !sync);
	test_assert(
	    imap_frame_line(STR_LIT("a APPEND x {100}"), 100, &n, &sync) == 1);
	test_assert(
	    imap_frame_line(STR_LIT("a APPEND x {101}"), 100, &n, &sync) < 0);
	test_assert(imap_frame_line(STR_LIT("a X {99999999999999999999}"),
				    UINT64_MAX, &n, &sync) < 0);
	test_assert(imap_frame_line(STR_LIT("a NOOP"), 100, &n, &sync) == 0);
	test_assert(imap_frame_line(STR_LIT("a X {}"), 100, &n, &sync) == 0);
	test_assert(imap_frame_line(STR_LIT("a X a}"), 100, &n, &sync) == 0);
	test_assert(imap_frame_line(STR_LIT("{+}"), 100, &n, &sync) == 0);
	test_assert(imap_frame_line(STR_LIT(""), 100, &n, &sync) == 0);
}

static void test_seqset(void)
{
	test_begin("seqset");
	test_assert(imap_seqset_ok("1:5,7,9:*"));
	test_assert(imap_seqset_has("1:5,7,9:*", 7, 20));
	test_assert(imap_seqset_has("1:5,7,9:*", 20, 20));
	test_assert(!imap_seqset_has("1:5,7,9:*", 8, 20));
	test_assert(imap_seqset_has("5:3", 4, 20)); /* reversed range */
	test_assert(imap_seqset_has("*", 3, 3));
	test_assert(!imap_seqset_ok(""));
	test_assert(!imap_seqset_ok("0"));
	test_assert(!imap_seqset_ok("1,"));
	test_assert(!imap_seqset_ok("1:"));
	test_assert(!imap_seqset_ok("a"));
	test_assert(!imap_seqset_ok("4294967296"));
	test_assert(imap_seqset_ok("4294967295"));
}

static void test_fetch(void)
{
	test_begin("fetch");
	struct imap_fetch_sec sec;
	memset(&sec, 0, sizeof sec);
	test_assert(
	    imap_fetch_section("HEADER.FIELDS (From \"To\")", 25, &sec) == 0);
	test_assert(sec.kind == SEC_FIELDS && sec.nfields == 2 &&
		    strcmp(sec.fields[1], "To") == 0);
	for (size_t i = 0; i < sec.nfields; i++)
		free(sec.fields[i]);
	free(sec.fields);
	memset(&sec, 0, sizeof sec);
	test_assert(imap_fetch_section("", 0, &sec) == 0 &&
		    sec.kind == SEC_ALL);
	test_assert(imap_fetch_section("TEXT", 4, &sec) == 0 &&
		    sec.kind == SEC_TEXT);
	test_assert(imap_fetch_section("BOGUS", 5, &sec) < 0);
	test_assert(imap_fetch_section("HEADER.FIELDS ()", 16, &sec) < 0);

	struct imap_cmd cmd;
	static const char l[] = "a FETCH 1 (UID BODY[]<10.20> RFC822.HEADER)";
	test_assert(parse(l, sizeof l - 1, &cmd) == 0);
	struct imap_fetch_items it;
	const char *err;
	test_assert(imap_fetch_parse(&cmd.args[1], false, &it, &err) == 0);
	test_assert(it.uid && it.nsecs == 2 && it.secs[0].partial &&
		    it.secs[0].off == 10 && it.secs[0].len == 20 &&
		    !it.secs[0].peek && it.secs[1].peek);
	test_assert(strcmp(it.secs[0].label, "BODY[]<10>") == 0);
	imap_fetch_items_free(&it);
	imap_cmd_free(&cmd);
	static const char b[] = "a FETCH 1 (BODY[]<1.0> X)";
	test_assert(parse(b, sizeof b - 1, &cmd) == 0);
	test_assert(imap_fetch_parse(&cmd.args[1], false, &it, &err) < 0);
	imap_cmd_free(&cmd);
}

static void test_sasl(void)
{
	test_begin("sasl");
	char *u = NULL, *p = NULL;
	/* "\0user\0pass" */
	test_assert(mra_sasl_plain(STR_LIT("AHVzZXIAcGFzcw=="), &u, &p) == 0);
	test_assert(u && p && strcmp(u, "user") == 0 && strcmp(p, "pass") == 0);
	free(u);
	free(p);
	/* "user\0user\0pass": authzid = authcid is fine */
	test_assert(mra_sasl_plain(STR_LIT("dXNlcgB1c2VyAHBhc3M="), &u, &p) ==
		    0);
	free(u);
	free(p);
	/* "other\0user\0pass": proxy login refused */
	test_assert(mra_sasl_plain(STR_LIT("b3RoZXIAdXNlcgBwYXNz"), &u, &p) <
		    0);
	test_assert(mra_sasl_plain(STR_LIT(""), &u, &p) < 0);
	test_assert(mra_sasl_plain(STR_LIT("AHVzZXI="), &u, &p) < 0);
	test_assert(mra_sasl_plain(STR_LIT("!!!!"), &u, &p) < 0);
	test_assert(mra_sasl_plain(STR_LIT("AHVzZXIAcGFzcw="), &u, &p) < 0);
}

int main(void)
{
	test_basic();
	test_bad();
	test_frame();
	test_seqset();
	test_fetch();
	test_sasl();
	return test_end();
}
