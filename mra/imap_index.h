/*
 * youju.index entries for IMAP (lib/maildir_index): what FETCH ENVELOPE /
 * BODYSTRUCTURE / BODY / RFC822.SIZE and SEARCH's header and SENT* keys
 * need, computed once from a message's file by the same code that answers
 * the commands, so an answer from the cache is byte for byte the answer
 * from the file.
 */
#ifndef YOUJU_MRA_IMAP_INDEX_H
#define YOUJU_MRA_IMAP_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "maildir_index.h"
#include "mime.h"

struct maildir_folder;
struct maildir_msg;

/* New entries one command may hold in memory (about 1 KiB each) before
   they are saved half-way through it. */
#define IMAP_INDEX_PENDING_MAX 10000

/*
 * Saves ix (for folder f) when it holds IMAP_INDEX_PENDING_MAX new
 * entries; called between messages of a FETCH or SEARCH.  A failed save
 * drops the pending entries (they are rebuilt next time) so memory stays
 * bounded.
 */
void imap_index_bound(struct maildir_index *ix, const struct maildir_folder *f);

/*
 * Builds the entry of message m from its CR LF form msg (len bytes) and
 * its MIME tree root (parsed from msg) and adds it to ix.  Returns 0, or
 * -1 when it was not stored (too large).
 */
int imap_index_build(struct maildir_index *ix, const struct maildir_msg *m,
		     const char *msg, size_t len, const struct mime_part *root);

/*
 * The header fields called name (case-insensitive) of the header block
 * hdr, each RFC 2047-decoded and case-folded, as maildir_index segments
 * appended to out.  0 or -1 (out full).
 */
int imap_index_header_segs(const char *hdr, size_t len, const char *name,
			   struct buf *out);

#endif
