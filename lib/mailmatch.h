/*
 * The text matcher of message search, shared by youju-mra's SEARCH and
 * youju-webmail's search (docs/mailbox.md): header fields and text parts
 * are matched as case-folded UTF-8 substrings (lib/mime mime_fold, like
 * Dovecot's i;unicode-casemap for the common scripts).  Header fields
 * come from the message's youju.index entry when it keeps them (each
 * occurrence decoded and folded when it was cached), else from the file;
 * the body needs the file.  Address fields are matched in their normal
 * form (lib/addrlist), so "user (c) @ (c) domain" is found as
 * user@domain.
 */
#ifndef YOUJU_MAILMATCH_H
#define YOUJU_MAILMATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct maildir_index_entry;
struct mime_part;

/* Most folded text parts kept per message (past it, as far as it goes). */
#define MAILMATCH_BODY_MAX (64u << 20)

/* One message being matched: what is known, and what was made of it. */
struct mailmatch_msg {
	const char *text; /* the file (LF or CR LF), or NULL; borrowed */
	size_t len;
	/* its youju.index entry, or NULL; borrowed */
	const struct maildir_index_entry *cached;
	/* private: made on demand */
	struct mime_part *root;
	struct buf body; /* folded, decoded text parts */
	bool have_body;
};

/* text (may be NULL) and cached (may be NULL) stay borrowed until
   mailmatch_msg_deinit. */
void mailmatch_msg_init(struct mailmatch_msg *m, const char *text, size_t len,
			const struct maildir_index_entry *cached);
void mailmatch_msg_deinit(struct mailmatch_msg *m);

/* The MIME structure of m's text (parsed on first use; m->text must not
   be NULL).  Borrowed until mailmatch_msg_deinit. */
const struct mime_part *mailmatch_root(struct mailmatch_msg *m);

/* The needle as the matcher wants it (s decoded UTF-8): case-folded into
   out.  Returns 0 or -1 (out full). */
int mailmatch_needle(const char *s, size_t len, struct buf *out);

/*
 * Does a header field name (NULL: any field) of m's top header contain
 * the folded needle n[0..nlen)?  addr: match the addresses in their normal
 * form (FROM/TO/CC/BCC).  An empty needle matches when the field exists.
 * False without an entry keeping the field and without text.
 */
bool mailmatch_header(struct mailmatch_msg *m, const char *name, bool addr,
		      const char *n, size_t nlen);

/* Does a text part of m (attachments skipped, as Dovecot) contain the
   folded needle?  False without text. */
bool mailmatch_body(struct mailmatch_msg *m, const char *n, size_t nlen);

#endif
