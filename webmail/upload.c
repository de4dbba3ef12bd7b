/*
 * POST /api/upload: one file of a multipart/form-data body (field
 * "file", RFC 7578) kept for a message being written, and what
 * POST /api/send needs to read it back.  The form is parsed by lib/mime
 * (the body under a "Content-Type:" line is a MIME multipart like any
 * other), so no second multipart parser exists.  A file is stored mode
 * 0600 in the user's own Maildir tmp/ as "webmail-upload.<32 hex>":
 * nothing else lists or counts it (Maildir++ quota ignores tmp/), the
 * send removes it, and what a browser left behind goes with tmp/'s usual
 * 36-hour clean-up (maildir.md §2).  An ID is only ever looked up in the
 * caller's own tmp/, so one user cannot name another's upload.  Layout:
 * the file name (UTF-8, one line), the media type (one line), the bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "mime.h"
#include "str.h"
#include "upload.h"
#include "webjson.h"
#include "websession.h"
#include "wm.h"
#include "xalloc.h"

static bool id_ok(const char *id)
{
	if (id == NULL || strlen(id) != UPLOAD_ID_LEN)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int upload_path(const char *maildir, const char *id, char *out,
		       size_t outsz)
{
	int n = snprintf(out, outsz, "%s/tmp/webmail-upload.%s", maildir, id);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* A media type we pass on: token "/" token, else octet-stream. */
static void media_type(const struct mime_part *p, char *out, size_t outsz)
{
	const char *ty = p->type, *st = p->subtype;
	bool ok = ty != NULL && st != NULL && ty[0] && st[0] &&
		  strlen(ty) + strlen(st) + 2 <= outsz;
	for (const char *s = ty; ok && *s; s++)
		ok = strchr("()<>@,;:\\\"/[]?= \t", *s) == NULL &&
		     (unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f;
	for (const char *s = st; ok && *s; s++)
		ok = strchr("()<>@,;:\\\"/[]?= \t", *s) == NULL &&
		     (unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f;
	int n = ok ? snprintf(out, outsz, "%s/%s", ty, st) : -1;
	if (n < 0 || (size_t)n >= outsz)
		snprintf(out, outsz, "application/octet-stream");
	str_lower(out);
}

void wm_upload(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	const char *ct = http_req_header(req, "Content-Type");
	size_t blen = 0;
	const char *body = http_req_body(req, &blen);
	if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0 ||
	    strlen(ct) > 1000 || strpbrk(ct, "\r\n") != NULL) {
		webjson_error(req, 400, "invalid", "a multipart/form-data body",
			      NULL);
		return;
	}
	struct buf form;
	buf_init(&form, blen + 1100);
	if (buf_printf(&form, "Content-Type: %s\r\n\r\n", ct) < 0 ||
	    buf_append(&form, body, blen) < 0) {
		buf_deinit(&form);
		webjson_error(req, 413, "too_large", "too large", "file");
		return;
	}
	struct mime_part *root = mime_parse(form.p, form.len);
	const struct mime_part *file = NULL;
	if (root->kind == MIME_MULTIPART)
		for (const struct mime_part *c = root->children; c != NULL;
		     c = c->next) {
			const char *n =
			    mime_param_get(c->dparams, c->ndparams, "name");
			if (c->kind == MIME_LEAF && c->disposition != NULL &&
			    strcasecmp(c->disposition, "form-data") == 0 &&
			    n != NULL && strcmp(n, "file") == 0) {
				file = c;
				break;
			}
		}
	if (file == NULL) {
		webjson_error(req, 400, "invalid", "no field \"file\"", "file");
		goto out;
	}
	if (file->body_len > wm->message_size_limit) {
		webjson_error(req, 413, "too_large",
			      "larger than the server accepts", "file");
		goto out;
	}
	/* the name: one line of at most 255 bytes, no path */
	const char *fn =
	    mime_param_get(file->dparams, file->ndparams, "filename");
	char name[256];
	const char *base = fn != NULL ? fn : "attachment";
	const char *slash = strrchr(base, '/');
	if (slash != NULL && slash[1] != '\0')
		base = slash + 1;
	slash = strrchr(base, '\\');
	if (slash != NULL && slash[1] != '\0')
		base = slash + 1;
	size_t k = 0;
	for (const char *s = base; *s && k < sizeof name - 1; s++)
		name[k++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '_' : *s;
	/* do not end inside a UTF-8 sequence */
	while (k > 0 && ((unsigned char)name[k - 1] & 0x80)) {
		size_t b = k - 1;
		while (b > 0 && ((unsigned char)name[b] & 0xc0) == 0x80)
			b--;
		unsigned char lead = (unsigned char)name[b];
		size_t want = lead >= 0xf0   ? 4
			      : lead >= 0xe0 ? 3
			      : lead >= 0xc0 ? 2
					     : 1;
		if (k - b >= want)
			break;
		k = b;
	}
	name[k] = '\0';
	if (k == 0)
		snprintf(name, sizeof name, "attachment");
	char type[200];
	media_type(file, type, sizeof type);

	char id[UPLOAD_ID_LEN + 1];
	if (wm_upload_store(me->acct.maildir, name, type,
			    form.p + file->body_off, file->body_len, id) < 0) {
		webjson_error(req,
			      errno == EDQUOT || errno == ENOSPC ? 507 : 500,
			      "internal", "cannot store the file", "file");
		goto out;
	}
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	json_t *js = json_string(name);
	json_object_set_new(o, "name", js != NULL ? js : json_string("file"));
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "size",
			    json_integer((json_int_t)file->body_len));
	webjson_reply(req, 200, o);
out:
	mime_free(&root);
	buf_deinit(&form);
}

int wm_upload_store(const char *maildir, const char *name, const char *type,
		    const char *data, size_t len, char *id)
{
	char path[4200];
	if (websession_random_hex(id, UPLOAD_ID_LEN / 2) < 0 ||
	    upload_path(maildir, id, path, sizeof path) < 0) {
		errno = EIO;
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	struct buf head;
	buf_init(&head, 1024);
	bool ok = fd >= 0 && buf_printf(&head, "%s\n%s\n", name, type) == 0;
	ok = ok && write(fd, head.p, head.len) == (ssize_t)head.len;
	for (size_t off = 0; ok && off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		ok = w > 0;
		if (ok)
			off += (size_t)w;
	}
	buf_deinit(&head);
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (!ok) {
		int e = errno;
		log_warning("webmail: upload %s: %s", path, strerror(errno));
		(void)unlink(path);
		errno = e;
		return -1;
	}
	return 0;
}

int wm_upload_read(const char *maildir, const char *id, size_t max,
		   struct wm_upload *u)
{
	memset(u, 0, sizeof *u);
	char path[4200];
	if (!id_ok(id) || upload_path(maildir, id, path, sizeof path) < 0) {
		errno = EINVAL;
		return -1;
	}
	buf_init(&u->raw, max + 1024);
	int r = maildir_file_read(path, &u->raw);
	if (r <= 0) {
		buf_deinit(&u->raw);
		if (r == 0)
			errno = ENOENT;
		return -1;
	}
	const char *p = u->raw.p, *end = p + u->raw.len;
	const char *nl1 = memchr(p, '\n', u->raw.len);
	const char *nl2 =
	    nl1 != NULL ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
	if (nl2 == NULL || nl1 - p > 255 || nl2 - nl1 > 200) {
		buf_deinit(&u->raw);
		errno = EINVAL;
		return -1;
	}
	memcpy(u->name, p, (size_t)(nl1 - p));
	u->name[nl1 - p] = '\0';
	memcpy(u->type, nl1 + 1, (size_t)(nl2 - nl1 - 1));
	u->type[nl2 - nl1 - 1] = '\0';
	u->data = nl2 + 1;
	u->len = (size_t)(end - u->data);
	memcpy(u->path, path, strlen(path) + 1);
	return 0;
}

void wm_upload_free(struct wm_upload *u)
{
	buf_deinit(&u->raw);
}
