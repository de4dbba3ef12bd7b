/*
 * DKIM keys on disk (see dkimkey.h), with OpenSSL's EVP interface.
 */
#include "dkimkey.h"

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
#include "xalloc.h"

static bool name_ok(const char *s, bool dots, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || (dots && c == '.')))
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

bool dkimkey_domain_ok(const char *s)
{
	return name_ok(s, true, 253) && strchr(s, '.') != NULL;
}

bool dkimkey_selector_ok(const char *s)
{
	return name_ok(s, false, DKIMKEY_SELECTOR_MAX);
}

int dkimkey_txt(const char *pem, char *out, size_t outsz)
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
	int n = snprintf(out, outsz, "v=DKIM1; k=%s; p=%s", k, b64);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int dkimkey_record(const char *domain, const char *selector, const char *pem,
		   char *out, size_t outsz)
{
	char val[8400];
	if (dkimkey_txt(pem, val, sizeof(val)) < 0)
		return -1;
	size_t n = strlen(val);
	int w =
	    snprintf(out, outsz, "%s._domainkey.%s. IN TXT", selector, domain);
	if (w < 0 || (size_t)w >= outsz)
		return -1;
	size_t len = (size_t)w;
	for (size_t i = 0; i < n; i += 255) {
		size_t c = n - i < 255 ? n - i : 255;
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

static int key_path(char *out, size_t outsz, const char *dir,
		    const char *domain, const char *sel, const char *ext)
{
	int n = snprintf(out, outsz, "%s/%s.%s.%s", dir, domain, sel, ext);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int write_pem(const char *path, EVP_PKEY *pk, bool private, char *err,
		     size_t errsz)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		      private ? 0600 : 0644);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errsz, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(path);
		snprintf(err, errsz, "%s: out of memory", path);
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
		snprintf(err, errsz, "%s: write failed", path);
		unlink(path);
		errno = EIO;
		return -1;
	}
	return 0;
}

int dkimkey_generate(const char *dir, const char *domain, const char *sel,
		     bool ed25519, char *err, size_t errsz)
{
	char kp[4096], pp[4096];
	if (!dkimkey_domain_ok(domain) || !dkimkey_selector_ok(sel)) {
		snprintf(err, errsz, "bad domain or selector");
		errno = EINVAL;
		return -1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errsz, "%s: %s", dir, strerror(e));
		errno = e;
		return -1;
	}
	if (key_path(kp, sizeof(kp), dir, domain, sel, "key") < 0 ||
	    key_path(pp, sizeof(pp), dir, domain, sel, "pub") < 0) {
		snprintf(err, errsz, "%s: path too long", dir);
		return -1;
	}
	if (access(kp, F_OK) == 0 || access(pp, F_OK) == 0) {
		snprintf(err, errsz, "%s exists (pick another selector)", kp);
		errno = EEXIST;
		return -1;
	}
	EVP_PKEY *pk = ed25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
			       : EVP_RSA_gen(2048);
	if (pk == NULL) {
		snprintf(err, errsz, "key generation failed");
		errno = EIO;
		return -1;
	}
	/* the public half first: a .key without its .pub is never left */
	int rc = write_pem(pp, pk, false, err, errsz);
	if (rc == 0 && write_pem(kp, pk, true, err, errsz) < 0) {
		int e = errno;
		unlink(pp);
		errno = e;
		rc = -1;
	}
	EVP_PKEY_free(pk);
	return rc;
}

char *dkimkey_read_pub(const char *dir, const char *domain, const char *sel)
{
	char path[4096];
	if (key_path(path, sizeof(path), dir, domain, sel, "pub") < 0)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	char *b = xmalloc(65536);
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, b + got, 65535 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == 65535)
			break;
	}
	close(fd);
	b[got] = '\0';
	return b;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t dkimkey_list(const char *dir, const char *domain, char ***sels_r)
{
	*sels_r = NULL;
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	size_t dl = strlen(domain), n = 0;
	char **v = NULL;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < DKIMKEY_LIST_MAX) {
		size_t l = strlen(e->d_name);
		if (l <= dl + 5 || strncmp(e->d_name, domain, dl) != 0 ||
		    e->d_name[dl] != '.' ||
		    strcmp(e->d_name + l - 4, ".pub") != 0 ||
		    memchr(e->d_name + dl + 1, '.', l - dl - 5) != NULL)
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = xstrndup(e->d_name + dl + 1, l - dl - 5);
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
	*sels_r = v;
	return n;
}

int dkimkey_remove(const char *dir, const char *domain, const char *sel)
{
	char kp[4096], pp[4096];
	if (key_path(kp, sizeof(kp), dir, domain, sel, "key") < 0 ||
	    key_path(pp, sizeof(pp), dir, domain, sel, "pub") < 0)
		return -1;
	int rc = 0;
	if (unlink(kp) < 0 && errno != ENOENT)
		rc = -1;
	if (unlink(pp) < 0 && errno != ENOENT)
		rc = -1;
	return rc;
}
