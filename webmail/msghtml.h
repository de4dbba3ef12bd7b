/*
 * A message's HTML (msghtml.c): lib/htmlsan's output for GET /api/message
 * and GET /api/message/html, the message HTML on its own sandboxed URL
 * (docs/webmail.md, docs/security.md).  The sanitizer runs in a pool of
 * helper processes (lib/htmlsan_pool) started before the HTTP threads.
 */
#ifndef YOUJU_WEBMAIL_MSGHTML_H
#define YOUJU_WEBMAIL_MSGHTML_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "http.h"
#include "maildir.h"
#include "mime.h"

/*
 * Starts the sanitizer processes (after the privilege drop, before any
 * thread) and reads webmail_html_* and the test-only
 * webmail_test_unsanitized_html.  Returns 0, or -1 with *error_r.
 */
int wm_msghtml_start(const struct conf *conf, const char **error_r);
void wm_msghtml_stop(void);

/* GET /api/message/html?folder=F&uid=U[&remote=1][&charset=C] */
void wm_message_html(struct http_req *req);

/*
 * The HTML part through lib/htmlsan into o, for GET /api/message: "html"
 * (the sanitized markup in <div class="youju-msg">) or null with
 * "html_error" ("too_big", "too_complex", "failed"), "html_url" (the
 * frame's URL), "remote_blocked" and "html_truncated".
 */
struct wm_charsets;
void wm_html_add(json_t *o, const char *msg, const struct mime_part *root,
		 const struct mime_part *html, const char *folder, uint32_t uid,
		 bool remote, const struct wm_charsets *cs);

/*
 * HTML written in the compose editor (or a stored draft's) through the
 * same sanitizer, unwrapped, without remote images; a cid: image is kept
 * with the URL cids maps it to (an id not in the table drops it).
 * Appends to out; returns as htmlsan_html() or HTMLSAN_FAILED.
 */
struct htmlsan_cid;
struct htmlsan_report;
int wm_html_clean(const char *in, size_t len, const struct htmlsan_cid *cids,
		  size_t ncids, struct buf *out, struct htmlsan_report *r);

/* ---- mail.c's helpers, shared with msghtml.c ---- */

/* Message uid (query text) of folder read into msg; NULL after replying
   400/404/500.  The folder returned holds that message alone (n is 1,
   *idx_r 0: fcache_open_msg), so no caller walks its other messages. */
struct maildir_folder *message_load(struct http_req *req, const char *folder,
				    const char *uid_s, long *idx_r,
				    struct buf *msg);
/* Percent-encodes all but RFC 3986 unreserved characters (xmalloc). */
char *url_escape(const char *s);
/* A part's file name (RFC 2231 or 2047, as UTF-8) into out; "" none. */
void part_name(const struct mime_part *p, struct buf *out);
/* A part's body, transfer encoding undone, into out. */
int part_bytes(const char *msg, const struct mime_part *p, struct buf *out);
/* A text part as UTF-8 into out. */
void part_text(const char *msg, const struct mime_part *p, struct buf *out);
/* The same read as cs says (reading.h; NULL: the part's label). */
void part_text_as(const char *msg, const struct mime_part *p,
		  const struct wm_charsets *cs, struct buf *out);
/* HTML as plain text (tags and style/script dropped), shown as text. */
void html_to_text(const char *h, size_t n, struct buf *out);

#endif
