/*
 * DKIM key management (see dkim.h); the keys and records are lib/dkimkey's.
 * Keys made by root are given to mail_owner (the directory too), so that
 * the webadmin console, which runs as mail_owner, can list and rotate
 * them.
 */
#include "dkim.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cliconf.h"
#include "conf.h"
#include "dkimkey.h"
#include "xalloc.h"

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int cli_dkim_record(const char *domain, const char *selector, const char *pem,
		    char *out, size_t outsz)
{
	return dkimkey_record(domain, selector, pem, out, outsz);
}

/* Prints the record of every DOMAIN.*.pub; returns how many. */
static int show(const char *dir, const char *domain)
{
	char **sels;
	size_t n = dkimkey_list(dir, domain, &sels);
	int count = 0;
	for (size_t i = 0; i < n; i++) {
		char rec[DKIMKEY_RECORD_MAX];
		char *pem = dkimkey_read_pub(dir, domain, sels[i]);
		if (pem != NULL && dkimkey_record(domain, sels[i], pem, rec,
						  sizeof(rec)) == 0) {
			printf("%s\n", rec);
			count++;
		} else {
			fprintf(stderr,
				"youju dkim: %s/%s.%s.pub: not a public key\n",
				dir, domain, sels[i]);
		}
		free(pem);
		free(sels[i]);
	}
	free(sels);
	return count;
}

/* root: the directory and the new key files go to mail_owner */
static void give(const char *dir, const char *domain, const char *sel,
		 const char *owner)
{
	if (geteuid() != 0)
		return;
	struct passwd *pw = getpwnam(owner);
	if (pw == NULL)
		return;
	char p[4096];
	if (chown(dir, pw->pw_uid, pw->pw_gid) < 0)
		fprintf(stderr, "youju dkim: chown %s: %s\n", dir,
			strerror(errno));
	for (int i = 0; i < 2; i++) {
		int n = snprintf(p, sizeof(p), "%s/%s.%s.%s", dir, domain, sel,
				 i ? "pub" : "key");
		if (n > 0 && (size_t)n < sizeof(p) &&
		    chown(p, pw->pw_uid, pw->pw_gid) < 0)
			fprintf(stderr, "youju dkim: chown %s: %s\n", p,
				strerror(errno));
	}
}

static int keygen(const char *dir, const char *domain, const char *sel, bool ed,
		  const char *owner)
{
	char err[4400];
	if (dkimkey_generate(dir, domain, sel, ed, err, sizeof(err)) < 0) {
		fprintf(stderr, "youju dkim: %s\n", err);
		return 1;
	}
	give(dir, domain, sel, owner);
	char *pem = dkimkey_read_pub(dir, domain, sel);
	char rec[DKIMKEY_RECORD_MAX];
	if (pem == NULL ||
	    dkimkey_record(domain, sel, pem, rec, sizeof(rec)) < 0) {
		free(pem);
		return 1;
	}
	free(pem);
	printf("%s\n", rec);
	fprintf(stderr,
		"youju dkim: wrote %s/%s.%s.key; publish the record above, "
		"then `youju reload`\n",
		dir, domain, sel);
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: youju dkim [-c config] keygen DOMAIN [--selector S] "
		"[--ed25519]\n"
		"       youju dkim [-c config] show DOMAIN\n");
	return 2;
}

int cli_dkim(int argc, char **argv)
{
	int i = 1;
	char *path = cliconf_option(argc, argv, &i);
	if (i + 1 >= argc) {
		free(path);
		return usage();
	}
	const char *cmd = argv[i];
	char *domain = xstrdup(argv[i + 1]);
	const char *sel = "youju";
	bool ed = false;
	lower(domain);
	for (int k = i + 2; k < argc; k++) {
		if (strcmp(argv[k], "--ed25519") == 0) {
			ed = true;
		} else if (strcmp(argv[k], "--selector") == 0 && k + 1 < argc) {
			sel = argv[++k];
		} else {
			free(path);
			free(domain);
			return usage();
		}
	}
	if (!dkimkey_domain_ok(domain) || !dkimkey_selector_ok(sel)) {
		fprintf(stderr,
			"youju dkim: bad domain or selector (selectors: "
			"a-z 0-9 - _)\n");
		free(path);
		free(domain);
		return 2;
	}
	struct conf *c = cliconf_load(path, "mta", "dkim");
	free(path);
	if (c == NULL) {
		free(domain);
		return 1;
	}
	char *dir = xstrdup(conf_str(c, "dkim_key_directory"));
	char *owner = xstrdup(conf_str(c, "mail_owner"));
	conf_free(&c);
	int rc;
	if (strcmp(cmd, "keygen") == 0) {
		rc = keygen(dir, domain, sel, ed, owner);
	} else if (strcmp(cmd, "show") == 0) {
		rc = show(dir, domain) > 0 ? 0 : 1;
		if (rc)
			fprintf(stderr, "youju dkim: no key for %s in %s\n",
				domain, dir);
	} else {
		rc = usage();
	}
	free(dir);
	free(owner);
	free(domain);
	return rc;
}
