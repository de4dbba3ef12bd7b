/*
 * Maildir++ quota (reference/maildir.md §4), one rule for every caller:
 * the RCPT-time check of youju-mta, delivery, IMAP APPEND/COPY and the
 * expunges of IMAP and POP3 (through lib/mailbox).  The maildirsize file
 * in the Maildir root holds the definition ("<n>S,<n>C") and the usage
 * deltas; this module parses it, appends deltas, recalculates it as
 * Dovecot does and answers "does this fit?".
 */
#ifndef YOUJU_MAILDIR_QUOTA_H
#define YOUJU_MAILDIR_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* maildirsize files this large are recalculated (maildirquota(7)). */
#define MAILDIR_SIZE_FILE_MAX 5120
/* Longest quota definition we take from the directory. */
#define MAILDIR_QUOTA_DEF_MAX 128

struct maildir_quota {
	uint64_t max_bytes, max_count; /* 0 = no limit */
	int64_t bytes, count;	       /* current use: sum of the deltas */
	bool valid;		       /* the file existed and parsed */
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

/*
 * Parses a quota definition as authd's QUOTA or line 1 of maildirsize
 * carry it: "<n>S,<n>C", either part optional, any order, unknown letters
 * ignored (at most MAILDIR_QUOTA_DEF_MAX bytes, no newline).  Returns 0
 * with the limits (0: none), or -1 when malformed.
 */
int maildir_quota_def_parse(const char *def, uint64_t *bytes_r,
			    uint64_t *count_r);

/*
 * Whose limit applies (maildir.md §4 "Whose limit wins").  own: the
 * limits are the caller's (authd's QUOTA, or the MTA's
 * virtual_mailbox_limit) and a maildirsize with another definition is
 * rebuilt with them; !own: line 1 of maildirsize is obeyed, as Courier,
 * maildrop and Dovecot do without a configured rule.
 */
struct maildir_quota_rule {
	bool own;
	uint64_t max_bytes, max_count; /* when own; 0 = no limit */
};

/*
 * The rule for a mailbox: authd's QUOTA definition def (NULL or "": none)
 * unless global_only, else default_bytes (virtual_mailbox_limit) when it
 * is not 0, else maildirsize's own line.  Returns 0, or -1 when def is
 * malformed (*r is then the default).
 */
int maildir_quota_rule_make(const char *def, uint64_t default_bytes,
			    bool global_only, struct maildir_quota_rule *r);

/* Flags of maildir_quota_check(). */
enum maildir_quota_check_flags {
	/* never recalculate (RCPT time: a missing, broken or foreign file
	   counts as fitting; delivery recounts and decides) */
	MAILDIR_QUOTA_READONLY = 1 << 0,
};

/*
 * The one over-quota test: would bytes more and count more messages fit
 * in the Maildir at root under rule?  "usage + new > limit", bytes and
 * count separately, 0 = no limit.  A missing or broken maildirsize, or one
 * whose definition differs from an own rule, is recalculated first; a file
 * that says "over" and was not just recalculated is recounted once (the
 * deltas may be stale).  *q_r (may be NULL) gets the usage and limits.
 * Returns 1 over, 0 fits, -1 error with errno.
 */
int maildir_quota_check(const char *root, const struct maildir_quota_rule *rule,
			uint64_t bytes, uint64_t count, unsigned flags,
			struct maildir_quota *q_r);

/*
 * maildir_quota_check() for a delivery, which appends its delta right
 * after storing (mailbox_deliver_begin()): the Maildir at root is open as
 * rootfd too (AT_FDCWD: by path only), and its maildirsize, opened
 * relative to it for reading and appending, is left open in *fd_r for
 * maildir_quota_add_fd() when the message fits (one open per delivery
 * instead of two).  *fd_r is -1 when nothing was kept (over quota, an
 * error, no file, a file rebuilt by the check or not writable): the add
 * then opens the file by name as maildir_quota_add() does.
 */
int maildir_quota_check_keep(const char *root, int rootfd,
			     const struct maildir_quota_rule *rule,
			     uint64_t bytes, uint64_t count, int *fd_r);
/*
 * maildir_quota_add() through *fd from maildir_quota_check_keep() (closed
 * here, set to -1).  When the file has no link left by then (a
 * recalculation renamed another over it), or *fd is -1, the line goes to
 * the current maildirsize (relative to rootfd, or root's path with
 * AT_FDCWD), as if the file had been opened now.  Returns 0 or -1.
 */
int maildir_quota_add_fd(const char *root, int rootfd, int *fd, int64_t bytes,
			 int64_t count);

/*
 * The maildirsize of a Maildir that a delivery has just made
 * (maildir_create_inbox(), so it holds nothing): "0 0" under rule's
 * limits, without the scan and without fsync (a file lost in a crash is
 * recalculated).  Kept when another writer made one first; none made when rule
 * limits nothing, as maildir_quota_check() would.  Returns 0, or -1 with errno.
 */
int maildir_quota_create_empty(const char *root,
			       const struct maildir_quota_rule *rule);

#endif
