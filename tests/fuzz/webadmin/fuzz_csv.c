/*
 * Fuzz target for webadmin's CSV reader (imports come from managers'
 * uploads): arbitrary bytes through csv_parse.  Checks the limits hold
 * (fields, field length, rows), that no field holds a NUL, and that
 * writing the table back with csv_put and reading it again gives the
 * same fields (the formula guard aside, which the import undoes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../webadmin/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_table t;
	char err[200];
	if (csv_parse((const char *)data, size, &t, err, sizeof err) < 0)
		return 0;
	if (t.n > CSV_ROWS_MAX)
		abort();
	struct buf out;
	buf_init(&out, 1u << 24);
	for (size_t i = 0; i < t.n; i++) {
		if (t.rows[i].n == 0 || t.rows[i].n > CSV_FIELDS_MAX)
			abort();
		for (size_t k = 0; k < t.rows[i].n; k++) {
			const char *f = t.rows[i].f[k];
			if (strlen(f) > CSV_FIELD_MAX)
				abort();
			if (csv_put(&out, f, k + 1 == t.rows[i].n) < 0)
				abort();
		}
	}
	struct csv_table t2;
	if (csv_parse(out.p != NULL ? out.p : "", out.len, &t2, err,
		      sizeof err) == 0) {
		/* rows of one empty field are skipped as empty lines */
		for (size_t i = 0, j = 0; i < t.n; i++) {
			if (t.rows[i].n == 1 && t.rows[i].f[0][0] == '\0')
				continue;
			if (j >= t2.n || t2.rows[j].n != t.rows[i].n)
				abort();
			for (size_t k = 0; k < t.rows[i].n; k++) {
				const char *a = t.rows[i].f[k];
				const char *b = t2.rows[j].f[k];
				if (b[0] == '\'' && strchr("=+-@", a[0]) &&
				    a[0] != '\0')
					b++;
				if (strcmp(a, b) != 0)
					abort();
			}
			j++;
		}
		csv_free(&t2);
	}
	/* a field the guard lengthened may pass CSV_FIELD_MAX: fine */
	buf_deinit(&out);
	csv_free(&t);
	return 0;
}
