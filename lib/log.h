/*
 * The mail log.  Lines go to <YOUJU_HOME>/log/maillog with syslog's
 * "Mmm dd hh:mm:ss host youju/prog[pid]: " prefix, and/or to syslog's mail
 * facility, so pflogsumm, mailgraph and fail2ban read them unchanged.  Before
 * log_open() (and in command-line tools) messages go to stderr.
 */
#ifndef YOUJU_LOG_H
#define YOUJU_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum log_level {
	LOG_LVL_DEBUG,
	LOG_LVL_INFO,
	LOG_LVL_WARNING,
	LOG_LVL_ERROR,
	LOG_LVL_FATAL
};

/*
 * The part before the "/" of every program name (Postfix's syslog_name);
 * "youju" unless set.  Call before log_open().  A name that is empty, too
 * long or holds anything but [A-Za-z0-9._-] is ignored (it would break the
 * log readers' "name/service[pid]:" parsing).
 */
void log_set_syslog_name(const char *name);

/*
 * Starts logging as "youju/<prog>" (or "<syslog_name>/<prog>").  path: the
 * maillog file (NULL: none); use_syslog: also send to syslog(3) LOG_MAIL.
 * Returns 0, or -1 with errno when the file cannot be opened (logging then
 * stays on stderr).
 */
int log_open(const char *prog, const char *path, bool use_syslog);
/* Re-opens the file (after rotation or a config reload). */
int log_reopen(void);
void log_close(void);
/* A log file that log_open/log_reopen create while running as root gets
   this owner (the daemon's unprivileged processes reopen it). */
void log_set_owner(uid_t uid, gid_t gid);
/* Also copy every line to stderr (foreground runs, tests). */
void log_set_stderr(bool on);
void log_set_debug(bool on);
/* Rewrites the "[pid]" part after fork(). */
void log_set_pid(void);

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level lvl,
						   const char *fmt, ...);
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);

/*
 * Logs one line as if from another service of the same suite:
 * "youju/<svc>[pid]: ..." with this process's pid.  Postfix writes its
 * queue and delivery lines from cleanup, qmgr, pickup, virtual, smtp,
 * error and bounce, and the log readers (pflogsumm, mailgraph) count
 * events by that service name, so youju's lines carry the same names
 * whatever process writes them.  svc: [a-z0-9-], at most 31 bytes; any
 * other value writes under the process's own name.
 */
__attribute__((format(printf, 3, 4))) void
log_msg_as(const char *svc, enum log_level lvl, const char *fmt, ...);
void log_vmsg_as(const char *svc, enum log_level lvl, const char *fmt,
		 va_list ap);
#define log_info_as(svc, ...)	 log_msg_as((svc), LOG_LVL_INFO, __VA_ARGS__)
#define log_warning_as(svc, ...) log_msg_as((svc), LOG_LVL_WARNING, __VA_ARGS__)

#define log_debug(...)	 log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...)	 log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_error(...)	 log_msg(LOG_LVL_ERROR, __VA_ARGS__)
/* Logs and exits(1): only at startup or when going on would corrupt data. */
__attribute__((format(printf, 1, 2), noreturn)) void fatal(const char *fmt,
							   ...);

/*
 * Copies untrusted bytes into out (size outsz) for logging: printable ASCII
 * kept, anything else as \xNN, cut with "..." at outsz.  Returns out.
 */
char *log_escape(char *out, size_t outsz, const char *p, size_t len);

#endif
