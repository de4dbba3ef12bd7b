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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authc_cache.h"
#include "cfg.h"
#include "conf.h"
#include "daemon.h"
#include "generation.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "privsep.h"
#include "server.h"
#include "xalloc.h"

#define AUTHD_OLD_MAX	    64
#define AUTHD_READY_WAIT_MS 20000
#define AUTHD_STOP_WAIT_MS  10000

/* What a server process starts from, held by the master. */
struct authd_state {
	struct authd_cfg *cfg; /* owns its conf */
	char *password;	       /* may be NULL; wiped when freed */
	int lfd;	       /* the socket at cfg->socket_path */
	struct authd_gen *gen; /* its generation file, or NULL */
};

static struct authd_state cur;
static struct master_proc server = {.what = "server process"};
static struct master_proc old_servers[AUTHD_OLD_MAX];
static struct master authd_master; /* set up in main() */
static bool foreground;
static char authd_pidfile[4096];
static char *authd_conf_path;

static void ignore_warning(void *ctx, const char *msg)
{
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
		st->gen = prev->gen;
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
	/* without it authd works as before; only the clients' reuse of
	   its answers is off */
	st->gen = authd_gen_open(st->cfg->socket_path, st->cfg->mail_owner, &e);
	if (st->gen == NULL)
		log_warning("authd: %s%s: %s: %s: clients reuse no answers",
			    st->cfg->socket_path, AUTHC_GEN_SUFFIX, e,
			    strerror(errno));
	return 0;
}

/* What server_child needs: the state to serve, and a socket it must not
   keep (the one being replaced). */
struct authd_spawn {
	struct authd_state *st;
	int old_lfd;
};

/* The server process, in the child (lib/master): never returns. */
static __attribute__((noreturn)) void server_child(void *ctx, pid_t master,
						   int ready_fd)
{
	struct authd_spawn *sp = ctx;
	struct authd_state *st = sp->st;
	const char *err = NULL;
	master_child_begin();
	(void)prctl(PR_SET_NAME, "youju-authd-srv"); /* for ps and tests */
	daemon_ready_forget();
	if (sp->old_lfd >= 0 && sp->old_lfd != st->lfd)
		close(sp->old_lfd);
	if (privsep_drop(st->cfg->mail_owner, &err) < 0)
		fatal("authd: cannot drop privileges to %s: %s",
		      st->cfg->mail_owner, err);
	master_child_tie(master, SIGTERM);
	/* a new process, empty caches: what clients kept is void */
	authd_gen_use(st->gen);
	authd_gen_bump();
	log_info("authd: listening on %s (%u workers)", st->cfg->socket_path,
		 st->cfg->workers);
	master_child_ready(ready_fd, foreground);
	int rc =
	    authd_server_run(st->lfd, st->cfg, authd_conf_path, st->password);
	/* the last answers of a drained process (reload) are void too */
	authd_gen_bump();
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
	struct authd_spawn sp = {st, old_lfd};
	return master_spawn(server_child, &sp, AUTHD_READY_WAIT_MS, err, errsz);
}

static void state_free(struct authd_state *st, const struct authd_state *keep)
{
	if (st->lfd >= 0 && (keep == NULL || keep->lfd != st->lfd))
		close(st->lfd);
	st->lfd = -1;
	if (keep == NULL || keep->gen != st->gen)
		authd_gen_close(&st->gen);
	st->gen = NULL;
	authd_cfg_unref(&st->cfg);
	password_free(&st->password);
}

static void master_reload(void)
{
	char err[1024];
	struct authd_state st;
	master_log_reopen();
	if (state_load(&st, &cur, err, sizeof err) < 0) {
		log_error("authd: reload failed, keeping the running "
			  "configuration: %s",
			  err);
		return;
	}
	master_log_conf(st.cfg->conf, "authd", foreground);
	pid_t pid = server_start(&st, cur.lfd, err, sizeof err);
	if (pid < 0) {
		master_log_conf(cur.cfg->conf, "authd", foreground);
		log_error("authd: reload failed, keeping the running "
			  "configuration: %s",
			  err);
		if (st.lfd != cur.lfd)
			(void)unlink(st.cfg->socket_path);
		state_free(&st, &cur);
		return;
	}
	if (server.pid > 0) {
		(void)kill(server.pid, SIGUSR1);
		master_old_add(&authd_master, &server);
	}
	server.pid = pid;
	server.started = time(NULL);
	server.restart_at = 0;
	if (st.lfd != cur.lfd &&
	    strcmp(st.cfg->socket_path, cur.cfg->socket_path) != 0)
		(void)unlink(cur.cfg->socket_path);
	state_free(&cur, &st);
	cur = st;
	daemon_pidfile_follow(authd_pidfile, sizeof(authd_pidfile),
			      cur.cfg->run_directory, "youju-authd");
	log_info("authd: configuration reloaded, caches cleared");
}

/* lib/master: the server process died; a new one on the running state */
static pid_t master_restart(size_t i)
{
	char err[1024];
	(void)i;
	pid_t pid = server_start(&cur, -1, err, sizeof err);
	if (pid < 0)
		log_error("authd: %s", err);
	return pid;
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	char err[1024];
	struct conf *conf =
	    daemon_begin(argc, argv, "youju-authd", "authd", "authd", &opts);
	foreground = opts.foreground;
	authd_conf_path = opts.conf_path;
	conf_free(&conf); /* state_load reads it again, with the secret */
	if (state_load(&cur, NULL, err, sizeof err) < 0)
		fatal("authd: %s", err);
	master_log_conf(cur.cfg->conf, "authd", foreground);

	char *pidfile = authd_pidfile;
	daemon_detach(cur.cfg->run_directory, "youju-authd", foreground,
		      authd_pidfile, sizeof authd_pidfile);

	authd_master = (struct master){
	    .log_prefix = "authd: ",
	    .cur = &server,
	    .ncur = 1,
	    .old = old_servers,
	    .old_max = AUTHD_OLD_MAX,
	    .stop_wait_ms = AUTHD_STOP_WAIT_MS,
	    .restart = master_restart,
	    .reload = master_reload,
	};
	sigset_t set;
	master_block_signals(&set);
	server.pid = server_start(&cur, -1, err, sizeof err);
	if (server.pid < 0)
		fatal("authd: %s", err);
	server.started = time(NULL);
	daemon_ready();

	master_run(&authd_master, &set);
	state_free(&cur, NULL);
	daemon_pidfile_remove(pidfile);
	free(authd_conf_path);
	log_info("authd: stopped");
	log_close();
	return 0;
}
