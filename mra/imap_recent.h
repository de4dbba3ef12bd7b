/*
 * IMAP \Recent (RFC 3501 §2.3.2) as Dovecot gives it on Maildir: a message
 * is recent in exactly one session, the first that sees it after it
 * arrived (delivery, APPEND, COPY or MOVE alike).  Each folder keeps the
 * highest UID already given out as recent, its "recent watermark", in the
 * small file IMAP_RECENT_FILE beside dovecot-uidlist, read and replaced
 * under the dovecot-uidlist lock so that two sessions never both take a
 * message.  A missing or unreadable file (or one of another UIDVALIDITY)
 * counts as 0: every message is recent once.
 */
#ifndef YOUJU_MRA_IMAP_RECENT_H
#define YOUJU_MRA_IMAP_RECENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_RECENT_FILE "youju-recent"

/*
 * The folder's recent watermark before this call: the messages with a UID
 * above it (and at most max_uid) are recent for the caller.  claim: raise
 * the watermark to max_uid under the lock (a SELECT, or a read-write
 * session seeing new mail), so no other session gets them.  When the
 * lock cannot be had or the file cannot be written, a claim returns
 * max_uid (nothing recent: better than two sessions with one message
 * recent) and logs why; a peek (STATUS, EXAMINE) takes no lock.
 */
uint32_t imap_recent_claim(const char *folder, uint32_t uidvalidity,
			   uint32_t max_uid, bool claim);

/*
 * Parses the file's text "<uidvalidity> <uid>\n".  Returns the watermark,
 * or 0 when malformed or of another uidvalidity.
 */
uint32_t imap_recent_parse(const char *data, size_t len, uint32_t uidvalidity);

#endif
