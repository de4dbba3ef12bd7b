/*
 * lib/htmlsan: exact outputs for a table of small cases, the URL and CSS
 * policies, limits (empty, in_max, in_max + 1, 10 MB, 100,000-deep, output
 * cap), and the regression corpus tests/unit/lib/htmlsan_corpus/ (one file
 * per published webmail XSS class, see docs/htmlsan.md).  For every corpus
 * file the output is parsed again with gumbo and must hold only allowlisted
 * elements, attributes, URLs and CSS, must never name the "canary" host
 * while remote content is blocked, and must sanitize to itself.
 */
#include <dirent.h>
#include <gumbo.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htmlsan.h"
#include "htmlsan_css.h"
#include "mime.h"
#include "htmlsan_oracle.h"
#include "test.h"

/* cid:X -> cid:X, so that outputs re-sanitize to themselves */
static int cid_same(void *ctx, const char *cid, size_t len, struct buf *u)
{
	(void)ctx;
	if (len > 0 && cid[0] == '.')
		return -1; /* "cid:../x": unknown part */
	return buf_append_str(u, "cid:") < 0 || buf_append(u, cid, len) < 0 ? -1
									    : 0;
}

static int cid_part(void *ctx, const char *cid, size_t len, struct buf *u)
{
	return buf_printf(u, "/api/part?m=%s&id=%.*s", (const char *)ctx,
			  (int)len, cid);
}

static char *san(const char *in, size_t len, const struct htmlsan_opts *o,
		 int *rc_r, struct htmlsan_report *r)
{
	struct buf out;
	buf_init(&out, 4 << 20);
	int rc = htmlsan_html(in, len, o, &out, r);
	if (rc_r != NULL)
		*rc_r = rc;
	char *s = strdup(buf_cstr(&out));
	buf_deinit(&out);
	return s;
}

struct html_case {
	const char *in, *want;
};

static const struct html_case html_cases[] = {
    {"", ""},
    {"hello", "hello"},
    {"  \n <p>x</p>", "<p>x</p>"},
    {"<p>a & b < c > d \" e</p>", "<p>a &amp; b &lt; c &gt; d &quot; e</p>"},
    {"<script>alert(1)</script>x", "x"},
    {"<p onclick=alert(1) title='t\"'>x</p>", "<p title=\"t&quot;\">x</p>"},
    {"<a href=\"https://e.example/?a=1&amp;b=2\">l</a>",
     "<a href=\"https://e.example/?a=1&amp;b=2\" target=\"_blank\" "
     "rel=\"noopener noreferrer\">l</a>"},
    {"<a href=\" HTTP://E.example/\" target=_self rel=opener>l</a>",
     "<a href=\"http://E.example/\" target=\"_blank\" "
     "rel=\"noopener noreferrer\">l</a>"},
    {"<a href=\"java&#9;script:alert(1)\">l</a>", "<a>l</a>"},
    {"<a href=\"mailto:a@b.example?subject=x\">m</a>",
     "<a href=\"mailto:a@b.example?subject=x\" target=\"_blank\" "
     "rel=\"noopener noreferrer\">m</a>"},
    {"<img src=\"http://t.example/p.gif\" alt=x>",
     "<img alt=\"x\" data-youju-blocked=\"\">"},
    {"<img src=\"data:image/png;base64,iVBORw0K\">",
     "<img src=\"data:image/png;base64,iVBORw0K\">"},
    {"<img src=\"data:image/svg+xml;base64,PHN2Zz4=\">", "<img>"},
    {"<svg><script>alert(1)</script></svg>after", "after"},
    {"<math><mi>x</mi></math>", ""},
    {"<!-- c --><p>x</p>", "<p>x</p>"},
    {"<foo bar=1>in</foo>", "in"},
    {"<form action=x>in<input value=v></form>", "in"},
    {"<table><tr><td colspan=2 bgcolor=red>c</td></tr></table>",
     "<table><tbody><tr><td colspan=\"2\" bgcolor=\"red\">c</td></tr>"
     "</tbody></table>"},
    {"<pre>\n\nx</pre>", "<pre>\n\nx</pre>"},
    {"<br><hr><wbr>", "<br><hr><wbr>"},
    {"<p class=\"a b<c d_1\" id=i name=n>x</p>", "<p class=\"a d_1\">x</p>"},
    {"<p style=\"color:red;position:fixed;background:url(http://x/)\">x</p>",
     "<p style=\"color:red\">x</p>"},
    {"<p style=\"COLOR : Red ; font-family : 'A B', c !important\">x</p>",
     "<p style=\"color:Red;font-family:&quot;A B&quot;, c!important\">x</p>"},
    {"<p style=\"background:u\\72l(http://x/)\">x</p>", "<p>x</p>"},
    {"<p style=\"color:rgb(1, 2,3)\">x</p>",
     "<p style=\"color:rgb(1, 2,3)\">x</p>"},
    {"<style>p{color:red}body{margin:0}@import 'x';</style><p>x</p>",
     "<style>.youju-msg p{color:red}.youju-msg{margin:0}</style><p>x</p>"},
    {"<p>a\r\nb\rc</p>", "<p>a\nb\nc</p>"},
    {"<p title=\"a\nb\">x</p>", "<p title=\"a\nb\">x</p>"},
};

static void test_html_table(void)
{
	test_begin("html table");
	struct htmlsan_opts o = {.cid_url = cid_same};
	for (size_t i = 0; i < sizeof(html_cases) / sizeof(html_cases[0]);
	     i++) {
		const struct html_case *c = &html_cases[i];
		int rc;
		char *got = san(c->in, strlen(c->in), &o, &rc, NULL);
		test_assert(rc == HTMLSAN_OK);
		if (strcmp(got, c->want) != 0)
			fprintf(stderr,
				"case %zu: got  [%s]\n         want [%s]\n", i,
				got, c->want);
		test_assert(strcmp(got, c->want) == 0);
		free(got);
	}
}

static void test_embedded_nul(void)
{
	test_begin("embedded NUL");
	static const char in[] = "<p>a\0b</p><a href=\"java\0script:x\">l</a>";
	char *got = san(in, sizeof(in) - 1, NULL, NULL, NULL);
	test_assert(memchr(got, '\0', strlen(got)) == NULL);
	test_assert(strstr(got, "href") == NULL);
	test_assert(strstr(got, "<p>a") != NULL);
	free(got);
}

static void test_cid(void)
{
	test_begin("cid callback");
	struct htmlsan_opts o = {.cid_url = cid_part, .cid_ctx = "42"};
	struct htmlsan_report r;
	const char *in = "<img src=\"cid:abc@x\"><img src=\"cid:\">"
			 "<p style=\"background-image:url(cid:bg)\">x</p>";
	char *got = san(in, strlen(in), &o, NULL, &r);
	test_assert(strstr(got, "<img src=\"/api/part?m=42&amp;id=abc@x\">") !=
		    NULL);
	test_assert(strstr(got, "url(&quot;/api/part?m=42&amp;id=bg&quot;)") !=
		    NULL);
	test_assert(r.urls_dropped == 1); /* the empty cid: */
	free(got);
	/* no callback: cid images go */
	got = san(in, strlen(in), NULL, NULL, &r);
	test_assert(strstr(got, "src") == NULL && strstr(got, "url(") == NULL);
	free(got);
}

static void test_remote(void)
{
	test_begin("remote content");
	const char *in =
	    "<img src=http://a.example/1.gif>"
	    "<p style=\"background:url('https://a.example/2')\">x</p>"
	    "<style>p{background-image:url(http://a.example/3)}</style>";
	struct htmlsan_report r;
	char *got = san(in, strlen(in), NULL, NULL, &r);
	test_assert(strstr(got, "a.example") == NULL);
	test_assert(r.remote_blocked == 3);
	free(got);
	struct htmlsan_opts o = {.allow_remote = true};
	got = san(in, strlen(in), &o, NULL, &r);
	test_assert(strstr(got, "<img src=\"http://a.example/1.gif\">") !=
		    NULL);
	test_assert(strstr(got, "url(&quot;https://a.example/2&quot;)") !=
		    NULL);
	test_assert(strstr(got, "url(\"http://a.example/3\")") != NULL);
	test_assert(r.remote_blocked == 0);
	free(got);
}

struct url_case {
	const char *url;
	enum htmlsan_url_kind kind;
	enum htmlsan_url_class want;
	const char *clean;
};

static const struct url_case url_cases[] = {
    {"http://a/", HTMLSAN_URL_LINK, HTMLSAN_URL_OK, "http://a/"},
    {"HTTPS://A/B", HTMLSAN_URL_LINK, HTMLSAN_URL_OK, "https://A/B"},
    {" \t\nmailto:x@y\n", HTMLSAN_URL_LINK, HTMLSAN_URL_OK, "mailto:x@y"},
    {"java\tscript:alert(1)", HTMLSAN_URL_LINK, HTMLSAN_URL_BAD, NULL},
    {"\x01javascript:1", HTMLSAN_URL_LINK, HTMLSAN_URL_BAD, NULL},
    {"vbscript:x", HTMLSAN_URL_LINK, HTMLSAN_URL_BAD, NULL},
    {"data:text/html,x", HTMLSAN_URL_LINK, HTMLSAN_URL_BAD, NULL},
    {"//evil/", HTMLSAN_URL_LINK, HTMLSAN_URL_BAD, NULL},
    {"/rel", HTMLSAN_URL_LINK, HTMLSAN_URL_BAD, NULL},
    {"", HTMLSAN_URL_LINK, HTMLSAN_URL_BAD, NULL},
    {"http:", HTMLSAN_URL_LINK, HTMLSAN_URL_BAD, NULL},
    {"h\ntt\rp://a/", HTMLSAN_URL_LINK, HTMLSAN_URL_OK, "http://a/"},
    {"cid:x", HTMLSAN_URL_LINK, HTMLSAN_URL_BAD, NULL},
    {"cid:x@y", HTMLSAN_URL_IMAGE, HTMLSAN_URL_CID, "x@y"},
    {"cid:", HTMLSAN_URL_IMAGE, HTMLSAN_URL_BAD, NULL},
    {"http://a/x.png", HTMLSAN_URL_IMAGE, HTMLSAN_URL_REMOTE, "http://a/x.png"},
    {"data:image/gif;base64,R0lG", HTMLSAN_URL_IMAGE, HTMLSAN_URL_OK,
     "data:image/gif;base64,R0lG"},
    {"DATA:IMAGE/JPEG;BASE64,/9j/", HTMLSAN_URL_IMAGE, HTMLSAN_URL_OK,
     "data:image/jpeg;base64,/9j/"},
    {"data:image/webp;base64,UklG", HTMLSAN_URL_IMAGE, HTMLSAN_URL_OK, NULL},
    {"data:image/png;base64,a\"b", HTMLSAN_URL_IMAGE, HTMLSAN_URL_BAD, NULL},
    {"data:image/png,rawbytes", HTMLSAN_URL_IMAGE, HTMLSAN_URL_BAD, NULL},
    {"data:image/svg+xml;base64,PHN2", HTMLSAN_URL_IMAGE, HTMLSAN_URL_BAD,
     NULL},
    {"javascript:1", HTMLSAN_URL_IMAGE, HTMLSAN_URL_BAD, NULL},
};

static void test_urls(void)
{
	test_begin("url policy");
	for (size_t i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *c = &url_cases[i];
		struct buf b;
		buf_init(&b, 1024);
		enum htmlsan_url_class got =
		    htmlsan_url_check(c->url, strlen(c->url), c->kind, &b);
		if (got != c->want)
			fprintf(stderr, "url case %zu: %d\n", i, (int)got);
		test_assert(got == c->want);
		if (c->clean != NULL)
			test_assert(strcmp(buf_cstr(&b), c->clean) == 0);
		buf_deinit(&b);
	}
}

struct css_case {
	const char *in, *want;
};

static const struct css_case css_cases[] = {
    {"", ""},
    {"color:red", "color:red"},
    {"color:red;;", "color:red"},
    {"c\\6flor: red", "color:red"},
    {"color:/* x */red", "color:red"},
    {"color:red/*", "color:red"},
    {"width:expression(alert(1))", ""},
    {"width:exp/**/ression(1)", ""},
    {"background:var(--x)", ""},
    {"--x:url(http://a/)", ""},
    {"behavior:url(x.htc)", ""},
    {"-moz-binding:url(x)", ""},
    {"position:fixed", ""},
    {"position:sticky", ""},
    {"position:absolute", ""},
    {"position:relative", "position:relative"},
    {"position:fix\\65 d", ""},
    {"background:url(javascript:alert(1))", ""},
    {"background:url(http://a/", ""},
    {"background:url(data:image/png;base64,AAAA) no-repeat",
     "background:url(\"data:image/png;base64,AAAA\") no-repeat"},
    {"font-family:\"a\\\"b\"", ""},
    {"font-family:'x</style>'", ""},
    {"color:red!ie", ""},
    {"color: red ! important", "color:red!important"},
    {"color:attr(x)", ""},
    {"content:'x'", ""},
    {"color:red;color:blue", "color:red;color:blue"},
    {"margin:0 auto;padding : 1px 2px", "margin:0 auto;padding:1px 2px"},
    {"font-family:\xe5\xbe\xae\xe8\xbd\xaf\xe9\x9b\x85\xe9\xbb\x91,Arial",
     "font-family:\xe5\xbe\xae\xe8\xbd\xaf\xe9\x9b\x85\xe9\xbb\x91,Arial"},
    {"color:\\0", "color:\xef\xbf\xbd"},
    {"color:rgb(1,2,3", ""},
    {"color:rgb(1,2,3))", ""},
    {"x", ""},
    {":red", ""},
};

static void test_css(void)
{
	test_begin("css declarations");
	for (size_t i = 0; i < sizeof(css_cases) / sizeof(css_cases[0]); i++) {
		const struct css_case *c = &css_cases[i];
		struct buf b;
		struct htmlsan_report r = {0};
		struct htmlsan_opts o = {0};
		buf_init(&b, 4096);
		test_assert(
		    htmlsan_css_decls(c->in, strlen(c->in), &o, &r, &b) == 0);
		if (strcmp(buf_cstr(&b), c->want) != 0)
			fprintf(stderr, "css case %zu: got [%s]\n", i,
				buf_cstr(&b));
		test_assert(strcmp(buf_cstr(&b), c->want) == 0);
		/* canonical output is a fixed point */
		struct buf b2;
		buf_init(&b2, 4096);
		test_assert(
		    htmlsan_css_decls(b.p ? b.p : "", b.len, &o, &r, &b2) == 0);
		test_assert(strcmp(buf_cstr(&b2), buf_cstr(&b)) == 0);
		buf_deinit(&b2);
		buf_deinit(&b);
	}
	test_begin("css sheet");
	static const struct css_case sheets[] = {
	    {"p{color:red}", ".youju-msg p{color:red}"},
	    {"html body p, .a > b{color:red}",
	     ".youju-msg p,.youju-msg .a > b{color:red}"},
	    {".youju-msg p{color:red}", ".youju-msg p{color:red}"},
	    {"@import url(x.css);p{color:red}", ".youju-msg p{color:red}"},
	    {"@font-face{font-family:x;src:url(http://a/)}", ""},
	    {"@media screen and (max-width:600px){td{width:100%}}",
	     "@media screen and (max-width:600px){.youju-msg td{width:100%}}"},
	    {"@media x{@media y{p{color:red}}}", ""},
	    {"a[href^=x]{color:red}", ""},
	    {"p{position:fixed}", ""},
	    {"<!-- p{color:red} -->", ".youju-msg p{color:red}"},
	    {"p{color:red", ".youju-msg p{color:red}"},
	    {"p{font-family:\"}\"}q{color:red}", ".youju-msg q{color:red}"},
	    {"p\\3c/style\\3e{color:red}", ""},
	    {"*{display:none}", ".youju-msg *{display:none}"},
	};
	for (size_t i = 0; i < sizeof(sheets) / sizeof(sheets[0]); i++) {
		struct buf b;
		struct htmlsan_report r = {0};
		struct htmlsan_opts o = {0};
		buf_init(&b, 4096);
		test_assert(htmlsan_css_sheet(sheets[i].in,
					      strlen(sheets[i].in), &o, &r,
					      &b) == 0);
		if (strcmp(buf_cstr(&b), sheets[i].want) != 0)
			fprintf(stderr, "sheet case %zu: got [%s]\n", i,
				buf_cstr(&b));
		test_assert(strcmp(buf_cstr(&b), sheets[i].want) == 0);
		buf_deinit(&b);
	}
}

struct text_case {
	const char *in, *want;
};

#define TOPEN                                                                  \
	"<div class=\"youju-text\" style=\"white-space:pre-wrap;"              \
	"overflow-wrap:break-word\">"
#define LINK(u)                                                                \
	"<a href=\"" u "\" target=\"_blank\" rel=\"noopener "                  \
	"noreferrer\">" u "</a>"

static const struct text_case text_cases[] = {
    {"", TOPEN "</div>"},
    {"a<b>&\"c\"", TOPEN "a&lt;b&gt;&amp;&quot;c&quot;</div>"},
    {"x\r\ny\rz\n", TOPEN "x\ny\nz\n</div>"},
    {"see http://a.example/x.",
     TOPEN "see " LINK("http://a.example/x") ".</div>"},
    {"(https://a.example/p_(1))",
     TOPEN "(" LINK("https://a.example/p_(1)") ")</div>"},
    {"mailto:x@y.example", TOPEN LINK("mailto:x@y.example") "</div>"},
    {"javascript:alert(1) data:text/html,x",
     TOPEN "javascript:alert(1) data:text/html,x</div>"},
    {"xhttp://a.example/", TOPEN "xhttp://a.example/</div>"},
    {"http://a.example/\"onmouseover=alert(1)",
     TOPEN LINK("http://a.example/") "&quot;onmouseover=alert(1)</div>"},
    {"http://", TOPEN "http://</div>"},
    {"\x01\xff\xc0\x80ok\t", TOPEN "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
				   "\xef\xbf\xbdok\t</div>"},
};

static void test_text(void)
{
	test_begin("text");
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]);
	     i++) {
		struct buf b;
		buf_init(&b, 4096);
		test_assert(htmlsan_text(text_cases[i].in,
					 strlen(text_cases[i].in), NULL, &b,
					 NULL) == HTMLSAN_OK);
		if (strcmp(buf_cstr(&b), text_cases[i].want) != 0)
			fprintf(stderr, "text case %zu: got [%s]\n", i,
				buf_cstr(&b));
		test_assert(strcmp(buf_cstr(&b), text_cases[i].want) == 0);
		buf_deinit(&b);
	}
	/* embedded NUL */
	struct buf b;
	buf_init(&b, 4096);
	test_assert(htmlsan_text("a\0b", 3, NULL, &b, NULL) == HTMLSAN_OK);
	test_assert(strstr(buf_cstr(&b), "a\xef\xbf\xbd"
					 "b") != NULL);
	/* output cap: marker, closed div */
	buf_deinit(&b);
	buf_init(&b, 300);
	struct htmlsan_report r;
	char big[2000];
	memset(big, 'x', sizeof(big));
	test_assert(htmlsan_text(big, sizeof(big), NULL, &b, &r) == HTMLSAN_OK);
	test_assert(r.truncated);
	test_assert(strstr(buf_cstr(&b), "[truncated]") != NULL);
	test_assert(b.len >= 6 && strcmp(b.p + b.len - 6, "</div>") == 0);
	buf_deinit(&b);
	/* in_max and in_max + 1 */
	struct htmlsan_opts o = {.in_max = 10};
	buf_init(&b, 4096);
	test_assert(htmlsan_text("0123456789", 10, &o, &b, NULL) == HTMLSAN_OK);
	test_assert(htmlsan_text("0123456789a", 11, &o, &b, NULL) ==
		    HTMLSAN_TOO_BIG);
	buf_deinit(&b);
}

/* ---- checks on a re-parsed output ---- */

static const char *const ok_attrs[] = {
    "abbr",	   "align",	  "alt",     "bgcolor", "border",
    "cellpadding", "cellspacing", "clear",   "color",	"colspan",
    "datetime",	   "dir",	  "face",    "headers", "height",
    "hspace",	   "lang",	  "noshade", "nowrap",	"open",
    "reversed",	   "rowspan",	  "scope",   "size",	"span",
    "start",	   "summary",	  "title",   "type",	"valign",
    "value",	   "vspace",	  "width",   "class",	"style",
    "href",	   "src",	  "target",  "rel",	"data-youju-blocked",
};

static bool listed(const char *const *l, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i], s) == 0)
			return true;
	return false;
}

static bool bad_css(const char *css)
{
	static const char *const bad[] = {
	    "expression",
	    "var(",
	    "javascript",
	    "behavior",
	    "binding",
	    "@import",
	    "@font-face",
	    "position:fixed",
	    "position:sticky",
	    "position:absolute",
	    "\\",
	    "/*",
	    "<",
	    "--",
	    "attr(",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcasestr(css, bad[i]) != NULL)
			return true;
	/* every url( holds an allowed image */
	for (const char *u = css; (u = strcasestr(u, "url(")) != NULL; u += 4)
		if (strncmp(u, "url(\"data:image/", 16) != 0 &&
		    strncmp(u, "url(\"cid:", 9) != 0 &&
		    strncmp(u, "url(\"http", 9) != 0)
			return true;
	return false;
}

/* Every rule of our <style> is an @media or scoped under .youju-msg. */
static bool bad_sheet(const char *css)
{
	const char *p = css;
	while (*p != '\0') {
		const char *open = strchr(p, '{');
		if (open == NULL)
			break;
		if (strncmp(p, "@media ", 7) == 0) {
			p = open + 1;
			continue;
		}
		const char *s = p;
		while (s < open) {
			if (strncmp(s, ".youju-msg", 10) != 0)
				return true;
			const char *c = memchr(s, ',', (size_t)(open - s));
			s = c ? c + 1 : open;
		}
		const char *close = strchr(open, '}');
		if (close == NULL)
			return true;
		p = close + 1;
		while (*p == '}')
			p++;
	}
	return bad_css(css);
}

struct verdict {
	int bad;
	bool remote;
	const char *why;
};

static void check_node(const GumboNode *n, struct verdict *v)
{
	if (n->type == GUMBO_NODE_COMMENT || n->type == GUMBO_NODE_CDATA ||
	    n->type == GUMBO_NODE_TEMPLATE) {
		v->bad++;
		v->why = "comment/cdata/template";
		return;
	}
	if (n->type == GUMBO_NODE_DOCUMENT) {
		if (n->v.document.has_doctype) {
			v->bad++;
			v->why = "doctype";
		}
		for (unsigned i = 0; i < n->v.document.children.length; i++)
			check_node(n->v.document.children.data[i], v);
		return;
	}
	if (n->type != GUMBO_NODE_ELEMENT)
		return;
	const GumboElement *e = &n->v.element;
	const char *name = gumbo_normalized_tagname(e->tag);
	if (e->tag_namespace != GUMBO_NAMESPACE_HTML ||
	    !oracle_element_ok(name)) {
		v->bad++;
		v->why = "element";
		return;
	}
	if (e->tag == GUMBO_TAG_STYLE) {
		const GumboNode *t =
		    e->children.length ? e->children.data[0] : NULL;
		if (t != NULL && bad_sheet(t->v.text.text)) {
			v->bad++;
			v->why = "sheet";
		}
	}
	bool has_href = false, blank = false, noopener = false;
	for (unsigned i = 0; i < e->attributes.length; i++) {
		const GumboAttribute *a = e->attributes.data[i];
		if (a->attr_namespace != GUMBO_ATTR_NAMESPACE_NONE ||
		    !listed(ok_attrs, sizeof(ok_attrs) / sizeof(ok_attrs[0]),
			    a->name)) {
			v->bad++;
			v->why = "attribute";
		}
		if (!strcmp(a->name, "href")) {
			has_href = true;
			if (e->tag != GUMBO_TAG_A ||
			    (strncmp(a->value, "http://", 7) &&
			     strncmp(a->value, "https://", 8) &&
			     strncmp(a->value, "mailto:", 7))) {
				v->bad++;
				v->why = "href";
			}
		}
		if (!strcmp(a->name, "target"))
			blank = !strcmp(a->value, "_blank");
		if (!strcmp(a->name, "rel"))
			noopener = !strcmp(a->value, "noopener noreferrer");
		if (!strcmp(a->name, "src")) {
			bool remote = !strncmp(a->value, "http://", 7) ||
				      !strncmp(a->value, "https://", 8);
			if (e->tag != GUMBO_TAG_IMG ||
			    (strncmp(a->value, "cid:", 4) &&
			     strncmp(a->value, "data:image/png;base64,", 22) &&
			     strncmp(a->value, "data:image/gif;base64,", 22) &&
			     strncmp(a->value, "data:image/jpeg;base64,", 23) &&
			     strncmp(a->value, "data:image/webp;base64,", 23) &&
			     !(remote && v->remote))) {
				v->bad++;
				v->why = "src";
			}
		}
		if (!strcmp(a->name, "style") && bad_css(a->value)) {
			v->bad++;
			v->why = "style";
		}
		if (!v->remote && strcasestr(a->value, "canary") != NULL) {
			v->bad++;
			v->why = "canary";
		}
	}
	if (e->tag == GUMBO_TAG_A && has_href && !(blank && noopener)) {
		v->bad++;
		v->why = "link target";
	}
	for (unsigned i = 0; i < e->children.length; i++)
		check_node(e->children.data[i], v);
}

/* 0 when out (a sanitizer output) passes every check. */
static int check_output(const char *out, size_t len, bool remote,
			const char **why)
{
	struct verdict v = {0, remote, ""};
	GumboOutput *g =
	    gumbo_parse_with_options(&kGumboDefaultOptions, out, len);
	check_node(g->document, &v);
	gumbo_destroy_output(&kGumboDefaultOptions, g);
	*why = v.why;
	return v.bad;
}

/* The checker itself must catch what it is there to catch. */
static void test_checker(void)
{
	test_begin("checker");
	static const char *const bad[] = {
	    "<img src=x onerror=alert(1)>",
	    "<a href=\"javascript:alert(1)\">x</a>",
	    "<a href=\"https://a/\">no target</a>",
	    "<svg></svg>",
	    "<p><math></math></p>",
	    "<!-- c -->",
	    "<!DOCTYPE html><p>",
	    "<style>p{color:red}</style>",
	    "<style>.youju-msg p{background:url(http://x/)}</style>",
	    "<p style=\"position:fixed\">",
	    "<p style=\"background:url(x)\">",
	    "<img src=\"http://canary/\">",
	    "<p title=\"http://canary/\">",
	    "<iframe></iframe>",
	    "<p id=x>",
	    "<form></form>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why;
		int n = check_output(bad[i], strlen(bad[i]), false, &why);
		if (n == 0)
			fprintf(stderr, "checker missed [%s]\n", bad[i]);
		test_assert(n > 0);
	}
	const char *why;
	const char *good = "<style>.youju-msg p{color:red}</style><p>x</p>";
	test_assert(check_output(good, strlen(good), false, &why) == 0);
}

/* HTMLSAN_DUMP_DIR=dir: write each output there (for the browser test,
 * tests/integration/test_htmlsan_browser.py). */
static void dump(const char *name, const char *out)
{
	const char *dir = getenv("HTMLSAN_DUMP_DIR");
	size_t nl = strlen(name);
	if (dir == NULL || strcmp(name, "table") == 0 ||
	    (nl > 4 && strcmp(name + nl - 4, ".eml") == 0))
		return;
	char path[1024];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	test_assert(n > 0 && (size_t)n < sizeof(path));
	FILE *f = fopen(path, "wb");
	test_assert(f != NULL);
	if (f == NULL)
		return;
	test_assert(fwrite(out, 1, strlen(out), f) == strlen(out));
	test_assert(fclose(f) == 0);
}

static void check_one(const char *name, const char *in, size_t len, bool remote)
{
	struct htmlsan_opts o = {.cid_url = cid_same, .allow_remote = remote};
	struct htmlsan_report r;
	int rc;
	char *out = san(in, len, &o, &rc, &r);
	if (!remote)
		dump(name, out);
	const char *why;
	int bad = check_output(out, strlen(out), remote, &why);
	if (bad)
		fprintf(stderr, "%s (remote=%d): %s in [%s]\n", name, remote,
			why, out);
	test_assert(bad == 0);
	if (!remote && strcasestr(out, "canary") != NULL) {
		fprintf(stderr, "%s: canary URL survived: [%s]\n", name, out);
		test_assert(!"canary");
	}
	/* idempotence: the output is a fixed point, hence no mXSS */
	char *again = san(out, strlen(out), &o, NULL, NULL);
	if (strcmp(again, out) != 0)
		fprintf(stderr, "%s: not idempotent:\n  1: [%s]\n  2: [%s]\n",
			name, out, again);
	test_assert(strcmp(again, out) == 0);
	free(again);
	free(out);
}

static char *slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct buf b;
	buf_init(&b, 16 << 20);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) < 0)
			break;
	fclose(f);
	*len_r = b.len;
	char *p = malloc(b.len + 1);
	memcpy(p, b.p ? b.p : "", b.len + 1);
	buf_deinit(&b);
	return p;
}

static void test_corpus(void)
{
	test_begin("corpus");
	const char *dir = YOUJU_SRCDIR "/tests/unit/lib/htmlsan_corpus";
	DIR *d = opendir(dir);
	test_assert(d != NULL);
	if (d == NULL)
		return;
	int files = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char path[1024];
		int pl = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		test_assert(pl > 0 && (size_t)pl < sizeof(path));
		size_t len;
		char *in = slurp(path, &len);
		test_assert(in != NULL);
		if (in == NULL)
			continue;
		check_one(de->d_name, in, len, false);
		check_one(de->d_name, in, len, true);
		free(in);
		files++;
	}
	closedir(d);
	test_assert(files >= 40);
	/* table cases go through the same checks */
	for (size_t i = 0; i < sizeof(html_cases) / sizeof(html_cases[0]); i++)
		check_one("table", html_cases[i].in, strlen(html_cases[i].in),
			  false);
}

/* Every text part of the .eml files of tests/fixtures/xss, decoded. */
static int eml_walk(const char *name, const char *msg, size_t size,
		    const struct mime_part *p)
{
	int html = 0;
	for (const struct mime_part *c = p->children; c != NULL; c = c->next)
		html += eml_walk(name, msg, size, c);
	bool is_html = mime_is_type(p, "text", "html");
	if (!is_html && !mime_is_type(p, "text", "plain"))
		return html;
	struct buf raw, u;
	buf_init(&raw, 16 << 20);
	buf_init(&u, 16 << 20);
	test_assert(mime_decode_cte(p->encoding, msg + p->body_off, p->body_len,
				    &raw) == 0);
	test_assert(
	    mime_to_utf8(mime_param_get(p->params, p->nparams, "charset"),
			 raw.p ? raw.p : "", raw.len, &u) == 0);
	const char *in = u.p ? u.p : "";
	if (is_html) {
		check_one(name, in, u.len, false);
		check_one(name, in, u.len, true);
		html++;
	} else {
		struct buf t;
		buf_init(&t, 1 << 20);
		test_assert(htmlsan_text(in, u.len, NULL, &t, NULL) ==
			    HTMLSAN_OK);
		const char *why;
		int bad = check_output(t.p, t.len, false, &why);
		if (bad)
			fprintf(stderr, "%s: text part: %s in [%s]\n", name,
				why, t.p);
		test_assert(bad == 0);
		test_assert(strstr(t.p, "<script") == NULL);
		buf_deinit(&t);
	}
	buf_deinit(&u);
	buf_deinit(&raw);
	return html;
}

static void test_eml(void)
{
	test_begin("eml corpus");
	const char *dir = YOUJU_SRCDIR "/tests/fixtures/xss";
	DIR *d = opendir(dir);
	test_assert(d != NULL);
	if (d == NULL)
		return;
	int files = 0, html = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		if (nl < 5 || strcmp(de->d_name + nl - 4, ".eml") != 0)
			continue;
		char path[1024];
		int pl = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		test_assert(pl > 0 && (size_t)pl < sizeof(path));
		size_t len;
		char *msg = slurp(path, &len);
		test_assert(msg != NULL);
		if (msg == NULL)
			continue;
		struct mime_part *root = mime_parse(msg, len);
		html += eml_walk(de->d_name, msg, len, root);
		mime_free(&root);
		free(msg);
		files++;
	}
	closedir(d);
	test_assert(files >= 50);
	test_assert(html >= 48);
	/* a 5 MB HTML part: refused, the caller shows text or a download */
	size_t big = 5u << 20;
	char *h = malloc(big);
	for (size_t i = 0; i < big; i++)
		h[i] = "<p>x</p>"[i % 8];
	struct buf b;
	buf_init(&b, 1 << 20);
	test_assert(htmlsan_html(h, big, NULL, &b, NULL) == HTMLSAN_TOO_BIG);
	test_assert(htmlsan_text(h, big, NULL, &b, NULL) == HTMLSAN_TOO_BIG);
	test_assert(b.len == 0);
	buf_deinit(&b);
	free(h);
}

static void test_limits(void)
{
	test_begin("limits");
	int rc;
	/* in_max and in_max + 1 */
	struct htmlsan_opts o = {.in_max = 8};
	char *got = san("<b>x</b>", 8, &o, &rc, NULL);
	test_assert(rc == HTMLSAN_OK && strcmp(got, "<b>x</b>") == 0);
	free(got);
	struct buf b;
	buf_init(&b, 64);
	test_assert(htmlsan_html("<b>x</b> ", 9, &o, &b, NULL) ==
		    HTMLSAN_TOO_BIG);
	test_assert(b.len == 0);
	buf_deinit(&b);

	/* 10 MB: refused by default, and with the cap raised it either
	 * parses or is refused as too complex, never crashes */
	size_t big = 10u << 20;
	char *in = malloc(big);
	for (size_t i = 0; i < big; i++)
		in[i] = "<p>ab</p>\n"[i % 10];
	got = san(in, big, NULL, &rc, NULL);
	test_assert(rc == HTMLSAN_TOO_BIG && got[0] == '\0');
	free(got);
	struct htmlsan_opts ob = {.in_max = 16u << 20};
	struct htmlsan_report r;
	got = san(in, big, &ob, &rc, &r);
	test_assert(rc == HTMLSAN_TOO_COMPLEX); /* 2M tags */
	free(got);
	/* 10 MB of text in few tags: sanitized, cut at the output cap */
	memset(in, 'x', big);
	memcpy(in, "<p>", 3);
	buf_init(&b, 1 << 20);
	test_assert(htmlsan_html(in, big, &ob, &b, &r) == HTMLSAN_OK);
	test_assert(r.truncated && b.len <= (1u << 20));
	test_assert(strstr(buf_cstr(&b), "[truncated]") != NULL);
	const char *why;
	test_assert(check_output(b.p, b.len, false, &why) == 0);
	buf_deinit(&b);

	/* 100,000-deep nesting: refused before gumbo goes quadratic */
	size_t deep = 100000;
	free(in);
	in = malloc(deep * 5);
	for (size_t i = 0; i < deep; i++)
		memcpy(in + i * 5, "<div>", 5);
	got = san(in, deep * 5, NULL, &rc, NULL);
	test_assert(rc == HTMLSAN_TOO_COMPLEX);
	free(got);
	/* 900 deep: parsed, emitted to the depth cap with a marker */
	got = san(in, 900 * 5, NULL, &rc, &r);
	test_assert(rc == HTMLSAN_OK && r.truncated);
	test_assert(strstr(got, "[truncated]") != NULL);
	test_assert(check_output(got, strlen(got), false, &why) == 0);
	free(got);
	/* node cap */
	struct htmlsan_opts on = {.nodes_max = 10};
	got = san(in, 50 * 5, &on, &rc, &r);
	test_assert(rc == HTMLSAN_OK && r.truncated);
	test_assert(strstr(got, "[truncated]") != NULL);
	free(got);
	free(in);

	/* output cap: the cut is closed properly */
	const char *doc =
	    "<table><tr><td><b>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "</b><i>bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb</i></td></tr></table>";
	for (size_t cap = 0; cap < 220; cap += 7) {
		buf_init(&b, cap);
		test_assert(htmlsan_html(doc, strlen(doc), NULL, &b, &r) ==
			    HTMLSAN_OK);
		test_assert(b.len <= cap);
		test_assert(check_output(b.p ? b.p : "", b.len, false, &why) ==
			    0);
		if (r.truncated && b.len > 0) {
			test_assert(strstr(b.p, "[truncated]") != NULL);
			/* ends with a closing tag of ours */
			test_assert(b.p[b.len - 1] == '>');
		}
		buf_deinit(&b);
	}
}

static void test_wrap_and_isolated(void)
{
	test_begin("wrap");
	struct htmlsan_opts o = {.wrap = true};
	char *got = san("<p>x</p>", 8, &o, NULL, NULL);
	test_assert(strcmp(got, "<div class=\"youju-msg\"><p>x</p></div>") ==
		    0);
	free(got);

	test_begin("isolated");
	const char *in = "<p onclick=x>hi<img src=http://a.example/></p>";
	struct buf a, b;
	struct htmlsan_report ra, rb;
	buf_init(&a, 4096);
	buf_init(&b, 4096);
	test_assert(htmlsan_html(in, strlen(in), NULL, &a, &ra) == HTMLSAN_OK);
	test_assert(htmlsan_html_isolated(in, strlen(in), NULL, &b, &rb,
					  5000) == HTMLSAN_OK);
	test_assert(strcmp(buf_cstr(&a), buf_cstr(&b)) == 0);
	test_assert(rb.remote_blocked == 1 && rb.attrs_dropped == 1);
	buf_reset(&b);
	size_t deep = 100000;
	char *d = malloc(deep * 5);
	for (size_t i = 0; i < deep; i++)
		memcpy(d + i * 5, "<div>", 5);
	test_assert(htmlsan_html_isolated(d, deep * 5, NULL, &b, &rb, 5000) ==
		    HTMLSAN_TOO_COMPLEX);
	test_assert(b.len == 0);
	free(d);
	buf_deinit(&a);
	buf_deinit(&b);
}

int main(void)
{
	/* the browser test (HTMLSAN_DUMP_DIR) wants the corpus's outputs
	   only; `make unit` runs everything */
	if (getenv("HTMLSAN_DUMP_DIR") != NULL) {
		test_corpus();
		return test_end();
	}
	test_html_table();
	test_embedded_nul();
	test_cid();
	test_remote();
	test_urls();
	test_css();
	test_text();
	test_checker();
	test_corpus();
	test_eml();
	test_limits();
	test_wrap_and_isolated();
	return test_end();
}
