/*
 * Fuzz target for youju-modseq (lib/maildir_modseq), a file anyone with
 * the vmail uid may have written: any bytes through the parser.  A file
 * that parses has UIDs ascending and every modseq in 1..highestmodseq,
 * letters printable and NUL-terminated, "x" ranges ordered and in
 * bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir_modseq.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy without a terminator: no read past size */
	char *d = xmalloc(size ? size : 1);
	memcpy(d, data, size);
	struct maildir_modseq_file mf;
	if (maildir_modseq_parse(d, size, &mf) == 0) {
		if (mf.uidvalidity == 0)
			abort();
		for (size_t i = 0; i < mf.n; i++) {
			const struct maildir_modseq_rec *r = &mf.recs[i];
			if (r->uid == 0 || r->modseq == 0 ||
			    r->modseq > mf.highest ||
			    (i > 0 && r->uid <= mf.recs[i - 1].uid) ||
			    memchr(r->letters, '\0', sizeof r->letters) ==
				NULL ||
			    strchr(r->letters, ' ') != NULL)
				abort();
		}
		for (size_t i = 0; i < mf.ngone; i++) {
			const struct maildir_modseq_gone *g = &mf.gone[i];
			if (g->lo == 0 || g->lo > g->hi || g->modseq == 0 ||
			    g->modseq > mf.highest ||
			    (i > 0 && g->modseq < mf.gone[i - 1].modseq))
				abort();
		}
		if (mf.ngone > MAILDIR_MODSEQ_GONE_MAX)
			abort();
		maildir_modseq_file_deinit(&mf);
	} else if (mf.n != 0 || mf.recs != NULL) {
		abort();
	}
	free(d);
	return 0;
}
