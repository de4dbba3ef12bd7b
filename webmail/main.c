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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authc.h"
#include "conf.h"
#include "daemon.h"
#include "fcache.h"
#include "htmlsan_pool.h"
#include "http.h"
#include "listcache.h"
#include "log.h"
#include "msghtml.h"
#include "popfetch.h"
#include "wm.h"
#include "webdaemon.h"
#include "xalloc.h"

int main(int argc, char **argv)
{
	/* a message HTML sanitizer process (webmail/msghtml.c) */
	if (argc == 2 && strcmp(argv[1], HTMLSAN_WORKER_ARG) == 0)
		return htmlsan_pool_worker(HTMLSAN_WORKER_FD);
	struct daemon_opts opts;
	struct conf *conf = daemon_begin(argc, argv, "youju-webmail", "webmail",
					 "webmail", &opts);
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
	daemon_detach(conf_str(conf, "run_directory"), "youju-webmail",
		      opts.foreground, pidfile, sizeof pidfile);

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
	};
	size_t nl = 0;
	const char *const *listen = webdaemon_listen(conf, "webmail", &ho, &nl);
	/* an upload may be as large as a message */
	if (wm.message_size_limit + 65536 > ho.body_max)
		ho.body_max = (size_t)wm.message_size_limit + 65536;
	char *root = webdaemon_docroot(conf, "webmail");
	ho.docroot = root;

	/* the key of the POP3 fetch passwords: read as root, kept in
	   memory; without it POP3 fetch is off */
	const char *err = NULL;
	if (wm_popfetch_init(conf_str(conf, "webmail_popfetch_key_file"),
			     conf_bool(conf, "webmail_popfetch_allow_private"),
			     &err) < 0)
		log_warning("webmail: %s: %s (POP3 fetch is off)",
			    conf_str(conf, "webmail_popfetch_key_file"), err);

	webdaemon_drop(conf, "webmail");
	/* after the drop, before any thread */
	if (wm_msghtml_start(conf, &err) < 0)
		fatal("webmail: %s: %s", err, strerror(errno));
	webdaemon_serve("webmail", &ho, listen, nl);
	wm_msghtml_stop();
	websession_store_free(&wm.sessions);
	fcache_clear();
	listcache_clear();
	free(root);
	daemon_pidfile_remove(pidfile);
	free(opts.conf_path);
	log_info("webmail: stopped");
	log_close();
	conf_free(&conf);
	return 0;
}
