/*
 * IMAP output renderers that depend on no connection (review §1 step 7):
 * quoted strings and nstrings (RFC 3501 §4.3, §9), the header-block end,
 * and ENVELOPE (§7.4.2) with addresses from lib/addrlist.  They append to
 * a struct buf, so FETCH, the youju.index builder (imap_index.c) and any
 * later user write the same bytes.  Each returns 0, or -1 when out's
 * maximum was reached (out then holds a truncated, unusable value).
 */
#ifndef YOUJU_MRA_IMAP_RENDER_H
#define YOUJU_MRA_IMAP_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* "..." with '\' before '"' and '\'; for text known to hold no CR, LF,
   NUL (mailbox names, STATUS). */
int imap_render_quoted(struct buf *out, const char *p, size_t len);

/* A literal: "{len}" CR LF and the bytes. */
int imap_render_literal(struct buf *out, const char *p, size_t len);

/* An nstring: NIL for p == NULL (or len == 0 when nil_if_empty), a quoted
   string when short and free of CR, LF, NUL and 8-bit bytes, else a
   literal. */
int imap_render_nstring(struct buf *out, const char *p, size_t len,
			bool nil_if_empty);

/* A sequence set "1:3,7,9:10" of the ascending numbers v[0..n) (RFC 3501
   §9 sequence-set; nothing for n == 0): runs of consecutive numbers as
   "a:b".  At most 22 bytes per number. */
int imap_render_seqset(struct buf *out, const uint32_t *v, size_t n);

/* The length of the header block of msg, its blank line included (the
   whole of msg when there is none). */
size_t imap_render_header_end(const char *msg, size_t len);

/* The ENVELOPE value "(date subject from ...)" of the message or header
   block msg (CR LF or LF lines). */
int imap_render_envelope(struct buf *out, const char *msg, size_t len);

#endif
