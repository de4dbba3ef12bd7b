/*
 * lib/mailbox on a real temporary Maildir: append with flags, keywords
 * and quota; copy by hard link with keyword remapping and COPYUID data;
 * move; expunge with the maildirsize delta; flag changes from two stale
 * snapshots that must both survive.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "mailbox.h"
#include "test.h"

static char root[] = "/tmp/test_mailbox.XXXXXX";

static struct maildir_folder *open_folder(const char *path)
{
	const char *err;
	struct maildir_folder *f = maildir_folder_open(path, false, &err);
	test_assert(f != NULL);
	return f;
}

static void quota_now(int64_t *bytes, int64_t *count)
{
	struct maildir_quota q;
	test_assert(maildir_quota_read(root, &q) == 1);
	*bytes = q.bytes;
	*count = q.count;
}

/* RFC822.SIZE of a file: bare LFs count twice, a CR LF once, also when
   the CR ends one 64 KiB read and the LF starts the next. */
static void test_vsize(const char *dir)
{
	static const struct {
		size_t len, cr_at, lf_at; /* one CR and one LF at these */
		uint64_t want;
	} cases[] = {
	    {0, 0, 0, 0},		  /* empty */
	    {1, 1, 0, 2},		  /* a bare LF */
	    {2, 0, 1, 2},		  /* CR LF */
	    {2, 1, 0, 3},		  /* LF CR: the LF is bare */
	    {65537, 65535, 65536, 65537}, /* CR LF across the pieces */
	    {65537, 0, 65536, 65538},	  /* bare LF starts a piece */
	    {65537, 65536, 65535, 65538}, /* bare LF ends a piece */
	};
	char path[256];
	snprintf(path, sizeof path, "%s/vsize", dir);
	test_begin("fd_vsize");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = cases[i].len;
		char *d = malloc(len + 1);
		memset(d, 'x', len);
		if (len > 0) {
			d[cases[i].cr_at < len ? cases[i].cr_at : 0] = '\r';
			d[cases[i].lf_at] = '\n';
		}
		if (len == 1)
			d[0] = '\n';
		test_assert(file_replace(path, d, len, NULL) == 0);
		int fd = open(path, O_RDONLY);
		test_assert(fd >= 0);
		uint64_t n = 7;
		test_assert(mailbox_fd_vsize(fd, &n) == 0);
		test_assert(n == cases[i].want);
		/* the offset is left alone */
		test_assert(lseek(fd, 0, SEEK_CUR) == 0);
		close(fd);
		free(d);
	}
	uint64_t n = 7;
	test_assert(mailbox_fd_vsize(-1, &n) < 0 && n == 7);
}

int main(void)
{
	char md[64], trash[128], work[128], p[512];
	const char *err = "";
	struct mailbox_user u;

	test_assert(mkdtemp(root) != NULL);
	snprintf(md, sizeof md, "%s", root);
	test_assert(maildir_create(md, &err) == 0);
	snprintf(trash, sizeof trash, "%s/.Trash", md);
	test_assert(maildir_folder_create(md, "Work") == 0);
	snprintf(work, sizeof work, "%s/.Work", md);

	test_begin("user: quota definitions");
	test_assert(mailbox_user_init(&u, md, "junk") < 0 && !u.quota.own);
	test_assert(mailbox_user_init(&u, md, "") == 0 && !u.quota.own);
	test_assert(mailbox_user_init(&u, md, "1000S,3C") == 0 && u.quota.own &&
		    u.quota.max_bytes == 1000 && u.quota.max_count == 3);

	test_begin("append: flags, keywords, internal date, UIDs");
	struct str kws[2] = {STR_LIT("$Label1"), STR_LIT("todo")};
	struct mailbox_append a = {"Subject: a\n\nbody\n",
				   17,
				   MAILDIR_SEEN | MAILDIR_FLAGGED,
				   kws,
				   2,
				   1000000000};
	uint32_t uv = 0, uid = 0, uv2 = 0, uid2 = 0;
	test_assert(mailbox_append(&u, md, &a, &uv, &uid, &err) == 0);
	test_assert(uv != 0 && uid == 1);
	a.kw = &kws[1];
	a.nkw = 1;
	a.flags = 0;
	test_assert(mailbox_append(&u, md, &a, &uv2, &uid2, &err) == 0);
	test_assert(uv2 == uv && uid2 == 2);
	struct maildir_folder *f = open_folder(md);
	test_assert(f->n == 2 && f->msgs[0].uid == 1 && f->msgs[1].uid == 2);
	test_assert(strcmp(f->msgs[0].letters, "FSab") == 0);
	test_assert(strcmp(f->msgs[1].letters, "b") == 0);
	test_assert(maildir_msg_mtime(f, &f->msgs[0]) == 1000000000);
	test_assert(f->kw.name[0] != NULL &&
		    strcmp(f->kw.name[0], "$Label1") == 0);
	int64_t qb, qc;
	quota_now(&qb, &qc);
	test_assert(qb == 34 && qc == 2);

	test_begin("append: over quota (count and bytes), nothing stored");
	test_assert(mailbox_append(&u, md, &a, NULL, NULL, &err) == 0);
	errno = 0;
	test_assert(mailbox_append(&u, md, &a, NULL, NULL, &err) < 0 &&
		    errno == EDQUOT);
	struct mailbox_user big;
	test_assert(mailbox_user_init(&big, md, "40S") == 0);
	char huge[64];
	memset(huge, 'x', sizeof huge);
	struct mailbox_append h = {huge, sizeof huge, 0, NULL, 0, 0};
	test_assert(mailbox_append(&big, md, &h, NULL, NULL, &err) < 0 &&
		    errno == EDQUOT);
	maildir_folder_free(&f);
	f = open_folder(md);
	test_assert(f->n == 3);

	test_begin("copy: hard links, keywords remapped, COPYUID data");
	struct mailbox_user free_u;
	test_assert(mailbox_user_init(&free_u, md, "100000S") == 0);
	/* Work already knows "todo" as its first keyword */
	test_assert(maildir_keywords_assign(work, &kws[1], 1, &f->kw) == 0);
	maildir_folder_free(&f);
	f = open_folder(md);
	bool sel[8] = {true, false, true};
	struct mailbox_copy_result r;
	test_assert(mailbox_copy(&free_u, f, sel, work, false, &r, &err) == 0);
	test_assert(r.n == 2 && r.src_uids[0] == 1 && r.src_uids[1] == 3);
	test_assert(r.dst_uids[0] == 1 && r.dst_uids[1] == 2);
	struct maildir_folder *w = open_folder(work);
	test_assert(r.uidvalidity == w->uidvalidity);
	test_assert(w->n == 2 && w->msgs[0].uid == 1 && w->msgs[1].uid == 2);
	/* $Label1 got letter b in Work, todo kept its a */
	test_assert(strcmp(w->msgs[0].letters, "FSab") == 0);
	test_assert(strcmp(w->kw.name[0], "todo") == 0 &&
		    strcmp(w->kw.name[1], "$Label1") == 0);
	test_assert(strcmp(w->msgs[1].letters, "a") == 0);
	test_assert(maildir_msg_mtime(w, &w->msgs[0]) == 1000000000);
	{
		char src[600], dst[600];
		struct stat s1, s2;
		test_assert(maildir_msg_path(f, &f->msgs[0], src, sizeof src) ==
			    0);
		test_assert(maildir_msg_path(w, &w->msgs[0], dst, sizeof dst) ==
			    0);
		test_assert(stat(src, &s1) == 0 && stat(dst, &s2) == 0);
		test_assert(s1.st_ino == s2.st_ino); /* a hard link */
		test_assert(strstr(dst, ",S=17,W=20") != NULL);
	}
	mailbox_copy_result_free(&r);
	quota_now(&qb, &qc);
	test_assert(qb == 17 * 5 && qc == 5);

	test_begin("copy: over quota refused as a whole and not recorded");
	test_assert(mailbox_user_init(&u, md, "1000S,6C") == 0);
	for (int i = 0; i < 3; i++)
		sel[i] = true;
	errno = 0;
	test_assert(mailbox_copy(&u, f, sel, work, false, &r, &err) < 0 &&
		    errno == EDQUOT);
	test_assert(r.n == 0 && r.src_uids == NULL);
	quota_now(&qb, &qc);
	test_assert(qc == 5);
	maildir_folder_free(&w);
	w = open_folder(work);
	test_assert(w->n == 2);

	test_begin("move: COPYUID data, sources expunged, quota unchanged");
	sel[0] = false;
	sel[1] = true;
	sel[2] = true;
	test_assert(mailbox_copy(&u, f, sel, trash, true, &r, &err) == 0);
	test_assert(r.n == 2 && r.src_uids[0] == 2 && r.src_uids[1] == 3 &&
		    r.dst_uids[0] == 1 && r.dst_uids[1] == 2);
	test_assert(!sel[0] && sel[1] && sel[2]);
	test_assert(f->n == 1 && f->msgs[0].uid == 1);
	mailbox_copy_result_free(&r);
	quota_now(&qb, &qc);
	test_assert(qc == 5);
	struct maildir_folder *t = open_folder(trash);
	test_assert(t->n == 2);
	maildir_folder_free(&t);
	maildir_folder_free(&f);
	f = open_folder(md);
	test_assert(f->n == 1);

	test_begin("flags: two stale sessions keep both changes");
	struct maildir_folder *s1 = open_folder(md), *s2 = open_folder(md);
	test_assert(strcmp(s1->msgs[0].letters, "FSab") == 0);
	test_assert(mailbox_msg_flags(s1, &s1->msgs[0], MAILBOX_FLAGS_ADD,
				      MAILDIR_REPLIED, 0) == 0);
	test_assert(strcmp(s1->msgs[0].letters, "FRSab") == 0);
	/* s2 still believes "FSab" */
	test_assert(mailbox_msg_flags(s2, &s2->msgs[0], MAILBOX_FLAGS_REMOVE,
				      MAILDIR_SEEN, 0) == 0);
	test_assert(strcmp(s2->msgs[0].letters, "FRab") == 0);
	/* s1 removes R although its view already has no change to make:
	   s1 believes FRSab; disk is FRab */
	test_assert(mailbox_msg_flags(s1, &s1->msgs[0], MAILBOX_FLAGS_REMOVE,
				      MAILDIR_REPLIED, 0) == 0);
	test_assert(strcmp(s1->msgs[0].letters, "Fab") == 0);
	/* s2 removes \Flagged from a stale "FRab": applied to "Fab" */
	test_assert(mailbox_msg_flags(s2, &s2->msgs[0], MAILBOX_FLAGS_REMOVE,
				      MAILDIR_FLAGGED, 0) == 0);
	test_assert(strcmp(s2->msgs[0].letters, "ab") == 0);
	/* a no-op in a stale view is checked against the disk: s1 thinks
	   F is set and asks for +F; the file lost F meanwhile */
	test_assert(mailbox_msg_flags(s1, &s1->msgs[0], MAILBOX_FLAGS_ADD,
				      MAILDIR_FLAGGED, 0) == 0);
	test_assert(strcmp(s1->msgs[0].letters, "Fab") == 0);
	maildir_folder_free(&f);
	f = open_folder(md);
	test_assert(strcmp(f->msgs[0].letters, "Fab") == 0);

	test_begin("flags: replace keeps P and unnamed keyword letters");
	{
		char from[600], to[600];
		test_assert(
		    maildir_msg_path(f, &f->msgs[0], from, sizeof from) == 0);
		snprintf(to, sizeof to, "%s", from);
		char *c = strrchr(to, ',');
		snprintf(c + 1, sizeof to - (size_t)(c + 1 - to), "FPaz");
		test_assert(rename(from, to) == 0);
	}
	test_assert(mailbox_msg_flags(s2, &s2->msgs[0], MAILBOX_FLAGS_REPLACE,
				      MAILDIR_SEEN, 2u) == 0);
	test_assert(strcmp(s2->msgs[0].letters, "PSbz") == 0);
	maildir_folder_free(&s1);

	test_begin("flags: an expunged message says ENOENT");
	{
		char path[600];
		test_assert(
		    maildir_msg_path(s2, &s2->msgs[0], path, sizeof path) == 0);
		test_assert(unlink(path) == 0);
		errno = 0;
		test_assert(mailbox_msg_flags(s2, &s2->msgs[0],
					      MAILBOX_FLAGS_ADD, MAILDIR_SEEN,
					      0) < 0 &&
			    errno == ENOENT);
	}
	maildir_folder_free(&s2);

	test_begin("expunge: maildirsize delta, gone ones not counted twice");
	quota_now(&qb, &qc);
	int64_t qc0 = qc, qb0 = qb;
	maildir_folder_free(&w);
	w = open_folder(work);
	struct maildir_folder *w2 = open_folder(work);
	test_assert(w->n == 2);
	bool ex[2] = {true, true};
	size_t removed = 0;
	test_assert(mailbox_expunge(&u, w, ex, &removed) == 0);
	test_assert(removed == 2 && w->n == 0 && ex[0] && ex[1]);
	quota_now(&qb, &qc);
	test_assert(qc == qc0 - 2 && qb == qb0 - 34);
	ex[0] = true;
	ex[1] = false;
	test_assert(mailbox_expunge(&u, w2, ex, &removed) == 0);
	test_assert(removed == 1 && w2->n == 1 && ex[0] && !ex[1]);
	quota_now(&qb, &qc);
	test_assert(qc == qc0 - 2); /* already gone: no second delta */
	maildir_folder_free(&w);
	maildir_folder_free(&w2);
	maildir_folder_free(&f);

	test_begin("set_letters: a whole new set from a stale view merges");
	{
		struct mailbox_append m1 = {"x\n", 2, MAILDIR_SEEN, NULL, 0, 0};
		test_assert(mailbox_append(&u, trash, &m1, NULL, NULL, &err) ==
			    0);
		struct maildir_folder *a1 = open_folder(trash);
		struct maildir_folder *a2 = open_folder(trash);
		size_t k = a1->n - 1;
		test_assert(strcmp(a1->msgs[k].letters, "S") == 0);
		test_assert(maildir_msg_set_letters(a1, &a1->msgs[k], "RS") ==
			    0);
		/* a2 saw "S" and wants "": only its removal of S counts */
		test_assert(maildir_msg_set_letters(a2, &a2->msgs[k], "") == 0);
		test_assert(strcmp(a2->msgs[k].letters, "R") == 0);
		maildir_folder_free(&a1);
		maildir_folder_free(&a2);
		a1 = open_folder(trash);
		test_assert(strcmp(a1->msgs[k].letters, "R") == 0);
		maildir_folder_free(&a1);
	}

	test_begin("copy: empty selection");
	f = open_folder(md);
	memset(sel, 0, sizeof sel);
	test_assert(mailbox_copy(&u, f, sel, work, false, &r, &err) == 0 &&
		    r.n == 0);
	mailbox_copy_result_free(&r);
	maildir_folder_free(&f);

	test_vsize(root);

	test_begin("flag names: any case, \\Recent and keywords are none");
	test_assert(mailbox_flag_bit(STR_LIT("\\Seen")) == MAILDIR_SEEN);
	test_assert(mailbox_flag_bit(STR_LIT("\\sEEN")) == MAILDIR_SEEN);
	test_assert(mailbox_flag_bit(STR_LIT("\\Answered")) == MAILDIR_REPLIED);
	test_assert(mailbox_flag_bit(STR_LIT("\\Draft")) == MAILDIR_DRAFT);
	test_assert(mailbox_flag_bit(STR_LIT("\\Recent")) == 0);
	test_assert(mailbox_flag_bit(STR_LIT("Seen")) == 0);
	test_assert(mailbox_flag_bit(STR_LIT("\\Seen2")) == 0);
	test_assert(mailbox_flag_bit(STR_LIT("")) == 0);
	for (size_t i = 0; i < MAILBOX_NFLAGS; i++)
		test_assert(
		    mailbox_flag_bit(str_from_cstr(mailbox_flags[i].name)) ==
		    mailbox_flags[i].bit);

	snprintf(p, sizeof p, "rm -rf '%s'", root);
	test_assert(system(p) == 0);
	return test_end();
}
