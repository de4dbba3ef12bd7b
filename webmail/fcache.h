/*
 * A process-wide cache of folder scans (fcache.c), so that listing or
 * opening a message in a large folder does not read its directories and
 * dovecot-uidlist on every request, nor copy 50,000 entries when it only
 * reads them.
 */
#ifndef YOUJU_WEBMAIL_FCACHE_H
#define YOUJU_WEBMAIL_FCACHE_H

#include <stdint.h>

#include "maildir.h"

/* Folders kept (least recently used goes). */
#define FCACHE_SLOTS 8
/* A scan is kept only when nothing in the folder changed for this long
   before it (seconds): see fcache.c. */
#define FCACHE_SETTLE 2

/* A scan shared read-only between requests (reference-counted). */
struct fcache_scan;

/*
 * maildir_folder_open(path, false, error_r), or a copy of an earlier scan
 * of path when new/, cur/, dovecot-uidlist and dovecot-keywords are as
 * they were then.  The result is the caller's (maildir_folder_free).
 * Thread-safe.
 */
struct maildir_folder *fcache_open(const char *path, const char **error_r);

/*
 * As fcache_open, but the folder holds only the message uid (n is 1), or
 * no message (n is 0) when the folder has none with that UID; the rest
 * (path, UIDVALIDITY, keywords) is the folder's.  Costs a lookup in the
 * kept scan, not a copy of it.  The result is the caller's
 * (maildir_folder_free); its message may be read and its flags changed.
 */
struct maildir_folder *fcache_open_msg(const char *path, uint32_t uid,
				       const char **error_r);

/*
 * The scan fcache_open would copy, shared: nothing in it may be changed,
 * so it is never passed to maildir_msg_read or the flag functions (they
 * update the folder and the message; use fcache_scan_copy for those).
 * Release with fcache_scan_put.  NULL with *error_r and errno when the
 * folder cannot be scanned.  Thread-safe.
 */
struct fcache_scan *fcache_get(const char *path, const char **error_r);
void fcache_scan_put(struct fcache_scan **s);

/* The scanned folder (borrowed until fcache_scan_put; read-only). */
const struct maildir_folder *fcache_scan_folder(const struct fcache_scan *s);

/*
 * Non-zero for a kept scan, and unique to it: while two requests get the
 * same serial they see the same messages in the same order.  0 for a
 * scan that was not kept (the folder had just changed).
 */
uint64_t fcache_scan_serial(const struct fcache_scan *s);

/* A deep copy of the scan, the caller's (maildir_folder_free). */
struct maildir_folder *fcache_scan_copy(const struct fcache_scan *s);

/* A folder holding copies of the scan's messages idx[0..n-1] (in that
   order), the caller's (maildir_folder_free). */
struct maildir_folder *fcache_scan_copy_msgs(const struct fcache_scan *s,
					     const size_t *idx, size_t n);

/* Drops every cached scan (tests, shutdown). */
void fcache_clear(void);

#endif
