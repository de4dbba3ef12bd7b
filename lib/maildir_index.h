/*
 * youju.index: a per-folder cache of what IMAP FETCH and SEARCH compute
 * from a message's file (its ENVELOPE, BODYSTRUCTURE and BODY strings,
 * RFC822.SIZE, the Date: day and the decoded, case-folded values of the
 * header fields SEARCH asks for), so that a 50,000-message folder is not
 * re-read for every client that lists it.  The file is ours alone, next
 * to dovecot-uidlist; Dovecot's dovecot.index* files are never touched.
 *
 * Entries are keyed by UID and validated by the message's base name and
 * file size, so changes made behind our back (Dovecot, maildrop, the MTA,
 * POP3) cannot show stale data: an expunged message's entry is dropped at
 * the next save, a new message simply has none yet, and a message whose
 * name or size differs is parsed again.  The file is only a cache: a
 * missing, truncated, corrupt or foreign-version file is ignored and
 * rebuilt as messages are parsed.
 *
 * Layout (integers little-endian):
 *   header, 32 bytes: "youjuidx", u32 version, u32 uidvalidity,
 *     u32 count, u32 checksum (of the header with this field zero and of
 *     the directory; the sum is midx_sum in maildir_index.c), u64 zero;
 *   directory: count x { u32 uid, u32 record length, u64 offset },
 *     ascending uid;
 *   records: u32 checksum (of the rest of the record), u32 uid,
 *     u64 size, u64 vsize, i32 sent_day, then 1 + MIDX_NFIELDS strings
 *     (u32 length, bytes): the base name, then the fields in enum order
 *     (version 3: without the last, MIDX_SORTKEYS).
 * The directory is checked when the file is opened, a record each time
 * it is read (bad ones count as missing).  The file is mapped read-only
 * (shared page cache between sessions) and replaced by temp file +
 * rename under youju.index.lock; it is never modified in place.
 */
#ifndef YOUJU_MAILDIR_INDEX_H
#define YOUJU_MAILDIR_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "str.h"

#define MAILDIR_INDEX_FILE "youju.index"
/* 3: ENVELOPE addresses from lib/addrlist (comments, groups, routes);
   4: the SORT/THREAD keys (MIDX_SORTKEYS).  Version 3 files are still
   read: their entries have no keys (an empty MIDX_SORTKEYS), and the
   next save writes version 4.  A reader of another version (an older
   youju meeting a newer file) ignores the whole file as unusable and
   rebuilds it, never misreading it. */
#define MAILDIR_INDEX_VERSION	     4
#define MAILDIR_INDEX_VERSION_OLDEST 3
/* Largest index file we map (about 10 KiB per message at 100,000). */
#define MAILDIR_INDEX_FILE_MAX ((uint64_t)1 << 30)
/* Largest record: a message whose ENVELOPE alone is bigger is not cached
   (it is parsed from its file each time). */
#define MAILDIR_INDEX_RECORD_MAX (1024 * 1024)
/* sent_day of a message without a readable Date: field. */
#define MAILDIR_INDEX_NO_DAY INT32_MIN

/* The cached strings of one message, in file order. */
enum maildir_index_field {
	MIDX_ENVELOPE,	    /* the ENVELOPE value as sent */
	MIDX_BODYSTRUCTURE, /* the BODYSTRUCTURE value as sent */
	MIDX_BODY,	    /* the BODY (non-extensible) value as sent */
	/* header fields for SEARCH: each occurrence RFC 2047-decoded and
	   case-folded, as segments (maildir_index_seg_*) */
	MIDX_FROM,
	MIDX_TO,
	MIDX_CC,
	MIDX_BCC,
	MIDX_SUBJECT,
	MIDX_MESSAGE_ID,
	MIDX_REPLY_TO,
	MIDX_SENDER,
	MIDX_IN_REPLY_TO,
	/* the SORT and THREAD keys (lib/mailkeys blob); empty when not
	   computed yet (an entry of a version 3 file) */
	MIDX_SORTKEYS,
	MIDX_NFIELDS
};

/* The header name of a search field (MIDX_FROM...MIDX_IN_REPLY_TO), or
   NULL. */
const char *maildir_index_field_header(enum maildir_index_field f);
/* The field that caches header name (case-insensitive), or -1. */
int maildir_index_header_field(const char *name);

struct maildir_index_entry {
	uint32_t uid;
	uint64_t size;	  /* validator: the file size as scanned (S= or stat) */
	uint64_t vsize;	  /* RFC822.SIZE: bytes in the CR LF form */
	int32_t sent_day; /* Date: day (days since 1970-01-01), or NO_DAY */
	struct str base;  /* validator: the unique part of the file name */
	struct str field[MIDX_NFIELDS];
};

struct maildir_index;
struct maildir_folder;

/*
 * Opens folder's youju.index for a folder whose UIDVALIDITY is
 * uidvalidity.  Never fails: a missing, unreadable or invalid file (bad
 * magic, version, checksum, another UIDVALIDITY) gives an empty index,
 * and *status_r (may be NULL) says which: 1 loaded, 0 missing, -1
 * ignored.  Free with maildir_index_free (which does not save).
 */
struct maildir_index *maildir_index_open(const char *folder,
					 uint32_t uidvalidity, int *status_r);
void maildir_index_free(struct maildir_index **ix);

/* Number of entries loaded from the file, and added since. */
size_t maildir_index_count(const struct maildir_index *ix);
size_t maildir_index_pending(const struct maildir_index *ix);

/*
 * The entry of uid when one exists and its base name and size equal
 * base and size.  *e_r's strings are borrowed from ix until the next
 * put, save or free.  Returns true when found.
 */
bool maildir_index_get(const struct maildir_index *ix, uint32_t uid,
		       struct str base, uint64_t size,
		       struct maildir_index_entry *e_r);

/*
 * Adds or replaces e (copied).  Returns 0, or -1 when the record would
 * pass MAILDIR_INDEX_RECORD_MAX (nothing is stored).
 */
int maildir_index_put(struct maildir_index *ix,
		      const struct maildir_index_entry *e);

/*
 * Writes the index for the messages of f (entries of messages no longer
 * in f, or whose base name or size changed, are dropped; entries another
 * process saved meanwhile are merged in) to a temp file and renames it
 * over youju.index, under youju.index.lock (waiting at most lock_ms).
 * Afterwards ix reads the new file and has nothing pending.  Returns 0,
 * or -1 with errno (EWOULDBLOCK: the lock was busy; ix is unchanged and
 * the entries stay pending).
 */
int maildir_index_save(struct maildir_index *ix, const struct maildir_folder *f,
		       int lock_ms);

/*
 * Checks a youju.index image (for tools and the fuzz target): -1 when
 * the header or directory is invalid for uidvalidity, else the number of
 * records that pass their own checks.
 */
long maildir_index_verify(const void *data, size_t len, uint32_t uidvalidity);

/* Forgets the entries added since the last save or open. */
void maildir_index_drop_pending(struct maildir_index *ix);

/* ---- header field segments --------------------------------------------- */

/* Appends one segment (u32 length + bytes) to out.  0 or -1 (full). */
int maildir_index_seg_add(struct buf *out, const char *p, size_t len);
/*
 * The next segment of *field into *seg_r (borrowed), advancing *field.
 * Returns false at the end (or when the rest is malformed).
 */
bool maildir_index_seg_next(struct str *field, struct str *seg_r);

#endif
