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
#include "http.h"
#include "log.h"
#include "wm.h"
#include "webdaemon.h"
#include "xalloc.h"

int main(int argc, char **argv)
{
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

	webdaemon_serve(conf, "webmail", &ho, listen, nl);
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
