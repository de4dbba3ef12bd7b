/*
 * Fuzz target for mta/smtp_parse: the input is one command line (as the
 * session would hand it over, CR LF stripped); the verb is split off and
 * MAIL / RCPT arguments go through their full parsers, with and without
 * SMTPUTF8.  Every address produced must be NUL-terminated, short enough
 * and free of control bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../mta/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_addr(const char *a)
{
	size_t n = strnlen(a, SMTP_ADDR_MAX + 1);
	if (n > SMTP_ADDR_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];
		if (c < 0x20 || c == 0x7f)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy exactly size bytes long so ASan sees overreads */
	char *p = malloc(size ? size : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	struct str line = {p, size};
	struct str args, bad;
	enum smtp_verb v = smtp_parse_verb(line, &args);
	for (int utf8 = 0; utf8 <= 1; utf8++) {
		if (v == SMTP_VERB_MAIL || v == SMTP_VERB_UNKNOWN) {
			struct smtp_mail m;
			if (smtp_parse_mail(args, utf8, &m, &bad) ==
			    SMTP_PARSE_OK) {
				check_addr(m.addr);
				(void)smtp_addr_domain(m.addr);
			}
		}
		if (v == SMTP_VERB_RCPT || v == SMTP_VERB_UNKNOWN) {
			struct smtp_rcpt r;
			if (smtp_parse_rcpt(args, utf8, &r, &bad) ==
			    SMTP_PARSE_OK) {
				check_addr(r.addr);
				(void)smtp_is_fqdn(smtp_addr_domain(r.addr));
			}
		}
	}
	(void)smtp_xtext_valid(line, 500);
	free(p);
	return 0;
}
