/*
 * Fuzz target for the dot-stuffing encoder (lib/dot): the first byte
 * chooses the mode (CR LF in or not), a line limit and TOP's line count,
 * the second the size of the pieces; the rest is the message.  Whatever
 * the bytes, the output must be a well-formed SMTP DATA / POP3 multi-line
 * body: every LF after a CR, one lone "." line and that one last, no wire
 * line past the limit; and without a limit or TOP it must decode (drop a
 * stuffed ".", CR LF to LF) to the message with its line ends as the mode
 * reads them.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The message as the encoder should read it, with LF line ends and a
   last line that is terminated. */
static size_t expected(const char *p, size_t n, bool crlf_in, char *out)
{
	size_t o = 0;
	bool unended = false; /* a line has begun and has no LF yet */
	for (size_t i = 0; i < n; i++) {
		unended = p[i] != '\n';
		if (crlf_in && p[i] == '\r' && (i + 1 == n || p[i + 1] == '\n'))
			continue; /* the line end's CR, or a held one at EOF */
		out[o++] = p[i];
	}
	/* an unterminated last line ends, even one that is only a CR */
	if (unended)
		out[o++] = '\n';
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 1 << 16)
		return 0;
	unsigned mode = data[0];
	bool crlf_in = mode & 1;
	size_t line_max = (mode >> 1) & 3 ? ((mode >> 1) & 3) * 7 - 5 : 0;
	uint64_t lines = mode & 8 ? (uint64_t)(mode >> 4) : DOT_ALL_LINES;
	size_t piece = 1 + data[1] % 64;
	const char *msg = (const char *)data + 2;
	size_t n = size - 2;

	struct buf out;
	buf_init(&out, 4 * n + 64);
	struct dot_enc d;
	dot_enc_init(&d, crlf_in ? DOT_CRLF_IN : 0, lines, line_max);
	for (size_t off = 0; off < n && !dot_enc_done(&d); off += piece) {
		size_t c = n - off < piece ? n - off : piece;
		if (dot_enc_feed(&d, msg + off, c, &out) < 0)
			abort();
	}
	if (dot_enc_end(&d, &out) < 0)
		abort();

	const char *w = out.p;
	size_t wl = out.len;
	/* the end, and the only lone "." line */
	if (wl < 3 || memcmp(w + wl - 3, ".\r\n", 3) != 0 ||
	    (wl > 3 && memcmp(w + wl - 5, "\r\n.\r\n", 5) != 0))
		abort();
	const char *first = memmem(w, wl, "\r\n.\r\n", 5);
	if (wl > 3 && (first != w + wl - 5 || memcmp(w, ".\r\n", 3) == 0))
		abort();
	/* CR LF only, and the line limit */
	size_t col = 0;
	for (size_t i = 0; i < wl; i++) {
		if (w[i] == '\n') {
			if (i == 0 || w[i - 1] != '\r')
				abort();
			col = 0;
			continue;
		}
		col++;
		/* the CR of the line end is not counted */
		if (line_max > 0 && col > (line_max < 2 ? 2 : line_max) &&
		    !(w[i] == '\r' && i + 1 < wl && w[i + 1] == '\n'))
			abort();
	}
	if (line_max == 0 && lines == DOT_ALL_LINES) {
		/* decode: unstuff, CR LF to LF, drop the ".\r\n" */
		char *dec = malloc(wl + 1);
		char *want = malloc(n + 2);
		size_t o = 0;
		bool bol = true;
		for (size_t i = 0; i < wl - 3; i++) {
			if (bol && w[i] == '.') {
				bol = false;
				continue;
			}
			bol = false;
			if (w[i] == '\r' && w[i + 1] == '\n')
				continue;
			dec[o++] = w[i];
			if (w[i] == '\n')
				bol = true;
		}
		size_t e = expected(msg, n, crlf_in, want);
		if (o != e || memcmp(dec, want, e) != 0)
			abort();
		free(dec);
		free(want);
	}
	buf_deinit(&out);
	return 0;
}
