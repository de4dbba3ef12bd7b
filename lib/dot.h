/*
 * The one dot-stuffing encoder: a message to its wire form for SMTP DATA
 * (RFC 5321 §4.5.2) and POP3 RETR/TOP (RFC 1939 §3), produced piece by
 * piece.  Every line ends in CR LF, a line starting with "." gets another
 * ".", and the end is ".\r\n".  The state carries across pieces, so a
 * message can be sent from its file in bounded chunks: a "." is stuffed
 * only at the start of a line whichever chunk it is in.  Any byte, NUL
 * included, passes through.
 *
 * Options:
 * - DOT_CRLF_IN: one CR right before an LF is part of the line end (a
 *   Maildir file may hold CR LF lines), also when the CR ends one chunk and
 *   the LF starts the next.  Without it (queue files and sendmail's spool,
 *   whose lines end in a bare LF) every CR is data: "a\r\n" becomes
 *   "a\r\r\n".
 * - body_lines: POP3 TOP stops after that many body lines (the lines after
 *   the first empty line); DOT_ALL_LINES sends everything.
 * - line_max: a line longer than that many bytes on the wire is folded by
 *   inserting CR LF SPACE (Postfix's smtp_line_length_limit); 0 = never,
 *   1 counts as 2 (a continuation line needs room for its space).
 */
#ifndef YOUJU_DOT_H
#define YOUJU_DOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DOT_CRLF_IN   1u
#define DOT_ALL_LINES UINT64_MAX

struct dot_enc {
	/* settings */
	unsigned flags;
	uint64_t body_lines;
	size_t line_max;
	/* state */
	uint64_t lines;	 /* body lines begun */
	size_t line_len; /* content bytes of the current line so far */
	size_t col;	 /* bytes of the current wire line (folding) */
	bool bol;	 /* at the start of a line */
	bool cr;	 /* a CR held back: maybe the line's end */
	bool in_body;	 /* the empty line after the header was seen */
	bool done;	 /* TOP's lines are out: the rest is ignored */
};

/* Starts a message. */
void dot_enc_init(struct dot_enc *d, unsigned flags, uint64_t body_lines,
		  size_t line_max);

/* Appends the wire form of the n bytes at p to out.  Returns 0, or -1 when
   out's maximum was reached (out then holds part of the piece). */
__attribute__((warn_unused_result)) int
dot_enc_feed(struct dot_enc *d, const char *p, size_t n, struct buf *out);

/* True when the rest of the message would be ignored (TOP). */
bool dot_enc_done(const struct dot_enc *d);

/* Ends the message: CR LF after an unterminated last line (a held CR is
   that line end), then ".\r\n".  Returns 0 or -1 (out full). */
__attribute__((warn_unused_result)) int dot_enc_end(struct dot_enc *d,
						    struct buf *out);

/* The whole message at once: init, feed, end.  0 or -1 (out full). */
__attribute__((warn_unused_result)) int dot_encode(const char *p, size_t n,
						   unsigned flags,
						   size_t line_max,
						   struct buf *out);

#endif
