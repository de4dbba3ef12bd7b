/*
 * The root master's generations, restarts and signals (see master.h).
 */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"

uint64_t master_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void master_block_signals(sigset_t *wait_r)
{
	sigemptyset(wait_r);
	sigaddset(wait_r, SIGCHLD);
	sigaddset(wait_r, SIGHUP);
	sigaddset(wait_r, SIGTERM);
	sigaddset(wait_r, SIGINT);
	sigaddset(wait_r, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, wait_r, NULL) < 0)
		fatal("sigprocmask: %s", strerror(errno));
	sigdelset(wait_r, SIGUSR1); /* the children's signal: ignored here */
}

void master_log_conf(const struct conf *c, const char *ident, bool foreground)
{
	uid_t uid;
	gid_t gid;
	if (privsep_lookup(conf_str(c, "mail_owner"), &uid, &gid) == 1)
		log_set_owner(uid, gid);
	const char *log_file = conf_str(c, "log_file");
	log_set_syslog_name(conf_str(c, "syslog_name"));
	if (log_open(ident, log_file[0] != '\0' ? log_file : NULL,
		     conf_bool(c, "syslog_enable")) < 0)
		log_warning("cannot open %s: %s", log_file, strerror(errno));
	log_set_stderr(foreground);
	log_set_debug(conf_bool(c, "debug"));
}

void master_log_reopen(void)
{
	if (log_reopen() < 0)
		log_warning("reopen log: %s", strerror(errno));
}

unsigned master_ready_wait(int rfd, unsigned n, uint64_t wait_ms)
{
	unsigned ready = 0;
	uint64_t deadline = master_now_ms() + wait_ms;
	while (ready < n) {
		uint64_t now = master_now_ms();
		struct pollfd pfd = {rfd, POLLIN, 0};
		int r =
		    now < deadline ? poll(&pfd, 1, (int)(deadline - now)) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		char buf[256];
		size_t want = n - ready < sizeof buf ? n - ready : sizeof buf;
		ssize_t got = r > 0 ? read(rfd, buf, want) : 0;
		if (got < 0 && errno == EINTR)
			continue;
		/* every child closes its end, so end of file means one died
		   before it was ready */
		if (got <= 0)
			break;
		ready += (unsigned)got;
	}
	close(rfd);
	return ready;
}

void master_kill_wait(pid_t pid)
{
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

pid_t master_spawn(void (*child)(void *ctx, pid_t master, int ready_fd),
		   void *ctx, uint64_t wait_ms, char *err, size_t errsz)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		(void)snprintf(err, errsz, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t master = getpid();
	(void)fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(ctx, master, p[1]);
		_exit(1); /* not reached */
	}
	int saved = errno;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		(void)snprintf(err, errsz, "fork: %s", strerror(saved));
		return -1;
	}
	if (master_ready_wait(p[0], 1, wait_ms) == 1)
		return pid;
	master_kill_wait(pid);
	(void)snprintf(err, errsz, "the new process did not start");
	return -1;
}

/* ---- old generations ---------------------------------------------------- */

static void old_forget(struct master *m, size_t i)
{
	struct master_proc p = m->old[i];
	m->old[i] = m->old[--m->nold];
	if (m->gone != NULL)
		m->gone(&p);
}

void master_old_stop_oldest(struct master *m)
{
	if (m->nold == 0)
		return;
	size_t o = 0;
	for (size_t i = 1; i < m->nold; i++)
		if (m->old[i].started < m->old[o].started)
			o = i;
	pid_t pid = m->old[o].pid;
	log_warning("%sreload: stopping old process %ld, whose sessions "
		    "still run, to make room",
		    m->log_prefix, (long)pid);
	(void)kill(pid, SIGTERM);
	if (m->old_stop_wait_ms > 0) {
		uint64_t deadline = master_now_ms() + m->old_stop_wait_ms;
		while (waitpid(pid, NULL, WNOHANG) == 0) {
			if (master_now_ms() >= deadline) {
				master_kill_wait(pid);
				break;
			}
			struct timespec ts = {0, 20 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	old_forget(m, o);
}

void master_old_add(struct master *m, const struct master_proc *p)
{
	if (p->pid <= 0)
		return;
	if (m->nold == m->old_max)
		master_old_stop_oldest(m);
	m->old[m->nold++] = *p;
}

/* ---- the loop ----------------------------------------------------------- */

/* p died (status): logs it unless stopping and schedules its restart,
   later when it died young. */
static void proc_died(struct master *m, struct master_proc *p, int status,
		      bool stopping)
{
	pid_t pid = p->pid;
	p->pid = 0;
	if (stopping)
		return;
	if (WIFSIGNALED(status))
		log_warning("%s%s (pid %ld) killed by signal %d", m->log_prefix,
			    p->what, (long)pid, WTERMSIG(status));
	else
		log_warning("%s%s (pid %ld) exit status %d", m->log_prefix,
			    p->what, (long)pid, WEXITSTATUS(status));
	uint64_t delay = 0;
	if (time(NULL) - p->started < MASTER_RESTART_YOUNG_S) {
		p->fails++;
		delay = 1000;
		for (unsigned i = 1;
		     i < p->fails && delay < MASTER_RESTART_MAX_S * 1000; i++)
			delay *= 2;
		if (delay > MASTER_RESTART_MAX_S * 1000)
			delay = MASTER_RESTART_MAX_S * 1000;
		log_warning("%s%s: restarting in %llu s", m->log_prefix,
			    p->what, (unsigned long long)(delay / 1000));
	} else {
		p->fails = 0;
	}
	p->restart_at = master_now_ms() + delay;
	if (p->restart_at == 0)
		p->restart_at = 1;
}

static void master_reap(struct master *m, bool stopping)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool found = false;
		for (size_t i = 0; i < m->ncur && !found; i++) {
			struct master_proc *p = &m->cur[i];
			if (p->pid != pid)
				continue;
			found = true;
			proc_died(m, p, status, stopping);
			if (m->gone != NULL) {
				struct master_proc dead = *p;
				dead.pid = pid;
				m->gone(&dead);
			}
		}
		for (size_t i = 0; i < m->nold && !found; i++)
			if (m->old[i].pid == pid) {
				found = true;
				old_forget(m, i);
			}
	}
}

/* Starts the children whose restart is due; returns when the next one
   is (UINT64_MAX: none). */
static uint64_t master_restart_due(struct master *m)
{
	uint64_t now = master_now_ms(), next = UINT64_MAX;
	for (size_t i = 0; i < m->ncur; i++) {
		struct master_proc *p = &m->cur[i];
		if (p->pid != 0 || p->restart_at == 0)
			continue;
		if (p->restart_at <= now) {
			pid_t pid = m->restart(i);
			if (pid > 0) {
				p->pid = pid;
				p->started = time(NULL);
				p->restart_at = 0;
				log_info("%s%s restarted (pid %ld)",
					 m->log_prefix, p->what, (long)pid);
				continue;
			}
			p->restart_at = now + 1000 * MASTER_RESTART_MAX_S;
		}
		if (p->restart_at < next)
			next = p->restart_at;
	}
	return next;
}

static size_t master_running(const struct master *m)
{
	size_t n = m->nold;
	for (size_t i = 0; i < m->ncur; i++)
		n += m->cur[i].pid > 0;
	return n;
}

static void master_kill_all(const struct master *m, int signo)
{
	for (size_t i = 0; i < m->ncur; i++)
		if (m->cur[i].pid > 0)
			(void)kill(m->cur[i].pid, signo);
	for (size_t i = 0; i < m->nold; i++)
		(void)kill(m->old[i].pid, signo);
}

/* Waits for a signal of set until the monotonic time until (UINT64_MAX:
   no limit).  Returns the signal, or -1. */
static int master_sigwait(const sigset_t *set, uint64_t until)
{
	siginfo_t si;
	if (until == UINT64_MAX)
		return sigwaitinfo(set, &si);
	uint64_t now = master_now_ms();
	uint64_t left = until > now ? until - now : 0;
	struct timespec ts = {(time_t)(left / 1000),
			      (long)(left % 1000) * 1000000L};
	return sigtimedwait(set, &si, &ts);
}

/* SIGTERM to every child; those that take too long are killed. */
static void master_stop(struct master *m, const sigset_t *set)
{
	master_kill_all(m, SIGTERM);
	for (size_t i = 0; i < m->ncur; i++)
		m->cur[i].restart_at = 0;
	uint64_t deadline = master_now_ms() + m->stop_wait_ms;
	while (master_running(m) > 0) {
		if (deadline != UINT64_MAX && master_now_ms() >= deadline) {
			log_warning("%sprocesses did not stop, killing them",
				    m->log_prefix);
			master_kill_all(m, SIGKILL);
			deadline = UINT64_MAX;
		}
		(void)master_sigwait(set, deadline == UINT64_MAX
					      ? master_now_ms() + 1000
					      : deadline);
		master_reap(m, true);
	}
}

void master_run(struct master *m, const sigset_t *set)
{
	for (;;) {
		int signo = master_sigwait(set, master_restart_due(m));
		if (signo == SIGCHLD) {
			master_reap(m, false);
		} else if (signo == SIGHUP) {
			m->reload();
		} else if (signo == SIGTERM || signo == SIGINT) {
			log_info("%sstopping on signal %d", m->log_prefix,
				 signo);
			master_stop(m, set);
			return;
		}
	}
}

/* ---- in a child --------------------------------------------------------- */

void master_child_begin(void)
{
	log_set_pid();
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	(void)sigprocmask(SIG_UNBLOCK, &chld, NULL);
}

void master_child_tie(pid_t master, int signo)
{
	if (prctl(PR_SET_PDEATHSIG, signo) < 0)
		fatal("prctl: %s", strerror(errno));
	if (getppid() != master)
		_exit(0);
}

void master_child_ready(int ready_fd, bool foreground)
{
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
	if (!foreground) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			(void)dup2(nul, STDERR_FILENO);
			close(nul);
		}
	}
}
