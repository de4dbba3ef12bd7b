/*
 * STATUS (RFC 3501 §6.3.10) with SIZE (RFC 8438, STATUS=SIZE), shared by
 * the STATUS command and LIST's RETURN (STATUS (...)) (RFC 5819,
 * LIST-STATUS).
 */
#ifndef YOUJU_MRA_IMAP_STATUS_H
#define YOUJU_MRA_IMAP_STATUS_H

#include <stdbool.h>

#include "imap_parse.h"

struct mra_conn;

/* Whether items (a LIST argument) holds only known status items, at
   most 16 of them. */
bool imap_status_items_ok(const struct imap_arg *items);

/*
 * Writes "* STATUS name (...)" for the mailbox name of the Maildir root
 * maildir, with the items asked (checked with imap_status_items_ok).
 * Returns NULL, or the text of a NO reply when the mailbox does not exist.
 */
const char *imap_status_write(struct mra_conn *c, const char *maildir,
			      const char *name, const struct imap_arg *items);

#endif
