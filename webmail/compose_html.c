/*
 * HTML mail written in the app's editor (docs/webmail.md "Compose"): the
 * markup the browser submits is untrusted like any message's and goes
 * through lib/htmlsan (the reader's sanitizer, in its helper processes)
 * before it is sent or stored, so nobody sends script through us.  The
 * message gets a text/plain alternative made from the sanitized HTML, and
 * images pasted or dropped into the editor travel as parts of a
 * multipart/related with their Content-ID (RFC 2387, RFC 2392), never as
 * data: URLs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "compose.h"
#include "htmlsan.h"
#include "htmlsan_pool.h"
#include "msghtml.h"
#include "webjson.h"
#include "websession.h"
#include "wm.h"
#include "xalloc.h"

const char *wm_image_type(const char *d, size_t n)
{
	const unsigned char *u = (const unsigned char *)d;
	if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 3 && u[0] == 0xff && u[1] == 0xd8 && u[2] == 0xff)
		return "image/jpeg";
	if (n >= 6 &&
	    (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(d, "RIFF", 4) == 0 &&
	    memcmp(d + 8, "WEBP", 4) == 0)
		return "image/webp";
	return NULL;
}

/* The cid table of the inline images inl[0..n): "<id>@" WM_CID_DOMAIN
   kept as the same cid: URL. */
struct cidtab {
	struct htmlsan_cid c[WM_INLINE_MAX];
	char ids[WM_INLINE_MAX][UPLOAD_ID_LEN + sizeof WM_CID_DOMAIN + 2];
	char urls[WM_INLINE_MAX][UPLOAD_ID_LEN + sizeof WM_CID_DOMAIN + 6];
	size_t n;
};

static void cidtab_fill(struct cidtab *t, const struct wm_upload *inl, size_t n)
{
	t->n = 0;
	for (size_t i = 0; i < n && t->n < WM_INLINE_MAX; i++) {
		/* the ID ends the upload's path: tmp/webmail-upload.<id> */
		const char *id = strrchr(inl[i].path, '.');
		if (id == NULL || strlen(id + 1) != UPLOAD_ID_LEN)
			continue;
		size_t k = t->n++;
		snprintf(t->ids[k], sizeof t->ids[k], "%s@%s", id + 1,
			 WM_CID_DOMAIN);
		snprintf(t->urls[k], sizeof t->urls[k], "cid:%s@%s", id + 1,
			 WM_CID_DOMAIN);
		t->c[k] = (struct htmlsan_cid){.id = t->ids[k],
					       .id_len = strlen(t->ids[k]),
					       .url = t->urls[k],
					       .url_len = strlen(t->urls[k])};
	}
}

static int clean(struct http_req *req, const char *html, size_t len,
		 const struct cidtab *t, struct buf *out)
{
	struct htmlsan_report rep = {0};
	int rc = wm_html_clean(html, len, t->c, t->n, out, &rep);
	if (rc == HTMLSAN_OK)
		return 0;
	if (rc == HTMLSAN_TOO_BIG || rc == HTMLSAN_TOO_COMPLEX)
		webjson_error(req, 400, "invalid",
			      rc == HTMLSAN_TOO_BIG ? "html: too big"
						    : "html: too complex",
			      "html");
	else
		webjson_error(req, 500, "internal",
			      "the HTML could not be checked", "html");
	return -1;
}

#define DATA_SRC "src=\"data:image/"

/*
 * The data: images the sanitizer kept (an image pasted as a data: URL,
 * a quoted message's small images) become inline parts: h (sanitized)
 * copied into out with each such src replaced by the cid: of a new part
 * in inl[*n] (bytes in memory; its path "inline-data.<id>" names no
 * file), or by a cid that names nothing (the second pass drops it) when
 * it is not an image or there is no room.  Returns 0 or -1 (413 sent).
 */
static int data_images(struct http_req *req, const char *h, size_t hl,
		       struct wm_upload *inl, size_t *n, uint64_t *left,
		       struct buf *out)
{
	const char *p = h, *end = h + hl;
	for (;;) {
		const char *s =
		    memmem(p, (size_t)(end - p), DATA_SRC, strlen(DATA_SRC));
		if (s == NULL)
			break;
		const char *v = s + 5; /* after src=" */
		const char *q = memchr(v, '"', (size_t)(end - v));
		if (q == NULL)
			break;
		(void)!buf_append(out, p, (size_t)(v - p));
		const char *comma = memchr(v, ',', (size_t)(q - v));
		struct wm_upload *u = &inl[*n];
		bool ok = false;
		if (comma != NULL && *n < WM_INLINE_MAX &&
		    memmem(v, (size_t)(comma - v), ";base64", 7) != NULL) {
			memset(u, 0, sizeof *u);
			size_t bl = (size_t)(q - comma - 1);
			buf_init(&u->raw, bl);
			size_t dl = 0;
			char id[UPLOAD_ID_LEN + 1];
			unsigned char *bin = xmalloc(bl + 1);
			bool dec = base64_decode((struct str){comma + 1, bl},
						 true, bin, bl + 1, &dl) == 0 &&
				   buf_append(&u->raw, bin, dl) == 0;
			free(bin);
			if (dec && wm_image_type(u->raw.p, dl) != NULL &&
			    websession_random_hex(id, UPLOAD_ID_LEN / 2) == 0) {
				if (dl > *left) {
					buf_deinit(&u->raw);
					webjson_error(req, 413, "too_large",
						      "the images are larger "
						      "than the server "
						      "accepts",
						      "html");
					return -1;
				}
				*left -= dl;
				u->raw.len = dl;
				u->data = u->raw.p;
				u->len = dl;
				snprintf(u->name, sizeof u->name, "image");
				snprintf(u->type, sizeof u->type, "%s",
					 wm_image_type(u->data, u->len));
				snprintf(u->path, sizeof u->path,
					 "inline-data.%s", id);
				(void)!buf_printf(out, "cid:%s@%s", id,
						  WM_CID_DOMAIN);
				(*n)++;
				ok = true;
			} else
				buf_deinit(&u->raw);
		}
		if (!ok)
			(void)!buf_append_str(out, "cid:dropped");
		p = q;
	}
	return buf_append(out, p, (size_t)(end - p));
}

/* The value of attribute name (" name=\"") inside tag [t, e), or NULL;
 *len_r its length (still escaped, as the serializer wrote it). */
static const char *img_attr(const char *t, const char *e, const char *name,
			    size_t *len_r)
{
	size_t nl = strlen(name);
	for (const char *p = t; p + nl + 3 <= e; p++) {
		if (p[0] != ' ' || memcmp(p + 1, name, nl) != 0 ||
		    p[1 + nl] != '=' || p[2 + nl] != '"')
			continue;
		const char *v = p + 3 + nl;
		const char *q = memchr(v, '"', (size_t)(e - v));
		if (q == NULL)
			return NULL;
		*len_r = (size_t)(q - v);
		return v;
	}
	return NULL;
}

/*
 * An image the sanitizer left without a source (a remote image blocked,
 * an unknown cid:) would be sent as an empty <img data-youju-blocked>:
 * h (sanitized) is copied into out with each such element replaced by
 * its alt text.  The sanitizer's serializer writes every attribute as
 * name="value" with & < > " escaped, so a tag ends at the first '>' and
 * an escaped alt value is already valid text.  Returns how many were
 * replaced, or -1 (out full).
 */
int wm_html_drop_empty_images(const char *h, size_t hl, struct buf *out)
{
	const char *p = h, *end = h + hl;
	int dropped = 0;
	for (;;) {
		const char *s = memmem(p, (size_t)(end - p), "<img", 4);
		if (s == NULL)
			break;
		const char *gt = memchr(s, '>', (size_t)(end - s));
		if (gt == NULL)
			break;
		size_t al = 0, sl = 0;
		if (s + 4 < gt && s[4] != ' ') { /* not an img element */
			if (buf_append(out, p, (size_t)(s + 4 - p)) < 0)
				return -1;
			p = s + 4;
			continue;
		}
		if (buf_append(out, p, (size_t)(s - p)) < 0)
			return -1;
		if (img_attr(s, gt, "src", &sl) != NULL && sl > 0) {
			if (buf_append(out, s, (size_t)(gt + 1 - s)) < 0)
				return -1;
		} else {
			const char *alt = img_attr(s, gt, "alt", &al);
			if (alt != NULL && buf_append(out, alt, al) < 0)
				return -1;
			dropped++;
		}
		p = gt + 1;
	}
	return buf_append(out, p, (size_t)(end - p)) < 0 ? -1 : dropped;
}

int wm_compose_sanitize(struct http_req *req, const char *html, size_t len,
			struct wm_upload *inl, size_t *n, uint64_t *left,
			struct buf *out)
{
	struct cidtab *t = xcalloc(1, sizeof *t);
	struct buf first, again;
	buf_init(&first, out->max);
	buf_init(&again, out->max);
	int rc = -1;
	cidtab_fill(t, inl, *n);
	if (clean(req, html, len, t, &first) < 0)
		goto out;
	const char *h = first.p != NULL ? first.p : "";
	if (memmem(h, first.len, DATA_SRC, strlen(DATA_SRC)) != NULL) {
		if (data_images(req, h, first.len, inl, n, left, &again) < 0)
			goto out;
		/* the edited markup through the sanitizer once more: what
		   is sent is always its output */
		cidtab_fill(t, inl, *n);
		buf_reset(&first);
		if (clean(req, again.p != NULL ? again.p : "", again.len, t,
			  &first) < 0)
			goto out;
		h = first.p != NULL ? first.p : "";
	}
	/* no image without a source is sent (a blocked remote one, a
	   data: image that was not one): its alt text instead */
	buf_reset(&again);
	int dropped = wm_html_drop_empty_images(h, first.len, &again);
	if (dropped < 0) {
		webjson_error(req, 400, "invalid", "html: too big", "html");
		goto out;
	}
	if (dropped == 0) {
		rc = buf_append(out, h, first.len);
		goto out;
	}
	rc = clean(req, again.p != NULL ? again.p : "", again.len, t, out);
out:
	buf_deinit(&first);
	buf_deinit(&again);
	free(t);
	return rc;
}

/* ---- text/plain from sanitized HTML ---- */

struct plain {
	struct buf *out;
	unsigned quote;	 /* <blockquote> depth */
	unsigned list;	 /* <ul>/<ol> depth */
	unsigned pre;	 /* inside <pre> */
	bool bol;	 /* at the beginning of a line */
	bool space;	 /* a space is pending (collapsed white space) */
	char href[2048]; /* the link being written, "" none */
	size_t link_start;
};

static void plain_nl(struct plain *p)
{
	if (p->bol)
		return;
	(void)!buf_append_str(p->out, "\n");
	p->bol = true;
	p->space = false;
}

/* A line break even after an empty line (<br>). */
static void plain_br(struct plain *p)
{
	if (p->bol)
		for (unsigned i = 0; i < p->quote; i++)
			(void)!buf_append_str(p->out,
					      i + 1 < p->quote ? ">" : "> ");
	(void)!buf_append_str(p->out, "\n");
	p->bol = true;
	p->space = false;
}

static void plain_bytes(struct plain *p, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (p->bol) {
		for (unsigned i = 0; i < p->quote; i++)
			(void)!buf_append_str(p->out,
					      i + 1 < p->quote ? ">" : "> ");
		p->bol = false;
		p->space = false;
	} else if (p->space) {
		(void)!buf_append_char(p->out, ' ');
	}
	p->space = false;
	(void)!buf_append(p->out, s, n);
}

/* One character of text (entities decoded by the caller). */
static void plain_char(struct plain *p, const char *s, size_t n)
{
	if (p->pre == 0 && n == 1 && strchr(" \t\r\n\f", s[0]) != NULL) {
		if (!p->bol)
			p->space = true;
		return;
	}
	if (p->pre > 0 && n == 1 && s[0] == '\n') {
		plain_br(p);
		return;
	}
	plain_bytes(p, s, n);
}

/* The code point c as UTF-8 into u (5 bytes); its length. */
static size_t utf8_put(unsigned long c, char *u)
{
	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		c = 0xfffd;
	if (c < 0x80) {
		u[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		u[0] = (char)(0xe0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	u[0] = (char)(0xf0 | (c >> 18));
	u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	u[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* The entity at h[i] (h[i] == '&') decoded into u; returns the bytes it
   took (0: not an entity, the '&' is literal). */
static size_t entity(const char *h, size_t n, size_t i, char *u, size_t *ul)
{
	static const struct {
		const char *name;
		unsigned long c;
	} named[] = {{"amp;", '&'},	 {"lt;", '<'},	    {"gt;", '>'},
		     {"quot;", '"'},	 {"apos;", '\''},   {"nbsp;", 0xa0},
		     {"copy;", 0xa9},	 {"reg;", 0xae},    {"hellip;", 0x2026},
		     {"mdash;", 0x2014}, {"ndash;", 0x2013}};
	const char *s = h + i + 1;
	size_t left = n - i - 1;
	for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
		size_t l = strlen(named[k].name);
		if (left >= l && memcmp(s, named[k].name, l) == 0) {
			*ul =
			    utf8_put(named[k].c == 0xa0 ? ' ' : named[k].c, u);
			return l + 1;
		}
	}
	if (left >= 3 && s[0] == '#') {
		bool hex = s[1] == 'x' || s[1] == 'X';
		size_t j = hex ? 2 : 1;
		unsigned long c = 0;
		size_t digits = 0;
		for (; j < left && digits < 8; j++, digits++) {
			int v = s[j] >= '0' && s[j] <= '9' ? s[j] - '0'
				: hex && s[j] >= 'a' && s[j] <= 'f'
				    ? s[j] - 'a' + 10
				: hex && s[j] >= 'A' && s[j] <= 'F'
				    ? s[j] - 'A' + 10
				    : -1;
			if (v < 0)
				break;
			c = c * (hex ? 16 : 10) + (unsigned long)v;
		}
		if (digits > 0 && j < left && s[j] == ';') {
			*ul = utf8_put(c == 0xa0 ? ' ' : c, u);
			return j + 2;
		}
	}
	return 0;
}

/* The value of attribute name in the tag text t (n bytes: the sanitizer
   writes name="value" with the value escaped) into out, decoded. */
static bool tag_attr(const char *t, size_t n, const char *name, char *out,
		     size_t outsz)
{
	char pat[40];
	snprintf(pat, sizeof pat, " %s=\"", name);
	size_t pl = strlen(pat);
	for (size_t i = 0; i + pl <= n; i++) {
		if (strncasecmp(t + i, pat, pl) != 0)
			continue;
		size_t k = 0;
		for (size_t j = i + pl; j < n && t[j] != '"';) {
			char u[5];
			size_t ul = 1, took = 0;
			if (t[j] == '&')
				took = entity(t, n, j, u, &ul);
			if (took == 0) {
				u[0] = t[j];
				took = 1;
			}
			if (k + ul >= outsz)
				return false;
			memcpy(out + k, u, ul);
			k += ul;
			j += took;
		}
		out[k] = '\0';
		return true;
	}
	return false;
}

static bool name_is(const char *s, size_t n, const char *const *names)
{
	for (size_t i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
			return true;
	return false;
}

/* One tag t[0..n) ("<...>"). */
static void plain_tag(struct plain *p, const char *t, size_t n)
{
	static const char *const blocks[] = {
	    "div",    "h1",	"h2",	   "h3",      "h4",	 "h5",
	    "h6",     "tr",	"table",   "ul",      "ol",	 "dl",
	    "dt",     "dd",	"address", "center",  "section", "article",
	    "header", "footer", "figure",  "caption", NULL};
	bool end = n > 1 && t[1] == '/';
	const char *nm = t + (end ? 2 : 1);
	size_t nl = 0;
	while (nm + nl < t + n && ((nm[nl] >= 'a' && nm[nl] <= 'z') ||
				   (nm[nl] >= 'A' && nm[nl] <= 'Z') ||
				   (nm[nl] >= '0' && nm[nl] <= '9')))
		nl++;
	if (nl == 2 && strncasecmp(nm, "br", 2) == 0) {
		plain_br(p);
	} else if (nl == 2 && strncasecmp(nm, "hr", 2) == 0) {
		plain_nl(p);
		plain_bytes(p, "----------", 10);
		plain_nl(p);
	} else if (nl == 2 && strncasecmp(nm, "li", 2) == 0) {
		plain_nl(p);
		if (!end) {
			for (unsigned i = 1; i < p->list; i++)
				plain_bytes(p, "  ", 2);
			plain_bytes(p, "* ", 2);
		}
	} else if (nl == 10 && strncasecmp(nm, "blockquote", 10) == 0) {
		plain_nl(p);
		if (end && p->quote > 0)
			p->quote--;
		else if (!end && p->quote < 20)
			p->quote++;
	} else if (nl == 3 && strncasecmp(nm, "pre", 3) == 0) {
		plain_nl(p);
		if (end && p->pre > 0)
			p->pre--;
		else if (!end)
			p->pre++;
	} else if (nl == 1 && (nm[0] == 'a' || nm[0] == 'A')) {
		if (!end) {
			if (!tag_attr(t, n, "href", p->href, sizeof p->href))
				p->href[0] = '\0';
			p->link_start = p->out->len;
		} else if (p->href[0] != '\0') {
			/* the address after the text, unless it is the text */
			const char *href = p->href;
			if (strncmp(href, "mailto:", 7) == 0)
				href += 7;
			size_t hl = strlen(href);
			bool same =
			    p->out->len - p->link_start >= hl &&
			    memcmp(p->out->p + p->out->len - hl, href, hl) == 0;
			if (!same) {
				plain_bytes(p, " <", 2);
				plain_bytes(p, p->href, strlen(p->href));
				plain_bytes(p, ">", 1);
			}
			p->href[0] = '\0';
		}
	} else if (nl == 3 && strncasecmp(nm, "img", 3) == 0) {
		char alt[512];
		if (tag_attr(t, n, "alt", alt, sizeof alt) && alt[0] != '\0') {
			plain_bytes(p, "[", 1);
			plain_bytes(p, alt, strlen(alt));
			plain_bytes(p, "]", 1);
		}
	} else if ((nl == 2 && (strncasecmp(nm, "ul", 2) == 0 ||
				strncasecmp(nm, "ol", 2) == 0))) {
		plain_nl(p);
		if (end && p->list > 0)
			p->list--;
		else if (!end && p->list < 20)
			p->list++;
	} else if (nl == 2 && (strncasecmp(nm, "td", 2) == 0 ||
			       strncasecmp(nm, "th", 2) == 0)) {
		if (!end && !p->bol)
			p->space = true;
	} else if (nl == 1 && (nm[0] == 'p' || nm[0] == 'P')) {
		plain_nl(p);
		if (end)
			plain_br(p); /* a paragraph ends with an empty line */
	} else if (name_is(nm, nl, blocks)) {
		plain_nl(p);
	}
}

void wm_html_plain(const char *h, size_t n, struct buf *out)
{
	struct plain p = {.out = out, .bol = true};
	for (size_t i = 0; i < n;) {
		if (h[i] == '<') {
			const char *e = memchr(h + i, '>', n - i);
			if (e == NULL)
				break;
			size_t tl = (size_t)(e - (h + i)) + 1;
			/* <style> rules are not text */
			if (tl >= 6 && strncasecmp(h + i, "<style", 6) == 0) {
				const char *s = h + i + tl;
				size_t left = n - i - tl;
				size_t k = 0;
				while (k + 8 <= left &&
				       strncasecmp(s + k, "</style>", 8) != 0)
					k++;
				i += tl + (k + 8 <= left ? k + 8 : left);
				continue;
			}
			plain_tag(&p, h + i, tl);
			i += tl;
			continue;
		}
		char u[5];
		size_t ul = 0, took = 0;
		if (h[i] == '&')
			took = entity(h, n, i, u, &ul);
		if (took > 0) {
			if (ul == 1 && u[0] == ' ')
				plain_bytes(&p, " ", 1); /* &nbsp; is kept */
			else
				plain_char(&p, u, ul);
			i += took;
			continue;
		}
		size_t cl = 1;
		unsigned char c = (unsigned char)h[i];
		if (c >= 0xc0)
			cl = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (cl > n - i)
			cl = n - i;
		if (cl == 2 && c == 0xc2 && (unsigned char)h[i + 1] == 0xa0)
			plain_bytes(&p, " ", 1); /* U+00A0: a kept space */
		else
			plain_char(&p, h + i, cl);
		i += cl;
	}
	/* no trailing blank lines */
	while (out->len > 0 &&
	       (out->p[out->len - 1] == '\n' || out->p[out->len - 1] == ' '))
		out->len--;
	if (out->p != NULL)
		out->p[out->len] = '\0';
	(void)!buf_append_char(out, '\n');
}

/* ---- the body ---- */

static int text_part(struct buf *m, const char *cs, const char *text,
		     size_t tlen)
{
	int r = buf_printf(m,
			   "Content-Type: text/plain; charset=%s\r\n"
			   "Content-Transfer-Encoding: "
			   "quoted-printable\r\n\r\n",
			   cs);
	r |= wm_qp_body(m, text, tlen);
	return r != 0 ? -1 : 0;
}

static int alternative(struct buf *m, const char *rnd, const char *cs,
		       const char *text, size_t tlen, const char *html,
		       size_t hlen)
{
	int r = buf_printf(m,
			   "Content-Type: multipart/alternative;\r\n"
			   " boundary=\"=_youju_a_%.24s\"\r\n\r\n"
			   "--=_youju_a_%.24s\r\n",
			   rnd, rnd);
	r |= text_part(m, cs, text, tlen);
	r |= buf_printf(m,
			"--=_youju_a_%.24s\r\n"
			"Content-Type: text/html; charset=UTF-8\r\n"
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
			rnd);
	r |= wm_qp_body(m, html, hlen);
	r |= buf_printf(m, "--=_youju_a_%.24s--\r\n", rnd);
	return r != 0 ? -1 : 0;
}

int wm_compose_body(struct buf *m, const char *rnd, const char *text,
		    size_t tlen, const char *html, size_t hlen,
		    const struct wm_upload *inl, size_t n)
{
	return wm_compose_body_cs(m, rnd, "UTF-8", text, tlen, html, hlen, inl,
				  n);
}

int wm_compose_body_cs(struct buf *m, const char *rnd, const char *cs,
		       const char *text, size_t tlen, const char *html,
		       size_t hlen, const struct wm_upload *inl, size_t n)
{
	if (html == NULL)
		return text_part(m, cs, text, tlen);
	if (n == 0)
		return alternative(m, rnd, cs, text, tlen, html, hlen);
	int r = buf_printf(m,
			   "Content-Type: multipart/related;\r\n"
			   " type=\"multipart/alternative\";\r\n"
			   " boundary=\"=_youju_r_%.24s\"\r\n\r\n"
			   "--=_youju_r_%.24s\r\n",
			   rnd, rnd);
	r |= alternative(m, rnd, cs, text, tlen, html, hlen);
	for (size_t i = 0; i < n; i++) {
		const char *id = strrchr(inl[i].path, '.');
		const char *type = wm_image_type(inl[i].data, inl[i].len);
		if (id == NULL || type == NULL)
			return -1;
		/* the name is the editor's ("image.png"): ASCII only */
		char name[64] = "image";
		size_t k = 0;
		for (const char *c = inl[i].name; *c && k < sizeof name - 1;
		     c++)
			if ((*c >= 'a' && *c <= 'z') ||
			    (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9') || strchr("-_.", *c))
				name[k++] = *c;
		if (k > 0)
			name[k] = '\0';
		r |= buf_printf(m,
				"--=_youju_r_%.24s\r\n"
				"Content-Type: %s; name=\"%s\"\r\n"
				"Content-ID: <%s@%s>\r\n"
				"Content-Disposition: inline; "
				"filename=\"%s\"\r\n"
				"Content-Transfer-Encoding: base64\r\n\r\n",
				rnd, type, name, id + 1, WM_CID_DOMAIN, name);
		r |= wm_b64_body(m, inl[i].data, inl[i].len);
	}
	r |= buf_printf(m, "--=_youju_r_%.24s--\r\n", rnd);
	return r != 0 ? -1 : 0;
}
