/* Unit tests for lib/base64: RFC 4648 §10 vectors and strictness. */
#include <string.h>

#include "base64.h"
#include "test.h"

int main(void)
{
	static const char *const vec[][2] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	};
	unsigned char out[64];
	char enc[64];
	size_t n;

	test_begin("RFC 4648 vectors");
	for (size_t i = 0; i < sizeof vec / sizeof *vec; i++) {
		test_assert(base64_encode(vec[i][0], strlen(vec[i][0]), enc,
					  sizeof enc) == 0);
		test_assert(strcmp(enc, vec[i][1]) == 0);
		test_assert(base64_decode(str_from_cstr(vec[i][1]), false, out,
					  sizeof out, &n) == 0);
		test_assert(n == strlen(vec[i][0]) &&
			    memcmp(out, vec[i][0], n) == 0);
	}

	test_begin("strictness");
	static const char *const bad[] = {
	    "Zg=",  "Z",    "Zg=a", "Z===",  "Zm9v!",
	    "Zh==", "Zm9=", "=Zg=", "Zm 9v", "Zg==Zg==",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		test_assert(base64_decode(str_from_cstr(bad[i]), false, out,
					  sizeof out, &n) == -1);
	test_assert(base64_decode((struct str){"Zg\0=", 4}, false, out,
				  sizeof out, &n) == -1);
	test_assert(base64_decode(str_from_cstr("Zg\r\n"), false, out,
				  sizeof out, &n) == -1);

	test_begin("optional padding");
	test_assert(base64_decode(str_from_cstr("Zg"), true, out, sizeof out,
				  &n) == 0 &&
		    n == 1 && out[0] == 'f');
	test_assert(base64_decode(str_from_cstr("Zg"), false, out, sizeof out,
				  &n) == -1);

	test_begin("output bound: exact and one short");
	test_assert(
	    base64_decode(str_from_cstr("Zm9vYmFy"), false, out, 6, &n) == 0 &&
	    n == 6);
	test_assert(
	    base64_decode(str_from_cstr("Zm9vYmFy"), false, out, 5, &n) == -1);
	test_assert(base64_encode("foo", 3, enc, 5) == 0);
	test_assert(base64_encode("foo", 3, enc, 4) == -1);

	test_begin("binary round trip");
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	char big[400];
	unsigned char back[256];
	test_assert(base64_encode(all, sizeof all, big, sizeof big) == 0);
	test_assert(base64_decode(str_from_cstr(big), false, back, sizeof back,
				  &n) == 0 &&
		    n == 256 && memcmp(all, back, 256) == 0);
	return test_end();
}
