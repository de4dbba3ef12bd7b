/*
 * Fuzz target for the authdaemond request parser (authd/proto.c): any byte
 * string, parsed as if it all arrived at once, with and without EOF, and
 * byte by byte as a slow client would send it; the CRAM decoder on every
 * response field.
 */
#include <stdint.h>
#include <string.h>

#include "../../../authd/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(const struct authd_request *r)
{
	char user[256], digest[256];
	unsigned char ch[1024];
	volatile size_t sink = 0;
	const char *f[] = {r->service,	   r->user,	 r->password,
			   r->newpassword, r->challenge, r->response,
			   r->map};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i] != NULL)
			sink += strlen(f[i]);
	}
	if (r->response != NULL)
		(void)authd_cram_decode(r->response, user, sizeof(user), digest,
					sizeof(digest));
	if (r->challenge != NULL)
		(void)authd_b64_decode(r->challenge, ch, sizeof(ch));
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authd_request r;
	const char *p = (const char *)data;
	for (int eof = 0; eof < 2; eof++) {
		if (authd_parse(p, size, eof, &r, NULL) == AUTHD_PARSE_OK) {
			use(&r);
			authd_request_free(&r);
		}
	}
	/* incremental: the first prefix that completes must be stable */
	for (size_t n = 0; n <= size && n < 2048; n++) {
		enum authd_parse_status st = authd_parse(p, n, false, &r, NULL);
		if (st == AUTHD_PARSE_OK)
			authd_request_free(&r);
		if (st != AUTHD_PARSE_MORE)
			break;
	}
	return 0;
}
