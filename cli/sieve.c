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
		     SIEVE_IMPORT_NAME) < (int)sizeof(p) &&
	    chown(p, st.st_uid, st.st_gid) < 0)
		fprintf(stderr, "chown %s: %s\n", p, strerror(errno));
	if (snprintf(p, sizeof(p), "%s/sieve/%s", home, SIEVE_IMPORT_MARKER) <
		(int)sizeof(p) &&
	    chown(p, st.st_uid, st.st_gid) < 0 && errno != ENOENT)
		fprintf(stderr, "chown %s: %s\n", p, strerror(errno));
	if (file_path(p, sizeof(p), home, SIEVE_STORE_ACTIVE) == 0 &&
	    lchown(p, st.st_uid, st.st_gid) < 0 && errno != ENOENT)
		fprintf(stderr, "chown %s: %s\n", p, strerror(errno));
}

static int cli_sieve_import_one(const char *home, bool force)
{
	char md[PATH_MAX], err[SIEVE_ERROR_MAX];
	unsigned n = 0;
	bool active = false;
	if (file_path(md, sizeof(md), home, "Maildir") < 0) {
		fprintf(stderr, "%s: path too long\n", home);
		return 1;
	}
	int r = sieve_import_home(home, md, force, false, &n, &active, err,
				  sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", home, err);
		return 1;
	}
	if (r == 0) {
		printf("%s: no .mailfilter, nothing to import\n", home);
		return 0;
	}
	cli_sieve_chown(home);
	printf("%s: %u rules imported into sieve/%s.sieve%s\n", home, n,
	       SIEVE_IMPORT_NAME,
	       active ? " (active)" : " (not active: another script is)");
	return 0;
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
