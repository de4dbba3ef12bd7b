/*
 * Unit tests for lib/webjson's request parser: one object only, duplicate
 * keys, invalid UTF-8, \u0000, depth cap, empty input, embedded NUL and
 * bare CR/LF around the value.
 */
#include <string.h>

#include "test.h"
#include "webjson.h"

static bool parses(const char *s, size_t len)
{
	char err[200];
	json_t *v = webjson_parse_object(s, len, err, sizeof err);
	if (v == NULL)
		return false;
	json_decref(v);
	return true;
}

#define P(lit) parses((lit), sizeof(lit) - 1)

int main(void)
{
	test_begin("webjson");
	test_assert(P("{}"));
	test_assert(P("{\"a\":1}"));
	test_assert(P("\r\n{\"a\":\"\xe4\xb8\xad\"}\n"));
	test_assert(P("{\"a\":1}\r"));
	test_assert(!P(""));
	test_assert(!P("[]"));
	test_assert(!P("1"));
	test_assert(!P("{"));
	test_assert(!P("{\"a\":1,\"a\":2}"));
	test_assert(!P("{\"a\":\"\xff\"}"));
	test_assert(!P("{\"\xc0\xaf\":1}"));
	test_assert(!P("{\"a\":\"x\\u0000y\"}"));
	test_assert(!P("{\"a\":1}\0"));
	test_assert(!P("{\"a\":1} {}"));
	test_assert(!P("{\"a\":1,}"));
	/* depth: 16 levels is the cap */
	char deep[200];
	size_t n = 0;
	for (int i = 0; i < 15; i++)
		memcpy(deep + n, "{\"a\":", 5), n += 5;
	deep[n++] = '1';
	for (int i = 0; i < 15; i++)
		deep[n++] = '}';
	test_assert(parses(deep, n));
	n = 0;
	for (int i = 0; i < 17; i++)
		memcpy(deep + n, "{\"a\":", 5), n += 5;
	deep[n++] = '1';
	for (int i = 0; i < 17; i++)
		deep[n++] = '}';
	test_assert(!parses(deep, n));
	return test_end();
}
