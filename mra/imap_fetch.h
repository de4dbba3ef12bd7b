/*
 * IMAP FETCH (RFC 3501 §6.4.5, §7.4.2): the attribute list is parsed once
 * per command, then each message is answered from its file.
 */
#ifndef YOUJU_MRA_IMAP_FETCH_H
#define YOUJU_MRA_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"

struct buf;
struct mra_conn;
struct maildir_folder;
struct maildir_index;

enum imap_sec_kind {
	SEC_ALL,
	SEC_HEADER,
	SEC_TEXT,
	SEC_FIELDS,
	SEC_FIELDS_NOT,
	SEC_EMPTY,
	SEC_MIME
};

struct imap_fetch_sec {
	char *label; /* owned; the response name, e.g. "BODY[TEXT]" */
	enum imap_sec_kind kind;
	char *part;    /* owned; part numbers "1.2", NULL for the top */
	char **fields; /* owned, for SEC_FIELDS(_NOT) */
	size_t nfields;
	bool partial;
	uint64_t off, len;
	bool peek;   /* does not set \Seen */
	bool binary; /* BINARY[...] (RFC 3516): the content decoded */
	bool bsize;  /* BINARY.SIZE[...]: only its decoded size */
};

struct imap_fetch_items {
	bool flags, uid, size, internaldate, envelope;
	bool bodystructure, body; /* BODYSTRUCTURE, BODY (non-extensible) */
	struct imap_fetch_sec *secs;
	size_t nsecs;
	bool modseq;		/* MODSEQ (RFC 7162) */
	bool savedate;		/* SAVEDATE (RFC 8514) */
	bool emailid, threadid; /* OBJECTID (RFC 8474) */
	bool preview;		/* PREVIEW (RFC 8970) */
	bool preview_lazy;	/* PREVIEW (LAZY): NIL when not cached */
	/* the folder's PREVIEW cache (imap_preview_cache.h), or NULL */
	struct imap_preview_cache *pvcache;
	const uint64_t *modseqs; /* per message of the folder, or NULL */
};

/* Parses a fetch attribute (atom) or list of them; uid adds UID.
   Returns 0, or -1 with *error_r (static). */
int imap_fetch_parse(const struct imap_arg *a, bool uid,
		     struct imap_fetch_items *it, const char **error_r);
void imap_fetch_items_free(struct imap_fetch_items *it);

/* Parses one section spec, the text between '[' and ']'.  0 or -1. */
int imap_fetch_section(const char *spec, size_t len,
		       struct imap_fetch_sec *sec);

/* Appends to out what section s (BODY[...] form, partial applied, no
   BINARY) selects in the CR LF message msg, as FETCH would send it:
   CATENATE's URL parts (RFC 4469).  0, or -1 when out is full. */
int imap_fetch_section_text(const char *msg, size_t len,
			    const struct imap_fetch_sec *s, struct buf *out);

/* Appends the message p with CR LF line ends to out, NULs (which RFC
   3501 §4.3 does not allow in a literal) as 0x80, as Dovecot does. */
void imap_fetch_to_crlf(const char *p, size_t len, struct buf *out);

/* Writes "* n FETCH (...)" for message i of f; a body fetch without PEEK
   sets \Seen unless readonly.  ix (may be NULL) is f's youju.index:
   ENVELOPE, BODYSTRUCTURE, BODY and RFC822.SIZE come from its entry when
   it has one, and a message whose file is read gets one.  Returns 0, or
   -1 when the output is full. */
int imap_fetch_one(struct mra_conn *c, struct maildir_folder *f, size_t i,
		   bool recent, const struct imap_fetch_items *it,
		   bool readonly, struct maildir_index *ix);

/* A whole-message literal (BODY[], BODY.PEEK[], RFC822) being sent from
   its file in bounded pieces, with the conversion of imap_fetch_to_crlf. */
struct imap_fetch_stream {
	int fd;	       /* the message file; -1: nothing being sent */
	uint64_t left; /* literal bytes still owed to the client */
	bool cr;       /* the last byte sent was a CR */
};

/* As imap_fetch_one, but when the last section asks for the whole message
   and nothing else needs its text, writes the response only up to the
   literal's "{n}" CR LF and returns 1 with st set up: the caller then
   calls imap_fetch_stream_step until it returns 1. */
int imap_fetch_one_stream(struct mra_conn *c, struct maildir_folder *f,
			  size_t i, bool recent,
			  const struct imap_fetch_items *it, bool readonly,
			  struct maildir_index *ix,
			  struct imap_fetch_stream *st);
/* Appends the next piece (at most 32 KiB of the file) of the literal to
   the output, and the end of the response after its last byte.  Returns
   1 when the response is complete (st closed), 0 when more is to come,
   -1 when the output is full (st closed, the connection closing).  A file
   that turns out longer or shorter than announced is cut or padded with
   spaces, so the client stays in step (and a warning is logged). */
int imap_fetch_stream_step(struct mra_conn *c, struct imap_fetch_stream *st);
/* Closes st's file (idempotent). */
void imap_fetch_stream_close(struct imap_fetch_stream *st);

#endif
