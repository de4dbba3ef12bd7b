/*
 * SEARCH (mra/imap_search): key parsing (every RFC 3501 key, nesting,
 * charsets, bad input) and evaluation on in-memory messages: flags,
 * numbers, dates, sizes, decoded headers and bodies.
 */
#include <stdio.h>
#include <string.h>

#include "../../../mra/imap_parse.h"
#include "../../../mra/imap_search.h"
#include "test.h"

/* parses "t SEARCH <keys>" (literals allowed); result of the parse */
static int parse(const char *keys, size_t len, struct imap_search **s)
{
	char line[8192];
	memcpy(line, "t SEARCH ", 9);
	memcpy(line + 9, keys, len);
	struct imap_cmd cmd;
	const char *err;
	*s = NULL;
	if (imap_parse(line, 9 + len, &cmd, &err) < 0) {
		imap_cmd_free(&cmd);
		return -99;
	}
	int r = imap_search_parse(cmd.args, cmd.nargs, s, &err);
	imap_cmd_free(&cmd);
	return r;
}

static const char msg_a[] =
    "From: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.com>\n"
    "To: Bob <bob@example.org>\n"
    "Cc: carol@example.net\n"
    "Subject: =?UTF-8?B?w6lsw6h2ZQ==?= Report\n"
    "Date: Tue, 02 Jan 2024 23:30:00 -0800\n"
    "X-Tag: alpha\n"
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=E9 au LAIT\n"
    "--b\n"
    "Content-Type: application/octet-stream\n"
    "\n"
    "secretattachment\n"
    "--b--\n";

static const char msg_b[] = "Subject: plain\nDate: garbage\n\n"
			    "VGhpcyBpcyBub3QgZGVjb2RlZA==\n";

static struct imap_search_msg ma = {
    .seq = 1,
    .uid = 10,
    .max_seq = 2,
    .max_uid = 20,
    .letters = "S",
    .recent = false,
    .size = 500,
    .internal_date = 1704153600 + 3600, /* 2-Jan-2024 01:00 UTC */
    .text = msg_a,
    .len = sizeof msg_a - 1,
};
static struct imap_search_msg mb = {
    .seq = 2,
    .uid = 20,
    .max_seq = 2,
    .max_uid = 20,
    .letters = "FR",
    .recent = true,
    .size = 40,
    .internal_date = 1706745600, /* 1-Feb */
    .text = msg_b,
    .len = sizeof msg_b - 1,
};

/* which of ma, mb match: 0 none, 1 a, 2 b, 3 both; -1 parse error */
static int run(const char *keys)
{
	struct imap_search *s;
	if (parse(keys, strlen(keys), &s) != 0)
		return -1;
	int r = (imap_search_match(s, &ma) ? 1 : 0) |
		(imap_search_match(s, &mb) ? 2 : 0);
	imap_search_free(&s);
	test_assert(s == NULL);
	return r;
}

static void test_keys(void)
{
	test_begin("keys");
	static const struct {
		const char *keys;
		int want;
	} t[] = {
	    {"ALL", 3},
	    {"SEEN", 1},
	    {"UNSEEN", 2},
	    {"FLAGGED", 2},
	    {"UNFLAGGED", 1},
	    {"ANSWERED", 2},
	    {"UNANSWERED", 1},
	    {"DELETED", 0},
	    {"UNDELETED", 3},
	    {"DRAFT", 0},
	    {"UNDRAFT", 3},
	    {"RECENT", 2},
	    {"NEW", 2},
	    {"OLD", 1},
	    {"KEYWORD $Junk", 0},
	    {"UNKEYWORD foo", 3},
	    {"1", 1},
	    {"2:*", 2},
	    {"*", 2},
	    {"1,2", 3},
	    {"UID 10", 1},
	    {"UID 11:*", 2},
	    {"UID 5:15", 1},
	    {"LARGER 100", 1},
	    {"SMALLER 100", 2},
	    {"LARGER 500", 0},
	    {"SUBJECT report", 1},
	    {"SUBJECT \"\xc3\x89L\xc3\x88VE\"", 1},
	    {"FROM \"j\xc3\xbcrgen\"", 1},
	    {"FROM JURGEN@EXAMPLE", 1},
	    {"TO bob", 1},
	    {"CC carol", 1},
	    {"BCC x", 0},
	    {"HEADER X-Tag ALPHA", 1},
	    {"HEADER x-tag \"\"", 1},
	    {"HEADER Subject \"\"", 3},
	    {"HEADER X-None \"\"", 0},
	    {"BODY \"caf\xc3\xa9 au lait\"", 1},
	    {"BODY secret", 0},
	    {"TEXT secret", 0},
	    {"TEXT bob", 1},
	    {"BODY bob", 0},
	    {"BODY VGhpcyBpcyBub3Q", 2},
	    {"TEXT plain", 2},
	    {"ON 2-Jan-2024", 1},
	    {"BEFORE 2-Jan-2024", 0},
	    {"SINCE 2-Jan-2024", 3},
	    {"SINCE 3-Jan-2024", 2},
	    {"BEFORE \"1-Feb-2024\"", 1},
	    {"ON 1-Feb-2024", 2},
	    {"SENTON 2-Jan-2024", 1},
	    {"SENTBEFORE 3-Jan-2024", 1},
	    {"SENTSINCE 3-Jan-2024", 0},
	    {"SENTBEFORE 1-Jan-2030", 1},
	    {"NOT SEEN", 2},
	    {"NOT NOT SEEN", 1},
	    {"OR SEEN FLAGGED", 3},
	    {"OR (SEEN LARGER 1000) RECENT", 2},
	    {"SEEN SUBJECT report", 1},
	    {"(SEEN) (UNSEEN)", 0},
	    {"CHARSET UTF-8 SUBJECT report", 1},
	    {"charset us-ascii all", 3},
	    {"OR OR SEEN FLAGGED DELETED", 3},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		int got = run(t[i].keys);
		test_assert(got == t[i].want);
		if (got != t[i].want)
			fprintf(stderr, "  %s: got %d want %d\n", t[i].keys,
				got, t[i].want);
	}
	/* a literal as imaplib sends a UTF-8 string */
	struct imap_search *s;
	static const char lit[] =
	    "CHARSET UTF-8 SUBJECT {6}\r\n\xc3\xa9l\xc3\xa8v";
	test_assert(parse(lit, sizeof lit - 1, &s) == 0);
	test_assert(imap_search_match(s, &ma) && !imap_search_match(s, &mb));
	imap_search_free(&s);
}

static void test_bad(void)
{
	test_begin("bad");
	static const char *const bad[] = {
	    "",
	    "FOO",
	    "SUBJECT",
	    "BEFORE",
	    "BEFORE 32-Jan-2024",
	    "BEFORE 1-Foo-2024",
	    "BEFORE 1-Jan-24",
	    "LARGER x",
	    "LARGER -1",
	    "UID",
	    "UID x",
	    "NOT",
	    "OR SEEN",
	    "()",
	    "KEYWORD",
	    "HEADER",
	    "HEADER X",
	    "CHARSET",
	    "CHARSET UTF-8",
	    "0",
	    "1:",
	    "(SEEN",
	    "SEEN)",
	    "\"SEEN\"",
	    "SMALLER 99999999999",
	};
	struct imap_search *s;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int r = parse(bad[i], strlen(bad[i]), &s);
		test_assert(r == -1 || r == -99);
		test_assert(s == NULL);
	}
	test_assert(parse("CHARSET KOI8-R ALL", 18, &s) == IMAP_SEARCH_CHARSET);
	/* nesting: bounded */
	char deep[4096];
	size_t n = 0;
	for (int i = 0; i < IMAP_SEARCH_DEPTH_MAX + 5; i++) {
		memcpy(deep + n, "NOT ", 4);
		n += 4;
	}
	memcpy(deep + n, "ALL", 3);
	n += 3;
	test_assert(parse(deep, n, &s) == -1);
	n = 0;
	for (int i = 0; i < IMAP_SEARCH_DEPTH_MAX - 5; i++) {
		memcpy(deep + n, "NOT ", 4);
		n += 4;
	}
	memcpy(deep + n, "ALL", 3);
	n += 3;
	test_assert(parse(deep, n, &s) == 0);
	test_assert(imap_search_match(s, &ma) ==
		    ((IMAP_SEARCH_DEPTH_MAX - 5) % 2 == 0));
	imap_search_free(&s);
	/* no text: text keys do not match, flags still do */
	struct imap_search_msg empty = ma;
	empty.text = NULL;
	empty.len = 0;
	test_assert(parse("OR SUBJECT report SEEN", 22, &s) == 0);
	test_assert(imap_search_match(s, &empty));
	imap_search_free(&s);
	/* embedded NUL in the message and in the needle */
	static const char nul[] = "Subject: a\0b\n\nx\0y\n";
	empty.text = nul;
	empty.len = sizeof nul - 1;
	static const char k[] = "BODY {3}\r\nx\0y";
	test_assert(parse(k, sizeof k - 1, &s) == 0);
	test_assert(imap_search_match(s, &empty));
	imap_search_free(&s);
}

int main(void)
{
	test_keys();
	test_bad();
	return test_end();
}
