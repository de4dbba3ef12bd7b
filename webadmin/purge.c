/*
 * Removing a deleted mailbox's files (DELETE .../mailboxes/{local}?purge=1):
 * the request only renames the mailbox's home directory out of the way
 * (one rename, atomic, so an address made again at once starts empty);
 * a background thread then removes the renamed tree without following
 * symlinks.  The directory must resolve below virtual_mailbox_base.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "wa.h"
#include "websession.h"
#include "xalloc.h"

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
	if (rc < 0 && errno != ENOENT)
		log_warning("webadmin: purge: %s: %s", path, strerror(errno));
	return 0;
}

static void *purge_main(void *arg)
{
	char *path = arg;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		log_warning("webadmin: purge: %s: %s", path, strerror(errno));
	else
		log_info("webadmin: purged %s", path);
	free(path);
	return NULL;
}

/* A relative path of plain segments (no "..", no "." segments). */
static bool safe_relative(const char *p)
{
	if (p[0] == '\0' || p[0] == '/' || strstr(p, "..") != NULL)
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

int wa_purge_home(const struct wa *wa, const char *homedir)
{
	if (homedir == NULL || !safe_relative(homedir))
		return -1;
	char base[PATH_MAX], path[PATH_MAX], real[PATH_MAX], trash[PATH_MAX];
	if (realpath(wa->mailbox_base, base) == NULL)
		return errno == ENOENT ? 0 : -1; /* nothing was ever stored */
	int n = snprintf(path, sizeof path, "%s/%s", base, homedir);
	if (n < 0 || (size_t)n >= sizeof path)
		return -1;
	if (realpath(path, real) == NULL)
		return errno == ENOENT ? 0 : -1; /* no files yet */
	size_t bl = strlen(base);
	if (strncmp(real, base, bl) != 0 || real[bl] != '/')
		return -1; /* a symlink points out of the mailbox base */
	char rnd[17];
	if (websession_random_hex(rnd, 8) < 0)
		return -1;
	n = snprintf(trash, sizeof trash, "%s/.purge-%s", base, rnd);
	if (n < 0 || (size_t)n >= sizeof trash)
		return -1;
	if (rename(real, trash) < 0)
		return -1;
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	char *arg = xstrdup(trash);
	if (pthread_create(&t, &at, purge_main, arg) != 0) {
		free(arg);
		log_warning("webadmin: purge: no thread; %s left for the "
			    "operator",
			    trash);
	}
	pthread_attr_destroy(&at);
	return 0;
}
