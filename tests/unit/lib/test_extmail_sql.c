/*
 * Unit tests for lib/extmail_sql: quota strings both ways (empty, zero,
 * bare bytes, S and C parts, the maximum and one past it, junk), the name
 * validators, dates, row access by column name, and that the SELECT
 * macros list the columns of the arrays in the same order.
 */
#include <string.h>

#include "extmail_sql.h"
#include "test.h"

static void test_quota(void)
{
	static const struct {
		const char *in;
		int rc;
		uint64_t bytes;
	} cases[] = {
	    {NULL, 0, 0},
	    {"", 0, 0},
	    {"0", 0, 0},
	    {"0S", 0, 0},
	    {"104857600S", 0, 104857600},
	    {"104857600", 0, 104857600},
	    {"5000S,100C", 0, 5000},
	    {"100C,5000S", 0, 5000},
	    {"100C", 0, 0},
	    {" 42S ", 0, 42},
	    {"1125899906842624S", 0, UINT64_C(1) << 50},
	    {"1125899906842625S", -1, 0},
	    {"99999999999999999999S", -1, 0},
	    {"S", -1, 0},
	    {"12X", -1, 0},
	    {"-5", -1, 0},
	    {"5S,", -1, 0},
	    {"5S,6S", -1, 0},
	    {"5,6", -1, 0},
	    {"1e9", -1, 0},
	};
	test_begin("quota");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t b = 7;
		int rc = extmail_quota_bytes(cases[i].in, &b);
		test_assert(rc == cases[i].rc);
		if (rc == 0)
			test_assert(b == cases[i].bytes);
	}
	char out[24];
	extmail_quota_format(0, out);
	test_assert(strcmp(out, "0") == 0);
	extmail_quota_format(104857600, out);
	test_assert(strcmp(out, "104857600S") == 0);
	extmail_quota_format(UINT64_MAX, out);
	test_assert(strcmp(out, "18446744073709551615S") == 0);
}

static void test_names(void)
{
	test_begin("names");
	test_assert(extmail_domain_valid("example.com"));
	test_assert(extmail_domain_valid("a-b.c0.example"));
	test_assert(!extmail_domain_valid(""));
	test_assert(!extmail_domain_valid("localhost"));
	test_assert(!extmail_domain_valid("Example.com"));
	test_assert(!extmail_domain_valid("-a.com"));
	test_assert(!extmail_domain_valid("a-.com"));
	test_assert(!extmail_domain_valid("a..com"));
	test_assert(!extmail_domain_valid(".a.com"));
	test_assert(!extmail_domain_valid("a.com."));
	test_assert(!extmail_domain_valid("a_b.com"));
	test_assert(!extmail_domain_valid("a b.com"));
	test_assert(!extmail_domain_valid("a.com\r"));
	char lab[80];
	memset(lab, 'a', 63);
	memcpy(lab + 63, ".com", 5);
	test_assert(extmail_domain_valid(lab));
	memset(lab, 'a', 64);
	memcpy(lab + 64, ".com", 5);
	test_assert(!extmail_domain_valid(lab));
	char big[300];
	for (int i = 0; i < 126; i++)
		big[2 * i] = 'a', big[2 * i + 1] = '.';
	big[252] = 'a';
	big[253] = '\0';
	test_assert(extmail_domain_valid(big)); /* 253 bytes */
	big[253] = 'a';
	big[254] = '\0';
	test_assert(!extmail_domain_valid(big));

	test_assert(extmail_local_valid("alice"));
	test_assert(extmail_local_valid("a.b+c_d-e"));
	test_assert(!extmail_local_valid(""));
	test_assert(!extmail_local_valid(".a"));
	test_assert(!extmail_local_valid("a."));
	test_assert(!extmail_local_valid("a..b"));
	test_assert(!extmail_local_valid("A"));
	test_assert(!extmail_local_valid("a@b"));
	test_assert(!extmail_local_valid("a b"));
	test_assert(!extmail_local_valid("a/b"));
	char l[70];
	memset(l, 'a', 64);
	l[64] = '\0';
	test_assert(extmail_local_valid(l));
	l[64] = 'a';
	l[65] = '\0';
	test_assert(!extmail_local_valid(l));
}

static void test_dates(void)
{
	test_begin("dates");
	test_assert(extmail_date_valid("0000-00-00"));
	test_assert(extmail_date_valid("2030-01-31"));
	test_assert(extmail_date_valid("2024-02-29"));
	test_assert(!extmail_date_valid("2023-02-29"));
	test_assert(!extmail_date_valid("2100-02-29"));
	test_assert(extmail_date_valid("2000-02-29"));
	test_assert(!extmail_date_valid("2030-13-01"));
	test_assert(!extmail_date_valid("2030-04-31"));
	test_assert(!extmail_date_valid("2030-1-01"));
	test_assert(!extmail_date_valid(""));
	test_assert(!extmail_date_valid("2030-01-01 00:00:00"));
	test_assert(!extmail_date_valid("1969-12-31"));
}

/* "a, b, c" against {"a","b","c",NULL} */
static bool same_list(const char *text, const char *const *cols)
{
	size_t i = 0;
	const char *p = text;
	for (; cols[i] != NULL; i++) {
		size_t n = strlen(cols[i]);
		if (strncmp(p, cols[i], n) != 0)
			return false;
		p += n;
		if (cols[i + 1] != NULL) {
			if (strncmp(p, ", ", 2) != 0)
				return false;
			p += 2;
		}
	}
	return *p == '\0';
}

static size_t marks(const char *m)
{
	size_t n = 0;
	for (; *m; m++)
		n += *m == '?';
	return n;
}

static void test_columns(void)
{
	test_begin("columns");
	test_assert(same_list(EXTMAIL_DOMAIN_SELECT, extmail_domain_cols));
	test_assert(same_list(EXTMAIL_MAILBOX_SELECT, extmail_mailbox_cols));
	test_assert(same_list(EXTMAIL_ALIAS_SELECT, extmail_alias_cols));
	test_assert(same_list(EXTMAIL_MANAGER_SELECT, extmail_manager_cols));
	size_t n;
	for (n = 0; extmail_domain_cols[n]; n++)
		;
	test_assert(n == 21 && marks(EXTMAIL_DOMAIN_MARKS) == n);
	for (n = 0; extmail_mailbox_cols[n]; n++)
		;
	test_assert(n == 25 && marks(EXTMAIL_MAILBOX_MARKS) == n);
	test_assert(marks(EXTMAIL_ALIAS_MARKS) == 5);
	for (n = 0; extmail_login_cols[n]; n++)
		;
	test_assert(n == EXTMAIL_LOGIN_NCOLS);
	test_assert(marks(EXTMAIL_MANAGER_MARKS) == 11);

	char *vals[5] = {"a@x", "b@x", "x", NULL, "1"};
	size_t lens[5] = {3, 3, 1, 0, 1};
	struct sqlrow row = {5, vals, lens};
	test_assert(
	    strcmp(extmail_col(extmail_alias_cols, &row, "goto"), "b@x") == 0);
	test_assert(extmail_col(extmail_alias_cols, &row, "createdate") ==
		    NULL);
	test_assert(extmail_col(extmail_alias_cols, &row, "nope") == NULL);
	row.ncols = 2;
	test_assert(extmail_col(extmail_alias_cols, &row, "active") == NULL);
}

/* both limits, and the definition authd hands out */
static void test_quota_parse(void)
{
	test_begin("quota parse");
	uint64_t b, m;
	test_assert(extmail_quota_parse("5000S,100C", &b, &m) == 0 &&
		    b == 5000 && m == 100);
	test_assert(extmail_quota_parse("100C", &b, &m) == 0 && b == 0 &&
		    m == 100);
	test_assert(extmail_quota_parse("7", &b, &m) == 0 && b == 7 && m == 0);
	test_assert(extmail_quota_parse("1C,2C", &b, &m) < 0);
	test_assert(extmail_quota_parse("7,100C", &b, &m) < 0);
	bool bad = true;
	char *d = extmail_quota_definition("  104857600\t", &bad);
	test_assert(d != NULL && strcmp(d, "104857600S") == 0 && !bad);
	free(d);
	d = extmail_quota_definition("5S,0C", &bad);
	test_assert(d != NULL && strcmp(d, "5S") == 0 && !bad);
	free(d);
	test_assert(extmail_quota_definition("0S,0C", &bad) == NULL && !bad);
	test_assert(extmail_quota_definition("5X", &bad) == NULL && bad);
}

/* youju-authd's batched user query: n flags, then the IN list */
static void test_login_batch(void)
{
	test_begin("login batch query");
	char *q =
	    extmail_login_batch_query("a, b", "mailbox", "username", "", 2);
	test_assert(q != NULL &&
		    strcmp(q, "SELECT username = ?, username = ?, a, b FROM "
			      "mailbox WHERE username IN (?, ?)") == 0);
	free(q);
	q = extmail_login_batch_query("a", "t", "login", "active = 1", 8);
	test_assert(q != NULL && marks(q) == 16);
	test_assert(q != NULL &&
		    strstr(q, "login IN (?, ?, ?, ?, ?, ?, ?, ?) AND "
			      "(active = 1)") != NULL);
	free(q);
	q = extmail_login_batch_query("a", "t", "login", "active = 1",
				      EXTMAIL_LOGIN_BATCH_MAX);
	test_assert(q != NULL && marks(q) == 2 * EXTMAIL_LOGIN_BATCH_MAX);
	test_assert(q != NULL && strstr(q, "?) AND (active = 1)") != NULL);
	free(q);
	/* out of range: one login is q_user's; more than the maximum */
	test_assert(extmail_login_batch_query("a", "t", "l", "", 1) == NULL);
	test_assert(extmail_login_batch_query("a", "t", "l", "",
					      EXTMAIL_LOGIN_BATCH_MAX + 1) ==
		    NULL);
	/* over 256 KiB of text */
	size_t big = 40000;
	char *cols = malloc(big + 1);
	memset(cols, 'c', big);
	cols[big] = '\0';
	test_assert(extmail_login_batch_query(cols, "t", cols, "", 8) == NULL);
	free(cols);
}

int main(void)
{
	test_login_batch();
	test_quota();
	test_quota_parse();
	test_names();
	test_dates();
	test_columns();
	return test_end();
}
