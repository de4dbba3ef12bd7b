/*
 * Fuzz target for RFC 8970 previews (mra/imap_preview): the input is a
 * whole message.  The preview must stay within IMAP_PREVIEW_CHARS
 * characters (at most 4 bytes each), hold no control character, and
 * neither start nor end with a space.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../../mra/imap_preview.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b;
	buf_init(&b, 4 * IMAP_PREVIEW_CHARS);
	if (imap_preview_make((const char *)data, size, &b) < 0)
		abort(); /* the output bound is never reached */
	size_t chars = 0;
	for (size_t k = 0; k < b.len; k++) {
		unsigned char c = (unsigned char)b.p[k];
		if (c < 0x20 || c == 0x7f)
			abort();
		chars += (c & 0xc0) != 0x80;
	}
	if (chars > IMAP_PREVIEW_CHARS ||
	    (b.len > 0 && (b.p[0] == ' ' || b.p[b.len - 1] == ' ')))
		abort();
	buf_deinit(&b);
	return 0;
}
