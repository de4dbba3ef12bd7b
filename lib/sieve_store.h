/*
 * Where a mailbox's Sieve scripts live, in Dovecot Pigeonhole's layout so
 * that a mailbox moved from Dovecot keeps its filters (docs/sieve.md):
 * HOME/sieve/NAME.sieve, and HOME/.dovecot.sieve a symbolic link to the
 * active one ("sieve/NAME.sieve").  HOME is the Maildir's parent when the
 * Maildir is called "Maildir" (ExtMail's domain/user/Maildir/), else the
 * Maildir itself.  Used by ManageSieve (mra/managesieve.c), the delivery
 * (mta/sieve_deliver.c) and `youju sieve`.  Synchronous file work.
 */
#ifndef YOUJU_SIEVE_STORE_H
#define YOUJU_SIEVE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#define SIEVE_STORE_NAME_MAX 128
/* the active link's name in HOME */
#define SIEVE_STORE_ACTIVE ".dovecot.sieve"

/* The home of maildir into out.  0, or -1 when out is too small. */
int sieve_store_home(const char *maildir, char *out, size_t outsz);

/* True when name is acceptable as a script name (RFC 5804 §1.6): 1 to
   SIEVE_STORE_NAME_MAX bytes of UTF-8 without control characters, '/',
   or a leading '.'. */
bool sieve_store_name_ok(const char *name, size_t len);

/* The script names (owned array of owned strings, sorted) in *names_r and
   their count, or -1 with errno.  A missing sieve/ directory is 0. */
long sieve_store_list(const char *home, char ***names_r);
void sieve_store_names_free(char **names, size_t n);

/* The active script's name into out ("" when none or when the link does
   not point at a script in sieve/).  0 or -1. */
int sieve_store_active(const char *home, char *out, size_t outsz);

/* Reads script name: 1 read (*data_r owned, *len_r), 0 no such script,
   -1 with errno. */
int sieve_store_get(const char *home, const char *name, char **data_r,
		    size_t *len_r);

/* Writes script name (temp file, fsync, rename).  0 or -1 with errno. */
int sieve_store_put(const char *home, const char *name, const char *data,
		    size_t len);

/* Makes name the active script (its link replaced atomically), or none
   when name is "".  0, or -1 with errno (ENOENT: no such script). */
int sieve_store_set_active(const char *home, const char *name);

/* Deletes script name.  0, or -1 with errno (ENOENT: none; EBUSY: it is
   the active one). */
int sieve_store_delete(const char *home, const char *name);

/* Renames a script (the active link follows).  0, or -1 with errno
   (ENOENT: no old; EEXIST: new exists). */
int sieve_store_rename(const char *home, const char *oldname,
		       const char *newname);

#endif
