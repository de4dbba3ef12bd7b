/*
 * Unit tests for lib/md5crypt_x8: every result is compared byte for byte
 * with libxcrypt's crypt_r() on the same (password, setting).  Random
 * passwords of 0..100 bytes over every byte value but NUL (UTF-8, 0x80-0xff,
 * CR, LF), salts of 0..8 characters, longer salts (libxcrypt cuts them to
 * 8), settings with and without the trailing '$' and whole stored hashes,
 * every batch size 1..8 with mixed lengths, on both the AVX2 and the
 * baseline code; the longest password (511 bytes) beside short ones (lanes
 * needing 17 blocks beside lanes needing one); and the settings and sizes
 * it must refuse.
 */
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md5crypt_x8.h"
#include "test.h"

#define ALPHABET                                                               \
	"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	/* xorshift64*: reproducible, so a failure can be replayed */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1du) >> 32);
}

static void random_password(char *p, size_t len)
{
	static const char *const utf8[] = {"\xc3\xa4", "\xe4\xbd\xa0",
					   "\xf0\x9f\x98\x80", "\xc3\x9f"};
	size_t i = 0;

	while (i < len) {
		uint32_t r = rnd();
		if (r % 5 == 0) {
			const char *u = utf8[(r >> 8) % 4];
			size_t ul = strlen(u);
			if (i + ul <= len) {
				memcpy(p + i, u, ul);
				i += ul;
				continue;
			}
		}
		p[i++] = (char)(1 + (r >> 8) % 255); /* 0x01..0xff */
	}
	p[len] = '\0';
}

/* A setting in one of the shapes stored values and callers use. */
static void random_setting(char *s, size_t size)
{
	char salt[17];
	size_t slen = rnd() % 100 < 85 ? rnd() % 9 : 9 + rnd() % 8;
	int n;

	for (size_t i = 0; i < slen; i++)
		salt[i] = ALPHABET[rnd() % 64];
	salt[slen] = '\0';
	switch (rnd() % 3) {
	case 0:
		n = snprintf(s, size, "$1$%s", salt);
		break;
	case 1:
		n = snprintf(s, size, "$1$%s$", salt);
		break;
	default:
		n = snprintf(s, size, "$1$%s$3ok6BjeaoJYWDBsEPZb5C0", salt);
		break;
	}
	if (n < 0 || (size_t)n >= size)
		abort();
}

static char *reference(const char *pw, const char *setting)
{
	static struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	const char *o = crypt_r(pw, setting, &cd);
	return o == NULL ? NULL : strdup(o);
}

/* Hashes n pairs at once and checks each against crypt_r. */
static int check_batch(size_t n, const char *const pw[], const char *const st[])
{
	char out[MD5CRYPT_X8_LANES_MAX][MD5CRYPT_X8_OUT_SIZE];
	int bad = 0;

	test_assert(md5crypt_x8(n, pw, st, out) == 0);
	for (size_t i = 0; i < n; i++) {
		char *want = reference(pw[i], st[i]);
		test_assert(want != NULL && want[0] == '$');
		if (want == NULL || strcmp(want, out[i]) != 0) {
			bad++;
			fprintf(stderr,
				"lane %zu/%zu (%s, plen %zu): %s != %s\n", i, n,
				st[i], strlen(pw[i]), out[i],
				want ? want : "NULL");
		}
		test_assert(want != NULL && strcmp(want, out[i]) == 0);
		free(want);
	}
	return bad;
}

/* Which copy of the code the next checks run. */
enum impl { BEST, AVX2, GENERIC };

static void force(enum impl impl)
{
	md5crypt_x8_force_generic(impl == GENERIC);
	md5crypt_x8_force_avx2(impl == AVX2);
}

static void test_random(enum impl impl, int batches)
{
	static char pwbuf[MD5CRYPT_X8_LANES_MAX][128],
	    stbuf[MD5CRYPT_X8_LANES_MAX][64];
	const char *pw[MD5CRYPT_X8_LANES_MAX], *st[MD5CRYPT_X8_LANES_MAX];
	static const char *const name[] = {"random, best", "random, avx2",
					   "random, generic"};

	force(impl);
	fprintf(stderr, "%s: %s\n", name[impl], md5crypt_x8_impl());
	test_begin(name[impl]);
	for (int b = 0; b < batches; b++) {
		size_t n = 1 + (size_t)b % md5crypt_x8_max();
		for (size_t i = 0; i < n; i++) {
			/* mostly short, some long: mixed block counts */
			size_t len = rnd() % 4 == 0 ? rnd() % 101 : rnd() % 24;
			random_password(pwbuf[i], len);
			random_setting(stbuf[i], sizeof(stbuf[i]));
			pw[i] = pwbuf[i];
			st[i] = stbuf[i];
		}
		if (check_batch(n, pw, st) > 0)
			break;
	}
	force(BEST);
}

static void test_vectors(void)
{
	/* openssl passwd -1 -salt phz1mRrj extmail (test_pwhash's vector) */
	const char *pw[] = {"extmail"};
	const char *st[] = {"$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0"};
	char out[1][MD5CRYPT_X8_OUT_SIZE];

	test_begin("known vector");
	test_assert(md5crypt_x8(1, pw, st, out) == 0);
	test_assert(strcmp(out[0], "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0") == 0);

	/* every salt length 0..12 and every password length 0..70 across
	   the block boundaries, eight lanes of different lengths at once */
	test_begin("lengths");
	for (size_t base = 0; base <= 70; base += 8) {
		static char pwbuf[8][80], stbuf[8][32];
		const char *p[8], *s[8];
		for (size_t i = 0; i < 8; i++) {
			memset(pwbuf[i], 'a' + (int)i, base + i);
			pwbuf[i][base + i] = '\0';
			snprintf(stbuf[i], sizeof(stbuf[i]), "$1$%.*s$",
				 (int)((base / 8 + i) % 13), "abcdefghijklm");
			p[i] = pwbuf[i];
			s[i] = stbuf[i];
		}
		check_batch(8, p, s);
	}
}

static void test_longest(void)
{
	static char longpw[MD5CRYPT_X8_PASSWORD_MAX + 2];
	const char *pw[MD5CRYPT_X8_LANES_MAX], *st[MD5CRYPT_X8_LANES_MAX];
	char out[MD5CRYPT_X8_LANES_MAX][MD5CRYPT_X8_OUT_SIZE];

	test_begin("longest password beside short ones");
	random_password(longpw, MD5CRYPT_X8_PASSWORD_MAX);
	for (size_t i = 0; i < MD5CRYPT_X8_LANES_MAX; i++) {
		pw[i] = i % 3 == 0 ? longpw : "pw";
		st[i] = i % 2 ? "$1$saltsalt$" : "$1$x";
	}
	check_batch(8, pw, st);
	/* the widest batch the code runs (sixteen with AVX-512) */
	check_batch(md5crypt_x8_max(), pw, st);

	test_begin("refusals");
	random_password(longpw, MD5CRYPT_X8_PASSWORD_MAX + 1);
	test_assert(!md5crypt_x8_accepts(longpw, "$1$salt$"));
	pw[0] = longpw;
	st[0] = "$1$salt$";
	test_assert(md5crypt_x8(1, pw, st, out) == -1);
	static const char *const bad[] = {
	    "",		"$1",	     "1$salt",	"$5$saltsalt$",
	    "$2b$10$x", "$1$a*b$",   "$1$a b$", "$1$\xc3\xa4$",
	    "$1$ab:c$", "$1$ab\nc$", "salt$x",	"{CRYPT}$1$salt$"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		test_assert(!md5crypt_x8_accepts("pw", bad[i]));
	test_assert(!md5crypt_x8_accepts(NULL, "$1$salt$"));
	test_assert(!md5crypt_x8_accepts("pw", NULL));
	for (size_t i = 0; i < 5; i++) {
		static const char *const tails[] = {
		    "$1$ab$\x98", "$1$ab$ c", "$1$ab$;", "$1$$\\", "$1$a$!"};
		char *r = reference("pw", tails[i]);
		test_assert(!md5crypt_x8_accepts("pw", tails[i]));
		test_assert(r == NULL || r[0] == '*');
		free(r);
	}
	/* one bad pair refuses the whole batch */
	pw[0] = "pw";
	pw[1] = "pw";
	st[0] = "$1$salt$";
	st[1] = "$1$a*b$";
	test_assert(md5crypt_x8(2, pw, st, out) == -1);
	test_assert(md5crypt_x8(0, pw, st, out) == -1);
	test_assert(md5crypt_x8(md5crypt_x8_max() + 1, pw, st, out) == -1);
	/* the refused settings crypt_r also refuses */
	for (size_t i = 5; i < 10; i++) {
		char *r = reference("pw", bad[i]);
		test_assert(r == NULL || r[0] == '*');
		free(r);
	}
}

int main(int argc, char **argv)
{
	/* YOUJU_MD5CRYPT_X8_BATCHES: more random batches (default 300 per
	   implementation, ~1,350 hashes each) */
	const char *env = getenv("YOUJU_MD5CRYPT_X8_BATCHES");
	int batches = env != NULL ? (int)strtol(env, NULL, 10) : 300;

	(void)argc;
	(void)argv;
	fprintf(stderr, "md5crypt_x8: %s\n", md5crypt_x8_impl());
	test_vectors();
	test_longest();
	test_random(BEST, batches);
	test_random(AVX2, batches);
	test_random(GENERIC, batches);
	for (enum impl impl = AVX2; impl <= GENERIC; impl++) {
		force(impl);
		test_vectors();
		test_longest();
	}
	force(BEST);
	return test_end();
}
