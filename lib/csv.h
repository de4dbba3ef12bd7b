/*
 * CSV for the web consoles' imports and exports (RFC 4180, as Outlook,
 * Thunderbird, Excel and ExtMail write it): fields separated by commas,
 * optionally in double quotes with "" for a quote; quoted fields may hold
 * commas and line breaks; rows end in CRLF, LF or a bare CR; a UTF-8 BOM
 * at the start is not data.  The reader takes hostile input: every cell,
 * row and table has a limit (tests/fuzz/lib/fuzz_csv.c).  webadmin reads
 * whole tables strictly (a malformed quote is an error naming the line);
 * webmail's address book reads row by row and skips what it cannot read.
 * One writer, with one formula guard, serves both.
 */
#ifndef YOUJU_CSV_H
#define YOUJU_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* cells per row and bytes per cell a reader may be given, at most */
#define CSV_CELLS_MAX 64
#define CSV_CELL_MAX  4096
/* rows of a table (csv_parse) */
#define CSV_ROWS_MAX 100000

struct csv_row {
	size_t n;		   /* cells */
	char *cell[CSV_CELLS_MAX]; /* NUL-terminated, owned by the row */
	size_t line;		   /* 1-based line where the row starts */
};

struct csv_reader {
	const char *p, *end;
	size_t line;	  /* the line p is on, 1-based */
	size_t cells_max; /* <= CSV_CELLS_MAX */
	size_t cell_max;  /* <= CSV_CELL_MAX */
	/* refuse a quote inside a bare cell, text after a closing quote
	   and NUL bytes (else they are kept as they are) */
	bool strict;
};

/* Reads len bytes of data (borrowed while reading), skipping a BOM. */
void csv_reader_init(struct csv_reader *r, const char *data, size_t len,
		     size_t cells_max, size_t cell_max, bool strict);
/*
 * Reads the next row.  Returns 1 with row filled (free with
 * csv_row_free; an empty line is one empty cell), 0 at the end, or -1
 * with a reason in *error_r (static) for a malformed row: an unterminated
 * quote, more than cells_max cells, a cell over cell_max bytes, and when
 * strict the three above.  Then row is empty and r->line is the line the
 * error is on; a lenient reader has moved past the row and may go on.
 */
int csv_read(struct csv_reader *r, struct csv_row *row, const char **error_r);
void csv_row_free(struct csv_row *row);

struct csv_table {
	struct csv_row *rows;
	size_t n;
};

/*
 * Reads all of len bytes strictly into *t, at most cells_max cells of
 * cell_max bytes a row, empty lines skipped.  Returns 0, or -1 with
 * "line N: reason" in err (errsz bytes), also for more than CSV_ROWS_MAX
 * rows.  *t is empty on error.
 */
int csv_parse(const char *data, size_t len, size_t cells_max, size_t cell_max,
	      struct csv_table *t, char *err, size_t errsz);
void csv_free(struct csv_table *t);

/*
 * Appends one field and, with last, the line end "\r\n"; else a comma.
 * The formula guard: a field starting with = + - @ or TAB gets a leading
 * ' so that a spreadsheet does not run it.  Quoted when guarded, when it
 * holds a comma, quote, CR or LF, or starts with a BOM (which a reader
 * drops at the start of a file).  Returns 0 or -1 (out full).
 */
int csv_put(struct buf *out, const char *field, bool last);
/* The field without the ' that csv_put's formula guard added (borrowed
   from v). */
const char *csv_unguard(const char *v);

#endif
