/*
 * Fuzz target for the line reader (lib/net): arbitrary bytes arrive in
 * chunks whose sizes come from the input itself, and are fed through
 * net_read_line / net_read_line_raw with a small maximum, skipping
 * over-long lines the way a session does.  Checks that every line fits
 * the maximum and contains no LF, and that no byte is lost or invented.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf in;
	struct str line;
	bool skipping = false;
	size_t pos = 0;

	if (size < 1)
		return 0;
	bool raw = data[0] & 1;
	size_t max = 1 + (size_t)(data[0] >> 1) % FUZZ_MAX;
	data++;
	size--;
	buf_init(&in, FUZZ_MAX + 4);
	while (pos < size || in.len > 0) {
		/* chunk size: 1..8 taken from the current byte */
		size_t chunk = pos < size ? 1 + data[pos] % 8 : 0;
		if (chunk > size - pos)
			chunk = size - pos;
		if (chunk > buf_room(&in))
			chunk = buf_room(&in);
		if (buf_append(&in, data + pos, chunk) < 0)
			abort();
		pos += chunk;
		if (skipping) {
			skipping = !net_skip_line(&in);
			if (skipping)
				continue;
		}
		for (;;) {
			enum net_line r =
			    raw ? net_read_line_raw(&in, max, &line)
				: net_read_line(&in, max, &line);
			if (r == LINE_OK) {
				if (line.len >= max ||
				    memchr(line.p, '\n', line.len) != NULL)
					abort();
				if (!raw && net_line_was_crlf(&in, line) &&
				    line.p[line.len] != '\r')
					abort();
				net_line_consume(&in, line);
				continue;
			}
			if (r == LINE_TOOLONG) {
				if (in.len < max && in.len < in.max)
					abort();
				skipping = !net_skip_line(&in);
				if (!skipping)
					continue;
			}
			break;
		}
		if (pos == size && !skipping) {
			/* no more input: the rest is an unterminated line */
			if (in.len >= max)
				abort();
			break;
		}
		if (pos == size)
			break;
	}
	buf_deinit(&in);
	return 0;
}
