/*
 * `youju start|stop|status|reload`.  The instance's files are made by
 * scripts/instance.sh (shell is the right tool for mariadb-install-db,
 * openssl and useradd); this file decides what runs.  Each daemon
 * daemonizes itself and writes <run_directory>/<name>.pid, so start only
 * waits for the daemon's parent to report "ready" through its exit status.
 * Daemons are looked for beside this binary: a program that does not exist
 * yet is skipped, which lets the suite grow one daemon at a time.
 */
#include "instance.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "daemon.h"
#include "xalloc.h"

/* In start order; stopped in reverse.  authd first: the others ask it. */
static const char *const instance_daemons[] = {
    "youju-authd",   "youju-mta",      "youju-mra",
    "youju-webmail", "youju-webadmin", "youju-mailgraph",
};
#define INSTANCE_NDAEMONS     (sizeof instance_daemons / sizeof *instance_daemons)
#define INSTANCE_STOP_WAIT_MS 10000

static char instance_bindir[PATH_MAX];

static const char *instance_bin_dir(void)
{
	if (instance_bindir[0] != '\0')
		return instance_bindir;
	ssize_t n = readlink("/proc/self/exe", instance_bindir,
			     sizeof instance_bindir - 1);
	if (n <= 0) {
		memcpy(instance_bindir, ".", 2);
		return instance_bindir;
	}
	instance_bindir[n] = '\0';
	char *slash = strrchr(instance_bindir, '/');
	if (slash != NULL)
		*slash = '\0';
	return instance_bindir;
}

/*
 * Where instance.sh lives: $YOUJU_SCRIPTS; beside an installed binary
 * (<prefix>/sbin/youju -> <prefix>/libexec/youju); the checkout it was
 * built in; or the configured PREFIX.
 */
static const char *instance_scripts_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("YOUJU_SCRIPTS");
	if (env != NULL && env[0] != '\0')
		return env;
	struct stat st;
	int n = snprintf(dir, sizeof dir, "%s/../libexec/youju",
			 instance_bin_dir());
	if (n > 0 && (size_t)n + sizeof "/instance.sh" <= sizeof dir) {
		char probe[PATH_MAX + 16];
		int m = snprintf(probe, sizeof probe, "%s/instance.sh", dir);
		if (m > 0 && (size_t)m < sizeof probe && stat(probe, &st) == 0)
			return dir;
	}
	if (stat(YOUJU_SRCDIR "/scripts/instance.sh", &st) == 0)
		return YOUJU_SRCDIR "/scripts";
	return YOUJU_PREFIX "/libexec/youju";
}

static struct conf *instance_conf(void)
{
	char *path = conf_default_path();
	const char *err = NULL;
	struct conf *c = conf_load(path, conf_all_tables, &err);
	if (c == NULL)
		fprintf(stderr, "youju: %s\n", err);
	free(path);
	return c;
}

static int instance_setenv(const struct conf *c)
{
	/* the script reads its settings from the environment, so that the
	   one parser of youju.cf stays lib/conf */
	static const char *const vars[][2] = {
	    {"YOUJU_MYSQL_PRIVATE", "mysql_private"},
	    {"YOUJU_MYSQL_SOCKET", "mysql_socket"},
	    {"YOUJU_MYSQL_HOST", "mysql_host"},
	    {"YOUJU_MYSQL_PORT", "mysql_port"},
	    {"YOUJU_MYSQL_DBNAME", "mysql_dbname"},
	    {"YOUJU_MYSQL_USER", "mysql_user"},
	    {"YOUJU_MYSQL_PASSWORD_FILE", "mysql_password_file"},
	    {"YOUJU_WEBADMIN_MYSQL_USER", "webadmin_mysql_user"},
	    {"YOUJU_WEBADMIN_MYSQL_PASSWORD_FILE",
	     "webadmin_mysql_password_file"},
	    {"YOUJU_MAIL_OWNER", "mail_owner"},
	    {"YOUJU_MYHOSTNAME", "myhostname"},
	    {"YOUJU_RUN_DIR", "run_directory"},
	    {"YOUJU_CONFIG_DIR", "config_directory"},
	    {"YOUJU_QUEUE_DIR", "queue_directory"},
	    {"YOUJU_MAILBOX_BASE", "virtual_mailbox_base"},
	    {"YOUJU_LOG_FILE", "log_file"},
	    {"YOUJU_TLS_CERT", "smtpd_tls_cert_file"},
	    {"YOUJU_TLS_KEY", "smtpd_tls_key_file"},
	    {"YOUJU_AUTHD_SOCKET", "authd_socket"},
	};
	if (setenv("YOUJU_HOME", conf_home(), 1) < 0)
		return -1;
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
		const struct conf_param *p =
		    conf_find_param(conf_all_tables, vars[i][1]);
		if (p == NULL)
			continue; /* a table without it: the script has a
				     default */
		const char *v;
		char num[32];
		if (p->type == CONF_BOOL) {
			v = conf_bool(c, vars[i][1]) ? "yes" : "no";
		} else if (p->type == CONF_INT || p->type == CONF_SIZE) {
			int n = snprintf(num, sizeof num, "%lld",
					 (long long)conf_int(c, vars[i][1]));
			if (n < 0 || (size_t)n >= sizeof num)
				return -1;
			v = num;
		} else {
			v = conf_str(c, vars[i][1]);
		}
		if (setenv(vars[i][0], v, 1) < 0)
			return -1;
	}
	return 0;
}

/* Runs scripts/instance.sh ACTION; returns its exit status or -1. */
static int instance_script(const char *action)
{
	struct buf path;
	buf_init(&path, PATH_MAX);
	if (buf_printf(&path, "%s/instance.sh", instance_scripts_dir()) < 0) {
		buf_deinit(&path);
		return -1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		buf_deinit(&path);
		return -1;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", buf_cstr(&path), action, (char *)NULL);
		_exit(127);
	}
	buf_deinit(&path);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *instance_pidfile(const struct conf *c, const char *daemon)
{
	struct buf b;
	buf_init(&b, PATH_MAX);
	if (buf_printf(&b, "%s/%s.pid", conf_str(c, "run_directory"), daemon) <
	    0) {
		buf_deinit(&b);
		return NULL;
	}
	return b.p;
}

static char *instance_daemon_path(const char *daemon)
{
	struct buf b;
	buf_init(&b, PATH_MAX);
	if (buf_printf(&b, "%s/%s", instance_bin_dir(), daemon) < 0) {
		buf_deinit(&b);
		return NULL;
	}
	if (access(b.p, X_OK) < 0) {
		buf_deinit(&b);
		return NULL;
	}
	return b.p;
}

/* pid of a running daemon, else 0 */
static pid_t instance_running(const struct conf *c, const char *daemon)
{
	char *pf = instance_pidfile(c, daemon);
	if (pf == NULL)
		return 0;
	pid_t pid = daemon_pidfile_read(pf);
	free(pf);
	if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
		pid = 0;
	return pid;
}

/*
 * The private MariaDB runs only for an instance whose database is local to
 * it: mysql_private = yes and no mysql_host naming another server.
 */
static bool instance_db_private(const struct conf *c)
{
	return conf_bool(c, "mysql_private") &&
	       conf_str(c, "mysql_host")[0] == '\0';
}

static int instance_start_daemon(const struct conf *c, const char *daemon)
{
	char *path = instance_daemon_path(daemon);
	if (path == NULL)
		return 0; /* not built yet */
	pid_t running = instance_running(c, daemon);
	if (running > 0) {
		printf("%s: already running (pid %ld)\n", daemon,
		       (long)running);
		free(path);
		return 0;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		free(path);
		return -1;
	}
	if (pid == 0) {
		execl(path, daemon, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			break;
	free(path);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "youju: %s failed to start (see %s)\n", daemon,
			conf_str(c, "log_file"));
		return -1;
	}
	printf("%s: started (pid %ld)\n", daemon,
	       (long)instance_running(c, daemon));
	return 0;
}

static void instance_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int instance_stop_daemon(const struct conf *c, const char *daemon)
{
	pid_t pid = instance_running(c, daemon);
	if (pid <= 0)
		return 0;
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return -1;
	for (int waited = 0; waited < INSTANCE_STOP_WAIT_MS; waited += 50) {
		if (kill(pid, 0) < 0 && errno == ESRCH) {
			/* a daemon that dropped privileges may not be able to
			   remove its own pid file from run/ */
			char *pf = instance_pidfile(c, daemon);
			if (pf != NULL)
				unlink(pf);
			free(pf);
			printf("%s: stopped\n", daemon);
			return 0;
		}
		instance_sleep_ms(50);
	}
	fprintf(stderr, "youju: %s (pid %ld) did not stop, killing it\n",
		daemon, (long)pid);
	kill(pid, SIGKILL);
	return 0;
}

int cli_start(int argc, char **argv)
{
	struct conf *c = instance_conf();
	if (c == NULL || instance_setenv(c) < 0) {
		conf_free(&c);
		return 1;
	}
	int rc = 0;
	if (instance_script("init") != 0) {
		fprintf(stderr, "youju: creating the instance failed\n");
		rc = 1;
	} else if (instance_db_private(c) && instance_script("db-start") != 0) {
		fprintf(stderr, "youju: the private MariaDB did not start\n");
		rc = 1;
	}
	for (size_t i = 0; rc == 0 && i < INSTANCE_NDAEMONS; i++)
		if (instance_start_daemon(c, instance_daemons[i]) < 0)
			rc = 1;
	conf_free(&c);
	return rc;
}

int cli_stop(int argc, char **argv)
{
	struct conf *c = instance_conf();
	if (c == NULL || instance_setenv(c) < 0) {
		conf_free(&c);
		return 1;
	}
	int rc = 0;
	for (size_t i = INSTANCE_NDAEMONS; i-- > 0;)
		if (instance_stop_daemon(c, instance_daemons[i]) < 0)
			rc = 1;
	if (instance_db_private(c) && instance_script("db-stop") != 0)
		rc = 1;
	conf_free(&c);
	return rc;
}

int cli_status(int argc, char **argv)
{
	struct conf *c = instance_conf();
	if (c == NULL || instance_setenv(c) < 0) {
		conf_free(&c);
		return 1;
	}
	int down = 0;
	for (size_t i = 0; i < INSTANCE_NDAEMONS; i++) {
		char *path = instance_daemon_path(instance_daemons[i]);
		if (path == NULL)
			continue;
		free(path);
		pid_t pid = instance_running(c, instance_daemons[i]);
		if (pid > 0) {
			printf("%-16s running (pid %ld)\n", instance_daemons[i],
			       (long)pid);
		} else {
			printf("%-16s not running\n", instance_daemons[i]);
			down++;
		}
	}
	if (instance_db_private(c) && instance_script("db-status") != 0)
		down++;
	conf_free(&c);
	return down ? 3 : 0; /* 3: "not running", as LSB status says */
}

int cli_reload(int argc, char **argv)
{
	struct conf *c = instance_conf();
	if (c == NULL)
		return 1;
	int rc = 0;
	for (size_t i = 0; i < INSTANCE_NDAEMONS; i++) {
		pid_t pid = instance_running(c, instance_daemons[i]);
		if (pid <= 0)
			continue;
		if (kill(pid, SIGHUP) < 0) {
			rc = 1;
			continue;
		}
		printf("%s: reloaded\n", instance_daemons[i]);
	}
	conf_free(&c);
	return rc;
}
