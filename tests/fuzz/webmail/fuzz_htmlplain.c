/*
 * Fuzz target for webmail/compose_html's text/plain alternative
 * (wm_html_plain): any bytes, also HTML the sanitizer never writes, must
 * come back as NUL-terminated text ending in one line break, without
 * reading past the input; and wm_html_drop_empty_images on the same
 * bytes never grows them (an <img> goes, or stays as it was).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../webmail/compose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes: ASan sees any overread */
	char *in = malloc(size ? size : 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	struct buf out;
	buf_init(&out, 8 * size + 65536);
	wm_html_plain(in, size, &out);
	if (out.len == 0 || out.p[out.len - 1] != '\n' ||
	    strlen(buf_cstr(&out)) > out.len)
		abort();
	buf_deinit(&out);
	buf_init(&out, size + 1);
	int n = wm_html_drop_empty_images(in, size, &out);
	if (n < 0 || out.len > size || (n == 0 && out.len != size))
		abort();
	buf_deinit(&out);
	free(in);
	(void)wm_image_type((const char *)data, size);
	return 0;
}
