/*
 * Fuzz target for lib/csv (imports come from managers' uploads and from
 * users' address book files).  The strict table reader (webadmin): the
 * limits hold, no field holds a NUL, and writing the table back with
 * csv_put and reading it again gives the same fields once csv_unguard
 * has undone the formula guard where csv_put added it.  The lenient row reader
 * (webmail): every row has at most its cells of at most its bytes, and it
 * always advances.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

#define FIELDS 32
#define FIELD  1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lenient(const char *data, size_t size)
{
	struct csv_reader rd;
	csv_reader_init(&rd, data, size, CSV_CELLS_MAX, CSV_CELL_MAX, false);
	struct csv_row r;
	const char *why;
	int rc;
	while ((rc = csv_read(&rd, &r, &why)) != 0) {
		if (rc > 0) {
			if (r.n == 0 || r.n > CSV_CELLS_MAX)
				abort();
			for (size_t i = 0; i < r.n; i++)
				if (strlen(r.cell[i]) > CSV_CELL_MAX)
					abort();
			csv_row_free(&r);
		} else if (r.n != 0 || why == NULL)
			abort();
		if (rd.p > rd.end)
			abort();
	}
}

static void roundtrip(const struct csv_table *t)
{
	struct buf out;
	buf_init(&out, 1u << 24);
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->rows[i].n; k++)
			if (csv_put(&out, t->rows[i].cell[k],
				    k + 1 == t->rows[i].n) < 0)
				abort();
	struct csv_table t2;
	char err[200];
	/* a field the guard lengthened may pass FIELD: room for it */
	if (csv_parse(out.p != NULL ? out.p : "", out.len, FIELDS, FIELD + 1,
		      &t2, err, sizeof err) < 0)
		abort();
	if (t2.n != t->n)
		abort();
	for (size_t i = 0; i < t->n; i++) {
		if (t2.rows[i].n != t->rows[i].n)
			abort();
		for (size_t k = 0; k < t->rows[i].n; k++) {
			const char *a = t->rows[i].cell[k];
			const char *b = t2.rows[i].cell[k];
			if (a[0] != '\0' && strchr("=+-@\t", a[0]) != NULL)
				b = csv_unguard(b);
			if (strcmp(a, b) != 0)
				abort();
		}
	}
	csv_free(&t2);
	buf_deinit(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lenient((const char *)data, size);
	struct csv_table t;
	char err[200];
	if (csv_parse((const char *)data, size, FIELDS, FIELD, &t, err,
		      sizeof err) < 0)
		return 0;
	if (t.n > CSV_ROWS_MAX)
		abort();
	for (size_t i = 0; i < t.n; i++) {
		if (t.rows[i].n == 0 || t.rows[i].n > FIELDS)
			abort();
		for (size_t k = 0; k < t.rows[i].n; k++)
			if (strlen(t.rows[i].cell[k]) > FIELD)
				abort();
	}
	roundtrip(&t);
	csv_free(&t);
	return 0;
}
