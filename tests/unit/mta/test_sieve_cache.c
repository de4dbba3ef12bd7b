/*
 * mta/sieve_cache: a script is compiled once per version: the same file
 * unchanged gives the same program (a hit), a script replaced by rename
 * (new inode) or edited in place (size, times) gives a new one; a script
 * with an error is refused every time and never cached; a reference
 * outlives the entry's eviction and the cache's clearing (ASan checks the
 * frees); a script over the cache's limit is compiled but not kept; a
 * directory or a file over 256 KiB is refused.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../../mta/sieve_cache.h"
#include "test.h"

static char dir[] = "/tmp/youju-test-sieve-cache-XXXXXX";

static void write_file(const char *name, const char *text, size_t len)
{
	char path[256], tmp[300];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	test_assert(f != NULL);
	test_assert(fwrite(text, 1, len, f) == len);
	test_assert(fclose(f) == 0);
	test_assert(rename(tmp, path) == 0);
}

/* dates dir/name's modification 10 s back: a version old enough to be
   kept (a fresh one is not: see sieve_cache.h) */
static void settle(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct timespec t[2];
	test_assert(clock_gettime(CLOCK_REALTIME, &t[0]) == 0);
	t[0].tv_sec -= 10;
	t[1] = t[0];
	test_assert(utimensat(AT_FDCWD, path, t, 0) == 0);
}

/* loads dir/name; NULL with err */
static struct sieve_cached *load(const char *name, char *err, size_t errsz)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDONLY);
	test_assert(fd >= 0);
	struct stat st;
	test_assert(fstat(fd, &st) == 0);
	struct sieve_cached *c = sieve_cache_load(fd, &st, err, errsz);
	close(fd);
	return c;
}

int main(void)
{
	test_begin("sieve_cache");
	test_assert(mkdtemp(dir) != NULL);
	char err[SIEVE_ERROR_MAX];
	static const char s1[] = "require \"fileinto\";\nfileinto \"A\";\n";
	static const char s2[] = "keep;\n";
	write_file("a.sieve", s1, sizeof s1 - 1);
	/* fresh: compiled, not kept */
	struct sieve_cached *f1 = load("a.sieve", err, sizeof err);
	struct sieve_cached *f2 = load("a.sieve", err, sizeof err);
	test_assert(f1 != NULL && f2 != NULL && f1 != f2);
	sieve_cache_release(&f1);
	sieve_cache_release(&f2);
	settle("a.sieve");
	struct sieve_cached *a = load("a.sieve", err, sizeof err);
	struct sieve_cached *b = load("a.sieve", err, sizeof err);
	test_assert(a != NULL && b != NULL);
	test_assert(a == b); /* a hit */
	sieve_cache_release(&b);
	test_assert(b == NULL);

	/* replaced by rename: a new program; the old reference still works */
	write_file("a.sieve", s2, sizeof s2 - 1);
	struct sieve_cached *c = load("a.sieve", err, sizeof err);
	test_assert(c != NULL && c != a);
	test_assert(sieve_cached_program(a) != NULL);
	sieve_cache_release(&a);

	/* edited in place (another size) */
	char path[256];
	snprintf(path, sizeof path, "%s/a.sieve", dir);
	FILE *f = fopen(path, "a");
	test_assert(f != NULL && fputs("# more\n", f) >= 0 && fclose(f) == 0);
	settle("a.sieve");
	struct sieve_cached *d = load("a.sieve", err, sizeof err);
	test_assert(d != NULL && d != c);
	sieve_cache_release(&c);
	struct sieve_cached *d2 = load("a.sieve", err, sizeof err);
	test_assert(d2 == d);
	sieve_cache_release(&d2);

	/* an error: refused each time, with the line */
	static const char bad[] = "keep;\nfrob;\n";
	write_file("bad.sieve", bad, sizeof bad - 1);
	test_assert(load("bad.sieve", err, sizeof err) == NULL);
	test_assert(strncmp(err, "line 2:", 7) == 0);
	test_assert(load("bad.sieve", err, sizeof err) == NULL);

	/* over the cache's limit: compiled, not kept */
	size_t big = SIEVE_CACHE_SCRIPT_MAX + 100;
	char *text = malloc(big);
	test_assert(text != NULL);
	memset(text, '#', big);
	text[big - 1] = '\n';
	memcpy(text, "keep;\n", 6);
	write_file("big.sieve", text, big);
	settle("big.sieve");
	struct sieve_cached *e1 = load("big.sieve", err, sizeof err);
	struct sieve_cached *e2 = load("big.sieve", err, sizeof err);
	test_assert(e1 != NULL && e2 != NULL && e1 != e2);
	sieve_cache_release(&e1);
	sieve_cache_release(&e2);
	/* over 256 KiB: refused */
	free(text);
	big = SIEVE_SCRIPT_MAX + 1;
	text = malloc(big);
	test_assert(text != NULL);
	memset(text, '#', big);
	write_file("huge.sieve", text, big);
	free(text);
	test_assert(load("huge.sieve", err, sizeof err) == NULL);
	/* a directory */
	char sub[300];
	snprintf(sub, sizeof sub, "%s/sub", dir);
	test_assert(mkdir(sub, 0700) == 0);
	test_assert(load("sub", err, sizeof err) == NULL);

	/* cleared while in use: freed at the release */
	sieve_cache_clear();
	test_assert(sieve_cached_program(d) != NULL);
	sieve_cache_release(&d);
	struct sieve_cached *g = load("a.sieve", err, sizeof err);
	test_assert(g != NULL);
	sieve_cache_release(&g);
	sieve_cache_clear();

	static const char *const names[] = {"a.sieve", "bad.sieve", "big.sieve",
					    "huge.sieve"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(sub);
	rmdir(dir);
	return test_end();
}
