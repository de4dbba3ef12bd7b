/*
 * CSV (see csv.h).  One pass per row; a cell is collected in a bounded
 * buffer, so a hostile file costs at most CSV_CELLS_MAX * CSV_CELL_MAX
 * bytes per row.
 */
#include "csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void csv_row_free(struct csv_row *row)
{
	for (size_t i = 0; i < row->n; i++)
		free(row->cell[i]);
	row->n = 0;
}

int csv_next(const char **pp, const char *end, struct csv_row *row)
{
	const char *p = *pp;
	row->n = 0;
	if (p >= end)
		return 0;
	char cell[CSV_CELL_MAX + 1];
	size_t cl = 0;
	bool quoted = false, bad = false, in_quotes = false;
	for (;;) {
		if (p >= end) {
			if (in_quotes)
				bad = true;
			break;
		}
		char c = *p++;
		if (in_quotes) {
			if (c == '"') {
				if (p < end && *p == '"') {
					p++;
				} else {
					in_quotes = false;
					continue;
				}
			}
		} else if (c == '"' && cl == 0 && !quoted) {
			in_quotes = quoted = true;
			continue;
		} else if (c == ',' || c == '\n' || c == '\r') {
			if (c == '\r' && p < end && *p == '\n')
				p++;
			if (row->n >= CSV_CELLS_MAX)
				bad = true;
			if (!bad)
				row->cell[row->n++] = xmemdup0(cell, cl);
			cl = 0;
			quoted = false;
			if (c != ',')
				goto row_end;
			continue;
		}
		if (cl >= CSV_CELL_MAX)
			bad = true;
		else
			cell[cl++] = c;
	}
	/* the last cell of a text without a final line break */
	if (row->n >= CSV_CELLS_MAX)
		bad = true;
	if (!bad)
		row->cell[row->n++] = xmemdup0(cell, cl);
row_end:
	*pp = p;
	if (bad) {
		csv_row_free(row);
		return -1;
	}
	return 1;
}

int csv_put(struct buf *out, const char *v)
{
	bool q = strpbrk(v, ",\"\r\n") != NULL;
	bool formula = v[0] == '=' || v[0] == '+' || v[0] == '-' ||
		       v[0] == '@' || v[0] == '\t';
	int rc = 0;
	if (q)
		rc |= buf_append_char(out, '"');
	if (formula)
		rc |= buf_append_char(out, '\'');
	for (const char *c = v; *c; c++) {
		if (*c == '"')
			rc |= buf_append_char(out, '"');
		rc |= buf_append_char(out, *c);
	}
	if (q)
		rc |= buf_append_char(out, '"');
	return rc < 0 ? -1 : 0;
}
