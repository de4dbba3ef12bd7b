/*
 * The sort and thread keys of one message, computed once from its header
 * block and kept as a compact blob (in youju.index, or in memory): the
 * sent date, the RFC 5256 §2.1 base subject and whether a reply marker
 * was removed from it, the FROM/TO/CC and DISPLAYFROM/DISPLAYTO address
 * keys (lib/mailsort's comparison forms), the Message-ID and the
 * References (or In-Reply-To) ids.  youju-mra's SORT and THREAD and
 * lib/mailthread read these, so an answer from the cache and one from
 * the file cannot differ.
 *
 * Blob layout (integers little-endian): u8 flags (1: a readable Date:,
 * 2: a reply subject), i64 date (UTC seconds, 0 without Date:), then the
 * strings subject, from, dfrom, to, dto, cc, msgid, each u32 length +
 * bytes, then the reference ids, each u32 length + bytes, to the end.
 */
#ifndef YOUJU_MAILKEYS_H
#define YOUJU_MAILKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "str.h"

/* Most reference ids kept (the last ones of References). */
#define MAILKEYS_REFS_MAX 256
/* Most bytes of reference ids kept (the last ones): a deep reply chain's
   References list is not copied into every message's entry whole. */
#define MAILKEYS_REFS_BYTES 8192

/* Largest blob mailthread_add builds from a header block. */
#define MAILKEYS_BLOB_MAX (4 << 20)

enum mailkeys_str {
	MAILKEYS_SUBJECT, /* folded base subject */
	MAILKEYS_FROM,	  /* first From: local part (or group name) */
	MAILKEYS_DFROM,	  /* From: display name, else local@domain */
	MAILKEYS_TO,
	MAILKEYS_DTO,
	MAILKEYS_CC,
	MAILKEYS_MSGID, /* "<...>", or empty */
	MAILKEYS_NSTR
};

/* Decoded keys; strings borrowed from the blob they were decoded from. */
struct mailkeys {
	bool has_date; /* else date is 0: use the internal date */
	bool reply;    /* the subject had a Re:/Fwd: marker */
	int64_t date;
	struct str s[MAILKEYS_NSTR];
	struct str refs; /* the ids: walk with mailkeys_ref_next */
};

/*
 * Appends the keys of header block hdr[0..len) (raw header fields, LF or
 * CR LF) to out as a blob.  Returns 0, or -1 when out is full.
 */
int mailkeys_build(const char *hdr, size_t len, struct buf *out);

/* Decodes blob (borrowed by *k_r).  False when it is malformed. */
bool mailkeys_decode(struct str blob, struct mailkeys *k_r);

/* The next reference id of *refs into *id_r (borrowed), advancing
 *refs; false at the end. */
bool mailkeys_ref_next(struct str *refs, struct str *id_r);

#endif
