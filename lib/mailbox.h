/*
 * The mailbox layer: mail semantics under every protocol, as Dovecot's
 * lib-storage is under imap, pop3 and lmtp.  youju-mra (IMAP, POP3), the
 * MTA's delivery and the webmail call these instead of touching Maildir
 * files themselves, so that quota, keywords, UIDs and flag changes follow
 * one set of rules (docs/mailbox.md).
 *
 * Everything here is synchronous file-system work on one user's Maildir++
 * (lib/maildir); callers decide where that may block.  No protocol state
 * is kept: a folder is a struct maildir_folder snapshot the caller owns,
 * and results come back as plain data (UIDs, which messages went away).
 */
#ifndef YOUJU_MAILBOX_H
#define YOUJU_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "maildir.h"
#include "str.h"

/* One user's store: the Maildir root (INBOX, holds maildirsize) and the
   quota rule that applies to it (maildir_quota_rule_make). */
struct mailbox_user {
	const char *root;
	struct maildir_quota_rule quota;
};

/*
 * Fills u for the Maildir at root (borrowed: must outlive u) with authd's
 * QUOTA definition quota_def (NULL or "": maildirsize's own line 1 is
 * obeyed, as Dovecot's maildir quota without a rule).  Returns 0, or -1
 * when quota_def is malformed (u then obeys maildirsize).
 */
int mailbox_user_init(struct mailbox_user *u, const char *root,
		      const char *quota_def);

/* ---- append -------------------------------------------------------------- */

struct mailbox_append {
	const char *data; /* the message, LF or CRLF line ends */
	size_t len;
	unsigned flags;	      /* enum maildir_flag */
	const struct str *kw; /* keyword names, nkw of them */
	size_t nkw;
	time_t when; /* INTERNALDATE (0: now) */
};

/*
 * Stores a new message in folder (a directory of u's Maildir) with its
 * flags and keywords (given letters in the folder's dovecot-keywords),
 * checks and records the quota, and numbers it.  *uidvalidity_r and
 * *uid_r (may be NULL) get its UID for APPENDUID (RFC 4315).  Returns 0,
 * or -1 with errno: EDQUOT over quota (nothing stored), ENOSPC no keyword
 * letter left (26 in use), EINVAL a bad keyword, others from the disk
 * (*error_r says which step).
 */
int mailbox_append(const struct mailbox_user *u, const char *folder,
		   const struct mailbox_append *a, uint32_t *uidvalidity_r,
		   uint32_t *uid_r, const char **error_r);

/*
 * MULTIAPPEND (RFC 3502): stores the n messages a[] in folder as
 * mailbox_append does, all or nothing: the quota is checked for all of
 * them together, and when one cannot be stored the ones already stored
 * are unlinked again (a session scanning meanwhile may see them come and
 * go).  uids_r (n of them) gets their UIDs, in order, 0 each when the
 * uidlist could not be written (the next scan numbers them).  Returns 0,
 * or -1 with errno as mailbox_append.
 */
int mailbox_append_many(const struct mailbox_user *u, const char *folder,
			const struct mailbox_append *a, size_t n,
			uint32_t *uidvalidity_r, uint32_t *uids_r,
			const char **error_r);

/*
 * Delivers a message into folder's new/ as an MDA does (no flags, no
 * UID yet: the first reader numbers it), after u's quota check, and
 * records it in maildirsize.  The file is fsync'd before its link (its
 * flush left to the caller by mailbox_deliver_begin below); making the
 * new/ entry durable (fsync of new/, or a syncfs) is the caller's.  Returns 0,
 * or -1 with errno (EDQUOT: over quota, nothing stored; others with *error_r).
 */
int mailbox_deliver(const struct mailbox_user *u, const char *folder,
		    const char *data, size_t len, const char **error_r);

/*
 * mailbox_deliver() in two steps, for a caller that flushes a batch of
 * deliveries itself (maildir_store_tmp(), docs/queue.md): _begin checks
 * the quota and writes the file into folder's tmp/ without an fsync;
 * after a flush that began once it returned, _end links it into new/ and
 * records it in maildirsize (the new/ entry is then the caller's to
 * flush); _abort unlinks it instead.  rootfd is u->root held open by the
 * caller until _end or _abort (or AT_FDCWD), folder relative to it as
 * maildir_store_tmp() takes it; *qfd is the maildirsize _begin keeps open
 * for _end (maildir_quota_check_keep(); NULL: none kept, the quota read
 * and written by name), closed (-1) by _end and _abort.
 * Errors as mailbox_deliver().
 */
int mailbox_deliver_begin(const struct mailbox_user *u, int rootfd,
			  const char *folder, const char *data, size_t len,
			  struct maildir_pending *p, int *qfd,
			  const char **error_r);
int mailbox_deliver_end(const struct mailbox_user *u,
			const struct maildir_pending *p, int *qfd,
			const char **error_r);
void mailbox_deliver_abort(const struct maildir_pending *p, int *qfd);

/* ---- copy and move ------------------------------------------------------- */

struct mailbox_copy_result {
	uint32_t uidvalidity; /* of the destination */
	uint32_t *src_uids;   /* owned (mailbox_copy_result_free): */
	uint32_t *dst_uids;   /* n each, in ascending source UID order */
	size_t n;	      /* messages copied (vanished ones skipped) */
};

void mailbox_copy_result_free(struct mailbox_copy_result *r);

/* RFC822.SIZE of the message file fd (every bare LF counted as CR LF, as
   maildir_crlf_size), read from offset 0 with pread: fd's offset is left
   as it was.  Returns 0, or -1 with errno. */
int mailbox_fd_vsize(int fd, uint64_t *vsize_r)
    __attribute__((warn_unused_result));

/*
 * Copies the messages of src marked in sel (sel[i] for src->msgs[i]) into
 * the folder dst by hard link (falling back to a copy of the bytes), with
 * their flags, keywords (looked up by name in dst's dovecot-keywords and
 * given letters there; a keyword finding no free letter is dropped) and
 * INTERNALDATE, numbering them in dst in source order (COPYUID data in
 * *r).  A copy is checked against u's quota as a whole and recorded in
 * maildirsize.  move: a MOVE (RFC 6851): the quota does not change, and
 * the copied sources are then expunged from src (src->msgs compacted; sel
 * is rewritten: sel[i] true for each message of the old numbering that was
 * removed).  Returns 0, or -1 with errno (EDQUOT: over quota, nothing
 * copied; others with *error_r) and *r freed.
 */
int mailbox_copy(const struct mailbox_user *u, struct maildir_folder *src,
		 bool *sel, const char *dst, bool move,
		 struct mailbox_copy_result *r, const char **error_r);

/* ---- expunge ------------------------------------------------------------- */

/*
 * Expunges the messages of f marked in sel: unlinks them, compacts
 * f->msgs and records the freed bytes and count in u's maildirsize (a
 * message already expunged by another session leaves the view without a
 * second delta).  sel is rewritten: true for each message of the old
 * numbering that left the view.  *removed_r gets their count.  Returns 0,
 * or -1 when some could not be unlinked (they stay, unmarked; errno).
 */
int mailbox_expunge(const struct mailbox_user *u, struct maildir_folder *f,
		    bool *sel, size_t *removed_r);

/* ---- flags --------------------------------------------------------------- */

/* The system flags (RFC 3501 §2.3.2; \Recent is no Maildir flag) with
   their MAILDIR_* bits, in the order IMAP lists them: one table for IMAP
   and Sieve's imap4flags. */
struct mailbox_flag {
	const char *name; /* "\Answered" */
	unsigned bit;
};
#define MAILBOX_NFLAGS 5
extern const struct mailbox_flag mailbox_flags[MAILBOX_NFLAGS];

/* The MAILDIR_* bit of system flag name (any case), or 0 when name is not
   one. */
unsigned mailbox_flag_bit(struct str name);

enum mailbox_flags_mode {
	MAILBOX_FLAGS_ADD,     /* +FLAGS */
	MAILBOX_FLAGS_REMOVE,  /* -FLAGS */
	MAILBOX_FLAGS_REPLACE, /* FLAGS: P and keyword letters that have no
				  name in the folder are kept, as Dovecot */
};

/*
 * Gives the keyword names letters in f's dovecot-keywords (those that have
 * none yet) and updates f->kw.  *bits_r gets the letters' bits.  Returns
 * 0, or -1 with errno (ENOSPC: no letter left; the names that fitted keep
 * theirs and f->kw shows them; EINVAL: a bad name).
 */
int mailbox_keywords(struct maildir_folder *f, const struct str *names,
		     size_t n, uint32_t *bits_r);

/*
 * Changes message m of f atomically: mode with the system flags flags
 * (enum maildir_flag) and keyword bits kwbits (letters of f->kw) is
 * applied to the flags the file has on disk now, never to a stale copy,
 * so that concurrent changes from other sessions are kept.  m->letters
 * gets the result.  Returns 0, or -1 with errno (ENOENT: expunged).
 */
int mailbox_msg_flags(struct maildir_folder *f, struct maildir_msg *m,
		      enum mailbox_flags_mode mode, unsigned flags,
		      uint32_t kwbits);

#endif
