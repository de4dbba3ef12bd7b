/*
 * GET /api/attachment/view?folder=&uid=&part=: an image attachment shown
 * in the page (the thumbnails under a message, and the full image a click
 * opens).  Only a part that says it is PNG, JPEG, GIF or WebP and whose
 * bytes are one is served, with the type its bytes show, inline, under
 * nosniff and the API's CSP (lib/http); anything else, SVG above all
 * (script in an image), is refused here and stays a download
 * (GET /api/attachment).
 */
#include <stdio.h>
#include <string.h>

#include "compose.h"
#include "mime.h"
#include "mime_parts.h"
#include "msghtml.h"
#include "webjson.h"
#include "wm.h"

void wm_attachment_view(struct http_req *req)
{
	const char *folder = http_req_query(req, "folder");
	const char *spec = http_req_query(req, "part");
	if (spec == NULL || spec[0] == '\0' || strlen(spec) > 64) {
		webjson_error(req, 400, "invalid", "part: a part number",
			      "part");
		return;
	}
	struct buf msg;
	buf_init(&msg, WM_MESSAGE_MAX);
	long idx = -1;
	struct maildir_folder *f =
	    message_load(req, folder, http_req_query(req, "uid"), &idx, &msg);
	if (f == NULL) {
		buf_deinit(&msg);
		return;
	}
	struct mime_part *root = mime_parse(msg.p, msg.len);
	const struct mime_part *p = mime_parts_find(root, spec);
	struct buf body;
	buf_init(&body, WM_MESSAGE_MAX);
	const char *type = NULL;
	bool said = p != NULL && p->kind == MIME_LEAF &&
		    (mime_is_type(p, "image", "png") ||
		     mime_is_type(p, "image", "jpeg") ||
		     mime_is_type(p, "image", "jpg") ||
		     mime_is_type(p, "image", "gif") ||
		     mime_is_type(p, "image", "webp"));
	if (said && part_bytes(msg.p, p, &body) == 0)
		type = wm_image_type(body.p, body.len);
	if (p == NULL)
		webjson_error(req, 404, "not_found", "no such part", "part");
	else if (type == NULL)
		webjson_error(req, 415, "not_image",
			      "not a PNG, JPEG, GIF or WebP image", "part");
	else {
		http_reply_header(req, "Content-Disposition", "inline");
		http_reply_header(req, "Cache-Control",
				  "private, max-age=3600");
		http_reply_raw(req, 200, type, body.p, body.len);
	}
	buf_deinit(&body);
	mime_free(&root);
	buf_deinit(&msg);
	maildir_folder_free(&f);
}
