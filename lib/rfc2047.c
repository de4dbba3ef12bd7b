/*
 * RFC 2047 encoded-words (see rfc2047.h).  39 bytes of UTF-8 make 52
 * base64 characters, a word of 64 bytes with "=?UTF-8?B?" and "?=".
 */
#include "rfc2047.h"

#include <stdbool.h>
#include <string.h>

#include "base64.h"

#define WORD_TEXT_MAX 39

size_t rfc2047_piece(const char *s, size_t n, size_t max)
{
	size_t take = n > max ? max : n;
	while (take < n && take > 0 && ((unsigned char)s[take] & 0xc0) == 0x80)
		take--;
	return take > 0 ? take : (n < max ? n : max);
}

int rfc2047_words(struct buf *m, const char *s, size_t n, const char *fold)
{
	for (size_t i = 0; i < n;) {
		size_t take = rfc2047_piece(s + i, n - i, WORD_TEXT_MAX);
		char enc[100];
		if (base64_encode(s + i, take, enc, sizeof enc) < 0 ||
		    buf_printf(m, "%s=?UTF-8?B?%s?=", i > 0 ? fold : "", enc) <
			0)
			return -1;
		i += take;
	}
	return 0;
}

int rfc2047_header(struct buf *m, const char *name, const char *s)
{
	bool ascii = true;
	for (const char *c = s; *c; c++)
		ascii = ascii && (unsigned char)*c < 0x80 &&
			(unsigned char)*c >= 0x20;
	if (ascii && strlen(s) < 900)
		return buf_printf(m, "%s: %s\r\n", name, s);
	return buf_printf(m, "%s: ", name) < 0 ||
		       rfc2047_words(m, s, strlen(s), "\r\n ") < 0 ||
		       buf_append_str(m, "\r\n") < 0
		   ? -1
		   : 0;
}
