/*
 * The folder scan behind maildir_folder_open() (maildir.h), and a cache of
 * the last scans for a process that opens the same large folders again
 * and again (youju-mra's workers: every SELECT and every sync rescans).
 *
 * A cache keeps, per folder, the directory listing of cur/ and new/ as
 * last read (the names, in readdir order), which UID each name is, and
 * the records of dovecot-uidlist as last read or written, with
 * validators: dovecot-uidlist's (dev, inode, size, mtime, ctime, in
 * nanoseconds) and cur/'s and new/'s (dev, inode, mtime, ctime).  A scan
 * through the cache
 *  - reads dovecot-uidlist again (the whole scan, uncached) whenever its
 *    validator differs: another writer (Dovecot, another youju process)
 *    numbered or dropped messages;
 *  - skips reading a directory whose validator is unchanged, but only
 *    when its mtime was at least MAILDIR_SCAN_DIRTY_MARGIN seconds old
 *    when it was recorded (a change within the same timestamp tick would
 *    not move it: Dovecot's dirty margin); otherwise reads it and
 *    compares each name with the cached name at the same position (the
 *    order of an unchanged directory), so that only new or renamed names
 *    are parsed and looked up (by base name);
 *  - falls back to the whole scan for anything unusual: a name without
 *    S=, an entry that is not a plain file by d_type, a message in both
 *    new/ and cur/.
 * The snapshot it returns is the one the whole scan would return (the
 * unit test compares them after random changes by other writers).
 *
 * Memory: at most max_folders folders and max_bytes bytes (about 100
 * bytes a message: the name, its entry, its record); the least recently
 * used folder goes first, a folder larger than max_bytes is not kept.
 * A cache is not thread-safe: one per thread or process.
 */
#ifndef YOUJU_MAILDIR_SCAN_H
#define YOUJU_MAILDIR_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maildir.h"

/* A directory whose mtime is younger than this is read again even when
   its validator is unchanged (seconds). */
#define MAILDIR_SCAN_DIRTY_MARGIN 2

struct maildir_scan_cache;

/* Counters, for tests and benchmarks. */
struct maildir_scan_cache_stats {
	uint64_t full;	    /* whole scans (no usable cache entry) */
	uint64_t cached;    /* scans answered through the cache */
	uint64_t dirs_read; /* directories read by cached scans */
	uint64_t names_new; /* names parsed by cached scans (new, renamed) */
};

/* A new, empty cache (see the memory note above); free with
   maildir_scan_cache_free. */
struct maildir_scan_cache *maildir_scan_cache_new(size_t max_folders,
						  size_t max_bytes);
void maildir_scan_cache_free(struct maildir_scan_cache **c);
/* Forgets every folder (memory returned). */
void maildir_scan_cache_clear(struct maildir_scan_cache *c);
struct maildir_scan_cache_stats
maildir_scan_cache_stats(const struct maildir_scan_cache *c);

/*
 * maildir_folder_open() through cache c (NULL: no cache): the same
 * snapshot, the same locking and the same writes of dovecot-uidlist.
 * Returns the folder (free with maildir_folder_free), or NULL with
 * *error_r and errno.
 */
struct maildir_folder *maildir_folder_open_cached(struct maildir_scan_cache *c,
						  const char *path,
						  bool move_new,
						  const char **error_r);

#endif
