/*
 * The web daemons' start-up (see webdaemon.h).
 */
#include "webdaemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "privsep.h"
#include "xalloc.h"

#ifndef YOUJU_SRCDIR
#define YOUJU_SRCDIR "."
#endif
#ifndef YOUJU_PREFIX
#define YOUJU_PREFIX "/usr/local"
#endif

/* "<prefix>_<name>" */
static const char *param(char *buf, size_t sz, const char *prefix,
			 const char *name)
{
	int n = snprintf(buf, sz, "%s_%s", prefix, name);
	if (n < 0 || (size_t)n >= sz)
		fatal("%s: parameter name too long", prefix);
	return buf;
}

const char *const *webdaemon_listen(const struct conf *conf, const char *prefix,
				    struct http_server_opts *o, size_t *n_r)
{
	char name[64];
	const char *err = NULL;
	size_t nl = 0;
	const char *const *listen =
	    conf_list(conf, param(name, sizeof name, prefix, "listen"), &nl);
	for (size_t i = 0; i < nl && o->n_listen < 8; i++) {
		int fd = net_listen_tcp(listen[i], 128, &err);
		if (fd < 0)
			fatal("%s: listen %s: %s: %s", prefix, listen[i], err,
			      strerror(errno));
		o->listen_fds[o->n_listen++] = fd;
	}
	if (o->n_listen == 0)
		fatal("%s: %s is empty", prefix, name);
	const char *alog =
	    conf_str(conf, param(name, sizeof name, prefix, "access_log"));
	o->access_fd = -1;
	if (alog[0] != '\0') {
		o->access_fd =
		    open(alog, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (o->access_fd < 0)
			log_warning("%s: access log %s: %s (using the mail "
				    "log)",
				    prefix, alog, strerror(errno));
	}
	*n_r = nl;
	return listen;
}

char *webdaemon_docroot(const struct conf *conf, const char *prefix)
{
	char name[64];
	const char *d =
	    conf_str(conf, param(name, sizeof name, prefix, "htdocs"));
	if (d[0] != '\0')
		return xstrdup(d);
	char tries[2][4096];
	int a = snprintf(tries[0], sizeof tries[0], "%s/htdocs/%s",
			 YOUJU_SRCDIR, prefix);
	int b = snprintf(tries[1], sizeof tries[1], "%s/share/youju/htdocs/%s",
			 YOUJU_PREFIX, prefix);
	if (a < 0 || (size_t)a >= sizeof tries[0] || b < 0 ||
	    (size_t)b >= sizeof tries[1])
		fatal("%s: htdocs path too long", prefix);
	struct stat st;
	for (size_t i = 0; i < 2; i++)
		if (stat(tries[i], &st) == 0 && S_ISDIR(st.st_mode))
			return xstrdup(tries[i]);
	return xstrdup(tries[0]);
}

void webdaemon_drop(const struct conf *conf, const char *prefix)
{
	const char *err = NULL;
	const char *owner = conf_str(conf, "mail_owner");
	if (privsep_drop(owner, &err) < 0)
		fatal("%s: cannot drop privileges to %s: %s", prefix, owner,
		      err);
}

void webdaemon_serve(const char *prefix, const struct http_server_opts *o,
		     const char *const *listen, size_t nlisten)
{
	const char *err = NULL;
	for (size_t i = 0; i < nlisten; i++)
		log_info("%s: listening on http://%s/", prefix, listen[i]);
	if (http_server_run(o, &err) < 0)
		fatal("%s: %s", prefix, err);
}
