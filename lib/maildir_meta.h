/*
 * Dovecot's small per-Maildir control files (reference/maildir.md §3, §6):
 * dovecot-keywords, which maps the lowercase letters a-z of a message's
 * ":2," info to IMAP keywords, one file per folder; and subscriptions, the
 * subscribed mailbox names, one file in the Maildir root.  Both are
 * replaced by temp file + rename under a dotlock, never edited in place,
 * so a Maildir moves between youju and Dovecot with keywords and
 * subscriptions intact.
 */
#ifndef YOUJU_MAILDIR_META_H
#define YOUJU_MAILDIR_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "str.h"

/* Letters a-z: only 26 keywords per folder fit in file names. */
#define MAILDIR_KEYWORDS_MAX 26
/* Longest keyword name we keep (Dovecot has no fixed limit; an IMAP atom
   this long is already absurd). */
#define MAILDIR_KEYWORD_LEN_MAX 128
/* Largest dovecot-keywords / subscriptions file we read. */
#define MAILDIR_META_FILE_MAX (1024 * 1024)
/* Most subscriptions we keep. */
#define MAILDIR_SUBS_MAX 10000

/* Letter 'a' + i stands for name[i]; NULL when the index is unused. */
struct maildir_keywords {
	char *name[MAILDIR_KEYWORDS_MAX]; /* owned */
};

void maildir_keywords_init(struct maildir_keywords *kw);
void maildir_keywords_deinit(struct maildir_keywords *kw);
/* Deep copy of src into dst (dst is deinitialised first). */
void maildir_keywords_copy(struct maildir_keywords *dst,
			   const struct maildir_keywords *src);
/* True when both map the same letters to the same names. */
bool maildir_keywords_equal(const struct maildir_keywords *a,
			    const struct maildir_keywords *b);

/*
 * True for a name a keyword may have: 1..MAILDIR_KEYWORD_LEN_MAX bytes of
 * an IMAP atom (RFC 3501 atom-char, no '\' so no system flag).
 */
bool maildir_keyword_ok(struct str name);

/*
 * Parses dovecot-keywords text: "<index> <name>\n" per line.  Lines that
 * are malformed, out of range (index >= 26) or repeat an index are
 * skipped, as Dovecot skips them.  Returns the number of keywords kept.
 */
size_t maildir_keywords_parse(const char *data, size_t len,
			      struct maildir_keywords *kw);
/* Appends the file text of kw (ascending index) to out.  0 or -1. */
int maildir_keywords_format(const struct maildir_keywords *kw, struct buf *out);
/*
 * Reads folder/dovecot-keywords into kw (left empty when missing).
 * Returns 0, or -1 with errno.
 */
int maildir_keywords_read(const char *folder, struct maildir_keywords *kw);

/*
 * Index of name (compared case-insensitively, as IMAP keywords are), or
 * -1 when kw has no such keyword.
 */
int maildir_keywords_find(const struct maildir_keywords *kw, struct str name);

/*
 * Makes sure every one of names[0..n) has a letter in folder: under
 * dovecot-uidlist.lock (Dovecot's lock for this file) re-reads
 * dovecot-keywords, gives each missing name the lowest free index and
 * replaces the file if anything was added.  kw gets the file's table.
 * Returns 0, or -1 with errno (ENOSPC: all 26 letters taken; EINVAL: a
 * name is not a valid keyword).
 */
int maildir_keywords_assign(const char *folder, const struct str *names,
			    size_t n, struct maildir_keywords *kw);

/* Bit i set for each letter 'a' + i present in the info letters. */
uint32_t maildir_keyword_bits(struct str letters);

/*
 * Rebuilds info letters: system flags from flags (enum maildir_flag),
 * keyword letters from kwbits, and every other letter of old (unknown
 * capitals) kept; ASCII order, no duplicates.  Writes a NUL-terminated
 * string to out (outsz >= 64).  Returns 0, or -1 when it does not fit.
 */
int maildir_info_build(struct str old, unsigned flags, uint32_t kwbits,
		       char *out, size_t outsz);

struct maildir_folder;
struct maildir_msg;

/*
 * For SEARCH KEYWORD / UNKEYWORD: true when message m of f carries the
 * keyword name (case-insensitive) through f's dovecot-keywords letters.
 */
bool maildir_msg_has_keyword(const struct maildir_folder *f,
			     const struct maildir_msg *m, const char *name);

/* ---- subscriptions (Maildir root) -------------------------------------- */

/*
 * Parses a subscriptions file: version 2 ("V\t2\n\n" then names with TAB
 * as the hierarchy separator) or version 1 (plain names).  Names come
 * back with '.' as separator (the IMAP view); empty lines are skipped.
 * *names_r gets an owned array of owned strings (free with
 * maildir_names_free), sorted, without duplicates.  Returns the count.
 */
size_t maildir_subs_parse(const char *data, size_t len, char ***names_r);
/* Appends version 2 text of names[0..n) to out.  0 or -1 (full). */
int maildir_subs_format(char *const *names, size_t n, struct buf *out);
/*
 * Replaces root/subscriptions with names[0..n) (file_replace: temporary
 * file, fsync, rename), without taking subscriptions.lock: the editors
 * below hold it.  0, or -1 with errno.
 */
int maildir_subs_write(const char *root, char *const *names, size_t n);
/* Reads root/subscriptions (missing: 0 names).  Count, or -1 with errno. */
long maildir_subs_read(const char *root, char ***names_r);
/*
 * Subscribes (on) or unsubscribes name under subscriptions.lock, then
 * replaces the file (only when it changed).  Returns 0, or -1 with errno
 * (ENOSPC past MAILDIR_SUBS_MAX).
 */
int maildir_subs_set(const char *root, const char *name, bool on);
/*
 * Renames a subscription and those of its children ("from" and "from.*"
 * become "to" and "to.*"), as a folder RENAME does.  0 or -1.
 */
int maildir_subs_rename(const char *root, const char *from, const char *to);

/* ---- folder tree ---------------------------------------------------- */

/*
 * Renames folder from to to (IMAP view names, not INBOX) with all its
 * children: ".from" and every ".from.x" become ".to" and ".to.x".  Fails
 * with EEXIST when ".to" or any ".to.x" that would be needed exists,
 * ENOENT when neither ".from" nor a child exists, EINVAL for bad names
 * or when to lies inside from.  Returns 0, or -1 with errno (a failure
 * half-way leaves the renames done so far; each one is atomic).
 */
int maildir_folder_rename(const char *root, const char *from, const char *to);

/*
 * RENAME INBOX (RFC 3501 §6.3.5): creates folder to and moves every
 * message of the root's new/ and cur/ into it; INBOX stays, empty.
 * Returns the number of messages moved, or -1 with errno (EEXIST when
 * to exists).
 */
long maildir_inbox_move(const char *root, const char *to);

#endif
