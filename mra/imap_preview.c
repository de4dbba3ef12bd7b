/*
 * RFC 8970 previews: the first text of a message as one short line.  Only
 * the start of the chosen part is decoded (IMAP_PREVIEW_SCAN bytes of its
 * encoded body), so a preview costs the same for a 10 MB message as for a
 * small one once the file is read.
 */
#include "imap_preview.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "imap_render.h"
#include "mime.h"

/* encoded bytes of the part looked at: enough for 200 characters of
   plain text under quoting, or of HTML under its markup */
#define IMAP_PREVIEW_SCAN_TEXT (16 * 1024)
#define IMAP_PREVIEW_SCAN_HTML (64 * 1024)

static bool imap_preview_attachment(const struct mime_part *p)
{
	return p->disposition != NULL &&
	       strcasecmp(p->disposition, "attachment") == 0;
}

/* The first leaf of type text/subtype that is not an attachment. */
static const struct mime_part *imap_preview_find(const struct mime_part *p,
						 const char *subtype,
						 unsigned depth)
{
	if (p == NULL || depth > 32)
		return NULL;
	if (p->kind == MIME_LEAF)
		return mime_is_type(p, "text", subtype) &&
			       !imap_preview_attachment(p)
			   ? p
			   : NULL;
	if (p->kind == MIME_MESSAGE)
		return NULL; /* an attached message is not this one's text */
	for (const struct mime_part *c = p->children; c != NULL; c = c->next) {
		const struct mime_part *r =
		    imap_preview_find(c, subtype, depth + 1);
		if (r != NULL)
			return r;
	}
	return NULL;
}

/* The preview being built: white space runs as one space, at most
   IMAP_PREVIEW_CHARS characters. */
struct imap_preview_out {
	struct buf *out;
	size_t chars;
	bool space; /* a space is owed before the next character */
	bool full;
	int err;
};

static void imap_preview_put(struct imap_preview_out *o, const char *p,
			     size_t n)
{
	for (size_t k = 0; k < n && !o->full; k++) {
		unsigned char ch = (unsigned char)p[k];
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
		    ch < 0x20 || ch == 0x7f) {
			o->space = o->chars > 0;
			continue;
		}
		bool lead = (ch & 0xc0) != 0x80;
		if (lead && o->chars == IMAP_PREVIEW_CHARS) {
			o->full = true;
			break;
		}
		if (lead && o->space) {
			/* never a space as the last character */
			if (o->chars + 2 > IMAP_PREVIEW_CHARS) {
				o->full = true;
				break;
			}
			if (buf_append(o->out, " ", 1) < 0)
				o->err = -1;
			o->space = false;
			o->chars++;
		}
		if (buf_append(o->out, p + k, 1) < 0)
			o->err = -1;
		if (lead)
			o->chars++;
	}
}

/* Plain text without its quoted lines ("> ..."), which RFC 8970 §3.1
   suggests leaving out. */
static void imap_preview_plain(struct imap_preview_out *o, const char *p,
			       size_t n)
{
	size_t k = 0;
	while (k < n && !o->full) {
		const char *nl = memchr(p + k, '\n', n - k);
		size_t e = nl != NULL ? (size_t)(nl - p) + 1 : n;
		size_t s = k;
		while (s < e && (p[s] == ' ' || p[s] == '\t'))
			s++;
		if (!(s < e && p[s] == '>'))
			imap_preview_put(o, p + k, e - k);
		k = e;
	}
}

static const struct {
	const char *name;
	const char *text;
} imap_preview_entities[] = {
    {"amp", "&"},   {"lt", "<"},   {"gt", ">"},
    {"quot", "\""}, {"apos", "'"}, {"nbsp", " "},
};

/* Elements whose content is not text. */
static const struct {
	const char *open, *close;
} imap_preview_blocks[] = {
    {"style", "</style"},
    {"script", "</script"},
    {"head", "</head"},
    {"title", "</title"},
};

/* Is the tag t[0..n) ("b", "/span class=x") an inline element? */
static bool imap_preview_inline(const char *t, size_t n)
{
	static const char *const inl[] = {
	    "a", "abbr",  "b",	  "big",    "code", "em",  "font",
	    "i", "small", "span", "strong", "sub",  "sup", "u"};
	if (n > 0 && t[0] == '/') {
		t++;
		n--;
	}
	size_t l = 0;
	while (l < n && t[l] != ' ' && t[l] != '/' && t[l] != '\t' &&
	       t[l] != '\r' && t[l] != '\n')
		l++;
	for (size_t k = 0; k < sizeof inl / sizeof *inl; k++)
		if (strlen(inl[k]) == l && strncasecmp(t, inl[k], l) == 0)
			return true;
	return false;
}

/* Appends code point cp as UTF-8 to u (room for 4); returns the length. */
static size_t imap_preview_utf8(unsigned long cp, char *u)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (char)(0xf0 | cp >> 18);
	u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The entity name[0..nl) ("amp", "#233", "#xe9") as UTF-8 into u (room
   for 4); 0 when unknown. */
static size_t imap_preview_entity(const char *name, size_t nl, char *u)
{
	if (nl > 1 && name[0] == '#') {
		bool hex = name[1] == 'x' || name[1] == 'X';
		unsigned long cp = 0;
		for (size_t j = hex ? 2 : 1; j < nl; j++) {
			char ch = name[j];
			int d = -1;
			if (ch >= '0' && ch <= '9')
				d = ch - '0';
			else if (hex && ch >= 'a' && ch <= 'f')
				d = ch - 'a' + 10;
			else if (hex && ch >= 'A' && ch <= 'F')
				d = ch - 'A' + 10;
			if (d < 0 || cp > 0x10ffff)
				return 0;
			cp = cp * (hex ? 16 : 10) + (unsigned long)d;
		}
		return imap_preview_utf8(cp, u);
	}
	for (size_t e = 0;
	     e < sizeof imap_preview_entities / sizeof *imap_preview_entities;
	     e++) {
		const char *en = imap_preview_entities[e].name;
		if (strlen(en) == nl && strncasecmp(name, en, nl) == 0) {
			size_t ul = strlen(imap_preview_entities[e].text);
			memcpy(u, imap_preview_entities[e].text, ul);
			return ul;
		}
	}
	return 0;
}

/* HTML: the text outside tags, comments and the elements above, with
   the entities decoded. */
static void imap_preview_html(struct imap_preview_out *o, const char *p,
			      size_t n)
{
	size_t k = 0;
	while (k < n && !o->full) {
		if (p[k] == '<') {
			const char *skip_to = NULL;
			if (n - k >= 4 && memcmp(p + k, "<!--", 4) == 0)
				skip_to = "-->";
			for (size_t b = 0; b < sizeof imap_preview_blocks /
						   sizeof *imap_preview_blocks;
			     b++) {
				size_t bl = strlen(imap_preview_blocks[b].open);
				if (n - k > bl + 1 &&
				    strncasecmp(p + k + 1,
						imap_preview_blocks[b].open,
						bl) == 0 &&
				    (p[k + 1 + bl] == '>' ||
				     p[k + 1 + bl] == ' '))
					skip_to = imap_preview_blocks[b].close;
			}
			if (skip_to != NULL) {
				/* closing tags in lower case, the usual
				   spelling; others hide the rest */
				const char *e =
				    memmem(p + k + 1, n - k - 1, skip_to,
					   strlen(skip_to));
				if (e == NULL)
					return;
				k = (size_t)(e - p);
			}
			const char *gt = memchr(p + k, '>', n - k);
			if (gt == NULL)
				return;
			/* block tags separate words, inline ones do not */
			if (!imap_preview_inline(p + k + 1,
						 (size_t)(gt - p) - k - 1))
				imap_preview_put(o, " ", 1);
			k = (size_t)(gt - p) + 1;
			continue;
		}
		if (p[k] == '&') {
			size_t lim = n - k < 12 ? n - k : 12;
			const char *semi = memchr(p + k, ';', lim);
			char u[8];
			size_t ul =
			    semi != NULL
				? imap_preview_entity(
				      p + k + 1, (size_t)(semi - p) - k - 1, u)
				: 0;
			if (ul > 0) {
				imap_preview_put(o, u, ul);
				k = (size_t)(semi - p) + 1;
				continue;
			}
		}
		imap_preview_put(o, p + k, 1);
		k++;
	}
}

int imap_preview_make(const char *msg, size_t len, struct buf *out)
{
	struct mime_part *root = mime_parse(msg, len);
	if (root == NULL)
		return 0;
	const struct mime_part *p = imap_preview_find(root, "plain", 0);
	bool html = false;
	if (p == NULL) {
		p = imap_preview_find(root, "html", 0);
		html = p != NULL;
	}
	int r = 0;
	if (p != NULL) {
		size_t scan =
		    html ? IMAP_PREVIEW_SCAN_HTML : IMAP_PREVIEW_SCAN_TEXT;
		size_t n = p->body_len < scan ? p->body_len : scan;
		struct buf dec, txt;
		buf_init(&dec, scan + 16);
		buf_init(&txt, 4 * scan + 64);
		const char *charset =
		    mime_param_get(p->params, p->nparams, "charset");
		if (mime_decode_cte(p->encoding, msg + p->body_off, n, &dec) ==
			0 &&
		    mime_to_utf8(charset, dec.p ? dec.p : "", dec.len, &txt) ==
			0) {
			struct imap_preview_out o = {.out = out};
			if (html)
				imap_preview_html(&o, txt.p ? txt.p : "",
						  txt.len);
			else
				imap_preview_plain(&o, txt.p ? txt.p : "",
						   txt.len);
			r = o.err;
		}
		buf_deinit(&dec);
		buf_deinit(&txt);
	}
	mime_free(&root);
	return r;
}

int imap_preview_item(struct buf *out, const char *text, size_t len)
{
	int r = buf_printf(out, "%sPREVIEW ", out->len ? " " : "");
	if (r == 0 && text == NULL)
		r = buf_printf(out, "NIL");
	else if (r == 0)
		r = imap_render_nstring(out, text, len, false);
	return r;
}

int imap_preview_fetch(struct buf *out, const char *msg, size_t len)
{
	struct buf pv;
	buf_init(&pv, 4 * IMAP_PREVIEW_CHARS + 8);
	int r = imap_preview_make(msg, len, &pv);
	if (r == 0)
		r = imap_preview_item(out, pv.p ? pv.p : "", pv.len);
	buf_deinit(&pv);
	return r;
}
