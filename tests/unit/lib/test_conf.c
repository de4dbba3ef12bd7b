/*
 * Tests for lib/conf (main.cf syntax, expansion, types, limits, conf_edit)
 * and the tables of lib/params.c.
 */
#include "conf.h"
#include "test.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct conf_param t_params[] = {
    {"t_str", CONF_STR, "hello", 0, 0, 0, "a string"},
    {"t_ref", CONF_STR, "$t_str world", 0, 0, 0, "refers to t_str"},
    {"t_int", CONF_INT, "5", -10, 100, 0, "an int"},
    {"t_size", CONF_SIZE, "0", 0, 1000, 0, "a size"},
    {"t_time", CONF_TIME, "1h", 0, 7200, 's', "a time"},
    {"t_time_m", CONF_TIME, "2", 0, 86400, 'm', "minutes by default"},
    {"t_bool", CONF_BOOL, "no", 0, 0, 0, "a bool"},
    {"t_list", CONF_LIST, "a, b  c,,d", 0, 0, 0, "a list"},
    {"t_banner", CONF_STR, "", 0, 0, 0, "for typos"},
    {"t_a", CONF_STR, "", 0, 0, 0, ""},
    {"t_b", CONF_STR, "", 0, 0, 0, ""},
    {NULL, CONF_STR, NULL, 0, 0, 0, NULL},
};
static const struct conf_table t_table = {"test", t_params};
static const struct conf_table *t_tables[] = {&t_table, NULL};

static char warnings[8192];
static int n_warnings;

static void collect(void *ctx, const char *msg)
{
	size_t len = strlen(warnings);
	n_warnings++;
	snprintf(warnings + len, sizeof warnings - len, "%s\n", msg);
}

static struct conf *parse_n(const char *text, size_t len, const char **err)
{
	warnings[0] = '\0';
	n_warnings = 0;
	*err = NULL;
	return conf_parse("test.cf", text, len, t_tables, collect, NULL, err);
}

static struct conf *parse(const char *text, const char **err)
{
	return parse_n(text, strlen(text), err);
}

/* Parses one "name = value" line; returns whether it loaded. */
static bool loads(const char *text)
{
	const char *err;
	struct conf *c = parse(text, &err);
	bool ok = c != NULL;
	conf_free(&c);
	return ok;
}

static char tmpdir[] = "/tmp/test_conf.XXXXXX";

static void path_in(char *out, size_t n, const char *name)
{
	int r = snprintf(out, n, "%s/%s", tmpdir, name);
	if (r < 0 || (size_t)r >= n)
		abort();
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		abort();
}

/* Reads a file into a static buffer. */
static const char *read_file(const char *path)
{
	static char data[65536];
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t n = fread(data, 1, sizeof data - 1, f);
	fclose(f);
	data[n] = '\0';
	return data;
}

static void test_syntax(void)
{
	const char *err;
	struct conf *c;

	test_begin("syntax");
	c = parse("# a comment\n"
		  "\n"
		  "t_str = first\n"
		  "t_list = one,\n"
		  "   two\n"
		  "  # a comment between continuation lines\n"
		  "\n"
		  "\tthree\n"
		  "t_int=7\n"
		  "t_bool   =   yes   \n"
		  "t_str = second\n"
		  "   # indented comment\n",
		  &err);
	test_assert(c != NULL);
	if (c == NULL)
		return;
	test_assert(strcmp(conf_str(c, "t_str"), "second") == 0);
	test_assert(strcmp(conf_raw(c, "t_list"), "one, two three") == 0);
	size_t n;
	const char *const *items = conf_list(c, "t_list", &n);
	test_assert(n == 3 && strcmp(items[0], "one") == 0 &&
		    strcmp(items[1], "two") == 0 &&
		    strcmp(items[2], "three") == 0 && items[3] == NULL);
	test_assert(conf_int(c, "t_int") == 7);
	test_assert(conf_bool(c, "t_bool") == true);
	test_assert(conf_is_set(c, "t_int"));
	test_assert(!conf_is_set(c, "t_size"));
	test_assert(strcmp(conf_raw(c, "t_size"), "0") == 0);
	test_assert(strcmp(conf_path(c), "test.cf") == 0);
	test_assert(n_warnings == 0);
	conf_free(&c);
	test_assert(c == NULL);
	conf_free(&c); /* idempotent */

	/* empty text and empty value */
	c = parse("", &err);
	test_assert(c != NULL && strcmp(conf_str(c, "t_str"), "hello") == 0);
	conf_free(&c);
	c = parse("t_str =\n", &err);
	test_assert(c != NULL && strcmp(conf_str(c, "t_str"), "") == 0 &&
		    conf_is_set(c, "t_str"));
	conf_free(&c);
	/* no newline at the end */
	c = parse("t_str = x", &err);
	test_assert(c != NULL && strcmp(conf_str(c, "t_str"), "x") == 0);
	conf_free(&c);

	/* syntax errors name the line */
	c = parse("t_str = a\n\n  continued\nbogus line\n", &err);
	test_assert(c == NULL && err != NULL &&
		    strstr(err, "test.cf, line 4") != NULL);
	c = parse("   leading = x\n", &err);
	test_assert(c == NULL && strstr(err, "line 1") != NULL &&
		    strstr(err, "continu") != NULL);
	c = parse("= x\n", &err);
	test_assert(c == NULL);
	c = parse("t-str = x\n", &err);
	test_assert(c == NULL);
}

static void test_bytes(void)
{
	const char *err;
	struct conf *c;

	test_begin("bytes");
	/* CR LF endings are accepted */
	c = parse("t_str = crlf\r\nt_int = 9\r\n", &err);
	test_assert(c != NULL && strcmp(conf_str(c, "t_str"), "crlf") == 0 &&
		    conf_int(c, "t_int") == 9);
	conf_free(&c);
	/* a bare CR is an error naming the line */
	c = parse("t_str = ok\nt_int = 1\r2\n", &err);
	test_assert(c == NULL && strstr(err, "line 2") != NULL &&
		    strstr(err, "0x0d") != NULL);
	c = parse("t_str = a\rt_int = 2\n", &err);
	test_assert(c == NULL);
	/* an embedded NUL is an error naming the line */
	static const char nul[] = "t_str = ok\n# comment\nt_str = a\0b\n";
	c = parse_n(nul, sizeof nul - 1, &err);
	test_assert(c == NULL && strstr(err, "line 3") != NULL &&
		    strstr(err, "0x00") != NULL);
	/* ... even inside a comment */
	static const char nul2[] = "# \0\n";
	c = parse_n(nul2, sizeof nul2 - 1, &err);
	test_assert(c == NULL);
	/* other control characters too; TAB and UTF-8 are fine */
	test_assert(!loads("t_str = a\x01\n"));
	test_assert(!loads("t_str = a\x7f\n"));
	test_assert(loads("t_str = caf\xc3\xa9\tx\n"));

	/* line length: CONF_LINE_MAX bytes pass, one more fails */
	char *line = malloc(CONF_LINE_MAX + 16);
	memcpy(line, "t_str = ", 8);
	memset(line + 8, 'x', CONF_LINE_MAX - 8);
	line[CONF_LINE_MAX] = '\n';
	c = parse_n(line, CONF_LINE_MAX + 1, &err);
	test_assert(c != NULL &&
		    strlen(conf_str(c, "t_str")) == CONF_LINE_MAX - 8);
	conf_free(&c);
	/* the CR of CR LF does not count */
	line[CONF_LINE_MAX] = '\r';
	line[CONF_LINE_MAX + 1] = '\n';
	c = parse_n(line, CONF_LINE_MAX + 2, &err);
	test_assert(c != NULL);
	conf_free(&c);
	line[CONF_LINE_MAX] = 'x';
	line[CONF_LINE_MAX + 1] = '\n';
	c = parse_n(line, CONF_LINE_MAX + 2, &err);
	test_assert(c == NULL && strstr(err, "line 1") != NULL &&
		    strstr(err, "longer") != NULL);
	free(line);

	/* file size: CONF_FILE_MAX bytes pass, one more fails */
	char *big = malloc(CONF_FILE_MAX + 1);
	memset(big, '\n', CONF_FILE_MAX + 1);
	memcpy(big, "t_int = 3\n", 10);
	c = parse_n(big, CONF_FILE_MAX, &err);
	test_assert(c != NULL && conf_int(c, "t_int") == 3);
	conf_free(&c);
	c = parse_n(big, CONF_FILE_MAX + 1, &err);
	test_assert(c == NULL && strstr(err, "larger") != NULL);
	char path[512];
	path_in(path, sizeof path, "big.cf");
	write_file(path, big, CONF_FILE_MAX);
	c = conf_load(path, t_tables, &err);
	test_assert(c != NULL);
	conf_free(&c);
	write_file(path, big, CONF_FILE_MAX + 1);
	c = conf_load(path, t_tables, &err);
	test_assert(c == NULL && strstr(err, path) != NULL);
	free(big);
}

static void test_expand(void)
{
	const char *err;
	struct conf *c;

	test_begin("expand");
	c = parse("t_str = base\n", &err);
	test_assert(c != NULL &&
		    strcmp(conf_str(c, "t_ref"), "base world") == 0 &&
		    strcmp(conf_raw(c, "t_ref"), "$t_str world") == 0);
	conf_free(&c);

	c = parse("t_str = S\n"
		  "t_a = [${t_str}] [$(t_str)] [$t_str.x] [$$t_str] [$$$t_str]"
		  " [$undefined] [${undefined}] [$] [$ x] [cost: 5$]\n"
		  "t_b = ${t_str?yes}/${t_str:no}/${nothing?yes}/"
		  "${nothing:no $t_str}\n",
		  &err);
	test_assert(c != NULL);
	if (c != NULL) {
		test_assert(strcmp(conf_str(c, "t_a"),
				   "[S] [S] [S.x] [$t_str] [$S] [] [] [$] "
				   "[$ x] [cost: 5$]") == 0);
		test_assert(strcmp(conf_str(c, "t_b"), "yes///no S") == 0);
	}
	conf_free(&c);

	/* typed values after expansion */
	c = parse("t_a = 42\nt_int = $t_a\nt_list = $t_a, ${t_a}x\n", &err);
	test_assert(c != NULL && conf_int(c, "t_int") == 42);
	if (c != NULL) {
		size_t n;
		const char *const *it = conf_list(c, "t_list", &n);
		test_assert(n == 2 && strcmp(it[1], "42x") == 0);
	}
	conf_free(&c);
	c = parse("t_a = abc\nt_int = $t_a\n", &err);
	test_assert(c == NULL && strstr(err, "t_int") != NULL &&
		    strstr(err, "line 2") != NULL &&
		    strstr(err, "'abc'") != NULL);

	/* user-defined names may be referenced */
	c = parse("my_base = /srv\nt_str = $my_base/mail\n", &err);
	test_assert(c != NULL &&
		    strcmp(conf_str(c, "t_str"), "/srv/mail") == 0);
	test_assert(n_warnings == 0);
	conf_free(&c);

	/* loops are errors naming the parameter */
	c = parse("t_a = x$t_b\nt_b = y$t_a\n", &err);
	test_assert(c == NULL && strstr(err, "loop") != NULL &&
		    strstr(err, "t_a") != NULL);
	c = parse("t_str = $t_str\n", &err);
	test_assert(c == NULL && strstr(err, "loop") != NULL &&
		    strstr(err, "t_str") != NULL &&
		    strstr(err, "line 1") != NULL);
	c = parse("t_str = ${u1}\nu1 = $u2\nu2 = ${t_str}\n", &err);
	test_assert(c == NULL && strstr(err, "loop") != NULL);

	/* a chain of CONF_EXPAND_DEPTH references passes, one more fails */
	char text[4096];
	size_t len = 0;
	len += (size_t)snprintf(text + len, sizeof text - len, "t_a = $u1\n");
	for (int i = 1; i < CONF_EXPAND_DEPTH; i++)
		len += (size_t)snprintf(text + len, sizeof text - len,
					"u%d = $u%d\n", i, i + 1);
	len += (size_t)snprintf(text + len, sizeof text - len, "u%d = end\n",
				CONF_EXPAND_DEPTH);
	c = parse(text, &err);
	test_assert(c != NULL && strcmp(conf_str(c, "t_a"), "end") == 0);
	conf_free(&c);
	len = 0;
	len += (size_t)snprintf(text + len, sizeof text - len, "t_a = $u1\n");
	for (int i = 1; i <= CONF_EXPAND_DEPTH; i++)
		len += (size_t)snprintf(text + len, sizeof text - len,
					"u%d = $u%d\n", i, i + 1);
	len += (size_t)snprintf(text + len, sizeof text - len, "u%d = end\n",
				CONF_EXPAND_DEPTH + 1);
	c = parse(text, &err);
	test_assert(c == NULL && strstr(err, "t_a") != NULL &&
		    strstr(err, "line 1") != NULL &&
		    strstr(err, "deeper") != NULL);

	/* malformed references */
	test_assert(!loads("t_str = ${t_a\n"));
	test_assert(!loads("t_str = ${}\n"));
	test_assert(!loads("t_str = ${t_a!x}\n"));

	/* exponential growth stops at CONF_VALUE_MAX */
	c = parse("u0 = xxxxxxxxxxxxxxxx\n"
		  "u1 = $u0$u0$u0$u0$u0$u0$u0$u0\n"
		  "u2 = $u1$u1$u1$u1$u1$u1$u1$u1\n"
		  "u3 = $u2$u2$u2$u2$u2$u2$u2$u2\n"
		  "u4 = $u3$u3$u3$u3$u3$u3$u3$u3\n"
		  "u5 = $u4$u4$u4$u4$u4$u4$u4$u4\n"
		  "t_a = $u5\n",
		  &err);
	test_assert(c == NULL && strstr(err, "t_a") != NULL &&
		    strstr(err, "longer") != NULL);
	/* 8^4 * 16 = 65536 is exactly the maximum */
	c = parse("u0 = xxxxxxxxxxxxxxxx\n"
		  "u1 = $u0$u0$u0$u0$u0$u0$u0$u0\n"
		  "u2 = $u1$u1$u1$u1$u1$u1$u1$u1\n"
		  "u3 = $u2$u2$u2$u2$u2$u2$u2$u2\n"
		  "t_a = $u3$u3$u3$u3$u3$u3$u3$u3\n",
		  &err);
	test_assert(c != NULL && strlen(conf_str(c, "t_a")) == CONF_VALUE_MAX);
	conf_free(&c);
}

static void test_unknown(void)
{
	const char *err;
	struct conf *c;

	test_begin("unknown");
	c = parse("t_str = a\nt_bnner = x\nzzzzzzzzzzzz = 1\n", &err);
	test_assert(c != NULL);
	conf_free(&c);
	test_assert(n_warnings == 2);
	test_assert(strstr(warnings,
			   "test.cf, line 2: unknown parameter "
			   "t_bnner (did you mean t_banner?)") != NULL);
	test_assert(strstr(warnings, "line 3: unknown parameter "
				     "zzzzzzzzzzzz\n") != NULL);

	test_assert(strcmp(conf_nearest(t_tables, "t_baner"), "t_banner") == 0);
	test_assert(conf_nearest(t_tables, "completely_else") == NULL);
	test_assert(conf_nearest(t_tables, "") == NULL);
	test_assert(conf_nearest(conf_all_tables, "smtpd_bnner") != NULL &&
		    strcmp(conf_nearest(conf_all_tables, "smtpd_bnner"),
			   "smtpd_banner") == 0);
	test_assert(conf_find_param(t_tables, "t_int") == &t_params[2]);
	test_assert(conf_find_param(t_tables, "nope") == NULL);

	/* a flood of unknown names is summed up */
	char text[8192];
	size_t len = 0;
	for (int i = 0; i < 200; i++)
		len += (size_t)snprintf(text + len, sizeof text - len,
					"x%d = 1\n", i);
	c = parse(text, &err);
	test_assert(c != NULL && n_warnings <= 52 &&
		    strstr(warnings, "200 unknown") != NULL);
	conf_free(&c);
}

static void test_types(void)
{
	const char *err;
	struct conf *c;

	test_begin("types");
	static const struct {
		const char *text;
		bool ok;
	} cases[] = {
	    /* INT in [-10, 100] */
	    {"t_int = 100", true},
	    {"t_int = 101", false},
	    {"t_int = -10", true},
	    {"t_int = -11", false},
	    {"t_int = 0", true},
	    {"t_int = -0", false},
	    {"t_int = +5", false},
	    {"t_int = 5x", false},
	    {"t_int =", false},
	    {"t_int = 99999999999999999999999", false},
	    /* SIZE in [0, 1000] */
	    {"t_size = 1000", true},
	    {"t_size = 1001", false},
	    {"t_size = 0", true},
	    {"t_size = -1", false},
	    {"t_size = 1k", false},
	    /* TIME in [0, 7200] seconds */
	    {"t_time = 7200", true},
	    {"t_time = 7201", false},
	    {"t_time = 7200s", true},
	    {"t_time = 120m", true},
	    {"t_time = 121m", false},
	    {"t_time = 2h", true},
	    {"t_time = 3h", false},
	    {"t_time = 1d", false},
	    {"t_time = 0w", true},
	    {"t_time = 1x", false},
	    {"t_time = 1H", false},
	    {"t_time = s", false},
	    {"t_time = ", false},
	    {"t_time = -1", false},
	    {"t_time = 1 h", false},
	    {"t_time = 99999999999999999w", false},
	    /* BOOL */
	    {"t_bool = yes", true},
	    {"t_bool = YES", true},
	    {"t_bool = True", true},
	    {"t_bool = 0", true},
	    {"t_bool = maybe", false},
	    {"t_bool = ", false},
	    {"t_bool = 2", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool ok = loads(cases[i].text);
		if (ok != cases[i].ok)
			fprintf(stderr, "case: %s\n", cases[i].text);
		test_assert(ok == cases[i].ok);
	}

	c = parse("t_time = 2h\nt_time_m = 3\nt_bool = TRUE\n", &err);
	test_assert(c != NULL && conf_time(c, "t_time") == 7200 &&
		    conf_time(c, "t_time_m") == 180 && conf_bool(c, "t_bool"));
	conf_free(&c);
	c = parse("t_time_m = 30s\nt_bool = off\n", &err);
	test_assert(c == NULL && strstr(err, "t_bool") != NULL &&
		    strstr(err, "line 2") != NULL);
	c = parse("t_size = 1001\n", &err);
	test_assert(c == NULL &&
		    strcmp(err, "test.cf, line 1: bad value for t_size: "
				"'1001' (expected a size in bytes from 0 to "
				"1000)") == 0);
	c = parse("t_time_m = 30s\n", &err);
	test_assert(c != NULL && conf_time(c, "t_time_m") == 30);
	conf_free(&c);

	/* lists */
	c = parse("t_list = , a,b\t c ,{ x, y z } , {w}, {unclosed a\n", &err);
	test_assert(c != NULL);
	if (c != NULL) {
		size_t n;
		const char *const *it = conf_list(c, "t_list", &n);
		test_assert(n == 6);
		if (n == 6)
			test_assert(strcmp(it[0], "a") == 0 &&
				    strcmp(it[1], "b") == 0 &&
				    strcmp(it[2], "c") == 0 &&
				    strcmp(it[3], "x, y z") == 0 &&
				    strcmp(it[4], "w") == 0 &&
				    strcmp(it[5], "unclosed a") == 0);
	}
	conf_free(&c);
	c = parse("t_list =\n", &err);
	size_t n = 9;
	test_assert(c != NULL && conf_list(c, "t_list", &n)[0] == NULL &&
		    n == 0);
	conf_free(&c);
}

static void test_files(void)
{
	const char *err;
	char path[512];
	struct conf *c;

	test_begin("files");
	path_in(path, sizeof path, "missing.cf");
	c = conf_load(path, t_tables, &err);
	test_assert(c != NULL && strcmp(conf_str(c, "t_str"), "hello") == 0 &&
		    !conf_is_set(c, "t_str") &&
		    strcmp(conf_path(c), path) == 0);
	conf_free(&c);
	path_in(path, sizeof path, "empty.cf");
	write_file(path, "", 0);
	c = conf_load(path, t_tables, &err);
	test_assert(c != NULL && conf_int(c, "t_int") == 5);
	conf_free(&c);
	path_in(path, sizeof path, "bad.cf");
	write_file(path, "t_int = 1\nt_int = x\n", 20);
	c = conf_load(path, t_tables, &err);
	test_assert(c == NULL && strstr(err, path) != NULL &&
		    strstr(err, "line 2") != NULL &&
		    strstr(err, "t_int") != NULL);
	/* a directory is not a configuration */
	c = conf_load(tmpdir, t_tables, &err);
	test_assert(c == NULL);
}

static void test_params(void)
{
	const char *err;
	char path[512];
	struct conf *c;

	test_begin("params");
	setenv("YOUJU_HOME", "/srv/y$u", 1);
	test_assert(strcmp(conf_home(), "/srv/y$u") == 0);
	char *dp = conf_default_path();
	test_assert(strcmp(dp, "/srv/y$u/etc/youju.cf") == 0);
	free(dp);
	setenv("YOUJU_HOME", "", 1);
	test_assert(strcmp(conf_home(), YOUJU_SRCDIR "/var") == 0);
	unsetenv("YOUJU_HOME");
	test_assert(strcmp(conf_home(), YOUJU_SRCDIR "/var") == 0);
	setenv("YOUJU_HOME", "/srv/y$u", 1);

	/* every table's defaults are valid, and every name is unique per
	   table and documented */
	c = conf_defaults(conf_all_tables);
	test_assert(strcmp(conf_str(c, "youju_home"), "/srv/y$u") == 0);
	test_assert(strcmp(conf_raw(c, "youju_home"), "/srv/y$u") == 0);
	test_assert(strcmp(conf_str(c, "config_directory"), "/srv/y$u/etc") ==
		    0);
	test_assert(strcmp(conf_str(c, "smtpd_tls_key_file"),
			   "/srv/y$u/etc/tls/youju.key") == 0);
	test_assert(strcmp(conf_str(c, "authd_socket"),
			   "/srv/y$u/run/authdaemon/socket") == 0);
	/* myhostname defaults to the system's name, made fully qualified,
	   and mydomain to its part after the first dot (Postfix) */
	const char *host = conf_str(c, "myhostname");
	test_assert(strchr(host, '.') != NULL);
	test_assert(strcmp(conf_str(c, "myorigin"), host) == 0);
	test_assert(strcmp(conf_str(c, "mydomain"), strchr(host, '.') + 1) ==
		    0);
	char banner[300];
	int bn = snprintf(banner, sizeof banner, "%s ESMTP", host);
	test_assert(bn > 0 && (size_t)bn < sizeof banner);
	test_assert(strcmp(conf_str(c, "smtpd_banner"), banner) == 0);
	test_assert(conf_int(c, "mysql_port") == 3306);
	test_assert(conf_int(c, "message_size_limit") == 10240000);
	test_assert(conf_time(c, "authd_failure_window") == 600);
	test_assert(conf_time(c, "maximal_queue_lifetime") == 5 * 86400);
	test_assert(conf_bool(c, "mysql_private") == true);
	test_assert(conf_bool(c, "syslog_enable") == false);
	size_t n;
	const char *const *it = conf_list(c, "mynetworks", &n);
	test_assert(n == 2 && strcmp(it[1], "[::1]/128") == 0);
	it = conf_list(c, "smtpd_recipient_restrictions", &n);
	test_assert(n == 3 && strcmp(it[2], "reject_unauth_destination") == 0);
	it = conf_list(c, "smtp_listen", &n);
	test_assert(n == 1 && strcmp(it[0], "127.0.0.1:2525") == 0);
	conf_free(&c);
	for (size_t t = 0; conf_all_tables[t] != NULL; t++) {
		const struct conf_param *p = conf_all_tables[t]->params;
		for (; p->name != NULL; p++) {
			test_assert(p->desc != NULL && p->desc[0] != '\0');
			test_assert(p->def != NULL);
			test_assert(conf_find_param(conf_all_tables, p->name) ==
				    p);
		}
		const struct conf_table *const *tt =
		    conf_tables_for(conf_all_tables[t]->program);
		test_assert(tt != NULL && tt[0] != NULL);
		c = conf_defaults(tt);
		test_assert(c != NULL);
		conf_free(&c);
	}
	test_assert(conf_tables_for("nonesuch") == NULL);
	test_assert(conf_tables_for("authd")[2] == NULL);
	test_assert(conf_find_param(conf_tables_for("authd"), "authd_workers"));
	test_assert(!conf_find_param(conf_tables_for("authd"), "smtpd_banner"));

	/* youju.cf is shared: youju-authd loading it with its own tables
	   says nothing of youju-mta's parameters, only of unknown ones */
	path_in(path, sizeof path, "shared.cf");
	write_file(path, "smtpd_banner = x\nsmtpd_baner = y\n", 33);
	warnings[0] = '\0';
	n_warnings = 0;
	c = conf_load_warn(path, conf_tables_for("authd"), collect, NULL, &err);
	test_assert(c != NULL && n_warnings == 1 &&
		    strstr(warnings, "smtpd_baner") != NULL);
	conf_free(&c);

	/* youju_home is read-only */
	path_in(path, sizeof path, "home.cf");
	write_file(path, "youju_home = /elsewhere\n", 24);
	warnings[0] = '\0';
	n_warnings = 0;
	c = conf_load_warn(path, conf_all_tables, collect, NULL, &err);
	test_assert(c != NULL &&
		    strcmp(conf_str(c, "youju_home"), "/srv/y$u") == 0 &&
		    !conf_is_set(c, "youju_home"));
	test_assert(n_warnings == 1 && strstr(warnings, "read-only") != NULL);
	conf_free(&c);
	test_assert(conf_edit(path, "youju_home", "/x", &err) < 0 &&
		    strstr(err, "read-only") != NULL);
}

static void test_edit(void)
{
	const char *err;
	char path[512];
	const char *got;

	test_begin("edit");
	path_in(path, sizeof path, "edit.cf");
	static const char orig[] =
	    "# youju.cf\n"
	    "myhostname = old.example\n"
	    "\n"
	    "smtpd_recipient_restrictions = permit_mynetworks,\n"
	    "    # keep this comment\n"
	    "    reject_unauth_destination\n"
	    "mydomain = example\n"
	    "# trailing comment";
	write_file(path, orig, sizeof orig - 1);

	test_assert(conf_edit(path, "smtpd_recipient_restrictions",
			      "  permit_sasl_authenticated, reject  ",
			      &err) == 0);
	got = read_file(path);
	test_assert(got != NULL &&
		    strcmp(got, "# youju.cf\n"
				"myhostname = old.example\n"
				"\n"
				"smtpd_recipient_restrictions = "
				"permit_sasl_authenticated, reject\n"
				"    # keep this comment\n"
				"mydomain = example\n"
				"# trailing comment") == 0);

	/* append (the last line had no newline) */
	test_assert(conf_edit(path, "message_size_limit", "2048", &err) == 0);
	got = read_file(path);
	test_assert(got != NULL &&
		    strstr(got, "# trailing comment\nmessage_size_limit = "
				"2048\n") != NULL);
	/* replace in place, not at the end */
	test_assert(conf_edit(path, "myhostname", "new.example", &err) == 0);
	got = read_file(path);
	test_assert(
	    got != NULL &&
	    strncmp(got, "# youju.cf\nmyhostname = new.example\n\n", 37) == 0);
	/* an empty value */
	test_assert(conf_edit(path, "relayhost", "", &err) == 0);
	got = read_file(path);
	test_assert(got != NULL && strstr(got, "\nrelayhost = \n") != NULL);

	const char *err2;
	struct conf *c = conf_load(path, conf_all_tables, &err2);
	test_assert(c != NULL);
	if (c != NULL) {
		test_assert(conf_int(c, "message_size_limit") == 2048);
		test_assert(strcmp(conf_str(c, "myorigin"), "new.example") ==
			    0);
		size_t n;
		conf_list(c, "smtpd_recipient_restrictions", &n);
		test_assert(n == 2);
	}
	conf_free(&c);

	/* refused edits leave the file alone */
	char before[65536];
	got = read_file(path);
	snprintf(before, sizeof before, "%s", got);
	test_assert(conf_edit(path, "message_size_limit", "big", &err) < 0 &&
		    strstr(err, "message_size_limit") != NULL);
	test_assert(conf_edit(path, "mysql_port", "65536", &err) < 0 &&
		    strstr(err, "mysql_port") != NULL);
	test_assert(conf_edit(path, "mysql_port", "65535", &err) == 0);
	got = read_file(path);
	snprintf(before, sizeof before, "%s", got);
	test_assert(conf_edit(path, "smtpd_bnner", "x", &err) < 0 &&
		    strstr(err, "did you mean smtpd_banner") != NULL);
	test_assert(conf_edit(path, "myorigin", "a\nb = c", &err) < 0);
	test_assert(conf_edit(path, "myhostname", "$myorigin", &err) < 0 &&
		    strstr(err, "loop") != NULL);
	char *longv = malloc(CONF_LINE_MAX + 1);
	memset(longv, 'x', CONF_LINE_MAX);
	longv[CONF_LINE_MAX] = '\0';
	test_assert(conf_edit(path, "myhostname", longv, &err) < 0);
	free(longv);
	got = read_file(path);
	test_assert(got != NULL && strcmp(got, before) == 0);

	/* duplicates: the first is rewritten, later ones removed */
	static const char dup[] = "mydomain = a\nmyhostname = h\n"
				  "mydomain = b\n  cont\n# c\n";
	write_file(path, dup, sizeof dup - 1);
	test_assert(conf_edit(path, "mydomain", "z", &err) == 0);
	got = read_file(path);
	test_assert(got != NULL &&
		    strcmp(got, "mydomain = z\nmyhostname = h\n# c\n") == 0);

	/* a missing file is created, with mode 0644 */
	path_in(path, sizeof path, "new.cf");
	test_assert(conf_edit(path, "debug", "yes", &err) == 0);
	got = read_file(path);
	test_assert(got != NULL && strcmp(got, "debug = yes\n") == 0);
	struct stat st;
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
	/* the mode of an existing file is kept */
	test_assert(chmod(path, 0640) == 0);
	test_assert(conf_edit(path, "debug", "no", &err) == 0);
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	/* no directory: an error, no stray temp file */
	path_in(path, sizeof path, "nodir/x.cf");
	test_assert(conf_edit(path, "debug", "yes", &err) < 0);
}

struct reader_arg {
	const struct conf *c;
	int bad;
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	for (int i = 0; i < 20000; i++) {
		if (strcmp(conf_str(a->c, "t_ref"), "hi world") != 0 ||
		    conf_int(a->c, "t_int") != 9)
			a->bad++;
	}
	return NULL;
}

static void test_threads(void)
{
	const char *err;
	struct conf *c = parse("t_str = hi\nt_int = 9\n", &err);
	pthread_t th[4];
	struct reader_arg args[4];

	test_begin("threads");
	test_assert(c != NULL);
	if (c == NULL)
		return;
	for (int i = 0; i < 4; i++) {
		args[i] = (struct reader_arg){c, 0};
		test_assert(pthread_create(&th[i], NULL, reader, &args[i]) ==
			    0);
	}
	for (int i = 0; i < 4; i++) {
		test_assert(pthread_join(th[i], NULL) == 0);
		test_assert(args[i].bad == 0);
	}
	conf_free(&c);
}

static void cleanup(void)
{
	static const char *const names[] = {"big.cf",	"empty.cf", "bad.cf",
					    "home.cf",	"edit.cf",  "new.cf",
					    "shared.cf"};
	char path[512];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		path_in(path, sizeof path, names[i]);
		unlink(path);
	}
}

int main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_syntax();
	test_bytes();
	test_expand();
	test_unknown();
	test_types();
	test_files();
	test_params();
	test_edit();
	test_threads();
	cleanup();
	test_begin("cleanup");
	test_assert(rmdir(tmpdir) == 0); /* no temp file left behind */
	return test_end();
}
