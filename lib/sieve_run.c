/*
 * The Sieve interpreter: runs a checked program (sieve_parse.c) over one
 * message and collects the actions (sieve.h).  Tests read the header as
 * it stands after editheader's changes, decoded (RFC 2047) for header and
 * date, parsed by lib/addrlist for address; body reads lib/mime's parts.
 * Every command and test costs a step (SIEVE_STEPS_MAX); values gathered
 * for one test are capped too, so a hostile message with thousands of
 * fields costs bounded time.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addrlist.h"
#include "mime.h"
#include "sieve.h"
#include "sieve_date.h"
#include "sieve_int.h"
#include "xalloc.h"

/* values one test compares (header fields x addresses) */
#define SIEVE_VALUES_MAX 4096
#define SIEVE_HEADER_MAX (1024u * 1024)

struct sieve_var {
	char name[72];
	struct buf val;
};

struct sieve_vals {
	struct buf *v;
	size_t n, cap;
};

struct sieve_vm {
	const struct sieve_program *p;
	const struct sieve_msg *m;
	const struct sieve_env *env;
	struct sieve_result *r;
	unsigned steps;
	bool stop, error;
	char *err;
	size_t errsz;
	bool cancel_keep;
	bool explicit_keep, vacation_done;
	unsigned redirects;
	struct sieve_var *vars;
	size_t nvars;
	struct sieve_captures caps;    /* the current match variables */
	struct sieve_captures scratch; /* a :matches in progress */
	struct buf flags;	       /* imap4flags' internal variable */
	struct buf hdr;		       /* the header, blank line included */
	size_t body_off;
	bool has_body; /* a blank line ends the header */
	bool hdr_edited;
	struct mime_part *mime; /* lazily parsed */
};

__attribute__((format(printf, 3, 4))) static void
sieve_fail(struct sieve_vm *vm, unsigned line, const char *fmt, ...)
{
	if (vm->error)
		return;
	vm->error = true;
	vm->stop = true;
	va_list ap;
	va_start(ap, fmt);
	sieve_error_at(vm->err, vm->errsz, line, fmt, ap);
	va_end(ap);
}

static bool sieve_step(struct sieve_vm *vm, unsigned line)
{
	if (++vm->steps > SIEVE_STEPS_MAX) {
		sieve_fail(vm, line, "step limit (%u) reached",
			   SIEVE_STEPS_MAX);
		return false;
	}
	return !vm->error;
}

/* ---- values -------------------------------------------------------------- */

static void sieve_vals_free(struct sieve_vals *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		buf_deinit(&vs->v[i]);
	free(vs->v);
	vs->v = NULL;
	vs->n = vs->cap = 0;
}

static struct buf *sieve_vals_add(struct sieve_vals *vs, const char *p,
				  size_t len)
{
	if (vs->n >= SIEVE_VALUES_MAX)
		return NULL;
	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? vs->cap * 2 : 8;
		vs->v = xrealloc(vs->v, vs->cap * sizeof(*vs->v));
	}
	struct buf *b = &vs->v[vs->n++];
	buf_init(b, SIEVE_HEADER_MAX);
	if (len > 0 && buf_append(b, p, len) < 0)
		buf_reset(b);
	if (b->p == NULL)
		sieve_ign(buf_append(b, "", 0));
	return b;
}

static struct sieve_var *sieve_var_find(struct sieve_vm *vm, const char *name,
					size_t len, bool create)
{
	for (size_t i = 0; i < vm->nvars; i++)
		if (strlen(vm->vars[i].name) == len &&
		    strncasecmp(vm->vars[i].name, name, len) == 0)
			return &vm->vars[i];
	if (!create || len >= sizeof(vm->vars[0].name) ||
	    vm->nvars >= SIEVE_VARIABLES_MAX)
		return NULL;
	struct sieve_var *v = &vm->vars[vm->nvars++];
	memcpy(v->name, name, len);
	v->name[len] = '\0';
	buf_init(&v->val, SIEVE_STRING_MAX);
	return v;
}

/* s with ${name} and ${N} replaced (RFC 5229 §3), into out (reset). */
static void sieve_expand(struct sieve_vm *vm, const struct sieve_str *s,
			 struct buf *out)
{
	buf_reset(out);
	if (!s->var) {
		if (buf_append(out, s->p, s->len) < 0)
			buf_reset(out);
		return;
	}
	size_t i = 0;
	while (i < s->len) {
		if (s->p[i] == '$' && i + 1 < s->len && s->p[i + 1] == '{') {
			size_t j = i + 2;
			while (j < s->len && (isalnum((unsigned char)s->p[j]) ||
					      s->p[j] == '_'))
				j++;
			size_t nlen = j - i - 2;
			const char *name = s->p + i + 2;
			if (j < s->len && s->p[j] == '}' && nlen > 0) {
				bool digits = true;
				for (size_t k = 0; k < nlen; k++)
					digits =
					    digits &&
					    isdigit((unsigned char)name[k]);
				bool ident = !isdigit((unsigned char)name[0]);
				const struct buf *val = NULL;
				if (digits) {
					unsigned long n = 0;
					for (size_t k = 0; k < nlen && n < 100;
					     k++)
						n = n * 10 +
						    (unsigned long)(name[k] -
								    '0');
					if (n < vm->caps.n)
						val = &vm->caps.v[n];
				} else if (ident) {
					struct sieve_var *v = sieve_var_find(
					    vm, name, nlen, false);
					if (v != NULL)
						val = &v->val;
				}
				if (digits || ident) {
					if (val != NULL && val->len > 0 &&
					    buf_append(out, val->p, val->len) <
						0)
						return;
					i = j + 1;
					continue;
				}
			}
		}
		if (buf_append_char(out, s->p[i]) < 0)
			return;
		i++;
	}
}

/* ---- the header ---------------------------------------------------------- */

static size_t sieve_header_len(const char *msg, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);
		if (nl == NULL)
			return len;
		size_t line = (size_t)(nl - (msg + i));
		if (line == 0 || (line == 1 && msg[i] == '\r'))
			return (size_t)(nl - msg) + 1;
		i = (size_t)(nl - msg) + 1;
	}
	return len;
}

/*
 * Values of the fields called name (every occurrence, or only the
 * :index'th, counted from the end with :last), decoded (RFC 2047) or raw
 * unfolded.
 */
static void sieve_header_values(struct sieve_vm *vm, const char *name,
				size_t nlen, int64_t index, bool last,
				bool decode, struct sieve_vals *vs)
{
	size_t pos = 0, total = 0;
	struct str fn, fv;
	if (index > 0 && last) {
		while (mime_header_next(vm->hdr.p, vm->hdr.len, &pos, &fn, &fv))
			if (fn.len == nlen &&
			    strncasecmp(fn.p, name, nlen) == 0)
				total++;
		if ((uint64_t)index > total)
			return;
		index = (int64_t)total - index + 1;
		pos = 0;
	}
	int64_t k = 0;
	struct buf tmp;
	buf_init(&tmp, SIEVE_HEADER_MAX);
	while (mime_header_next(vm->hdr.p, vm->hdr.len, &pos, &fn, &fv)) {
		if (fn.len != nlen || strncasecmp(fn.p, name, nlen) != 0)
			continue;
		k++;
		if (index > 0 && k != index)
			continue;
		buf_reset(&tmp);
		int rc = decode ? mime_header_decode(fv, &tmp)
				: mime_unfold(fv, &tmp);
		(void)rc;
		if (sieve_vals_add(vs, tmp.p, tmp.len) == NULL)
			break;
		if (index > 0)
			break;
	}
	buf_deinit(&tmp);
}

/* ---- tests --------------------------------------------------------------- */

static void sieve_set_caps(struct sieve_vm *vm)
{
	for (size_t i = 0; i < SIEVE_MATCH_VARS; i++) {
		buf_reset(&vm->caps.v[i]);
		if (i < vm->scratch.n &&
		    buf_append(&vm->caps.v[i], vm->scratch.v[i].p,
			       vm->scratch.v[i].len) < 0)
			buf_reset(&vm->caps.v[i]);
	}
	vm->caps.n = vm->scratch.n;
}

/* values against keys under n's match type, comparator, relation. */
static bool sieve_compare(struct sieve_vm *vm, const struct sieve_node *n,
			  const struct sieve_vals *vs,
			  const struct sieve_list *keys)
{
	struct buf key;
	buf_init(&key, SIEVE_STRING_MAX);
	bool hit = false;
	bool want_caps = n->mt == SIEVE_MT_MATCHES &&
			 n->rel == SIEVE_REL_NONE &&
			 (vm->p->exts & SIEVE_EXT_VARIABLES);
	for (size_t k = 0; k < keys->n && !hit; k++) {
		sieve_expand(vm, &keys->v[k], &key);
		const char *kp = key.p != NULL ? key.p : "";
		if (n->rel != SIEVE_REL_NONE && n->count) {
			char cnt[32];
			int cl = snprintf(cnt, sizeof(cnt), "%zu", vs->n);
			hit = sieve_relational(n->rel, n->cmp, cnt, (size_t)cl,
					       kp, key.len);
			continue;
		}
		for (size_t i = 0; i < vs->n && !hit; i++) {
			if (!sieve_step(vm, n->line))
				break;
			const char *v = vs->v[i].p != NULL ? vs->v[i].p : "";
			if (n->rel != SIEVE_REL_NONE)
				hit =
				    sieve_relational(n->rel, n->cmp, v,
						     vs->v[i].len, kp, key.len);
			else
				hit = sieve_match(
				    n->mt, n->cmp, v, vs->v[i].len, kp, key.len,
				    want_caps ? &vm->scratch : NULL);
		}
	}
	if (hit && want_caps)
		sieve_set_caps(vm);
	buf_deinit(&key);
	return hit;
}

static void sieve_addr_part(struct sieve_vm *vm, enum sieve_ap ap,
			    const char *local, size_t llen, const char *dom,
			    size_t dlen, struct sieve_vals *vs)
{
	const char *delim =
	    vm->env->delimiter != NULL ? vm->env->delimiter : "";
	size_t cut = llen;
	for (size_t i = 0; delim[0] != '\0' && i < llen; i++)
		if (strchr(delim, local[i]) != NULL && local[i] != '\0') {
			cut = i;
			break;
		}
	struct buf *b;
	switch (ap) {
	case SIEVE_AP_ALL:
		b = sieve_vals_add(vs, local, llen);
		if (b != NULL && dom != NULL &&
		    (buf_append_char(b, '@') < 0 ||
		     buf_append(b, dom, dlen) < 0))
			buf_reset(b);
		break;
	case SIEVE_AP_LOCALPART:
		(void)sieve_vals_add(vs, local, llen);
		break;
	case SIEVE_AP_DOMAIN:
		(void)sieve_vals_add(vs, dom != NULL ? dom : "",
				     dom != NULL ? dlen : 0);
		break;
	case SIEVE_AP_USER:
		(void)sieve_vals_add(vs, local, cut);
		break;
	case SIEVE_AP_DETAIL:
		/* RFC 5233 §4: no separator, no detail: nothing matches */
		if (cut < llen)
			(void)sieve_vals_add(vs, local + cut + 1,
					     llen - cut - 1);
		break;
	}
}

static void sieve_test_values(struct sieve_vm *vm, const struct sieve_node *n,
			      struct sieve_vals *vs);

static bool sieve_test(struct sieve_vm *vm, const struct sieve_node *n);

static bool sieve_test_exists(struct sieve_vm *vm, const struct sieve_node *n)
{
	struct buf name;
	buf_init(&name, SIEVE_STRING_MAX);
	bool all = true;
	for (size_t i = 0; i < n->l1->n && all; i++) {
		sieve_expand(vm, &n->l1->v[i], &name);
		struct sieve_vals vs = {0};
		sieve_header_values(vm, name.p != NULL ? name.p : "", name.len,
				    0, false, false, &vs);
		all = vs.n > 0;
		sieve_vals_free(&vs);
	}
	buf_deinit(&name);
	return all;
}

/* body :text of HTML (RFC 5173 §5.2 leaves the conversion to us): the
   text without markup, script and style; entities for < > & " and nbsp
   decoded.  In place. */
static void sieve_strip_html(struct buf *b)
{
	size_t o = 0, i = 0;
	char *p = b->p;
	if (p == NULL)
		return;
	while (i < b->len) {
		if (p[i] == '<') {
			bool skip = b->len - i > 7 &&
				    (strncasecmp(p + i, "<script", 7) == 0 ||
				     strncasecmp(p + i, "<style", 6) == 0);
			const char *gt = memchr(p + i, '>', b->len - i);
			i = gt != NULL ? (size_t)(gt - p) + 1 : b->len;
			if (skip) {
				/* up to the closing tag */
				while (i < b->len &&
				       !(p[i] == '<' && i + 1 < b->len &&
					 p[i + 1] == '/'))
					i++;
			} else if (o > 0 && p[o - 1] != ' ') {
				p[o++] = ' ';
			}
			continue;
		}
		if (p[i] == '&') {
			static const struct {
				const char *e;
				char c;
			} ents[] = {{"&lt;", '<'},   {"&gt;", '>'},
				    {"&amp;", '&'},  {"&quot;", '"'},
				    {"&nbsp;", ' '}, {"&#39;", '\''}};
			bool done = false;
			for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]);
			     k++) {
				size_t el = strlen(ents[k].e);
				if (b->len - i >= el &&
				    strncasecmp(p + i, ents[k].e, el) == 0) {
					p[o++] = ents[k].c;
					i += el;
					done = true;
					break;
				}
			}
			if (done)
				continue;
		}
		p[o++] = p[i++];
	}
	buf_truncate(b, o);
}

static void sieve_body_values(struct sieve_vm *vm, const struct sieve_node *n,
			      struct sieve_vals *vs)
{
	const struct sieve_msg *m = vm->m;
	/* RFC 5173 §5: no body, no values: every body test is false */
	if (!vm->has_body)
		return;
	if (n->body == SIEVE_BODY_RAW) {
		(void)sieve_vals_add(vs, m->data + vm->body_off,
				     m->len - vm->body_off);
		return;
	}
	if (vm->mime == NULL)
		vm->mime = mime_parse(m->data, m->len);
	struct buf dec, utf;
	buf_init(&dec, SIEVE_HEADER_MAX * 8);
	buf_init(&utf, SIEVE_HEADER_MAX * 8);
	struct buf ct;
	buf_init(&ct, SIEVE_STRING_MAX);
	/* walk the tree without recursion: children, then siblings, then
	   up */
	const struct mime_part *p = vm->mime;
	while (p != NULL) {
		if (p->kind == MIME_LEAF) {
			bool want = false;
			bool html = mime_is_type(p, "text", "html") ||
				    mime_is_type(p, "application", "xhtml+xml");
			/* RFC 2045 §6.4: an unknown encoding makes the part
			   opaque (application/octet-stream) */
			const char *enc = p->encoding;
			bool opaque = enc != NULL &&
				      strcasecmp(enc, "7bit") != 0 &&
				      strcasecmp(enc, "8bit") != 0 &&
				      strcasecmp(enc, "binary") != 0 &&
				      strcasecmp(enc, "base64") != 0 &&
				      strcasecmp(enc, "quoted-printable") != 0;
			if (n->body == SIEVE_BODY_TEXT && opaque) {
				want = false;
			} else if (n->body == SIEVE_BODY_TEXT) {
				/* text/... with a valid subtype ("text/plain/x"
				   is not), and XHTML, as Pigeonhole */
				want = p->type == NULL ||
				       (mime_is_type(p, "text", NULL) &&
					p->subtype != NULL &&
					strchr(p->subtype, '/') == NULL) ||
				       html;
			} else {
				html = false;
				for (size_t i = 0; i < n->content->n && !want;
				     i++) {
					sieve_expand(vm, &n->content->v[i],
						     &ct);
					const char *t =
					    ct.p != NULL ? ct.p : "";
					const char *sl = strchr(t, '/');
					if (t[0] == '\0') {
						want = true;
					} else if (sl == NULL) {
						want = mime_is_type(p, t, NULL);
					} else {
						char ty[64];
						size_t tl = (size_t)(sl - t);
						if (tl < sizeof(ty)) {
							memcpy(ty, t, tl);
							ty[tl] = '\0';
							want = mime_is_type(
							    p, ty, sl + 1);
						}
					}
				}
			}
			if (want) {
				buf_reset(&dec);
				buf_reset(&utf);
				(void)mime_decode_cte(p->encoding,
						      m->data + p->body_off,
						      p->body_len, &dec);
				const char *cs = mime_param_get(
				    p->params, p->nparams, "charset");
				(void)mime_to_utf8(cs,
						   dec.p != NULL ? dec.p : "",
						   dec.len, &utf);
				if (html)
					sieve_strip_html(&utf);
				if (sieve_vals_add(vs, utf.p, utf.len) == NULL)
					break;
			}
		}
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != NULL && p->next == NULL)
			p = p->parent;
		if (p != NULL)
			p = p->next;
	}
	buf_deinit(&ct);
	buf_deinit(&dec);
	buf_deinit(&utf);
}

static void sieve_flag_values(struct sieve_vm *vm, const struct buf *src,
			      struct sieve_vals *vs)
{
	const char *p = src->p != NULL ? src->p : "";
	size_t len = src->len, i = 0;
	while (i < len) {
		while (i < len && p[i] == ' ')
			i++;
		size_t s = i;
		while (i < len && p[i] != ' ')
			i++;
		if (i > s && sieve_vals_add(vs, p + s, i - s) == NULL)
			return;
	}
}

/* Fills vs with the values test n compares against its keys. */
static void sieve_test_values(struct sieve_vm *vm, const struct sieve_node *n,
			      struct sieve_vals *vs)
{
	struct buf s;
	buf_init(&s, SIEVE_STRING_MAX);
	switch (n->cmd) {
	case ST_HEADER:
		for (size_t i = 0; i < n->l1->n; i++) {
			sieve_expand(vm, &n->l1->v[i], &s);
			sieve_header_values(vm, s.p != NULL ? s.p : "", s.len,
					    n->index, n->last, true, vs);
		}
		break;
	case ST_ADDRESS:
		for (size_t i = 0; i < n->l1->n; i++) {
			sieve_expand(vm, &n->l1->v[i], &s);
			struct sieve_vals raw = {0};
			sieve_header_values(vm, s.p != NULL ? s.p : "", s.len,
					    n->index, n->last, false, &raw);
			for (size_t k = 0; k < raw.n; k++) {
				struct addrlist l;
				addrlist_parse(raw.v[k].p, raw.v[k].len, &l);
				for (size_t a = 0; a < l.n; a++)
					if (l.v[a].kind == ADDRLIST_MAILBOX &&
					    l.v[a].local_len +
						    l.v[a].domain_len >
						0)
						sieve_addr_part(
						    vm, n->ap, l.v[a].local,
						    l.v[a].local_len,
						    l.v[a].domain,
						    l.v[a].domain_len, vs);
				addrlist_free(&l);
			}
			sieve_vals_free(&raw);
		}
		break;
	case ST_ENVELOPE:
		for (size_t i = 0; i < n->l1->n; i++) {
			sieve_expand(vm, &n->l1->v[i], &s);
			const char *a = NULL;
			if (s.p != NULL && strcasecmp(s.p, "from") == 0)
				a = vm->m->env_from;
			else if (s.p != NULL && strcasecmp(s.p, "to") == 0)
				a = vm->m->env_to;
			if (a == NULL)
				continue;
			if (a[0] == '\0') {
				/* the null reverse-path (RFC 5228 §5.4) */
				(void)sieve_vals_add(vs, "", 0);
				continue;
			}
			const char *at = strrchr(a, '@');
			size_t ll = at != NULL ? (size_t)(at - a) : strlen(a);
			sieve_addr_part(vm, n->ap, a, ll,
					at != NULL ? at + 1 : NULL,
					at != NULL ? strlen(at + 1) : 0, vs);
		}
		break;
	case ST_BODY:
		sieve_body_values(vm, n, vs);
		break;
	case ST_STRING:
		for (size_t i = 0; i < n->l1->n; i++) {
			sieve_expand(vm, &n->l1->v[i], &s);
			/* RFC 5229 §5: :count counts non-empty strings */
			if (n->count && s.len == 0)
				continue;
			(void)sieve_vals_add(vs, s.p, s.len);
		}
		break;
	case ST_HASFLAG:
		if (n->l1 == NULL) {
			sieve_flag_values(vm, &vm->flags, vs);
			break;
		}
		for (size_t i = 0; i < n->l1->n; i++) {
			sieve_expand(vm, &n->l1->v[i], &s);
			struct sieve_var *v = sieve_var_find(
			    vm, s.p != NULL ? s.p : "", s.len, false);
			if (v != NULL)
				sieve_flag_values(vm, &v->val, vs);
		}
		break;
	case ST_DATE:
	case ST_CURRENTDATE: {
		struct buf zone, part;
		buf_init(&zone, 64);
		buf_init(&part, 64);
		if (n->has_zone)
			sieve_expand(vm, &n->zone->v[0], &zone);
		const struct sieve_list *pl = n->cmd == ST_DATE ? n->l2 : n->l1;
		sieve_expand(vm, &pl->v[0], &part);
		struct sieve_vals dv = {0};
		if (n->cmd == ST_DATE) {
			sieve_expand(vm, &n->l1->v[0], &s);
			sieve_header_values(vm, s.p != NULL ? s.p : "", s.len,
					    n->index, n->last, true, &dv);
		}
		char out[64];
		for (size_t i = 0; n->cmd == ST_CURRENTDATE || i < dv.n; i++) {
			struct sieve_time t;
			bool ok;
			if (n->cmd == ST_CURRENTDATE)
				ok = sieve_time_now(vm->env->now, &t) == 0;
			else {
				/* RFC 5260 §4: Received: gives the date after
				   its last ';' */
				const char *dp = dv.v[i].p;
				size_t dl = dv.v[i].len;
				const char *semi = memrchr(dp, ';', dl);
				if (s.p != NULL &&
				    strcasecmp(s.p, "received") == 0 &&
				    semi != NULL) {
					dl -= (size_t)(semi + 1 - dp);
					dp = semi + 1;
				}
				ok = sieve_time_parse(dp, dl, &t) == 0;
			}
			if (ok && !n->originalzone &&
			    sieve_time_zone(&t, n->has_zone ? zone.p : NULL,
					    vm->env->now) < 0)
				ok = false;
			if (ok &&
			    sieve_time_part(&t, part.p != NULL ? part.p : "",
					    out, sizeof(out)) == 0)
				(void)sieve_vals_add(vs, out, strlen(out));
			if (n->cmd == ST_CURRENTDATE)
				break;
		}
		sieve_vals_free(&dv);
		buf_deinit(&zone);
		buf_deinit(&part);
		break;
	}
	default:
		break;
	}
	buf_deinit(&s);
}

static bool sieve_test_duplicate(struct sieve_vm *vm,
				 const struct sieve_node *n)
{
	struct buf id;
	buf_init(&id, SIEVE_STRING_MAX + 256);
	if (n->uniqueid != NULL) {
		sieve_expand(vm, &n->uniqueid->v[0], &id);
	} else {
		struct buf name;
		buf_init(&name, SIEVE_STRING_MAX);
		if (n->header != NULL)
			sieve_expand(vm, &n->header->v[0], &name);
		else
			sieve_ign(buf_append_str(&name, "message-id"));
		struct sieve_vals vs = {0};
		sieve_header_values(vm, name.p, name.len, 0, false, false, &vs);
		if (vs.n > 0)
			sieve_ign(buf_append(&id, vs.v[0].p, vs.v[0].len));
		sieve_vals_free(&vs);
		buf_deinit(&name);
		if (vs.n == 0 && n->header != NULL) {
			buf_deinit(&id);
			return false;
		}
	}
	if (n->handle != NULL) {
		struct buf h;
		buf_init(&h, SIEVE_STRING_MAX);
		sieve_expand(vm, &n->handle->v[0], &h);
		sieve_ign(buf_append_char(&id, '\0'));
		sieve_ign(buf_append(&id, h.p != NULL ? h.p : "", h.len));
		buf_deinit(&h);
	}
	bool dup = false;
	if (id.len > 0 && vm->env->duplicate != NULL)
		dup = vm->env->duplicate(vm->env->ctx, id.p, id.len,
					 n->num > 0 ? n->num : 7 * 86400,
					 n->last);
	buf_deinit(&id);
	return dup;
}

static bool sieve_test(struct sieve_vm *vm, const struct sieve_node *n)
{
	if (!sieve_step(vm, n->line))
		return false;
	switch (n->cmd) {
	case ST_TRUE:
		return true;
	case ST_FALSE:
		return false;
	case ST_NOT:
		return !sieve_test(vm, &n->tests[0]);
	case ST_ALLOF:
		for (size_t i = 0; i < n->ntests; i++)
			if (!sieve_test(vm, &n->tests[i]) || vm->error)
				return false;
		return true;
	case ST_ANYOF:
		for (size_t i = 0; i < n->ntests; i++)
			if (sieve_test(vm, &n->tests[i]) && !vm->error)
				return true;
		return false;
	case ST_SIZE:
		return n->over ? vm->m->len > n->num : vm->m->len < n->num;
	case ST_EXISTS:
		return sieve_test_exists(vm, n);
	case ST_DUPLICATE:
		return sieve_test_duplicate(vm, n);
	case ST_MAILBOXEXISTS: {
		struct buf s;
		buf_init(&s, SIEVE_STRING_MAX);
		bool all = true;
		for (size_t i = 0; i < n->l1->n && all; i++) {
			sieve_expand(vm, &n->l1->v[i], &s);
			all = vm->env->mailbox_exists == NULL ||
			      vm->env->mailbox_exists(vm->env->ctx,
						      s.p != NULL ? s.p : "");
		}
		buf_deinit(&s);
		return all;
	}
	default: {
		struct sieve_vals vs = {0};
		sieve_test_values(vm, n, &vs);
		const struct sieve_list *keys =
		    n->cmd == ST_DATE ? n->l3
		    : n->cmd == ST_CURRENTDATE || n->cmd == ST_HASFLAG ||
			    n->cmd == ST_BODY
			? (n->cmd == ST_BODY ? n->l1 : n->l2)
			: n->l2;
		bool r;
		if (n->cmd == ST_HASFLAG) {
			/* RFC 5232 §4: each key is a flag list too */
			struct sieve_vals kv = {0};
			struct buf k;
			buf_init(&k, SIEVE_STRING_MAX);
			for (size_t i = 0; i < keys->n; i++) {
				sieve_expand(vm, &keys->v[i], &k);
				sieve_flag_values(vm, &k, &kv);
			}
			struct sieve_list split = {
			    xcalloc(kv.n + 1, sizeof(struct sieve_str)), kv.n};
			for (size_t i = 0; i < kv.n; i++)
				split.v[i] = (struct sieve_str){
				    kv.v[i].p, kv.v[i].len, false};
			r = sieve_compare(vm, n, &vs, &split);
			free(split.v);
			sieve_vals_free(&kv);
			buf_deinit(&k);
		} else {
			r = sieve_compare(vm, n, &vs, keys);
		}
		sieve_vals_free(&vs);
		return r;
	}
	}
}

/* ---- actions ------------------------------------------------------------- */

static struct sieve_action *sieve_act(struct sieve_vm *vm, unsigned line,
				      enum sieve_action_kind kind)
{
	struct sieve_result *r = vm->r;
	if (r->n >= SIEVE_ACTIONS_MAX) {
		sieve_fail(vm, line, "too many actions (max %u)",
			   SIEVE_ACTIONS_MAX);
		return NULL;
	}
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	struct sieve_action *a = &r->v[r->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

/* Adds the flags of list l (each item may hold several, space-separated)
   to the set in b, without duplicates (case-insensitive), or removes
   them. */
static void sieve_flags_edit(struct buf *b, const char *items, size_t len,
			     bool add)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && items[i] == ' ')
			i++;
		size_t s = i;
		while (i < len && items[i] != ' ')
			i++;
		if (i == s)
			continue;
		const char *f = items + s;
		size_t fl = i - s;
		/* find f in b */
		size_t j = 0;
		bool found = false;
		while (j < b->len) {
			size_t k = j;
			while (k < b->len && b->p[k] != ' ')
				k++;
			if (k - j == fl && strncasecmp(b->p + j, f, fl) == 0) {
				found = true;
				if (!add) {
					size_t end = k < b->len ? k + 1 : k;
					size_t start =
					    (k == b->len && j > 0) ? j - 1 : j;
					memmove(b->p + start, b->p + end,
						b->len - end);
					buf_truncate(b, b->len - (end - start));
				}
				break;
			}
			j = k + 1;
		}
		if (add && !found) {
			if (b->len > 0 && buf_append_char(b, ' ') < 0)
				return;
			if (buf_append(b, f, fl) < 0)
				return;
		}
	}
}

static char *sieve_flags_string(struct sieve_vm *vm, const struct sieve_node *n)
{
	if (!n->has_flags)
		return xstrdup(vm->flags.p != NULL ? vm->flags.p : "");
	struct buf set, s;
	buf_init(&set, SIEVE_STRING_MAX);
	buf_init(&s, SIEVE_STRING_MAX);
	for (size_t i = 0; i < n->flags->n; i++) {
		sieve_expand(vm, &n->flags->v[i], &s);
		sieve_flags_edit(&set, s.p != NULL ? s.p : "", s.len, true);
	}
	char *r = xstrdup(set.p != NULL ? set.p : "");
	buf_deinit(&set);
	buf_deinit(&s);
	return r;
}

static bool sieve_valid_mailbox(const char *p, size_t len)
{
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

static bool sieve_valid_address(const char *p, size_t len)
{
	const char *at = memchr(p, '@', len);
	if (len == 0 || len > 254 || at == NULL || at == p || at == p + len - 1)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f ||
		    p[i] == '<' || p[i] == '>' || p[i] == ',')
			return false;
	return true;
}

static char *sieve_str_dup(struct sieve_vm *vm, const struct sieve_list *l)
{
	if (l == NULL)
		return NULL;
	struct buf s;
	buf_init(&s, SIEVE_STRING_MAX);
	sieve_expand(vm, &l->v[0], &s);
	char *r = xmemdup0(s.p != NULL ? s.p : "", s.len);
	buf_deinit(&s);
	return r;
}

static void sieve_do_set(struct sieve_vm *vm, const struct sieve_node *n)
{
	struct buf v;
	buf_init(&v, SIEVE_STRING_MAX);
	sieve_expand(vm, &n->l2->v[0], &v);
	char *p = v.p != NULL ? v.p : "";
	if (n->mods & SIEVE_MOD_LOWER)
		for (size_t i = 0; i < v.len; i++)
			p[i] = (char)tolower((unsigned char)p[i]);
	if (n->mods & SIEVE_MOD_UPPER)
		for (size_t i = 0; i < v.len; i++)
			p[i] = (char)toupper((unsigned char)p[i]);
	if ((n->mods & SIEVE_MOD_LOWERFIRST) && v.len > 0)
		p[0] = (char)tolower((unsigned char)p[0]);
	if ((n->mods & SIEVE_MOD_UPPERFIRST) && v.len > 0)
		p[0] = (char)toupper((unsigned char)p[0]);
	if (n->mods & SIEVE_MOD_QUOTEWILDCARD) {
		struct buf q;
		buf_init(&q, SIEVE_STRING_MAX);
		for (size_t i = 0; i < v.len; i++)
			if ((strchr("*?\\", p[i]) != NULL && p[i] != '\0' &&
			     buf_append_char(&q, '\\') < 0) ||
			    buf_append_char(&q, p[i]) < 0)
				break;
		buf_reset(&v);
		if (q.len > 0 && buf_append(&v, q.p, q.len) < 0)
			buf_reset(&v);
		buf_deinit(&q);
	}
	if (n->mods & SIEVE_MOD_LENGTH) {
		/* characters, not bytes: count UTF-8 lead bytes */
		size_t chars = 0;
		for (size_t i = 0; i < v.len; i++)
			if (((unsigned char)v.p[i] & 0xc0) != 0x80)
				chars++;
		buf_reset(&v);
		if (buf_printf(&v, "%zu", chars) < 0)
			buf_reset(&v);
	}
	struct sieve_var *var =
	    sieve_var_find(vm, n->l1->v[0].p, n->l1->v[0].len, true);
	if (var == NULL) {
		sieve_fail(vm, n->line, "too many variables (max %u)",
			   SIEVE_VARIABLES_MAX);
	} else {
		buf_reset(&var->val);
		if (v.len > 0 && buf_append(&var->val, v.p, v.len) < 0)
			buf_reset(&var->val);
	}
	buf_deinit(&v);
}

static void sieve_do_flags(struct sieve_vm *vm, const struct sieve_node *n)
{
	struct buf *target = &vm->flags;
	struct buf s;
	buf_init(&s, SIEVE_STRING_MAX);
	if (n->l1 != NULL) {
		sieve_expand(vm, &n->l1->v[0], &s);
		struct sieve_var *v =
		    sieve_var_find(vm, s.p != NULL ? s.p : "", s.len, true);
		if (v == NULL) {
			sieve_fail(vm, n->line, "bad or too many variables");
			buf_deinit(&s);
			return;
		}
		target = &v->val;
	}
	if (n->cmd == SC_SETFLAG)
		buf_reset(target);
	for (size_t i = 0; i < n->l2->n; i++) {
		sieve_expand(vm, &n->l2->v[i], &s);
		sieve_flags_edit(target, s.p != NULL ? s.p : "", s.len,
				 n->cmd != SC_REMOVEFLAG);
	}
	buf_deinit(&s);
}

/* editheader (RFC 5293) */
static bool sieve_header_name_ok(const char *p, size_t len)
{
	if (len == 0 || len > 997)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 32 || (unsigned char)p[i] >= 127 ||
		    p[i] == ':')
			return false;
	return true;
}

static void sieve_do_addheader(struct sieve_vm *vm, const struct sieve_node *n)
{
	struct buf name, val, line;
	buf_init(&name, 1024);
	buf_init(&val, SIEVE_STRING_MAX);
	buf_init(&line, SIEVE_STRING_MAX + 1100);
	sieve_expand(vm, &n->l1->v[0], &name);
	sieve_expand(vm, &n->l2->v[0], &val);
	if (!sieve_header_name_ok(name.p, name.len)) {
		sieve_fail(vm, n->line, "addheader: invalid field name");
	} else if (strcasecmp(name.p, "received") != 0 &&
		   strcasecmp(name.p, "auto-submitted") != 0) {
		if (buf_append(&line, name.p, name.len) == 0 &&
		    buf_append_str(&line, ": ") == 0) {
			for (size_t i = 0; i < val.len; i++) {
				char c = val.p[i];
				if (c == '\r' || c == '\n' || c == '\0')
					c = ' ';
				if (buf_append_char(&line, c) < 0)
					break;
			}
			sieve_ign(buf_append_char(&line, '\n'));
		}
		size_t at = 0;
		if (n->last) {
			at = vm->hdr.len;
			/* before the blank line */
			if (at > 0 && vm->hdr.p[at - 1] == '\n') {
				at--;
				if (at > 0 && vm->hdr.p[at - 1] == '\r')
					at--;
				if (at > 0 && vm->hdr.p[at - 1] != '\n')
					at = vm->hdr.len; /* no blank */
			}
		}
		if (vm->hdr.len + line.len <= vm->hdr.max &&
		    buf_append(&vm->hdr, line.p, line.len) == 0) {
			memmove(vm->hdr.p + at + line.len, vm->hdr.p + at,
				vm->hdr.len - line.len - at);
			memcpy(vm->hdr.p + at, line.p, line.len);
			vm->hdr_edited = true;
		}
	}
	buf_deinit(&name);
	buf_deinit(&val);
	buf_deinit(&line);
}

static void sieve_do_deleteheader(struct sieve_vm *vm,
				  const struct sieve_node *n)
{
	struct buf name;
	buf_init(&name, 1024);
	sieve_expand(vm, &n->l1->v[0], &name);
	if (name.p == NULL || strcasecmp(name.p, "received") == 0 ||
	    strcasecmp(name.p, "auto-submitted") == 0) {
		buf_deinit(&name);
		return;
	}
	size_t total = 0, pos = 0;
	struct str fn, fv;
	while (mime_header_next(vm->hdr.p, vm->hdr.len, &pos, &fn, &fv))
		if (fn.len == name.len &&
		    strncasecmp(fn.p, name.p, name.len) == 0)
			total++;
	int64_t want = n->index;
	if (want > 0 && n->last)
		want = (int64_t)total - want + 1;
	struct buf out;
	buf_init(&out, vm->hdr.max);
	size_t i = 0;
	int64_t k = 0;
	while (i < vm->hdr.len) {
		/* one field: its first line and continuation lines */
		size_t s = i;
		const char *nl = memchr(vm->hdr.p + i, '\n', vm->hdr.len - i);
		i = nl != NULL ? (size_t)(nl - vm->hdr.p) + 1 : vm->hdr.len;
		while (i < vm->hdr.len &&
		       (vm->hdr.p[i] == ' ' || vm->hdr.p[i] == '\t')) {
			nl = memchr(vm->hdr.p + i, '\n', vm->hdr.len - i);
			i = nl != NULL ? (size_t)(nl - vm->hdr.p) + 1
				       : vm->hdr.len;
		}
		const char *f = vm->hdr.p + s;
		const char *colon = memchr(f, ':', i - s);
		bool del = false;
		if (colon != NULL && (size_t)(colon - f) == name.len &&
		    strncasecmp(f, name.p, name.len) == 0) {
			k++;
			del = want <= 0 || k == want;
			if (del && n->l2 != NULL) {
				struct sieve_vals vs = {0};
				struct buf tmp;
				buf_init(&tmp, SIEVE_HEADER_MAX);
				(void)mime_header_decode(
				    (struct str){
					colon + 1,
					(size_t)(vm->hdr.p + i - colon - 1)},
				    &tmp);
				(void)sieve_vals_add(&vs, tmp.p, tmp.len);
				del = sieve_compare(vm, n, &vs, n->l2);
				buf_deinit(&tmp);
				sieve_vals_free(&vs);
			}
		}
		if (!del && buf_append(&out, f, i - s) < 0)
			break;
		if (del)
			vm->hdr_edited = true;
	}
	buf_deinit(&vm->hdr);
	vm->hdr = out;
	if (vm->hdr.p == NULL)
		sieve_ign(buf_append(&vm->hdr, "", 0));
	buf_deinit(&name);
}

static void sieve_do_action(struct sieve_vm *vm, const struct sieve_node *n)
{
	struct sieve_action *a;
	struct buf s;
	switch (n->cmd) {
	case SC_KEEP:
		if ((a = sieve_act(vm, n->line, SIEVE_ACT_KEEP)) == NULL)
			return;
		a->flags = sieve_flags_string(vm, n);
		vm->explicit_keep = true;
		vm->cancel_keep = true;
		return;
	case SC_DISCARD:
		vm->cancel_keep = true;
		return;
	case SC_FILEINTO:
		buf_init(&s, SIEVE_STRING_MAX);
		sieve_expand(vm, &n->l1->v[0], &s);
		if (!sieve_valid_mailbox(s.p, s.len)) {
			sieve_fail(vm, n->line,
				   "fileinto: invalid folder name");
			buf_deinit(&s);
			return;
		}
		for (size_t i = 0; i < vm->r->n; i++)
			if (vm->r->v[i].kind == SIEVE_ACT_FILEINTO &&
			    strcmp(vm->r->v[i].arg, s.p) == 0) {
				if (!n->copy)
					vm->cancel_keep = true;
				buf_deinit(&s);
				return; /* RFC 5228 §4.1: once */
			}
		if ((a = sieve_act(vm, n->line, SIEVE_ACT_FILEINTO)) != NULL) {
			a->arg = xmemdup0(s.p, s.len);
			a->create = n->create;
			a->flags = sieve_flags_string(vm, n);
			if (!n->copy)
				vm->cancel_keep = true;
		}
		buf_deinit(&s);
		return;
	case SC_REDIRECT:
		buf_init(&s, SIEVE_STRING_MAX);
		sieve_expand(vm, &n->l1->v[0], &s);
		if (!sieve_valid_address(s.p, s.len)) {
			sieve_fail(vm, n->line, "redirect: invalid address");
			buf_deinit(&s);
			return;
		}
		for (size_t i = 0; i < vm->r->n; i++)
			if (vm->r->v[i].kind == SIEVE_ACT_REDIRECT &&
			    strcasecmp(vm->r->v[i].arg, s.p) == 0) {
				if (!n->copy)
					vm->cancel_keep = true;
				buf_deinit(&s);
				return;
			}
		if (++vm->redirects > SIEVE_REDIRECT_MAX) {
			sieve_fail(vm, n->line, "too many redirects (max %u)",
				   SIEVE_REDIRECT_MAX);
			buf_deinit(&s);
			return;
		}
		if ((a = sieve_act(vm, n->line, SIEVE_ACT_REDIRECT)) != NULL) {
			a->arg = xmemdup0(s.p, s.len);
			if (!n->copy)
				vm->cancel_keep = true;
		}
		buf_deinit(&s);
		return;
	case SC_REJECT:
	case SC_EREJECT:
		for (size_t i = 0; i < vm->r->n; i++)
			if (vm->r->v[i].kind == SIEVE_ACT_REJECT) {
				sieve_fail(vm, n->line,
					   "reject: only one reject allowed");
				return;
			}
		if ((a = sieve_act(vm, n->line, SIEVE_ACT_REJECT)) == NULL)
			return;
		a->arg = sieve_str_dup(vm, n->l1);
		a->ereject = n->cmd == SC_EREJECT;
		vm->cancel_keep = true;
		return;
	case SC_VACATION:
		if (vm->vacation_done) {
			sieve_fail(vm, n->line, "vacation: only one allowed");
			return;
		}
		vm->vacation_done = true;
		if ((a = sieve_act(vm, n->line, SIEVE_ACT_VACATION)) == NULL)
			return;
		a->arg = sieve_str_dup(vm, n->l1);
		a->seconds = n->num;
		a->from = sieve_str_dup(vm, n->from);
		a->subject = sieve_str_dup(vm, n->subject);
		a->handle = sieve_str_dup(vm, n->handle);
		a->mime = n->mime;
		if (n->addresses != NULL) {
			a->addresses = xcalloc(n->addresses->n, sizeof(char *));
			buf_init(&s, SIEVE_STRING_MAX);
			for (size_t i = 0; i < n->addresses->n; i++) {
				sieve_expand(vm, &n->addresses->v[i], &s);
				a->addresses[i] =
				    xmemdup0(s.p != NULL ? s.p : "", s.len);
			}
			a->naddresses = n->addresses->n;
			buf_deinit(&s);
		}
		return;
	default:
		return;
	}
}

static void sieve_exec(struct sieve_vm *vm, const struct sieve_node *v,
		       size_t nv)
{
	bool chain_taken = false;
	for (size_t i = 0; i < nv && !vm->stop; i++) {
		const struct sieve_node *n = &v[i];
		if (!sieve_step(vm, n->line))
			return;
		switch (n->cmd) {
		case SC_REQUIRE:
			break;
		case SC_IF:
			chain_taken = false;
			/* fall through */
		case SC_ELSIF:
			if (chain_taken)
				break;
			if (sieve_test(vm, &n->tests[0]) && !vm->error) {
				chain_taken = true;
				sieve_exec(vm, n->block, n->nblock);
			}
			break;
		case SC_ELSE:
			if (!chain_taken)
				sieve_exec(vm, n->block, n->nblock);
			chain_taken = true;
			break;
		case SC_STOP:
			vm->stop = true;
			break;
		case SC_SET:
			sieve_do_set(vm, n);
			break;
		case SC_ADDFLAG:
		case SC_SETFLAG:
		case SC_REMOVEFLAG:
			sieve_do_flags(vm, n);
			break;
		case SC_ADDHEADER:
			sieve_do_addheader(vm, n);
			break;
		case SC_DELETEHEADER:
			sieve_do_deleteheader(vm, n);
			break;
		default:
			sieve_do_action(vm, n);
			break;
		}
	}
}

void sieve_result_free(struct sieve_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct sieve_action *a = &r->v[i];
		free(a->arg);
		free(a->flags);
		free(a->from);
		free(a->subject);
		free(a->handle);
		for (size_t k = 0; k < a->naddresses; k++)
			free(a->addresses[k]);
		free(a->addresses);
	}
	free(r->v);
	free(r->header);
	memset(r, 0, sizeof(*r));
}

int sieve_run(const struct sieve_program *p, const struct sieve_msg *msg,
	      const struct sieve_env *env, struct sieve_result *r,
	      char *error_r, size_t errsz)
{
	struct sieve_vm vm = {
	    .p = p,
	    .m = msg,
	    .env = env,
	    .r = r,
	    .err = error_r,
	    .errsz = errsz,
	};
	memset(r, 0, sizeof(*r));
	if (errsz > 0)
		error_r[0] = '\0';
	vm.vars = xcalloc(SIEVE_VARIABLES_MAX, sizeof(*vm.vars));
	for (size_t i = 0; i < SIEVE_MATCH_VARS; i++) {
		buf_init(&vm.caps.v[i], SIEVE_STRING_MAX);
		buf_init(&vm.scratch.v[i], SIEVE_STRING_MAX);
	}
	buf_init(&vm.flags, SIEVE_STRING_MAX);
	size_t hl = sieve_header_len(msg->data, msg->len);
	vm.body_off = hl;
	vm.has_body = hl > 0 && msg->data[hl - 1] == '\n' &&
		      (hl == 1 || msg->data[hl - 2] == '\n' ||
		       (hl >= 3 && msg->data[hl - 2] == '\r' &&
			msg->data[hl - 3] == '\n'));
	buf_init(&vm.hdr, hl + SIEVE_HEADER_MAX);
	if (buf_append(&vm.hdr, msg->data, hl) < 0 ||
	    buf_append(&vm.hdr, "", 0) < 0)
		buf_reset(&vm.hdr);

	sieve_exec(&vm, p->cmds, p->n);

	if (!vm.error) {
		bool reject = false;
		for (size_t i = 0; i < r->n; i++)
			reject = reject || r->v[i].kind == SIEVE_ACT_REJECT;
		/* RFC 5429 §2.1: reject cannot go with a delivery or a
		   vacation */
		for (size_t i = 0; reject && i < r->n && !vm.error; i++)
			if (r->v[i].kind == SIEVE_ACT_KEEP ||
			    r->v[i].kind == SIEVE_ACT_FILEINTO ||
			    r->v[i].kind == SIEVE_ACT_VACATION ||
			    r->v[i].kind == SIEVE_ACT_REDIRECT)
				sieve_fail(&vm, 0,
					   "reject cannot be combined with "
					   "keep, fileinto, redirect or "
					   "vacation");
	}
	if (!vm.error && !vm.cancel_keep) {
		struct sieve_action *a = sieve_act(&vm, 0, SIEVE_ACT_KEEP);
		if (a != NULL)
			a->flags =
			    xstrdup(vm.flags.p != NULL ? vm.flags.p : "");
	}
	if (!vm.error && vm.hdr_edited) {
		r->header = xmemdup0(vm.hdr.p, vm.hdr.len);
		r->header_len = vm.hdr.len;
		r->body_off = hl;
	}
	for (size_t i = 0; i < vm.nvars; i++)
		buf_deinit(&vm.vars[i].val);
	free(vm.vars);
	for (size_t i = 0; i < SIEVE_MATCH_VARS; i++) {
		buf_deinit(&vm.caps.v[i]);
		buf_deinit(&vm.scratch.v[i]);
	}
	buf_deinit(&vm.flags);
	buf_deinit(&vm.hdr);
	mime_free(&vm.mime);
	if (vm.error) {
		sieve_result_free(r);
		return -1;
	}
	return 0;
}
