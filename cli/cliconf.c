/*
 * The "-c config" option and one parameter from youju.cf (cliconf.h).
 */
#include "cliconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "xalloc.h"

char *cliconf_option(int argc, char **argv, int *i)
{
	if (*i + 1 < argc && strcmp(argv[*i], "-c") == 0) {
		char *path = xstrdup(argv[*i + 1]);
		*i += 2;
		return path;
	}
	return NULL;
}

struct conf *cliconf_load(const char *path, const char *program,
			  const char *what)
{
	char *def = path == NULL ? conf_default_path() : NULL;
	const char *err = NULL;
	struct conf *c = conf_load(path != NULL ? path : def,
				   conf_tables_for(program), &err);
	free(def);
	if (c == NULL)
		fprintf(stderr, "youju%s%s: %s\n", what != NULL ? " " : "",
			what != NULL ? what : "",
			err != NULL ? err : "bad config");
	return c;
}

char *cliconf_str(const char *path, const char *program, const char *name,
		  const char *what)
{
	struct conf *c = cliconf_load(path, program, what);
	if (c == NULL)
		return NULL;
	char *v = xstrdup(conf_str(c, name));
	conf_free(&c);
	return v;
}
