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

/* ExtMail's default folders, made at login (maildir_create). */
extern const char *const maildir_default_folders[]; /* NULL-terminated */

/*
 * Creates a Maildir at root as a delivery does, like Postfix's
 * virtual(8): root (and its parents, mode 0700) with tmp/ new/ cur/, no
 * folders and no subscriptions (about 4 inodes rather than 24: those
 * come at the first login, maildir_create).  Existing parts are kept.
 * Returns 1 when root itself was made here (so it holds nothing else), 0
 * when it was there, or -1 with *error_r and errno.
 */
int maildir_create_inbox(const char *root, const char **error_r);

/*
 * Creates a Maildir at root as a login does: maildir_create_inbox(), the
 * default folders that are missing (each login, as Dovecot's "auto =
 * create"), and, once, INBOX and the default folders subscribed ("auto =
 * subscribe").  "Once" means while the Maildir has no subscriptions file
 * (or an empty one): a delivery makes none and the file is written after
 * the folders, so a Maildir made by a delivery and a first login that
 * crashed half way both get them; a default folder that the user
 * unsubscribed stays unsubscribed.  Returns as maildir_create_inbox().
 */
int maildir_create(const char *root, const char **error_r);

/*
 * For a delivery that wants default folder name (Junk for a spam verdict,
 * a Sieve fileinto) and found it missing in the Maildir root: when no
 * login has made the default folders yet (no subscriptions file), makes
 * them now as the first login would (maildir_create); otherwise the user
 * deleted that folder, and it stays deleted.  Returns 1 when the defaults
 * were made here, 0 when nothing was done (name is not a default folder,
 * or a login was there), -1 with *error_r and errno.
 */
int maildir_default_folder_want(const char *root, const char *name,
				const char **error_r);

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
