/*
 * URLAUTH's absolute URLs (mra/imap_urlauth): the owner (user@host, or
 * the user when it holds an '@'), the relative part CATENATE's parser
 * takes, the access identifier, the rump's length (what the token signs),
 * mechanism and token, EXPIRE in RFC 3339; and what is refused: relative
 * or non-imap URLs, no URLAUTH, an empty user or access, a token that is
 * not hex, a bad date, %00, an oversized user.
 */
#include <string.h>

#include "../../../mra/imap_urlauth.h"
#include "test.h"

static void test_good(void)
{
	test_begin("good");
	struct imap_urlauth_url u;
	static const char a[] =
	    "imap://joe@example.com/INBOX/;uid=20;urlauth=user+joe@example.com";
	test_assert(imap_urlauth_parse(a, &u) == 0);
	test_assert(strcmp(u.owner, "joe@example.com") == 0 &&
		    strcmp(u.rel, "/INBOX/;uid=20") == 0 &&
		    strcmp(u.access, "user+joe@example.com") == 0 &&
		    u.rump_len == strlen(a) && u.mech[0] == '\0' &&
		    u.expire == 0);
	static const char b[] = "IMAP://joe%40example.com;AUTH=*@mail.example."
				"com:143/a%20b/;UID=1/;SECTION=1.2;EXPIRE=2026-"
				"12-07T10:00:00Z;URLAUTH=authuser:INTERNAL:"
				"0123456789abcdefABCDEF";
	test_assert(imap_urlauth_parse(b, &u) == 0);
	test_assert(strcmp(u.owner, "joe@example.com") == 0 &&
		    strcmp(u.rel, "/a%20b/;UID=1/;SECTION=1.2") == 0 &&
		    strcmp(u.access, "authuser") == 0 &&
		    strcmp(u.mech, "INTERNAL") == 0 &&
		    strcmp(u.token, "0123456789abcdefABCDEF") == 0 &&
		    u.expire == 1796637600LL &&
		    u.rump_len == strlen(b) - strlen(":INTERNAL:"
						     "0123456789abcdefABCDEF"));
	test_assert(imap_urlauth_parse("imap://u@h/x/;uid=1;expire=2026-12-"
				       "07T12:00:00.5+02:00;urlauth=anonymous",
				       &u) == 0 &&
		    u.expire == 1796637600LL);
}

static void test_bad(void)
{
	test_begin("bad");
	static const char *const bad[] = {
	    "",
	    "/INBOX/;uid=1;urlauth=anonymous",
	    "http://u@h/INBOX/;uid=1;urlauth=anonymous",
	    "imap://h/INBOX/;uid=1;urlauth=anonymous",
	    "imap://@h/INBOX/;uid=1;urlauth=anonymous",
	    "imap://u@/INBOX/;uid=1;urlauth=anonymous",
	    "imap://u@h",
	    "imap://u@h/INBOX/;uid=1",
	    "imap://u@h/INBOX/;uid=1;urlauth=",
	    "imap://u@h/INBOX/;uid=1;urlauth=anonymous:INTERNAL",
	    "imap://u@h/INBOX/;uid=1;urlauth=anonymous:INTERNAL:",
	    "imap://u@h/INBOX/;uid=1;urlauth=anonymous::abc",
	    "imap://u@h/INBOX/;uid=1;urlauth=anonymous:INTERNAL:xyz",
	    "imap://u@h/INBOX/;uid=1;expire=2026-13-01T00:00:00Z;urlauth=a",
	    "imap://u@h/INBOX/;uid=1;expire=2026-12-01T00:00:00;urlauth=a",
	    "imap://u%00x@h/INBOX/;uid=1;urlauth=anonymous",
	    "imap://u%4@h/INBOX/;uid=1;urlauth=anonymous",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct imap_urlauth_url u;
		test_assert(imap_urlauth_parse(bad[i], &u) < 0);
	}
	/* the maximum user, and one more */
	char big[600];
	memset(big, 'a', sizeof big);
	memcpy(big, "imap://", 7);
	static const char tail[] = "@h/I/;uid=1;urlauth=anonymous";
	struct imap_urlauth_url u;
	memcpy(big + 7 + 253, tail, sizeof tail);
	test_assert(imap_urlauth_parse(big, &u) == 0); /* 253 + "@h" */
	memset(big, 'a', sizeof big);
	memcpy(big, "imap://", 7);
	memcpy(big + 7 + 254, tail, sizeof tail);
	test_assert(imap_urlauth_parse(big, &u) < 0);
}

int main(void)
{
	test_good();
	test_bad();
	return test_end();
}
