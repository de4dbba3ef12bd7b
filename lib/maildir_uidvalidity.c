/*
 * A new UIDVALIDITY for a folder whose dovecot-uidlist is missing.  The
 * current time, as Dovecot uses, is not unique: a folder deleted and
 * created again within one second would get its old UIDVALIDITY back
 * while its UIDs start again at 1 (RFC 3501 §2.3.1.1 forbids it).  So, as
 * Dovecot's mailbox_uidvalidity_next() does, the last value given out for
 * the whole Maildir is kept, in MAILDIR_UIDVALIDITY_FILE at the Maildir
 * root, and the next one is max(now, last + 1), the file being locked
 * (flock) for the read-modify-write.
 */
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* The Maildir root of folder: folder itself, or its parent when the last
   component is a Maildir++ ".Name" folder. */
static int maildir_root_of(const char *folder, char *out, size_t outsz)
{
	const char *slash = strrchr(folder, '/');
	size_t len = strlen(folder);
	if (slash != NULL && slash[1] == '.' && slash[2] != '\0' &&
	    slash != folder)
		len = (size_t)(slash - folder);
	if (len + 1 > outsz)
		return -1;
	memcpy(out, folder, len);
	out[len] = '\0';
	return 0;
}

uint32_t maildir_uidvalidity_parse(const char *data, size_t len)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < len && data[i] >= '0' && data[i] <= '9') {
		v = v * 10 + (uint64_t)(data[i] - '0');
		if (v > UINT32_MAX)
			return 0;
		i++;
	}
	if (i == 0 || i >= len || data[i] != '\n')
		return 0;
	return (uint32_t)v;
}

uint32_t maildir_uidvalidity_next(const char *folder)
{
	uint32_t now = (uint32_t)time(NULL);
	char root[PATH_MAX], path[PATH_MAX];
	if (maildir_root_of(folder, root, sizeof root) < 0)
		return now;
	int n =
	    snprintf(path, sizeof path, "%s/" MAILDIR_UIDVALIDITY_FILE, root);
	if (n < 0 || (size_t)n >= sizeof path)
		return now;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return now; /* no root (yet): time alone, as before */
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return now;
	}
	char text[32];
	ssize_t got = pread(fd, text, sizeof text - 1, 0);
	uint32_t last =
	    got > 0 ? maildir_uidvalidity_parse(text, (size_t)got) : 0;
	uint32_t v = now > last ? now : last + 1;
	if (v == 0)
		v = 1; /* wrapped: 0 is not a valid UIDVALIDITY */
	n = snprintf(text, sizeof text, "%lu\n", (unsigned long)v);
	if (n > 0 && (size_t)n < sizeof text &&
	    pwrite(fd, text, (size_t)n, 0) == n)
		(void)ftruncate(fd, n);
	close(fd); /* also releases the flock */
	return v;
}
