/*
 * Fuzz target for lib/mailthread (IMAP THREAD and webmail's
 * conversations): the input is header blocks separated by NUL bytes,
 * one per message.  Both algorithms run; the tree walk must reach each
 * message exactly once, whatever loops, duplicate ids or broken
 * References the headers hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../lib/mailthread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MSGS_MAX 64

static size_t walk(const struct mailthread *t, size_t k, unsigned *seen,
		   unsigned depth)
{
	size_t n = 0;
	for (size_t g = k; g != MAILTHREAD_NONE; g = mailthread_next(t, g)) {
		uint32_t id;
		if (mailthread_id(t, g, &id)) {
			if (id >= MSGS_MAX || seen[id]++)
				abort(); /* unknown or reached twice */
			n++;
		}
		if (depth < 2 * MSGS_MAX + 4)
			n += walk(t, mailthread_child(t, g), seen, depth + 1);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int refs = 0; refs < 2; refs++) {
		struct mailthread *t = mailthread_new();
		const char *p = (const char *)data, *end = p + size;
		uint32_t n = 0;
		while (p < end && n < MSGS_MAX) {
			const char *z = memchr(p, '\0', (size_t)(end - p));
			size_t l =
			    z != NULL ? (size_t)(z - p) : (size_t)(end - p);
			mailthread_add(t, n, n, (int64_t)n * 60, p, l);
			n++;
			p += l + 1;
		}
		mailthread_build(t, refs == 1);
		unsigned seen[MSGS_MAX] = {0};
		if (walk(t, mailthread_child(t, mailthread_root(t)), seen, 0) !=
		    n)
			abort(); /* a message lost */
		mailthread_free(&t);
	}
	return 0;
}
