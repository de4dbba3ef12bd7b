/*
 * IMAP SORT (RFC 5256 §3) with the DISPLAYFROM and DISPLAYTO keys of RFC
 * 5957: the messages that match the search keys, ordered by ARRIVAL, CC,
 * DATE, FROM, SIZE, SUBJECT (the RFC 5256 §2.1 base subject), TO,
 * DISPLAYFROM or DISPLAYTO, each optionally REVERSE, ties by sequence
 * number.  Strings compare case-folded (lib/mime's folding); the keys
 * are lib/mailkeys', kept in youju.index.
 */
#ifndef YOUJU_MRA_IMAP_SORT_H
#define YOUJU_MRA_IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "imap_parse.h"
#include "mailsort.h"

struct mra_conn;
struct maildir_folder;
struct maildir_index;

/* Most sort keys in one command. */
#define IMAP_SORT_KEYS_MAX 16

struct imap_search;
struct imap_search_msg;

/* Checks the charset args[0] and parses the search keys args[1..n);
   on error writes the tagged BAD/NO to c and returns -1. */
int imap_sort_prepare(struct mra_conn *c, const char *tag,
		      const struct imap_arg *args, size_t n,
		      struct imap_search **s_r);

/* Sort criteria kept by a CONTEXT=SORT update (RFC 5267 §4). */
struct imap_sort_keys;
void imap_sort_keys_free(struct imap_sort_keys **k);

/* The UIDs of the messages of f matching s, in the order of k: owned
   (free()), *n_r of them.  ix (may be NULL): f's youju.index, where the
   keys are read (and written for messages that had none). */
uint32_t *imap_sort_run(struct maildir_folder *f, const bool *recent,
			struct maildir_index *ix, const struct imap_search *s,
			const struct imap_sort_keys *k, size_t *n_r);

/*
 * The whole SORT / UID SORT command (args: the key list, the charset,
 * the search keys) on folder f (ix: its youju.index, or NULL): "* SORT
 * ..." and the tagged reply.
 */
void imap_sort_cmd(struct mra_conn *c, const char *tag,
		   struct maildir_folder *f, const bool *recent,
		   struct maildir_index *ix, bool uid,
		   const struct imap_arg *args, size_t n);

/*
 * Frees the worker's SORT date/size cache when it holds the folder at
 * path (true then).  imap.c calls it when no IMAP session of the worker
 * has that folder selected any more.
 */
bool imap_sort_cache_drop(const char *path);

#endif
