/*
 * The IMAP URLs CATENATE takes (RFC 4469 §5, RFC 5092's relative form
 * into the user's own mailboxes):
 *
 *   /mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.n]]
 *
 * The mailbox and section are %-decoded (%00 refused); keywords are
 * case-insensitive.  Absolute URLs (imap://...) are not taken.
 */
#ifndef YOUJU_MRA_IMAP_URL_H
#define YOUJU_MRA_IMAP_URL_H

#include <stdbool.h>
#include <stdint.h>

#include "maildir.h"

struct imap_url {
	char mailbox[MAILDIR_FOLDER_MAX + 1];
	uint32_t uidvalidity; /* 0: not given */
	uint32_t uid;
	char section[256]; /* "" for the whole message */
	bool partial;
	uint64_t off, len; /* len UINT64_MAX: to the end */
};

/* Parses url into u.  0, or -1 when it is not such a URL. */
int imap_url_parse(const char *url, struct imap_url *u);

struct buf;
/* Appends what url names in the Maildir maildir to out, as BODY[section]
   would send it.  0, or -1 (a bad URL, or nothing there). */
int imap_url_fetch(const char *maildir, const char *url, struct buf *out);
/* The whole message u names (CR LF line ends, as FETCH BODY[] sends it)
   appended to msg.  0, or -1 (nothing there). */
int imap_url_message(const char *maildir, const struct imap_url *u,
		     struct buf *msg);

#endif
