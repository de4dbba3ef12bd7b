/*
 * The PREVIEW cache file (mra/imap_preview_cache): lookups by binary
 * search over the mapped lines (first, middle, last, missing, a wrong
 * size), what makes the file count as empty (missing, empty, another
 * UIDVALIDITY, a broken header, no final LF), malformed lines and
 * control characters (never answered), the pending entries, and a save
 * that merges them with the file and drops UIDs the folder lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../mra/imap_preview_cache.h"
#include "maildir.h"
#include "test.h"

static char dir[64];
static char path[128];

static void put(const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	test_assert(f != NULL);
	if (f == NULL)
		return;
	test_assert(fwrite(text, 1, len, f) == len);
	fclose(f);
}

static void puts_file(const char *text)
{
	put(text, strlen(text));
}

static bool get_is(struct imap_preview_cache *pc, uint32_t uid, uint64_t size,
		   const char *want)
{
	struct str t;
	if (!imap_preview_cache_get(pc, uid, size, &t))
		return want == NULL;
	return want != NULL && t.len == strlen(want) &&
	       memcmp(t.p, want, t.len) == 0;
}

static void test_lookup(void)
{
	test_begin("lookup");
	puts_file("youju-preview 1 77\n1 10 one\n5 50 five words\n"
		  "9 90 \n12 120 twelve\n");
	struct imap_preview_cache *pc = imap_preview_cache_open(dir, 77);
	test_assert(get_is(pc, 1, 10, "one"));
	test_assert(get_is(pc, 5, 50, "five words"));
	test_assert(get_is(pc, 9, 90, ""));
	test_assert(get_is(pc, 12, 120, "twelve"));
	test_assert(get_is(pc, 2, 10, NULL));
	test_assert(get_is(pc, 13, 10, NULL));
	test_assert(get_is(pc, 0, 10, NULL));
	test_assert(get_is(pc, 5, 51, NULL)); /* another file */
	imap_preview_cache_free(&pc);
	test_assert(pc == NULL);
	/* another UIDVALIDITY: empty */
	pc = imap_preview_cache_open(dir, 78);
	test_assert(get_is(pc, 1, 10, NULL));
	imap_preview_cache_free(&pc);
}

static void test_broken(void)
{
	test_begin("broken files");
	static const char *const files[] = {
	    "",
	    "youju-preview 1 77",	      /* no LF */
	    "youju-preview 2 77\n1 10 one\n", /* another version */
	    "youju-preview 1 77\n1 10 one",   /* last line cut */
	    "youju-preview 1 777\n1 10 one\n",
	};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		puts_file(files[i]);
		struct imap_preview_cache *pc =
		    imap_preview_cache_open(dir, 77);
		test_assert(get_is(pc, 1, 10, NULL));
		imap_preview_cache_free(&pc);
	}
	unlink(path);
	struct imap_preview_cache *pc = imap_preview_cache_open(dir, 77);
	test_assert(get_is(pc, 1, 10, NULL));
	imap_preview_cache_free(&pc);
	/* malformed lines, a bare CR, an embedded NUL, a UID past 2^32 */
	static const char bad[] = "youju-preview 1 77\n1 x one\n2 20\n"
				  "3 30 a\rb\n4 40 a\0b\n4294967296 1 big\n"
				  "5 50 fine\n";
	put(bad, sizeof bad - 1);
	pc = imap_preview_cache_open(dir, 77);
	for (uint32_t u = 1; u <= 4; u++)
		test_assert(get_is(pc, u, u * 10, NULL));
	imap_preview_cache_free(&pc);
}

static void test_add_save(void)
{
	test_begin("add and save");
	puts_file("youju-preview 1 77\n1 10 one\n3 30 three\n4 40 four\n");
	struct imap_preview_cache *pc = imap_preview_cache_open(dir, 77);
	imap_preview_cache_add(pc, 2, 20, "two\ttabbed\n", 11);
	imap_preview_cache_add(pc, 4, 40, "four again", 10);
	imap_preview_cache_add(pc, 6, 60, "six", 3);
	test_assert(imap_preview_cache_pending(pc) == 3);
	test_assert(get_is(pc, 2, 20, "two tabbed "));
	test_assert(get_is(pc, 4, 40, "four again"));
	/* the folder lost 3 */
	struct maildir_msg msgs[4] = {
	    {.uid = 1}, {.uid = 2}, {.uid = 4}, {.uid = 6}};
	struct maildir_folder f = {.msgs = msgs, .n = 4, .uidvalidity = 77};
	test_assert(imap_preview_cache_save(pc, &f) == 0);
	test_assert(imap_preview_cache_pending(pc) == 0);
	test_assert(get_is(pc, 3, 30, NULL));
	test_assert(get_is(pc, 6, 60, "six"));
	imap_preview_cache_free(&pc);
	FILE *fp = fopen(path, "rb");
	char got[256] = "";
	size_t n = fp ? fread(got, 1, sizeof got - 1, fp) : 0;
	if (fp)
		fclose(fp);
	got[n] = '\0';
	test_assert(strcmp(got, "youju-preview 1 77\n1 10 one\n"
				"2 20 two tabbed \n4 40 four again\n"
				"6 60 six\n") == 0);
	/* nothing pending: no write */
	pc = imap_preview_cache_open(dir, 77);
	unlink(path);
	test_assert(imap_preview_cache_save(pc, &f) == 0);
	test_assert(access(path, F_OK) < 0);
	/* the pending cap */
	for (uint32_t u = 1; u <= IMAP_PREVIEW_CACHE_PENDING_MAX + 1; u++)
		imap_preview_cache_add(pc, u, 1, "x", 1);
	test_assert(imap_preview_cache_pending(pc) ==
		    IMAP_PREVIEW_CACHE_PENDING_MAX);
	imap_preview_cache_free(&pc);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_pvc.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof path, "%s/" IMAP_PREVIEW_CACHE_FILE, dir);
	test_lookup();
	test_broken();
	test_add_save();
	unlink(path);
	rmdir(dir);
	return test_end();
}
