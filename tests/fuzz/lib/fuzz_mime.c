/*
 * Fuzz target for lib/mime: the input is a message.  The tree is walked
 * checking that every offset stays inside the input, and every part's
 * header and body go through the decoders (header fields with RFC 2047,
 * the body's transfer encoding and charset, case folding), as IMAP SEARCH
 * and webmail use them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_mime_walk(const char *msg, size_t size,
			   const struct mime_part *p, unsigned depth)
{
	if (depth > MIME_DEPTH_MAX + 1 || p->hdr_off + p->hdr_len > size ||
	    p->body_off + p->body_len > size || p->hdr_off > p->body_off)
		abort();
	struct buf b;
	buf_init(&b, 1 << 20);
	size_t pos = 0;
	struct str n, v;
	while (mime_header_next(msg + p->hdr_off, p->hdr_len, &pos, &n, &v))
		(void)mime_header_decode(v, &b);
	buf_reset(&b);
	struct buf u;
	buf_init(&u, 1 << 20);
	if (mime_decode_cte(p->encoding, msg + p->body_off, p->body_len, &b) ==
		0 &&
	    mime_to_utf8(mime_param_get(p->params, p->nparams, "charset"),
			 b.p ? b.p : "", b.len, &u) == 0) {
		buf_reset(&b);
		(void)mime_fold(u.p ? u.p : "", u.len, &b);
	}
	buf_deinit(&u);
	buf_deinit(&b);
	for (const struct mime_part *c = p->children; c != NULL; c = c->next)
		fuzz_mime_walk(msg, size, c, depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct mime_part *root = mime_parse(msg, size);
	if (mime_count(root) > MIME_PARTS_MAX)
		abort();
	fuzz_mime_walk(msg, size, root, 0);
	mime_free(&root);
	return 0;
}
