/*
 * URLAUTH (RFC 4467): GENURLAUTH signs an absolute IMAP URL of one of the
 * user's own messages so that whoever its access identifier names may
 * fetch it with URLFETCH; RESETKEY revokes every URL of a mailbox (or of
 * all of them).  The token of the INTERNAL mechanism is HMAC-SHA256 of
 * the "rump" URL (everything up to the access identifier) under a random
 * 256-bit key per mailbox, kept in the owner's Maildir:
 *
 *   youju-urlauth                   mode 0600, beside the folders
 *   youju-urlauth 1\n
 *   <64 hex digits> <mailbox>\n     one per mailbox that has a key
 *
 * replaced by temp file + rename under youju-urlauth.lock.  A mailbox
 * without a line has no valid URL; RESETKEY removes lines, and the next
 * GENURLAUTH makes a new key.
 */
#ifndef YOUJU_MRA_IMAP_URLAUTH_H
#define YOUJU_MRA_IMAP_URLAUTH_H

#include <stdbool.h>
#include <stddef.h>

struct imap_ctx;

#define IMAP_URLAUTH_FILE "youju-urlauth"

/* GENURLAUTH url mechanism [url mechanism ...] */
void imap_cmd_genurlauth(struct imap_ctx *x);
/* RESETKEY [mailbox [mechanism ...]] */
void imap_cmd_resetkey(struct imap_ctx *x);
/* URLFETCH url ... (and RFC 5524's (url BINARY BODYPARTSTRUCTURE)) */
void imap_cmd_urlfetch(struct imap_ctx *x);

/*
 * The parts of an absolute URLAUTH URL (RFC 4467 §3, RFC 5092):
 * "imap://user@host/mailbox/;UID=n[/;SECTION=s][/;PARTIAL=o.n]
 * [;EXPIRE=t];URLAUTH=access[:mech:token]".
 */
struct imap_urlauth_url {
	char owner[256];  /* user@domain (the URL's user, @host when bare) */
	char rel[4096];	  /* "/mailbox/;UID=n..." for imap_url_parse */
	char access[256]; /* "user+u@d", "authuser", "anonymous", ... */
	size_t rump_len;  /* bytes up to the end of the access identifier */
	char mech[32];	  /* "" when no token */
	char token[130];
	long long expire; /* unix time; 0: none */
};

/* Parses url (NUL-terminated).  0, or -1 when it is not such a URL. */
int imap_urlauth_parse(const char *url, struct imap_urlauth_url *u);

#endif
