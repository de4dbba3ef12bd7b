/*
 * Part numbers of a parsed message (lib/mime.h): one numbering for every
 * place that names a part, the webmail's attachment and cid: URLs as
 * IMAP's section numbers (RFC 3501 §6.4.5), so a number the webmail gives
 * out is the section an IMAP client fetches.
 */
#ifndef YOUJU_MIME_PARTS_H
#define YOUJU_MIME_PARTS_H

#include "mime.h"

/* longest part number, NUL included */
#define MIME_SPEC_MAX 256

/*
 * Calls fn(ctx, part, spec) for each part of the tree from root that is
 * not a multipart, in order.  spec (borrowed for the call) is "1" for a
 * message that is not multipart; a multipart's children are numbered
 * from 1 under their parent's number ("2", "2.1").  A message/rfc822 part
 * is one part: the message inside it is not entered.  A multipart whose
 * children's numbers would not fit MIME_SPEC_MAX has the rest skipped.
 */
void mime_parts_walk(const struct mime_part *root,
		     void (*fn)(void *ctx, const struct mime_part *p,
				const char *spec),
		     void *ctx);

/* The part mime_parts_walk() numbers spec ("1", "2.1"), or NULL when there
   is none (borrowed from root's tree). */
const struct mime_part *mime_parts_find(const struct mime_part *root,
					const char *spec);

#endif
