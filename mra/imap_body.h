/*
 * MIME structure for IMAP FETCH (RFC 3501 §6.4.5, §7.4.2): BODYSTRUCTURE
 * and BODY from a lib/mime tree, and the part that a section's part
 * numbers ("1.2.3") select, with Dovecot's rules for the corner cases so
 * that clients caching structure see the same answers after a migration.
 */
#ifndef YOUJU_MRA_IMAP_BODY_H
#define YOUJU_MRA_IMAP_BODY_H

#include <stdbool.h>

#include "buf.h"
#include "mime.h"

/*
 * Appends the body structure of root (parsed from msg) to out: the
 * extensible BODYSTRUCTURE form when ext (MD5 NIL... disposition,
 * language, location), else the BODY form.  Only the value, without the
 * item name.  Returns 0, or -1 when out's maximum was reached.
 */
int imap_body_structure(struct buf *out, const char *msg,
			const struct mime_part *root, bool ext);

/*
 * The part that section part numbers nums ("1", "2.1.3") select, or NULL
 * when there is none (the section is then empty).  A non-multipart has
 * one part "1", itself; the numbers after a message/rfc822 part count in
 * the embedded message.  nums must be digits and dots.
 */
const struct mime_part *imap_body_find(const struct mime_part *root,
				       const char *nums);

#endif
