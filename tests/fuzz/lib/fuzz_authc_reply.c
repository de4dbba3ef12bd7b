/*
 * Fuzz target for the reader of youju-authd's replies (lib/authc):
 * authc_reply_framed(), which tells a kept connection's reply complete,
 * and authc_reply_classify(), which both clients (the blocking one and
 * lib/authc_async on youju-mta's SMTP loop) run on the bytes another
 * daemon sent.  Whatever the bytes: a framed reply classifies as found or
 * not found unless its lines are malformed, found pairs hold no LF and
 * come from the bytes' own lines, and "FAIL\n" alone is not found.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > AUTHC_REPLY_MAX)
		return 0;
	const char *p = (const char *)data;
	bool framed = authc_reply_framed(p, size);
	struct authc_reply r = {NULL, 0};
	enum authc_status st = authc_reply_classify(p, size, &r);
	if (st != AUTHC_OK && st != AUTHC_NOTFOUND && st != AUTHC_TEMPFAIL)
		abort();
	if (size == 5 && memcmp(p, "FAIL\n", 5) == 0 &&
	    (!framed || st != AUTHC_NOTFOUND))
		abort();
	if (st == AUTHC_TEMPFAIL && r.n != 0)
		abort();
	size_t lines = 0;
	for (size_t i = 0; i < size; i++)
		lines += p[i] == '\n';
	if (r.n > lines)
		abort();
	for (size_t i = 0; i < r.n; i++) {
		if (strchr(r.kv[i].key, '\n') != NULL ||
		    strchr(r.kv[i].value, '\n') != NULL ||
		    strchr(r.kv[i].key, '=') != NULL)
			abort();
		if (authc_get(&r, r.kv[i].key) == NULL)
			abort();
	}
	/* a found reply of a LOOKUP ends in a "." line: framed */
	if (st == AUTHC_OK && size > 3 && !framed)
		abort();
	authc_reply_free(&r);
	return 0;
}
