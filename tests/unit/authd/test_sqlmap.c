/* Unit tests for authd/sqlmap: mysql_table(5) files, the query template to
   prepared statement conversion, key binding, result_format, file
   permissions and the MAPLOOKUP request. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../authd/proto.h"
#include "../../../authd/sqlmap.h"
#include "authc.h"
#include "test.h"

struct conv_case {
	const char *in;
	const char *out; /* NULL: refused */
	const char *args;
};

static void test_convert(void)
{
	static const struct conv_case cases[] = {
	    {"SELECT a FROM t WHERE k='%s'", "SELECT a FROM t WHERE k=?", "s"},
	    {"SELECT a FROM t WHERE k=\"%s\"", "SELECT a FROM t WHERE k=?",
	     "s"},
	    {"SELECT a FROM t WHERE k=%s", "SELECT a FROM t WHERE k=?", "s"},
	    {"SELECT a FROM t WHERE u='%u' AND d='%d'",
	     "SELECT a FROM t WHERE u=? AND d=?", "ud"},
	    {"SELECT a FROM t WHERE k='%u@%d'",
	     "SELECT a FROM t WHERE k=CONCAT(?, '@', ?)", "ud"},
	    {"SELECT a FROM t WHERE k='x%sy'",
	     "SELECT a FROM t WHERE k=CONCAT('x', ?, 'y')", "s"},
	    {"SELECT a FROM t WHERE k LIKE '%%%s'",
	     "SELECT a FROM t WHERE k LIKE CONCAT('%', ?)", "s"},
	    {"SELECT CONCAT('100%%', a) FROM t WHERE k='%S' AND tld='%1'",
	     "SELECT CONCAT('100%', a) FROM t WHERE k=? AND tld=?", "s1"},
	    {"SELECT 'it''s %s' FROM t", "SELECT CONCAT('it''s ', ?) FROM t",
	     "s"},
	    {"SELECT 'a\\'b' FROM t WHERE k='%s'",
	     "SELECT 'a\\'b' FROM t WHERE k=?", "s"},
	    {"SELECT `a b` FROM t WHERE k='%s' AND x=%9",
	     "SELECT `a b` FROM t WHERE k=? AND x=?", "s9"},
	    {"CALL lookup('%s')", "CALL lookup(?)", "s"},
	    /* refused */
	    {"SELECT a FROM t WHERE k=? AND j='%s'", NULL, NULL},
	    {"SELECT a FROM t WHERE k='%s", NULL, NULL},
	    {"SELECT a FROM t WHERE k='%x'", NULL, NULL},
	    {"SELECT a FROM t WHERE k=%", NULL, NULL},
	    {"SELECT `%s` FROM t", NULL, NULL},
	    {"SELECT a FROM t WHERE k='\\%s'", NULL, NULL},
	    {"SELECT `a FROM t", NULL, NULL},
	};
	test_begin("query conversion");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		char args[SQLMAP_ARGS_MAX], err[200];
		size_t n = 99;
		buf_init(&b, 4096);
		int rc = sqlmap_convert_query(cases[i].in, &b, args, &n, err,
					      sizeof(err));
		if (cases[i].out == NULL) {
			test_assert(rc < 0 && err[0] != '\0');
			if (rc == 0)
				fprintf(stderr, "  case %zu accepted\n", i);
		} else {
			test_assert(rc == 0);
			test_assert(strcmp(buf_cstr(&b), cases[i].out) == 0);
			test_assert(n == strlen(cases[i].args) &&
				    memcmp(args, cases[i].args, n) == 0);
			if (rc < 0 || strcmp(buf_cstr(&b), cases[i].out) != 0)
				fprintf(stderr, "  case %zu: %s -> %s (%s)\n",
					i, cases[i].in, buf_cstr(&b), err);
		}
		buf_deinit(&b);
	}
	/* the most placeholders, and one more */
	struct buf b;
	char args[SQLMAP_ARGS_MAX], err[200];
	size_t n;
	char q[4 * (SQLMAP_ARGS_MAX + 1) + 1] = "";
	for (int i = 0; i < SQLMAP_ARGS_MAX; i++)
		memcpy(q + 3 * i, "%s,", 3);
	buf_init(&b, 4096);
	test_assert(sqlmap_convert_query(q, &b, args, &n, err, sizeof(err)) ==
			0 &&
		    n == SQLMAP_ARGS_MAX);
	buf_reset(&b);
	memcpy(q + 3 * SQLMAP_ARGS_MAX, "%s", 3);
	test_assert(sqlmap_convert_query(q, &b, args, &n, err, sizeof(err)) <
		    0);
	/* an output buffer too small is an error, not a truncation */
	buf_deinit(&b);
	buf_init(&b, 8);
	test_assert(sqlmap_convert_query("SELECT a FROM t WHERE k='%s'", &b,
					 args, &n, err, sizeof(err)) < 0);
	buf_deinit(&b);
	/* empty */
	buf_init(&b, 8);
	test_assert(sqlmap_convert_query("", &b, args, &n, err, sizeof(err)) ==
			0 &&
		    n == 0);
	buf_deinit(&b);
}

static struct sqlmap *parse(const char *text)
{
	char err[300];
	struct sqlmap *m =
	    sqlmap_parse("/t.cf", text, strlen(text), err, sizeof(err));
	if (m == NULL)
		fprintf(stderr, "  parse: %s\n", err);
	return m;
}

static void test_parse(void)
{
	char err[300];
	test_begin("mysql_table files");
	struct sqlmap *m = parse("# Postfix's file\n"
				 "hosts = localhost\n"
				 "user = postfix\n"
				 "password = secret\r\n"
				 "dbname = extmail\n"
				 "query = SELECT action FROM access\n"
				 "   WHERE pattern = '%s'\n"
				 "\n"
				 "result_format = %s extra\n"
				 "expansion_limit = 2\n"
				 "domain = Example.com, example.net\n"
				 "option_group = client\n");
	test_assert(m != NULL);
	if (m != NULL) {
		test_assert(strcmp(m->query, "SELECT action FROM access "
					     "WHERE pattern = ?") == 0);
		test_assert(m->nargs == 1 && m->args[0] == 's');
		test_assert(strcmp(m->result_format, "%s extra") == 0);
		test_assert(m->expansion_limit == 2);
		test_assert(m->ndomains == 2 &&
			    strcmp(m->domains[0], "example.com") == 0);
		test_assert(m->has_password);
		test_assert(strcmp(m->hosts, "localhost") == 0 &&
			    strcmp(m->user, "postfix") == 0 &&
			    strcmp(m->dbname, "extmail") == 0);
	}
	sqlmap_free(&m);
	test_assert(m == NULL);

	/* the Postfix 2.1 form */
	m = parse("select_field = goto\ntable = alias\nwhere_field = address\n"
		  "additional_conditions = AND active = '1'\n");
	test_assert(m != NULL &&
		    strcmp(m->query, "SELECT goto FROM alias WHERE address = ? "
				     "AND active = '1'") == 0);
	test_assert(m != NULL && !m->has_password);
	sqlmap_free(&m);
	/* query wins over the legacy parameters; the last setting wins */
	m = parse("table = x\nquery = SELECT 1\nquery = SELECT '%d'\n");
	test_assert(m != NULL && strcmp(m->query, "SELECT ?") == 0 &&
		    m->need_domain);
	sqlmap_free(&m);

	static const char *const bad[] = {
	    "",
	    "hosts = x\n",
	    "query =\n",
	    "  query = SELECT 1\n",
	    "query SELECT 1\n",
	    "qu-ery = SELECT 1\n",
	    "query = SELECT '%s\n",
	    "query = SELECT 1\nresult_format = %x\n",
	    "query = SELECT 1\nexpansion_limit = many\n",
	    "query = SELECT 1\nexpansion_limit = 1001\n",
	    "query = SELECT 1\ndomain = hash:/etc/postfix/d\n",
	    "query = SELECT 1\nbad\0 = x\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);
		if (i == sizeof(bad) / sizeof(bad[0]) - 1)
			len = 30;
		m = sqlmap_parse("/t.cf", bad[i], len, err, sizeof(err));
		test_assert(m == NULL && err[0] != '\0');
		sqlmap_free(&m);
	}
	/* a bare CR in a line stays part of the value; LF-only ends work */
	m = parse("query = SELECT 1\rx\n");
	test_assert(m != NULL);
	sqlmap_free(&m);

	/* the biggest file, and one byte more */
	char *big = malloc(SQLMAP_FILE_MAX + 2);
	memset(big, '#', SQLMAP_FILE_MAX + 1);
	memcpy(big, "query = SELECT 1\n", 17);
	big[SQLMAP_FILE_MAX + 1] = '\0';
	m = sqlmap_parse("/t.cf", big, SQLMAP_FILE_MAX, err, sizeof(err));
	test_assert(m != NULL);
	sqlmap_free(&m);
	m = sqlmap_parse("/t.cf", big, SQLMAP_FILE_MAX + 1, err, sizeof(err));
	test_assert(m == NULL);
	free(big);
	/* a line over the limit */
	char *longl = malloc(SQLMAP_LINE_MAX + 40);
	memcpy(longl, "query = SELECT ", 15);
	memset(longl + 15, 'a', SQLMAP_LINE_MAX + 10);
	longl[SQLMAP_LINE_MAX + 25] = '\0';
	m = sqlmap_parse("/t.cf", longl, strlen(longl), err, sizeof(err));
	test_assert(m == NULL);
	free(longl);
}

static const char *run_bind(const struct sqlmap *m, const char *key,
			    struct sqlmap_key *k, const char **args)
{
	return sqlmap_bind(m, key, k, args) ? "run" : "skip";
}

static void test_bind(void)
{
	struct sqlmap_key k;
	const char *a[SQLMAP_ARGS_MAX];
	test_begin("binding keys");
	struct sqlmap *m =
	    parse("query = SELECT x FROM t WHERE a='%s' AND b='%u' AND "
		  "c='%d' AND e='%1' AND f='%2'\n");
	test_assert(m != NULL);
	test_assert(strcmp(run_bind(m, "bob@mail.example.com", &k, a), "run") ==
		    0);
	test_assert(strcmp(a[0], "bob@mail.example.com") == 0 &&
		    strcmp(a[1], "bob") == 0 &&
		    strcmp(a[2], "mail.example.com") == 0 &&
		    strcmp(a[3], "com") == 0 && strcmp(a[4], "example") == 0);
	/* no domain: %d suppresses the query; empty local part too */
	test_assert(strcmp(run_bind(m, "example.com", &k, a), "skip") == 0);
	test_assert(strcmp(run_bind(m, "@example.com", &k, a), "skip") == 0);
	test_assert(strcmp(run_bind(m, "bob@", &k, a), "skip") == 0);
	/* not enough labels for %2 */
	test_assert(strcmp(run_bind(m, "bob@com", &k, a), "skip") == 0);
	test_assert(strcmp(run_bind(m, "bob@a..b", &k, a), "skip") == 0);
	test_assert(strcmp(run_bind(m, "bob@.com", &k, a), "skip") == 0);
	sqlmap_free(&m);

	/* %u without '@' is the whole key; injection stays a value */
	m = parse("query = SELECT x FROM t WHERE a='%u'\n");
	test_assert(strcmp(run_bind(m, "helo.example", &k, a), "run") == 0 &&
		    strcmp(a[0], "helo.example") == 0);
	test_assert(strcmp(run_bind(m, "x' OR 1=1 --", &k, a), "run") == 0 &&
		    strcmp(a[0], "x' OR 1=1 --") == 0);
	test_assert(strcmp(run_bind(m, "", &k, a), "skip") == 0);
	char longkey[SQLMAP_KEY_MAX + 2];
	memset(longkey, 'a', sizeof(longkey));
	longkey[SQLMAP_KEY_MAX] = '\0';
	test_assert(strcmp(run_bind(m, longkey, &k, a), "run") == 0);
	longkey[SQLMAP_KEY_MAX] = 'a';
	longkey[SQLMAP_KEY_MAX + 1] = '\0';
	test_assert(strcmp(run_bind(m, longkey, &k, a), "skip") == 0);
	sqlmap_free(&m);

	/* domain = list */
	m = parse("query = SELECT x FROM t WHERE a='%s'\n"
		  "domain = example.com\n");
	test_assert(strcmp(run_bind(m, "bob@EXAMPLE.com", &k, a), "run") == 0);
	test_assert(strcmp(run_bind(m, "bob@example.net", &k, a), "skip") == 0);
	test_assert(strcmp(run_bind(m, "example.com", &k, a), "skip") == 0);
	test_assert(strcmp(run_bind(m, "@example.com", &k, a), "skip") == 0);
	sqlmap_free(&m);

	/* result_format's key parts suppress queries too */
	m = parse("query = SELECT x FROM t WHERE a='%s'\n"
		  "result_format = %s via %D\n");
	test_assert(strcmp(run_bind(m, "example.com", &k, a), "skip") == 0);
	test_assert(strcmp(run_bind(m, "u@example.com", &k, a), "run") == 0);
	sqlmap_free(&m);
}

static void test_format(void)
{
	struct sqlmap_key k;
	const char *a[SQLMAP_ARGS_MAX];
	struct buf b;
	test_begin("result_format");
	buf_init(&b, 64);
	struct sqlmap *m = parse("query = SELECT 1\n");
	test_assert(sqlmap_bind(m, "key", &k, a));
	test_assert(sqlmap_format(m, &k, "REJECT no", &b) == 1);
	test_assert(sqlmap_format(m, &k, NULL, &b) == 0);
	test_assert(sqlmap_format(m, &k, "", &b) == 0);
	test_assert(sqlmap_format(m, &k, "OK", &b) == 1);
	test_assert(strcmp(buf_cstr(&b), "REJECT no,OK") == 0);
	/* control bytes become spaces */
	buf_reset(&b);
	test_assert(sqlmap_format(m, &k, "a\r\nb\tc", &b) == 1);
	test_assert(strcmp(buf_cstr(&b), "a  b c") == 0);
	/* too long for the buffer */
	buf_reset(&b);
	char big[100];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	test_assert(sqlmap_format(m, &k, big, &b) < 0);
	sqlmap_free(&m);

	m = parse("query = SELECT 1 FROM t WHERE k='%s'\n"
		  "result_format = smtp:[%d] %u %% %U/%D/%1/%S\n");
	test_assert(m != NULL);
	test_assert(sqlmap_bind(m, "me@b.example", &k, a));
	buf_reset(&b);
	test_assert(sqlmap_format(m, &k, "x@host", &b) == 1);
	test_assert(
	    strcmp(buf_cstr(&b),
		   "smtp:[host] x % me/b.example/example/me@b.example") == 0);
	buf_reset(&b);
	test_assert(sqlmap_format(m, &k, "nodomain", &b) == 0); /* %d */
	test_assert(sqlmap_format(m, &k, "@host", &b) == 0);	/* %u */
	test_assert(b.len == 0);
	/* a skipped value after one kept leaves no stray comma */
	test_assert(sqlmap_format(m, &k, "a@h", &b) == 1);
	test_assert(sqlmap_format(m, &k, "bad", &b) == 0);
	test_assert(strcmp(buf_cstr(&b), "smtp:[h] a % me/b.example/example/"
					 "me@b.example") == 0);
	sqlmap_free(&m);
	buf_deinit(&b);
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, text, strlen(text));
	close(fd);
	if (w != (ssize_t)strlen(text) || chmod(path, mode) < 0)
		return -1;
	return 0;
}

static void test_files(void)
{
	char dir[] = "/tmp/youju-sqlmap-XXXXXX";
	char path[200], conf[200], other[200], err[300];
	bool eacces;
	test_begin("files and the allow-list");
	test_assert(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/access.cf", dir);
	snprintf(other, sizeof(other), "%s/other.cf", dir);
	snprintf(conf, sizeof(conf), "%s/youju.cf", dir);

	test_assert(write_file(path, "query = SELECT a FROM t WHERE k='%s'\n",
			       0644) == 0);
	struct sqlmap *m = sqlmap_load_file(path, err, sizeof(err), &eacces);
	test_assert(m != NULL);
	sqlmap_free(&m);
	/* writable by others: refused */
	test_assert(chmod(path, 0666) == 0);
	m = sqlmap_load_file(path, err, sizeof(err), &eacces);
	test_assert(m == NULL && strstr(err, "writable") != NULL);
	/* a password in a file others may read: refused */
	test_assert(write_file(path,
			       "password = x\nquery = SELECT a FROM t WHERE "
			       "k='%s'\n",
			       0640) == 0);
	m = sqlmap_load_file(path, err, sizeof(err), &eacces);
	test_assert(m == NULL && strstr(err, "password") != NULL);
	test_assert(chmod(path, 0600) == 0);
	m = sqlmap_load_file(path, err, sizeof(err), &eacces);
	test_assert(m != NULL);
	sqlmap_free(&m);
	m = sqlmap_load_file(dir, err, sizeof(err), &eacces);
	test_assert(m == NULL);

	/* the allow-list: mysql: words in any known parameter */
	char cf[1200];
	snprintf(cf, sizeof(cf),
		 "smtpd_helo_restrictions = check_helo_access mysql:%s,\n"
		 "  permit\n"
		 "smtpd_sender_restrictions = check_sender_access "
		 "mysql:%s, check_sender_access mysql:%s\n"
		 "transport_maps = mysql:relative.cf\n"
		 "not_a_parameter = mysql:/etc/shadow\n",
		 path, other, path);
	test_assert(write_file(conf, cf, 0644) == 0);
	struct sqlmap_db db = {.host = "", .user = "u", .dbname = "d"};
	struct sqlmap_set *s = sqlmap_set_load(conf, &db, NULL);
	const struct sqlmap *sm;
	const char *why;
	test_assert(sqlmap_set_count(s) == 3);
	test_assert(sqlmap_set_find(s, path, &sm, &why) == 1 && sm != NULL);
	test_assert(sqlmap_set_find(s, other, &sm, &why) == 0 &&
		    why != NULL); /* missing: broken */
	test_assert(sqlmap_set_find(s, "relative.cf", &sm, &why) == 0);
	test_assert(sqlmap_set_find(s, "/etc/shadow", &sm, &why) == -1);
	test_assert(sqlmap_set_find(s, "/etc/passwd", &sm, &why) == -1);
	sqlmap_set_free(&s);
	test_assert(s == NULL);
	unlink(path);
	unlink(conf);
	rmdir(dir);
}

static void test_proto(void)
{
	struct authd_request r;
	char enc[3 * 64 + 1];
	test_begin("MAPLOOKUP requests");
	test_assert(authc_map_encode("x' OR 1=1 --%", 13, enc, sizeof(enc)) ==
		    0);
	test_assert(strcmp(enc, "x'%20OR%201=1%20--%25") == 0);
	char req[300];
	snprintf(req, sizeof(req), "MAPLOOKUP /etc/a%%20b.cf %s\n", enc);
	test_assert(authd_parse(req, strlen(req), false, &r, NULL) ==
		    AUTHD_PARSE_OK);
	test_assert(r.cmd == AUTHD_CMD_MAPLOOKUP &&
		    strcmp(r.map, "/etc/a b.cf") == 0 &&
		    strcmp(r.user, "x' OR 1=1 --%") == 0);
	authd_request_free(&r);
	static const char *const bad[] = {
	    "MAPLOOKUP /a\n",	  "MAPLOOKUP /a b c\n", "MAPLOOKUP /a %00\n",
	    "MAPLOOKUP /a %4\n",  "MAPLOOKUP /a %zz\n", "MAPLOOKUP  b\n",
	    "MAPLOOKUP /a b\r\n", "MAPLOOKUP /a \n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		test_assert(authd_parse(bad[i], strlen(bad[i]), false, &r,
					NULL) == AUTHD_PARSE_CLOSE);
	/* the longest key, and one byte more */
	char line[AUTHD_MAP_KEY_MAX + 40];
	int n = snprintf(line, sizeof(line), "MAPLOOKUP /a ");
	memset(line + n, 'k', AUTHD_MAP_KEY_MAX);
	memcpy(line + n + AUTHD_MAP_KEY_MAX, "\n", 2);
	test_assert(authd_parse(line, strlen(line), false, &r, NULL) ==
		    AUTHD_PARSE_OK);
	authd_request_free(&r);
	memcpy(line + n + AUTHD_MAP_KEY_MAX, "k\n", 3);
	test_assert(authd_parse(line, strlen(line), false, &r, NULL) ==
		    AUTHD_PARSE_CLOSE);
	/* the encoder refuses what does not fit */
	test_assert(authc_map_encode("   ", 3, enc, 9) < 0);
	test_assert(authc_map_encode("   ", 3, enc, 10) == 0);
}

int main(void)
{
	test_convert();
	test_parse();
	test_bind();
	test_format();
	test_files();
	test_proto();
	return test_end();
}
