/*
 * Maildir++ folders (see maildir_folders.h): creating a Maildir, bare at
 * delivery or with ExtMail's default folders at login, folder names in
 * the IMAP view, listing, and IMAP's modified UTF-7 as Dovecot stores
 * folder names by default.
 */
#include "maildir_folders.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "maildir_meta.h"
#include "xalloc.h"

/* ---- folders ------------------------------------------------------------ */

const char *const maildir_default_folders[] = {"Sent", "Drafts", "Trash",
					       "Junk", NULL};

/*
 * The directories of a Maildir or a folder under dirfd: tmp/ cur/ new/
 * (tmp first, so that 1 tells a new one: mkdir(2) is the test; new last,
 * because a delivery takes new/ for a Maildir that is there and goes on
 * to write in tmp/ while we may still be making the rest), made with
 * mkdirat(2) relative to dirfd rather than whole paths.  Returns 1 when
 * tmp/ was made, 0 when it was there, -1 with errno.
 */
static int maildir_make_subdirs(int dirfd, const char *dir)
{
	static const char *const subs[] = {"tmp", "cur", "new"};
	char p[PATH_MAX];
	int made = 0;
	for (int i = 0; i < 3; i++) {
		int n = snprintf(p, sizeof p, "%s%s%s", dir, *dir ? "/" : "",
				 subs[i]);
		if (n < 0 || (size_t)n >= sizeof p) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (mkdirat(dirfd, p, 0700) == 0) {
			if (i == 0)
				made = 1;
		} else if (errno != EEXIST) {
			return -1;
		}
	}
	return made;
}

/* Folder dir (".Name") under dirfd with its subdirectories and the empty
   maildirfolder file; excl: fail with EEXIST when dir is there. */
static int maildir_folder_make_at(int dirfd, const char *dir, bool excl)
{
	if (mkdirat(dirfd, dir, 0700) < 0 && (errno != EEXIST || excl))
		return -1;
	char p[PATH_MAX];
	int n = snprintf(p, sizeof p, "%s/maildirfolder", dir);
	if (n < 0 || (size_t)n >= sizeof p) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (maildir_make_subdirs(dirfd, dir) < 0)
		return -1;
	/* an empty regular file in one call (open + close would be two) */
	if (mknodat(dirfd, p, S_IFREG | 0600, 0) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* mkdir -p of path (changed meanwhile, restored), from the end: one
   mkdir(2) when the parent is there.  Returns 1 made, 0 was there, -1. */
static int maildir_mkdir_p(char *path, int depth)
{
	if (mkdir(path, 0700) == 0)
		return 1;
	if (errno == EEXIST)
		return 0;
	char *slash = strrchr(path, '/');
	if (errno != ENOENT || slash == NULL || slash == path || depth > 64)
		return -1;
	*slash = '\0';
	int r = maildir_mkdir_p(path, depth + 1);
	*slash = '/';
	if (r < 0)
		return -1;
	if (mkdir(path, 0700) == 0)
		return 1;
	return errno == EEXIST ? 0 : -1;
}

/* The root and its parents (0700); 1 when the root was made here. */
static int maildir_root_make(const char *root)
{
	char tmp[PATH_MAX];
	size_t len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (len >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, root, len);
	tmp[len] = '\0';
	return maildir_mkdir_p(tmp, 0);
}

#define MAILDIR_SUBS_DEFAULT_MAX 8

/* INBOX and the default folders, the subscriptions of a new Maildir, into
   subs (MAILDIR_SUBS_DEFAULT_MAX entries); returns how many. */
static size_t maildir_subs_defaults(char **subs)
{
	size_t n = 0;
	subs[n++] = (char *)"INBOX";
	for (size_t i = 0;
	     maildir_default_folders[i] != NULL && n < MAILDIR_SUBS_DEFAULT_MAX;
	     i++)
		subs[n++] = (char *)maildir_default_folders[i];
	return n;
}

/*
 * The default subscriptions, written straight (O_EXCL, no temp file, no
 * fsync): a crash can leave the file missing, which the next login
 * (maildir_create) takes for "defaults not made yet" and writes again, or
 * empty, which maildir_subs_make() puts right.  EEXIST: someone wrote it
 * first, kept.
 */
static int maildir_subs_create(int dirfd)
{
	struct buf b;
	buf_init(&b, 256);
	int rc = -1;
	char *subs[MAILDIR_SUBS_DEFAULT_MAX];
	size_t n = maildir_subs_defaults(subs);
	if (maildir_subs_format(subs, n, &b) < 0)
		goto out;
	int fd = openat(dirfd, "subscriptions",
			O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = errno == EEXIST ? 0 : -1;
		goto out;
	}
	rc = file_write_all(fd, b.p, b.len);
	int e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0)
		(void)unlinkat(dirfd, "subscriptions", 0);
	errno = e;
out:
	buf_deinit(&b);
	return rc;
}

/* The default subscriptions where there are none (ENOENT: straight, see
   maildir_subs_create) or where an empty file is (a crash right after
   maildir_subs_create(): replaced durably, it is no longer new). */
static int maildir_subs_make(int dirfd, const char *root)
{
	struct stat st;
	if (fstatat(dirfd, "subscriptions", &st, 0) < 0)
		return errno == ENOENT ? maildir_subs_create(dirfd) : -1;
	if (!S_ISREG(st.st_mode) || st.st_size != 0)
		return 0;
	char *subs[MAILDIR_SUBS_DEFAULT_MAX];
	size_t n = maildir_subs_defaults(subs);
	return maildir_subs_write(root, subs, n);
}

/*
 * Whether the default folders are still to be made in the Maildir open as
 * dirfd: it has no subscriptions file (a delivery makes none; a login
 * writes it with the defaults, and every later change keeps a file, at
 * least the "V\t2" header), or an empty one, which no writer makes but a
 * crash right after maildir_subs_create() can leave.  So a Maildir that a
 * delivery made (Postfix's, or ours), and one whose first login crashed
 * half way, get the defaults subscribed at the next login, while a
 * default folder that its user unsubscribed stays unsubscribed.
 * 1 pending, 0 not, -1 with errno.
 */
static int maildir_defaults_pending(int dirfd)
{
	struct stat st;
	if (fstatat(dirfd, "subscriptions", &st, 0) == 0)
		return S_ISREG(st.st_mode) && st.st_size == 0;
	return errno == ENOENT ? 1 : -1;
}

/* The root, its parents and tmp/ cur/ new/, dirfd_r the root open
   (O_PATH).  Returns 1 when the root was made here, 0, or -1. */
static int maildir_inbox_make(const char *root, int *dirfd_r,
			      const char **error_r)
{
	int made = maildir_root_make(root);
	if (made < 0) {
		*error_r = "create maildir";
		return -1;
	}
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = "open maildir";
		return -1;
	}
	if (maildir_make_subdirs(fd, "") < 0) {
		int e = errno;
		close(fd);
		errno = e;
		*error_r = "create maildir";
		return -1;
	}
	*dirfd_r = fd;
	return made;
}

int maildir_create_inbox(const char *root, const char **error_r)
{
	int fd = -1;
	int made = maildir_inbox_make(root, &fd, error_r);
	if (made >= 0)
		close(fd);
	return made;
}

int maildir_create(const char *root, const char **error_r)
{
	int fd = -1;
	int made = maildir_inbox_make(root, &fd, error_r);
	if (made < 0)
		return -1;
	int rc = -1, e;
	int pending = maildir_defaults_pending(fd);
	if (pending < 0) {
		*error_r = "read subscriptions";
		goto out;
	}
	/* Dovecot's "auto = create": every login makes a missing default
	   folder (the user's DELETE lasts until then) */
	for (size_t i = 0; maildir_default_folders[i] != NULL; i++) {
		char dir[MAILDIR_FOLDER_MAX + 2];
		snprintf(dir, sizeof dir, ".%s", maildir_default_folders[i]);
		if (maildir_folder_make_at(fd, dir, false) < 0) {
			*error_r = "create default folder";
			goto out;
		}
	}
	/* and "auto = subscribe", once: INBOX and the default folders
	   subscribed, so that clients that show only subscribed folders
	   (Thunderbird's default) see them; written after the folders, so
	   that the file is the mark that they were all made */
	if (pending && maildir_subs_make(fd, root) < 0) {
		*error_r = "write subscriptions";
		goto out;
	}
	rc = made;
out:
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int maildir_default_folder_want(const char *root, const char *name,
				const char **error_r)
{
	bool dflt = false;
	for (size_t i = 0; maildir_default_folders[i] != NULL; i++)
		dflt |= strcmp(name, maildir_default_folders[i]) == 0;
	if (!dflt)
		return 0;
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = "open maildir";
		return -1;
	}
	int pending = maildir_defaults_pending(fd);
	int e = errno;
	close(fd);
	errno = e;
	if (pending < 0)
		*error_r = "read subscriptions";
	if (pending <= 0)
		return pending;
	return maildir_create(root, error_r) < 0 ? -1 : 1;
}

bool maildir_folder_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > MAILDIR_FOLDER_MAX - 1 || name[0] == '.' ||
	    name[len - 1] == '.' || strstr(name, "..") != NULL ||
	    strchr(name, '/') != NULL || strcasecmp(name, "INBOX") == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c >= 0x7f)
			return false;
	}
	char tmp[4 * MAILDIR_FOLDER_MAX];
	return maildir_mutf7_to_utf8(str_from_cstr(name), tmp, sizeof tmp) == 0;
}

int maildir_folder_create(const char *root, const char *name)
{
	if (!maildir_folder_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof dir, "%s/.%s", root, name);
	if (n < 0 || (size_t)n >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return maildir_folder_make_at(AT_FDCWD, dir, true);
}

static int maildir_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

long maildir_folder_list(const char *root, char ***names_r)
{
	DIR *d = opendir(root);
	if (d == NULL)
		return -1;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || de->d_name[1] == '\0' ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (n >= 100000)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(de->d_name + 1);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, maildir_name_cmp);
	*names_r = names;
	return (long)n;
}

void maildir_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- modified UTF-7 ---------------------------------------------------- */

static const char maildir_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int maildir_b64_val(char c)
{
	const char *p = c ? strchr(maildir_b64, c) : NULL;
	return p ? (int)(p - maildir_b64) : -1;
}

static int maildir_put_utf8(uint32_t cp, char *out, size_t outsz, size_t *o)
{
	char tmp[4];
	size_t k = str_utf8_encode(cp, tmp);
	if (*o + k >= outsz)
		return -1;
	memcpy(out + *o, tmp, k);
	*o += k;
	return 0;
}

int maildir_mutf7_to_utf8(struct str in, char *out, size_t outsz)
{
	size_t o = 0;
	for (size_t i = 0; i < in.len;) {
		char c = in.p[i];
		if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
			return -1;
		if (c != '&') {
			if (o + 1 >= outsz)
				return -1;
			out[o++] = c;
			i++;
			continue;
		}
		i++;
		if (i < in.len && in.p[i] == '-') {
			if (o + 1 >= outsz)
				return -1;
			out[o++] = '&';
			i++;
			continue;
		}
		uint32_t bits = 0, hi = 0;
		int nbits = 0;
		size_t chars = 0;
		while (i < in.len && in.p[i] != '-') {
			int v = maildir_b64_val(in.p[i]);
			if (v < 0)
				return -1;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			i++;
			if (nbits < 16)
				continue;
			nbits -= 16;
			uint32_t u = (bits >> nbits) & 0xffff;
			bits &= (1u << nbits) - 1;
			chars++;
			if (hi != 0) {
				if (u < 0xdc00 || u > 0xdfff)
					return -1;
				u = 0x10000 + ((hi - 0xd800) << 10) +
				    (u - 0xdc00);
				hi = 0;
			} else if (u >= 0xd800 && u <= 0xdbff) {
				hi = u;
				continue;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				return -1;
			}
			/* RFC 3501: printable ASCII must not be encoded */
			if (u >= 0x20 && u < 0x7f)
				return -1;
			if (maildir_put_utf8(u, out, outsz, &o) < 0)
				return -1;
		}
		if (i >= in.len || chars == 0 || hi != 0 || nbits >= 6 ||
		    bits != 0)
			return -1;
		i++; /* '-' */
	}
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return 0;
}

int maildir_utf8_to_mutf7(struct str in, char *out, size_t outsz)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)in.p;
	for (size_t i = 0; i < in.len;) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			size_t need = p[i] == '&' ? 2 : 1;
			if (o + need >= outsz)
				return -1;
			out[o++] = (char)p[i];
			if (p[i] == '&')
				out[o++] = '-';
			i++;
			continue;
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = '&';
		uint32_t bits = 0;
		int nbits = 0;
		while (i < in.len && !(p[i] >= 0x20 && p[i] < 0x7f)) {
			uint32_t cp;
			size_t k = str_utf8_decode(p + i, in.len - i, &cp);
			if (k == 0)
				return -1;
			i += k;
			uint32_t units[2];
			int nu = 1;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = 0xd800 + (cp >> 10);
				units[1] = 0xdc00 + (cp & 0x3ff);
				nu = 2;
			} else {
				units[0] = cp;
			}
			for (int u = 0; u < nu; u++) {
				bits = (bits << 16) | units[u];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					if (o + 1 >= outsz)
						return -1;
					out[o++] =
					    maildir_b64[(bits >> nbits) & 0x3f];
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (nbits > 0) {
			if (o + 1 >= outsz)
				return -1;
			out[o++] = maildir_b64[(bits << (6 - nbits)) & 0x3f];
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = '-';
	}
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return 0;
}

int maildir_folder_delete(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return errno == ENOTDIR ? unlink(path) : -1;
	struct dirent *de;
	int rc = 0, saved = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		char sub[4096];
		int n = snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		if (n < 0 || (size_t)n >= sizeof sub) {
			rc = -1;
			saved = ENAMETOOLONG;
			continue;
		}
		struct stat st;
		if (lstat(sub, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) ? maildir_folder_delete(sub) < 0
					: unlink(sub) < 0) {
			rc = -1;
			saved = errno;
		}
	}
	closedir(d);
	if (rmdir(path) < 0) {
		rc = -1;
		saved = errno;
	}
	if (rc < 0)
		errno = saved;
	return rc;
}
