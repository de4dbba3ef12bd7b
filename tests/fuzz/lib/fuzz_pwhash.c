/*
 * Fuzz target for lib/pwhash: the input is a stored password value (as read
 * from a database column) verified against a fixed password, with and
 * without plain_fallback, and named by pwhash_scheme_name().  A match must
 * only happen for values that really hash "extmail".  Inputs asking for an
 * expensive cost (sha-crypt "rounds=", bcrypt cost above 5, yescrypt other
 * than the default parameters) are skipped: they are slow by design, not
 * bugs, and would only stall the fuzzer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pwhash.h"

#define FUZZ_PASSWORD  "extmail"
#define FUZZ_INPUT_MAX 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool expensive(const char *s)
{
	const char *p;

	if (strstr(s, "rounds=") != NULL)
		return true;
	for (p = s; (p = strstr(p, "$2")) != NULL; p++) {
		/* "$2?$NN$": allow costs 04 and 05 only */
		if (p[2] != '\0' && p[3] == '$' &&
		    !(p[4] == '0' && (p[5] == '4' || p[5] == '5')))
			return true;
	}
	for (p = s; (p = strstr(p, "$y$")) != NULL; p++) {
		if (strncmp(p + 3, "j9T$", 4) != 0)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (!expensive(s)) {
		enum pwhash_result a = pwhash_verify(FUZZ_PASSWORD, s, false);
		enum pwhash_result b = pwhash_verify(FUZZ_PASSWORD, s, true);
		const char *name = pwhash_scheme_name(s);

		if (a != PWHASH_MATCH && a != PWHASH_MISMATCH &&
		    a != PWHASH_UNSUPPORTED)
			abort();
		/* plain_fallback only ever adds matches */
		if (a == PWHASH_MATCH && b != PWHASH_MATCH)
			abort();
		/* crypt's failure tokens never match */
		if (s[0] == '*' && (a == PWHASH_MATCH || b == PWHASH_MATCH))
			abort();
		if (name == NULL || name[0] == '\0')
			abort();
	}
	free(s);
	return 0;
}
