/*
 * Mail HTML sanitizer (issue 13, docs/htmlsan.md).  The message is parsed
 * by libgumbo (a spec HTML5 tree builder, scripting flag off), the tree is
 * walked, and NEW markup is written from an allowlist of elements and
 * attributes by our own serializer, which escapes every text node and every
 * attribute value.  Input bytes are never copied through; the output is
 * final and must not be edited afterwards (CVE-2024-42009).
 *
 * Links keep only http, https and mailto URLs (after entity decoding,
 * control/whitespace stripping and case folding) and always get
 * target="_blank" rel="noopener noreferrer".  Images keep only cid: (mapped
 * through the caller's callback), data:image/{png,gif,jpeg,webp};base64,
 * and http(s) when the reader allowed remote content.  CSS from style
 * attributes and <style> goes through lib/htmlsan_css.c: a tokenizer, a
 * property allowlist, no url() but allowed images, no @import, @font-face,
 * expression(), var(), position other than static/relative; <style> rules
 * are scoped under the class HTMLSAN_SCOPE.  The server never fetches
 * anything.
 *
 * The output is a fragment meant to sit inside
 * <div class="youju-msg"> ... </div> (set opts.wrap to get that element
 * too) in a document served with the CSP sandbox of docs/htmlsan.md.
 * Unwrapped output is idempotent: sanitizing it again yields it unchanged.
 */
#ifndef YOUJU_HTMLSAN_H
#define YOUJU_HTMLSAN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Container class the <style> rules are scoped under. */
#define HTMLSAN_SCOPE "youju-msg"
/* Default limits (used when the opts field is 0). */
#define HTMLSAN_IN_MAX	  (1u << 20) /* bytes of HTML accepted at all */
#define HTMLSAN_DEPTH_MAX 128	     /* element depth emitted */
#define HTMLSAN_NODES_MAX 50000	     /* elements emitted */
#define HTMLSAN_TAGS_MAX  50000	     /* '<' before parsing at all */
#define HTMLSAN_NEST_MAX  1000	     /* estimated nesting before parsing */
#define HTMLSAN_URL_MAX	  (1u << 20) /* bytes of one URL (data: images) */
/* Placeholder attribute put on an <img> whose remote src was blocked. */
#define HTMLSAN_BLOCKED_ATTR "data-youju-blocked"

/*
 * Maps the id of a cid: URL (the bytes after "cid:", not NUL-terminated,
 * entity-decoded) to the URL the browser should load for that part, e.g.
 * "/api/part?m=42&p=2".  Appends the URL to url and returns 0, or returns -1
 * to drop the image (unknown part).  The URL is escaped on output but
 * should be a relative or same-origin path.
 */
typedef int htmlsan_cid_fn(void *ctx, const char *cid, size_t len,
			   struct buf *url);

struct htmlsan_opts {
	bool allow_remote;	 /* keep http(s) images and CSS urls */
	bool wrap;		 /* emit <div class="youju-msg"> around */
	htmlsan_cid_fn *cid_url; /* NULL: every cid: image is dropped */
	void *cid_ctx;
	size_t in_max;	    /* 0: HTMLSAN_IN_MAX */
	unsigned depth_max; /* 0: HTMLSAN_DEPTH_MAX */
	unsigned nodes_max; /* 0: HTMLSAN_NODES_MAX */
};

/* What the sanitizer removed; all counters saturate. */
struct htmlsan_report {
	unsigned remote_blocked; /* http(s) images / CSS urls not allowed */
	unsigned elements_dropped;
	unsigned attrs_dropped;
	unsigned urls_dropped; /* links or image URLs with a bad scheme */
	unsigned css_dropped;  /* CSS declarations or rules dropped */
	bool truncated;	       /* depth, node or output cap reached */
};

/* Return values of htmlsan_html() and htmlsan_text(). */
#define HTMLSAN_OK	    0	 /* out holds the sanitized HTML */
#define HTMLSAN_TOO_BIG	    (-1) /* input over in_max: show text instead */
#define HTMLSAN_TOO_COMPLEX (-2) /* too many tags or parser memory cap */

/*
 * Sanitizes len bytes of UTF-8 HTML (convert other charsets first; invalid
 * sequences become U+FFFD) and appends the result to out.  o may be NULL
 * (defaults: no remote content, no cid mapping); r may be NULL.  When out
 * fills up, the output is cut at an element boundary, closed properly,
 * r->truncated set and HTMLSAN_OK returned; a "[truncated]" marker element
 * <p class="youju-truncated"> marks every cut.  On HTMLSAN_TOO_BIG or
 * HTMLSAN_TOO_COMPLEX out is unchanged and the caller shows the text part.
 * Never emits: script, style attributes outside the CSS allowlist, event
 * handlers, svg/math, forms, frames, or URLs outside the schemes above.
 */
int htmlsan_html(const char *in, size_t len, const struct htmlsan_opts *o,
		 struct buf *out, struct htmlsan_report *r);

/*
 * Plain text (a text/plain part, UTF-8) to HTML: every byte escaped,
 * invalid UTF-8 and control characters other than TAB/LF replaced, line
 * breaks kept, http(s) and mailto URLs linkified with the same checker,
 * all inside <div class="youju-text" style="white-space:pre-wrap">.
 * Returns HTMLSAN_OK (truncated with a marker when out fills up) or
 * HTMLSAN_TOO_BIG when len > in_max (o may be NULL).
 */
int htmlsan_text(const char *in, size_t len, const struct htmlsan_opts *o,
		 struct buf *out, struct htmlsan_report *r);

/*
 * htmlsan_html() in a forked child with RLIMIT_AS, RLIMIT_CPU and a big
 * stack, so that a parser crash, memory blow-up or quadratic case costs a
 * child and not the daemon.  Blocks up to timeout_ms; call it from a
 * worker process (the child calls malloc after fork(), which is safe only
 * when the caller has no other threads).  Returns as htmlsan_html(), or
 * HTMLSAN_FAILED (-3) when the child crashed, timed out or could not be
 * started: show the text part.
 */
#define HTMLSAN_FAILED (-3)
int htmlsan_html_isolated(const char *in, size_t len,
			  const struct htmlsan_opts *o, struct buf *out,
			  struct htmlsan_report *r, unsigned timeout_ms);

/*
 * URL policy, exported for webmail and the tests.  Kinds: a link (http,
 * https, mailto) or an image (data:image/{png,gif,jpeg,webp};base64, cid:,
 * http(s) when remote is allowed).  The URL is entity-decoded already;
 * controls and whitespace are stripped and the scheme case-folded here.
 * Returns true when allowed, with the cleaned URL appended to clean (may be
 * NULL).
 */
enum htmlsan_url_kind { HTMLSAN_URL_LINK, HTMLSAN_URL_IMAGE };
enum htmlsan_url_class {
	HTMLSAN_URL_BAD,    /* scheme not allowed */
	HTMLSAN_URL_OK,	    /* link, or data: image */
	HTMLSAN_URL_CID,    /* cid: image; clean holds the id */
	HTMLSAN_URL_REMOTE, /* http(s) image: only with allow_remote */
};
enum htmlsan_url_class htmlsan_url_check(const char *url, size_t len,
					 enum htmlsan_url_kind kind,
					 struct buf *clean);

#endif
