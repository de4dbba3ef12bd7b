/*
 * Maildir++ as Courier, maildrop and Dovecot write it (reference/maildir.md):
 * file names and their ":2,<flags>" info, the tmp -> new/cur delivery,
 * Dovecot's dovecot-uidlist (version 3, reading version 1 too) for UIDs that
 * survive sessions and a hand-over to or from Dovecot, the maildirsize quota
 * file, and folders stored flat as ".Name" in IMAP modified UTF-7.
 * Shared by youju-mra (POP3/IMAP) and youju-mta (delivery).
 *
 * The quota (maildir_quota.h), folders and modified UTF-7
 * (maildir_folders.h) and keywords and subscriptions (maildir_meta.h)
 * are their own modules, included here for callers of the whole family.
 *
 * A folder is the directory holding tmp/ new/ cur/: the Maildir root
 * (INBOX) or a ".Name" subdirectory.  Every function here is synchronous
 * file-system work; callers decide where that may block.
 */
#ifndef YOUJU_MAILDIR_H
#define YOUJU_MAILDIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "maildir_folders.h"
#include "maildir_meta.h"
#include "maildir_quota.h"
#include "str.h"

/* Longest file name we handle in new/ or cur/ (NAME_MAX). */
#define MAILDIR_FILENAME_MAX 255
/* Largest dovecot-uidlist we read (about 100 bytes per message). */
#define MAILDIR_UIDLIST_MAX (64u * 1024 * 1024)
/* Most messages in one folder we list. */
#define MAILDIR_MSGS_MAX 1000000

/* System flags, the letters of the ":2," info (maildir.md §3). */
enum maildir_flag {
	MAILDIR_DRAFT = 1 << 0,	  /* D  \Draft */
	MAILDIR_FLAGGED = 1 << 1, /* F  \Flagged */
	MAILDIR_PASSED = 1 << 2,  /* P  (no IMAP flag) */
	MAILDIR_REPLIED = 1 << 3, /* R  \Answered */
	MAILDIR_SEEN = 1 << 4,	  /* S  \Seen */
	MAILDIR_TRASHED = 1 << 5, /* T  \Deleted */
};

/*
 * The letters after ":2," as a bit set of enum maildir_flag; other letters
 * (keywords a-z, unknown capitals) are ignored here but kept by
 * maildir_info_set().
 */
unsigned maildir_flags_parse(struct str letters);

/*
 * Rebuilds the info letters: the system flags from flags, then every other
 * letter of old (keywords, unknown ones) kept, all in ASCII order without
 * duplicates.  Writes a NUL-terminated string to out (size outsz >= 64).
 * Returns 0, or -1 when it does not fit.
 */
int maildir_info_set(struct str old, unsigned flags, char *out, size_t outsz);

/*
 * Splits a file name at the first ':' into the unique base and the flag
 * letters of a ":2," info (empty when there is no info or it is not "2,").
 */
void maildir_name_split(struct str name, struct str *base_r,
			struct str *letters_r);

/*
 * Reads the ",<key>=<n>" field (key 'S': file size, 'W': size with CRLF)
 * of a base name as Dovecot does: the first such field ending at ',', ':'
 * or the end.  Returns 0 with *v_r, or -1 when absent or malformed.
 */
int maildir_name_size(struct str name, char key, uint64_t *v_r);

/*
 * A new unique base name, Dovecot's "<sec>.M<usec>P<pid>.<host>" shape,
 * with ",S=<size>,W=<vsize>" appended (sizes exact).  Unique per process
 * (the microseconds are bumped).  Returns 0 or -1 (too long).
 */
int maildir_unique_name(char *out, size_t outsz, uint64_t size, uint64_t vsize);

/*
 * Orders two base names as new files are numbered: digit runs compare as
 * numbers ("5.M99999" < "5.M100000"), the rest byte by byte; 0 only for
 * the same name.  <0, 0 or >0.
 */
int maildir_base_cmp(const char *a, size_t an, const char *b, size_t bn);

/* The size of data with every bare LF counted as CR LF (RFC822.SIZE). */
uint64_t maildir_crlf_size(const char *data, size_t len);

/*
 * Stores data as a new message in folder: written to tmp/, fsync'd, then
 * linked into new/ (in_new, flags ignored) or cur/ with ":2,<letters>"
 * (letters already in order), tmp unlinked.  mtime (0: now) becomes the
 * file's modification time (IMAP's INTERNALDATE).  base_r (size
 * MAILDIR_FILENAME_MAX + 1, may be NULL) gets the base name.  Returns 0,
 * or -1 with *error_r (static text) and errno.
 */
int maildir_store(const char *folder, const char *data, size_t len, bool in_new,
		  const char *letters, time_t mtime, char *base_r,
		  const char **error_r);

/*
 * maildir_store() into new/ in two steps, for a caller that flushes a
 * batch of deliveries itself (youju-mta's delivery: shared syncfs(2)
 * calls of the file system, docs/queue.md).  maildir_store_tmp() writes
 * data into folder's tmp/ without an fsync and fills *p; the caller makes
 * the file durable (a flush that began after this returned), then calls
 * maildir_pending_link() to give it its name in new/ (tmp/ unlinked), and
 * makes that name durable.  Maildir's rule holds: no file gets a name in
 * new/ before its bytes are on disk.  maildir_pending_drop() unlinks a
 * file that will not be linked.  0, or -1 with *error_r and errno.
 *
 * folder is relative to the directory dirfd ("" for dirfd itself), or
 * absolute with dirfd AT_FDCWD: a delivery that holds its Maildir open
 * walks the path from / once instead of at every step (the tmp/ file,
 * its link, its unlink).  dirfd is borrowed and must stay open until
 * maildir_pending_link() or _drop().
 */
struct maildir_pending {
	int dirfd;	    /* borrowed: what tmp and dst are relative to */
	char tmp[PATH_MAX]; /* folder/tmp/<base> */
	char dst[PATH_MAX]; /* folder/new/<base> */
	uint64_t size;	    /* bytes written */
};

int maildir_store_tmp(int dirfd, const char *folder, const char *data,
		      size_t len, struct maildir_pending *p,
		      const char **error_r);
int maildir_pending_link(const struct maildir_pending *p, const char **error_r);
void maildir_pending_drop(const struct maildir_pending *p);

/* ---- dovecot-uidlist ------------------------------------------------- */

struct maildir_uidrec {
	uint32_t uid;
	char *base;  /* owned; the name up to ':' */
	char *extra; /* owned; the record's keys ("W123 P..."), "" if none */
};

struct maildir_uidlist {
	unsigned version; /* 1 or 3 as read; always written as 3 */
	uint32_t uidvalidity;
	uint32_t next_uid;	     /* max(N, last uid + 1) */
	char guid[33];		     /* mailbox GUID hex, "" if none */
	char *hdr_extra;	     /* owned; other header keys, "" if none */
	struct maildir_uidrec *recs; /* ascending uid */
	size_t n, cap;
};

void maildir_uidlist_init(struct maildir_uidlist *ul);
void maildir_uidlist_deinit(struct maildir_uidlist *ul);

/*
 * Parses the text of a dovecot-uidlist (version 3, or the Courier-style
 * version 1).  UIDs must ascend strictly.  Returns 0, or -1 with *error_r
 * (ul then holds what was parsed before the error; deinit it).
 */
int maildir_uidlist_parse(const char *data, size_t len,
			  struct maildir_uidlist *ul, const char **error_r);
/* Appends the version 3 text of ul to out.  Returns 0 or -1 (full). */
int maildir_uidlist_format(const struct maildir_uidlist *ul, struct buf *out);
/* Adds a record (uid must exceed the last one; updates next_uid). */
void maildir_uidlist_add(struct maildir_uidlist *ul, uint32_t uid,
			 const char *base, size_t base_len);
/* The same, taking base and extra (malloc'ed; owned by ul now). */
void maildir_uidlist_take(struct maildir_uidlist *ul, uint32_t uid, char *base,
			  char *extra);

/*
 * A new UIDVALIDITY for folder (whose dovecot-uidlist is missing): the
 * current time, but always above the last one given out in the same
 * Maildir, kept in MAILDIR_UIDVALIDITY_FILE at its root, so a folder
 * deleted and created again within a second gets a new one (RFC 3501
 * §2.3.1.1).  Never fails (without the file: the time alone).
 */
#define MAILDIR_UIDVALIDITY_FILE "youju-uidvalidity"
uint32_t maildir_uidvalidity_next(const char *folder);
/* The file's "<decimal>\n" value, or 0 when malformed. */
uint32_t maildir_uidvalidity_parse(const char *data, size_t len);

/*
 * Takes the dotlock dir/lockname (created with O_EXCL, stale after 120 s
 * as Dovecot's), waiting at most timeout_ms.  Returns 0, or -1 with errno
 * (EWOULDBLOCK on timeout).
 */
int maildir_dotlock(const char *dir, const char *lockname, int timeout_ms);
void maildir_dotunlock(const char *dir, const char *lockname);

/*
 * Reads the whole file path into out (out's maximum bounds it):
 * file_read_buf().  Returns 1 read, 0 missing, -1 error with errno
 * (EFBIG: larger than out allows).
 */
int maildir_file_read(const char *path, struct buf *out);
/*
 * Replaces dir/name with data: file_replace() (temp file beside it,
 * fsync, rename; maildir.md §7.5).  Returns 0, or -1 with errno.
 */
int maildir_file_replace(const char *dir, const char *name, const char *data,
			 size_t len);

/*
 * Takes dovecot-uidlist.lock in folder (a dotlock, stale after 120 s),
 * waiting at most timeout_ms.  Returns 0, or -1 with errno (EWOULDBLOCK on
 * timeout).
 */
int maildir_uidlist_lock(const char *folder, int timeout_ms);
void maildir_uidlist_unlock(const char *folder);

/* ---- one folder, scanned --------------------------------------------- */

struct maildir_msg {
	uint32_t uid;
	char *base;	/* owned; unique part of the name */
	char *letters;	/* owned; info letters ("" in new/) */
	bool recent;	/* was in new/ when scanned (IMAP \Recent) */
	bool in_new;	/* the file lies in new/ now */
	uint64_t size;	/* file bytes (S= or stat) */
	uint64_t vsize; /* CRLF bytes (W=), 0 = not known yet */
	/* INTERNALDATE, the file's mtime: read on first use by
	   maildir_msg_mtime() (or all at once by maildir_folder_mtimes());
	   read it through those, not directly */
	time_t mtime;
	bool mtime_known;
};

struct maildir_folder {
	char *path; /* owned; the folder directory */
	uint32_t uidvalidity;
	uint32_t next_uid;
	struct maildir_msg *msgs; /* ascending uid */
	size_t n;
	bool had_new;		    /* the last scan found mail in new/ */
	struct maildir_keywords kw; /* dovecot-keywords as read by the scan */
	/* new/ and cur/, opened by the first maildir_msg_open in each, so
	   that a FETCH of many messages does not look up the folder's
	   path once per message */
	int dir_fd[2];
	bool dir_open[2]; /* dir_fd[k] is valid (calloc'ed: false) */
};

/*
 * Scans new/ and cur/ of path, numbering files that dovecot-uidlist does
 * not list yet (in name order, i.e. delivery order) and rewriting the
 * uidlist under its lock when anything was added or dropped.  move_new:
 * also move new/ files to cur/ with an empty ":2," info (the reader's
 * duty, maildir.md §3; the message keeps recent = true for \Recent).
 * A missing uidlist gets a new UIDVALIDITY.  Returns the folder (free with
 * maildir_folder_free), or NULL with *error_r and errno.  Implemented in
 * lib/maildir_scan.c, whose maildir_folder_open_cached() does the same
 * through a cache of the last scans (maildir_scan.h).
 */
struct maildir_folder *maildir_folder_open(const char *path, bool move_new,
					   const char **error_r);
void maildir_folder_free(struct maildir_folder **f);

/*
 * INTERNALDATE of m (the mtime of its file).  The scan does not stat
 * the files (a SELECT of 50,000 messages would spend half its time
 * there): the first call stats m's file and keeps the answer in m, a
 * cache of the scan, which is why m may be const.  So f must not be read
 * by another thread meanwhile (webmail's shared scans call
 * maildir_folder_mtimes() before sharing).  A file gone meanwhile
 * (expunged by another reader) gives the delivery time in its name, or
 * 0.
 */
time_t maildir_msg_mtime(const struct maildir_folder *f,
			 const struct maildir_msg *m);
/* Reads every message's mtime that is not known yet (maildir_msg_mtime). */
void maildir_folder_mtimes(struct maildir_folder *f);

/* Index of the message with uid, or -1. */
long maildir_folder_find(const struct maildir_folder *f, uint32_t uid);

/*
 * The path of message m (new/<base> or cur/<base>:2,<letters>) into out.
 * Returns 0 or -1 (too long).
 */
int maildir_msg_path(const struct maildir_folder *f,
		     const struct maildir_msg *m, char *out, size_t outsz);

/*
 * Opens message m for reading (O_RDONLY | O_CLOEXEC), looking a vanished
 * file up again as maildir_msg_read() does.  Returns the fd (the caller
 * closes it), or -1 with errno (ENOENT: expunged).
 */
int maildir_msg_open(struct maildir_folder *f, struct maildir_msg *m);

/*
 * Reads message m into out (out's maximum bounds it).  A vanished file
 * (renamed by another session) is looked up again in cur/ by its base
 * name.  Returns 0, or -1 with errno (ENOENT: expunged).
 */
int maildir_msg_read(struct maildir_folder *f, struct maildir_msg *m,
		     struct buf *out);

/*
 * Finds m's current name after it vanished (another session renamed it):
 * cur/ then new/ are searched by base name and m->letters, m->in_new
 * updated.  Returns 0, or -1 with errno (ENOENT: expunged).
 */
int maildir_msg_locate(struct maildir_folder *f, struct maildir_msg *m);

/*
 * Computes the next info letters from the current ones (NUL-terminated
 * into out of size outsz, ASCII order).  Returns 0 or -1 (does not fit).
 */
typedef int maildir_letters_fn(const char *cur, char *out, size_t outsz,
			       void *ctx);

/*
 * Changes m's info letters atomically: fn is applied to the letters the
 * file carries *now*, and the rename from that name is the commit; when
 * another session renamed the file first, the current name is looked up
 * and fn applied again (so concurrent flag changes are never lost).  A
 * file in new/ moves to cur/.  verify: when fn changes nothing, check
 * that the file really still has those letters (m may be stale).
 * Returns 0, or -1 with errno (ENOENT: expunged meanwhile; EBUSY: it
 * kept moving).
 */
int maildir_msg_change_letters(struct maildir_folder *f, struct maildir_msg *m,
			       maildir_letters_fn *fn, void *ctx, bool verify);

/*
 * Changes m's letters to letters: the letters added and removed relative
 * to m->letters as the caller saw them are applied to the current file
 * (maildir_msg_change_letters), so a stale m loses nobody's change.
 * Returns 0, or -1 with errno (ENOENT: expunged meanwhile).
 */
int maildir_msg_set_letters(struct maildir_folder *f, struct maildir_msg *m,
			    const char *letters);

/*
 * Unlinks m (expunge), following a rename by another session.  Returns
 * 1 unlinked here, 0 already gone (someone else expunged it), -1 error.
 */
int maildir_msg_unlink(struct maildir_folder *f, struct maildir_msg *m);

/*
 * Reads folder's dovecot-uidlist into ul (initialised here; deinit it).
 * For writers holding maildir_uidlist_lock().  Returns 1 read, 0 missing
 * or unparsable (ul empty), -1 I/O error with errno.
 */
int maildir_uidlist_read(const char *folder, struct maildir_uidlist *ul);
/* Replaces folder's dovecot-uidlist with ul (under the lock).  0 or -1. */
int maildir_uidlist_write(const char *folder, const struct maildir_uidlist *ul);

#endif
