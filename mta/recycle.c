/*
 * Recycled queue files (see recycle.h).  Each process keeps a list of
 * names read from recycle/ in one readdir and takes them one by one; two
 * processes (the receiver and the queue manager's bounces) may race for a
 * name, and the loser's rename fails with ENOENT and tries the next.
 * Renames never replace (RENAME_NOREPLACE): two names of one inode can
 * only come from a crash, and then neither may be overwritten or
 * truncated.  Taken files are not truncated: the queue file writer
 * (mta/queue.c) overwrites them and cuts the rest at commit.
 */
#include "recycle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qfile.h"

#define RECYCLE_PATH_MAX 4096
/* names read by one scan */
#define RECYCLE_BATCH 256
/* a scan that found fewer waits this long before the next one */
#define RECYCLE_RESCAN_MS 1000
/* recycle_put recounts the directory every so many files */
#define RECYCLE_RECOUNT 512
/* names tried by one recycle_take */
#define RECYCLE_TRIES 8

static struct {
	pthread_mutex_t mu;
	char names[RECYCLE_BATCH][QFILE_ID_LEN + 1];
	size_t n;
	int64_t next_scan_ms;
	bool off;   /* no RENAME_NOREPLACE here: plain creates only */
	long count; /* files in recycle/, estimated; < 0: not counted */
	unsigned puts;
	int dirfd; /* recycle/ for recycle_put_at(); -1: not open yet */
} rc = {.mu = PTHREAD_MUTEX_INITIALIZER, .count = -1, .dirfd = -1};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rpath(char *out, const char *queue_dir, const char *name)
{
	int n = snprintf(out, RECYCLE_PATH_MAX, "%s/recycle%s%s", queue_dir,
			 name[0] != '\0' ? "/" : "", name);
	if (n < 0 || n >= RECYCLE_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Counts the files of recycle/; keep: also reads their names into
   rc.names, up to RECYCLE_BATCH.  Called with rc.mu held. */
static long scan(const char *queue_dir, bool keep)
{
	char dir[RECYCLE_PATH_MAX];
	if (rpath(dir, queue_dir, "") < 0)
		return 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!qfile_is_id(e->d_name))
			continue;
		if (keep) {
			memcpy(rc.names[rc.n++], e->d_name, QFILE_ID_LEN + 1);
			if (rc.n == RECYCLE_BATCH)
				break;
		}
		n++;
	}
	closedir(d);
	return n;
}

/* The next name to try, into out; -1 when there is none. */
static int next_name(const char *queue_dir, char *out)
{
	pthread_mutex_lock(&rc.mu);
	if (rc.n == 0 && !rc.off) {
		int64_t now = mono_ms();
		if (now >= rc.next_scan_ms) {
			long n = scan(queue_dir, true);
			rc.next_scan_ms =
			    n < RECYCLE_BATCH / 4 ? now + RECYCLE_RESCAN_MS : 0;
		}
	}
	int r = -1;
	if (rc.n > 0) {
		memcpy(out, rc.names[--rc.n], QFILE_ID_LEN + 1);
		r = 0;
	}
	pthread_mutex_unlock(&rc.mu);
	return r;
}

int recycle_take(const char *queue_dir, const char *path, off_t *size_r)
{
	char name[QFILE_ID_LEN + 1], src[RECYCLE_PATH_MAX];
	for (int i = 0; i < RECYCLE_TRIES; i++) {
		if (next_name(queue_dir, name) < 0 ||
		    rpath(src, queue_dir, name) < 0)
			break;
		if (renameat2(AT_FDCWD, src, AT_FDCWD, path, RENAME_NOREPLACE) <
		    0) {
			if (errno == ENOENT)
				continue; /* another process took it */
			if (errno == EINVAL || errno == ENOSYS) {
				pthread_mutex_lock(&rc.mu);
				rc.off = true;
				rc.n = 0;
				pthread_mutex_unlock(&rc.mu);
			}
			return -1;
		}
		int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_nlink == 1) {
			/* not truncated: the writer overwrites the blocks in
			   place and cuts what is left (recycle.h) */
			*size_r = st.st_size;
			return fd;
		}
		/* linked elsewhere too, or unusable: drop only our name */
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (unlink(path) < 0) {
			errno = e;
			return -1;
		}
	}
	errno = EAGAIN;
	return -1;
}

int recycle_put_at(const char *queue_dir, int dirfd, const char *name,
		   const char *id, off_t size)
{
	/* a large file is not kept: cutting it after the rename would race
	   with a taker already writing a new message into it (cut after its
	   250), and cutting it before would leave an empty file in the
	   queue after a crash; new inodes matter only for small messages */
	if (size < 0 || size > RECYCLE_KEEP_BYTES)
		return unlinkat(dirfd, name, 0);
	char dst[RECYCLE_PATH_MAX];
	pthread_mutex_lock(&rc.mu);
	if (rc.count < 0 || rc.puts >= RECYCLE_RECOUNT) {
		rc.count = scan(queue_dir, false);
		rc.puts = 0;
	}
	bool room = !rc.off && rc.count < RECYCLE_MAX;
	if (room) {
		rc.count++;
		rc.puts++;
	}
	/* held for the process's life (a recycle/ made again meanwhile
	   takes nothing: renames into a removed directory fail, and the
	   file is unlinked as when recycle/ is missing) */
	if (room && rc.dirfd < 0 && dirfd != AT_FDCWD &&
	    rpath(dst, queue_dir, "") == 0)
		rc.dirfd = open(dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rdir = dirfd != AT_FDCWD ? rc.dirfd : -1;
	pthread_mutex_unlock(&rc.mu);
	if (room &&
	    (rdir >= 0 ? renameat2(dirfd, name, rdir, id, RENAME_NOREPLACE)
	     : rpath(dst, queue_dir, id) < 0
		 ? -1
		 : renameat2(dirfd, name, AT_FDCWD, dst, RENAME_NOREPLACE)) ==
		0)
		return 0; /* its blocks are kept for the next message */
	return unlinkat(dirfd, name, 0);
}

int recycle_put(const char *queue_dir, const char *path, const char *id,
		off_t size)
{
	return recycle_put_at(queue_dir, AT_FDCWD, path, id, size);
}
