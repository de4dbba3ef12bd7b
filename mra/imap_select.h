/*
 * The rescans of the selected folder (SELECT, EXAMINE and every sync
 * after a command or an inotify event) and its CONDSTORE modseqs, through
 * per-worker caches of the last scans (lib/maildir_scan) and of the last
 * youju-modseq files (lib/maildir_modseq): a worker lives across
 * connections, and a client that resynchronises a large folder comes
 * back to the same one.  A rescan of a folder whose dovecot-uidlist did
 * not change reads cur/ (and new/ when it changed) and parses only the
 * names that are new or renamed; a modseq sync whose youju-modseq did not
 * change does not read it.  The snapshots are the ones the uncached scan
 * gives (docs/mailbox.md, "The scan cache").
 */
#ifndef YOUJU_MRA_IMAP_SELECT_H
#define YOUJU_MRA_IMAP_SELECT_H

#include <stdbool.h>

#include "maildir.h"
#include "maildir_modseq.h"

/* Folders each cache of a worker keeps, and the scan cache's budget
   (about 100 bytes a message: ~5 MiB for 50,000 messages). */
#define IMAP_SELECT_CACHE_FOLDERS 4
#define IMAP_SELECT_CACHE_BYTES	  (32u << 20)

/* maildir_folder_open() through the worker's scan cache. */
struct maildir_folder *imap_select_open(const char *path, bool move_new,
					const char **error_r);

/* maildir_modseq_sync() through the worker's modseq cache. */
int imap_select_modseq_sync(const struct maildir_folder *f, int lock_ms,
			    struct maildir_modseq *ms);

#endif
