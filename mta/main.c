/*
 * youju-mta, the receive side: loads the configuration, binds the smtp,
 * submission and smtps listeners, loads the TLS certificate and Cyrus
 * SASL, goes to the background, drops to mail_owner and runs one event
 * loop with a small worker pool for the blocking steps (smtpd.c).
 *
 *	youju-mta [-f] [-c config]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authc.h"
#include "conf.h"
#include "daemon.h"
#include "ev.h"
#include "log.h"
#include "maps.h"
#include "net.h"
#include "privsep.h"
#include "qmgr.h"
#include "queue.h"
#include "restrict.h"
#include "sasl.h"
#include "smtpd.h"
#include "tls.h"
#include "worker.h"
#include "xalloc.h"

/* Defaults for parameters lib/params.c does not declare (yet): used only
   while the table lacks them, so a later table entry takes over. */
#define MTA_DEF_HARD_ERROR_LIMIT	 20
#define MTA_DEF_BROKEN_SASL_AUTH_CLIENTS false
#define MTA_DEF_FORBID_BARE_NEWLINE	 true
#define MTA_DEF_PROCESS_LIMIT		 1000
#define MTA_WORKERS			 8
#define MTA_WORKER_QUEUE		 4096
#define MTA_AUTHD_TIMEOUT_MS		 10000
#define MTA_LISTEN_BACKLOG		 128

static const struct conf_table *const *mta_tables;

struct listener {
	struct smtpd_server *srv;
	enum smtpd_service svc;
	int fd;
	struct ev_io *io;
};

static bool has_param(const char *name)
{
	return conf_find_param(mta_tables, name) != NULL;
}

static int64_t int_or(const struct conf *c, const char *name, int64_t def)
{
	return has_param(name) ? conf_int(c, name) : def;
}

static bool bool_or(const struct conf *c, const char *name, bool def)
{
	return has_param(name) ? conf_bool(c, name) : def;
}

static void on_accept(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct listener *l = ctx;
	for (int i = 0; i < 64; i++) {
		int cfd;
		char peer[NET_ADDR_MAX];
		int r = net_accept(fd, &cfd, peer, sizeof(peer));
		if (r == 0)
			return;
		if (r < 0) {
			log_warning("accept: %s", strerror(errno));
			return;
		}
		smtpd_accept(l->srv, cfd, peer, l->svc);
	}
}

static void on_stop(int signo, void *ctx)
{
	log_info("terminating on signal %d", signo);
	ev_loop_stop(ctx);
}

struct hup_ctx {
	struct smtpd_server *srv;
	const char *conf_path;
};

/* SIGHUP: re-open the log, then re-read youju.cf; the new restrictions
   and limits replace the old ones only if they parse (smtpd_reload). */
static void on_hup(int signo, void *ctx)
{
	struct hup_ctx *h = ctx;
	if (log_reopen() < 0)
		log_warning("reopen log: %s", strerror(errno));
	smtpd_reload(h->srv, h->conf_path);
}

static size_t open_listeners(struct listener **ls, size_t *n,
			     const struct conf *c, const char *param,
			     enum smtpd_service svc)
{
	size_t count;
	const char *const *items = conf_list(c, param, &count);
	for (size_t i = 0; i < count; i++) {
		const char *err = "";
		int fd = net_listen_tcp(items[i], MTA_LISTEN_BACKLOG, &err);
		if (fd < 0)
			fatal("%s = %s: %s: %s", param, items[i], err,
			      strerror(errno));
		*ls = xrealloc(*ls, (*n + 1) * sizeof(**ls));
		(*ls)[*n] = (struct listener){.svc = svc, .fd = fd};
		(*n)++;
	}
	return count;
}

static void config_build(struct smtpd_config *cfg, const struct conf *c)
{
	const char *bad = "";
	size_t n;
	const char *const *items;
	cfg->hostname = xstrdup(conf_str(c, "myhostname"));
	cfg->myorigin = xstrdup(conf_str(c, "myorigin"));
	cfg->mydomain = xstrdup(conf_str(c, "mydomain"));
	cfg->banner = xstrdup(conf_str(c, "smtpd_banner"));
	cfg->queue_dir = xstrdup(conf_str(c, "queue_directory"));
	cfg->authd_socket = xstrdup(conf_str(c, "authd_socket"));
	map_set_authd_socket(cfg->authd_socket); /* mysql: tables */
	cfg->size_limit = (uint64_t)conf_int(c, "message_size_limit");
	cfg->rcpt_limit = (unsigned)conf_int(c, "smtpd_recipient_limit");
	cfg->timeout_s = (unsigned)conf_time(c, "smtpd_timeout");
	cfg->line_limit = (size_t)conf_int(c, "line_length_limit");
	if (cfg->line_limit < 1000)
		cfg->line_limit = 1000; /* RFC 5321 4.5.3.1.6 */
	if (cfg->line_limit > SMTPD_IN_MAX - 2)
		cfg->line_limit = SMTPD_IN_MAX - 2;
	cfg->helo_required = conf_bool(c, "smtpd_helo_required");
	cfg->disable_vrfy = conf_bool(c, "disable_vrfy_command");
	cfg->sasl_enable = conf_bool(c, "smtpd_sasl_auth_enable");
	cfg->tls_auth_only = conf_bool(c, "smtpd_tls_auth_only");
	cfg->hard_error_limit = (unsigned)int_or(c, "smtpd_hard_error_limit",
						 MTA_DEF_HARD_ERROR_LIMIT);
	cfg->broken_sasl_auth_clients = bool_or(
	    c, "broken_sasl_auth_clients", MTA_DEF_BROKEN_SASL_AUTH_CLIENTS);
	cfg->forbid_bare_newline = bool_or(c, "smtpd_forbid_bare_newline",
					   MTA_DEF_FORBID_BARE_NEWLINE);
	cfg->max_sessions =
	    (unsigned)int_or(c, "smtpd_process_limit", MTA_DEF_PROCESS_LIMIT);
	items = conf_list(c, "mynetworks", &n);
	cfg->mynetworks = netlist_parse(items, n, &bad);
	if (cfg->mynetworks == NULL)
		fatal("mynetworks: bad network: %s", bad);
	items = conf_list(c, "smtpd_recipient_restrictions", &n);
	cfg->rcpt_restrictions = restrict_parse(items, n, &bad);
	if (cfg->rcpt_restrictions == NULL)
		fatal("smtpd_recipient_restrictions: unsupported restriction: "
		      "%s",
		      bad);
}

static void config_free(struct smtpd_config *cfg)
{
	free(cfg->hostname);
	free(cfg->myorigin);
	free(cfg->mydomain);
	free(cfg->banner);
	free(cfg->queue_dir);
	free(cfg->authd_socket);
	netlist_free(&cfg->mynetworks);
	restrict_free(&cfg->rcpt_restrictions);
}

/* The queue must be the mail owner's: the daemon writes it after the drop. */
static void queue_setup(const char *dir, const char *owner)
{
	const char *err = "";
	if (queue_init(dir, &err) < 0)
		fatal("%s: %s: %s", dir, err, strerror(errno));
	if (geteuid() != 0)
		return;
	uid_t uid;
	gid_t gid;
	int r = privsep_lookup(owner, &uid, &gid);
	if (r <= 0)
		fatal("mail_owner %s: %s", owner,
		      r == 0 ? "no such user" : strerror(errno));
	char p[4096];
	if (chown(dir, uid, gid) < 0)
		fatal("chown %s: %s", dir, strerror(errno));
	for (size_t i = 0; queue_dirs[i] != NULL; i++) {
		int n = snprintf(p, sizeof(p), "%s/%s", dir, queue_dirs[i]);
		if (n < 0 || (size_t)n >= sizeof(p))
			fatal("queue_directory too long");
		if (chown(p, uid, gid) < 0)
			fatal("chown %s: %s", p, strerror(errno));
	}
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	struct conf *conf =
	    daemon_begin(argc, argv, "youju-mta", "mta", "smtpd", &opts);
	bool foreground = opts.foreground;
	char *conf_path = opts.conf_path;
	const char *err = NULL;
	mta_tables = conf_tables_for("mta");

	struct smtpd_server srv = {0};
	config_build(&srv.cfg, conf);
	const char *owner = conf_str(conf, "mail_owner");

	char pidfile[4096];
	int n = snprintf(pidfile, sizeof(pidfile), "%s/youju-mta.pid",
			 conf_str(conf, "run_directory"));
	if (n < 0 || (size_t)n >= sizeof(pidfile))
		fatal("run_directory too long");
	if (daemon_start(pidfile, foreground, &err) < 0)
		fatal("youju-mta: %s: %s", err, strerror(errno));
	log_set_pid();

	queue_setup(srv.cfg.queue_dir, owner);
	/* delivery side: its own processes (they drop to mail_owner), forked
	   before any thread, listener, TLS key or SASL state exists */
	pid_t qmgr_pid = qmgr_start(conf, foreground);

	/* TLS: without a usable certificate there is no STARTTLS, no SMTPS */
	const char *cert = conf_str(conf, "smtpd_tls_cert_file");
	const char *key = conf_str(conf, "smtpd_tls_key_file");
	if (cert[0] != '\0' && access(cert, R_OK) == 0) {
		srv.tls = tls_server_ctx_new(cert, key, &err);
		if (srv.tls == NULL)
			log_warning("TLS disabled: %s: %s", cert, err);
	} else if (cert[0] != '\0') {
		log_warning("TLS disabled: cannot read %s: %s", cert,
			    strerror(errno));
	}
	if (srv.cfg.sasl_enable) {
		if (mta_sasl_init(conf_str(conf, "config_directory"),
				  srv.cfg.authd_socket, &err) < 0) {
			log_warning("SMTP AUTH disabled: %s: %s", err,
				    strerror(errno));
			srv.cfg.sasl_enable = false;
		}
	}
	authc_set_timeout(MTA_AUTHD_TIMEOUT_MS);
	/* each worker thread keeps its youju-authd connection open */
	authc_set_keepalive(true);

	struct listener *ls = NULL;
	size_t nls = 0;
	open_listeners(&ls, &nls, conf, "smtp_listen", SMTPD_SVC_SMTP);
	open_listeners(&ls, &nls, conf, "submission_listen",
		       SMTPD_SVC_SUBMISSION);
	if (srv.tls != NULL)
		open_listeners(&ls, &nls, conf, "smtps_listen",
			       SMTPD_SVC_SMTPS);
	/* the sendmail command's way in (docs/mta.md "sendmail") */
	const char *pickup = conf_str(conf, "sendmail_socket");
	if (pickup[0] != '\0') {
		int fd = smtpd_pickup_listen(pickup, &err);
		if (fd < 0)
			fatal("sendmail_socket = %s: %s: %s", pickup, err,
			      strerror(errno));
		ls = xrealloc(ls, (nls + 1) * sizeof(*ls));
		ls[nls++] =
		    (struct listener){.svc = SMTPD_SVC_PICKUP, .fd = fd};
	}

	char perr[1024];
	if (smtpd_policy_setup(&srv, conf, perr, sizeof perr) < 0)
		fatal("%s", perr);

	if (privsep_drop(owner, &err) < 0)
		fatal("cannot drop privileges to %s: %s", owner, err);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal: %s", strerror(errno));

	srv.loop = ev_loop_new();
	if (srv.loop == NULL)
		fatal("cannot create the event loop: %s", strerror(errno));
	srv.pool = worker_pool_new(srv.loop, MTA_WORKERS, MTA_WORKER_QUEUE);
	struct hup_ctx hup = {&srv, conf_path};
	if (ev_signal(srv.loop, SIGTERM, on_stop, srv.loop) < 0 ||
	    ev_signal(srv.loop, SIGINT, on_stop, srv.loop) < 0 ||
	    ev_signal(srv.loop, SIGHUP, on_hup, &hup) < 0)
		fatal("signals: %s", strerror(errno));
	for (size_t i = 0; i < nls; i++) {
		ls[i].srv = &srv;
		ls[i].io =
		    ev_io_new(srv.loop, ls[i].fd, EV_READ, on_accept, &ls[i]);
	}
	log_info("daemon started: %zu listeners, TLS %s, AUTH %s", nls,
		 srv.tls != NULL ? "on" : "off",
		 srv.cfg.sasl_enable ? mta_sasl_mechs() : "off");
	daemon_ready();

	int rc = ev_loop_run(srv.loop);
	for (size_t i = 0; i < nls; i++) {
		ev_io_free(&ls[i].io);
		close(ls[i].fd);
	}
	free(ls);
	worker_pool_free(&srv.pool);
	qmgr_stop(qmgr_pid);
	ev_loop_free(&srv.loop);
	mta_sasl_done();
	smtpd_server_done(&srv);
	tls_ctx_free(&srv.tls);
	config_free(&srv.cfg);
	daemon_pidfile_remove(pidfile);
	conf_free(&conf);
	free(conf_path);
	log_info("stopped");
	log_close();
	return rc < 0 ? 1 : 0;
}
