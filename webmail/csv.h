/*
 * A CSV reader for address book imports (RFC 4180, as Outlook, Thunderbird
 * and ExtMail write it): fields separated by commas, optionally in double
 * quotes with "" for a quote; quoted fields may hold commas and line
 * breaks; rows end in LF or CRLF.  Also the writer's quoting.
 */
#ifndef YOUJU_WEBMAIL_CSV_H
#define YOUJU_WEBMAIL_CSV_H

#include <stddef.h>

#include "buf.h"

/* cells per row and bytes per cell kept, at most */
#define CSV_CELLS_MAX 64
#define CSV_CELL_MAX  4096

struct csv_row {
	size_t n;		   /* cells */
	char *cell[CSV_CELLS_MAX]; /* NUL-terminated, owned by the row */
};

/*
 * Reads the next row from *p (advanced; end is one past the text).
 * Returns 1 with row filled (free with csv_row_free), 0 at the end, or -1
 * for a malformed row (an unterminated quote, more than CSV_CELLS_MAX
 * cells or a cell over CSV_CELL_MAX bytes: *p moves past it, the row is
 * empty).  A NUL byte is kept as it is; callers check cells.
 */
int csv_next(const char **p, const char *end, struct csv_row *row);
void csv_row_free(struct csv_row *row);

/*
 * Appends v as one CSV field to out: quoted when it holds a comma, quote,
 * CR or LF; a field starting with = + - @ or TAB gets a leading ' so that
 * a spreadsheet does not run it as a formula.  Returns 0 or -1 (full).
 */
int csv_put(struct buf *out, const char *v);

#endif
