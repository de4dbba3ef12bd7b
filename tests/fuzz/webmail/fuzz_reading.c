/*
 * Fuzz target for webmail's reading helpers (reading.h): the From field
 * as the list shows it (lib/addrlist, then RFC 2047) and the text and
 * header decoding with "try local charset" — all of them bytes from mail.
 * Every result must be a NUL-terminated string of valid length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../webmail/reading.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str v = {(const char *)data, size};
	char *s = wm_from_display(v);
	if (s == NULL || strlen(s) > 4 * size + 16)
		abort();
	free(s);
	struct buf b;
	buf_init(&b, 1u << 20);
	struct wm_charsets cs = {.local = "GB18030"};
	(void)wm_text_decode(NULL, v.p, v.len, &cs, &b);
	buf_reset(&b);
	(void)wm_text_decode("utf-8", v.p, v.len, &cs, &b);
	buf_reset(&b);
	(void)wm_header_decode(v, "Big5", &b);
	if (b.p != NULL && b.p[b.len] != '\0')
		abort();
	buf_deinit(&b);
	return 0;
}
