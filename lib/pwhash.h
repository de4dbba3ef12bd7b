/*
 * Password hashing and verification (DESIGN §7, extmail-compat.md §4).
 * Verifies crypt(3) MD5 ($1$), SHA-256 ($5$), SHA-512 ($6$), bcrypt ($2a$,
 * $2b$, $2y$), yescrypt ($y$), traditional DES crypt, and the prefixed forms
 * {CRYPT} {MD5CRYPT} {SHA256-CRYPT} {SHA512-CRYPT} {BLF-CRYPT} {PLAIN}
 * {CLEARTEXT} {CLEAR} {MD5} {PLAIN-MD5} {LDAP-MD5} {SHA} {SHA1} {SSHA}
 * {SHA256} {SSHA256} {SHA512} {SSHA512}, and ExtMail's unprefixed 32-hex
 * plain-md5.  All comparisons are constant time; thread-safe (crypt_r).
 */
#ifndef YOUJU_PWHASH_H
#define YOUJU_PWHASH_H

#include <stdbool.h>
#include <stddef.h>

enum pwhash_result {
	PWHASH_MATCH = 1,
	PWHASH_MISMATCH = 0,
	PWHASH_UNSUPPORTED = -1, /* the stored value is no hash we know */
};

/*
 * Checks password against stored.  plain_fallback: when stored has no
 * recognisable scheme, compare it as clear text (ExtMail's SYS_CRYPT_TYPE
 * plain databases); otherwise such a value is PWHASH_UNSUPPORTED.  An empty
 * stored value never matches.
 */
enum pwhash_result pwhash_verify(const char *password, const char *stored,
				 bool plain_fallback);

/*
 * Hashes password for storage with scheme "sha512-crypt" (default, "$6$"),
 * "yescrypt" ("$y$"), "bcrypt" ("$2b$") or "md5-crypt" ("$1$", ExtMail's
 * writer, for operators who must stay readable by old tools), with a fresh
 * random salt.  Returns a malloc'd string, or NULL with *error_r.
 */
char *pwhash_make(const char *password, const char *scheme,
		  const char **error_r);

/* The scheme name of a stored value ("md5-crypt", "sha512-crypt", "plain",
   "plain-md5", ...), or "unknown".  For logging and `youju auth test`. */
const char *pwhash_scheme_name(const char *stored);

#endif
