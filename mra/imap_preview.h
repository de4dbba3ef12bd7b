/*
 * PREVIEW (RFC 8970): a short plain-text preview of a message for
 * FETCH PREVIEW, computed from the message text; FETCH keeps what it
 * computed in the folder's cache (imap_preview_cache.h), and PREVIEW
 * (LAZY) answers only from there (NIL otherwise, §3.1).
 */
#ifndef YOUJU_MRA_IMAP_PREVIEW_H
#define YOUJU_MRA_IMAP_PREVIEW_H

#include <stddef.h>

struct buf;

/* Characters (not bytes) at most in a preview; RFC 8970 §3.1 caps it at
   256, Dovecot sends about 200. */
#define IMAP_PREVIEW_CHARS 200

/*
 * Appends to out the preview of the CR LF message msg: the first
 * text/plain part that is not an attachment, else the first text/html
 * one with its tags, comments, style and script removed and the common
 * entities decoded; transfer- and charset-decoded to UTF-8, quoted lines
 * ("> ...") left out, white space runs made one space, trimmed, cut at
 * IMAP_PREVIEW_CHARS characters.  An empty string when the message has
 * no text.  0, or -1 when out is full.
 */
int imap_preview_make(const char *msg, size_t len, struct buf *out);

/* Appends the FETCH item "PREVIEW <nstring>" of msg to out (after a space
   unless out is empty).  0, or -1 when out is full. */
int imap_preview_fetch(struct buf *out, const char *msg, size_t len);
/* The same for a preview already made (text NULL: "PREVIEW NIL"). */
int imap_preview_item(struct buf *out, const char *text, size_t len);

#endif
