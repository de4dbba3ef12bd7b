/*
 * A list kept in the Maildir as one JSON file, {"<key>": [...]}, so that
 * it moves with the mail: the address book (contacts.c) and the POP3
 * accounts (popfetch.c).  Writes replace the file atomically (lib/file);
 * callers hold the file's dotlock around a load-change-save.
 */
#ifndef YOUJU_WM_LISTFILE_H
#define YOUJU_WM_LISTFILE_H

#include <jansson.h>
#include <stddef.h>

/*
 * Loads maildir/file (at most max bytes; duplicate keys refused).
 * Returns 1 with *list_r (a new reference to the key's array), 0 when
 * there is no file yet (*list_r NULL), or -1 (logged with the path) when
 * it cannot be read or holds no such array.
 */
int wm_listfile_load(const char *maildir, const char *file, const char *key,
		     size_t max, json_t **list_r);
/* Writes list (borrowed) as maildir/file under key.  Returns 0, or -1
   with errno (EFBIG past max bytes). */
int wm_listfile_save(const char *maildir, const char *file, const char *key,
		     json_t *list, size_t max);

#endif
