/*
 * Configuration in Postfix main.cf syntax (DESIGN §5): "name = value",
 * a line starting with white space continues the previous one, '#' comments
 * on their own lines, $name and ${name} expand (recursively, with a depth
 * limit).  Each program declares its parameters in a table of struct
 * conf_param (lib/params.c holds every program's table so that `youju conf`
 * can show them all).  A parsed configuration is immutable: on SIGHUP a
 * daemon parses a new one and swaps it in only when that succeeded.
 */
#ifndef YOUJU_CONF_H
#define YOUJU_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conf_type {
	CONF_STR,  /* any text */
	CONF_INT,  /* decimal integer in [min, max] */
	CONF_BOOL, /* yes/no (also true/false, 1/0) */
	CONF_TIME, /* Postfix time: number + optional unit s m h d w (default
		      unit in conf_param.unit, 's' if 0); seconds in [min,max]
		    */
	CONF_SIZE, /* bytes: decimal integer in [min, max] */
	CONF_LIST, /* comma/space separated words */
};

struct conf_param {
	const char *name;
	enum conf_type type;
	const char *def;  /* default value text, may contain $name */
	int64_t min, max; /* for INT, TIME, SIZE */
	char unit;	  /* for TIME: default unit when none given */
	const char *desc; /* one line for `youju conf -d` and docs */
};

/* A NULL-name terminated table with the program it belongs to. */
struct conf_table {
	const char *program; /* "common", "authd", "mta", ... */
	const struct conf_param *params;
};

struct conf; /* opaque, immutable after conf_load() */

/* Limits of the file format (DESIGN §5). */
#define CONF_LINE_MAX	  8192 /* bytes per physical line, sans newline */
#define CONF_FILE_MAX	  (1024 * 1024) /* bytes per file */
#define CONF_EXPAND_DEPTH 16		/* nested $name references */
#define CONF_VALUE_MAX	  65536		/* bytes of one value after expansion */
#define CONF_NAME_MAX	  100		/* bytes of a parameter name */

/*
 * Receives each warning (msg has no "warning: " prefix, e.g. "/path, line 7:
 * unknown parameter ...").  ctx is the pointer given to conf_load_warn().
 */
typedef void conf_warn_fn(void *ctx, const char *msg);

/*
 * Parses path against the NULL-terminated array of tables (a name may be
 * declared by several tables; the first wins).  Values are validated against
 * their types and ranges after expansion.  Unknown names produce a warning
 * (through warn_cb, or log_warning if NULL) naming the nearest known name:
 *   "warning: /path/youju.cf, line 7: unknown parameter smtpd_bnner (did you
 *    mean smtpd_banner?)"
 * A missing file counts as empty.  A bad value is an error:
 *   "/path/youju.cf, line 3: bad value for message_size_limit: 'x' (expected
 *    an integer from 0 to ...)".
 * Returns the new configuration (free with conf_free), or NULL with a
 * message in *error_r (static or owned by a thread-local buffer; valid until
 * the next conf_load call).
 */
struct conf *conf_load(const char *path, const struct conf_table *const *tables,
		       const char **error_r);
/*
 * conf_load() with the warn_cb the comment above speaks of (NULL: log_warning).
 * The tables must outlive the returned configuration.
 *
 * File format details: a line ending in CR LF loses the CR; any other control
 * byte (a bare CR, a NUL, ...) except TAB is an error naming the line, as are
 * a physical line over CONF_LINE_MAX bytes, a file over CONF_FILE_MAX bytes, a
 * line without '=', and a continuation line with nothing to continue.
 * Continuation lines are joined with one space.  $$ is a literal '$', an
 * undefined $name expands to nothing, ${name?text} expands text when name is
 * non-empty and ${name:text} when it is empty (as in Postfix).  A parameter
 * the tables do not know may still be referenced by $name; it only draws the
 * "unknown parameter" warning when nothing refers to it.  The read-only
 * parameter youju_home always holds conf_home(); setting it in the file draws
 * a warning and is ignored.
 */
struct conf *conf_load_warn(const char *path,
			    const struct conf_table *const *tables,
			    conf_warn_fn *warn_cb, void *warn_ctx,
			    const char **error_r);
/*
 * The same on len bytes of text in memory (which need not be NUL-terminated);
 * path only names the text in messages and in conf_path().
 */
struct conf *conf_parse(const char *path, const char *data, size_t len,
			const struct conf_table *const *tables,
			conf_warn_fn *warn_cb, void *warn_ctx,
			const char **error_r);
/* Builds a configuration from defaults only (no file). */
struct conf *conf_defaults(const struct conf_table *const *tables);
void conf_free(struct conf **c);

/*
 * Getters for declared parameters (asking for an undeclared name or the wrong
 * type is a programming error: ASSERT).  Strings are borrowed until
 * conf_free.  The value is the expanded one.
 */
/* conf_str() answers for every type: the expanded text. */
const char *conf_str(const struct conf *c, const char *name);
int64_t conf_int(const struct conf *c, const char *name);  /* INT, SIZE */
int64_t conf_time(const struct conf *c, const char *name); /* seconds */
bool conf_bool(const struct conf *c, const char *name);
/* LIST: the items, split on commas and white space; *n_r gets the count.
   The array and its strings are borrowed until conf_free. */
const char *const *conf_list(const struct conf *c, const char *name,
			     size_t *n_r);
/* True when the file set the parameter (for `youju conf -n`). */
bool conf_is_set(const struct conf *c, const char *name);
/* The unexpanded text as written in the file, or the default. */
const char *conf_raw(const struct conf *c, const char *name);
/* The path it was loaded from (borrowed). */
const char *conf_path(const struct conf *c);

/* Looks a parameter up in the tables: NULL if unknown. */
const struct conf_param *conf_find_param(const struct conf_table *const *tables,
					 const char *name);
/* The known name nearest (edit distance) to name, or NULL if none is close. */
const char *conf_nearest(const struct conf_table *const *tables,
			 const char *name);

/*
 * Rewrites path so that name = value (replacing an existing setting, with its
 * continuation lines, in place; else appending), keeping every other line and
 * comment.  Written to a temp file, fsync'd and renamed.  Returns 0, or -1
 * with *error_r.  Used by `youju conf -e`.
 *
 * The name must be known to conf_all_tables and not read-only; the value must
 * be one line.  The edited text is parsed as a whole before it is written, so
 * an edit that would leave an invalid file (bad value, loop) is refused.  A
 * name defined several times keeps only its first definition, rewritten.  A
 * missing file is created (mode 0644); its directory must exist.
 */
int conf_edit(const char *path, const char *name, const char *value,
	      const char **error_r);

/*
 * The instance directory: $YOUJU_HOME when set and non-empty, else the
 * compiled-in YOUJU_SRCDIR "/var" (the checkout's var/).  Borrowed, static.
 */
const char *conf_home(void);
/* <conf_home()>/etc/youju.cf; owned by the caller (free()). */
char *conf_default_path(void);

/* Every program's table (lib/params.c), NULL-terminated. */
extern const struct conf_table *const conf_all_tables[];
/* One program's tables (common + its own), NULL-terminated; NULL if unknown. */
const struct conf_table *const *conf_tables_for(const char *program);

#endif
