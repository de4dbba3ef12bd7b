/*
 * The message side of the sendmail command (cli/sendmail.c), as pure
 * functions so that they are unit-tested and fuzzed: the input as scripts
 * write it (LF or CR LF lines, a lone "." that may end it) turned into LF
 * lines; the header section split off the spool; logical headers walked;
 * RFC 5322 address lists read for -t; and the SMTP encoding (CR LF,
 * dot-stuffing) of what is sent.
 */
#ifndef CLI_SENDMAIL_MSG_H
#define CLI_SENDMAIL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "buf.h"
#include "str.h"

/* Longest header section kept in memory (and longest header line). */
#define SM_HEADER_MAX (1024 * 1024)
/* Longest address taken from a header or the command line (RFC 5321
   4.5.3.1.3, as mta/smtp_parse.h's SMTP_ADDR_MAX). */
#define SM_ADDR_MAX 254
/* Longest full name (-F, $NAME) used for a From: header. */
#define SM_FULLNAME_MAX 256

/* ------------------------------------------------------------ the input */

/*
 * Turns the message on standard input into LF-terminated lines: CR LF
 * becomes LF (a bare CR inside a line is kept), and unless ignore_dots
 * (-i, -oi) a line holding only "." ends the message, as sendmail(1).  The
 * last line gets an LF when it has none.
 */
struct sm_input {
	bool ignore_dots;
	bool bol;  /* at the start of a line */
	bool dot;  /* the line so far is "." (held back) */
	bool cr;   /* a CR held back: dropped if an LF follows */
	bool done; /* the lone "." was seen: ignore the rest */
};

void sm_input_init(struct sm_input *in, bool ignore_dots);
/*
 * Converts n bytes at p, appending to out (which must have room for n + 2
 * bytes).  Returns the bytes consumed: n, or fewer when the lone "." ended
 * the message (in->done is then set; the rest of the input is ignored).
 * Returns -1 when out is full.
 */
__attribute__((warn_unused_result)) ssize_t
sm_input_feed(struct sm_input *in, const char *p, size_t n, struct buf *out);
/* End of input: flushes what is held back (room for 3 bytes).  0 or -1. */
__attribute__((warn_unused_result)) int sm_input_end(struct sm_input *in,
						     struct buf *out);

/* ------------------------------------------------------- the header */

/*
 * Reads the header section at the start of f (LF lines, as sm_input wrote
 * them) into hdr (cleared first; its max should be SM_HEADER_MAX): header
 * fields and their continuation lines, each ending in LF.  A first line
 * "From " (the mbox envelope line) is dropped, as Postfix's sendmail does.
 * The section ends at an empty line (consumed) or at the first line that is
 * neither a field nor a continuation (left for the body), or at the end of
 * f.  *body_off_r gets the offset where the body starts.  Returns 0, or -1
 * with *error_r: a read error (errno set) or a header section over the
 * limit of hdr (errno EFBIG).
 */
int sm_header_read(FILE *f, struct buf *hdr, off_t *body_off_r,
		   const char **error_r);

/* ------------------------------------------------------- addresses */

/* Receives one address (len <= SM_ADDR_MAX, NUL-terminated). Returns 0 or
   -1 to stop the walk. */
typedef int sm_addr_fn(void *ctx, const char *addr, size_t len);

/*
 * Reads an RFC 5322 address list ("A <a@x>, b@y (c), group: c@z;") and
 * calls fn for each address: the angle-addr when there is one (a source
 * route "@r1,@r2:" dropped), else the addr-spec without comments and white
 * space; quoted strings are kept with their quotes.  Display names and
 * group names are skipped; empty members are ignored.  Bounded: nothing
 * is kept beyond SM_ADDR_MAX.  Returns the number of addresses, or -1:
 * an address longer than SM_ADDR_MAX or with a control byte (*bad_r
 * points at the member), or fn returned -1.
 */
int sm_addr_list(struct str value, sm_addr_fn *fn, void *ctx,
		 struct str *bad_r);

/*
 * Appends "From: Full Name <addr>\n" to out: the name as an RFC 5322
 * quoted-string, or an RFC 2047 encoded-word when it has non-ASCII bytes;
 * control bytes are dropped and the name is cut at SM_FULLNAME_MAX.  An
 * empty name gives "From: addr\n".  Returns 0 or -1 when out is full.
 */
__attribute__((warn_unused_result)) int
sm_from_header(struct buf *out, const char *fullname, const char *addr);

/* RFC 3461 xtext of in (ENVID=) into out (size outsz).  0, or -1 when it
   does not fit. */
int sm_xtext(const char *in, char *out, size_t outsz);

#endif
