/*
 * MIME structure of a message in memory (RFC 2045, 2046, 2047, 2231, 2183,
 * 3282, 2557) for IMAP BODYSTRUCTURE/BODY[section]/SEARCH and webmail:
 * every part's header and body as byte offsets into the caller's buffer,
 * its Content-* fields, and nested multiparts and message/rfc822 parts.
 * The parser never fails: broken input (missing closing boundary, bad
 * parameters, garbage, NULs, bare CR or LF) gives a best-effort tree as
 * Dovecot builds it, and nesting and the number of parts are capped.
 * Also the decoders a reader needs: Content-Transfer-Encoding, charsets to
 * UTF-8, RFC 2047 encoded-words, and a simple case folding for searching.
 */
#ifndef YOUJU_MIME_H
#define YOUJU_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "str.h"

/* Nesting of multiparts and message/rfc822 parts; deeper ones are leaves. */
#define MIME_DEPTH_MAX 32
/* Parts in one message; past it, further body parts are not listed. */
#define MIME_PARTS_MAX 2000
/* Parameters kept per Content-Type / Content-Disposition. */
#define MIME_PARAMS_MAX 64
/* Languages kept from Content-Language. */
#define MIME_LANGS_MAX 32

enum mime_kind {
	MIME_LEAF,	/* a body part with content */
	MIME_MULTIPART, /* children are its body parts */
	MIME_MESSAGE,	/* message/rfc822: one child, the embedded message */
};

struct mime_param {
	char *name;  /* owned; as written ("charset", "name*") */
	char *value; /* owned; unquoted, RFC 2231 continuations joined */
};

struct mime_part {
	enum mime_kind kind;
	/* offsets into the parsed buffer */
	size_t hdr_off, hdr_len; /* header, blank line included */
	size_t body_off, body_len;
	size_t lines; /* LFs in the body */
	/* Content-Type: type and subtype as written; "" when invalid; NULL
	   when absent (text/plain, or message/rfc822 in multipart/digest) */
	char *type, *subtype;
	struct mime_param *params;
	size_t nparams;
	char *encoding; /* Content-Transfer-Encoding or NULL */
	char *id, *description, *md5, *location; /* NULL when absent */
	char *disposition; /* NULL when absent, "" when empty */
	struct mime_param *dparams;
	size_t ndparams;
	char **langs; /* Content-Language tags */
	size_t nlangs;
	bool digest_child;	    /* default type is message/rfc822 */
	struct mime_part *children; /* owned: first child */
	struct mime_part *next;	    /* next sibling (owned by the parent) */
	struct mime_part *parent;   /* borrowed; NULL for the root */
};

/*
 * Parses msg[0..len) (CR LF or LF line ends).  Returns the root part (the
 * message itself), owned by the caller (mime_free); offsets refer to msg,
 * which must outlive any use of them.  Never NULL.
 */
struct mime_part *mime_parse(const char *msg, size_t len);
/* Frees the tree from the root and sets *root = NULL. */
void mime_free(struct mime_part **root);

/* Value of parameter name (ASCII case-insensitive) in a list, or NULL. */
const char *mime_param_get(const struct mime_param *params, size_t n,
			   const char *name);
/* True when the part's media type is type (and subtype when not NULL),
   defaults applied. */
bool mime_is_type(const struct mime_part *p, const char *type,
		  const char *subtype);
/* Number of parts in the tree (for tests and limits). */
size_t mime_count(const struct mime_part *root);

/*
 * Header fields.  mime_header_next() walks hdr (a header block: lines up
 * to and including the blank line) from *pos: the next field's name and
 * raw value (folds included, without the final line end).  Returns false
 * at the end.  Lines without a colon are skipped.
 */
bool mime_header_next(const char *hdr, size_t len, size_t *pos,
		      struct str *name_r, struct str *value_r);
/* One field as the walk finds it (all borrowed from hdr). */
struct mime_field {
	struct str raw;	  /* the whole field, line ends included */
	struct str name;  /* without the colon, trailing blanks trimmed */
	struct str value; /* as mime_header_next()'s value */
};
/* The same walk, with the raw field (for code that copies or drops whole
   fields).  Returns false at the end. */
bool mime_header_field_next(const char *hdr, size_t len, size_t *pos,
			    struct mime_field *f);
/* Appends value with folds removed and ends trimmed to out.  0 or -1. */
int mime_unfold(struct str value, struct buf *out);

/* ---- decoding ------------------------------------------------------------ */

/*
 * Appends the decoded form of a body in Content-Transfer-Encoding enc
 * (base64, quoted-printable; anything else is copied) to out.  Broken
 * input is decoded as far as it goes, never rejected.  0, or -1 when out
 * is full.
 */
int mime_decode_cte(const char *enc, const char *p, size_t len,
		    struct buf *out);
/*
 * Appends p converted from charset (NULL or unknown: taken as UTF-8 with
 * invalid bytes replaced) to UTF-8.  Invalid sequences become U+FFFD.
 * 0, or -1 when out is full.
 */
int mime_to_utf8(const char *charset, const char *p, size_t len,
		 struct buf *out);
/*
 * Appends an unstructured header value with RFC 2047 encoded-words decoded
 * to UTF-8 (folds removed, white space between adjacent encoded-words
 * dropped).  0, or -1 when out is full.
 */
int mime_header_decode(struct str value, struct buf *out);
/*
 * Appends UTF-8 text case-folded for comparison: ASCII, Latin-1, Latin
 * Extended-A, Greek and Cyrillic capitals to small letters.  0 or -1.
 */
int mime_fold(const char *p, size_t len, struct buf *out);

#endif
