/*
 * Fuzz target for lib/htmlsan and its CSS half.  A first byte of 0x01,
 * 0x02 or 0x03 selects plain text, a style attribute or a style sheet;
 * anything else is an HTML document (so the corpus files are plain HTML).
 * For HTML the output is parsed again with gumbo and must hold only
 * allowlisted elements and attributes with allowed link schemes, and must
 * sanitize to itself (no mutation-XSS fixed point escape); CSS output must
 * also be a fixed point.
 */
#include <gumbo.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htmlsan.h"
#include "htmlsan_css.h"

#include "../../unit/lib/htmlsan_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_check(const GumboNode *n)
{
	if (n->type == GUMBO_NODE_COMMENT || n->type == GUMBO_NODE_CDATA ||
	    n->type == GUMBO_NODE_TEMPLATE)
		abort();
	const GumboVector *kids = NULL;
	if (n->type == GUMBO_NODE_DOCUMENT)
		kids = &n->v.document.children;
	if (n->type == GUMBO_NODE_ELEMENT) {
		const GumboElement *e = &n->v.element;
		if (e->tag_namespace != GUMBO_NAMESPACE_HTML ||
		    !oracle_element_ok(gumbo_normalized_tagname(e->tag)))
			abort();
		for (unsigned i = 0; i < e->attributes.length; i++) {
			const GumboAttribute *a = e->attributes.data[i];
			if (a->attr_namespace != GUMBO_ATTR_NAMESPACE_NONE ||
			    strncmp(a->name, "on", 2) == 0 ||
			    !strcmp(a->name, "id") ||
			    !strcmp(a->name, "srcset"))
				abort();
			if (!strcmp(a->name, "href") &&
			    strncmp(a->value, "http://", 7) &&
			    strncmp(a->value, "https://", 8) &&
			    strncmp(a->value, "mailto:", 7))
				abort();
			if (!strcmp(a->name, "src") &&
			    strncmp(a->value, "data:image/", 11) &&
			    strncmp(a->value, "cid:", 4))
				abort(); /* remote is off here */
			if (!strcmp(a->name, "style") &&
			    (strstr(a->value, "\\") || strstr(a->value, "/*") ||
			     strcasestr(a->value, "expression(") ||
			     strcasestr(a->value, "var(") ||
			     strcasestr(a->value, "url(\"http")))
				abort();
		}
		kids = &e->children;
	}
	if (kids != NULL)
		for (unsigned i = 0; i < kids->length; i++)
			fz_check(kids->data[i]);
}

static int fz_cid(void *ctx, const char *cid, size_t len, struct buf *u)
{
	return buf_append_str(u, "cid:") < 0 || buf_append(u, cid, len) < 0 ? -1
									    : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	int mode = size > 0 && data[0] >= 1 && data[0] <= 3 ? data[0] : 0;
	if (mode != 0) {
		in++;
		size--;
	}
	struct htmlsan_opts o = {.cid_url = fz_cid};
	struct htmlsan_report r;
	struct buf out, again;
	buf_init(&out, 256 << 10);
	buf_init(&again, 256 << 10);
	if (mode == 0) {
		if (htmlsan_html(in, size, &o, &out, &r) == HTMLSAN_OK) {
			if (out.len > out.max)
				abort();
			GumboOutput *g = gumbo_parse_with_options(
			    &kGumboDefaultOptions, buf_cstr(&out), out.len);
			fz_check(g->document);
			gumbo_destroy_output(&kGumboDefaultOptions, g);
			/* a cut output need not be a fixed point */
			if (!r.truncated &&
			    (htmlsan_html(buf_cstr(&out), out.len, &o, &again,
					  &r) != HTMLSAN_OK ||
			     again.len != out.len ||
			     memcmp(buf_cstr(&again), buf_cstr(&out), out.len)))
				abort();
		}
	} else if (mode == 1) {
		if (htmlsan_text(in, size, &o, &out, &r) != HTMLSAN_OK ||
		    out.len > out.max)
			abort();
	} else {
		int (*f)(const char *, size_t, const struct htmlsan_opts *,
			 struct htmlsan_report *, struct buf *) =
		    mode == 2 ? htmlsan_css_decls : htmlsan_css_sheet;
		memset(&r, 0, sizeof(r));
		if (f(in, size, &o, &r, &out) == 0 &&
		    (f(buf_cstr(&out), out.len, &o, &r, &again) != 0 ||
		     again.len != out.len ||
		     memcmp(buf_cstr(&again), buf_cstr(&out), out.len) ||
		     memchr(buf_cstr(&out), '<', out.len) ||
		     memchr(buf_cstr(&out), '\\', out.len)))
			abort();
	}
	buf_deinit(&again);
	buf_deinit(&out);
	return 0;
}
