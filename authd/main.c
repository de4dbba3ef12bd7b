/*
 * youju-authd: the courier-authlib compatible authentication and directory
 * daemon (DESIGN §7, docs/authd-protocol.md).
 *
 *	youju-authd [-f] [-c configfile]
 *
 * -f stays in the foreground and copies the log to stderr; otherwise the
 * daemon detaches through daemon_start() and writes
 * $run_directory/youju-authd.pid.  Started as root it reads the MySQL
 * password file and the mysql: table files and creates the socket
 * (directory 0750, group of mail_owner; socket 0777, bound as socket.tmp
 * and renamed, as courier does).  That process stays as a small master
 * that reads no request: it forks the server process, which drops to
 * mail_owner before serving (server.c), and waits for signals.
 *
 * `youju reload` (SIGHUP): the master reads the configuration, the
 * password file and the table files again, as root, binds authd_socket
 * when it moved, and starts a new server process; once that is ready the
 * old one (SIGUSR1) stops accepting, answers the requests in progress and
 * exits.  A file that does not load, a bad value or a socket that cannot
 * be made keeps the running process, with an error in the log.  The new
 * process starts with empty caches and empty failed-login counters (as
 * Dovecot's auth process after a reload).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "net.h"
#include "privsep.h"
#include "server.h"
#include "xalloc.h"

#define AUTHD_OLD_MAX	      64
#define AUTHD_READY_WAIT_MS   20000
#define AUTHD_STOP_WAIT_MS    10000
#define AUTHD_RESTART_MAX_S   30
#define AUTHD_RESTART_YOUNG_S 10

/* What a server process starts from, held by the master. */
struct authd_state {
	struct authd_cfg *cfg; /* owns its conf */
	char *password;	       /* may be NULL; wiped when freed */
	int lfd;	       /* the socket at cfg->socket_path */
};

static struct authd_state cur;
static pid_t server_pid;
static time_t server_started;
static unsigned server_fails;
static uint64_t restart_at; /* monotonic ms; 0: none */
static pid_t old_pids[AUTHD_OLD_MAX];
static size_t nold;
static bool foreground;
static char authd_pidfile[4096];
static char *authd_conf_path;

static void ignore_warning(void *ctx, const char *msg)
{
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void password_free(char **pw)
{
	if (*pw != NULL) {
		explicit_bzero(*pw, strlen(*pw));
		free(*pw);
		*pw = NULL;
	}
}

/* Creates the socket's directory: mode 0750, group of mail_owner when we
   are root, so that only that group (and root) can reach the socket.
   Returns 0, or -1 with a message in err. */
static int make_socket_dir(const char *socket_path, const char *owner,
			   char *err, size_t errsz)
{
	char *dir = xstrdup(socket_path);
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (slash == NULL || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		(void)snprintf(err, errsz, "mkdir %s: %s", dir,
			       strerror(errno));
		rc = -1;
	} else if (geteuid() == 0) {
		uid_t uid;
		gid_t gid;
		if (privsep_lookup(owner, &uid, &gid) != 1) {
			(void)snprintf(err, errsz,
				       "mail_owner %s: no such user", owner);
			rc = -1;
		} else if (chown(dir, 0, gid) < 0) {
			(void)snprintf(err, errsz, "chown %s: %s", dir,
				       strerror(errno));
			rc = -1;
		}
	}
	if (rc == 0 && chmod(dir, 0750) < 0) {
		(void)snprintf(err, errsz, "chmod %s: %s", dir,
			       strerror(errno));
		rc = -1;
	}
	free(dir);
	return rc;
}

/* mysql_password_file, read as root.  A missing file means no password
   (a warning); any other failure is an error.  Returns 0 with *pw_r
   (NULL or owned), or -1 with a message in err. */
static int read_password(const struct conf *conf, char **pw_r, char *err,
			 size_t errsz)
{
	const char *pwpath = conf_str(conf, "mysql_password_file");
	const char *e = NULL;
	*pw_r = NULL;
	if (pwpath[0] == '\0')
		return 0;
	*pw_r = authd_read_secret(pwpath, &e);
	if (*pw_r != NULL)
		return 0;
	if (errno == ENOENT) {
		log_warning("authd: %s does not exist: connecting to MySQL "
			    "without a password",
			    pwpath);
		return 0;
	}
	(void)snprintf(err, errsz, "mysql_password_file = %s: %s", pwpath,
		       e != NULL ? e : strerror(errno));
	return -1;
}

/*
 * Loads authd_conf_path into st: the configuration, the password, the tables
 * (prev: the running state, whose socket is kept when authd_socket did
 * not change; NULL at start-up).  Returns 0, or -1 with a message in err
 * (st then holds nothing).
 */
static int state_load(struct authd_state *st, const struct authd_state *prev,
		      char *err, size_t errsz)
{
	const char *e = NULL;
	*st = (struct authd_state){.lfd = -1};
	/* unknown names were reported at start-up (daemon_begin) and by
	   `youju conf` */
	struct conf *conf =
	    conf_load_warn(authd_conf_path, conf_tables_for("authd"),
			   ignore_warning, NULL, &e);
	if (conf == NULL) {
		(void)snprintf(err, errsz, "%s",
			       e != NULL ? e : authd_conf_path);
		return -1;
	}
	if (read_password(conf, &st->password, err, errsz) < 0) {
		conf_free(&conf);
		return -1;
	}
	st->cfg = authd_cfg_new(conf, st->password, &e);
	if (st->cfg == NULL) {
		(void)snprintf(err, errsz, "%s: %s", authd_conf_path, e);
		conf_free(&conf);
		password_free(&st->password);
		return -1;
	}
	/* read as root: a mysql: table file may be mode 0600 */
	authd_cfg_load_maps(st->cfg, st->password,
			    prev != NULL ? prev->cfg : NULL);
	if (prev != NULL &&
	    strcmp(prev->cfg->socket_path, st->cfg->socket_path) == 0) {
		st->lfd = prev->lfd;
		return 0;
	}
	if (make_socket_dir(st->cfg->socket_path, st->cfg->mail_owner, err,
			    errsz) == 0) {
		st->lfd = net_listen_unix(st->cfg->socket_path, 0777, 1024, &e);
		if (st->lfd < 0)
			(void)snprintf(err, errsz, "authd_socket = %s: %s: %s",
				       st->cfg->socket_path, e,
				       strerror(errno));
	}
	if (st->lfd < 0) {
		authd_cfg_unref(&st->cfg);
		password_free(&st->password);
		return -1;
	}
	return 0;
}

/* The server process, in the child: never returns. */
static __attribute__((noreturn)) void server_child(struct authd_state *st,
						   pid_t master, int ready_fd,
						   int close_fd, int old_lfd)
{
	const char *err = NULL;
	log_set_pid();
	(void)prctl(PR_SET_NAME, "youju-authd-srv"); /* for ps and tests */
	daemon_ready_forget();
	close(close_fd);
	if (old_lfd >= 0 && old_lfd != st->lfd)
		close(old_lfd);
	/* SIGTERM, SIGINT, SIGHUP and SIGUSR1 stay blocked: the server's
	   loop takes them over (signalfd), pending ones included */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	(void)sigprocmask(SIG_UNBLOCK, &chld, NULL);
	if (privsep_drop(st->cfg->mail_owner, &err) < 0)
		fatal("authd: cannot drop privileges to %s: %s",
		      st->cfg->mail_owner, err);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		fatal("prctl: %s", strerror(errno));
	if (getppid() != master)
		_exit(0);
	log_info("authd: listening on %s (%u workers)", st->cfg->socket_path,
		 st->cfg->workers);
	char b = 'R';
	ssize_t n;
	do
		n = write(ready_fd, &b, 1);
	while (n < 0 && errno == EINTR);
	close(ready_fd);
	if (!foreground) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			(void)dup2(nul, STDERR_FILENO);
			close(nul);
		}
	}
	int rc =
	    authd_server_run(st->lfd, st->cfg, authd_conf_path, st->password);
	close(st->lfd);
	password_free(&st->password);
	log_info("authd: stopped");
	log_close();
	exit(rc < 0 ? 1 : 0);
}

/* Forks the server process of st and waits until it is ready (old_lfd:
   a socket it must not keep).  Returns its pid, or -1 with err. */
static pid_t server_start(struct authd_state *st, int old_lfd, char *err,
			  size_t errsz)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		(void)snprintf(err, errsz, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t master = getpid();
	(void)fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) /* the server takes this copy's reference over */
		server_child(st, master, p[1], p[0], old_lfd);
	int saved = errno;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		(void)snprintf(err, errsz, "fork: %s", strerror(saved));
		return -1;
	}
	uint64_t deadline = now_ms() + AUTHD_READY_WAIT_MS;
	for (;;) {
		uint64_t now = now_ms();
		struct pollfd pfd = {p[0], POLLIN, 0};
		int r =
		    now < deadline ? poll(&pfd, 1, (int)(deadline - now)) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		char b;
		ssize_t n = r > 0 ? read(p[0], &b, 1) : 0;
		if (n < 0 && errno == EINTR)
			continue;
		close(p[0]);
		if (n == 1)
			return pid;
		(void)kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		(void)snprintf(err, errsz, "the server process did not start");
		return -1;
	}
}

static void old_add(pid_t pid)
{
	if (nold == AUTHD_OLD_MAX) {
		(void)kill(old_pids[0], SIGTERM);
		memmove(old_pids, old_pids + 1,
			(AUTHD_OLD_MAX - 1) * sizeof(*old_pids));
		nold--;
	}
	old_pids[nold++] = pid;
}

static void state_free(struct authd_state *st, const struct authd_state *keep)
{
	if (st->lfd >= 0 && (keep == NULL || keep->lfd != st->lfd))
		close(st->lfd);
	st->lfd = -1;
	authd_cfg_unref(&st->cfg);
	password_free(&st->password);
}

static void master_log_conf(const struct conf *c)
{
	const char *log_file = conf_str(c, "log_file");
	log_set_syslog_name(conf_str(c, "syslog_name"));
	if (log_open("authd", log_file[0] != '\0' ? log_file : NULL,
		     conf_bool(c, "syslog_enable")) < 0)
		log_warning("cannot open %s: %s", log_file, strerror(errno));
	log_set_stderr(foreground);
	log_set_debug(conf_bool(c, "debug"));
}

static void master_reload(void)
{
	char err[1024];
	struct authd_state st;
	if (log_reopen() < 0)
		log_warning("authd: cannot reopen the log file: %s",
			    strerror(errno));
	if (state_load(&st, &cur, err, sizeof err) < 0) {
		log_error("authd: reload failed, keeping the running "
			  "configuration: %s",
			  err);
		return;
	}
	master_log_conf(st.cfg->conf);
	pid_t pid = server_start(&st, cur.lfd, err, sizeof err);
	if (pid < 0) {
		master_log_conf(cur.cfg->conf);
		log_error("authd: reload failed, keeping the running "
			  "configuration: %s",
			  err);
		if (st.lfd != cur.lfd)
			(void)unlink(st.cfg->socket_path);
		state_free(&st, &cur);
		return;
	}
	if (server_pid > 0) {
		(void)kill(server_pid, SIGUSR1);
		old_add(server_pid);
	}
	server_pid = pid;
	server_started = time(NULL);
	if (st.lfd != cur.lfd &&
	    strcmp(st.cfg->socket_path, cur.cfg->socket_path) != 0)
		(void)unlink(cur.cfg->socket_path);
	state_free(&cur, &st);
	cur = st;
	daemon_pidfile_follow(authd_pidfile, sizeof(authd_pidfile),
			      cur.cfg->run_directory, "youju-authd");
	log_info("authd: configuration reloaded, caches cleared");
}

static void master_reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != server_pid) {
			for (size_t i = 0; i < nold; i++)
				if (old_pids[i] == pid) {
					old_pids[i] = old_pids[--nold];
					break;
				}
			continue;
		}
		if (WIFSIGNALED(status))
			log_warning("authd: server pid %ld killed by signal %d",
				    (long)pid, WTERMSIG(status));
		else
			log_warning("authd: server pid %ld exit status %d",
				    (long)pid, WEXITSTATUS(status));
		uint64_t delay = 0;
		if (time(NULL) - server_started < AUTHD_RESTART_YOUNG_S) {
			server_fails++;
			delay = 1000;
			for (unsigned i = 1; i < server_fails &&
					     delay < AUTHD_RESTART_MAX_S * 1000;
			     i++)
				delay *= 2;
			if (delay > AUTHD_RESTART_MAX_S * 1000)
				delay = AUTHD_RESTART_MAX_S * 1000;
		} else {
			server_fails = 0;
		}
		server_pid = 0;
		restart_at = now_ms() + delay;
	}
}

static void master_kill_all(int signo)
{
	if (server_pid > 0)
		(void)kill(server_pid, signo);
	for (size_t i = 0; i < nold; i++)
		(void)kill(old_pids[i], signo);
}

static void master_stop(const sigset_t *set)
{
	master_kill_all(SIGTERM);
	uint64_t deadline = now_ms() + AUTHD_STOP_WAIT_MS;
	while (server_pid > 0 || nold > 0) {
		uint64_t now = now_ms();
		if (now >= deadline) {
			log_warning("authd: server processes did not stop, "
				    "killing them");
			master_kill_all(SIGKILL);
			deadline = UINT64_MAX;
		}
		uint64_t left = deadline == UINT64_MAX ? 1000 : deadline - now;
		struct timespec ts = {(time_t)(left / 1000),
				      (long)(left % 1000) * 1000000L};
		(void)sigtimedwait(set, NULL, &ts);
		pid_t pid;
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
			if (pid == server_pid)
				server_pid = 0;
			for (size_t i = 0; i < nold; i++)
				if (old_pids[i] == pid) {
					old_pids[i] = old_pids[--nold];
					break;
				}
		}
	}
}

static void master_run(const sigset_t *set)
{
	char err[1024];
	for (;;) {
		uint64_t now = now_ms();
		if (server_pid == 0 && restart_at != 0 && restart_at <= now) {
			pid_t pid = server_start(&cur, -1, err, sizeof err);
			if (pid > 0) {
				server_pid = pid;
				server_started = time(NULL);
				restart_at = 0;
				log_info("authd: server process restarted "
					 "(pid %ld)",
					 (long)pid);
			} else {
				log_error("authd: %s", err);
				restart_at = now + 1000 * AUTHD_RESTART_MAX_S;
			}
		}
		siginfo_t si;
		int signo;
		if (server_pid != 0 || restart_at == 0) {
			signo = sigwaitinfo(set, &si);
		} else {
			uint64_t left = restart_at > now ? restart_at - now : 0;
			struct timespec ts = {(time_t)(left / 1000),
					      (long)(left % 1000) * 1000000L};
			signo = sigtimedwait(set, &si, &ts);
		}
		if (signo == SIGCHLD) {
			master_reap();
		} else if (signo == SIGHUP) {
			master_reload();
		} else if (signo == SIGTERM || signo == SIGINT) {
			log_info("authd: stopping on signal %d", signo);
			master_stop(set);
			return;
		}
	}
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	char err[1024];
	const char *derr = NULL;
	struct conf *conf =
	    daemon_begin(argc, argv, "youju-authd", "authd", "authd", &opts);
	foreground = opts.foreground;
	authd_conf_path = opts.conf_path;
	conf_free(&conf); /* state_load reads it again, with the secret */
	if (state_load(&cur, NULL, err, sizeof err) < 0)
		fatal("authd: %s", err);

	char *pidfile = authd_pidfile;
	int n = snprintf(pidfile, sizeof(authd_pidfile), "%s/youju-authd.pid",
			 cur.cfg->run_directory);
	if (n < 0 || (size_t)n >= sizeof(authd_pidfile))
		fatal("authd: run_directory too long");
	if (daemon_start(pidfile, foreground, &derr) < 0)
		fatal("authd: %s: %s", derr, strerror(errno));
	log_set_pid();
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal: %s", strerror(errno));

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal("sigprocmask: %s", strerror(errno));
	sigdelset(&set, SIGUSR1); /* the server's signal: ignored here */
	server_pid = server_start(&cur, -1, err, sizeof err);
	if (server_pid < 0)
		fatal("authd: %s", err);
	server_started = time(NULL);
	daemon_ready();

	master_run(&set);
	state_free(&cur, NULL);
	daemon_pidfile_remove(pidfile);
	free(authd_conf_path);
	log_info("authd: stopped");
	log_close();
	return 0;
}
