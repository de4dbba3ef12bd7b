/*
 * IMAP commands on mailbox names rather than messages: LIST and LSUB with
 * LIST-EXTENDED (RFC 5258), CHILDREN (RFC 3348) and SPECIAL-USE (RFC 6154)
 * attributes, SUBSCRIBE/UNSUBSCRIBE on Dovecot's subscriptions file,
 * RENAME (children and INBOX included) and DELETE as Dovecot does them on
 * Maildir++, and QUOTA (RFC 2087/9208) from maildirsize.
 *
 * Each command function writes its untagged responses to c and returns the
 * text of the tagged reply ("OK List completed.", "NO [...] ...": static).
 */
#ifndef YOUJU_MRA_IMAP_MBOX_H
#define YOUJU_MRA_IMAP_MBOX_H

#include <stdbool.h>

#include "imap_parse.h"

struct maildir_folder;
struct mra_conn;

struct imap_mbox_ctx {
	struct mra_conn *c;
	const char *maildir;	    /* the user's Maildir root */
	const char *quota;	    /* authd's quota ("5242880S"), or "" */
	const struct imap_cmd *cmd; /* name upper-cased */
};

/* The folder directory (malloc'd) of an IMAP mailbox name, or NULL for an
   invalid name. */
char *imap_mbox_path(const char *maildir, const char *name);

/* The folder of an IMAP mailbox name, opened read-only (release with
   maildir_folder_free), or NULL when the name is invalid or the folder does
   not exist or cannot be read. */
struct maildir_folder *imap_mbox_open(const char *maildir, const char *name);

/* Whether a LIST pattern ('*' anything, '%' anything but '.') matches
   name; time O(strlen(pat) * strlen(name)), no backtracking. */
bool imap_mbox_match(const char *pat, const char *name);

/* LIST and LSUB */
const char *imap_mbox_list(const struct imap_mbox_ctx *x);
/* SUBSCRIBE and UNSUBSCRIBE */
const char *imap_mbox_subscribe(const struct imap_mbox_ctx *x);
const char *imap_mbox_rename(const struct imap_mbox_ctx *x);
const char *imap_mbox_delete(const struct imap_mbox_ctx *x);
/* GETQUOTAROOT, GETQUOTA, SETQUOTA */
const char *imap_mbox_quota(const struct imap_mbox_ctx *x);

#endif
