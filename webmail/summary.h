/*
 * One message as the message list shows it (summary.c): decoded Subject
 * and From, the Date: as UTC seconds, and the attachment mark.
 */
#ifndef YOUJU_WEBMAIL_SUMMARY_H
#define YOUJU_WEBMAIL_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maildir.h"

struct wm_summary {
	char *subject; /* owned, UTF-8, "" when absent */
	char *from;    /* owned, UTF-8 ("Name <a@b>"), "" when absent */
	int64_t date;  /* Date: as UTC seconds, when has_date */
	bool has_date;
	bool attachments; /* multipart/mixed */
};

/* Parses an RFC 5322 date-time ("Tue, 1 Jul 2003 10:52:37 +0200"; the
   day name, seconds and zone optional, obsolete zone names and two-digit
   years as RFC 5322 §4.3; comments skipped) from s (len bytes, not
   NUL-terminated) into *t_r (UTC seconds).  Returns 0 or -1. */
int wm_parse_date(const char *s, size_t len, int64_t *t_r);

/* Fills s from a header block (hdr, len bytes; s zeroed first by the
   caller).  Never fails. */
void wm_summary_from_header(const char *hdr, size_t len, struct wm_summary *s);
/*
 * Reads the head of message m (at most WM_HEADER_MAX bytes) into s.
 * Returns 0, or -1 with errno (ENOENT: expunged; s is then zeroed).
 */
int wm_summary_read(struct maildir_folder *f, struct maildir_msg *m,
		    struct wm_summary *s);
void wm_summary_free(struct wm_summary *s);

/*
 * Fills s (overwritten) from a youju.index entry: env is the message's
 * IMAP ENVELOPE, bs its BODYSTRUCTURE (envelope.c).  Returns 0, or -1
 * when env is malformed (s untouched: read the file instead).
 */
int wm_summary_from_envelope(const char *env, size_t len, const char *bs,
			     size_t bslen, struct wm_summary *s);

#endif
