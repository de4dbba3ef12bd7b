/*
 * Unit tests for lib/sqlpool against a real server.  With
 * YOUJU_TEST_MYSQL_SOCKET set (and optionally YOUJU_TEST_MYSQL_USER,
 * YOUJU_TEST_MYSQL_PASSWORD) that server is used and the outage tests are
 * skipped; otherwise tests/unit/lib/mariadb-tmp.sh starts a throw-away
 * mariadbd on a private socket, which is frozen (SIGSTOP) and finally shut
 * down to check that an outage becomes SQL_TEMPFAIL within the timeouts.
 * A watchdog child removes the server even if this test crashes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sqlpool.h"
#include "str.h"
#include "test.h"

#define DB	"youju_sqlpool_test"
#define SCRIPT	YOUJU_SRCDIR "/tests/unit/lib/mariadb-tmp.sh"
#define BIG_LEN (100 * 1024)

static char srv_dir[1024];
static char srv_sock[1024];
static pid_t srv_pid; /* mariadbd, 0: external server */
static pid_t watchdog_pid;
static struct sqlpool_opts base_opts;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

/* Runs "mariadb-tmp.sh stop DIR" and waits for it. */
static void server_stop(void)
{
	pid_t pid;
	int st;

	if (srv_dir[0] == '\0')
		return;
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", SCRIPT, "stop", srv_dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	srv_dir[0] = '\0';
}

/* A child that stops the server once this process is gone, however. */
static void watchdog_start(void)
{
	int fds[2];
	char c;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return;
	watchdog_pid = fork();
	if (watchdog_pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			/* don't hold the test runner's output pipe open */
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		execl("/bin/sh", "sh", SCRIPT, "stop", srv_dir, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	/* fds[1] stays open (close-on-exec) until we exit */
}

static void watchdog_stop(void)
{
	int st;

	if (watchdog_pid > 0) {
		kill(watchdog_pid, SIGKILL);
		while (waitpid(watchdog_pid, &st, 0) < 0 && errno == EINTR)
			;
		watchdog_pid = 0;
	}
}

static bool server_start(void)
{
	const char *sock = getenv("YOUJU_TEST_MYSQL_SOCKET");
	char pidline[64];
	uint64_t pid;
	FILE *f;

	base_opts.user = "root";
	base_opts.password = "";
	if (sock != NULL && sock[0] != '\0') {
		base_opts.socket = sock;
		if (getenv("YOUJU_TEST_MYSQL_USER") != NULL)
			base_opts.user = getenv("YOUJU_TEST_MYSQL_USER");
		if (getenv("YOUJU_TEST_MYSQL_PASSWORD") != NULL)
			base_opts.password =
			    getenv("YOUJU_TEST_MYSQL_PASSWORD");
		return true;
	}
	f = popen("sh " SCRIPT " start", "r");
	if (f == NULL)
		return false;
	if (fgets(srv_dir, sizeof(srv_dir), f) == NULL ||
	    fgets(srv_sock, sizeof(srv_sock), f) == NULL ||
	    fgets(pidline, sizeof(pidline), f) == NULL) {
		pclose(f);
		return false;
	}
	chomp(srv_dir);
	chomp(srv_sock);
	chomp(pidline);
	if (pclose(f) != 0 || str_parse_u64(pidline, 2, INT32_MAX, &pid) < 0)
		return false;
	srv_pid = (pid_t)pid;
	watchdog_start();
	base_opts.socket = srv_sock;
	return true;
}

static struct sqlpool *pool_with(unsigned size, const char *db, unsigned ct,
				 unsigned rw)
{
	struct sqlpool_opts o = base_opts;

	o.size = size;
	o.database = db;
	o.connect_timeout = ct;
	o.rw_timeout = rw;
	return sqlpool_new(&o);
}

/* Runs a query expecting want; returns the status. */
static enum sqlpool_status q(struct sqlconn *c, const char *query,
			     const char *const *args, size_t nargs,
			     struct sqlresult *res)
{
	const char *err = NULL;
	enum sqlpool_status st =
	    sqlconn_query(c, query, args, nargs, 1000, res, &err);
	if (st != SQL_OK)
		fprintf(stderr, "  query \"%s\": %d %s\n", query, st,
			err != NULL ? err : "(no message)");
	return st;
}

static bool q_ok(struct sqlconn *c, const char *query, const char *const *args,
		 size_t nargs)
{
	struct sqlresult res;
	enum sqlpool_status st = q(c, query, args, nargs, &res);
	sqlresult_free(&res);
	return st == SQL_OK;
}

static void test_setup(struct sqlpool *pool)
{
	const char *err = NULL;
	struct sqlconn *c;

	test_begin("setup");
	c = sqlpool_get(pool, 1000, &err);
	test_assert(c != NULL);
	if (c == NULL) {
		fprintf(stderr, "  get: %s\n", err);
		return;
	}
	test_assert(q_ok(c, "DROP DATABASE IF EXISTS " DB, NULL, 0));
	test_assert(
	    q_ok(c, "CREATE DATABASE " DB " CHARACTER SET utf8mb4", NULL, 0));
	sqlpool_put(pool, &c, false);
	test_assert(c == NULL);
}

static void test_queries(struct sqlpool *pool)
{
	const char *err = NULL;
	struct sqlresult res;
	struct sqlconn *c;
	static char big[BIG_LEN + 1];
	char bin[256];
	size_t i;

	test_begin("queries");
	c = sqlpool_get(pool, 1000, &err);
	test_assert(c != NULL);
	if (c == NULL)
		return;
	test_assert(q_ok(c,
			 "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY,"
			 " k VARCHAR(64) NOT NULL UNIQUE, v MEDIUMTEXT NULL,"
			 " b MEDIUMBLOB NULL, n INT NULL)",
			 NULL, 0));

	for (i = 0; i < BIG_LEN; i++)
		big[i] = (char)('a' + i % 26);
	/* every byte but NUL, which a C string cannot carry */
	for (i = 0; i < 255; i++)
		bin[i] = (char)(i + 1);
	bin[255] = '\0';

	static const char ins[] =
	    "INSERT INTO t (k, v, b, n) VALUES (?, ?, ?, ?)";
	const char *rows[][4] = {
	    {"quote", "it's \"q\" \\ back\\slash %s ?", NULL, "1"},
	    {"utf8", "p \xc3\xa4ss \xf0\x9f\x98\x80", NULL, "2"},
	    {"binary", NULL, bin, "3"},
	    {"big", big, NULL, "4"},
	    {"null", NULL, NULL, NULL},
	    {"empty", "", "", "0"},
	};
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_assert(q(c, ins, rows[i], 4, &res) == SQL_OK);
		test_assert(res.affected == 1 && res.nrows == 0);
		sqlresult_free(&res);
	}

	/* each row back, values byte for byte */
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *arg[] = {rows[i][0]};
		test_assert(q(c, "SELECT k, v, b, n FROM t WHERE k = ?", arg, 1,
			      &res) == SQL_OK);
		test_assert(res.nrows == 1);
		if (res.nrows != 1)
			continue;
		struct sqlrow *r = &res.rows[0];
		test_assert(r->ncols == 4);
		for (size_t j = 0; j < 4; j++) {
			const char *want = rows[i][j];
			if (want == NULL) {
				test_assert(r->cols[j] == NULL);
				continue;
			}
			test_assert(r->cols[j] != NULL &&
				    r->lens[j] == strlen(want) &&
				    memcmp(r->cols[j], want, r->lens[j]) == 0 &&
				    r->cols[j][r->lens[j]] == '\0');
		}
		sqlresult_free(&res);
		test_assert(res.rows == NULL && res.nrows == 0);
	}

	/* no rows */
	const char *none[] = {"no such key"};
	test_assert(q(c, "SELECT k FROM t WHERE k = ?", none, 1, &res) ==
		    SQL_OK);
	test_assert(res.nrows == 0);
	sqlresult_free(&res);

	/* values are bound, never spliced: this finds nothing */
	const char *inj[] = {"x' OR '1'='1"};
	test_assert(q(c, "SELECT k FROM t WHERE k = ?", inj, 1, &res) ==
		    SQL_OK);
	test_assert(res.nrows == 0);
	sqlresult_free(&res);

	/* a NULL argument binds SQL NULL */
	test_assert(q(c, "SELECT ? IS NULL, COUNT(*) FROM t WHERE n <=> ?",
		      (const char *[]){NULL, NULL}, 2, &res) == SQL_OK);
	test_assert(res.nrows == 1 && strcmp(res.rows[0].cols[0], "1") == 0 &&
		    strcmp(res.rows[0].cols[1], "1") == 0);
	sqlresult_free(&res);

	/* affected rows */
	const char *upd[] = {"7"};
	test_assert(q(c, "UPDATE t SET n = ? WHERE n IS NULL OR n = 0", upd, 1,
		      &res) == SQL_OK);
	test_assert(res.affected == 2);
	sqlresult_free(&res);
	test_assert(q(c, "UPDATE t SET n = ? WHERE n IS NULL OR n = 0", upd, 1,
		      &res) == SQL_OK);
	test_assert(res.affected == 0);
	sqlresult_free(&res);

	/* max_rows: exactly enough is fine, one more is SQL_ERROR and the
	   connection stays in step */
	size_t nrows = sizeof(rows) / sizeof(rows[0]);
	test_assert(sqlconn_query(c, "SELECT k FROM t ORDER BY id", NULL, 0,
				  nrows, &res, &err) == SQL_OK);
	test_assert(res.nrows == nrows &&
		    strcmp(res.rows[0].cols[0], "quote") == 0 &&
		    strcmp(res.rows[nrows - 1].cols[0], "empty") == 0);
	sqlresult_free(&res);
	err = NULL;
	test_assert(sqlconn_query(c, "SELECT k FROM t ORDER BY id", NULL, 0,
				  nrows - 1, &res, &err) == SQL_ERROR);
	test_assert(err != NULL && res.nrows == 0 && res.rows == NULL);
	test_assert(q(c, "SELECT 1", NULL, 0, &res) == SQL_OK);
	test_assert(res.nrows == 1 && strcmp(res.rows[0].cols[0], "1") == 0);
	sqlresult_free(&res);

	/* a column of exactly 1 MiB is returned; one more byte is not */
	test_assert(q(c, "SELECT REPEAT('x', 1048576), 'tail'", NULL, 0,
		      &res) == SQL_OK);
	test_assert(res.nrows == 1 && res.rows[0].lens[0] == 1048576 &&
		    res.rows[0].cols[0][1048575] == 'x' &&
		    strcmp(res.rows[0].cols[1], "tail") == 0);
	sqlresult_free(&res);
	test_assert(sqlconn_query(c, "SELECT REPEAT('x', 1048577)", NULL, 0, 10,
				  &res, &err) == SQL_ERROR);
	test_assert(q_ok(c, "SELECT 2", NULL, 0));

	/* DELETE */
	test_assert(q(c, "DELETE FROM t WHERE k IN (?, ?)",
		      (const char *[]){"null", "empty"}, 2, &res) == SQL_OK);
	test_assert(res.affected == 2);
	sqlresult_free(&res);

	sqlpool_put(pool, &c, false);
}

static void test_errors(struct sqlpool *pool)
{
	static const struct {
		const char *query;
		size_t nargs;
	} bad[] = {
	    {"SELEC 1", 0},
	    {"SELECT nosuch FROM t", 0},
	    {"SELECT * FROM nosuch", 0},
	    {"SELECT ?", 0},			 /* too few arguments */
	    {"SELECT 1", 1},			 /* too many */
	    {"INSERT INTO t (k) VALUES (?)", 1}, /* duplicate key */
	    {"INSERT INTO t (k) VALUES (NULL)", 0},
	    {"", 0},
	};
	const char *args[] = {"quote"};
	const char *err;
	struct sqlresult res;
	struct sqlconn *c;

	test_begin("errors");
	c = sqlpool_get(pool, 1000, &err);
	test_assert(c != NULL);
	if (c == NULL)
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		enum sqlpool_status st = sqlconn_query(
		    c, bad[i].query, args, bad[i].nargs, 10, &res, &err);
		if (st != SQL_ERROR)
			fprintf(stderr, "  \"%s\": %d %s\n", bad[i].query, st,
				err);
		test_assert(st == SQL_ERROR);
		test_assert(err != NULL && err[0] != '\0');
		test_assert(res.nrows == 0 && res.rows == NULL);
		/* the same connection still works */
		test_assert(q_ok(c, "SELECT 1", NULL, 0));
	}
	sqlpool_put(pool, &c, false);
}

/* More distinct statements than the cache holds: evicted ones are closed
   on the server, and re-preparing them works. */
static void test_stmt_cache(struct sqlpool *pool)
{
	const char *err;
	struct sqlresult res;
	struct sqlconn *c;
	char query[64], want[32];

	test_begin("stmt_cache");
	c = sqlpool_get(pool, 1000, &err);
	test_assert(c != NULL);
	if (c == NULL)
		return;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 40; i++) {
			const char *arg[] = {"1000"};
			snprintf(query, sizeof(query), "SELECT %d + ?", i);
			snprintf(want, sizeof(want), "%d", i + 1000);
			test_assert(q(c, query, arg, 1, &res) == SQL_OK);
			test_assert(res.nrows == 1 &&
				    strcmp(res.rows[0].cols[0], want) == 0);
			sqlresult_free(&res);
		}
	}
	test_assert(q(c,
		      "SELECT VARIABLE_VALUE FROM information_schema."
		      "SESSION_STATUS WHERE VARIABLE_NAME = "
		      "'PREPARED_STMT_COUNT'",
		      NULL, 0, &res) == SQL_OK);
	uint64_t n = 999;
	test_assert(res.nrows == 1 &&
		    str_parse_u64(res.rows[0].cols[0], 0, 1000, &n) == 0);
	/* 32 cached, plus at most a few on other pooled connections */
	test_assert(n >= 32 && n <= 40);
	sqlresult_free(&res);
	sqlpool_put(pool, &c, false);
}

static void test_exhaustion(void)
{
	struct sqlpool *pool = pool_with(1, DB, 2, 2);
	struct sqlconn *a, *b;
	const char *err = NULL;
	double t;

	test_begin("exhaustion");
	a = sqlpool_get(pool, 100, &err);
	test_assert(a != NULL);
	t = now_s();
	b = sqlpool_get(pool, 100, &err);
	t = now_s() - t;
	test_assert(b == NULL && err != NULL);
	test_assert(t >= 0.09 && t < 1.0);
	/* wait 0: no wait at all */
	test_assert(sqlpool_get(pool, 0, &err) == NULL);
	sqlpool_put(pool, &a, false);
	b = sqlpool_get(pool, 0, &err);
	test_assert(b != NULL);
	/* a broken put frees the slot for a new connection */
	sqlpool_put(pool, &b, true);
	b = sqlpool_get(pool, 0, &err);
	test_assert(b != NULL && q_ok(b, "SELECT 1", NULL, 0));
	sqlpool_put(pool, &b, false);
	sqlpool_free(&pool);
	test_assert(pool == NULL);
}

struct worker {
	struct sqlpool *pool;
	int ok;
	int id;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char n[32], want[32];

	for (int i = 0; i < 50; i++) {
		const char *err = NULL;
		struct sqlconn *c = sqlpool_get(w->pool, 5000, &err);
		struct sqlresult res;
		if (c == NULL)
			continue;
		snprintf(n, sizeof(n), "%d", w->id * 1000 + i);
		snprintf(want, sizeof(want), "%d", w->id * 1000 + i + 1);
		const char *args[] = {n};
		if (sqlconn_query(c, "SELECT ? + 1", args, 1, 10, &res, &err) ==
			SQL_OK &&
		    res.nrows == 1 && strcmp(res.rows[0].cols[0], want) == 0)
			w->ok++;
		sqlresult_free(&res);
		sqlpool_put(w->pool, &c, false);
	}
	return NULL;
}

/* Six threads share two connections. */
static void test_threads(void)
{
	struct sqlpool *pool = pool_with(2, DB, 2, 5);
	struct worker w[6];
	pthread_t th[6];

	test_begin("threads");
	for (int i = 0; i < 6; i++) {
		w[i] = (struct worker){pool, 0, i};
		test_assert(pthread_create(&th[i], NULL, worker_run, &w[i]) ==
			    0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		test_assert(w[i].ok == 50);
	}
	sqlpool_free(&pool);
}

/* A lock wait timeout is the server's transient state: TEMPFAIL. */
static void test_lock_timeout(void)
{
	struct sqlpool *pool = pool_with(2, DB, 2, 5);
	const char *err;
	struct sqlconn *a, *b;
	struct sqlresult res;

	test_begin("lock_timeout");
	a = sqlpool_get(pool, 1000, &err);
	b = sqlpool_get(pool, 1000, &err);
	test_assert(a != NULL && b != NULL);
	if (a == NULL || b == NULL)
		goto out;
	test_assert(q_ok(a, "START TRANSACTION", NULL, 0));
	test_assert(
	    q_ok(a, "SELECT n FROM t WHERE k = 'quote' FOR UPDATE", NULL, 0));
	test_assert(
	    q_ok(b, "SET SESSION innodb_lock_wait_timeout = 1", NULL, 0));
	err = NULL;
	test_assert(sqlconn_query(b, "UPDATE t SET n = 9 WHERE k = 'quote'",
				  NULL, 0, 10, &res, &err) == SQL_TEMPFAIL);
	test_assert(err != NULL && strstr(err, "1205") != NULL);
	/* after a TEMPFAIL the connection is closed even if put as fine */
	test_assert(sqlconn_query(b, "SELECT 1", NULL, 0, 10, &res, &err) ==
		    SQL_TEMPFAIL);
	sqlpool_put(pool, &b, false);
	test_assert(q_ok(a, "ROLLBACK", NULL, 0));
out:
	sqlpool_put(pool, &a, false);
	sqlpool_put(pool, &b, false);
	sqlpool_free(&pool);
}

/* kill(SIGSTOP) returns before every thread of the server has stopped: a
   thread still running could answer the next query.  Waits (at most ~5 s)
   until each task of pid reports state T. */
static bool wait_stopped(pid_t pid)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%ld/task", (long)pid);
	for (int tries = 0; tries < 500; tries++) {
		DIR *d = opendir(dir);
		if (d == NULL)
			return false;
		bool all = true;
		struct dirent *de;
		while (all && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			char path[400], buf[512];
			snprintf(path, sizeof(path), "%s/%s/stat", dir,
				 de->d_name);
			FILE *f = fopen(path, "r");
			if (f == NULL)
				continue; /* the thread has gone */
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[n] = '\0';
			const char *rp = strrchr(buf, ')');
			if (rp != NULL && rp[1] == ' ' && rp[2] != 'T' &&
			    rp[2] != 't')
				all = false;
		}
		closedir(d);
		if (all)
			return true;
		usleep(10000);
	}
	return false;
}

/* SIGSTOP freezes the server: queries and connects fail within the
   timeouts; after SIGCONT the pool recovers. */
static void test_frozen(void)
{
	struct sqlpool *pool = pool_with(2, DB, 2, 2);
	const char *err = NULL;
	struct sqlconn *c, *d;
	struct sqlresult res;
	double t;

	test_begin("frozen");
	c = sqlpool_get(pool, 1000, &err);
	test_assert(c != NULL);
	if (c == NULL)
		goto out;
	test_assert(q_ok(c, "SELECT 1", NULL, 0));
	test_assert(kill(srv_pid, SIGSTOP) == 0);
	test_assert(wait_stopped(srv_pid));

	t = now_s();
	test_assert(sqlconn_query(c, "SELECT k FROM t", NULL, 0, 100, &res,
				  &err) == SQL_TEMPFAIL);
	t = now_s() - t;
	fprintf(stderr, "  frozen query failed after %.2f s: %s\n", t, err);
	test_assert(t >= 1.5 && t < 3.5);
	test_assert(res.nrows == 0 && res.rows == NULL);
	sqlpool_put(pool, &c, true);

	/* a new connection to the frozen server */
	t = now_s();
	d = sqlpool_get(pool, 100, &err);
	t = now_s() - t;
	test_assert(d == NULL);
	fprintf(stderr, "  frozen connect failed after %.2f s: %s\n", t,
		d == NULL ? err : "");
	test_assert(t < 2 + 2 + 1.5);
	sqlpool_put(pool, &d, true);

	test_assert(kill(srv_pid, SIGCONT) == 0);
	c = sqlpool_get(pool, 1000, &err);
	test_assert(c != NULL && q_ok(c, "SELECT COUNT(*) FROM t", NULL, 0));
	sqlpool_put(pool, &c, false);
out:
	kill(srv_pid, SIGCONT);
	sqlpool_free(&pool);
}

/* The server goes away: TEMPFAIL on a held connection, NULL from get. */
static void test_stopped(void)
{
	struct sqlpool *pool = pool_with(2, DB, 2, 2);
	const char *err = NULL;
	struct sqlconn *c, *d;
	struct sqlresult res;
	double t;

	test_begin("stopped");
	c = sqlpool_get(pool, 1000, &err);
	test_assert(c != NULL);
	if (c == NULL)
		goto out;
	test_assert(q_ok(c, "SELECT 1", NULL, 0));
	server_stop();

	t = now_s();
	test_assert(sqlconn_query(c, "SELECT 1", NULL, 0, 10, &res, &err) ==
		    SQL_TEMPFAIL);
	t = now_s() - t;
	test_assert(t < 2 + 2 + 0.5);
	sqlpool_put(pool, &c, true);

	t = now_s();
	d = sqlpool_get(pool, 100, &err);
	t = now_s() - t;
	test_assert(d == NULL && err != NULL);
	test_assert(t < 2 + 2 + 0.5);
	sqlpool_put(pool, &d, true);
out:
	sqlpool_free(&pool);
}

int main(void)
{
	struct sqlpool *pool;

	signal(SIGPIPE, SIG_IGN);
	test_begin("server");
	if (!server_start()) {
		test_assert(!"cannot start a throw-away MariaDB server");
		server_stop();
		watchdog_stop();
		return test_end();
	}

	pool = pool_with(3, NULL, 2, 5);
	test_setup(pool);
	sqlpool_free(&pool);

	pool = pool_with(3, DB, 2, 5);
	test_queries(pool);
	test_errors(pool);
	test_stmt_cache(pool);
	sqlpool_free(&pool);

	test_exhaustion();
	test_threads();
	test_lock_timeout();

	if (srv_pid > 0) {
		test_frozen();
		test_stopped();
	} else {
		/* an external server: leave it running, drop our database */
		const char *err;
		pool = pool_with(1, NULL, 2, 5);
		struct sqlconn *c = sqlpool_get(pool, 1000, &err);
		if (c != NULL)
			test_assert(q_ok(c, "DROP DATABASE " DB, NULL, 0));
		sqlpool_put(pool, &c, false);
		sqlpool_free(&pool);
	}
	server_stop();
	watchdog_stop();
	return test_end();
}
