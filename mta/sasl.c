/*
 * Cyrus SASL glue for SMTP AUTH (see sasl.h).  libsasl2 is initialised
 * once with the application name "youju-smtpd", so it reads
 * youju-smtpd.conf from the directory our SASL_CB_GETCONFPATH callback
 * names ($config_directory/sasl).  libsasl2 runs the mechanisms (PLAIN,
 * LOGIN); the password itself is checked by our
 * SASL_CB_SERVER_USERDB_CHECKPASS callback, which asks youju-authd over
 * lib/authc with the client's address (TCPREMOTEIP): Cyrus's own
 * authdaemond verifier sends none, so authd could neither throttle by
 * address nor log it (issue 10).  The callback asks for the failure
 * delay back (FAILDELAY=1), so the penalty is waited on smtpd's event loop
 * rather than in a worker.  The session runs every step in a worker
 * thread, and one mutex keeps libsasl2 single-threaded (its plugin tables
 * and log callback are not documented as thread-safe; the check is one
 * quick round trip to authd).
 */
#include "sasl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authc.h"
#include "log.h"
#include "xalloc.h"

#define MTA_SASL_APPNAME "youju-smtpd"

/* libsasl2 falls through to pwcheck_method when our check says no; this
   verifier does not exist, so the fall-through ends at once (NOMECH),
   without a second round trip to authd */
#define MTA_SASL_NO_VERIFIER "youju-authd-callback"

struct mta_sasl {
	sasl_conn_t *conn;
	int last;
	char ip[64];		 /* the client's address, for authd */
	bool checked;		 /* our callback ran in this step */
	enum authc_status check; /* and said this */
	unsigned delay_ms;	 /* authd's failure penalty */
	sasl_callback_t cbs[4];	 /* per connection: checkpass, getopt,
				    log */
};

static char sasl_confdir[PATH_MAX];
static char sasl_authd_socket[PATH_MAX];
static char sasl_mechs[256] = "";
static pthread_mutex_t sasl_mu = PTHREAD_MUTEX_INITIALIZER;
static bool sasl_ready;

static int cb_getconfpath(void *ctx, char **path_r)
{
	*path_r = sasl_confdir;
	return SASL_OK;
}

static int cb_log(void *ctx, int level, const char *msg)
{
	char esc[512];
	if (msg == NULL)
		return SASL_OK;
	log_escape(esc, sizeof(esc), msg, strlen(msg));
	switch (level) {
	case SASL_LOG_ERR:
	case SASL_LOG_FAIL:
		log_warning("SASL: %s", esc);
		break;
	case SASL_LOG_WARN:
	case SASL_LOG_NOTE:
		log_info("SASL: %s", esc);
		break;
	default:
		log_debug("SASL: %s", esc);
		break;
	}
	return SASL_OK;
}

/* Per connection: while the fall-through after our check runs, its
   "unknown password verifier" complaint is expected noise. */
static int cb_conn_log(void *ctx, int level, const char *msg)
{
	const struct mta_sasl *s = ctx;
	if (s->checked)
		return SASL_OK;
	return cb_log(NULL, level, msg);
}

static int cb_conn_getopt(void *ctx, const char *plugin, const char *option,
			  const char **result, unsigned *len)
{
	if (plugin == NULL && option != NULL &&
	    strcmp(option, "pwcheck_method") == 0) {
		*result = MTA_SASL_NO_VERIFIER;
		if (len != NULL)
			*len = (unsigned)strlen(MTA_SASL_NO_VERIFIER);
		return SASL_OK;
	}
	return SASL_FAIL; /* everything else: youju-smtpd.conf */
}

static int cb_checkpass(sasl_conn_t *conn, void *ctx, const char *user,
			const char *pass, unsigned passlen,
			struct propctx *propctx)
{
	struct mta_sasl *s = ctx;
	if (pass == NULL || user == NULL)
		return SASL_BADPARAM;
	char *pw = xmemdup0(pass, passlen);
	unsigned delay = 0;
	enum authc_status st = AUTHC_NOTFOUND;
	/* a NUL inside the password cannot be sent: refused */
	if (strlen(pw) == passlen)
		st = authc_auth_login_penalty(sasl_authd_socket, "smtp", user,
					      pw, s->ip[0] ? s->ip : NULL, NULL,
					      &delay);
	explicit_bzero(pw, passlen);
	free(pw);
	s->checked = true;
	s->check = st;
	s->delay_ms = delay;
	return st == AUTHC_OK	      ? SASL_OK
	       : st == AUTHC_NOTFOUND ? SASL_BADAUTH
				      : SASL_FAIL;
}

/* libsasl2 wants every callback as int (*)(void); the detour through
   void (*)(void) is the documented way to silence -Wcast-function-type */
#define SASL_PROC(f) ((int (*)(void))(void (*)(void))(f))

static sasl_callback_t sasl_callbacks[] = {
    {SASL_CB_GETCONFPATH, NULL, NULL},
    {SASL_CB_LOG, NULL, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

#define MTA_SASL_CONF_HEAD                                                     \
	"# Cyrus SASL for youju-mta's SMTP AUTH (created at first start)\n"

/* True when path is missing or is the file write_conf() made (its first
   line), which follows authd_socket; an operator's own file is kept. */
static bool conf_is_ours(const char *path)
{
	char head[sizeof(MTA_SASL_CONF_HEAD)];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT;
	ssize_t n = read(fd, head, sizeof(head) - 1);
	close(fd);
	return n == (ssize_t)sizeof(head) - 1 &&
	       memcmp(head, MTA_SASL_CONF_HEAD, sizeof(head) - 1) == 0;
}

static int write_conf(const char *dir, const char *authd_socket,
		      const char **error_r)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		*error_r = "mkdir sasl config directory";
		return -1;
	}
	int n =
	    snprintf(path, sizeof(path), "%s/%s.conf", dir, MTA_SASL_APPNAME);
	int m = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(path) || m < 0 ||
	    (size_t)m >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		*error_r = "sasl config path";
		return -1;
	}
	if (!conf_is_ours(path))
		return 0; /* the operator's file wins */
	char text[PATH_MAX + 256];
	n = snprintf(text, sizeof(text),
		     MTA_SASL_CONF_HEAD "pwcheck_method: authdaemond\n"
					"authdaemond_path: %s\n"
					"mech_list: PLAIN LOGIN\n",
		     authd_socket);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		errno = ENAMETOOLONG;
		*error_r = "sasl config text";
		return -1;
	}
	/* through a temporary file: a reload (authd_socket) rewrites it
	   while the running process may read it */
	int fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		*error_r = "create sasl config";
		return -1;
	}
	if (write(fd, text, (size_t)n) != n || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		*error_r = "write sasl config";
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		*error_r = "write sasl config";
		return -1;
	}
	return 0;
}

int mta_sasl_init(const char *config_dir, const char *authd_socket,
		  const char **error_r)
{
	int n =
	    snprintf(sasl_confdir, sizeof(sasl_confdir), "%s/sasl", config_dir);
	if (n < 0 || (size_t)n >= sizeof(sasl_confdir)) {
		errno = ENAMETOOLONG;
		*error_r = "sasl config path";
		return -1;
	}
	n = snprintf(sasl_authd_socket, sizeof(sasl_authd_socket), "%s",
		     authd_socket);
	if (n < 0 || (size_t)n >= sizeof(sasl_authd_socket)) {
		errno = ENAMETOOLONG;
		*error_r = "authd socket path";
		return -1;
	}
	if (write_conf(sasl_confdir, authd_socket, error_r) < 0)
		return -1;
	sasl_callbacks[0].proc = SASL_PROC(cb_getconfpath);
	sasl_callbacks[1].proc = SASL_PROC(cb_log);
	int r = sasl_server_init(sasl_callbacks, MTA_SASL_APPNAME);
	if (r != SASL_OK) {
		log_error("sasl_server_init: %s",
			  sasl_errstring(r, NULL, NULL));
		errno = EINVAL;
		*error_r = "sasl_server_init";
		return -1;
	}
	sasl_ready = true;
	/* ask libsasl2 which mechanisms the config and plugins leave */
	struct mta_sasl *s = mta_sasl_new("localhost", NULL, NULL);
	const char *list = NULL;
	unsigned len = 0;
	int count = 0;
	if (s == NULL ||
	    sasl_listmech(s->conn, NULL, "", " ", "", &list, &len, &count) !=
		SASL_OK ||
	    count == 0 || len >= sizeof(sasl_mechs)) {
		mta_sasl_free(&s);
		errno = ENOENT;
		*error_r = "no SASL mechanisms available";
		return -1;
	}
	memcpy(sasl_mechs, list, len);
	sasl_mechs[len] = '\0';
	mta_sasl_free(&s);
	return 0;
}

void mta_sasl_done(void)
{
	if (sasl_ready)
		sasl_server_done();
	sasl_ready = false;
}

const char *mta_sasl_mechs(void)
{
	return sasl_mechs;
}

struct mta_sasl *mta_sasl_new(const char *hostname, const char *local,
			      const char *remote)
{
	struct mta_sasl *s = xcalloc(1, sizeof(*s));
	if (remote != NULL &&
	    snprintf(s->ip, sizeof(s->ip), "%s", remote) >= (int)sizeof(s->ip))
		s->ip[0] = '\0';
	s->cbs[0] = (sasl_callback_t){SASL_CB_SERVER_USERDB_CHECKPASS,
				      SASL_PROC(cb_checkpass), s};
	s->cbs[1] =
	    (sasl_callback_t){SASL_CB_GETOPT, SASL_PROC(cb_conn_getopt), s};
	s->cbs[2] = (sasl_callback_t){SASL_CB_LOG, SASL_PROC(cb_conn_log), s};
	s->cbs[3] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
	pthread_mutex_lock(&sasl_mu);
	/* the address goes to authd by our callback, not to libsasl2 (it
	   wants "ip;port" and has no use for it with PLAIN and LOGIN) */
	int r = sasl_server_new("smtp", hostname, NULL, local, NULL, s->cbs, 0,
				&s->conn);
	if (r == SASL_OK) {
		/* smtpd_sasl_security_options = noanonymous, no layer */
		sasl_security_properties_t sp;
		memset(&sp, 0, sizeof(sp));
		sp.security_flags = SASL_SEC_NOANONYMOUS;
		sp.maxbufsize = 0;
		sp.max_ssf = 0;
		r = sasl_setprop(s->conn, SASL_SEC_PROPS, &sp);
	}
	pthread_mutex_unlock(&sasl_mu);
	if (r != SASL_OK) {
		log_error("sasl_server_new: %s", sasl_errstring(r, NULL, NULL));
		if (s->conn != NULL)
			sasl_dispose(&s->conn);
		free(s);
		return NULL;
	}
	return s;
}

void mta_sasl_free(struct mta_sasl **ps)
{
	struct mta_sasl *s = *ps;
	if (s == NULL)
		return;
	pthread_mutex_lock(&sasl_mu);
	sasl_dispose(&s->conn);
	pthread_mutex_unlock(&sasl_mu);
	free(s);
	*ps = NULL;
}

enum mta_sasl_status mta_sasl_step(struct mta_sasl *s, const char *mech,
				   const char *in, unsigned inlen,
				   const char **out_r, unsigned *outlen_r)
{
	const char *out = NULL;
	unsigned outlen = 0;
	pthread_mutex_lock(&sasl_mu);
	s->checked = false;
	s->delay_ms = 0;
	if (mech != NULL)
		s->last =
		    sasl_server_start(s->conn, mech, in, inlen, &out, &outlen);
	else
		s->last = sasl_server_step(s->conn, in, inlen, &out, &outlen);
	pthread_mutex_unlock(&sasl_mu);
	*out_r = out;
	*outlen_r = outlen;
	if (s->checked && s->last != SASL_OK) {
		/* our check decided; what the fall-through made of it
		   (NOMECH) does not matter */
		return s->check == AUTHC_TEMPFAIL ? MTA_SASL_TEMPFAIL
						  : MTA_SASL_FAIL;
	}
	switch (s->last) {
	case SASL_OK:
		return MTA_SASL_DONE;
	case SASL_CONTINUE:
		return MTA_SASL_CONTINUE;
	case SASL_NOMECH:
	case SASL_TOOWEAK:
	case SASL_ENCRYPT:
		return MTA_SASL_BADMECH;
	case SASL_TRYAGAIN:
	case SASL_UNAVAIL:
	case SASL_FAIL:
	case SASL_NOMEM:
		return MTA_SASL_TEMPFAIL;
	default:
		return MTA_SASL_FAIL;
	}
}

const char *mta_sasl_username(const struct mta_sasl *s)
{
	const void *u = NULL;
	if (sasl_getprop(s->conn, SASL_USERNAME, &u) != SASL_OK || u == NULL)
		return "";
	return u;
}

unsigned mta_sasl_delay_ms(const struct mta_sasl *s)
{
	return s->delay_ms;
}

const char *mta_sasl_error(const struct mta_sasl *s)
{
	return sasl_errstring(s->last, NULL, NULL);
}

int mta_sasl_b64_decode(const char *in, size_t inlen, char *out, size_t outsz,
			unsigned *outlen_r)
{
	if (inlen == 0) {
		*outlen_r = 0;
		if (outsz > 0)
			out[0] = '\0';
		return 0;
	}
	if (inlen > MTA_SASL_LINE_MAX || outsz > UINT_MAX)
		return -1;
	if (sasl_decode64(in, (unsigned)inlen, out, (unsigned)outsz,
			  outlen_r) != SASL_OK)
		return -1;
	return 0;
}

int mta_sasl_b64_encode(const char *in, unsigned inlen, char *out, size_t outsz)
{
	unsigned outlen;
	if (outsz > UINT_MAX)
		return -1;
	if (inlen == 0) {
		if (outsz == 0)
			return -1;
		out[0] = '\0';
		return 0;
	}
	if (sasl_encode64(in, inlen, out, (unsigned)outsz, &outlen) != SASL_OK)
		return -1;
	return 0;
}
