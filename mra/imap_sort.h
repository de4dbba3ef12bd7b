/*
 * IMAP SORT (RFC 5256 §3) with the DISPLAYFROM and DISPLAYTO keys of RFC
 * 5957: the messages that match the search keys, ordered by ARRIVAL, CC,
 * DATE, FROM, SIZE, SUBJECT (the RFC 5256 §2.1 base subject), TO,
 * DISPLAYFROM or DISPLAYTO, each optionally REVERSE, ties by sequence
 * number.  Strings compare case-folded (lib/mime's folding).
 */
#ifndef YOUJU_MRA_IMAP_SORT_H
#define YOUJU_MRA_IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "imap_parse.h"

struct mra_conn;
struct maildir_folder;
struct maildir_index;

/* Most sort keys in one command. */
#define IMAP_SORT_KEYS_MAX 16

/*
 * Appends the base subject of the decoded subject s[0..len) (RFC 5256
 * §2.1: white space collapsed, "(fwd)" trailers, "Re:"/"Fw:"/"Fwd:"
 * leaders with their "[blob]"s and a "[fwd: ...]" wrapper removed) to
 * out.  Returns 0 or -1 (full).
 */
int imap_sort_base_subject(const char *s, size_t len, struct buf *out);

/*
 * The whole SORT / UID SORT command (args: the key list, the charset,
 * the search keys) on folder f: "* SORT ..." and the tagged reply.
 */
void imap_sort_cmd(struct mra_conn *c, const char *tag,
		   struct maildir_folder *f, const bool *recent, bool uid,
		   const struct imap_arg *args, size_t n);

#endif
