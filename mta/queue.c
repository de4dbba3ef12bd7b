/*
 * Queue files (see queue.h and docs/queue.md).  The writer buffers in
 * user space and writes in 64 KiB chunks.  The size of the message record
 * is a fixed-width decimal field written with pwrite() at commit, so the
 * message streams straight to disk while it arrives and the reader can
 * still tell a complete file from a truncated one.  Every byte written
 * also goes into a CRC-32C, written as the C record after the end record
 * (announced by "K crc32c" in the envelope).
 *
 * Durability (syncgroup.h, docs/queue.md): the file is renamed into
 * active/ and one syncfs(2) of the queue's file system, shared by every
 * session that asked before it began, makes its bytes and its name
 * durable before the 250.  A crash before that flush may leave the name
 * with torn bytes: the checksum makes such a file corrupt, never mail.
 * Nobody waits for a timer: with one session a batch is one message, with
 * many the batch grows by itself.  A queue directory other than the
 * group's (a second one in one process) is fsynced as before: the file,
 * rename, then the directory.
 * incoming/ is not fsynced: its lost unlink can only leave a stale name
 * there, which is by definition not a queued message (docs/queue.md).
 */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "log.h"
#include "qfile.h"
#include "recycle.h"
#include "syncgroup.h"
#include "xalloc.h"

#define QUEUE_PATH_MAX	  4096
#define QUEUE_WBUF	  65536
#define QUEUE_SIZE_DIGITS 20

const char *const queue_dirs[] = {"incoming", "active",	 "deferred", "hold",
				  "corrupt",  "recycle", NULL};

struct queue_file {
	int fd;
	bool failed, committed, in_message;
	bool hold; /* commit into hold/ instead of active/ */
	char id[QUEUE_ID_LEN + 1];
	char path[QUEUE_PATH_MAX];
	char dir[QUEUE_PATH_MAX];
	off_t size_off; /* where the size digits are */
	off_t written;	/* bytes written to fd */
	uint64_t msg_size;
	uint32_t crc;	/* of every byte written so far (qfile_crc32c) */
	off_t old_size; /* a recycled file's old size (cut at commit) */
	struct buf wbuf;
};

static int mkdir_p(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

int queue_init(const char *queue_dir, const char **error_r)
{
	char p[QUEUE_PATH_MAX];
	if (mkdir_p(queue_dir, 0700) < 0) {
		*error_r = "mkdir queue_directory";
		return -1;
	}
	for (size_t i = 0; queue_dirs[i] != NULL; i++) {
		int n =
		    snprintf(p, sizeof(p), "%s/%s", queue_dir, queue_dirs[i]);
		if (n < 0 || (size_t)n >= sizeof(p)) {
			errno = ENAMETOOLONG;
			*error_r = "queue path";
			return -1;
		}
		if (mkdir_p(p, 0700) < 0) {
			*error_r = "mkdir queue subdirectory";
			return -1;
		}
	}
	return 0;
}

void queue_new_id(char id_r[QUEUE_ID_LEN + 1])
{
	static uint64_t last_sec, last_usec;
	static unsigned seq;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	uint64_t sec = (uint64_t)tv.tv_sec, usec = (uint64_t)tv.tv_usec;
	if (sec < last_sec || (sec == last_sec && usec < last_usec)) {
		/* the clock stepped back: stay monotonic */
		sec = last_sec;
		usec = last_usec;
	}
	if (sec == last_sec && usec == last_usec) {
		if (++seq > 0xfff) {
			seq = 0;
			if (++usec > 999999) {
				usec = 0;
				sec++;
			}
		}
	} else {
		seq = 0;
	}
	last_sec = sec;
	last_usec = usec;
	int n =
	    snprintf(id_r, QUEUE_ID_LEN + 1, "%08" PRIX64 "%05" PRIX64 "%03X",
		     sec & 0xffffffffu, usec, seq);
	if (n != QUEUE_ID_LEN)
		fatal("queue_new_id: bad length %d", n);
}

static int wflush(struct queue_file *qf)
{
	if (file_write_all(qf->fd, qf->wbuf.p, qf->wbuf.len) < 0) {
		qf->failed = true;
		return -1;
	}
	qf->written += qf->wbuf.len;
	buf_reset(&qf->wbuf);
	return 0;
}

static int wput(struct queue_file *qf, const void *p, size_t n)
{
	if (qf->failed) {
		errno = EIO;
		return -1;
	}
	const char *c = p;
	qf->crc = qfile_crc32c(qf->crc, p, n);
	while (n > 0) {
		size_t room = buf_room(&qf->wbuf);
		if (room == 0) {
			if (wflush(qf) < 0)
				return -1;
			continue;
		}
		size_t k = n < room ? n : room;
		if (buf_append(&qf->wbuf, c, k) < 0) {
			qf->failed = true;
			errno = ENOBUFS;
			return -1;
		}
		c += k;
		n -= k;
	}
	return 0;
}

struct queue_file *queue_file_create(const char *queue_dir, const char *id,
				     const char **error_r)
{
	struct queue_file *qf = xcalloc(1, sizeof(*qf));
	qf->fd = -1;
	int n = snprintf(qf->path, sizeof(qf->path), "%s/incoming/%s",
			 queue_dir, id);
	int m = snprintf(qf->dir, sizeof(qf->dir), "%s", queue_dir);
	if (n < 0 || (size_t)n >= sizeof(qf->path) || m < 0 ||
	    (size_t)m >= sizeof(qf->dir)) {
		free(qf);
		errno = ENAMETOOLONG;
		*error_r = "queue path";
		return NULL;
	}
	memcpy(qf->id, id, QUEUE_ID_LEN + 1);
	/* a retired file's inode if there is one (recycle.h), else new */
	qf->fd = recycle_take(queue_dir, qf->path, &qf->old_size);
	if (qf->fd < 0)
		qf->fd = open(qf->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);
	if (qf->fd < 0) {
		free(qf);
		*error_r = "create queue file";
		return NULL;
	}
	buf_init(&qf->wbuf, QUEUE_WBUF);
	if (wput(qf, "YOUJU-QUEUE 1\n", 14) < 0 ||
	    queue_file_record(qf, 'I', id) < 0 ||
	    queue_file_record(qf, 'K', "crc32c") < 0) {
		*error_r = "write queue file";
		queue_file_free(&qf);
		return NULL;
	}
	return qf;
}

int queue_file_record(struct queue_file *qf, char type, const char *value)
{
	char line[QUEUE_VALUE_MAX + 4];
	size_t o = 0;
	if (qf->in_message) {
		errno = EINVAL;
		return -1;
	}
	line[o++] = type;
	line[o++] = ' ';
	for (const char *c = value; *c != '\0' && o < QUEUE_VALUE_MAX + 2;
	     c++) {
		unsigned char u = (unsigned char)*c;
		line[o++] = (u < 0x20 || u == 0x7f) ? '?' : (char)u;
	}
	line[o++] = '\n';
	return wput(qf, line, o);
}

int queue_file_begin_message(struct queue_file *qf)
{
	char zeros[QUEUE_SIZE_DIGITS + 1];
	memset(zeros, '0', QUEUE_SIZE_DIGITS);
	zeros[QUEUE_SIZE_DIGITS] = '\n';
	if (wput(qf, "M ", 2) < 0)
		return -1;
	qf->size_off = qf->written + (off_t)qf->wbuf.len;
	if (wput(qf, zeros, sizeof(zeros)) < 0)
		return -1;
	qf->in_message = true;
	return 0;
}

int queue_file_write(struct queue_file *qf, const void *p, size_t n)
{
	if (!qf->in_message) {
		errno = EINVAL;
		return -1;
	}
	if (wput(qf, p, n) < 0)
		return -1;
	qf->msg_size += n;
	return 0;
}

uint64_t queue_file_size(const struct queue_file *qf)
{
	return qf->msg_size;
}

/* Everything of a commit before its flush: the end and checksum
   records, the size, the cut of a recycled file's tail, and the rename
   into active/ (or hold/), with an fsync of the file before it when the
   flush will not be the sync group's (group false).  0 or -1 with
   *error_r and errno (qf->failed set). */
static int commit_prepare(struct queue_file *qf, bool group,
			  char d1[QUEUE_PATH_MAX], const char **error_r)
{
	char digits[QUEUE_SIZE_DIGITS + 1];
	char dst[QUEUE_PATH_MAX];
	if (!qf->in_message || qf->failed) {
		*error_r = "write queue file";
		if (errno == 0)
			errno = EIO;
		goto fail;
	}
	qf->in_message = false;
	char sum[16];
	if (wput(qf, "\nE\n", 3) < 0 ||
	    snprintf(sum, sizeof(sum), "C %08" PRIx32 "\n", qf->crc) != 11 ||
	    wput(qf, sum, 11) < 0) {
		*error_r = "write queue file";
		goto fail;
	}
	int n = snprintf(digits, sizeof(digits), "%0*" PRIu64,
			 QUEUE_SIZE_DIGITS, qf->msg_size);
	if (n != QUEUE_SIZE_DIGITS) {
		errno = EOVERFLOW;
		*error_r = "message size";
		goto fail;
	}
	/* A message that fit in the write buffer was never written yet:
	   its size goes into the buffer (the checksum was taken over the
	   zeros either way), one write and no pwrite() per message. */
	bool in_buf = qf->size_off >= qf->written;
	if (in_buf)
		memcpy(qf->wbuf.p + (qf->size_off - qf->written), digits,
		       QUEUE_SIZE_DIGITS);
	if (wflush(qf) < 0) {
		*error_r = "write queue file";
		goto fail;
	}
	if (!in_buf && pwrite(qf->fd, digits, QUEUE_SIZE_DIGITS,
			      qf->size_off) != QUEUE_SIZE_DIGITS) {
		*error_r = "write queue file size";
		goto fail;
	}
	/* a recycled file was overwritten in place: what is left of the
	   old one goes before the file is named in active/ (the flush
	   below covers the new size with the rest) */
	if (qf->old_size > qf->written && ftruncate(qf->fd, qf->written) < 0) {
		*error_r = "truncate queue file";
		goto fail;
	}
	/* With the sync group, one flush after the rename covers the bytes
	   and the name: a crash before it returns may leave the name with
	   torn bytes, which the checksum (K and C records) turns into a
	   corrupt file, never mail, and the client got no 250.  Without it
	   (another file system), the bytes are fsynced before the rename. */
	if (!group && fsync(qf->fd) < 0) {
		*error_r = "fsync queue file";
		goto fail;
	}
	/* HOLD commits straight into hold/ (never visible in active/) */
	const char *to = qf->hold ? "hold" : "active";
	n = snprintf(dst, sizeof(dst), "%s/%s/%s", qf->dir, to, qf->id);
	int n1 = snprintf(d1, QUEUE_PATH_MAX, "%s/%s", qf->dir, to);
	if (n < 0 || (size_t)n >= sizeof(dst) || n1 < 0 ||
	    (size_t)n1 >= QUEUE_PATH_MAX) {
		errno = ENAMETOOLONG;
		*error_r = "queue path";
		goto fail;
	}
	/* closed before its name appears in active/: the queue manager
	   watches for IN_CLOSE_WRITE there too, and a close after the
	   rename woke it a second time per message (a failure below
	   retires the file by name) */
	if (close(qf->fd) < 0) {
		qf->fd = -1;
		*error_r = "close queue file";
		goto fail;
	}
	qf->fd = -1;
	if (rename(qf->path, dst) < 0) {
		*error_r = "rename queue file";
		goto fail;
	}
	memcpy(qf->path, dst, sizeof(dst));
	return 0;
fail:
	qf->failed = true;
	return -1;
}

int queue_file_commit(struct queue_file *qf, const char **error_r)
{
	char d1[QUEUE_PATH_MAX];
	bool group = syncgroup_init(qf->dir) == 0 && syncgroup_is_dir(qf->dir);
	if (commit_prepare(qf, group, d1, error_r) < 0)
		return -1;
	if ((group ? syncgroup_wait() : file_fsync_dir(d1)) < 0) {
		/* the rename may be lost in a crash: not "queued" */
		*error_r = "sync queue directory";
		qf->failed = true;
		return -1;
	}
	qf->committed = true;
	return 0;
}

bool queue_file_async_ok(const struct queue_file *qf)
{
	return syncgroup_init(qf->dir) == 0 && syncgroup_is_dir(qf->dir) &&
	       syncgroup_async_fd() >= 0;
}

int queue_file_commit_start(struct queue_file *qf, uint64_t *ticket_r,
			    const char **error_r)
{
	char d1[QUEUE_PATH_MAX];
	*ticket_r = 0;
	if (commit_prepare(qf, true, d1, error_r) < 0)
		return -1;
	*ticket_r = syncgroup_request();
	if (*ticket_r == 0) {
		errno = EBADF;
		*error_r = "sync queue directory";
		qf->failed = true;
		return -1;
	}
	return 0;
}

int queue_file_commit_end(struct queue_file *qf, int sync_rc,
			  const char **error_r)
{
	if (sync_rc < 0 || qf->failed) {
		/* the rename may be lost in a crash: not "queued" */
		*error_r = "sync queue directory";
		qf->failed = true;
		return -1;
	}
	qf->committed = true;
	return 0;
}

void queue_file_set_hold(struct queue_file *qf)
{
	qf->hold = true;
}

void queue_file_free(struct queue_file **pqf)
{
	struct queue_file *qf = *pqf;
	if (qf == NULL)
		return;
	if (!qf->committed && qf->path[0] != '\0' &&
	    recycle_put(qf->dir, qf->path, qf->id,
			qf->old_size > qf->written ? qf->old_size
						   : qf->written) < 0 &&
	    errno != ENOENT)
		log_warning("%s: unlink %s: %s", qf->id, qf->path,
			    strerror(errno));
	if (qf->fd >= 0)
		close(qf->fd);
	buf_deinit(&qf->wbuf);
	free(qf);
	*pqf = NULL;
}
