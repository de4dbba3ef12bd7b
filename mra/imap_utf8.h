/*
 * UTF8=ACCEPT (RFC 6855), which IMAP4rev2 (RFC 9051) asks servers to
 * offer: after "ENABLE UTF8=ACCEPT" mailbox names travel in UTF-8 both
 * ways (the folders on disk keep Dovecot's modified UTF-7 names, so the
 * conversion happens at the protocol edge), APPEND takes the "UTF8
 * (literal8)" data item, and SEARCH with a CHARSET is refused (§3).
 */
#ifndef YOUJU_MRA_IMAP_UTF8_H
#define YOUJU_MRA_IMAP_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "imap_parse.h"

struct mra_conn;

/* Longest mailbox name converted (UTF-8 or modified UTF-7). */
#define IMAP_UTF8_NAME_MAX 2048

/* Whether c is an IMAP session whose mailbox names are UTF-8: it
   enabled UTF8=ACCEPT or IMAP4rev2 (RFC 9051 §5.1). */
bool imap_utf8_on(const struct mra_conn *c);

/*
 * The mailbox name (modified UTF-7, as stored) as c's client sees it:
 * name itself, or its UTF-8 form in out (outsz bytes) once UTF8=ACCEPT
 * is on.  A name that does not convert is sent as stored.  Borrowed.
 */
const char *imap_utf8_name_out(const struct mra_conn *c, const char *name,
			       char *out, size_t outsz);

/*
 * Before a command runs, with on: the session enabled UTF8=ACCEPT, and
 * names: its mailbox names are UTF-8 (UTF8=ACCEPT or IMAP4rev2): its
 * mailbox-name arguments (SELECT ... RENAME, LIST's reference and
 * patterns, COPY's and MOVE's destination, NOTIFY's SUBTREE and
 * MAILBOXES names) from UTF-8 to modified UTF-7 when on or names, and
 * APPEND's "UTF8 (literal8)" items (also inside CATENATE, as "TEXT
 * literal8") unwrapped to their literal.  Returns 0, or -1 with *error_r
 * (static text for BAD): a name that is not UTF-8, a UTF8 item without
 * UTF8=ACCEPT, SEARCH CHARSET with UTF8=ACCEPT.
 */
int imap_utf8_command(bool on, bool names, struct imap_cmd *cmd,
		      const char **error_r);

#endif
