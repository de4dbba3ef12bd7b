/*
 * A program's settings from a loaded configuration by one table instead of
 * a conf_*() call per field: each row names a parameter, how its value is
 * stored, and the field (offsetof) of the caller's struct it goes to.  The
 * names are checked against the tables when the configuration is loaded,
 * like every conf_*() call (an unknown name is a programming error).
 *
 *	static const struct conf_bind binds[] = {
 *	    CONF_BIND(CONF_B_UINT, "authd_workers", struct authd_cfg, workers),
 *	    ...
 *	};
 *	conf_bind_apply(conf, binds, sizeof binds / sizeof *binds, cfg);
 */
#ifndef YOUJU_CONFBIND_H
#define YOUJU_CONFBIND_H

#include <stddef.h>

#include "conf.h"

enum conf_bind_kind {
	CONF_B_STR,    /* const char *, borrowed from the conf */
	CONF_B_STRDUP, /* char *, owned: free() */
	CONF_B_BOOL,   /* bool */
	CONF_B_UINT,   /* unsigned, from an INT or SIZE */
	CONF_B_U64,    /* uint64_t, from an INT or SIZE */
	CONF_B_SIZE,   /* size_t, from an INT or SIZE */
	CONF_B_SECS,   /* unsigned seconds, from a TIME */
	CONF_B_MS,     /* uint64_t milliseconds, from a TIME */
};

struct conf_bind {
	const char *name;
	enum conf_bind_kind kind;
	size_t off;  /* offsetof the field */
	size_t size; /* its size: checked against kind */
};

#define CONF_BIND(kind, name, type, field)                                     \
	{                                                                      \
		name, kind, offsetof(type, field), sizeof(((type *)0)->field)  \
	}

/* Stores each row's parameter into target (a struct of the row's type).
   A field whose size does not fit its kind is a programming error:
   fatal(). */
void conf_bind_apply(const struct conf *c, const struct conf_bind *binds,
		     size_t n, void *target);

#endif
