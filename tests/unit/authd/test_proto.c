/* Unit tests for the authdaemond request parser (authd/proto.c). */
#include <string.h>

#include "../../../authd/proto.h"
#include "test.h"

static enum authd_parse_status parse(const char *s, size_t n, bool eof,
				     struct authd_request *r)
{
	return authd_parse(s, n, eof, r, NULL);
}
#define P(lit, eof, r) parse((lit), sizeof(lit) - 1, (eof), (r))

static void test_pre(void)
{
	struct authd_request r;
	test_begin("pre");
	test_assert(P("TCPREMOTEIP=::1\nPRE . login alice@example.com\n", false,
		      &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_PRE);
	test_assert(strcmp(r.rip, "::1") == 0);
	test_assert(strcmp(r.service, "login") == 0);
	test_assert(strcmp(r.user, "alice@example.com") == 0);
	authd_request_free(&r);

	/* several spaces; userid is the rest of the line */
	test_assert(P("PRE   .   imap  a b\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_PRE);
	test_assert(strcmp(r.user, "a b") == 0);
	test_assert(r.rip[0] == '\0');
	authd_request_free(&r);

	/* CR is not stripped */
	test_assert(P("PRE . imap user\r\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(strcmp(r.user, "user\r") == 0);
	authd_request_free(&r);

	test_assert(P("PRE authmysql imap u\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_PRE);
	authd_request_free(&r);
	test_assert(P("PRE authfoo imap u\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_REJECT);
	authd_request_free(&r);

	test_assert(P("PRE . imap\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("PRE\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("PRE . login alice", false, &r) == AUTHD_PARSE_MORE);
	test_assert(P("PRE . login alice", true, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("", false, &r) == AUTHD_PARSE_MORE);
	test_assert(P("", true, &r) == AUTHD_PARSE_CLOSE);
	/* second request after the first is ignored */
	test_assert(P("PRE . login a\nPRE . login b\n", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(strcmp(r.user, "a") == 0);
	authd_request_free(&r);
}

static void test_meta(void)
{
	struct authd_request r;
	test_begin("meta");
	test_assert(P("FOO=bar baz\nTCPREMOTEIP=1.2.3.4\nX=\nPRE . l u\n",
		      false, &r) == AUTHD_PARSE_OK);
	test_assert(strcmp(r.rip, "1.2.3.4") == 0);
	authd_request_free(&r);
	/* TCPREMOTEIP truncated to 39 bytes */
	test_assert(P("TCPREMOTEIP=0123456789012345678901234567890123456789xx"
		      "\nENUMERATE\n",
		      false, &r) == AUTHD_PARSE_OK);
	test_assert(strlen(r.rip) == 39);
	test_assert(r.cmd == AUTHD_CMD_ENUMERATE);
	authd_request_free(&r);
	/* space before '=': a command line, unknown → close */
	test_assert(P("HELLO a=b\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("HELLO\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("TCPREMOTEIP=1.2.3.4\n", false, &r) == AUTHD_PARSE_MORE);
	test_assert(P("ENUMERATE x\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("\n", false, &r) == AUTHD_PARSE_CLOSE);
}

static void test_auth(void)
{
	struct authd_request r;
	test_begin("auth");
	test_assert(P("TCPREMOTEIP=::1\nAUTH 37\nlogin\nlogin\n"
		      "alice@example.com\nsecret\n",
		      false, &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_AUTH);
	test_assert(r.authtype == AUTHD_AUTH_LOGIN);
	test_assert(strcmp(r.service, "login") == 0);
	test_assert(strcmp(r.user, "alice@example.com") == 0);
	test_assert(strcmp(r.password, "secret") == 0);
	authd_request_free(&r);

	/* Cyrus SASL: one uncounted LF after the body */
	test_assert(P("AUTH 33\nsmtp\nlogin\nbob@example.com\nbobpw\n\n", false,
		      &r) == AUTHD_PARSE_OK);
	test_assert(strcmp(r.service, "smtp") == 0);
	test_assert(strcmp(r.password, "bobpw") == 0);
	authd_request_free(&r);

	/* body one byte short: wait, then EOF closes */
	test_assert(P("AUTH 33\nsmtp\nlogin\nbob@example.com\nbobpw", false,
		      &r) == AUTHD_PARSE_MORE);
	test_assert(P("AUTH 33\nsmtp\nlogin\nbob@example.com\nbobpw", true,
		      &r) == AUTHD_PARSE_CLOSE);
	/* n counts without the final LF: password still complete */
	test_assert(P("AUTH 32\nsmtp\nlogin\nbob@example.com\nbobpw", false,
		      &r) == AUTHD_PARSE_OK);
	test_assert(strcmp(r.password, "bobpw") == 0);
	authd_request_free(&r);
	/* password with spaces and CR kept */
	test_assert(P("AUTH 17\nimap\nlogin\nu\np w\r\n", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(strcmp(r.password, "p w\r") == 0);
	authd_request_free(&r);

	test_assert(P("AUTH 8192\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("AUTH 8191\n", false, &r) == AUTHD_PARSE_MORE);
	test_assert(P("AUTH -1\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("AUTH x\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("AUTH\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("AUTH 0\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_REJECT);
	authd_request_free(&r);
	test_assert(P("AUTH 12\nimap\nplain\nx\n", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_REJECT);
	authd_request_free(&r);
	/* NUL in the body */
	test_assert(parse("AUTH 5\nab\0c\n", 12, false, &r) ==
		    AUTHD_PARSE_CLOSE);

	test_assert(P("AUTH 124\nimap\ncram-md5\n"
		      "PDEyMzQuNTY3OEBtYWlsLmV4YW1wbGUuY29tPg==\n"
		      "YWxpY2VAZXhhbXBsZS5jb20gMzYyZmM5NzVlMTVlM2FiN2RkZjBlZmUy"
		      "OWFlZDgwODk=\n",
		      false, &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_AUTH);
	test_assert(r.authtype == AUTHD_AUTH_CRAM_MD5);
	char user[256], dig[256];
	test_assert(authd_cram_decode(r.response, user, sizeof(user), dig,
				      sizeof(dig)) == 0);
	test_assert(strcmp(user, "alice@example.com") == 0);
	test_assert(strcmp(dig, "362fc975e15e3ab7ddf0efe29aed8089") == 0);
	unsigned char ch[128];
	long n = authd_b64_decode(r.challenge, ch, sizeof(ch));
	test_assert(n == 28 &&
		    memcmp(ch, "<1234.5678@mail.example.com>", 28) == 0);
	authd_request_free(&r);
	test_assert(authd_cram_decode("YWJj", user, sizeof(user), dig,
				      sizeof(dig)) < 0);
	test_assert(
	    authd_cram_decode("", user, sizeof(user), dig, sizeof(dig)) < 0);
	test_assert(
	    authd_cram_decode("YQ=", user, sizeof(user), dig, sizeof(dig)) < 0);
}

static void test_passwd(void)
{
	struct authd_request r;
	test_begin("passwd");
	test_assert(P("PASSWD login\talice@example.com\tsecret\tnew\n", false,
		      &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_PASSWD);
	test_assert(strcmp(r.user, "alice@example.com") == 0);
	test_assert(strcmp(r.password, "secret") == 0);
	test_assert(strcmp(r.newpassword, "new") == 0);
	authd_request_free(&r);
	test_assert(P("PASSWD a\tb\tc\td\te\tf\n", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(strcmp(r.newpassword, "d") == 0);
	authd_request_free(&r);
	test_assert(P("PASSWD a\tb\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("PASSWD a\tb\tc\td\r\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_REJECT);
	authd_request_free(&r);
}

static void test_lookup(void)
{
	struct authd_request r;
	test_begin("lookup");
	test_assert(P("LOOKUP rcpt a@b.c\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_LOOKUP);
	test_assert(r.lookup == AUTHD_LOOKUP_RCPT);
	test_assert(strcmp(r.user, "a@b.c") == 0);
	authd_request_free(&r);
	test_assert(P("LOOKUP domain b.c\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.lookup == AUTHD_LOOKUP_DOMAIN);
	authd_request_free(&r);
	test_assert(P("LOOKUP quota b.c\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.lookup == AUTHD_LOOKUP_QUOTA);
	authd_request_free(&r);
	test_assert(P("LOOKUP user a@b.c\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.lookup == AUTHD_LOOKUP_USER);
	authd_request_free(&r);
	test_assert(P("LOOKUP directory b.c\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.lookup == AUTHD_LOOKUP_DIRECTORY &&
		    r.cmd == AUTHD_CMD_LOOKUP &&
		    strcmp(authd_lookup_name(r.lookup), "directory") == 0);
	authd_request_free(&r);
	test_assert(P("LOOKUP user a b\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_REJECT);
	authd_request_free(&r);
	test_assert(P("LOOKUP user a\r\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_REJECT);
	authd_request_free(&r);
	test_assert(P("LOOKUP foo x\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("LOOKUP rcpt\n", false, &r) == AUTHD_PARSE_CLOSE);
	test_assert(P("LOOKUP rcpt \n", false, &r) == AUTHD_PARSE_CLOSE);
}

/* KEEPALIVE=1 (youju's clients): only on the framed lookups */
static void test_keepalive(void)
{
	struct authd_request r;
	test_begin("keepalive");
	test_assert(P("LOOKUP rcpt a@b.c\n", false, &r) == AUTHD_PARSE_OK);
	test_assert(!r.keepalive && r.used == 18);
	authd_request_free(&r);
	test_assert(P("KEEPALIVE=1\nLOOKUP rcpt a@b.c\nLOOKUP", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(r.keepalive && r.used == 30);
	test_assert(strcmp(r.user, "a@b.c") == 0);
	authd_request_free(&r);
	test_assert(P("KEEPALIVE=1\nMAPLOOKUP /t k\n", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(r.keepalive && r.cmd == AUTHD_CMD_MAPLOOKUP);
	authd_request_free(&r);
	test_assert(P("KEEPALIVE=1\nLOOKUP user a b\n", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(r.keepalive && r.cmd == AUTHD_CMD_REJECT);
	authd_request_free(&r);
	test_assert(P("KEEPALIVE=0\nLOOKUP user a\n", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(!r.keepalive);
	authd_request_free(&r);
	/* the courier commands close after their reply, as always */
	test_assert(P("KEEPALIVE=1\nPRE . imap a@b\n", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(!r.keepalive && r.cmd == AUTHD_CMD_PRE);
	authd_request_free(&r);
	test_assert(P("KEEPALIVE=1\nAUTH 18\nimap\nlogin\na@b\npw\n", false,
		      &r) == AUTHD_PARSE_OK);
	test_assert(!r.keepalive && r.cmd == AUTHD_CMD_AUTH);
	test_assert(r.used == 38);
	authd_request_free(&r);
}

/* FAILDELAY=1 (youju's clients): only on AUTH and PASSWD; TCPREMOTEIP
   kept */
static void test_faildelay(void)
{
	struct authd_request r;
	test_begin("faildelay");
	test_assert(P("FAILDELAY=1\nTCPREMOTEIP=192.0.2.9\nAUTH 18\nimap\n"
		      "login\na@b\npw\n",
		      false, &r) == AUTHD_PARSE_OK);
	test_assert(r.client_delays && r.cmd == AUTHD_CMD_AUTH);
	test_assert(strcmp(r.rip, "192.0.2.9") == 0);
	authd_request_free(&r);
	test_assert(P("AUTH 18\nimap\nlogin\na@b\npw\n", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(!r.client_delays && r.rip[0] == '\0');
	authd_request_free(&r);
	test_assert(P("FAILDELAY=yes\nAUTH 18\nimap\nlogin\na@b\npw\n", false,
		      &r) == AUTHD_PARSE_OK);
	test_assert(!r.client_delays);
	authd_request_free(&r);
	test_assert(P("FAILDELAY=1\nPRE . imap a@b\n", false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(!r.client_delays);
	authd_request_free(&r);
	/* PASSWD too (youju-webmail's password change) */
	test_assert(P("FAILDELAY=1\nPASSWD webmail\ta@b\told\tnew\n", false,
		      &r) == AUTHD_PARSE_OK);
	test_assert(r.client_delays && r.cmd == AUTHD_CMD_PASSWD);
	authd_request_free(&r);
}

static void test_limits(void)
{
	struct authd_request r;
	static char big[AUTHD_REQUEST_MAX + 100];
	test_begin("limits");
	/* the longest line accepted, and one more */
	memcpy(big, "PRE . login ", 12);
	memset(big + 12, 'a', sizeof(big) - 12);
	big[AUTHD_LINE_MAX] = '\n';
	test_assert(parse(big, AUTHD_LINE_MAX + 1, false, &r) ==
		    AUTHD_PARSE_OK);
	test_assert(strlen(r.user) == AUTHD_LINE_MAX - 12);
	authd_request_free(&r);
	big[AUTHD_LINE_MAX] = 'a';
	big[AUTHD_LINE_MAX + 1] = '\n';
	test_assert(parse(big, AUTHD_LINE_MAX + 2, false, &r) ==
		    AUTHD_PARSE_CLOSE);
	test_assert(parse(big, AUTHD_LINE_MAX, false, &r) == AUTHD_PARSE_MORE);
	test_assert(parse(big, AUTHD_LINE_MAX + 1, false, &r) ==
		    AUTHD_PARSE_CLOSE);
	/* many meta lines exhausting the request budget */
	size_t o = 0;
	while (o + 8 < sizeof(big)) {
		memcpy(big + o, "A=xxxx\n", 7);
		o += 7;
	}
	test_assert(parse(big, AUTHD_REQUEST_MAX, false, &r) ==
		    AUTHD_PARSE_CLOSE);
	/* NUL in a command line */
	test_assert(parse("PRE . l u\0x\n", 12, false, &r) ==
		    AUTHD_PARSE_CLOSE);
}

int main(void)
{
	test_pre();
	test_meta();
	test_auth();
	test_passwd();
	test_lookup();
	test_keepalive();
	test_faildelay();
	test_limits();
	return test_end();
}
