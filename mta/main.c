/*
 * youju-mta: a small master process that stays root, and the processes it
 * starts.  The master loads the configuration, binds the smtp, submission
 * and smtps listeners and the sendmail socket, and forks the smtpd
 * process (TLS key, Cyrus SASL and the tables loaded as root; then it drops
 * to mail_owner and runs one event loop with a small worker pool for the
 * blocking steps, smtpd.c) and the queue manager (qmgr.c).  The master
 * reads no network byte: it waits for signals.
 *
 * `youju reload` (SIGHUP), as `postfix reload`: the master reads youju.cf
 * into a new configuration and checks all of it (values, restrictions,
 * tables, TLS files, listen addresses: new ones are bound, unchanged ones
 * kept); on any error it logs the parameter and keeps everything running
 * as it is.  Otherwise it starts a new smtpd process on the new
 * configuration, and once that is ready tells the old one to stop
 * accepting and to exit when its sessions end, and replaces the queue
 * manager (the old one finishes its deliveries in flight first).  So every
 * parameter takes effect at a reload; none needs a restart.
 *
 *	youju-mta [-f] [-c config]
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authc.h"
#include "authc_cache.h"
#include "authc_async.h"
#include "conf.h"
#include "daemon.h"
#include "ev.h"
#include "confbind.h"
#include "log.h"
#include "master.h"
#include "maps.h"
#include "net.h"
#include "policy.h"
#include "privsep.h"
#include "qmgr.h"
#include "queue.h"
#include "restrict.h"
#include "sasl.h"
#include "smtpd.h"
#include "syncgroup.h"
#include "tls.h"
#include "workq.h"
#include "xalloc.h"

/* Defaults for parameters lib/params.c does not declare (yet): used only
   while the table lacks them, so a later table entry takes over. */
#define MTA_DEF_HARD_ERROR_LIMIT	 20
#define MTA_DEF_BROKEN_SASL_AUTH_CLIENTS false
#define MTA_DEF_FORBID_BARE_NEWLINE	 true
#define MTA_DEF_PROCESS_LIMIT		 1000
#define MTA_WORKERS			 8
#define MTA_WORKER_QUEUE		 4096
#define MTA_AUTHD_TIMEOUT_MS		 SMTPD_AUTHD_TIMEOUT_MS
#define MTA_LISTEN_BACKLOG		 128
/* Old smtpd and queue manager processes still finishing their work. */
#define MTA_OLD_MAX 64
/* How long a new smtpd process has to report ready. */
#define MTA_READY_WAIT_MS 20000
/* How long the processes have to exit at a stop before they are killed. */
#define MTA_STOP_WAIT_MS 10000
/* The smtpd process of an old configuration checks for its last session
   this often. */
#define MTA_DRAIN_POLL_MS 200

static const struct conf_table *const *mta_tables;

struct listener {
	struct smtpd_server *srv;
	enum smtpd_service svc;
	char *spec; /* host:port, or the sendmail socket's path; owned */
	int fd;
	bool reused; /* the fd is the previous configuration's */
	struct ev_io *io;
};

/* One checked configuration and the listeners bound for it. */
struct mta_gen {
	struct conf *conf; /* owned */
	struct listener *ls;
	size_t nls;
};

static struct mta_gen *mta_cur;
/* the master's children (lib/master): the smtpd process and the queue
   manager of the running configuration, and old ones draining */
enum { MTA_SMTPD, MTA_QMGR };
static struct master_proc mta_procs[2] = {
    [MTA_SMTPD] = {.what = "smtpd process"},
    [MTA_QMGR] = {.what = "queue manager supervisor"},
};
static struct master_proc *const mta_smtpd = &mta_procs[MTA_SMTPD];
static struct master_proc *const mta_qmgr = &mta_procs[MTA_QMGR];
static struct master_proc mta_old[MTA_OLD_MAX];
static struct master mta_master; /* set up in main() */
static bool mta_foreground;
static char *mta_conf_path;
static char mta_pidfile[4096];

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

static void accepted(void *ctx, int fd, const char *peer)
{
	struct listener *l = ctx;
	smtpd_accept(l->srv, fd, peer, l->svc);
}

static void on_accept(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	net_accept_batch(fd, accepted, ctx);
}

/* Unknown names (other programs' parameters) were reported at start-up
   and by `youju conf`. */
static void ignore_warning(void *ctx, const char *msg)
{
}

/* ---- configuration (the master, as root) ------------------------------ */

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

/* The smtpd settings of youju.cf (lib/confbind). */
#define B(kind, name, field) CONF_BIND(kind, name, struct smtpd_config, field)
static const struct conf_bind config_binds[] = {
    B(CONF_B_STRDUP, "myhostname", hostname),
    B(CONF_B_STRDUP, "myorigin", myorigin),
    B(CONF_B_STRDUP, "mydomain", mydomain),
    B(CONF_B_STRDUP, "smtpd_banner", banner),
    B(CONF_B_STRDUP, "queue_directory", queue_dir),
    B(CONF_B_STRDUP, "authd_socket", authd_socket),
    B(CONF_B_U64, "message_size_limit", size_limit),
    B(CONF_B_UINT, "smtpd_recipient_limit", rcpt_limit),
    B(CONF_B_SECS, "smtpd_timeout", timeout_s),
    B(CONF_B_SIZE, "line_length_limit", line_limit),
    B(CONF_B_BOOL, "smtpd_helo_required", helo_required),
    B(CONF_B_BOOL, "disable_vrfy_command", disable_vrfy),
    B(CONF_B_BOOL, "smtpd_sasl_auth_enable", sasl_enable),
    B(CONF_B_BOOL, "smtpd_tls_auth_only", tls_auth_only),
};
#undef B

static int config_build(struct smtpd_config *cfg, const struct conf *c,
			char *err, size_t errsz)
{
	const char *bad = "";
	size_t n;
	const char *const *items;
	conf_bind_apply(c, config_binds,
			sizeof config_binds / sizeof *config_binds, cfg);
	if (cfg->line_limit < 1000)
		cfg->line_limit = 1000; /* RFC 5321 4.5.3.1.6 */
	if (cfg->line_limit > SMTPD_IN_MAX - 2)
		cfg->line_limit = SMTPD_IN_MAX - 2;
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
	if (cfg->mynetworks == NULL) {
		(void)snprintf(err, errsz, "mynetworks: bad network: %s", bad);
		return -1;
	}
	items = conf_list(c, "smtpd_recipient_restrictions", &n);
	cfg->rcpt_restrictions = restrict_parse(items, n, &bad);
	if (cfg->rcpt_restrictions == NULL) {
		(void)snprintf(err, errsz,
			       "smtpd_recipient_restrictions: unsupported "
			       "restriction: %s",
			       bad);
		return -1;
	}
	return 0;
}

/*
 * What the smtpd process runs with, loaded as root from c: the settings,
 * the restrictions and tables (smtpd_policy_setup), the TLS key.  A TLS
 * certificate that is missing disables TLS (a warning, as at every start);
 * one that exists but does not load is an error at a reload (startup:
 * false), so that a bad file never takes TLS away from a running server.
 * Returns 0, or -1 with a message naming the parameter in err (srv then
 * still needs srv_free).
 */
static int srv_build(struct smtpd_server *srv, const struct conf *c,
		     bool startup, bool quiet, char *err, size_t errsz)
{
	const char *terr = "";
	*srv = (struct smtpd_server){0};
	mta_tables = conf_tables_for("mta");
	if (config_build(&srv->cfg, c, err, errsz) < 0)
		return -1;
	map_set_authd_socket(srv->cfg.authd_socket); /* mysql: tables */
	if (smtpd_policy_setup(srv, c, err, errsz) < 0)
		return -1;
	if (qmgr_check_conf(c, err, errsz) < 0)
		return -1;
	const char *cert = conf_str(c, "smtpd_tls_cert_file");
	const char *key = conf_str(c, "smtpd_tls_key_file");
	if (cert[0] != '\0' && access(cert, R_OK) == 0) {
		srv->tls = tls_server_ctx_new(cert, key, &terr);
		if (srv->tls == NULL && !startup) {
			(void)snprintf(err, errsz,
				       "smtpd_tls_cert_file = %s, "
				       "smtpd_tls_key_file = %s: %s",
				       cert, key, terr);
			return -1;
		}
		if (srv->tls == NULL && !quiet)
			log_warning("TLS disabled: %s: %s", cert, terr);
		if (srv->tls != NULL && conf_bool(c, "smtpd_tls_ask_ccert"))
			tls_server_ctx_ask_cert(srv->tls);
	} else if (cert[0] != '\0' && !quiet) {
		log_warning("TLS disabled: cannot read %s: %s", cert,
			    strerror(errno));
	}
	return 0;
}

static void srv_free(struct smtpd_server *srv)
{
	smtpd_server_done(srv);
	tls_ctx_free(&srv->tls);
	config_free(&srv->cfg);
}

static void gen_free(struct mta_gen **gp)
{
	struct mta_gen *g = *gp;
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->nls; i++)
		free(g->ls[i].spec);
	free(g->ls);
	conf_free(&g->conf);
	free(g);
	*gp = NULL;
}

/* Closes the listeners g bound itself (a failed reload, a stop) and
   removes the sendmail socket it made. */
static void gen_close_own(struct mta_gen *g)
{
	for (size_t i = 0; i < g->nls; i++)
		if (!g->ls[i].reused && g->ls[i].fd >= 0) {
			close(g->ls[i].fd);
			g->ls[i].fd = -1;
			if (g->ls[i].svc == SMTPD_SVC_PICKUP)
				(void)unlink(g->ls[i].spec);
		}
}

static void gen_add(struct mta_gen *g, enum smtpd_service svc, const char *spec,
		    int fd, bool reused)
{
	g->ls = xrealloc(g->ls, (g->nls + 1) * sizeof(*g->ls));
	g->ls[g->nls++] = (struct listener){
	    .svc = svc, .spec = xstrdup(spec), .fd = fd, .reused = reused};
}

/* The listener of prev for (svc, spec), or NULL. */
static struct listener *gen_find(struct mta_gen *prev, enum smtpd_service svc,
				 const char *spec)
{
	for (size_t i = 0; prev != NULL && i < prev->nls; i++)
		if (prev->ls[i].svc == svc && prev->ls[i].fd >= 0 &&
		    strcmp(prev->ls[i].spec, spec) == 0)
			return &prev->ls[i];
	return NULL;
}

/* The listeners of one parameter: kept from prev when the address is the
   same (no connection is refused meanwhile), else bound. */
static int gen_listen(struct mta_gen *g, struct mta_gen *prev,
		      const char *param, enum smtpd_service svc, char *err,
		      size_t errsz)
{
	size_t count;
	const char *const *items = conf_list(g->conf, param, &count);
	for (size_t i = 0; i < count; i++) {
		bool dup = false;
		for (size_t k = 0; k < g->nls; k++)
			if (g->ls[k].svc == svc &&
			    strcmp(g->ls[k].spec, items[i]) == 0)
				dup = true;
		if (dup)
			continue;
		struct listener *old = gen_find(prev, svc, items[i]);
		if (old != NULL) {
			gen_add(g, svc, items[i], old->fd, true);
			continue;
		}
		const char *lerr = "";
		int fd = net_listen_tcp(items[i], MTA_LISTEN_BACKLOG, &lerr);
		if (fd < 0) {
			(void)snprintf(err, errsz, "%s = %s: %s: %s", param,
				       items[i], lerr, strerror(errno));
			return -1;
		}
		gen_add(g, svc, items[i], fd, false);
	}
	return 0;
}

/*
 * Loads and checks conf_path into a new configuration with its listeners
 * (prev: the running one, whose listeners are reused; NULL at start-up).
 * Returns it, or NULL with a message in err.
 */
static struct mta_gen *gen_new(struct conf *c, struct mta_gen *prev,
			       bool startup, char *err, size_t errsz)
{
	struct mta_gen *g = xcalloc(1, sizeof(*g));
	g->conf = c;
	struct smtpd_server srv;
	bool tls;
	/* proc_start() builds it again for the process, with the warnings */
	int rc = srv_build(&srv, c, startup, true, err, errsz);
	tls = srv.tls != NULL;
	srv_free(&srv);
	if (rc == 0)
		rc = gen_listen(g, prev, "smtp_listen", SMTPD_SVC_SMTP, err,
				errsz);
	if (rc == 0)
		rc = gen_listen(g, prev, "submission_listen",
				SMTPD_SVC_SUBMISSION, err, errsz);
	if (rc == 0 && tls)
		rc = gen_listen(g, prev, "smtps_listen", SMTPD_SVC_SMTPS, err,
				errsz);
	/* the sendmail command's way in (docs/mta.md "sendmail") */
	const char *pickup = conf_str(c, "sendmail_socket");
	if (rc == 0 && pickup[0] != '\0') {
		struct listener *old = gen_find(prev, SMTPD_SVC_PICKUP, pickup);
		const char *perr = "";
		int fd =
		    old != NULL ? old->fd : smtpd_pickup_listen(pickup, &perr);
		if (fd < 0) {
			(void)snprintf(err, errsz,
				       "sendmail_socket = %s: %s: %s", pickup,
				       perr, strerror(errno));
			rc = -1;
		} else {
			gen_add(g, SMTPD_SVC_PICKUP, pickup, fd, old != NULL);
		}
	}
	if (rc < 0) {
		gen_close_own(g);
		g->conf = NULL; /* the caller's still */
		gen_free(&g);
		return NULL;
	}
	return g;
}

/* g replaces prev: closes prev's listeners that g does not keep (the old
   smtpd process holds its own copies until it stops accepting), and
   removes a sendmail socket that moved. */
static void gen_retire(struct mta_gen *prev, struct mta_gen *g)
{
	for (size_t i = 0; i < prev->nls; i++) {
		struct listener *l = &prev->ls[i];
		bool kept = false;
		for (size_t k = 0; k < g->nls; k++)
			if (g->ls[k].fd == l->fd)
				kept = true;
		if (kept || l->fd < 0)
			continue;
		close(l->fd);
		if (l->svc == SMTPD_SVC_PICKUP) {
			bool moved = true;
			for (size_t k = 0; k < g->nls; k++)
				if (g->ls[k].svc == SMTPD_SVC_PICKUP &&
				    strcmp(g->ls[k].spec, l->spec) == 0)
					moved = false;
			if (moved)
				(void)unlink(l->spec);
		}
		l->fd = -1;
	}
	for (size_t k = 0; k < g->nls; k++)
		g->ls[k].reused = false; /* g's own from now on */
}

/* The queue must be the mail owner's: the daemon writes it after the drop.
   Returns 0, or -1 with a message in err. */
static int queue_setup(const char *dir, const char *owner, char *err,
		       size_t errsz)
{
	const char *qerr = "";
	if (queue_init(dir, &qerr) < 0) {
		(void)snprintf(err, errsz, "queue_directory = %s: %s: %s", dir,
			       qerr, strerror(errno));
		return -1;
	}
	if (geteuid() != 0)
		return 0;
	uid_t uid;
	gid_t gid;
	int r = privsep_lookup(owner, &uid, &gid);
	if (r <= 0) {
		(void)snprintf(err, errsz, "mail_owner = %s: %s", owner,
			       r == 0 ? "no such user" : strerror(errno));
		return -1;
	}
	char p[4096];
	for (size_t i = 0; i == 0 || queue_dirs[i - 1] != NULL; i++) {
		int n = i == 0 ? snprintf(p, sizeof(p), "%s", dir)
			       : snprintf(p, sizeof(p), "%s/%s", dir,
					  queue_dirs[i - 1]);
		if (n < 0 || (size_t)n >= sizeof(p)) {
			(void)snprintf(err, errsz,
				       "queue_directory = %s: too long", dir);
			return -1;
		}
		if (chown(p, uid, gid) < 0) {
			(void)snprintf(err, errsz, "chown %.900s: %s", p,
				       strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* ---- the smtpd process ------------------------------------------------- */

struct smtpd_proc {
	struct smtpd_server *srv;
	struct listener *ls;
	size_t nls;
	struct ev_timer *drain;
};

static void proc_drain_check(struct ev_timer *t, void *ctx)
{
	struct smtpd_proc *p = ctx;
	if (p->srv->sessions == 0) {
		log_info("reload: old process done, exiting");
		ev_loop_stop(p->srv->loop);
		return;
	}
	ev_timer_set(t, MTA_DRAIN_POLL_MS);
}

static void proc_signal(int signo, void *ctx)
{
	struct smtpd_proc *p = ctx;
	if (signo == SIGHUP) { /* the master reloads; this is for the log */
		if (log_reopen() < 0)
			log_warning("reopen log: %s", strerror(errno));
		return;
	}
	if (signo == SIGUSR1) {
		/* a new configuration took over: stop accepting, let the
		   sessions finish on this one */
		if (p->drain != NULL)
			return;
		for (size_t i = 0; i < p->nls; i++) {
			ev_io_free(&p->ls[i].io);
			if (p->ls[i].fd >= 0)
				close(p->ls[i].fd);
			p->ls[i].fd = -1;
		}
		log_info("reload: old process stops accepting, %u sessions "
			 "left",
			 p->srv->sessions);
		p->drain = ev_timer_new(p->srv->loop, 0, proc_drain_check, p);
		return;
	}
	log_info("terminating on signal %d", signo);
	ev_loop_stop(p->srv->loop);
}

/* What proc_run needs: the server built as root, and its generation. */
struct mta_spawn {
	struct smtpd_server *srv;
	struct mta_gen *g;
};

/* In the child after fork (lib/master): never returns.  ready_fd gets
   one byte once the loop runs. */
static __attribute__((noreturn)) void proc_run(void *ctx, pid_t master,
					       int ready_fd)
{
	struct smtpd_server *srv = ((struct mta_spawn *)ctx)->srv;
	struct mta_gen *g = ((struct mta_spawn *)ctx)->g;
	const char *err = NULL;
	const struct conf *conf = g->conf;
	master_child_begin();
	(void)prctl(PR_SET_NAME, "youju-smtpd"); /* for ps and the tests */
	/* not the listeners of the configuration being replaced: a removed
	   address must stop answering when the old process stops */
	for (size_t i = 0; mta_cur != NULL && mta_cur != g && i < mta_cur->nls;
	     i++) {
		bool kept = false;
		for (size_t k = 0; k < g->nls; k++)
			if (g->ls[k].fd == mta_cur->ls[i].fd)
				kept = true;
		if (!kept && mta_cur->ls[i].fd >= 0)
			close(mta_cur->ls[i].fd);
	}
	if (srv->cfg.sasl_enable) {
		if (mta_sasl_init(conf_str(conf, "config_directory"),
				  srv->cfg.authd_socket, &err) < 0) {
			log_warning("SMTP AUTH disabled: %s: %s", err,
				    strerror(errno));
			srv->cfg.sasl_enable = false;
		}
	}
	map_set_authd_socket(srv->cfg.authd_socket); /* mysql: tables */
	authc_set_timeout(MTA_AUTHD_TIMEOUT_MS);
	/* each worker thread keeps its youju-authd connection open */
	authc_set_keepalive(true);
	/* and RCPT lookups reuse authd's answers while its cache would
	   (lib/authc_cache.h) */
	authc_cache_enable(true);

	const char *owner = conf_str(conf, "mail_owner");
	if (privsep_drop(owner, &err) < 0)
		fatal("cannot drop privileges to %s: %s", owner, err);
	/* the master's death ends us at once, as it did when one process
	   did everything, so that a new youju-mta can bind the ports */
	master_child_tie(master, SIGKILL);

	srv->loop = ev_loop_new();
	if (srv->loop == NULL)
		fatal("cannot create the event loop: %s", strerror(errno));
	srv->pool =
	    workq_new(&(struct workq_opts){.name = "mta",
					   .threads = MTA_WORKERS,
					   .queue_max = MTA_WORKER_QUEUE,
					   .loop = srv->loop});
	struct smtpd_proc p = {srv, g->ls, g->nls, NULL};
	if (ev_signal(srv->loop, SIGTERM, proc_signal, &p) < 0 ||
	    ev_signal(srv->loop, SIGINT, proc_signal, &p) < 0 ||
	    ev_signal(srv->loop, SIGHUP, proc_signal, &p) < 0 ||
	    ev_signal(srv->loop, SIGUSR1, proc_signal, &p) < 0)
		fatal("signals: %s", strerror(errno));
	for (size_t i = 0; i < g->nls; i++) {
		g->ls[i].srv = srv;
		g->ls[i].io = ev_io_new(srv->loop, g->ls[i].fd, EV_READ,
					on_accept, &g->ls[i]);
	}
	log_info("daemon started: %zu listeners, TLS %s, AUTH %s", g->nls,
		 srv->tls != NULL ? "on" : "off",
		 srv->cfg.sasl_enable ? mta_sasl_mechs() : "off");
	/* where RCPT runs (smtpd_rcpt.c): for operators and the tests */
	log_info("RCPT checks on the %s",
		 srv->policy != NULL && srv->policy->rcpt_on_loop
		     ? "event loop (no restriction blocks)"
		     : "worker threads");
	master_child_ready(ready_fd, mta_foreground);

	int rc = ev_loop_run(srv->loop);
	ev_timer_free(&p.drain);
	for (size_t i = 0; i < g->nls; i++) {
		ev_io_free(&g->ls[i].io);
		if (g->ls[i].fd >= 0)
			close(g->ls[i].fd);
	}
	workq_free(&srv->pool);
	authc_async_free(&srv->authc);
	ev_loop_free(&srv->loop);
	mta_sasl_done();
	srv_free(srv);
	log_info("stopped");
	log_close();
	exit(rc < 0 ? 1 : 0);
}

/*
 * Forks the smtpd process of g and waits until it is ready.  startup: a
 * TLS file that does not load is a warning (srv_build).  Returns its pid,
 * or -1 with a message in err (the process, if any, is gone).
 */
static pid_t proc_start(struct mta_gen *g, bool startup, char *err,
			size_t errsz)
{
	struct smtpd_server srv;
	if (srv_build(&srv, g->conf, startup, false, err, errsz) < 0) {
		srv_free(&srv);
		return -1;
	}
	struct mta_spawn sp = {&srv, g};
	pid_t pid = master_spawn(proc_run, &sp, MTA_READY_WAIT_MS, err, errsz);
	/* the key and tables are the child's now */
	srv_free(&srv);
	return pid;
}

/* ---- the master --------------------------------------------------------- */

/* Starts the queue manager on the running configuration, without the
   listeners (a removed address must stop answering). */
static pid_t qmgr_spawn(void)
{
	int fds[256];
	size_t n = 0;
	for (size_t i = 0; i < mta_cur->nls && n < 256; i++)
		if (mta_cur->ls[i].fd >= 0)
			fds[n++] = mta_cur->ls[i].fd;
	return qmgr_start(mta_cur->conf, mta_foreground, fds, n);
}

/* The queue manager of the running configuration becomes the current
   one (when it cannot start: tried again in a second). */
static void mta_qmgr_start(void)
{
	pid_t pid = qmgr_spawn();
	mta_qmgr->pid = pid > 0 ? pid : 0;
	mta_qmgr->started = time(NULL);
	mta_qmgr->restart_at = pid > 0 ? 0 : master_now_ms() + 1000;
}

static void master_reload(void)
{
	const char *cerr = NULL;
	char err[1024];
	master_log_reopen();
	struct conf *c = conf_load_warn(mta_conf_path, conf_tables_for("mta"),
					ignore_warning, NULL, &cerr);
	if (c == NULL) {
		log_error("reload: %s: keeping the old configuration",
			  cerr ? cerr : mta_conf_path);
		return;
	}
	struct mta_gen *g = gen_new(c, mta_cur, false, err, sizeof(err));
	if (g == NULL) {
		log_error("reload: %s: %s: keeping the old configuration",
			  mta_conf_path, err);
		conf_free(&c);
		return;
	}
	if ((strcmp(conf_str(c, "queue_directory"),
		    conf_str(mta_cur->conf, "queue_directory")) != 0 ||
	     strcmp(conf_str(c, "mail_owner"),
		    conf_str(mta_cur->conf, "mail_owner")) != 0) &&
	    queue_setup(conf_str(c, "queue_directory"),
			conf_str(c, "mail_owner"), err, sizeof(err)) < 0) {
		log_error("reload: %s: %s: keeping the old configuration",
			  mta_conf_path, err);
		gen_close_own(g);
		gen_free(&g);
		return;
	}
	master_log_conf(c, "smtpd", mta_foreground);
	pid_t pid = proc_start(g, false, err, sizeof(err));
	if (pid < 0) {
		master_log_conf(mta_cur->conf, "smtpd", mta_foreground);
		log_error("reload: %s: %s: keeping the old configuration",
			  mta_conf_path, err);
		gen_close_own(g);
		gen_free(&g);
		return;
	}
	if (mta_smtpd->pid > 0) {
		(void)kill(mta_smtpd->pid, SIGUSR1);
		master_old_add(&mta_master, mta_smtpd);
	}
	mta_smtpd->pid = pid;
	mta_smtpd->started = time(NULL);
	mta_smtpd->restart_at = 0;
	gen_retire(mta_cur, g);
	gen_free(&mta_cur);
	mta_cur = g;
	/* the queue manager: the old one finishes what it delivers, the new
	   one waits for the queue lock and then takes over active/ */
	if (mta_qmgr->pid > 0) {
		qmgr_drain(mta_qmgr->pid);
		master_old_add(&mta_master, mta_qmgr);
	}
	mta_qmgr_start();
	daemon_pidfile_follow(mta_pidfile, sizeof(mta_pidfile),
			      conf_str(mta_cur->conf, "run_directory"),
			      "youju-mta");
	log_info("reload: %s: configuration reloaded", mta_conf_path);
}

/* lib/master: child i (MTA_SMTPD, MTA_QMGR) died; a new one on the
   running configuration */
static pid_t master_restart(size_t i)
{
	char err[1024];
	if (i == MTA_QMGR)
		return qmgr_spawn();
	pid_t pid = proc_start(mta_cur, false, err, sizeof(err));
	if (pid < 0)
		log_error("restarting the smtpd process: %s", err);
	return pid;
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	char err[1024];
	struct conf *conf =
	    daemon_begin(argc, argv, "youju-mta", "mta", "smtpd", &opts);
	mta_foreground = opts.foreground;
	mta_conf_path = opts.conf_path;
	mta_tables = conf_tables_for("mta");
	master_log_conf(conf, "smtpd", mta_foreground);

	mta_cur = gen_new(conf, NULL, true, err, sizeof(err));
	if (mta_cur == NULL)
		fatal("%s", err);

	char *pidfile = mta_pidfile;
	daemon_detach(conf_str(conf, "run_directory"), "youju-mta",
		      mta_foreground, mta_pidfile, sizeof mta_pidfile);

	if (queue_setup(conf_str(conf, "queue_directory"),
			conf_str(conf, "mail_owner"), err, sizeof(err)) < 0)
		fatal("%s", err);
	/* the smtpd process and the queue manager share flushes of the
	   queue's file system (syncgroup.h) */
	if (syncgroup_share(conf_str(conf, "queue_directory")) < 0)
		log_warning("%s: no flushes shared between processes: %s",
			    conf_str(conf, "queue_directory"), strerror(errno));
	/* blocked before the first fork: a child dying at once must still
	   be seen by sigtimedwait */
	mta_master = (struct master){
	    .log_prefix = "",
	    .cur = mta_procs,
	    .ncur = 2,
	    .old = mta_old,
	    .old_max = MTA_OLD_MAX,
	    .stop_wait_ms = MTA_STOP_WAIT_MS,
	    .restart = master_restart,
	    .reload = master_reload,
	};
	sigset_t set;
	master_block_signals(&set);

	pid_t pid = proc_start(mta_cur, true, err, sizeof(err));
	if (pid < 0)
		fatal("%s", err);
	mta_smtpd->pid = pid;
	mta_smtpd->started = time(NULL);
	mta_qmgr_start();
	daemon_ready();

	master_run(&mta_master, &set);
	gen_close_own(mta_cur);
	gen_free(&mta_cur);
	daemon_pidfile_remove(pidfile);
	free(mta_conf_path);
	log_info("stopped");
	log_close();
	return 0;
}
