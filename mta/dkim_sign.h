/*
 * DKIM signing (RFC 6376 with rsa-sha256, RFC 8463 ed25519-sha256) of
 * mail from hosted domains: the keys of dkim_key_directory
 * (DOMAIN.SELECTOR.key, PEM, made by `youju dkim keygen`), and one
 * DKIM-Signature per key of the From: domain, relaxed/relaxed, over the
 * header fields RFC 6376 §5.4.1 recommends, From: over-signed.
 */
#ifndef MTA_DKIM_SIGN_H
#define MTA_DKIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

struct dkim_keys;

/* Most keys loaded. */
#define DKIM_KEYS_MAX 4096

/*
 * Reads every DOMAIN.SELECTOR.key of dir (call as root, before dropping
 * privileges).  A missing directory means no keys (*keys_r NULL, 0).  A
 * key that other users may read, or that does not load, is an error
 * (-1, message in err naming the file).
 */
int dkim_keys_load(const char *dir, struct dkim_keys **keys_r, char *err,
		   size_t errsz);
void dkim_keys_free(struct dkim_keys **k);
/* Keys loaded (0 for NULL). */
size_t dkim_keys_count(const struct dkim_keys *k);
/* True when domain (case-insensitive) has a key. */
bool dkim_keys_have(const struct dkim_keys *k, const char *domain);

/*
 * Signs msg[0..len) (queue form, LF line ends) with every key of domain:
 * appends one "DKIM-Signature: ..." field per key (folded, LF line ends)
 * to out.  Returns the number of signatures (0: no key for domain), or
 * -1 (out full, a crypto failure).  Thread-safe.
 */
int dkim_sign(const struct dkim_keys *k, const char *domain, const char *msg,
	      size_t len, time_t now, struct buf *out);

/* The domain of the (first) From: address of msg into dom (domsz
   bytes, lower case); false when there is none or several From fields. */
bool dkim_from_domain(const char *msg, size_t len, char *dom, size_t domsz);

#endif
