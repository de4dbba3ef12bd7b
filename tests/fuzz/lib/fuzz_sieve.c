/*
 * Fuzz target for lib/sieve: the input is a script.  It is compiled and,
 * when it compiles, run over a small MIME message with every extension's
 * callbacks present; the result must be well formed (every action has
 * what its kind needs, the implicit keep at most once, no more than
 * SIEVE_ACTIONS_MAX actions).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_msg[] = "Date: Sat, 13 Mar 2010 14:30:00 +0100\n"
			       "From: Ken <ken+x@example.com>\n"
			       "To: tjs@example.org, b@example.net\n"
			       "Subject: =?utf-8?q?caf=C3=A9?= [list] money\n"
			       "Received: a\nReceived: b\n"
			       "Message-ID: <1@x>\n"
			       "MIME-Version: 1.0\n"
			       "Content-Type: multipart/mixed; boundary=B\n"
			       "\n--B\nContent-Type: text/plain\n\nhello\n--B\n"
			       "Content-Type: text/html\n\n<b>x</b>\n--B--\n";

static bool fuzz_dup(void *ctx, const char *id, size_t len, uint64_t s,
		     bool last)
{
	return len % 2 == 0;
}

static bool fuzz_exists(void *ctx, const char *name)
{
	return name[0] != 'x';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[SIEVE_ERROR_MAX];
	struct sieve_program *p =
	    sieve_compile((const char *)data, size, err, sizeof(err));
	if (p == NULL) {
		if (strncmp(err, "line ", 5) != 0)
			abort();
		return 0;
	}
	struct sieve_msg m = {fuzz_msg, sizeof(fuzz_msg) - 1, "ken@example.com",
			      "tjs+d@example.org", "tjs+d@example.org"};
	struct sieve_env env = {.delimiter = "+",
				.now = 1268487000,
				.duplicate = fuzz_dup,
				.mailbox_exists = fuzz_exists};
	struct sieve_result r;
	if (sieve_run(p, &m, &env, &r, err, sizeof(err)) == 0) {
		if (r.n > SIEVE_ACTIONS_MAX)
			abort();
		for (size_t i = 0; i < r.n; i++) {
			const struct sieve_action *a = &r.v[i];
			if ((a->kind == SIEVE_ACT_FILEINTO ||
			     a->kind == SIEVE_ACT_REDIRECT) &&
			    (a->arg == NULL || a->arg[0] == '\0'))
				abort();
			if ((a->kind == SIEVE_ACT_KEEP ||
			     a->kind == SIEVE_ACT_FILEINTO) &&
			    a->flags == NULL)
				abort();
		}
		if (r.header != NULL && r.body_off > m.len)
			abort();
		sieve_result_free(&r);
	} else if (strncmp(err, "line ", 5) != 0) {
		abort();
	}
	sieve_free(&p);
	return 0;
}
