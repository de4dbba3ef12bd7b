/* Strict base64 (RFC 4648); see base64.h. */
#include "base64.h"

#include <stdint.h>

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(struct str in, bool pad_optional, unsigned char *out,
		  size_t outsz, size_t *n_r)
{
	size_t len = in.len;
	if (len % 4 != 0 && !pad_optional)
		return -1;
	/* up to two '=' may end the text, and only there */
	size_t pads = 0;
	while (len > 0 && pads < 2 && in.p[len - 1] == '=') {
		len--;
		pads++;
	}
	if (pads > 0 && (len + pads) % 4 != 0)
		return -1;
	if (len % 4 == 1)
		return -1;
	size_t n = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = base64_value((unsigned char)in.p[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outsz)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	*n_r = n;
	return 0;
}

int base64_encode(const void *in, size_t n, char *out, size_t outsz)
{
	const unsigned char *p = in;
	if (n > (SIZE_MAX - 1) / 4 * 3 - 3 || outsz < (n + 2) / 3 * 4 + 1)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			w |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			w |= p[i + 2];
		out[o++] = base64_alphabet[w >> 18 & 63];
		out[o++] = base64_alphabet[w >> 12 & 63];
		out[o++] = i + 1 < n ? base64_alphabet[w >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? base64_alphabet[w & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}
