/*
 * ExtMail's filter files of one mailbox into its Sieve store (see
 * sieve_import.h): the file half of the import, shared by `youju sieve
 * import` and youju-webmail's first login.  The text half is
 * sieve_import.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "file.h"
#include "sieve.h"
#include "sieve_import.h"
#include "sieve_store.h"

#define SIEVE_IMPORT_FILE_MAX (4u * 1024 * 1024)

/* Reads dir/name (missing: NULL, 0).  0, or -1 with errno. */
static int import_read(const char *dir, const char *name, char **data_r,
		       size_t *len_r)
{
	char p[PATH_MAX];
	*data_r = NULL;
	*len_r = 0;
	if (file_path(p, sizeof(p), dir, name) < 0)
		return -1;
	return file_read(p, SIEVE_IMPORT_FILE_MAX, O_NOFOLLOW, data_r, len_r,
			 NULL) < 0
		   ? -1
		   : 0;
}

static void import_mark(const char *home)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s/sieve/%s", home, SIEVE_IMPORT_MARKER) <
	    (int)sizeof(p)) {
		/* without the marker, "once" still sees extmail.sieve */
		struct file_replace_opts o = {.mode = 0600};
		if (file_replace(p, "", 0, &o) < 0)
			return;
	}
}

/* once: whether home was imported before or has scripts of its own */
static bool import_done(const char *home)
{
	char p[PATH_MAX];
	struct stat st;
	if (snprintf(p, sizeof(p), "%s/sieve/%s", home, SIEVE_IMPORT_MARKER) >=
		(int)sizeof(p) ||
	    lstat(p, &st) == 0)
		return true;
	char **names = NULL;
	long n = sieve_store_list(home, &names);
	if (n > 0)
		sieve_store_names_free(names, (size_t)n);
	return n != 0;
}

int sieve_import_home(const char *home, const char *maildir, bool force,
		      bool once, unsigned *rules_r, bool *active_r, char *err,
		      size_t errsz)
{
	char *mf = NULL, *wl = NULL, *bl = NULL, *ar = NULL;
	size_t mfl, wll, bll, arl;
	*rules_r = 0;
	*active_r = false;
	if (once && import_done(home))
		return 0;
	if (import_read(home, ".mailfilter", &mf, &mfl) < 0) {
		snprintf(err, errsz, ".mailfilter: %s", strerror(errno));
		return -1;
	}
	if (mf == NULL)
		return 0;
	int rc = -1;
	if (import_read(maildir, "whitelist.cf", &wl, &wll) < 0 ||
	    import_read(maildir, "blacklist.cf", &bl, &bll) < 0 ||
	    import_read(maildir, "autoreply.cf", &ar, &arl) < 0) {
		snprintf(err, errsz, "%s: %s", maildir, strerror(errno));
		goto out;
	}
	struct sieve_import_in in = {mf, mfl, wl, bl, wll, bll, ar, arl};
	struct buf text;
	char cerr[SIEVE_ERROR_MAX], active[SIEVE_STORE_NAME_MAX + 1];
	buf_init(&text, SIEVE_SCRIPT_MAX);
	struct sieve_program *p = NULL;
	if (sieve_import_extmail(&in, &text, rules_r) < 0) {
		snprintf(err, errsz, "the rules make a script over 256 KiB");
	} else if ((p = sieve_compile(text.p, text.len, cerr, sizeof(cerr))) ==
		   NULL) {
		snprintf(err, errsz, "generated script: %s", cerr);
	} else if (sieve_store_put(home, SIEVE_IMPORT_NAME, text.p, text.len) <
		   0) {
		snprintf(err, errsz, "write: %s", strerror(errno));
	} else {
		if (sieve_store_active(home, active, sizeof(active)) < 0)
			active[0] = '\0';
		bool activate = force || active[0] == '\0';
		if (activate &&
		    sieve_store_set_active(home, SIEVE_IMPORT_NAME) < 0) {
			snprintf(err, errsz, "activate: %s", strerror(errno));
		} else {
			import_mark(home);
			*active_r = activate;
			rc = 1;
		}
	}
	sieve_free(&p);
	buf_deinit(&text);
out:
	free(mf);
	free(wl);
	free(bl);
	free(ar);
	return rc;
}
