/*
 * A message's HTML: lib/htmlsan's output for GET /api/message, and the
 * document GET /api/message/html serves into the app's
 * <iframe sandbox> (docs/webmail.md, docs/security.md "Mail HTML").
 *
 * The frame's URL is same-origin, so the session cookie (SameSite=Strict)
 * goes with the frame's own request and another user's message is as
 * unreachable as through the API; the document is served under its own
 * Content-Security-Policy (sandbox, no script, images only data: unless
 * the reader allowed remote images, inline styles for the message's
 * sanitized CSS, framing only by the app), so the sanitizer is not the
 * only wall.  Inside the sandbox the document has an opaque origin: none
 * of its requests carries the session cookie, and the API's
 * Cross-Origin-Resource-Policy refuses them; cid: images are therefore
 * inlined as data: URLs (up to WM_CID_INLINE_MAX each).
 *
 * The sanitizer runs in helper processes (lib/htmlsan_pool): gumbo has
 * known crash and quadratic-time bugs, and a crash or timeout there costs
 * a helper, not the daemon; the reader then sees the text part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "htmlsan.h"
#include "htmlsan_pool.h"
#include "log.h"
#include "mime_parts.h"
#include "msghtml.h"
#include "msgopen.h"
#include "reading.h"
#include "webjson.h"
#include "wm.h"
#include "xalloc.h"

/* Inline images up to this size (decoded) become data: URLs. */
#define WM_CID_INLINE_MAX (512u << 10)
/* data: URLs of one message's cid table, in all (then part URLs). */
#define WM_CID_TABLE_MAX (16u << 20)
/* Content-IDs of one message considered. */
#define WM_CID_MAX 256
/* Bytes of sanitized HTML kept (then cut, with a marker). */
#define WM_HTML_OUT_MAX (4u << 20)

static struct htmlsan_pool *pool;
static bool unsanitized; /* test instances only: docs/security.md */

/* The frame's baseline style: the message's own (sanitized, scoped
   under .youju-msg) comes after it. */
#define FRAME_HEAD                                                             \
	"<!DOCTYPE html><html><head><meta charset=\"utf-8\">"                  \
	"<meta name=\"referrer\" content=\"no-referrer\">"                     \
	"<style>body{margin:.5rem;font-family:sans-serif;"                     \
	"overflow-wrap:anywhere}img{max-width:100%}"                           \
	".youju-text{white-space:pre-wrap;font-family:monospace}</style>"      \
	"</head><body>"
#define FRAME_TAIL "</body></html>"

int wm_msghtml_start(const struct conf *conf, const char **error_r)
{
	unsanitized = conf_bool(conf, "webmail_test_unsanitized_html");
#if !defined(__SANITIZE_ADDRESS__)
	/* only a sanitizer build (build/san, never installed) honours it */
	if (unsanitized) {
		log_warning("webmail: webmail_test_unsanitized_html is for "
			    "test instances (ASan builds) only: ignored");
		unsanitized = false;
	}
#endif
	if (unsanitized)
		log_warning("webmail: TEST ONLY: message HTML is served "
			    "unsanitized (webmail_test_unsanitized_html)");
	struct htmlsan_pool_opts po = {
	    .workers = (unsigned)conf_int(conf, "webmail_html_processes"),
	    .timeout_ms = (unsigned)conf_int(conf, "webmail_html_timeout_ms"),
	    .memory_max = (size_t)conf_int(conf, "webmail_html_memory_limit"),
	};
	pool = htmlsan_pool_start(&po, error_r);
	return pool != NULL ? 0 : -1;
}

void wm_msghtml_stop(void)
{
	htmlsan_pool_stop(&pool);
}

/* ---- cid: images ---- */

/* The part p as a data:image/...;base64 URL when it is a PNG, GIF, JPEG
   or WebP of at most WM_CID_INLINE_MAX bytes.  Returns 0 or -1. */
static int cid_data_url(const char *msg, const struct mime_part *p,
			struct buf *url)
{
	static const char *const types[] = {"png", "gif", "jpeg", "webp"};
	const char *t = NULL;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (mime_is_type(p, "image", types[i]))
			t = types[i];
	if (t == NULL || p->body_len > 2 * WM_CID_INLINE_MAX)
		return -1;
	struct buf raw;
	buf_init(&raw, WM_CID_INLINE_MAX);
	int rc = -1;
	if (part_bytes(msg, p, &raw) == 0 && raw.len > 0) {
		size_t n = 4 * ((raw.len + 2) / 3) + 1;
		char *b = xmalloc(n);
		if (base64_encode(raw.p, raw.len, b, n) == 0 &&
		    buf_append_str(url, "data:image/") == 0 &&
		    buf_append_str(url, t) == 0 &&
		    buf_append_str(url, ";base64,") == 0 &&
		    buf_append_str(url, b) == 0)
			rc = 0;
		free(b);
	}
	buf_deinit(&raw);
	return rc;
}

struct cids {
	struct htmlsan_cid c[WM_CID_MAX];
	size_t n;
	size_t bytes;
	const char *msg, *folder;
	uint32_t uid;
};

/* Adds leaf p (numbered spec) to the table when it has a Content-ID: a
   data: URL for a small image, else its download URL.  The first part
   with an id wins (as a cid: lookup in tree order would).  Called by
   mime_parts_walk(). */
static void cid_add(void *ctx, const struct mime_part *p, const char *spec)
{
	struct cids *t = ctx;
	if (p->id == NULL || t->n >= WM_CID_MAX)
		return;
	const char *id = p->id;
	size_t il = strlen(id);
	if (il >= 2 && id[0] == '<' && id[il - 1] == '>') {
		id++;
		il -= 2;
	}
	if (il == 0 || il > 998)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (t->c[i].id_len == il && memcmp(t->c[i].id, id, il) == 0)
			return;
	struct buf u;
	buf_init(&u, 2 * WM_CID_INLINE_MAX);
	if (t->bytes > WM_CID_TABLE_MAX || cid_data_url(t->msg, p, &u) < 0) {
		buf_reset(&u);
		char *fe = url_escape(t->folder);
		(void)!buf_printf(&u,
				  "/api/attachment?folder=%s&uid=%u&part=%s",
				  fe, (unsigned)t->uid, spec);
		free(fe);
	}
	t->c[t->n].id = xstrndup(id, il);
	t->c[t->n].id_len = il;
	t->c[t->n].url = xstrndup(u.p != NULL ? u.p : "", u.len);
	t->c[t->n].url_len = u.len;
	t->bytes += u.len;
	t->n++;
	buf_deinit(&u);
}

static void cids_free(struct cids *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free((char *)t->c[i].id);
		free((char *)t->c[i].url);
	}
	free(t);
}

/* The in-process fallback's callback (no pool: unit tests). */
static int cid_lookup(void *ctx, const char *cid, size_t len, struct buf *url)
{
	const struct cids *t = ctx;
	for (size_t i = 0; i < t->n; i++)
		if (t->c[i].id_len == len && memcmp(t->c[i].id, cid, len) == 0)
			return buf_append(url, t->c[i].url, t->c[i].url_len);
	return -1;
}

/* The HTML part sanitized into out (wrapped in <div class="youju-msg">).
   Returns as htmlsan_html() (HTMLSAN_FAILED: the helper crashed or timed
   out). */
static int sanitize(const char *msg, const struct mime_part *root,
		    const struct mime_part *html, const char *folder,
		    uint32_t uid, bool remote, const struct wm_charsets *cs,
		    struct buf *out, struct htmlsan_report *r)
{
	struct buf h;
	buf_init(&h, WM_MESSAGE_MAX);
	part_text_as(msg, html, cs, &h);
	struct cids *t = xcalloc(1, sizeof *t);
	t->msg = msg;
	t->folder = folder;
	t->uid = uid;
	mime_parts_walk(root, cid_add, t);
	struct htmlsan_opts opts = {.allow_remote = remote,
				    .wrap = true,
				    .cid_url = cid_lookup,
				    .cid_ctx = t};
	const char *in = h.p != NULL ? h.p : "";
	int rc = pool != NULL ? htmlsan_pool_html(pool, in, h.len, &opts, t->c,
						  t->n, out, r)
			      : htmlsan_html(in, h.len, &opts, out, r);
	if (rc == HTMLSAN_FAILED)
		log_warning("webmail: message %u: the HTML sanitizer failed "
			    "(crash or timeout): showing the text",
			    (unsigned)uid);
	cids_free(t);
	buf_deinit(&h);
	return rc;
}

/* The in-process fallback's callback for a caller's table. */
struct cid_table {
	const struct htmlsan_cid *c;
	size_t n;
};

static int cid_table_lookup(void *ctx, const char *cid, size_t len,
			    struct buf *url)
{
	const struct cid_table *t = ctx;
	for (size_t i = 0; i < t->n; i++)
		if (t->c[i].id_len == len && memcmp(t->c[i].id, cid, len) == 0)
			return buf_append(url, t->c[i].url, t->c[i].url_len);
	return -1;
}

int wm_html_clean(const char *in, size_t len, const struct htmlsan_cid *cids,
		  size_t ncids, struct buf *out, struct htmlsan_report *r)
{
	struct cid_table t = {.c = cids, .n = ncids};
	/* the editor's markup may carry a quoted message's small images as
	   data: URLs: the limit of a message's text, not of one read */
	struct htmlsan_opts opts = {
	    .cid_url = cid_table_lookup, .cid_ctx = &t, .in_max = WM_TEXT_MAX};
	int rc = pool != NULL ? htmlsan_pool_html(pool, in, len, &opts, cids,
						  ncids, out, r)
			      : htmlsan_html(in, len, &opts, out, r);
	if (rc == HTMLSAN_FAILED)
		log_warning("webmail: compose: the HTML sanitizer failed "
			    "(crash or timeout)");
	return rc;
}

static const char *rc_name(int rc)
{
	return rc == HTMLSAN_TOO_BIG	   ? "too_big"
	       : rc == HTMLSAN_TOO_COMPLEX ? "too_complex"
					   : "failed";
}

static char *html_url(const char *folder, uint32_t uid, bool remote,
		      const struct wm_charsets *cs)
{
	char *fe = url_escape(folder);
	struct buf u;
	buf_init(&u, 8192);
	(void)!buf_printf(&u, "/api/message/html?folder=%s&uid=%u%s", fe,
			  (unsigned)uid, remote ? "&remote=1" : "");
	free(fe);
	if (cs != NULL && cs->override != NULL) {
		char *ce = url_escape(cs->override);
		(void)!buf_printf(&u, "&charset=%s", ce);
		free(ce);
	}
	char *s = xstrdup(buf_cstr(&u));
	buf_deinit(&u);
	return s;
}

void wm_html_add(json_t *o, const char *msg, const struct mime_part *root,
		 const struct mime_part *html, const char *folder, uint32_t uid,
		 bool remote, const struct wm_charsets *cs)
{
	struct buf out;
	buf_init(&out, WM_HTML_OUT_MAX);
	struct htmlsan_report r = {0};
	int rc = sanitize(msg, root, html, folder, uid, remote, cs, &out, &r);
	json_t *js = rc == HTMLSAN_OK ? json_stringn(out.p, out.len) : NULL;
	if (js != NULL) {
		json_object_set_new(o, "html", js);
		json_object_set_new(o, "html_error", json_null());
		char *u = html_url(folder, uid, remote, cs);
		json_object_set_new(o, "html_url", json_string(u));
		free(u);
	} else {
		json_object_set_new(o, "html", json_null());
		json_object_set_new(o, "html_error", json_string(rc_name(rc)));
		json_object_set_new(o, "html_url", json_null());
	}
	json_object_set_new(o, "remote_blocked",
			    json_integer((json_int_t)r.remote_blocked));
	json_object_set_new(o, "html_truncated", json_boolean(r.truncated));
	buf_deinit(&out);
}

/* ---- GET /api/message/html ---- */

/* The first part in tree order that the message view takes as want
   (wm_body_kind()), as mail.c's walk picks the message's text and HTML
   parts. */
static const struct mime_part *first_body(const struct mime_part *p,
					  enum wm_body want)
{
	if (p->kind == MIME_MULTIPART) {
		for (const struct mime_part *c = p->children; c != NULL;
		     c = c->next) {
			const struct mime_part *f = first_body(c, want);
			if (f != NULL)
				return f;
		}
		return NULL;
	}
	if (p->kind != MIME_LEAF)
		return NULL;
	struct buf name;
	buf_init(&name, 1024);
	part_name(p, &name);
	enum wm_body kind = wm_body_kind(p, name.len > 0);
	buf_deinit(&name);
	return kind == want ? p : NULL;
}

/* The frame's policy: everything the sandbox and default-src 'none'
   forbid stays forbidden; popups only so that links (target=_blank) open
   in a new, unsandboxed tab. */
static void frame_csp(struct buf *csp, bool remote)
{
	(void)!buf_printf(
	    csp,
	    "sandbox allow-popups allow-popups-to-escape-sandbox; "
	    "default-src 'none'; img-src data:%s; "
	    "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
	    "frame-ancestors 'self'",
	    remote ? " https: http:" : "");
}

void wm_message_html(struct http_req *req)
{
	const char *folder = http_req_query(req, "folder");
	const char *rq = http_req_query(req, "remote");
	bool remote = rq != NULL && strcmp(rq, "1") == 0;
	struct wm_msg om;
	if (wm_msg_open(req, folder, http_req_query(req, "uid"), &om) < 0) {
		wm_msg_close(&om);
		return;
	}
	uint32_t uid = om.m->uid;
	const char *fname =
	    folder != NULL && folder[0] != '\0' ? folder : "INBOX";
	const char *msg = om.raw.p;
	const struct mime_part *root = om.root;
	/* the charset menu and "try local charset" as GET /api/message;
	   the sender's standing permission for remote images */
	const struct wm_caller *me = wm_caller(req);
	struct wm_charsets cs = {.override = wm_charset_override(req),
				 .local = me->prefs.local_charset};
	char sender[320];
	if (wm_remoteimg_sender(me->acct.maildir, msg + root->hdr_off,
				root->hdr_len, sender, sizeof sender))
		remote = true;
	const struct mime_part *html = first_body(root, WM_BODY_HTML);
	struct buf doc, body;
	buf_init(&doc, WM_HTML_OUT_MAX + 4096);
	buf_init(&body, WM_HTML_OUT_MAX);
	int rc = HTMLSAN_FAILED;
	struct htmlsan_report r = {0};
	if (html != NULL && unsanitized) {
		/* test instances only: the CSP and sandbox alone must hold */
		part_text_as(msg, html, &cs, &body);
		rc = HTMLSAN_OK;
	} else if (html != NULL) {
		rc = sanitize(msg, root, html, fname, uid, remote, &cs, &body,
			      &r);
	}
	if (rc != HTMLSAN_OK) {
		/* the text part, or the HTML as text, escaped */
		struct buf text;
		buf_init(&text, WM_MESSAGE_MAX);
		const struct mime_part *tp = first_body(root, WM_BODY_PLAIN);
		if (tp != NULL) {
			part_text_as(msg, tp, &cs, &text);
		} else if (html != NULL) {
			struct buf h;
			buf_init(&h, WM_MESSAGE_MAX);
			part_text_as(msg, html, &cs, &h);
			html_to_text(h.p != NULL ? h.p : "", h.len, &text);
			buf_deinit(&h);
		}
		buf_reset(&body);
		if (htmlsan_text(text.p != NULL ? text.p : "", text.len, NULL,
				 &body, NULL) != HTMLSAN_OK)
			buf_reset(&body);
		buf_deinit(&text);
	}
	(void)!buf_append_str(&doc, FRAME_HEAD);
	(void)!buf_append(&doc, body.p != NULL ? body.p : "", body.len);
	(void)!buf_append_str(&doc, FRAME_TAIL);
	struct buf csp;
	buf_init(&csp, 1024);
	frame_csp(&csp, remote);
	http_reply_header(req, "Content-Security-Policy", buf_cstr(&csp));
	/* framed by the app only (the default is DENY) */
	http_reply_header(req, "X-Frame-Options", "SAMEORIGIN");
	http_reply_header(req, "Referrer-Policy", "no-referrer");
	http_reply_header(req, "Cache-Control", "no-store");
	http_reply_raw(req, 200, "text/html; charset=utf-8",
		       doc.p != NULL ? doc.p : "", doc.len);
	buf_deinit(&csp);
	buf_deinit(&body);
	buf_deinit(&doc);
	wm_msg_close(&om);
}
