/* Unit tests for mta/smtp_parse: verbs, paths, ESMTP parameters. */
#include <string.h>

#include "../../../mta/smtp_parse.h"
#include "test.h"

static struct str S(const char *s) {
	return str_from_cstr(s);
}

static void
test_verbs(void)
{
	struct str args;
	test_begin("verbs");
	test_assert(smtp_parse_verb(S("EHLO foo.example"), &args) ==
		    SMTP_VERB_EHLO);
	test_assert(str_eq_cstr(args, "foo.example"));
	test_assert(smtp_parse_verb(S("ehlo   foo  "), &args) ==
		    SMTP_VERB_EHLO);
	test_assert(str_eq_cstr(args, "foo"));
	test_assert(smtp_parse_verb(S("QUIT"), &args) == SMTP_VERB_QUIT);
	test_assert(args.len == 0);
	test_assert(smtp_parse_verb(S("StartTLS"), &args) ==
		    SMTP_VERB_STARTTLS);
	test_assert(smtp_parse_verb(S(""), &args) == SMTP_VERB_UNKNOWN);
	test_assert(smtp_parse_verb(S("QUITX"), &args) == SMTP_VERB_UNKNOWN);
	test_assert(smtp_parse_verb(S("MAI"), &args) == SMTP_VERB_UNKNOWN);
	/* embedded NUL: the verb does not match */
	test_assert(smtp_parse_verb((struct str){"QU\0T", 4}, &args) ==
		    SMTP_VERB_UNKNOWN);
	test_assert(strcmp(smtp_verb_name(SMTP_VERB_RCPT), "rcpt") == 0);
}

static const struct {
	const char *args;
	enum smtp_parse_err err;
	const char *addr;
} mail_cases[] = {
    {"FROM:<a@b.example>", SMTP_PARSE_OK, "a@b.example"},
    {"from:<a@b.example>", SMTP_PARSE_OK, "a@b.example"},
    {"FROM: <a@b.example>", SMTP_PARSE_OK, "a@b.example"},
    {"FROM:a@b.example", SMTP_PARSE_OK, "a@b.example"},
    {"FROM:<>", SMTP_PARSE_OK, ""},
    {"FROM:<@relay.example,@r2.example:a@b.example>", SMTP_PARSE_OK,
     "a@b.example"},
    {"FROM:<\"john doe\"@b.example>", SMTP_PARSE_OK, "\"john doe\"@b.example"},
    {"FROM:<\"a\\\"b\"@b.example>", SMTP_PARSE_OK, "\"a\\\"b\"@b.example"},
    {"FROM:<a@[192.0.2.1]>", SMTP_PARSE_OK, "a@[192.0.2.1]"},
    {"FROM:<postmaster>", SMTP_PARSE_OK, "postmaster"},
    {"FROM:<a@b.example> SIZE=100 BODY=8BITMIME", SMTP_PARSE_OK, "a@b.example"},
    {"FROM:<a@b.example> RET=HDRS ENVID=QQ+2B1", SMTP_PARSE_OK, "a@b.example"},
    {"FROM:<a@b.example> AUTH=<>", SMTP_PARSE_OK, "a@b.example"},
    {"FROM <a@b.example>", SMTP_PARSE_SYNTAX, NULL},
    {"FROM:", SMTP_PARSE_SYNTAX, NULL},
    {"", SMTP_PARSE_SYNTAX, NULL},
    {"TO:<a@b.example>", SMTP_PARSE_SYNTAX, NULL},
    {"FROM:<a@b.example", SMTP_PARSE_ADDRESS, NULL},
    {"FROM:<a b@c.example>", SMTP_PARSE_ADDRESS, NULL},
    {"FROM:<a@b.example>x", SMTP_PARSE_ADDRESS, NULL},
    {"FROM:<\"unterminated@b.example>", SMTP_PARSE_ADDRESS, NULL},
    {"FROM:<a@>", SMTP_PARSE_ADDRESS, NULL},
    {"FROM:<@b.example>", SMTP_PARSE_ADDRESS, NULL},
    {"FROM:<a\r@b.example>", SMTP_PARSE_ADDRESS, NULL},
    {"FROM:<a@b\texample>", SMTP_PARSE_ADDRESS, NULL},
    {"FROM:<\xc3\xa9@b.example>", SMTP_PARSE_ADDRESS, NULL},
    {"FROM:<a@b.example> FOO=1", SMTP_PARSE_PARAM, NULL},
    {"FROM:<a@b.example> SIZE=x", SMTP_PARSE_VALUE, NULL},
    {"FROM:<a@b.example> SIZE=", SMTP_PARSE_VALUE, NULL},
    {"FROM:<a@b.example> SIZE=-1", SMTP_PARSE_VALUE, NULL},
    {"FROM:<a@b.example> BODY=BINARYMIME", SMTP_PARSE_VALUE, NULL},
    {"FROM:<a@b.example> RET=ALL", SMTP_PARSE_VALUE, NULL},
    {"FROM:<a@b.example> ENVID=a=b", SMTP_PARSE_VALUE, NULL},
    {"FROM:<a@b.example> ENVID=+4", SMTP_PARSE_VALUE, NULL},
    {"FROM:<a@b.example> ENVID=+zz", SMTP_PARSE_VALUE, NULL},
    {"FROM:<a@b.example> SMTPUTF8=yes", SMTP_PARSE_VALUE, NULL},
};

static void test_mail(void)
{
	test_begin("mail");
	for (size_t i = 0; i < sizeof(mail_cases) / sizeof(mail_cases[0]);
	     i++) {
		struct smtp_mail m;
		struct str bad = {"", 0};
		enum smtp_parse_err e =
		    smtp_parse_mail(S(mail_cases[i].args), false, &m, &bad);
		if (e != mail_cases[i].err)
			fprintf(stderr, "case %zu: %s -> %d\n", i,
				mail_cases[i].args, e);
		test_assert(e == mail_cases[i].err);
		if (e == SMTP_PARSE_OK && mail_cases[i].addr != NULL)
			test_assert(strcmp(m.addr, mail_cases[i].addr) == 0);
	}
	struct smtp_mail m;
	struct str bad;
	test_assert(smtp_parse_mail(S("FROM:<a@b.example> SIZE=12345 "
				      "BODY=7BIT RET=FULL ENVID=xyz "
				      "SMTPUTF8"),
				    true, &m, &bad) == SMTP_PARSE_OK);
	test_assert(m.has_size && m.size == 12345);
	test_assert(m.body == SMTP_BODY_7BIT && m.ret == SMTP_RET_FULL);
	test_assert(strcmp(m.envid, "xyz") == 0 && m.smtputf8);
	/* UTF-8 needs utf8_ok and the SMTPUTF8 parameter */
	test_assert(smtp_parse_mail(S("FROM:<\xc3\xa9@b.example> SMTPUTF8"),
				    true, &m, &bad) == SMTP_PARSE_OK);
	test_assert(smtp_parse_mail(S("FROM:<\xc3\xa9@b.example>"), true, &m,
				    &bad) == SMTP_PARSE_ADDRESS);
	/* the bad parameter is named */
	test_assert(smtp_parse_mail(S("FROM:<a@b.example> X-Y=1"), false, &m,
				    &bad) == SMTP_PARSE_PARAM);
	test_assert(str_eq_cstr(bad, "X-Y=1"));
	/* address length: 254 accepted, 255 refused */
	char big[400];
	char addr[300];
	memset(addr, 'a', 254);
	memcpy(addr + 254 - 10, "@b.example", 10);
	addr[254] = '\0';
	snprintf(big, sizeof(big), "FROM:<%s>", addr);
	test_assert(smtp_parse_mail(S(big), false, &m, &bad) == SMTP_PARSE_OK);
	test_assert(strlen(m.addr) == 254);
	memset(addr, 'a', 255);
	memcpy(addr + 255 - 10, "@b.example", 10);
	addr[255] = '\0';
	snprintf(big, sizeof(big), "FROM:<%s>", addr);
	test_assert(smtp_parse_mail(S(big), false, &m, &bad) ==
		    SMTP_PARSE_ADDRESS);
	/* too many parameters */
	char many[512] = "FROM:<a@b.example>";
	size_t o = strlen(many);
	for (int i = 0; i < SMTP_PARAMS_MAX + 1; i++) {
		memcpy(many + o, " BODY=7BIT", 10);
		o += 10;
	}
	many[o] = '\0';
	test_assert(smtp_parse_mail(S(many), false, &m, &bad) ==
		    SMTP_PARSE_PARAM);
	/* embedded NUL in the address */
	test_assert(smtp_parse_mail((struct str){"FROM:<a\0b@c.example>", 20},
				    false, &m, &bad) == SMTP_PARSE_ADDRESS);
}

static void test_rcpt(void)
{
	struct smtp_rcpt r;
	struct str bad;
	test_begin("rcpt");
	test_assert(smtp_parse_rcpt(S("TO:<x@extmail.org>"), false, &r, &bad) ==
		    SMTP_PARSE_OK);
	test_assert(strcmp(r.addr, "x@extmail.org") == 0 && r.notify == 0);
	test_assert(smtp_parse_rcpt(S("TO:<>"), false, &r, &bad) ==
		    SMTP_PARSE_ADDRESS);
	test_assert(smtp_parse_rcpt(S("To:<x@e.org> NOTIFY=SUCCESS,FAILURE "
				      "ORCPT=rfc822;x+40e.org"),
				    false, &r, &bad) == SMTP_PARSE_OK);
	test_assert(r.notify == (SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE));
	test_assert(strcmp(r.orcpt, "rfc822;x+40e.org") == 0);
	test_assert(smtp_parse_rcpt(S("TO:<x@e.org> NOTIFY=NEVER"), false, &r,
				    &bad) == SMTP_PARSE_OK);
	test_assert(r.notify == SMTP_NOTIFY_NEVER);
	test_assert(smtp_parse_rcpt(S("TO:<x@e.org> NOTIFY=NEVER,DELAY"), false,
				    &r, &bad) == SMTP_PARSE_VALUE);
	test_assert(smtp_parse_rcpt(S("TO:<x@e.org> NOTIFY="), false, &r,
				    &bad) == SMTP_PARSE_VALUE);
	test_assert(smtp_parse_rcpt(S("TO:<x@e.org> NOTIFY=SUCCESS,"), false,
				    &r, &bad) == SMTP_PARSE_VALUE);
	test_assert(smtp_parse_rcpt(S("TO:<x@e.org> ORCPT=x@e.org"), false, &r,
				    &bad) == SMTP_PARSE_VALUE);
	test_assert(smtp_parse_rcpt(S("TO:<x@e.org> SIZE=1"), false, &r,
				    &bad) == SMTP_PARSE_PARAM);
	test_assert(smtp_parse_rcpt(S("TO:x@e.org"), false, &r, &bad) ==
		    SMTP_PARSE_OK);
	test_assert(smtp_parse_rcpt(S("TO:<x@e.org>\n"), false, &r, &bad) ==
		    SMTP_PARSE_ADDRESS);
}

static void test_helpers(void)
{
	test_begin("helpers");
	test_assert(strcmp(smtp_addr_domain("a@b.example"), "b.example") == 0);
	test_assert(
	    strcmp(smtp_addr_domain("\"a@x\"@b.example"), "b.example") == 0);
	test_assert(strcmp(smtp_addr_domain("postmaster"), "") == 0);
	test_assert(smtp_is_fqdn("mail.example.com"));
	test_assert(smtp_is_fqdn("mail.example.com."));
	test_assert(!smtp_is_fqdn("localhost"));
	test_assert(!smtp_is_fqdn(""));
	test_assert(!smtp_is_fqdn("1.2.3.4"));
	test_assert(!smtp_is_fqdn("a..b"));
	test_assert(!smtp_is_fqdn("a_b.example"));
	test_assert(smtp_xtext_valid(S("abc+2B"), 10));
	test_assert(!smtp_xtext_valid(S(""), 10));
	test_assert(!smtp_xtext_valid(S("abc+2"), 10));
	test_assert(!smtp_xtext_valid(S("a b"), 10));
	test_assert(!smtp_xtext_valid(S("abcdefghijk"), 10));
}

static void set(char *a, size_t n, const char *v)
{
	test_assert(snprintf(a, n, "%s", v) < (int)n);
}

static void test_postmaster(void)
{
	test_begin("qualify postmaster");
	char a[SMTP_ADDR_MAX + 1];
	set(a, sizeof(a), "postmaster");
	test_assert(smtp_qualify_postmaster(a, sizeof(a), "example.org") == 1);
	test_assert(strcmp(a, "postmaster@example.org") == 0);
	set(a, sizeof(a), "PostMaster");
	test_assert(smtp_qualify_postmaster(a, sizeof(a), "example.org") == 1);
	test_assert(strcmp(a, "PostMaster@example.org") == 0);
	/* anything else stays as it is */
	static const char *const keep[] = {
	    "postmaster@x.org", "postmaste", "postmasters", "", "bob",
	    "\"postmaster\""};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		set(a, sizeof(a), keep[i]);
		test_assert(smtp_qualify_postmaster(a, sizeof(a), "x.org") ==
			    0);
		test_assert(strcmp(a, keep[i]) == 0);
	}
	set(a, sizeof(a), "postmaster");
	test_assert(smtp_qualify_postmaster(a, sizeof(a), "") == 0);
	test_assert(strcmp(a, "postmaster") == 0);
	/* the result must fit: buffer size, then SMTP_ADDR_MAX */
	char small[20];
	set(small, sizeof(small), "postmaster");
	test_assert(
	    smtp_qualify_postmaster(small, sizeof(small), "example.org") == 0);
	test_assert(strcmp(small, "postmaster") == 0);
	char big[600];
	memset(big, 'd', sizeof(big));
	big[SMTP_ADDR_MAX - 11] = '\0'; /* exactly fits */
	set(a, sizeof(a), "postmaster");
	test_assert(smtp_qualify_postmaster(a, sizeof(a), big) == 1);
	test_assert(strlen(a) == SMTP_ADDR_MAX);
	big[SMTP_ADDR_MAX - 11] = 'd';
	big[SMTP_ADDR_MAX - 10] = '\0'; /* one too many */
	set(a, sizeof(a), "postmaster");
	test_assert(smtp_qualify_postmaster(a, sizeof(a), big) == 0);
}

int main(void)
{
	test_postmaster();
	test_verbs();
	test_mail();
	test_rcpt();
	test_helpers();
	return test_end();
}
