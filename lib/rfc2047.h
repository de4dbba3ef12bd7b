/*
 * Header text for mail we write (RFC 2047 §2, §5): a value that is not
 * printable ASCII goes as base64 encoded-words of UTF-8, one a line
 * (folded), each a whole number of characters and at most 75 bytes.
 * Used by webmail's compose and receipts, webadmin's group mail and
 * youju sendmail's From: phrase.
 */
#ifndef YOUJU_RFC2047_H
#define YOUJU_RFC2047_H

#include <stddef.h>

#include "buf.h"

/*
 * The length of the next piece of at most max bytes of the n bytes of
 * UTF-8 at s, cut between characters; a run of max continuation bytes
 * (not UTF-8) is cut at max.  0 only when n is 0.
 */
size_t rfc2047_piece(const char *s, size_t n, size_t max);

/*
 * Appends the n bytes of UTF-8 at s as encoded-words of whole characters,
 * each 64 bytes at most (so a line with a header name under 12 bytes
 * stays within 76), fold between two words ("\r\n " for a message,
 * "\n " for local text); nothing when n is 0.  Returns 0 or -1 (m full).
 */
int rfc2047_words(struct buf *m, const char *s, size_t n, const char *fold);

/* Appends "name: value\r\n", value s (UTF-8, NUL-terminated) as it is
   when printable ASCII under 900 bytes, else as encoded-words.  Returns
   0 or -1 (m full). */
int rfc2047_header(struct buf *m, const char *name, const char *s);

#endif
