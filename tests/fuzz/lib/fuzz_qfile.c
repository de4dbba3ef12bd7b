/*
 * Fuzz target for the queue file reader (lib/qfile): any bytes as a
 * queue file.  A file that parses must be self-consistent: the message
 * lies inside the data, every recipient has an address, and the
 * lookups over F records and pending counts stay in bounds.  A file
 * that does not parse must still free cleanly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qfile.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy: the parser must not read past size */
	char *d = xmalloc(size + 1);
	memcpy(d, data, size);
	d[size] = '\0';
	struct qfile qf;
	const char *err = "";
	if (qfile_parse(d, size, &qf, &err) == 0) {
		if (qf.msg < d || qf.msg_off + qf.msg_len > size ||
		    qf.msg != d + qf.msg_off || qf.end_off > size ||
		    qf.nrcpt == 0 || qfile_pending(&qf) > qf.nrcpt ||
		    strlen(qf.id) != QFILE_ID_LEN)
			abort();
		for (size_t i = 0; i < qf.nrcpt; i++)
			if (qf.rcpts[i].addr == NULL ||
			    qf.rcpts[i].orcpt == NULL)
				abort();
		(void)qfile_final_done(&qf, "x@y");
	} else if (err == NULL || err[0] == '\0') {
		abort(); /* every failure names its reason */
	}
	qfile_free(&qf);
	(void)qfile_is_id((const char *)d);
	free(d);
	return 0;
}
