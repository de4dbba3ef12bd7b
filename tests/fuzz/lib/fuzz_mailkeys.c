/*
 * Fuzz target for lib/mailkeys: the input both as a keys blob (what
 * youju.index's MIDX_SORTKEYS holds, read from disk) and as a header
 * block.  Decoding must stay inside the blob and account for every byte;
 * the keys built from any header block must decode again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../lib/mailkeys.h"
#include "../../../lib/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct mailkeys *k)
{
	struct str r = k->refs, id;
	size_t n = 0;
	while (mailkeys_ref_next(&r, &id))
		n += id.len + 4;
	if (n != k->refs.len)
		abort(); /* bytes left over after a decode that succeeded */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy of exactly size bytes: ASan sees any overread */
	char *d = xmalloc(size ? size : 1);
	memcpy(d, data, size);
	struct mailkeys k;
	if (mailkeys_decode((struct str){d, size}, &k))
		walk(&k);
	struct buf b;
	buf_init(&b, MAILKEYS_BLOB_MAX);
	if (mailkeys_build(d, size, &b) == 0) {
		if (!mailkeys_decode((struct str){b.p ? b.p : "", b.len}, &k))
			abort(); /* built keys that do not read back */
		walk(&k);
		size_t n = 0;
		struct str r = k.refs, id;
		while (mailkeys_ref_next(&r, &id))
			n++;
		if (n > MAILKEYS_REFS_MAX)
			abort();
	}
	buf_deinit(&b);
	free(d);
	return 0;
}
