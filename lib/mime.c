/*
 * MIME structure parser and decoders; see mime.h.  The parser is one pass
 * over lines with a stack of the open multipart boundaries (RFC 2046
 * §5.1.1): a line "--boundary" or "--boundary--" of any open multipart
 * ends the current part, so a missing close delimiter of an inner
 * multipart is repaired by the outer one, and end of input ends them all.
 * The line end before a boundary belongs to the boundary, not to the part
 * (§5.1.1), except when it was already eaten as the end of a previous
 * close delimiter — that is how Dovecot counts sizes, and IMAP clients
 * cache BODYSTRUCTURE, so we count the same way.
 */
#include "mime.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "str.h"
#include "xalloc.h"

struct mime_ctx {
	const char *msg;
	size_t len;
	const char *bnd[MIME_DEPTH_MAX];
	size_t blen[MIME_DEPTH_MAX];
	size_t nbnd;
	size_t nparts;
};

/* a boundary line found by mime_find */
struct mime_hit {
	size_t line; /* its start, len at end of input */
	size_t next; /* after its line end */
	int idx;     /* index in the stack, -1 at end of input */
	bool close;
};

static bool mime_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Does the line at ls open or close boundary i?  A prefix match, as in
   Dovecot: "--b garbage" is boundary b. */
static bool mime_is_boundary(const struct mime_ctx *x, size_t ls, size_t i,
			     bool *close_r, size_t *next_r)
{
	const char *m = x->msg;
	size_t bl = x->blen[i], p = ls + 2 + bl;
	if (p > x->len || memcmp(m + ls + 2, x->bnd[i], bl) != 0)
		return false;
	/* like Dovecot, whatever follows on the line is ignored */
	*close_r = p + 2 <= x->len && m[p] == '-' && m[p + 1] == '-';
	const char *nl = memchr(m + p, '\n', x->len - p);
	*next_r = nl ? (size_t)(nl - m) + 1 : x->len;
	return true;
}

/* The next boundary line of any open multipart at or after from (a line
   start); innermost boundaries are tried first. */
static struct mime_hit mime_find(const struct mime_ctx *x, size_t from)
{
	struct mime_hit h = {x->len, x->len, -1, false};
	if (x->nbnd == 0)
		return h;
	const char *m = x->msg;
	size_t ls = from;
	while (ls < x->len) {
		if (ls + 2 <= x->len && m[ls] == '-' && m[ls + 1] == '-') {
			for (size_t i = x->nbnd; i-- > 0;) {
				bool cl;
				size_t nx;
				if (mime_is_boundary(x, ls, i, &cl, &nx)) {
					h.line = ls;
					h.next = nx;
					h.idx = (int)i;
					h.close = cl;
					return h;
				}
			}
		}
		const char *nl = memchr(m + ls, '\n', x->len - ls);
		if (nl == NULL)
			break;
		ls = (size_t)(nl - m) + 1;
	}
	return h;
}

/* Where content scanned from start ends before hit h. */
static size_t mime_hit_end(const struct mime_ctx *x, const struct mime_hit *h,
			   size_t start)
{
	size_t e = h->line;
	if (h->idx < 0 || e <= start)
		return e < start ? start : e;
	e--; /* the LF */
	if (e > start && x->msg[e - 1] == '\r')
		e--;
	return e;
}

/* ---- header fields ------------------------------------------------------ */

bool mime_header_next(const char *hdr, size_t len, size_t *pos,
		      struct str *name_r, struct str *value_r)
{
	struct mime_field f;
	if (!mime_header_field_next(hdr, len, pos, &f))
		return false;
	*name_r = f.name;
	*value_r = f.value;
	return true;
}

bool mime_header_field_next(const char *hdr, size_t len, size_t *pos,
			    struct mime_field *f)
{
	size_t p = *pos;
	while (p < len) {
		const char *nl = memchr(hdr + p, '\n', len - p);
		size_t le = nl ? (size_t)(nl - hdr) : len;
		size_t ls = p;
		if (le == ls || (le == ls + 1 && hdr[ls] == '\r'))
			break; /* the blank line */
		/* the field goes on over continuation lines */
		size_t end = le;
		while (end < len && end + 1 < len &&
		       (hdr[end + 1] == ' ' || hdr[end + 1] == '\t')) {
			nl = memchr(hdr + end + 1, '\n', len - end - 1);
			end = nl ? (size_t)(nl - hdr) : len;
		}
		p = end < len ? end + 1 : len;
		const char *colon = memchr(hdr + ls, ':', le - ls);
		if (colon == NULL || colon == hdr + ls || hdr[ls] == ' ' ||
		    hdr[ls] == '\t')
			continue; /* garbage line: skipped */
		struct str name = {hdr + ls, (size_t)(colon - hdr) - ls};
		while (name.len > 0 && mime_ws(name.p[name.len - 1]))
			name.len--;
		size_t vs = (size_t)(colon - hdr) + 1;
		size_t ve = end;
		if (ve > vs && hdr[ve - 1] == '\r')
			ve--;
		f->raw = (struct str){hdr + ls, p - ls};
		f->name = name;
		f->value = (struct str){hdr + vs, ve - vs};
		*pos = p;
		return true;
	}
	*pos = len;
	return false;
}

int mime_unfold(struct str v, struct buf *out)
{
	size_t start = out->len;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] == '\r' || v.p[i] == '\n')
			continue;
		if (buf_append_char(out, v.p[i]) < 0)
			return -1;
	}
	/* trim both ends of what we appended */
	size_t a = start;
	while (a < out->len && (out->p[a] == ' ' || out->p[a] == '\t'))
		a++;
	size_t e = out->len;
	while (e > a && (out->p[e - 1] == ' ' || out->p[e - 1] == '\t'))
		e--;
	if (a > start) {
		memmove(out->p + start, out->p + a, e - a);
		e -= a - start;
	}
	buf_truncate(out, e);
	return 0;
}

static char *mime_field_dup(struct str v)
{
	struct buf b;
	buf_init(&b, v.len + 1);
	(void)mime_unfold(v, &b); /* cannot pass v.len */
	char *s = xmemdup0(b.p ? b.p : "", b.len);
	buf_deinit(&b);
	return s;
}

/* ---- RFC 2045 §5.1 parameters ------------------------------------------ */

static void mime_skip_cfws(const char *s, size_t n, size_t *i)
{
	while (*i < n) {
		if (s[*i] == ' ' || s[*i] == '\t') {
			(*i)++;
		} else if (s[*i] == '(') { /* comment, nested */
			int depth = 0;
			while (*i < n) {
				if (s[*i] == '\\' && *i + 1 < n)
					(*i)++;
				else if (s[*i] == '(')
					depth++;
				else if (s[*i] == ')' && --depth == 0) {
					(*i)++;
					break;
				}
				(*i)++;
			}
		} else {
			return;
		}
	}
}

static bool mime_tspecial(char c)
{
	return strchr("()<>@,;:\\\"/[]?= \t", c) != NULL ||
	       (unsigned char)c < 0x20 || c == 0x7f;
}

static size_t mime_token(const char *s, size_t n, size_t i)
{
	while (i < n && !mime_tspecial(s[i]))
		i++;
	return i;
}

struct mime_plist {
	struct mime_param *v;
	size_t n;
};

static void mime_plist_add(struct mime_plist *l, char *name, char *value)
{
	if (l->n >= MIME_PARAMS_MAX) {
		free(name);
		free(value);
		return;
	}
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n].name = name;
	l->v[l->n].value = value;
	l->n++;
}

/* RFC 2231 §3-4: name*N / name*N* segments are joined in order into
   "name" (or "name*" when the first segment is extended); plain params
   come first, then the RFC 2231 ones, as Dovecot lists them. */
static void mime_params_2231(struct mime_plist *in, struct mime_plist *out)
{
	for (size_t i = 0; i < in->n; i++)
		if (strchr(in->v[i].name, '*') == NULL) {
			mime_plist_add(out, in->v[i].name, in->v[i].value);
			in->v[i].name = in->v[i].value = NULL;
		}
	for (size_t i = 0; i < in->n; i++) {
		if (in->v[i].name == NULL)
			continue;
		char *star = strchr(in->v[i].name, '*');
		size_t bl = (size_t)(star - in->v[i].name);
		if (star[1] < '0' || star[1] > '9') { /* "name*" */
			mime_plist_add(out, in->v[i].name, in->v[i].value);
			in->v[i].name = in->v[i].value = NULL;
			continue;
		}
		struct buf val;
		buf_init(&val, 64 * 1024);
		bool ext0 = false;
		for (unsigned seq = 0; seq < MIME_PARAMS_MAX; seq++) {
			size_t k;
			for (k = i; k < in->n; k++) {
				char *nm = in->v[k].name;
				uint64_t v;
				if (nm == NULL ||
				    strncasecmp(nm, in->v[i].name, bl) != 0 ||
				    nm[bl] != '*')
					continue;
				char num[16];
				size_t d = 0;
				const char *q = nm + bl + 1;
				while (*q >= '0' && *q <= '9' && d < 15)
					num[d++] = *q++;
				num[d] = '\0';
				if (d == 0 || (*q != '\0' && strcmp(q, "*")) ||
				    str_parse_u64(num, 0, 1000, &v) < 0 ||
				    v != seq)
					continue;
				if (seq == 0)
					ext0 = *q == '*';
				break;
			}
			if (k == in->n)
				break;
			if (buf_append_str(&val, in->v[k].value) < 0) {
				/* bounded by the header: cannot happen */
			}
			if (k != i) {
				free(in->v[k].name);
				free(in->v[k].value);
				in->v[k].name = in->v[k].value = NULL;
			}
		}
		struct buf nm;
		buf_init(&nm, bl + 2);
		if (buf_append(&nm, in->v[i].name, bl) < 0 ||
		    (ext0 && buf_append_char(&nm, '*') < 0)) {
			/* sized to fit */
		}
		mime_plist_add(out, xmemdup0(nm.p ? nm.p : "", nm.len),
			       xmemdup0(val.p ? val.p : "", val.len));
		buf_deinit(&nm);
		buf_deinit(&val);
	}
	for (size_t i = 0; i < in->n; i++) {
		free(in->v[i].name);
		free(in->v[i].value);
	}
	free(in->v);
	in->v = NULL;
	in->n = 0;
}

/* Parses "; a=b; c="d"" from s[i..n) into *v_r (owned) and *n_r. */
static void mime_params(const char *s, size_t n, size_t i,
			struct mime_param **v_r, size_t *n_r)
{
	struct mime_plist raw = {NULL, 0}, out = {NULL, 0};
	while (i < n) {
		mime_skip_cfws(s, n, &i);
		if (i >= n)
			break;
		if (s[i] != ';') { /* junk: go to the next ';' */
			const char *semi = memchr(s + i, ';', n - i);
			if (semi == NULL)
				break;
			i = (size_t)(semi - s);
		}
		i++;
		mime_skip_cfws(s, n, &i);
		size_t ns = i;
		i = mime_token(s, n, i);
		size_t ne = i;
		mime_skip_cfws(s, n, &i);
		if (ne == ns || i >= n || s[i] != '=')
			continue;
		i++;
		mime_skip_cfws(s, n, &i);
		struct buf v;
		buf_init(&v, n + 1);
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				if (buf_append_char(&v, s[i]) < 0)
					break;
			}
			if (i < n)
				i++;
		} else {
			size_t vs = i;
			while (i < n && s[i] != ';' && s[i] != ' ' &&
			       s[i] != '\t')
				i++;
			if (buf_append(&v, s + vs, i - vs) < 0) {
				/* sized to fit */
			}
		}
		mime_plist_add(&raw, xmemdup0(s + ns, ne - ns),
			       xmemdup0(v.p ? v.p : "", v.len));
		buf_deinit(&v);
	}
	mime_params_2231(&raw, &out);
	*v_r = out.v;
	*n_r = out.n;
}

static void mime_content_type(struct mime_part *part, const char *v)
{
	size_t n = strlen(v), i = 0;
	mime_skip_cfws(v, n, &i);
	size_t ts = i;
	i = mime_token(v, n, i);
	size_t te = i;
	mime_skip_cfws(v, n, &i);
	if (te == ts || i >= n || v[i] != '/') {
		/* invalid: Dovecot shows ("" "" NIL ...) */
		part->type = xstrdup("");
		part->subtype = xstrdup("");
		return;
	}
	i++;
	mime_skip_cfws(v, n, &i);
	size_t ss = i;
	i = mime_token(v, n, i);
	if (i == ss) {
		part->type = xstrdup("");
		part->subtype = xstrdup("");
		return;
	}
	part->type = xmemdup0(v + ts, te - ts);
	part->subtype = xmemdup0(v + ss, i - ss);
	mime_params(v, n, i, &part->params, &part->nparams);
}

static void mime_disposition(struct mime_part *part, const char *v)
{
	size_t n = strlen(v), i = 0;
	mime_skip_cfws(v, n, &i);
	size_t ds = i;
	i = mime_token(v, n, i);
	part->disposition = xmemdup0(v + ds, i - ds);
	mime_params(v, n, i, &part->dparams, &part->ndparams);
}

static void mime_languages(struct mime_part *part, const char *v)
{
	size_t n = strlen(v), i = 0;
	while (i < n && part->nlangs < MIME_LANGS_MAX) {
		mime_skip_cfws(v, n, &i);
		while (i < n && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
			i++;
		size_t s = i;
		i = mime_token(v, n, i);
		if (i == s) {
			if (i < n && v[i] != ',' && v[i] != '(')
				i++; /* junk */
			continue;
		}
		size_t sz = (part->nlangs + 1) * sizeof *part->langs;
		part->langs = xrealloc(part->langs, sz);
		part->langs[part->nlangs++] = xmemdup0(v + s, i - s);
	}
}

static void mime_fields(struct mime_ctx *x, struct mime_part *part)
{
	const char *h = x->msg + part->hdr_off;
	size_t pos = 0;
	struct str name, value;
	while (mime_header_next(h, part->hdr_len, &pos, &name, &value)) {
		if (!str_has_prefix_case(name, "Content-"))
			continue;
		struct str sub = {name.p + 8, name.len - 8};
		char **dst = NULL;
		if (str_case_eq_cstr(sub, "Type")) {
			if (part->type == NULL) {
				char *v = mime_field_dup(value);
				mime_content_type(part, v);
				free(v);
			}
		} else if (str_case_eq_cstr(sub, "Disposition")) {
			if (part->disposition == NULL) {
				char *v = mime_field_dup(value);
				mime_disposition(part, v);
				free(v);
			}
		} else if (str_case_eq_cstr(sub, "Language")) {
			if (part->langs == NULL) {
				char *v = mime_field_dup(value);
				mime_languages(part, v);
				free(v);
			}
		} else if (str_case_eq_cstr(sub, "Transfer-Encoding")) {
			dst = &part->encoding;
		} else if (str_case_eq_cstr(sub, "ID")) {
			dst = &part->id;
		} else if (str_case_eq_cstr(sub, "Description")) {
			dst = &part->description;
		} else if (str_case_eq_cstr(sub, "MD5")) {
			dst = &part->md5;
		} else if (str_case_eq_cstr(sub, "Location")) {
			dst = &part->location;
		}
		if (dst != NULL && *dst == NULL)
			*dst = mime_field_dup(value);
	}
}

/* ---- structure ---------------------------------------------------------- */

const char *mime_param_get(const struct mime_param *params, size_t n,
			   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(params[i].name, name) == 0)
			return params[i].value;
	return NULL;
}

bool mime_is_type(const struct mime_part *p, const char *type,
		  const char *subtype)
{
	const char *t = p->type, *s = p->subtype;
	if (t == NULL) {
		t = p->digest_child ? "message" : "text";
		s = p->digest_child ? "rfc822" : "plain";
	}
	return strcasecmp(t, type) == 0 &&
	       (subtype == NULL || strcasecmp(s, subtype) == 0);
}

static size_t mime_count_lf(const char *p, size_t n)
{
	size_t c = 0;
	const char *e = p + n;
	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		c++;
		p++;
	}
	return c;
}

static struct mime_part *mime_part_new(struct mime_ctx *x,
				       struct mime_part *parent)
{
	struct mime_part *p = xcalloc(1, sizeof *p);
	p->parent = parent;
	x->nparts++;
	return p;
}

/* Parses the part starting at pos; *hit_r gets the boundary that ended
   it.  depth bounds the recursion. */
static void mime_part_parse(struct mime_ctx *x, struct mime_part *part,
			    size_t pos, unsigned depth, struct mime_hit *hit_r)
{
	const char *m = x->msg;
	struct mime_hit h = mime_find(x, pos);
	/* the header ends at a blank line, or where the part ends */
	size_t lim = h.line, ls = pos, hend = 0;
	bool blank = false;
	while (ls < lim) {
		if (m[ls] == '\n' ||
		    (m[ls] == '\r' && ls + 1 < lim && m[ls + 1] == '\n')) {
			hend = ls + (m[ls] == '\r' ? 2 : 1);
			blank = true;
			break;
		}
		const char *nl = memchr(m + ls, '\n', lim - ls);
		if (nl == NULL)
			break;
		ls = (size_t)(nl - m) + 1;
	}
	/* a blank line right before a boundary is the boundary's line end */
	if (!blank || (h.idx >= 0 && hend == h.line))
		hend = mime_hit_end(x, &h, pos);
	part->hdr_off = pos;
	part->hdr_len = hend - pos;
	part->body_off = hend;
	mime_fields(x, part);

	const char *bnd = NULL;
	if (part->type != NULL && strcasecmp(part->type, "multipart") == 0)
		bnd = mime_param_get(part->params, part->nparams, "boundary");
	if (bnd != NULL && *bnd != '\0' && depth < MIME_DEPTH_MAX &&
	    x->nbnd < MIME_DEPTH_MAX) {
		part->kind = MIME_MULTIPART;
		size_t me = x->nbnd++;
		x->bnd[me] = bnd;
		x->blen[me] = strlen(bnd);
		bool digest = strcasecmp(part->subtype, "digest") == 0;
		struct mime_part **tail = &part->children;
		size_t scan = hend;
		h = mime_find(x, hend); /* skips the preamble */
		while (h.idx == (int)me && !h.close) {
			scan = h.next;
			if (x->nparts >= MIME_PARTS_MAX) {
				h = mime_find(x, h.next);
				continue;
			}
			struct mime_part *c = mime_part_new(x, part);
			c->digest_child = digest;
			*tail = c;
			tail = &c->next;
			mime_part_parse(x, c, h.next, depth + 1, &h);
		}
		x->nbnd = me;
		if (h.idx == (int)me) { /* close delimiter: the epilogue */
			scan = h.next;
			h = mime_find(x, h.next);
		}
		size_t end = mime_hit_end(x, &h, scan);
		part->body_len = end > hend ? end - hend : 0;
		*hit_r = h;
	} else if (mime_is_type(part, "message", "rfc822") &&
		   depth < MIME_DEPTH_MAX && x->nparts < MIME_PARTS_MAX) {
		part->kind = MIME_MESSAGE;
		struct mime_part *c = mime_part_new(x, part);
		part->children = c;
		mime_part_parse(x, c, hend, depth + 1, hit_r);
		part->body_len = c->body_off + c->body_len - hend;
	} else {
		size_t end = mime_hit_end(x, &h, hend);
		part->body_len = end > hend ? end - hend : 0;
		*hit_r = h;
	}
	part->lines = mime_count_lf(m + part->body_off, part->body_len);
}

struct mime_part *mime_parse(const char *msg, size_t len)
{
	struct mime_ctx x;
	memset(&x, 0, sizeof x);
	x.msg = msg ? msg : "";
	x.len = msg ? len : 0;
	struct mime_part *root = mime_part_new(&x, NULL);
	struct mime_hit h;
	mime_part_parse(&x, root, 0, 0, &h);
	return root;
}

static void mime_params_free(struct mime_param *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

void mime_free(struct mime_part **rootp)
{
	struct mime_part *p = *rootp;
	*rootp = NULL;
	if (p != NULL) {
		struct mime_part *c = p->children;
		while (c != NULL) {
			struct mime_part *n = c->next;
			mime_free(&c); /* depth is capped by the parser */
			c = n;
		}
		free(p->type);
		free(p->subtype);
		mime_params_free(p->params, p->nparams);
		mime_params_free(p->dparams, p->ndparams);
		free(p->encoding);
		free(p->id);
		free(p->description);
		free(p->md5);
		free(p->location);
		free(p->disposition);
		for (size_t i = 0; i < p->nlangs; i++)
			free(p->langs[i]);
		free(p->langs);
		free(p);
	}
}

size_t mime_count(const struct mime_part *root)
{
	size_t n = 1;
	for (const struct mime_part *c = root->children; c; c = c->next)
		n += mime_count(c);
	return n;
}

/* ---- decoding ------------------------------------------------------------ */

/* Lenient base64: characters outside the alphabet are skipped, '=' ends. */
static int mime_b64(const char *p, size_t len, struct buf *out)
{
	unsigned acc = 0, bits = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '=')
			break;
		int v = base64_value((unsigned char)p[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_append_char(out, (char)((acc >> bits) & 0xff)) <
			    0)
				return -1;
		}
	}
	return 0;
}

/* quoted-printable (RFC 2045 §6.7); q: the RFC 2047 "Q" form */
static int mime_qp(const char *p, size_t len, bool q, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '=' && i + 2 < len && str_hex_digit(p[i + 1]) >= 0 &&
		    str_hex_digit(p[i + 2]) >= 0) {
			c = (char)(str_hex_digit(p[i + 1]) * 16 +
				   str_hex_digit(p[i + 2]));
			i += 2;
		} else if (c == '=' && !q) {
			/* soft line break: "=" [WSP] CRLF */
			size_t k = i + 1;
			while (k < len && (p[k] == ' ' || p[k] == '\t'))
				k++;
			if (k < len && p[k] == '\r')
				k++;
			if (k < len && p[k] == '\n') {
				i = k;
				continue;
			}
			if (k >= len) {
				i = k;
				continue;
			}
		} else if (c == '_' && q) {
			c = ' ';
		} else if (!q && (c == ' ' || c == '\t')) {
			/* RFC 2045 §6.7 (3): white space at the end of a line
			   is transport padding, deleted when decoding */
			size_t k = i;
			while (k < len && (p[k] == ' ' || p[k] == '\t'))
				k++;
			if (k >= len || p[k] == '\n' ||
			    (p[k] == '\r' &&
			     (k + 1 >= len || p[k + 1] == '\n'))) {
				i = k - 1;
				continue;
			}
		}
		if (buf_append_char(out, c) < 0)
			return -1;
	}
	return 0;
}

int mime_decode_cte(const char *enc, const char *p, size_t len, struct buf *out)
{
	struct str e = str_trim(str_from_cstr(enc ? enc : ""));
	if (str_case_eq_cstr(e, "base64"))
		return mime_b64(p, len, out);
	if (str_case_eq_cstr(e, "quoted-printable"))
		return mime_qp(p, len, false, out);
	return buf_append(out, p, len);
}

static int mime_put_cp(uint32_t v, struct buf *out)
{
	char b[4];
	return buf_append(out, b, str_utf8_encode(v, b));
}

/* Copies UTF-8, replacing invalid bytes with U+FFFD. */
static int mime_utf8_clean(const char *p, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)p;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t l = str_utf8_decode(u + i, len - i, &cp);
		if (l == 0) {
			if (mime_put_cp(0xfffd, out) < 0)
				return -1;
			i++;
			continue;
		}
		if (buf_append(out, p + i, l) < 0)
			return -1;
		i += l;
	}
	return 0;
}

int mime_to_utf8(const char *charset, const char *p, size_t len,
		 struct buf *out)
{
	struct str cs = str_trim(str_from_cstr(charset ? charset : ""));
	if (cs.len == 0 || str_case_eq_cstr(cs, "utf-8") ||
	    str_case_eq_cstr(cs, "us-ascii") || str_case_eq_cstr(cs, "utf8") ||
	    cs.len > 40)
		return mime_utf8_clean(p, len, out);
	char name[48];
	/* GB2312 and GBK mail is routinely GB18030 (its superset) */
	if (str_case_eq_cstr(cs, "gb2312") || str_case_eq_cstr(cs, "gbk") ||
	    str_case_eq_cstr(cs, "x-gbk") || str_case_eq_cstr(cs, "cp936"))
		cs = STR_LIT("GB18030");
	memcpy(name, cs.p, cs.len);
	name[cs.len] = '\0';
	iconv_t cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return mime_utf8_clean(p, len, out);
	char *in = (char *)p; /* iconv's prototype; it does not write */
	size_t inleft = len;
	int rc = 0;
	while (inleft > 0) {
		char chunk[1024];
		char *o = chunk;
		size_t oleft = sizeof chunk;
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);
		int err = errno;
		if (buf_append(out, chunk, sizeof chunk - oleft) < 0) {
			rc = -1;
			break;
		}
		if (r != (size_t)-1 || err == E2BIG)
			continue;
		/* EILSEQ or EINVAL: one replacement, skip the byte */
		if (mime_put_cp(0xfffd, out) < 0) {
			rc = -1;
			break;
		}
		in++;
		inleft--;
	}
	iconv_close(cd);
	return rc;
}

/*
 * One RFC 2047 encoded-word at s[i..n): "=?charset[*lang]?B|Q?text?=".
 * On success the charset and decoded bytes go to cs/raw and *end_r is set.
 */
static bool mime_eword(const char *s, size_t n, size_t i, struct buf *cs,
		       struct buf *raw, size_t *end_r)
{
	if (i + 2 > n || s[i] != '=' || s[i + 1] != '?')
		return false;
	size_t c0 = i + 2, c1 = c0;
	while (c1 < n && s[c1] != '?' && c1 - c0 < 40 && s[c1] != ' ')
		c1++;
	if (c1 + 3 >= n || s[c1] != '?' || c1 == c0 || s[c1 + 2] != '?')
		return false;
	char enc = s[c1 + 1];
	if (enc != 'B' && enc != 'b' && enc != 'Q' && enc != 'q')
		return false;
	size_t t0 = c1 + 3, t1 = t0;
	while (t1 + 1 < n && !(s[t1] == '?' && s[t1 + 1] == '=') &&
	       s[t1] != ' ' && s[t1] != '\t')
		t1++;
	if (t1 + 1 >= n || s[t1] != '?' || s[t1 + 1] != '=')
		return false;
	const char *star = memchr(s + c0, '*', c1 - c0);
	size_t cl = (star ? (size_t)(star - s) : c1) - c0;
	buf_reset(cs);
	if (buf_append(cs, s + c0, cl) < 0)
		return false;
	int r = (enc == 'B' || enc == 'b')
		    ? mime_b64(s + t0, t1 - t0, raw)
		    : mime_qp(s + t0, t1 - t0, true, raw);
	if (r < 0)
		return false;
	*end_r = t1 + 2;
	return true;
}

int mime_header_decode(struct str value, struct buf *out)
{
	struct buf v, cs, pend_cs, pend;
	size_t lim = value.len * 4 + 64;
	buf_init(&v, value.len + 1);
	buf_init(&cs, 64);
	buf_init(&pend_cs, 64);
	buf_init(&pend, lim);
	int rc = mime_unfold(value, &v);
	const char *s = v.p ? v.p : "";
	size_t n = v.len, i = 0, lit = 0;
	while (rc == 0 && i < n) {
		size_t e;
		if (i < n && s[i] == '=' && i + 1 < n && s[i + 1] == '?') {
			struct buf one;
			buf_init(&one, lim);
			if (mime_eword(s, n, i, &cs, &one, &e)) {
				/* text between encoded-words: only white
				   space is dropped (RFC 2047 §6.2) */
				bool ws = true;
				for (size_t k = lit; k < i; k++)
					if (s[k] != ' ' && s[k] != '\t')
						ws = false;
				bool joined = pend_cs.len > 0 && ws;
				if (!joined) {
					if (pend_cs.len > 0 &&
					    mime_to_utf8(pend_cs.p, pend.p,
							 pend.len, out) < 0)
						rc = -1;
					buf_reset(&pend);
					buf_reset(&pend_cs);
					if (mime_utf8_clean(s + lit, i - lit,
							    out) < 0)
						rc = -1;
				} else if (strcasecmp(pend_cs.p, cs.p) != 0) {
					if (mime_to_utf8(pend_cs.p, pend.p,
							 pend.len, out) < 0)
						rc = -1;
					buf_reset(&pend);
				}
				buf_reset(&pend_cs);
				if (buf_append(&pend_cs, cs.p, cs.len) < 0 ||
				    buf_append(&pend, one.p ? one.p : "",
					       one.len) < 0)
					rc = -1;
				buf_deinit(&one);
				i = lit = e;
				continue;
			}
			buf_deinit(&one);
		}
		i++;
	}
	if (pend_cs.len > 0 &&
	    mime_to_utf8(pend_cs.p, pend.p ? pend.p : "", pend.len, out) < 0)
		rc = -1;
	if (rc == 0 && mime_utf8_clean(s + lit, n - lit, out) < 0)
		rc = -1;
	buf_deinit(&v);
	buf_deinit(&cs);
	buf_deinit(&pend_cs);
	buf_deinit(&pend);
	return rc;
}

static uint32_t mime_fold_cp(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 32;
	if (c >= 0x100 && c <= 0x17f) {
		if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149)
			return c;
		if (c == 0x178)
			return 0xff;
		bool odd_caps =
		    (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
		return odd_caps ? (c & 1 ? c + 1 : c) : (c & 1 ? c : c + 1);
	}
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 32;
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	if (c >= 0xff21 && c <= 0xff3a) /* full-width Latin */
		return c + 32;
	return c;
}

int mime_fold(const char *p, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)p;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t l = str_utf8_decode(u + i, len - i, &cp);
		if (l == 0) {
			if (buf_append_char(out, p[i]) < 0)
				return -1;
			i++;
			continue;
		}
		if (mime_put_cp(mime_fold_cp(cp), out) < 0)
			return -1;
		i += l;
	}
	return 0;
}
