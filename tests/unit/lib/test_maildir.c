/*
 * lib/maildir: file name fields, info flags, dovecot-uidlist v1/v3 parsing
 * and writing, maildirsize parsing, modified UTF-7, and a folder scan that
 * numbers, moves and re-numbers consistently on a real temporary Maildir.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "test.h"

#define TMP_ROOT "/tmp/youju-test-maildir-XXXXXX"

/*
 * A Maildir made by maildir_create() at root/sub, root a new temporary
 * directory: root (sizeof TMP_ROOT) and md (mdsz) get the paths.  The
 * test removes root with tmp_remove().
 */
static void tmp_maildir(char *root, char *md, size_t mdsz, const char *sub)
{
	memcpy(root, TMP_ROOT, sizeof TMP_ROOT);
	test_assert(mkdtemp(root) != NULL);
	snprintf(md, mdsz, "%s/%s", root, sub);
	const char *err = NULL;
	test_assert(maildir_create(md, &err) == 1);
}

static void tmp_remove(const char *root)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	test_assert(system(cmd) == 0);
}

static void test_names(void)
{
	test_begin("names");
	struct str base, letters;
	maildir_name_split(STR_LIT("1.M2P3.host,S=158,W=162:2,FRSa"), &base,
			   &letters);
	test_assert(str_eq_cstr(base, "1.M2P3.host,S=158,W=162"));
	test_assert(str_eq_cstr(letters, "FRSa"));
	maildir_name_split(STR_LIT("1.M2P3.host"), &base, &letters);
	test_assert(str_eq_cstr(base, "1.M2P3.host") && letters.len == 0);
	maildir_name_split(STR_LIT("x:1,experimental"), &base, &letters);
	test_assert(str_eq_cstr(base, "x") && letters.len == 0);
	maildir_name_split(STR_LIT("x:2,S,dovecot"), &base, &letters);
	test_assert(str_eq_cstr(letters, "S"));

	uint64_t v = 0;
	test_assert(
	    maildir_name_size(STR_LIT("1.a,S=158,W=162:2,S"), 'S', &v) == 0 &&
	    v == 158);
	test_assert(
	    maildir_name_size(STR_LIT("1.a,S=158,W=162:2,S"), 'W', &v) == 0 &&
	    v == 162);
	test_assert(maildir_name_size(STR_LIT("1.a,S=:2,"), 'S', &v) < 0);
	test_assert(maildir_name_size(STR_LIT("1.a,S=12x"), 'S', &v) < 0);
	test_assert(maildir_name_size(STR_LIT("1.V0I1.a"), 'S', &v) < 0);
	test_assert(maildir_name_size(STR_LIT(""), 'S', &v) < 0);
	test_assert(maildir_name_size(STR_LIT("1,S=99999999999999999999999"),
				      'S', &v) < 0);

	test_assert(maildir_crlf_size("a\nb\r\nc", 6) == 7);
	test_assert(maildir_crlf_size("", 0) == 0);
	test_assert(maildir_crlf_size("\n", 1) == 2);
	test_assert(maildir_crlf_size("\r\n\n\r", 4) == 5);
	test_assert(maildir_crlf_size("a\0\nb\r\n\n", 7) == 9);
	test_assert(maildir_crlf_size("\n\n\n", 3) == 6);

	char name[256];
	test_assert(maildir_unique_name(name, sizeof name, 5, 6) == 0);
	test_assert(strstr(name, ",S=5,W=6") != NULL);
	test_assert(strchr(name, ':') == NULL && strchr(name, '/') == NULL);
	char name2[256];
	test_assert(maildir_unique_name(name2, sizeof name2, 5, 6) == 0);
	test_assert(strcmp(name, name2) != 0);
	test_assert(maildir_unique_name(name, 10, 5, 6) < 0);
}

static void test_flags(void)
{
	test_begin("flags");
	unsigned f = maildir_flags_parse(STR_LIT("DFPRSTabz"));
	test_assert(f == (MAILDIR_DRAFT | MAILDIR_FLAGGED | MAILDIR_PASSED |
			  MAILDIR_REPLIED | MAILDIR_SEEN | MAILDIR_TRASHED));
	test_assert(maildir_flags_parse(STR_LIT("")) == 0);
	test_assert(maildir_flags_parse((struct str){"S\0T", 3}) ==
		    (MAILDIR_SEEN | MAILDIR_TRASHED));
	char out[64];
	/* keywords and unknown letters kept, ASCII order, no duplicates */
	test_assert(maildir_info_set(STR_LIT("baS"),
				     MAILDIR_REPLIED | MAILDIR_FLAGGED, out,
				     sizeof out) == 0);
	test_assert(strcmp(out, "FRab") == 0);
	test_assert(maildir_info_set(STR_LIT("PS"), 0, out, sizeof out) == 0);
	test_assert(strcmp(out, "") == 0); /* P is a system flag too */
	test_assert(maildir_info_set(STR_LIT("XS"), MAILDIR_SEEN, out,
				     sizeof out) == 0 &&
		    strcmp(out, "SX") == 0);
	test_assert(maildir_info_set(STR_LIT(""), MAILDIR_SEEN, out, 1) < 0);
}

static void test_uidlist(void)
{
	test_begin("uidlist");
	static const char v3[] =
	    "3 V1795211180 N1 Gb8c5040facbf006b7840000083ecc375 Px\n"
	    "1 :1795211171.M76117P16296.vm,S=158\n"
	    "2 W160 :1795211171.M122055P16302.vm,S=158\n"
	    "5 :1795211171.M134978P16308.vm,S=158:2,S\n";
	struct maildir_uidlist ul;
	const char *err = NULL;
	maildir_uidlist_init(&ul);
	test_assert(maildir_uidlist_parse(v3, sizeof v3 - 1, &ul, &err) == 0);
	test_assert(ul.version == 3 && ul.uidvalidity == 1795211180u);
	test_assert(ul.next_uid == 6); /* N lags: max(N, last + 1) */
	test_assert(strcmp(ul.guid, "b8c5040facbf006b7840000083ecc375") == 0);
	test_assert(strcmp(ul.hdr_extra, "Px") == 0);
	test_assert(ul.n == 3 && ul.recs[2].uid == 5);
	test_assert(
	    strcmp(ul.recs[2].base, "1795211171.M134978P16308.vm,S=158") == 0);
	test_assert(strcmp(ul.recs[1].extra, "W160") == 0);
	struct buf out;
	buf_init(&out, 1 << 20);
	test_assert(maildir_uidlist_format(&ul, &out) == 0);
	test_assert(strncmp(out.p, "3 V1795211180 N6 Gb8c5", 22) == 0);
	test_assert(strstr(out.p, "\n2 W160 :1795211171.M122055") != NULL);
	/* round trip */
	struct maildir_uidlist ul2;
	maildir_uidlist_init(&ul2);
	test_assert(maildir_uidlist_parse(out.p, out.len, &ul2, &err) == 0);
	test_assert(ul2.n == 3 && ul2.next_uid == 6 &&
		    strcmp(ul2.hdr_extra, "Px") == 0);
	maildir_uidlist_deinit(&ul2);
	maildir_uidlist_deinit(&ul);
	buf_deinit(&out);

	static const char v1[] = "1 1000 7\n3 abc\n4 def:2,S\n";
	maildir_uidlist_init(&ul);
	test_assert(maildir_uidlist_parse(v1, sizeof v1 - 1, &ul, &err) == 0);
	test_assert(ul.version == 1 && ul.uidvalidity == 1000 &&
		    ul.next_uid == 7 && ul.n == 2 &&
		    strcmp(ul.recs[1].base, "def") == 0);
	maildir_uidlist_deinit(&ul);

	static const char *const bad[] = {
	    "",				 /* empty */
	    "3 V1 N1",			 /* no newline */
	    "2 V1 N1\n",		 /* version */
	    "3 N1\n",			 /* no V */
	    "3 V1 N1\n2 :a\n1 :b\n",	 /* descending */
	    "3 V1 N1\n0 :a\n",		 /* uid 0 */
	    "3 V1 N1\n1 a\n",		 /* no ':' */
	    "3 V1 N1\n1 :a/b\n",	 /* slash */
	    "3 V1 N1\n1 :\n",		 /* empty name */
	    "3 V1 N1\n99999999999 :a\n", /* > 32 bits */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		maildir_uidlist_init(&ul);
		test_assert(maildir_uidlist_parse(bad[i], strlen(bad[i]), &ul,
						  &err) < 0);
		maildir_uidlist_deinit(&ul);
	}
	maildir_uidlist_init(&ul);
	test_assert(maildir_uidlist_parse("3 V1 N1\n1 :a\0b\n", 15, &ul, &err) <
		    0);
	maildir_uidlist_deinit(&ul);
	maildir_uidlist_init(&ul);
	test_assert(maildir_uidlist_parse("3 V1 N1\r\n1 :a\n", 14, &ul, &err) ==
			0 ||
		    ul.n == 0);
	maildir_uidlist_deinit(&ul);
}

static void test_quota(void)
{
	test_begin("quota");
	struct maildir_quota q;
	static const char courier[] =
	    "3000S,3C\n           0            0\n         158            1\n";
	test_assert(maildir_quota_parse(courier, sizeof courier - 1, &q) == 0);
	test_assert(q.max_bytes == 3000 && q.max_count == 3 && q.bytes == 158 &&
		    q.count == 1);
	static const char dovecot[] = "104857600S,1000C\n479 4\n57 1\n-57 -1\n";
	test_assert(maildir_quota_parse(dovecot, sizeof dovecot - 1, &q) == 0);
	test_assert(q.max_bytes == 104857600 && q.bytes == 479 && q.count == 4);
	test_assert(maildir_quota_parse("0S\n", 3, &q) == 0 &&
		    q.max_bytes == 0 && q.max_count == 0);
	test_assert(maildir_quota_parse("500C\n", 5, &q) == 0 &&
		    q.max_count == 500);
	test_assert(maildir_quota_parse("", 0, &q) < 0);
	test_assert(maildir_quota_parse("100S\n-5 -1\n", 11, &q) < 0);
	test_assert(maildir_quota_parse("100S\nx y\n", 9, &q) < 0);
	test_assert(maildir_quota_parse("S\n", 2, &q) < 0);
	char big[MAILDIR_SIZE_FILE_MAX];
	memset(big, ' ', sizeof big);
	big[0] = '1';
	big[1] = 'S';
	big[2] = '\n';
	test_assert(maildir_quota_parse(big, sizeof big, &q) < 0);

	test_begin("quota definitions (authd QUOTA)");
	uint64_t b, c;
	test_assert(maildir_quota_def_parse("104857600S", &b, &c) == 0 &&
		    b == 104857600 && c == 0);
	test_assert(maildir_quota_def_parse("3000S,3C", &b, &c) == 0 &&
		    b == 3000 && c == 3);
	test_assert(maildir_quota_def_parse("500C", &b, &c) == 0 && b == 0 &&
		    c == 500);
	test_assert(maildir_quota_def_parse("junk", &b, &c) < 0);
	test_assert(maildir_quota_def_parse("", &b, &c) < 0);
	test_assert(maildir_quota_def_parse("5S\n1 1", &b, &c) < 0);
	char def[MAILDIR_QUOTA_DEF_MAX + 2];
	memset(def, '0', sizeof def);
	def[MAILDIR_QUOTA_DEF_MAX - 1] = 'S';
	def[MAILDIR_QUOTA_DEF_MAX] = '\0';
	test_assert(maildir_quota_def_parse(def, &b, &c) < 0 ||
		    b == 0); /* 127 zeros + S: at the maximum, parsed */
	def[MAILDIR_QUOTA_DEF_MAX] = 'S';
	def[MAILDIR_QUOTA_DEF_MAX + 1] = '\0';
	test_assert(maildir_quota_def_parse(def, &b, &c) < 0);

	test_begin("quota of a new Maildir");
	char root[sizeof TMP_ROOT], md[512], p[1024];
	tmp_maildir(root, md, sizeof md, "Maildir");
	struct maildir_quota_rule none = {0}, lim = {true, 3000, 3};
	snprintf(p, sizeof p, "%s/maildirsize", md);
	test_assert(maildir_quota_create_empty(md, &none) == 0 &&
		    access(p, F_OK) < 0); /* no limit: no file */
	test_assert(maildir_quota_create_empty(md, &lim) == 0);
	test_assert(maildir_quota_read(md, &q) == 1 && q.max_bytes == 3000 &&
		    q.max_count == 3 && q.bytes == 0 && q.count == 0);
	/* one there already (another first delivery) is kept */
	test_assert(maildir_quota_add(md, 10, 1) == 0);
	test_assert(maildir_quota_create_empty(md, &lim) == 0);
	test_assert(maildir_quota_read(md, &q) == 1 && q.bytes == 10 &&
		    q.count == 1);
	test_assert(maildir_quota_check(md, &lim, 100, 1, 0, &q) == 0 &&
		    q.bytes == 10);

	test_begin("quota kept open from the check to the add");
	int rfd = open(md, O_PATH | O_DIRECTORY | O_CLOEXEC), qfd = -1;
	test_assert(rfd >= 0);
	test_assert(maildir_quota_check_keep(md, rfd, &lim, 100, 1, &qfd) ==
			0 &&
		    qfd >= 0);
	test_assert(maildir_quota_add_fd(md, rfd, &qfd, 100, 1) == 0 &&
		    qfd == -1);
	test_assert(maildir_quota_read(md, &q) == 1 && q.bytes == 110 &&
		    q.count == 2);
	/* over the limit (recounted: the Maildir is empty), nothing kept */
	test_assert(maildir_quota_check_keep(md, rfd, &lim, 3001, 1, &qfd) ==
			1 &&
		    qfd == -1);
	/* a recalculation replaces the file between check and add: the
	   delta goes to the new file (the old one's lines count no more) */
	test_assert(maildir_quota_check_keep(md, rfd, &lim, 100, 1, &qfd) ==
			0 &&
		    qfd >= 0);
	test_assert(maildir_quota_recalc(md, 3000, 3, &q) == 0 && q.bytes == 0);
	test_assert(maildir_quota_add_fd(md, rfd, &qfd, 7, 1) == 0);
	test_assert(maildir_quota_read(md, &q) == 1 && q.bytes == 7 &&
		    q.count == 1);
	/* by path (AT_FDCWD), and no file: made by the check, added to */
	test_assert(unlink(p) == 0);
	test_assert(maildir_quota_check_keep(md, AT_FDCWD, &lim, 5, 1, &qfd) ==
		    0);
	test_assert(maildir_quota_add_fd(md, AT_FDCWD, &qfd, 5, 1) == 0 &&
		    qfd == -1);
	test_assert(maildir_quota_read(md, &q) == 1 && q.bytes == 5 &&
		    q.count == 1);
	close(rfd);
	tmp_remove(root);
}

static void test_mutf7(void)
{
	test_begin("mutf7");
	char out[256];
	test_assert(maildir_mutf7_to_utf8(STR_LIT("R&AOk-sum&AOk-"), out,
					  sizeof out) == 0);
	test_assert(strcmp(out, "R\xc3\xa9sum\xc3\xa9") == 0);
	test_assert(maildir_utf8_to_mutf7(STR_LIT("R\xc3\xa9sum\xc3\xa9"), out,
					  sizeof out) == 0);
	test_assert(strcmp(out, "R&AOk-sum&AOk-") == 0);
	/* 中文 and a surrogate pair */
	test_assert(maildir_utf8_to_mutf7(STR_LIT("\xe4\xb8\xad\xe6\x96\x87"),
					  out, sizeof out) == 0);
	test_assert(strcmp(out, "&Ti1lhw-") == 0);
	test_assert(
	    maildir_mutf7_to_utf8(STR_LIT("&Ti1lhw-"), out, sizeof out) == 0 &&
	    strcmp(out, "\xe4\xb8\xad\xe6\x96\x87") == 0);
	test_assert(maildir_utf8_to_mutf7(STR_LIT("\xf0\x9f\x98\x80"), out,
					  sizeof out) == 0);
	char back[64];
	test_assert(
	    maildir_mutf7_to_utf8(str_from_cstr(out), back, sizeof back) == 0 &&
	    strcmp(back, "\xf0\x9f\x98\x80") == 0);
	test_assert(maildir_mutf7_to_utf8(STR_LIT("a&-b"), out, sizeof out) ==
			0 &&
		    strcmp(out, "a&b") == 0);
	test_assert(maildir_utf8_to_mutf7(STR_LIT("a&b"), out, sizeof out) ==
			0 &&
		    strcmp(out, "a&-b") == 0);
	test_assert(maildir_mutf7_to_utf8(STR_LIT("&AGE-"), out, sizeof out) <
		    0); /* ASCII 'a' */
	test_assert(maildir_mutf7_to_utf8(STR_LIT("&Ti1"), out, sizeof out) <
		    0);
	test_assert(
	    maildir_mutf7_to_utf8(STR_LIT("\xc3\xa9"), out, sizeof out) < 0);
	test_assert(maildir_utf8_to_mutf7(STR_LIT("\xc3"), out, sizeof out) <
		    0);
	test_assert(maildir_mutf7_to_utf8(STR_LIT("abc"), out, 3) < 0);
	test_assert(maildir_folder_name_ok("Sent"));
	test_assert(maildir_folder_name_ok("a.b"));
	test_assert(!maildir_folder_name_ok(""));
	test_assert(!maildir_folder_name_ok("a..b"));
	test_assert(!maildir_folder_name_ok(".a"));
	test_assert(!maildir_folder_name_ok("a/b"));
	test_assert(!maildir_folder_name_ok("inbox"));
	test_assert(!maildir_folder_name_ok("R\xc3\xa9sum"));
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	test_assert(f != NULL);
	if (f != NULL) {
		fputs(data, f);
		fclose(f);
	}
}

static void test_folder(void)
{
	test_begin("folder");
	char root[sizeof TMP_ROOT], md[512], p[1024];
	umask(077);
	tmp_maildir(root, md, sizeof md, "d/u/Maildir");
	const char *err = NULL;
	/* the whole layout, directories 0700, files 0600 */
	static const char *const dirs[] = {"", "/cur", "/new", "/tmp", NULL};
	struct stat st;
	for (size_t i = 0; dirs[i] != NULL; i++) {
		snprintf(p, sizeof p, "%s%s", md, dirs[i]);
		test_assert(stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
			    (st.st_mode & 07777) == 0700);
	}
	for (size_t i = 0; maildir_default_folders[i] != NULL; i++) {
		for (size_t j = 0; dirs[j] != NULL; j++) {
			snprintf(p, sizeof p, "%s/.%s%s", md,
				 maildir_default_folders[i], dirs[j]);
			test_assert(stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
				    (st.st_mode & 07777) == 0700);
		}
		snprintf(p, sizeof p, "%s/.%s/maildirfolder", md,
			 maildir_default_folders[i]);
		test_assert(stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
			    st.st_size == 0 && (st.st_mode & 07777) == 0600);
	}
	snprintf(p, sizeof p, "%s/subscriptions", md);
	test_assert(stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 07777) == 0600);
	/* a Maildir whose parent is there: made in one mkdir; a folder
	   missing from an existing Maildir is made again */
	snprintf(p, sizeof p, "%s/d/v", root);
	test_assert(mkdir(p, 0700) == 0);
	snprintf(p, sizeof p, "%s/d/v/Maildir", root);
	test_assert(maildir_create(p, &err) == 1);
	snprintf(p, sizeof p, "%s/d/v/Maildir/.Junk/cur", root);
	test_assert(stat(p, &st) == 0 && rmdir(p) == 0);
	snprintf(p, sizeof p, "%s/d/v/Maildir", root);
	test_assert(maildir_create(p, &err) == 0);
	snprintf(p, sizeof p, "%s/d/v/Maildir/.Junk/cur", root);
	test_assert(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
	test_assert(maildir_create(md, &err) == 0); /* idempotent */
	snprintf(p, sizeof p, "%s/new/1000.a.host,S=3", md);
	write_file(p, "ab\n");
	snprintf(p, sizeof p, "%s/cur/999.b.host:2,S", md);
	write_file(p, "xyz\n");
	char base[MAILDIR_FILENAME_MAX + 1];
	test_assert(maildir_store(md, "hi\n", 3, false, "F", 0, base, &err) ==
		    0);

	struct maildir_folder *f = maildir_folder_open(md, true, &err);
	test_assert(f != NULL);
	if (f == NULL)
		return;
	test_assert(f->n == 3 && f->next_uid == 4);
	/* numbered in name order */
	test_assert(strcmp(f->msgs[0].base, "1000.a.host,S=3") == 0 ||
		    strcmp(f->msgs[1].base, "1000.a.host,S=3") == 0);
	long k = -1;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->msgs[i].base, "1000.a.host,S=3") == 0)
			k = (long)i;
	test_assert(k >= 0 && f->msgs[k].recent && !f->msgs[k].in_new);
	test_assert(f->msgs[k].size == 3);
	snprintf(p, sizeof p, "%s/cur/1000.a.host,S=3:2,", md);
	test_assert(access(p, F_OK) == 0); /* moved new -> cur */
	uint32_t validity = f->uidvalidity, uid_a = f->msgs[k].uid;
	struct buf b;
	buf_init(&b, 1024);
	test_assert(maildir_msg_read(f, &f->msgs[k], &b) == 0 &&
		    strcmp(b.p, "ab\n") == 0);
	test_assert(maildir_msg_set_letters(f, &f->msgs[k], "ST") == 0);
	snprintf(p, sizeof p, "%s/cur/1000.a.host,S=3:2,ST", md);
	test_assert(access(p, F_OK) == 0);
	maildir_folder_free(&f);
	test_assert(f == NULL);

	/* the UIDs survive; a new message gets the next one; a message
	   renamed behind our back is still found */
	snprintf(p, sizeof p, "%s/new/2000.c.host", md);
	write_file(p, "new\n");
	f = maildir_folder_open(md, false, &err);
	test_assert(f != NULL && f->uidvalidity == validity && f->n == 4);
	if (f == NULL)
		return;
	long ka = maildir_folder_find(f, uid_a);
	test_assert(ka >= 0 && strcmp(f->msgs[ka].letters, "ST") == 0);
	test_assert(f->msgs[3].uid == 4 && f->msgs[3].in_new);
	char from[1024], to[1024];
	snprintf(from, sizeof from, "%s/cur/1000.a.host,S=3:2,ST", md);
	snprintf(to, sizeof to, "%s/cur/1000.a.host,S=3:2,RS", md);
	test_assert(rename(from, to) == 0);
	buf_reset(&b);
	test_assert(maildir_msg_read(f, &f->msgs[ka], &b) == 0 &&
		    strcmp(f->msgs[ka].letters, "RS") == 0);
	test_assert(maildir_msg_unlink(f, &f->msgs[ka]) == 1);
	test_assert(maildir_msg_unlink(f, &f->msgs[ka]) == 0); /* ENOENT */
	buf_reset(&b);
	test_assert(maildir_msg_read(f, &f->msgs[ka], &b) < 0 &&
		    errno == ENOENT);
	maildir_folder_free(&f);
	buf_deinit(&b);

	/* a Dovecot-style uidlist is honoured, unlisted files appended */
	snprintf(p, sizeof p, "%s/dovecot-uidlist", md);
	f = maildir_folder_open(md, false, &err);
	test_assert(f != NULL && f->n == 3);
	maildir_folder_free(&f);

	test_assert(maildir_folder_create(md, "Work") == 0);
	test_assert(maildir_folder_create(md, "Work") < 0 && errno == EEXIST);
	test_assert(maildir_folder_create(md, "../x") < 0);
	char **names = NULL;
	long n = maildir_folder_list(md, &names);
	test_assert(n == 5);
	if (n == 5)
		test_assert(strcmp(names[0], "Drafts") == 0 &&
			    strcmp(names[4], "Work") == 0);
	maildir_names_free(names, n > 0 ? (size_t)n : 0);

	struct maildir_quota q;
	test_assert(maildir_quota_read(md, &q) == 0);
	snprintf(p, sizeof p, "%s/maildirsize", md);
	write_file(p, "1000S\n10 1\n");
	test_assert(maildir_quota_add(md, 5, 1) == 0);
	test_assert(maildir_quota_read(md, &q) == 1 && q.bytes == 15 &&
		    q.count == 2 && q.max_bytes == 1000);

	test_begin("maildirsize at the size limit (Maildir++: 5120 bytes)");
	{
		/* exactly n bytes: "1000S\n", lines "1 1\n", and a last
		   "1 1" padded with blanks to its "\n" */
		char big[MAILDIR_SIZE_FILE_MAX + 1024];
		const size_t sizes[] = {MAILDIR_SIZE_FILE_MAX - 1,
					MAILDIR_SIZE_FILE_MAX,
					MAILDIR_SIZE_FILE_MAX + 1, sizeof(big)};
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i], k = 6;
			int64_t lines = 0;
			memcpy(big, "1000S\n", 6);
			for (; k + 8 <= n; k += 4, lines++)
				memcpy(big + k, "1 1\n", 4);
			memcpy(big + k, "1 1", 3);
			memset(big + k + 3, ' ', n - k - 4);
			big[n - 1] = '\n';
			lines++;
			FILE *fp = fopen(p, "w");
			test_assert(fp != NULL && fwrite(big, 1, n, fp) == n &&
				    fclose(fp) == 0);
			int r = maildir_quota_read(md, &q);
			if (n < MAILDIR_SIZE_FILE_MAX)
				test_assert(r == 1 && q.count == lines);
			else
				test_assert(r == 0 && !q.valid);
		}
	}
	write_file(p, "1000S\n10 1\n5 1\n");

	test_begin("quota check: the one rule");
	struct maildir_quota_rule none, own, big;
	test_assert(maildir_quota_rule_make(NULL, 0, false, &none) == 0 &&
		    !none.own);
	test_assert(maildir_quota_recalc(md, 1000, 0, &q) == 0);
	int64_t used = q.bytes, cnt = q.count;
	test_assert(cnt > 0 && used > 0 && used < 500);
	/* no rule: line 1 of maildirsize (1000S) is obeyed; a file that
	   says "over" is recounted once, unless read-only */
	write_file(p, "1000S\n1000 1\n");
	test_assert(maildir_quota_check(md, &none, 1, 1, MAILDIR_QUOTA_READONLY,
					&q) == 1);
	test_assert(maildir_quota_check(md, &none, 1, 1, 0, &q) == 0);
	test_assert(q.bytes == used && q.count == cnt);
	test_assert(maildir_quota_check(md, &none, 1000 - (uint64_t)used, 1, 0,
					&q) == 0);
	test_assert(maildir_quota_check(md, &none, 1001 - (uint64_t)used, 1, 0,
					&q) == 1);
	/* own rule: another definition is rebuilt with ours */
	test_assert(maildir_quota_rule_make("100S,4C", 50, false, &own) == 0);
	test_assert(own.own && own.max_bytes == 100 && own.max_count == 4);
	test_assert(maildir_quota_check(md, &own, 1, 1, 0, &q) == 0);
	test_assert(q.max_bytes == 100 && q.max_count == 4);
	test_assert(maildir_quota_read(md, &q) == 1 && q.max_count == 4 &&
		    q.count == cnt);
	test_assert(
	    maildir_quota_check(md, &own, 1, (uint64_t)(5 - cnt), 0, &q) == 1);
	/* virtual_mailbox_limit_override = no: the default wins */
	test_assert(maildir_quota_rule_make("100S,4C", 5000, true, &big) == 0);
	test_assert(big.own && big.max_bytes == 5000 && big.max_count == 0);
	test_assert(maildir_quota_check(md, &big, 1, 2, MAILDIR_QUOTA_READONLY,
					&q) == 0); /* read-only: no rebuild */
	test_assert(maildir_quota_read(md, &q) == 1 && q.max_count == 4);
	test_assert(maildir_quota_check(md, &big, 1, 2, 0, &q) == 0);
	test_assert(maildir_quota_read(md, &q) == 1 && q.max_bytes == 5000 &&
		    q.max_count == 0);
	test_assert(maildir_quota_rule_make("junk", 7, false, &big) < 0 &&
		    big.own && big.max_bytes == 7);
	/* a missing file and a read-only check: fits */
	unlink(p);
	test_assert(maildir_quota_check(md, &own, 1000, 100,
					MAILDIR_QUOTA_READONLY, &q) == 0);
	test_assert(maildir_quota_check(md, &none, 1000, 100, 0, &q) == 0);
	test_assert(maildir_quota_check(md, &own, 1000, 1, 0, &q) == 1);

	tmp_remove(root);
}

static int base_cmp(const char *a, const char *b)
{
	return maildir_base_cmp(a, strlen(a), b, strlen(b));
}

static void test_base_order(void)
{
	test_begin("base order");
	test_assert(base_cmp("5.M99999P1.h", "5.M100000P1.h") < 0);
	test_assert(base_cmp("5.M100000P1.h", "5.M99999P1.h") > 0);
	test_assert(base_cmp("999.b.h", "1000.a.h") < 0);
	test_assert(base_cmp("5.M7P10.h", "5.M7P9.h") > 0);
	test_assert(base_cmp("5.M7P9.h", "5.M7P9.h") == 0);
	/* equal as numbers, spelled differently: ordered, never equal */
	test_assert(base_cmp("5.M07", "5.M7") != 0);
	test_assert(base_cmp("5.M07", "5.M7") == -base_cmp("5.M7", "5.M07"));
	test_assert(base_cmp("5.M7", "5.M7x") < 0);
	test_assert(base_cmp("a", "b") < 0 && base_cmp("", "a") < 0);

	/* new files get their UIDs in that order, not in byte order */
	char root[sizeof TMP_ROOT], md[512], p[1024];
	tmp_maildir(root, md, sizeof md, "Maildir");
	const char *err = NULL;
	snprintf(p, sizeof p, "%s/new/5.M100000P1.h,S=2", md);
	write_file(p, "b\n");
	snprintf(p, sizeof p, "%s/new/5.M99999P1.h,S=2", md);
	write_file(p, "a\n");
	struct maildir_folder *f = maildir_folder_open(md, false, &err);
	test_assert(f != NULL && f->n == 2);
	if (f != NULL && f->n == 2) {
		test_assert(f->msgs[0].uid == 1 &&
			    strcmp(f->msgs[0].base, "5.M99999P1.h,S=2") == 0);
		test_assert(f->msgs[1].uid == 2);
	}
	if (f != NULL)
		maildir_folder_free(&f);
	tmp_remove(root);
}

/* Sets path's mtime to t. */
static void set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = {{t, 0}, {t, 0}};
	test_assert(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

/* The scan stats no file that has S=: sizes come from the names,
   INTERNALDATE is read on first use, also after another reader renamed
   the file; the same base in new/ and cur/ is one message; a directory
   is no message. */
static void test_lazy_scan(void)
{
	test_begin("lazy scan");
	char root[sizeof TMP_ROOT], md[512], p[1024], q[1024];
	tmp_maildir(root, md, sizeof md, "Maildir");
	const char *err = NULL;
	/* S= that disagrees with the file: the name wins (no stat) */
	snprintf(p, sizeof p, "%s/cur/100.M1P1.h,S=7:2,S", md);
	write_file(p, "abc\n");
	set_mtime(p, 1100000000);
	/* no S=: the size (and so the mtime) from a stat */
	snprintf(p, sizeof p, "%s/cur/200.M1P1.h:2,", md);
	write_file(p, "hello\n");
	set_mtime(p, 1200000000);
	/* one message twice */
	snprintf(p, sizeof p, "%s/new/300.M1P1.h,S=2", md);
	write_file(p, "x\n");
	set_mtime(p, 1300000000);
	snprintf(p, sizeof p, "%s/cur/300.M1P1.h,S=2:2,F", md);
	write_file(p, "x\n");
	set_mtime(p, 1300000000);
	/* expunged later: the time in its name */
	snprintf(p, sizeof p, "%s/cur/400.M1P1.h,S=2:2,", md);
	write_file(p, "y\n");
	snprintf(p, sizeof p, "%s/cur/500.M1P1.h,S=2", md);
	test_assert(mkdir(p, 0700) == 0);

	struct maildir_folder *f = maildir_folder_open(md, false, &err);
	test_assert(f != NULL && f->n == 4);
	if (f == NULL || f->n != 4) {
		if (f != NULL)
			maildir_folder_free(&f);
		return;
	}
	test_assert(strcmp(f->msgs[0].base, "100.M1P1.h,S=7") == 0 &&
		    f->msgs[0].size == 7 && !f->msgs[0].mtime_known);
	test_assert(strcmp(f->msgs[1].base, "200.M1P1.h") == 0 &&
		    f->msgs[1].size == 6 && f->msgs[1].mtime_known &&
		    maildir_msg_mtime(f, &f->msgs[1]) == 1200000000);
	test_assert(strcmp(f->msgs[2].base, "300.M1P1.h,S=2") == 0 &&
		    strcmp(f->msgs[2].letters, "F") == 0 && !f->msgs[2].in_new);
	test_assert(strcmp(f->msgs[3].base, "400.M1P1.h,S=2") == 0);
	/* renamed by another reader: found by its base */
	snprintf(p, sizeof p, "%s/cur/100.M1P1.h,S=7:2,S", md);
	snprintf(q, sizeof q, "%s/cur/100.M1P1.h,S=7:2,FS", md);
	test_assert(rename(p, q) == 0);
	const char *letters = f->msgs[0].letters;
	test_assert(maildir_msg_mtime(f, &f->msgs[0]) == 1100000000);
	test_assert(f->msgs[0].letters == letters); /* m left alone */
	test_assert(maildir_msg_mtime(f, &f->msgs[2]) == 1300000000);
	snprintf(p, sizeof p, "%s/cur/400.M1P1.h,S=2:2,", md);
	test_assert(unlink(p) == 0);
	test_assert(maildir_msg_mtime(f, &f->msgs[3]) == 400);
	/* kept: the file's time now no longer matters */
	set_mtime(q, 1);
	test_assert(maildir_msg_mtime(f, &f->msgs[0]) == 1100000000);
	maildir_folder_free(&f);

	/* maildir_folder_mtimes fills them all */
	f = maildir_folder_open(md, false, &err);
	test_assert(f != NULL && f->n == 3);
	if (f != NULL) {
		maildir_folder_mtimes(f);
		for (size_t i = 0; i < f->n; i++)
			test_assert(f->msgs[i].mtime_known);
		test_assert(f->msgs[0].mtime == 1);
		maildir_folder_free(&f);
	}
	tmp_remove(root);
}

/* A delivery takes root/new for a Maildir that is there (mta/deliver.c):
   a first delivery running beside the one making the Maildir must then
   find tmp/ (its temp file, maildirsize's) and cur/ too.  Watched from a
   second thread while maildir_create() runs; the old order (cur, new,
   tmp) showed new/ without tmp/ (a deferral: "maildir quota of ...: No
   such file or directory"). */
static char race_new[PATH_MAX], race_tmp[PATH_MAX], race_cur[PATH_MAX];
static atomic_bool race_go, race_stop;
static atomic_int race_bad, race_seen;

static void *race_watch(void *arg)
{
	(void)arg;
	struct stat st;
	while (!atomic_load(&race_go))
		;
	while (!atomic_load(&race_stop)) {
		if (stat(race_new, &st) == 0) {
			atomic_fetch_add(&race_seen, 1);
			if (stat(race_tmp, &st) < 0 || stat(race_cur, &st) < 0)
				atomic_fetch_add(&race_bad, 1);
			break;
		}
	}
	return NULL;
}

static void test_create_order(void)
{
	char base[sizeof TMP_ROOT], root[256];
	const char *err;
	test_begin("maildir_create: new/ last");
	memcpy(base, TMP_ROOT, sizeof TMP_ROOT);
	test_assert(mkdtemp(base) != NULL);
	for (int i = 0; i < 100; i++) {
		snprintf(root, sizeof root, "%s/m%d/Maildir", base, i);
		snprintf(race_new, sizeof race_new, "%s/new", root);
		snprintf(race_tmp, sizeof race_tmp, "%s/tmp", root);
		snprintf(race_cur, sizeof race_cur, "%s/cur", root);
		atomic_store(&race_go, false);
		atomic_store(&race_stop, false);
		pthread_t t;
		test_assert(pthread_create(&t, NULL, race_watch, NULL) == 0);
		atomic_store(&race_go, true);
		test_assert(maildir_create(root, &err) == 1);
		atomic_store(&race_stop, true);
		pthread_join(t, NULL);
	}
	test_assert(atomic_load(&race_seen) > 0);
	test_assert(atomic_load(&race_bad) == 0);
	tmp_remove(base);
}

int main(void)
{
	test_names();
	test_base_order();
	test_flags();
	test_uidlist();
	test_quota();
	test_mutf7();
	test_folder();
	test_lazy_scan();
	test_create_order();
	return test_end();
}
