/*
 * Whole-file helpers, one of each: read everything (with a cap), write
 * everything, replace a file atomically (temp file beside it, fsync,
 * rename, directory fsync) and a dotlock (O_EXCL lock file, stale after a
 * while), as Dovecot's write-full.c, read-full.c and file-dotlock.c.
 * Synchronous file-system work; callers decide where that may block.
 */
#ifndef YOUJU_FILE_H
#define YOUJU_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"

/* "dir/name" into out (size outsz).  Returns 0, or -1 with ENAMETOOLONG. */
int file_path(char *out, size_t outsz, const char *dir, const char *name)
    __attribute__((warn_unused_result));

/* Writes all of p to fd (retrying short writes and EINTR).  Returns 0, or
   -1 with errno. */
int file_write_all(int fd, const void *p, size_t len)
    __attribute__((warn_unused_result));
/* The same at offset off with pwrite(2).  Returns 0, or -1 with errno. */
int file_pwrite_all(int fd, const void *p, size_t len, off_t off)
    __attribute__((warn_unused_result));
/* fsync(2) of the directory dir, so that names created or renamed in it
   survive a crash.  Returns 0, or -1 with errno. */
int file_fsync_dir(const char *dir) __attribute__((warn_unused_result));
/* Reads len bytes at offset off into p with pread(2) (retrying short reads
   and EINTR; fd's offset is left alone).  Returns the bytes read, fewer
   than len only at the end of the file, or -1 with errno. */
ssize_t file_pread_all(int fd, void *p, size_t len, off_t off)
    __attribute__((warn_unused_result));

/*
 * Reads what fd holds, from its current offset to the end, into *data_r
 * (owned, free(); a NUL is added after the *len_r bytes).  More than max
 * bytes is an error (EFBIG).  fd stays open.  Returns 0, or -1 with errno.
 */
int file_read_fd(int fd, size_t max, char **data_r, size_t *len_r)
    __attribute__((warn_unused_result));

/*
 * Opens path (O_RDONLY | O_CLOEXEC | O_NOCTTY | oflags, e.g. O_NOFOLLOW),
 * requires a regular file and reads it as file_read_fd() does.  st_r (may
 * be NULL) gets its fstat.  Returns 1 read, 0 missing (ENOENT), or -1 with
 * errno (EFBIG: larger than max; EINVAL: not a regular file).
 */
int file_read(const char *path, size_t max, int oflags, char **data_r,
	      size_t *len_r, struct stat *st_r)
    __attribute__((warn_unused_result));

/*
 * Appends everything fd holds to out (out's maximum bounds it).  fd stays
 * open.  Returns 0, or -1 with errno (EFBIG when out is full).
 */
int file_read_fd_buf(int fd, struct buf *out)
    __attribute__((warn_unused_result));
/* Opens path and appends it to out.  Returns 1 read, 0 missing, -1 with
   errno (EFBIG: larger than out allows). */
int file_read_buf(const char *path, struct buf *out)
    __attribute__((warn_unused_result));

struct file_replace_opts {
	mode_t mode;	 /* of the new file (0: 0600) */
	bool no_fsync;	 /* skip fsync of the file (rebuildable caches) */
	bool dir_fsync;	 /* fsync the directory after the rename */
	bool chown;	 /* give the file uid:gid before the rename */
	bool no_clobber; /* create only: link(2) instead of rename(2), so an
			    existing path is kept and EEXIST returned */
	uid_t uid;
	gid_t gid;
	const char *tmp_dir; /* where the temp file goes (NULL: beside path;
				must be on the same file system) */
};

/*
 * Replaces path with data: a temp file with a name unique per process and
 * thread (in o->tmp_dir or path's directory), written in full, fsync'd,
 * then renamed over path; on failure the temp file is removed and path is
 * untouched.  o may be NULL (mode 0600, fsync, no directory fsync).
 * Returns 0, or -1 with errno.
 */
int file_replace(const char *path, const void *data, size_t len,
		 const struct file_replace_opts *o)
    __attribute__((warn_unused_result));

/*
 * The same in steps, for a file written piece by piece: open the temp
 * file (t->fd, write to it with file_write_all), then commit (fsync unless
 * no_fsync, close, rename, directory fsync) or abort (close, unlink).
 * Exactly one of commit and abort ends every successful open; both leave
 * no temp file behind.  Return 0, or -1 with errno.
 */
struct file_tmp {
	int fd;
	struct file_replace_opts o;
	char path[4096];
	char tmp[4096];
};
int file_replace_open(struct file_tmp *t, const char *path,
		      const struct file_replace_opts *o)
    __attribute__((warn_unused_result));
int file_replace_commit(struct file_tmp *t) __attribute__((warn_unused_result));
void file_replace_abort(struct file_tmp *t);

/*
 * Takes the dotlock path (created O_EXCL holding our pid; a lock file
 * older than stale_s seconds is taken over), waiting at most timeout_ms.
 * Returns 0, or -1 with errno (EWOULDBLOCK on timeout).
 */
int file_dotlock(const char *path, int timeout_ms, int stale_s)
    __attribute__((warn_unused_result));
/* Removes the dotlock path (errors ignored: it goes stale). */
void file_dotunlock(const char *path);

#endif
