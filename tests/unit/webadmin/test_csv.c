/*
 * Unit tests for webadmin/csv: RFC 4180 quoting, CRLF/LF/bare CR line
 * ends, empty input and lines, BOM, the field maximum and one past it,
 * embedded NUL, malformed quotes, and the writer's quoting (formula
 * guard included) read back by the reader.
 */
#include <string.h>

#include "../../../webadmin/csv.h"
#include "test.h"

static struct csv_table parse_ok(const char *s, size_t len)
{
	struct csv_table t;
	char err[200];
	int rc = csv_parse(s, len, &t, err, sizeof err);
	test_assert(rc == 0);
	if (rc != 0)
		fprintf(stderr, "  %s\n", err);
	return t;
}

#define PARSE(lit) parse_ok((lit), sizeof(lit) - 1)

static bool parse_fails(const char *s, size_t len, const char *want)
{
	struct csv_table t;
	char err[200] = "";
	int rc = csv_parse(s, len, &t, err, sizeof err);
	bool ok = rc < 0 && t.n == 0 && strstr(err, want) != NULL;
	if (rc == 0)
		csv_free(&t);
	return ok;
}

int main(void)
{
	test_begin("csv parse");
	struct csv_table t = PARSE("");
	test_assert(t.n == 0);
	csv_free(&t);
	t = PARSE("\r\n\n\r\n");
	test_assert(t.n == 0);
	csv_free(&t);
	t = PARSE("\xef\xbb\xbf"
		  "a,b\r\n1,\"x, \"\"y\"\"\nz\"\n\n2,\r\n3");
	test_assert(t.n == 4);
	test_assert(t.rows[0].n == 2 && strcmp(t.rows[0].f[0], "a") == 0);
	test_assert(strcmp(t.rows[1].f[1], "x, \"y\"\nz") == 0);
	test_assert(t.rows[1].line == 2 && t.rows[2].line == 5);
	test_assert(t.rows[2].n == 2 && t.rows[2].f[1][0] == '\0');
	test_assert(t.rows[3].n == 1 && strcmp(t.rows[3].f[0], "3") == 0);
	csv_free(&t);
	t = PARSE("a\rb\r");
	test_assert(t.n == 2); /* bare CR ends a line */
	csv_free(&t);
	t = PARSE(",,");
	test_assert(t.n == 1 && t.rows[0].n == 3);
	csv_free(&t);

	test_begin("csv errors");
	test_assert(parse_fails("\"abc", 4, "unterminated"));
	test_assert(parse_fails("a\"b", 3, "quote inside"));
	test_assert(parse_fails("\"a\"b", 4, "after a closing quote"));
	test_assert(parse_fails("a\0b", 3, "NUL"));
	test_assert(parse_fails("x\n\"a\nb", 6, "line 2"));
	char big[CSV_FIELD_MAX + 2];
	memset(big, 'a', sizeof big);
	t = parse_ok(big, CSV_FIELD_MAX);
	test_assert(t.n == 1 && strlen(t.rows[0].f[0]) == CSV_FIELD_MAX);
	csv_free(&t);
	test_assert(parse_fails(big, CSV_FIELD_MAX + 1, "too long"));
	char many[CSV_FIELDS_MAX * 2 + 2];
	memset(many, ',', sizeof many);
	t = parse_ok(many, CSV_FIELDS_MAX - 1);
	test_assert(t.n == 1 && t.rows[0].n == CSV_FIELDS_MAX);
	csv_free(&t);
	test_assert(parse_fails(many, CSV_FIELDS_MAX, "too many fields"));

	test_begin("csv put");
	struct buf b;
	buf_init(&b, 1000);
	test_assert(csv_put(&b, "plain", 0) == 0);
	test_assert(csv_put(&b, "a,b", 0) == 0);
	test_assert(csv_put(&b, "say \"hi\"", 0) == 0);
	test_assert(csv_put(&b, "=1+1", 0) == 0);
	test_assert(csv_put(&b, "@dom.test", 0) == 0);
	test_assert(csv_put(&b, "", 1) == 0);
	test_assert(strcmp(buf_cstr(&b), "plain,\"a,b\",\"say \"\"hi\"\"\","
					 "\"'=1+1\",\"'@dom.test\",\r\n") == 0);
	t = parse_ok(b.p, b.len);
	test_assert(t.n == 1 && t.rows[0].n == 6);
	test_assert(strcmp(t.rows[0].f[2], "say \"hi\"") == 0);
	test_assert(strcmp(t.rows[0].f[4], "'@dom.test") == 0);
	csv_free(&t);
	struct buf small;
	buf_init(&small, 4);
	test_assert(csv_put(&small, "abcdef", 1) < 0);
	buf_deinit(&small);
	buf_deinit(&b);
	return test_end();
}
