/*
 * Writing messages (docs/webmail.md "Compose"): send.c's MIME writers and
 * submission, shared with the HTML body (compose_html.c), the stored
 * draft's parts (draftparts.c) and read receipts (mdn.c).
 */
#ifndef YOUJU_WEBMAIL_COMPOSE_H
#define YOUJU_WEBMAIL_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "upload.h"

/* inline images of one message (pasted or dropped into the editor) */
#define WM_INLINE_MAX 50
/* the Content-ID domain of an inline image: "<upload id>@" this */
#define WM_CID_DOMAIN "inline.youju"

/* ---- send.c ---- */

/* Copies the address of "Name <a@b>" or "a@b" into out; false when it is
   not a plain address (no spaces, quotes, brackets or controls). */
bool wm_rcpt_addr(const char *s, char *out, size_t outsz);

/* n bytes of text as quoted-printable, CR LF line ends (RFC 2045 6.7). */
int wm_qp_body(struct buf *m, const char *t, size_t n);
/* data as base64 in lines of 76 (RFC 2045 6.8). */
int wm_b64_body(struct buf *m, const char *data, size_t len);
/*
 * Submits msg (send.c: CRLF lines, dot-stuffed) to youju-mta's local
 * socket (lib/submit) with envelope sender sender ("" the null sender) to
 * the n addresses rcpts, every one of which must be accepted.  Returns 0
 * with the queue ID in qid, or -1 after logging "webmail: <what>: ...
 * not accepted" and replying 502 not_sent with the server's reply.
 */
int wm_submit(struct http_req *req, const char *what, const char *sender,
	      char **rcpts, size_t n, const struct buf *msg, char *qid,
	      size_t qidsz);

/* ---- compose_html.c ---- */

/*
 * The media type of an image by its first bytes: "image/png",
 * "image/jpeg", "image/gif" or "image/webp" (static strings), or NULL for
 * anything else (SVG included: never shown inline, never inlined).
 */
const char *wm_image_type(const char *data, size_t len);

/*
 * The "html" of a compose request (UTF-8, at most WM_TEXT_MAX) through
 * lib/htmlsan into out: scripts, handlers, forms, remote images and
 * everything else the reader would drop are dropped, and a cid: image is
 * kept only when it names one of the *n inline uploads in inl
 * ("cid:<id>@" WM_CID_DOMAIN).  A data: image (PNG, JPEG, GIF, WebP)
 * becomes a new entry of inl (up to WM_INLINE_MAX; bytes in memory, its
 * path names no file) counted against *left, so no data: URL is sent.
 * Returns 0, or -1 after replying (400 "invalid" field "html": too big,
 * too complex; 413 images too large; 500 sanitizer failed).
 */
int wm_compose_sanitize(struct http_req *req, const char *html, size_t len,
			struct wm_upload *inl, size_t *n, uint64_t *left,
			struct buf *out);

/*
 * Sanitized HTML h (hl bytes) copied into out with every <img> that has
 * no src (a remote image blocked, an unknown cid:) replaced by its alt
 * text.  Returns how many were replaced, or -1 (out full).
 */
int wm_html_drop_empty_images(const char *h, size_t hl, struct buf *out);

/*
 * Plain text for the text/plain alternative of sanitized HTML h (n
 * bytes): blocks and <br> as line breaks, list items as "* ", quotes as
 * "> " lines, a link's address after its text, entities decoded.
 */
void wm_html_plain(const char *h, size_t n, struct buf *out);

/*
 * The body of a message, from its Content-Type header on: text/plain
 * (quoted-printable) when html is NULL; else multipart/alternative of the
 * text and the HTML, inside multipart/related with the n inline images
 * (Content-ID "<id@" WM_CID_DOMAIN ">", base64) when there are any.
 * rnd makes the boundaries.  Returns 0 or -1 (buffer full).
 */
int wm_compose_body(struct buf *m, const char *rnd, const char *text,
		    size_t tlen, const char *html, size_t hlen,
		    const struct wm_upload *inl, size_t n);
/* wm_compose_body with the text part's bytes in charset cs (its label);
   the HTML part stays UTF-8. */
int wm_compose_body_cs(struct buf *m, const char *rnd, const char *cs,
		       const char *text, size_t tlen, const char *html,
		       size_t hlen, const struct wm_upload *inl, size_t n);

/* ---- outcharset.c: "try local charset" for outgoing mail ---- */

/* Whether each of the n UTF-8 texts (lens[i] bytes) goes to charset cs
   and back unchanged (no transliteration); false for an empty or unknown
   cs. */
bool wm_out_charset_fits(const char *cs, const char *const *texts,
			 const size_t *lens, size_t n);
/* n bytes of UTF-8 s converted to cs, appended to out (shift state reset
   at the end); 0, or -1 (no mapping, out full). */
int wm_out_convert(const char *cs, const char *s, size_t n, struct buf *out);
/* The RFC 2047 words of rfc2047_header(), in charset cs: appends
   " =?cs?B?...?=\r\n" per piece of s (NUL-terminated UTF-8); 0 or -1. */
int wm_out_words(struct buf *m, const char *cs, const char *s);

/* ---- draftparts.c, mdn.c, preview.c ---- */

/* POST /api/reattach {"folder", "uid"}: the message's attachments and
   inline images copied to new uploads, its HTML for the editor */
void wm_reattach(struct http_req *req);
/* GET /api/upload/view?id=: an uploaded image (PNG, JPEG, GIF, WebP) */
void wm_upload_view(struct http_req *req);
/* POST /api/mdn {"folder", "uid"}: sends the read receipt (RFC 8098) */
void wm_mdn(struct http_req *req);
/* GET /api/attachment/view?folder=&uid=&part=: an image part inline */
void wm_attachment_view(struct http_req *req);

#endif
