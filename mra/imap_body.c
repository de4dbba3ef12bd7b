/*
 * BODYSTRUCTURE / BODY output and section part lookup; see imap_body.h.
 * The output follows RFC 3501 §9 "body" exactly and Dovecot 2.3's choices
 * where the RFC leaves room: types and parameters as written in the
 * message, "text" "plain" and ("charset" "us-ascii") when absent, "7bit"
 * for a missing Content-Transfer-Encoding, a multipart without body parts
 * shown with one empty text/plain part (the grammar needs one).
 */
#include "imap_body.h"

#include <string.h>
#include <strings.h>

#include <stdio.h>

#include "imap_render.h"

/* Sticky output (see imap_render.c): after the first failed append
   nothing more is written and the caller gets -1. */
struct ib {
	struct buf *b;
	bool full;
};

static void ib_write(struct ib *c, const char *s)
{
	if (!c->full && buf_append(c->b, s, strlen(s)) < 0)
		c->full = true;
}

static void ib_num(struct ib *c, size_t n)
{
	char tmp[32];
	int k = snprintf(tmp, sizeof tmp, " %zu", n);
	if (k < 0 || (size_t)k >= sizeof tmp)
		c->full = true;
	else
		ib_write(c, tmp);
}

/* a string, or NIL for NULL */
static void ib_nstring(struct ib *c, const char *s)
{
	if (s == NULL)
		ib_write(c, "NIL");
	else if (!c->full && imap_render_nstring(c->b, s, strlen(s), false) < 0)
		c->full = true;
}

static void ib_params(struct ib *c, const struct mime_param *v, size_t n,
		      bool add_charset)
{
	if (n == 0 && !add_charset) {
		ib_write(c, "NIL");
		return;
	}
	ib_write(c, "(");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			ib_write(c, " ");
		ib_nstring(c, v[i].name);
		ib_write(c, " ");
		ib_nstring(c, v[i].value);
	}
	if (add_charset)
		ib_write(c, n > 0 ? " \"charset\" \"us-ascii\""
				  : "\"charset\" \"us-ascii\"");
	ib_write(c, ")");
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static void ib_ext(struct ib *c, const struct mime_part *p)
{
	ib_write(c, " ");
	if (p->disposition == NULL) {
		ib_write(c, "NIL");
	} else {
		ib_write(c, "(");
		ib_nstring(c, p->disposition);
		ib_write(c, " ");
		ib_params(c, p->dparams, p->ndparams, false);
		ib_write(c, ")");
	}
	ib_write(c, " ");
	if (p->nlangs == 0) {
		ib_write(c, "NIL");
	} else {
		ib_write(c, "(");
		for (size_t i = 0; i < p->nlangs; i++) {
			if (i > 0)
				ib_write(c, " ");
			ib_nstring(c, p->langs[i]);
		}
		ib_write(c, ")");
	}
	ib_write(c, " ");
	ib_nstring(c, p->location);
}

static void ib_part(struct ib *c, const char *msg, const struct mime_part *p,
		    bool ext)
{
	ib_write(c, "(");
	if (p->kind == MIME_MULTIPART) {
		for (const struct mime_part *k = p->children; k; k = k->next)
			ib_part(c, msg, k, ext);
		if (p->children == NULL)
			ib_write(c, ext ? "(\"text\" \"plain\" (\"charset\" "
					  "\"us-ascii\") NIL NIL \"7bit\" 0 0 "
					  "NIL NIL NIL NIL)"
					: "(\"text\" \"plain\" (\"charset\" "
					  "\"us-ascii\") NIL NIL \"7bit\" 0 "
					  "0)");
		ib_write(c, " ");
		ib_nstring(c, p->subtype);
		if (ext) {
			ib_write(c, " ");
			ib_params(c, p->params, p->nparams, false);
			ib_ext(c, p);
		}
		ib_write(c, ")");
		return;
	}
	bool text = mime_is_type(p, "text", NULL);
	if (p->type != NULL) {
		ib_nstring(c, p->type);
		ib_write(c, " ");
		ib_nstring(c, p->subtype);
	} else {
		ib_write(c, p->digest_child ? "\"message\" \"rfc822\""
					    : "\"text\" \"plain\"");
	}
	ib_write(c, " ");
	ib_params(c, p->params, p->nparams,
		  text &&
		      mime_param_get(p->params, p->nparams, "charset") == NULL);
	ib_write(c, " ");
	ib_nstring(c, p->id);
	ib_write(c, " ");
	ib_nstring(c, p->description);
	ib_write(c, " ");
	ib_nstring(c, p->encoding ? p->encoding : "7bit");
	ib_num(c, p->body_len);
	if (p->kind == MIME_MESSAGE && p->children != NULL) {
		const struct mime_part *e = p->children;
		ib_write(c, " ");
		if (!c->full && imap_render_envelope(c->b, msg + e->hdr_off,
						     e->hdr_len) < 0)
			c->full = true;
		ib_write(c, " ");
		ib_part(c, msg, e, ext);
		ib_num(c, p->lines);
	} else if (text) {
		ib_num(c, p->lines);
	}
	if (ext) {
		ib_write(c, " ");
		ib_nstring(c, p->md5);
		ib_ext(c, p);
	}
	ib_write(c, ")");
}

int imap_body_structure(struct buf *out, const char *msg,
			const struct mime_part *root, bool ext)
{
	struct ib c = {out, false};
	ib_part(&c, msg, root, ext);
	return c.full ? -1 : 0;
}

const struct mime_part *imap_body_find(const struct mime_part *root,
				       const char *nums)
{
	/* cont: where the next number counts; a multipart counts its
	   children, anything else has one part, itself, once */
	const struct mime_part *cont = root, *sel = NULL;
	const char *s = nums;
	while (*s != '\0') {
		unsigned long n = 0;
		while (*s >= '0' && *s <= '9') {
			if (n > 100000)
				return NULL;
			n = n * 10 + (unsigned long)(*s - '0');
			s++;
		}
		if (*s == '.')
			s++;
		if (cont == NULL || n == 0)
			return NULL;
		if (cont->kind == MIME_MULTIPART) {
			sel = cont->children;
			while (sel != NULL && --n > 0)
				sel = sel->next;
			if (sel == NULL)
				return NULL;
			cont = sel->kind == MIME_MESSAGE ? sel->children : sel;
		} else {
			if (n != 1)
				return NULL;
			sel = cont;
			cont = sel->kind == MIME_MESSAGE ? sel->children : NULL;
		}
	}
	return sel;
}
