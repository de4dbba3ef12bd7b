/*
 * Search's text matcher; see mailmatch.h.  The decoded and folded text
 * parts are made once per message and kept in the mailmatch_msg, so a
 * search with several body keys (OR BODY a BODY b) decodes once.
 */
#include "mailmatch.h"

#include <string.h>

#include "addrlist.h"
#include "maildir_index.h"
#include "mime.h"
#include "str.h"

void mailmatch_msg_init(struct mailmatch_msg *m, const char *text, size_t len,
			const struct maildir_index_entry *cached)
{
	memset(m, 0, sizeof *m);
	m->text = text;
	m->len = len;
	m->cached = cached;
	buf_init(&m->body, MAILMATCH_BODY_MAX);
}

void mailmatch_msg_deinit(struct mailmatch_msg *m)
{
	mime_free(&m->root);
	buf_deinit(&m->body);
	m->have_body = false;
}

const struct mime_part *mailmatch_root(struct mailmatch_msg *m)
{
	if (m->root == NULL)
		m->root = mime_parse(m->text ? m->text : "", m->len);
	return m->root;
}

int mailmatch_needle(const char *s, size_t len, struct buf *out)
{
	return mime_fold(s, len, out);
}

static bool has(const char *hay, size_t len, const char *n, size_t nlen)
{
	if (nlen == 0)
		return true;
	return len >= nlen && memmem(hay, len, n, nlen) != NULL;
}

static bool addr_has(const char *v, size_t len, const char *n, size_t nlen)
{
	if (nlen == 0)
		return true; /* HEADER x "": the field exists */
	struct addrlist l;
	struct buf norm, fold;
	addrlist_parse(v, len, &l);
	buf_init(&norm, 2 * len + 64);
	buf_init(&fold, 8 * len + 256);
	bool hit = addrlist_format(&l, &norm) == 0 &&
		   mime_fold(norm.p ? norm.p : "", norm.len, &fold) == 0 &&
		   has(fold.p ? fold.p : "", fold.len, n, nlen);
	buf_deinit(&fold);
	buf_deinit(&norm);
	addrlist_free(&l);
	return hit;
}

bool mailmatch_header(struct mailmatch_msg *m, const char *name, bool addr,
		      const char *n, size_t nlen)
{
	int cf = m->cached != NULL && name != NULL
		     ? maildir_index_header_field(name)
		     : -1;
	if (cf >= 0) {
		/* each occurrence was decoded and folded when cached */
		struct str fv = m->cached->field[cf], seg;
		while (maildir_index_seg_next(&fv, &seg)) {
			if (addr ? addr_has(seg.p, seg.len, n, nlen)
				 : has(seg.p, seg.len, n, nlen))
				return true;
		}
		return false;
	}
	if (m->text == NULL)
		return false;
	const struct mime_part *root = mailmatch_root(m);
	const char *h = m->text + root->hdr_off;
	size_t pos = 0;
	struct str fn, fv;
	struct buf dec, fold;
	bool hit = false;
	buf_init(&dec, 1 << 20);
	buf_init(&fold, 4 << 20);
	while (!hit && mime_header_next(h, root->hdr_len, &pos, &fn, &fv)) {
		if (name != NULL && !str_case_eq_cstr(fn, name))
			continue;
		buf_reset(&dec);
		buf_reset(&fold);
		if (mime_header_decode(fv, &dec) < 0)
			continue;
		if (addr) {
			hit = addr_has(dec.p ? dec.p : "", dec.len, n, nlen);
			continue;
		}
		if (mime_fold(dec.p ? dec.p : "", dec.len, &fold) < 0)
			continue;
		hit = has(fold.p, fold.len, n, nlen);
	}
	buf_deinit(&dec);
	buf_deinit(&fold);
	return hit;
}

static void body_part(struct mailmatch_msg *m, const struct mime_part *p,
		      unsigned depth)
{
	for (const struct mime_part *c = p->children; c && depth < 64;
	     c = c->next)
		body_part(m, c, depth + 1);
	if (p->kind != MIME_LEAF || !mime_is_type(p, "text", NULL))
		return;
	/* Dovecot searches text parts only; attachments are skipped */
	const char *t = m->text;
	struct buf raw, utf;
	buf_init(&raw, p->body_len + 1);
	buf_init(&utf, p->body_len * 4 + 16);
	if (mime_decode_cte(p->encoding, t + p->body_off, p->body_len, &raw) ==
		0 &&
	    mime_to_utf8(mime_param_get(p->params, p->nparams, "charset"),
			 raw.p ? raw.p : "", raw.len, &utf) == 0) {
		/* past the cap the text is searched as far as it goes */
		if (m->body.len == 0 || buf_append_char(&m->body, '\n') == 0)
			(void)mime_fold(utf.p ? utf.p : "", utf.len, &m->body);
	}
	buf_deinit(&raw);
	buf_deinit(&utf);
}

bool mailmatch_body(struct mailmatch_msg *m, const char *n, size_t nlen)
{
	if (m->text == NULL)
		return false;
	if (!m->have_body) {
		body_part(m, mailmatch_root(m), 0);
		m->have_body = true;
	}
	return has(m->body.p ? m->body.p : "", m->body.len, n, nlen);
}
