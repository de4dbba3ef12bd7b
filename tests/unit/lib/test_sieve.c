/*
 * lib/sieve: the parser's errors (with their line numbers) and limits,
 * and the interpreter's actions for a table of scripts over a few
 * messages, the RFC 5228 §9 and RFC 5230 §7 examples among them, plus the
 * extensions (variables, relational, subaddress, imap4flags, body, date,
 * index, editheader, encoded-character, duplicate) and vacation's rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sieve.h"
#include "test.h"

static const char msg1[] =
    "Return-Path: <ken@example.com>\n"
    "Date: Sat, 13 Mar 2010 14:30:00 +0100\n"
    "From: Ken Smith <ken@example.com>\n"
    "Sender: owner-ietf-mta-filters@imc.org\n"
    "To: Tim Showalter <tjs+sieve@example.org>, other@example.net\n"
    "Cc: boss@example.org\n"
    "Subject: MAKE MONEY FAST $$$ [sieve] draft\n"
    "X-Caffeine: C8H10N4O2\n"
    "Received: from a by b; Sat, 13 Mar 2010 14:31:00 +0100\n"
    "Received: from c by d; Sat, 13 Mar 2010 14:30:30 +0100\n"
    "Message-ID: <1234@example.com>\n"
    "Subject2: =?utf-8?q?caf=C3=A9?=\n"
    "Subject3: [acme-users] [fwd] version 1.0 is out\n"
    "List-ID: Acme users <acme-users.lists.example.com>\n"
    "\n"
    "Hello, this is the frobnitz body.\n";

static const char msg_mime[] = "From: a@example.com\n"
			       "To: tjs@example.org\n"
			       "Subject: mime\n"
			       "MIME-Version: 1.0\n"
			       "Content-Type: multipart/mixed; boundary=XX\n"
			       "\n"
			       "--XX\n"
			       "Content-Type: text/plain; charset=utf-8\n"
			       "Content-Transfer-Encoding: quoted-printable\n"
			       "\n"
			       "secret caf=C3=A9 plans\n"
			       "--XX\n"
			       "Content-Type: application/octet-stream\n"
			       "Content-Transfer-Encoding: base64\n"
			       "\n"
			       "aGlkZGVuIHdvcmQ=\n"
			       "--XX--\n";

/* actions as "kind:arg[flags]" joined by ';' */
static void render(const struct sieve_result *r, char *out, size_t outsz)
{
	static const char *const k[] = {"keep",	   "fileinto", "redirect",
					"discard", "reject",   "vacation"};
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < r->n && o < outsz; i++) {
		const struct sieve_action *a = &r->v[i];
		int n = snprintf(out + o, outsz - o, "%s%s%s%s%s%s%s",
				 i ? ";" : "", k[a->kind], a->arg ? ":" : "",
				 a->arg ? a->arg : "",
				 a->flags && a->flags[0] ? "[" : "",
				 a->flags && a->flags[0] ? a->flags : "",
				 a->flags && a->flags[0] ? "]" : "");
		if (n < 0)
			return;
		o += (size_t)n;
	}
}

static bool dup_seen(void *ctx, const char *id, size_t idlen, uint64_t s,
		     bool last)
{
	int *calls = ctx;
	return (*calls)++ > 0;
}

static int run(const char *script, const char *msg, char *out, size_t outsz,
	       char *err, size_t errsz)
{
	static int dupcalls;
	struct sieve_program *p =
	    sieve_compile(script, strlen(script), err, errsz);
	if (p == NULL) {
		snprintf(out, outsz, "COMPILE %s", err);
		return -1;
	}
	struct sieve_msg m = {msg, strlen(msg), "ken@example.com",
			      "tjs+sieve@example.org", "tjs+sieve@example.org"};
	struct sieve_env env = {.delimiter = "+",
				.now = 1268487000,
				.duplicate = dup_seen,
				.ctx = &dupcalls};
	struct sieve_result r;
	int rc = sieve_run(p, &m, &env, &r, err, errsz);
	if (rc == 0) {
		render(&r, out, outsz);
		if (r.header != NULL && strstr(out, "HDR") == NULL) {
			size_t o = strlen(out);
			snprintf(out + o, outsz - o, "|%.*s", (int)r.header_len,
				 r.header);
		}
		sieve_result_free(&r);
	} else {
		snprintf(out, outsz, "ERROR %s", err);
	}
	sieve_free(&p);
	return rc;
}

struct case_ {
	const char *script;
	const char *msg;
	const char *want; /* prefix of the rendering */
};

static const char rfc5228_example[] =
    "#\n"
    "# Example Sieve Filter\n"
    "# Declare any optional features or extension used by the script\n"
    "#\n"
    "require [\"fileinto\"];\n"
    "\n"
    "#\n"
    "# Handle messages from known mailing lists\n"
    "# Move messages from IETF filter discussion list to filter mailbox\n"
    "#\n"
    "if header :is \"Sender\" \"owner-ietf-mta-filters@imc.org\"\n"
    "        {\n"
    "        fileinto \"filter\";  # move to \"filter\" mailbox\n"
    "        }\n"
    "#\n"
    "# Keep all messages to or from people in my company\n"
    "#\n"
    "elsif address :DOMAIN :is [\"From\", \"To\"] \"example.com\"\n"
    "        {\n"
    "        keep;               # keep in \"In\" mailbox\n"
    "        }\n"
    "\n"
    "#\n"
    "# Try and catch unsolicited email.  If a message is not to me,\n"
    "# or it contains a subject known to be spam, file it away.\n"
    "#\n"
    "elsif anyof (NOT address :all :contains\n"
    "               [\"To\", \"Cc\", \"Bcc\"] \"me@example.com\",\n"
    "             header :matches \"subject\"\n"
    "               [\"*make*money*fast*\", \"*university*dipl*mas*\"])\n"
    "        {\n"
    "        fileinto \"spam\";   # move to \"spam\" mailbox\n"
    "        }\n"
    "else\n"
    "        {\n"
    "        # Move all other (non-company) mail to \"personal\"\n"
    "        # mailbox.\n"
    "        fileinto \"personal\";\n"
    "        }\n";

static const struct case_ cases[] = {
    {"", msg1, "keep"},
    {"keep;", msg1, "keep"},
    {"discard;", msg1, ""},
    {"stop; discard;", msg1, "keep"},
    {rfc5228_example, msg1, "fileinto:filter"},
    /* without the Sender: header the example goes on */
    {"require \"fileinto\";\n"
     "if header :is \"Sender\" \"nobody\" { fileinto \"filter\"; }\n"
     "elsif address :DOMAIN :is [\"From\", \"To\"] \"example.net\" { keep; }\n"
     "elsif anyof (NOT address :all :contains [\"To\", \"Cc\", \"Bcc\"] "
     "\"me@example.com\", header :matches \"subject\" "
     "[\"*make*money*fast*\"]) { fileinto \"spam\"; }\n"
     "else { fileinto \"personal\"; }",
     msg1, "keep"},
    {"require \"fileinto\";\n"
     "if header :matches \"subject\" \"*make*money*fast*\" "
     "{ fileinto \"spam\"; }",
     msg1, "fileinto:spam"},
    {"if header :contains \"subject\" \"[SIEVE]\" { discard; }", msg1, ""},
    {"if header :comparator \"i;octet\" :contains \"subject\" \"[SIEVE]\" "
     "{ discard; }",
     msg1, "keep"},
    {"if exists [\"From\",\"Date\"] { discard; }", msg1, ""},
    {"if exists [\"From\",\"X-Nope\"] { discard; }", msg1, "keep"},
    {"if size :over 100 { discard; }", msg1, ""},
    {"if size :under 1K { discard; }", msg1, ""},
    {"if size :over 1M { discard; }", msg1, "keep"},
    {"if not true { discard; }", msg1, "keep"},
    {"if allof (true, false) { discard; }", msg1, "keep"},
    {"if anyof (false, true) { discard; }", msg1, ""},
    {"if address :localpart \"from\" \"KEN\" { discard; }", msg1, ""},
    {"if address :all :is \"to\" \"other@example.net\" { discard; }", msg1, ""},
    {"redirect \"fred@example.net\";", msg1, "redirect:fred@example.net"},
    {"require \"copy\"; redirect :copy \"fred@example.net\";", msg1,
     "redirect:fred@example.net;keep"},
    {"require [\"fileinto\", \"copy\", \"mailbox\"]; fileinto :copy :create "
     "\"a.b\";",
     msg1, "fileinto:a.b;keep"},
    {"require \"fileinto\"; fileinto \"x\"; fileinto \"x\";", msg1,
     "fileinto:x"},
    {"require \"envelope\"; if envelope :domain \"to\" \"EXAMPLE.org\" "
     "{ discard; }",
     msg1, ""},
    {"require [\"envelope\",\"subaddress\"]; if envelope :detail \"to\" "
     "\"sieve\" { discard; }",
     msg1, ""},
    {"require [\"envelope\",\"subaddress\"]; if envelope :user \"to\" "
     "\"tjs\" { discard; }",
     msg1, ""},
    {"require \"subaddress\"; if address :detail \"cc\" \"\" { discard; }",
     msg1, "keep"},
    {"require \"subaddress\"; if address :detail \"to\" \"sieve\" "
     "{ discard; }",
     msg1, ""},
    /* variables */
    {"require [\"variables\",\"fileinto\"];\n"
     "if header :matches \"subject\" \"*[*]*\" { fileinto \"lists.${2}\"; }",
     msg1, "fileinto:lists.sieve"},
    /* RFC 5229 §3.2's examples: each '*' as short as the match allows */
    {"require [\"variables\",\"fileinto\"];\n"
     "if header :matches \"Subject3\" \"[*] *\" "
     "{ fileinto \"${1}|${2}|${0}\"; }",
     msg1,
     "fileinto:acme-users|[fwd] version 1.0 is out|[acme-users] [fwd] "
     "version 1.0 is out"},
    {"require [\"variables\",\"fileinto\"];\n"
     "if header :matches \"List-ID\" \"*<*@*\" "
     "{ fileinto \"lists.${2}\"; }",
     msg1, "keep"},
    {"require [\"variables\",\"fileinto\"];\n"
     "if header :matches \"List-ID\" \"*<*.lists.*>\" "
     "{ fileinto \"lists.${2}:${3}\"; }",
     msg1, "fileinto:lists.acme-users:example.com"},
    {"require [\"variables\",\"fileinto\"];\n"
     "if header :matches \"Subject3\" \"?acme*\\\\*\" { discard; }",
     msg1, "keep"},
    {"require [\"variables\",\"fileinto\"]; set :lower :upperfirst \"n\" "
     "\"HELLO\"; fileinto \"${n}\";",
     msg1, "fileinto:Hello"},
    {"require [\"variables\",\"fileinto\"]; set :length \"n\" \"caf\xc3\xa9\";"
     " fileinto \"${n}\";",
     msg1, "fileinto:4"},
    {"require [\"variables\",\"fileinto\"]; set :quotewildcard \"n\" "
     "\"a*b\"; fileinto \"${n}\";",
     msg1, "fileinto:a\\*b"},
    {"require \"variables\"; set \"a\" \"x\"; if string :is \"${a}${b}\" "
     "\"x\" { discard; }",
     msg1, ""},
    {"require [\"variables\",\"fileinto\"]; fileinto \"${unknown}x${}\";", msg1,
     "fileinto:x${}"},
    /* relational */
    {"require [\"relational\", \"comparator-i;ascii-numeric\"]; if header "
     ":count \"ge\" :comparator "
     "\"i;ascii-numeric\" \"received\" \"2\" { discard; }",
     msg1, ""},
    {"require [\"relational\", \"comparator-i;ascii-numeric\"]; if header "
     ":count \"gt\" :comparator "
     "\"i;ascii-numeric\" \"received\" \"2\" { discard; }",
     msg1, "keep"},
    {"require [\"relational\",\"comparator-i;ascii-numeric\"]; if header "
     ":value \"lt\" :comparator \"i;ascii-numeric\" \"x-caffeine\" \"9\" "
     "{ discard; }",
     msg1, "keep"},
    {"require [\"relational\", \"comparator-i;ascii-numeric\"]; if address "
     ":count \"eq\" :comparator "
     "\"i;ascii-numeric\" [\"to\",\"cc\"] \"3\" { discard; }",
     msg1, ""},
    {"require [\"relational\", \"comparator-i;ascii-numeric\"]; if header "
     ":value \"gt\" \"x-caffeine\" "
     "\"C8\" { discard; }",
     msg1, ""},
    /* encoded-character, RFC 2047 */
    {"require \"encoded-character\"; if header :contains \"subject2\" "
     "\"${hex:63 61 66 c3 a9}\" { discard; }",
     msg1, ""},
    {"require \"encoded-character\"; if header :is \"subject2\" "
     "\"caf${unicode:e9}\" { discard; }",
     msg1, ""},
    /* imap4flags */
    {"require \"imap4flags\"; addflag \"\\\\Seen\"; addflag [\"$a \\\\Seen\","
     " \"\\\\Flagged\"]; removeflag \"\\\\flagged\";",
     msg1, "keep[\\Seen $a]"},
    {"require [\"imap4flags\",\"fileinto\"]; setflag \"x\"; fileinto "
     ":flags \"\\\\Answered\" \"a\"; fileinto \"b\";",
     msg1, "fileinto:a[\\Answered];fileinto:b[x]"},
    {"require [\"imap4flags\",\"variables\"]; addflag \"v\" \"one two\"; "
     "if hasflag :is \"v\" \"two\" { discard; }",
     msg1, ""},
    {"require \"imap4flags\"; if hasflag \"x\" { discard; }", msg1, "keep"},
    /* body */
    {"require \"body\"; if body :text :contains \"caf\xc3\xa9\" "
     "{ discard; }",
     msg_mime, ""},
    {"require \"body\"; if body :text :contains \"hidden\" { discard; }",
     msg_mime, "keep"},
    {"require \"body\"; if body :content \"application\" :contains "
     "\"hidden\" { discard; }",
     msg_mime, ""},
    {"require \"body\"; if body :raw :contains \"aGlkZGVu\" { discard; }",
     msg_mime, ""},
    {"require \"body\"; if body :contains \"frobnitz\" { discard; }", msg1, ""},
    /* :count counts the parts :text reads (Pigeonhole does too) */
    {"require [\"body\", \"relational\", \"comparator-i;ascii-numeric\"];"
     " if body :text :count \"eq\" :comparator \"i;ascii-numeric\" \"1\" "
     "{ discard; }",
     msg_mime, ""},
    /* HTML as text: markup and script dropped, entities decoded */
    {"require \"body\"; if body :text :contains \"a < b\" { discard; }",
     "From: a@b\nContent-Type: text/html\n\n<p>a &lt; b</p>"
     "<script>x</script>\n",
     ""},
    {"require \"body\"; if body :text :contains [\"<p>\", \"x\"] "
     "{ discard; }",
     "From: a@b\nContent-Type: text/html\n\n<p>a &lt; b</p>"
     "<script>x</script>\n",
     "keep"},
    /* no body at all: every body test is false (RFC 5173 §5) */
    {"require \"body\"; if body :raw :is \"\" { discard; }",
     "From: a@b\nSubject: no body", "keep"},
    /* the date of Received: is after its last ';' (RFC 5260 §4) */
    {"require \"date\"; if date :originalzone \"received\" \"second\" "
     "\"00\" { discard; }",
     msg1, ""},
    /* date, index */
    {"require \"date\"; if date :is :originalzone \"date\" \"year\" "
     "\"2010\" { discard; }",
     msg1, ""},
    {"require \"date\"; if date :zone \"+0000\" \"date\" \"time\" "
     "\"13:30:00\" { discard; }",
     msg1, ""},
    {"require [\"date\",\"relational\"]; if currentdate :zone \"+0000\" "
     ":value \"ge\" \"date\" \"2010-03-13\" { discard; }",
     msg1, ""},
    {"require [\"date\",\"index\"]; if date :index 1 :last "
     ":originalzone \"date\" \"weekday\" \"6\" { discard; }",
     msg1, ""},
    {"require \"index\"; if header :index 2 :contains \"received\" "
     "\"from c\" { discard; }",
     msg1, ""},
    {"require \"index\"; if header :index 1 :last :contains \"received\" "
     "\"from a\" { discard; }",
     msg1, "keep"},
    /* reject, ereject */
    {"require \"reject\"; reject \"go away\";", msg1, "reject:go away"},
    {"require \"ereject\"; ereject text:\nno\n..more\n.\n;", msg1,
     "reject:no\n.more\n"},
    {"require \"reject\"; reject \"x\"; keep;", msg1, "ERROR"},
    /* vacation (RFC 5230 §7) */
    {"require \"vacation\";\n"
     "if header :contains \"subject\" \"cyrus\" {\n"
     "    vacation \"I'm out -- send mail to cyrus-bugs\";\n"
     "} else {\n"
     "    vacation \"I'm out -- call me at +1 304 555 0123\";\n"
     "}",
     msg1, "vacation:I'm out -- call me at +1 304 555 0123;keep"},
    {"require [\"vacation\", \"variables\"];\n"
     "if header :matches \"subject\" \"*\" { set \"subjwas\" \": ${1}\"; }\n"
     "vacation :days 31 :addresses [\"tjs@example.edu\", "
     "\"ts4z@landru.example.edu\"] :subject \"Out of office${subjwas}\" "
     "\"I'm out until October 19.\";",
     msg1, "vacation:I'm out until October 19.;keep"},
    {"require [\"vacation\",\"vacation-seconds\"]; vacation :seconds 1800 "
     ":from \"x@example.org\" :handle \"h\" :mime \"body\";",
     msg1, "vacation:body;keep"},
    {"require \"vacation\"; vacation \"a\"; vacation \"b\";", msg1, "ERROR"},
    /* editheader */
    {"require \"editheader\"; addheader \"X-Hello\" \"v1\"; if header "
     ":is \"x-hello\" \"v1\" { discard; }",
     msg1, "|X-Hello: v1\nReturn-Path"},
    {"require \"editheader\"; deleteheader \"subject\"; if exists "
     "\"subject\" { discard; }",
     msg1, "keep|Return-Path"},
    {"require \"editheader\"; deleteheader :index 1 :contains \"subject\" "
     "\"money\"; if exists \"subject\" { discard; }",
     msg1, "keep|"},
    {"require \"editheader\"; deleteheader \"received\"; if exists "
     "\"received\" { discard; }",
     msg1, ""},
    /* duplicate: the callback says the second look is a duplicate */
    {"require \"duplicate\"; if duplicate { discard; } if duplicate "
     "{ discard; }",
     msg1, ""},
    /* runtime limits */
    {"redirect \"a@x.org\"; redirect \"b@x.org\"; redirect \"c@x.org\"; "
     "redirect \"d@x.org\"; redirect \"e@x.org\";",
     msg1, "ERROR line 1: too many redirects"},
    {"redirect \"not an address\";", msg1, "ERROR line 1: redirect: invalid"},
    {"require \"fileinto\"; fileinto \"\";", msg1, "ERROR"},
};

static const struct {
	const char *script;
	const char *error; /* NULL: compiles */
} compile_cases[] = {
    {"", NULL},
    {"# only a comment", NULL},
    {"/* c */ keep; /* d\n e */", NULL},
    {"keep", "line 1: missing ';' after command 'keep'"},
    {"keep\n\n", "line 1: missing ';' after command 'keep'"},
    {"redirect \"a@b.c\"\n\n}",
     "line 1: expected ';' or a block after command 'redirect'"},
    {"\n\nfoo;", "line 3: unknown command 'foo'"},
    {"fileinto \"x\";", "line 1: fileinto requires the 'fileinto' extension"},
    {"require \"nope\";", "line 1: unsupported extension \"nope\""},
    {"keep;\nrequire \"fileinto\";",
     "line 2: 'require' must come before any other command"},
    {"if true keep;", "line 1: 'if' needs a block"},
    {"if true {\nkeep;\n", "line 1: block not closed with '}'"},
    {"elsif true { keep; }", "line 1: 'elsif' without a preceding 'if'"},
    {"if header :is \"a\" { keep; }", "line 1: 'header' takes 2 arguments"},
    {"if header :bogus \"a\" \"b\" { keep; }",
     "line 1: unknown tag :bogus for 'header'"},
    {"if header :is :contains \"a\" \"b\" { keep; }",
     "line 1: tag :contains conflicts"},
    {"if size 100 { keep; }", "line 1: 'size' needs :over or :under"},
    {"if header :comparator \"i;foo\" \"a\" \"b\" { keep; }",
     "line 1: unknown comparator \"i;foo\""},
    {"if header :comparator \"i;ascii-numeric\" \"a\" \"b\" {}",
     "line 1: comparator i;ascii-numeric requires"},
    {"require \"comparator-i;ascii-numeric\"; if header :contains "
     ":comparator \"i;ascii-numeric\" \"a\" \"b\" {}",
     "line 1: comparator i;ascii-numeric allows only"},
    {"if address :detail \"to\" \"x\" {}",
     "line 1: :detail requires the 'subaddress' extension"},
    {"keep \"x\";", "line 1: 'keep' takes 0 arguments, not 1"},
    {"\"x\";", "line 1: expected a command"},
    {"if \"x\" {}", "line 1: 'if' takes 0 arguments, not 1"},
    {"keep;\n\"unterminated", "line 2: unterminated string"},
    {"redirect text:\nabc\n", "line 1: unterminated text: block"},
    {"/* open", "line 1: unterminated comment"},
    {"keep; @", "line 1: unexpected character '@'"},
    {"if size :over 99999999999999999999999 {}", "line 1: number too large"},
    {"require [\"fileinto\" \"x\"];",
     "line 1: expected ',' or ']' in the string list"},
    {"if anyof (true false) {}", "line 1: 'true' takes no test"},
    {"require \"variables\"; set \"1a\" \"x\";",
     "line 1: invalid variable name"},
    {"require \"variables\"; set :lower :upper \"a\" \"x\";",
     "line 1: conflicting or repeated modifier :upper"},
    {"discard { }", "line 1: 'discard' takes no block"},
    {"if true;", "line 1: 'if' needs a block"},
    {"if not {}", "line 1: 'not' needs one test"},
    {"keep;\0discard;", "line 1: unexpected byte 0x00"},
    {"keep;\rdiscard;", NULL},
    {"keep;\r\n\r\nfoo;", "line 3: unknown command 'foo'"},
    {"require \"vacation\"; vacation :seconds 5 \"x\";",
     "line 1: :seconds requires the 'vacation-seconds' extension"},
};

static void test_compile(void)
{
	test_begin("compile");
	char err[SIEVE_ERROR_MAX];
	for (size_t i = 0; i < sizeof(compile_cases) / sizeof(compile_cases[0]);
	     i++) {
		const char *s = compile_cases[i].script;
		/* one case has an embedded NUL */
		size_t len = strlen(s);
		if (strcmp(s, "keep;") == 0 && compile_cases[i].error != NULL)
			len = 14;
		struct sieve_program *p =
		    sieve_compile(s, len, err, sizeof(err));
		const char *want = compile_cases[i].error;
		if (want == NULL) {
			if (p == NULL)
				fprintf(stderr, "case %zu: %s\n", i, err);
			test_assert(p != NULL);
		} else {
			if (p != NULL || strncmp(err, want, strlen(want)) != 0)
				fprintf(stderr, "case %zu: got \"%s\"\n", i,
					p ? "(compiled)" : err);
			test_assert(p == NULL);
			test_assert(strncmp(err, want, strlen(want)) == 0);
		}
		sieve_free(&p);
	}
}

static void test_run(void)
{
	test_begin("run");
	char out[2048], err[SIEVE_ERROR_MAX];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(cases[i].script, cases[i].msg, out, sizeof(out), err,
		    sizeof(err));
		const char *w = cases[i].want;
		bool ok = w[0] == '|' ? strstr(out, w) != NULL
				      : strncmp(out, w, strlen(w)) == 0 &&
					    (w[0] != '\0' || out[0] == '\0');
		if (!ok)
			fprintf(stderr, "case %zu: got \"%s\" want \"%s\"\n", i,
				out, w);
		test_assert(ok);
	}
}

/* limits: the maximum script, maximum + 1, deep nesting, step cap */
static void test_limits(void)
{
	test_begin("limits");
	char err[SIEVE_ERROR_MAX];
	struct buf b;
	buf_init(&b, SIEVE_SCRIPT_MAX + 16);
	while (b.len + 6 <= SIEVE_SCRIPT_MAX)
		test_assert(buf_append_str(&b, "keep;\n") == 0);
	while (b.len < SIEVE_SCRIPT_MAX)
		test_assert(buf_append_char(&b, ' ') == 0);
	struct sieve_program *p = sieve_compile(b.p, b.len, err, sizeof(err));
	if (p == NULL)
		fprintf(stderr, "max script: %s\n", err);
	test_assert(p != NULL);
	sieve_free(&p);
	test_assert(buf_append_char(&b, ' ') == 0);
	p = sieve_compile(b.p, b.len, err, sizeof(err));
	test_assert(p == NULL && strstr(err, "too large") != NULL);
	buf_reset(&b);

	/* nesting just inside and past the cap */
	for (int depth = SIEVE_DEPTH_MAX - 1; depth <= SIEVE_DEPTH_MAX + 1;
	     depth++) {
		buf_reset(&b);
		for (int i = 0; i < depth; i++)
			test_assert(buf_append_str(&b, "if true {") == 0);
		for (int i = 0; i < depth; i++)
			test_assert(buf_append_str(&b, "}") == 0);
		p = sieve_compile(b.p, b.len, err, sizeof(err));
		test_assert((p != NULL) == (depth <= SIEVE_DEPTH_MAX));
		sieve_free(&p);
	}
	/* not not not ... : tests nested past the cap */
	buf_reset(&b);
	test_assert(buf_append_str(&b, "if ") == 0);
	for (int i = 0; i < 50000; i++)
		test_assert(buf_append_str(&b, "not ") == 0);
	test_assert(buf_append_str(&b, "true {}") == 0);
	p = sieve_compile(b.p, b.len, err, sizeof(err));
	test_assert(p == NULL && strstr(err, "nested too deeply") != NULL);

	/* a script that costs more steps than allowed: every value
	   compared with every key is a step */
	buf_reset(&b);
	test_assert(buf_append_str(&b, "if header :is \"received\" [") == 0);
	for (int i = 0; i < 1000; i++)
		test_assert(buf_printf(&b, "%s\"k%d\"", i ? "," : "", i) == 0);
	test_assert(buf_append_str(&b, "] { discard; }") == 0);
	struct buf many;
	buf_init(&many, 1 << 20);
	for (int i = 0; i < 120; i++)
		test_assert(buf_append_str(&many, "Received: x\n") == 0);
	test_assert(buf_append_str(&many, "\nbody\n") == 0);
	char out[1024];
	run(b.p, many.p, out, sizeof(out), err, sizeof(err));
	if (strstr(out, "step limit") == NULL)
		fprintf(stderr, "steps: %s\n", out);
	test_assert(strstr(out, "step limit") != NULL);
	buf_deinit(&many);

	/* a pathological :matches is quick (quadratic at worst) */
	buf_reset(&b);
	test_assert(buf_append_str(&b, "if header :matches \"subject\" \"") ==
		    0);
	for (int i = 0; i < 200; i++)
		test_assert(buf_append_str(&b, "*a") == 0);
	test_assert(buf_append_str(&b, "b\" { discard; }") == 0);
	struct buf m;
	buf_init(&m, 1 << 20);
	test_assert(buf_append_str(&m, "Subject: ") == 0);
	for (int i = 0; i < 20000; i++)
		test_assert(buf_append_char(&m, 'a') == 0);
	test_assert(buf_append_str(&m, "\n\nbody\n") == 0);
	run(b.p, m.p, out, sizeof(out), err, sizeof(err));
	test_assert(strcmp(out, "keep") == 0);
	buf_deinit(&m);
	buf_deinit(&b);
}

static void test_vacation_rules(void)
{
	test_begin("vacation_allowed");
	const char *addrs[] = {"tjs@example.org", "tjs+sieve@example.org"};
	const char *why;
	static const struct {
		const char *msg;
		const char *sender;
		bool ok;
	} v[] = {
	    {"To: tjs@example.org\n\nhi\n", "a@example.com", true},
	    {"To: TJS@Example.ORG\n\nhi\n", "a@example.com", true},
	    {"Cc: x@y, tjs+sieve@example.org\n\nhi\n", "a@example.com", true},
	    {"To: other@example.org\n\nhi\n", "a@example.com", false},
	    {"To: tjs@example.org\n\nhi\n", "", false},
	    {"To: tjs@example.org\n\nhi\n", "MAILER-DAEMON@example.com", false},
	    {"To: tjs@example.org\n\nhi\n", "owner-list@example.com", false},
	    {"To: tjs@example.org\n\nhi\n", "list-request@example.com", false},
	    {"To: tjs@example.org\nList-Id: <l.example.com>\n\nhi\n",
	     "a@example.com", false},
	    {"To: tjs@example.org\nList-Unsubscribe: <mailto:x>\n\nhi\n",
	     "a@example.com", false},
	    {"To: tjs@example.org\nPrecedence: bulk\n\nhi\n", "a@example.com",
	     false},
	    {"To: tjs@example.org\nPrecedence: first-class\n\nhi\n",
	     "a@example.com", true},
	    {"To: tjs@example.org\nAuto-Submitted: auto-replied\n\nhi\n",
	     "a@example.com", false},
	    {"To: tjs@example.org\nAuto-Submitted: no\n\nhi\n", "a@example.com",
	     true},
	    /* a To: in the body does not count */
	    {"Subject: x\n\nTo: tjs@example.org\n", "a@example.com", false},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		bool ok = sieve_vacation_allowed(v[i].msg, strlen(v[i].msg),
						 v[i].sender, addrs, 2, &why);
		if (ok != v[i].ok)
			fprintf(stderr, "vacation case %zu: %d (%s)\n", i, ok,
				why);
		test_assert(ok == v[i].ok);
	}
}

int main(void)
{
	test_compile();
	test_run();
	test_limits();
	test_vacation_rules();
	test_assert(strstr(sieve_extensions(), "vacation-seconds") != NULL);
	return test_end();
}
