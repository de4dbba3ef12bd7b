/*
 * Base64 (RFC 4648 §4) for SASL payloads, CRAM responses and the {MD5},
 * {SHA}, {SSHA}... password forms.  Decoding is strict: characters outside
 * the alphabet, misplaced '=' and non-zero unused bits (§3.5) are errors,
 * so two different strings never decode to the same secret.
 */
#ifndef YOUJU_BASE64_H
#define YOUJU_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/*
 * Decodes in into out (at most outsz bytes); *n_r gets the length.
 * pad_optional: accept input whose '=' padding was left off (some stored
 * password hashes); otherwise the length must be a multiple of 4.
 * Returns 0, or -1 for bad input or when out is too small.
 */
__attribute__((warn_unused_result)) int
base64_decode(struct str in, bool pad_optional, unsigned char *out,
	      size_t outsz, size_t *n_r);

/* The value (0-63) of one character of the RFC 4648 alphabet, or -1
   (lib/mime's lenient decoder shares it). */
int base64_value(unsigned char c);

/* Encodes n bytes of in with padding into out (outsz must hold
   4 * ceil(n / 3) + 1 bytes, NUL included).  Returns 0 or -1. */
__attribute__((warn_unused_result)) int base64_encode(const void *in, size_t n,
						      char *out, size_t outsz);

#endif
