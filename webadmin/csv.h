/*
 * CSV for webadmin's import and export (RFC 4180: comma-separated fields,
 * double quotes around fields holding commas, quotes or line breaks, "" for
 * a quote inside; CRLF or LF line ends).  The parser takes hostile input:
 * every field, row and table has a limit, and a malformed quote is an
 * error naming the line (tests/fuzz/webadmin/fuzz_csv.c).
 */
#ifndef YOUJU_WA_CSV_H
#define YOUJU_WA_CSV_H

#include <stddef.h>

#include "buf.h"

#define CSV_FIELD_MAX  1024
#define CSV_FIELDS_MAX 32
#define CSV_ROWS_MAX   100000

struct csv_row {
	char *f[CSV_FIELDS_MAX]; /* owned, NUL-terminated */
	size_t n;
	size_t line; /* 1-based line where the row starts */
};

struct csv_table {
	struct csv_row *rows;
	size_t n;
};

/*
 * Parses len bytes into *t (empty lines skipped; a UTF-8 BOM at the start
 * ignored).  Returns 0, or -1 with a message in err (errsz bytes): a field
 * over CSV_FIELD_MAX, a row over CSV_FIELDS_MAX fields, more than
 * CSV_ROWS_MAX rows, an unterminated quote, a quote inside an unquoted
 * field, text after a closing quote, a NUL byte.  *t is empty on error.
 */
int csv_parse(const char *data, size_t len, struct csv_table *t, char *err,
	      size_t errsz);
void csv_free(struct csv_table *t);

/* Appends one field (quoted when needed) and, with last, the line end
   "\r\n"; else a comma.  Fields starting with = + - @ get a leading ' so
   that spreadsheets do not run them as formulas.  -1 when out is full. */
int csv_put(struct buf *out, const char *field, int last);

#endif
