/*
 * Fuzz target for lib/conf: the input is a youju.cf parsed against every
 * program's table.  When it loads, every getter is exercised so that the
 * typed conversions and list splitting run on fuzzed values too; the first
 * bytes also feed the nearest-name search that warnings use.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_conf_quiet(void *ctx, const char *msg)
{
	size_t *n = ctx;
	*n += strlen(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *error = NULL;
	size_t warned = 0;
	struct conf *c =
	    conf_parse("fuzz.cf", (const char *)data, size, conf_all_tables,
		       fuzz_conf_quiet, &warned, &error);
	if (c == NULL) {
		if (error == NULL || error[0] == '\0')
			abort(); /* every failure must say why */
	} else {
		for (size_t t = 0; conf_all_tables[t] != NULL; t++) {
			const struct conf_param *p = conf_all_tables[t]->params;
			for (; p->name != NULL; p++) {
				size_t n = 0;
				if (strlen(conf_str(c, p->name)) >
				    CONF_VALUE_MAX)
					abort();
				(void)conf_raw(c, p->name);
				(void)conf_is_set(c, p->name);
				switch (p->type) {
				case CONF_INT:
				case CONF_SIZE:
					if (conf_int(c, p->name) < p->min ||
					    conf_int(c, p->name) > p->max)
						abort();
					break;
				case CONF_TIME:
					if (conf_time(c, p->name) < p->min ||
					    conf_time(c, p->name) > p->max)
						abort();
					break;
				case CONF_BOOL:
					(void)conf_bool(c, p->name);
					break;
				case CONF_LIST: {
					const char *const *it =
					    conf_list(c, p->name, &n);
					if (it[n] != NULL)
						abort();
					break;
				}
				case CONF_STR:
					break;
				}
			}
		}
		conf_free(&c);
	}
	char *name = xmemdup0(data, size < 64 ? size : 64);
	(void)conf_nearest(conf_all_tables, name);
	free(name);
	return 0;
}
