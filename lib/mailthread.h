/*
 * Threads of messages (RFC 5256 §3), shared by youju-mra's THREAD and
 * youju-webmail's conversation view: ORDEREDSUBJECT (messages grouped by
 * base subject) and REFERENCES (the Message-ID / References /
 * In-Reply-To tree, dummies pruned, threads with one base subject
 * gathered, siblings by sent date).  The keys come from lib/mailsort
 * (base subject, sent date).
 */
#ifndef YOUJU_MAILTHREAD_H
#define YOUJU_MAILTHREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailkeys.h"

/* Nesting the recursive steps follow; deeper branches are left as they
   are (pruning, sorting) or not walked. */
#define MAILTHREAD_DEPTH_MAX 10000
/* Most References one message contributes (the last ones are kept). */
#define MAILTHREAD_REFS_MAX MAILKEYS_REFS_MAX
/* "no node" in the tree walk */
#define MAILTHREAD_NONE ((size_t)-1)

struct mailthread;

struct mailthread *mailthread_new(void);
void mailthread_free(struct mailthread **t);

/*
 * Adds a message: seq orders ties (sequence number, or any ascending
 * order), id is what the tree reports for it, internal_date stands in
 * for a missing or unreadable Date:, hdr[0..hl) is its header block
 * (Date, Subject, Message-ID, References, In-Reply-To are read).
 */
void mailthread_add(struct mailthread *t, uint32_t seq, uint32_t id,
		    int64_t internal_date, const char *hdr, size_t hl);

/*
 * The same with the message's keys already computed (lib/mailkeys, from
 * youju.index or the file); their strings are copied.
 */
struct mailkeys;
void mailthread_add_keys(struct mailthread *t, uint32_t seq, uint32_t id,
			 int64_t internal_date, const struct mailkeys *k);

/*
 * Builds the threads of the messages added: REFERENCES when references,
 * else ORDEREDSUBJECT.  More messages may be added afterwards (each seq
 * above the earlier ones) and the threads built again: REFERENCES then
 * links only the new messages into the containers kept from the last
 * build (RFC 5256 step 1 takes the messages in order, so that is what a
 * build of all of them from scratch links) and redoes steps 2-6 on a
 * copy; the answer is the one a new mailthread with all the messages
 * would give.
 */
void mailthread_build(struct mailthread *t, bool references);

/* Frees the tree of the last build (the walk below then finds only an
   empty root), keeping the messages and links for the next build. */
void mailthread_drop_tree(struct mailthread *t);
/* Messages added so far. */
size_t mailthread_count(const struct mailthread *t);
/* Bytes t holds (allocated capacity). */
size_t mailthread_bytes(const struct mailthread *t);

/*
 * The tree: the root (not a message) has the threads as children, in
 * order; mailthread_child and mailthread_next walk it (MAILTHREAD_NONE
 * at the end); mailthread_id gives a node's message id, false for a
 * dummy (a thread of messages whose parent is not there).
 */
size_t mailthread_root(const struct mailthread *t);
size_t mailthread_child(const struct mailthread *t, size_t k);
size_t mailthread_next(const struct mailthread *t, size_t k);
bool mailthread_id(const struct mailthread *t, size_t k, uint32_t *id_r);

#endif
