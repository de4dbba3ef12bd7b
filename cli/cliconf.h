/*
 * What the youju subcommands share to find their instance: the leading
 * "-c config" option and one parameter read from youju.cf.
 */
#ifndef YOUJU_CLICONF_H
#define YOUJU_CLICONF_H

/*
 * When argv[*i] is "-c" followed by a value: returns that path (owned:
 * free) and moves *i past both.  Otherwise NULL, *i unchanged.
 */
char *cliconf_option(int argc, char **argv, int *i);

struct conf;

/*
 * The configuration file at path (NULL: the instance's default), read with
 * program's parameter tables (conf_tables_for): owned (conf_free), or NULL
 * after printing "youju WHAT: error" on stderr ("youju: error" when what
 * is NULL).
 */
struct conf *cliconf_load(const char *path, const char *program,
			  const char *what);

/*
 * The value of parameter name (owned: free) in the configuration file at
 * path (NULL: the instance's default), read with program's parameter
 * tables (conf_tables_for).  NULL after printing "youju WHAT: error" on
 * stderr ("youju: error" when what is NULL).
 */
char *cliconf_str(const char *path, const char *program, const char *name,
		  const char *what);

#endif
