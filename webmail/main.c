/*
 * youju-webmail: ExtMail's browser mail (DESIGN §10, docs/webmail.md).
 *
 *	youju-webmail [-f] [-c configfile]
 *
 * Binds webmail_listen and opens the access log while it may still be
 * root, drops to mail_owner (the owner of the Maildirs), and only then
 * starts libmicrohttpd on the bound sockets: no request byte is parsed as
 * root.  It holds no database credentials: youju-authd checks passwords
 * and names the Maildir.  SIGTERM/SIGINT stop it; SIGHUP reopens the logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authc.h"
#include "conf.h"
#include "daemon.h"
#include "fcache.h"
#include "htmlsan_pool.h"
#include "http.h"
#include "log.h"
#include "msghtml.h"
#include "net.h"
#include "popfetch.h"
#include "privsep.h"
#include "wm.h"
#include "xalloc.h"

#ifndef YOUJU_SRCDIR
#define YOUJU_SRCDIR "."
#endif
#ifndef YOUJU_PREFIX
#define YOUJU_PREFIX "/usr/local"
#endif

static char *docroot(const struct conf *conf)
{
	const char *d = conf_str(conf, "webmail_htdocs");
	if (d[0] != '\0')
		return xstrdup(d);
	static const char *const tries[] = {
	    YOUJU_SRCDIR "/htdocs/webmail",
	    YOUJU_PREFIX "/share/youju/htdocs/webmail",
	};
	struct stat st;
	for (size_t i = 0; i < 2; i++)
		if (stat(tries[i], &st) == 0 && S_ISDIR(st.st_mode))
			return xstrdup(tries[i]);
	return xstrdup(tries[0]);
}

int main(int argc, char **argv)
{
	/* a message HTML sanitizer process (webmail/msghtml.c) */
	if (argc == 2 && strcmp(argv[1], HTMLSAN_WORKER_ARG) == 0)
		return htmlsan_pool_worker(HTMLSAN_WORKER_FD);
	struct daemon_opts opts;
	struct conf *conf = daemon_begin(argc, argv, "youju-webmail", "webmail",
					 "webmail", &opts);
	const char *err = NULL;

	struct wm wm = {
	    .conf = conf,
	    .sessions = websession_store_new(
		(size_t)conf_int(conf, "webmail_sessions_max"),
		conf_time(conf, "webmail_session_idle_timeout"),
		conf_time(conf, "webmail_session_lifetime")),
	    .authd_socket = conf_str(conf, "authd_socket"),
	    .sendmail_socket = conf_str(conf, "sendmail_socket"),
	    .myhostname = conf_str(conf, "myhostname"),
	    .message_size_limit =
		(uint64_t)conf_int(conf, "message_size_limit"),
	    .page_size = (unsigned)conf_int(conf, "webmail_page_size"),
	    .password_min =
		(unsigned)conf_int(conf, "webmail_password_min_length"),
	};
	authc_set_keepalive(true);

	char pidfile[4096];
	int n = snprintf(pidfile, sizeof pidfile, "%s/youju-webmail.pid",
			 conf_str(conf, "run_directory"));
	if (n < 0 || (size_t)n >= sizeof pidfile)
		fatal("webmail: run_directory too long");
	if (daemon_start(pidfile, opts.foreground, &err) < 0)
		fatal("webmail: %s: %s", err, strerror(errno));
	log_set_pid();

	struct http_server_opts ho = {
	    .name = "webmail",
	    .routes = wm_routes,
	    .authorize = wm_authorize,
	    .app = &wm,
	    .threads = (unsigned)conf_int(conf, "webmail_threads"),
	    .workers = (unsigned)conf_int(conf, "webmail_workers"),
	    .queue_max = 1024,
	    /* a message sent as JSON: its text, with JSON escapes */
	    .body_max = 2 * WM_TEXT_MAX + 65536,
	    .conn_memory = 65536,
	    .per_ip = (unsigned)conf_int(conf, "webmail_connections_per_ip"),
	    .conn_limit = 1024,
	    .timeout = 60,
	    .access_fd = -1,
	};
	size_t nl = 0;
	const char *const *listen = conf_list(conf, "webmail_listen", &nl);
	for (size_t i = 0; i < nl && ho.n_listen < 8; i++) {
		int fd = net_listen_tcp(listen[i], 128, &err);
		if (fd < 0)
			fatal("webmail: listen %s: %s: %s", listen[i], err,
			      strerror(errno));
		ho.listen_fds[ho.n_listen++] = fd;
	}
	if (ho.n_listen == 0)
		fatal("webmail: webmail_listen is empty");
	/* an upload may be as large as a message */
	if (wm.message_size_limit + 65536 > ho.body_max)
		ho.body_max = (size_t)wm.message_size_limit + 65536;
	const char *alog = conf_str(conf, "webmail_access_log");
	if (alog[0] != '\0') {
		ho.access_fd =
		    open(alog, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (ho.access_fd < 0)
			log_warning("webmail: access log %s: %s (using the "
				    "mail log)",
				    alog, strerror(errno));
	}
	char *root = docroot(conf);
	ho.docroot = root;

	/* the key of the POP3 fetch passwords: read as root, kept in
	   memory; without it POP3 fetch is off */
	if (wm_popfetch_init(conf_str(conf, "webmail_popfetch_key_file"),
			     conf_bool(conf, "webmail_popfetch_allow_private"),
			     &err) < 0)
		log_warning("webmail: %s: %s (POP3 fetch is off)",
			    conf_str(conf, "webmail_popfetch_key_file"), err);

	if (privsep_drop(conf_str(conf, "mail_owner"), &err) < 0)
		fatal("webmail: cannot drop privileges to %s: %s",
		      conf_str(conf, "mail_owner"), err);

	/* after the drop, before any thread */
	if (wm_msghtml_start(conf, &err) < 0)
		fatal("webmail: %s: %s", err, strerror(errno));
	for (size_t i = 0; i < nl; i++)
		log_info("webmail: listening on http://%s/", listen[i]);
	if (http_server_run(&ho, &err) < 0)
		fatal("webmail: %s", err);
	wm_msghtml_stop();
	websession_store_free(&wm.sessions);
	fcache_clear();
	free(root);
	daemon_pidfile_remove(pidfile);
	free(opts.conf_path);
	log_info("webmail: stopped");
	log_close();
	conf_free(&conf);
	return 0;
}
