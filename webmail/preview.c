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
#include "msghtml.h"
#include "msgopen.h"
#include "webjson.h"
#include "wm.h"

void wm_attachment_view(struct http_req *req)
{
	struct wm_msg om;
	const struct mime_part *p = wm_msg_part_query(req, &om);
	struct buf body;
	buf_init(&body, WM_MESSAGE_MAX);
	const char *type = NULL;
	bool said = p != NULL && p->kind == MIME_LEAF &&
		    (mime_is_type(p, "image", "png") ||
		     mime_is_type(p, "image", "jpeg") ||
		     mime_is_type(p, "image", "jpg") ||
		     mime_is_type(p, "image", "gif") ||
		     mime_is_type(p, "image", "webp"));
	if (said && part_bytes(om.raw.p, p, &body) == 0)
		type = wm_image_type(body.p, body.len);
	if (type != NULL) {
		http_reply_header(req, "Content-Disposition", "inline");
		http_reply_header(req, "Cache-Control",
				  "private, max-age=3600");
		http_reply_raw(req, 200, type, body.p, body.len);
	} else if (p != NULL) /* (NULL: wm_msg_part_query() replied) */
		webjson_error(req, 415, "not_image",
			      "not a PNG, JPEG, GIF or WebP image", "part");
	buf_deinit(&body);
	wm_msg_close(&om);
}
