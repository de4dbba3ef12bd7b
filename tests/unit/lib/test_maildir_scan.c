/*
 * lib/maildir_scan: the cached scan gives what the whole scan gives.  Two
 * copies of one folder take the same changes from "another writer"
 * (renames, deliveries into new/ and cur/, unlinks, a rewritten
 * dovecot-uidlist, names without S=, a message in new/ and cur/, moves
 * from new/); copy A is scanned through a cache, copy B without, and
 * their snapshots and dovecot-uidlist files must be equal after each.
 * The same for youju-modseq: A's synced through a cache (and now and
 * then by another writer without it), B's without.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "maildir.h"
#include "maildir_modseq.h"
#include "maildir_scan.h"
#include "test.h"

#define NMAX 2000

/* The folder as the other writer made it (both copies alike). */
struct mod_msg {
	char base[96];
	char letters[16];
	bool in_new, live;
};

static struct mod_msg model[NMAX];
static size_t nmodel;
static char dir_a[256], dir_b[256];
static unsigned rnd_state = 12345;

static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static void msg_path(const char *dir, const struct mod_msg *m, char *out,
		     size_t outsz)
{
	if (m->in_new)
		snprintf(out, outsz, "%s/new/%s", dir, m->base);
	else
		snprintf(out, outsz, "%s/cur/%s:2,%s", dir, m->base,
			 m->letters);
}

static void both_write(const struct mod_msg *m)
{
	const char *dirs[2] = {dir_a, dir_b};
	for (int k = 0; k < 2; k++) {
		char p[512];
		msg_path(dirs[k], m, p, sizeof p);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
		test_assert(fd >= 0 && write(fd, "x\n", 2) == 2);
		if (fd >= 0)
			close(fd);
	}
}

static void both_rename(const struct mod_msg *from, const struct mod_msg *to)
{
	const char *dirs[2] = {dir_a, dir_b};
	for (int k = 0; k < 2; k++) {
		char a[512], b[512];
		msg_path(dirs[k], from, a, sizeof a);
		msg_path(dirs[k], to, b, sizeof b);
		test_assert(rename(a, b) == 0);
	}
}

static void both_unlink(const struct mod_msg *m)
{
	const char *dirs[2] = {dir_a, dir_b};
	for (int k = 0; k < 2; k++) {
		char p[512];
		msg_path(dirs[k], m, p, sizeof p);
		test_assert(unlink(p) == 0);
	}
}

/* A new message: with S= unless nosize. */
static void deliver(bool in_new, bool nosize)
{
	if (nmodel == NMAX)
		return;
	struct mod_msg *m = &model[nmodel];
	memset(m, 0, sizeof *m);
	/* times out of order now and then: the scan sorts new files */
	unsigned t = 1700000000u + (unsigned)nmodel * 7 - rnd(3) * 5;
	if (nosize)
		snprintf(m->base, sizeof m->base, "%u.M%zuP9.other", t, nmodel);
	else
		snprintf(m->base, sizeof m->base, "%u.M%zuP9.other,S=2,W=%u", t,
			 nmodel, 2 + rnd(2));
	m->in_new = in_new;
	if (!in_new)
		snprintf(m->letters, sizeof m->letters, "%s",
			 rnd(2) ? "S" : "");
	m->live = true;
	both_write(m);
	nmodel++;
}

static struct mod_msg *pick(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct mod_msg *m = &model[rnd((unsigned)nmodel)];
		if (m->live)
			return m;
	}
	return NULL;
}

static void change_flags(void)
{
	struct mod_msg *m = pick();
	if (m == NULL)
		return;
	struct mod_msg to = *m;
	static const char *const sets[] = {"",	"F",  "FS", "RS",
					   "S", "ST", "DS", "Sa"};
	snprintf(to.letters, sizeof to.letters, "%s", sets[rnd(8)]);
	to.in_new = false;
	if (!m->in_new && strcmp(to.letters, m->letters) == 0)
		return;
	both_rename(m, &to);
	*m = to;
}

static void expunge(void)
{
	struct mod_msg *m = pick();
	if (m == NULL)
		return;
	both_unlink(m);
	m->live = false;
}

/* The whole uidlist rewritten by another writer: the file's records
   taken over as they are, plus the unlisted new/ files numbered (what
   Dovecot does when it sees them first). */
static void other_numbers(void)
{
	struct maildir_uidlist ul;
	test_assert(maildir_uidlist_read(dir_a, &ul) == 1);
	for (size_t i = 0; i < nmodel; i++) {
		const struct mod_msg *m = &model[i];
		if (!m->live)
			continue;
		bool listed = false;
		for (size_t j = 0; j < ul.n && !listed; j++)
			listed = strcmp(ul.recs[j].base, m->base) == 0;
		if (!listed)
			maildir_uidlist_add(&ul, ul.next_uid, m->base,
					    strlen(m->base));
	}
	test_assert(maildir_uidlist_write(dir_a, &ul) == 0);
	test_assert(maildir_uidlist_write(dir_b, &ul) == 0);
	maildir_uidlist_deinit(&ul);
}

static bool same_folder(const struct maildir_folder *a,
			const struct maildir_folder *b)
{
	if (a->n != b->n || a->uidvalidity != b->uidvalidity ||
	    a->next_uid != b->next_uid || a->had_new != b->had_new ||
	    !maildir_keywords_equal(&a->kw, &b->kw))
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct maildir_msg *x = &a->msgs[i], *y = &b->msgs[i];
		if (x->uid != y->uid || strcmp(x->base, y->base) != 0 ||
		    strcmp(x->letters, y->letters) != 0 ||
		    x->recent != y->recent || x->in_new != y->in_new ||
		    x->size != y->size || x->vsize != y->vsize ||
		    x->mtime_known != y->mtime_known ||
		    (x->mtime_known && x->mtime != y->mtime)) {
			fprintf(stderr, "message %zu: uid %u/%u %s/%s %s/%s\n",
				i, x->uid, y->uid, x->base, y->base, x->letters,
				y->letters);
			return false;
		}
	}
	return true;
}

static bool same_file(const char *name)
{
	char pa[512], pb[512];
	snprintf(pa, sizeof pa, "%s/%s", dir_a, name);
	snprintf(pb, sizeof pb, "%s/%s", dir_b, name);
	char *da = NULL, *db = NULL;
	size_t la = 0, lb = 0;
	int ra = file_read(pa, 1u << 24, 0, &da, &la, NULL);
	int rb = file_read(pb, 1u << 24, 0, &db, &lb, NULL);
	bool same =
	    ra == rb && la == lb && (la == 0 || memcmp(da, db, la) == 0);
	free(da);
	free(db);
	return same;
}

static struct maildir_modseq_cache *modseq_cache;

static bool same_modseq(const struct maildir_modseq *a,
			const struct maildir_modseq *b)
{
	return a->highest == b->highest && a->n == b->n &&
	       memcmp(a->v, b->v, a->n * sizeof *a->v) == 0 &&
	       a->ngone == b->ngone &&
	       (a->ngone == 0 ||
		memcmp(a->gone, b->gone, a->ngone * sizeof *a->gone) == 0);
}

/* B's youju-modseq made A's. */
static void modseq_copy(void)
{
	char pa[512], pb[512];
	snprintf(pa, sizeof pa, "%s/" MAILDIR_MODSEQ_FILE, dir_a);
	snprintf(pb, sizeof pb, "%s/" MAILDIR_MODSEQ_FILE, dir_b);
	char *data = NULL;
	size_t len = 0;
	test_assert(file_read(pa, 1u << 24, 0, &data, &len, NULL) == 1);
	test_assert(file_replace(pb, data, len, NULL) == 0);
	free(data);
}

/* youju-modseq of both copies brought up to date and compared: A's
   through the cache, B's from a copy of A's file as it is on disk. */
static void modseq_both(struct maildir_folder *fa,
			const struct maildir_folder *fb)
{
	struct maildir_modseq ma, mb;
	if (rnd(4) == 0 && fa->n > 0) {
		/* another writer, without the cache: a flag set and
		   cleared again on the first message (two modseqs) */
		char tmp[] = "Zz", *save = fa->msgs[0].letters;
		fa->msgs[0].letters = tmp;
		test_assert(maildir_modseq_sync(fa, 1000, &ma) == 0);
		maildir_modseq_deinit(&ma);
		fa->msgs[0].letters = save;
		test_assert(maildir_modseq_sync(fa, 1000, &ma) == 0);
		maildir_modseq_deinit(&ma);
	}
	modseq_copy();
	test_assert(maildir_modseq_sync_cached(modseq_cache, fa, 1000, &ma) ==
		    0);
	test_assert(maildir_modseq_sync(fb, 1000, &mb) == 0);
	test_assert(same_modseq(&ma, &mb));
	test_assert(same_file(MAILDIR_MODSEQ_FILE));
	maildir_modseq_deinit(&ma);
	maildir_modseq_deinit(&mb);
}

/* One scan of each copy, compared; the new/ files taken over by both
   when move_new (they are in cur/ with ":2," then). */
static void scan_both(struct maildir_scan_cache *c, bool move_new)
{
	const char *err = "";
	struct maildir_folder *fa =
	    maildir_folder_open_cached(c, dir_a, move_new, &err);
	struct maildir_folder *fb = maildir_folder_open(dir_b, move_new, &err);
	test_assert(fa != NULL && fb != NULL);
	if (fa != NULL && fb != NULL) {
		test_assert(same_folder(fa, fb));
		test_assert(same_file("dovecot-uidlist"));
		if (modseq_cache != NULL)
			modseq_both(fa, fb);
	}
	if (move_new)
		for (size_t i = 0; i < nmodel; i++)
			if (model[i].live && model[i].in_new) {
				model[i].in_new = false;
				model[i].letters[0] = '\0';
			}
	maildir_folder_free(&fa);
	maildir_folder_free(&fb);
}

static void mkfolder(char *dir, const char *root, const char *name)
{
	snprintf(dir, 256, "%s/%s", root, name);
	const char *err;
	test_assert(maildir_create(dir, &err) >= 0);
}

static void test_random_changes(void)
{
	test_begin("random changes by another writer");
	char root[] = "/tmp/youju-test-mscan-XXXXXX";
	test_assert(mkdtemp(root) != NULL);
	mkfolder(dir_a, root, "a");
	mkfolder(dir_b, root, "b");
	for (int i = 0; i < 300; i++)
		deliver(rnd(4) == 0, false);
	/* the first scans number everything; B's uidlist becomes A's so
	   that both have the same UIDVALIDITY */
	const char *err;
	struct maildir_folder *f = maildir_folder_open(dir_a, false, &err);
	test_assert(f != NULL);
	maildir_folder_free(&f);
	char pa[512], pb[512];
	snprintf(pa, sizeof pa, "%s/dovecot-uidlist", dir_a);
	snprintf(pb, sizeof pb, "%s/dovecot-uidlist", dir_b);
	char *data = NULL;
	size_t len = 0;
	test_assert(file_read(pa, 1u << 24, 0, &data, &len, NULL) == 1);
	test_assert(file_replace(pb, data, len, NULL) == 0);
	free(data);

	/* youju-modseq started in A, copied to B */
	f = maildir_folder_open(dir_a, false, &err);
	struct maildir_modseq ms;
	test_assert(f != NULL && maildir_modseq_sync(f, 1000, &ms) == 0);
	maildir_modseq_deinit(&ms);
	maildir_folder_free(&f);
	modseq_cache = maildir_modseq_cache_new(2);

	struct maildir_scan_cache *c = maildir_scan_cache_new(2, 1u << 24);
	scan_both(c, false);
	for (int round = 0; round < 100; round++) {
		unsigned what = rnd(100);
		int k = 1 + (int)rnd(6);
		if (what < 40)
			while (k-- > 0)
				change_flags();
		else if (what < 55)
			while (k-- > 0)
				deliver(rnd(2) == 0, false);
		else if (what < 65)
			while (k-- > 0)
				expunge();
		else if (what < 72)
			other_numbers();
		else if (what < 75) {
			/* a name without S=: the whole scan (a stat) */
			deliver(true, true);
			scan_both(c, false);
			both_unlink(&model[nmodel - 1]);
			model[nmodel - 1].live = false;
		} else if (what < 78) {
			/* one message in new/ and cur/ (a crash, a tool) */
			struct mod_msg *m = pick();
			if (m != NULL && !m->in_new && nmodel < NMAX) {
				struct mod_msg *d = &model[nmodel++];
				*d = *m;
				d->in_new = true;
				both_write(d);
				scan_both(c, false);
				both_unlink(d);
				d->live = false;
			}
		} else if (what < 80) {
			/* a directory in cur/: not a message */
			char p[512];
			snprintf(p, sizeof p, "%s/cur/sub%d", dir_a, round);
			test_assert(mkdir(p, 0700) == 0);
			snprintf(p, sizeof p, "%s/cur/sub%d", dir_b, round);
			test_assert(mkdir(p, 0700) == 0);
		}
		scan_both(c, rnd(5) == 0);
		/* and once more with nothing changed */
		if (rnd(4) == 0)
			scan_both(c, false);
	}
	struct maildir_scan_cache_stats st = maildir_scan_cache_stats(c);
	/* the cache did the work most of the time, and parsed few names */
	test_assert(st.cached > st.full);
	test_assert(st.names_new < st.cached * 20);
	fprintf(stderr, "scans: %llu whole, %llu cached, %llu names parsed\n",
		(unsigned long long)st.full, (unsigned long long)st.cached,
		(unsigned long long)st.names_new);
	uint64_t hits, misses;
	maildir_modseq_cache_counts(modseq_cache, &hits, &misses);
	fprintf(stderr, "modseq syncs: %llu from the cache, %llu read\n",
		(unsigned long long)hits, (unsigned long long)misses);
	test_assert(hits > misses);
	maildir_modseq_cache_free(&modseq_cache);
	maildir_scan_cache_free(&c);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	test_assert(system(cmd) == 0);
}

/* A directory unchanged for longer than the dirty margin is not read
   again; any change to it (even one that puts its mtime back) is seen. */
static void test_old_dirs(void)
{
	test_begin("directories older than the dirty margin");
	char root[] = "/tmp/youju-test-mscan-XXXXXX";
	test_assert(mkdtemp(root) != NULL);
	mkfolder(dir_a, root, "a");
	mkfolder(dir_b, root, "b");
	nmodel = 0;
	for (int i = 0; i < 50; i++)
		deliver(false, false);
	const char *err;
	struct maildir_folder *f = maildir_folder_open(dir_a, false, &err);
	maildir_folder_free(&f);
	f = maildir_folder_open(dir_b, false, &err);
	maildir_folder_free(&f);
	other_numbers(); /* the same uidlist in both */
	sleep(MAILDIR_SCAN_DIRTY_MARGIN + 1);
	struct maildir_scan_cache *c = maildir_scan_cache_new(1, 1u << 24);
	scan_both(c, false); /* whole: fills the cache, stamps trusted */
	scan_both(c, false);
	struct maildir_scan_cache_stats st = maildir_scan_cache_stats(c);
	test_assert(st.full == 1 && st.cached == 1 && st.dirs_read == 0);
	/* a rename that puts cur/'s mtime back where it was: its ctime
	   still moves */
	struct stat before;
	char cur[300];
	snprintf(cur, sizeof cur, "%s/cur", dir_a);
	test_assert(stat(cur, &before) == 0);
	change_flags();
	struct timespec ts[2] = {before.st_atim, before.st_mtim};
	test_assert(utimensat(AT_FDCWD, cur, ts, 0) == 0);
	scan_both(c, false);
	st = maildir_scan_cache_stats(c);
	test_assert(st.cached == 2 && st.dirs_read == 1);
	maildir_scan_cache_free(&c);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	test_assert(system(cmd) == 0);
}

int main(void)
{
	test_random_changes();
	test_old_dirs();
	return test_end();
}
