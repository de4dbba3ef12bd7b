/*
 * Fuzz target for the Public Suffix List parser (mta/psl): the input is
 * parsed as a list, then each of its lines (and a few fixed names) is
 * looked up as a domain in that list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../mta/psl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct psl *l = psl_parse(p, size);
	static const char *const fixed[] = {"", ".", "a.b.c.d.example.co.uk",
					    "..", "x.github.io."};
	char out[PSL_NAME_MAX + 1], small[4];
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		(void)psl_org_domain(l, fixed[i], out, sizeof(out));
		(void)psl_org_domain(l, fixed[i], small, sizeof(small));
	}
	const char *end = p + size;
	for (int k = 0; p < end && k < 64; k++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *d = malloc(n + 1);
		if (d == NULL)
			break;
		memcpy(d, p, n);
		d[n] = '\0';
		(void)psl_org_domain(l, d, out, sizeof(out));
		free(d);
		p = nl ? nl + 1 : end;
	}
	psl_free(&l);
	return 0;
}
