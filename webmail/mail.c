/*
 * The mail routes of youju-webmail: folders, the message list, one
 * message, attachment downloads, flags, move and delete.  Every change
 * goes through lib/mailbox (docs/mailbox.md), so that webmail, IMAP, POP3
 * and delivery share the rules for UIDs, flags and quota; a folder is
 * opened without moving new/ to cur/ (IMAP's \Recent stays with IMAP).
 * The caller's Maildir comes from youju-authd on every request (session.c);
 * folder names are checked by lib/maildir_folders, so no name reaches
 * outside that Maildir, and UIDs are looked up in the folder opened.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base64.h"
#include "buf.h"
#include "fcache.h"
#include "htmlsan.h"
#include "listcache.h"
#include "log.h"
#include "maildir.h"
#include "maildir_index.h"
#include "mailbox.h"
#include "mime.h"
#include "mime_parts.h"
#include "msghtml.h"
#include "msgopen.h"
#include "reading.h"
#include "str.h"
#include "summary.h"
#include "webjson.h"
#include "wm.h"
#include "xalloc.h"

int wm_folder_path(struct http_req *req, const char *name, char *out,
		   size_t outsz)
{
	const struct wm_caller *me = wm_caller(req);
	int n;
	if (name == NULL || name[0] == '\0' || strcasecmp(name, "INBOX") == 0) {
		n = snprintf(out, outsz, "%s", me->acct.maildir);
	} else {
		char m7[MAILDIR_FOLDER_MAX + 1];
		if (maildir_utf8_to_mutf7(str_from_cstr(name), m7, sizeof m7) <
			0 ||
		    !maildir_folder_name_ok(m7)) {
			webjson_error(req, 400, "invalid", "bad folder name",
				      "folder");
			return -1;
		}
		n = snprintf(out, outsz, "%s/.%s", me->acct.maildir, m7);
	}
	if (n < 0 || (size_t)n >= outsz) {
		webjson_error(req, 400, "invalid", "folder name too long",
			      "folder");
		return -1;
	}
	char cur[4200];
	struct stat st;
	n = snprintf(cur, sizeof cur, "%s/cur", out);
	if (n < 0 || (size_t)n >= sizeof cur || stat(cur, &st) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		webjson_error(req, 404, "not_found", "no such folder",
			      "folder");
		return -1;
	}
	return 0;
}

/* Opens the folder named by the query or JSON field, or replies. */
static struct maildir_folder *folder_open(struct http_req *req,
					  const char *name)
{
	char path[4096];
	if (wm_folder_path(req, name, path, sizeof path) < 0)
		return NULL;
	const char *err = NULL;
	struct maildir_folder *f = fcache_open(path, &err);
	if (f == NULL) {
		log_warning("webmail: %s: %s: %s", path, err, strerror(errno));
		webjson_error(req, 500, "internal", "cannot read the folder",
			      "folder");
	}
	return f;
}

/* ---- flags as IMAP names ---- */

static const struct {
	const char *name;
	unsigned flag;
} sysflags[] = {
    {"\\Seen", MAILDIR_SEEN},	    {"\\Answered", MAILDIR_REPLIED},
    {"\\Flagged", MAILDIR_FLAGGED}, {"\\Deleted", MAILDIR_TRASHED},
    {"\\Draft", MAILDIR_DRAFT},
};
#define NSYSFLAGS (sizeof sysflags / sizeof sysflags[0])

static json_t *flags_json(const struct maildir_folder *f,
			  const struct maildir_msg *m)
{
	json_t *a = json_array();
	struct str letters = str_from_cstr(m->letters);
	unsigned fl = maildir_flags_parse(letters);
	for (size_t i = 0; i < NSYSFLAGS; i++)
		if (fl & sysflags[i].flag)
			json_array_append_new(a, json_string(sysflags[i].name));
	uint32_t kw = maildir_keyword_bits(letters);
	for (unsigned i = 0; i < MAILDIR_KEYWORDS_MAX; i++)
		if ((kw & (1u << i)) && f->kw.name[i] != NULL) {
			json_t *s = json_string(f->kw.name[i]);
			if (s != NULL)
				json_array_append_new(a, s);
		}
	return a;
}

/* ---- GET /api/folders ---- */

static json_t *folder_json(const char *name, const char *path)
{
	const char *err = NULL;
	/* counted in the shared scan: nothing copied */
	struct fcache_scan *scan = fcache_get(path, &err);
	if (scan == NULL)
		return NULL;
	const struct maildir_folder *f = fcache_scan_folder(scan);
	uint64_t size = 0, unseen = 0;
	for (size_t i = 0; i < f->n; i++) {
		size += f->msgs[i].size;
		if ((maildir_flags_parse(str_from_cstr(f->msgs[i].letters)) &
		     MAILDIR_SEEN) == 0)
			unseen++;
	}
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "total", json_integer((json_int_t)f->n));
	json_object_set_new(o, "unseen", json_integer((json_int_t)unseen));
	json_object_set_new(o, "size", json_integer((json_int_t)size));
	fcache_scan_put(&scan);
	return o;
}

size_t wm_expunge(const struct wm_caller *me, struct maildir_folder *f,
		  bool *sel)
{
	bool *all = NULL;
	if (sel == NULL) {
		all = xcalloc(f->n + 1, sizeof *all);
		for (size_t i = 0; i < f->n; i++)
			all[i] = true;
		sel = all;
	}
	size_t removed = 0;
	if (mailbox_expunge(&me->mu, f, sel, &removed) < 0)
		log_warning("webmail: expunge in %s: %s", f->path,
			    strerror(errno));
	free(all);
	return removed;
}

void wm_each_folder(const char *maildir,
		    void (*fn)(void *ctx, const char *name, const char *path),
		    void *ctx)
{
	char **names = NULL;
	long n = maildir_folder_list(maildir, &names);
	for (long i = 0; i < n; i++) {
		char utf8[1024], path[4096];
		if (maildir_mutf7_to_utf8(str_from_cstr(names[i]), utf8,
					  sizeof utf8) < 0)
			continue;
		int k =
		    snprintf(path, sizeof path, "%s/.%s", maildir, names[i]);
		if (k < 0 || (size_t)k >= sizeof path)
			continue;
		fn(ctx, utf8, path);
	}
	if (n > 0)
		maildir_names_free(names, (size_t)n);
}

static void add_folder_json(void *ctx, const char *name, const char *path)
{
	json_t *o = folder_json(name, path);
	if (o != NULL)
		json_array_append_new(ctx, o);
}

void wm_folders(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	json_t *a = json_array();
	json_t *o = folder_json("INBOX", me->acct.maildir);
	if (o == NULL) {
		json_decref(a);
		webjson_error(req, 500, "internal", "cannot read the Maildir",
			      NULL);
		return;
	}
	json_array_append_new(a, o);
	wm_each_folder(me->acct.maildir, add_folder_json, a);
	webjson_reply(req, 200, a);
}

/* ---- GET /api/messages ---- */

enum sort_key { SORT_ARRIVAL, SORT_DATE, SORT_FROM, SORT_SUBJECT, SORT_SIZE };

/* The list summary of m: from youju-mra's cache of ENVELOPEs when it has
   a valid entry, else from the head of the file.  False when neither
   (the message went away); s is then zeroed. */
static bool summary(struct maildir_folder *f, const struct maildir_index *ix,
		    struct maildir_msg *m, struct wm_summary *s)
{
	struct maildir_index_entry e;
	memset(s, 0, sizeof *s);
	if (maildir_index_get(ix, m->uid, str_from_cstr(m->base), m->size,
			      &e) &&
	    wm_summary_from_envelope(e.field[MIDX_ENVELOPE].p,
				     e.field[MIDX_ENVELOPE].len,
				     e.field[MIDX_BODYSTRUCTURE].p,
				     e.field[MIDX_BODYSTRUCTURE].len, s) == 0)
		return true;
	return wm_summary_read(f, m, s) == 0;
}

void wm_messages(struct http_req *req)
{
	const char *sort = http_req_query(req, "sort");
	const char *order = http_req_query(req, "order");
	const char *page_s = http_req_query(req, "page");
	uint64_t page = 1;
	static const char *const keys[] = {"arrival", "date", "from", "subject",
					   "size"};
	int key = -1;
	if (sort == NULL || sort[0] == '\0')
		key = SORT_DATE;
	for (int i = 0; i < 5 && key < 0; i++)
		if (strcmp(sort, keys[i]) == 0)
			key = i;
	if (key < 0) {
		webjson_error(req, 400, "invalid",
			      "sort: date, arrival, from, subject or size",
			      "sort");
		return;
	}
	bool desc = true;
	if (order != NULL && strcmp(order, "asc") == 0)
		desc = false;
	else if (order != NULL && order[0] != '\0' &&
		 strcmp(order, "desc") != 0) {
		webjson_error(req, 400, "invalid", "order: asc or desc",
			      "order");
		return;
	}
	if (page_s != NULL && page_s[0] != '\0' &&
	    str_parse_u64(page_s, 1, 1000000, &page) < 0) {
		webjson_error(req, 400, "invalid", "page: from 1", "page");
		return;
	}
	char path[4096];
	if (wm_folder_path(req, http_req_query(req, "folder"), path,
			   sizeof path) < 0)
		return;
	/* read from the shared scan: no copy of the folder */
	const char *err = NULL;
	struct fcache_scan *scan = fcache_get(path, &err);
	if (scan == NULL) {
		log_warning("webmail: %s: %s: %s", path, err, strerror(errno));
		webjson_error(req, 500, "internal", "cannot read the folder",
			      "folder");
		return;
	}
	if (key == SORT_DATE || key == SORT_FROM || key == SORT_SUBJECT)
		/* from the kept sort keys (list.c) */
		wm_list_sorted(req, scan,
			       key == SORT_DATE	  ? LISTCACHE_DATE
			       : key == SORT_FROM ? LISTCACHE_FROM
						  : LISTCACHE_SUBJECT,
			       desc, (size_t)page);
	else
		wm_list_plain(req, scan, key == SORT_SIZE, desc, (size_t)page);
	fcache_scan_put(&scan);
}

/* ---- one message ---- */

/* The message uid of the request's folder, read into *msg_r. */
struct maildir_folder *message_load(struct http_req *req, const char *folder,
				    const char *uid_s, long *idx_r,
				    struct buf *msg)
{
	uint64_t uid = 0;
	if (uid_s == NULL || str_parse_u64(uid_s, 1, UINT32_MAX, &uid) < 0) {
		webjson_error(req, 400, "invalid", "uid: a message UID", "uid");
		return NULL;
	}
	/* the message alone, not a copy of the whole folder's scan */
	char path[4096];
	if (wm_folder_path(req, folder, path, sizeof path) < 0)
		return NULL;
	const char *err = NULL;
	struct maildir_folder *f = fcache_open_msg(path, (uint32_t)uid, &err);
	if (f == NULL) {
		log_warning("webmail: %s: %s: %s", path, err, strerror(errno));
		webjson_error(req, 500, "internal", "cannot read the folder",
			      "folder");
		return NULL;
	}
	long i = maildir_folder_find(f, (uint32_t)uid);
	if (i < 0 || maildir_msg_read(f, &f->msgs[i], msg) < 0) {
		maildir_folder_free(&f);
		webjson_error(req, 404, "not_found", "no such message", "uid");
		return NULL;
	}
	*idx_r = i;
	return f;
}

/* Percent-encodes everything but unreserved characters (RFC 3986). */
char *url_escape(const char *s)
{
	size_t n = strlen(s);
	char *o = xmalloc(3 * n + 1), *q = o;
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			*q++ = (char)*p;
		} else {
			*q++ = '%';
			*q++ = hex[*p >> 4];
			*q++ = hex[*p & 15];
		}
	}
	*q = '\0';
	return o;
}

struct walk {
	const char *msg;
	json_t *atts;
	const char *folder;
	uint32_t uid;
	const struct mime_part *text, *html;
};

/* A parameter that may be RFC 2231 (name*=charset''%XX) or RFC 2047
   encoded, decoded to UTF-8 into out. */
static void param_decode(const struct mime_param *ps, size_t n,
			 const char *name, struct buf *out)
{
	char star[64];
	snprintf(star, sizeof star, "%s*", name);
	const char *v = mime_param_get(ps, n, star);
	if (v != NULL) {
		const char *q = strchr(v, '\'');
		const char *q2 = q != NULL ? strchr(q + 1, '\'') : NULL;
		char cs[64] = "";
		if (q2 != NULL && (size_t)(q - v) < sizeof cs) {
			memcpy(cs, v, (size_t)(q - v));
			cs[q - v] = '\0';
			v = q2 + 1;
		}
		struct buf raw;
		buf_init(&raw, 4096);
		for (const char *p = v; *p != '\0'; p++) {
			int h1, h2;
			if (*p == '%' && (h1 = str_hex_digit(p[1])) >= 0 &&
			    (h2 = str_hex_digit(p[2])) >= 0) {
				(void)!buf_append_char(&raw,
						       (char)(h1 * 16 + h2));
				p += 2;
			} else
				(void)!buf_append_char(&raw, *p);
		}
		(void)!mime_to_utf8(cs[0] != '\0' ? cs : NULL, raw.p, raw.len,
				    out);
		buf_deinit(&raw);
		return;
	}
	v = mime_param_get(ps, n, name);
	if (v != NULL)
		(void)!mime_header_decode(str_from_cstr(v), out);
}

void part_name(const struct mime_part *p, struct buf *out)
{
	param_decode(p->dparams, p->ndparams, "filename", out);
	if (out->len == 0)
		param_decode(p->params, p->nparams, "name", out);
}

/* One part as mime_parts_walk() numbers it: the text, the HTML or an
   attachment. */
static void walk_part(void *ctx, const struct mime_part *p, const char *spec)
{
	struct walk *w = ctx;
	struct buf name;
	buf_init(&name, 1024);
	part_name(p, &name);
	enum wm_body kind = wm_body_kind(p, name.len > 0);
	if (kind == WM_BODY_PLAIN && w->text == NULL) {
		w->text = p;
	} else if (kind == WM_BODY_HTML && w->html == NULL) {
		w->html = p;
	} else if (kind == WM_BODY_FILE) {
		char type[200];
		snprintf(type, sizeof type, "%s/%s",
			 p->type != NULL && p->type[0] ? p->type
			 : p->kind == MIME_MESSAGE     ? "message"
						       : "text",
			 p->subtype != NULL && p->subtype[0] ? p->subtype
			 : p->kind == MIME_MESSAGE	     ? "rfc822"
							     : "plain");
		str_lower(type);
		if (name.len == 0)
			(void)!buf_append_str(&name, p->kind == MIME_MESSAGE
							 ? "message.eml"
							 : "attachment");
		json_t *o = json_object();
		json_object_set_new(o, "part", json_string(spec));
		json_t *js = json_string(buf_cstr(&name));
		json_object_set_new(
		    o, "name", js != NULL ? js : json_string("attachment"));
		js = json_string(type);
		json_object_set_new(o, "type",
				    js != NULL ? js
					       : json_string("application/"
							     "octet-stream"));
		json_object_set_new(o, "size",
				    json_integer((json_int_t)p->body_len));
		char *fe = url_escape(w->folder);
		char url[1200];
		snprintf(url, sizeof url,
			 "/api/attachment?folder=%s&uid=%u&part=%s", fe,
			 (unsigned)w->uid, spec);
		free(fe);
		json_object_set_new(o, "url", json_string(url));
		json_array_append_new(w->atts, o);
	}
	buf_deinit(&name);
}

/* The decoded body of a part (Content-Transfer-Encoding), into out. */
int part_bytes(const char *msg, const struct mime_part *p, struct buf *out)
{
	return mime_decode_cte(p->encoding, msg + p->body_off, p->body_len,
			       out);
}

/* The text of a text part as UTF-8 into out, read as cs says (the
   reader's override, the part's label, the local charset; reading.c). */
void part_text_as(const char *msg, const struct mime_part *p,
		  const struct wm_charsets *cs, struct buf *out)
{
	struct buf raw;
	buf_init(&raw, WM_MESSAGE_MAX);
	(void)!part_bytes(msg, p, &raw);
	(void)!wm_text_decode(mime_param_get(p->params, p->nparams, "charset"),
			      raw.p != NULL ? raw.p : "", raw.len, cs, out);
	buf_deinit(&raw);
}

/* The text of a text part as UTF-8 into out. */
void part_text(const char *msg, const struct mime_part *p, struct buf *out)
{
	part_text_as(msg, p, NULL, out);
}

/*
 * A plain-text rendering of HTML for messages without a text part, until
 * the sanitizer (lib/htmlsan) is there: tags dropped, style and script
 * contents dropped, a few entities decoded.  The result is shown as text
 * (textContent), never as markup.
 */
void html_to_text(const char *h, size_t n, struct buf *out)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"&amp;", '&'},  {"&lt;", '<'},   {"&gt;", '>'},
		    {"&quot;", '"'}, {"&nbsp;", ' '}, {"&#39;", '\''}};
	for (size_t i = 0; i < n;) {
		if (h[i] == '<') {
			bool skip = n - i > 7 &&
				    (strncasecmp(h + i, "<style", 6) == 0 ||
				     strncasecmp(h + i, "<script", 7) == 0);
			bool br =
			    n - i > 3 && (strncasecmp(h + i, "<br", 3) == 0 ||
					  strncasecmp(h + i, "<p", 2) == 0 ||
					  strncasecmp(h + i, "</p", 3) == 0 ||
					  strncasecmp(h + i, "<div", 4) == 0 ||
					  strncasecmp(h + i, "<tr", 3) == 0);
			const char *end = memchr(h + i, '>', n - i);
			if (end == NULL)
				break;
			i = (size_t)(end - h) + 1;
			if (skip) {
				while (i < n && h[i] != '<')
					i++;
				const char *e2 =
				    i < n ? memchr(h + i, '>', n - i) : NULL;
				i = e2 != NULL ? (size_t)(e2 - h) + 1 : n;
			}
			if (br)
				(void)!buf_append_char(out, '\n');
			continue;
		}
		if (h[i] == '&') {
			bool done = false;
			for (size_t k = 0; k < sizeof ents / sizeof ents[0];
			     k++) {
				size_t l = strlen(ents[k].ent);
				if (n - i >= l &&
				    strncasecmp(h + i, ents[k].ent, l) == 0) {
					(void)!buf_append_char(out, ents[k].c);
					i += l;
					done = true;
					break;
				}
			}
			if (done)
				continue;
		}
		if (h[i] != '\r')
			(void)!buf_append_char(out, h[i]);
		i++;
	}
}

static void header_add(json_t *o, const char *hdr, size_t len, const char *name,
		       const char *key, const char *local)
{
	size_t pos = 0;
	struct str n, v;
	while (mime_header_next(hdr, len, &pos, &n, &v)) {
		if (!str_case_eq_cstr(n, name))
			continue;
		struct buf b;
		buf_init(&b, 16384);
		(void)!wm_header_decode(v, local, &b);
		json_t *s = json_string(buf_cstr(&b));
		buf_deinit(&b);
		if (s != NULL)
			json_object_set_new(o, key, s);
		return;
	}
}

/* GET /api/message?folder=F&uid=U[&remote=1] */
void wm_message(struct http_req *req)
{
	const char *folder = http_req_query(req, "folder");
	struct wm_msg om;
	if (wm_msg_open(req, folder, http_req_query(req, "uid"), &om) < 0) {
		wm_msg_close(&om);
		return;
	}
	struct maildir_folder *f = om.f;
	struct maildir_msg *m = om.m;
	const char *msg = om.raw.p;
	const struct mime_part *root = om.root;
	json_t *o = json_object();
	json_object_set_new(o, "uid", json_integer(m->uid));
	json_object_set_new(o, "folder",
			    json_string(folder != NULL && folder[0] != '\0'
					    ? folder
					    : "INBOX"));
	json_t *hd = json_object();
	static const char *const hnames[][2] = {
	    {"From", "from"},
	    {"To", "to"},
	    {"Cc", "cc"},
	    {"Bcc", "bcc"},
	    {"Reply-To", "reply_to"},
	    {"Subject", "subject"},
	    {"Date", "date"},
	    {"Message-ID", "message_id"},
	    {"In-Reply-To", "in_reply_to"},
	    {"References", "references"},
	    {"Disposition-Notification-To", "disposition_notification_to"},
	};
	const struct wm_caller *me = wm_caller(req);
	struct wm_charsets cs = {.override = wm_charset_override(req),
				 .local = me->prefs.local_charset};
	for (size_t i = 0; i < sizeof hnames / sizeof hnames[0]; i++)
		header_add(hd, msg + root->hdr_off, root->hdr_len, hnames[i][0],
			   hnames[i][1], cs.override != NULL ? NULL : cs.local);
	json_object_set_new(o, "headers", hd);
	struct walk w = {
	    .msg = msg,
	    .atts = json_array(),
	    .folder = folder != NULL && folder[0] != '\0' ? folder : "INBOX",
	    .uid = m->uid};
	mime_parts_walk(root, walk_part, &w);
	struct buf text;
	buf_init(&text, WM_MESSAGE_MAX);
	if (w.text != NULL) {
		part_text_as(msg, w.text, &cs, &text);
	} else if (w.html != NULL) {
		struct buf h;
		buf_init(&h, WM_MESSAGE_MAX);
		part_text_as(msg, w.html, &cs, &h);
		html_to_text(h.p, h.len, &text);
		buf_deinit(&h);
	}
	json_t *ts = json_stringn(text.p, text.len);
	json_object_set_new(o, "text", ts != NULL ? ts : json_string(""));
	buf_deinit(&text);
	/* remote images: asked for once, or always for this sender */
	char sender[320];
	bool always = wm_remoteimg_sender(me->acct.maildir, msg + root->hdr_off,
					  root->hdr_len, sender, sizeof sender);
	json_object_set_new(o, "sender", json_string(sender));
	json_object_set_new(o, "remote_always", json_boolean(always));
	if (w.html != NULL) {
		const char *rq = http_req_query(req, "remote");
		wm_html_add(o, msg, root, w.html, w.folder, m->uid,
			    always || (rq != NULL && strcmp(rq, "1") == 0),
			    &cs);
	} else {
		json_object_set_new(o, "html", json_null());
		json_object_set_new(o, "html_error", json_null());
		json_object_set_new(o, "html_url", json_null());
		json_object_set_new(o, "remote_blocked", json_integer(0));
		json_object_set_new(o, "html_truncated", json_false());
	}
	json_object_set_new(o, "has_html", json_boolean(w.html != NULL));
	json_object_set_new(o, "attachments", w.atts);
	json_object_set_new(o, "size", json_integer((json_int_t)m->size));

	/* GET never changes state (DESIGN 10): the app marks the message
	   \Seen with POST /api/flags once it is shown */
	json_object_set_new(o, "flags", flags_json(f, m));
	wm_msg_close(&om);
	webjson_reply(req, 200, o);
}

/* GET /api/attachment?folder=F&uid=U&part=P: always a download
   (Content-Disposition: attachment, application/octet-stream; the layer
   adds nosniff), so no mail content is ever rendered from our origin. */
void wm_attachment(struct http_req *req)
{
	struct wm_msg om;
	const struct mime_part *p = wm_msg_part_query(req, &om);
	if (p != NULL) {
		struct buf body, name;
		buf_init(&body, WM_MESSAGE_MAX);
		buf_init(&name, 1024);
		(void)!wm_part_content(om.raw.p, p, &body);
		part_name(p, &name);
		if (name.len == 0)
			(void)!buf_append_str(&name, "attachment");
		/* RFC 6266: an ASCII fallback and filename* in UTF-8 */
		char *enc = url_escape(buf_cstr(&name));
		struct buf cd;
		buf_init(&cd, 8192);
		(void)!buf_append_str(&cd, "attachment; filename=\"");
		for (size_t i = 0; i < name.len; i++) {
			unsigned char c = (unsigned char)name.p[i];
			(void)!buf_append_char(
			    &cd, c < 0x20 || c >= 0x7f || c == '"' ||
					 c == '\\' || c == '/'
				     ? '_'
				     : (char)c);
		}
		(void)!buf_printf(&cd, "\"; filename*=UTF-8''%s", enc);
		free(enc);
		http_reply_header(req, "Content-Disposition", buf_cstr(&cd));
		http_reply_raw(req, 200, "application/octet-stream", body.p,
			       body.len);
		buf_deinit(&cd);
		buf_deinit(&body);
		buf_deinit(&name);
	}
	wm_msg_close(&om);
}

/* ---- changes: {"folder", "uids": [...]} ---- */

/* Reads "uids" into a selection over f (sel[i] for f->msgs[i]); unknown
   UIDs are skipped (expunged meanwhile).  Returns the count selected, or
   -1 after replying 400. */
static long select_uids(struct http_req *req, json_t *in,
			const struct maildir_folder *f, bool *sel)
{
	json_t *a = json_object_get(in, "uids");
	if (a == NULL || !json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > WM_UIDS_MAX) {
		webjson_error(req, 400, "invalid", "uids: a list of UIDs",
			      "uids");
		return -1;
	}
	long n = 0;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > UINT32_MAX) {
			webjson_error(req, 400, "invalid",
				      "uids: a list of UIDs", "uids");
			return -1;
		}
		long k =
		    maildir_folder_find(f, (uint32_t)json_integer_value(v));
		if (k >= 0 && !sel[k]) {
			sel[k] = true;
			n++;
		}
	}
	return n;
}

/* Folder name opened and in's "uids" selected over it (*sel_r: one flag
   per message, free()).  NULL after replying, with nothing to free. */
static struct maildir_folder *open_selection(struct http_req *req, json_t *in,
					     const char *name, bool **sel_r)
{
	struct maildir_folder *f = folder_open(req, name);
	if (f == NULL)
		return NULL;
	bool *sel = xcalloc(f->n + 1, sizeof *sel);
	if (select_uids(req, in, f, sel) < 0) {
		free(sel);
		maildir_folder_free(&f);
		return NULL;
	}
	*sel_r = sel;
	return f;
}

/* Parses a list of flag names: system flags into *sys, keywords into
   names (at most MAILDIR_KEYWORDS_MAX).  Returns the keyword count or -1
   after replying. */
static long parse_flags(struct http_req *req, json_t *in, const char *field,
			unsigned *sys, struct str *names)
{
	json_t *a = json_object_get(in, field);
	*sys = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > 32) {
		webjson_error(req, 400, "invalid", "a list of flag names",
			      field);
		return -1;
	}
	long nk = 0;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		const char *s = json_is_string(v) ? json_string_value(v) : "";
		bool found = false;
		for (size_t k = 0; k < NSYSFLAGS; k++)
			if (strcasecmp(s, sysflags[k].name) == 0) {
				*sys |= sysflags[k].flag;
				found = true;
			}
		if (found)
			continue;
		struct str ks = str_from_cstr(s);
		if (!maildir_keyword_ok(ks) || nk >= MAILDIR_KEYWORDS_MAX) {
			webjson_error(req, 400, "invalid",
				      "unknown flag or bad keyword", field);
			return -1;
		}
		names[nk++] = ks;
	}
	return nk;
}

static json_t *request_folder(struct http_req *req, json_t **in_r,
			      const char *const *allowed, const char **name_r)
{
	json_t *in = webjson_request(req);
	if (in == NULL)
		return NULL;
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "folder", true, 1000, name_r) < 0) {
		json_decref(in);
		return NULL;
	}
	*in_r = in;
	return in;
}

/* POST /api/flags {"folder", "uids", "add": [...], "remove": [...]} */
void wm_flags(struct http_req *req)
{
	static const char *const allowed[] = {"folder", "uids", "add", "remove",
					      NULL};
	json_t *in = NULL;
	const char *name = NULL;
	if (request_folder(req, &in, allowed, &name) == NULL)
		return;
	struct str addk[MAILDIR_KEYWORDS_MAX], remk[MAILDIR_KEYWORDS_MAX];
	unsigned adds = 0, rems = 0;
	long nadd = parse_flags(req, in, "add", &adds, addk);
	long nrem = nadd < 0 ? -1 : parse_flags(req, in, "remove", &rems, remk);
	if (nrem < 0) {
		json_decref(in);
		return;
	}
	bool *sel = NULL;
	struct maildir_folder *f = open_selection(req, in, name, &sel);
	if (f == NULL) {
		json_decref(in);
		return;
	}
	uint32_t addbits = 0, rembits = 0;
	if (nadd > 0 && mailbox_keywords(f, addk, (size_t)nadd, &addbits) < 0) {
		webjson_error(req, errno == ENOSPC ? 409 : 400, "invalid",
			      errno == ENOSPC ? "no keyword letter left"
					      : "bad keyword",
			      "add");
		goto out;
	}
	for (long k = 0; k < nrem; k++) {
		int l = maildir_keywords_find(&f->kw, remk[k]);
		if (l >= 0)
			rembits |= 1u << l;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < f->n; i++) {
		if (!sel[i])
			continue;
		struct maildir_msg *m = &f->msgs[i];
		if ((adds || addbits) &&
		    mailbox_msg_flags(f, m, MAILBOX_FLAGS_ADD, adds, addbits) <
			0)
			continue;
		if ((rems || rembits) &&
		    mailbox_msg_flags(f, m, MAILBOX_FLAGS_REMOVE, rems,
				      rembits) < 0)
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "uid", json_integer(m->uid));
		json_object_set_new(o, "flags", flags_json(f, m));
		json_array_append_new(list, o);
	}
	json_t *out = json_object();
	json_object_set_new(out, "messages", list);
	webjson_reply(req, 200, out);
out:
	free(sel);
	maildir_folder_free(&f);
	json_decref(in);
}

/* Moves the selected messages of f to the folder dst_name; replies. */
static void move_to(struct http_req *req, struct maildir_folder *f, bool *sel,
		    const char *dst_name)
{
	const struct wm_caller *me = wm_caller(req);
	char dst[4096];
	if (wm_folder_path(req, dst_name, dst, sizeof dst) < 0)
		return;
	if (strcmp(dst, f->path) == 0) {
		webjson_error(req, 400, "invalid", "the same folder", "to");
		return;
	}
	struct mailbox_copy_result r;
	const char *err = NULL;
	memset(&r, 0, sizeof r);
	if (mailbox_copy(&me->mu, f, sel, dst, true, &r, &err) < 0) {
		if (errno == EDQUOT) {
			webjson_error(req, 507, "over_quota",
				      "the mailbox is full", NULL);
		} else {
			log_warning("webmail: move %s -> %s: %s: %s", f->path,
				    dst, err != NULL ? err : "",
				    strerror(errno));
			webjson_error(req, 500, "internal", "move failed",
				      NULL);
		}
		return;
	}
	json_t *out = json_object(), *a = json_array();
	for (size_t i = 0; i < r.n; i++)
		json_array_append_new(a, json_integer(r.dst_uids[i]));
	json_object_set_new(out, "moved", json_integer((json_int_t)r.n));
	json_object_set_new(out, "uids", a);
	mailbox_copy_result_free(&r);
	webjson_reply(req, 200, out);
}

/* POST /api/move {"folder", "uids", "to"} */
void wm_move(struct http_req *req)
{
	static const char *const allowed[] = {"folder", "uids", "to", NULL};
	json_t *in = NULL;
	const char *name = NULL, *to = NULL;
	if (request_folder(req, &in, allowed, &name) == NULL)
		return;
	if (webjson_get_str(req, in, "to", true, 1000, &to) < 0) {
		json_decref(in);
		return;
	}
	bool *sel = NULL;
	struct maildir_folder *f = open_selection(req, in, name, &sel);
	if (f == NULL) {
		json_decref(in);
		return;
	}
	move_to(req, f, sel, to);
	free(sel);
	maildir_folder_free(&f);
	json_decref(in);
}

/* POST /api/delete {"folder", "uids"}: to Trash, or expunged when the
   folder is Trash already (ExtMail's default delete mode). */
void wm_delete(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	static const char *const allowed[] = {"folder", "uids", NULL};
	json_t *in = NULL;
	const char *name = NULL;
	if (request_folder(req, &in, allowed, &name) == NULL)
		return;
	bool *sel = NULL;
	struct maildir_folder *f = open_selection(req, in, name, &sel);
	if (f == NULL) {
		json_decref(in);
		return;
	}
	/* delete mode "purge" (prefs.c) expunges everywhere */
	if (strcmp(name, "Trash") == 0 || me->prefs.purge) {
		size_t removed = wm_expunge(me, f, sel);
		json_t *o = json_object();
		json_object_set_new(o, "expunged",
				    json_integer((json_int_t)removed));
		webjson_reply(req, 200, o);
		goto out;
	}
	/* ExtMail's Maildirs have Trash; an old one may not */
	if (maildir_folder_create(me->acct.maildir, "Trash") < 0 &&
	    errno != EEXIST)
		log_warning("webmail: %s: cannot create Trash: %s",
			    me->acct.maildir, strerror(errno));
	move_to(req, f, sel, "Trash");
out:
	free(sel);
	maildir_folder_free(&f);
	json_decref(in);
}

/* POST /api/folders {"name"}: a user folder (UTF-8; "a.b" is b inside
   a), as IMAP CREATE makes it, subscribed. */
void wm_folder_create(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	static const char *const allowed[] = {"name", NULL};
	json_t *in = webjson_request(req);
	const char *name = NULL;
	if (in == NULL)
		return;
	char m7[MAILDIR_FOLDER_MAX + 1];
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "name", true, 200, &name) < 0)
		goto out;
	if (strcasecmp(name, "INBOX") == 0 ||
	    maildir_utf8_to_mutf7(str_from_cstr(name), m7, sizeof m7) < 0 ||
	    !maildir_folder_name_ok(m7)) {
		webjson_error(req, 400, "invalid", "bad folder name", "name");
		goto out;
	}
	if (maildir_folder_create(me->acct.maildir, m7) < 0) {
		if (errno == EEXIST)
			webjson_error(req, 409, "exists", "it exists already",
				      "name");
		else {
			log_warning("webmail: %s: create %s: %s",
				    me->acct.maildir, m7, strerror(errno));
			webjson_error(req, 500, "internal",
				      "cannot create the folder", "name");
		}
		goto out;
	}
	if (maildir_subs_set(me->acct.maildir, m7, true) < 0)
		log_warning("webmail: %s: subscribe %s: %s", me->acct.maildir,
			    m7, strerror(errno));
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	webjson_reply(req, 200, o);
out:
	json_decref(in);
}

/* POST /api/empty {"folder"}: expunges everything in Trash or Junk. */
void wm_empty(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	static const char *const allowed[] = {"folder", NULL};
	json_t *in = NULL;
	const char *name = NULL;
	if (request_folder(req, &in, allowed, &name) == NULL)
		return;
	if (strcmp(name, "Trash") != 0 && strcmp(name, "Junk") != 0) {
		webjson_error(req, 400, "invalid", "only Trash and Junk",
			      "folder");
		json_decref(in);
		return;
	}
	struct maildir_folder *f = folder_open(req, name);
	if (f == NULL) {
		json_decref(in);
		return;
	}
	size_t removed = wm_expunge(me, f, NULL);
	json_t *o = json_object();
	json_object_set_new(o, "expunged", json_integer((json_int_t)removed));
	webjson_reply(req, 200, o);
	maildir_folder_free(&f);
	json_decref(in);
}

/* ---- for the other handlers (search.c, folders.c, drafts.c, thread.c) */

struct maildir_folder *wm_folder_open(struct http_req *req, const char *name)
{
	return folder_open(req, name);
}

json_t *wm_flags_json(const struct maildir_folder *f,
		      const struct maildir_msg *m)
{
	return flags_json(f, m);
}

bool wm_msg_summary(struct maildir_folder *f, const struct maildir_index *ix,
		    struct maildir_msg *m, struct wm_summary *s)
{
	return summary(f, ix, m, s);
}
