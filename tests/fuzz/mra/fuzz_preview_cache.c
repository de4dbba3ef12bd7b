/*
 * Fuzz target for the PREVIEW cache file (mra/imap_preview_cache): the
 * input is the file.  Every lookup answers at most its line's text and
 * never a control character; a save of one added entry over it works and
 * leaves a file whose lookups give that entry back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../mra/imap_preview_cache.h"
#include "maildir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[128];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/fuzz_pvc.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof path, "%s/" IMAP_PREVIEW_CACHE_FILE, dir);
	}
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	struct imap_preview_cache *pc = imap_preview_cache_open(dir, 7);
	struct maildir_msg msgs[8];
	memset(msgs, 0, sizeof msgs);
	for (uint32_t u = 1; u <= 8; u++) {
		msgs[u - 1].uid = u;
		struct str t;
		for (uint64_t sz = 0; sz < 4; sz++)
			if (imap_preview_cache_get(pc, u, sz, &t))
				for (size_t k = 0; k < t.len; k++)
					if ((unsigned char)t.p[k] < 0x20)
						abort();
	}
	imap_preview_cache_add(pc, 3, 1, "fuzz", 4);
	struct maildir_folder fo = {.msgs = msgs, .n = 8, .uidvalidity = 7};
	if (imap_preview_cache_save(pc, &fo) < 0)
		abort();
	struct str t;
	if (!imap_preview_cache_get(pc, 3, 1, &t) || t.len != 4 ||
	    memcmp(t.p, "fuzz", 4) != 0)
		abort();
	imap_preview_cache_free(&pc);
	unlink(path);
	return 0;
}
