/*
 * DKIM key management (see dkim.h).  The record is printed as one zone
 * file line; an RSA key's p= is longer than one DNS character-string may
 * be (255 bytes, RFC 1035 3.3), so the value is split into several quoted
 * strings on that line, which resolvers join (RFC 6376 3.6.2.2).
 */
#include "dkim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "cliconf.h"
#include "conf.h"
#include "xalloc.h"

static bool label_ok(const char *s, bool dots)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || (dots && c == '.')))
			return false;
	}
	return true;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int cli_dkim_record(const char *domain, const char *selector, const char *pem,
		    char *out, size_t outsz)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (pk == NULL)
		return -1;
	unsigned char der[4096];
	size_t dl = 0;
	const char *k;
	int id = EVP_PKEY_get_base_id(pk);
	if (id == EVP_PKEY_ED25519) {
		/* RFC 8463 4.2: the raw 32-byte public key */
		k = "ed25519";
		dl = sizeof(der);
		if (EVP_PKEY_get_raw_public_key(pk, der, &dl) != 1)
			dl = 0;
	} else if (id == EVP_PKEY_RSA) {
		/* RFC 6376 3.6.1: SubjectPublicKeyInfo, DER */
		k = "rsa";
		int n = i2d_PUBKEY(pk, NULL);
		if (n > 0 && (size_t)n <= sizeof(der)) {
			unsigned char *p = der;
			dl = (size_t)i2d_PUBKEY(pk, &p);
		}
	} else {
		k = NULL;
	}
	EVP_PKEY_free(pk);
	if (k == NULL || dl == 0)
		return -1;
	char b64[8192];
	if (base64_encode(der, dl, b64, sizeof(b64)) < 0)
		return -1;
	char val[8400];
	int n = snprintf(val, sizeof(val), "v=DKIM1; k=%s; p=%s", k, b64);
	if (n < 0 || (size_t)n >= sizeof(val))
		return -1;
	int w =
	    snprintf(out, outsz, "%s._domainkey.%s. IN TXT", selector, domain);
	if (w < 0 || (size_t)w >= outsz)
		return -1;
	size_t len = (size_t)w;
	for (size_t i = 0; i < (size_t)n; i += 255) {
		size_t c = (size_t)n - i < 255 ? (size_t)n - i : 255;
		if (len + c + 4 >= outsz)
			return -1;
		out[len++] = ' ';
		out[len++] = '"';
		memcpy(out + len, val + i, c);
		len += c;
		out[len++] = '"';
	}
	out[len] = '\0';
	return 0;
}

static char *read_small(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *b = xmalloc(65536);
	ssize_t n = read(fd, b, 65535);
	close(fd);
	if (n < 0) {
		free(b);
		return NULL;
	}
	b[n] = '\0';
	return b;
}

/* Prints the record of every DOMAIN.*.pub; returns how many. */
static int show(const char *dir, const char *domain)
{
	DIR *d = opendir(dir);
	int count = 0;
	if (d == NULL)
		return 0;
	size_t dl = strlen(domain);
	struct dirent *e;
	char **names = NULL;
	size_t nn = 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > dl + 5 && strncmp(e->d_name, domain, dl) == 0 &&
		    e->d_name[dl] == '.' &&
		    strcmp(e->d_name + l - 4, ".pub") == 0 &&
		    memchr(e->d_name + dl + 1, '.', l - dl - 5) == NULL) {
			names = xrealloc(names, (nn + 1) * sizeof(*names));
			names[nn++] = xstrdup(e->d_name);
		}
	}
	closedir(d);
	for (size_t i = 0; i < nn; i++) {
		/* sorted: stable output */
		for (size_t j = i + 1; j < nn; j++) {
			if (strcmp(names[j], names[i]) < 0) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
		}
	}
	for (size_t i = 0; i < nn; i++) {
		char path[4096], rec[9000];
		size_t l = strlen(names[i]);
		char *sel = xstrndup(names[i] + dl + 1, l - dl - 5);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *pem = read_small(path);
		if (pem != NULL &&
		    cli_dkim_record(domain, sel, pem, rec, sizeof(rec)) == 0) {
			printf("%s\n", rec);
			count++;
		} else {
			fprintf(stderr, "youju dkim: %s: not a public key\n",
				path);
		}
		free(pem);
		free(sel);
		free(names[i]);
	}
	free(names);
	return count;
}

static int write_pem(const char *path, EVP_PKEY *pk, bool private)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		      private ? 0600 : 0644);
	if (fd < 0) {
		fprintf(stderr, "youju dkim: %s: %s\n", path, strerror(errno));
		return -1;
	}
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	int ok = private
		     ? PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_PUBKEY(f, pk);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		fprintf(stderr, "youju dkim: %s: write failed\n", path);
		unlink(path);
		return -1;
	}
	return 0;
}

static int keygen(const char *dir, const char *domain, const char *sel, bool ed)
{
	char kp[4096], pp[4096];
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "youju dkim: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(kp, sizeof(kp), "%s/%s.%s.key", dir, domain, sel);
	snprintf(pp, sizeof(pp), "%s/%s.%s.pub", dir, domain, sel);
	if (access(kp, F_OK) == 0) {
		fprintf(stderr,
			"youju dkim: %s exists (pick another --selector)\n",
			kp);
		return 1;
	}
	EVP_PKEY *pk =
	    ed ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") : EVP_RSA_gen(2048);
	if (pk == NULL) {
		fprintf(stderr, "youju dkim: key generation failed\n");
		return 1;
	}
	int rc = write_pem(kp, pk, true);
	if (rc == 0 && write_pem(pp, pk, false) < 0) {
		unlink(kp);
		rc = -1;
	}
	EVP_PKEY_free(pk);
	if (rc < 0)
		return 1;
	char *pem = read_small(pp);
	char rec[9000];
	if (pem == NULL ||
	    cli_dkim_record(domain, sel, pem, rec, sizeof(rec)) < 0) {
		free(pem);
		return 1;
	}
	free(pem);
	printf("%s\n", rec);
	fprintf(stderr,
		"youju dkim: wrote %s; publish the record above, then "
		"`youju reload`\n",
		kp);
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
	if (!label_ok(domain, true) || strchr(domain, '.') == NULL ||
	    !label_ok(sel, false)) {
		fprintf(stderr,
			"youju dkim: bad domain or selector (selectors: "
			"a-z 0-9 - _)\n");
		free(path);
		free(domain);
		return 2;
	}
	char *dir = cliconf_str(path, "mta", "dkim_key_directory", "dkim");
	free(path);
	if (dir == NULL) {
		free(domain);
		return 1;
	}
	int rc;
	if (strcmp(cmd, "keygen") == 0) {
		rc = keygen(dir, domain, sel, ed);
	} else if (strcmp(cmd, "show") == 0) {
		rc = show(dir, domain) > 0 ? 0 : 1;
		if (rc)
			fprintf(stderr, "youju dkim: no key for %s in %s\n",
				domain, dir);
	} else {
		rc = usage();
	}
	free(dir);
	free(domain);
	return rc;
}
