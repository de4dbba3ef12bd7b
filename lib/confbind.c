/*
 * Settings by table (see confbind.h).
 */
#include "confbind.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

void conf_bind_apply(const struct conf *c, const struct conf_bind *binds,
		     size_t n, void *target)
{
	static const size_t sizes[] = {
	    [CONF_B_STR] = sizeof(const char *),
	    [CONF_B_STRDUP] = sizeof(char *),
	    [CONF_B_BOOL] = sizeof(bool),
	    [CONF_B_UINT] = sizeof(unsigned),
	    [CONF_B_U64] = sizeof(uint64_t),
	    [CONF_B_SIZE] = sizeof(size_t),
	    [CONF_B_SECS] = sizeof(unsigned),
	    [CONF_B_MS] = sizeof(uint64_t),
	};
	for (size_t i = 0; i < n; i++) {
		const struct conf_bind *b = &binds[i];
		char *f = (char *)target + b->off;
		if (b->size != sizes[b->kind])
			fatal("conf_bind: %s: the field does not fit its kind",
			      b->name);
		switch (b->kind) {
		case CONF_B_STR: {
			const char *v = conf_str(c, b->name);
			memcpy(f, &v, sizeof v);
			break;
		}
		case CONF_B_STRDUP: {
			char *v = xstrdup(conf_str(c, b->name));
			memcpy(f, &v, sizeof v);
			break;
		}
		case CONF_B_BOOL: {
			bool v = conf_bool(c, b->name);
			memcpy(f, &v, sizeof v);
			break;
		}
		case CONF_B_UINT: {
			unsigned v = (unsigned)conf_int(c, b->name);
			memcpy(f, &v, sizeof v);
			break;
		}
		case CONF_B_U64: {
			uint64_t v = (uint64_t)conf_int(c, b->name);
			memcpy(f, &v, sizeof v);
			break;
		}
		case CONF_B_SIZE: {
			size_t v = (size_t)conf_int(c, b->name);
			memcpy(f, &v, sizeof v);
			break;
		}
		case CONF_B_SECS: {
			unsigned v = (unsigned)conf_time(c, b->name);
			memcpy(f, &v, sizeof v);
			break;
		}
		case CONF_B_MS: {
			uint64_t v = (uint64_t)conf_time(c, b->name) * 1000;
			memcpy(f, &v, sizeof v);
			break;
		}
		}
	}
}
