/*
 * Fuzz target for authd/sqlmap: a mysql_table(5) file's text through the
 * parser (and so the query template conversion), then, when it parses,
 * the key binding and result_format on keys and values cut from the same
 * input.  The first line of the input is the key, the rest the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../authd/sqlmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *nl = memchr(p, '\n', size);
	size_t kl = nl != NULL ? (size_t)(nl - p) : 0;
	const char *text = nl != NULL ? nl + 1 : p;
	size_t tl = size - (size_t)(text - p);
	char err[256];
	struct sqlmap *m = sqlmap_parse("/fuzz.cf", text, tl, err, sizeof(err));
	if (m == NULL)
		return 0;
	/* the key as a C string: up to the first NUL */
	char *key = malloc(kl + 1);
	if (key == NULL) {
		sqlmap_free(&m);
		return 0;
	}
	memcpy(key, p, kl);
	key[kl] = '\0';
	struct sqlmap_key *k = malloc(sizeof(*k));
	const char *args[SQLMAP_ARGS_MAX];
	if (k != NULL && sqlmap_bind(m, key, k, args)) {
		struct buf out;
		buf_init(&out, SQLMAP_VALUE_MAX);
		/* the key and the query text as result values */
		(void)sqlmap_format(m, k, key, &out);
		(void)sqlmap_format(m, k, m->query, &out);
		(void)sqlmap_format(m, k, "user@example.com", &out);
		(void)sqlmap_format(m, k, "@", &out);
		buf_deinit(&out);
		for (size_t i = 0; i < m->nargs; i++) {
			if (args[i] == NULL)
				abort();
		}
	}
	free(k);
	free(key);
	sqlmap_free(&m);
	return 0;
}
