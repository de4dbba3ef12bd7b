/*
 * APPEND of a literal8 (RFC 3516 §4.4): message content that may hold
 * NUL bytes, which a Maildir message and an IMAP literal must not carry.
 * As Dovecot does, each body part holding a NUL is re-encoded in base64
 * (its Content-Transfer-Encoding replaced), so that BODY[] stays a valid
 * message and BINARY[] gives the bytes back.
 */
#ifndef YOUJU_MRA_IMAP_BINARY_H
#define YOUJU_MRA_IMAP_BINARY_H

#include <stddef.h>

#include "buf.h"

/*
 * Writes msg[0..len) to out with every leaf part whose body holds a NUL
 * re-encoded in base64 (76-column lines, CR LF).  Returns 1 when out
 * holds the converted message, 0 when nothing needed it (out untouched),
 * -1 when out's maximum was reached.
 */
int imap_binary_to_base64(const char *msg, size_t len, struct buf *out);

#endif
