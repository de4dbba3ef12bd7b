/*
 * youju-mra: POP3 (110/995) and IMAP4rev1 (143/993) on Maildir++
 * (DESIGN §9).  Started as root it binds its ports, loads the TLS key and
 * opens the log, then drops to mail_owner before the first network byte;
 * everything after runs in one event loop, with password checks in worker
 * threads (login.c).
 *
 * Usage: youju-mra [-f]    -f: stay in the foreground, log to stderr too
 */
#include "mra.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "privsep.h"
#include "tls.h"
#include "xalloc.h"

#define MRA_LISTENERS_MAX 32
#define MRA_BACKLOG 256

struct mra_listener {
	int fd;
	struct ev_io *io;
	const struct mra_proto *proto;
	bool tls;
};

static struct mra_listener mra_listeners[MRA_LISTENERS_MAX];
static size_t mra_nlisteners;
static struct conf *mra_conf;

static void mra_accept(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct mra_listener *l = ctx;
	for (int i = 0; i < 64; i++) {
		int cfd;
		char peer[NET_ADDR_MAX];
		int r = net_accept(fd, &cfd, peer, sizeof peer);
		if (r == 0)
			return;
		if (r < 0) {
			log_warning("accept: %s", strerror(errno));
			return;
		}
		mra_conn_accept(cfd, peer, l->proto, l->tls);
	}
}

static void mra_listen(const char *param, const struct mra_proto *p,
		       bool tls)
{
	size_t n;
	const char *const *specs = conf_list(mra_conf, param, &n);
	for (size_t i = 0; i < n; i++) {
		if (mra_nlisteners == MRA_LISTENERS_MAX)
			fatal("%s: too many listen addresses", param);
		if (tls && mra_srv.tls == NULL) {
			log_warning("%s: no TLS certificate, not listening on "
				    "%s", param, specs[i]);
			continue;
		}
		const char *err = "";
		int fd = net_listen_tcp(specs[i], MRA_BACKLOG, &err);
		if (fd < 0)
			fatal("%s %s: %s: %s", param, specs[i], err,
			      strerror(errno));
		mra_listeners[mra_nlisteners++] =
			(struct mra_listener){ fd, NULL, p, tls };
	}
}

static void mra_signal(int signo, void *ctx)
{
	if (signo == SIGHUP) {
		(void)log_reopen();
		log_info("reload: log reopened");
		return;
	}
	ev_loop_stop(mra_srv.loop);
}

int main(int argc, char **argv)
{
	bool foreground = false;
	int opt;
	while ((opt = getopt(argc, argv, "f")) != -1) {
		if (opt == 'f') {
			foreground = true;
		} else {
			fprintf(stderr, "usage: youju-mra [-f]\n");
			return 2;
		}
	}
	char *path = conf_default_path();
	const char *err = NULL;
	mra_conf = conf_load(path, conf_tables_for("mra"), &err);
	free(path);
	if (mra_conf == NULL) {
		fprintf(stderr, "youju-mra: %s\n", err);
		return 1;
	}
	const char *logfile = conf_str(mra_conf, "log_file");
	log_set_syslog_name(conf_str(mra_conf, "syslog_name"));
	if (log_open("mra", logfile[0] ? logfile : NULL,
		     conf_bool(mra_conf, "syslog_enable")) < 0)
		fprintf(stderr, "youju-mra: %s: %s\n", logfile,
			strerror(errno));
	log_set_debug(conf_bool(mra_conf, "debug"));
	if (foreground)
		log_set_stderr(true);
	signal(SIGPIPE, SIG_IGN);
	/* one descriptor per client: take all the kernel allows us, the
	   connection limits above decide who gets them */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}

	mra_srv.authd_socket = conf_str(mra_conf, "authd_socket");
	mra_srv.hostname = conf_str(mra_conf, "myhostname");
	mra_srv.autologout_ms =
		(uint64_t)conf_time(mra_conf, "imap_autologout") * 1000;
	mra_srv.message_size_limit =
		(uint64_t)conf_int(mra_conf, "message_size_limit");
	if (mra_srv.message_size_limit == 0 ||
	    mra_srv.message_size_limit > MRA_OUT_MAX / 2)
		mra_srv.message_size_limit = MRA_OUT_MAX / 2;
	mra_srv.login_needs_tls =
		conf_bool(mra_conf, "imap_login_disabled_without_tls");
	mra_srv.max_userip =
		(unsigned)conf_int(mra_conf, "mra_max_userip_connections");
	mra_srv.max_per_ip = (unsigned)conf_int(
		mra_conf, "mra_client_connection_count_limit");
	mra_srv.output_timeout_ms =
		(uint64_t)conf_time(mra_conf, "mra_output_timeout") * 1000;

	const char *terr = NULL;
	mra_srv.tls = tls_server_ctx_new(conf_str(mra_conf,
						  "smtpd_tls_cert_file"),
					 conf_str(mra_conf,
						  "smtpd_tls_key_file"),
					 &terr);
	if (mra_srv.tls == NULL)
		log_warning("TLS disabled: %s", terr);

	mra_listen("pop3_listen", &mra_pop3_proto, false);
	mra_listen("pop3s_listen", &mra_pop3_proto, true);
	mra_listen("imap_listen", &mra_imap_proto, false);
	mra_listen("imaps_listen", &mra_imap_proto, true);

	char pidfile[4096];
	int k = snprintf(pidfile, sizeof pidfile, "%s/youju-mra.pid",
			 conf_str(mra_conf, "run_directory"));
	if (k < 0 || (size_t)k >= sizeof pidfile)
		fatal("run_directory too long");
	if (daemon_start(pidfile, foreground, &err) < 0)
		fatal("%s: %s: %s", pidfile, err, strerror(errno));
	log_set_pid();

	/* no network byte has been read yet: drop root now (STYLE.md) */
	if (privsep_drop(conf_str(mra_conf, "mail_owner"), &err) < 0)
		fatal("dropping privileges to %s: %s: %s",
		      conf_str(mra_conf, "mail_owner"), err, strerror(errno));
	mra_srv.uid = getuid();
	umask(077);

	mra_srv.loop = ev_loop_new();
	if (mra_srv.loop == NULL)
		fatal("event loop: %s", strerror(errno));
	for (size_t i = 0; i < mra_nlisteners; i++) {
		mra_listeners[i].io = ev_io_new(mra_srv.loop,
						mra_listeners[i].fd, EV_READ,
						mra_accept, &mra_listeners[i]);
		if (mra_listeners[i].io == NULL)
			fatal("event loop: %s", strerror(errno));
	}
	if (mra_login_init(mra_srv.loop) < 0 ||
	    ev_signal(mra_srv.loop, SIGTERM, mra_signal, NULL) < 0 ||
	    ev_signal(mra_srv.loop, SIGINT, mra_signal, NULL) < 0 ||
	    ev_signal(mra_srv.loop, SIGHUP, mra_signal, NULL) < 0)
		fatal("event loop setup: %s", strerror(errno));
	log_info("daemon started: %zu listeners", mra_nlisteners);
	daemon_ready();
	int rc = ev_loop_run(mra_srv.loop);
	log_info("daemon stopping");
	mra_conn_free_all();
	for (size_t i = 0; i < mra_nlisteners; i++) {
		ev_io_free(&mra_listeners[i].io);
		close(mra_listeners[i].fd);
	}
	ev_loop_free(&mra_srv.loop);
	tls_ctx_free(&mra_srv.tls);
	daemon_pidfile_remove(pidfile);
	conf_free(&mra_conf);
	return rc < 0 ? 1 : 0;
}
