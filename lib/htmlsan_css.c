/*
 * CSS sanitizer for mail HTML.  Mail CSS was the way around Roundcube's
 * washtml year after year: url() for tracking and remote loads
 * (CVE-2024-42010, CVE-2025-68460), var() (CVE-2026-48846), fixed
 * positioning over the app and !important defeating the fix
 * (CVE-2026-35544), expression()/behavior/-moz-binding in old engines.  So
 * nothing is matched by pattern: escapes and comments are resolved first
 * (CSS Syntax 3 §4.3.7 for escapes), the result is tokenized, each token is
 * checked against an allowlist and written back in one canonical spelling.
 * What the browser parses is therefore exactly what was checked.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "htmlsan_css.h"
#include "str.h"

#define CSS_NEST_MAX 8	  /* parentheses in one value */
#define CSS_SEL_MAX  1024 /* bytes of one selector list */

struct css {
	const struct htmlsan_opts *o;
	struct htmlsan_report *r;
};

static void count(unsigned *c)
{
	if (*c < UINT32_MAX)
		(*c)++;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	return buf_append(b, u, str_utf8_encode(cp, u));
}

/*
 * Comments become one space, escapes their code point, NUL U+FFFD.  An
 * escaped character loses its "escaped" status here, which is what makes
 * `\75 rl(` and `u\72l(` plain url( for the checks below; the output never
 * contains a backslash, so the browser cannot read it differently.
 */
static int css_decode(const char *in, size_t len, struct buf *d)
{
	size_t i = 0;
	if (len > HTMLSAN_CSS_IN_MAX)
		len = HTMLSAN_CSS_IN_MAX;
	while (i < len) {
		char c = in[i];
		if (c == '/' && i + 1 < len && in[i + 1] == '*') {
			const char *e =
			    memmem(in + i + 2, len - i - 2, "*/", 2);
			if (buf_append_char(d, ' ') < 0)
				return -1;
			if (e == NULL)
				break;
			i = (size_t)(e - in) + 2;
			continue;
		}
		if (c == '\\') {
			i++;
			if (i >= len)
				break;
			if (in[i] == '\n' || in[i] == '\r' || in[i] == '\f') {
				i++;
				continue;
			}
			if (str_hex_digit(in[i]) >= 0) {
				uint32_t cp = 0;
				int n = 0;
				while (i < len && n < 6 &&
				       str_hex_digit(in[i]) >= 0) {
					cp = cp * 16 +
					     (uint32_t)str_hex_digit(in[i]);
					i++;
					n++;
				}
				if (i < len && is_ws(in[i]))
					i++;
				if (put_utf8(d, cp) < 0)
					return -1;
				continue;
			}
			/* any other escaped byte stands for itself */
		}
		if (c == '\0') {
			if (put_utf8(d, 0xfffd) < 0)
				return -1;
			i++;
			continue;
		}
		if (c == '\\')
			c = in[i];
		if (buf_append_char(d, c) < 0)
			return -1;
		i++;
	}
	return 0;
}

/* Properties mail may set.  Nothing that positions, loads or animates. */
static const char *const css_props[] = {
    "background",
    "background-color",
    "background-image",
    "background-position",
    "background-repeat",
    "background-size",
    "border",
    "border-bottom",
    "border-bottom-color",
    "border-bottom-left-radius",
    "border-bottom-right-radius",
    "border-bottom-style",
    "border-bottom-width",
    "border-collapse",
    "border-color",
    "border-left",
    "border-left-color",
    "border-left-style",
    "border-left-width",
    "border-radius",
    "border-right",
    "border-right-color",
    "border-right-style",
    "border-right-width",
    "border-spacing",
    "border-style",
    "border-top",
    "border-top-color",
    "border-top-left-radius",
    "border-top-right-radius",
    "border-top-style",
    "border-top-width",
    "border-width",
    "box-sizing",
    "caption-side",
    "clear",
    "color",
    "direction",
    "display",
    "empty-cells",
    "float",
    "font",
    "font-family",
    "font-size",
    "font-stretch",
    "font-style",
    "font-variant",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "list-style",
    "list-style-position",
    "list-style-type",
    "margin",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "margin-top",
    "max-height",
    "max-width",
    "min-height",
    "min-width",
    "opacity",
    "outline",
    "outline-color",
    "outline-style",
    "outline-width",
    "overflow",
    "overflow-wrap",
    "overflow-x",
    "overflow-y",
    "padding",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "padding-top",
    "position",
    "table-layout",
    "text-align",
    "text-decoration",
    "text-decoration-color",
    "text-decoration-line",
    "text-decoration-style",
    "text-indent",
    "text-overflow",
    "text-transform",
    "unicode-bidi",
    "vertical-align",
    "visibility",
    "white-space",
    "width",
    "word-break",
    "word-spacing",
    "word-wrap",
};

bool htmlsan_sorted_has(const char *const *l, size_t n, const char *p,
			size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		size_t sl = strlen(l[mid]);
		int c = memcmp(p, l[mid], len < sl ? len : sl);
		if (c == 0)
			c = len < sl ? -1 : len > sl;
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

static bool css_prop_ok(const char *p, size_t n)
{
	return htmlsan_sorted_has(
	    css_props, sizeof(css_props) / sizeof(css_props[0]), p, n);
}

static bool css_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '#' || c == '%' || c == '.' ||
	       c == '+' || c == '-' || c == '_' || c >= 0x80;
}

static bool css_str_char(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\'' && c != '\\' && c != '<' &&
	       c != '>' && c != '{' && c != '}' && c != ';' && c != 0x7f;
}

static bool case_eq(const char *p, size_t n, const char *s)
{
	return str_case_eq_cstr((struct str){p, n}, s);
}

/* Characters kept in an emitted url("..."): everything else %XX. */
static int css_put_url(struct buf *v, const char *u, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	if (buf_append_str(v, "url(\"") < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') ||
			  strchr("-._~:/?#@!$&*+,;=%", c) != NULL;
		if (c == 0)
			ok = false;
		if (ok) {
			if (buf_append_char(v, (char)c) < 0)
				return -1;
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			if (buf_append(v, e, 3) < 0)
				return -1;
		}
	}
	return buf_append_str(v, "\")");
}

/*
 * One value (decoded text) -> canonical tokens in v.  Returns 1 when the
 * value is allowed, 0 when the declaration must go, -1 when v is full.
 */
static int css_value(struct css *c, const char *p, size_t n, struct buf *v,
		     bool *important)
{
	size_t i = 0;
	int depth = 0;
	bool space = false;
	*important = false;
	while (i < n) {
		unsigned char ch = (unsigned char)p[i];
		if (is_ws((char)ch)) {
			space = true;
			i++;
			continue;
		}
		if (space && v->len > 0 && ch != ')' && ch != ',' &&
		    buf_append_char(v, ' ') < 0)
			return -1;
		space = false;
		if (ch == '"' || ch == '\'') {
			size_t j = i + 1;
			while (j < n && p[j] != (char)ch) {
				if (!css_str_char((unsigned char)p[j]))
					return 0;
				j++;
			}
			if (j >= n)
				return 0;
			if (buf_append_char(v, '"') < 0 ||
			    buf_append(v, p + i + 1, j - i - 1) < 0 ||
			    buf_append_char(v, '"') < 0)
				return -1;
			i = j + 1;
			continue;
		}
		if (css_word_char(ch)) {
			size_t j = i;
			while (j < n && css_word_char((unsigned char)p[j]))
				j++;
			if (j < n && p[j] == '(') {
				const char *f = p + i;
				size_t fl = j - i;
				if (case_eq(f, fl, "url")) {
					/* url( ws? (string | raw) ws? ) */
					size_t k = j + 1, us, ue;
					while (k < n && is_ws(p[k]))
						k++;
					if (k < n &&
					    (p[k] == '"' || p[k] == '\'')) {
						char q = p[k];
						us = ++k;
						while (k < n && p[k] != q)
							k++;
						if (k >= n)
							return 0;
						ue = k++;
					} else {
						us = k;
						while (k < n && p[k] != ')' &&
						       !is_ws(p[k]))
							k++;
						ue = k;
					}
					while (k < n && is_ws(p[k]))
						k++;
					if (k >= n || p[k] != ')')
						return 0; /* unclosed url( */
					struct buf u;
					buf_init(&u, HTMLSAN_URL_MAX);
					int rc = htmlsan_image_url(
					    c->o, c->r, p + us, ue - us, &u);
					if (rc == 0)
						rc = css_put_url(v,
								 u.p ? u.p : "",
								 u.len) < 0
							 ? -2
							 : 0;
					buf_deinit(&u);
					if (rc == -2)
						return -1;
					if (rc < 0)
						return 0;
					i = k + 1;
					continue;
				}
				if (!case_eq(f, fl, "rgb") &&
				    !case_eq(f, fl, "rgba") &&
				    !case_eq(f, fl, "hsl") &&
				    !case_eq(f, fl, "hsla"))
					return 0; /* var() expression() attr()
						     ... */
				if (++depth > CSS_NEST_MAX)
					return 0;
				for (size_t k = 0; k < fl; k++) {
					char fc = f[k];
					if (fc >= 'A' && fc <= 'Z')
						fc = (char)(fc - 'A' + 'a');
					if (buf_append_char(v, fc) < 0)
						return -1;
				}
				if (buf_append_char(v, '(') < 0)
					return -1;
				i = j + 1;
				continue;
			}
			if (buf_append(v, p + i, j - i) < 0)
				return -1;
			i = j;
			continue;
		}
		if (ch == ')') {
			if (--depth < 0)
				return 0;
			if (buf_append_char(v, ')') < 0)
				return -1;
			i++;
			continue;
		}
		if (ch == ',' || ch == '/') {
			if (buf_append_char(v, (char)ch) < 0)
				return -1;
			i++;
			continue;
		}
		if (ch == '!') {
			size_t j = i + 1;
			while (j < n && is_ws(p[j]))
				j++;
			size_t k = j;
			while (k < n && !is_ws(p[k]))
				k++;
			if (!case_eq(p + j, k - j, "important"))
				return 0;
			while (k < n && is_ws(p[k]))
				k++;
			if (k != n)
				return 0;
			/* drop the space written before '!' */
			if (v->len > 0 && v->p[v->len - 1] == ' ')
				buf_truncate(v, v->len - 1);
			*important = true;
			break;
		}
		return 0;
	}
	if (depth != 0 || v->len == 0 || v->len > HTMLSAN_CSS_VALUE_MAX)
		return 0;
	return 1;
}

/* Value checks a property needs beyond the token allowlist. */
static bool css_prop_value_ok(const char *prop, size_t pl, const char *v,
			      size_t vl)
{
	if (case_eq(prop, pl, "position"))
		return case_eq(v, vl, "static") || case_eq(v, vl, "relative");
	return true;
}

static bool all_ws(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_ws(p[i]))
			return false;
	return true;
}

/*
 * One "name: value" (decoded) -> "name:value" appended to out with a
 * leading ';' when out already holds a declaration.  Returns 0, or -1 when
 * out is full.
 */
static int css_decl(struct css *c, const char *p, size_t n, struct buf *out,
		    size_t base)
{
	const char *colon = memchr(p, ':', n);
	if (colon == NULL) {
		if (!all_ws(p, n))
			count(&c->r->css_dropped);
		return 0;
	}
	size_t ns = 0, ne = (size_t)(colon - p);
	while (ns < ne && is_ws(p[ns]))
		ns++;
	while (ne > ns && is_ws(p[ne - 1]))
		ne--;
	char name[40];
	size_t nl = ne - ns;
	if (nl == 0 || nl >= sizeof(name)) {
		count(&c->r->css_dropped);
		return 0;
	}
	for (size_t i = 0; i < nl; i++) {
		char ch = p[ns + i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		name[i] = ch;
	}
	if (!css_prop_ok(name, nl)) {
		count(&c->r->css_dropped);
		return 0;
	}
	struct buf v;
	bool imp;
	buf_init(&v, HTMLSAN_CSS_VALUE_MAX + 80 * 1024);
	size_t vs = (size_t)(colon - p) + 1;
	int rc = css_value(c, p + vs, n - vs, &v, &imp);
	if (rc == 1 && !css_prop_value_ok(name, nl, v.p, v.len))
		rc = 0;
	if (rc == 0)
		count(&c->r->css_dropped);
	int ret = 0;
	if (rc == 1) {
		size_t keep = out->len;
		if ((out->len > base && buf_append_char(out, ';') < 0) ||
		    buf_append(out, name, nl) < 0 ||
		    buf_append_char(out, ':') < 0 ||
		    buf_append(out, v.p, v.len) < 0 ||
		    (imp && buf_append_str(out, "!important") < 0)) {
			buf_truncate(out, keep);
			ret = -1;
		}
	}
	buf_deinit(&v);
	return ret;
}

/* Index just past the string that starts at p[i] (a quote), or n. */
static size_t skip_string(const char *p, size_t n, size_t i)
{
	char q = p[i++];
	while (i < n && p[i] != q && p[i] != '\n')
		i++;
	return i < n ? i + 1 : n;
}

/* Declaration list (decoded) -> out.  Stops at end or an unmatched '}'. */
static int css_decl_list(struct css *c, const char *p, size_t n,
			 struct buf *out)
{
	size_t i = 0, start = 0, base = out->len;
	int depth = 0;
	unsigned ndecl = 0;
	for (;;) {
		bool end = i >= n;
		if (!end && (p[i] == '"' || p[i] == '\'')) {
			i = skip_string(p, n, i);
			continue;
		}
		if (!end && p[i] == '(')
			depth++;
		if (!end && p[i] == ')' && depth > 0)
			depth--;
		if (end || (p[i] == ';' && depth == 0)) {
			if (++ndecl > HTMLSAN_CSS_DECLS_MAX) {
				count(&c->r->css_dropped);
				break;
			}
			if (css_decl(c, p + start, i - start, out, base) < 0)
				return -1;
			if (end)
				break;
			start = i + 1;
		}
		i++;
	}
	return 0;
}

int htmlsan_css_decls(const char *in, size_t len, const struct htmlsan_opts *o,
		      struct htmlsan_report *r, struct buf *out)
{
	struct css c = {o, r};
	struct buf d;
	buf_init(&d, HTMLSAN_CSS_IN_MAX * 4);
	int rc = css_decode(in, len, &d);
	if (rc == 0)
		rc = css_decl_list(&c, d.p ? d.p : "", d.len, out);
	buf_deinit(&d);
	return rc;
}

/* Index of the '}' closing the block opened before p[i], or n. */
static size_t block_end(const char *p, size_t n, size_t i)
{
	int depth = 1;
	while (i < n) {
		if (p[i] == '"' || p[i] == '\'') {
			i = skip_string(p, n, i);
			continue;
		}
		if (p[i] == '{')
			depth++;
		else if (p[i] == '}' && --depth == 0)
			return i;
		i++;
	}
	return n;
}

static bool sel_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || strchr(" _-.#>+~*:(),", ch) != NULL;
}

/*
 * Selector list -> scoped selectors in out: each selector gets the prefix
 * ".youju-msg " (a leading html/body is replaced by it); a selector that
 * already starts with the prefix is kept, so output re-sanitizes to itself.
 */
static bool css_selectors(const char *p, size_t n, struct buf *out)
{
	static const char scope[] = "." HTMLSAN_SCOPE;
	struct buf s;
	if (n > CSS_SEL_MAX || n == 0)
		return false;
	buf_init(&s, CSS_SEL_MAX);
	/* collapse whitespace, check characters */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (is_ws((char)ch))
			ch = ' ';
		if (!sel_char(ch)) {
			buf_deinit(&s);
			return false;
		}
		if (ch == ' ' && (s.len == 0 || s.p[s.len - 1] == ' '))
			continue;
		if (buf_append_char(&s, (char)ch) < 0) {
			buf_deinit(&s);
			return false;
		}
	}
	bool ok = true, first = true;
	size_t i = 0;
	const char *q = s.p ? s.p : "";
	while (ok && i <= s.len) {
		size_t e = i;
		int depth = 0;
		while (e < s.len && (q[e] != ',' || depth > 0)) {
			if (q[e] == '(')
				depth++;
			if (q[e] == ')')
				depth--;
			e++;
		}
		size_t a = i, b = e;
		while (a < b && q[a] == ' ')
			a++;
		while (b > a && q[b - 1] == ' ')
			b--;
		if (a == b) {
			ok = false;
			break;
		}
		struct {
			const char *p;
			size_t len;
		} sel = {q + a, b - a};
		size_t sl = strlen(scope);
		if (!first && buf_append_char(out, ',') < 0)
			ok = false;
		first = false;
		bool scoped = sel.len >= sl && memcmp(sel.p, scope, sl) == 0 &&
			      (sel.len == sl || sel.p[sl] == ' ');
		if (!scoped) {
			/* a leading html / body (type selectors) -> scope */
			for (int k = 0; k < 2; k++) {
				const char *t = k == 0 ? "html" : "body";
				size_t tl = 4;
				if (sel.len >= tl && case_eq(sel.p, tl, t) &&
				    (sel.len == tl || sel.p[tl] == ' ' ||
				     sel.p[tl] == '>')) {
					sel.p += tl;
					sel.len -= tl;
					while (sel.len > 0 &&
					       (sel.p[0] == ' ' ||
						sel.p[0] == '>')) {
						sel.p++;
						sel.len--;
					}
				}
			}
			if (ok && buf_append_str(out, scope) < 0)
				ok = false;
			if (ok && sel.len > 0 && buf_append_char(out, ' ') < 0)
				ok = false;
		}
		if (ok && buf_append(out, sel.p, sel.len) < 0)
			ok = false;
		i = e + 1;
	}
	buf_deinit(&s);
	return ok;
}

static bool media_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || strchr(" -.,:()", ch) != NULL;
}

/* Rules of a sheet (decoded) -> out.  Returns 0, or -1 when out is full. */
static int css_rules(struct css *c, const char *p, size_t n, struct buf *out,
		     int level)
{
	size_t i = 0;
	while (i < n) {
		if (is_ws(p[i]) || p[i] == ';' || p[i] == '}') {
			i++;
			continue;
		}
		if (n - i >= 4 && memcmp(p + i, "<!--", 4) == 0) {
			i += 4;
			continue;
		}
		if (n - i >= 3 && memcmp(p + i, "-->", 3) == 0) {
			i += 3;
			continue;
		}
		/* prelude: up to '{' or (for at-rules without block) ';' */
		size_t ps = i;
		bool at = p[i] == '@';
		while (i < n && p[i] != '{' && !(at && p[i] == ';')) {
			if (p[i] == '"' || p[i] == '\'')
				i = skip_string(p, n, i);
			else
				i++;
		}
		size_t pe = i;
		if (i >= n || p[i] == ';') {
			count(&c->r->css_dropped); /* @import, @charset ... */
			i++;
			continue;
		}
		size_t bs = i + 1, be = block_end(p, n, bs);
		i = be + 1;
		size_t keep = out->len;
		if (at) {
			size_t k = ps + 1;
			while (k < pe && (css_word_char((unsigned char)p[k])))
				k++;
			bool media = case_eq(p + ps + 1, k - ps - 1, "media");
			bool ok = media && level == 0;
			for (size_t m = k; ok && m < pe; m++)
				if (!media_char((unsigned char)p[m]))
					ok = false;
			if (!ok) {
				/* @font-face @import @keyframes @namespace...
				 */
				count(&c->r->css_dropped);
				continue;
			}
			/* canonical prelude: collapsed whitespace */
			if (buf_append_str(out, "@media") < 0)
				return -1;
			bool sp = true;
			for (size_t m = k; m < pe; m++) {
				char ch = is_ws(p[m]) ? ' ' : p[m];
				if (ch == ' ') {
					sp = true;
					continue;
				}
				if (sp && buf_append_char(out, ' ') < 0)
					return -1;
				sp = false;
				if (buf_append_char(out, ch) < 0)
					return -1;
			}
			if (buf_append_char(out, '{') < 0)
				return -1;
			size_t inner = out->len;
			if (css_rules(c, p + bs, be - bs, out, level + 1) < 0)
				return -1;
			if (out->len == inner)
				buf_truncate(out, keep);
			else if (buf_append_char(out, '}') < 0)
				return -1;
			continue;
		}
		if (!css_selectors(p + ps, pe - ps, out)) {
			buf_truncate(out, keep);
			count(&c->r->css_dropped);
			continue;
		}
		if (buf_append_char(out, '{') < 0)
			return -1;
		size_t inner = out->len;
		if (css_decl_list(c, p + bs, be - bs, out) < 0)
			return -1;
		if (out->len == inner)
			buf_truncate(out, keep);
		else if (buf_append_char(out, '}') < 0)
			return -1;
	}
	return 0;
}

int htmlsan_css_sheet(const char *in, size_t len, const struct htmlsan_opts *o,
		      struct htmlsan_report *r, struct buf *out)
{
	struct css c = {o, r};
	struct buf d;
	buf_init(&d, HTMLSAN_CSS_IN_MAX * 4);
	int rc = css_decode(in, len, &d);
	if (rc == 0) {
		size_t keep = out->len;
		rc = css_rules(&c, d.p ? d.p : "", d.len, out, 0);
		if (rc < 0)
			buf_truncate(out, keep);
	}
	buf_deinit(&d);
	return rc;
}
