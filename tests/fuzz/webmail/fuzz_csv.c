/*
 * Fuzz target for webmail's CSV reader (address book imports: files from
 * anywhere) and the preferences parser (a file in the Maildir).  Every
 * row must come back with at most CSV_CELLS_MAX NUL-terminated cells of
 * at most CSV_CELL_MAX bytes, and the reader must always advance.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../webmail/csv.h"
#include "../../../webmail/prefs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct csv_row r;
	int rc;
	while ((rc = csv_next(&p, end, &r)) != 0) {
		if (rc > 0) {
			if (r.n == 0 || r.n > CSV_CELLS_MAX)
				abort();
			for (size_t i = 0; i < r.n; i++)
				if (strlen(r.cell[i]) > CSV_CELL_MAX)
					abort();
			csv_row_free(&r);
		}
		if (p > end)
			abort();
	}
	struct wm_prefs pr;
	memset(&pr, 0, sizeof pr);
	(void)wm_prefs_parse(&pr, (const char *)data, size, false);
	(void)wm_prefs_parse(&pr, (const char *)data, size, true);
	if (strlen(pr.signature) > WM_SIGNATURE_MAX || pr.page_size > 200)
		abort();
	return 0;
}
