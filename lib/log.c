/*
 * Mail log writer; see log.h.  Each line is formatted whole and written with
 * one write(2) on an O_APPEND descriptor, so lines of several processes never
 * interleave.  The level is written as Postfix does ("warning: ", "error: ",
 * "fatal: "), info lines carry no tag.  log_msg_as() writes one line
 * under another service name; syslog(3) takes its name from openlog(),
 * so that path swaps the name under a mutex (the qmgr logs from several
 * delivery threads) and swaps it back.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "str.h"

#define LOG_LINE_MAX 2048
#define LOG_NAME_MAX 32

static struct {
	char name[LOG_NAME_MAX]; /* syslog_name */
	char prog[LOG_NAME_MAX]; /* this process's service */
	char ident[LOG_NAME_MAX * 2];
	char host[64];
	char *path;
	int fd;
	bool use_syslog;
	bool to_stderr;
	bool debug;
	long pid;
	bool owner_set; /* a file created as root gets this owner */
	uid_t owner_uid;
	gid_t owner_gid;
} lg = {.name = "youju", .ident = "youju", .fd = -1, .to_stderr = true};

static pthread_mutex_t syslog_lock = PTHREAD_MUTEX_INITIALIZER;
/* one reopen at a time: the periodic check of several threads and a
   reload's log_reopen() may meet */
static pthread_mutex_t reopen_lock = PTHREAD_MUTEX_INITIALIZER;
/* the second of the last check whether path still names lg.fd's file */
static _Atomic time_t follow_checked;

/* Whether s is a name log readers split cleanly: [A-Za-z0-9._-]{1,31}. */
static bool log_name_ok(const char *s)
{
	size_t n = 0;
	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		if (n + 1 >= LOG_NAME_MAX ||
		    !str_is_host_char((unsigned char)s[n]))
			return false;
	}
	return n > 0;
}

void log_set_syslog_name(const char *name)
{
	if (log_name_ok(name))
		snprintf(lg.name, sizeof lg.name, "%s", name);
}

int log_open(const char *prog, const char *path, bool use_syslog)
{
	if (!log_name_ok(prog))
		prog = "youju";
	snprintf(lg.prog, sizeof lg.prog, "%s", prog);
	snprintf(lg.ident, sizeof lg.ident, "%s/%s", lg.name, lg.prog);
	if (gethostname(lg.host, sizeof lg.host) < 0)
		memcpy(lg.host, "localhost", 10);
	lg.host[sizeof lg.host - 1] = '\0';
	char *dot = strchr(lg.host, '.');
	if (dot != NULL)
		*dot = '\0'; /* syslog writes the short host name */
	lg.pid = (long)getpid();
	lg.use_syslog = use_syslog;
	if (use_syslog)
		openlog(lg.ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	free(lg.path);
	lg.path = path != NULL ? strdup(path) : NULL;
	if (lg.path == NULL)
		return 0;
	lg.to_stderr = false;
	return log_reopen();
}

/*
 * Creates path for the owner set by log_set_owner(), so that the file never
 * exists under its name with another owner: a process that dropped root and
 * reopens the log in that instant would be refused.  The file is made under
 * a temporary name in the same directory (O_EXCL: never someone else's file),
 * given away, then link()ed to path, which fails with EEXIST if another
 * process made path meanwhile.  O_TMPFILE would need no name at all, but
 * not every filesystem has it (overlayfs before Linux 6.6, NFS), and one way
 * is simpler to trust than two.
 * Returns the descriptor, or -1 with errno (EEXIST: path exists now).
 */
static int log_create_owned(const char *path)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash != NULL ? (int)(slash - path) + 1 : 0;
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof tmp, "%.*s.%s.%ld.%ld.new", dirlen, path,
			 path + dirlen, (long)getpid(), (long)gettid());
	if (n < 0 || (size_t)n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int flags = O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC;
	int fd = open(tmp, flags, 0640);
	if (fd < 0 && errno == EEXIST) {
		/* left by a process of this pid and thread id that died
		   between open and unlink: no live process uses the name */
		(void)unlink(tmp);
		fd = open(tmp, flags, 0640);
	}
	if (fd < 0)
		return -1;
	if (fchown(fd, lg.owner_uid, lg.owner_gid) < 0) {
		/* the file stays root's: the log still works here */
	}
	int r = link(tmp, path);
	int saved = errno;
	(void)unlink(tmp);
	if (r < 0) {
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * Whether someone other than root may change the entries of path's
 * directory: its owner is not root, or its group (not root's) or others
 * may write it.  The default log directory belongs to mail_owner.
 */
static bool log_dir_untrusted(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	if (slash == NULL)
		memcpy(dir, ".", 2);
	else if (slash == path)
		memcpy(dir, "/", 2);
	else if ((size_t)(slash - path) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	else
		return true;
	struct stat st;
	if (stat(dir, &st) < 0)
		return true;
	return st.st_uid != 0 || (st.st_mode & S_IWOTH) != 0 ||
	       ((st.st_mode & S_IWGRP) != 0 && st.st_gid != 0);
}

/*
 * Opens the log file that is at path for appending.  A root process (the
 * masters) does not follow a symbolic link there when the directory is not
 * root's alone: mail_owner could otherwise point the name at any file, and
 * root would append log lines, with text clients chose, to it.  A link an
 * administrator made in a root-owned directory is still followed.  Only a
 * regular file is taken (O_NONBLOCK: a FIFO without a reader fails instead
 * of stopping the master).  Returns the descriptor or -1 with errno.
 */
static int log_open_existing(const char *path)
{
	int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (geteuid() == 0 && log_dir_untrusted(path))
		flags |= O_NOFOLLOW;
	int fd = open(path, flags);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/*
 * Makes fd the log's descriptor.  Other threads may be writing to lg.fd at
 * this moment: dup3() replaces the file behind the number in one step, so
 * a write goes to the old file or to the new one.  close() and a new number
 * would leave a window in which the old number is free and another thread's
 * open() (a message file) could take it and receive a log line.
 */
static void log_install_fd(int fd)
{
	if (lg.fd < 0) {
		lg.fd = fd;
		return;
	}
	if (dup3(fd, lg.fd, O_CLOEXEC) >= 0) {
		close(fd);
		return;
	}
	/* dup3 cannot fail for two open descriptors short of EINTR or
	   EBUSY (a race inside the kernel's table); keep the old file */
	close(fd);
}

static int log_reopen_locked(void)
{
	if (lg.path == NULL)
		return 0;
	int fd = -1;
	/* rotated away: make it again.  Whoever creates it, the next round
	   opens what is there; three rounds bound a path that keeps being
	   renamed away. */
	for (int round = 0; round < 3; round++) {
		fd = log_open_existing(lg.path);
		if (fd >= 0 || errno != ENOENT)
			break;
		if (lg.owner_set && geteuid() == 0)
			fd = log_create_owned(lg.path);
		else
			fd = open(lg.path,
				  O_WRONLY | O_APPEND | O_CREAT | O_EXCL |
				      O_CLOEXEC,
				  0640);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		lg.to_stderr = true;
		return -1;
	}
	log_install_fd(fd);
	return 0;
}

int log_reopen(void)
{
	pthread_mutex_lock(&reopen_lock);
	int r = log_reopen_locked();
	pthread_mutex_unlock(&reopen_lock);
	return r;
}

/*
 * Once a second, a process whose file was rotated away (renamed, and a new
 * file made at path by whoever reopened first) moves to the new file.  A
 * reload tells only the processes it keeps; the ones it retires keep
 * serving their sessions for minutes or hours (an IMAP IDLE, a slow SMTP
 * client) and would write only into the rotated file, where fail2ban and
 * mailgraph, which follow path, never read.  A path that is missing is
 * left to the master's reopen, which makes it with the right owner: a
 * process that dropped root would make it as itself.
 */
static void log_follow(time_t now)
{
	time_t last =
	    atomic_load_explicit(&follow_checked, memory_order_relaxed);
	if (last == now ||
	    !atomic_compare_exchange_strong(&follow_checked, &last, now))
		return; /* checked this second, here or by another thread */
	struct stat named, open_st;
	if (stat(lg.path, &named) < 0 || fstat(lg.fd, &open_st) < 0)
		return;
	if (named.st_dev == open_st.st_dev && named.st_ino == open_st.st_ino)
		return;
	if (pthread_mutex_trylock(&reopen_lock) != 0)
		return; /* another thread is reopening it */
	int fd = log_open_existing(lg.path);
	if (fd >= 0)
		log_install_fd(fd);
	pthread_mutex_unlock(&reopen_lock);
}

void log_close(void)
{
	if (lg.fd >= 0)
		close(lg.fd);
	lg.fd = -1;
	if (lg.use_syslog)
		closelog();
	lg.use_syslog = false;
	lg.to_stderr = true;
}

void log_set_owner(uid_t uid, gid_t gid)
{
	lg.owner_set = true;
	lg.owner_uid = uid;
	lg.owner_gid = gid;
}

void log_set_stderr(bool on)
{
	lg.to_stderr = on;
}

void log_set_debug(bool on)
{
	lg.debug = on;
}

void log_set_pid(void)
{
	lg.pid = (long)getpid();
}

static const char *log_tag(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG:
		return "debug: ";
	case LOG_LVL_WARNING:
		return "warning: ";
	case LOG_LVL_ERROR:
		return "error: ";
	case LOG_LVL_FATAL:
		return "fatal: ";
	default:
		return "";
	}
}

static int log_syslog_prio(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG:
		return LOG_DEBUG;
	case LOG_LVL_WARNING:
		return LOG_WARNING;
	case LOG_LVL_ERROR:
		return LOG_ERR;
	case LOG_LVL_FATAL:
		return LOG_CRIT;
	default:
		return LOG_INFO;
	}
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	log_vmsg_as(NULL, lvl, fmt, ap);
}

void log_vmsg_as(const char *svc, enum log_level lvl, const char *fmt,
		 va_list ap)
{
	if (lvl == LOG_LVL_DEBUG && !lg.debug)
		return;
	const char *ident = lg.ident;
	char other[LOG_NAME_MAX * 2];
	if (svc != NULL && log_name_ok(svc) && strcmp(svc, lg.prog) != 0 &&
	    lg.prog[0] != '\0') {
		snprintf(other, sizeof other, "%s/%s", lg.name, svc);
		ident = other;
	}
	int saved = errno;
	char msg[LOG_LINE_MAX];
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0)
		msg[0] = '\0';
	/* one line per event: a stray newline would forge a log line */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (lg.use_syslog) {
		/* openlog() keeps the pointer: a static copy, under the lock */
		static char sys_ident[LOG_NAME_MAX * 2];
		pthread_mutex_lock(&syslog_lock);
		if (ident != lg.ident) {
			memcpy(sys_ident, other, sizeof sys_ident);
			openlog(sys_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		}
		syslog(log_syslog_prio(lvl), "%s%s", log_tag(lvl), msg);
		if (ident != lg.ident)
			openlog(lg.ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		pthread_mutex_unlock(&syslog_lock);
	}
	if (lg.fd >= 0) {
		/* the stamp changes once a second: made once per second
		   and thread (localtime_r() takes glibc's time zone lock,
		   which the delivery threads would share) */
		static _Thread_local time_t stamp_t = -1;
		static _Thread_local char stamp[32];
		time_t now = time(NULL);
		if (lg.path != NULL)
			log_follow(now);
		if (now != stamp_t) {
			struct tm tm;
			localtime_r(&now, &tm);
			if (strftime(stamp, sizeof stamp, "%b %e %H:%M:%S",
				     &tm) == 0)
				stamp[0] = '\0';
			stamp_t = now;
		}
		char line[LOG_LINE_MAX + 256];
		int m =
		    snprintf(line, sizeof line, "%s %s %s[%ld]: %s%s\n", stamp,
			     lg.host, ident, lg.pid, log_tag(lvl), msg);
		if (m > 0) {
			size_t len = (size_t)m < sizeof line ? (size_t)m
							     : sizeof line - 1;
			line[len - 1] = '\n';
			ssize_t w = write(lg.fd, line, len);
			(void)w;
		}
	}
	if (lg.to_stderr)
		fprintf(stderr, "%s: %s%s\n", ident, log_tag(lvl), msg);
	errno = saved;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void log_msg_as(const char *svc, enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg_as(svc, lvl, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_FATAL, fmt, ap);
	va_end(ap);
	exit(1);
}

char *log_escape(char *out, size_t outsz, const char *p, size_t len)
{
	size_t o = 0;
	if (outsz == 0)
		return out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;
		if (o + need + 4 > outsz) {
			if (o + 4 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			static const char hex[] = "0123456789abcdef";
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
