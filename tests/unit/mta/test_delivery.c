/*
 * Delivery side: queue file progress records (qfile), the DSN builder,
 * quota definitions and the Delivered-To loop check (deliver), next-hop
 * specs and DATA encoding (smtpc), MX answer parsing (mxlookup), and one
 * real Maildir++ delivery with quota into a temporary directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "../../../mta/deliver.h"
#include "../../../mta/dsn.h"
#include "maildir.h"
#include "../../../mta/mxlookup.h"
#include "../../../lib/qfile.h"
#include "../../../mta/maps.h"
#include "../../../mta/smtpc.h"
#include "test.h"

static const char qtext[] = "YOUJU-QUEUE 1\n"
			    "I 6B00CFEBA5790000\n"
			    "T 1763679339.123456\n"
			    "S a@example.net\n"
			    "A ret=HDRS\n"
			    "A envid=abc\n"
			    "A unknown=1\n"
			    "X future record\n"
			    "O rfc822;x@extmail.org\n"
			    "N 6\n"
			    "R x@extmail.org\n"
			    "R y@extmail.org\n"
			    "M 00000000000000000012\n"
			    "Subject: s\n\n"
			    "\nE\n";

static void test_qfile(void)
{
	test_begin("qfile");
	struct qfile qf;
	const char *err = "";
	test_assert(qfile_parse(qtext, sizeof(qtext) - 1, &qf, &err) == 0);
	test_assert(strcmp(qf.id, "6B00CFEBA5790000") == 0);
	test_assert(qf.arrival_sec == 1763679339 && qf.arrival_usec == 123456);
	test_assert(strcmp(qf.sender, "a@example.net") == 0);
	test_assert(strcmp(qf.ret, "HDRS") == 0);
	test_assert(strcmp(qf.envid, "abc") == 0);
	test_assert(qf.nrcpt == 2);
	test_assert(strcmp(qf.rcpts[0].orcpt, "rfc822;x@extmail.org") == 0);
	test_assert(qf.rcpts[0].notify == 6 && qf.rcpts[1].notify == 0);
	test_assert(qf.rcpts[1].orcpt[0] == '\0');
	test_assert(qf.msg_len == 12 && memcmp(qf.msg, "Subject", 7) == 0);
	test_assert(qfile_pending(&qf) == 2);
	qfile_free(&qf);

	/* progress records, a partial last line ignored */
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
			 "%sF Z@extmail.org\nD 1\nW x@e "
			 "why\nD 0",
			 qtext);
	test_assert(qfile_parse(buf, (size_t)n, &qf, &err) == 0);
	test_assert(qf.rcpts[1].done && !qf.rcpts[0].done);
	test_assert(qfile_final_done(&qf, "z@EXTMAIL.org"));
	test_assert(!qfile_final_done(&qf, "x@extmail.org"));
	test_assert(qfile_pending(&qf) == 1);
	qfile_free(&qf);

	/* corrupt files */
	n = snprintf(buf, sizeof(buf), "%sD 7\n", qtext);
	test_assert(qfile_parse(buf, (size_t)n, &qf, &err) < 0);
	qfile_free(&qf);
	memcpy(buf, qtext, sizeof(qtext));
	buf[sizeof(qtext) - 3] = 'X'; /* end record */
	test_assert(qfile_parse(buf, sizeof(qtext) - 1, &qf, &err) < 0);
	qfile_free(&qf);
	test_assert(qfile_parse(qtext, sizeof(qtext) - 5, &qf, &err) < 0);
	qfile_free(&qf);
	memcpy(buf, qtext, sizeof(qtext));
	buf[12] = '9';
	test_assert(qfile_parse(buf, sizeof(qtext) - 1, &qf, &err) < 0);
	qfile_free(&qf);

	/* append: version 2, then parsed back */
	char path[] = "/tmp/test_delivery_qXXXXXX";
	int fd = mkstemp(path);
	test_assert(fd >= 0);
	test_assert(write(fd, qtext, sizeof(qtext) - 1) ==
		    (ssize_t)(sizeof(qtext) - 1));
	test_assert(qfile_append(fd, "D 0\n", 4) == 0);
	char *data;
	size_t len;
	test_assert(qfile_read_fd(fd, &data, &len) == 0);
	test_assert(data[12] == '2');
	test_assert(qfile_parse(data, len, &qf, &err) == 0);
	test_assert(qf.version == 2 && qf.rcpts[0].done);
	qfile_free(&qf);
	free(data);
	close(fd);
	unlink(path);
}

static void test_dsn(void)
{
	test_begin("dsn");
	static const char msg[] = "Subject: hello\nFrom: a@example.net\n\n"
				  "body line\n";
	struct dsn_rcpt r[2] = {
	    {"x@extmail.org", "rfc822;x@extmail.org", DSN_FAILED, "5.2.2",
	     "Sorry, over quota", NULL},
	    {"y@remote.example", "", DSN_FAILED, "5.1.1",
	     "smtp; 550 5.1.1 no such user", "mx.remote.example"},
	};
	struct dsn_report rep = {
	    .queue_id = "6B00CFEBA5790000",
	    .hostname = "mail.example.org",
	    .sender = "a@example.net",
	    .envid = "ENV1",
	    .ret = "",
	    .arrival = 1763679339,
	    .now = 1763679400,
	    .msg = msg,
	    .msg_len = sizeof(msg) - 1,
	    .size_limit = 50000,
	    .rcpts = r,
	    .nrcpt = 2,
	};
	struct buf out;
	buf_init(&out, 1 << 20);
	test_assert(dsn_build(&rep, &out) == 0);
	const char *s = buf_cstr(&out);
	test_assert(strncmp(s, "From: MAILER-DAEMON@mail.example.org", 36) ==
		    0);
	test_assert(strstr(s, "\nTo: a@example.net\n") != NULL);
	test_assert(strstr(s, "Subject: Undelivered Mail Returned to "
			      "Sender\n") != NULL);
	test_assert(strstr(s, "Content-Type: multipart/report; "
			      "report-type=delivery-status;") != NULL);
	test_assert(strstr(s, "boundary=\"6B00CFEBA5790000.1763679400/"
			      "mail.example.org\"") != NULL);
	test_assert(strstr(s,
			   "Content-Type: message/delivery-status\n\n"
			   "Reporting-MTA: dns; mail.example.org\n") != NULL);
	test_assert(strstr(s, "Original-Envelope-Id: ENV1\n") != NULL);
	test_assert(strstr(s, "Final-Recipient: rfc822; x@extmail.org\n"
			      "Original-Recipient: rfc822;x@extmail.org\n"
			      "Action: failed\nStatus: 5.2.2\n") != NULL);
	test_assert(strstr(s, "Diagnostic-Code: X-Youju; Sorry, over "
			      "quota\n") != NULL);
	test_assert(strstr(s, "Remote-MTA: dns; mx.remote.example\n"
			      "Diagnostic-Code: smtp; 550 5.1.1 no such "
			      "user\n") != NULL);
	test_assert(strstr(s, "Content-Type: message/rfc822\n") != NULL);
	test_assert(strstr(s, "body line\n") != NULL);
	test_assert(strstr(s, "\n--6B00CFEBA5790000.1763679400/"
			      "mail.example.org--\n") != NULL);
	/* the report's own header ends before the first part */
	test_assert(dsn_header_len(s, out.len) <
		    (size_t)(strstr(s, "--6B") - s));

	/* RET=HDRS: headers only */
	buf_reset(&out);
	rep.ret = "HDRS";
	test_assert(dsn_build(&rep, &out) == 0);
	s = buf_cstr(&out);
	test_assert(strstr(s, "Content-Type: text/rfc822-headers\n") != NULL);
	test_assert(strstr(s, "Subject: hello\n") != NULL);
	test_assert(strstr(s, "body line") == NULL);
	/* over bounce_size_limit: headers only too */
	buf_reset(&out);
	rep.ret = "FULL";
	rep.size_limit = 10;
	test_assert(dsn_build(&rep, &out) == 0);
	test_assert(strstr(buf_cstr(&out), "body line") == NULL);
	/* a full buffer fails cleanly */
	struct buf tiny;
	buf_init(&tiny, 100);
	test_assert(dsn_build(&rep, &tiny) < 0);
	buf_deinit(&tiny);
	buf_deinit(&out);

	test_assert(dsn_header_len("a: b\n\nc", 7) == 6);
	test_assert(dsn_header_len("a: b\n", 5) == 5);
	test_assert(dsn_header_len("\nbody", 5) == 1);
}

static void test_deliver_parse(void)
{
	test_begin("deliver_parse");

	static const char m[] = "Delivered-To: other@x\n"
				"delivered-to:  A@Extmail.org \n"
				"Subject: x\n\n"
				"Delivered-To: b@extmail.org\n";
	test_assert(
	    deliver_has_delivered_to(m, sizeof(m) - 1, "a@extmail.org"));
	test_assert(
	    !deliver_has_delivered_to(m, sizeof(m) - 1, "b@extmail.org"));
	test_assert(!deliver_has_delivered_to(m, sizeof(m) - 1, "other"));
}

static void test_smtpc_parse(void)
{
	test_begin("smtpc_parse");
	char h[256];
	unsigned port;
	bool mx;
	test_assert(smtpc_parse_nexthop("[127.0.0.1]:2526", h, sizeof(h), &port,
					&mx) == 0);
	test_assert(strcmp(h, "127.0.0.1") == 0 && port == 2526 && !mx);
	test_assert(smtpc_parse_nexthop("[relay.example]", h, sizeof(h), &port,
					&mx) == 0);
	test_assert(strcmp(h, "relay.example") == 0 && port == 25 && !mx);
	test_assert(smtpc_parse_nexthop("example.org:587", h, sizeof(h), &port,
					&mx) == 0);
	test_assert(strcmp(h, "example.org") == 0 && port == 587 && mx);
	test_assert(
	    smtpc_parse_nexthop("example.org", h, sizeof(h), &port, &mx) == 0 &&
	    port == 25 && mx);
	test_assert(smtpc_parse_nexthop("[x]:0", h, sizeof(h), &port, &mx) < 0);
	test_assert(smtpc_parse_nexthop("[x]y", h, sizeof(h), &port, &mx) < 0);
	test_assert(smtpc_parse_nexthop("[x", h, sizeof(h), &port, &mx) < 0);
	test_assert(smtpc_parse_nexthop("", h, sizeof(h), &port, &mx) < 0);

	struct buf out;
	buf_init(&out, 1024);
	test_assert(smtpc_dot_encode("a\n.b\n..\nc", 9, 998, &out) == 0);
	test_assert(strcmp(buf_cstr(&out), "a\r\n..b\r\n...\r\nc\r\n.\r\n") ==
		    0);
	/* folding at 40 (the smallest limit): 100 x's, a dot first */
	char line[101];
	memset(line, 'x', sizeof(line));
	line[0] = '.';
	line[100] = '\n';
	buf_reset(&out);
	test_assert(smtpc_dot_encode(line, sizeof(line), 10, &out) == 0);
	const char *w = buf_cstr(&out);
	test_assert(out.len == 101 + 1 + 3 * 2 + 1 + 3);
	test_assert(w[0] == '.' && w[1] == '.' && w[40] == '\r' &&
		    w[41] == '\n' && w[42] == ' ' && w[82] == '\r' &&
		    w[84] == ' ');
	buf_reset(&out);
	test_assert(smtpc_dot_encode(line, sizeof(line), 0, &out) == 0);
	test_assert(out.len == 101 + 1 + 1 + 3);
	buf_deinit(&out);
}

static void test_smtpc_tls_policy(void)
{
	test_begin("smtpc_tls_policy");
	static const char tab[] = "[127.0.0.1]:2526 verify\n"
				  "example.org encrypt\n"
				  ".example.net secure\n"
				  "bad.example verify match=nexthop\n"
				  "odd.example dane-only\n"
				  "dane.example dane\n";
	char err[256], why[400];
	struct map *m =
	    map_from_text("texthash", tab, sizeof(tab) - 1, err, sizeof(err));
	test_assert(m != NULL);
	struct smtpc_cfg cfg = {.tls_level = SMTPC_TLS_MAY, .tls_policy = m};
	enum smtpc_tls lv;
	test_assert(smtpc_tls_policy(&cfg, "[127.0.0.1]:2526", &lv, why,
				     sizeof(why)) == 0 &&
		    lv == SMTPC_TLS_VERIFY);
	test_assert(smtpc_tls_policy(&cfg, "[127.0.0.1]:2527", &lv, why,
				     sizeof(why)) == 0 &&
		    lv == SMTPC_TLS_MAY);
	test_assert(
	    smtpc_tls_policy(&cfg, "example.org", &lv, why, sizeof(why)) == 0 &&
	    lv == SMTPC_TLS_ENCRYPT);
	/* ".parent" covers subdomains only */
	test_assert(smtpc_tls_policy(&cfg, "mx.example.net", &lv, why,
				     sizeof(why)) == 0 &&
		    lv == SMTPC_TLS_VERIFY);
	test_assert(
	    smtpc_tls_policy(&cfg, "example.net", &lv, why, sizeof(why)) == 0 &&
	    lv == SMTPC_TLS_MAY);
	/* bracketed next hops are not widened to their parents */
	test_assert(smtpc_tls_policy(&cfg, "[a.example.net]", &lv, why,
				     sizeof(why)) == 0 &&
		    lv == SMTPC_TLS_MAY);
	test_assert(smtpc_tls_policy(&cfg, "dane.example", &lv, why,
				     sizeof(why)) == 0 &&
		    lv == SMTPC_TLS_MAY);
	test_assert(
	    smtpc_tls_policy(&cfg, "bad.example", &lv, why, sizeof(why)) < 0 &&
	    strstr(why, "invalid TLS policy") != NULL);
	test_assert(
	    smtpc_tls_policy(&cfg, "odd.example", &lv, why, sizeof(why)) < 0);
	map_free(&m);

	struct buf out;
	buf_init(&out, 64);
	test_assert(smtpc_xtext("a+b=c d\x01\xc3", &out) == 0);
	test_assert(strcmp(buf_cstr(&out), "a+2Bb+3Dc+20d+01+C3") == 0);
	buf_deinit(&out);
}

static void test_mx_parse(void)
{
	test_begin("mx_parse");
	/* header, question example.org MX, two answers (pref 20, 10) */
	/* clang-format off */
	static const unsigned char ans[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
		0, 15, 0, 1,
		0xc0, 12, 0, 15, 0, 1, 0, 0, 1, 0, 0, 7, 0, 20,
		2, 'm', 'x', 0xc0, 12,
		0xc0, 12, 0, 15, 0, 1, 0, 0, 1, 0, 0, 8, 0, 10,
		3, 'm', 'x', '2', 0xc0, 12,
	};
	/* clang-format on */
	struct mx_host mx[4];
	size_t n;
	test_assert(mx_parse(ans, sizeof(ans), mx, 4, &n) == MX_OK);
	test_assert(n == 2);
	test_assert(mx[0].pref == 10 &&
		    strcmp(mx[0].host, "mx2.example.org") == 0);
	test_assert(mx[1].pref == 20 &&
		    strcmp(mx[1].host, "mx.example.org") == 0);
	/* truncated answers never read past the end */
	for (size_t len = 0; len < sizeof(ans); len++) {
		enum mx_status st = mx_parse(ans, len, mx, 4, &n);
		test_assert(st == MX_TEMPFAIL || st == MX_NODATA ||
			    st == MX_OK);
	}
	/* no answers */
	test_assert(mx_parse(ans, 29, mx, 4, &n) == MX_TEMPFAIL || n == 0);
}

static size_t count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *de;
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_deliver_maildir(void)
{
	test_begin("deliver_maildir");
	char base[] = "/tmp/test_delivery_mdXXXXXX";
	test_assert(mkdtemp(base) != NULL);
	char root[512], p[600];
	snprintf(root, sizeof(root), "%s/extmail.org/u/Maildir/", base);
	struct deliver_cfg cfg = {0, true, "Sorry, over quota", false, false};
	struct deliver_result r;
	static const char msg[] = "Subject: t\n\nhello\n";
	deliver_maildir(&cfg, "u@extmail.org", root, "200S,2C", "a@example.net",
			msg, sizeof(msg) - 1, &r);
	test_assert(r.status == DELIVER_OK && strcmp(r.dsn, "2.0.0") == 0);
	snprintf(p, sizeof(p), "%snew", root);
	test_assert(count_dir(p) == 1);
	/* made as virtual(8) does: no folders, no subscriptions (they come
	   at the first login) */
	snprintf(p, sizeof(p), "%s.Trash", root);
	test_assert(access(p, F_OK) < 0 && errno == ENOENT);
	snprintf(p, sizeof(p), "%ssubscriptions", root);
	test_assert(access(p, F_OK) < 0 && errno == ENOENT);
	char sroot[512];
	snprintf(sroot, sizeof(sroot), "%s/extmail.org/s/Maildir/", base);
	/* spam to a new mailbox: the default folders as the first login would
	   make them, and the message in Junk */
	static const char spam[] = "X-Spam-Flag: YES\nSubject: s\n\nbuy\n";
	deliver_maildir(&cfg, "u@extmail.org", sroot, NULL, "a@example.net",
			spam, sizeof(spam) - 1, &r);
	test_assert(r.status == DELIVER_OK &&
		    strcmp(r.text, "delivered to maildir folder Junk") == 0);
	snprintf(p, sizeof(p), "%s.Junk/new", sroot);
	test_assert(count_dir(p) == 1);
	snprintf(p, sizeof(p), "%s.Trash/maildirfolder", sroot);
	test_assert(access(p, F_OK) == 0);
	snprintf(p, sizeof(p), "%ssubscriptions", sroot);
	test_assert(access(p, F_OK) == 0);
	/* a Junk that its user deleted stays deleted: spam to the inbox */
	snprintf(p, sizeof(p), "%s.Junk", sroot);
	test_assert(maildir_folder_delete(p) == 0);
	deliver_maildir(&cfg, "u@extmail.org", sroot, NULL, "a@example.net",
			spam, sizeof(spam) - 1, &r);
	test_assert(r.status == DELIVER_OK &&
		    strcmp(r.text, "delivered to maildir") == 0);
	test_assert(access(p, F_OK) < 0);
	snprintf(p, sizeof(p), "%snew", sroot);
	test_assert(count_dir(p) == 1);
	/* the file: headers prepended, S= is its size */
	snprintf(p, sizeof(p), "%snew", root);
	DIR *d = opendir(p);
	struct dirent *de;
	char name[300] = "";
	while (d != NULL && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			snprintf(name, sizeof(name), "%s", de->d_name);
	if (d != NULL)
		closedir(d);
	char fp[900];
	snprintf(fp, sizeof(fp), "%snew/%s", root, name);
	struct stat st;
	test_assert(stat(fp, &st) == 0);
	char sz[32];
	snprintf(sz, sizeof(sz), ",S=%lld", (long long)st.st_size);
	test_assert(strstr(name, sz) != NULL);
	char content[256] = "";
	int fd = open(fp, O_RDONLY);
	test_assert(fd >= 0 && read(fd, content, sizeof(content) - 1) > 0);
	close(fd);
	test_assert(strncmp(content,
			    "Return-Path: <a@example.net>\n"
			    "Delivered-To: u@extmail.org\nSubject: t\n",
			    68) == 0);
	/* maildirsize was written with our definition */
	struct maildir_quota q;
	test_assert(maildir_quota_read(root, &q) == 1);
	test_assert(q.max_bytes == 200 && q.max_count == 2 && q.count == 1);

	/* loop */
	deliver_maildir(&cfg, "u@extmail.org", root, NULL, "", content,
			strlen(content), &r);
	test_assert(r.status == DELIVER_BOUNCE && strcmp(r.dsn, "5.4.6") == 0);
	/* second message fits, third is over the count */
	deliver_maildir(&cfg, "u@extmail.org", root, "200S,2C", "", msg,
			sizeof(msg) - 1, &r);
	test_assert(r.status == DELIVER_OK);
	deliver_maildir(&cfg, "u@extmail.org", root, "200S,2C", "", msg,
			sizeof(msg) - 1, &r);
	test_assert(r.status == DELIVER_BOUNCE && strcmp(r.dsn, "5.2.2") == 0 &&
		    strcmp(r.text, "Sorry, over quota") == 0);
	cfg.overquota_bounce = false;
	deliver_maildir(&cfg, "u@extmail.org", root, "200S,2C", "", msg,
			sizeof(msg) - 1, &r);
	test_assert(r.status == DELIVER_DEFER && strcmp(r.dsn, "4.2.2") == 0);
	/* a message larger than the whole quota always bounces */
	deliver_maildir(&cfg, "u@extmail.org", root, "10S", "", msg,
			sizeof(msg) - 1, &r);
	test_assert(r.status == DELIVER_BOUNCE);
	/* virtual_mailbox_limit_override = no: the global limit decides */
	cfg.global_limit_only = true;
	cfg.default_limit = 1000000;
	deliver_maildir(&cfg, "u@extmail.org", root, "10S", "", msg,
			sizeof(msg) - 1, &r);
	test_assert(r.status == DELIVER_OK);
	cfg.default_limit = 10;
	deliver_maildir(&cfg, "u@extmail.org", root, "1000000S", "", msg,
			sizeof(msg) - 1, &r);
	test_assert(r.status == DELIVER_BOUNCE && strcmp(r.dsn, "5.2.2") == 0);
	cfg.global_limit_only = false;
	cfg.default_limit = 0;
	/* relative maildir: defer */
	deliver_maildir(&cfg, "u@extmail.org", "rel/Maildir", NULL, "", msg,
			sizeof(msg) - 1, &r);
	test_assert(r.status == DELIVER_DEFER);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	test_assert(system(cmd) == 0);
}

int main(void)
{
	test_qfile();
	test_dsn();
	test_deliver_parse();
	test_smtpc_parse();
	test_smtpc_tls_policy();
	test_mx_parse();
	test_deliver_maildir();
	return test_end();
}
