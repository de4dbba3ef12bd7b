/*
 * youju-webadmin: the administration console and provisioning API
 * (DESIGN §10, docs/webadmin.md).
 *
 *	youju-webadmin [-f] [-c configfile]
 *
 * Reads the webman database password and binds webadmin_listen while it
 * may still be root, opens the access log, drops to mail_owner, and only
 * then starts libmicrohttpd on the bound sockets: no request byte is
 * parsed as root.  SIGTERM/SIGINT stop it; SIGHUP reopens the logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "extmail_sql.h"
#include "http.h"
#include "log.h"
#include "sqlpool.h"
#include "throttle.h"
#include "wa.h"
#include "websession.h"
#include "webdaemon.h"
#include "xalloc.h"

/* A PEM file (at most 1 MiB) into memory, or fatal. */
static char *read_pem(const char *path)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		fatal("webadmin: webadmin_tls: %s: %s", path, strerror(errno));
	size_t cap = 1 << 20, n = 0;
	char *p = xmalloc(cap + 1);
	n = fread(p, 1, cap, f);
	bool big = n == cap && fgetc(f) != EOF;
	fclose(f);
	if (n == 0 || big)
		fatal("webadmin: webadmin_tls: %s: empty or over 1 MiB", path);
	p[n] = '\0';
	return p;
}

/*
 * Writes a fresh token for the youju CLI to
 * $config_directory/secrets/webadmin-cli-token (0600, owned by whoever
 * starts the daemon: root, or the instance's user) and keeps its SHA-256.
 * The CLI reads the file, so only that user (and root) can act through it.
 */
static void make_cli_token(const struct conf *conf, struct wa *wa)
{
	char path[4096], tmp[4200], token[68];
	int n = snprintf(path, sizeof path, "%s/secrets/webadmin-cli-token",
			 conf_str(conf, "config_directory"));
	if (n < 0 || (size_t)n >= sizeof path ||
	    websession_random_hex(token, 32) < 0)
		return;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	bool ok = fd >= 0 && fchmod(fd, 0600) == 0 &&
		  write(fd, token, 64) == 64 && write(fd, "\n", 1) == 1;
	if (fd >= 0)
		ok = close(fd) == 0 && ok;
	ok = ok && rename(tmp, path) == 0;
	if (!ok) {
		log_warning("webadmin: %s: %s (the youju domain/user/alias/"
			    "manager commands will not work)",
			    path, strerror(errno));
		(void)unlink(tmp);
	} else
		wa_token_hash(token, wa->cli_token_hash);
	explicit_bzero(token, sizeof token);
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	struct conf *conf = daemon_begin(argc, argv, "youju-webadmin",
					 "webadmin", "webadmin", &opts);
	const char *err = NULL;

	const char *pwpath = conf_str(conf, "webadmin_mysql_password_file");
	char *password = NULL;
	if (pwpath[0] != '\0') {
		password = extmail_read_secret(pwpath, &err);
		if (password == NULL && errno == ENOENT)
			log_warning("webadmin: %s does not exist: connecting "
				    "to MySQL without a password",
				    pwpath);
		else if (password == NULL)
			fatal("webadmin: %s: %s", pwpath, err);
	}
	struct sqlpool_opts so = {
	    .host = conf_str(conf, "mysql_host"),
	    .port = (unsigned)conf_int(conf, "mysql_port"),
	    .socket = conf_str(conf, "mysql_socket"),
	    .user = conf_str(conf, "webadmin_mysql_user"),
	    .password = password,
	    .database = conf_str(conf, "mysql_dbname"),
	    .size = (unsigned)conf_int(conf, "webadmin_pool_size"),
	    .connect_timeout =
		(unsigned)conf_time(conf, "mysql_connect_timeout"),
	    .rw_timeout = (unsigned)conf_time(conf, "mysql_query_timeout"),
	};
	struct wa wa = {
	    .conf = conf,
	    .pool = sqlpool_new(&so),
	    .sessions = websession_store_new(
		10000, conf_time(conf, "webadmin_session_idle_timeout"),
		conf_time(conf, "webadmin_session_lifetime")),
	    .throttle = wa_throttle_new(
		(unsigned)conf_int(conf, "webadmin_failure_limit_user"),
		(unsigned)conf_int(conf, "webadmin_failure_limit_client"),
		conf_time(conf, "webadmin_lockout_time"),
		conf_time(conf, "webadmin_lockout_time")),
	    .authd_socket = conf_str(conf, "authd_socket"),
	    .run_directory = conf_str(conf, "run_directory"),
	    .mailbox_base = conf_str(conf, "virtual_mailbox_base"),
	    .check_expiry = conf_bool(conf, "webadmin_check_expiry"),
	    .signup = conf_bool(conf, "webadmin_signup"),
	    .started = (int64_t)time(NULL),
	};
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}

	char pidfile[4096];
	daemon_detach(wa.run_directory, "youju-webadmin", opts.foreground,
		      pidfile, sizeof pidfile);

	struct http_server_opts ho = {
	    .name = "webadmin",
	    .routes = wa_routes,
	    .authorize = wa_authorize,
	    .app = &wa,
	    .threads = (unsigned)conf_int(conf, "webadmin_threads"),
	    .workers = (unsigned)conf_int(conf, "webadmin_workers"),
	    .queue_max = 1024,
	    .body_max = (size_t)conf_int(conf, "webadmin_body_limit"),
	    .conn_memory = 65536,
	    .per_ip = (unsigned)conf_int(conf, "webadmin_connections_per_ip"),
	    .conn_limit = 1024,
	    .timeout = 30,
	};
	size_t nl = 0;
	const char *const *listen =
	    webdaemon_listen(conf, "webadmin", &ho, &nl);
	make_cli_token(conf, &wa);
	char *root = webdaemon_docroot(conf, "webadmin");
	ho.docroot = root;
	/* HTTPS with the instance certificate (libmicrohttpd's GnuTLS):
	   the key is read while we may still be root */
	char *tls_cert = NULL, *tls_key = NULL;
	if (conf_bool(conf, "webadmin_tls")) {
		tls_cert = read_pem(conf_str(conf, "smtpd_tls_cert_file"));
		tls_key = read_pem(conf_str(conf, "smtpd_tls_key_file"));
		ho.tls_cert_pem = tls_cert;
		ho.tls_key_pem = tls_key;
	}

	webdaemon_drop(conf, "webadmin");
	webdaemon_serve("webadmin", &ho, listen, nl);
	sqlpool_free(&wa.pool);
	websession_store_free(&wa.sessions);
	wa_throttle_free(&wa.throttle);
	free(root);
	free(tls_cert);
	if (tls_key != NULL) {
		explicit_bzero(tls_key, strlen(tls_key));
		free(tls_key);
	}
	daemon_pidfile_remove(pidfile);
	free(opts.conf_path);
	log_info("webadmin: stopped");
	log_close();
	conf_free(&conf);
	return 0;
}
