/*
 * Fuzz target for mta/maps' table parsers: the input as a text (hash),
 * cidr, regexp and pcre table (map_from_text), then a few lookups on each
 * table that parsed, keys cut from the input's first line and fixed ones
 * (addresses, an IPv4 and an IPv6 client) so $1..$9 substitution and
 * if/endif skipping run too.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../mta/maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * glibc's regcomp() copies a sub-expression once per repetition, so
 * stacked quantifiers ("a+++++") and nested {n,m} counts make it use
 * memory exponential in the pattern length: a limit of the library on
 * operator-written patterns (POSIX leaves stacked quantifiers undefined),
 * not a bug of our parser.  Such inputs skip the regexp: type.
 */
static bool regcomp_explodes(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '{')
			return true;
		if (i > 0 && strchr("*+?", p[i]) != NULL && p[i] != '\0' &&
		    strchr("*+?})", p[i - 1]) != NULL && p[i - 1] != '\0')
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"hash", "cidr", "regexp", "pcre"};
	static const char *const keys[] = {"user@example.com",
					   "example.com",
					   "192.0.2.1",
					   "2001:db8::1",
					   "::ffff:10.1.2.3",
					   "",
					   "<>",
					   "Subject: hi"};
	/* compiling huge patterns is slow, not wrong: keep inputs small */
	if (size > 8192)
		return 0;
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t kl = nl != NULL ? (size_t)(nl - text) : size;
	if (kl > MAP_KEY_MAX)
		kl = MAP_KEY_MAX;
	char *key = malloc(kl + 1);
	if (key == NULL)
		return 0;
	memcpy(key, text, kl);
	key[kl] = '\0';
	bool skip_regexp = regcomp_explodes(text, size);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		char err[256], val[MAP_VALUE_MAX + 1];
		if (skip_regexp && strcmp(types[t], "regexp") == 0)
			continue;
		struct map *m =
		    map_from_text(types[t], text, size, err, sizeof(err));
		if (m == NULL)
			continue;
		(void)map_lookup(m, key, val, sizeof(val));
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			(void)map_lookup(m, keys[k], val, sizeof(val));
		/* a small value buffer: truncation, not overflow */
		(void)map_lookup(m, key, val, 4);
		map_free(&m);
	}
	free(key);
	return 0;
}
