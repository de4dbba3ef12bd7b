/*
 * Unit tests for lib/rfc2047: ASCII kept as it is (and up to 899 bytes),
 * control characters and 8-bit text encoded, words of whole UTF-8
 * characters that decode back to the text, the piece cut at a character
 * boundary, at most 75 bytes a word, a full buffer, empty input; the
 * bare words with a caller's fold (youju sendmail's From: phrase), lines
 * of at most 76 bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "rfc2047.h"
#include "str.h"
#include "test.h"

/* The text the words of a header line decode to, or NULL when a word is
   malformed or longer than 75 bytes. */
static char *decode(const char *h)
{
	struct buf out;
	buf_init(&out, 1u << 16);
	const char *p = h;
	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		const char *e = strstr(p + 10, "?=");
		if (e == NULL || e + 2 - p > 75) {
			buf_deinit(&out);
			return NULL;
		}
		unsigned char bin[100];
		size_t n;
		struct str in = {p + 10, (size_t)(e - p - 10)};
		if (base64_decode(in, false, bin, sizeof bin, &n) < 0 ||
		    buf_append(&out, bin, n) < 0) {
			buf_deinit(&out);
			return NULL;
		}
		p = e + 2;
	}
	char *s = strdup(buf_cstr(&out));
	buf_deinit(&out);
	return s;
}

static bool header_is(const char *v, const char *want)
{
	struct buf b;
	buf_init(&b, 1u << 16);
	bool ok = rfc2047_header(&b, "Subject", v) == 0 &&
		  strcmp(buf_cstr(&b), want) == 0;
	if (!ok)
		fprintf(stderr, "got [%s]\n", buf_cstr(&b));
	buf_deinit(&b);
	return ok;
}

static bool round_trips(const char *v)
{
	struct buf b;
	buf_init(&b, 1u << 16);
	bool ok = rfc2047_header(&b, "Subject", v) == 0 &&
		  strncmp(buf_cstr(&b), "Subject: =?UTF-8?B?", 19) == 0;
	char *d = ok ? decode(buf_cstr(&b)) : NULL;
	ok = d != NULL && strcmp(d, v) == 0;
	/* every word holds whole characters: none starts with a
	   continuation byte */
	for (const char *p = buf_cstr(&b); ok && (p = strstr(p, "=?UTF-8?B?"));
	     p += 10) {
		unsigned char bin[4];
		size_t n;
		struct str first = {p + 10, 4};
		if (base64_decode(first, false, bin, sizeof bin, &n) == 0 &&
		    n >= 1 && (bin[0] & 0xc0) == 0x80)
			ok = false;
	}
	free(d);
	buf_deinit(&b);
	return ok;
}

int main(void)
{
	test_begin("rfc2047 header");
	test_assert(header_is("hello", "Subject: hello\r\n"));
	test_assert(header_is("", "Subject: \r\n"));
	char *a899 = malloc(900), *a900 = malloc(901);
	memset(a899, 'a', 899);
	a899[899] = '\0';
	memset(a900, 'a', 900);
	a900[900] = '\0';
	struct buf b;
	buf_init(&b, 4096);
	test_assert(rfc2047_header(&b, "Subject", a899) == 0 &&
		    b.len == 9 + 899 + 2);
	buf_deinit(&b);
	test_assert(round_trips(a900));
	test_assert(round_trips("tab\there"));
	test_assert(round_trips("caf\xc3\xa9"));
	test_assert(round_trips("\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c"
				"\xe4\xb8\x96\xe7\x95\x8c \xe9\x82\xae\xe5"
				"\xb1\x80 \xe9\x82\xae\xe5\xb1\x80 \xe9\x82"
				"\xae\xe5\xb1\x80 \xe9\x82\xae\xe5\xb1\x80"));
	buf_init(&b, 20);
	test_assert(rfc2047_header(&b, "Subject", "caf\xc3\xa9 au lait") < 0);
	buf_deinit(&b);
	free(a899);
	free(a900);

	test_begin("rfc2047 words");
	/* 40 three-byte characters: 4 words (39 bytes each, 3 left), LF
	   folds, every line of "From: " and the words within 76 bytes */
	char name[121];
	for (int i = 0; i < 40; i++)
		memcpy(name + 3 * i, "\xe5\xbc\xa0", 3);
	name[120] = '\0';
	buf_init(&b, 4096);
	test_assert(buf_append_str(&b, "From: ") == 0 &&
		    rfc2047_words(&b, name, 120, "\n ") == 0);
	const char *w = buf_cstr(&b);
	char *d = decode(w);
	test_assert(d != NULL && strcmp(d, name) == 0);
	free(d);
	int lines = 0;
	for (const char *l = w; l != NULL; lines++) {
		const char *nl = strchr(l, '\n');
		size_t len = nl != NULL ? (size_t)(nl - l) : strlen(l);
		test_assert(len <= 76 && memchr(l, '\r', len) == NULL);
		l = nl != NULL ? nl + 1 : NULL;
	}
	test_assert(lines == 4);
	test_assert(strncmp(w, "From: =?UTF-8?B?", 16) == 0 &&
		    w[b.len - 1] == '=');
	buf_reset(&b);
	test_assert(rfc2047_words(&b, "", 0, "\n ") == 0 && b.len == 0);
	test_assert(rfc2047_words(&b, "\xe5\xbc\xa0", 3, "\n ") == 0 &&
		    strcmp(buf_cstr(&b), "=?UTF-8?B?5byg?=") == 0);
	buf_deinit(&b);
	buf_init(&b, 10);
	test_assert(rfc2047_words(&b, name, 120, "\n ") < 0);
	buf_deinit(&b);

	test_begin("rfc2047 piece");
	/* "é" is 2 bytes at 3..4: a cut at 4 moves back to 3 */
	test_assert(rfc2047_piece("caf\xc3\xa9", 5, 4) == 3);
	test_assert(rfc2047_piece("caf\xc3\xa9", 5, 5) == 5);
	test_assert(rfc2047_piece("caf\xc3\xa9", 5, 39) == 5);
	test_assert(rfc2047_piece("", 0, 39) == 0);
	test_assert(rfc2047_piece("\x80\x80\x80\x80", 4, 2) == 2);
	return test_end();
}
