/*
 * Fuzz target for webmail's list summary: arbitrary bytes as a header
 * block (from mail anyone can send) through wm_summary_from_header, and
 * as a Date: value through wm_parse_date, and as a youju.index ENVELOPE
 * and BODYSTRUCTURE through wm_summary_from_envelope.  Checks that the strings
 * come back NUL-terminated and that a parsed date lies in the years the parser
 * accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../webmail/summary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wm_summary s;
	memset(&s, 0, sizeof s);
	wm_summary_from_header((const char *)data, size, &s);
	if (s.subject == NULL || s.from == NULL)
		abort();
	(void)strlen(s.subject);
	(void)strlen(s.from);
	wm_summary_free(&s);
	/* as a youju.index ENVELOPE, and as its BODYSTRUCTURE */
	memset(&s, 0, sizeof s);
	if (wm_summary_from_envelope((const char *)data, size,
				     (const char *)data, size, &s) == 0) {
		if (s.subject == NULL || s.from == NULL)
			abort();
		wm_summary_free(&s);
	} else if (s.subject != NULL || s.from != NULL)
		abort();
	int64_t t = 0;
	/* years 1900..9999, zones within a day */
	if (wm_parse_date((const char *)data, size, &t) == 0 &&
	    (t < -2208988800LL - 86400 * 2 || t > 253402300799LL + 86400 * 2))
		abort();
	return 0;
}
