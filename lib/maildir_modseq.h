/*
 * youju-modseq: per-message modification sequences of a Maildir++ folder
 * (RFC 7162 CONDSTORE), kept where Dovecot keeps nothing it
 * would read: the file `youju-modseq` beside dovecot-uidlist.
 *
 *   youju-modseq 1 <uidvalidity> <highestmodseq>\n
 *   <uid> <modseq> <letters>\n          one per message, ascending uid
 *
 * <letters> are the message's ":2," info letters as last seen ("" for a
 * message in new/ or without flags), so a change made by anyone (Dovecot,
 * maildrop, a rename by hand) is found by comparing them with the file
 * name: maildir_modseq_sync() gives every message whose letters differ,
 * and every new UID, highestmodseq + 1 (one step each), and raises
 * highestmodseq once when UIDs went away.  The file is replaced by temp
 * file + rename under dovecot-uidlist.lock, never edited in place.  A
 * missing, unreadable or foreign file (or another UIDVALIDITY) starts
 * again at the microseconds since 1970: a file started that way holds
 * less than that as long as it averaged fewer than one change a
 * microsecond, so HIGHESTMODSEQ does not go back.  youju-mra's CONDSTORE
 * (mra/imap_condstore.c) reads it.
 */
#ifndef YOUJU_MAILDIR_MODSEQ_H
#define YOUJU_MAILDIR_MODSEQ_H

#include <stddef.h>
#include <stdint.h>

#include "maildir.h"

#define MAILDIR_MODSEQ_FILE "youju-modseq"

struct maildir_modseq_rec {
	uint32_t uid;
	uint64_t modseq;
	char letters[40]; /* flags and 26 keyword letters fit */
};

/* The contents of a youju-modseq file. */
struct maildir_modseq_file {
	uint32_t uidvalidity;
	uint64_t highest;
	struct maildir_modseq_rec *recs; /* owned, ascending uid */
	size_t n;
};

/* Parses data (len bytes) into mf.  0, or -1 when it is not a version 1
   file (mf empty then).  Free with maildir_modseq_file_deinit. */
int maildir_modseq_parse(const char *data, size_t len,
			 struct maildir_modseq_file *mf);
void maildir_modseq_file_deinit(struct maildir_modseq_file *mf);

/* A folder's modification sequences after a sync. */
struct maildir_modseq {
	uint64_t highest;
	uint64_t *v; /* owned; per message of the folder, in its order */
	size_t n;
};

/*
 * Brings f's youju-modseq up to date with f (a fresh scan: a stale one
 * would record old letters) under dovecot-uidlist.lock (waiting up to
 * lock_ms) and fills ms.  Returns 0, or -1 with errno (ms empty).
 */
int maildir_modseq_sync(const struct maildir_folder *f, int lock_ms,
			struct maildir_modseq *ms);
void maildir_modseq_deinit(struct maildir_modseq *ms);

#endif
