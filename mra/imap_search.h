/*
 * IMAP SEARCH (RFC 3501 §6.4.4): the search keys are parsed once into a
 * tree (bounded depth), then evaluated per message; header and body keys
 * read the message and match case-insensitively on decoded UTF-8 (RFC
 * 2047 header words, base64/quoted-printable text parts, charsets).
 */
#ifndef YOUJU_MRA_IMAP_SEARCH_H
#define YOUJU_MRA_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap_parse.h"

struct mra_conn;
struct maildir_folder;
struct maildir_index;
struct maildir_index_entry;
struct imap_search;
struct imap_searchres;

/* NOT/OR/parenthesis nesting allowed in one search. */
#define IMAP_SEARCH_DEPTH_MAX 64

/* Parse results besides 0. */
#define IMAP_SEARCH_BAD	    -1 /* syntax: BAD */
#define IMAP_SEARCH_CHARSET -2 /* NO [BADCHARSET (UTF-8 US-ASCII)] */

/*
 * Parses the SEARCH arguments args[0..n) (an optional CHARSET first).
 * Returns 0 with *s_r (free with imap_search_free), or IMAP_SEARCH_BAD
 * with *error_r (static text), or IMAP_SEARCH_CHARSET.
 */
int imap_search_parse(const struct imap_arg *args, size_t n,
		      struct imap_search **s_r, const char **error_r);
void imap_search_free(struct imap_search **s);

/* What the evaluation needs besides flags and numbers: text (headers or
   body: a youju.index entry or the file), size, the file itself (BODY,
   TEXT, HEADER of a field youju.index does not keep). */
bool imap_search_needs_text(const struct imap_search *s);
bool imap_search_needs_size(const struct imap_search *s);
/* Whether s has a MODSEQ key (CONDSTORE-enabling, RFC 7162 §3.1). */
bool imap_search_uses_modseq(const struct imap_search *s);
bool imap_search_needs_file(const struct imap_search *s);

/*
 * The day of the first Date: field of header block hdr (RFC 5322 §3.3,
 * the day in its own zone, days since 1970-01-01) into *day_r.  False
 * when there is none or it is unreadable.  SENT* and youju.index share it.
 */
bool imap_search_sent_day(const char *hdr, size_t len, long *day_r);

/* One message as the evaluation sees it. */
struct imap_search_msg {
	uint32_t seq, uid;
	uint32_t max_seq, max_uid; /* the values of "*" */
	const char *letters;	   /* maildir info letters */
	bool recent;
	uint64_t size;	      /* RFC822.SIZE (CR LF) */
	uint64_t modseq;      /* CONDSTORE mod-sequence (0: unknown) */
	time_t internal_date; /* when msg is NULL (imap_search_msg_date) */
	const char *text;     /* the message (LF or CR LF), or NULL */
	size_t len;
	/* for KEYWORD: the folder's dovecot-keywords table and the message;
	   NULL (no keywords) in tests and the fuzz target */
	const struct maildir_folder *folder;
	const struct maildir_msg *msg;
	/* the message's youju.index entry, or NULL: header keys of the
	   fields it keeps and SENT* are answered from it */
	const struct maildir_index_entry *cached;
};

/* *m for message i of f (no text, no entry, modseq 0), with
   RFC822.SIZE size (0: unknown). */
void imap_search_msg_init(struct imap_search_msg *m,
			  const struct maildir_folder *f, size_t i,
			  const bool *recent, uint64_t size);

/* INTERNALDATE of m: its file's mtime, read on first use
   (maildir_msg_mtime), or internal_date when m has no msg. */
time_t imap_search_msg_date(const struct imap_search_msg *m);

/* Does m match?  Text keys fail on a message without text (or, for
   header and SENT* keys, without an entry). */
bool imap_search_match(const struct imap_search *s,
		       const struct imap_search_msg *m);

/* KEYWORD: does m carry the keyword (through dovecot-keywords)? */
bool imap_search_has_keyword(const struct imap_search_msg *m,
			     const char *keyword);

/*
 * The whole SEARCH / UID SEARCH command on folder f (recent[i] per
 * message): "* SEARCH ..." and the tagged reply.  ix (may be NULL) is
 * f's youju.index: used where it has entries, and given entries for the
 * messages whose files had to be read.  save (NULL: SAVE is refused) is
 * the session's saved result (RFC 5182): "RETURN (SAVE ...)" replaces it
 * with the matches (only MIN and/or MAX when they are the only other
 * options, §2.4) and sends no ESEARCH when SAVE stands alone; a failed
 * search with SAVE empties it (§2.1).
 */
void imap_search_cmd(struct mra_conn *c, const char *tag,
		     struct maildir_folder *f, const bool *recent,
		     const uint64_t *modseqs, bool uid,
		     struct maildir_index *ix, const struct imap_arg *args,
		     size_t n, struct imap_searchres *save);

/*
 * Calls fn for each message of f that matches s (m and k borrowed for
 * the call).  ix (may be NULL) is f's youju.index: header and SENT* keys
 * are answered from its entries, and messages whose files had to be read
 * get entries.  With want_keys, k is the message's SORT/THREAD keys
 * (from its entry, else from its file, whose entry is then written) and
 * m->size its RFC822.SIZE; else k is NULL.
 */
struct mailkeys;
typedef void imap_search_each_fn(void *ctx, const struct imap_search_msg *m,
				 const struct mailkeys *k);
void imap_search_each(struct maildir_folder *f, const bool *recent,
		      const uint64_t *modseqs, struct maildir_index *ix,
		      const struct imap_search *s, bool want_keys,
		      imap_search_each_fn *fn, void *ctx);
/* The same for the messages of f from index from on (message numbers and
   the search's sequence sets still count the whole folder). */
void imap_search_each_from(struct maildir_folder *f, size_t from,
			   const bool *recent, const uint64_t *modseqs,
			   struct maildir_index *ix,
			   const struct imap_search *s, bool want_keys,
			   imap_search_each_fn *fn, void *ctx);

/*
 * Evaluates s on every message of f into es (sequence numbers, or UIDs
 * when uid), as imap_search_cmd does.  modseqs (per message, or NULL:
 * all 0) answer MODSEQ keys and are kept in es->ms for the matches.
 */
struct imap_esearch;
void imap_search_run(struct maildir_folder *f, const bool *recent,
		     const uint64_t *modseqs, struct maildir_index *ix,
		     const struct imap_search *s, bool uid,
		     struct imap_esearch *es);

/*
 * ESEARCH results (RFC 4731, and RFC 5267 ESORT): the options of "RETURN
 * (MIN MAX COUNT ALL)" and the matches in answer order.
 */
struct imap_esearch {
	bool on; /* RETURN (...) was given */
	bool min, max, count, all;
	bool update;	  /* RFC 5267 UPDATE: keep it active */
	bool save;	  /* RFC 5182 SAVE: the result becomes "$" */
	bool with_modseq; /* a MODSEQ search: MODSEQ in the answer */
	uint64_t *ms;	  /* owned: the matches' modseqs (nms) */
	size_t nms, cap_ms;
	bool partial; /* RFC 5267 PARTIAL lo:hi (1-based) */
	uint32_t plo, phi;
	uint32_t *v; /* owned (free()): the matches in order */
	size_t n, cap;
};

/*
 * Ends a SEARCH or SORT whose matches are in es: when kept is false (an
 * UPDATE the context table had no room for) "NO [NOUPDATE ...]", else the
 * ESEARCH line (or the CR LF ending "* SEARCH ...") and "OK <what>
 * completed.".  Frees es's arrays and *s.
 */
void imap_search_reply(struct mra_conn *c, const char *tag, bool uid, bool kept,
		       struct imap_esearch *es, struct imap_search **s,
		       const char *what);

/*
 * Takes "RETURN (...)" off the front of *args ("RETURN ()" means ALL).
 * Returns 0 (es->on tells whether it was there), or -1 for an unknown or
 * malformed option.  SAVE (RFC 5182) sets es->save; a command that
 * cannot save refuses it.
 */
int imap_esearch_parse(const struct imap_arg **args, size_t *n,
		       struct imap_esearch *es);
void imap_esearch_add(struct imap_esearch *es, uint32_t v);
/* Appends "a:b,c" of v[0..n) in runs of ascending neighbours to c. */
void imap_esearch_set(struct mra_conn *c, const uint32_t *v, size_t n);
/* "* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [ALL set] [COUNT n]
   [PARTIAL (lo:hi set|NIL)]": MIN
   and MAX the first and last in answer order, the set in runs
   ("5,3:4,2"). */
void imap_esearch_write(struct mra_conn *c, const char *tag, bool uid,
			const struct imap_esearch *es);

#endif
