/*
 * Fuzz target for JSON request bodies as the web APIs parse them
 * (webjson_parse_object: one object, no duplicate keys, valid UTF-8, no
 * NUL, depth cap), then each string value through the validators the
 * handlers apply (domain, local part, date, quota text).  Checks that an
 * accepted body is an object whose strings are valid UTF-8 without NUL
 * and that every reference is released (ASan's leak check).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extmail_sql.h"
#include "webjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200];
	json_t *v =
	    webjson_parse_object((const char *)data, size, err, sizeof err);
	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		abort();
	const char *k;
	json_t *e;
	json_object_foreach(v, k, e)
	{
		if (!json_is_string(e))
			continue;
		const char *s = json_string_value(e);
		if (strlen(s) != json_string_length(e))
			abort(); /* a NUL got through */
		uint64_t b;
		(void)extmail_domain_valid(s);
		(void)extmail_local_valid(s);
		(void)extmail_date_valid(s);
		if (extmail_quota_bytes(s, &b) == 0 && b > EXTMAIL_QUOTA_MAX)
			abort();
	}
	char *back = json_dumps(v, JSON_COMPACT);
	if (back == NULL)
		abort();
	json_t *again =
	    webjson_parse_object(back, strlen(back), err, sizeof err);
	if (again == NULL)
		abort(); /* our own output must parse */
	json_decref(again);
	free(back);
	json_decref(v);
	return 0;
}
