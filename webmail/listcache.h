/*
 * The message list's sort keys, kept between requests (listcache.c): per
 * folder, each message's list summary (wm_summary) and its sort keys in
 * the comparison forms IMAP SORT uses (lib/mailsort: the Date: in UTC,
 * the RFC 5256 base subject, the RFC 5957 display sender), and the
 * folder's sorted orders once computed, so that a sorted page of a
 * 50,000-message folder is a walk of a kept order, not 50,000 parses.
 */
#ifndef YOUJU_WEBMAIL_LISTCACHE_H
#define YOUJU_WEBMAIL_LISTCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "maildir.h"
#include "str.h"
#include "summary.h"

/* Folders kept (least recently used goes). */
#define LISTCACHE_SLOTS 4

enum listcache_key {
	LISTCACHE_DATE,
	LISTCACHE_FROM,
	LISTCACHE_SUBJECT,
	LISTCACHE_NKEYS
};

struct maildir_index;
struct listcache;

/*
 * The keys of folder f's messages: the kept ones when every message of f
 * (UID, base name, size) is the kept one's, else a new set built from
 * the kept entries that still match and wm_msg_summary for the others
 * (youju.index ix, may be NULL, or the file), then kept.  The result is
 * shared and read-only; release it with listcache_put.  Entry i belongs
 * to f->msgs[i].  Thread-safe.
 */
struct listcache *listcache_get(struct maildir_folder *f,
				const struct maildir_index *ix);

/*
 * As listcache_get for the shared scan of fcache (fcache_get): while the
 * scan is the one the kept set was last matched with (the same serial),
 * nothing is compared or read, so a page or a subject search costs no
 * pass over the folder; otherwise as listcache_get, the set built from a
 * copy of the scan and youju.index.  Entry i belongs to message i of
 * fcache_scan_folder(scan).
 */
struct fcache_scan;
struct listcache *listcache_get_scan(const struct fcache_scan *scan);

/* The kept set when it matches scan (the same serial), else NULL:
   never compares, reads or builds.  Release with listcache_put. */
struct listcache *listcache_peek_scan(const struct fcache_scan *scan);

void listcache_put(struct listcache **lc);

/* The summary of entry i (borrowed until listcache_put). */
const struct wm_summary *listcache_summary(const struct listcache *lc,
					   size_t i);

/* The SUBJECT sort key of entry i (lib/mailsort: the RFC 5256 base
   subject, folded), which THREAD gathers by.  Borrowed. */
const char *listcache_subject_key(const struct listcache *lc, size_t i);

/* The subject of entry i decoded and case-folded as search's matcher
   folds (lib/mailmatch), for GET /api/search.  Borrowed. */
struct str listcache_subject_fold(const struct listcache *lc, size_t i);

/*
 * The entries in ascending order of key (ties by UID), n of them;
 * computed once per kept set.  Borrowed until listcache_put.
 */
const uint32_t *listcache_order(struct listcache *lc, enum listcache_key key);

/* Drops everything kept (tests, shutdown). */
void listcache_clear(void);

#endif
