/* Unit tests for lib/file: read caps, full writes, replace, dotlock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "test.h"

static char dir[] = "/tmp/test_file.XXXXXX";

static void put(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	test_assert(fd >= 0);
	test_assert(file_write_all(fd, data, len) == 0);
	close(fd);
}

/* Files in dir other than the ones named (temp files left behind). */
static int others(const char *a, const char *b)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((a != NULL && strcmp(de->d_name, a) == 0) ||
		    (b != NULL && strcmp(de->d_name, b) == 0))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

int main(void)
{
	char p[512], q[512], sub[512];
	char *data;
	size_t len;
	struct stat st;

	test_assert(mkdtemp(dir) != NULL);
	snprintf(p, sizeof p, "%s/f", dir);

	test_begin("read: missing file");
	test_assert(file_read(p, 10, 0, &data, &len, NULL) == 0);

	test_begin("read: empty file");
	put(p, "", 0);
	test_assert(file_read(p, 10, 0, &data, &len, &st) == 1);
	test_assert(len == 0 && data[0] == '\0' && st.st_size == 0);
	free(data);

	test_begin("read: the maximum and maximum+1");
	put(p, "0123456789", 10);
	test_assert(file_read(p, 10, 0, &data, &len, NULL) == 1);
	test_assert(len == 10 && memcmp(data, "0123456789", 11) == 0);
	free(data);
	errno = 0;
	test_assert(file_read(p, 9, 0, &data, &len, NULL) == -1);
	test_assert(errno == EFBIG);
	test_assert(file_read(p, 0, 0, &data, &len, NULL) == -1);

	test_begin("read: embedded NUL, bare CR and LF kept");
	put(p, "a\0b\rc\n", 6);
	test_assert(file_read(p, 100, 0, &data, &len, NULL) == 1);
	test_assert(len == 6 && memcmp(data, "a\0b\rc\n", 6) == 0);
	test_assert(data[6] == '\0');
	free(data);

	test_begin("read: a larger file grows past the first guess");
	{
		size_t big = 300000;
		char *b = malloc(big);
		for (size_t i = 0; i < big; i++)
			b[i] = (char)('a' + i % 26);
		put(p, b, big);
		test_assert(file_read(p, big, 0, &data, &len, NULL) == 1);
		test_assert(len == big && memcmp(data, b, big) == 0);
		free(data);
		test_assert(file_read(p, big - 1, 0, &data, &len, NULL) == -1);
		/* a pipe has no size to guess from */
		int fds[2];
		test_assert(pipe(fds) == 0);
		test_assert(file_write_all(fds[1], b, 60000) == 0);
		close(fds[1]);
		test_assert(file_read_fd(fds[0], 60000, &data, &len) == 0);
		test_assert(len == 60000 && memcmp(data, b, len) == 0);
		free(data);
		close(fds[0]);
		free(b);
	}

	test_begin("read: not a regular file");
	errno = 0;
	test_assert(file_read(dir, 100, 0, &data, &len, NULL) == -1);
	test_assert(errno == EINVAL || errno == EISDIR);

	test_begin("read: O_NOFOLLOW refuses a symlink");
	snprintf(q, sizeof q, "%s/link", dir);
	test_assert(symlink(p, q) == 0);
	test_assert(file_read(q, 1000000, O_NOFOLLOW, &data, &len, NULL) == -1);
	test_assert(file_read(q, 1000000, 0, &data, &len, NULL) == 1);
	free(data);
	unlink(q);

	test_begin("read into a buf: its maximum is the cap");
	{
		struct buf b;
		put(p, "hello", 5);
		buf_init(&b, 5);
		test_assert(file_read_buf(p, &b) == 1);
		test_assert(b.len == 5 && memcmp(b.p, "hello", 5) == 0);
		buf_deinit(&b);
		buf_init(&b, 4);
		errno = 0;
		test_assert(file_read_buf(p, &b) == -1 && errno == EFBIG);
		buf_deinit(&b);
		buf_init(&b, 4);
		test_assert(file_read_buf(q, &b) == 0);
		buf_deinit(&b);
	}

	test_begin("pwrite_all at an offset");
	{
		put(p, "xxxxxx", 6);
		int fd = open(p, O_WRONLY);
		test_assert(file_pwrite_all(fd, "ab", 2, 2) == 0);
		close(fd);
		test_assert(file_read(p, 100, 0, &data, &len, NULL) == 1);
		test_assert(len == 6 && memcmp(data, "xxabxx", 6) == 0);
		free(data);
	}

	test_begin("fsync_dir: a directory, a file, a missing path");
	test_assert(file_fsync_dir(dir) == 0);
	put(p, "x", 1);
	test_assert(file_fsync_dir(p) == -1 && errno == ENOTDIR);
	snprintf(q, sizeof q, "%s/missing", dir);
	test_assert(file_fsync_dir(q) == -1 && errno == ENOENT);

	test_begin("pread_all: at an offset, short at the end, offset kept");
	{
		put(p, "ab\0\r\ncdef", 9);
		int fd = open(p, O_RDONLY);
		char r[16];
		test_assert(file_pread_all(fd, r, 4, 2) == 4 &&
			    memcmp(r, "\0\r\nc", 4) == 0);
		test_assert(file_pread_all(fd, r, sizeof r, 5) == 4 &&
			    memcmp(r, "cdef", 4) == 0);
		test_assert(file_pread_all(fd, r, sizeof r, 9) == 0);
		test_assert(file_pread_all(fd, r, 0, 0) == 0);
		test_assert(lseek(fd, 0, SEEK_CUR) == 0);
		errno = 0;
		test_assert(file_pread_all(fd, r, 1, -1) == -1 &&
			    errno == EINVAL);
		close(fd);
		test_assert(file_pread_all(-1, r, 1, 0) == -1 &&
			    errno == EBADF);
	}

	test_begin("path: join, the maximum and maximum+1");
	{
		char out[8];
		test_assert(file_path(out, sizeof out, "ab", "cde") == 0 &&
			    strcmp(out, "ab/cde") == 0);
		test_assert(file_path(out, sizeof out, "ab", "cdef") == 0 &&
			    strcmp(out, "ab/cdef") == 0);
		errno = 0;
		test_assert(file_path(out, sizeof out, "ab", "cdefg") == -1 &&
			    errno == ENAMETOOLONG);
		test_assert(file_path(out, sizeof out, "", "") == 0 &&
			    strcmp(out, "/") == 0);
	}

	test_begin("write_all to a bad fd");
	test_assert(file_write_all(-1, "x", 1) == -1 && errno == EBADF);

	test_begin("replace: new file, mode, no temp left");
	unlink(p);
	test_assert(file_replace(p, "one", 3, NULL) == 0);
	test_assert(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	test_assert(others("f", NULL) == 0);
	{
		struct file_replace_opts o = {.mode = 0644, .dir_fsync = true};
		test_assert(file_replace(p, "two!", 4, &o) == 0);
		test_assert(stat(p, &st) == 0 && (st.st_mode & 0777) == 0644);
		test_assert(file_read(p, 100, 0, &data, &len, NULL) == 1);
		test_assert(len == 4 && memcmp(data, "two!", 4) == 0);
		free(data);
		test_assert(others("f", NULL) == 0);
	}

	test_begin("replace: temp file in another directory");
	{
		snprintf(sub, sizeof sub, "%s/tmp", dir);
		test_assert(mkdir(sub, 0700) == 0);
		struct file_replace_opts o = {.tmp_dir = sub};
		test_assert(file_replace(p, "three", 5, &o) == 0);
		test_assert(file_read(p, 100, 0, &data, &len, NULL) == 1);
		test_assert(len == 5 && memcmp(data, "three", 5) == 0);
		free(data);
		test_assert(rmdir(sub) == 0); /* empty: temp renamed away */
	}

	test_begin("replace: no_clobber keeps an existing file (EEXIST)");
	{
		struct file_replace_opts o = {.no_clobber = true};
		test_assert(file_replace(p, "new", 3, &o) == -1 &&
			    errno == EEXIST);
		test_assert(file_read(p, 100, 0, &data, &len, NULL) == 1);
		test_assert(len == 5 && memcmp(data, "three", 5) == 0);
		free(data);
		test_assert(others("f", NULL) == 0);
		snprintf(q, sizeof q, "%s/g", dir);
		test_assert(file_replace(q, "made", 4, &o) == 0);
		test_assert(file_read(q, 100, 0, &data, &len, NULL) == 1);
		test_assert(len == 4 && memcmp(data, "made", 4) == 0);
		free(data);
		test_assert(unlink(q) == 0);
	}

	test_begin("replace: failure leaves the old file and no temp");
	{
		struct file_replace_opts o = {.tmp_dir = "/nonexistent"};
		test_assert(file_replace(p, "four", 4, &o) == -1);
		snprintf(q, sizeof q, "%s/d", dir);
		test_assert(mkdir(q, 0700) == 0);
		/* rename of a file over a directory fails */
		test_assert(file_replace(q, "x", 1, NULL) == -1);
		test_assert(others("f", "d") == 0);
		rmdir(q);
		test_assert(file_read(p, 100, 0, &data, &len, NULL) == 1);
		test_assert(len == 5 && memcmp(data, "three", 5) == 0);
		free(data);
	}

	test_begin("replace in steps: abort and commit");
	{
		struct file_tmp t;
		test_assert(file_replace_open(&t, p, NULL) == 0);
		test_assert(file_write_all(t.fd, "half", 4) == 0);
		file_replace_abort(&t);
		test_assert(others("f", NULL) == 0);
		test_assert(file_replace_open(&t, p, NULL) == 0);
		test_assert(file_write_all(t.fd, "wh", 2) == 0);
		test_assert(file_write_all(t.fd, "ole", 3) == 0);
		test_assert(file_replace_commit(&t) == 0);
		test_assert(file_read(p, 100, 0, &data, &len, NULL) == 1);
		test_assert(len == 5 && memcmp(data, "whole", 5) == 0);
		free(data);
		test_assert(others("f", NULL) == 0);
	}

	test_begin(
	    "replace: a crashed run's temp file with our name is skipped");
	{
		struct file_tmp t;
		char left[4200];
		test_assert(file_replace_open(&t, p, NULL) == 0);
		const char *dot = strrchr(t.tmp, '.') - 1;
		while (dot > t.tmp && *dot != '.')
			dot--;
		unsigned seq = (unsigned)strtoul(dot + 1, NULL, 10);
		file_replace_abort(&t);
		snprintf(left, sizeof left, "%s.%ld.%u.tmp", p, (long)getpid(),
			 seq + 1);
		put(left, "old", 3);
		test_assert(file_replace(p, "new", 3, NULL) == 0);
		test_assert(file_read(p, 100, 0, &data, &len, NULL) == 1);
		test_assert(len == 3 && memcmp(data, "new", 3) == 0);
		free(data);
		test_assert(access(left, F_OK) == 0);
		unlink(left);
		test_assert(others("f", NULL) == 0);
	}

	test_begin("dotlock: exclusive, timeout, stale takeover");
	snprintf(q, sizeof q, "%s/x.lock", dir);
	test_assert(file_dotlock(q, 0, 120) == 0);
	errno = 0;
	test_assert(file_dotlock(q, 50, 120) == -1 && errno == EWOULDBLOCK);
	file_dotunlock(q);
	test_assert(file_dotlock(q, 0, 120) == 0);
	{
		struct timespec old[2] = {{1000, 0}, {1000, 0}};
		test_assert(utimensat(AT_FDCWD, q, old, 0) == 0);
	}
	test_assert(file_dotlock(q, 0, 120) == 0); /* stale: taken over */
	file_dotunlock(q);
	test_assert(access(q, F_OK) < 0);
	snprintf(sub, sizeof sub, "/nonexistent/x.lock");
	test_assert(file_dotlock(sub, 0, 120) == -1 && errno == ENOENT);

	unlink(p);
	rmdir(dir);
	return test_end();
}
