/*
 * QRESYNC (RFC 7162 §3.2) for the session: ENABLE QRESYNC, SELECT /
 * EXAMINE (QRESYNC (uidvalidity modseq [known-uids [seq-match]])) with
 * VANISHED (EARLIER) and the changed messages' FETCH, UID FETCH ...
 * (CHANGEDSINCE n VANISHED), and VANISHED instead of EXPUNGE once
 * enabled.  The expunged UIDs and their modseqs are the "x" lines of
 * youju-modseq (lib/maildir_modseq.h).
 */
#ifndef YOUJU_MRA_IMAP_QRESYNC_H
#define YOUJU_MRA_IMAP_QRESYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"

struct mra_conn;
struct imap_sess;

/* The QRESYNC parameter of SELECT/EXAMINE. */
struct imap_qresync_req {
	bool on;
	uint32_t uidvalidity;
	uint64_t modseq;
	const char *known; /* known-uids (borrowed from the command), or NULL */
};

/* Turns QRESYNC (and so CONDSTORE) on for the session. */
void imap_qresync_enable(struct mra_conn *c);

/*
 * Parses SELECT's optional parameter list a (CONDSTORE and/or QRESYNC
 * (...)) into r (pointers borrowed from a) and sets *condstore_r when
 * CONDSTORE was named.  Returns 0, or -1 with *error_r (a tagged reply's
 * text: QRESYNC not enabled, malformed).
 */
int imap_qresync_parse_select(const struct imap_sess *s,
			      const struct imap_arg *a,
			      struct imap_qresync_req *r, bool *condstore_r,
			      const char **error_r);

/* FETCH's modifier list a: (CHANGEDSINCE n [VANISHED]); VANISHED only
   with UID FETCH and QRESYNC enabled.  0, or -1 (BAD). */
int imap_qresync_fetch_mods(const struct imap_sess *s, const struct imap_arg *a,
			    bool uid, uint64_t *since_r, bool *vanished_r);

/* After a SELECT with r->on: VANISHED (EARLIER) and FETCH (UID FLAGS
   MODSEQ) of what changed since r->modseq, when the UIDVALIDITY is the
   folder's. */
void imap_qresync_select(struct mra_conn *c, const struct imap_qresync_req *r);

/* "* VANISHED (EARLIER) set": the UIDs of uidset (NULL: any) expunged
   after modseq since, as far as youju-modseq knows them. */
void imap_qresync_vanished(struct mra_conn *c, const char *uidset,
			   uint64_t since);

/* "* VANISHED set" for uids[0..n) (ascending), the expunge report of a
   QRESYNC session; nothing when n is 0. */
void imap_qresync_report(struct mra_conn *c, const uint32_t *uids, size_t n);

#endif
