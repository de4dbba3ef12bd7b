/*
 * Unit tests for lib/websession: the Cookie header parser (empty input,
 * the maximum, one past it, embedded NUL, bare CR/LF, quoting, look-alike
 * names), IDs and CSRF tokens, timeouts, eviction, per-user logout, and the
 * Set-Cookie value.
 */
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "websession.h"

struct ck {
	const char *hdr;
	const char *name;
	const char *want; /* NULL: not found */
};

static void test_cookie_table(void)
{
	static const struct ck cases[] = {
	    {"", "sid", NULL},
	    {"sid=abc", "sid", "abc"},
	    {"a=1; sid=abc; b=2", "sid", "abc"},
	    {"a=1;sid=abc", "sid", "abc"},
	    {"xsid=abc; sid=def", "sid", "def"},
	    {"sidx=abc", "sid", NULL},
	    {"sid =abc", "sid", "abc"},
	    {"sid=\"abc\"", "sid", "abc"},
	    {"sid=", "sid", ""},
	    {"sid", "sid", NULL},
	    {"sid=a b", "sid", NULL},  /* space inside */
	    {"sid=a,b", "sid", NULL},  /* comma */
	    {"sid=a\\b", "sid", NULL}, /* backslash */
	    {"sid=a\rb", "sid", NULL}, /* bare CR */
	    {"sid=a\nb", "sid", NULL}, /* bare LF */
	    {"a=\x80; sid=ok", "sid", "ok"},
	    {";;; sid=ok", "sid", "ok"},
	};
	test_begin("cookie table");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[80];
		bool got =
		    websession_cookie_get(cases[i].hdr, strlen(cases[i].hdr),
					  cases[i].name, out, sizeof out);
		if (cases[i].want == NULL)
			test_assert(!got);
		else {
			test_assert(got);
			test_assert(got && strcmp(out, cases[i].want) == 0);
		}
	}
}

static void test_cookie_limits(void)
{
	test_begin("cookie limits");
	char out[65], hdr[9000];
	/* the value fills out exactly (64 + NUL), then one more */
	memset(hdr, 0, sizeof hdr);
	memcpy(hdr, "sid=", 4);
	memset(hdr + 4, 'a', 64);
	test_assert(websession_cookie_get(hdr, 68, "sid", out, sizeof out));
	test_assert(strlen(out) == 64);
	hdr[68] = 'a';
	test_assert(!websession_cookie_get(hdr, 69, "sid", out, sizeof out));
	/* embedded NUL inside the value is not a cookie-octet */
	const char nul[] = "sid=ab\0cd";
	test_assert(!websession_cookie_get(nul, sizeof nul - 1, "sid", out,
					   sizeof out));
	/* a NUL between cookies does not hide the next one's refusal */
	const char nul2[] = "a=\0; sid=x";
	test_assert(!websession_cookie_get(nul2, sizeof nul2 - 1, "a", out,
					   sizeof out));
	/* header over 8192 bytes */
	memset(hdr, 'x', sizeof hdr);
	memcpy(hdr, "sid=1;", 6);
	test_assert(websession_cookie_get(hdr, 8192, "sid", out, sizeof out));
	test_assert(!websession_cookie_get(hdr, 8193, "sid", out, sizeof out));
	/* more than 64 cookies before the one we want */
	char many[1000];
	size_t n = 0;
	for (int i = 0; i < 70; i++)
		many[n++] = 'a', many[n++] = '=', many[n++] = '1',
		many[n++] = ';';
	memcpy(many + n, "sid=z", 5);
	n += 5;
	test_assert(!websession_cookie_get(many, n, "sid", out, sizeof out));
	test_assert(!websession_cookie_get(NULL, 0, "sid", out, sizeof out));
}

static void test_store(void)
{
	test_begin("store");
	struct websession_store *st = websession_store_new(3, 60, 3600);
	char id[WEBSESSION_ID_LEN + 1], id2[WEBSESSION_ID_LEN + 1];
	struct websession_info info, got;
	test_assert(websession_create(st, "a@x.org", "admin", id, &info) == 0);
	test_assert(websession_id_valid(id));
	test_assert(strlen(info.csrf) == WEBSESSION_ID_LEN);
	test_assert(strcmp(id, info.csrf) != 0);
	test_assert(websession_get(st, id, &got));
	test_assert(strcmp(got.user, "a@x.org") == 0);
	test_assert(strcmp(got.role, "admin") == 0);
	test_assert(websession_csrf_ok(&got, info.csrf));
	test_assert(!websession_csrf_ok(&got, NULL));
	test_assert(!websession_csrf_ok(&got, ""));
	char wrong[WEBSESSION_ID_LEN + 1];
	memcpy(wrong, info.csrf, sizeof wrong);
	wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
	test_assert(!websession_csrf_ok(&got, wrong));
	/* a second session: another ID */
	test_assert(websession_create(st, "a@x.org", "admin", id2, &info) == 0);
	test_assert(strcmp(id, id2) != 0);
	/* IDs that are not 64 lower-case hex are never looked up */
	test_assert(!websession_get(st, "", &got));
	char up[WEBSESSION_ID_LEN + 1];
	memcpy(up, id, sizeof up);
	for (char *p = up; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	test_assert(strcmp(up, id) == 0 || !websession_get(st, up, &got));
	test_assert(!websession_id_valid("abc"));
	/* per-user logout */
	test_assert(websession_destroy_user(st, "a@x.org") == 2);
	test_assert(!websession_get(st, id, &got));
	/* full store: the oldest goes */
	char ids[4][WEBSESSION_ID_LEN + 1];
	for (int i = 0; i < 4; i++) {
		test_assert(websession_create(st, "u", "r", ids[i], &info) ==
			    0);
		if (i == 0)
			sleep(1); /* make ids[0] the least recently used */
	}
	test_assert(!websession_get(st, ids[0], &got));
	test_assert(websession_get(st, ids[3], &got));
	websession_destroy(st, ids[3]);
	test_assert(!websession_get(st, ids[3], &got));
	websession_store_free(&st);
	test_assert(st == NULL);
}

static void test_timeouts(void)
{
	test_begin("timeouts");
	/* idle 1 s */
	struct websession_store *st = websession_store_new(10, 1, 100);
	char id[WEBSESSION_ID_LEN + 1];
	struct websession_info info, got;
	test_assert(websession_create(st, "u", "r", id, &info) == 0);
	sleep(2);
	test_assert(!websession_get(st, id, &got));
	websession_store_free(&st);
	/* absolute 1 s even while in use */
	st = websession_store_new(10, 100, 1);
	test_assert(websession_create(st, "u", "r", id, &info) == 0);
	test_assert(websession_get(st, id, &got));
	sleep(2);
	test_assert(!websession_get(st, id, &got));
	websession_store_free(&st);
}

static void test_set_cookie(void)
{
	test_begin("set-cookie");
	char out[200];
	test_assert(
	    websession_set_cookie(out, sizeof out, "sid", "abc", false) == 0);
	test_assert(strcmp(out, "sid=abc; Path=/; HttpOnly; SameSite=Strict") ==
		    0);
	test_assert(
	    websession_set_cookie(out, sizeof out, "sid", "abc", true) == 0);
	test_assert(strstr(out, "; Secure") != NULL);
	test_assert(websession_set_cookie(out, sizeof out, "sid", "", false) ==
		    0);
	test_assert(strstr(out, "Max-Age=0") != NULL);
	test_assert(websession_set_cookie(out, 10, "sid", "abc", false) < 0);
	char hex[65];
	test_assert(websession_random_hex(hex, 32) == 0);
	test_assert(websession_id_valid(hex));
}

int main(void)
{
	test_cookie_table();
	test_cookie_limits();
	test_store();
	test_timeouts();
	test_set_cookie();
	return test_end();
}
