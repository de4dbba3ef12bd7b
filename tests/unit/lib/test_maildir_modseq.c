/*
 * youju-modseq (lib/maildir_modseq) on a real temporary Maildir: a first
 * sync numbers every message above now in microseconds; nothing changed keeps
 * every number and HIGHESTMODSEQ; a flag change made behind our back (a
 * rename, as Dovecot does) and a new message get the next numbers; an
 * expunge raises HIGHESTMODSEQ and is kept as an "x" range (also one
 * delivered and expunged between two syncs); another UIDVALIDITY or a broken
 * file never makes it go back; the parser refuses what it does not write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "mailbox.h"
#include "maildir_modseq.h"
#include "test.h"

static char root[] = "/tmp/test_modseq.XXXXXX";

static struct maildir_folder *open_folder(void)
{
	const char *err;
	struct maildir_folder *f = maildir_folder_open(root, false, &err);
	test_assert(f != NULL);
	return f;
}

static void sync_now(struct maildir_modseq *ms)
{
	struct maildir_folder *f = open_folder();
	test_assert(maildir_modseq_sync(f, 1000, ms) == 0);
	test_assert(ms->n == f->n);
	maildir_folder_free(&f);
}

static void test_parse(void)
{
	test_begin("parse");
	struct maildir_modseq_file mf;
	static const char ok[] = "youju-modseq 1 7 10\n1 3 S\n4 10 \n9 9 FSa\n";
	test_assert(maildir_modseq_parse(ok, sizeof ok - 1, &mf) == 0);
	test_assert(mf.uidvalidity == 7 && mf.highest == 10 && mf.n == 3 &&
		    mf.recs[1].uid == 4 && mf.recs[1].letters[0] == '\0' &&
		    strcmp(mf.recs[2].letters, "FSa") == 0);
	maildir_modseq_file_deinit(&mf);
	static const char v2[] =
	    "youju-modseq 2 7 10 12\n1 3 S\n4 10 \nx 2 3 5\nx 5 11 9\n";
	test_assert(maildir_modseq_parse(v2, sizeof v2 - 1, &mf) == 0);
	test_assert(mf.uidnext == 12 && mf.n == 2 && mf.ngone == 2 &&
		    mf.gone[0].lo == 2 && mf.gone[0].hi == 3 &&
		    mf.gone[0].modseq == 5 && mf.gone[1].hi == 11);
	maildir_modseq_file_deinit(&mf);
	static const char *const bad[] = {
	    "",
	    "youju-modseq 2 7 10\n",			  /* no uidnext */
	    "youju-modseq 3 7 10 12\n",			  /* unknown version */
	    "youju-modseq 1 7 10\nx 2 3 5\n",		  /* x lines: v2 only */
	    "youju-modseq 2 7 10 12\nx 3 2 5\n",	  /* lo > hi */
	    "youju-modseq 2 7 10 12\nx 2 3 11\n",	  /* above highest */
	    "youju-modseq 2 7 10 12\nx 2 3 5\nx 4 4 4\n", /* going back */
	    "youju-modseq 2 7 10 12\nx 2 3 5\n1 3 S\n",	  /* x before msgs */
	    "youju-modseq 2 7 10 12\nx 0 3 5\n",
	    "youju-modseq 1 0 10\n",
	    "youju-modseq 1 7 10",
	    "youju-modseq 1 7 10\n1 11 S\n",	   /* above highest */
	    "youju-modseq 1 7 10\n2 3 S\n2 4 S\n", /* not ascending */
	    "youju-modseq 1 7 10\n0 3 S\n",
	    "youju-modseq 1 7 10\n1 0 S\n",
	    "youju-modseq 1 7 10\n1 3 S S\n",
	    "youju-modseq 1 7 10\n1 3 S",
	    "youju-modseq 1 7 99999999999999999999\n",
	    "youju-modseq 1 7 10\n1 3 "
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		test_assert(maildir_modseq_parse(bad[i], strlen(bad[i]), &mf) <
			    0);
		test_assert(mf.n == 0 && mf.recs == NULL);
	}
}

int main(void)
{
	test_parse();

	const char *err = "";
	test_assert(mkdtemp(root) != NULL);
	test_assert(maildir_create(root, &err) == 0);
	struct mailbox_user u;
	test_assert(mailbox_user_init(&u, root, "") == 0);
	for (int i = 0; i < 3; i++) {
		struct mailbox_append a = {
		    "Subject: m\n\nbody\n", 17, 0, NULL, 0, 0};
		uint32_t v, uid;
		test_assert(mailbox_append(&u, root, &a, &v, &uid, &err) == 0);
	}

	test_begin("first sync");
	uint64_t now = (uint64_t)time(NULL) * 1000000u;
	struct maildir_modseq a, b;
	sync_now(&a);
	test_assert(a.n == 3 && a.v[0] > now && a.v[0] < now + 60000000u &&
		    a.v[1] == a.v[0] + 1 && a.v[2] == a.v[1] + 1 &&
		    a.highest == a.v[2]);

	test_begin("nothing changed");
	sync_now(&b);
	test_assert(b.highest == a.highest &&
		    memcmp(a.v, b.v, 3 * sizeof *a.v) == 0);
	maildir_modseq_deinit(&b);

	test_begin("a change behind our back, a new message");
	struct maildir_folder *f = open_folder();
	test_assert(maildir_msg_set_letters(f, &f->msgs[1], "FS") == 0);
	maildir_folder_free(&f);
	struct mailbox_append na = {"Subject: n\n\nbody\n", 17, 0, NULL, 0, 0};
	uint32_t v, uid;
	test_assert(mailbox_append(&u, root, &na, &v, &uid, &err) == 0);
	sync_now(&b);
	test_assert(b.n == 4 && b.v[0] == a.v[0] && b.v[2] == a.v[2] &&
		    b.v[1] > a.highest && b.v[3] > a.highest &&
		    b.v[1] != b.v[3] && b.highest == a.highest + 2);
	uint64_t h = b.highest, keep1 = b.v[1], keep3 = b.v[3];
	maildir_modseq_deinit(&b);

	test_begin("expunge");
	f = open_folder();
	test_assert(maildir_msg_unlink(f, &f->msgs[0]) == 1);
	maildir_folder_free(&f);
	sync_now(&b);
	test_assert(b.n == 3 && b.highest == h + 1 && b.v[0] == keep1 &&
		    b.v[1] == a.v[2] && b.v[2] == keep3);
	/* the expunged UID 1 is kept for QRESYNC, at the new highest */
	test_assert(b.ngone == 2 && b.gone[1].lo == 1 && b.gone[1].hi == 1 &&
		    b.gone[1].modseq == b.highest);
	h = b.highest;
	maildir_modseq_deinit(&b);

	test_begin("delivered and expunged between two syncs");
	struct mailbox_append xa = {"Subject: x\n\nbody\n", 17, 0, NULL, 0, 0};
	test_assert(mailbox_append(&u, root, &xa, &v, &uid, &err) == 0);
	f = open_folder();
	test_assert(maildir_msg_unlink(f, &f->msgs[f->n - 1]) == 1);
	maildir_folder_free(&f);
	sync_now(&b);
	test_assert(b.n == 3 && b.highest == h + 1 && b.ngone == 3 &&
		    b.gone[2].lo == uid && b.gone[2].hi == uid &&
		    b.gone[2].modseq == b.highest);
	h = b.highest;
	maildir_modseq_deinit(&b);

	test_begin("broken file: never back");
	char path[256];
	snprintf(path, sizeof path, "%s/" MAILDIR_MODSEQ_FILE, root);
	test_assert(file_replace(path, "junk", 4, NULL) == 0);
	sync_now(&b);
	test_assert(b.highest >= h && b.v[0] >= now);
	maildir_modseq_deinit(&b);
	maildir_modseq_deinit(&a);

	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	test_assert(system(cmd) == 0);
	return test_end();
}
