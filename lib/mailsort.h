/*
 * The sort and thread keys of a message (RFC 5256 §2): the base subject,
 * the sent date, the comparison form of strings (i;unicode-casemap as
 * Dovecot orders) and the address keys.  youju-mra's SORT and THREAD and
 * youju-webmail's list and conversation view use these, so both order
 * mail the same way.
 */
#ifndef YOUJU_MAILSORT_H
#define YOUJU_MAILSORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Appends the base subject of the decoded subject s[0..len) (RFC 5256
 * §2.1: white space collapsed, "(fwd)" trailers, "Re:"/"Fw:"/"Fwd:"
 * leaders with their "[blob]"s and a "[fwd: ...]" wrapper removed) to
 * out.  Returns 0 or -1 (full).
 */
int mailsort_base_subject(const char *s, size_t len, struct buf *out,
			  bool *reply_r);

/* *reply_r (may be NULL) tells whether a reply or forward marker was
   removed (RFC 5256 §2.1 step 1-6; THREAD's "reply" subjects). */

/* RFC 5322 §3.3 date-time (obsolete zones too) in UTC seconds. */
bool mailsort_parse_date(const char *v, size_t len, int64_t *t_r);

/* The comparison form of a string (owned; free()): case-folded, ASCII
   letters upper-cased, as i;unicode-casemap orders. */
char *mailsort_fold(const char *p, size_t len);

/* The RFC 2047-decoded value of the first field name of header block
   hdr into out (reset first).  False when absent or undecodable. */
bool mailsort_field(const char *hdr, size_t len, const char *name,
		    struct buf *out);

/*
 * The FROM/TO/CC key of header field name of hdr (the first address's
 * local part, or a leading group's name) into *box_r and the
 * DISPLAYFROM/DISPLAYTO key (RFC 5957: its display name, else
 * local@domain) into *disp_r, both owned (free()) comparison forms, ""
 * when the field is absent.
 */
void mailsort_addr_keys(const char *hdr, size_t len, const char *name,
			char **box_r, char **disp_r);

#endif
