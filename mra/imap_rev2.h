/*
 * IMAP4rev2 (RFC 9051) beside IMAP4rev1: both are advertised, and `ENABLE
 * IMAP4rev2` switches the session (imap_sess.rev2).  What the switch
 * changes (RFC 9051 Appendix E; docs/mra.md lists each item):
 *   - no \Recent: nothing is recent in the session (and nothing is taken
 *     from IMAP4rev1 sessions' \Recent), no "* n RECENT", no
 *     "* OK [UNSEEN n]" at SELECT (mra/imap.c);
 *   - SEARCH without RETURN answers ESEARCH, as "RETURN (ALL)" would
 *     (imap_rev2_search_args below);
 *   - mailbox names are UTF-8 both ways (RFC 9051 §5.1, mra/imap_utf8.c
 *     as for UTF8=ACCEPT, without its SEARCH CHARSET rule);
 * the rest of IMAP4rev2 is offered to both: ESEARCH, LIST-EXTENDED with
 * \NonExistent, LIST-STATUS, STATUS SIZE and DELETED, BINARY, MOVE,
 * UNSELECT, UIDPLUS, NAMESPACE, SPECIAL-USE, LITERAL+ (which covers
 * LITERAL-), IDLE, SASL-IR, ENABLE.
 */
#ifndef YOUJU_MRA_IMAP_REV2_H
#define YOUJU_MRA_IMAP_REV2_H

#include <stddef.h>

#include "imap_parse.h"

struct imap_sess;

/* For a SEARCH of an IMAP4rev2 session without "RETURN (...)": a new
   argument array (free() it; the elements are a's, borrowed) that starts
   with RETURN () and *n grown by 2.  NULL when nothing changes. */
struct imap_arg *imap_rev2_search_args(const struct imap_sess *s,
				       const struct imap_arg *a, size_t *n);

#endif
