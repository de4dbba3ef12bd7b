/*
 * CSV (see csv.h).  The reader is one state machine over the bytes of a
 * row; a cell is collected in a bounded buffer and copied out when
 * complete, so a hostile file costs at most cells_max * cell_max bytes
 * per row.  After a limit is passed the rest of the row is still read, so
 * that a lenient caller can go on with the next one.
 */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define BOM "\xef\xbb\xbf"

void csv_reader_init(struct csv_reader *r, const char *data, size_t len,
		     size_t cells_max, size_t cell_max, bool strict)
{
	r->p = data;
	r->end = data + len;
	if (len >= 3 && memcmp(data, BOM, 3) == 0)
		r->p += 3;
	r->line = 1;
	r->cells_max = cells_max < CSV_CELLS_MAX ? cells_max : CSV_CELLS_MAX;
	r->cell_max = cell_max < CSV_CELL_MAX ? cell_max : CSV_CELL_MAX;
	r->strict = strict;
}

void csv_row_free(struct csv_row *row)
{
	for (size_t i = 0; i < row->n; i++)
		free(row->cell[i]);
	row->n = 0;
}

/* the state of one row's reading */
struct rowread {
	struct csv_reader *r;
	struct csv_row *row;
	char cell[CSV_CELL_MAX + 1];
	size_t cl;
	const char *err; /* the first error, or NULL */
	size_t err_line;
};

static void fail(struct rowread *s, const char *what)
{
	if (s->err == NULL) {
		s->err = what;
		s->err_line = s->r->line;
	}
}

static void add(struct rowread *s, char c)
{
	if (s->cl >= s->r->cell_max)
		fail(s, "field too long");
	else
		s->cell[s->cl++] = c;
}

static void end_cell(struct rowread *s)
{
	if (s->row->n >= s->r->cells_max)
		fail(s, "too many fields");
	else if (s->err == NULL)
		s->row->cell[s->row->n++] = xmemdup0(s->cell, s->cl);
	s->cl = 0;
}

int csv_read(struct csv_reader *r, struct csv_row *row, const char **error_r)
{
	row->n = 0;
	row->line = r->line;
	if (r->p >= r->end)
		return 0;
	struct rowread *s = xmalloc(sizeof *s);
	s->r = r;
	s->row = row;
	s->cl = 0;
	s->err = NULL;
	s->err_line = 0;
	enum { START, BARE, QUOTED, AFTER_QUOTE } st = START;
	const char *p = r->p;
	for (;;) {
		if (p >= r->end) {
			if (st == QUOTED) {
				/* named by the line where its row began */
				r->line = row->line;
				fail(s, "unterminated quote");
			} else
				end_cell(s);
			break;
		}
		char c = *p++;
		if (c == '\0' && r->strict) {
			fail(s, "NUL byte");
			break;
		}
		if (st != QUOTED && (c == ',' || c == '\n' || c == '\r')) {
			end_cell(s);
			st = START;
			if (c == ',')
				continue;
			if (c == '\r' && p < r->end && *p == '\n')
				p++;
			r->line++;
			break;
		}
		switch (st) {
		case START:
			if (c == '"') {
				st = QUOTED;
				break;
			}
			st = BARE;
			add(s, c);
			break;
		case BARE:
			if (c == '"' && r->strict)
				fail(s, "quote inside an unquoted field");
			add(s, c);
			break;
		case QUOTED:
			if (c == '"' && p < r->end && *p == '"') {
				p++;
				add(s, '"');
			} else if (c == '"')
				st = AFTER_QUOTE;
			else {
				if (c == '\n')
					r->line++;
				add(s, c);
			}
			break;
		case AFTER_QUOTE:
			if (r->strict)
				fail(s, "text after a closing quote");
			add(s, c);
			break;
		}
		if (s->err != NULL && r->strict)
			break;
	}
	r->p = p;
	int rc = 1;
	if (s->err != NULL) {
		csv_row_free(row);
		row->line = s->err_line;
		*error_r = s->err;
		rc = -1;
	}
	free(s);
	return rc;
}

void csv_free(struct csv_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		csv_row_free(&t->rows[i]);
	free(t->rows);
	t->rows = NULL;
	t->n = 0;
}

int csv_parse(const char *data, size_t len, size_t cells_max, size_t cell_max,
	      struct csv_table *t, char *err, size_t errsz)
{
	t->rows = NULL;
	t->n = 0;
	struct csv_reader r;
	csv_reader_init(&r, data, len, cells_max, cell_max, true);
	size_t cap = 0;
	struct csv_row row;
	const char *why = NULL;
	int rc;
	while ((rc = csv_read(&r, &row, &why)) > 0) {
		/* a line with one empty field is an empty line: skipped */
		if (row.n == 1 && row.cell[0][0] == '\0') {
			csv_row_free(&row);
			continue;
		}
		if (t->n >= CSV_ROWS_MAX) {
			csv_row_free(&row);
			why = "too many rows";
			rc = -1;
			break;
		}
		if (t->n == cap) {
			cap = cap ? cap * 2 : 64;
			t->rows = xrealloc(t->rows, cap * sizeof *t->rows);
		}
		t->rows[t->n++] = row;
	}
	if (rc == 0)
		return 0;
	snprintf(err, errsz, "line %zu: %s", row.line, why);
	csv_free(t);
	return -1;
}

static bool is_formula(const char *v)
{
	return v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' ||
	       v[0] == '\t';
}

int csv_put(struct buf *out, const char *field, bool last)
{
	bool guard = is_formula(field);
	bool quote = guard || strpbrk(field, ",\"\r\n") != NULL ||
		     strncmp(field, BOM, 3) == 0;
	int rc = 0;
	if (quote)
		rc |= buf_append_char(out, '"');
	if (guard)
		rc |= buf_append_char(out, '\'');
	for (const char *c = field; *c; c++) {
		if (*c == '"')
			rc |= buf_append_char(out, '"');
		rc |= buf_append_char(out, *c);
	}
	if (quote)
		rc |= buf_append_char(out, '"');
	rc |= last ? buf_append_str(out, "\r\n") : buf_append_char(out, ',');
	return rc != 0 ? -1 : 0;
}

const char *csv_unguard(const char *v)
{
	return v[0] == '\'' && is_formula(v + 1) ? v + 1 : v;
}
