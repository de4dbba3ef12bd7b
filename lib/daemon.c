/*
 * Daemonising with a readiness pipe; see daemon.h.  The parent blocks on
 * read() of the pipe: one byte means ready, end of file means the child
 * died or gave up (its error is already on the shared stderr).  The write
 * end is close-on-exec so a helper the daemon runs cannot hold the parent.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "str.h"
#include "xalloc.h"

static int daemon_ready_fd = -1;

static int daemon_devnull(int target)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fd != target && dup2(fd, target) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (fd != target)
		close(fd);
	return 0;
}

int daemon_pidfile_write(const char *path)
{
	char line[32];
	int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
	if (len < 0 || (size_t)len >= sizeof line) {
		errno = EINVAL;
		return -1;
	}
	/* a pid file is rewritten at every start: no fsync */
	struct file_replace_opts o = {.mode = 0644, .no_fsync = true};
	return file_replace(path, line, (size_t)len, &o);
}

pid_t daemon_pidfile_read(const char *path)
{
	char line[32];
	uint64_t v;

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, line, sizeof line);
	close(fd);
	if (n <= 0 || (size_t)n >= sizeof line)
		return 0;
	size_t len = (size_t)n;
	if (line[len - 1] == '\n')
		len--;
	struct str s = {line, len};
	if (str_to_u64(s, 1, INT32_MAX, &v) < 0)
		return 0;
	return (pid_t)v;
}

bool daemon_is_running(const char *path)
{
	pid_t pid = daemon_pidfile_read(path);

	if (pid <= 0)
		return false;
	/* EPERM: it exists but belongs to someone else, still running. */
	return kill(pid, 0) == 0 || errno == EPERM;
}

void daemon_pidfile_remove(const char *path)
{
	if (path != NULL && daemon_pidfile_read(path) == getpid())
		(void)unlink(path);
}

/* The parent's side: wait for the ready byte, never return. */
static void daemon_wait_ready(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	/* _exit: atexit handlers and stdio buffers belong to the child. */
	_exit(n == 1 ? 0 : 1);
}

int daemon_start(const char *pidfile, bool foreground, const char **error_r)
{
	int p[2];

	if (pidfile != NULL && daemon_is_running(pidfile) &&
	    daemon_pidfile_read(pidfile) != getpid()) {
		*error_r = "already running";
		errno = EEXIST;
		return -1;
	}
	if (foreground) {
		if (pidfile != NULL && daemon_pidfile_write(pidfile) < 0) {
			*error_r = "cannot write pidfile";
			return -1;
		}
		return 0;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		*error_r = "pipe";
		return -1;
	}
	(void)fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(p[0]);
		close(p[1]);
		errno = saved;
		*error_r = "fork";
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		daemon_wait_ready(p[0]);
	}
	close(p[0]);
	daemon_ready_fd = p[1];
	if (setsid() < 0) {
		*error_r = "setsid";
		return -1;
	}
	if (daemon_devnull(STDIN_FILENO) < 0 ||
	    daemon_devnull(STDOUT_FILENO) < 0) {
		*error_r = "cannot open /dev/null";
		return -1;
	}
	if (pidfile != NULL && daemon_pidfile_write(pidfile) < 0) {
		*error_r = "cannot write pidfile";
		return -1;
	}
	return 0;
}

void daemon_ready(void)
{
	if (daemon_ready_fd < 0)
		return;
	ssize_t n;
	do
		n = write(daemon_ready_fd, "R", 1);
	while (n < 0 && errno == EINTR);
	close(daemon_ready_fd);
	daemon_ready_fd = -1;
	(void)daemon_devnull(STDERR_FILENO);
}

void daemon_pidfile_follow(char *path, size_t size, const char *run_dir,
			   const char *name)
{
	char np[4096];
	int n = snprintf(np, sizeof np, "%s/%s.pid", run_dir, name);
	if (n < 0 || (size_t)n >= sizeof np || (size_t)n >= size) {
		log_warning(
		    "run_directory = %.200s: too long, the pid file stays "
		    "%s",
		    run_dir, path);
		return;
	}
	if (strcmp(np, path) == 0)
		return;
	if (daemon_pidfile_write(np) < 0) {
		log_warning("pid file %s: %s (it stays %s)", np,
			    strerror(errno), path);
		return;
	}
	daemon_pidfile_remove(path);
	memcpy(path, np, (size_t)n + 1);
}

void daemon_ready_forget(void)
{
	if (daemon_ready_fd >= 0)
		close(daemon_ready_fd);
	daemon_ready_fd = -1;
}

struct conf *daemon_begin(int argc, char **argv, const char *prog,
			  const char *program, const char *ident,
			  struct daemon_opts *o)
{
	int opt;
	bool bad = false;
	o->foreground = false;
	o->conf_path = NULL;
	while (!bad && (opt = getopt(argc, argv, "fc:")) != -1) {
		switch (opt) {
		case 'f':
			o->foreground = true;
			break;
		case 'c':
			free(o->conf_path);
			o->conf_path = xstrdup(optarg);
			break;
		default:
			bad = true;
			break;
		}
	}
	if (bad || optind != argc) {
		fprintf(stderr, "usage: %s [-f] [-c configfile]\n", prog);
		exit(2);
	}
	if (o->conf_path == NULL)
		o->conf_path = conf_default_path();

	const char *err = NULL;
	struct conf *conf =
	    conf_load(o->conf_path, conf_tables_for(program), &err);
	if (conf == NULL)
		fatal("%s: %s", prog, err != NULL ? err : "cannot load config");
	const char *log_file = conf_str(conf, "log_file");
	log_set_syslog_name(conf_str(conf, "syslog_name"));
	if (log_open(ident, log_file[0] != '\0' ? log_file : NULL,
		     conf_bool(conf, "syslog_enable")) < 0)
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, log_file,
			strerror(errno));
	log_set_stderr(o->foreground);
	log_set_debug(conf_bool(conf, "debug"));
	return conf;
}

void daemon_detach(const char *run_directory, const char *prog, bool foreground,
		   char *pidfile, size_t pidsz)
{
	const char *err = NULL;
	int n = snprintf(pidfile, pidsz, "%s/%s.pid", run_directory, prog);
	if (n < 0 || (size_t)n >= pidsz)
		fatal("%s: run_directory too long", prog);
	if (daemon_start(pidfile, foreground, &err) < 0)
		fatal("%s: %s: %s: %s", prog, pidfile, err, strerror(errno));
	log_set_pid();
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal: %s", strerror(errno));
}
