/*
 * IMAP THREAD (RFC 5256 §3): ORDEREDSUBJECT (messages grouped by base
 * subject) and REFERENCES (the Message-ID / References / In-Reply-To
 * tree, dummies pruned, threads with one base subject gathered, siblings
 * by sent date).  The keys come from lib/mailkeys (youju.index).
 */
#ifndef YOUJU_MRA_IMAP_THREAD_H
#define YOUJU_MRA_IMAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "imap_parse.h"
#include "mailthread.h"

struct mra_conn;
struct maildir_folder;
struct maildir_index;

/* Nesting the recursive steps follow; deeper branches are left as they
   are (pruning, sorting) or not written. */
#define IMAP_THREAD_DEPTH_MAX MAILTHREAD_DEPTH_MAX
/* Most References one message contributes (the last ones are kept). */
#define IMAP_THREAD_REFS_MAX MAILTHREAD_REFS_MAX

/*
 * The whole THREAD / UID THREAD command (args: the algorithm, the
 * charset, the search keys) on folder f: "* THREAD ..." and the tagged
 * reply.
 */
void imap_thread_cmd(struct mra_conn *c, const char *tag,
		     struct maildir_folder *f, const bool *recent,
		     struct maildir_index *ix, bool uid,
		     const struct imap_arg *args, size_t n);

/*
 * The session sess (a struct imap_sess of connection c) is closing its
 * folder at path: when the worker's thread cache holds that folder and
 * no other IMAP session of this worker has it selected, the cache is
 * freed (and its pages given back to the system).
 */
void imap_thread_folder_closed(const void *sess, const char *path);

#endif
