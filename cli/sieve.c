/*
 * `youju sieve`: Sieve tools for the administrator (docs/sieve.md).
 *
 *   youju sieve check FILE...   compile each script, print "FILE: ok" or
 *                               "FILE: line N: error"; exit 1 on an error
 *   youju sieve extensions      what `require` accepts
 *   youju sieve import [-f] HOME...
 *                               ExtMail's HOME/.mailfilter and
 *                               HOME/Maildir/{white,black}list.cf,
 *                               autoreply.cf into HOME/sieve/extmail.sieve,
 *                               made active unless another script is (-f:
 *                               even then)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "file.h"
#include "sieve.h"
#include "sieve_import.h"
#include "sieve_store.h"

#define CLI_SIEVE_IMPORTED "extmail"

/* Reads dir/name (missing: NULL, 0).  Returns 0, or -1 (reported). */
static int cli_sieve_read(const char *dir, const char *name, char **data_r,
			  size_t *len_r)
{
	char p[PATH_MAX];
	*data_r = NULL;
	*len_r = 0;
	if (file_path(p, sizeof(p), dir, name) < 0)
		return -1;
	int r = file_read(p, 4u * 1024 * 1024, O_NOFOLLOW, data_r, len_r, NULL);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", p, strerror(errno));
		return -1;
	}
	return 0;
}

/* The files we made belong to the mailbox's owner (vmail), not root. */
static void cli_sieve_chown(const char *home)
{
	struct stat st;
	char p[PATH_MAX];
	if (geteuid() != 0 || stat(home, &st) < 0)
		return;
	if (file_path(p, sizeof(p), home, "sieve") == 0 &&
	    chown(p, st.st_uid, st.st_gid) < 0)
		fprintf(stderr, "chown %s: %s\n", p, strerror(errno));
	if (snprintf(p, sizeof(p), "%s/sieve/%s.sieve", home,
		     CLI_SIEVE_IMPORTED) < (int)sizeof(p) &&
	    chown(p, st.st_uid, st.st_gid) < 0)
		fprintf(stderr, "chown %s: %s\n", p, strerror(errno));
	if (file_path(p, sizeof(p), home, SIEVE_STORE_ACTIVE) == 0 &&
	    lchown(p, st.st_uid, st.st_gid) < 0 && errno != ENOENT)
		fprintf(stderr, "chown %s: %s\n", p, strerror(errno));
}

static int cli_sieve_import_one(const char *home, bool force)
{
	char md[PATH_MAX];
	char *mf, *wl, *bl, *ar;
	size_t mfl, wll, bll, arl;
	if (file_path(md, sizeof(md), home, "Maildir") < 0 ||
	    cli_sieve_read(home, ".mailfilter", &mf, &mfl) < 0)
		return 1;
	if (mf == NULL) {
		printf("%s: no .mailfilter, nothing to import\n", home);
		return 0;
	}
	int rc = 1;
	wl = bl = ar = NULL;
	if (cli_sieve_read(md, "whitelist.cf", &wl, &wll) == 0 &&
	    cli_sieve_read(md, "blacklist.cf", &bl, &bll) == 0 &&
	    cli_sieve_read(md, "autoreply.cf", &ar, &arl) == 0) {
		struct sieve_import_in in = {mf,  mfl, wl, bl,
					     wll, bll, ar, arl};
		struct buf out;
		unsigned n = 0;
		char err[SIEVE_ERROR_MAX], active[SIEVE_STORE_NAME_MAX + 1];
		buf_init(&out, SIEVE_SCRIPT_MAX);
		struct sieve_program *p = NULL;
		if (sieve_import_extmail(&in, &out, &n) < 0) {
			fprintf(stderr,
				"%s: the rules make a script over "
				"256 KiB\n",
				home);
		} else if ((p = sieve_compile(out.p, out.len, err,
					      sizeof(err))) == NULL) {
			fprintf(stderr, "%s: generated script: %s\n", home,
				err);
		} else if (sieve_store_put(home, CLI_SIEVE_IMPORTED, out.p,
					   out.len) < 0) {
			fprintf(stderr, "%s: write: %s\n", home,
				strerror(errno));
		} else {
			if (sieve_store_active(home, active, sizeof(active)) <
			    0)
				active[0] = '\0';
			bool activate = force || active[0] == '\0';
			if (activate && sieve_store_set_active(
					    home, CLI_SIEVE_IMPORTED) < 0) {
				fprintf(stderr, "%s: activate: %s\n", home,
					strerror(errno));
			} else {
				cli_sieve_chown(home);
				printf("%s: %u rules imported into "
				       "sieve/%s.sieve%s\n",
				       home, n, CLI_SIEVE_IMPORTED,
				       activate ? " (active)"
						: " (not active: another "
						  "script is)");
				rc = 0;
			}
		}
		sieve_free(&p);
		buf_deinit(&out);
	}
	free(mf);
	free(wl);
	free(bl);
	free(ar);
	return rc;
}

static int cli_sieve_usage(void)
{
	fprintf(stderr, "usage: youju sieve check FILE...\n"
			"       youju sieve extensions\n"
			"       youju sieve import [-f] HOME...\n");
	return 2;
}

int cli_sieve(int argc, char **argv)
{
	if (argc < 2)
		return cli_sieve_usage();
	if (strcmp(argv[1], "extensions") == 0 && argc == 2) {
		printf("%s\n", sieve_extensions());
		return 0;
	}
	if (strcmp(argv[1], "import") == 0) {
		int i = 2, rc = 0;
		bool force = i < argc && strcmp(argv[i], "-f") == 0;
		if (force)
			i++;
		if (i >= argc)
			return cli_sieve_usage();
		for (; i < argc; i++)
			rc |= cli_sieve_import_one(argv[i], force);
		return rc;
	}
	if (strcmp(argv[1], "check") != 0 || argc < 3)
		return cli_sieve_usage();
	int rc = 0;
	for (int i = 2; i < argc; i++) {
		char *data = NULL;
		size_t len = 0;
		int r =
		    file_read(argv[i], SIEVE_SCRIPT_MAX, 0, &data, &len, NULL);
		if (r <= 0) {
			fprintf(stderr, "%s: %s\n", argv[i],
				r == 0
				    ? "no such file"
				    : "cannot read (or larger than 256 KiB)");
			rc = 1;
			continue;
		}
		char err[SIEVE_ERROR_MAX];
		struct sieve_program *p =
		    sieve_compile(data, len, err, sizeof(err));
		free(data);
		if (p == NULL) {
			printf("%s: %s\n", argv[i], err);
			rc = 1;
		} else {
			printf("%s: ok\n", argv[i]);
			sieve_free(&p);
		}
	}
	return rc;
}
