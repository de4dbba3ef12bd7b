/*
 * CATENATE's IMAP URLs (mra/imap_url): the relative forms imaptest and
 * clients send, %-escapes, case-insensitive keywords, and what is
 * refused: absolute URLs, a zero or overflowing number, %00, text after
 * the last part, an empty mailbox or section, PARTIAL with length 0.
 */
#include <string.h>

#include "../../../mra/imap_url.h"
#include "test.h"

static void test_good(void)
{
	test_begin("good");
	struct imap_url u;
	test_assert(imap_url_parse("/INBOX/;UID=7", &u) == 0);
	test_assert(strcmp(u.mailbox, "INBOX") == 0 && u.uid == 7 &&
		    u.uidvalidity == 0 && u.section[0] == '\0' && !u.partial);
	test_assert(imap_url_parse("/a%20b.c;uidvalidity=1234/;uid=5/"
				   ";section=1.MIME/;partial=10.20",
				   &u) == 0);
	test_assert(strcmp(u.mailbox, "a b.c") == 0 && u.uidvalidity == 1234 &&
		    u.uid == 5 && strcmp(u.section, "1.MIME") == 0 &&
		    u.partial && u.off == 10 && u.len == 20);
	test_assert(imap_url_parse("/x/;UID=4294967295/;PARTIAL=3", &u) == 0);
	test_assert(u.uid == 4294967295u && u.partial && u.off == 3 &&
		    u.len == UINT64_MAX);
	test_assert(
	    imap_url_parse("/x/;uid=1/;section=HEADER.FIELDS%20(A)", &u) == 0);
	test_assert(strcmp(u.section, "HEADER.FIELDS (A)") == 0);
}

static void test_bad(void)
{
	test_begin("bad");
	static const char *const bad[] = {
	    "",
	    "INBOX/;UID=1",
	    "imap://u@h/INBOX/;UID=1",
	    "/INBOX",
	    "/INBOX/;UID=0",
	    "/INBOX/;UID=4294967296",
	    "/INBOX/;UID=",
	    "/INBOX/;UID=1x",
	    "//;UID=1",
	    "/INBOX;UIDVALIDITY=0/;UID=1",
	    "/INBOX;UIDVALIDITY=1x/;UID=1",
	    "/INBOX;FOO=1/;UID=1",
	    "/IN%00BOX/;UID=1",
	    "/IN%4/;UID=1",
	    "/IN%zzBOX/;UID=1",
	    "/INBOX/;UID=1/;SECTION=",
	    "/INBOX/;UID=1/;PARTIAL=1.0",
	    "/INBOX/;UID=1/;PARTIAL=.5",
	    "/INBOX/;UID=1/;PARTIAL=99999999999999999999",
	    "/INBOX/;UID=1/;URLAUTH=x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct imap_url u;
		test_assert(imap_url_parse(bad[i], &u) < 0);
	}
}

int main(void)
{
	test_good();
	test_bad();
	return test_end();
}
