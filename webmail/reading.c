/*
 * Reading helpers (docs/webmail.md "Reading"): the charset override of
 * the message view, and the raw source of a message as text.  The source
 * is sent as text/plain with the layer's nosniff and CSP, so nothing in
 * a message is ever rendered as markup from our origin; download=1 makes
 * it a download (message.eml).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "maildir.h"
#include "str.h"
#include "wm.h"

const char *wm_charset_override(struct http_req *req)
{
	const char *cs = http_req_query(req, "charset");
	if (cs == NULL || cs[0] == '\0' || strlen(cs) > 40)
		return NULL;
	for (const char *p = cs; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-_.:", *p) != NULL))
			return NULL;
	return cs;
}

void wm_source(struct http_req *req)
{
	const char *uid_s = http_req_query(req, "uid");
	const char *dl = http_req_query(req, "download");
	uint64_t uid = 0;
	if (uid_s == NULL || str_parse_u64(uid_s, 1, UINT32_MAX, &uid) < 0) {
		webjson_error(req, 400, "invalid", "uid: a message UID", "uid");
		return;
	}
	struct maildir_folder *f =
	    wm_folder_open(req, http_req_query(req, "folder"));
	if (f == NULL)
		return;
	struct buf msg;
	buf_init(&msg, WM_MESSAGE_MAX);
	long i = maildir_folder_find(f, (uint32_t)uid);
	if (i < 0 || maildir_msg_read(f, &f->msgs[i], &msg) < 0) {
		webjson_error(req, 404, "not_found", "no such message", "uid");
	} else {
		http_reply_header(req, "Content-Disposition",
				  dl != NULL && strcmp(dl, "1") == 0
				      ? "attachment; filename=\"message.eml\""
				      : "inline; filename=\"message.txt\"");
		http_reply_raw(req, 200, "text/plain; charset=utf-8",
			       msg.p ? msg.p : "", msg.len);
	}
	buf_deinit(&msg);
	maildir_folder_free(&f);
}
