/*
 * A stored message taken back into the compose form (docs/webmail.md
 * "Compose"): POST /api/reattach copies its attachments and its inline
 * images to new uploads (upload.c), so that a draft reopened keeps them
 * and the send takes them like any file attached, and gives its HTML
 * for the editor, sanitized, the cid: images pointing at those uploads
 * (GET /api/upload/view).  Only the caller's own mail and uploads are
 * ever named.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose.h"
#include "htmlsan.h"
#include "htmlsan_pool.h"
#include "mime.h"
#include "msghtml.h"
#include "str.h"
#include "webjson.h"
#include "wm.h"
#include "xalloc.h"

/* attachments of one message (send.c's limit) */
#define REATTACH_MAX 20

struct reattach {
	struct http_req *req;
	const char *msg;
	uint64_t left; /* bytes still allowed (message_size_limit) */
	const struct mime_part *text, *html;
	json_t *atts, *inl;
	struct htmlsan_cid cids[WM_INLINE_MAX];
	size_t ncids;
	int err;	  /* 0, or the HTTP status to reply */
	bool inline_only; /* only the images the HTML shows (a reply) */
};

/* The media type of p lower-cased ("message/rfc822" for a message);
   application/octet-stream when it is not a plain token/token. */
static void type_of(const struct mime_part *p, char *out, size_t outsz)
{
	const char *ty = p->kind == MIME_MESSAGE ? "message" : p->type;
	const char *st = p->kind == MIME_MESSAGE ? "rfc822" : p->subtype;
	bool ok = ty != NULL && st != NULL && ty[0] && st[0] &&
		  strlen(ty) + strlen(st) + 2 <= outsz;
	for (const char *s = ok ? ty : ""; *s; s++)
		ok = ok && (unsigned char)*s > 0x20 &&
		     (unsigned char)*s < 0x7f &&
		     strchr("()<>@,;:\\\"/[]?= \t", *s) == NULL;
	for (const char *s = ok ? st : ""; *s; s++)
		ok = ok && (unsigned char)*s > 0x20 &&
		     (unsigned char)*s < 0x7f &&
		     strchr("()<>@,;:\\\"/[]?= \t", *s) == NULL;
	if (!ok || snprintf(out, outsz, "%s/%s", ty, st) >= (int)outsz)
		snprintf(out, outsz, "application/octet-stream");
	str_lower(out);
}

/* The bytes of leaf or message part p into out as an upload wants them. */
static int part_data(const char *msg, const struct mime_part *p,
		     struct buf *out)
{
	if (p->kind == MIME_MESSAGE)
		return buf_append(out, msg + p->body_off, p->body_len);
	return part_bytes(msg, p, out);
}

static void take(struct reattach *r, const struct mime_part *p)
{
	if (r->err != 0)
		return;
	if (p->kind == MIME_MULTIPART) {
		for (const struct mime_part *c = p->children; c != NULL;
		     c = c->next)
			take(r, c);
		return;
	}
	struct buf name;
	buf_init(&name, 1024);
	part_name(p, &name);
	bool attachment = (p->disposition != NULL &&
			   strcasecmp(p->disposition, "attachment") == 0) ||
			  name.len > 0;
	if (!attachment && p->kind == MIME_LEAF && r->text == NULL &&
	    mime_is_type(p, "text", "plain")) {
		r->text = p;
		goto out;
	}
	if (!attachment && p->kind == MIME_LEAF && r->html == NULL &&
	    mime_is_type(p, "text", "html")) {
		r->html = p;
		goto out;
	}
	if (!attachment && p->kind == MIME_LEAF &&
	    mime_is_type(p, "text", NULL))
		goto out; /* a further body text: not a file */
	struct buf data;
	buf_init(&data, WM_MESSAGE_MAX);
	char type[200];
	type_of(p, type, sizeof type);
	if (part_data(r->msg, p, &data) < 0) {
		r->err = 413;
		buf_deinit(&data);
		goto out;
	}
	/* an image the HTML shows (Content-ID, not an attachment) */
	const char *img = wm_image_type(data.p, data.len);
	const char *cid = p->id;
	size_t cl = cid != NULL ? strlen(cid) : 0;
	if (cl >= 2 && cid[0] == '<' && cid[cl - 1] == '>') {
		cid++;
		cl -= 2;
	}
	bool inline_img = img != NULL && cl > 0 && cl < 998 &&
			  !(p->disposition != NULL &&
			    strcasecmp(p->disposition, "attachment") == 0);
	if (r->inline_only && !inline_img) { /* a reply: no files */
		buf_deinit(&data);
		goto out;
	}
	if (data.len > r->left) {
		r->err = 413;
		buf_deinit(&data);
		goto out;
	}
	size_t count =
	    inline_img ? json_array_size(r->inl) : json_array_size(r->atts);
	if (count >= (inline_img ? WM_INLINE_MAX : REATTACH_MAX)) {
		r->err = 413;
		buf_deinit(&data);
		goto out;
	}
	if (name.len == 0)
		(void)!buf_append_str(&name, p->kind == MIME_MESSAGE
						 ? "forwarded.eml"
					     : inline_img ? "image"
							  : "attachment");
	/* one line, as an upload's name */
	for (size_t i = 0; i < name.len; i++)
		if ((unsigned char)name.p[i] < 0x20 || name.p[i] == 0x7f ||
		    name.p[i] == '/' || name.p[i] == '\\')
			name.p[i] = '_';
	if (name.len > 255)
		name.len = 255;
	while (name.len > 0 && ((unsigned char)name.p[name.len - 1] & 0xc0) ==
				   0x80) /* no cut sequence at the end */
		name.len--;
	if (name.len > 0 && (unsigned char)name.p[name.len - 1] >= 0xc0)
		name.len--;
	if (name.len == 0)
		(void)!buf_append_str(&name, "attachment");
	char id[UPLOAD_ID_LEN + 1];
	const struct wm_caller *me = wm_caller(r->req);
	if (wm_upload_store(me->acct.maildir, buf_cstr(&name),
			    inline_img ? img : type,
			    data.p != NULL ? data.p : "", data.len, id) < 0) {
		r->err = errno == EDQUOT || errno == ENOSPC ? 507 : 500;
		buf_deinit(&data);
		goto out;
	}
	r->left -= data.len;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_t *js = json_stringn(name.p, name.len);
	json_object_set_new(o, "name", js != NULL ? js : json_string("file"));
	json_object_set_new(o, "type", json_string(inline_img ? img : type));
	json_object_set_new(o, "size", json_integer((json_int_t)data.len));
	if (inline_img) {
		struct htmlsan_cid *c = &r->cids[r->ncids++];
		c->id = xstrndup(cid, cl);
		c->id_len = cl;
		char *u = xmalloc(64);
		snprintf(u, 64, "/api/upload/view?id=%s", id);
		c->url = u;
		c->url_len = strlen(u);
		json_object_set_new(o, "url", json_string(u));
		json_array_append_new(r->inl, o);
	} else
		json_array_append_new(r->atts, o);
	buf_deinit(&data);
out:
	buf_deinit(&name);
}

/* "high", "low" or "normal" from X-Priority or Importance. */
static const char *priority_of(const char *hdr, size_t len)
{
	size_t pos = 0;
	struct str n, v;
	while (mime_header_next(hdr, len, &pos, &n, &v)) {
		while (v.len > 0 && (v.p[0] == ' ' || v.p[0] == '\t')) {
			v.p++;
			v.len--;
		}
		if (str_case_eq_cstr(n, "X-Priority") && v.len > 0)
			return v.p[0] == '1' || v.p[0] == '2'	? "high"
			       : v.p[0] == '4' || v.p[0] == '5' ? "low"
								: "normal";
		if (str_case_eq_cstr(n, "Importance") && v.len >= 3)
			return strncasecmp(v.p, "high", 4) == 0	 ? "high"
			       : strncasecmp(v.p, "low", 3) == 0 ? "low"
								 : "normal";
	}
	return "normal";
}

static bool has_header(const char *hdr, size_t len, const char *name)
{
	size_t pos = 0;
	struct str n, v;
	while (mime_header_next(hdr, len, &pos, &n, &v))
		if (str_case_eq_cstr(n, name))
			return true;
	return false;
}

void wm_reattach(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	static const char *const allowed[] = {"folder", "uid", "inline_only",
					      NULL};
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	const char *folder = NULL;
	int64_t uid = 0;
	json_t *io = json_object_get(in, "inline_only");
	if (io != NULL && !json_is_boolean(io)) {
		webjson_error(req, 400, "invalid", "true or false",
			      "inline_only");
		json_decref(in);
		return;
	}
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "folder", true, 1000, &folder) < 0 ||
	    webjson_get_int(req, in, "uid", true, 1, UINT32_MAX, &uid) < 0) {
		json_decref(in);
		return;
	}
	char uid_s[16];
	snprintf(uid_s, sizeof uid_s, "%u", (unsigned)uid);
	struct buf msg;
	buf_init(&msg, WM_MESSAGE_MAX);
	long idx = -1;
	struct maildir_folder *f = message_load(req, folder, uid_s, &idx, &msg);
	if (f == NULL) {
		buf_deinit(&msg);
		json_decref(in);
		return;
	}
	struct mime_part *root = mime_parse(msg.p, msg.len);
	struct reattach *r = xcalloc(1, sizeof *r);
	*r = (struct reattach){.req = req,
			       .msg = msg.p,
			       .left = wm->message_size_limit,
			       .atts = json_array(),
			       .inl = json_array(),
			       .inline_only = io != NULL && json_is_true(io)};
	take(r, root);
	json_t *o = json_object();
	if (r->err != 0) {
		webjson_error(req, (unsigned)r->err,
			      r->err == 413 ? "too_large" : "internal",
			      r->err == 413 ? "the files are larger than the "
					      "server accepts"
					    : "cannot store the files",
			      NULL);
		json_decref(o);
		goto out;
	}
	json_object_set_new(o, "attachments", r->atts);
	json_object_set_new(o, "inline", r->inl);
	r->atts = r->inl = NULL;
	json_t *hv = json_null();
	if (r->html != NULL) {
		struct buf h, clean;
		buf_init(&h, WM_MESSAGE_MAX);
		buf_init(&clean, 8u << 20);
		part_text(msg.p, r->html, &h);
		if (wm_html_clean(h.p != NULL ? h.p : "", h.len, r->cids,
				  r->ncids, &clean, NULL) == HTMLSAN_OK) {
			json_decref(hv);
			hv = json_stringn(clean.p != NULL ? clean.p : "",
					  clean.len);
		}
		buf_deinit(&h);
		buf_deinit(&clean);
	}
	json_object_set_new(o, "html", hv != NULL ? hv : json_null());
	const char *hdr = msg.p + root->hdr_off;
	json_object_set_new(o, "priority",
			    json_string(priority_of(hdr, root->hdr_len)));
	json_object_set_new(
	    o, "receipt",
	    json_boolean(
		has_header(hdr, root->hdr_len, "Disposition-Notification-To")));
	webjson_reply(req, 200, o);
out:
	for (size_t i = 0; i < r->ncids; i++) {
		free((char *)r->cids[i].id);
		free((char *)r->cids[i].url);
	}
	json_decref(r->atts);
	json_decref(r->inl);
	free(r);
	mime_free(&root);
	buf_deinit(&msg);
	maildir_folder_free(&f);
	json_decref(in);
}

void wm_upload_view(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	struct wm_upload u;
	if (wm_upload_read(me->acct.maildir, http_req_query(req, "id"),
			   (size_t)wm->message_size_limit, &u) < 0) {
		webjson_error(req, errno == EINVAL ? 400 : 404, "not_found",
			      "no such upload", "id");
		return;
	}
	const char *type = wm_image_type(u.data, u.len);
	if (type == NULL)
		webjson_error(req, 415, "not_image",
			      "not a PNG, JPEG, GIF or WebP image", "id");
	else {
		http_reply_header(req, "Content-Disposition", "inline");
		http_reply_header(req, "Cache-Control",
				  "private, max-age=3600");
		http_reply_raw(req, 200, type, u.data, u.len);
	}
	wm_upload_free(&u);
}
