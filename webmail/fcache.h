/*
 * A process-wide cache of folder scans (fcache.c), so that listing or
 * opening a message in a large folder does not read its directories and
 * dovecot-uidlist on every request.
 */
#ifndef YOUJU_WEBMAIL_FCACHE_H
#define YOUJU_WEBMAIL_FCACHE_H

#include "maildir.h"

/* Folders kept (least recently used goes). */
#define FCACHE_SLOTS 8
/* A scan is kept only when nothing in the folder changed for this long
   before it (seconds): see fcache.c. */
#define FCACHE_SETTLE 2

/*
 * maildir_folder_open(path, false, error_r), or a copy of an earlier scan
 * of path when new/, cur/, dovecot-uidlist and dovecot-keywords are as
 * they were then.  The result is the caller's (maildir_folder_free).
 * Thread-safe.
 */
struct maildir_folder *fcache_open(const char *path, const char **error_r);
/* Drops every cached scan (tests, shutdown). */
void fcache_clear(void);

#endif
