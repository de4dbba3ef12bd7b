/*
 * lib/maildir_index (youju.index): round trip through a save, the
 * validators (base name, size), entries of expunged messages dropped,
 * entries saved by another session merged, and every kind of bad file
 * (absent, truncated, garbage, other version, other UIDVALIDITY, a record
 * whose bytes changed) ignored rather than believed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "maildir.h"
#include "maildir_index.h"
#include "test.h"
#include "xalloc.h"

static char dir[] = "/tmp/youju-test-midx.XXXXXX";
static char ipath[256];

/* a folder of n messages "m<uid>" with size 100 + uid (no files) */
static struct maildir_folder *folder(size_t n, uint32_t uidvalidity)
{
	struct maildir_folder *f = xcalloc(1, sizeof *f);
	f->path = xstrdup(dir);
	f->uidvalidity = uidvalidity;
	f->msgs = xcalloc(n ? n : 1, sizeof *f->msgs);
	for (size_t i = 0; i < n; i++) {
		char b[32];
		snprintf(b, sizeof b, "m%zu", i + 1);
		f->msgs[i].uid = (uint32_t)(i + 1);
		f->msgs[i].base = xstrdup(b);
		f->msgs[i].letters = xstrdup("");
		f->msgs[i].size = 100 + i + 1;
	}
	f->n = n;
	return f;
}

static void put(struct maildir_index *ix, const struct maildir_msg *m,
		const char *env)
{
	struct maildir_index_entry e;
	memset(&e, 0, sizeof e);
	e.uid = m->uid;
	e.size = m->size;
	e.vsize = m->size + 7;
	e.sent_day = m->uid == 2 ? MAILDIR_INDEX_NO_DAY : 19000 + (int)m->uid;
	e.base = str_from_cstr(m->base);
	e.field[MIDX_ENVELOPE] = str_from_cstr(env);
	e.field[MIDX_BODYSTRUCTURE] = str_from_cstr("(\"text\" \"plain\")");
	struct buf segs;
	buf_init(&segs, 1024);
	test_assert(maildir_index_seg_add(&segs, "alice", 5) == 0);
	/* a segment with a NUL in it, and an empty one */
	test_assert(maildir_index_seg_add(&segs, "b\0b", 3) == 0);
	test_assert(maildir_index_seg_add(&segs, "", 0) == 0);
	e.field[MIDX_FROM] = (struct str){segs.p, segs.len};
	test_assert(maildir_index_put(ix, &e) == 0);
	buf_deinit(&segs);
}

static bool has(const struct maildir_index *ix, const struct maildir_msg *m,
		const char *env)
{
	struct maildir_index_entry e;
	if (!maildir_index_get(ix, m->uid, str_from_cstr(m->base), m->size, &e))
		return false;
	bool ok =
	    e.uid == m->uid && e.vsize == m->size + 7 &&
	    str_eq_cstr(e.field[MIDX_ENVELOPE], env) &&
	    str_eq_cstr(e.field[MIDX_BODYSTRUCTURE], "(\"text\" \"plain\")") &&
	    e.field[MIDX_BODY].len == 0 &&
	    e.sent_day ==
		(m->uid == 2 ? MAILDIR_INDEX_NO_DAY : 19000 + (int)m->uid);
	struct str fv = e.field[MIDX_FROM], seg;
	ok = ok && maildir_index_seg_next(&fv, &seg) &&
	     str_eq_cstr(seg, "alice");
	ok = ok && maildir_index_seg_next(&fv, &seg) && seg.len == 3 &&
	     memcmp(seg.p, "b\0b", 3) == 0;
	ok = ok && maildir_index_seg_next(&fv, &seg) && seg.len == 0;
	ok = ok && !maildir_index_seg_next(&fv, &seg);
	return ok;
}

static void write_file(const void *p, size_t len)
{
	int fd = open(ipath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	test_assert(fd >= 0);
	if (fd >= 0) {
		test_assert(write(fd, p, len) == (ssize_t)len);
		close(fd);
	}
}

static char *read_file(size_t *len_r)
{
	struct buf b;
	buf_init(&b, 1 << 24);
	test_assert(file_read_buf(ipath, &b) == 1);
	*len_r = b.len;
	return b.p; /* owned */
}

static int open_status(uint32_t uidvalidity)
{
	int st = 99;
	struct maildir_index *ix = maildir_index_open(dir, uidvalidity, &st);
	test_assert(ix != NULL);
	if (st != 1)
		test_assert(maildir_index_count(ix) == 0);
	maildir_index_free(&ix);
	test_assert(ix == NULL);
	return st;
}

/* A version 3 youju.index (UIDVALIDITY 7) as the version 3 code wrote
   it: m1 (size 101, ENVELOPE (NIL "one")) and m2 (size 102, (NIL
   "two")), vsize size + 7, sent_day 19000 and 19001. */
static const unsigned char v3_file[] = {
    0x79, 0x6f, 0x75, 0x6a, 0x75, 0x69, 0x64, 0x78, 0x03, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xef, 0x8e, 0x89, 0x41,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x5d, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x5d, 0x00, 0x00, 0x00, 0x9d, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x08, 0x17, 0xed, 0xd3, 0x01, 0x00, 0x00, 0x00,
    0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x6c, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x38, 0x4a, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x6d, 0x31, 0x0b, 0x00, 0x00, 0x00, 0x28, 0x4e, 0x49, 0x4c, 0x20, 0x22,
    0x6f, 0x6e, 0x65, 0x22, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x16, 0x7c, 0x22, 0x8b, 0x02, 0x00, 0x00, 0x00, 0x66, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x6d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x39, 0x4a, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x6d, 0x32, 0x0b,
    0x00, 0x00, 0x00, 0x28, 0x4e, 0x49, 0x4c, 0x20, 0x22, 0x74, 0x77, 0x6f,
    0x22, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,

};

/* Version 3 files are read (their entries have no sort keys) and the
   next save writes version 4, the version 3 entries carried over. */
static void test_version3(void)
{
	write_file(v3_file, sizeof v3_file);
	struct maildir_folder *f = folder(2, 7);
	int st = 99;
	struct maildir_index *ix = maildir_index_open(dir, 7, &st);
	test_assert(st == 1 && maildir_index_count(ix) == 2);
	struct maildir_index_entry e;
	test_assert(maildir_index_get(ix, 1, str_from_cstr("m1"), 101, &e));
	test_assert(str_eq_cstr(e.field[MIDX_ENVELOPE], "(NIL \"one\")"));
	test_assert(e.vsize == 108 && e.sent_day == 19000);
	test_assert(e.field[MIDX_SORTKEYS].len == 0);
	/* m2 gets its keys; m1 stays as it was */
	test_assert(maildir_index_get(ix, 2, str_from_cstr("m2"), 102, &e));
	e.field[MIDX_SORTKEYS] = str_from_cstr("keys");
	test_assert(maildir_index_put(ix, &e) == 0);
	test_assert(maildir_index_save(ix, f, 1000) == 0);
	maildir_index_free(&ix);
	size_t len;
	char *img = read_file(&len);
	test_assert(len > 12 && img[8] == MAILDIR_INDEX_VERSION);
	test_assert(maildir_index_verify(img, len, 7) == 2);
	free(img);
	ix = maildir_index_open(dir, 7, &st);
	test_assert(st == 1 && maildir_index_count(ix) == 2);
	test_assert(maildir_index_get(ix, 1, str_from_cstr("m1"), 101, &e));
	test_assert(str_eq_cstr(e.field[MIDX_ENVELOPE], "(NIL \"one\")"));
	test_assert(e.field[MIDX_SORTKEYS].len == 0);
	test_assert(maildir_index_get(ix, 2, str_from_cstr("m2"), 102, &e));
	test_assert(str_eq_cstr(e.field[MIDX_ENVELOPE], "(NIL \"two\")"));
	test_assert(str_eq_cstr(e.field[MIDX_SORTKEYS], "keys"));
	maildir_index_free(&ix);
	/* a version 2 file (and any other) is still refused */
	unsigned char old[sizeof v3_file];
	memcpy(old, v3_file, sizeof old);
	old[8] = 2;
	write_file(old, sizeof old);
	test_assert(open_status(7) == -1);
	test_assert(unlink(ipath) == 0);
	maildir_folder_free(&f);
}

int main(void)
{
	test_begin("maildir_index");
	test_assert(mkdtemp(dir) != NULL);
	snprintf(ipath, sizeof ipath, "%s/%s", dir, MAILDIR_INDEX_FILE);

	/* field names */
	test_assert(maildir_index_header_field("from") == MIDX_FROM);
	test_assert(maildir_index_header_field("MESSAGE-ID") ==
		    MIDX_MESSAGE_ID);
	test_assert(maildir_index_header_field("Received") < 0);
	test_assert(maildir_index_header_field("envelope") < 0);
	test_assert(maildir_index_field_header(MIDX_ENVELOPE) == NULL);

	/* absent file: empty index, status 0 */
	int st = 99;
	struct maildir_index *ix = maildir_index_open(dir, 7, &st);
	test_assert(st == 0 && maildir_index_count(ix) == 0);
	struct maildir_folder *f = folder(5, 7);
	for (size_t i = 0; i < 4; i++)
		put(ix, &f->msgs[i], "(NIL \"env\")");
	test_assert(maildir_index_pending(ix) == 4);
	/* pending entries answer before any save; replacing one works */
	test_assert(has(ix, &f->msgs[0], "(NIL \"env\")"));
	put(ix, &f->msgs[0], "(NIL \"env1\")");
	test_assert(maildir_index_pending(ix) == 4);
	test_assert(has(ix, &f->msgs[0], "(NIL \"env1\")"));
	test_assert(!has(ix, &f->msgs[4], "(NIL \"env\")"));

	/* round trip */
	test_assert(maildir_index_save(ix, f, 1000) == 0);
	test_assert(maildir_index_pending(ix) == 0 &&
		    maildir_index_count(ix) == 4);
	test_assert(has(ix, &f->msgs[0], "(NIL \"env1\")"));
	test_assert(has(ix, &f->msgs[3], "(NIL \"env\")"));
	maildir_index_free(&ix);
	ix = maildir_index_open(dir, 7, &st);
	test_assert(st == 1 && maildir_index_count(ix) == 4);
	test_assert(has(ix, &f->msgs[1], "(NIL \"env\")"));
	test_assert(has(ix, &f->msgs[2], "(NIL \"env\")"));

	/* validators: another base name or size is a miss */
	struct maildir_index_entry e;
	test_assert(!maildir_index_get(ix, 2, str_from_cstr("m2x"), 102, &e));
	test_assert(!maildir_index_get(ix, 2, str_from_cstr("m2"), 103, &e));
	test_assert(!maildir_index_get(ix, 9, str_from_cstr("m9"), 109, &e));
	test_assert(maildir_index_get(ix, 2, str_from_cstr("m2"), 102, &e));

	/* expunged behind our back (uid 2 gone), uid 3 replaced by a file
	   of another size: both dropped by the next save */
	struct maildir_folder *g = folder(5, 7);
	free(g->msgs[1].base);
	free(g->msgs[1].letters);
	memmove(&g->msgs[1], &g->msgs[2], 3 * sizeof *g->msgs);
	g->n = 4;
	g->msgs[1].size = 999;			/* uid 3 */
	put(ix, &g->msgs[3], "(NIL \"five\")"); /* uid 5, new */
	test_assert(maildir_index_save(ix, g, 1000) == 0);
	test_assert(maildir_index_count(ix) == 3); /* uids 1, 4, 5 */
	test_assert(has(ix, &f->msgs[0], "(NIL \"env1\")"));
	test_assert(!maildir_index_get(ix, 2, str_from_cstr("m2"), 102, &e));
	test_assert(!maildir_index_get(ix, 3, str_from_cstr("m3"), 103, &e));
	test_assert(has(ix, &f->msgs[4], "(NIL \"five\")"));

	/* another session saved meanwhile: its entries are merged */
	struct maildir_index *other = maildir_index_open(dir, 7, &st);
	put(other, &f->msgs[2], "(NIL \"other\")");
	test_assert(maildir_index_save(other, f, 1000) == 0);
	maildir_index_free(&other);
	put(ix, &f->msgs[1], "(NIL \"two\")");
	test_assert(maildir_index_save(ix, f, 1000) == 0);
	test_assert(maildir_index_count(ix) == 5);
	test_assert(has(ix, &f->msgs[2], "(NIL \"other\")"));
	test_assert(has(ix, &f->msgs[1], "(NIL \"two\")"));
	maildir_index_free(&ix);

	/* a busy lock: EWOULDBLOCK, entries stay pending */
	ix = maildir_index_open(dir, 7, &st);
	put(ix, &f->msgs[0], "(NIL \"locked\")");
	test_assert(maildir_dotlock(dir, MAILDIR_INDEX_FILE ".lock", 100) == 0);
	test_assert(maildir_index_save(ix, f, 0) < 0);
	maildir_dotunlock(dir, MAILDIR_INDEX_FILE ".lock");
	test_assert(maildir_index_pending(ix) == 1);
	test_assert(has(ix, &f->msgs[0], "(NIL \"locked\")"));
	maildir_index_drop_pending(ix);
	test_assert(has(ix, &f->msgs[0], "(NIL \"env1\")"));
	maildir_index_free(&ix);

	/* too large a record is refused, nothing stored */
	ix = maildir_index_open(dir, 7, &st);
	char *big = xmalloc(MAILDIR_INDEX_RECORD_MAX + 1);
	memset(big, 'x', MAILDIR_INDEX_RECORD_MAX);
	big[MAILDIR_INDEX_RECORD_MAX] = '\0';
	memset(&e, 0, sizeof e);
	e.uid = 1;
	e.base = str_from_cstr("m1");
	e.field[MIDX_ENVELOPE] = str_from_cstr(big);
	test_assert(maildir_index_put(ix, &e) < 0);
	test_assert(maildir_index_pending(ix) == 0);
	free(big);
	maildir_index_free(&ix);

	/* bad files: each is ignored (status -1), never believed */
	size_t len;
	char *good = read_file(&len);
	test_assert(open_status(7) == 1);
	test_assert(open_status(8) == -1); /* another UIDVALIDITY */
	test_assert(maildir_index_verify(good, len, 7) == 5);
	test_assert(maildir_index_verify(good, len, 8) == -1);
	test_assert(maildir_index_verify(good, 0, 7) == -1);
	char *bad = xmalloc(len);
	/* truncated anywhere (header, directory, records): refused */
	size_t cuts[] = {0, 10, 31, 40, len / 2, len - 1};
	for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
		write_file(good, cuts[k]);
		test_assert(open_status(7) == -1);
	}
	/* longer than the directory says: the records are still found */
	char *longer = xmalloc(len + 10);
	memcpy(longer, good, len);
	memset(longer + len, 0, 10);
	write_file(longer, len + 10);
	free(longer);
	ix = maildir_index_open(dir, 7, &st);
	test_assert(st == 1 && has(ix, &f->msgs[4], "(NIL \"five\")"));
	maildir_index_free(&ix);
	/* version */
	memcpy(bad, good, len);
	bad[8] = MAILDIR_INDEX_VERSION + 1;
	write_file(bad, len);
	test_assert(open_status(7) == -1);
	/* garbage */
	for (size_t i = 0; i < len; i++)
		bad[i] = (char)(i * 131 + 17);
	write_file(bad, len);
	test_assert(open_status(7) == -1);
	/* one byte of a record changed: that record is a miss only */
	memcpy(bad, good, len);
	bad[len - 3] ^= 0x20;
	test_assert(maildir_index_verify(bad, len, 7) == 4);
	write_file(bad, len);
	ix = maildir_index_open(dir, 7, &st);
	test_assert(st == 1);
	test_assert(!has(ix, &f->msgs[4], "(NIL \"five\")"));
	test_assert(has(ix, &f->msgs[3], "(NIL \"env\")"));
	/* ...and the next save rewrites a good file without it */
	put(ix, &f->msgs[4], "(NIL \"five again\")");
	test_assert(maildir_index_save(ix, f, 1000) == 0);
	maildir_index_free(&ix);
	ix = maildir_index_open(dir, 7, &st);
	test_assert(st == 1 && maildir_index_count(ix) == 5);
	test_assert(has(ix, &f->msgs[4], "(NIL \"five again\")"));
	maildir_index_free(&ix);
	/* a directory entry changed: the whole file is refused */
	memcpy(bad, good, len);
	bad[32 + 16 + 1] ^= 1;
	write_file(bad, len);
	test_assert(open_status(7) == -1);
	/* not a regular file */
	test_assert(unlink(ipath) == 0);
	test_assert(mkdir(ipath, 0700) == 0);
	test_assert(open_status(7) == -1);
	test_assert(rmdir(ipath) == 0);
	/* empty folder: a file with no entries */
	struct maildir_folder *empty = folder(0, 7);
	ix = maildir_index_open(dir, 7, &st);
	test_assert(maildir_index_save(ix, empty, 1000) == 0);
	test_assert(maildir_index_count(ix) == 0);
	maildir_index_free(&ix);
	test_assert(open_status(7) == 1);
	/* UIDVALIDITY changed under a session: nothing survives */
	ix = maildir_index_open(dir, 7, &st);
	put(ix, &f->msgs[0], "(NIL \"x\")");
	struct maildir_folder *h = folder(5, 9);
	test_assert(maildir_index_save(ix, h, 1000) == 0);
	test_assert(maildir_index_count(ix) == 0);
	maildir_index_free(&ix);
	test_assert(open_status(9) == 1);

	test_version3();

	free(good);
	free(bad);
	maildir_folder_free(&f);
	maildir_folder_free(&g);
	maildir_folder_free(&empty);
	maildir_folder_free(&h);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	test_assert(system(cmd) == 0);
	return test_end();
}
