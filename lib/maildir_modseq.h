/*
 * youju-modseq: per-message modification sequences of a Maildir++ folder
 * (RFC 7162 CONDSTORE), kept where Dovecot keeps nothing it
 * would read: the file `youju-modseq` beside dovecot-uidlist.
 *
 *   youju-modseq 2 <uidvalidity> <highestmodseq> <uidnext>\n
 *   <uid> <modseq> <letters>\n          one per message, ascending uid
 *   x <uidlo> <uidhi> <modseq>\n        expunged UIDs (QRESYNC), oldest
 *                                       first, modseq not descending
 *
 * An "x" line says: the UIDs lo..hi that are not in the folder any more
 * were expunged at or before <modseq> (RFC 7162 §3.2 needs this to
 * answer VANISHED (EARLIER)).  A line covers a run of expunged UIDs with
 * no surviving message between them as it was at that sync, so it may
 * name UIDs that vanished earlier or never existed; whoever reads it
 * leaves out the UIDs still in the folder.  <uidnext> is the folder's
 * UIDNEXT at the last sync: UIDs given out and expunged between two
 * syncs (by Dovecot, the MTA and a POP3 client, say) are recorded too.
 * When the file is started afresh one line "x 1 <uidnext-1> <start>"
 * says "anything missing went before this file".  At most
 * MAILDIR_MODSEQ_GONE_MAX lines: past that the two oldest lines are
 * merged into one (their span, the larger modseq), so a client resyncing
 * from long ago may hear of a few more UIDs than it knew, never fewer.
 * Version 1 files (no uidnext, no "x" lines) are read as well.
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

/* "x" lines kept at most (about 30 bytes each). */
#define MAILDIR_MODSEQ_GONE_MAX 4096

/* An "x" line: UIDs lo..hi not in the folder were gone by modseq. */
struct maildir_modseq_gone {
	uint32_t lo, hi;
	uint64_t modseq;
};

struct maildir_modseq_rec {
	uint32_t uid;
	uint64_t modseq;
	char letters[40]; /* flags and 26 keyword letters fit */
};

/* The contents of a youju-modseq file. */
struct maildir_modseq_file {
	uint32_t uidvalidity;
	uint64_t highest;
	uint32_t uidnext;		 /* 0: not known (version 1) */
	struct maildir_modseq_rec *recs; /* owned, ascending uid */
	size_t n;
	struct maildir_modseq_gone *gone; /* owned, oldest first */
	size_t ngone;
};

/* Parses data (len bytes) into mf.  0, or -1 when it is not a version 1
   or 2 file (mf empty then).  Free with maildir_modseq_file_deinit. */
int maildir_modseq_parse(const char *data, size_t len,
			 struct maildir_modseq_file *mf);
void maildir_modseq_file_deinit(struct maildir_modseq_file *mf);

/* A folder's modification sequences after a sync. */
struct maildir_modseq {
	uint64_t highest;
	uint64_t *v; /* owned; per message of the folder, in its order */
	size_t n;
	struct maildir_modseq_gone *gone; /* owned: the "x" lines */
	size_t ngone;
};

/*
 * Brings f's youju-modseq up to date with f (a fresh scan: a stale one
 * would record old letters) under dovecot-uidlist.lock (waiting up to
 * lock_ms) and fills ms.  Returns 0, or -1 with errno (ms empty).
 */
int maildir_modseq_sync(const struct maildir_folder *f, int lock_ms,
			struct maildir_modseq *ms);
void maildir_modseq_deinit(struct maildir_modseq *ms);

/*
 * A cache of youju-modseq files as last read or written, so that a sync
 * of an unchanged file does not read and parse it again (50,000 lines
 * for a 50,000-message folder): at most max_folders files, each about
 * 56 bytes a message, the least recently used replaced.  An entry is
 * used while the file's (dev, inode, size, mtime, ctime) are the ones
 * recorded; every writer replaces the file by rename under
 * dovecot-uidlist.lock, so new contents always come with another inode.
 * Not thread-safe: one per thread or process.
 */
struct maildir_modseq_cache;
struct maildir_modseq_cache *maildir_modseq_cache_new(size_t max_folders);
void maildir_modseq_cache_free(struct maildir_modseq_cache **c);
/* How many syncs used the cache, and how many read the file. */
void maildir_modseq_cache_counts(const struct maildir_modseq_cache *c,
				 uint64_t *hits_r, uint64_t *misses_r);
/* maildir_modseq_sync() through cache c (NULL: none); the same result. */
int maildir_modseq_sync_cached(struct maildir_modseq_cache *c,
			       const struct maildir_folder *f, int lock_ms,
			       struct maildir_modseq *ms);

#endif
