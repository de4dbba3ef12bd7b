/*
 * Mail log writer; see log.h.  Each line is formatted whole and written with
 * one write(2) on an O_APPEND descriptor, so lines of several processes never
 * interleave.  The level is written as Postfix does ("warning: ", "error: ",
 * "fatal: "), info lines carry no tag.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static struct {
	char ident[64];
	char host[64];
	char *path;
	int fd;
	bool use_syslog;
	bool to_stderr;
	bool debug;
	long pid;
} lg = { .ident = "youju", .fd = -1, .to_stderr = true };

int log_open(const char *prog, const char *path, bool use_syslog)
{
	int n = snprintf(lg.ident, sizeof lg.ident, "youju/%s", prog);
	if (n < 0 || (size_t)n >= sizeof lg.ident)
		memcpy(lg.ident, "youju", 6);
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

int log_reopen(void)
{
	if (lg.path == NULL)
		return 0;
	int fd = open(lg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		lg.to_stderr = true;
		return -1;
	}
	if (lg.fd >= 0)
		close(lg.fd);
	lg.fd = fd;
	return 0;
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
	case LOG_LVL_DEBUG: return "debug: ";
	case LOG_LVL_WARNING: return "warning: ";
	case LOG_LVL_ERROR: return "error: ";
	case LOG_LVL_FATAL: return "fatal: ";
	default: return "";
	}
}

static int log_syslog_prio(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG: return LOG_DEBUG;
	case LOG_LVL_WARNING: return LOG_WARNING;
	case LOG_LVL_ERROR: return LOG_ERR;
	case LOG_LVL_FATAL: return LOG_CRIT;
	default: return LOG_INFO;
	}
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LOG_LVL_DEBUG && !lg.debug)
		return;
	int saved = errno;
	char msg[LOG_LINE_MAX];
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0)
		msg[0] = '\0';
	/* one line per event: a stray newline would forge a log line */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (lg.use_syslog)
		syslog(log_syslog_prio(lvl), "%s%s", log_tag(lvl), msg);
	if (lg.fd >= 0) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		if (strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm) == 0)
			stamp[0] = '\0';
		char line[LOG_LINE_MAX + 256];
		int m = snprintf(line, sizeof line, "%s %s %s[%ld]: %s%s\n",
				 stamp, lg.host, lg.ident, lg.pid, log_tag(lvl),
				 msg);
		if (m > 0) {
			size_t len = (size_t)m < sizeof line ? (size_t)m
							     : sizeof line - 1;
			line[len - 1] = '\n';
			ssize_t w = write(lg.fd, line, len);
			(void)w;
		}
	}
	if (lg.to_stderr)
		fprintf(stderr, "%s: %s%s\n", lg.ident, log_tag(lvl), msg);
	errno = saved;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
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
