/*
 * One message of the caller's Maildir opened for a request (msgopen.c):
 * the opening every handler that reads a single message shares (GET
 * /api/message, /api/message/html, /api/attachment, /api/attachment/view,
 * POST /api/reattach, /api/mdn, "Save to NetDisk"), so that the uid and
 * part checks and their 400/404 replies are written once.
 */
#ifndef YOUJU_WEBMAIL_MSGOPEN_H
#define YOUJU_WEBMAIL_MSGOPEN_H

#include <jansson.h>

#include "buf.h"
#include "http.h"
#include "maildir.h"
#include "mime.h"

struct wm_msg {
	struct maildir_folder *f; /* owned */
	struct maildir_msg *m;	  /* the message, in f */
	struct buf raw;		  /* its bytes (WM_MESSAGE_MAX at most) */
	struct mime_part *root;	  /* mime_parse(raw), owned */
};

/*
 * Reads message uid_s (query text) of folder (NULL or "": INBOX) into o
 * and parses it.  Returns 0, or -1 after replying 400 (bad uid or folder)
 * or 404.  Call wm_msg_close(o) either way.
 */
int wm_msg_open(struct http_req *req, const char *folder, const char *uid_s,
		struct wm_msg *o);

/*
 * The same for the JSON body in: "folder" and "uid" (both required), no
 * key outside allowed (NULL-terminated); -1 after replying 400 for any
 * other key.  in stays the caller's.
 */
int wm_msg_open_json(struct http_req *req, json_t *in,
		     const char *const *allowed, struct wm_msg *o);
/* The same for a request whose whole JSON body is {"folder", "uid"}. */
int wm_msg_open_body(struct http_req *req, struct wm_msg *o);

/*
 * GET ...?folder=F&uid=U&part=P: the part P (an IMAP section number, at
 * most 64 bytes) of the message, opened into o.  NULL after replying 400
 * (no or bad part, uid, folder) or 404 (no such message or part).  Call
 * wm_msg_close(o) either way.
 */
const struct mime_part *wm_msg_part_query(struct http_req *req,
					  struct wm_msg *o);

/* Part spec of an open message; NULL after replying 404. */
const struct mime_part *wm_msg_part(struct http_req *req,
				    const struct wm_msg *o, const char *spec);

/* The content of part p as a download gives it: a leaf's body with the
   transfer encoding undone, any other part's bytes as they are. */
int wm_part_content(const char *msg, const struct mime_part *p,
		    struct buf *out);

/* How the message view takes a leaf or message part. */
enum wm_body {
	WM_BODY_FILE,  /* an attachment */
	WM_BODY_PLAIN, /* inline text/plain: the message's text if first */
	WM_BODY_HTML,  /* inline text/html: the message's HTML if first */
	WM_BODY_TEXT,  /* another inline text: neither shown nor a file */
};
/* p's role; named: it has a file name (part_name() not empty).  An
   attachment disposition or a name makes any part a file. */
enum wm_body wm_body_kind(const struct mime_part *p, bool named);

/* Frees what wm_msg_open() left in o (idempotent). */
void wm_msg_close(struct wm_msg *o);

#endif
