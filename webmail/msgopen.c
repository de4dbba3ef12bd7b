/*
 * The opening of a one-message request (msgopen.h): the uid parsed and
 * the message read by mail.c's message_load(), the MIME tree parsed, and
 * for an attachment the part found, each refusal with the same reply
 * whichever handler asked.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mime_parts.h"
#include "msghtml.h"
#include "msgopen.h"
#include "webjson.h"
#include "wm.h"

/* o empty, ready for wm_msg_close() */
static void msg_init(struct wm_msg *o)
{
	memset(o, 0, sizeof *o);
	buf_init(&o->raw, WM_MESSAGE_MAX);
}

int wm_msg_open(struct http_req *req, const char *folder, const char *uid_s,
		struct wm_msg *o)
{
	msg_init(o);
	long idx = -1;
	o->f = message_load(req, folder, uid_s, &idx, &o->raw);
	if (o->f == NULL)
		return -1;
	o->m = &o->f->msgs[idx];
	o->root = mime_parse(o->raw.p, o->raw.len);
	return 0;
}

int wm_msg_open_json(struct http_req *req, json_t *in,
		     const char *const *allowed, struct wm_msg *o)
{
	const char *folder = NULL;
	int64_t uid = 0;
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "folder", true, 1000, &folder) < 0 ||
	    webjson_get_int(req, in, "uid", true, 1, UINT32_MAX, &uid) < 0) {
		msg_init(o);
		return -1;
	}
	char uid_s[16];
	snprintf(uid_s, sizeof uid_s, "%u", (unsigned)uid);
	return wm_msg_open(req, folder, uid_s, o);
}

int wm_msg_open_body(struct http_req *req, struct wm_msg *o)
{
	static const char *const allowed[] = {"folder", "uid", NULL};
	json_t *in = webjson_request(req);
	if (in == NULL) {
		msg_init(o);
		return -1;
	}
	int rc = wm_msg_open_json(req, in, allowed, o);
	json_decref(in);
	return rc;
}

const struct mime_part *wm_msg_part(struct http_req *req,
				    const struct wm_msg *o, const char *spec)
{
	const struct mime_part *p = mime_parts_find(o->root, spec);
	if (p == NULL)
		webjson_error(req, 404, "not_found", "no such part", "part");
	return p;
}

const struct mime_part *wm_msg_part_query(struct http_req *req,
					  struct wm_msg *o)
{
	const char *spec = http_req_query(req, "part");
	if (spec == NULL || spec[0] == '\0' || strlen(spec) > 64) {
		msg_init(o);
		webjson_error(req, 400, "invalid", "part: a part number",
			      "part");
		return NULL;
	}
	if (wm_msg_open(req, http_req_query(req, "folder"),
			http_req_query(req, "uid"), o) < 0)
		return NULL;
	return wm_msg_part(req, o, spec);
}

int wm_part_content(const char *msg, const struct mime_part *p, struct buf *out)
{
	if (p->kind == MIME_LEAF)
		return part_bytes(msg, p, out);
	return buf_append(out, msg + p->body_off, p->body_len);
}

enum wm_body wm_body_kind(const struct mime_part *p, bool named)
{
	bool attachment =
	    named || (p->disposition != NULL &&
		      strcasecmp(p->disposition, "attachment") == 0);
	if (attachment || p->kind != MIME_LEAF ||
	    !mime_is_type(p, "text", NULL))
		return WM_BODY_FILE;
	if (mime_is_type(p, "text", "plain"))
		return WM_BODY_PLAIN;
	if (mime_is_type(p, "text", "html"))
		return WM_BODY_HTML;
	return WM_BODY_TEXT;
}

void wm_msg_close(struct wm_msg *o)
{
	mime_free(&o->root);
	buf_deinit(&o->raw);
	maildir_folder_free(&o->f);
	o->m = NULL;
}
