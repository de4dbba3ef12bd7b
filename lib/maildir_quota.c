/*
 * Maildir++ quota (see maildir_quota.h, reference/maildir.md §4): the
 * maildirsize parser, delta appends, Dovecot's recalculation and the one
 * check that the MTA, IMAP and POP3 share.
 */
#include "maildir_quota.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "maildir.h"

int maildir_quota_parse(const char *data, size_t len, struct maildir_quota *q)
{
	memset(q, 0, sizeof *q);
	if (len == 0)
		return -1;
	if (len >= MAILDIR_SIZE_FILE_MAX || memchr(data, '\0', len) != NULL)
		return -1;
	const char *p = data, *end = data + len;
	const char *nl = memchr(p, '\n', len);
	if (nl == NULL)
		return -1;
	/* line 1: "<n>S,<n>C" in any order; unknown letters ignored */
	while (p < nl) {
		uint64_t v = 0;
		size_t digits = 0;
		while (p < nl && *p >= '0' && *p <= '9' && digits < 19) {
			v = v * 10 + (uint64_t)(*p - '0');
			p++;
			digits++;
		}
		if (digits == 0 || p >= nl)
			return -1;
		if (*p == 'S')
			q->max_bytes = v;
		else if (*p == 'C')
			q->max_count = v;
		p++;
		if (p < nl && *p == ',')
			p++;
		else if (p < nl)
			return -1;
	}
	p = nl + 1;
	while (p < end) {
		int64_t v[2];
		for (int k = 0; k < 2; k++) {
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			bool neg = p < end && *p == '-';
			if (neg)
				p++;
			int64_t x = 0;
			size_t digits = 0;
			while (p < end && *p >= '0' && *p <= '9' &&
			       digits < 18) {
				x = x * 10 + (*p - '0');
				p++;
				digits++;
			}
			if (digits == 0)
				return -1;
			v[k] = neg ? -x : x;
		}
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p < end && *p != '\n')
			return -1;
		p++;
		q->bytes += v[0];
		q->count += v[1];
	}
	if (q->bytes < 0 || q->count < 0)
		return -1;
	q->valid = true;
	return 0;
}

/* Reads and parses the maildirsize open as fd (from its offset 0, which
   is where it is after an open).  Returns as maildir_quota_read(). */
static int quota_read_fd(int fd, struct maildir_quota *q)
{
	/* one byte more than the largest file parsed: a longer one is
	   recalculated (Maildir++), whatever follows */
	char data[MAILDIR_SIZE_FILE_MAX + 1];
	size_t len = 0;
	memset(q, 0, sizeof *q);
	/* read at every delivery: a short read of a regular file is its
	   end, so no second read() to see 0 (appends racing with it are
	   seen or not, as with any read) */
	while (len < sizeof data) {
		size_t want = sizeof data - len;
		ssize_t n = read(fd, data + len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		len += (size_t)n;
		if ((size_t)n < want)
			break;
	}
	if (maildir_quota_parse(data, len, q) < 0) {
		memset(q, 0, sizeof *q);
		return 0;
	}
	return 1;
}

int maildir_quota_read(const char *root, struct maildir_quota *q)
{
	char path[PATH_MAX];
	memset(q, 0, sizeof *q);
	if (file_path(path, sizeof path, root, "maildirsize") < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	int r = quota_read_fd(fd, q);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

/* root's maildirsize as openat() wants it: relative to rootfd, or the
   whole path with AT_FDCWD.  -1 when too long. */
static int quota_name(char *out, size_t outsz, const char *root, int rootfd)
{
	if (rootfd != AT_FDCWD) {
		if (outsz < sizeof "maildirsize")
			return -1;
		memcpy(out, "maildirsize", sizeof "maildirsize");
		return 0;
	}
	return file_path(out, outsz, root, "maildirsize");
}

/* Appends line (n bytes) to root's maildirsize if it exists. */
static int quota_append(const char *root, int rootfd, const char *line,
			size_t n)
{
	char path[PATH_MAX];
	if (quota_name(path, sizeof path, root, rootfd) < 0)
		return -1;
	int fd = openat(rootfd, path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	ssize_t w = write(fd, line, n);
	int e = errno;
	close(fd);
	errno = e;
	return w >= 0 && (size_t)w == n ? 0 : -1;
}

/* "<bytes> <count>\n" into line; its length, or -1. */
static int quota_line(char line[64], int64_t bytes, int64_t count)
{
	int n = snprintf(line, 64, "%lld %lld\n", (long long)bytes,
			 (long long)count);
	return n < 0 || n >= 64 ? -1 : n;
}

int maildir_quota_add(const char *root, int64_t bytes, int64_t count)
{
	char line[64];
	int n = quota_line(line, bytes, count);
	return n < 0 ? -1 : quota_append(root, AT_FDCWD, line, (size_t)n);
}

int maildir_quota_add_fd(const char *root, int rootfd, int *fd, int64_t bytes,
			 int64_t count)
{
	char line[64];
	int n = quota_line(line, bytes, count);
	if (n < 0) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
	}
	if (*fd >= 0) {
		ssize_t w = write(*fd, line, (size_t)n);
		int e = errno;
		/* no link left: a recalculation renamed another file over
		   it since the check opened it; the delta belongs in the
		   file that now counts, as if it had been opened now */
		struct stat st;
		bool gone = fstat(*fd, &st) == 0 && st.st_nlink == 0;
		close(*fd);
		*fd = -1;
		if (!gone) {
			errno = e;
			return w == n ? 0 : -1;
		}
	}
	return quota_append(root, rootfd, line, (size_t)n);
}

/* Adds the messages of folder/sub (new or cur) to *bytes, *count. */
static void maildir_quota_scan(const char *folder, const char *sub,
			       int64_t *bytes, int64_t *count)
{
	char dpath[PATH_MAX];
	if (file_path(dpath, sizeof dpath, folder, sub) < 0)
		return;
	DIR *d = opendir(dpath);
	if (d == NULL)
		return; /* a missing subdirectory counts as empty */
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct str nm = str_from_cstr(de->d_name), base, letters;
		maildir_name_split(nm, &base, &letters);
		uint64_t size;
		if (maildir_name_size(base, 'S', &size) < 0) {
			struct stat st;
			if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
			    !S_ISREG(st.st_mode))
				continue; /* vanished meanwhile */
			size = (uint64_t)st.st_size;
		}
		*bytes += (int64_t)size;
		*count += 1;
	}
	closedir(d);
}

/* maildir_quota_recalc(); with create_only the file is made only if it
   is still missing (link, not rename): returns 1 when another writer made
   it first, so that writer's later deltas are not overwritten by our scan
   (two first deliveries into one Maildir race here).  empty: a Maildir
   known to hold nothing, not scanned, its file not fsynced (lost in a
   crash, it is recalculated). */
static int quota_recalc(const char *root, uint64_t max_bytes,
			uint64_t max_count, bool create_only, bool empty,
			struct maildir_quota *q_r)
{
	int64_t bytes = 0, count = 0;
	char tmpdir[PATH_MAX], sub[PATH_MAX], text[128];

	if (empty)
		goto write;
	maildir_quota_scan(root, "new", &bytes, &count);
	maildir_quota_scan(root, "cur", &bytes, &count);
	DIR *d = opendir(root);
	if (d == NULL)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (file_path(sub, sizeof sub, root, de->d_name) < 0)
			continue;
		maildir_quota_scan(sub, "new", &bytes, &count);
		maildir_quota_scan(sub, "cur", &bytes, &count);
	}
	closedir(d);
write:;
	int n = max_count > 0
		    ? snprintf(text, sizeof text, "%lluS,%lluC\n%lld %lld\n",
			       (unsigned long long)max_bytes,
			       (unsigned long long)max_count, (long long)bytes,
			       (long long)count)
		    : snprintf(text, sizeof text, "%lluS\n%lld %lld\n",
			       (unsigned long long)max_bytes, (long long)bytes,
			       (long long)count);
	if (n < 0 || (size_t)n >= sizeof text ||
	    file_path(tmpdir, sizeof tmpdir, root, "tmp") < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* the temp file lives in tmp/ (Courier's habit), renamed up */
	char dst[PATH_MAX];
	if (file_path(dst, sizeof dst, root, "maildirsize") < 0)
		return -1;
	struct file_replace_opts o = {
	    .tmp_dir = tmpdir, .no_clobber = create_only, .no_fsync = empty};
	if (file_replace(dst, text, strlen(text), &o) < 0)
		return create_only && errno == EEXIST ? 1 : -1;
	memset(q_r, 0, sizeof *q_r);
	q_r->max_bytes = max_bytes;
	q_r->max_count = max_count;
	q_r->bytes = bytes;
	q_r->count = count;
	q_r->valid = true;
	return 0;
}

int maildir_quota_recalc(const char *root, uint64_t max_bytes,
			 uint64_t max_count, struct maildir_quota *q_r)
{
	return quota_recalc(root, max_bytes, max_count, false, false, q_r);
}

int maildir_quota_create_empty(const char *root,
			       const struct maildir_quota_rule *rule)
{
	struct maildir_quota q;
	if (!rule->own || (rule->max_bytes == 0 && rule->max_count == 0))
		return 0; /* maildir_quota_check() makes none either */
	return quota_recalc(root, rule->max_bytes, rule->max_count, true, true,
			    &q) < 0
		   ? -1
		   : 0;
}

int maildir_quota_def_parse(const char *def, uint64_t *bytes_r,
			    uint64_t *count_r)
{
	char line[MAILDIR_QUOTA_DEF_MAX + 2];
	struct maildir_quota q;
	size_t len = strlen(def);
	if (len == 0 || len > MAILDIR_QUOTA_DEF_MAX ||
	    memchr(def, '\n', len) != NULL)
		return -1;
	memcpy(line, def, len);
	line[len] = '\n';
	if (maildir_quota_parse(line, len + 1, &q) < 0)
		return -1;
	*bytes_r = q.max_bytes;
	*count_r = q.max_count;
	return 0;
}

int maildir_quota_rule_make(const char *def, uint64_t default_bytes,
			    bool global_only, struct maildir_quota_rule *r)
{
	memset(r, 0, sizeof *r);
	if (default_bytes > 0) {
		r->own = true;
		r->max_bytes = default_bytes;
	}
	if (global_only || def == NULL || def[0] == '\0')
		return 0;
	uint64_t b, c;
	if (maildir_quota_def_parse(def, &b, &c) < 0)
		return -1;
	r->own = true;
	r->max_bytes = b;
	r->max_count = c;
	return 0;
}

static bool quota_over(const struct maildir_quota *q, uint64_t bytes,
		       uint64_t count)
{
	return (q->max_bytes > 0 &&
		(uint64_t)q->bytes + bytes > q->max_bytes) ||
	       (q->max_count > 0 && (uint64_t)q->count + count > q->max_count);
}

/* quota_check()'s kfd for a maildirsize known to be missing */
#define QUOTA_MISSING (-2)

/* maildir_quota_check(); kfd: the maildirsize when open already (its
   offset 0), QUOTA_MISSING, or -1 (read by name).  *fresh_r: the file
   was (or may have been) rebuilt meanwhile. */
static int quota_check(const char *root, const struct maildir_quota_rule *rule,
		       uint64_t bytes, uint64_t count, unsigned flags,
		       struct maildir_quota *q_r, bool *fresh_r, int kfd)
{
	bool fresh = false, ro = (flags & MAILDIR_QUOTA_READONLY) != 0;
	int r;
	*fresh_r = false;
	if (kfd >= 0) {
		r = quota_read_fd(kfd, q_r);
	} else if (kfd == QUOTA_MISSING) {
		memset(q_r, 0, sizeof *q_r);
		r = 0;
	} else {
		r = maildir_quota_read(root, q_r);
	}
	if (r < 0)
		return -1;
	if (!rule->own && r == 0)
		return 0; /* no rule and no file: nothing limits */
	if (!rule->own && q_r->max_bytes == 0 && q_r->max_count == 0)
		return 0;
	if (rule->own && rule->max_bytes == 0 && rule->max_count == 0)
		return 0;
	if (r == 0 || (rule->own && (q_r->max_bytes != rule->max_bytes ||
				     q_r->max_count != rule->max_count))) {
		if (ro)
			return 0;
		/* missing, broken, or another limit: ours wins (rebuild) */
		*fresh_r = true;
		int c = quota_recalc(root, rule->max_bytes, rule->max_count,
				     r == 0, false, q_r);
		if (c < 0)
			return -1;
		/* made by another writer meanwhile: use theirs; a file
		   that was there but broken is rebuilt */
		if (c == 1 && maildir_quota_read(root, q_r) != 1 &&
		    maildir_quota_recalc(root, rule->max_bytes, rule->max_count,
					 q_r) < 0)
			return -1;
		fresh = true;
	}
	for (;;) {
		if (!quota_over(q_r, bytes, count))
			return 0;
		if (fresh || ro)
			return 1;
		/* do not trust a file that says "over": recount once */
		*fresh_r = true;
		if (maildir_quota_recalc(root, q_r->max_bytes, q_r->max_count,
					 q_r) < 0)
			return -1;
		fresh = true;
	}
}

int maildir_quota_check(const char *root, const struct maildir_quota_rule *rule,
			uint64_t bytes, uint64_t count, unsigned flags,
			struct maildir_quota *q_r)
{
	struct maildir_quota q;
	bool fresh;
	return quota_check(root, rule, bytes, count, flags,
			   q_r != NULL ? q_r : &q, &fresh, -1);
}

int maildir_quota_check_keep(const char *root, int rootfd,
			     const struct maildir_quota_rule *rule,
			     uint64_t bytes, uint64_t count, int *fd_r)
{
	struct maildir_quota q;
	char name[PATH_MAX];
	bool fresh;
	*fd_r = -1;
	if (quota_name(name, sizeof name, root, rootfd) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* read and append through one open file (the add used to open it
	   again); a file we may not write is read as before */
	int kfd =
	    openat(rootfd, name, O_RDWR | O_APPEND | O_CLOEXEC | O_NOCTTY);
	if (kfd < 0 && errno != ENOENT && errno != EACCES && errno != EROFS)
		return -1;
	if (kfd < 0)
		kfd = errno == ENOENT ? QUOTA_MISSING : -1;
	int r = quota_check(root, rule, bytes, count, 0, &q, &fresh, kfd);
	if (kfd >= 0) {
		/* rebuilt: the file read was replaced, and the add opens
		   the new one by name */
		if (r == 0 && !fresh)
			*fd_r = kfd;
		else
			close(kfd);
	}
	return r;
}
