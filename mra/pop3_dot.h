/*
 * The POP3 form of a message, produced piece by piece (RFC 1939 §3):
 * every line ends in CR LF (a bare LF becomes CR LF, one CR before LF is
 * the line end), a line starting with "." gets another ".", and TOP stops
 * after n lines of the body.  The state carries across pieces, so a
 * message can be sent from its file in bounded chunks: a CR at the end of
 * one chunk and the LF at the start of the next are one line end, and a
 * "." is stuffed only at the start of a line whichever chunk it is in.
 */
#ifndef YOUJU_POP3_DOT_H
#define YOUJU_POP3_DOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct pop3_dot {
	uint64_t body_lines;  /* body lines to send (UINT64_MAX: all) */
	uint64_t lines;       /* body lines begun */
	size_t line_len;      /* content bytes of the current line so far */
	bool bol;             /* at the start of a line */
	bool cr;              /* a CR held back: maybe the line's end */
	bool in_body;         /* the empty line after the header was seen */
	bool done;            /* TOP's lines are out: the rest is ignored */
};

/* Starts a message; body_lines as TOP's argument, UINT64_MAX for RETR. */
void pop3_dot_init(struct pop3_dot *d, uint64_t body_lines);

/* Appends the POP3 form of the n bytes at p (any bytes) to out.  Returns
   0, or -1 when out's maximum was reached. */
int pop3_dot_feed(struct pop3_dot *d, const char *p, size_t n,
		  struct buf *out);

/* True when the rest of the message would be ignored (TOP). */
bool pop3_dot_done(const struct pop3_dot *d);

/* Ends the message: CR LF after an unterminated last line, then ".".
   Returns 0 or -1 (out full). */
int pop3_dot_end(struct pop3_dot *d, struct buf *out);

#endif
