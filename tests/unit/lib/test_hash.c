/* lib/hash: SipHash-2-4 reference vectors, the process key, bytes. */
#include <string.h>

#include "hash.h"
#include "test.h"

int main(void)
{
	unsigned char key[16], msg[64];
	for (unsigned i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;

	test_begin("siphash24 vectors");
	/* the paper's appendix A (15 bytes) and the reference
	   implementation's table (0 and 1 bytes) */
	test_assert(hash_siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ull);
	test_assert(hash_siphash24(key, msg, 1) == 0x74f839c593dc67fdull);
	test_assert(hash_siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);

	test_begin("siphash24 lengths around a word");
	/* every length from 0 to 63 gives a distinct value, and a change
	   in any byte changes it */
	uint64_t seen[64];
	for (unsigned n = 0; n < 64; n++) {
		seen[n] = hash_siphash24(key, msg, n);
		for (unsigned m = 0; m < n; m++)
			test_assert(seen[m] != seen[n]);
	}
	unsigned char m2[64];
	memcpy(m2, msg, sizeof(m2));
	m2[7] ^= 1;
	test_assert(hash_siphash24(key, m2, 8) != seen[8]);

	test_begin("process key");
	hash_init();
	hash_init(); /* idempotent */
	uint64_t a = hash_str("192.0.2.1");
	test_assert(a == hash_bytes("192.0.2.1", 9));
	test_assert(a != hash_siphash24(key, "192.0.2.1", 9));
	/* embedded NUL, CR and LF are bytes like any other */
	test_assert(hash_bytes("a\0b", 3) != hash_bytes("a\0c", 3));
	test_assert(hash_bytes("a\r", 2) != hash_bytes("a\n", 2));
	test_assert(hash_str("") == hash_bytes("", 0));
	test_begin("fnv1a: the tree's offset basis, stored values unchanged");
	test_assert(hash_fnv1a("", 0) == 0x14650fb0739d0383ull);
	test_assert(hash_fnv1a("a", 1) == 0x44bd8ad473cd9906ull);
	test_assert(hash_fnv1a("foobar", 6) == 0x88fad7c0a8ff07f2ull);
	test_assert(hash_fnv1a("a\0b", 3) == 0xe02908510caa06f0ull);
	return test_end();
}
