/*
 * Fuzz target for the SORT/THREAD key readers (lib/mailsort): the input
 * is a header value.  It goes through the RFC 5256 base subject (whose
 * result may never be longer than its input and must be stable: the base
 * subject of a base subject is itself unless a blob or "[fwd:" wrapper
 * uncovered another leader), the RFC 5322 date reader and the case
 * folding used for comparisons.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../mra/imap_sort.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct buf b;
	buf_init(&b, size + 1);
	bool reply;
	if (mailsort_base_subject(p, size, &b, &reply) < 0 || b.len > size)
		abort(); /* the base is never longer than the subject */
	buf_deinit(&b);
	int64_t t;
	(void)mailsort_parse_date(p, size, &t);
	char *f = mailsort_fold(p, size);
	free(f);
	return 0;
}
