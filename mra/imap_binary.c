/*
 * The literal8 APPEND conversion; see imap_binary.h.  The message is
 * parsed once (lib/mime); the parts to convert are leaves, which never
 * overlap, so the output is the input with each such part's header and
 * body replaced in order.
 */
#include "imap_binary.h"

#include <string.h>
#include <strings.h>

#include "base64.h"
#include "mime.h"

/* 57 bytes of input make one 76-column base64 line */
#define IMAP_B64_LINE_IN 57

struct conv {
	const char *msg;
	size_t cursor; /* input copied up to here */
	struct buf *out;
	int rc; /* 0, or -1 once out is full */
	bool any;
};

static void put(struct conv *c, const char *p, size_t n)
{
	if (c->rc == 0 && buf_append(c->out, p, n) < 0)
		c->rc = -1;
}

/* The part's header without Content-Transfer-Encoding (and its
   continuation lines), then the new field and the blank line. */
static void put_header(struct conv *c, const struct mime_part *p)
{
	const char *h = c->msg + p->hdr_off, *end = h + p->hdr_len;
	bool skip = false;
	while (h < end) {
		const char *nl = memchr(h, '\n', (size_t)(end - h));
		const char *le = nl ? nl + 1 : end;
		bool blank = le - h <= 2 && (*h == '\n' || *h == '\r');
		if (blank)
			break;
		bool cont = *h == ' ' || *h == '\t';
		if (!cont)
			skip = (size_t)(end - h) > 26 &&
			       strncasecmp(
				   h, "Content-Transfer-Encoding:", 26) == 0;
		if (!skip)
			put(c, h, (size_t)(le - h));
		h = le;
	}
	put(c, "Content-Transfer-Encoding: base64\r\n\r\n", 37);
}

static void put_base64(struct conv *c, const char *p, size_t n)
{
	char line[80];
	for (size_t i = 0; i < n; i += IMAP_B64_LINE_IN) {
		size_t k = n - i < IMAP_B64_LINE_IN ? n - i : IMAP_B64_LINE_IN;
		if (base64_encode(p + i, k, line, sizeof line) < 0) {
			c->rc = -1;
			return;
		}
		put(c, line, strlen(line));
		put(c, "\r\n", 2);
	}
}

static void walk(struct conv *c, const struct mime_part *p, unsigned depth)
{
	if (depth > 64)
		return;
	if (p->kind != MIME_LEAF) {
		for (const struct mime_part *k = p->children; k; k = k->next)
			walk(c, k, depth + 1);
		return;
	}
	const char *body = c->msg + p->body_off;
	if (p->body_len == 0 || memchr(body, '\0', p->body_len) == NULL ||
	    p->hdr_off < c->cursor)
		return;
	put(c, c->msg + c->cursor, p->hdr_off - c->cursor);
	put_header(c, p);
	put_base64(c, body, p->body_len);
	c->cursor = p->body_off + p->body_len;
	c->any = true;
}

int imap_binary_to_base64(const char *msg, size_t len, struct buf *out)
{
	if (memchr(msg, '\0', len) == NULL)
		return 0;
	struct mime_part *root = mime_parse(msg, len);
	size_t mark = out->len;
	struct conv c = {msg, 0, out, 0, false};
	walk(&c, root, 0);
	mime_free(&root);
	if (!c.any) {
		buf_truncate(out, mark);
		return 0;
	}
	put(&c, msg + c.cursor, len - c.cursor);
	return c.rc < 0 ? -1 : 1;
}
