/*
 * Unit tests for webmail/csv: quoted and bare fields, "" inside quotes,
 * commas and line breaks inside quotes, CRLF and bare CR or LF row ends,
 * a last row without a line break, empty input, an unterminated quote,
 * the cell and column maxima and one past them, an embedded NUL, and the
 * writer's quoting and formula defusing.
 */
#include <stdlib.h>
#include <string.h>

#include "../../../webmail/csv.h"
#include "buf.h"
#include "test.h"

/* All rows of text: cells joined with '|', rows with '/', "!" for a
   malformed row. */
static bool rows_are(const char *text, size_t len, const char *want)
{
	const char *p = text, *end = text + len;
	struct csv_row r;
	struct buf b;
	buf_init(&b, 1u << 20);
	int rc;
	bool first = true;
	while ((rc = csv_next(&p, end, &r)) != 0) {
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
	bool ok = csv_put(&b, v) == 0 && strcmp(buf_cstr(&b), want) == 0;
	buf_deinit(&b);
	return ok;
}

int main(void)
{
	test_begin("csv read");
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
	char *big = malloc(CSV_CELL_MAX + 8);
	memset(big, 'x', CSV_CELL_MAX);
	memcpy(big + CSV_CELL_MAX, "\nok", 3);
	{
		const char *p = big, *end = big + CSV_CELL_MAX + 3;
		struct csv_row r;
		test_assert(csv_next(&p, end, &r) == 1 && r.n == 1 &&
			    strlen(r.cell[0]) == CSV_CELL_MAX);
		csv_row_free(&r);
		test_assert(csv_next(&p, end, &r) == 1 &&
			    strcmp(r.cell[0], "ok") == 0);
		csv_row_free(&r);
	}
	memset(big, 'x', CSV_CELL_MAX + 1);
	memcpy(big + CSV_CELL_MAX + 1, "\nok", 3);
	{
		const char *p = big, *end = big + CSV_CELL_MAX + 4;
		struct csv_row r;
		test_assert(csv_next(&p, end, &r) == -1 && r.n == 0);
		test_assert(csv_next(&p, end, &r) == 1 &&
			    strcmp(r.cell[0], "ok") == 0);
		csv_row_free(&r);
	}
	free(big);
	/* CSV_CELLS_MAX columns: kept; one more: malformed */
	char cols[CSV_CELLS_MAX * 2 + 4];
	memset(cols, ',', sizeof cols);
	{
		const char *p = cols, *end = cols + CSV_CELLS_MAX - 1;
		struct csv_row r;
		test_assert(csv_next(&p, end, &r) == 1 && r.n == CSV_CELLS_MAX);
		csv_row_free(&r);
		p = cols;
		end = cols + CSV_CELLS_MAX;
		test_assert(csv_next(&p, end, &r) == -1);
	}
	/* an embedded NUL stays in the cell (callers check) */
	{
		static const char nul[] = "a\0b,c\n";
		const char *p = nul, *end = nul + sizeof nul - 1;
		struct csv_row r;
		test_assert(csv_next(&p, end, &r) == 1 && r.n == 2 &&
			    strcmp(r.cell[0], "a") == 0 &&
			    strcmp(r.cell[1], "c") == 0);
		csv_row_free(&r);
	}
	test_end();

	test_begin("csv write");
	test_assert(put_is("plain", "plain"));
	test_assert(put_is("", ""));
	test_assert(put_is("a,b", "\"a,b\""));
	test_assert(put_is("say \"hi\"", "\"say \"\"hi\"\"\""));
	test_assert(put_is("two\nlines", "\"two\nlines\""));
	test_assert(put_is("=1+2", "'=1+2"));
	test_assert(put_is("+1", "'+1"));
	test_assert(put_is("-1", "'-1"));
	test_assert(put_is("@SUM(A1)", "'@SUM(A1)"));
	test_assert(put_is("=HYPERLINK(\"x\",\"y\")",
			   "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""));
	return test_end();
}
