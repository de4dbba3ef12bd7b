/*
 * youju-authd: the courier-authlib compatible authentication and directory
 * daemon (DESIGN §7, docs/authd-protocol.md).
 *
 *	youju-authd [-f] [-c configfile]
 *
 * -f stays in the foreground and copies the log to stderr; otherwise the
 * daemon detaches through daemon_start() and writes
 * $run_directory/youju-authd.pid.  Started as root it reads the MySQL
 * password file and creates the socket (directory 0750, group of
 * mail_owner; socket 0777, bound as socket.tmp and renamed, as courier
 * does), then drops to mail_owner before serving.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "net.h"
#include "privsep.h"
#include "server.h"
#include "xalloc.h"

static void usage(void)
{
	fprintf(stderr, "usage: youju-authd [-f] [-c configfile]\n");
	exit(2);
}

/* Creates the socket's directory: mode 0750, group of mail_owner when we
   are root, so that only that group (and root) can reach the socket. */
static void make_socket_dir(const char *socket_path, const char *owner)
{
	char *dir = xstrdup(socket_path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir) {
		free(dir);
		return;
	}
	*slash = '\0';
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		fatal("authd: mkdir %s: %s", dir, strerror(errno));
	if (geteuid() == 0) {
		uid_t uid;
		gid_t gid;
		if (privsep_lookup(owner, &uid, &gid) != 1)
			fatal("authd: mail_owner %s: no such user", owner);
		if (chown(dir, 0, gid) < 0)
			fatal("authd: chown %s: %s", dir, strerror(errno));
	}
	if (chmod(dir, 0750) < 0)
		fatal("authd: chmod %s: %s", dir, strerror(errno));
	free(dir);
}

int main(int argc, char **argv)
{
	bool foreground = false;
	char *conf_path = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "fc:")) != -1) {
		switch (opt) {
		case 'f':
			foreground = true;
			break;
		case 'c':
			free(conf_path);
			conf_path = xstrdup(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (conf_path == NULL)
		conf_path = conf_default_path();

	const char *err = NULL;
	struct conf *conf =
	    conf_load(conf_path, conf_tables_for("authd"), &err);
	if (conf == NULL)
		fatal("authd: %s", err != NULL ? err : "cannot load config");

	const char *log_file = conf_str(conf, "log_file");
	log_set_syslog_name(conf_str(conf, "syslog_name"));
	if (log_open("authd", log_file[0] != '\0' ? log_file : NULL,
		     conf_bool(conf, "syslog_enable")) < 0)
		fprintf(stderr, "youju-authd: cannot open %s: %s\n", log_file,
			strerror(errno));
	log_set_stderr(foreground);
	log_set_debug(conf_bool(conf, "debug"));

	/* the secret is read while we may still be root */
	const char *pwpath = conf_str(conf, "mysql_password_file");
	char *password = NULL;
	if (pwpath[0] != '\0') {
		password = authd_read_secret(pwpath, &err);
		if (password == NULL && errno == ENOENT)
			log_warning("authd: %s does not exist: connecting to "
				    "MySQL without a password",
				    pwpath);
		else if (password == NULL)
			fatal("authd: %s: %s", pwpath, err);
	}
	struct authd_cfg *cfg = authd_cfg_new(conf, password, &err);
	if (cfg == NULL)
		fatal("authd: %s: %s", conf_path, err);

	char pidfile[4096];
	int n = snprintf(pidfile, sizeof(pidfile), "%s/youju-authd.pid",
			 cfg->run_directory);
	if (n < 0 || (size_t)n >= sizeof(pidfile))
		fatal("authd: run_directory too long");
	if (daemon_start(pidfile, foreground, &err) < 0)
		fatal("authd: %s: %s", err, strerror(errno));
	log_set_pid();

	make_socket_dir(cfg->socket_path, cfg->mail_owner);
	int lfd = net_listen_unix(cfg->socket_path, 0777, 1024, &err);
	if (lfd < 0)
		fatal("authd: listen %s: %s: %s", cfg->socket_path, err,
		      strerror(errno));
	if (privsep_drop(cfg->mail_owner, &err) < 0)
		fatal("authd: cannot drop privileges to %s: %s",
		      cfg->mail_owner, err);
	log_info("authd: listening on %s (%u workers)", cfg->socket_path,
		 cfg->workers);
	daemon_ready();

	int rc = authd_server_run(lfd, cfg, conf_path, password);
	close(lfd);
	daemon_pidfile_remove(pidfile);
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	free(conf_path);
	log_info("authd: stopped");
	log_close();
	return rc < 0 ? 1 : 0;
}
