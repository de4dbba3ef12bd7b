/*
 * The IMAP command parser (RFC 3501 §9 grammar, generically): a complete
 * command — tag, name and arguments, literals included — is parsed into a
 * tree of atoms, strings and parenthesised lists that the command handlers
 * then check.  Framing (which bytes make up one command, literal counting
 * and caps) is imap_frame_line(); nothing here reads the network.
 */
#ifndef YOUJU_MRA_IMAP_PARSE_H
#define YOUJU_MRA_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* Most arguments in one command (all lists together), list depth. */
#define IMAP_ARGS_MAX  4096
#define IMAP_DEPTH_MAX 16
/* A tag or atom is at most this long (the command line cap bounds it). */
#define IMAP_ATOM_MAX 8192

enum imap_arg_type {
	IMAP_ARG_ATOM,	  /* also "BODY[HEADER.FIELDS (A B)]<0.10>" */
	IMAP_ARG_STRING,  /* quoted, unescaped */
	IMAP_ARG_LITERAL, /* {n}, {n+}, ~{n} or ~{n+}; may hold NULs */
	IMAP_ARG_NIL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	char *s; /* owned, NUL-terminated (not for LIST) */
	size_t len;
	struct imap_arg *list; /* owned, for LIST */
	bool literal8;	       /* a LITERAL sent as ~{n} (RFC 3516) */
	size_t n;
};

struct imap_cmd {
	char *tag;	       /* owned */
	char *name;	       /* owned, upper-cased ("UID FETCH" stays two) */
	struct imap_arg *args; /* owned */
	size_t nargs;
	size_t total; /* argument count, for IMAP_ARGS_MAX */
};

/*
 * Parses the command text: lines joined with CR LF after each literal
 * marker, the literal bytes following it (exactly as the client sent
 * them).  Returns 0, or -1 with *error_r (static text for a BAD reply);
 * cmd->tag is set whenever a tag was found, even on error.  Free with
 * imap_cmd_free in both cases.
 */
int imap_parse(const char *p, size_t len, struct imap_cmd *cmd,
	       const char **error_r);
void imap_cmd_free(struct imap_cmd *cmd);

/*
 * Looks at the end of one command line (without CR LF): a literal marker
 * "{n}" or "{n+}" there means that n bytes of literal follow.  Returns 1
 * with *n_r and *sync_r (false for LITERAL+), 0 when the line ends the
 * command, -1 for a malformed or too-large (> max) marker.
 */
int imap_frame_line(struct str line, uint64_t max, uint64_t *n_r, bool *sync_r);

/* true for an ATOM, STRING, LITERAL or NIL (RFC 3501 astring; s holds
   the text "NIL" as sent) */
bool imap_arg_is_astring(const struct imap_arg *a);
/* true for ATOM, STRING, LITERAL or NIL */
bool imap_arg_is_nstring(const struct imap_arg *a);

/*
 * Sequence sets (RFC 3501 "sequence-set"): "1:5,7,9:*".  max is the value
 * of "*".  imap_seqset_ok() checks the syntax; imap_seqset_has() tells
 * whether n is in the set.
 */
bool imap_seqset_ok(const char *set);
bool imap_seqset_has(const char *set, uint32_t n, uint32_t max);

#endif
