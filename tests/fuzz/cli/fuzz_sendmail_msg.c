/*
 * Fuzz target for cli/sendmail_msg: the input is a message as a script
 * would pipe it to sendmail.  It goes through the input conversion (with
 * and without -i, in two chunk sizes that must agree), the header split,
 * every field's value through the address-list reader, and the SMTP
 * encoding.  Addresses must stay within SM_ADDR_MAX and free of control
 * bytes; the encoding must never produce a lone "." line before the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../cli/sendmail_msg.h"
#include "dot.h"
#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_addr(void *ctx, const char *a, size_t len)
{
	if (len == 0 || len > SM_ADDR_MAX || strlen(a) != len)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f)
			abort();
	return 0;
}

static void convert(const char *p, size_t n, bool dots, size_t step,
		    struct buf *out)
{
	struct sm_input in;
	struct buf tmp;
	sm_input_init(&in, dots);
	buf_init(&tmp, step + 8);
	for (size_t i = 0; i < n && !in.done;) {
		size_t k = n - i < step ? n - i : step;
		buf_reset(&tmp);
		ssize_t r = sm_input_feed(&in, p + i, k, &tmp);
		if (r < 0 || buf_append(out, tmp.p ? tmp.p : "", tmp.len) < 0)
			abort();
		i += (size_t)r;
	}
	buf_reset(&tmp);
	if (sm_input_end(&in, &tmp) < 0 ||
	    buf_append(out, tmp.p ? tmp.p : "", tmp.len) < 0)
		abort();
	buf_deinit(&tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	for (int dots = 0; dots <= 1; dots++) {
		struct buf a, b;
		buf_init(&a, 2 * size + 16);
		buf_init(&b, 2 * size + 16);
		convert(p, size, dots, 1, &a);
		convert(p, size, dots, 7, &b);
		if (a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0))
			abort();
		if (a.len > 0 && a.p[a.len - 1] != '\n')
			abort();
		FILE *f =
		    fmemopen(a.len ? a.p : (char *)"", a.len ? a.len : 1, "r");
		struct buf hdr;
		off_t off = 0;
		const char *err = "";
		buf_init(&hdr, 4096);
		if (f != NULL && a.len > 0 &&
		    sm_header_read(f, &hdr, &off, &err) == 0) {
			if (off < 0 || (size_t)off > a.len)
				abort();
			struct mime_field fl;
			size_t pos = 0;
			while (mime_header_field_next(hdr.len ? hdr.p : "",
						      hdr.len, &pos, &fl)) {
				struct str bad;
				if (fl.raw.p + fl.raw.len > hdr.p + hdr.len)
					abort();
				(void)sm_addr_list(fl.value, check_addr, NULL,
						   &bad);
			}
			struct buf enc;
			buf_init(&enc, 2 * a.len + 16);
			if (dot_encode(a.p, a.len, 0, 0, &enc) < 0)
				abort();
			/* the only lone "." line is the last one */
			const char *first =
			    memmem(enc.p, enc.len, "\r\n.\r\n", 5);
			bool ok = enc.len == 3
				      ? memcmp(enc.p, ".\r\n", 3) == 0
				      : first == enc.p + enc.len - 5 &&
					    memcmp(enc.p, ".\r\n", 3) != 0;
			if (!ok)
				abort();
			buf_deinit(&enc);
		}
		if (f != NULL)
			fclose(f);
		buf_deinit(&hdr);
		buf_deinit(&a);
		buf_deinit(&b);
	}
	free(p);
	return 0;
}
