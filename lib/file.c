/*
 * Whole-file helpers (see file.h).  Every rule that makes a write durable
 * lives here once: full writes, fsync before rename, the directory fsync
 * that makes the rename itself survive a crash, and temp names unique per
 * thread so two writers of one file never share a temp file.
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

int file_path(char *out, size_t outsz, const char *dir, const char *name)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* write(2) (off < 0) or pwrite(2) at off until all of p is out. */
static int file_put(int fd, const void *p, size_t len, off_t off)
{
	const char *c = p;
	while (len > 0) {
		ssize_t n =
		    off < 0 ? write(fd, c, len) : pwrite(fd, c, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		c += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

int file_write_all(int fd, const void *p, size_t len)
{
	return file_put(fd, p, len, -1);
}

int file_pwrite_all(int fd, const void *p, size_t len, off_t off)
{
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	return file_put(fd, p, len, off);
}

int file_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

ssize_t file_pread_all(int fd, void *p, size_t len, off_t off)
{
	char *c = p;
	size_t got = 0;
	if (off < 0 || len > SSIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	while (got < len) {
		ssize_t n = pread(fd, c + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int file_read_fd(int fd, size_t max, char **data_r, size_t *len_r)
{
	struct stat st;
	size_t cap = 4096;
	/* a regular file's size is a good first guess, never a limit */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size < max)
		cap = (size_t)st.st_size + 1;
	if (cap > max + 1)
		cap = max + 1;
	char *p = xmalloc(cap + 1);
	size_t len = 0;
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				free(p);
				errno = EFBIG;
				return -1;
			}
			cap = cap > max / 2 ? max + 1 : cap * 2;
			p = xrealloc(p, cap + 1);
		}
		ssize_t n = read(fd, p + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(p);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(p);
		errno = EFBIG;
		return -1;
	}
	p[len] = '\0';
	*data_r = p;
	*len_r = len;
	return 0;
}

int file_read(const char *path, size_t max, int oflags, char **data_r,
	      size_t *len_r, struct stat *st_r)
{
	struct stat st = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | oflags);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISREG(st.st_mode) ? errno : EINVAL;
		close(fd);
		errno = e;
		return -1;
	}
	if (st_r != NULL)
		*st_r = st;
	int r = file_read_fd(fd, max, data_r, len_r);
	int e = errno;
	close(fd);
	errno = e;
	return r < 0 ? -1 : 1;
}

int file_read_fd_buf(int fd, struct buf *out)
{
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (buf_append(out, tmp, (size_t)n) < 0) {
			errno = EFBIG;
			return -1;
		}
	}
}

int file_read_buf(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	int r = file_read_fd_buf(fd, out);
	int e = errno;
	close(fd);
	errno = e;
	return r < 0 ? -1 : 1;
}

/* The directory part of path ("." when there is none) into out. */
static int file_dirname(const char *path, char *out, size_t outsz)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL   ? 1
		   : slash == path ? 1
				   : (size_t)(slash - path);
	if (n + 1 > outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, slash == NULL ? "." : path, n);
	out[n] = '\0';
	return 0;
}

int file_replace_open(struct file_tmp *t, const char *path,
		      const struct file_replace_opts *o)
{
	static const struct file_replace_opts defaults = {0};
	static atomic_uint seq;
	t->fd = -1;
	t->o = o != NULL ? *o : defaults;
	size_t pl = strlen(path);
	if (pl >= sizeof t->path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(t->path, path, pl + 1);
	const char *slash = strrchr(path, '/');
	const char *name = slash != NULL ? slash + 1 : path;
	mode_t mode = t->o.mode != 0 ? t->o.mode : 0600;
	/* a leftover of a crashed process with our pid is skipped */
	for (int attempt = 0; attempt < 8 && t->fd < 0; attempt++) {
		unsigned n_seq = atomic_fetch_add(&seq, 1);
		int n =
		    t->o.tmp_dir != NULL
			? snprintf(t->tmp, sizeof t->tmp, "%s/%s.%ld.%u.tmp",
				   t->o.tmp_dir, name, (long)getpid(), n_seq)
			: snprintf(t->tmp, sizeof t->tmp, "%s.%ld.%u.tmp", path,
				   (long)getpid(), n_seq);
		if (n < 0 || (size_t)n >= sizeof t->tmp) {
			errno = ENAMETOOLONG;
			return -1;
		}
		t->fd = open(
		    t->tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (t->fd < 0 && errno != EEXIST)
			return -1;
	}
	if (t->fd < 0)
		return -1;
	/* an explicit fchmod: the umask must not narrow a 0644 pid file */
	if ((t->o.mode != 0 && fchmod(t->fd, mode) < 0) ||
	    (t->o.chown && fchown(t->fd, t->o.uid, t->o.gid) < 0)) {
		int e = errno;
		file_replace_abort(t);
		errno = e;
		return -1;
	}
	return 0;
}

void file_replace_abort(struct file_tmp *t)
{
	if (t->fd < 0)
		return;
	int e = errno;
	close(t->fd);
	t->fd = -1;
	(void)unlink(t->tmp);
	errno = e;
}

int file_replace_commit(struct file_tmp *t)
{
	char dir[PATH_MAX];
	if (!t->o.no_fsync && fsync(t->fd) < 0) {
		file_replace_abort(t);
		return -1;
	}
	int r = close(t->fd);
	t->fd = -1;
	if (r == 0 && t->o.no_clobber) {
		r = link(t->tmp, t->path);
		int e = errno;
		(void)unlink(t->tmp);
		errno = e;
	} else if (r == 0) {
		r = rename(t->tmp, t->path);
	}
	if (r < 0) {
		int e = errno;
		(void)unlink(t->tmp);
		errno = e;
		return -1;
	}
	if (!t->o.dir_fsync)
		return 0;
	if (file_dirname(t->path, dir, sizeof dir) < 0)
		return -1;
	return file_fsync_dir(dir);
}

int file_replace(const char *path, const void *data, size_t len,
		 const struct file_replace_opts *o)
{
	struct file_tmp t;
	if (file_replace_open(&t, path, o) < 0)
		return -1;
	if (file_write_all(t.fd, data, len) < 0) {
		file_replace_abort(&t);
		return -1;
	}
	return file_replace_commit(&t);
}

int file_dotlock(const char *path, int timeout_ms, int stale_s)
{
	for (int waited = 0;; waited += 20) {
		int fd =
		    open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			char pid[32];
			int n =
			    snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
			/* the pid is for people; the lock is the file */
			bool ok =
			    n > 0 && file_write_all(fd, pid, (size_t)n) == 0;
			(void)ok;
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return -1;
		struct stat st;
		if (stat(path, &st) == 0 &&
		    st.st_mtime + stale_s < time(NULL)) {
			(void)unlink(path);
			continue;
		}
		if (waited >= timeout_ms) {
			errno = EWOULDBLOCK;
			return -1;
		}
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

void file_dotunlock(const char *path)
{
	(void)unlink(path);
}
