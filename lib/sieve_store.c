/*
 * Sieve script storage in Pigeonhole's layout (see sieve_store.h).
 */
#include "sieve_store.h"

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
#include "sieve.h"
#include "xalloc.h"

int sieve_store_home(const char *maildir, char *out, size_t outsz)
{
	size_t len = strlen(maildir);
	while (len > 1 && maildir[len - 1] == '/')
		len--;
	size_t cut = len;
	if (len > 8 && strncmp(maildir + len - 8, "/Maildir", 8) == 0)
		cut = len - 8;
	if (cut + 1 > outsz)
		return -1;
	memcpy(out, maildir, cut);
	out[cut] = '\0';
	return 0;
}

bool sieve_store_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > SIEVE_STORE_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '/')
			return false;
	}
	return true;
}

static int sieve_store_path(char *out, size_t outsz, const char *home,
			    const char *name)
{
	if (!sieve_store_name_ok(name, strlen(name))) {
		errno = EINVAL;
		return -1;
	}
	int n = snprintf(out, outsz, "%s/sieve/%s.sieve", home, name);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int sieve_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

long sieve_store_list(const char *home, char ***names_r)
{
	char dir[PATH_MAX];
	*names_r = NULL;
	if (file_path(dir, sizeof(dir), home, "sieve") < 0)
		return -1;
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < 1000) {
		size_t l = strlen(de->d_name);
		if (l <= 6 || strcmp(de->d_name + l - 6, ".sieve") != 0 ||
		    !sieve_store_name_ok(de->d_name, l - 6))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = xstrndup(de->d_name, l - 6);
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), sieve_name_cmp);
	*names_r = v;
	return (long)n;
}

void sieve_store_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int sieve_store_active(const char *home, char *out, size_t outsz)
{
	char link[PATH_MAX], target[PATH_MAX];
	out[0] = '\0';
	if (file_path(link, sizeof(link), home, SIEVE_STORE_ACTIVE) < 0)
		return -1;
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT || errno == EINVAL ? 0 : -1;
	target[n] = '\0';
	const char *t = target;
	/* "sieve/NAME.sieve", or an absolute path to HOME/sieve/NAME.sieve */
	char abs[PATH_MAX];
	int an = snprintf(abs, sizeof(abs), "%s/", home);
	if (an > 0 && (size_t)an < sizeof(abs) &&
	    strncmp(t, abs, (size_t)an) == 0)
		t += an;
	if (strncmp(t, "sieve/", 6) != 0)
		return 0;
	t += 6;
	size_t l = strlen(t);
	if (l <= 6 || strcmp(t + l - 6, ".sieve") != 0 ||
	    !sieve_store_name_ok(t, l - 6) || l - 6 >= outsz)
		return 0;
	memcpy(out, t, l - 6);
	out[l - 6] = '\0';
	return 0;
}

int sieve_store_get(const char *home, const char *name, char **data_r,
		    size_t *len_r)
{
	char p[PATH_MAX];
	if (sieve_store_path(p, sizeof(p), home, name) < 0)
		return -1;
	return file_read(p, SIEVE_SCRIPT_MAX, O_NOFOLLOW, data_r, len_r, NULL);
}

int sieve_store_put(const char *home, const char *name, const char *data,
		    size_t len)
{
	char p[PATH_MAX], dir[PATH_MAX];
	if (sieve_store_path(p, sizeof(p), home, name) < 0 ||
	    file_path(dir, sizeof(dir), home, "sieve") < 0)
		return -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	struct file_replace_opts o = {.mode = 0600, .dir_fsync = true};
	return file_replace(p, data, len, &o);
}

int sieve_store_set_active(const char *home, const char *name)
{
	char link[PATH_MAX], tmp[PATH_MAX + 32], p[PATH_MAX], target[PATH_MAX];
	if (file_path(link, sizeof(link), home, SIEVE_STORE_ACTIVE) < 0)
		return -1;
	if (name[0] == '\0') {
		if (unlink(link) < 0 && errno != ENOENT)
			return -1;
		return 0;
	}
	struct stat st;
	if (sieve_store_path(p, sizeof(p), home, name) < 0)
		return -1;
	if (stat(p, &st) < 0)
		return -1;
	int n = snprintf(target, sizeof(target), "sieve/%s.sieve", name);
	int m = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", link, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(target) || m < 0 ||
	    (size_t)m >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	(void)unlink(tmp);
	if (symlink(target, tmp) < 0)
		return -1;
	if (rename(tmp, link) < 0) {
		int e = errno;
		(void)unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int sieve_store_delete(const char *home, const char *name)
{
	char p[PATH_MAX], active[SIEVE_STORE_NAME_MAX + 1];
	if (sieve_store_path(p, sizeof(p), home, name) < 0)
		return -1;
	if (sieve_store_active(home, active, sizeof(active)) == 0 &&
	    strcmp(active, name) == 0) {
		errno = EBUSY;
		return -1;
	}
	return unlink(p);
}

int sieve_store_rename(const char *home, const char *oldname,
		       const char *newname)
{
	char op[PATH_MAX], np[PATH_MAX], active[SIEVE_STORE_NAME_MAX + 1];
	struct stat st;
	if (sieve_store_path(op, sizeof(op), home, oldname) < 0 ||
	    sieve_store_path(np, sizeof(np), home, newname) < 0)
		return -1;
	if (stat(op, &st) < 0)
		return -1;
	if (lstat(np, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	bool was_active =
	    sieve_store_active(home, active, sizeof(active)) == 0 &&
	    strcmp(active, oldname) == 0;
	/* link(2) + unlink(2): never over an existing name */
	if (link(op, np) < 0)
		return -1;
	if (was_active && sieve_store_set_active(home, newname) < 0) {
		int e = errno;
		(void)unlink(np);
		errno = e;
		return -1;
	}
	(void)unlink(op);
	return 0;
}
