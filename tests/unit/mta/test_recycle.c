/* Unit tests for recycled queue files (mta/recycle.c) in a scratch queue
   directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../mta/recycle.h"
#include "test.h"

static char qdir[64];

static void path(char *out, size_t n, const char *sub, const char *id)
{
	snprintf(out, n, "%s/%s/%s", qdir, sub, id);
}

static void make_file(const char *p, const char *text)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		abort();
	close(fd);
}

static off_t size_of(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : -1;
}

int main(void)
{
	char a[128], r[128], in[128], in2[128];
	snprintf(qdir, sizeof(qdir), "/tmp/test-recycle-%d", (int)getpid());
	const char *subs[] = {"", "/active", "/incoming", "/recycle"};
	for (int i = 0; i < 4; i++) {
		char d[96];
		snprintf(d, sizeof(d), "%s%s", qdir, subs[i]);
		if (mkdir(d, 0700) < 0)
			return 1;
	}

	off_t old = -2;
	test_begin("nothing to take");
	path(in, sizeof(in), "incoming", "00000000000000A1");
	test_assert(recycle_take(qdir, in, &old) < 0 && errno == EAGAIN);

	test_begin("put: renamed, a small file keeps its bytes");
	path(a, sizeof(a), "active", "0000000000000001");
	path(r, sizeof(r), "recycle", "0000000000000001");
	make_file(a, "YOUJU-QUEUE 1\nold message\n");
	test_assert(recycle_put(qdir, a, "0000000000000001", 26) == 0);
	test_assert(access(a, F_OK) < 0 && size_of(r) == 26);

	test_begin("take: the same inode, old bytes and size, offset 0");
	struct stat before;
	test_assert(stat(r, &before) == 0);
	/* an empty directory was scanned a moment ago: wait it out */
	sleep(1);
	int fd = recycle_take(qdir, in, &old);
	test_assert(fd >= 0 && old == 26);
	struct stat after;
	test_assert(fstat(fd, &after) == 0 && after.st_ino == before.st_ino);
	test_assert(write(fd, "new", 3) == 3);
	/* the writer cuts the rest (mta/queue.c at commit) */
	test_assert(ftruncate(fd, 3) == 0);
	close(fd);
	test_assert(access(r, F_OK) < 0 && size_of(in) == 3);

	test_begin("put: a large file, or of unknown size, is unlinked");
	path(a, sizeof(a), "active", "0000000000000005");
	path(r, sizeof(r), "recycle", "0000000000000005");
	make_file(a, "large");
	test_assert(recycle_put(qdir, a, "0000000000000005",
				RECYCLE_KEEP_BYTES + 1) == 0);
	test_assert(access(a, F_OK) < 0 && access(r, F_OK) < 0);
	path(a, sizeof(a), "active", "0000000000000006");
	path(r, sizeof(r), "recycle", "0000000000000006");
	make_file(a, "unknown");
	test_assert(recycle_put(qdir, a, "0000000000000006", -1) == 0);
	test_assert(access(a, F_OK) < 0 && access(r, F_OK) < 0);

	test_begin("a crash left a file in recycle/ with its content");
	path(r, sizeof(r), "recycle", "0000000000000002");
	make_file(r, "stale bytes");
	path(in2, sizeof(in2), "incoming", "00000000000000A2");
	sleep(1);
	fd = recycle_take(qdir, in2, &old);
	test_assert(fd >= 0 && old == 11 && size_of(in2) == 11);
	close(fd);

	test_begin("a name linked elsewhere too is never used");
	path(a, sizeof(a), "active", "0000000000000003");
	path(r, sizeof(r), "recycle", "0000000000000003");
	make_file(a, "queued message");
	test_assert(link(a, r) == 0);
	path(in2, sizeof(in2), "incoming", "00000000000000A3");
	sleep(1);
	test_assert(recycle_take(qdir, in2, &old) < 0);
	test_assert(size_of(a) == 14 && access(in2, F_OK) < 0);
	test_assert(access(r, F_OK) < 0); /* only the extra name went */
	/* and a put over an existing name does not replace it */
	test_assert(link(a, r) == 0);
	test_assert(recycle_put(qdir, a, "0000000000000003", -1) == 0);
	test_assert(access(a, F_OK) < 0 && size_of(r) == 14);

	test_begin("the target name exists: not replaced");
	test_assert(unlink(r) == 0);
	path(r, sizeof(r), "recycle", "0000000000000004");
	make_file(r, "");
	sleep(1);
	test_assert(recycle_take(qdir, in, &old) < 0); /* in exists */
	test_assert(size_of(in) == 3 && access(r, F_OK) == 0);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", qdir);
	if (system(cmd) != 0)
		return 1;
	return test_end();
}
