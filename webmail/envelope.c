/*
 * The message list from youju.index (docs/mra.md): an entry cached by
 * youju-mra holds the message's IMAP ENVELOPE (RFC 3501 §7.4.2) and
 * BODYSTRUCTURE as sent to clients; reading the Date, Subject and From
 * from there saves opening every message file of a large folder.  This
 * is a reader of IMAP's own syntax (NIL, quoted strings with \ escapes,
 * {n} literals, parenthesized lists), so bytes of a cache file are
 * parsed with the same care as a network input: every step is bounded
 * by the length and a malformed entry just means "read the file".
 */
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mime.h"
#include "summary.h"
#include "xalloc.h"

/* Most nesting of lists walked (ENVELOPE has 3, BODYSTRUCTURE more). */
#define ENV_DEPTH_MAX 64

struct tok {
	const char *p, *end;
};

static void skip_sp(struct tok *t)
{
	while (t->p < t->end && *t->p == ' ')
		t->p++;
}

/*
 * Reads one nstring: NIL (-> *s NULL, true), a quoted string (unescaped
 * into out) or a literal.  Returns false when the next item is not one.
 */
static bool nstring(struct tok *t, struct buf *out, bool *nil_r)
{
	skip_sp(t);
	*nil_r = false;
	size_t left = (size_t)(t->end - t->p);
	if (left >= 3 && strncasecmp(t->p, "NIL", 3) == 0) {
		t->p += 3;
		*nil_r = true;
		return true;
	}
	if (left > 0 && *t->p == '"') {
		t->p++;
		while (t->p < t->end && *t->p != '"') {
			if (*t->p == '\\' && t->p + 1 < t->end)
				t->p++;
			if (buf_append_char(out, *t->p) < 0)
				return false;
			t->p++;
		}
		if (t->p >= t->end)
			return false;
		t->p++;
		return true;
	}
	if (left > 0 && *t->p == '{') {
		size_t n = 0;
		const char *q = t->p + 1;
		while (q < t->end && *q >= '0' && *q <= '9' && n < (1u << 30))
			n = n * 10 + (size_t)(*q++ - '0');
		if (q + 3 > t->end || q[0] != '}' || q[1] != '\r' ||
		    q[2] != '\n' || n > (size_t)(t->end - (q + 3)))
			return false;
		q += 3;
		if (buf_append(out, q, n) < 0)
			return false;
		t->p = q + n;
		return true;
	}
	return false;
}

/* Skips one item of any kind (a list with what it holds). */
static bool skip_item(struct tok *t, int depth)
{
	skip_sp(t);
	if (t->p >= t->end || depth > ENV_DEPTH_MAX)
		return false;
	if (*t->p == '(') {
		t->p++;
		for (;;) {
			skip_sp(t);
			if (t->p >= t->end)
				return false;
			if (*t->p == ')') {
				t->p++;
				return true;
			}
			if (!skip_item(t, depth + 1))
				return false;
		}
	}
	if (*t->p == '"' || *t->p == '{') {
		struct buf b;
		bool nil;
		buf_init(&b, 1u << 20);
		bool ok = nstring(t, &b, &nil);
		buf_deinit(&b);
		return ok;
	}
	/* an atom or number */
	const char *s = t->p;
	while (t->p < t->end && *t->p != ' ' && *t->p != '(' && *t->p != ')' &&
	       *t->p != '"')
		t->p++;
	return t->p > s;
}

static bool expect(struct tok *t, char c)
{
	skip_sp(t);
	if (t->p >= t->end || *t->p != c)
		return false;
	t->p++;
	return true;
}

/* The first address of an address list as "Name <mbox@host>" (the name
   RFC 2047-decoded), or "mbox@host". */
static bool first_address(struct tok *t, struct buf *out)
{
	skip_sp(t);
	size_t left = (size_t)(t->end - t->p);
	if (left >= 3 && strncasecmp(t->p, "NIL", 3) == 0) {
		t->p += 3;
		return true;
	}
	if (!expect(t, '('))
		return false;
	bool first = true;
	for (;;) {
		skip_sp(t);
		if (t->p < t->end && *t->p == ')') {
			t->p++;
			return true;
		}
		if (!expect(t, '('))
			return false;
		struct buf f[4];
		bool nil[4], ok = true;
		for (int i = 0; i < 4; i++)
			buf_init(&f[i], 1u << 16);
		for (int i = 0; i < 4 && ok; i++)
			ok = nstring(t, &f[i], &nil[i]);
		ok = ok && expect(t, ')');
		if (ok && first) {
			first = false;
			struct buf name;
			buf_init(&name, 1u << 16);
			if (f[0].len > 0)
				(void)!mime_header_decode(
				    (struct str){f[0].p, f[0].len}, &name);
			int r = 0;
			if (name.len > 0)
				r |= buf_printf(out, "%s <", buf_cstr(&name));
			r |= buf_append(out, f[2].p ? f[2].p : "", f[2].len);
			if (!nil[3])
				r |= buf_printf(out, "@%s", buf_cstr(&f[3]));
			if (name.len > 0)
				r |= buf_append_char(out, '>');
			buf_deinit(&name);
			ok = r == 0;
		}
		for (int i = 0; i < 4; i++)
			buf_deinit(&f[i]);
		if (!ok)
			return false;
	}
}

int wm_summary_from_envelope(const char *env, size_t len, const char *bs,
			     size_t bslen, struct wm_summary *s)
{
	struct tok t = {env, env + len};
	struct buf date, subj, from;
	bool nil;
	int rc = -1;
	buf_init(&date, 1u << 16);
	buf_init(&subj, 1u << 20);
	buf_init(&from, 1u << 16);
	if (!expect(&t, '(') || !nstring(&t, &date, &nil) ||
	    !nstring(&t, &subj, &nil) || !first_address(&t, &from))
		goto out;
	memset(s, 0, sizeof *s);
	s->has_date =
	    wm_parse_date(date.p ? date.p : "", date.len, &s->date) == 0;
	struct buf dec;
	buf_init(&dec, 1u << 20);
	(void)!mime_header_decode((struct str){subj.p ? subj.p : "", subj.len},
				  &dec);
	s->subject = xstrdup(buf_cstr(&dec));
	buf_deinit(&dec);
	s->from = xstrdup(buf_cstr(&from));
	/* BODYSTRUCTURE of a multipart: "(" children... subtype ...; the
	   first string at the top level is the subtype (RFC 3501 §7.4.2) */
	struct tok b = {bs, bs + bslen};
	if (expect(&b, '(')) {
		skip_sp(&b);
		if (b.p < b.end && *b.p == '(') {
			while (b.p < b.end && *b.p == '(' && skip_item(&b, 1))
				skip_sp(&b);
			struct buf sub;
			buf_init(&sub, 256);
			if (nstring(&b, &sub, &nil) && !nil)
				s->attachments =
				    strcasecmp(buf_cstr(&sub), "mixed") == 0;
			buf_deinit(&sub);
		}
	}
	rc = 0;
out:
	buf_deinit(&date);
	buf_deinit(&subj);
	buf_deinit(&from);
	return rc;
}
