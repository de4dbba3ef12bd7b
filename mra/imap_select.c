/*
 * The worker's scan and modseq caches; see imap_select.h.  A worker runs
 * one event loop, and every scan happens on it, so one cache of each per
 * process, made on first use, is enough (and is what makes a SELECT on
 * another connection of the same worker cheap).
 */
#include "imap_select.h"

#include <stddef.h>

#include "maildir_scan.h"

static struct maildir_scan_cache *imap_scan_cache;
static struct maildir_modseq_cache *imap_modseq_cache;

struct maildir_folder *imap_select_open(const char *path, bool move_new,
					const char **error_r)
{
	if (imap_scan_cache == NULL)
		imap_scan_cache = maildir_scan_cache_new(
		    IMAP_SELECT_CACHE_FOLDERS, IMAP_SELECT_CACHE_BYTES);
	return maildir_folder_open_cached(imap_scan_cache, path, move_new,
					  error_r);
}

int imap_select_modseq_sync(const struct maildir_folder *f, int lock_ms,
			    struct maildir_modseq *ms)
{
	if (imap_modseq_cache == NULL)
		imap_modseq_cache =
		    maildir_modseq_cache_new(IMAP_SELECT_CACHE_FOLDERS);
	return maildir_modseq_sync_cached(imap_modseq_cache, f, lock_ms, ms);
}
