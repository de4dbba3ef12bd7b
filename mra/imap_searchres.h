/*
 * SEARCHRES (RFC 5182): "SEARCH RETURN (SAVE) ..." keeps the result of a
 * search in the session, and "$" stands for it in later commands.  The
 * result is kept as UIDs, so an expunge takes its messages out by itself
 * (they are gone from the folder) and a non-UID command gets the current
 * sequence numbers of what is left.
 */
#ifndef YOUJU_MRA_IMAP_SEARCHRES_H
#define YOUJU_MRA_IMAP_SEARCHRES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"

struct maildir_folder;

/* The saved result: ascending UIDs, owned (free()). */
struct imap_searchres {
	uint32_t *uids;
	size_t n;
};

/* Empties r (SELECT, EXAMINE, CLOSE, UNSELECT, a failed SAVE search). */
void imap_searchres_reset(struct imap_searchres *r);

/*
 * Replaces r with the matches v[0..n) of a search on f (sequence numbers,
 * or UIDs when uid), in any order.
 */
void imap_searchres_save(struct imap_searchres *r,
			 const struct maildir_folder *f, const uint32_t *v,
			 size_t n, bool uid);

/*
 * Replaces each "$" of cmd's arguments with the saved result as a
 * sequence set of f: the message set argument of FETCH, STORE, COPY,
 * MOVE and UID EXPUNGE (UIDs when uid), and "$" search keys of SEARCH,
 * SORT and THREAD (UIDs after the key UID, else sequence numbers).  An
 * empty result becomes a set no message is in.  Other commands are left
 * alone.
 */
void imap_searchres_expand(const struct imap_searchres *r,
			   const struct maildir_folder *f, struct imap_cmd *cmd,
			   bool uid);

/* Whether a search's arguments ask for SAVE: "RETURN (... SAVE ...)". */
bool imap_searchres_asked(const struct imap_arg *a, size_t n);

#endif
