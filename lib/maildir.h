/*
 * Maildir++ as Courier, maildrop and Dovecot write it (reference/maildir.md):
 * file names and their ":2,<flags>" info, the tmp -> new/cur delivery,
 * Dovecot's dovecot-uidlist (version 3, reading version 1 too) for UIDs that
 * survive sessions and a hand-over to or from Dovecot, the maildirsize quota
 * file, and folders stored flat as ".Name" in IMAP modified UTF-7.
 * Shared by youju-mra (POP3/IMAP) and youju-mta (delivery).
 *
 * A folder is the directory holding tmp/ new/ cur/: the Maildir root
 * (INBOX) or a ".Name" subdirectory.  Every function here is synchronous
 * file-system work; callers decide where that may block.
 */
#ifndef YOUJU_MAILDIR_H
#define YOUJU_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "maildir_meta.h"
#include "str.h"

/* Longest file name we handle in new/ or cur/ (NAME_MAX). */
#define MAILDIR_FILENAME_MAX 255
/* Largest dovecot-uidlist we read (about 100 bytes per message). */
#define MAILDIR_UIDLIST_MAX (64u * 1024 * 1024)
/* maildirsize files this large are recalculated (maildirquota(7)). */
#define MAILDIR_SIZE_FILE_MAX 5120
/* Most messages in one folder we list. */
#define MAILDIR_MSGS_MAX 1000000
/* Longest folder name on disk (".a.b"), a path component. */
#define MAILDIR_FOLDER_MAX 255

/* System flags, the letters of the ":2," info (maildir.md §3). */
enum maildir_flag {
	MAILDIR_DRAFT = 1 << 0,   /* D  \Draft */
	MAILDIR_FLAGGED = 1 << 1, /* F  \Flagged */
	MAILDIR_PASSED = 1 << 2,  /* P  (no IMAP flag) */
	MAILDIR_REPLIED = 1 << 3, /* R  \Answered */
	MAILDIR_SEEN = 1 << 4,    /* S  \Seen */
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
int maildir_info_set(struct str old, unsigned flags, char *out,
		     size_t outsz);

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
int maildir_unique_name(char *out, size_t outsz, uint64_t size,
			uint64_t vsize);

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
int maildir_store(const char *folder, const char *data, size_t len,
		  bool in_new, const char *letters, time_t mtime,
		  char *base_r, const char **error_r);

/* ---- dovecot-uidlist ------------------------------------------------- */

struct maildir_uidrec {
	uint32_t uid;
	char *base;  /* owned; the name up to ':' */
	char *extra; /* owned; the record's keys ("W123 P..."), "" if none */
};

struct maildir_uidlist {
	unsigned version;     /* 1 or 3 as read; always written as 3 */
	uint32_t uidvalidity;
	uint32_t next_uid;    /* max(N, last uid + 1) */
	char guid[33];        /* mailbox GUID hex, "" if none */
	char *hdr_extra;      /* owned; other header keys, "" if none */
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
 * Reads the whole file path into out (out's maximum bounds it).  Returns
 * 1 read, 0 missing, -1 error with errno (EFBIG: larger than out allows).
 */
int maildir_file_read(const char *path, struct buf *out);
/*
 * Replaces dir/name with data: temp file beside it, fsync, rename
 * (maildir.md §7.5).  Returns 0, or -1 with errno.
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
	char *base;        /* owned; unique part of the name */
	char *letters;     /* owned; info letters ("" in new/) */
	bool recent;       /* was in new/ when scanned (IMAP \Recent) */
	bool in_new;       /* the file lies in new/ now */
	uint64_t size;     /* file bytes (S= or stat) */
	uint64_t vsize;    /* CRLF bytes (W=), 0 = not known yet */
	time_t mtime;      /* INTERNALDATE */
};

struct maildir_folder {
	char *path;        /* owned; the folder directory */
	uint32_t uidvalidity;
	uint32_t next_uid;
	struct maildir_msg *msgs; /* ascending uid */
	size_t n;
	bool had_new;      /* the last scan found mail in new/ */
	struct maildir_keywords kw; /* dovecot-keywords as read by the scan */
	/* new/ and cur/, opened by the first maildir_msg_open in each, so
	   that a FETCH of many messages does not look up the folder's
	   path once per message */
	int dir_fd[2];
	bool dir_open[2];  /* dir_fd[k] is valid (calloc'ed: false) */
};

/*
 * Scans new/ and cur/ of path, numbering files that dovecot-uidlist does
 * not list yet (in name order, i.e. delivery order) and rewriting the
 * uidlist under its lock when anything was added or dropped.  move_new:
 * also move new/ files to cur/ with an empty ":2," info (the reader's
 * duty, maildir.md §3; the message keeps recent = true for \Recent).
 * A missing uidlist gets a new UIDVALIDITY.  Returns the folder (free with
 * maildir_folder_free), or NULL with *error_r and errno.
 */
struct maildir_folder *maildir_folder_open(const char *path, bool move_new,
					   const char **error_r);
void maildir_folder_free(struct maildir_folder **f);

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
 * Changes m's info letters by rename (moving it to cur/ if needed).
 * Returns 0, or -1 with errno (ENOENT: expunged meanwhile).
 */
int maildir_msg_set_letters(struct maildir_folder *f, struct maildir_msg *m,
			    const char *letters);

/* Unlinks m (expunge).  ENOENT counts as done.  Returns 0 or -1. */
int maildir_msg_unlink(struct maildir_folder *f, struct maildir_msg *m);

/* ---- quota ------------------------------------------------------------ */

struct maildir_quota {
	uint64_t max_bytes, max_count; /* 0 = no limit */
	int64_t bytes, count;          /* current use: sum of the deltas */
	bool valid;                    /* the file existed and parsed */
};

/*
 * Parses the text of a maildirsize file (first line "<n>S,<n>C", then
 * "<bytes> <count>" deltas, any white space).  Returns 0, or -1 when it
 * must be recalculated (too long, malformed, negative total).
 */
int maildir_quota_parse(const char *data, size_t len, struct maildir_quota *q);
/* Reads root/maildirsize.  Returns 1 read, 0 none or to recalculate
   (*q zeroed), -1 I/O error with errno. */
int maildir_quota_read(const char *root, struct maildir_quota *q);
/* Appends "<bytes> <count>\n" with O_APPEND in one write if the file
   exists (a missing file is left for recalculation).  Returns 0 or -1. */
int maildir_quota_add(const char *root, int64_t bytes, int64_t count);

/* ---- folders ------------------------------------------------------------ */

/* ExtMail's default folders, created with every new Maildir. */
extern const char *const maildir_default_folders[]; /* NULL-terminated */

/*
 * Creates a Maildir at root (and its parents, mode 0700) with tmp/ new/
 * cur/ and the default folders.  Existing parts are kept.  Returns 0, or
 * -1 with *error_r and errno.
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


/* ---- quota recalculation (youju-mta delivery) --------------------------- */

/*
 * Recalculates the Maildir++ usage of root as Dovecot does (new/ and cur/
 * of the root and of every ".Folder", Trash and T-flagged mail included;
 * sizes from ",S=" or stat) and replaces root/maildirsize (temp file in
 * root/tmp, rename) with the definition line for max_bytes / max_count
 * ("<n>S,<n>C"; "<n>S" when max_count is 0) and one usage line.  *q_r
 * gets the result.  Returns 0, or -1 with errno.
 */
int maildir_quota_recalc(const char *root, uint64_t max_bytes,
			 uint64_t max_count, struct maildir_quota *q_r);

#endif
