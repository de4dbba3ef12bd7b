/*
 * Fuzz target for URLAUTH's absolute URLs (mra/imap_urlauth), which come
 * from any client and, in URLFETCH, name another user's mail: any bytes
 * (up to the first NUL, as a command argument) through the parser.  A URL
 * that parses has an owner with an '@', a relative part starting with
 * '/', a non-empty access identifier, a rump inside the input, and a hex
 * token exactly when it has a mechanism.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../mra/imap_urlauth.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct imap_urlauth_url u;
	if (imap_urlauth_parse(s, &u) == 0) {
		if (strchr(u.owner, '@') == NULL || u.rel[0] != '/' ||
		    u.access[0] == '\0' || u.rump_len > strlen(s) ||
		    (u.mech[0] != '\0') != (u.token[0] != '\0') ||
		    strspn(u.token, "0123456789abcdefABCDEF") !=
			strlen(u.token))
			abort();
	}
	free(s);
	return 0;
}
