/*
 * Reading helpers (docs/webmail.md "Reading"): the charset override of
 * the message view, the "try local charset" preference (reading.h), and
 * the raw source of a message as text.  The source
 * is sent as text/plain with the layer's nosniff and CSP, so nothing in
 * a message is ever rendered as markup from our origin; download=1 makes
 * it a download (message.eml).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "maildir.h"
#include "mime.h"
#include "reading.h"
#include "str.h"
#include "wm.h"

/* The charsets "try local charset" offers: the legacy ones of the mail
   ExtMail's users get (Chinese, Japanese, Korean), and the usual
   Western and Cyrillic ones. */
static const char *const local_charsets[] = {
    "GB18030",	    "GBK",	    "GB2312", "Big5",	"Big5-HKSCS",
    "ISO-2022-JP",  "Shift_JIS",    "EUC-JP", "EUC-KR", "ISO-8859-1",
    "windows-1252", "windows-1251", "KOI8-R", NULL};

bool wm_local_charset_ok(const char *v)
{
	for (const char *const *c = local_charsets; *c != NULL; c++)
		if (strcasecmp(*c, v) == 0)
			return true;
	return false;
}

/* U+FFFD (EF BF BD) sequences in p[0..n). */
static size_t replacements(const char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i + 2 < n; i++)
		if ((unsigned char)p[i] == 0xef &&
		    (unsigned char)p[i + 1] == 0xbf &&
		    (unsigned char)p[i + 2] == 0xbd) {
			k++;
			i += 2;
		}
	return k;
}

int wm_text_decode(const char *label, const char *p, size_t n,
		   const struct wm_charsets *cs, struct buf *out)
{
	if (cs != NULL && cs->override != NULL)
		return mime_to_utf8(cs->override, p, n, out);
	const char *local =
	    cs != NULL && cs->local != NULL && cs->local[0] != '\0' ? cs->local
								    : NULL;
	if (local != NULL && (label == NULL || label[0] == '\0'))
		return mime_to_utf8(local, p, n, out);
	size_t start = out->len;
	if (mime_to_utf8(label, p, n, out) < 0)
		return -1;
	if (local == NULL)
		return 0;
	/* a wrong label: reading by it met bytes it cannot have (the
	   text's own U+FFFD, if any, counted on both sides) */
	size_t bad = replacements(out->p + start, out->len - start);
	if (bad == 0 || bad <= replacements(p, n))
		return 0;
	struct buf alt;
	buf_init(&alt, out->max);
	int rc = 0;
	if (mime_to_utf8(local, p, n, &alt) == 0 &&
	    replacements(alt.p != NULL ? alt.p : "", alt.len) < bad) {
		buf_truncate(out, start);
		rc = buf_append(out, alt.p != NULL ? alt.p : "", alt.len);
	}
	buf_deinit(&alt);
	return rc;
}

/* Whether p[0..n) has a byte outside ASCII and is not valid UTF-8. */
static bool eight_bit_not_utf8(const char *p, size_t n)
{
	bool high = false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			high = true;
	if (!high)
		return false;
	struct buf b;
	buf_init(&b, 4 * n + 16);
	bool bad =
	    mime_to_utf8(NULL, p, n, &b) < 0 ||
	    replacements(b.p != NULL ? b.p : "", b.len) > replacements(p, n);
	buf_deinit(&b);
	return bad;
}

int wm_header_decode(struct str v, const char *local, struct buf *out)
{
	if (local == NULL || local[0] == '\0' ||
	    !eight_bit_not_utf8(v.p, v.len))
		return mime_header_decode(v, out);
	struct buf u;
	buf_init(&u, 4 * v.len + 16);
	int rc = mime_to_utf8(local, v.p, v.len, &u);
	if (rc == 0)
		rc = mime_header_decode(
		    (struct str){u.p != NULL ? u.p : "", u.len}, out);
	buf_deinit(&u);
	return rc;
}

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
