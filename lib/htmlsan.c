/*
 * Mail HTML sanitizer on libgumbo (see htmlsan.h and docs/htmlsan.md).
 * Regex sanitizers (ExtMail's Utils.pm htmlsanity, early washtml) lose to
 * the parser differentials catalogued in ../shared/reference/web.md §5, so
 * the message is parsed the way a browser parses it and a new document is
 * written from the tree: only allowlisted HTML-namespace elements and
 * attributes, every text and attribute value escaped, no raw-text element
 * but our own <style> whose content cannot hold '<'.  There is no path by
 * which input bytes reach the output unescaped.
 *
 * Gumbo's own bugs (recursive destroy_node, google/gumbo-parser#387;
 * quadratic deep trees, #391/#393; AFL assertion crashes) are contained:
 * input size and tag count are capped before parsing, gumbo allocates from
 * an arena we free in one go (no recursive destroy), an arena over its cap
 * longjmps out of the parser, and htmlsan_html_isolated() runs all of it
 * in a child with rlimits.
 */
#include <errno.h>
#include <fcntl.h>
#include <gumbo.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "htmlsan.h"
#include "htmlsan_css.h"
#include "str.h"

#define ARENA_CHUNK    (1u << 20)
#define ATTR_VALUE_MAX 1024
#define MARKER	       "<div class=\"youju-truncated\">[truncated]</div>"
#define CLOSE_MAX      16 /* longest "</tag>" we emit, rounded up */

/* ---- arena allocator for gumbo ---- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;
	size_t total, max;
	jmp_buf fail;
};

static void *arena_alloc(void *ud, size_t n)
{
	struct arena *a = ud;
	n = (n + 15) & ~(size_t)15;
	struct arena_chunk *c = a->head;
	if (c == NULL || c->size - c->used < n) {
		size_t sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if (a->total + sz > a->max)
			longjmp(a->fail, 1);
		c = malloc(sizeof(*c) + sz);
		if (c == NULL)
			longjmp(a->fail, 1);
		c->size = sz;
		c->used = 0;
		c->next = a->head;
		a->head = c;
		a->total += sz;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void arena_free_one(void *ud, void *p)
{
	/* everything goes at once in arena_deinit() */
}

static void arena_deinit(struct arena *a)
{
	while (a->head != NULL) {
		struct arena_chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
}

/* ---- element and attribute policy ---- */

enum el_action { EL_UNWRAP, EL_KEEP, EL_DROP };

static const char *const el_keep[] = {
    "a",       "abbr",	     "address", "article",    "aside",	  "b",
    "bdi",     "bdo",	     "big",	"blockquote", "br",	  "caption",
    "center",  "cite",	     "code",	"col",	      "colgroup", "dd",
    "del",     "details",    "dfn",	"div",	      "dl",	  "dt",
    "em",      "figcaption", "figure",	"font",	      "footer",	  "h1",
    "h2",      "h3",	     "h4",	"h5",	      "h6",	  "header",
    "hr",      "i",	     "img",	"ins",	      "kbd",	  "li",
    "main",    "mark",	     "nav",	"ol",	      "p",	  "pre",
    "q",       "rp",	     "rt",	"ruby",	      "s",	  "samp",
    "section", "small",	     "span",	"strike",     "strong",	  "sub",
    "summary", "sup",	     "table",	"tbody",      "td",	  "tfoot",
    "th",      "thead",	     "time",	"tr",	      "tt",	  "u",
    "ul",      "var",	     "wbr",
};

/* Removed with everything inside them. */
static const char *const el_drop[] = {
    "applet",	"area",	    "audio",	"base",	    "basefont", "bgsound",
    "button",	"canvas",   "datalist", "dialog",   "embed",	"frame",
    "frameset", "head",	    "iframe",	"input",    "isindex",	"keygen",
    "link",	"listing",  "map",	"math",	    "menu",	"menuitem",
    "meta",	"meter",    "noembed",	"noframes", "noscript", "object",
    "optgroup", "option",   "output",	"param",    "picture",	"plaintext",
    "portal",	"progress", "script",	"select",   "slot",	"source",
    "style",	"svg",	    "template", "textarea", "title",	"track",
    "video",	"xmp",
};

static bool in_list(const char *const *l, size_t n, const char *s)
{
	return htmlsan_sorted_has(l, n, s, strlen(s));
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static enum el_action el_policy(const GumboElement *e, const char **name_r)
{
	const char *name = gumbo_normalized_tagname(e->tag);
	*name_r = name;
	/* svg, math and everything under them: namespace confusion and the
	 * SVG animate/use/feImage CVEs all live there */
	if (e->tag_namespace != GUMBO_NAMESPACE_HTML)
		return EL_DROP;
	if (name == NULL || name[0] == '\0')
		return EL_UNWRAP; /* unknown element: keep its content */
	if (in_list(el_drop, N(el_drop), name))
		return EL_DROP;
	if (in_list(el_keep, N(el_keep), name))
		return EL_KEEP;
	return EL_UNWRAP; /* html body form label fieldset legend ... */
}

/* Attributes without URLs that any kept element may carry. */
static const char *const attr_plain[] = {
    "abbr",	   "align",   "alt",	  "bgcolor", "border",	 "cellpadding",
    "cellspacing", "clear",   "color",	  "colspan", "datetime", "dir",
    "face",	   "headers", "height",	  "hspace",  "lang",	 "noshade",
    "nowrap",	   "open",    "reversed", "rowspan", "scope",	 "size",
    "span",	   "start",   "summary",  "title",   "type",	 "valign",
    "value",	   "vspace",  "width",
};

static bool is_void(const char *name)
{
	return !strcmp(name, "br") || !strcmp(name, "hr") ||
	       !strcmp(name, "img") || !strcmp(name, "wbr") ||
	       !strcmp(name, "col");
}

/* ---- the walk ---- */

struct san {
	const struct htmlsan_opts *o;
	struct htmlsan_report *r;
	struct buf *out;
	size_t reserve; /* bytes kept free for closing tags + marker */
	unsigned nodes, depth_max, nodes_max;
	bool full;     /* stop emitting; marker written */
	bool started;  /* body content emitted (for leading whitespace) */
	unsigned in_a; /* open <a> elements */
};

static void count(unsigned *c)
{
	if (*c < UINT32_MAX)
		(*c)++;
}

static void san_truncate(struct san *s)
{
	if (!s->full) {
		s->full = true;
		s->r->truncated = true;
		/* the reserve always holds the marker */
		if (buf_append_str(s->out, MARKER) < 0)
			s->r->truncated = true;
	}
}

/* Appends when it leaves the reserve free; else truncates.  0 or -1. */
static int emit(struct san *s, const char *p, size_t n)
{
	if (s->full)
		return -1;
	if (buf_room(s->out) < n + s->reserve || buf_append(s->out, p, n) < 0) {
		san_truncate(s);
		return -1;
	}
	return 0;
}

/* C0 controls but TAB, LF and FF, and DEL: the parser turns them into
 * U+FFFD or drops them, so they would not survive a second pass. */
static bool is_ctl(char c)
{
	return ((unsigned char)c < 0x20 && c != '\t' && c != '\n' &&
		c != '\f') ||
	       c == 0x7f;
}

/* Escapes text or an attribute value; CR -> LF, other controls go. */
static int esc(struct buf *b, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && p[j] != '&' && p[j] != '<' && p[j] != '>' &&
		       p[j] != '"' && !is_ctl(p[j]))
			j++;
		if (buf_append(b, p + i, j - i) < 0)
			return -1;
		if (j >= n)
			break;
		const char *e = p[j] == '&'    ? "&amp;"
				: p[j] == '<'  ? "&lt;"
				: p[j] == '>'  ? "&gt;"
				: p[j] == '"'  ? "&quot;"
				: p[j] == '\r' ? "\n"
					       : "";
		if (buf_append_str(b, e) < 0)
			return -1;
		i = j + 1;
	}
	return 0;
}

static bool is_html_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int attr_out(struct buf *t, const char *name, const char *v, size_t vl)
{
	if (buf_append_char(t, ' ') < 0 || buf_append_str(t, name) < 0 ||
	    buf_append_str(t, "=\"") < 0 || esc(t, v, vl) < 0 ||
	    buf_append_char(t, '"') < 0)
		return -1;
	return 0;
}

/* class="a b": tokens of [A-Za-z0-9_-] only, single-spaced. */
static int class_out(struct buf *t, const char *v)
{
	struct buf c;
	buf_init(&c, ATTR_VALUE_MAX);
	int rc = 0;
	while (*v != '\0') {
		while (is_html_ws(*v))
			v++;
		const char *w = v;
		bool ok = true;
		while (*v != '\0' && !is_html_ws(*v)) {
			char ch = *v++;
			if (!((ch >= 'a' && ch <= 'z') ||
			      (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || ch == '-' ||
			      ch == '_'))
				ok = false;
		}
		if (ok && v > w &&
		    ((c.len > 0 && buf_append_char(&c, ' ') < 0) ||
		     buf_append(&c, w, (size_t)(v - w)) < 0))
			break;
	}
	if (c.len > 0)
		rc = attr_out(t, "class", c.p, c.len);
	buf_deinit(&c);
	return rc;
}

/* Builds the start tag of a kept element in t.  Returns 0 or -1 (full). */
static int start_tag(struct san *s, const GumboElement *e, const char *name,
		     struct buf *t)
{
	bool is_a = !strcmp(name, "a"), is_img = !strcmp(name, "img");
	bool linked = false, blocked = false;
	if (buf_append_char(t, '<') < 0 || buf_append_str(t, name) < 0)
		return -1;
	for (unsigned i = 0; i < e->attributes.length; i++) {
		const GumboAttribute *a = e->attributes.data[i];
		const char *an = a->name;
		size_t vl = strlen(a->value);
		if (a->attr_namespace != GUMBO_ATTR_NAMESPACE_NONE) {
			count(&s->r->attrs_dropped);
			continue;
		}
		if (is_a && !strcmp(an, "href")) {
			struct buf u;
			buf_init(&u, HTMLSAN_URL_MAX);
			int rc = 0;
			if (htmlsan_url_check(a->value, vl, HTMLSAN_URL_LINK,
					      &u) == HTMLSAN_URL_OK) {
				rc = attr_out(t, "href", u.p, u.len);
				linked = true;
			} else {
				count(&s->r->urls_dropped);
			}
			buf_deinit(&u);
			if (rc < 0)
				return -1;
			continue;
		}
		if (is_img && !strcmp(an, "src")) {
			struct buf u;
			buf_init(&u, HTMLSAN_URL_MAX);
			unsigned before = s->r->remote_blocked;
			int rc = 0;
			if (htmlsan_image_url(s->o, s->r, a->value, vl, &u) ==
			    0)
				rc = attr_out(t, "src", u.p ? u.p : "", u.len);
			else if (s->r->remote_blocked != before)
				blocked = true;
			buf_deinit(&u);
			if (rc < 0)
				return -1;
			continue;
		}
		if (is_img && !strcmp(an, HTMLSAN_BLOCKED_ATTR)) {
			blocked = true; /* keeps re-sanitizing idempotent */
			continue;
		}
		if (!strcmp(an, "style")) {
			struct buf c;
			buf_init(&c, HTMLSAN_URL_MAX);
			int rc =
			    htmlsan_css_decls(a->value, vl, s->o, s->r, &c);
			if (rc == 0 && c.len > 0)
				rc = attr_out(t, "style", c.p, c.len);
			buf_deinit(&c);
			if (rc < 0)
				return -1;
			continue;
		}
		if (!strcmp(an, "class")) {
			if (vl <= ATTR_VALUE_MAX && class_out(t, a->value) < 0)
				return -1;
			continue;
		}
		if (!in_list(attr_plain, N(attr_plain), an) ||
		    vl > ATTR_VALUE_MAX) {
			count(&s->r->attrs_dropped);
			continue;
		}
		if (attr_out(t, an, a->value, vl) < 0)
			return -1;
	}
	if (blocked && attr_out(t, HTMLSAN_BLOCKED_ATTR, "", 0) < 0)
		return -1;
	if (linked && buf_append_str(t, " target=\"_blank\" "
					"rel=\"noopener noreferrer\"") < 0)
		return -1;
	return buf_append_char(t, '>');
}

static void walk(struct san *s, const GumboNode *n, unsigned depth);

static void walk_children(struct san *s, const GumboVector *v, unsigned depth)
{
	for (unsigned i = 0; i < v->length && !s->full; i++)
		walk(s, v->data[i], depth);
}

static void walk_text(struct san *s, const char *p, size_t n, bool first_in_pre)
{
	if (!s->started) {
		/* leading whitespace of the body would move to <head> when
		 * the output is parsed again */
		while (n > 0 && is_html_ws(*p)) {
			p++;
			n--;
		}
		if (n == 0)
			return;
	}
	struct buf t;
	buf_init(&t, buf_room(s->out));
	/* the HTML serializer's rule: <pre>'s first newline is eaten by the
	 * parser, so one that is content must be doubled */
	int rc = (first_in_pre && p[0] == '\n') ? buf_append_char(&t, '\n') : 0;
	if (rc == 0)
		rc = esc(&t, p, n);
	if (rc < 0 || emit(s, t.p, t.len) < 0)
		san_truncate(s);
	else if (t.len > 0)
		s->started = true;
	buf_deinit(&t);
}

static void walk(struct san *s, const GumboNode *n, unsigned depth)
{
	switch (n->type) {
	case GUMBO_NODE_TEXT:
	case GUMBO_NODE_WHITESPACE: {
		const GumboNode *par = n->parent;
		bool pre = par != NULL && par->type == GUMBO_NODE_ELEMENT &&
			   par->v.element.tag == GUMBO_TAG_PRE &&
			   n->index_within_parent == 0;
		walk_text(s, n->v.text.text, strlen(n->v.text.text), pre);
		return;
	}
	case GUMBO_NODE_ELEMENT:
		break;
	default: /* comments, CDATA, templates, documents */
		return;
	}
	const GumboElement *e = &n->v.element;
	const char *name;
	enum el_action act = el_policy(e, &name);
	if (act == EL_DROP) {
		count(&s->r->elements_dropped);
		return;
	}
	bool is_a = e->tag == GUMBO_TAG_A;
	if (act == EL_KEEP && is_a && s->in_a > 0)
		act = EL_UNWRAP; /* a parse never nests <a>: tables can */
	if (act == EL_UNWRAP) {
		if (e->tag != GUMBO_TAG_HTML && e->tag != GUMBO_TAG_BODY)
			count(&s->r->elements_dropped);
		if (depth < s->depth_max)
			walk_children(s, &e->children, depth + 1);
		else
			san_truncate(s);
		return;
	}
	if (depth >= s->depth_max || ++s->nodes > s->nodes_max) {
		san_truncate(s);
		return;
	}
	struct buf t;
	buf_init(&t, buf_room(s->out));
	if (start_tag(s, e, name, &t) < 0 || emit(s, t.p, t.len) < 0) {
		san_truncate(s);
		buf_deinit(&t);
		return;
	}
	buf_deinit(&t);
	s->started = true;
	if (is_void(name))
		return;
	s->reserve += CLOSE_MAX;
	s->in_a += is_a;
	walk_children(s, &e->children, depth + 1);
	s->in_a -= is_a;
	s->reserve -= CLOSE_MAX;
	/* the reserve guarantees the end tag fits */
	if (buf_append_str(s->out, "</") < 0 ||
	    buf_append_str(s->out, name) < 0 ||
	    buf_append_char(s->out, '>') < 0)
		s->r->truncated = true;
}

/* Collects the text of every <style> (any namespace but HTML's dropped). */
static void collect_css(const GumboNode *root, struct buf *css)
{
	/* iterative: gumbo trees can be deep */
	const GumboNode *n = root;
	while (n != NULL) {
		const GumboNode *next = NULL;
		if (n->type == GUMBO_NODE_ELEMENT) {
			const GumboElement *e = &n->v.element;
			if (e->tag == GUMBO_TAG_STYLE &&
			    e->tag_namespace == GUMBO_NAMESPACE_HTML) {
				for (unsigned i = 0; i < e->children.length;
				     i++) {
					const GumboNode *c =
					    e->children.data[i];
					if (c->type == GUMBO_NODE_TEXT &&
					    (buf_append_str(
						 css, c->v.text.text) < 0 ||
					     buf_append_char(css, '\n') < 0))
						return;
				}
			} else if (e->tag_namespace == GUMBO_NAMESPACE_HTML &&
				   e->children.length > 0) {
				next = e->children.data[0];
			}
		} else if (n->type == GUMBO_NODE_DOCUMENT &&
			   n->v.document.children.length > 0) {
			next = n->v.document.children.data[0];
		}
		/* no child to enter: next sibling, or climb */
		while (next == NULL && n != NULL && n != root) {
			const GumboNode *p = n->parent;
			const GumboVector *v = p->type == GUMBO_NODE_DOCUMENT
						   ? &p->v.document.children
						   : &p->v.element.children;
			if (n->index_within_parent + 1 < v->length)
				next = v->data[n->index_within_parent + 1];
			else
				n = p;
		}
		n = next;
	}
}

static const GumboNode *find_body(const GumboNode *html)
{
	const GumboVector *v = &html->v.element.children;
	for (unsigned i = 0; i < v->length; i++) {
		const GumboNode *c = v->data[i];
		if (c->type == GUMBO_NODE_ELEMENT &&
		    c->v.element.tag == GUMBO_TAG_BODY)
			return c;
	}
	return NULL;
}

/* Elements that never nest (void) or that the parser closes implicitly
 * when the next one starts: not counted by the depth estimate. */
static const char *const flat_tags[] = {
    "area",   "base",  "br", "col",  "dd",    "dt",	"embed", "hr",
    "img",    "input", "li", "link", "meta",  "option", "p",	 "param",
    "source", "td",    "th", "tr",   "track", "wbr",
};

/*
 * Gumbo's scope checks walk the open-element stack for every tag, so deep
 * trees cost O(n^2) (google/gumbo-parser#391): estimate the nesting from
 * the tags before parsing (start minus end tags, flat ones ignored; an
 * over-estimate only sends the message to the text view) and refuse
 * past HTMLSAN_NEST_MAX, and refuse more than HTMLSAN_TAGS_MAX tags.
 */
static bool too_complex(const char *in, size_t len)
{
	size_t tags = 0, depth = 0;
	const char *end = in + len;
	for (const char *p = in; (p = memchr(p, '<', (size_t)(end - p)));) {
		p++;
		if (++tags > HTMLSAN_TAGS_MAX)
			return true;
		bool close = p < end && *p == '/';
		if (close)
			p++;
		char name[12];
		size_t n = 0;
		while (p < end && n < sizeof(name) - 1 &&
		       ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9')))
			name[n++] = (char)(*p++ | 0x20);
		name[n] = '\0';
		if (n == 0 || in_list(flat_tags, N(flat_tags), name))
			continue;
		if (close) {
			if (depth > 0)
				depth--;
		} else if (++depth > HTMLSAN_NEST_MAX) {
			return true;
		}
	}
	return false;
}

/* The parse, or NULL when the arena cap longjmp'ed out of gumbo. */
static GumboOutput *parse(struct arena *a, const GumboOptions *go,
			  const char *in, size_t len)
{
	if (setjmp(a->fail) != 0)
		return NULL;
	return gumbo_parse_with_options(go, in, len);
}

/* One parse-walk-serialize pass; see htmlsan_html(). */
static int san_pass(const char *in, size_t len, const struct htmlsan_opts *o,
		    struct buf *out, struct htmlsan_report *r, bool first)
{
	if (first && too_complex(in, len))
		return HTMLSAN_TOO_COMPLEX;
	struct arena a = {.max = 64 * (size_t)len + (64u << 20)};
	GumboOptions go = kGumboDefaultOptions;
	go.allocator = arena_alloc;
	go.deallocator = arena_free_one;
	go.userdata = &a;
	go.max_errors = 0;
	GumboOutput *g = parse(&a, &go, in, len);
	if (g == NULL) {
		arena_deinit(&a);
		return HTMLSAN_TOO_COMPLEX;
	}

	size_t keep = out->len;
	struct san s = {
	    .o = o,
	    .r = r,
	    .out = out,
	    .depth_max = o->depth_max ? o->depth_max : HTMLSAN_DEPTH_MAX,
	    .nodes_max = o->nodes_max ? o->nodes_max : HTMLSAN_NODES_MAX,
	    .reserve = sizeof(MARKER) + CLOSE_MAX,
	};
	int rc = 0;
	if (o->wrap)
		rc = buf_append_str(out, "<div class=\"" HTMLSAN_SCOPE "\">");
	struct buf css, sheet;
	buf_init(&css, HTMLSAN_CSS_IN_MAX);
	buf_init(&sheet, HTMLSAN_CSS_IN_MAX + 16);
	collect_css(g->document, &css);
	if (rc == 0 && css.len > 0 && buf_append_str(&sheet, "<style>") == 0 &&
	    htmlsan_css_sheet(css.p, css.len, o, r, &sheet) == 0 &&
	    sheet.len > 7) {
		/* one piece: a cut inside <style> would leave raw text open */
		if (buf_append_str(&sheet, "</style>") < 0 ||
		    emit(&s, sheet.p, sheet.len) < 0)
			r->truncated = true;
		else
			s.started = true;
	}
	buf_deinit(&sheet);
	buf_deinit(&css);
	const GumboNode *body = find_body(g->root);
	if (rc == 0 && body != NULL) {
		if (o->wrap)
			s.reserve += 8;
		walk_children(&s, &body->v.element.children, 0);
	}
	if (rc == 0 && o->wrap)
		rc = buf_append_str(out, "</div>");
	arena_deinit(&a);
	if (rc < 0) { /* out could not even hold the wrapper */
		buf_truncate(out, keep);
		r->truncated = true;
	}
	return HTMLSAN_OK;
}

static int cid_keep(void *ctx, const char *cid, size_t len, struct buf *u)
{
	return buf_append_str(u, "cid:") < 0 || buf_append(u, cid, len) < 0 ? -1
									    : 0;
}

/*
 * Two passes.  A tree that came out of error recovery (tables, misnested
 * formatting elements, foster parenting) can hold nestings that a second
 * parse of its serialization builds differently (<a> in <a>, <p> in <p>);
 * that is the root of mutation XSS.  Our first output has no raw text and
 * no foreign content, so a second parse-walk-serialize of it normalizes
 * the tree to one the parser reproduces, which makes the output a fixed
 * point (checked by the unit tests and the fuzz target).  cid: URLs are
 * kept as cid: in pass one and mapped by the caller's callback in pass two.
 */
int htmlsan_html(const char *in, size_t len, const struct htmlsan_opts *o,
		 struct buf *out, struct htmlsan_report *r)
{
	static const struct htmlsan_opts defaults;
	struct htmlsan_report dummy, r2;
	if (o == NULL)
		o = &defaults;
	if (r == NULL)
		r = &dummy;
	memset(r, 0, sizeof(*r));
	memset(&r2, 0, sizeof(r2));
	if (len > (o->in_max ? o->in_max : HTMLSAN_IN_MAX))
		return HTMLSAN_TOO_BIG;
	struct htmlsan_opts o1 = *o;
	o1.cid_url = o->cid_url != NULL ? cid_keep : NULL;
	o1.wrap = false;
	struct buf tmp;
	buf_init(&tmp, buf_room(out) > 8 ? buf_room(out) - 8 : 0);
	int rc = san_pass(in, len, &o1, &tmp, r, true);
	if (rc == HTMLSAN_OK) {
		rc = san_pass(tmp.p ? tmp.p : "", tmp.len, o, out, &r2, false);
		r->urls_dropped += r2.urls_dropped;
		r->truncated |= r2.truncated;
	}
	buf_deinit(&tmp);
	return rc;
}

/* ---- URLs ---- */

static bool prefix_case(const char *p, size_t n, const char *pre)
{
	return str_has_prefix_case((struct str){p, n}, pre);
}

enum htmlsan_url_class htmlsan_url_check(const char *url, size_t len,
					 enum htmlsan_url_kind kind,
					 struct buf *clean)
{
	/* browsers drop ASCII tab/newline anywhere and C0 controls and
	 * spaces at both ends (URL Standard, basic URL parser); dropping
	 * every control and space is stricter and leaves one reading */
	struct buf c;
	buf_init(&c, HTMLSAN_URL_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)url[i];
		if (ch <= 0x20 || ch == 0x7f)
			continue;
		if (buf_append_char(&c, (char)ch) < 0) {
			buf_deinit(&c);
			return HTMLSAN_URL_BAD;
		}
	}
	const char *p = c.p ? c.p : "";
	size_t n = c.len;
	enum htmlsan_url_class cls = HTMLSAN_URL_BAD;
	size_t skip = 0, fold = 0;
	if (kind == HTMLSAN_URL_LINK) {
		if (prefix_case(p, n, "http://") ||
		    prefix_case(p, n, "https://") ||
		    prefix_case(p, n, "mailto:"))
			cls = HTMLSAN_URL_OK;
	} else if (prefix_case(p, n, "cid:") && n > 4) {
		cls = HTMLSAN_URL_CID;
		skip = 4;
	} else if (prefix_case(p, n, "http://") ||
		   prefix_case(p, n, "https://")) {
		cls = HTMLSAN_URL_REMOTE;
	} else if (prefix_case(p, n, "data:image/")) {
		static const char *const types[] = {
		    "data:image/png;base64,",
		    "data:image/gif;base64,",
		    "data:image/jpeg;base64,",
		    "data:image/webp;base64,",
		};
		for (size_t t = 0; t < N(types); t++) {
			size_t tl = strlen(types[t]);
			if (!prefix_case(p, n, types[t]))
				continue;
			cls = HTMLSAN_URL_OK;
			fold = tl;
			for (size_t i = tl; i < n; i++) {
				char ch = p[i];
				if (!((ch >= 'a' && ch <= 'z') ||
				      (ch >= 'A' && ch <= 'Z') ||
				      (ch >= '0' && ch <= '9') || ch == '+' ||
				      ch == '/' || ch == '='))
					cls = HTMLSAN_URL_BAD;
			}
		}
	}
	if (cls != HTMLSAN_URL_BAD && clean != NULL) {
		/* case-fold the scheme (and a data: media type) so what was
		 * checked is what is sent, in one spelling */
		if (fold == 0)
			fold = (size_t)((const char *)memchr(p, ':', n) - p);
		size_t at = clean->len;
		if (buf_append(clean, p + skip, n - skip) < 0)
			cls = HTMLSAN_URL_BAD;
		else if (skip == 0)
			for (size_t i = 0; i < fold; i++)
				if (clean->p[at + i] >= 'A' &&
				    clean->p[at + i] <= 'Z')
					clean->p[at + i] += 'a' - 'A';
	}
	buf_deinit(&c);
	return cls;
}

int htmlsan_image_url(const struct htmlsan_opts *o, struct htmlsan_report *r,
		      const char *url, size_t len, struct buf *out)
{
	struct buf c;
	buf_init(&c, HTMLSAN_URL_MAX);
	int rc = -1;
	switch (htmlsan_url_check(url, len, HTMLSAN_URL_IMAGE, &c)) {
	case HTMLSAN_URL_OK:
		rc = buf_append(out, c.p, c.len);
		break;
	case HTMLSAN_URL_CID:
		if (o->cid_url != NULL)
			rc = o->cid_url(o->cid_ctx, c.p, c.len, out);
		if (rc < 0)
			count(&r->urls_dropped);
		break;
	case HTMLSAN_URL_REMOTE:
		if (o->allow_remote)
			rc = buf_append(out, c.p, c.len);
		else
			count(&r->remote_blocked);
		break;
	case HTMLSAN_URL_BAD:
		count(&r->urls_dropped);
		break;
	}
	buf_deinit(&c);
	return rc < 0 ? -1 : 0;
}

/* ---- plain text ---- */

/* Length of a valid UTF-8 sequence at p, or 0. */
/* Clean UTF-8 text: invalid bytes and controls but TAB/LF -> U+FFFD. */
static int text_clean(const char *in, size_t len, struct buf *b)
{
	size_t i = 0;
	while (i < len) {
		const unsigned char *p = (const unsigned char *)in + i;
		size_t l = str_utf8_decode(p, len - i, NULL);
		if (l == 1 && p[0] == '\r') {
			i++;
			if (i < len && in[i] == '\n')
				continue;
			if (buf_append_char(b, '\n') < 0)
				return -1;
			continue;
		}
		if (l == 0 ||
		    (l == 1 && ((p[0] < 0x20 && p[0] != '\t' && p[0] != '\n') ||
				p[0] == 0x7f))) {
			if (buf_append_str(b, "\xef\xbf\xbd") < 0)
				return -1;
			i++;
			continue;
		}
		if (buf_append(b, in + i, l) < 0)
			return -1;
		i += l;
	}
	return 0;
}

static bool url_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != '<' && c != '>' && c != '"' &&
	       c != '`' && c < 0x80;
}

/* Length of the linkifiable URL at p (0 if none). */
static size_t text_url(const char *t, size_t n, size_t i)
{
	const char *p = t + i;
	size_t m = n - i;
	if (i > 0 && url_char((unsigned char)t[i - 1]) &&
	    ((t[i - 1] >= 'a' && t[i - 1] <= 'z') ||
	     (t[i - 1] >= 'A' && t[i - 1] <= 'Z')))
		return 0; /* inside a word: "xhttp://" */
	size_t min = prefix_case(p, m, "http://")    ? 8
		     : prefix_case(p, m, "https://") ? 9
		     : prefix_case(p, m, "mailto:")  ? 8
						     : 0;
	if (min == 0)
		return 0;
	size_t l = 0, opens = 0, closes = 0;
	while (l < m && url_char((unsigned char)p[l])) {
		opens += p[l] == '(';
		closes += p[l] == ')';
		l++;
	}
	/* trailing punctuation belongs to the sentence */
	while (l > 0 && (strchr(".,;:!?'*]}", p[l - 1]) != NULL ||
			 (p[l - 1] == ')' && closes > opens))) {
		if (p[l - 1] == ')')
			closes--;
		l--;
	}
	return l >= min ? l : 0;
}

int htmlsan_text(const char *in, size_t len, const struct htmlsan_opts *o,
		 struct buf *out, struct htmlsan_report *r)
{
	static const char open[] = "<div class=\"youju-text\" "
				   "style=\"white-space:pre-wrap;"
				   "overflow-wrap:break-word\">";
	struct htmlsan_report dummy;
	if (r == NULL)
		r = &dummy;
	memset(r, 0, sizeof(*r));
	if (len > (o != NULL && o->in_max ? o->in_max : HTMLSAN_IN_MAX))
		return HTMLSAN_TOO_BIG;
	struct buf t, piece;
	buf_init(&t, 4 * (size_t)len + 16);
	buf_init(&piece, 256 << 10);
	size_t keep = out->len;
	struct san s = {
	    .r = r, .out = out, .reserve = sizeof(MARKER) + CLOSE_MAX};
	if (text_clean(in, len, &t) < 0 ||
	    emit(&s, open, sizeof(open) - 1) < 0) {
		buf_truncate(out, keep);
		r->truncated = true;
		goto done;
	}
	const char *p = t.p ? t.p : "";
	size_t i = 0, lit = 0;
	while (i <= t.len && !s.full) {
		size_t ul = i < t.len ? text_url(p, t.len, i) : 0;
		if (i < t.len && ul == 0) {
			i++;
			continue;
		}
		/* flush literal text [lit, i) */
		buf_reset(&piece);
		if (esc(&piece, p + lit, i - lit) < 0 ||
		    emit(&s, piece.p ? piece.p : "", piece.len) < 0)
			break;
		if (i >= t.len)
			break;
		buf_reset(&piece);
		struct buf u;
		buf_init(&u, HTMLSAN_URL_MAX);
		if (htmlsan_url_check(p + i, ul, HTMLSAN_URL_LINK, &u) ==
		    HTMLSAN_URL_OK) {
			if (buf_append_str(&piece, "<a href=\"") < 0 ||
			    esc(&piece, u.p, u.len) < 0 ||
			    buf_append_str(
				&piece, "\" target=\"_blank\" "
					"rel=\"noopener noreferrer\">") < 0 ||
			    esc(&piece, p + i, ul) < 0 ||
			    buf_append_str(&piece, "</a>") < 0)
				san_truncate(&s);
		} else if (esc(&piece, p + i, ul) < 0) {
			san_truncate(&s);
		}
		buf_deinit(&u);
		if (emit(&s, piece.p ? piece.p : "", piece.len) < 0)
			break;
		i += ul;
		lit = i;
	}
	if (buf_append_str(out, "</div>") < 0) /* fits in the reserve */
		r->truncated = true;
done:
	buf_deinit(&piece);
	buf_deinit(&t);
	return HTMLSAN_OK;
}

/* ---- isolation ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int htmlsan_html_isolated(const char *in, size_t len,
			  const struct htmlsan_opts *o, struct buf *out,
			  struct htmlsan_report *r, unsigned timeout_ms)
{
	struct htmlsan_report dummy;
	if (r == NULL)
		r = &dummy;
	memset(r, 0, sizeof(*r));
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return HTMLSAN_FAILED;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return HTMLSAN_FAILED;
	}
	if (pid == 0) {
		close(fds[0]);
		struct rlimit cpu = {2 + timeout_ms / 1000,
				     3 + timeout_ms / 1000};
		struct rlimit as = {1024ul << 20, 1024ul << 20};
		(void)setrlimit(RLIMIT_CPU, &cpu);
#if !defined(__SANITIZE_ADDRESS__)
		/* ASan reserves terabytes of shadow address space */
		(void)setrlimit(RLIMIT_AS, &as);
#else
		(void)as;
#endif
		struct buf b;
		buf_init(&b, out->max > out->len ? out->max - out->len : 0);
		struct htmlsan_report rr;
		int rc = htmlsan_html(in, len, o, &b, &rr);
		int32_t hdr[2] = {rc, 0};
		uint64_t bl = b.len;
		if (file_write_all(fds[1], hdr, sizeof(hdr)) < 0 ||
		    file_write_all(fds[1], &rr, sizeof(rr)) < 0 ||
		    file_write_all(fds[1], &bl, sizeof(bl)) < 0 ||
		    file_write_all(fds[1], b.p ? b.p : "", b.len) < 0)
			_exit(1);
		_exit(0); /* no free: the process goes */
	}
	close(fds[1]);
	struct buf rd;
	buf_init(&rd, (out->max - out->len) + 64);
	int64_t deadline = now_ms() + timeout_ms;
	bool ok = true;
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd pf = {fds[0], POLLIN, 0};
		if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
			ok = false;
			break;
		}
		char chunk[16384];
		ssize_t n = read(fds[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ok = n == 0;
			break;
		}
		if (buf_append(&rd, chunk, (size_t)n) < 0) {
			ok = false;
			break;
		}
	}
	close(fds[0]);
	if (!ok)
		kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	int rc = HTMLSAN_FAILED;
	int32_t hdr[2];
	uint64_t bl;
	size_t need = sizeof(hdr) + sizeof(*r) + sizeof(bl);
	if (ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 && rd.len >= need) {
		memcpy(hdr, rd.p, sizeof(hdr));
		memcpy(&bl, rd.p + sizeof(hdr) + sizeof(*r), sizeof(bl));
		if (bl == rd.len - need &&
		    buf_append(out, rd.p + need, (size_t)bl) == 0) {
			memcpy(r, rd.p + sizeof(hdr), sizeof(*r));
			rc = hdr[0];
		}
	}
	buf_deinit(&rd);
	return rc;
}
