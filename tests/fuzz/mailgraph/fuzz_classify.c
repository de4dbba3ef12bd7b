/*
 * Fuzz target for youju-mailgraph's log-line classifier
 * (mailgraph/classify.c): any bytes as one line, under both syslog names;
 * a counted line must carry a valid domain (it becomes a file name).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../mailgraph/classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so ASan sees any overread */
	char *line = malloc(size > 0 ? size : 1);
	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	static const char *const names[] = {"youju", "postfix"};
	for (size_t i = 0; i < 2; i++) {
		struct mg_clock clk = {.now = 1796500000};
		struct mg_event ev;
		if (mg_classify(line, size, names[i], &clk, &ev)) {
			size_t dl = strlen(ev.domain);
			if (dl > 0 && !mg_domain_ok(ev.domain, dl))
				abort();
			if (ev.wm_status < 0 || ev.wm_status > 3)
				abort();
		}
		/* a second line with the same clock: the year logic */
		(void)mg_classify(line, size, names[i], &clk, &ev);
	}
	free(line);
	return 0;
}
