/*
 * Logins for POP3 and IMAP.  The password check is a blocking round trip
 * to youju-authd (lib/authc), so it runs on a lib/workq pool whose results
 * come back to this process's event loop.  The worker also creates a
 * missing Maildir (rows INSERTed by hand must work at once, DESIGN §6).  A
 * failure is answered only after youju-authd's penalty (Dovecot's
 * auth_failure_delay and auth penalty, growing with the address's
 * failures: authc_auth_login_penalty), waited on a loop timer, so a burst
 * of wrong passwords holds no worker thread and delays nobody else.
 */
#include "mra.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authc.h"
#include "base64.h"
#include "log.h"
#include "maildir.h"
#include "workq.h"
#include "xalloc.h"

/* at most 64 logins in flight per process, as many as the thread per
   login allowed before: 32 authd round trips at once, 32 waiting */
#define MRA_LOGIN_THREADS 32
#define MRA_LOGIN_QUEUE	  32
#define MRA_USER_MAX	  255
#define MRA_PASS_MAX	  1024

struct mra_login_job {
	uint64_t conn_id;
	char service[8];
	char *user;
	char *pass;
	char rip[NET_ADDR_MAX];
	bool tls;
	char authd_socket[108];
	struct mra_login_result res;
	unsigned delay_ms; /* authd's penalty on a failure */
	struct ev_timer *delay;
};

static struct ev_loop *mra_login_loop;
static struct workq *mra_login_wq;

/* The authd round trip through lib/authc.  Fills job->res. */
static void mra_authd_login(struct mra_login_job *job)
{
	struct mra_login_result *res = &job->res;
	struct authc_reply reply = {NULL, 0};

	res->status = MRA_LOGIN_TEMPFAIL;
	enum authc_status st = authc_auth_login_penalty(
	    job->authd_socket, job->service, job->user, job->pass, job->rip,
	    &reply, &job->delay_ms);
	if (st == AUTHC_NOTFOUND) {
		res->status = MRA_LOGIN_FAIL;
		res->error = "auth failed";
		goto out;
	}
	if (st != AUTHC_OK) {
		res->error = "no answer from authd";
		goto out;
	}
	struct authc_account acct;
	const char *aerr;
	if (authc_account_get(&reply, &acct, &aerr) < 0) {
		res->error = aerr;
		goto out;
	}
	if (acct.user[0] != '\0')
		snprintf(res->user, sizeof res->user, "%s", acct.user);
	size_t ql = strlen(acct.quota);
	if (ql >= sizeof res->quota) {
		res->error = "quota definition too long";
		goto out;
	}
	memcpy(res->quota, acct.quota, ql + 1);
	if (authc_account_disabled(&acct, job->service, job->tls)) {
		res->status = MRA_LOGIN_DISABLED;
		res->error = "service disabled";
		goto out;
	}
	int k = snprintf(res->maildir, sizeof res->maildir, "%s", acct.maildir);
	if (k < 0 || (size_t)k >= sizeof res->maildir) {
		res->error = "bad maildir from authd";
		goto out;
	}
	const char *merr;
	if (maildir_create(res->maildir, &merr) < 0) {
		log_error("%s: %s: %s", res->maildir, merr, strerror(errno));
		res->error = "cannot create maildir";
		goto out;
	}
	res->status = MRA_LOGIN_OK;
	res->error = NULL;
out:
	authc_reply_free(&reply);
}

static void mra_login_run(void *ctx)
{
	struct mra_login_job *job = ctx;
	snprintf(job->res.user, sizeof job->res.user, "%s", job->user);
	mra_authd_login(job);
	explicit_bzero(job->pass, strlen(job->pass));
}

static void mra_job_free(struct mra_login_job *job)
{
	ev_timer_free(&job->delay);
	explicit_bzero(job->pass, strlen(job->pass));
	free(job->pass);
	free(job->user);
	free(job);
}

/* mra_max_userip_connections, checked after the password like Dovecot's
   mail_max_userip_connections (a wrong password must not learn whether
   the account is busy).  The client sees Dovecot's words, so that scripts
   and users recognise them; the log names our parameter.  True when the
   connection was refused (and is closing). */
static bool mra_login_over_limit(struct mra_conn *c,
				 const struct mra_login_job *job)
{
	const struct mra_login_result *r = &job->res;
	if (r->status != MRA_LOGIN_OK ||
	    mra_conn_userip_acquire(c, r->user, mra_srv.max_userip) != 0)
		return false;
	char u[300];
	log_escape(u, sizeof u, r->user, strlen(r->user));
	log_info("%s-login: Maximum number of connections from user+IP "
		 "exceeded (mra_max_userip_connections=%u): user=<%s>, "
		 "rip=%s, lip=%s%s",
		 c->proto->name, mra_srv.max_userip, u, c->rip, c->lip,
		 c->tls_on ? ", TLS" : "");
	if (c->proto == &mra_imap_proto)
		(void)mra_conn_printf(c,
				      "* BYE Maximum number of "
				      "connections from user+IP exceeded "
				      "(mail_max_userip_connections=%u)\r\n",
				      mra_srv.max_userip);
	else
		(void)mra_conn_printf(c,
				      "-ERR [IN-USE] Maximum number of "
				      "connections from user+IP exceeded "
				      "(mail_max_userip_connections=%u)\r\n",
				      mra_srv.max_userip);
	mra_conn_close(c);
	return true;
}

/* The answer reaches the session (which may have gone meanwhile). */
static void mra_login_finish(struct mra_login_job *job)
{
	struct mra_conn *c = mra_conn_find(job->conn_id);
	if (c != NULL) {
		c->paused = false;
		if (!mra_login_over_limit(c, job))
			c->proto->login_done(c, &job->res);
		if (job->res.status == MRA_LOGIN_OK && !c->closing)
			snprintf(c->user, sizeof c->user, "%s", job->res.user);
		else
			mra_conn_userip_release(c, job->res.user);
		mra_conn_kick(c);
	}
	mra_job_free(job);
}

static void mra_login_delayed(struct ev_timer *t, void *ctx)
{
	mra_login_finish(ctx);
}

/* On the loop thread, after mra_login_run. */
static void mra_login_done(void *ctx)
{
	struct mra_login_job *job = ctx;
	if (job->res.status == MRA_LOGIN_FAIL && job->delay_ms > 0) {
		/* the connection stays paused meanwhile */
		job->delay = ev_timer_new(mra_login_loop, job->delay_ms,
					  mra_login_delayed, job);
		if (job->delay != NULL)
			return;
	}
	mra_login_finish(job);
}

static void mra_login_cancel(void *ctx)
{
	mra_job_free(ctx);
}

/*
 * Jobs of the pool: logins and other blocking authd lookups
 * (mra_pool_submit).  Each carries its own cancel, as the pool has one
 * cancel callback for all.
 */
struct mra_pool_job {
	void (*job)(void *ctx);
	void (*done)(void *ctx);
	void (*cancel)(void *ctx);
	void *ctx;
};

static void mra_pool_run(void *ctx)
{
	struct mra_pool_job *w = ctx;
	w->job(w->ctx);
}

static void mra_pool_done(void *ctx)
{
	struct mra_pool_job *w = ctx;
	void *inner = w->ctx;
	void (*done)(void *) = w->done;
	free(w);
	done(inner);
}

static void mra_pool_cancel(void *ctx)
{
	struct mra_pool_job *w = ctx;
	w->cancel(w->ctx);
	free(w);
}

int mra_pool_submit(void (*job)(void *ctx), void (*done)(void *ctx),
		    void (*cancel)(void *ctx), void *ctx)
{
	if (mra_login_wq == NULL)
		return -1;
	struct mra_pool_job *w = xcalloc(1, sizeof *w);
	*w = (struct mra_pool_job){job, done, cancel, ctx};
	if (workq_submit(mra_login_wq, mra_pool_run, mra_pool_done, w) < 0) {
		free(w);
		return -1;
	}
	return 0;
}

int mra_login_init(struct ev_loop *loop)
{
	mra_login_loop = loop;
	mra_login_wq =
	    workq_new(&(struct workq_opts){.name = "mra-login",
					   .threads = MRA_LOGIN_THREADS,
					   .queue_max = MRA_LOGIN_QUEUE,
					   .loop = loop,
					   .cancel = mra_pool_cancel,
					   .stack_size = 256 * 1024});
	return 0;
}

int mra_login_start(struct mra_conn *c, const char *service, struct str user,
		    struct str pass)
{
	if (mra_login_wq == NULL || user.len == 0 || user.len > MRA_USER_MAX ||
	    pass.len > MRA_PASS_MAX || strlen(mra_srv.authd_socket) >= 108)
		return -1;
	/* bytes < 0x20 are refused, never sent (reference §2.2) */
	for (size_t i = 0; i < user.len; i++)
		if ((unsigned char)user.p[i] < 0x20)
			return -1;
	for (size_t i = 0; i < pass.len; i++)
		if ((unsigned char)pass.p[i] < 0x20)
			return -1;
	struct mra_login_job *job = xcalloc(1, sizeof *job);
	job->conn_id = c->id;
	snprintf(job->service, sizeof job->service, "%s", service);
	job->user = xmemdup0(user.p, user.len);
	job->pass = xmemdup0(pass.p, pass.len);
	snprintf(job->rip, sizeof job->rip, "%s", c->rip);
	snprintf(job->authd_socket, sizeof job->authd_socket, "%s",
		 mra_srv.authd_socket);
	job->tls = c->tls_on;
	if (mra_pool_submit(mra_login_run, mra_login_done, mra_login_cancel,
			    job) < 0) {
		mra_job_free(job);
		return -1;
	}
	c->paused = true;
	return 0;
}

/* ---- SASL PLAIN --------------------------------------------------------- */

int mra_sasl_plain(struct str b64, char **user_r, char **pass_r)
{
	if (b64.len == 0 || b64.len > 4096)
		return -1;
	unsigned char out[3072];
	size_t o;
	if (base64_decode(b64, false, out, sizeof out, &o) < 0)
		return -1;
	const unsigned char *z1 = memchr(out, '\0', o);
	if (z1 == NULL)
		return -1;
	const unsigned char *authc = z1 + 1;
	const unsigned char *z2 =
	    memchr(authc, '\0', o - (size_t)(authc - out));
	if (z2 == NULL || z2 == authc)
		return -1;
	const unsigned char *pw = z2 + 1;
	size_t pwlen = o - (size_t)(pw - out);
	if (memchr(pw, '\0', pwlen) != NULL) {
		explicit_bzero(out, sizeof out);
		return -1;
	}
	/* an authzid other than the authcid is not supported */
	size_t zl = (size_t)(z1 - out), al = (size_t)(z2 - authc);
	if (zl != 0 && (zl != al || memcmp(out, authc, al) != 0)) {
		explicit_bzero(out, sizeof out);
		return -1;
	}
	*user_r = xmemdup0(authc, al);
	*pass_r = xmemdup0(pw, pwlen);
	explicit_bzero(out, sizeof out);
	return 0;
}

/* ---- Dovecot-shaped log lines (fail2ban's dovecot filter) -------------- */

void mra_log_login(const struct mra_conn *c, const char *user,
		   const char *method)
{
	char u[300];
	log_escape(u, sizeof u, user, strlen(user));
	log_info("%s-login: Login: user=<%s>, method=%s, rip=%s, lip=%s, "
		 "mpid=%ld%s",
		 c->proto->name, u, method, c->rip, c->lip, (long)getpid(),
		 c->tls_on ? ", TLS" : "");
}

void mra_log_auth_failed(const struct mra_conn *c, const char *user,
			 const char *method, unsigned attempts, const char *why)
{
	char u[300];
	log_escape(u, sizeof u, user, strlen(user));
	log_info("%s-login: Disconnected (%s, %u attempts): user=<%s>, "
		 "method=%s, rip=%s, lip=%s%s",
		 c->proto->name, why, attempts, u, method, c->rip, c->lip,
		 c->tls_on ? ", TLS" : "");
}

void mra_log_plaintext_refused(const struct mra_conn *c, const char *user)
{
	char u[300];
	log_escape(u, sizeof u, user, strlen(user));
	log_info("%s-login: Disconnected (tried to use disallowed plaintext "
		 "auth): user=<%s>, method=PLAIN, rip=%s, lip=%s",
		 c->proto->name, u, c->rip, c->lip);
}

bool mra_conn_plaintext_ok(const struct mra_conn *c)
{
	return !mra_srv.login_needs_tls || c->tls_on ||
	       strcmp(c->rip, c->lip) == 0;
}
