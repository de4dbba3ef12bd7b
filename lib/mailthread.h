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

/* Builds the threads once every message is added: REFERENCES when
   references, else ORDEREDSUBJECT. */
void mailthread_build(struct mailthread *t, bool references);

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
