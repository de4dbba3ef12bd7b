/*
 * Fuzz target for lib/md5crypt_x8: the first byte picks the batch size
 * (1..8, 9..16 with bit 5 where the code takes sixteen) and the copy of
 * the code (bit 3: the baseline instead of the best the CPU has; bit 4:
 * AVX2 instead of AVX-512); the rest is
 * NUL-separated fields, password then setting, for each lane (a setting
 * not starting with '$' gets "$1$" put in front, so most inputs reach the
 * hash).  Whatever md5crypt_x8 accepts must hash to exactly crypt_r()'s
 * output, and what it refuses must be refused as a whole batch.
 */
#include <crypt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "md5crypt_x8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELD_MAX 600

/* Copies the next NUL-terminated field (or the rest) into out. */
static void next_field(const uint8_t **p, const uint8_t *end, char *out,
		       size_t prefix_len)
{
	size_t n = 0;
	while (*p < end && **p != 0 && prefix_len + n < FIELD_MAX)
		out[prefix_len + n++] = (char)*(*p)++;
	while (*p < end && **p != 0)
		(*p)++; /* the field's overlong rest */
	if (*p < end)
		(*p)++;
	out[prefix_len + n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char pw[MD5CRYPT_X8_LANES_MAX][FIELD_MAX + 1];
	static char st[MD5CRYPT_X8_LANES_MAX][FIELD_MAX + 4];
	const char *pwp[MD5CRYPT_X8_LANES_MAX], *stp[MD5CRYPT_X8_LANES_MAX];
	char out[MD5CRYPT_X8_LANES_MAX][MD5CRYPT_X8_OUT_SIZE];
	const uint8_t *p = data + 1, *end = data + size;
	bool all = true;
	size_t n;

	if (size < 1 || size > 1 << 13)
		return 0;
	/* the copy of the code: the best, the baseline, or AVX2 */
	md5crypt_x8_force_generic((data[0] & 8) != 0);
	md5crypt_x8_force_avx2((data[0] & 16) != 0);
	/* bit 5: eight more, where the code takes sixteen */
	n = 1 + (data[0] & 7);
	if ((data[0] & 32) != 0 && n + 8 <= md5crypt_x8_max())
		n += 8;
	for (size_t i = 0; i < n; i++) {
		next_field(&p, end, pw[i], 0);
		if (p < end && *p != '$') {
			memcpy(st[i], "$1$", 3);
			next_field(&p, end, st[i], 3);
		} else {
			next_field(&p, end, st[i], 0);
		}
		pwp[i] = pw[i];
		stp[i] = st[i];
		all = all && md5crypt_x8_accepts(pw[i], st[i]);
	}
	if (md5crypt_x8(n, pwp, stp, out) != 0) {
		if (all)
			abort(); /* every pair was accepted */
		return 0;
	}
	if (!all)
		abort(); /* hashed a batch with a refused pair */
	for (size_t i = 0; i < n; i++) {
		struct crypt_data *cd = calloc(1, sizeof(*cd));
		if (cd == NULL)
			abort();
		const char *want = crypt_r(pw[i], st[i], cd);
		if (want == NULL || strcmp(want, out[i]) != 0)
			abort();
		free(cd);
	}
	md5crypt_x8_force_generic(false);
	md5crypt_x8_force_avx2(false);
	return 0;
}
