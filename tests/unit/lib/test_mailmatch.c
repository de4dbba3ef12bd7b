/*
 * Search's text matcher (lib/mailmatch), shared by IMAP SEARCH and
 * webmail's search: header fields decoded (RFC 2047) and folded,
 * addresses in their normal form, text parts decoded (base64, QP,
 * charsets) with attachments skipped, an empty needle, a message without
 * text, embedded NUL, bare CR and LF, and a needle longer than the text.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mailmatch.h"
#include "test.h"

static const char MSG[] =
    "From: =?UTF-8?B?5byg5LiJ?= <Zhang.San @ example.COM>\r\n"
    "To: a@b.example, \"Group\": c@d.example;\r\n"
    "Subject: =?GB2312?B?xOO6ww==?= Quarterly REPORT\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Caf=C3=A9 at NOON=\r\n"
    " sharp\r\n"
    "--b\r\n"
    "Content-Type: text/html; charset=big5\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "p0Gmbg==\r\n"
    "--b\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Disposition: attachment; filename=x.bin\r\n"
    "\r\n"
    "secret-word-in-attachment\r\n"
    "--b--\r\n";

static bool hdr(const char *text, size_t len, const char *name, bool addr,
		const char *needle)
{
	struct buf n;
	buf_init(&n, 4096);
	test_assert(mailmatch_needle(needle, strlen(needle), &n) == 0);
	struct mailmatch_msg m;
	mailmatch_msg_init(&m, text, len, NULL);
	bool r = mailmatch_header(&m, name, addr, n.p ? n.p : "", n.len);
	mailmatch_msg_deinit(&m);
	buf_deinit(&n);
	return r;
}

static bool body(const char *text, size_t len, const char *needle)
{
	struct buf n;
	buf_init(&n, 4096);
	test_assert(mailmatch_needle(needle, strlen(needle), &n) == 0);
	struct mailmatch_msg m;
	mailmatch_msg_init(&m, text, len, NULL);
	bool r = mailmatch_body(&m, n.p ? n.p : "", n.len);
	/* twice: the folded text is kept */
	test_assert(mailmatch_body(&m, n.p ? n.p : "", n.len) == r);
	mailmatch_msg_deinit(&m);
	buf_deinit(&n);
	return r;
}

static void test_headers(void)
{
	test_begin("headers");
	size_t l = sizeof MSG - 1;
	test_assert(hdr(MSG, l, "Subject", false, "quarterly report"));
	test_assert(hdr(MSG, l, "subject", false, "你好"));
	test_assert(!hdr(MSG, l, "Subject", false, "zhang"));
	test_assert(hdr(MSG, l, "From", true, "zhang.san@example.com"));
	test_assert(hdr(MSG, l, "From", true, "张三"));
	test_assert(hdr(MSG, l, "To", true, "c@d.example"));
	test_assert(!hdr(MSG, l, "Cc", true, "a@b"));
	test_assert(hdr(MSG, l, NULL, false, "mime-version") == false);
	test_assert(hdr(MSG, l, NULL, false, "1.0"));
	/* the empty needle: the field exists */
	test_assert(hdr(MSG, l, "To", true, ""));
	test_assert(!hdr(MSG, l, "Cc", true, ""));
	/* no text and no entry: nothing matches */
	struct mailmatch_msg m;
	mailmatch_msg_init(&m, NULL, 0, NULL);
	test_assert(!mailmatch_header(&m, "Subject", false, "x", 1));
	test_assert(!mailmatch_body(&m, "x", 1));
	mailmatch_msg_deinit(&m);
	/* empty message, bare LF and bare CR */
	test_assert(!hdr("", 0, "Subject", false, "x"));
	test_assert(
	    hdr("Subject: bare lf\n\nbody\n", 21, "Subject", false, "BARE LF"));
	test_assert(
	    !hdr("Subject: a\rSubject: b\n\n", 24, "Subject", false, "zzz"));
}

static void test_body(void)
{
	test_begin("body");
	size_t l = sizeof MSG - 1;
	test_assert(body(MSG, l, "café at noon sharp"));
	test_assert(body(MSG, l, "CAFÉ"));
	test_assert(body(MSG, l, "你好"));	   /* the Big5 HTML part */
	test_assert(!body(MSG, l, "secret-word")); /* attachments skipped */
	test_assert(!body(MSG, l, "quarterly"));   /* headers are not text */
	test_assert(body(MSG, l, ""));
	/* a needle longer than the text */
	test_assert(!body("Subject: x\n\nab\n", 15, "abcdefghijklmnop"));
	/* embedded NUL in the text */
	static const char nul[] = "Subject: x\n\nbefore\0after\n";
	test_assert(body(nul, sizeof nul - 1, "after"));
	test_assert(body(nul, sizeof nul - 1, "before"));
}

int main(void)
{
	test_headers();
	test_body();
	return test_end();
}
