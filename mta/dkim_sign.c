/*
 * DKIM signing (see dkim_sign.h).  Keys are loaded once per policy load,
 * as root, and shared read-only by the worker threads (EVP_PKEY signing
 * with a fresh context per signature is thread-safe).  Which headers: RFC
 * 6376 §5.4.1's list as present in the message, each as many times as it
 * occurs, and From once more (over-signing, §8.15), so a second From:
 * added later breaks the signature.
 */
#include "dkim_sign.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrlist.h"
#include "base64.h"
#include "dkim.h"
#include "xalloc.h"

struct dkim_key {
	char *domain;
	char *selector;
	EVP_PKEY *pkey;
	bool ed25519;
};

struct dkim_keys {
	struct dkim_key *v;
	size_t n;
};

/* RFC 6376 §5.4.1 (the fields the RFC lists as SHOULD be signed) */
static const char *const sign_names[] = {
    "from",
    "reply-to",
    "subject",
    "date",
    "to",
    "cc",
    "resent-date",
    "resent-from",
    "resent-to",
    "resent-cc",
    "in-reply-to",
    "references",
    "list-id",
    "list-help",
    "list-unsubscribe",
    "list-subscribe",
    "list-post",
    "list-owner",
    "list-archive",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
};

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == '_'))
			return false;
	}
	return true;
}

static int load_one(const char *dir, const char *fname, struct dkim_key *k,
		    char *err, size_t errsz)
{
	size_t fl = strlen(fname);
	/* DOMAIN.SELECTOR.key: the selector is the last label */
	const char *end = fname + fl - 4;
	const char *dot = NULL;
	for (const char *p = fname; p < end; p++)
		if (*p == '.')
			dot = p;
	if (dot == NULL || dot == fname ||
	    !name_ok(fname, (size_t)(dot - fname)) ||
	    !name_ok(dot + 1, (size_t)(end - dot - 1))) {
		snprintf(err, errsz, "%s/%s: want DOMAIN.SELECTOR.key", dir,
			 fname);
		return -1;
	}
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, fname);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errsz, "%s: path too long", dir);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		snprintf(err, errsz,
			 "%s: must be a regular file not readable by group or "
			 "others (chmod 600)",
			 path);
		close(fd);
		return -1;
	}
	FILE *f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL) {
		snprintf(err, errsz, "%s: not a PEM private key", path);
		return -1;
	}
	int id = EVP_PKEY_get_base_id(pk);
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pk);
		snprintf(err, errsz, "%s: neither RSA nor Ed25519", path);
		return -1;
	}
	if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pk) < 1024) {
		EVP_PKEY_free(pk);
		snprintf(err, errsz, "%s: RSA key shorter than 1024 bits",
			 path);
		return -1;
	}
	k->domain = xstrndup(fname, (size_t)(dot - fname));
	for (char *c = k->domain; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	k->selector = xstrndup(dot + 1, (size_t)(end - dot - 1));
	k->pkey = pk;
	k->ed25519 = id == EVP_PKEY_ED25519;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct dkim_key *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);
	return c ? c : strcmp(x->selector, y->selector);
}

int dkim_keys_load(const char *dir, struct dkim_keys **keys_r, char *err,
		   size_t errsz)
{
	*keys_r = NULL;
	DIR *d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	struct dkim_keys *ks = xcalloc(1, sizeof(*ks));
	size_t cap = 0;
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l < 5 ||
		    strcmp(e->d_name + l - 4, ".key") != 0)
			continue;
		if (ks->n >= DKIM_KEYS_MAX) {
			snprintf(err, errsz, "%s: more than %d keys", dir,
				 DKIM_KEYS_MAX);
			rc = -1;
			break;
		}
		if (ks->n == cap) {
			cap = cap ? cap * 2 : 8;
			ks->v = xrealloc(ks->v, cap * sizeof(*ks->v));
		}
		if (load_one(dir, e->d_name, &ks->v[ks->n], err, errsz) < 0)
			rc = -1;
		else
			ks->n++;
	}
	closedir(d);
	if (rc < 0 || ks->n == 0) {
		dkim_keys_free(&ks);
		return rc;
	}
	qsort(ks->v, ks->n, sizeof(*ks->v), key_cmp);
	*keys_r = ks;
	return 0;
}

void dkim_keys_free(struct dkim_keys **kp)
{
	struct dkim_keys *k = *kp;
	if (k == NULL)
		return;
	*kp = NULL;
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].domain);
		free(k->v[i].selector);
		EVP_PKEY_free(k->v[i].pkey);
	}
	free(k->v);
	free(k);
}

size_t dkim_keys_count(const struct dkim_keys *k)
{
	return k ? k->n : 0;
}

bool dkim_keys_have(const struct dkim_keys *k, const char *domain)
{
	for (size_t i = 0; k != NULL && i < k->n; i++)
		if (strcasecmp(k->v[i].domain, domain) == 0)
			return true;
	return false;
}

bool dkim_from_domain(const char *msg, size_t len, char *dom, size_t domsz)
{
	/* large: not on a worker's stack */
	struct dkim_msg *mp = xmalloc(sizeof(*mp));
	dkim_msg_parse(msg, len, mp);
	const struct dkim_field *from = NULL;
	bool ok = true;
	for (size_t i = 0; i < mp->nf; i++) {
		if (dkim_field_is(&mp->f[i], "from")) {
			ok = from == NULL;
			from = &mp->f[i];
		}
	}
	if (from == NULL || !ok) {
		free(mp);
		return false;
	}
	struct addrlist l;
	addrlist_parse(from->p + from->name_len + 1,
		       from->len - from->name_len - 1, &l);
	ok = false;
	for (size_t i = 0; i < l.n; i++) {
		const struct addrlist_addr *a = &l.v[i];
		if (a->kind != ADDRLIST_MAILBOX || a->domain == NULL || a->ctl)
			continue;
		if (a->domain_len + 1 <= domsz &&
		    name_ok(a->domain, a->domain_len)) {
			for (size_t k = 0; k <= a->domain_len; k++) {
				char c = a->domain[k];
				dom[k] = (c >= 'A' && c <= 'Z')
					     ? (char)(c - 'A' + 'a')
					     : c;
			}
			ok = true;
		}
		break;
	}
	addrlist_free(&l);
	free(mp);
	return ok;
}

/* base64 of n bytes into a new string */
static char *b64(const unsigned char *p, size_t n)
{
	size_t sz = 4 * ((n + 2) / 3) + 1;
	char *o = xmalloc(sz);
	if (base64_encode(p, n, o, sz) < 0)
		o[0] = '\0';
	return o;
}

/* Appends v to out, folded: a line break every 72 columns or so. */
static int append_folded(struct buf *out, const char *v, size_t col)
{
	int rc = 0;
	size_t n = strlen(v);
	for (size_t i = 0; i < n && rc == 0;) {
		size_t room = col < 76 ? 76 - col : 0;
		if (room == 0) {
			rc |= buf_append(out, "\n\t ", 3);
			col = 9;
			continue;
		}
		size_t take = n - i < room ? n - i : room;
		rc |= buf_append(out, v + i, take);
		i += take;
		col += take;
	}
	return rc ? -1 : 0;
}

static int sign_one(const struct dkim_key *k, const struct dkim_msg *m,
		    const char *bh64, const char *h, time_t now,
		    struct buf *out)
{
	struct buf sig, data;
	buf_init(&sig, 8192);
	buf_init(&data, 16 * 1024 * 1024);
	int rc = buf_printf(&sig,
			    "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed;\n"
			    "\td=%s; s=%s; t=%lld;\n\th=",
			    k->ed25519 ? "ed25519-sha256" : "rsa-sha256",
			    k->domain, k->selector, (long long)now);
	rc |= append_folded(&sig, h, 3);
	rc |= buf_printf(&sig, ";\n\tbh=%s;\n\tb=", bh64);
	/* the data signed: the fields of h=, then this field with b=
	   empty and no CRLF (RFC 6376 §3.7) */
	rc |= dkim_headers_data(m, h, true, &data);
	rc |= dkim_canon_header(sig.p, sig.len, true, true, &data);
	unsigned char sigbin[1024];
	size_t siglen = sizeof(sigbin);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (rc == 0 && k->ed25519) {
		/* RFC 8463 §3: PureEdDSA over the SHA-256 of the data */
		unsigned char dg[32];
		unsigned int dl = sizeof(dg);
		if (EVP_Digest(data.p, data.len, dg, &dl, EVP_sha256(), NULL) !=
			1 ||
		    EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) != 1 ||
		    EVP_DigestSign(md, sigbin, &siglen, dg, dl) != 1)
			rc = -1;
	} else if (rc == 0) {
		if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) !=
			1 ||
		    EVP_DigestSign(md, sigbin, &siglen,
				   (const unsigned char *)data.p,
				   data.len) != 1)
			rc = -1;
	}
	EVP_MD_CTX_free(md);
	if (rc == 0) {
		char *b = b64(sigbin, siglen);
		rc |= append_folded(&sig, b, 3);
		free(b);
		rc |= buf_append_char(&sig, '\n');
		rc |= buf_append(out, sig.p, sig.len);
	}
	buf_deinit(&sig);
	buf_deinit(&data);
	return rc ? -1 : 0;
}

int dkim_sign(const struct dkim_keys *k, const char *domain, const char *msg,
	      size_t len, time_t now, struct buf *out)
{
	if (!dkim_keys_have(k, domain))
		return 0;
	struct dkim_msg *m = xmalloc(sizeof(*m));
	dkim_msg_parse(msg, len, m);
	/* h=: the recommended fields as present, From once more */
	struct buf h;
	buf_init(&h, 4096);
	int rc = 0;
	for (size_t i = 0; i < sizeof(sign_names) / sizeof(sign_names[0]);
	     i++) {
		size_t count = 0;
		for (size_t j = 0; j < m->nf; j++)
			count += dkim_field_is(&m->f[j], sign_names[i]);
		if (i == 0)
			count++; /* over-sign From */
		for (size_t c = 0; c < count && c < 8; c++)
			rc |= buf_printf(&h, "%s%s", h.len ? ":" : "",
					 sign_names[i]);
	}
	unsigned char bh[32];
	dkim_body_hash(m->body, m->body_len, true, -1, bh);
	char *bh64 = b64(bh, sizeof(bh));
	int nsig = 0;
	for (size_t i = 0; rc == 0 && i < k->n; i++) {
		if (strcasecmp(k->v[i].domain, domain) != 0)
			continue;
		if (sign_one(&k->v[i], m, bh64, h.p, now, out) < 0)
			rc = -1;
		else
			nsig++;
	}
	free(bh64);
	buf_deinit(&h);
	free(m);
	return rc ? -1 : nsig;
}
