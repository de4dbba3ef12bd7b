/*
 * Unit tests for lib/csv.  The strict table reader (webadmin's imports):
 * RFC 4180 quoting, CRLF/LF/bare CR line ends, empty input and lines,
 * BOM, the field maximum and one past it, embedded NUL, malformed quotes,
 * line numbers.  The lenient row reader (webmail's address book): quoted
 * and bare fields, a last row without a line break, an unterminated
 * quote, the cell and column maxima and one past them, an embedded NUL
 * kept.  The writer's quoting and formula guard, read back by the reader.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "csv.h"
#include "test.h"

#define CSV_FIELDS_MAX 32
#define CSV_FIELD_MAX  1024

static struct csv_table parse_ok(const char *s, size_t len)
{
	struct csv_table t;
	char err[200];
	int rc = csv_parse(s, len, CSV_FIELDS_MAX, CSV_FIELD_MAX, &t, err,
			   sizeof err);
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
	int rc = csv_parse(s, len, CSV_FIELDS_MAX, CSV_FIELD_MAX, &t, err,
			   sizeof err);
	bool ok = rc < 0 && t.n == 0 && strstr(err, want) != NULL;
	if (rc == 0)
		csv_free(&t);
	return ok;
}

static struct csv_reader lenient(const char *text, size_t len)
{
	struct csv_reader rd;
	csv_reader_init(&rd, text, len, CSV_CELLS_MAX, CSV_CELL_MAX, false);
	return rd;
}

/* All rows of text: cells joined with '|', rows with '/', "!" for a
   malformed row. */
static bool rows_are(const char *text, size_t len, const char *want)
{
	struct csv_reader rd = lenient(text, len);
	const char *why;
	struct csv_row r;
	struct buf b;
	buf_init(&b, 1u << 20);
	int rc;
	bool first = true;
	while ((rc = csv_read(&rd, &r, &why)) != 0) {
		if (!first)
			(void)!buf_append_char(&b, '/');
		first = false;
		if (rc < 0) {
			(void)!buf_append_char(&b, '!');
			continue;
		}
		for (size_t i = 0; i < r.n; i++) {
			if (i > 0)
				(void)!buf_append_char(&b, '|');
			(void)!buf_append_str(&b, r.cell[i]);
		}
		csv_row_free(&r);
	}
	bool ok = strcmp(buf_cstr(&b), want) == 0;
	if (!ok)
		fprintf(stderr, "got \"%s\", want \"%s\"\n", buf_cstr(&b),
			want);
	buf_deinit(&b);
	return ok;
}

#define ROWS(lit, want) rows_are((lit), sizeof(lit) - 1, (want))

static bool put_is(const char *v, const char *want)
{
	struct buf b;
	buf_init(&b, 1024);
	/* without the comma a field that is not the last one gets */
	bool ok = csv_put(&b, v, false) == 0 && b.len == strlen(want) + 1 &&
		  memcmp(b.p, want, b.len - 1) == 0 && b.p[b.len - 1] == ',';
	buf_deinit(&b);
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
	test_assert(t.rows[0].n == 2 && strcmp(t.rows[0].cell[0], "a") == 0);
	test_assert(strcmp(t.rows[1].cell[1], "x, \"y\"\nz") == 0);
	test_assert(t.rows[1].line == 2 && t.rows[2].line == 5);
	test_assert(t.rows[2].n == 2 && t.rows[2].cell[1][0] == '\0');
	test_assert(t.rows[3].n == 1 && strcmp(t.rows[3].cell[0], "3") == 0);
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
	test_assert(t.n == 1 && strlen(t.rows[0].cell[0]) == CSV_FIELD_MAX);
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
	test_assert(strcmp(t.rows[0].cell[2], "say \"hi\"") == 0);
	test_assert(strcmp(t.rows[0].cell[4], "'@dom.test") == 0);
	csv_free(&t);
	struct buf small;
	buf_init(&small, 4);
	test_assert(csv_put(&small, "abcdef", 1) < 0);
	buf_deinit(&small);
	buf_deinit(&b);
	test_begin("csv lenient rows");
	test_assert(ROWS("", ""));
	test_assert(ROWS("a,b,c\n", "a|b|c"));
	test_assert(ROWS("a,b,c", "a|b|c"));
	test_assert(ROWS("a,b\r\nc,d\r\n", "a|b/c|d"));
	test_assert(ROWS("a,b\rc,d", "a|b/c|d"));
	test_assert(ROWS("a\n\nb", "a//b"));
	test_assert(ROWS("\"x, y\",\"say \"\"hi\"\"\"\n", "x, y|say \"hi\""));
	test_assert(ROWS("\"two\nlines\",z\n", "two\nlines|z"));
	test_assert(ROWS(",,\n", "||"));
	test_assert(ROWS("\"open,b\nc", "!"));
	test_assert(ROWS("a\"b,c", "a\"b|c"));

	/* CSV_CELL_MAX bytes: kept; one more: the row is malformed */
	char *huge = malloc(CSV_CELL_MAX + 8);
	memset(huge, 'x', CSV_CELL_MAX);
	memcpy(huge + CSV_CELL_MAX, "\nok", 3);
	{
		struct csv_reader rd = lenient(huge, CSV_CELL_MAX + 3);
		const char *why;
		struct csv_row r;
		test_assert(csv_read(&rd, &r, &why) == 1 && r.n == 1 &&
			    strlen(r.cell[0]) == CSV_CELL_MAX);
		csv_row_free(&r);
		test_assert(csv_read(&rd, &r, &why) == 1 &&
			    strcmp(r.cell[0], "ok") == 0);
		csv_row_free(&r);
	}
	memset(huge, 'x', CSV_CELL_MAX + 1);
	memcpy(huge + CSV_CELL_MAX + 1, "\nok", 3);
	{
		struct csv_reader rd = lenient(huge, CSV_CELL_MAX + 4);
		const char *why;
		struct csv_row r;
		test_assert(csv_read(&rd, &r, &why) == -1 && r.n == 0);
		test_assert(csv_read(&rd, &r, &why) == 1 &&
			    strcmp(r.cell[0], "ok") == 0);
		csv_row_free(&r);
	}
	free(huge);
	/* CSV_CELLS_MAX columns: kept; one more: malformed */
	char cols[CSV_CELLS_MAX * 2 + 4];
	memset(cols, ',', sizeof cols);
	{
		struct csv_reader rd = lenient(cols, CSV_CELLS_MAX - 1);
		const char *why;
		struct csv_row r;
		test_assert(csv_read(&rd, &r, &why) == 1 &&
			    r.n == CSV_CELLS_MAX);
		csv_row_free(&r);
		rd = lenient(cols, CSV_CELLS_MAX);
		test_assert(csv_read(&rd, &r, &why) == -1);
	}
	/* an embedded NUL stays in the cell (callers check) */
	{
		static const char nul[] = "a\0b,c\n";
		struct csv_reader rd = lenient(nul, sizeof nul - 1);
		const char *why;
		struct csv_row r;
		test_assert(csv_read(&rd, &r, &why) == 1 && r.n == 2 &&
			    strcmp(r.cell[0], "a") == 0 &&
			    strcmp(r.cell[1], "c") == 0);
		csv_row_free(&r);
	}
	test_end();

	test_begin("csv put, one field");
	test_assert(put_is("plain", "plain"));
	test_assert(put_is("", ""));
	test_assert(put_is("a,b", "\"a,b\""));
	test_assert(put_is("say \"hi\"", "\"say \"\"hi\"\"\""));
	test_assert(put_is("two\nlines", "\"two\nlines\""));
	test_assert(put_is("=1+2", "\"'=1+2\""));
	test_assert(put_is("+1", "\"'+1\""));
	test_assert(put_is("-1", "\"'-1\""));
	test_assert(put_is("@SUM(A1)", "\"'@SUM(A1)\""));
	test_assert(put_is("\tx", "\"'\tx\""));
	test_assert(put_is("x=1", "x=1"));
	test_assert(put_is("\xef\xbb\xbfx", "\"\xef\xbb\xbfx\""));
	test_assert(strcmp(csv_unguard("'=1"), "=1") == 0);
	test_assert(strcmp(csv_unguard("'\t"), "\t") == 0);
	test_assert(strcmp(csv_unguard("'x"), "'x") == 0);
	test_assert(strcmp(csv_unguard("'"), "'") == 0);
	test_assert(strcmp(csv_unguard(""), "") == 0);
	test_assert(put_is("=HYPERLINK(\"x\",\"y\")",
			   "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""));
	return test_end();
}
