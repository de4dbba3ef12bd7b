/*
 * Webmail preferences (see prefs.h).  The file is youju's own,
 * youju-webmail.cf in the Maildir, "key = value" lines as ExtMail's
 * user.cf; a value's LF and backslash are written as \n and \\.  It is
 * replaced atomically (lib/file) with mode 0600.  ExtMail's files are only
 * read, so that a user moving back and forth loses nothing.
 */
#include "prefs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "compose.h"
#include "file.h"
#include "htmlsan.h"
#include "log.h"
#include "msghtml.h"
#include "reading.h"
#include "str.h"
#include "webjson.h"
#include "wm.h"

static const char *const sorts[] = {"date",    "arrival", "from",
				    "subject", "size",	  NULL};
static const char *const langs[] = {"en_US", "zh_CN", NULL};

static bool in_list(const char *const *l, const char *v)
{
	for (; *l != NULL; l++)
		if (strcmp(*l, v) == 0)
			return true;
	return false;
}

/* A time zone name as the IANA database writes them: letters, digits,
   '/', '_', '-', '+'; no "..", not absolute. */
static bool tz_ok(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n >= 64 || v[0] == '/' || strstr(v, "..") != NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '/' || c == '_' ||
		      c == '-' || c == '+'))
			return false;
	}
	return true;
}

/* Text for a UI field: no control bytes but LF (when multi) and TAB. */
static bool text_ok(const char *v, bool multi)
{
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if ((*c < 0x20 && *c != '\t' && !(multi && *c == '\n')) ||
		    *c == 0x7f)
			return false;
	return true;
}

static void set_str(char *dst, size_t dstsz, const char *v)
{
	size_t n = strlen(v);
	if (n >= dstsz)
		return;
	memcpy(dst, v, n + 1);
}

/* Applies one key; returns whether it was taken. */
static bool apply(struct wm_prefs *p, const char *k, const char *v,
		  bool extmail)
{
	uint64_t n;
	if (strcmp(k, extmail ? "nick_name" : "name") == 0) {
		if (!text_ok(v, false) || strlen(v) >= sizeof p->name)
			return false;
		set_str(p->name, sizeof p->name, v);
	} else if (strcmp(k, "page_size") == 0) {
		if (str_parse_u64(v, WM_PAGE_SIZE_MIN, WM_PAGE_SIZE_MAX, &n) <
		    0)
			return false;
		p->page_size = (unsigned)n;
	} else if (strcmp(k, "timezone") == 0) {
		if (v[0] != '\0' && !tz_ok(v))
			return false;
		set_str(p->timezone, sizeof p->timezone, v);
	} else if (strcmp(k, "sort") == 0) {
		if (!in_list(sorts, v))
			return false;
		set_str(p->sort, sizeof p->sort, v);
	} else if (!extmail && strcmp(k, "order") == 0) {
		if (strcmp(v, "asc") != 0 && strcmp(v, "desc") != 0)
			return false;
		set_str(p->order, sizeof p->order, v);
	} else if (!extmail && strcmp(k, "delete_mode") == 0) {
		if (strcmp(v, "trash") != 0 && strcmp(v, "purge") != 0)
			return false;
		p->purge = strcmp(v, "purge") == 0;
	} else if (strcmp(k, extmail ? "show_html" : "prefer_html") == 0) {
		if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
			return false;
		p->prefer_html = v[0] == '1';
	} else if (strcmp(k, "lang") == 0) {
		if (v[0] != '\0' && !in_list(langs, v))
			return false;
		set_str(p->lang, sizeof p->lang, v);
	} else if (!extmail && strcmp(k, "local_charset") == 0) {
		if (v[0] != '\0' && !wm_local_charset_ok(v))
			return false;
		set_str(p->local_charset, sizeof p->local_charset, v);
	} else if (extmail && strcmp(k, "trylocal") == 0) {
		/* ExtMail: the language's legacy charset */
		if (strcmp(v, "1") == 0)
			set_str(p->local_charset, sizeof p->local_charset,
				"GB18030");
		else if (strcmp(v, "0") == 0)
			p->local_charset[0] = '\0';
		else
			return false;
	} else if (!extmail && strcmp(k, "signature") == 0) {
		if (!text_ok(v, true) || strlen(v) > WM_SIGNATURE_MAX)
			return false;
		set_str(p->signature, sizeof p->signature, v);
	} else if (!extmail && strcmp(k, "signature_html") == 0) {
		/* written sanitized by PUT /api/prefs; a hand-edited file
		   is sanitized again where the HTML is used (compose) */
		if (!text_ok(v, true) || strlen(v) > WM_SIGNATURE_HTML_MAX)
			return false;
		set_str(p->signature_html, sizeof p->signature_html, v);
	} else {
		return false;
	}
	return true;
}

bool wm_prefs_line(const char *text, size_t len, size_t *pos, struct str *key_r,
		   struct str *val_r)
{
	const char *end = text + len;
	while (*pos < len) {
		const char *s = text + *pos;
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl != NULL ? nl : end;
		*pos = (size_t)((nl != NULL ? nl + 1 : end) - text);
		/* trim; skip comments, blanks and lines with a NUL */
		while (s < le && (*s == ' ' || *s == '\t'))
			s++;
		const char *e = le;
		while (e > s &&
		       (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		const char *eq = memchr(s, '=', (size_t)(e - s));
		if (s == e || *s == '#' || eq == NULL ||
		    memchr(s, '\0', (size_t)(e - s)) != NULL)
			continue;
		const char *ke = eq;
		while (ke > s && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		const char *vs = eq + 1;
		while (vs < e && (*vs == ' ' || *vs == '\t'))
			vs++;
		*key_r = (struct str){s, (size_t)(ke - s)};
		*val_r = (struct str){vs, (size_t)(e - vs)};
		return true;
	}
	return false;
}

size_t wm_prefs_parse(struct wm_prefs *p, const char *text, size_t len,
		      bool extmail)
{
	size_t applied = 0, pos = 0;
	struct str k, v;
	char key[64], val[WM_SIGNATURE_HTML_MAX + 2];
	while (wm_prefs_line(text, len, &pos, &k, &v)) {
		size_t vi = 0;
		bool ok = k.len > 0 && k.len < sizeof key;
		const char *e = v.p + v.len;
		for (const char *c = v.p; ok && c < e; c++) {
			if (vi + 1 >= sizeof val) {
				ok = false;
				break;
			}
			if (!extmail && *c == '\\' && c + 1 < e) {
				c++;
				val[vi++] = *c == 'n' ? '\n' : *c;
			} else {
				val[vi++] = *c;
			}
		}
		if (ok) {
			memcpy(key, k.p, k.len);
			key[k.len] = '\0';
			val[vi] = '\0';
			if (apply(p, key, val, extmail))
				applied++;
		}
	}
	return applied;
}

static void defaults(struct wm_prefs *p)
{
	memset(p, 0, sizeof *p);
	set_str(p->sort, sizeof p->sort, "date");
	set_str(p->order, sizeof p->order, "desc");
	p->prefer_html = true;
}

static void read_into(const char *maildir, const char *name, struct wm_prefs *p,
		      bool extmail)
{
	char path[4200];
	char *data = NULL;
	size_t len = 0;
	if (file_path(path, sizeof path, maildir, name) < 0)
		return;
	int rc = file_read(path, WM_PREFS_MAX, O_NOFOLLOW, &data, &len, NULL);
	if (rc < 0)
		log_warning("webmail: %s: %s (ignored)", path, strerror(errno));
	if (rc == 1)
		(void)wm_prefs_parse(p, data, len, extmail);
	free(data);
}

void wm_prefs_load(const char *maildir, struct wm_prefs *p)
{
	defaults(p);
	read_into(maildir, "user.cf", p, true);
	/* ExtMail's signature.cf: the signature's text as it is */
	char path[4200];
	char *data = NULL;
	size_t len = 0;
	if (file_path(path, sizeof path, maildir, "signature.cf") == 0 &&
	    file_read(path, WM_PREFS_MAX, O_NOFOLLOW, &data, &len, NULL) == 1 &&
	    len <= WM_SIGNATURE_MAX && memchr(data, '\0', len) == NULL) {
		size_t o = 0;
		for (size_t i = 0; i < len; i++)
			if (data[i] != '\r')
				p->signature[o++] = data[i];
		p->signature[o] = '\0';
		if (!text_ok(p->signature, true))
			p->signature[0] = '\0';
	}
	free(data);
	read_into(maildir, WM_PREFS_FILE, p, false);
}

static json_t *prefs_json(const struct wm_prefs *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "page_size", json_integer(p->page_size));
	json_object_set_new(o, "timezone", json_string(p->timezone));
	json_object_set_new(o, "sort", json_string(p->sort));
	json_object_set_new(o, "order", json_string(p->order));
	json_object_set_new(o, "delete_mode",
			    json_string(p->purge ? "purge" : "trash"));
	json_object_set_new(o, "prefer_html", json_boolean(p->prefer_html));
	json_object_set_new(o, "lang", json_string(p->lang));
	json_object_set_new(o, "signature", json_string(p->signature));
	json_object_set_new(o, "signature_html",
			    json_string(p->signature_html));
	json_object_set_new(o, "local_charset", json_string(p->local_charset));
	return o;
}

void wm_prefs_get(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	struct wm_prefs p;
	wm_prefs_load(me->acct.maildir, &p);
	webjson_reply(req, 200, prefs_json(&p));
}

static int put_kv(struct buf *b, const char *k, const char *v)
{
	int rc = buf_printf(b, "%s = ", k);
	for (const char *c = v; rc == 0 && *c; c++) {
		if (*c == '\n')
			rc = buf_append_str(b, "\\n");
		else if (*c == '\\')
			rc = buf_append_str(b, "\\\\");
		else
			rc = buf_append_char(b, *c);
	}
	return rc < 0 || buf_append_char(b, '\n') < 0 ? -1 : 0;
}

/*
 * "signature_html" of PUT /api/prefs: the settings' HTML editor's markup
 * through lib/htmlsan (as a message written in compose: no script,
 * remote images or anything else the reader drops; an image left without
 * a source goes), stored in p with its text form as p->signature (the
 * text alternative, used in plain-text compose and as ExtMail's text).
 * "" removes the HTML form.  0, or -1 after replying 400.
 */
static int signature_html(struct http_req *req, json_t *in, struct wm_prefs *p)
{
	json_t *v = json_object_get(in, "signature_html");
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > WM_TEXT_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		webjson_error(req, 400, "invalid", "bad value",
			      "signature_html");
		return -1;
	}
	p->signature_html[0] = '\0';
	if (json_string_length(v) == 0)
		return 0;
	struct buf clean, kept, text;
	buf_init(&clean, WM_TEXT_MAX);
	buf_init(&kept, WM_TEXT_MAX);
	buf_init(&text, WM_TEXT_MAX);
	int rc = -1;
	const char *why = "bad value";
	if (wm_html_clean(json_string_value(v), json_string_length(v), NULL, 0,
			  &clean, NULL) != HTMLSAN_OK) {
		why = "the HTML cannot be used";
		goto out;
	}
	const char *h = clean.p != NULL ? clean.p : "";
	size_t hl = clean.len;
	if (wm_html_drop_empty_images(h, hl, &kept) > 0) {
		buf_reset(&clean);
		if (wm_html_clean(kept.p != NULL ? kept.p : "", kept.len, NULL,
				  0, &clean, NULL) != HTMLSAN_OK) {
			why = "the HTML cannot be used";
			goto out;
		}
		h = clean.p != NULL ? clean.p : "";
		hl = clean.len;
	}
	wm_html_plain(h, hl, &text);
	/* the editor writes a space it must keep (the "-- " line) as a
	   no-break space: a space in the text form */
	size_t o = 0;
	for (size_t i = 0; i < text.len; i++) {
		if (i + 1 < text.len && (unsigned char)text.p[i] == 0xc2 &&
		    (unsigned char)text.p[i + 1] == 0xa0) {
			text.p[o++] = ' ';
			i++;
		} else
			text.p[o++] = text.p[i];
	}
	text.len = o;
	/* the text form without the trailing line breaks of the blocks */
	while (text.len > 0 &&
	       (text.p[text.len - 1] == '\n' || text.p[text.len - 1] == ' '))
		text.len--;
	if (hl > WM_SIGNATURE_HTML_MAX || text.len > WM_SIGNATURE_MAX) {
		why = "too long";
		goto out;
	}
	/* one line break kept per line (the file's \n), no other control */
	for (size_t i = 0; i < hl; i++)
		if ((unsigned char)h[i] < 0x20 && h[i] != '\n' && h[i] != '\t')
			goto out;
	for (size_t i = 0; i < text.len; i++)
		if (text.p[i] == '\r')
			text.p[i] = ' ';
	if (hl > 0 && text.len == 0 && memmem(h, hl, "<img", 4) == NULL)
		hl = 0; /* an empty editor: no signature */
	memcpy(p->signature_html, h, hl);
	p->signature_html[hl] = '\0';
	memcpy(p->signature, text.p != NULL ? text.p : "", text.len);
	p->signature[text.len] = '\0';
	if (!text_ok(p->signature, true))
		goto out;
	rc = 0;
out:
	if (rc < 0)
		webjson_error(req, 400, "invalid", why, "signature_html");
	buf_deinit(&clean);
	buf_deinit(&kept);
	buf_deinit(&text);
	return rc;
}

/* PUT /api/prefs {any of the fields}: the fields given replace the
   stored ones; every field is checked, the first bad one named (400). */
int wm_prefs_save(struct http_req *req, const struct buf *text)
{
	const struct wm_caller *me = wm_caller(req);
	char path[4200];
	if (text == NULL ||
	    file_path(path, sizeof path, me->acct.maildir, WM_PREFS_FILE) < 0 ||
	    file_replace(path, text->p, text->len, NULL) < 0) {
		log_warning("webmail: %s: cannot write %s: %s", me->acct.user,
			    WM_PREFS_FILE, strerror(errno));
		webjson_error(req, 500, "internal",
			      "the preferences cannot be saved", NULL);
		return -1;
	}
	return 0;
}

void wm_prefs_put(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	static const char *const allowed[] = {
	    "name",	 "page_size",	  "timezone",	    "sort",
	    "order",	 "delete_mode",	  "prefer_html",    "lang",
	    "signature", "local_charset", "signature_html", NULL};
	struct wm_prefs p;
	char lock[4300];
	lock[0] = '\0';
	if (webjson_only(req, in, allowed) < 0)
		goto out;
	/* remoteimg.c rewrites the same file */
	if (wm_prefs_lock(me->acct.maildir, lock, sizeof lock) < 0) {
		lock[0] = '\0';
		webjson_error(req, 503, "busy", "try again", NULL);
		goto out;
	}
	wm_prefs_load(me->acct.maildir, &p);
	static const char *const strs[] = {"name",	"timezone",	"sort",
					   "order",	"delete_mode",	"lang",
					   "signature", "local_charset"};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		const char *v = NULL;
		int rc;
		if (strcmp(strs[i], "signature") == 0) {
			/* lines: webjson's getter refuses LF; apply() checks
			   the text */
			json_t *sv = json_object_get(in, "signature");
			rc = sv == NULL ? 0 : json_is_string(sv) ? 1 : -1;
			v = json_string_value(sv);
			if (rc < 0 ||
			    (rc == 1 && strlen(v) != json_string_length(sv))) {
				webjson_error(req, 400, "invalid", "bad value",
					      "signature");
				goto out;
			}
		} else {
			rc = webjson_get_str(req, in, strs[i], false,
					     WM_SIGNATURE_MAX, &v);
		}
		if (rc < 0)
			goto out;
		if (rc == 1 && !apply(&p, strs[i], v, false)) {
			webjson_error(req, 400, "invalid", "bad value",
				      strs[i]);
			goto out;
		}
	}
	/* a text signature alone replaces the HTML form too */
	if (json_object_get(in, "signature") != NULL)
		p.signature_html[0] = '\0';
	if (signature_html(req, in, &p) < 0)
		goto out;
	int64_t ps;
	int rc = webjson_get_int(req, in, "page_size", false, 0,
				 WM_PAGE_SIZE_MAX, &ps);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		if (ps != 0 && ps < WM_PAGE_SIZE_MIN) {
			webjson_error(req, 400, "invalid",
				      "page size too small", "page_size");
			goto out;
		}
		p.page_size = (unsigned)ps;
	}
	bool ph;
	rc = webjson_get_bool(req, in, "prefer_html", false, &ph);
	if (rc < 0)
		goto out;
	if (rc == 1)
		p.prefer_html = ph;

	struct buf b;
	buf_init(&b, WM_PREFS_MAX);
	char num[16];
	snprintf(num, sizeof num, "%u", p.page_size);
	int w = buf_append_str(&b, "# youju webmail preferences "
				   "(docs/webmail.md)\n");
	w |= put_kv(&b, "name", p.name);
	if (p.page_size != 0)
		w |= put_kv(&b, "page_size", num);
	w |= put_kv(&b, "timezone", p.timezone);
	w |= put_kv(&b, "sort", p.sort);
	w |= put_kv(&b, "order", p.order);
	w |= put_kv(&b, "delete_mode", p.purge ? "purge" : "trash");
	w |= put_kv(&b, "prefer_html", p.prefer_html ? "1" : "0");
	w |= put_kv(&b, "lang", p.lang);
	w |= put_kv(&b, "signature", p.signature);
	if (p.signature_html[0] != '\0')
		w |= put_kv(&b, "signature_html", p.signature_html);
	w |= put_kv(&b, "local_charset", p.local_charset);
	/* the remote-image senders (remoteimg.c) are kept as they are */
	w |= wm_remoteimg_carry(me->acct.maildir, &b);
	if (w != 0)
		errno = EMSGSIZE;
	if (wm_prefs_save(req, w != 0 ? NULL : &b) == 0)
		webjson_reply(req, 200, prefs_json(&p));
	buf_deinit(&b);
out:
	if (lock[0] != '\0')
		file_dotunlock(lock);
	json_decref(in);
}
