/*
 * "Save to NetDisk" beside an attachment (docs/webmail.md): the part is
 * read from the message as GET /api/attachment reads it (lib/mime, the
 * transfer encoding undone), in the caller's own Maildir only, and
 * handed to netdisk.c, which names, stores and counts it against the
 * NetDisk quota as an upload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"
#include "msghtml.h"
#include "msgopen.h"
#include "reading.h"
#include "webjson.h"
#include "wm.h"

int wm_part_load(struct http_req *req, json_t *in, struct wm_part *p)
{
	memset(p, 0, sizeof *p);
	const char *folder = NULL, *spec = NULL;
	int64_t uid;
	if (webjson_get_str(req, in, "folder", false, 1024, &folder) < 0 ||
	    webjson_get_int(req, in, "uid", true, 1, UINT32_MAX, &uid) < 0 ||
	    webjson_get_str(req, in, "part", true, 64, &spec) < 0)
		return -1;
	char uid_s[16];
	snprintf(uid_s, sizeof uid_s, "%u", (unsigned)uid);
	struct wm_msg om;
	const struct mime_part *part = NULL;
	if (wm_msg_open(req, folder, uid_s, &om) == 0)
		part = wm_msg_part(req, &om, spec);
	int rc = -1;
	if (part != NULL) {
		struct buf body, name;
		buf_init(&body, WM_MESSAGE_MAX);
		buf_init(&name, sizeof p->name - 1);
		(void)!wm_part_content(om.raw.p, part, &body);
		part_name(part, &name);
		snprintf(p->name, sizeof p->name, "%s",
			 name.len > 0 ? buf_cstr(&name) : "attachment");
		p->len = body.len;
		p->data = malloc(body.len + 1);
		if (p->data != NULL) {
			memcpy(p->data, body.p != NULL ? body.p : "", body.len);
			rc = 0;
		} else {
			webjson_error(req, 500, "internal", "out of memory",
				      NULL);
		}
		buf_deinit(&name);
		buf_deinit(&body);
	}
	wm_msg_close(&om);
	return rc;
}

void wm_part_free(struct wm_part *p)
{
	free(p->data);
	p->data = NULL;
	p->len = 0;
}
