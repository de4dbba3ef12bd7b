/*
 * `youju conf`: postconf(1) for youju.cf.  Without arguments it prints every
 * parameter that some program declares, sorted, as "name = value" with the
 * value as written (unexpanded, like postconf); -x expands, -n keeps only
 * those the file sets, -d shows defaults, -h prints values alone, names
 * select parameters, and -e name=value edits the file through conf_edit()
 * (atomic rewrite, validated first).  -c dir reads dir/youju.cf instead of
 * <YOUJU_HOME>/etc/youju.cf.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "conf.h"
#include "str.h"
#include "xalloc.h"

#define CONF_CLI "youju conf"

struct conf_cli_opts {
	bool defaults; /* -d */
	bool edit;     /* -e */
	bool bare;     /* -h */
	bool only_set; /* -n */
	bool expand;   /* -x */
};

static void conf_cli_warning(void *ctx, const char *msg)
{
	fprintf(stderr, CONF_CLI ": warning: %s\n", msg);
}

static int conf_cli_usage(void)
{
	fprintf(stderr,
		"usage: youju conf [-c dir] [-d] [-h] [-n] [-x] [name ...]\n"
		"       youju conf [-c dir] -e name=value ...\n");
	return 2;
}

static int conf_cli_param_cmp(const void *a, const void *b)
{
	const struct conf_param *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* Every declared parameter once (first table wins), sorted by name. */
static const struct conf_param **conf_cli_all(size_t *n_r)
{
	size_t n = 0, cap = 0;
	for (size_t t = 0; conf_all_tables[t] != NULL; t++)
		for (const struct conf_param *p = conf_all_tables[t]->params;
		     p->name != NULL; p++)
			cap++;
	const struct conf_param **all = xcalloc(cap, sizeof all[0]);
	for (size_t t = 0; conf_all_tables[t] != NULL; t++)
		for (const struct conf_param *p = conf_all_tables[t]->params;
		     p->name != NULL; p++)
			if (conf_find_param(conf_all_tables, p->name) == p)
				all[n++] = p;
	qsort(all, n, sizeof all[0], conf_cli_param_cmp);
	*n_r = n;
	return all;
}

static void conf_cli_print(const struct conf *c, const char *name,
			   const struct conf_cli_opts *o)
{
	if (o->only_set && !conf_is_set(c, name))
		return;
	const char *v = o->expand ? conf_str(c, name) : conf_raw(c, name);
	if (o->bare)
		printf("%s\n", v);
	else if (v[0] == '\0')
		printf("%s =\n", name);
	else
		printf("%s = %s\n", name, v);
}

/* Creates dir and its parents (mode 0755) when missing. */
static int conf_cli_mkdirs(const char *dir)
{
	if (dir[0] == '\0')
		return 0;
	char *p = xstrdup(dir);
	int ret = 0;
	for (char *s = p + 1; ret == 0; s++) {
		bool end = *s == '\0';
		if (*s != '/' && !end)
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, CONF_CLI ": mkdir %s: %s\n", p,
				strerror(errno));
			ret = -1;
		}
		if (end)
			break;
		*s = '/';
	}
	free(p);
	return ret;
}

static int conf_cli_edit(const char *path, const char *dir, int argc,
			 char **argv)
{
	const char *error;

	if (argc == 0)
		return conf_cli_usage();
	/* refuse the lot before touching the file when a name is wrong */
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (eq == NULL) {
			fprintf(stderr,
				CONF_CLI ": error: expected name=value: %s\n",
				argv[i]);
			return 1;
		}
		struct str n =
		    str_trim((struct str){argv[i], (size_t)(eq - argv[i])});
		char *name = xmemdup0(n.p, n.len);
		if (conf_find_param(conf_all_tables, name) == NULL) {
			const char *near = conf_nearest(conf_all_tables, name);
			if (near != NULL)
				fprintf(stderr,
					CONF_CLI ": error: unknown parameter: "
						 "%s (did you mean %s?)\n",
					name, near);
			else
				fprintf(stderr,
					CONF_CLI ": error: unknown parameter: "
						 "%s\n",
					name);
			free(name);
			return 1;
		}
		free(name);
	}
	if (conf_cli_mkdirs(dir) < 0)
		return 1;
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		struct str n =
		    str_trim((struct str){argv[i], (size_t)(eq - argv[i])});
		char *name = xmemdup0(n.p, n.len);
		int r = conf_edit(path, name, eq + 1, &error);
		free(name);
		if (r < 0) {
			fprintf(stderr, CONF_CLI ": error: %s\n", error);
			return 1;
		}
	}
	return 0;
}

int cli_conf(int argc, char **argv)
{
	struct conf_cli_opts o = {0};
	const char *dir_opt = NULL, *error;
	int ch, status = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "+c:dehnx")) != -1) {
		switch (ch) {
		case 'c':
			dir_opt = optarg;
			break;
		case 'd':
			o.defaults = true;
			break;
		case 'e':
			o.edit = true;
			break;
		case 'h':
			o.bare = true;
			break;
		case 'n':
			o.only_set = true;
			break;
		case 'x':
			o.expand = true;
			break;
		default:
			return conf_cli_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (o.edit && (o.defaults || o.only_set || o.expand || o.bare))
		return conf_cli_usage();

	char *path, *dir;
	if (dir_opt != NULL) {
		struct buf b;
		buf_init(&b, 4096);
		if (buf_printf(&b, "%s/youju.cf", dir_opt) < 0) {
			buf_deinit(&b);
			fprintf(stderr,
				CONF_CLI ": error: -c: path too long\n");
			return 1;
		}
		path = xstrdup(buf_cstr(&b));
		buf_deinit(&b);
		dir = xstrdup(dir_opt);
	} else {
		path = conf_default_path();
		dir = xstrdup(path);
		*strrchr(dir, '/') = '\0';
	}

	if (o.edit) {
		status = conf_cli_edit(path, dir, argc, argv);
		free(path);
		free(dir);
		return status;
	}

	struct conf *c;
	if (o.defaults)
		c = conf_defaults(conf_all_tables);
	else
		c = conf_load_warn(path, conf_all_tables, conf_cli_warning,
				   NULL, &error);
	if (c == NULL) {
		fprintf(stderr, CONF_CLI ": error: %s\n", error);
		free(path);
		free(dir);
		return 1;
	}
	if (argc == 0) {
		size_t n;
		const struct conf_param **all = conf_cli_all(&n);
		for (size_t i = 0; i < n; i++)
			conf_cli_print(c, all[i]->name, &o);
		free(all);
	}
	for (int i = 0; i < argc; i++) {
		if (conf_find_param(conf_all_tables, argv[i]) != NULL) {
			conf_cli_print(c, argv[i], &o);
			continue;
		}
		const char *near = conf_nearest(conf_all_tables, argv[i]);
		if (near != NULL)
			fprintf(stderr,
				CONF_CLI ": warning: unknown parameter: %s "
					 "(did you mean %s?)\n",
				argv[i], near);
		else
			fprintf(stderr,
				CONF_CLI ": warning: unknown parameter: %s\n",
				argv[i]);
		status = 1;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, CONF_CLI ": error: writing output: %s\n",
			strerror(errno));
		status = 1;
	}
	conf_free(&c);
	free(path);
	free(dir);
	return status;
}
