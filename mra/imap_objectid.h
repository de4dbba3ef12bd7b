/*
 * OBJECTID (RFC 8474) and SAVEDATE (RFC 8514) on Maildir++.
 *
 * MAILBOXID: a random id kept in the folder's own file `youju-mailboxid`
 * (one line, "F" and 24 hex digits), made at the first SELECT, STATUS or
 * CREATE that asks for it; it lives in the folder directory, so a RENAME
 * (a directory rename) keeps it and a DELETE + CREATE gets a new one.
 * EMAILID: "M" and 24 hex digits of the SHA-256 of the message file's
 * base name (the unique part before ":2,"), so flag changes keep it and
 * no other message ever has it; a COPY or MOVE makes a new file name and
 * so a new EMAILID, as Dovecot's Maildir does by default
 * (maildir_copy_preserve_filename = no).  THREADID is NIL (RFC 8474 §5.2
 * allows it for servers without thread ids).
 * SAVEDATE: the time in the base name (`<seconds>.M...`, written when the
 * file was made in tmp/ by delivery, APPEND, COPY or MOVE), NIL when the
 * name does not start with one.
 */
#ifndef YOUJU_MRA_IMAP_OBJECTID_H
#define YOUJU_MRA_IMAP_OBJECTID_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* "F" or "M" and 24 hex digits, plus NUL */
#define IMAP_OBJECTID_SIZE 26
#define IMAP_OBJECTID_FILE "youju-mailboxid"

/* The MAILBOXID of the folder directory path into out (made and stored
   when missing; two sessions making it at once agree, the first link
   wins).  0, or -1 with errno. */
int imap_objectid_mailbox(const char *path, char out[IMAP_OBJECTID_SIZE]);
/* The EMAILID of a message with this base name. */
void imap_objectid_email(const char *base, char out[IMAP_OBJECTID_SIZE]);
/* SAVEDATE of a message with this base name, 0 when it is not known. */
time_t imap_objectid_savedate(const char *base);

struct buf;
/* Appends the FETCH items SAVEDATE, EMAILID and THREADID (those asked)
   of the message with this base name to out, each after a space unless
   out is empty.  0, or -1 when out is full. */
int imap_objectid_fetch(struct buf *out, const char *base, bool savedate,
			bool emailid, bool threadid);

#endif
