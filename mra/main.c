/*
 * youju-mra: POP3 (110/995) and IMAP4rev1 (143/993) on Maildir++
 * (DESIGN §9).  Started as root, the master binds the ports (one
 * SO_REUSEPORT socket per worker and address, so the kernel spreads the
 * connections), loads the TLS key, opens the log, maps the shared
 * connection counters (mra_limits.h) and forks mra_process_count workers.
 * Each worker drops to mail_owner before the first network byte and runs
 * one event loop, with password checks in threads (login.c).  The master
 * reads no network byte and no worker's data: it restarts dead workers
 * (with a back-off when they die young), passes SIGHUP and SIGTERM on,
 * and removes the pid file at the end.
 *
 * Usage: youju-mra [-f]    -f: stay in the foreground, log to stderr too
 */
#include "mra.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "mra_limits.h"
#include "log.h"
#include "privsep.h"
#include "tls.h"
#include "xalloc.h"

#define MRA_LISTENERS_MAX 32
#define MRA_BACKLOG 256
/* Keys in the shared counters: an IP and a user+IP per connection at most,
   at 3/4 load (about 2 MB per 4 workers, touched only where used). */
#define MRA_LIMITS_ENTRIES 16384
/* A worker that dies within this many seconds of its start is restarted
   after a delay doubling from 1 s up to MRA_RESTART_MAX_S. */
#define MRA_RESTART_YOUNG_S 10
#define MRA_RESTART_MAX_S 30
/* How long the first workers have to report ready, and stopping workers
   to exit before they are killed. */
#define MRA_READY_WAIT_MS 30000
#define MRA_STOP_WAIT_MS 8000

struct mra_listener {
	int fd[MRA_LIMITS_WORKERS_MAX];  /* one socket per worker */
	struct ev_io *io;
	const struct mra_proto *proto;
	bool tls;
};

struct mra_worker {
	pid_t pid;            /* 0: not running */
	time_t started;
	unsigned fails;       /* deaths in a row within MRA_RESTART_YOUNG_S */
	uint64_t restart_at;  /* monotonic ms; 0: none scheduled */
};

static struct mra_listener mra_listeners[MRA_LISTENERS_MAX];
static size_t mra_nlisteners;
static struct mra_worker mra_workers[MRA_LIMITS_WORKERS_MAX];
static unsigned mra_nworkers;
static struct conf *mra_conf;
static bool mra_foreground;
static int mra_ready_rfd = -1;  /* the master's end of the ready pipe */

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
		struct mra_listener *l = &mra_listeners[mra_nlisteners++];
		*l = (struct mra_listener){ .proto = p, .tls = tls };
		for (unsigned w = 0; w < mra_nworkers; w++) {
			const char *err = "";
			l->fd[w] = net_listen_tcp_reuseport(
				specs[i], MRA_BACKLOG, mra_nworkers > 1, &err);
			if (l->fd[w] < 0)
				fatal("%s %s: %s: %s", param, specs[i], err,
				      strerror(errno));
		}
	}
}

static uint64_t mra_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- worker ------------------------------------------------------------ */

static void mra_worker_signal(int signo, void *ctx)
{
	if (signo == SIGHUP) {
		(void)log_reopen();
		log_info("reload: log reopened");
		return;
	}
	ev_loop_stop(mra_srv.loop);
}

/* Worker w, in the child after fork: never returns.  ready_fd (or -1)
   gets one byte once the loop is set up. */
static void mra_worker_run(unsigned w, pid_t master, int ready_fd)
{
	const char *err = NULL;
	/* SIGTERM, SIGINT and SIGHUP stay blocked from the master's mask:
	   ev_signal() takes them over, pending ones included, so a SIGHUP
	   passed on while this worker starts does not kill it */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	(void)sigprocmask(SIG_UNBLOCK, &chld, NULL);
	log_set_pid();
	if (mra_ready_rfd >= 0)
		close(mra_ready_rfd);
	/* only its own sockets: the others are its siblings' queues */
	for (size_t i = 0; i < mra_nlisteners; i++)
		for (unsigned k = 0; k < mra_nworkers; k++)
			if (k != w)
				close(mra_listeners[i].fd[k]);

	/* no network byte has been read yet: drop root now (STYLE.md) */
	if (privsep_drop(conf_str(mra_conf, "mail_owner"), &err) < 0)
		fatal("dropping privileges to %s: %s: %s",
		      conf_str(mra_conf, "mail_owner"), err, strerror(errno));
	/* set after the drop, which clears it: no worker outlives a master
	   killed with SIGKILL */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		fatal("prctl: %s", strerror(errno));
	if (getppid() != master)
		_exit(0);
	mra_srv.uid = getuid();
	umask(077);
	if (mra_srv.limits != NULL && mra_limits_attach(mra_srv.limits, w) < 0)
		fatal("connection limits: %s", strerror(errno));

	mra_srv.loop = ev_loop_new();
	if (mra_srv.loop == NULL)
		fatal("event loop: %s", strerror(errno));
	for (size_t i = 0; i < mra_nlisteners; i++) {
		struct mra_listener *l = &mra_listeners[i];
		l->io = ev_io_new(mra_srv.loop, l->fd[w], EV_READ, mra_accept,
				  l);
		if (l->io == NULL)
			fatal("event loop: %s", strerror(errno));
	}
	if (mra_login_init(mra_srv.loop) < 0 ||
	    ev_signal(mra_srv.loop, SIGTERM, mra_worker_signal, NULL) < 0 ||
	    ev_signal(mra_srv.loop, SIGINT, mra_worker_signal, NULL) < 0 ||
	    ev_signal(mra_srv.loop, SIGHUP, mra_worker_signal, NULL) < 0)
		fatal("event loop setup: %s", strerror(errno));
	log_debug("worker %u started", w);
	if (ready_fd >= 0) {
		char b = 'R';
		ssize_t n;
		do
			n = write(ready_fd, &b, 1);
		while (n < 0 && errno == EINTR);
		close(ready_fd);
	}
	/* as daemon_ready() does for the master: `youju start` waits for
	   the end of its output, which this copy of stderr would hold */
	if (!mra_foreground) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			(void)dup2(nul, STDERR_FILENO);
			close(nul);
		}
	}
	int rc = ev_loop_run(mra_srv.loop);
	mra_conn_free_all();
	for (size_t i = 0; i < mra_nlisteners; i++) {
		ev_io_free(&mra_listeners[i].io);
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
	return pid;
}

/* Forks every worker and waits until each has set up its loop, so that
   `youju start` reports a worker that cannot start. */
static void mra_workers_start(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		fatal("pipe: %s", strerror(errno));
	mra_ready_rfd = p[0];
	for (unsigned w = 0; w < mra_nworkers; w++)
		if (mra_worker_fork(w, p[1]) < 0)
			fatal("cannot start worker processes");
	close(p[1]);
	unsigned ready = 0;
	uint64_t deadline = mra_now_ms() + MRA_READY_WAIT_MS;
	while (ready < mra_nworkers) {
		uint64_t now = mra_now_ms();
		struct pollfd pfd = { p[0], POLLIN, 0 };
		int r = now < deadline ? poll(&pfd, 1, (int)(deadline - now))
				       : 0;
		if (r < 0 && errno == EINTR)
			continue;
		char buf[MRA_LIMITS_WORKERS_MAX];
		ssize_t n = r > 0 ? read(p[0], buf, sizeof buf) : 0;
		if (n <= 0) {
			/* every worker closes its end, so end of file means
			   one died before it was ready */
			for (unsigned w = 0; w < mra_nworkers; w++)
				if (mra_workers[w].pid > 0)
					kill(mra_workers[w].pid, SIGKILL);
			fatal("worker processes did not start (%u of %u "
			      "ready)",
			      ready, mra_nworkers);
		}
		ready += (unsigned)n;
	}
	close(p[0]);
	mra_ready_rfd = -1;
}

static int mra_worker_index(pid_t pid)
{
	for (unsigned w = 0; w < mra_nworkers; w++)
		if (mra_workers[w].pid == pid)
			return (int)w;
	return -1;
}

/* Collects dead workers; when not stopping, schedules their restart. */
static void mra_workers_reap(bool stopping)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int w = mra_worker_index(pid);
		if (w < 0)
			continue;
		struct mra_worker *wk = &mra_workers[w];
		wk->pid = 0;
		if (mra_srv.limits != NULL)
			mra_limits_worker_gone(mra_srv.limits, (unsigned)w);
		if (stopping)
			continue;
		if (WIFSIGNALED(status))
			log_warning("worker %d (pid %ld) killed by signal %d",
				    w, (long)pid, WTERMSIG(status));
		else
			log_warning("worker %d (pid %ld) exit status %d", w,
				    (long)pid, WEXITSTATUS(status));
		uint64_t delay = 0;
		if (time(NULL) - wk->started < MRA_RESTART_YOUNG_S) {
			wk->fails++;
			delay = 1000;
			for (unsigned i = 1; i < wk->fails &&
					     delay < MRA_RESTART_MAX_S * 1000;
			     i++)
				delay *= 2;
			if (delay > MRA_RESTART_MAX_S * 1000)
				delay = MRA_RESTART_MAX_S * 1000;
		} else {
			wk->fails = 0;
		}
		if (delay > 0)
			log_warning("worker %d: restarting in %llu s", w,
				    (unsigned long long)(delay / 1000));
		wk->restart_at = mra_now_ms() + delay;
		if (wk->restart_at == 0)
			wk->restart_at = 1;
	}
}

static unsigned mra_workers_running(void)
{
	unsigned n = 0;
	for (unsigned w = 0; w < mra_nworkers; w++)
		if (mra_workers[w].pid > 0)
			n++;
	return n;
}

static void mra_workers_kill(int signo)
{
	for (unsigned w = 0; w < mra_nworkers; w++)
		if (mra_workers[w].pid > 0)
			(void)kill(mra_workers[w].pid, signo);
}

/* SIGTERM/SIGINT: the workers close their sessions and exit; those that
   take too long are killed. */
static void mra_workers_stop(const sigset_t *set)
{
	mra_workers_kill(SIGTERM);
	uint64_t deadline = mra_now_ms() + MRA_STOP_WAIT_MS;
	while (mra_workers_running() > 0) {
		uint64_t now = mra_now_ms();
		if (now >= deadline) {
			log_warning("workers did not stop, killing them");
			mra_workers_kill(SIGKILL);
			deadline = UINT64_MAX;
		}
		uint64_t left = deadline == UINT64_MAX ? 1000 : deadline - now;
		struct timespec ts = { (time_t)(left / 1000),
				       (long)(left % 1000) * 1000000L };
		(void)sigtimedwait(set, NULL, &ts);
		mra_workers_reap(true);
	}
}

/* The master's loop: signals only (blocked, taken with sigtimedwait), so
   it needs no event loop and holds no descriptor but the listeners. */
static void mra_master_run(const sigset_t *set)
{
	for (;;) {
		uint64_t now = mra_now_ms(), next = UINT64_MAX;
		for (unsigned w = 0; w < mra_nworkers; w++) {
			struct mra_worker *wk = &mra_workers[w];
			if (wk->pid != 0 || wk->restart_at == 0)
				continue;
			if (wk->restart_at <= now) {
				if (mra_worker_fork(w, -1) > 0)
					log_info("worker %u restarted (pid "
						 "%ld)",
						 w, (long)wk->pid);
				else
					wk->restart_at = now + 1000;
			}
			if (wk->pid == 0 && wk->restart_at < next)
				next = wk->restart_at;
		}
		siginfo_t si;
		int signo;
		if (next == UINT64_MAX) {
			signo = sigwaitinfo(set, &si);
		} else {
			uint64_t left = next > now ? next - now : 0;
			struct timespec ts = { (time_t)(left / 1000),
					       (long)(left % 1000) * 1000000L };
			signo = sigtimedwait(set, &si, &ts);
		}
		if (signo == SIGCHLD) {
			mra_workers_reap(false);
		} else if (signo == SIGHUP) {
			(void)log_reopen();
			log_info("reload: log reopened");
			mra_workers_kill(SIGHUP);
		} else if (signo == SIGTERM || signo == SIGINT) {
			log_info("daemon stopping");
			mra_workers_stop(set);
			return;
		}
	}
}

static unsigned mra_process_count(void)
{
	int64_t n = conf_int(mra_conf, "mra_process_count");
	if (n <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus > 0 ? cpus : 1;
	}
	if (n > MRA_LIMITS_WORKERS_MAX)
		n = MRA_LIMITS_WORKERS_MAX;
	return (unsigned)n;
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	mra_conf = daemon_begin(argc, argv, "youju-mra", "mra", "mra", &opts);
	mra_foreground = opts.foreground;
	free(opts.conf_path);
	const char *err = NULL;
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
	mra_nworkers = mra_process_count();

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
	if (daemon_start(pidfile, mra_foreground, &err) < 0)
		fatal("%s: %s: %s", pidfile, err, strerror(errno));
	log_set_pid();

	mra_srv.limits = mra_limits_new(mra_nworkers, MRA_LIMITS_ENTRIES);
	if (mra_srv.limits == NULL)
		fatal("connection limits: %s", strerror(errno));
	/* blocked before the first fork: a worker dying at once must still
	   be seen by sigtimedwait */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal("sigprocmask: %s", strerror(errno));
	mra_workers_start();
	log_info("daemon started: %zu listeners, %u processes",
		 mra_nlisteners, mra_nworkers);
	daemon_ready();
	mra_master_run(&set);
	for (size_t i = 0; i < mra_nlisteners; i++)
		for (unsigned w = 0; w < mra_nworkers; w++)
			close(mra_listeners[i].fd[w]);
	tls_ctx_free(&mra_srv.tls);
	mra_limits_free(&mra_srv.limits);
	daemon_pidfile_remove(pidfile);
	log_info("daemon stopped");
	conf_free(&mra_conf);
	return 0;
}
