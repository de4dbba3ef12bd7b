/*
 * Unit tests for lib/pwhash: known vectors for every scheme, produced
 * outside youju (`openssl passwd -1/-5/-6`, Python's crypt module and
 * hashlib + base64), wrong passwords, malformed and truncated values, crypt
 * failure tokens, case-insensitive prefixes, plain_fallback, scheme names,
 * and pwhash_make round trips.
 */
#include <stdbool.h>
#include <string.h>

#include "pwhash.h"
#include "test.h"

#define PW "extmail"

struct vec {
	const char *password;
	const char *stored;
	bool fallback;
	enum pwhash_result want;
	const char *name; /* pwhash_scheme_name(stored), NULL: don't check */
};

static const struct vec vecs[] = {
    /* openssl passwd -1 -salt phz1mRrj extmail (ExtMail's demo salt) */
    {PW, "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MATCH,
     "md5-crypt"},
    {"Extmail", "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MISMATCH,
     "md5-crypt"},
    {"", "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MISMATCH, NULL},
    /* printf 'p äss w0rd' | openssl passwd -1 -salt abcdefgh -stdin */
    {"p \xc3\xa4ss w0rd", "$1$abcdefgh$upY89BJ7foMNNOf41iEDN.", false,
     PWHASH_MATCH, "md5-crypt"},
    /* ExtMail prefixes: {CRYPT}$1$ is md5-crypt, other {CRYPT} DES */
    {PW, "{CRYPT}$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MATCH,
     "md5-crypt"},
    {PW, "{crypt}$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MATCH,
     "md5-crypt"},
    {PW, "{MD5CRYPT}$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MATCH,
     "md5-crypt"},
    {PW, "{MD5-CRYPT}$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MATCH,
     "md5-crypt"},
    {PW, "{Md5CrYpT}phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MATCH,
     "md5-crypt"},
    /* md5-crypt with its "$1$" missing: ExtMail prepends it */
    {PW, "phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MATCH, "md5-crypt"},
    /* Dovecot's {MD5} is md5-crypt */
    {PW, "{MD5}$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MATCH,
     "md5-crypt"},
    /* openssl passwd -5 / -6 -salt saltsalt extmail */
    {PW, "$5$saltsalt$owIN24CVzA4VvScu/5K4WKot9k6Mrjj0g1u5j9ZUmW/", false,
     PWHASH_MATCH, "sha256-crypt"},
    {"extmai", "$5$saltsalt$owIN24CVzA4VvScu/5K4WKot9k6Mrjj0g1u5j9ZUmW/", false,
     PWHASH_MISMATCH, "sha256-crypt"},
    {PW,
     "{SHA256-CRYPT}$5$saltsalt$owIN24CVzA4VvScu/5K4WKot9k6Mrjj0g1u5j9ZUm"
     "W/",
     false, PWHASH_MATCH, "sha256-crypt"},
    {PW,
     "$6$saltsalt$hykqX1s5U8MCtJHJtHWJGt9Rlyxkw.Q7iGnlPVdAzI55dlshWRqvtAg"
     "Ha9MdAsCIxRA/TtMyI4X49a8pC6thp0",
     false, PWHASH_MATCH, "sha512-crypt"},
    {PW,
     "{SHA512-CRYPT}$6$saltsalt$hykqX1s5U8MCtJHJtHWJGt9Rlyxkw.Q7iGnlPVdAz"
     "I55dlshWRqvtAgHa9MdAsCIxRA/TtMyI4X49a8pC6thp0",
     false, PWHASH_MATCH, "sha512-crypt"},
    {PW,
     "{sha512-crypt}$6$saltsalt$hykqX1s5U8MCtJHJtHWJGt9Rlyxkw.Q7iGnlPVdAz"
     "I55dlshWRqvtAgHa9MdAsCIxRA/TtMyI4X49a8pC6thp0",
     false, PWHASH_MATCH, "sha512-crypt"},
    {PW,
     "{CRYPT}$6$saltsalt$hykqX1s5U8MCtJHJtHWJGt9Rlyxkw.Q7iGnlPVdAzI55dlsh"
     "WRqvtAgHa9MdAsCIxRA/TtMyI4X49a8pC6thp0",
     false, PWHASH_MATCH, "sha512-crypt"},
    {"wrong",
     "$6$saltsalt$hykqX1s5U8MCtJHJtHWJGt9Rlyxkw.Q7iGnlPVdAzI55dlshWRqvtAg"
     "Ha9MdAsCIxRA/TtMyI4X49a8pC6thp0",
     false, PWHASH_MISMATCH, NULL},
    /* the wrong family behind a specific prefix */
    {PW,
     "{SHA512-CRYPT}$5$saltsalt$owIN24CVzA4VvScu/5K4WKot9k6Mrjj0g1u5j9Z"
     "UmW/",
     false, PWHASH_UNSUPPORTED, NULL},
    /* python3: crypt.crypt("extmail", "$6$rounds=1000$abc$") */
    {PW,
     "$6$rounds=1000$abc$ev5ylTtenPr2GCMIvBFC89/OCiLIcnYoUH9kYVL4e7Z1UyoE"
     "J0e0D1.CYJ9U95xE.Vk7Rw0GG9utEzAh6Redt1",
     false, PWHASH_MATCH, "sha512-crypt"},
    /* python3: crypt.crypt("extmail", "$2b$05$abcdefghijklmnopqrstuu") */
    {PW, "$2b$05$abcdefghijklmnopqrstuuTaDdwfAAOgbPOhcet9u8KJTH4LFjSPa", false,
     PWHASH_MATCH, "bcrypt"},
    {PW, "$2a$05$abcdefghijklmnopqrstuuTaDdwfAAOgbPOhcet9u8KJTH4LFjSPa", false,
     PWHASH_MATCH, "bcrypt"},
    {PW, "$2y$05$abcdefghijklmnopqrstuuTaDdwfAAOgbPOhcet9u8KJTH4LFjSPa", false,
     PWHASH_MATCH, "bcrypt"},
    {PW,
     "{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuuTaDdwfAAOgbPOhcet9u8KJTH4LFj"
     "SPa",
     false, PWHASH_MATCH, "bcrypt"},
    {"extmail!", "$2y$05$abcdefghijklmnopqrstuuTaDdwfAAOgbPOhcet9u8KJTH4LFjSPa",
     false, PWHASH_MISMATCH, NULL},
    /* python3: crypt.crypt("extmail", "$y$j9T$abcdefghijklmnop$") */
    {PW,
     "$y$j9T$abcdefghijklmnop$ZuDxYyEpTjm3Jd7DBnGolyIo/QLwuZfEF0TAekV"
     "n8F4",
     false, PWHASH_MATCH, "yescrypt"},
    {"x",
     "$y$j9T$abcdefghijklmnop$ZuDxYyEpTjm3Jd7DBnGolyIo/QLwuZfEF0TAekV"
     "n8F4",
     false, PWHASH_MISMATCH, NULL},
    /* python3: crypt.crypt("extmail", "ab") -- DES, bare and {CRYPT} */
    {PW, "abERRq0UKVEQ6", false, PWHASH_MATCH, "des-crypt"},
    {PW, "{CRYPT}abERRq0UKVEQ6", false, PWHASH_MATCH, "des-crypt"},
    {"extmaiX", "{CRYPT}abERRq0UKVEQ6", false, PWHASH_MISMATCH, NULL},
    {"extmail-and-more", "abERRq0UKVEQ6", false, PWHASH_MISMATCH, NULL},
    /* python3 hashlib + base64 */
    {PW, "{MD5}OTfbCPlBsxgDLDZ066bZkg==", false, PWHASH_MATCH, "ldap-md5"},
    {PW, "{md5}OTfbCPlBsxgDLDZ066bZkg==", false, PWHASH_MATCH, NULL},
    {PW, "{LDAP-MD5}OTfbCPlBsxgDLDZ066bZkg==", false, PWHASH_MATCH, "ldap-md5"},
    {PW, "{MD5}OTfbCPlBsxgDLDZ066bZkg", false, PWHASH_MATCH, NULL},
    {"extmaiL", "{MD5}OTfbCPlBsxgDLDZ066bZkg==", false, PWHASH_MISMATCH, NULL},
    {PW, "{MD5}OTfbCPlBsxgDLDZ066bZkh==", false, PWHASH_UNSUPPORTED,
     NULL}, /* non-zero pad bits */
    {PW, "{MD5}OTfbCPlBsxgDLDZ066bZ", false, PWHASH_UNSUPPORTED, NULL},
    {PW, "{MD5}OTfb CPlBsxgDLDZ066bZkg==", false, PWHASH_UNSUPPORTED, NULL},
    {PW, "3937db08f941b318032c3674eba6d992", false, PWHASH_MATCH, "plain-md5"},
    {PW, "3937DB08F941B318032C3674EBA6D992", false, PWHASH_MATCH, "plain-md5"},
    {PW, "{PLAIN-MD5}3937db08f941b318032c3674eba6d992", false, PWHASH_MATCH,
     "plain-md5"},
    {"extmail2", "3937db08f941b318032c3674eba6d992", false, PWHASH_MISMATCH,
     NULL},
    {"", "d41d8cd98f00b204e9800998ecf8427e", false, PWHASH_MATCH, NULL},
    {PW, "{SHA}damqJL3RbmjHM1zU90hQZCDLJh8=", false, PWHASH_MATCH, "sha1"},
    {PW, "{SHA1}damqJL3RbmjHM1zU90hQZCDLJh8=", false, PWHASH_MATCH, "sha1"},
    {PW, "{sha1}75a9aa24bdd16e68c7335cd4f748506420cb261f", false, PWHASH_MATCH,
     "sha1"},
    {"no", "{SHA}damqJL3RbmjHM1zU90hQZCDLJh8=", false, PWHASH_MISMATCH, NULL},
    /* base64(sha1("extmail" "salty!") "salty!") */
    {PW, "{SSHA}nPyXyrYAl89UISuo8RWCjwfJyUFzYWx0eSE=", false, PWHASH_MATCH,
     "ssha"},
    {"extmail ", "{SSHA}nPyXyrYAl89UISuo8RWCjwfJyUFzYWx0eSE=", false,
     PWHASH_MISMATCH, NULL},
    /* a salted scheme needs a salt */
    {PW, "{SSHA}damqJL3RbmjHM1zU90hQZCDLJh8=", false, PWHASH_UNSUPPORTED, NULL},
    {PW, "{SHA256}ZKR7KfcqtYQ4EnsXgchLPgdt88YT19mbDRs7TNHciy8=", false,
     PWHASH_MATCH, "sha256"},
    {PW, "{SSHA256}FLcDQbBnAYeI88btlNjM8TSOmggkTHeDhxNgOywSl+IBAgME", false,
     PWHASH_MATCH, "ssha256"},
    {"Extmail", "{SSHA256}FLcDQbBnAYeI88btlNjM8TSOmggkTHeDhxNgOywSl+IBAgME",
     false, PWHASH_MISMATCH, NULL},
    {PW,
     "{SHA512}SZY4lEvmyUJgMe96qWxNyW3FZeMtw5+P8cN3f7woA9CjD48qHLysPuKwi/k"
     "Vgtzmpfez3N/UYVsfRHKsPjGbzw==",
     false, PWHASH_MATCH, "sha512"},
    {PW,
     "{SSHA512}Ffk1+68/MCNN0GWJoGrjd2Ky1X4crrKVwlOk24MSAIdGcnRVpMEd/skyeWP"
     "LXFxImMZMF+O1BcXdMtccfzh1/E5hQ2w4Ynl0",
     false, PWHASH_MATCH, "ssha512"},
    {"x",
     "{SSHA512}Ffk1+68/MCNN0GWJoGrjd2Ky1X4crrKVwlOk24MSAIdGcnRVpMEd/skyeWP"
     "LXFxImMZMF+O1BcXdMtccfzh1/E5hQ2w4Ynl0",
     false, PWHASH_MISMATCH, NULL},
    /* a SHA-1 digest under {SHA256} has the wrong length */
    {PW, "{SHA256}damqJL3RbmjHM1zU90hQZCDLJh8=", false, PWHASH_UNSUPPORTED,
     NULL},
    /* clear text */
    {PW, "{PLAIN}extmail", false, PWHASH_MATCH, "plain"},
    {PW, "{plain}extmail", false, PWHASH_MATCH, "plain"},
    {PW, "{CLEARTEXT}extmail", false, PWHASH_MATCH, "plain"},
    {PW, "{CLEAR}extmail", false, PWHASH_MATCH, "plain"},
    {"extmai", "{PLAIN}extmail", false, PWHASH_MISMATCH, NULL},
    {"extmaill", "{PLAIN}extmail", false, PWHASH_MISMATCH, NULL},
    {"", "{PLAIN}", false, PWHASH_MISMATCH, NULL},
    {"{PLAIN}", "{PLAIN}", true, PWHASH_MISMATCH, NULL},
    /* plain_fallback */
    {PW, "extmail", false, PWHASH_UNSUPPORTED, "unknown"},
    {PW, "extmail", true, PWHASH_MATCH, "unknown"},
    {"extmail2", "extmail", true, PWHASH_MISMATCH, NULL},
    {PW, "{FOO}extmail", false, PWHASH_UNSUPPORTED, "unknown"},
    {"{FOO}extmail", "{FOO}extmail", true, PWHASH_MATCH, NULL},
    /* a 13-char clear-text password looks like DES: tried both ways */
    {"abcdefghijklm", "abcdefghijklm", true, PWHASH_MATCH, "des-crypt"},
    {"abcdefghijklm", "abcdefghijklm", false, PWHASH_MISMATCH, NULL},
    /* a well-formed $6$ hash is never compared as clear text */
    {"$6$saltsalt$hykqX1s5U8MCtJHJtHWJGt9Rlyxkw.Q7iGnlPVdAzI55dlshWRqvtAg"
     "Ha9MdAsCIxRA/TtMyI4X49a8pC6thp0",
     "$6$saltsalt$hykqX1s5U8MCtJHJtHWJGt9Rlyxkw.Q7iGnlPVdAzI55dlshWRqvtAg"
     "Ha9MdAsCIxRA/TtMyI4X49a8pC6thp0",
     true, PWHASH_MISMATCH, NULL},
    /* empty and garbage stored values */
    {PW, "", false, PWHASH_MISMATCH, "unknown"},
    {"", "", false, PWHASH_MISMATCH, NULL},
    {"", "", true, PWHASH_MISMATCH, NULL},
    {PW, "{", false, PWHASH_UNSUPPORTED, "unknown"},
    {PW, "{}", false, PWHASH_UNSUPPORTED, NULL},
    {PW, "{CRYPT}", false, PWHASH_MISMATCH, NULL},
    {PW, "{CRYPT}garbage", false, PWHASH_UNSUPPORTED, NULL},
    {PW, "$", false, PWHASH_UNSUPPORTED, NULL},
    {PW, "$1$", false, PWHASH_MISMATCH, NULL},
    {PW, "$9$abc$def", false, PWHASH_UNSUPPORTED, NULL},
    {PW, "\x01\x02\xff\xfe", false, PWHASH_UNSUPPORTED, NULL},
    /* crypt failure tokens and locked accounts never match */
    {"*0", "*0", false, PWHASH_MISMATCH, NULL},
    {"*1", "*1", true, PWHASH_MISMATCH, NULL},
    {PW, "*0", false, PWHASH_MISMATCH, NULL},
    {PW, "!$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0", false, PWHASH_MISMATCH, NULL},
    {PW, "{CRYPT}*0", false, PWHASH_UNSUPPORTED, NULL},
    {"*0", "{CRYPT}*0", true, PWHASH_UNSUPPORTED, NULL},
    /* a bad salt makes crypt fail: its "*0" must not match "*0..." */
    {PW, "$2b$99$abcdefghijklmnopqrstuuTaDdwfAAOgbPOhcet9u8KJTH4LFjSPa", false,
     PWHASH_UNSUPPORTED, NULL},
    /* truncated and extended hashes */
    {PW, "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C", false, PWHASH_MISMATCH, NULL},
    {PW, "$1$phz1mRrj$3ok6BjeaoJYWDBsEPZb5C0x", false, PWHASH_MISMATCH, NULL},
    {PW, "$1$phz1mRrj$", false, PWHASH_MISMATCH, NULL},
    {PW, "$1$phz1mRrj", false, PWHASH_MISMATCH, NULL},
    {PW, "$6$saltsalt$hykqX1s5U8MCtJHJtHWJGt9Rlyxkw", false, PWHASH_MISMATCH,
     NULL},
    {PW, "$2b$05$abcdefghijklmnopqrstuuTaDdwfAAOgbPOhcet9u8KJTH4LFjSP", false,
     PWHASH_MISMATCH, NULL},
    {PW, "$y$j9T$abcdefghijklmnop$ZuDxYyEpTjm3Jd7DBnGolyIo/QLwuZfEF0T", false,
     PWHASH_MISMATCH, NULL},
    {PW, "abERRq0UKVEQ", false, PWHASH_UNSUPPORTED, NULL},
    {PW, "3937db08f941b318032c3674eba6d99", false, PWHASH_UNSUPPORTED, NULL},
    {PW, "3937db08f941b318032c3674eba6d9920", false, PWHASH_UNSUPPORTED, NULL},
    {PW, "{SHA}damqJL3RbmjHM1zU90hQZCDLJh", false, PWHASH_UNSUPPORTED, NULL},
};

static void test_vectors(void)
{
	test_begin("vectors");
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];
		enum pwhash_result r =
		    pwhash_verify(v->password, v->stored, v->fallback);
		if (r != v->want)
			fprintf(stderr, "vector %zu (%s): got %d want %d\n", i,
				v->stored, r, v->want);
		test_assert(r == v->want);
		if (v->name != NULL) {
			const char *n = pwhash_scheme_name(v->stored);
			if (strcmp(n, v->name) != 0)
				fprintf(stderr, "vector %zu: name %s\n", i, n);
			test_assert(strcmp(n, v->name) == 0);
		}
	}
}

static void test_limits(void)
{
	static char big[2048];
	static char longpw[600];

	test_begin("limits");
	test_assert(pwhash_verify(NULL, "{PLAIN}x", true) == PWHASH_MISMATCH);
	test_assert(pwhash_verify("x", NULL, true) == PWHASH_MISMATCH);
	test_assert(strcmp(pwhash_scheme_name(NULL), "unknown") == 0);

	/* a stored value past the maximum is no hash we know; at the
	   maximum it is parsed (and mismatches) */
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "{PLAIN}", 7);
	test_assert(pwhash_verify("a", big, false) == PWHASH_UNSUPPORTED);
	big[1025] = '\0';
	test_assert(pwhash_verify("a", big, false) == PWHASH_UNSUPPORTED);
	test_assert(strcmp(pwhash_scheme_name(big), "unknown") == 0);
	big[1024] = '\0';
	test_assert(pwhash_verify("a", big, false) == PWHASH_MISMATCH);
	test_assert(strcmp(pwhash_scheme_name(big), "plain") == 0);
	big[7 + 511] = '\0';
	test_assert(pwhash_verify(big + 7, big, false) == PWHASH_MATCH);

	/* 511 bytes of password is the most any scheme takes */
	memset(longpw, 'p', sizeof(longpw) - 1);
	longpw[511] = '\0';
	const char *err = NULL;
	char *h = pwhash_make(longpw, "md5-crypt", &err);
	test_assert(h != NULL);
	test_assert(h != NULL &&
		    pwhash_verify(longpw, h, false) == PWHASH_MATCH);
	longpw[511] = 'p';
	longpw[512] = '\0';
	test_assert(h != NULL &&
		    pwhash_verify(longpw, h, false) == PWHASH_MISMATCH);
	err = NULL;
	test_assert(pwhash_make(longpw, "md5-crypt", &err) == NULL &&
		    err != NULL);
	free(h);
}

static bool crypt_shaped(const char *h, const char *prefix, size_t saltlen)
{
	size_t pl = strlen(prefix);
	const char *d;

	if (strncmp(h, prefix, pl) != 0)
		return false;
	d = strchr(h + pl, '$');
	return saltlen == 0 || (d != NULL && (size_t)(d - h - pl) == saltlen);
}

static void test_make(void)
{
	static const struct {
		const char *scheme;
		const char *prefix;
		size_t saltlen;
		const char *name;
	} mk[] = {
	    {"sha512-crypt", "$6$", 16, "sha512-crypt"},
	    {"SHA512-CRYPT", "$6$", 16, "sha512-crypt"},
	    {NULL, "$6$", 16, "sha512-crypt"},
	    {"", "$6$", 16, "sha512-crypt"},
	    {"yescrypt", "$y$", 0, "yescrypt"},
	    {"bcrypt", "$2b$", 0, "bcrypt"},
	    /* ExtMail's writer: "$1$" and an 8-character salt */
	    {"md5-crypt", "$1$", 8, "md5-crypt"},
	};
	static const char *const pws[] = {
	    "extmail",
	    "",
	    "p \xc3\xa4ss w0rd",
	    "quote'\"\\ $1$",
	};
	const char *err = NULL;

	test_begin("make");
	for (size_t i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) {
		for (size_t j = 0; j < sizeof(pws) / sizeof(pws[0]); j++) {
			err = NULL;
			char *h = pwhash_make(pws[j], mk[i].scheme, &err);
			test_assert(h != NULL);
			if (h == NULL)
				continue;
			test_assert(
			    crypt_shaped(h, mk[i].prefix, mk[i].saltlen));
			test_assert(strcmp(pwhash_scheme_name(h), mk[i].name) ==
				    0);
			test_assert(pwhash_verify(pws[j], h, false) ==
				    PWHASH_MATCH);
			test_assert(pwhash_verify("wrong", h, false) ==
				    PWHASH_MISMATCH);
			/* a second hash gets a fresh salt */
			char *h2 = pwhash_make(pws[j], mk[i].scheme, &err);
			test_assert(h2 != NULL && strcmp(h, h2) != 0);
			free(h2);
			free(h);
		}
	}
	/* bcrypt gets a real cost, not libxcrypt's minimum */
	char *b = pwhash_make("x", "bcrypt", &err);
	test_assert(b != NULL && strncmp(b, "$2b$10$", 7) == 0);
	free(b);

	err = NULL;
	test_assert(pwhash_make("x", "des", &err) == NULL && err != NULL);
	err = NULL;
	test_assert(pwhash_make("x", "plain", &err) == NULL && err != NULL);
}

int main(void)
{
	test_vectors();
	test_limits();
	test_make();
	return test_end();
}
