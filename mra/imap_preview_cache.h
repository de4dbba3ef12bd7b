/*
 * The PREVIEW cache (RFC 8970): each folder may keep the previews FETCH
 * PREVIEW computed in its own file, so a client asking for them again
 * (or another session, or after a restart) reads them instead of parsing
 * every message.  A file of its own rather than a youju.index field, so
 * that youju.index's format can change without touching it:
 *
 *   youju-preview                      beside dovecot-uidlist
 *   youju-preview 1 <uidvalidity>\n    header
 *   <uid> <size> <preview>\n           ascending uid; size: the file's
 *                                      bytes (S= or stat), checked
 *
 * The preview is UTF-8 without control characters (imap_preview_make
 * makes white space single spaces), at most IMAP_PREVIEW_CHARS
 * characters.  The file is mapped read-only and searched by UID in place
 * (binary search over its lines), so a session holds only what it added
 * since the last save; a save merges those into a new file (temp file +
 * rename, without fsync: a lost file is recomputed) and drops the UIDs the
 * folder no longer has.  Another UIDVALIDITY or a broken header makes the
 * file count as empty.  Two sessions saving at once: the last rename
 * wins, and what the other added is computed again when asked.
 */
#ifndef YOUJU_MRA_IMAP_PREVIEW_CACHE_H
#define YOUJU_MRA_IMAP_PREVIEW_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

struct maildir_folder;
struct imap_preview_cache;

#define IMAP_PREVIEW_CACHE_FILE "youju-preview"
/* A bigger file is not read (a preview line is at most ~830 bytes). */
#define IMAP_PREVIEW_CACHE_MAX (64u << 20)
/* Entries added before a save is worth it (and at most kept unsaved). */
#define IMAP_PREVIEW_CACHE_SAVE_MIN    64
#define IMAP_PREVIEW_CACHE_PENDING_MAX 4096

/* The cache of folder dir (its file need not exist).  Never NULL. */
struct imap_preview_cache *imap_preview_cache_open(const char *dir,
						   uint32_t uidvalidity);
/* Frees pc without saving (NULL-safe); sets *pc = NULL. */
void imap_preview_cache_free(struct imap_preview_cache **pc);

/* The preview of uid whose file has size bytes: true with *text_r
   (borrowed until the next add, save or free), false when unknown. */
bool imap_preview_cache_get(struct imap_preview_cache *pc, uint32_t uid,
			    uint64_t size, struct str *text_r);

/* Keeps text (len bytes; control characters become spaces) as uid's
   preview until the next save.  Past IMAP_PREVIEW_CACHE_PENDING_MAX
   unsaved entries it is dropped. */
void imap_preview_cache_add(struct imap_preview_cache *pc, uint32_t uid,
			    uint64_t size, const char *text, size_t len);

/* Entries added since the last save. */
size_t imap_preview_cache_pending(const struct imap_preview_cache *pc);

/* Writes the file: what it held and what was added, for the UIDs f still
   has.  0 (also when nothing was pending), or -1 with errno. */
int imap_preview_cache_save(struct imap_preview_cache *pc,
			    const struct maildir_folder *f);

#endif
