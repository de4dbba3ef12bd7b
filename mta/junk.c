/*
 * Spam verdicts (see junk.h).  Only the header section is read; a field
 * name is matched case-insensitively and the value's first word decides,
 * so "X-Spam-Status: No, score=1.2" is not a verdict.
 */
#include "junk.h"

#include <string.h>
#include <strings.h>

static bool value_yes(const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	return n >= 3 && strncasecmp(v, "yes", 3) == 0 &&
	       (n == 3 || v[3] == ',' || v[3] == ' ' || v[3] == '\t' ||
		v[3] == '\r');
}

bool junk_verdict(const char *msg, size_t len)
{
	static const char *const names[] = {
	    "x-spam-flag:", "x-spam-status:", "x-spam:"};
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (msg + i)) : len - i;
		if (ll == 0 || (ll == 1 && msg[i] == '\r'))
			return false; /* end of the header section */
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			size_t nn = strlen(names[k]);
			if (ll >= nn &&
			    strncasecmp(msg + i, names[k], nn) == 0 &&
			    value_yes(msg + i + nn, ll - nn))
				return true;
		}
		i += ll + 1;
	}
	return false;
}
