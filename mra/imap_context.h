/*
 * CONTEXT=SEARCH (RFC 5267 §4): searches given RETURN (UPDATE) stay
 * active on the selected folder, and the session tells the client how
 * their results change (ESEARCH ADDTO / REMOVEFROM) before the tagged
 * reply of each later command, after an expunge of one of their
 * messages (just before its EXPUNGE) and while idling.  CANCELUPDATE
 * ends them, as does leaving the folder.
 */
#ifndef YOUJU_MRA_IMAP_CONTEXT_H
#define YOUJU_MRA_IMAP_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mra_conn;
struct imap_sess;
struct imap_search;
struct imap_esearch;
struct imap_sort_keys;

/* Active UPDATE searches one session may have (NO [NOUPDATE] above). */
#define IMAP_CONTEXT_MAX 8

/* One active search: its tag, the search (owned), the current result as
   sequence numbers with their UIDs, ascending, or in sort order for a
   SORT (CONTEXT=SORT, sort set). */
struct imap_context {
	char *tag;
	bool uid;
	struct imap_search *s;
	struct imap_sort_keys *sort; /* owned, or NULL: a SEARCH */
	uint32_t *seq, *uids;
	size_t n;
};

/*
 * Keeps the search *s (taken: *s becomes NULL) with its result es (the
 * matches as sent, sequence numbers or UIDs by uid) as an UPDATE context
 * of c's session.  False when the session has IMAP_CONTEXT_MAX already.
 */
bool imap_context_add(struct mra_conn *c, const char *tag, bool uid,
		      struct imap_search **s, const struct imap_esearch *es);

/* The same for a SORT ... RETURN (UPDATE): es holds the matches in sort
   order; *k (taken) is its sort criteria.  Changes are told with their
   positions in the sorted result (RFC 5267 §4.3). */
bool imap_context_add_sort(struct mra_conn *c, const char *tag, bool uid,
			   struct imap_search **s, struct imap_sort_keys **k,
			   const struct imap_esearch *es);

/* CANCELUPDATE "tag" ...: 0, or -1 when a tag is not active. */
int imap_context_cancel(struct imap_sess *s, const char *tag);

/* Ends every context (the folder is closed). */
void imap_context_clear(struct imap_sess *s);

/* The message with sequence number seq (current numbering) is being
   expunged: REMOVEFROM for each context holding it. */
void imap_context_expunge(struct mra_conn *c, size_t seq);

/* Re-evaluates the contexts on the current snapshot and sends ADDTO /
   REMOVEFROM for what changed. */
void imap_context_notify(struct mra_conn *c);

#endif
