/*
 * The RFC 5322 address-list parser (addrlist.h).  A lexer turns the field
 * into tokens — atoms, quoted strings, domain literals and the specials
 * that matter (, ; : < > @ .) — skipping white space and comments (the
 * last comment is remembered: an addr-spec's comment is its name, RFC 5322
 * §3.4 leaves that to the reader and Dovecot does it).  The parser reads
 * one member at a time: words up to '<' are a display name, up to ':' a
 * group name, up to '@' a local part.  Every loop advances at least one
 * byte, so the time is linear in the input.
 */
#include "addrlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

enum tok_kind { TOK_END, TOK_ATOM, TOK_QUOTED, TOK_DLIT, TOK_SPECIAL };

struct tok {
	enum tok_kind kind;
	const char *p; /* the raw token: "a", "\"q\"", "[d]", "," */
	size_t len;
	bool space_before; /* white space or a comment before it */
};

struct lexer {
	const char *start, *p, *end;
	const char *comment; /* the last comment's content */
	size_t comment_len;
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 5322 specials that end an atom ('\\' and '[' ']' are atom text
   here unless they open something, as lenient readers take them) */
static bool is_special(char c)
{
	return c == '(' || c == ')' || c == '<' || c == '>' || c == '@' ||
	       c == ',' || c == ';' || c == ':' || c == '"' || c == '.' ||
	       c == '[';
}

/* Skips a comment at lx->p ('('), nested, with quoted-pairs; an
   unterminated one runs to the end. */
static void lex_comment(struct lexer *lx)
{
	int depth = 0;
	const char *body = lx->p + 1;
	while (lx->p < lx->end) {
		char c = *lx->p++;
		if (c == '\\' && lx->p < lx->end) {
			lx->p++;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && --depth == 0) {
			lx->comment = body;
			lx->comment_len = (size_t)(lx->p - 1 - body);
			return;
		}
	}
	lx->comment = body;
	lx->comment_len = (size_t)(lx->end - body);
}

static struct tok lex_next(struct lexer *lx)
{
	struct tok t = {TOK_END, lx->end, 0, false};
	while (lx->p < lx->end && (is_wsp(*lx->p) || *lx->p == '(')) {
		t.space_before = true;
		if (*lx->p == '(')
			lex_comment(lx);
		else
			lx->p++;
	}
	if (lx->p >= lx->end)
		return t;
	t.p = lx->p;
	char c = *lx->p;
	if (c == '"' || c == '[') {
		char close = c == '"' ? '"' : ']';
		t.kind = c == '"' ? TOK_QUOTED : TOK_DLIT;
		lx->p++;
		while (lx->p < lx->end && *lx->p != close) {
			if (*lx->p == '\\' && lx->p + 1 < lx->end)
				lx->p++;
			lx->p++;
		}
		if (lx->p < lx->end)
			lx->p++; /* the closing quote or bracket */
	} else if (is_special(c) || c == ')') {
		t.kind = TOK_SPECIAL;
		lx->p++;
	} else {
		t.kind = TOK_ATOM;
		while (lx->p < lx->end && !is_wsp(*lx->p) &&
		       !is_special(*lx->p) && *lx->p != ')')
			lx->p++;
	}
	t.len = (size_t)(lx->p - t.p);
	return t;
}

/* The next token without taking it; the comments before it are taken
   (remembered) all the same, so "a@b (Name)" keeps its name. */
static struct tok lex_peek(struct lexer *lx)
{
	const char *save = lx->p;
	struct tok t = lex_next(lx);
	lx->p = save;
	return t;
}

static bool tok_is(const struct tok *t, char c)
{
	return t->kind == TOK_SPECIAL && t->p[0] == c;
}

/* ---- building the strings -------------------------------------------- */

/* A string under construction; it never outgrows the input, so plain
   malloc growth is bounded by the field's own size. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_put(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Appends a quoted string's content, quoted-pairs resolved. */
static void sb_unquote(struct sbuf *b, const struct tok *t)
{
	const char *p = t->p + 1, *end = t->p + t->len;
	if (end > p && end[-1] == '"' && end - 1 >= p)
		end--;
	while (p < end) {
		if (*p == '\\' && p + 1 < end)
			p++;
		sb_put(b, p, 1);
		p++;
	}
}

/* A quoted string as written, closed if it was not. */
static void sb_quoted_raw(struct sbuf *b, const struct tok *t)
{
	sb_put(b, t->p, t->len);
	bool closed = t->len >= 2 && t->p[t->len - 1] == '"';
	if (closed) {
		/* an escaped final quote ("a\") does not close it */
		size_t bs = 0;
		for (size_t i = t->len - 1; i-- > 1 && t->p[i] == '\\';)
			bs++;
		closed = bs % 2 == 0;
	}
	if (!closed)
		sb_put(b, "\"", 1);
}

/* Appends comment text with quoted-pairs resolved and white space
   collapsed. */
static void sb_comment(struct sbuf *b, const char *p, size_t n)
{
	bool sp = false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\\' && i + 1 < n)
			c = p[++i];
		else if (is_wsp(c)) {
			sp = b->len > 0;
			continue;
		}
		if (sp)
			sb_put(b, " ", 1);
		sp = false;
		sb_put(b, &c, 1);
	}
}

static void sb_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

static char *sb_take(struct sbuf *b, size_t *len_r)
{
	*len_r = b->len;
	char *s = b->p != NULL ? b->p : xstrdup("");
	*b = (struct sbuf){NULL, 0, 0};
	return s;
}

static void sb_free(struct sbuf *b)
{
	free(b->p);
	*b = (struct sbuf){NULL, 0, 0};
}

static bool has_ctl(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 32 || p[i] == 127)
			return true;
	return false;
}

/* ---- the list --------------------------------------------------------- */

static struct addrlist_addr *al_add(struct addrlist *l, enum addrlist_kind kind)
{
	if (l->n >= ADDRLIST_MAX) {
		l->truncated = true;
		return NULL;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	struct addrlist_addr *a = &l->v[l->n++];
	memset(a, 0, sizeof *a);
	a->kind = kind;
	return a;
}

/* Reads a domain after '@': atoms, dots and literals, CFWS dropped. */
static void parse_domain(struct lexer *lx, struct sbuf *d)
{
	for (;;) {
		struct tok t = lex_peek(lx);
		if (t.kind == TOK_ATOM || t.kind == TOK_DLIT || tok_is(&t, '.'))
			sb_put(d, t.p, t.len);
		else
			return;
		(void)lex_next(lx);
	}
}

/* Reads a local part: atoms, dots and quoted strings as written. */
static void parse_local(struct lexer *lx, struct sbuf *m)
{
	for (;;) {
		struct tok t = lex_peek(lx);
		if (t.kind == TOK_QUOTED)
			sb_quoted_raw(m, &t);
		else if (t.kind == TOK_ATOM || tok_is(&t, '.'))
			sb_put(m, t.p, t.len);
		else
			return;
		(void)lex_next(lx);
	}
}

/* Skips the rest of a member up to (not past) ',' or ';' or the end. */
static void skip_member(struct lexer *lx)
{
	for (;;) {
		struct tok t = lex_peek(lx);
		if (t.kind == TOK_END || tok_is(&t, ',') || tok_is(&t, ';'))
			return;
		(void)lex_next(lx);
	}
}

/* "<" [route ":"] local "@" domain ">" — the '<' already read. */
static void parse_angle(struct lexer *lx, struct sbuf *route, struct sbuf *m,
			struct sbuf *d, bool *has_domain)
{
	struct tok t = lex_peek(lx);
	if (tok_is(&t, '@')) {
		/* obs-route: "@a,@b:" (obs-domain-list, empty items too) */
		const char *save = lx->p;
		struct sbuf r = {NULL, 0, 0};
		bool ok = false;
		for (;;) {
			t = lex_next(lx);
			if (tok_is(&t, ':')) {
				ok = true;
				break;
			}
			if (tok_is(&t, ',')) {
				if (r.len > 0)
					sb_put(&r, ",", 1);
				continue;
			}
			if (!tok_is(&t, '@'))
				break;
			sb_put(&r, "@", 1);
			parse_domain(lx, &r);
		}
		if (ok) {
			sb_put(route, r.p ? r.p : "", r.len);
		} else {
			lx->p = save; /* not a route after all */
		}
		sb_free(&r);
	}
	parse_local(lx, m);
	t = lex_peek(lx);
	if (tok_is(&t, '@')) {
		(void)lex_next(lx);
		*has_domain = true;
		parse_domain(lx, d);
	}
	/* up to the '>' (anything else in the brackets is dropped) */
	for (;;) {
		t = lex_peek(lx);
		if (t.kind == TOK_END || tok_is(&t, ',') || tok_is(&t, ';'))
			return;
		(void)lex_next(lx);
		if (tok_is(&t, '>'))
			return;
	}
}

static void set_str(char **dst, size_t *len_r, struct sbuf *b)
{
	*dst = sb_take(b, len_r);
}

/* The local part as written ("a"."b c") with its quoted strings
   unquoted (a.b c). */
static void unquote_local(const char *p, size_t n, struct sbuf *out)
{
	bool q = false;
	sb_put(out, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"') {
			q = !q;
			continue;
		}
		if (q && p[i] == '\\' && i + 1 < n)
			i++;
		sb_put(out, p + i, 1);
	}
}

/* One member from the current position; *in_group tracks groups.
   Returns MEMBER_NONE (nothing there), MEMBER_BOX or MEMBER_GROUP (a
   group's "name:" was read). */
enum { MEMBER_NONE, MEMBER_BOX, MEMBER_GROUP };
static int parse_member(struct lexer *lx, struct addrlist *l, bool *in_group)
{
	int rc = MEMBER_NONE;
	struct sbuf phrase = {NULL, 0, 0}, local = {NULL, 0, 0};
	struct sbuf route = {NULL, 0, 0}, dom = {NULL, 0, 0};
	struct sbuf name = {NULL, 0, 0};
	size_t src_off = (size_t)(lx->p - lx->start);
	bool angle = false, has_domain = false, words = false;
	lx->comment = NULL;
	for (;;) {
		struct tok t = lex_peek(lx);
		if (t.kind == TOK_ATOM || t.kind == TOK_QUOTED ||
		    t.kind == TOK_DLIT || tok_is(&t, '.')) {
			(void)lex_next(lx);
			if (phrase.len > 0 && t.space_before &&
			    !tok_is(&t, '.'))
				sb_put(&phrase, " ", 1);
			if (t.kind == TOK_QUOTED) {
				sb_unquote(&phrase, &t);
				sb_quoted_raw(&local, &t);
			} else {
				sb_put(&phrase, t.p, t.len);
				sb_put(&local, t.p, t.len);
			}
			words = true;
			continue;
		}
		if (tok_is(&t, '<')) {
			(void)lex_next(lx);
			angle = true;
			sb_free(&local);
			parse_angle(lx, &route, &local, &dom, &has_domain);
			skip_member(lx);
			break;
		}
		if (tok_is(&t, ':') && !*in_group) {
			(void)lex_next(lx);
			struct addrlist_addr *a =
			    al_add(l, ADDRLIST_GROUP_START);
			if (a != NULL) {
				set_str(&a->name, &a->name_len, &phrase);
				a->src_off = src_off;
				a->src_len =
				    (size_t)(lx->p - lx->start) - src_off;
			}
			*in_group = true;
			rc = MEMBER_GROUP;
			goto out;
		}
		if (tok_is(&t, '@')) {
			(void)lex_next(lx);
			has_domain = true;
			parse_domain(lx, &dom);
			skip_member(lx);
			break;
		}
		if (t.kind == TOK_END || tok_is(&t, ',') || tok_is(&t, ';'))
			break;
		/* a stray '>' ')' ':': the words before it were no
		   address; start again after it */
		(void)lex_next(lx);
		sb_reset(&phrase);
		sb_reset(&local);
		words = false;
	}
	if (!words && !angle && !has_domain)
		goto out; /* an empty member */
	rc = MEMBER_BOX;
	struct addrlist_addr *a = al_add(l, ADDRLIST_MAILBOX);
	if (a == NULL)
		goto out;
	if (angle) {
		if (phrase.len > 0)
			set_str(&a->name, &a->name_len, &phrase);
	} else if (lx->comment != NULL) {
		/* "user@domain (Real Name)" */
		sb_comment(&name, lx->comment, lx->comment_len);
		if (name.len > 0)
			set_str(&a->name, &a->name_len, &name);
	}
	if (route.len > 0)
		set_str(&a->route, &a->route_len, &route);
	set_str(&a->mailbox, &a->mailbox_len, &local);
	unquote_local(a->mailbox, a->mailbox_len, &name);
	set_str(&a->local, &a->local_len, &name);
	if (has_domain)
		set_str(&a->domain, &a->domain_len, &dom);
	a->ctl = has_ctl(a->mailbox, a->mailbox_len) ||
		 (a->domain != NULL && has_ctl(a->domain, a->domain_len));
	a->src_off = src_off;
	a->src_len = (size_t)(lx->p - lx->start) - src_off;
out:
	sb_free(&phrase);
	sb_free(&local);
	sb_free(&route);
	sb_free(&dom);
	sb_free(&name);
	return rc;
}

/* An empty member before a ',' ("a@b, , c@d", ",a@b"): Dovecot lists it
   as MISSING_MAILBOX@MISSING_DOMAIN, so it is kept as an entry with an
   empty mailbox; one after the last ',' is nothing. */
static void add_empty(struct addrlist *l, size_t off)
{
	struct addrlist_addr *a = al_add(l, ADDRLIST_MAILBOX);
	if (a == NULL)
		return;
	a->mailbox = xstrdup("");
	a->local = xstrdup("");
	a->src_off = off;
}

/* Takes one ',' after a member or group end, if there is one. */
static void take_comma(struct lexer *lx)
{
	struct tok t = lex_peek(lx);
	if (tok_is(&t, ','))
		(void)lex_next(lx);
}

void addrlist_parse(const char *p, size_t len, struct addrlist *l)
{
	memset(l, 0, sizeof *l);
	struct lexer lx = {p, p, p + len, NULL, 0};
	bool in_group = false;
	while (!l->truncated) {
		struct tok t = lex_peek(&lx);
		if (t.kind == TOK_END)
			break;
		if (tok_is(&t, ',')) {
			(void)lex_next(&lx);
			add_empty(l, (size_t)(t.p - p));
			continue;
		}
		if (tok_is(&t, ';')) {
			(void)lex_next(&lx);
			if (in_group) {
				struct addrlist_addr *a =
				    al_add(l, ADDRLIST_GROUP_END);
				if (a != NULL) {
					a->src_off = (size_t)(t.p - p);
					a->src_len = 1;
				}
				in_group = false;
			}
			take_comma(&lx);
			continue;
		}
		const char *before = lx.p;
		int r = parse_member(&lx, l, &in_group);
		if (r != MEMBER_GROUP)
			take_comma(&lx);
		if (lx.p == before)
			(void)lex_next(&lx); /* cannot happen; never loop */
	}
	if (in_group && !l->truncated) {
		struct addrlist_addr *a = al_add(l, ADDRLIST_GROUP_END);
		if (a != NULL)
			a->src_off = len;
	}
}

int addrlist_addr_spec(const struct addrlist_addr *a, char *out, size_t outsz)
{
	if (a->kind != ADDRLIST_MAILBOX || a->ctl || a->domain == NULL ||
	    strlen(a->local) != a->local_len)
		return -1;
	int k = snprintf(out, outsz, "%s@%s", a->local, a->domain);
	return k < 0 || (size_t)k >= outsz ? -1 : 0;
}

long addrlist_each_addr_spec(const char *v, size_t len,
			     bool (*fn)(void *ctx, const char *addr), void *ctx)
{
	struct addrlist l;
	long seen = 0;
	addrlist_parse(v, len, &l);
	for (size_t i = 0; i < l.n; i++) {
		char addr[512];
		if (l.v[i].kind != ADDRLIST_MAILBOX)
			continue;
		if (addrlist_addr_spec(&l.v[i], addr, sizeof addr) < 0) {
			seen = -1;
			break;
		}
		seen++;
		if (!fn(ctx, addr))
			break;
	}
	addrlist_free(&l);
	return seen;
}

void addrlist_free(struct addrlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].route);
		free(l->v[i].mailbox);
		free(l->v[i].local);
		free(l->v[i].domain);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

int addrlist_format(const struct addrlist *l, struct buf *out)
{
	bool first = true;
	for (size_t i = 0; i < l->n; i++) {
		const struct addrlist_addr *a = &l->v[i];
		if (a->kind == ADDRLIST_GROUP_END) {
			if (buf_append_char(out, ';') < 0)
				return -1;
			first = false;
			continue;
		}
		if (!first && buf_append(out, ", ", 2) < 0)
			return -1;
		first = false;
		if (a->kind == ADDRLIST_GROUP_START) {
			if ((a->name != NULL &&
			     buf_append(out, a->name, a->name_len) < 0) ||
			    buf_append_char(out, ':') < 0)
				return -1;
			first = true; /* no ", " right after "group:" */
			if (buf_append_char(out, ' ') < 0)
				return -1;
			continue;
		}
		bool named = a->name != NULL;
		if (named && (buf_append(out, a->name, a->name_len) < 0 ||
			      buf_append(out, " <", 2) < 0))
			return -1;
		if (buf_append(out, a->local, a->local_len) < 0)
			return -1;
		if (a->domain != NULL &&
		    (buf_append_char(out, '@') < 0 ||
		     buf_append(out, a->domain, a->domain_len) < 0))
			return -1;
		if (named && buf_append_char(out, '>') < 0)
			return -1;
	}
	return 0;
}
