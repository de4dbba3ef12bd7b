/*
 * DKIM verification (RFC 6376 §6; rsa-sha256 and RFC 8463's
 * ed25519-sha256) of the DKIM-Signature fields of a message, keys from
 * DNS (SELECTOR._domainkey.DOMAIN TXT).  rsa-sha1 is not accepted (RFC
 * 8301).  Blocking DNS: worker threads only.
 */
#ifndef MTA_DKIM_VERIFY_H
#define MTA_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

/* Most signatures of one message verified (the rest are ignored). */
#define DKIM_VERIFY_MAX 5

enum dkim_result {
	DKIM_NONE,
	DKIM_PASS,
	DKIM_FAIL,	/* body hash or signature does not match */
	DKIM_NEUTRAL,	/* a signature that cannot be checked (syntax) */
	DKIM_TEMPERROR, /* the key could not be fetched now */
	DKIM_PERMERROR, /* no key, a revoked or unusable key */
};

struct dkim_sig_result {
	enum dkim_result result;
	char domain[256]; /* d= */
	char selector[64];
	char b8[9];	    /* the first 8 characters of b= (RFC 6008) */
	const char *reason; /* static text for the log */
};

/* "pass", "fail", ... as RFC 8601 writes them. */
const char *dkim_result_name(enum dkim_result r);

/*
 * Verifies each DKIM-Signature of msg[0..len) (queue form, LF line
 * ends), at most DKIM_VERIFY_MAX, into res; returns how many (0: none).
 * now: for the x= expiry.
 */
size_t dkim_verify(const char *msg, size_t len, long long now,
		   struct dkim_sig_result *res);

/* Parses one tag-list value: the value of tag (e.g. "d") into out
   (outsz), white space removed; false when the tag is absent. */
bool dkim_tag(const char *list, size_t len, const char *tag, char *out,
	      size_t outsz);

#endif
