/*
 * The start-up the web daemons (youju-webmail, youju-webadmin) share, in
 * the order that keeps every request byte away from root: bind the
 * listen sockets and open the access log while root, drop to mail_owner,
 * then serve (lib/http's http_server_run).  Parameters are named by the
 * caller's prefix: <prefix>_listen, <prefix>_access_log, <prefix>_htdocs.
 * Failures at start-up are fatal(), with the prefix in the message.
 */
#ifndef YOUJU_WEBDAEMON_H
#define YOUJU_WEBDAEMON_H

#include "conf.h"
#include "http.h"

/*
 * Binds the addresses of <prefix>_listen into o->listen_fds (at most 8)
 * and opens <prefix>_access_log (when set) as o->access_fd (-1 with a
 * warning when it cannot: the mail log takes the lines).  Returns the
 * listen list (borrowed from conf) and its size in *n_r.
 */
const char *const *webdaemon_listen(const struct conf *conf, const char *prefix,
				    struct http_server_opts *o, size_t *n_r);

/* The static files: <prefix>_htdocs, else the source tree's or the
   installed htdocs/<prefix>.  Owned: free(). */
char *webdaemon_docroot(const struct conf *conf, const char *prefix);

/* Drops to mail_owner (before any thread and any request byte). */
void webdaemon_drop(const struct conf *conf, const char *prefix);

/* After webdaemon_drop(): logs the listen addresses and serves until
   SIGTERM/SIGINT (http_server_run). */
void webdaemon_serve(const char *prefix, const struct http_server_opts *o,
		     const char *const *listen, size_t nlisten);

#endif
