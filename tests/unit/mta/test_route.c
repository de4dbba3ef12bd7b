/* Unit tests for mta/route (transport(5) values and the lookup order)
   and mta/dest (slow start, dead sites). */
#include <string.h>

#include "../../../mta/dest.h"
#include "../../../mta/maps.h"
#include "../../../mta/route.h"
#include "test.h"

static void test_parse(void)
{
	struct route r;
	test_begin("route_parse");
	test_assert(route_parse("smtp:[10.0.0.2]:2526", &r) == 0 &&
		    r.kind == ROUTE_SMTP &&
		    strcmp(r.nexthop, "[10.0.0.2]:2526") == 0);
	test_assert(route_parse("relay:mx.example.org", &r) == 0 &&
		    r.kind == ROUTE_SMTP &&
		    strcmp(r.nexthop, "mx.example.org") == 0);
	test_assert(route_parse("smtp:", &r) == 0 && r.kind == ROUTE_SMTP &&
		    r.nexthop[0] == '\0');
	test_assert(route_parse("smtp", &r) == 0 && r.kind == ROUTE_SMTP);
	test_assert(route_parse(":[h]", &r) == 0 && r.kind == ROUTE_SMTP &&
		    strcmp(r.nexthop, "[h]") == 0);
	test_assert(route_parse(":", &r) < 0);
	test_assert(route_parse("", &r) < 0);
	test_assert(route_parse("virtual:", &r) == 0 && r.kind == ROUTE_LOCAL);
	test_assert(route_parse("MAILDROP", &r) == 0 && r.kind == ROUTE_LOCAL);
	test_assert(route_parse("error:5.7.1 go away", &r) == 0 &&
		    r.kind == ROUTE_ERROR && strcmp(r.dsn, "5.7.1") == 0 &&
		    strcmp(r.text, "go away") == 0);
	test_assert(route_parse("error:go away", &r) == 0 &&
		    strcmp(r.dsn, "5.0.0") == 0 &&
		    strcmp(r.text, "go away") == 0);
	test_assert(route_parse("error:4.1.1 wrong class", &r) == 0 &&
		    strcmp(r.dsn, "5.0.0") == 0);
	test_assert(route_parse("retry:", &r) == 0 && r.kind == ROUTE_RETRY &&
		    r.dsn[0] == '4');
	test_assert(route_parse("discard:", &r) == 0 &&
		    r.kind == ROUTE_DISCARD &&
		    strcmp(r.text, "discarded") == 0);
	test_assert(route_parse("lmtp:unix:/x", &r) < 0);
	test_assert(route_parse("smtp:a b", &r) < 0);
	char big[ROUTE_NEXTHOP_MAX + 16];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "smtp:", 5);
	test_assert(route_parse(big, &r) < 0);
}

static void test_lookup(void)
{
	static const char table[] = "u@exact.example  error:5.1.1 that one\n"
				    "exact.example    smtp:[a]\n"
				    ".sub.example     smtp:[b]\n"
				    "bad.example      pipe:x\n";
	char err[256];
	struct route r;
	test_begin("route_lookup");
	struct map *m = map_from_text("texthash", table, sizeof(table) - 1, err,
				      sizeof(err));
	test_assert(m != NULL);
	test_assert(route_lookup(m, "u@exact.example", &r) == ROUTE_FOUND &&
		    r.kind == ROUTE_ERROR);
	test_assert(route_lookup(m, "v@EXACT.example", &r) == ROUTE_FOUND &&
		    strcmp(r.nexthop, "[a]") == 0);
	test_assert(route_lookup(m, "v@x.sub.example", &r) == ROUTE_FOUND &&
		    strcmp(r.nexthop, "[b]") == 0);
	test_assert(route_lookup(m, "v@y.x.sub.example", &r) == ROUTE_FOUND);
	test_assert(route_lookup(m, "v@sub.example", &r) == ROUTE_NONE);
	test_assert(route_lookup(m, "v@other.example", &r) == ROUTE_NONE);
	test_assert(route_lookup(m, "v@bad.example", &r) == ROUTE_TEMPFAIL);
	test_assert(route_lookup(NULL, "v@bad.example", &r) == ROUTE_NONE);
	map_free(&m);
	static const char star[] = "* smtp:[relay]:2525\n";
	m = map_from_text("texthash", star, sizeof(star) - 1, err, sizeof(err));
	test_assert(m != NULL);
	test_assert(route_lookup(m, "v@any.example", &r) == ROUTE_FOUND &&
		    strcmp(r.nexthop, "[relay]:2525") == 0);
	map_free(&m);
}

static void test_dest(void)
{
	char why[128];
	test_begin("dest slow start and dead sites");
	struct dest_cfg cfg = {2, 4, 2, 3600};
	struct dest_table *t = dest_table_new(&cfg);
	test_assert(dest_acquire(t, "[h]:25", why, sizeof(why)) == 0);
	test_assert(dest_window(t, "[H]:25") == 2);
	dest_release(t, "[h]:25", DEST_OK, NULL);
	test_assert(dest_window(t, "[h]:25") == 3);
	for (int i = 0; i < 5; i++) {
		test_assert(dest_acquire(t, "[h]:25", why, sizeof(why)) == 0);
		dest_release(t, "[h]:25", DEST_OK, NULL);
	}
	test_assert(dest_window(t, "[h]:25") == 4); /* the limit */
	test_assert(dest_acquire(t, "[h]:25", why, sizeof(why)) == 0);
	dest_release(t, "[h]:25", DEST_FAILED, "connect: refused");
	test_assert(dest_window(t, "[h]:25") == 1);
	/* one failure is below the cohort limit of 2: still alive */
	test_assert(dest_acquire(t, "[h]:25", why, sizeof(why)) == 0);
	dest_release(t, "[h]:25", DEST_FAILED, "connect: refused");
	test_assert(dest_acquire(t, "[h]:25", why, sizeof(why)) < 0);
	test_assert(strcmp(why, "connect: refused") == 0);
	/* other destinations are not affected */
	test_assert(dest_acquire(t, "example.org", why, sizeof(why)) == 0);
	dest_release(t, "example.org", DEST_NEUTRAL, NULL);
	test_assert(dest_window(t, "example.org") == 2);
	dest_table_free(&t);
	test_assert(t == NULL);
}

int main(void)
{
	test_parse();
	test_lookup();
	test_dest();
	return test_end();
}
