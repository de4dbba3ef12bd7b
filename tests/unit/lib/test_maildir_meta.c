/*
 * lib/maildir_meta: dovecot-keywords parsing, writing and letter
 * assignment (the 26-letter limit), info letters with keywords, the
 * subscriptions file (versions 1 and 2), and folder RENAME with children
 * and RENAME INBOX on a real temporary Maildir.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "maildir.h"
#include "maildir_meta.h"
#include "test.h"

static void write_file(const char *path, const char *data)
{
	FILE *fp = fopen(path, "w");
	if (fp == NULL)
		return;
	fputs(data, fp);
	fclose(fp);
}

static char *read_text(const char *path)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	if (file_read_buf(path, &b) <= 0) {
		buf_deinit(&b);
		return strdup("");
	}
	char *s = strdup(b.p);
	buf_deinit(&b);
	return s;
}

static void test_keywords_parse(void)
{
	test_begin("keywords parse/format");
	struct maildir_keywords kw;
	maildir_keywords_init(&kw);
	/* observed from Dovecot 2.3 (maildir.md §3) */
	const char *dc = "0 $Junk\n1 $NonJunk\n2 $Label1\n";
	test_assert(maildir_keywords_parse(dc, strlen(dc), &kw) == 3);
	test_assert(strcmp(kw.name[0], "$Junk") == 0 &&
		    strcmp(kw.name[2], "$Label1") == 0 && kw.name[3] == NULL);
	struct buf b;
	buf_init(&b, 4096);
	test_assert(maildir_keywords_format(&kw, &b) == 0 &&
		    strcmp(b.p, dc) == 0);
	test_assert(maildir_keywords_find(&kw, STR_LIT("$junk")) == 0);
	test_assert(maildir_keywords_find(&kw, STR_LIT("$Label")) == -1);
	test_assert(maildir_keywords_find(&kw, STR_LIT("")) == -1);
	maildir_keywords_deinit(&kw);

	/* bad lines are skipped: index 26, no name, repeat, junk, NUL,
	   bare CR at the end, no final LF */
	static const char bad[] = "26 Over\n3\nx Bad\n4 \n5 Ok\r\n5 Again\n"
				  "6 a b\n7 N\0L\n25 Last";
	maildir_keywords_init(&kw);
	test_assert(maildir_keywords_parse(bad, sizeof bad - 1, &kw) == 2);
	test_assert(kw.name[5] && strcmp(kw.name[5], "Ok") == 0);
	test_assert(kw.name[25] && strcmp(kw.name[25], "Last") == 0);
	test_assert(kw.name[6] == NULL && kw.name[7] == NULL &&
		    kw.name[4] == NULL);
	maildir_keywords_deinit(&kw);
	maildir_keywords_init(&kw);
	test_assert(maildir_keywords_parse("", 0, &kw) == 0);
	test_assert(maildir_keywords_parse("\n\n", 2, &kw) == 0);

	char longname[MAILDIR_KEYWORD_LEN_MAX + 2];
	memset(longname, 'k', sizeof longname);
	test_assert(maildir_keyword_ok(
	    (struct str){longname, MAILDIR_KEYWORD_LEN_MAX}));
	test_assert(!maildir_keyword_ok(
	    (struct str){longname, MAILDIR_KEYWORD_LEN_MAX + 1}));
	test_assert(!maildir_keyword_ok(STR_LIT("\\Seen")));
	test_assert(!maildir_keyword_ok(STR_LIT("a b")));
	test_assert(!maildir_keyword_ok(STR_LIT("")));
	test_assert(maildir_keyword_ok(STR_LIT("$Forwarded")));
	buf_deinit(&b);
}

static void test_info_build(void)
{
	test_begin("info letters with keywords");
	char out[64];
	test_assert(maildir_keyword_bits(STR_LIT("RSac")) == 5);
	test_assert(maildir_keyword_bits(STR_LIT("")) == 0);
	test_assert(maildir_info_build(STR_LIT("RSa"), MAILDIR_SEEN, 1u << 2,
				       out, sizeof out) == 0 &&
		    strcmp(out, "Sc") == 0);
	/* unknown capitals are kept; P too */
	test_assert(maildir_info_build(STR_LIT("PXb"), MAILDIR_FLAGGED,
				       (1u << 0) | (1u << 25), out,
				       sizeof out) == 0 &&
		    strcmp(out, "FXaz") == 0); /* P comes from flags */
	test_assert(maildir_info_build(STR_LIT(""), 0, 0x3ffffff, out, 20) < 0);
	test_assert(maildir_info_build(STR_LIT(""), 0, 0x3ffffff, out,
				       sizeof out) == 0 &&
		    strlen(out) == 26);
}

static void test_keywords_assign(const char *md)
{
	test_begin("keywords assign");
	struct maildir_keywords kw;
	maildir_keywords_init(&kw);
	char p[1024];
	snprintf(p, sizeof p, "%s/dovecot-keywords", md);
	write_file(p, "1 $NonJunk\n");
	struct str n1[] = {STR_LIT("$nonjunk"), STR_LIT("Work")};
	test_assert(maildir_keywords_assign(md, n1, 2, &kw) == 0);
	char *t = read_text(p);
	test_assert(strcmp(t, "0 Work\n1 $NonJunk\n") == 0);
	free(t);
	/* nothing new: the file is not rewritten */
	test_assert(maildir_keywords_assign(md, n1, 1, &kw) == 0);
	struct str bad[] = {STR_LIT("\\Seen")};
	test_assert(maildir_keywords_assign(md, bad, 1, &kw) < 0 &&
		    errno == EINVAL);
	/* fill up to 26, then ENOSPC; the ones that fit are kept */
	struct str many[30];
	char names[30][16];
	for (int i = 0; i < 30; i++) {
		snprintf(names[i], sizeof names[i], "k%d", i);
		many[i] = str_from_cstr(names[i]);
	}
	test_assert(maildir_keywords_assign(md, many, 23, &kw) == 0);
	test_assert(maildir_keywords_assign(md, many + 23, 3, &kw) < 0 &&
		    errno == ENOSPC);
	maildir_keywords_deinit(&kw);
	maildir_keywords_init(&kw);
	test_assert(maildir_keywords_read(md, &kw) == 0);
	test_assert(kw.name[25] != NULL && strcmp(kw.name[25], "k23") == 0);
	test_assert(maildir_keywords_find(&kw, STR_LIT("k24")) < 0);
	maildir_keywords_deinit(&kw);
	snprintf(p, sizeof p, "%s/dovecot-uidlist.lock", md);
	test_assert(access(p, F_OK) < 0); /* lock released */

	/* a scanned folder carries its table: maildir_msg_has_keyword */
	snprintf(p, sizeof p, "%s/cur/1.x.host:2,Sab", md);
	write_file(p, "x\n");
	const char *err;
	struct maildir_folder *f = maildir_folder_open(md, false, &err);
	test_assert(f != NULL && f->n == 1);
	if (f != NULL && f->n == 1) {
		test_assert(maildir_msg_has_keyword(f, &f->msgs[0], "WORK"));
		test_assert(
		    maildir_msg_has_keyword(f, &f->msgs[0], "$NonJunk"));
		test_assert(!maildir_msg_has_keyword(f, &f->msgs[0], "k2"));
		test_assert(!maildir_msg_has_keyword(f, &f->msgs[0], "none"));
	}
	maildir_folder_free(&f);
}

static void test_subs(const char *md)
{
	test_begin("subscriptions");
	char **names = NULL;
	/* Dovecot 2.3, observed: "V\t2\n\nDrafts\nArchive\t2024\n" */
	static const char v2[] = "V\t2\n\nDrafts\nArchive\t2024\n";
	size_t n = maildir_subs_parse(v2, sizeof v2 - 1, &names);
	test_assert(n == 2);
	if (n == 2)
		test_assert(strcmp(names[0], "Archive.2024") == 0 &&
			    strcmp(names[1], "Drafts") == 0);
	struct buf b;
	buf_init(&b, 4096);
	test_assert(maildir_subs_format(names, n, &b) == 0 &&
		    strcmp(b.p, "V\t2\n\nArchive\t2024\nDrafts\n") == 0);
	maildir_names_free(names, n);
	/* version 1: plain names, CR LF, duplicates, NUL and '/' lines */
	static const char v1[] = "INBOX\r\nSent\nSent\n\na/b\nx\0y\nT";
	n = maildir_subs_parse(v1, sizeof v1 - 1, &names);
	test_assert(n == 3);
	if (n == 3)
		test_assert(strcmp(names[0], "INBOX") == 0 &&
			    strcmp(names[1], "Sent") == 0 &&
			    strcmp(names[2], "T") == 0);
	maildir_names_free(names, n);
	n = maildir_subs_parse("", 0, &names);
	test_assert(n == 0);
	maildir_names_free(names, n);

	test_assert(maildir_subs_read(md, &names) == 0);
	maildir_names_free(names, 0);
	test_assert(maildir_subs_set(md, "Sent", true) == 0);
	test_assert(maildir_subs_set(md, "A.b", true) == 0);
	test_assert(maildir_subs_set(md, "A.b", true) == 0);
	test_assert(maildir_subs_set(md, "", true) < 0);
	char p[1024];
	snprintf(p, sizeof p, "%s/subscriptions", md);
	char *t = read_text(p);
	test_assert(strcmp(t, "V\t2\n\nA\tb\nSent\n") == 0);
	free(t);
	test_assert(maildir_subs_rename(md, "A", "C") == 0);
	test_assert(maildir_subs_set(md, "Sent", false) == 0);
	test_assert(maildir_subs_set(md, "Nope", false) == 0);
	t = read_text(p);
	test_assert(strcmp(t, "V\t2\n\nC\tb\n") == 0);
	free(t);
	long r = maildir_subs_read(md, &names);
	test_assert(r == 1 && strcmp(names[0], "C.b") == 0);
	maildir_names_free(names, r > 0 ? (size_t)r : 0);
	buf_deinit(&b);
}

static void test_rename(const char *md)
{
	test_begin("folder rename");
	test_assert(maildir_folder_create(md, "A") == 0);
	test_assert(maildir_folder_create(md, "A.x") == 0);
	test_assert(maildir_folder_create(md, "A.x.y") == 0);
	test_assert(maildir_folder_create(md, "AB") == 0);
	test_assert(maildir_subs_set(md, "A.x", true) == 0);
	test_assert(maildir_folder_rename(md, "A", "B") == 0);
	char p[1024];
	const char *gone[] = {"A", "A.x", "A.x.y"};
	const char *there[] = {"B", "B.x", "B.x.y", "AB"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/.%s", md, gone[i]);
		test_assert(access(p, F_OK) < 0);
	}
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/.%s/maildirfolder", md, there[i]);
		test_assert(access(p, F_OK) == 0);
	}
	char **names = NULL;
	long r = maildir_subs_read(md, &names);
	test_assert(r >= 1);
	bool found = false;
	for (long i = 0; i < r; i++)
		found |= strcmp(names[i], "B.x") == 0;
	test_assert(found);
	maildir_names_free(names, r > 0 ? (size_t)r : 0);
	/* clash with an existing child target: nothing renamed */
	test_assert(maildir_folder_create(md, "C.x") == 0);
	test_assert(maildir_folder_create(md, "D") == 0);
	test_assert(maildir_folder_create(md, "D.x") == 0);
	test_assert(maildir_folder_rename(md, "D", "C") < 0 && errno == EEXIST);
	snprintf(p, sizeof p, "%s/.D", md);
	test_assert(access(p, F_OK) == 0);
	test_assert(maildir_folder_rename(md, "Nope", "Z") < 0 &&
		    errno == ENOENT);
	test_assert(maildir_folder_rename(md, "B", "B.in") < 0 &&
		    errno == EINVAL);
	/* only children exist (the parent was deleted): still renamed */
	test_assert(maildir_folder_create(md, "P.c") == 0);
	test_assert(maildir_folder_rename(md, "P", "Q") == 0);
	snprintf(p, sizeof p, "%s/.Q.c", md);
	test_assert(access(p, F_OK) == 0);

	/* RENAME INBOX moves the messages, INBOX stays */
	snprintf(p, sizeof p, "%s/new/5.n.host", md);
	write_file(p, "n\n");
	snprintf(p, sizeof p, "%s/cur/6.c.host:2,Sa", md);
	write_file(p, "c\n");
	long moved = maildir_inbox_move(md, "Old");
	test_assert(moved == 3); /* plus 1.x.host from test_keywords */
	snprintf(p, sizeof p, "%s/.Old/cur/6.c.host:2,Sa", md);
	test_assert(access(p, F_OK) == 0);
	snprintf(p, sizeof p, "%s/.Old/new/5.n.host", md);
	test_assert(access(p, F_OK) == 0);
	snprintf(p, sizeof p, "%s/.Old/dovecot-keywords", md);
	test_assert(access(p, F_OK) == 0);
	snprintf(p, sizeof p, "%s/cur", md);
	test_assert(access(p, F_OK) == 0);
	test_assert(maildir_inbox_move(md, "Old") < 0 && errno == EEXIST);
}

/* A Maildir made by a delivery (maildir_create_inbox: no folders, no
   subscriptions), then its first login or a spam verdict. */
static void test_inbox_then_login(const char *root)
{
	test_begin("maildir_create_inbox, then login");
	char md[512], p[600];
	const char *err = NULL;
	struct stat st;
	snprintf(md, sizeof md, "%s/d/u/Maildir", root);
	test_assert(maildir_create_inbox(md, &err) == 1);
	test_assert(maildir_create_inbox(md, &err) == 0);
	/* tmp/ new/ cur/ and nothing else, as Postfix's virtual(8) */
	DIR *d = opendir(md);
	test_assert(d != NULL);
	int n = 0;
	for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		test_assert(strcmp(de->d_name, "tmp") == 0 ||
			    strcmp(de->d_name, "new") == 0 ||
			    strcmp(de->d_name, "cur") == 0);
		n++;
	}
	if (d != NULL)
		closedir(d);
	test_assert(n == 3);
	/* a login then makes the folders and subscribes them */
	test_assert(maildir_create(md, &err) == 0);
	snprintf(p, sizeof p, "%s/subscriptions", md);
	char *t = read_text(p);
	test_assert(strcmp(t, "V\t2\n\nINBOX\nSent\nDrafts\nTrash\nJunk\n") ==
		    0);
	free(t);
	snprintf(p, sizeof p, "%s/.Drafts/cur", md);
	test_assert(stat(p, &st) == 0 && S_ISDIR(st.st_mode));

	/* a delivery that wants Junk in a Maildir without a login: made,
	   all of them, and subscribed, as that login would */
	snprintf(md, sizeof md, "%s/d/v/Maildir", root);
	test_assert(maildir_create_inbox(md, &err) == 1);
	test_assert(maildir_default_folder_want(md, "Archive", &err) == 0);
	snprintf(p, sizeof p, "%s/.Archive", md);
	test_assert(access(p, F_OK) < 0);
	test_assert(maildir_default_folder_want(md, "Junk", &err) == 1);
	snprintf(p, sizeof p, "%s/.Junk/new", md);
	test_assert(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(p, sizeof p, "%s/.Sent/maildirfolder", md);
	test_assert(stat(p, &st) == 0 && S_ISREG(st.st_mode));
	snprintf(p, sizeof p, "%s/subscriptions", md);
	t = read_text(p);
	test_assert(strcmp(t, "V\t2\n\nINBOX\nSent\nDrafts\nTrash\nJunk\n") ==
		    0);
	free(t);
	/* a Junk that its user deleted stays deleted */
	snprintf(p, sizeof p, "%s/.Junk", md);
	test_assert(maildir_folder_delete(p) == 0);
	test_assert(maildir_default_folder_want(md, "Junk", &err) == 0);
	test_assert(access(p, F_OK) < 0);
	test_end();
}

int main(void)
{
	test_keywords_parse();
	test_info_build();
	char root[] = "/tmp/youju-test-meta-XXXXXX";
	if (mkdtemp(root) == NULL)
		return 1;
	char md[512];
	snprintf(md, sizeof md, "%s/Maildir", root);
	const char *err;
	test_begin("setup");
	test_assert(maildir_create(md, &err) == 1);
	/* a new Maildir has INBOX and the default folders subscribed */
	char sp[600];
	snprintf(sp, sizeof sp, "%s/subscriptions", md);
	char *t = read_text(sp);
	test_assert(strcmp(t, "V\t2\n\nINBOX\nSent\nDrafts\nTrash\nJunk\n") ==
		    0);
	free(t);
	/* the user's unsubscribe of a default folder lasts across logins */
	test_assert(maildir_subs_set(md, "Junk", false) == 0);
	test_assert(maildir_create(md, &err) == 0);
	t = read_text(sp);
	test_assert(strcmp(t, "V\t2\n\nDrafts\nINBOX\nSent\nTrash\n") == 0);
	free(t);
	/* none (a crash before it was written): the defaults again */
	test_assert(unlink(sp) == 0);
	test_assert(maildir_create(md, &err) == 0);
	t = read_text(sp);
	test_assert(strcmp(t, "V\t2\n\nINBOX\nSent\nDrafts\nTrash\nJunk\n") ==
		    0);
	free(t);
	test_assert(unlink(sp) == 0);
	/* an empty one (a crash after the first write) gets the defaults
	   back; one with only the header (all unsubscribed) is kept */
	int fd = open(sp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	test_assert(fd >= 0);
	close(fd);
	test_assert(maildir_create(md, &err) == 0);
	t = read_text(sp);
	test_assert(strcmp(t, "V\t2\n\nINBOX\nSent\nDrafts\nTrash\nJunk\n") ==
		    0);
	free(t);
	fd = open(sp, O_WRONLY | O_TRUNC);
	test_assert(fd >= 0 && write(fd, "V\t2\n\n", 5) == 5);
	close(fd);
	test_assert(maildir_create(md, &err) == 0);
	t = read_text(sp);
	test_assert(strcmp(t, "V\t2\n\n") == 0);
	free(t);
	test_assert(unlink(sp) == 0);
	test_inbox_then_login(root);
	test_keywords_assign(md);
	test_subs(md);
	test_rename(md);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	test_assert(system(cmd) == 0);
	return test_end();
}
