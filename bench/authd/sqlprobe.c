/*
 * bench/authd/sqlprobe: what one user lookup costs MariaDB, by statement
 * form (docs/authd.md, "Where an AUTH's CPU goes with the cache off").
 * Runs N lookups of bench0000@extmail.org ... over one connection, as a
 * youju-authd worker does, and prints the CPU MariaDB (its pid given) and
 * this client spent per lookup.  Forms:
 *   select   youju-authd's default user query (prepared), with the domain
 *            `active` subquery (authd_check_domain_active = yes)
 *   nodomain the same without the subquery
 *   handler  HANDLER mailbox READ `PRIMARY` = (?) and HANDLER domain READ
 *            `PRIMARY` = (?) (prepared; tables opened once): no parser
 *            work beyond the statement, no optimiser
 *   inN      the user query for N logins at once: WHERE username IN (?, ...)
 *   fieldN   the same with a FIELD(username, ?, ...) column
 *   flagN    the same with one "username = ?" column per login: the form
 *            youju-authd uses (lib/extmail_sql.c, extmail_login_batch_query)
 *   unionN   N tagged one-login queries joined by UNION ALL
 * (a batch form's cost is printed per login: per statement / N)
 * Not a test: bench/authd/sqlprobe.py runs it (--forms).
 *
 *   sqlprobe SOCKET USER PASSWORD-FILE MARIADB-PID MAILBOXES N FORM
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define COLS_MAX 64
#define ARGS_MAX 16

static const char q_select[] =
    "SELECT username, password, '', uidnumber, gidnumber, homedir, maildir, "
    "quota, name, disablesmtpd, disablesmtp, disablewebmail, "
    "disablenetdisk, disableimap, disablepop3, disablepwdchange, active, "
    "(SELECT COUNT(*) FROM domain WHERE domain.domain = "
    "SUBSTRING_INDEX(mailbox.username, '@', -1) AND domain.active = 1), "
    "(expiredate > '1000-01-01' AND expiredate < CURDATE()), netdiskquota "
    "FROM mailbox WHERE username = ?";
static const char q_nodomain[] =
    "SELECT username, password, '', uidnumber, gidnumber, homedir, maildir, "
    "quota, name, disablesmtpd, disablesmtp, disablewebmail, "
    "disablenetdisk, disableimap, disablepop3, disablepwdchange, active, "
    "1, (expiredate > '1000-01-01' AND expiredate < CURDATE()), "
    "netdiskquota FROM mailbox WHERE username = ?";
/* the select list of q_select, for the batch forms */
static const char cols_select[] =
    "username, password, '', uidnumber, gidnumber, homedir, maildir, "
    "quota, name, disablesmtpd, disablesmtp, disablewebmail, "
    "disablenetdisk, disableimap, disablepop3, disablepwdchange, active, "
    "(SELECT COUNT(*) FROM domain WHERE domain.domain = "
    "SUBSTRING_INDEX(mailbox.username, '@', -1) AND domain.active = 1), "
    "(expiredate > '1000-01-01' AND expiredate < CURDATE()), netdiskquota";
static const char q_hmailbox[] = "HANDLER mailbox READ `PRIMARY` = (?)";
static const char q_hdomain[] = "HANDLER domain READ `PRIMARY` = (?)";

static double proc_cpu(long pid)
{
	char p[64], b[2048];
	snprintf(p, sizeof p, "/proc/%ld/stat", pid);
	FILE *f = fopen(p, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(b, 1, sizeof b - 1, f);
	fclose(f);
	b[n] = '\0';
	char *s = strrchr(b, ')');
	unsigned long ut = 0, st = 0;
	if (s == NULL ||
	    sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Executes st with one string parameter and reads every row; the number
   of rows, or -1. */
static int run_n(MYSQL_STMT *st, const char *const *args, unsigned nargs)
{
	MYSQL_BIND in[ARGS_MAX];
	unsigned long len[ARGS_MAX];
	memset(in, 0, sizeof in);
	for (unsigned i = 0; i < nargs; i++) {
		len[i] = (unsigned long)strlen(args[i]);
		in[i].buffer_type = MYSQL_TYPE_STRING;
		in[i].buffer = (void *)args[i];
		in[i].buffer_length = len[i];
		in[i].length = &len[i];
	}
	if (mysql_stmt_bind_param(st, in) != 0 || mysql_stmt_execute(st) != 0)
		return -1;
	unsigned n = mysql_stmt_field_count(st);
	if (n > COLS_MAX)
		return -1;
	MYSQL_BIND out[COLS_MAX];
	char bufs[COLS_MAX][256];
	unsigned long lens[COLS_MAX];
	my_bool nulls[COLS_MAX];
	memset(out, 0, sizeof out);
	for (unsigned i = 0; i < n; i++) {
		out[i].buffer_type = MYSQL_TYPE_STRING;
		out[i].buffer = bufs[i];
		out[i].buffer_length = sizeof bufs[i];
		out[i].length = &lens[i];
		out[i].is_null = &nulls[i];
	}
	if (n > 0 && mysql_stmt_bind_result(st, out) != 0)
		return -1;
	int rows = 0;
	int r;
	while ((r = mysql_stmt_fetch(st)) == 0 || r == MYSQL_DATA_TRUNCATED)
		rows++;
	mysql_stmt_free_result(st);
	return rows;
}

static int run(MYSQL_STMT *st, const char *arg)
{
	return run_n(st, &arg, 1);
}

static MYSQL_STMT *prep(MYSQL *db, const char *q)
{
	MYSQL_STMT *st = mysql_stmt_init(db);
	if (st == NULL || mysql_stmt_prepare(st, q, strlen(q)) != 0) {
		fprintf(stderr, "sqlprobe: prepare %s: %s\n", q,
			st != NULL ? mysql_stmt_error(st) : mysql_error(db));
		exit(1);
	}
	return st;
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: sqlprobe SOCKET USER PASSWORD-FILE "
				"MARIADB-PID MAILBOXES N FORM\n");
		return 2;
	}
	char pw[256] = "";
	FILE *f = fopen(argv[3], "r");
	if (f == NULL || fgets(pw, sizeof pw, f) == NULL) {
		perror(argv[3]);
		return 1;
	}
	fclose(f);
	pw[strcspn(pw, "\r\n")] = '\0';
	long dbpid = strtol(argv[4], NULL, 10);
	int boxes = (int)strtol(argv[5], NULL, 10);
	int n = (int)strtol(argv[6], NULL, 10);
	const char *form = argv[7];
	if (boxes <= 0 || n <= 0)
		return 2;
	MYSQL *db = mysql_init(NULL);
	if (mysql_real_connect(db, NULL, argv[2], pw, "extmail", 0, argv[1],
			       0) == NULL) {
		fprintf(stderr, "sqlprobe: connect: %s\n", mysql_error(db));
		return 1;
	}
	MYSQL_STMT *a = NULL, *b = NULL;
	unsigned batch = 1;
	static char q[16384];
	size_t ql = 0;
#define QADD(...) ql += (size_t)snprintf(q + ql, sizeof q - ql, __VA_ARGS__)
	unsigned flags = 0; /* 1: FIELD() column, 2: one flag per login */
	if ((sscanf(form, "in%u", &batch) == 1 ||
	     (sscanf(form, "field%u", &batch) == 1 && (flags = 1)) ||
	     (sscanf(form, "flag%u", &batch) == 1 && (flags = 2))) &&
	    batch >= 1 && batch <= ARGS_MAX / 2) {
		/* one statement, WHERE username IN (?, ..., ?), with the
		   logins first bound to the tag columns when there are any */
		QADD("SELECT ");
		if (flags == 1) {
			QADD("FIELD(username");
			for (unsigned i = 0; i < batch; i++)
				QADD(", ?");
			QADD("), ");
		}
		for (unsigned i = 0; flags == 2 && i < batch; i++)
			QADD("username = ?, ");
		QADD("%s FROM mailbox WHERE username IN (", cols_select);
		for (unsigned i = 0; i < batch; i++)
			QADD("%s?", i ? ", " : "");
		QADD(")");
		a = prep(db, q);
	} else if (sscanf(form, "union%u", &batch) == 1 && batch >= 1 &&
		   batch <= ARGS_MAX) {
		/* one single-user SELECT per user, tagged, UNION ALL */
		for (unsigned i = 0; i < batch; i++)
			QADD("%sSELECT %u, %s FROM mailbox WHERE username = ?",
			     i ? " UNION ALL " : "", i, cols_select);
		a = prep(db, q);
	} else if (strcmp(form, "select") == 0) {
		a = prep(db, q_select);
	} else if (strcmp(form, "nodomain") == 0) {
		a = prep(db, q_nodomain);
	} else if (strcmp(form, "handler") == 0) {
		if (mysql_query(db, "HANDLER mailbox OPEN") != 0 ||
		    mysql_query(db, "HANDLER domain OPEN") != 0) {
			fprintf(stderr, "sqlprobe: HANDLER OPEN: %s\n",
				mysql_error(db));
			return 1;
		}
		a = prep(db, q_hmailbox);
		b = prep(db, q_hdomain);
	} else {
		fprintf(stderr, "sqlprobe: unknown form %s\n", form);
		return 2;
	}
	int found = 0;
	struct timespec t0, t1;
	double d0 = proc_cpu(dbpid), c0 = self_cpu();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i += (int)batch) {
		static char users[ARGS_MAX][64];
		const char *args[ARGS_MAX];
		unsigned na = 0;
		for (unsigned k = 0; k < batch; k++) {
			snprintf(users[k], sizeof users[k],
				 "bench%04d@extmail.org", (i + (int)k) % boxes);
			args[na++] = users[k];
		}
		/* the tag columns' parameters: the logins again */
		if (strncmp(form, "field", 5) == 0 ||
		    strncmp(form, "flag", 4) == 0)
			for (unsigned k = 0; k < batch; k++)
				args[na++] = users[k];
		int r = run_n(a, args, na);
		if (r < 0) {
			fprintf(stderr, "sqlprobe: %s\n", mysql_stmt_error(a));
			return 1;
		}
		if (b != NULL && r > 0 && run(b, "extmail.org") < 0) {
			fprintf(stderr, "sqlprobe: %s\n", mysql_stmt_error(b));
			return 1;
		}
		found += r;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double d1 = proc_cpu(dbpid), c1 = self_cpu();
	double wall = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%-8s %d lookups (%d found): MariaDB %.1f us, client %.1f us, "
	       "wall %.1f us per lookup\n",
	       form, n, found, (d1 - d0) / n * 1e6, (c1 - c0) / n * 1e6,
	       wall / n * 1e6);
	mysql_stmt_close(a);
	if (b != NULL)
		mysql_stmt_close(b);
	mysql_close(db);
	return found == n ? 0 : 1;
#undef QADD
}
