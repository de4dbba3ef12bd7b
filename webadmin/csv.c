/*
 * A small RFC 4180 reader and writer (see csv.h).  The reader is a state
 * machine over bytes; fields are collected in a capped buffer and copied
 * out when complete.
 */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void csv_free(struct csv_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->rows[i].n; k++)
			free(t->rows[i].f[k]);
	free(t->rows);
	t->rows = NULL;
	t->n = 0;
}

struct parser {
	struct csv_table *t;
	size_t cap;
	struct csv_row row;
	char field[CSV_FIELD_MAX + 1];
	size_t flen;
	size_t line;
	char *err;
	size_t errsz;
};

static int fail(struct parser *p, const char *what)
{
	snprintf(p->err, p->errsz, "line %zu: %s", p->line, what);
	return -1;
}

static int end_field(struct parser *p)
{
	if (p->row.n >= CSV_FIELDS_MAX)
		return fail(p, "too many fields");
	p->row.f[p->row.n++] = xmemdup0(p->field, p->flen);
	p->flen = 0;
	return 0;
}

static int end_row(struct parser *p)
{
	/* a line with one empty field is an empty line: skipped */
	if (p->row.n == 1 && p->row.f[0][0] == '\0') {
		free(p->row.f[0]);
		memset(&p->row, 0, sizeof p->row);
		return 0;
	}
	if (p->t->n >= CSV_ROWS_MAX)
		return fail(p, "too many rows");
	if (p->t->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->t->rows = xrealloc(p->t->rows, p->cap * sizeof *p->t->rows);
	}
	p->t->rows[p->t->n++] = p->row;
	memset(&p->row, 0, sizeof p->row);
	return 0;
}

/* The end of a record: its last field, then the row, numbered by the
   line it began on. */
static int end_line(struct parser *p, size_t row_line)
{
	int rc = end_field(p);
	p->row.line = row_line;
	if (rc == 0)
		rc = end_row(p);
	p->line++;
	return rc;
}

static int add(struct parser *p, char c)
{
	if (p->flen >= CSV_FIELD_MAX)
		return fail(p, "field too long");
	p->field[p->flen++] = c;
	return 0;
}

int csv_parse(const char *data, size_t len, struct csv_table *t, char *err,
	      size_t errsz)
{
	struct parser *p = xcalloc(1, sizeof *p);
	p->t = t;
	p->err = err;
	p->errsz = errsz;
	p->line = 1;
	t->rows = NULL;
	t->n = 0;
	size_t i = 0;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	enum { START, PLAIN, QUOTED, AFTER_QUOTE } st = START;
	int rc = 0;
	size_t row_line = 1;
	for (; i < len && rc == 0; i++) {
		char c = data[i];
		if (c == '\0') {
			rc = fail(p, "NUL byte");
			break;
		}
		switch (st) {
		case START:
			if (p->row.n == 0)
				row_line = p->line;
			if (c == '"') {
				st = QUOTED;
				break;
			}
			st = PLAIN;
			/* fall through */
		case PLAIN:
			if (c == ',') {
				rc = end_field(p);
				st = START;
			} else if (c == '\n' || c == '\r') {
				if (c == '\r' && i + 1 < len &&
				    data[i + 1] == '\n')
					i++;
				rc = end_line(p, row_line);
				st = START;
			} else if (c == '"')
				rc = fail(p, "quote inside an unquoted field");
			else
				rc = add(p, c);
			break;
		case QUOTED:
			if (c == '"') {
				if (i + 1 < len && data[i + 1] == '"') {
					rc = add(p, '"');
					i++;
				} else
					st = AFTER_QUOTE;
			} else {
				if (c == '\n')
					p->line++;
				rc = add(p, c);
			}
			break;
		case AFTER_QUOTE:
			if (c == ',') {
				rc = end_field(p);
				st = START;
			} else if (c == '\n' || c == '\r') {
				if (c == '\r' && i + 1 < len &&
				    data[i + 1] == '\n')
					i++;
				rc = end_line(p, row_line);
				st = START;
			} else
				rc = fail(p, "text after a closing quote");
			break;
		}
	}
	if (rc == 0 && st == QUOTED) {
		p->line = row_line; /* where the quoted field's row began */
		rc = fail(p, "unterminated quote");
	}
	if (rc == 0 && (st != START || p->row.n > 0)) {
		rc = end_field(p);
		p->row.line = row_line;
		if (rc == 0)
			rc = end_row(p);
	}
	for (size_t k = 0; k < p->row.n; k++)
		free(p->row.f[k]);
	free(p);
	if (rc < 0)
		csv_free(t);
	return rc;
}

int csv_put(struct buf *out, const char *field, int last)
{
	/* quoted also when it starts with a BOM, which a reader drops at
	   the start of a file */
	bool quote = field[0] == '=' || field[0] == '+' || field[0] == '-' ||
		     field[0] == '@' || strpbrk(field, ",\"\r\n") != NULL ||
		     strncmp(field, "\xef\xbb\xbf", 3) == 0;
	int rc = 0;
	if (quote) {
		rc |= buf_append_char(out, '"');
		if (field[0] == '=' || field[0] == '+' || field[0] == '-' ||
		    field[0] == '@')
			rc |= buf_append_char(out, '\'');
		for (const char *c = field; *c; c++) {
			if (*c == '"')
				rc |= buf_append_char(out, '"');
			rc |= buf_append_char(out, *c);
		}
		rc |= buf_append_char(out, '"');
	} else
		rc |= buf_append_str(out, field);
	rc |= last ? buf_append_str(out, "\r\n") : buf_append_char(out, ',');
	return rc != 0 ? -1 : 0;
}
