/*
 * youju-mra: POP3 (110/995) and IMAP4rev1 (143/993) on Maildir++
 * (DESIGN §9).  Started as root, the master binds the ports (one
 * SO_REUSEPORT socket per worker and address, so the kernel spreads the
 * connections), loads the TLS key, opens the log, maps the shared
 * connection counters (mra_limits.h) and forks mra_process_count workers.
 * Each worker drops to mail_owner before the first network byte and runs
 * one event loop, with password checks in threads (login.c).  The master
 * reads no network byte and no worker's data: it restarts dead workers
 * (with a back-off when they die young), passes SIGTERM on, and removes
 * the pid file at the end.
 *
 * `youju reload` (SIGHUP): the master reads youju.cf into a new
 * configuration, loads its TLS key and binds its listen addresses (an
 * address that stays keeps its sockets, so no connection is refused);
 * on any error it logs it, naming the parameter, and changes nothing.
 * Otherwise it starts a new set of workers on the new configuration and,
 * once they are ready, tells the old ones (SIGUSR1) to stop accepting and
 * to exit when their last session ends: sessions finish where they began.
 * The workers of both count in one table of connection counters, each in
 * its own column (128: two full sets; when old workers with long sessions
 * hold too many, the oldest are stopped).
 *
 * Usage: youju-mra [-f]    -f: stay in the foreground, log to stderr too
 */
#include "mra.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "mra_limits.h"
#include "confbind.h"
#include "log.h"
#include "master.h"
#include "privsep.h"
#include "tls.h"
#include "xalloc.h"

#define MRA_LISTENERS_MAX 32
#define MRA_BACKLOG	  256
/* Keys in the shared counters: an IP and a user+IP per connection at most,
   at 3/4 load (about 2 MB per 4 workers, touched only where used). */
#define MRA_LIMITS_ENTRIES 16384
/* How long the first workers have to report ready, and stopping workers
   to exit before they are killed. */
#define MRA_READY_WAIT_MS 30000
#define MRA_STOP_WAIT_MS  8000

/* The old workers still serving their sessions after a reload check for
   the last one this often. */
#define MRA_DRAIN_POLL_MS 200
#define MRA_SPEC_MAX	  256

struct mra_listener {
	int fd[MRA_LIMITS_WORKERS_MAX]; /* one socket per worker */
	struct ev_io *io;
	const struct mra_proto *proto;
	bool tls;
	bool reused;		 /* fds of the previous set */
	char spec[MRA_SPEC_MAX]; /* the listen address */
};

static struct mra_listener mra_listeners[MRA_LISTENERS_MAX];
static size_t mra_nlisteners;
/* the workers (lib/master; slot: their column in the connection
   counters) */
static struct master_proc mra_workers[MRA_LIMITS_WORKERS_MAX];
static unsigned mra_nworkers;
/* workers of earlier configurations, finishing their sessions */
static struct master_proc mra_old[MRA_LIMITS_COLUMNS_MAX];
static struct master mra_master; /* set up in main() */
static struct conf *mra_conf;
static char *mra_conf_path;
static char mra_pidfile[4096];
static bool mra_foreground;
static bool mra_draining; /* in a worker: SIGUSR1 came */
static struct ev_timer *mra_drain_timer;
static int mra_ready_rfd = -1; /* the master's end of the ready pipe */
/* during a reload: the listeners being replaced (the new workers close
   those they do not share) */
static struct mra_listener mra_prev[MRA_LISTENERS_MAX];
static size_t mra_nprev;
static unsigned mra_prev_nworkers;

static void mra_accepted(void *ctx, int fd, const char *peer)
{
	struct mra_listener *l = ctx;
	mra_conn_accept(fd, peer, l->proto, l->tls);
}

static void mra_accept(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	net_accept_batch(fd, mra_accepted, ctx);
}

/* The listener of the running set for (proto, tls, spec), when its
   sockets can serve nworkers workers. */
static struct mra_listener *mra_listener_find(const struct mra_proto *p,
					      bool tls, const char *spec,
					      unsigned nworkers)
{
	if (nworkers != mra_nworkers)
		return NULL;
	for (size_t i = 0; i < mra_nlisteners; i++) {
		struct mra_listener *l = &mra_listeners[i];
		if (l->proto == p && l->tls == tls && l->fd[0] >= 0 &&
		    strcmp(l->spec, spec) == 0)
			return l;
	}
	return NULL;
}

/* Closes the sockets of set ls that the set keep does not share. */
static void mra_listeners_close(struct mra_listener *ls, size_t n,
				unsigned nworkers,
				const struct mra_listener *keep, size_t nkeep)
{
	for (size_t i = 0; i < n; i++) {
		bool kept = false;
		for (size_t k = 0; k < nkeep && ls[i].fd[0] >= 0; k++)
			if (keep[k].fd[0] == ls[i].fd[0])
				kept = true;
		if (kept)
			continue;
		for (unsigned w = 0; w < nworkers; w++)
			if (ls[i].fd[w] >= 0)
				close(ls[i].fd[w]);
		ls[i].fd[0] = -1;
	}
}

/*
 * Adds the listeners of param in c to the set ls (*n of them): the
 * sockets of the running set where the address stays, else nworkers new
 * ones (SO_REUSEPORT, so the kernel spreads the connections, also over
 * the old workers' sockets while they finish).  tls_ok: TLS available.
 * Returns 0, or -1 with a message naming the parameter in err.
 */
static int mra_listen(struct mra_listener *ls, size_t *n, const struct conf *c,
		      unsigned nworkers, bool tls_ok, const char *param,
		      const struct mra_proto *p, bool tls, char *err,
		      size_t errsz)
{
	size_t count;
	const char *const *specs = conf_list(c, param, &count);
	for (size_t i = 0; i < count; i++) {
		if (*n == MRA_LISTENERS_MAX) {
			(void)snprintf(err, errsz,
				       "%s: too many listen addresses", param);
			return -1;
		}
		if (strlen(specs[i]) >= MRA_SPEC_MAX) {
			(void)snprintf(err, errsz, "%s: address too long",
				       param);
			return -1;
		}
		if (tls && !tls_ok) {
			log_warning("%s: no TLS certificate, not listening on "
				    "%s",
				    param, specs[i]);
			continue;
		}
		struct mra_listener *l = &ls[(*n)++];
		*l = (struct mra_listener){.proto = p, .tls = tls};
		memcpy(l->spec, specs[i], strlen(specs[i]) + 1);
		for (unsigned w = 0; w < MRA_LIMITS_WORKERS_MAX; w++)
			l->fd[w] = -1;
		struct mra_listener *old =
		    mra_listener_find(p, tls, specs[i], nworkers);
		if (old != NULL) {
			memcpy(l->fd, old->fd, sizeof l->fd);
			l->reused = true;
			continue;
		}
		for (unsigned w = 0; w < nworkers; w++) {
			const char *lerr = "";
			l->fd[w] = net_listen_tcp_reuseport(
			    specs[i], MRA_BACKLOG, true, &lerr);
			if (l->fd[w] < 0) {
				(void)snprintf(err, errsz, "%s = %s: %s: %s",
					       param, specs[i], lerr,
					       strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

/* Every listener of c into ls; on failure the new sockets are closed. */
static int mra_listen_all(struct mra_listener *ls, size_t *n,
			  const struct conf *c, unsigned nworkers, bool tls_ok,
			  char *err, size_t errsz)
{
	*n = 0;
	if (mra_listen(ls, n, c, nworkers, tls_ok, "pop3_listen",
		       &mra_pop3_proto, false, err, errsz) == 0 &&
	    mra_listen(ls, n, c, nworkers, tls_ok, "pop3s_listen",
		       &mra_pop3_proto, true, err, errsz) == 0 &&
	    mra_listen(ls, n, c, nworkers, tls_ok, "imap_listen",
		       &mra_imap_proto, false, err, errsz) == 0 &&
	    mra_listen(ls, n, c, nworkers, tls_ok, "imaps_listen",
		       &mra_imap_proto, true, err, errsz) == 0 &&
	    mra_listen(ls, n, c, nworkers, tls_ok, "managesieve_listen",
		       &mra_managesieve_proto, false, err, errsz) == 0)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (!ls[i].reused)
			for (unsigned w = 0; w < nworkers; w++)
				if (ls[i].fd[w] >= 0)
					close(ls[i].fd[w]);
	*n = 0;
	return -1;
}

/* ---- worker ------------------------------------------------------------ */

static void mra_drain_check(struct ev_timer *t, void *ctx)
{
	if (mra_conn_count() == 0) {
		log_info("reload: old worker done, exiting");
		ev_loop_stop(mra_srv.loop);
		return;
	}
	ev_timer_set(t, MRA_DRAIN_POLL_MS);
}

static void mra_worker_signal(int signo, void *ctx)
{
	unsigned w = *(const unsigned *)ctx;
	if (signo == SIGHUP) {
		(void)log_reopen();
		log_info("reload: log reopened");
		return;
	}
	if (signo == SIGUSR1) {
		/* a new configuration took over: take what is already
		   queued on our sockets, then stop accepting; the sessions
		   finish here */
		if (mra_draining)
			return;
		mra_draining = true;
		for (size_t i = 0; i < mra_nlisteners; i++) {
			struct mra_listener *l = &mra_listeners[i];
			mra_accept(l->io, l->fd[w], EV_READ, l);
			ev_io_free(&l->io);
			close(l->fd[w]);
			l->fd[w] = -1;
		}
		log_info("reload: old worker stops accepting");
		mra_drain_timer =
		    ev_timer_new(mra_srv.loop, 0, mra_drain_check, NULL);
		return;
	}
	ev_loop_stop(mra_srv.loop);
}

/* Worker w, in the child after fork: never returns.  ready_fd (or -1)
   gets one byte once the loop is set up. */
static void mra_worker_run(unsigned w, pid_t master, int ready_fd)
{
	static unsigned me;
	me = w;
	const char *err = NULL;
	/* SIGTERM, SIGINT and SIGHUP stay blocked from the master's mask:
	   ev_signal() takes them over, pending ones included, so a SIGHUP
	   passed on while this worker starts does not kill it */
	master_child_begin();
	if (mra_ready_rfd >= 0)
		close(mra_ready_rfd);
	/* not the sockets of the set being replaced: a removed address
	   must stop answering when the old workers stop */
	mra_listeners_close(mra_prev, mra_nprev, mra_prev_nworkers,
			    mra_listeners, mra_nlisteners);
	/* only its own sockets: the others are its siblings' queues */
	for (size_t i = 0; i < mra_nlisteners; i++)
		for (unsigned k = 0; k < mra_nworkers; k++)
			if (k != w)
				close(mra_listeners[i].fd[k]);

	/* no network byte has been read yet: drop root now (STYLE.md) */
	if (privsep_drop(conf_str(mra_conf, "mail_owner"), &err) < 0)
		fatal("dropping privileges to %s: %s: %s",
		      conf_str(mra_conf, "mail_owner"), err, strerror(errno));
	/* no worker outlives a master killed with SIGKILL */
	master_child_tie(master, SIGTERM);
	mra_srv.uid = getuid();
	umask(077);
	if (mra_srv.limits != NULL &&
	    mra_limits_attach(mra_srv.limits, mra_workers[w].slot) < 0)
		fatal("connection limits: %s", strerror(errno));

	mra_srv.loop = ev_loop_new();
	if (mra_srv.loop == NULL)
		fatal("event loop: %s", strerror(errno));
	for (size_t i = 0; i < mra_nlisteners; i++) {
		struct mra_listener *l = &mra_listeners[i];
		l->io =
		    ev_io_new(mra_srv.loop, l->fd[w], EV_READ, mra_accept, l);
		if (l->io == NULL)
			fatal("event loop: %s", strerror(errno));
	}
	if (mra_login_init(mra_srv.loop) < 0 ||
	    ev_signal(mra_srv.loop, SIGTERM, mra_worker_signal, &me) < 0 ||
	    ev_signal(mra_srv.loop, SIGINT, mra_worker_signal, &me) < 0 ||
	    ev_signal(mra_srv.loop, SIGHUP, mra_worker_signal, &me) < 0 ||
	    ev_signal(mra_srv.loop, SIGUSR1, mra_worker_signal, &me) < 0)
		fatal("event loop setup: %s", strerror(errno));
	log_debug("worker %u started", w);
	master_child_ready(ready_fd, mra_foreground);
	int rc = ev_loop_run(mra_srv.loop);
	mra_conn_free_all();
	ev_timer_free(&mra_drain_timer);
	for (size_t i = 0; i < mra_nlisteners; i++) {
		ev_io_free(&mra_listeners[i].io);
		if (mra_listeners[i].fd[w] >= 0)
			close(mra_listeners[i].fd[w]);
	}
	ev_loop_free(&mra_srv.loop);
	tls_ctx_free(&mra_srv.tls);
	mra_limits_free(&mra_srv.limits);
	conf_free(&mra_conf);
	exit(rc < 0 ? 1 : 0);
}

/* ---- master ------------------------------------------------------------ */

static pid_t mra_worker_fork(unsigned w, int ready_fd)
{
	pid_t master = getpid();
	(void)fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		mra_worker_run(w, master, ready_fd);
	mra_workers[w].pid = pid;
	mra_workers[w].started = time(NULL);
	mra_workers[w].restart_at = 0;
	snprintf(mra_workers[w].what, sizeof mra_workers[w].what, "worker %u",
		 w);
	return pid;
}

/* Forks every worker and waits until each has set up its loop, so that
   `youju start` and a reload see a worker that cannot start.  Returns 0,
   or -1 with *why (the workers started are killed and reaped). */
static int mra_workers_start(const char **why)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		*why = "pipe";
		return -1;
	}
	mra_ready_rfd = p[0];
	unsigned started = 0;
	for (unsigned w = 0; w < mra_nworkers; w++, started++)
		if (mra_worker_fork(w, p[1]) < 0)
			break;
	close(p[1]);
	unsigned ready =
	    started == mra_nworkers
		? master_ready_wait(p[0], mra_nworkers, MRA_READY_WAIT_MS)
		: 0;
	if (started != mra_nworkers)
		close(p[0]);
	mra_ready_rfd = -1;
	if (ready == mra_nworkers)
		return 0;
	for (unsigned w = 0; w < started; w++) {
		master_kill_wait(mra_workers[w].pid);
		mra_workers[w].pid = 0;
	}
	*why = "worker processes did not start";
	return -1;
}

/* lib/master: a worker or an old worker is gone: its column of
   connection counters is free */
static void mra_worker_gone(const struct master_proc *p)
{
	if (mra_srv.limits != NULL)
		mra_limits_worker_gone(mra_srv.limits, p->slot);
}

/* lib/master: worker i died; it is forked again */
static pid_t mra_worker_restart(size_t i)
{
	return mra_worker_fork((unsigned)i, -1);
}

static unsigned mra_process_count(const struct conf *c)
{
	int64_t n = conf_int(c, "mra_process_count");
	if (n <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? cpus : 1;
	}
	if (n > MRA_LIMITS_WORKERS_MAX)
		n = MRA_LIMITS_WORKERS_MAX;
	return (unsigned)n;
}

/* The settings of youju.cf in mra_srv (lib/confbind). */
#define B(kind, name, field) CONF_BIND(kind, name, struct mra_server, field)
static const struct conf_bind mra_binds[] = {
    B(CONF_B_STR, "authd_socket", authd_socket),
    B(CONF_B_STR, "myhostname", hostname),
    B(CONF_B_MS, "imap_autologout", autologout_ms),
    B(CONF_B_U64, "message_size_limit", message_size_limit),
    B(CONF_B_BOOL, "imap_login_disabled_without_tls", login_needs_tls),
    B(CONF_B_UINT, "mra_max_userip_connections", max_userip),
    B(CONF_B_UINT, "mra_client_connection_count_limit", max_per_ip),
    B(CONF_B_MS, "mra_output_timeout", output_timeout_ms),
    B(CONF_B_U64, "sieve_max_script_size", sieve_max_script_size),
    B(CONF_B_UINT, "sieve_quota_max_scripts", sieve_max_scripts),
};
#undef B

/* The settings the workers read from c (strings borrowed from c). */
static void mra_settings(const struct conf *c)
{
	conf_bind_apply(c, mra_binds, sizeof mra_binds / sizeof *mra_binds,
			&mra_srv);
	if (mra_srv.message_size_limit == 0 ||
	    mra_srv.message_size_limit > MRA_OUT_MAX / 2)
		mra_srv.message_size_limit = MRA_OUT_MAX / 2;
}

/* Gives workers 0..n-1 counter columns that neither an old worker nor
   one of the ncur running workers cur uses, stopping the oldest old
   workers when there are not enough.  Returns 0, or -1 when there is no
   room even so. */
static int mra_slots_assign(unsigned n, const struct master_proc *cur,
			    unsigned ncur)
{
	unsigned running = 0;
	for (unsigned i = 0; i < ncur; i++)
		if (cur[i].pid > 0)
			running++;
	while (mra_master.nold > 0 &&
	       mra_master.nold + running + n > MRA_LIMITS_COLUMNS_MAX)
		master_old_stop_oldest(&mra_master);
	unsigned w = 0;
	for (unsigned slot = 0; slot < MRA_LIMITS_COLUMNS_MAX && w < n;
	     slot++) {
		bool used = false;
		for (size_t i = 0; i < mra_master.nold; i++)
			if (mra_old[i].slot == slot)
				used = true;
		for (unsigned i = 0; i < ncur; i++)
			if (cur[i].pid > 0 && cur[i].slot == slot)
				used = true;
		if (!used)
			mra_workers[w++].slot = slot;
	}
	return w == n ? 0 : -1;
}

static void mra_unused_ignore(void *ctx, const char *msg)
{
}

/*
 * SIGHUP: see the top of the file.  The new workers start before the old
 * ones are told to stop, so a failure leaves the old ones as they were.
 */
static void mra_reload(void)
{
	char err[1024];
	const char *cerr = NULL;
	master_log_reopen();
	struct conf *c = conf_load_warn(mra_conf_path, conf_tables_for("mra"),
					mra_unused_ignore, NULL, &cerr);
	if (c == NULL) {
		log_error("reload: %s: keeping the old configuration",
			  cerr != NULL ? cerr : mra_conf_path);
		return;
	}
	unsigned nw = mra_process_count(c);
	/* TLS: a certificate that does not load keeps the old one */
	const char *cert = conf_str(c, "smtpd_tls_cert_file");
	const char *key = conf_str(c, "smtpd_tls_key_file");
	const char *terr = NULL;
	struct tls_ctx *tls = tls_server_ctx_new(cert, key, &terr);
	if (tls == NULL && cert[0] != '\0' && access(cert, F_OK) == 0) {
		log_error("reload: %s: smtpd_tls_cert_file = %s, "
			  "smtpd_tls_key_file = %s: %s: keeping the old "
			  "configuration",
			  mra_conf_path, cert, key, terr);
		conf_free(&c);
		return;
	}
	if (tls == NULL)
		log_warning("TLS disabled: %s", terr);
	static struct mra_listener ls[MRA_LISTENERS_MAX];
	size_t nls;
	if (mra_listen_all(ls, &nls, c, nw, tls != NULL, err, sizeof err) < 0) {
		log_error("reload: %s: %s: keeping the old configuration",
			  mra_conf_path, err);
		tls_ctx_free(&tls);
		conf_free(&c);
		return;
	}
	/* from here the master switches to the new set, and back when the
	   new workers do not start */
	struct master_proc saved[MRA_LIMITS_WORKERS_MAX];
	memcpy(saved, mra_workers, sizeof saved);
	unsigned saved_n = mra_nworkers;
	size_t saved_nls = mra_nlisteners;
	memcpy(mra_prev, mra_listeners, sizeof mra_prev);
	mra_nprev = mra_nlisteners;
	mra_prev_nworkers = mra_nworkers;
	const char *why = "no room in the connection counters for the new "
			  "workers";
	struct tls_ctx *old_tls = mra_srv.tls;
	struct conf *old_conf = mra_conf;
	int rc = -1;
	if (mra_slots_assign(nw, saved, saved_n) == 0) {
		memcpy(mra_listeners, ls, sizeof ls);
		mra_nlisteners = nls;
		mra_nworkers = nw;
		mra_master.ncur = mra_nworkers;
		for (unsigned w = 0; w < nw; w++)
			mra_workers[w] =
			    (struct master_proc){.slot = mra_workers[w].slot};
		mra_srv.tls = tls;
		mra_conf = c;
		mra_settings(c);
		master_log_conf(c, "mra", mra_foreground);
		rc = mra_workers_start(&why);
	}
	if (rc < 0) {
		mra_nprev = 0;
		memcpy(mra_workers, saved, sizeof saved);
		mra_nworkers = saved_n;
		mra_master.ncur = mra_nworkers;
		memcpy(mra_listeners, mra_prev, sizeof mra_prev);
		mra_nlisteners = saved_nls;
		mra_srv.tls = old_tls;
		mra_conf = old_conf;
		mra_settings(old_conf);
		master_log_conf(old_conf, "mra", mra_foreground);
		log_error("reload: %s: %s: keeping the old configuration",
			  mra_conf_path, why);
		for (size_t i = 0; i < nls; i++)
			if (!ls[i].reused)
				for (unsigned w = 0; w < nw; w++)
					if (ls[i].fd[w] >= 0)
						close(ls[i].fd[w]);
		tls_ctx_free(&tls);
		conf_free(&c);
		return;
	}
	/* the workers of the old set finish their sessions */
	for (unsigned w = 0; w < saved_n; w++) {
		if (saved[w].pid <= 0)
			continue;
		(void)kill(saved[w].pid, SIGUSR1);
		master_old_add(&mra_master, &saved[w]);
	}
	mra_listeners_close(mra_prev, mra_nprev, mra_prev_nworkers,
			    mra_listeners, mra_nlisteners);
	mra_nprev = 0;
	for (size_t i = 0; i < mra_nlisteners; i++)
		mra_listeners[i].reused = false;
	tls_ctx_free(&old_tls);
	conf_free(&old_conf);
	daemon_pidfile_follow(mra_pidfile, sizeof mra_pidfile,
			      conf_str(mra_conf, "run_directory"), "youju-mra");
	log_info("reload: %s: configuration reloaded, %zu listeners, %u "
		 "processes",
		 mra_conf_path, mra_nlisteners, mra_nworkers);
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	mra_conf = daemon_begin(argc, argv, "youju-mra", "mra", "mra", &opts);
	mra_foreground = opts.foreground;
	mra_conf_path = opts.conf_path;
	master_log_conf(mra_conf, "mra", mra_foreground);
	const char *err = NULL;
	/* one descriptor per client: take all the kernel allows us, the
	   connection limits above decide who gets them */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}

	mra_settings(mra_conf);
	mra_nworkers = mra_process_count(mra_conf);

	const char *terr = NULL;
	mra_srv.tls =
	    tls_server_ctx_new(conf_str(mra_conf, "smtpd_tls_cert_file"),
			       conf_str(mra_conf, "smtpd_tls_key_file"), &terr);
	if (mra_srv.tls == NULL)
		log_warning("TLS disabled: %s", terr);

	char lerr[1024];
	if (mra_listen_all(mra_listeners, &mra_nlisteners, mra_conf,
			   mra_nworkers, mra_srv.tls != NULL, lerr,
			   sizeof lerr) < 0)
		fatal("%s", lerr);
	for (size_t i = 0; i < mra_nlisteners; i++)
		mra_listeners[i].reused = false;

	char *pidfile = mra_pidfile;
	daemon_detach(conf_str(mra_conf, "run_directory"), "youju-mra",
		      mra_foreground, mra_pidfile, sizeof mra_pidfile);

	/* a column for every worker there may be, old ones included */
	mra_srv.limits =
	    mra_limits_new(MRA_LIMITS_COLUMNS_MAX, MRA_LIMITS_ENTRIES);
	if (mra_srv.limits == NULL)
		fatal("connection limits: %s", strerror(errno));
	/* blocked before the first fork: a worker dying at once must still
	   be seen by sigtimedwait */
	mra_master = (struct master){
	    .log_prefix = "",
	    .cur = mra_workers,
	    .ncur = mra_nworkers,
	    .old = mra_old,
	    .old_max = MRA_LIMITS_COLUMNS_MAX,
	    .old_stop_wait_ms = MRA_STOP_WAIT_MS,
	    .stop_wait_ms = MRA_STOP_WAIT_MS,
	    .restart = mra_worker_restart,
	    .reload = mra_reload,
	    .gone = mra_worker_gone,
	};
	sigset_t set;
	master_block_signals(&set); /* a worker dying at once is seen */
	if (mra_slots_assign(mra_nworkers, NULL, 0) < 0 ||
	    mra_workers_start(&err) < 0)
		fatal("%s", err);
	log_info("daemon started: %zu listeners, %u processes", mra_nlisteners,
		 mra_nworkers);
	daemon_ready();
	master_run(&mra_master, &set);
	for (size_t i = 0; i < mra_nlisteners; i++)
		for (unsigned w = 0; w < mra_nworkers; w++)
			if (mra_listeners[i].fd[w] >= 0)
				close(mra_listeners[i].fd[w]);
	tls_ctx_free(&mra_srv.tls);
	mra_limits_free(&mra_srv.limits);
	daemon_pidfile_remove(pidfile);
	log_info("daemon stopped");
	conf_free(&mra_conf);
	free(mra_conf_path);
	return 0;
}
