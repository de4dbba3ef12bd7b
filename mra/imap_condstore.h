/*
 * CONDSTORE (RFC 7162 §3.1) for the session: the selected folder's
 * modification sequences from lib/maildir_modseq (youju-modseq), brought
 * up to date when CONDSTORE is enabled (ENABLE CONDSTORE, SELECT ...
 * (CONDSTORE), or a first FETCH MODSEQ / CHANGEDSINCE, SEARCH MODSEQ or
 * STORE UNCHANGEDSINCE) and after every rescan or STORE from then on.
 */
#ifndef YOUJU_MRA_IMAP_CONDSTORE_H
#define YOUJU_MRA_IMAP_CONDSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"

struct mra_conn;
struct imap_sess;

/* Turns CONDSTORE on for the session; with a folder selected, its
   modseqs are read and, when tell, "* OK [HIGHESTMODSEQ n]" sent. */
void imap_condstore_enable(struct mra_conn *c, bool tell);

/* Re-reads the modseqs of the selected folder (CONDSTORE on only). */
void imap_condstore_refresh(struct imap_sess *s);

/* The modseq of message i of the selected folder (0: not known). */
uint64_t imap_condstore_modseq(const struct imap_sess *s, size_t i);

/* The per-message array, or NULL when not known. */
const uint64_t *imap_condstore_modseqs(const struct imap_sess *s);

/* Whether an argument list holds the atom name, at any depth. */
bool imap_args_have_atom(const struct imap_arg *a, size_t n, const char *name);

#endif
