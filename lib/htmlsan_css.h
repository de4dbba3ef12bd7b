/*
 * CSS half of the mail HTML sanitizer (lib/htmlsan.h, docs/htmlsan.md).
 * Comments and escapes are resolved first, then the text is tokenized and
 * only allowlisted properties with values made of plain tokens (idents,
 * numbers, colours, strings, rgb()/hsl(), allowed image url()) are written
 * back in one canonical form: no comments, no backslashes, no '<', so the
 * browser reads exactly what was checked.  Output is idempotent.
 */
#ifndef YOUJU_HTMLSAN_CSS_H
#define YOUJU_HTMLSAN_CSS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "htmlsan.h"

#define HTMLSAN_CSS_VALUE_MAX 512	   /* bytes of one declaration value */
#define HTMLSAN_CSS_DECLS_MAX 64	   /* declarations per block */
#define HTMLSAN_CSS_IN_MAX    (256u << 10) /* bytes of CSS looked at */

/* Whether p[0..len) is one of the n names of l, which is sorted in strcmp
   order (the element, attribute and property allowlists): binary search. */
bool htmlsan_sorted_has(const char *const *l, size_t n, const char *p,
			size_t len);

/*
 * Image-URL policy hook shared with the HTML side: appends the URL to emit
 * for url (entity/escape-decoded, not NUL-terminated) to out and returns 0,
 * or returns -1 (counted in the report) when the image is not allowed.
 */
int htmlsan_image_url(const struct htmlsan_opts *o, struct htmlsan_report *r,
		      const char *url, size_t len, struct buf *out);

/*
 * A style attribute's declaration list -> "prop:value;prop:value" appended
 * to out (nothing when no declaration survives).  Returns 0, or -1 when out
 * is full (out then holds a prefix; the caller drops the attribute).
 */
int htmlsan_css_decls(const char *in, size_t len, const struct htmlsan_opts *o,
		      struct htmlsan_report *r, struct buf *out);

/*
 * A style sheet -> rules whose selectors are scoped under
 * .HTMLSAN_SCOPE, only @media kept among at-rules.  Returns 0 or -1 as
 * htmlsan_css_decls().
 */
int htmlsan_css_sheet(const char *in, size_t len, const struct htmlsan_opts *o,
		      struct htmlsan_report *r, struct buf *out);

#endif
