/*
 * Fuzz target for the webmail's filter form (lib/sieve_filters): the
 * input is taken both as a stored script (sieve_filters_parse: the
 * "# youju-filters-v1 {json}" line, accepted only when it regenerates the
 * script byte for byte) and as a form (sieve_filters_generate).  Checks
 * that every script the generator accepts compiles (lib/sieve) and parses
 * back to its own form, and that nothing leaks (ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sieve.h"
#include "sieve_filters.h"
#include "webjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *f = sieve_filters_parse((const char *)data, size);
	json_decref(f);

	char err[SIEVE_ERROR_MAX], field[300];
	json_t *form =
	    webjson_parse_object((const char *)data, size, err, sizeof err);
	if (form == NULL)
		return 0;
	struct buf b;
	buf_init(&b, SIEVE_SCRIPT_MAX);
	if (sieve_filters_generate(form, &b, err, sizeof err, field,
				   sizeof field) == 0) {
		struct sieve_program *p =
		    sieve_compile(b.p, b.len, err, sizeof err);
		if (p == NULL)
			abort(); /* the form made a script that does not compile
				  */
		sieve_free(&p);
		json_t *back = sieve_filters_parse(b.p, b.len);
		if (back == NULL)
			abort(); /* not recognised as the form's own */
		json_decref(back);
	}
	buf_deinit(&b);
	json_decref(form);
	return 0;
}
