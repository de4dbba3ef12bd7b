/*
 * Password verification for every scheme an ExtMail or Dovecot database may
 * hold, and hashing of new passwords.  crypt(3) families go through
 * libxcrypt's crypt_r() with a per-call heap crypt_data (it is ~32 KiB, too
 * big for worker-thread stacks), except that a "$1$" check goes to the
 * MD5-crypt verifier stage (lib/md5crypt_batch), whose results are
 * libxcrypt's byte for byte; the LDAP-style digests ({MD5}, {SHA},
 * {SSHA512}...) through OpenSSL EVP.  The stored value decides the scheme:
 * a "{NAME}" prefix (case-insensitive), a "$id$" crypt prefix, or ExtMail's
 * unprefixed forms (32-hex plain-md5, 13-char DES, "salt$hash" md5-crypt).
 * Every comparison is constant time over equal lengths and every temporary
 * copy of a secret or digest is wiped with explicit_bzero.
 */
#include "pwhash.h"

#include <crypt.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "md5crypt_batch.h"
#include "str.h"
#include "xalloc.h"

/* Longer stored values are no hash we know (the column is varchar(255)). */
#define PWHASH_STORED_MAX 1024
/* libxcrypt refuses longer pass phrases (its size counts the NUL); we
   refuse them for every scheme. */
#define PWHASH_PASSWORD_MAX (CRYPT_MAX_PASSPHRASE_SIZE - 1)
/* Largest decoded {SSHA*} value: a SHA-512 digest plus a generous salt. */
#define PWHASH_DECODED_MAX 512

static const char crypt_alphabet[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* ---- helpers ----------------------------------------------------------- */

static bool is_crypt_char(char c)
{
	return c != '\0' && strchr(crypt_alphabet, c) != NULL;
}

static bool all_crypt_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_crypt_char(s[i]))
			return false;
	return true;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (str_hex_digit(s[i]) < 0)
			return false;
	return true;
}

/* Decodes 2*n hex digits into out[n].  Returns 0 or -1. */
static int hex_decode(const char *s, size_t slen, unsigned char *out, size_t n)
{
	if (slen != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = str_hex_digit(s[2 * i]);
		int lo = str_hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/*
 * Constant-time equality of two strings.  Unequal lengths mismatch, but the
 * content is still walked so the time depends on the lengths only.
 */
static bool secure_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen) {
		(void)str_secure_eq(a, a, alen);
		return false;
	}
	return str_secure_eq(a, b, alen);
}

/* ---- crypt(3) ----------------------------------------------------------- */

/*
 * Runs crypt_r(password, setting) and compares the result with expect (the
 * whole stored hash, usually setting itself).  A failure token ("*0", "*1")
 * or NULL is UNSUPPORTED and can never match.
 */
static enum pwhash_result crypt_check(const char *password, const char *setting,
				      const char *expect)
{
	struct crypt_data *cd;
	enum pwhash_result ret = PWHASH_UNSUPPORTED;
	const char *out;
	char md5[MD5CRYPT_X8_OUT_SIZE];

	/* "$1$": through the verifier stage, which hashes concurrent
	   checks together in vector lanes (lib/md5crypt_batch.h) */
	if (strncmp(setting, "$1$", 3) == 0 &&
	    md5crypt_batch_hash(password, setting, md5) == 0) {
		ret = secure_eq(md5, strlen(md5), expect, strlen(expect))
			  ? PWHASH_MATCH
			  : PWHASH_MISMATCH;
		explicit_bzero(md5, sizeof(md5));
		return ret;
	}
	/* this thread's job will not reach the stage: nobody waits for it */
	md5crypt_batch_done();
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_r(password, setting, cd);

	if (out != NULL && out[0] != '*' && out[0] != '\0') {
		ret = secure_eq(out, strlen(out), expect, strlen(expect))
			  ? PWHASH_MATCH
			  : PWHASH_MISMATCH;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

/* Traditional DES: two salt characters and 11 hash characters. */
static bool is_des(const char *s)
{
	return strlen(s) == 13 && all_crypt_chars(s, 13);
}

/* ExtMail's md5-crypt without its "$1$": "<salt 1..8>$<22 chars>". */
static bool is_bare_md5crypt(const char *s)
{
	const char *d = strchr(s, '$');
	if (d == NULL || d == s || d - s > 8 ||
	    !all_crypt_chars(s, (size_t)(d - s)))
		return false;
	return strlen(d + 1) == 22 && all_crypt_chars(d + 1, 22);
}

enum crypt_family {
	CF_NONE,
	CF_MD5,
	CF_SHA256,
	CF_SHA512,
	CF_BCRYPT,
	CF_YESCRYPT,
	CF_DES,
};

static enum crypt_family crypt_family_of(const char *s)
{
	if (strncmp(s, "$1$", 3) == 0)
		return CF_MD5;
	if (strncmp(s, "$5$", 3) == 0)
		return CF_SHA256;
	if (strncmp(s, "$6$", 3) == 0)
		return CF_SHA512;
	if (strncmp(s, "$2a$", 4) == 0 || strncmp(s, "$2b$", 4) == 0 ||
	    strncmp(s, "$2y$", 4) == 0)
		return CF_BCRYPT;
	if (strncmp(s, "$y$", 3) == 0)
		return CF_YESCRYPT;
	if (is_des(s))
		return CF_DES;
	return CF_NONE;
}

/* Verifies a crypt string of one of our families (want CF_NONE: any). */
static enum pwhash_result crypt_verify(const char *password, const char *s,
				       enum crypt_family want)
{
	enum crypt_family f = crypt_family_of(s);

	if (f == CF_NONE || (want != CF_NONE && f != want))
		return PWHASH_UNSUPPORTED;
	return crypt_check(password, s, s);
}

/* md5-crypt that may lack its "$1$" (ExtMail prepends it when missing). */
static enum pwhash_result md5crypt_verify(const char *password, const char *s)
{
	char full[PWHASH_STORED_MAX + 4];
	int n;

	if (strncmp(s, "$1$", 3) == 0)
		return crypt_check(password, s, s);
	n = snprintf(full, sizeof(full), "$1$%s", s);
	if (n < 0 || (size_t)n >= sizeof(full))
		return PWHASH_UNSUPPORTED;
	return crypt_check(password, full, full);
}

/* ---- digests ------------------------------------------------------------ */

/* md = digest(password || salt).  Returns the digest length or 0. */
static unsigned digest(const EVP_MD *type, const char *password,
		       const unsigned char *salt, size_t saltlen,
		       unsigned char md[EVP_MAX_MD_SIZE])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned len = 0;

	if (ctx == NULL)
		return 0;
	if (EVP_DigestInit_ex(ctx, type, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
	    (saltlen > 0 && EVP_DigestUpdate(ctx, salt, saltlen) != 1) ||
	    EVP_DigestFinal_ex(ctx, md, &len) != 1)
		len = 0;
	EVP_MD_CTX_free(ctx);
	return len;
}

/*
 * {MD5} {SHA} {SHA256} {SHA512} and their salted {S...} forms.  The value is
 * base64 (digest, then salt when salted) or, unsalted, hex as Dovecot also
 * accepts.  A value of the wrong shape is UNSUPPORTED.
 */
static enum pwhash_result digest_verify(const char *password, const char *s,
					const EVP_MD *type, bool salted)
{
	unsigned char dec[PWHASH_DECODED_MAX];
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t slen = strlen(s), declen = 0;
	size_t mdlen = (size_t)EVP_MD_get_size(type);
	enum pwhash_result ret = PWHASH_UNSUPPORTED;
	unsigned got;

	if (mdlen == 0 || mdlen > EVP_MAX_MD_SIZE)
		return PWHASH_UNSUPPORTED;
	if (!salted && slen == 2 * mdlen && is_hex(s, slen)) {
		if (hex_decode(s, slen, dec, mdlen) < 0)
			goto out;
		declen = mdlen;
	} else if (base64_decode((struct str){s, slen}, true, dec, sizeof(dec),
				 &declen) < 0) {
		goto out;
	}
	if (salted ? declen <= mdlen : declen != mdlen)
		goto out;
	got = digest(type, password, dec + mdlen, declen - mdlen, md);
	if (got != mdlen)
		goto out;
	ret = str_secure_eq(md, dec, mdlen) ? PWHASH_MATCH : PWHASH_MISMATCH;
out:
	explicit_bzero(dec, sizeof(dec));
	explicit_bzero(md, sizeof(md));
	return ret;
}

/* ExtMail's plain-md5: 32 hex digits, either case. */
static enum pwhash_result plain_md5_verify(const char *password, const char *s)
{
	return digest_verify(password, s, EVP_md5(), false);
}

static enum pwhash_result plain_verify(const char *password, const char *s)
{
	return secure_eq(password, strlen(password), s, strlen(s))
		   ? PWHASH_MATCH
		   : PWHASH_MISMATCH;
}

/* ---- scheme table ------------------------------------------------------- */

enum scheme_kind {
	SK_CRYPT_ANY, /* {CRYPT}: ExtMail md5-crypt or DES, Dovecot any crypt */
	SK_CRYPT,     /* {X-CRYPT}: one crypt family */
	SK_MD5CRYPT,  /* {MD5CRYPT}: "$1$" optional */
	SK_MD5,	      /* {MD5}: base64 md5, or Dovecot's md5-crypt alias */
	SK_DIGEST,
	SK_SDIGEST,
	SK_PLAIN,
};

struct scheme {
	const char *prefix; /* inside the braces, matched case-insensitively */
	enum scheme_kind kind;
	enum crypt_family family;
	const EVP_MD *(*md)(void);
	const char *name;
};

static const struct scheme schemes[] = {
    {"CRYPT", SK_CRYPT_ANY, CF_NONE, NULL, "crypt"},
    {"MD5CRYPT", SK_MD5CRYPT, CF_MD5, NULL, "md5-crypt"},
    {"MD5-CRYPT", SK_MD5CRYPT, CF_MD5, NULL, "md5-crypt"},
    {"SHA256-CRYPT", SK_CRYPT, CF_SHA256, NULL, "sha256-crypt"},
    {"SHA512-CRYPT", SK_CRYPT, CF_SHA512, NULL, "sha512-crypt"},
    {"BLF-CRYPT", SK_CRYPT, CF_BCRYPT, NULL, "bcrypt"},
    {"PLAIN", SK_PLAIN, CF_NONE, NULL, "plain"},
    {"CLEARTEXT", SK_PLAIN, CF_NONE, NULL, "plain"},
    {"CLEAR", SK_PLAIN, CF_NONE, NULL, "plain"},
    {"MD5", SK_MD5, CF_NONE, EVP_md5, "ldap-md5"},
    {"PLAIN-MD5", SK_DIGEST, CF_NONE, EVP_md5, "plain-md5"},
    {"LDAP-MD5", SK_DIGEST, CF_NONE, EVP_md5, "ldap-md5"},
    {"SHA", SK_DIGEST, CF_NONE, EVP_sha1, "sha1"},
    {"SHA1", SK_DIGEST, CF_NONE, EVP_sha1, "sha1"},
    {"SSHA", SK_SDIGEST, CF_NONE, EVP_sha1, "ssha"},
    {"SHA256", SK_DIGEST, CF_NONE, EVP_sha256, "sha256"},
    {"SSHA256", SK_SDIGEST, CF_NONE, EVP_sha256, "ssha256"},
    {"SHA512", SK_DIGEST, CF_NONE, EVP_sha512, "sha512"},
    {"SSHA512", SK_SDIGEST, CF_NONE, EVP_sha512, "ssha512"},
};

static const char *const family_names[] = {
    [CF_NONE] = "unknown",	  [CF_MD5] = "md5-crypt",
    [CF_SHA256] = "sha256-crypt", [CF_SHA512] = "sha512-crypt",
    [CF_BCRYPT] = "bcrypt",	  [CF_YESCRYPT] = "yescrypt",
    [CF_DES] = "des-crypt",
};

/*
 * Finds the "{NAME}" prefix of stored.  Returns the scheme and sets *value_r
 * past the brace, or NULL when stored has no known prefix.
 */
static const struct scheme *scheme_find(const char *stored,
					const char **value_r)
{
	const char *end;
	size_t len;

	if (stored[0] != '{')
		return NULL;
	end = strchr(stored, '}');
	if (end == NULL)
		return NULL;
	len = (size_t)(end - stored - 1);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strlen(schemes[i].prefix) == len &&
		    strncasecmp(schemes[i].prefix, stored + 1, len) == 0) {
			*value_r = end + 1;
			return &schemes[i];
		}
	}
	return NULL;
}

static enum pwhash_result scheme_verify(const struct scheme *sc,
					const char *password, const char *v)
{
	switch (sc->kind) {
	case SK_CRYPT_ANY:
		/* extmail-compat.md §4: "{CRYPT}$1$" is md5-crypt, any
		   other value DES; Dovecot's CRYPT also takes $5$ $6$ $2y$ */
		return crypt_verify(password, v, CF_NONE);
	case SK_CRYPT:
		return crypt_verify(password, v, sc->family);
	case SK_MD5CRYPT:
		return md5crypt_verify(password, v);
	case SK_MD5:
		/* Dovecot's {MD5} is md5-crypt; ExtMail's is base64 md5 */
		if (strncmp(v, "$1$", 3) == 0)
			return crypt_check(password, v, v);
		return digest_verify(password, v, sc->md(), false);
	case SK_DIGEST:
		return digest_verify(password, v, sc->md(), false);
	case SK_SDIGEST:
		return digest_verify(password, v, sc->md(), true);
	case SK_PLAIN:
		return plain_verify(password, v);
	}
	return PWHASH_UNSUPPORTED;
}

/*
 * Unprefixed values.  *ambiguous_r is set for the shapes a clear-text
 * password may also have (13-char DES, 32-hex md5, bare md5-crypt), which
 * plain_fallback then also compares as clear text.
 */
static enum pwhash_result bare_verify(const char *password, const char *s,
				      bool *ambiguous_r)
{
	enum crypt_family f = crypt_family_of(s);
	size_t len = strlen(s);

	*ambiguous_r = false;
	if (f == CF_DES) {
		*ambiguous_r = true;
		return crypt_check(password, s, s);
	}
	if (f != CF_NONE)
		return crypt_check(password, s, s);
	if (len == 32 && is_hex(s, len)) {
		*ambiguous_r = true;
		return plain_md5_verify(password, s);
	}
	if (is_bare_md5crypt(s)) {
		*ambiguous_r = true;
		return md5crypt_verify(password, s);
	}
	return PWHASH_UNSUPPORTED;
}

enum pwhash_result pwhash_verify(const char *password, const char *stored,
				 bool plain_fallback)
{
	const struct scheme *sc;
	const char *value;
	enum pwhash_result ret;
	bool ambiguous;

	if (password == NULL || stored == NULL || stored[0] == '\0')
		return PWHASH_MISMATCH;
	if (strlen(stored) > PWHASH_STORED_MAX)
		return PWHASH_UNSUPPORTED;
	if (strlen(password) > PWHASH_PASSWORD_MAX)
		return PWHASH_MISMATCH;
	/* "*" and "!" mark locked accounts (as in /etc/shadow), and "*0" is
	   crypt's failure token: such a value never matches, not even as
	   clear text */
	if (stored[0] == '*' || stored[0] == '!')
		return PWHASH_MISMATCH;

	sc = scheme_find(stored, &value);
	if (sc != NULL) {
		if (value[0] == '\0')
			return PWHASH_MISMATCH;
		return scheme_verify(sc, password, value);
	}
	ret = bare_verify(password, stored, &ambiguous);
	if (ret == PWHASH_MATCH || !plain_fallback)
		return ret;
	if (ret == PWHASH_UNSUPPORTED || ambiguous)
		return plain_verify(password, stored);
	return ret;
}

const char *pwhash_scheme_name(const char *stored)
{
	const struct scheme *sc;
	const char *value;
	enum crypt_family f;

	if (stored == NULL || stored[0] == '\0' ||
	    strlen(stored) > PWHASH_STORED_MAX)
		return "unknown";
	sc = scheme_find(stored, &value);
	if (sc != NULL) {
		switch (sc->kind) {
		case SK_CRYPT_ANY:
			return family_names[crypt_family_of(value)];
		case SK_MD5:
			if (strncmp(value, "$1$", 3) == 0)
				return "md5-crypt";
			return sc->name;
		default:
			return sc->name;
		}
	}
	f = crypt_family_of(stored);
	if (f != CF_NONE)
		return family_names[f];
	if (strlen(stored) == 32 && is_hex(stored, 32))
		return "plain-md5";
	if (is_bare_md5crypt(stored))
		return "md5-crypt";
	return "unknown";
}

/* ---- hashing ------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *prefix;
	unsigned long count; /* 0: libxcrypt's default cost */
} make_schemes[] = {
    {"sha512-crypt", "$6$", 0}, /* 5000 rounds, no "rounds=" field */
    {"yescrypt", "$y$", 0},
    {"bcrypt", "$2b$", 10}, /* libxcrypt's default is only 5 */
    {"md5-crypt", "$1$", 0},
};

char *pwhash_make(const char *password, const char *scheme,
		  const char **error_r)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *prefix = NULL;
	unsigned long count = 0;
	struct crypt_data *cd;
	const char *out;
	char *ret = NULL;

	if (scheme == NULL || scheme[0] == '\0')
		scheme = "sha512-crypt";
	for (size_t i = 0; i < sizeof(make_schemes) / sizeof(make_schemes[0]);
	     i++) {
		if (strcasecmp(scheme, make_schemes[i].name) == 0) {
			prefix = make_schemes[i].prefix;
			count = make_schemes[i].count;
		}
	}
	if (prefix == NULL) {
		*error_r = "unknown password scheme";
		return NULL;
	}
	if (password == NULL || strlen(password) > PWHASH_PASSWORD_MAX) {
		*error_r = "password too long";
		return NULL;
	}
	/* NULL random: libxcrypt reads the kernel's entropy itself.  "$1$"
	   gets ExtMail's 8-character salt. */
	if (crypt_gensalt_rn(prefix, count, NULL, 0, setting,
			     sizeof(setting)) == NULL ||
	    setting[0] == '*') {
		*error_r = "cannot generate a salt";
		return NULL;
	}
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_r(password, setting, cd);
	if (out == NULL || out[0] == '*' || out[0] == '\0')
		*error_r = "crypt failed";
	else
		ret = xstrdup(out);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}
