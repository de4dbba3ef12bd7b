/*
 * The account record youju-authd works with, and the byte-exact replies
 * built from it (reference/authd-protocol.md §3): the KEY=VALUE lines of a
 * PRE/AUTH success in courier's order, ENUMERATE records, the OPTIONS merge
 * with authd_default_options (the quota column's normalisation is
 * lib/extmail_sql's extmail_quota_definition).
 */
#ifndef AUTHD_REPLY_H
#define AUTHD_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* the mailbox.disable* columns, in ExtMail's MYSQL_SELECT_CLAUSE order */
enum authd_disable {
	AUTHD_DIS_SMTPD = 1 << 0,   /* disablesmtpd: SASL auth (sending) */
	AUTHD_DIS_SMTP = 1 << 1,    /* disablesmtp: receiving */
	AUTHD_DIS_WEBMAIL = 1 << 2, /* disablewebmail */
	AUTHD_DIS_NETDISK = 1 << 3, /* disablenetdisk */
	AUTHD_DIS_IMAP = 1 << 4,    /* disableimap */
	AUTHD_DIS_POP3 = 1 << 5,    /* disablepop3 */
};
#define AUTHD_DIS_COUNT 6
/* "disablesmtpd", ... for bit i */
const char *authd_disable_name(unsigned bit_index);

/*
 * One mailbox.  Every string is owned (xstrdup'd) or NULL; free with
 * authd_user_free().  home/maildir are absolute (virtual_mailbox_base
 * prepended); quota is already normalised by extmail_quota_definition (NULL =
 * no limit).
 */
struct authd_user {
	char *address;	    /* the login column as stored: ADDRESS */
	char *passwd;	    /* crypt column: PASSWD (NULL/"" = none) */
	char *clearpw;	    /* clear column (only when configured) */
	char *name;	    /* NAME */
	char *home;	    /* HOME */
	char *maildir;	    /* MAILDIR */
	char *quota;	    /* QUOTA */
	char *netdiskquota; /* copied into OPTIONS as ExtMail does */
	unsigned long uid, gid;
	unsigned disabled; /* AUTHD_DIS_* bits */
	bool pwchange_disabled;
	bool mailbox_active;
	bool domain_active;
	bool expired;
};

void authd_user_free(struct authd_user *u);
/* A deep copy (owned, free with authd_user_free then free()). */
struct authd_user *authd_user_dup(const struct authd_user *u);
/* Active mailbox, active domain, not expired. */
bool authd_user_usable(const struct authd_user *u);

/*
 * Builds the account's own OPTIONS value: all six disable* flags as name=0/1
 * in ExtMail's order, then netdiskquota=... when set.  Appends to out.
 * Returns 0 or -1 (buffer full).
 */
int authd_user_options(const struct authd_user *u, struct buf *out);

/*
 * Merges defaults (comma-separated name=value entries, may be NULL or "")
 * into account options (may be empty): the account's entries come first,
 * then each default whose name the account does not already have
 * (courier's DEFAULTOPTIONS rule).  Appends to out; 0 or -1.
 */
int authd_options_merge(const char *account, const char *defaults,
			struct buf *out);

/*
 * Appends a PRE/AUTH success reply: UID GID HOME ADDRESS NAME MAILDIR QUOTA
 * PASSWD PASSWD2 OPTIONS then ".\n".  passwd2: the verified clear password
 * (AUTH login) or NULL; for PRE the clear column is sent as PASSWD2 when
 * with_clear.  with_passwd: include PASSWD (courier does on PRE and AUTH
 * login; not on CRAM).  Values are cut at the first LF, NAME at the first
 * comma.  Returns 0 or -1 (buffer full: the caller tempfails).
 */
int authd_reply_user(struct buf *out, const struct authd_user *u,
		     const char *passwd2, bool with_passwd, bool with_name,
		     bool with_quota, const char *defaults);

/* One ENUMERATE record: name TAB uid TAB gid TAB home TAB maildir TAB
   options LF.  0 or -1. */
int authd_reply_enum(struct buf *out, const struct authd_user *u,
		     const char *defaults);

/* Appends "KEY=value\n" with value cut at the first LF (NULL value: no
   line).  0 or -1. */
int authd_reply_kv(struct buf *out, const char *key, const char *value);

#endif
