/*
 * ExtMail's "try local charset" for outgoing mail: when the user's
 * local_charset preference is set and every text the message carries in
 * that charset (the text/plain part, the Subject, the display name) goes
 * to it and back unchanged (iconv, no transliteration), the text part is
 * sent as that charset and the header words are labelled with it;
 * otherwise everything stays UTF-8.  HTML parts stay UTF-8.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "compose.h"
#include "rfc2047.h"

/* n bytes of s from charset from to charset to, appended to out with the
   shift state reset at the end; -1 when a character has no mapping, the
   input is not valid or out is full. */
static int convert(iconv_t cd, const char *s, size_t n, struct buf *out)
{
	(void)iconv(cd, NULL, NULL, NULL, NULL);
	char tmp[1024];
	char *in = (char *)s;
	size_t left = n;
	for (;;) {
		char *o = tmp;
		size_t room = sizeof tmp;
		size_t r = left > 0 ? iconv(cd, &in, &left, &o, &room)
				    : iconv(cd, NULL, NULL, &o, &room);
		int err = r == (size_t)-1 ? errno : 0;
		if (buf_append(out, tmp, (size_t)(o - tmp)) < 0)
			return -1;
		if (err == E2BIG)
			continue;
		if (err != 0)
			return -1;
		if (left == 0 && o == tmp)
			return 0;
	}
}

/* Whether n bytes of UTF-8 s go to cs and back to the same bytes. */
static bool round_trip(iconv_t to, iconv_t back, const char *s, size_t n)
{
	struct buf a, b;
	buf_init(&a, 4 * n + 64);
	buf_init(&b, 4 * n + 64);
	bool ok = convert(to, s, n, &a) == 0 &&
		  convert(back, a.p != NULL ? a.p : "", a.len, &b) == 0 &&
		  b.len == n && (n == 0 || memcmp(b.p, s, n) == 0);
	buf_deinit(&a);
	buf_deinit(&b);
	return ok;
}

bool wm_out_charset_fits(const char *cs, const char *const *texts,
			 const size_t *lens, size_t n)
{
	if (cs == NULL || cs[0] == '\0')
		return false;
	iconv_t to = iconv_open(cs, "UTF-8");
	if (to == (iconv_t)-1)
		return false;
	iconv_t back = iconv_open("UTF-8", cs);
	if (back == (iconv_t)-1) {
		iconv_close(to);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < n; i++)
		ok = round_trip(to, back, texts[i], lens[i]);
	iconv_close(to);
	iconv_close(back);
	return ok;
}

int wm_out_convert(const char *cs, const char *s, size_t n, struct buf *out)
{
	iconv_t cd = iconv_open(cs, "UTF-8");
	if (cd == (iconv_t)-1)
		return -1;
	int r = convert(cd, s, n, out);
	iconv_close(cd);
	return r;
}

/* The words of rfc2047_header(), each a piece of at most 30 bytes of the
   UTF-8 text (whole characters) converted on its own, so that every word
   is complete in cs (ISO-2022-JP's shift state ends inside it). */
int wm_out_words(struct buf *m, const char *cs, const char *s)
{
	size_t n = strlen(s);
	iconv_t cd = iconv_open(cs, "UTF-8");
	if (cd == (iconv_t)-1)
		return -1;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n;) {
		size_t take = rfc2047_piece(s + i, n - i, 30);
		struct buf piece;
		buf_init(&piece, 256);
		char enc[400];
		r = convert(cd, s + i, take, &piece);
		if (r == 0 &&
		    base64_encode(piece.p, piece.len, enc, sizeof enc) < 0)
			r = -1;
		if (r == 0)
			r = buf_printf(m, " =?%s?B?%s?=\r\n", cs, enc) < 0 ? -1
									   : 0;
		buf_deinit(&piece);
		i += take;
	}
	iconv_close(cd);
	return r;
}
