/*
 * Maildir++ folders: a folder is a ".Name" directory of the Maildir root
 * (INBOX), the tree stored flat with "." as separator (maildir.md §1),
 * names in IMAP's modified UTF-7 as Dovecot writes them by default.
 */
#ifndef YOUJU_MAILDIR_FOLDERS_H
#define YOUJU_MAILDIR_FOLDERS_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* Longest folder name on disk (".a.b"), a path component. */
#define MAILDIR_FOLDER_MAX 255

/* ExtMail's default folders, created with every new Maildir. */
extern const char *const maildir_default_folders[]; /* NULL-terminated */

/*
 * Creates a Maildir at root (and its parents, mode 0700) with tmp/ new/
 * cur/ and the default folders.  Existing parts are kept.  A new one
 * (cur/ made here) gets INBOX and the default folders subscribed; an
 * empty subscriptions file (a crash right after that) gets them again.
 * Returns 1 when root itself was made here (so it holds nothing else), 0
 * when it was there, or -1 with *error_r and errno.
 */
int maildir_create(const char *root, const char **error_r);

/*
 * Creates folder name (IMAP view, "." separated, modified UTF-7, without
 * the leading dot) under root with its maildirfolder file.  Returns 0, or
 * -1 with errno (EEXIST, EINVAL for a bad name).
 */
int maildir_folder_create(const char *root, const char *name);

/* True when name is acceptable as a folder (IMAP view): non-empty, no
   "/" nor "..", no empty component, valid modified UTF-7, not INBOX. */
bool maildir_folder_name_ok(const char *name);

/*
 * Removes the folder directory path (root/.name) and everything in it.
 * Maildir++ is flat: ".a.x" lives beside ".a", so the children of a stay
 * (a then lists as \Noselect), as Dovecot's DELETE.  The caller checks
 * the name (maildir_folder_name_ok) and counts the quota.  Returns 0, or
 * -1 with errno (what could be removed is gone).
 */
int maildir_folder_delete(const char *path);

/*
 * Lists folder names (IMAP view, without the dot, sorted) under root.
 * *names_r gets an owned array of owned strings (free with
 * maildir_names_free).  Returns the count, or -1 with errno.
 */
long maildir_folder_list(const char *root, char ***names_r);
void maildir_names_free(char **names, size_t n);

/*
 * Modified UTF-7 (RFC 3501 §5.1.3) to UTF-8 and back.  Return 0, or -1
 * for invalid input or when out (size outsz) is too small.
 */
int maildir_mutf7_to_utf8(struct str in, char *out, size_t outsz);
int maildir_utf8_to_mutf7(struct str in, char *out, size_t outsz);

#endif
