/*
 * Fuzz target for the youju.index reader (lib/maildir_index): any bytes
 * as an index file image.  The UIDVALIDITY is taken from the image
 * itself so the checks behind it are reached.  Whatever the bytes, the
 * header, directory and record checks must stay inside the image and
 * never count more records than the directory lists.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir_index.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy of exactly size bytes: ASan sees any overread */
	unsigned char *d = xmalloc(size ? size : 1);
	memcpy(d, data, size);
	uint32_t uv = 0;
	if (size >= 16)
		uv = (uint32_t)d[12] | (uint32_t)d[13] << 8 |
		     (uint32_t)d[14] << 16 | (uint32_t)d[15] << 24;
	long n = maildir_index_verify(d, size, uv);
	if (n >= 0 && (size < 32 || (size_t)n > (size - 32) / 16))
		abort();
	/* a file for another UIDVALIDITY is always refused */
	if (size >= 16 && maildir_index_verify(d, size, uv + 1) >= 0)
		abort();
	free(d);
	return 0;
}
