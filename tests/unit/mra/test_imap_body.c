/*
 * FETCH BODYSTRUCTURE, BODY and BODY[section] with part numbers
 * (mra/imap_fetch + imap_body) on a real Maildir file, compared with what
 * Dovecot 2.3 answers for the same message byte for byte (captured once
 * from `dovecot imap` on a copy of this Maildir).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../mra/imap_body.h"
#include "../../../mra/imap_fetch.h"
#include "../../../mra/imap_parse.h"
#include "../../../mra/mra.h"
#include "maildir.h"
#include "test.h"

static const char msg2[] =
    "From: Alice <alice@example.com>\n"
    "To: bob@example.org\n"
    "Subject: mixed\n"
    "Date: Wed, 03 Jan 2024 10:00:00 +0000\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\n"
    "\n"
    "preamble\n"
    "--XYZ\n"
    "Content-Type: multipart/alternative; boundary=ALT\n"
    "\n"
    "--ALT\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=C3=A9 text\n"
    "--ALT\n"
    "Content-Type: text/html; charset=\"utf-8\"\n"
    "Content-Language: en, fr\n"
    "Content-Location: http://x/y\n"
    "\n"
    "<p>html</p>\n"
    "\n"
    "--ALT--\n"
    "--XYZ\n"
    "Content-Type: application/pdf; name=\"a.pdf\"\n"
    "Content-Disposition: attachment; filename=\"a.pdf\"; size=10\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-ID: <cid1@x>\n"
    "Content-Description: the doc\n"
    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
    "\n"
    "aGVsbG8gcGRm\n"
    "--XYZ\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: Zed <zed@example.com>\n"
    "Subject: inner\n"
    "Date: Thu, 04 Jan 2024 10:00:00 +0000\n"
    "Content-Type: multipart/mixed; boundary=IN\n"
    "\n"
    "--IN\n"
    "Content-Type: text/plain\n"
    "\n"
    "inner body\n"
    "--IN\n"
    "Content-Type: image/png; name*=utf-8''%E2%82%AC.png\n"
    "Content-Disposition: inline; filename*0=\"long\"; "
    "filename*1=\"name.png\"\n"
    "\n"
    "PNG\n"
    "--IN--\n"
    "\n"
    "--XYZ--\n"
    "epilogue\n";

static const char msg7[] = "Subject: msg\nContent-Type: message/rfc822\n\n"
			   "Subject: inner plain\n\nbody\n";

static const char bs2[] =
    "* 1 FETCH ("
    "BODYSTRUCTURE (((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NI"
    "L \"quoted-printable\" 14 0 NIL NIL NIL NIL)(\"text\" \"html\" (\""
    "charset\" \"utf-8\") NIL NIL \"7bit\" 13 1 NIL NIL (\"en\" \"fr\")"
    " \"http://x/y\") \"alternative\" (\"boundary\" \"ALT\") NIL NIL NI"
    "L)(\"application\" \"pdf\" (\"name\" \"a.pdf\") \"<cid1@x>\" \"the"
    " doc\" \"base64\" 12 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"attachment\" "
    "(\"filename\" \"a.pdf\" \"size\" \"10\")) NIL NIL)(\"message\" \"r"
    "fc822\" NIL NIL NIL \"7bit\" 321 (\"Thu, 04 Jan 2024 10:00:00 +000"
    "0\" \"inner\" ((\"Zed\" NIL \"zed\" \"example.com\")) ((\"Zed\" NI"
    "L \"zed\" \"example.com\")) ((\"Zed\" NIL \"zed\" \"example.com\")"
    ") NIL NIL NIL NIL NIL) ((\"text\" \"plain\" (\"charset\" \"us-asci"
    "i\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL)(\"image\" \"png\" (\"n"
    "ame*\" \"utf-8''%E2%82%AC.png\") NIL NIL \"7bit\" 3 NIL (\"inline\""
    " (\"filename\" \"longname.png\")) NIL NIL) \"mixed\" (\"boundary\""
    " \"IN\") NIL NIL NIL) 15 NIL NIL NIL NIL) \"mixed\" (\"boundary\" "
    "\"XYZ\") NIL NIL NIL)"
    ")\r\n";

static char dir[] = "/tmp/youju-test-body.XXXXXX";

static void put(const char *name, const char *data)
{
	char path[256];
	snprintf(path, sizeof path, "%s/cur/%s", dir, name);
	FILE *f = fopen(path, "w");
	test_assert(f != NULL);
	if (f != NULL) {
		fputs(data, f);
		fclose(f);
	}
}

/* "* n FETCH (...)" for every message, as one string (owned) */
static char *fetch(struct maildir_folder *f, const char *items)
{
	char line[1024];
	const char *err;
	snprintf(line, sizeof line, "t FETCH 1:* %s", items);
	struct imap_cmd cmd;
	struct imap_fetch_items it;
	if (imap_parse(line, strlen(line), &cmd, &err) < 0 ||
	    imap_fetch_parse(&cmd.args[1], false, &it, &err) < 0) {
		imap_cmd_free(&cmd);
		return NULL;
	}
	struct mra_conn c;
	memset(&c, 0, sizeof c);
	c.proto = &mra_imap_proto;
	buf_init(&c.out, 1 << 20);
	for (size_t i = 0; i < f->n; i++)
		test_assert(imap_fetch_one(&c, f, i, false, &it, true, NULL) ==
			    0);
	char *s = strdup(c.out.p ? c.out.p : "");
	buf_deinit(&c.out);
	imap_fetch_items_free(&it);
	imap_cmd_free(&cmd);
	return s;
}

static void check(struct maildir_folder *f, const char *items, const char *want)
{
	char *got = fetch(f, items);
	bool ok = got != NULL && strcmp(got, want) == 0;
	test_assert(ok);
	if (!ok)
		fprintf(stderr, "%s:\n got: %s\nwant: %s\n", items,
			got ? got : "(BAD)", want);
	free(got);
}

int main(void)
{
	test_begin("body");
	mra_srv.message_size_limit = 1 << 20;
	test_assert(mkdtemp(dir) != NULL);
	char sub[256];
	const char *subs[] = {"cur", "new", "tmp"};
	for (int i = 0; i < 3; i++) {
		snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
		test_assert(mkdir(sub, 0700) == 0);
	}
	put("1000000001.M1P1.host:2,", msg2);
	const char *err;
	struct maildir_folder *f = maildir_folder_open(dir, false, &err);
	test_assert(f != NULL && f->n == 1);
	if (f == NULL)
		return test_end();
	check(f, "BODYSTRUCTURE", bs2);
	check(f, "(BODY.PEEK[1.1] BODY.PEEK[3.1]<2.3> BODY.PEEK[2.MIME])",
	      "* 1 FETCH (BODY[1.1] {14}\r\ncaf=C3=A9 text "
	      "BODY[3.1]<2> {3}\r\nner BODY[2.MIME] {233}\r\n"
	      "Content-Type: application/pdf; name=\"a.pdf\"\r\n"
	      "Content-Disposition: attachment; filename=\"a.pdf\"; "
	      "size=10\r\n"
	      "Content-Transfer-Encoding: base64\r\n"
	      "Content-ID: <cid1@x>\r\n"
	      "Content-Description: the doc\r\n"
	      "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\r\n)\r\n");
	check(f,
	      "(BODY.PEEK[3.HEADER.FIELDS (subject)] BODY.PEEK[3.1.1] "
	      "BODY.PEEK[3.1.1.1] BODY.PEEK[2.HEADER] BODY.PEEK[9])",
	      "* 1 FETCH (BODY[3.HEADER.FIELDS (SUBJECT)] {18}\r\n"
	      "Subject: inner\r\n\r\n BODY[3.1.1] {10}\r\ninner body "
	      "BODY[3.1.1.1] {0}\r\n BODY[2.HEADER] {0}\r\n "
	      "BODY[9] {0}\r\n)\r\n");
	check(f, "BODY.PEEK[3.TEXT]<180.20>",
	      "* 1 FETCH (BODY[3.TEXT]<180> {11}\r\nG\r\n--IN--\r\n)"
	      "\r\n");
	test_assert(fetch(f, "BODY[0]") == NULL);
	test_assert(fetch(f, "BODY[1.MIME.TEXT]") == NULL);
	test_assert(fetch(f, "BODY[MIME]") == NULL);
	test_assert(fetch(f, "BODY[1..2]") == NULL);
	maildir_folder_free(&f);

	put("1000000002.M1P1.host:2,", msg7);
	snprintf(sub, sizeof sub, "%s/cur/1000000001.M1P1.host:2,", dir);
	test_assert(unlink(sub) == 0);
	f = maildir_folder_open(dir, false, &err);
	test_assert(f != NULL && f->n == 1);
	if (f == NULL)
		return test_end();
	check(f, "(BODY BODY.PEEK[1.1] BODY.PEEK[1.HEADER] BODY.PEEK[1.1.1])",
	      "* 1 FETCH (BODY (\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 30 "
	      "(NIL \"inner plain\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	      "\"7bit\" 6 1) 3) BODY[1.1] {6}\r\nbody\r\n "
	      "BODY[1.HEADER] {24}\r\nSubject: inner plain\r\n\r\n "
	      "BODY[1.1.1] {0}\r\n)\r\n");
	maildir_folder_free(&f);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	test_assert(system(cmd) == 0);
	return test_end();
}
