/*
 * "Always load remote images from this sender" (docs/webmail.md
 * "Reading"): a per-user list of sender addresses kept in the
 * preferences file youju-webmail.cf, one line each,
 *
 *	remote_images_from = alice@example.com
 *
 * so that it moves with the Maildir like the other preferences.  For a
 * message from a listed sender the HTML is served as if "Show remote
 * images" had been clicked: the frame's CSP allows http(s) images and the
 * browser fetches them.  The server itself never fetches a URL from mail.
 * Matching is on the From field's first address, lower-cased; a From can
 * be forged, so the list only saves a click and gives no other trust.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrlist.h"
#include "buf.h"
#include "file.h"
#include "log.h"
#include "mime.h"
#include "prefs.h"
#include "reading.h"
#include "str.h"
#include "webjson.h"
#include "wm.h"

/* Longest address kept (RFC 5321 §4.5.3.1: 64 + 1 + 255). */
#define ADDR_MAX 320

/* addr lower-cased into out when it is "local@domain" of printable
   ASCII or UTF-8 without white space, '<', '>', ',', '"' or '='. */
static bool addr_norm(const char *a, size_t n, char *out, size_t outsz)
{
	if (n == 0 || n >= outsz || n >= ADDR_MAX)
		return false;
	size_t at = 0, ats = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' ||
		    c == ',' || c == '"' || c == '=' || c == '\\')
			return false;
		if (c == '@') {
			at = i;
			ats++;
		}
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : (char)c;
	}
	out[n] = '\0';
	return ats == 1 && at > 0 && at + 1 < n;
}

/* The sender lines' values of the preferences text, each call the next:
   returns false at the end. */
static bool next_sender(const char *text, size_t len, size_t *pos,
			const char **v_r, size_t *vlen_r)
{
	struct str k, v;
	while (wm_prefs_line(text, len, pos, &k, &v))
		if (str_eq_cstr(k, WM_REMOTE_KEY)) {
			*v_r = v.p;
			*vlen_r = v.len;
			return true;
		}
	return false;
}

/* The preferences file's text (NULL, 0 when there is none). */
static void prefs_text(const char *maildir, char **data_r, size_t *len_r)
{
	char path[4200];
	*data_r = NULL;
	*len_r = 0;
	if (file_path(path, sizeof path, maildir, WM_PREFS_FILE) < 0)
		return;
	if (file_read(path, WM_PREFS_MAX, O_NOFOLLOW, data_r, len_r, NULL) < 0)
		log_warning("webmail: %s: %s (ignored)", path, strerror(errno));
}

static bool listed(const char *text, size_t len, const char *addr)
{
	size_t pos = 0, vl, al = strlen(addr);
	const char *v;
	char norm[ADDR_MAX + 1];
	while (next_sender(text, len, &pos, &v, &vl))
		if (vl == al && addr_norm(v, vl, norm, sizeof norm) &&
		    strcmp(norm, addr) == 0)
			return true;
	return false;
}

bool wm_remoteimg_sender(const char *maildir, const char *hdr, size_t len,
			 char *addr, size_t addrsz)
{
	addr[0] = '\0';
	size_t pos = 0;
	struct str n, v;
	while (mime_header_next(hdr, len, &pos, &n, &v)) {
		if (!str_case_eq_cstr(n, "From"))
			continue;
		struct addrlist l;
		addrlist_parse(v.p, v.len, &l);
		for (size_t i = 0; i < l.n; i++) {
			const struct addrlist_addr *a = &l.v[i];
			if (a->kind != ADDRLIST_MAILBOX || a->domain == NULL ||
			    a->ctl)
				continue;
			char both[ADDR_MAX + 2];
			int k = snprintf(both, sizeof both, "%s@%s", a->local,
					 a->domain);
			if (k > 0 && (size_t)k < sizeof both &&
			    !addr_norm(both, (size_t)k, addr, addrsz))
				addr[0] = '\0';
			break;
		}
		addrlist_free(&l);
		break;
	}
	if (addr[0] == '\0')
		return false;
	char *text;
	size_t tl;
	prefs_text(maildir, &text, &tl);
	bool ok = text != NULL && listed(text, tl, addr);
	free(text);
	return ok;
}

int wm_remoteimg_carry(const char *maildir, struct buf *b)
{
	char *text;
	size_t tl, pos = 0, vl;
	const char *v;
	char norm[ADDR_MAX + 1];
	int rc = 0;
	prefs_text(maildir, &text, &tl);
	while (rc == 0 && text != NULL && next_sender(text, tl, &pos, &v, &vl))
		if (addr_norm(v, vl, norm, sizeof norm))
			rc = buf_printf(b, "%s = %s\n", WM_REMOTE_KEY, norm);
	free(text);
	return rc;
}

int wm_prefs_lock(const char *maildir, char *lock, size_t locksz)
{
	if (file_path(lock, locksz, maildir, WM_PREFS_FILE ".lock") < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return file_dotlock(lock, 5000, 30);
}

static json_t *senders_json(const char *text, size_t len)
{
	json_t *a = json_array();
	size_t pos = 0, vl;
	const char *v;
	char norm[ADDR_MAX + 1];
	while (text != NULL && next_sender(text, len, &pos, &v, &vl))
		if (addr_norm(v, vl, norm, sizeof norm))
			json_array_append_new(a, json_string(norm));
	return a;
}

void wm_remoteimg_get(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	char *text;
	size_t tl;
	prefs_text(me->acct.maildir, &text, &tl);
	json_t *o = json_object();
	json_object_set_new(o, "senders", senders_json(text, tl));
	free(text);
	webjson_reply(req, 200, o);
}

/* POST /api/remote_images {"sender", "allow"}: the sender added to the
   list (allow true) or taken off it; the other lines of the file are
   kept as they are. */
void wm_remoteimg_post(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	static const char *const allowed[] = {"sender", "allow", NULL};
	const char *sender = NULL;
	bool allow = true;
	char addr[ADDR_MAX + 1], lock[4300];
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "sender", true, ADDR_MAX, &sender) < 0 ||
	    webjson_get_bool(req, in, "allow", false, &allow) < 0)
		goto out;
	if (!addr_norm(sender, strlen(sender), addr, sizeof addr)) {
		webjson_error(req, 400, "invalid", "not an e-mail address",
			      "sender");
		goto out;
	}
	if (wm_prefs_lock(me->acct.maildir, lock, sizeof lock) < 0) {
		log_warning("webmail: %s: %s.lock: %s", me->acct.user,
			    WM_PREFS_FILE, strerror(errno));
		webjson_error(req, 503, "busy", "try again", NULL);
		goto out;
	}
	char *text;
	size_t tl;
	prefs_text(me->acct.maildir, &text, &tl);
	/* every line but this sender's, then this sender's when allowed */
	struct buf b;
	buf_init(&b, WM_PREFS_MAX);
	size_t n = 0, pos = 0;
	int w = 0;
	char norm[ADDR_MAX + 1];
	while (w == 0 && text != NULL && pos < tl) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', tl - pos);
		size_t ll = nl != NULL ? (size_t)(nl - s) + 1 : tl - pos;
		size_t p2 = 0, vl;
		const char *v;
		bool sl = next_sender(s, ll, &p2, &v, &vl);
		pos += ll;
		if (sl && (!addr_norm(v, vl, norm, sizeof norm) ||
			   strcmp(norm, addr) == 0))
			continue;
		n += sl;
		w = buf_append(&b, s, ll);
		if (w == 0 && ll > 0 && s[ll - 1] != '\n')
			w = buf_append_char(&b, '\n');
	}
	bool full = allow && n >= WM_REMOTE_MAX;
	if (w == 0 && allow && !full)
		w = buf_printf(&b, "%s = %s\n", WM_REMOTE_KEY, addr);
	if (full || w != 0) {
		webjson_error(req, 409, "full", "too many senders", "sender");
	} else if (wm_prefs_save(req, &b) == 0) {
		json_t *o = json_object();
		json_object_set_new(o, "senders", senders_json(b.p, b.len));
		webjson_reply(req, 200, o);
	}
	file_dotunlock(lock);
	buf_deinit(&b);
	free(text);
out:
	json_decref(in);
}
