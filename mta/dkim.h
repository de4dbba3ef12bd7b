/*
 * DKIM's canonicalisation and hashing (RFC 6376 §3.4, §3.7), shared by
 * signing (dkim_sign.h) and verification (dkim_verify.h).  Messages are
 * youju's queue form: lines end in LF (as written into the queue file),
 * the header section ends at the first empty line; the hashes are taken
 * over the CR LF form the message has on the wire.  Only "relaxed" is
 * produced; "simple" is understood when verifying.
 */
#ifndef MTA_DKIM_H
#define MTA_DKIM_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Largest header field taken into a signature or a verification. */
#define DKIM_HEADER_MAX 65536
/* Most header fields of one message looked at. */
#define DKIM_FIELDS_MAX 1024
/* Most names in h=. */
#define DKIM_H_MAX 64

/* One header field of a message: [p, p + len) is "Name: value" with its
   folding (LF line ends, no final LF). */
struct dkim_field {
	const char *p;
	size_t len;
	size_t name_len;
};

/* The header fields and body of msg[0..len). */
struct dkim_msg {
	struct dkim_field f[DKIM_FIELDS_MAX];
	size_t nf;
	bool too_many; /* fields beyond DKIM_FIELDS_MAX were not kept */
	const char *body;
	size_t body_len;
};

/* Splits msg into header fields and body (never fails: no empty line
   means no body). */
void dkim_msg_parse(const char *msg, size_t len, struct dkim_msg *m);

/* Appends the relaxed form of field f ("name:value" + CRLF unless
   no_crlf) to out.  0 or -1 (out full). */
int dkim_canon_header(const char *p, size_t len, bool relaxed, bool no_crlf,
		      struct buf *out);

/* SHA-256 of the body in relaxed (or simple) form, limited to l bytes of
   canonical body when l >= 0 (the l= tag).  out: 32 bytes. */
void dkim_body_hash(const char *body, size_t len, bool relaxed, long long l,
		    unsigned char out[32]);

/*
 * Appends to out the canonical header data for the names of h (colon
 * separated, as in the h= tag), each taking the next instance of that
 * name from the bottom of m, an exhausted name contributing nothing
 * (RFC 6376 §5.4.2).  0 or -1.
 */
int dkim_headers_data(const struct dkim_msg *m, const char *h, bool relaxed,
		      struct buf *out);

/* Case-insensitive: is field f named name? */
bool dkim_field_is(const struct dkim_field *f, const char *name);

#endif
