/*
 * The RCPT step on the loop thread (issue 10).  A worker job per
 * recipient (JOB_RCPT: the directory lookup, then the restrictions) costs
 * two thread wake-ups and a blocked worker each time; most sites' RCPT
 * restrictions (permit_mynetworks, permit_sasl_authenticated,
 * reject_unauth_destination, the non-FQDN checks ...) need nothing but
 * the session and the lookup's answer.  So when the policy says its RCPT
 * lists are all such (policy.h rcpt_on_loop, decided when the
 * configuration is loaded), the lookup goes to youju-authd through
 * lib/authc_async and the restrictions run on the loop with
 * s->no_block (an authenticated client's RCPT goes to a worker at once
 * when a list checks its sender login: rcpt_auth_worker); a step that
 * would block after all (the client's name not known yet, a recipient
 * domain not hosted here, a map value naming a list) stops that
 * evaluation, and the restrictions alone run again in a worker
 * (JOB_RCPT_CHECK).  The lookups, their order (LOOKUP rcpt, then LOOKUP
 * domain when it found nothing), the deadline and the outcomes are
 * dir_check_rcpt_quota()'s, so replies and log lines do not change: the
 * reply is smtpd_rcpt_finish()'s either way.
 *
 * While the lookup runs the session is in S_WAIT with JOB_RCPT, as with a
 * worker job: pipelined commands wait in the input buffer, in order.
 */
#include "smtpd_session.h"

#include <string.h>

#include "authc_async.h"
#include "policy.h"
#include "smtp_parse.h"

/* youju-authd connections of the loop (the worker pool's size, each of
   whose threads kept one), and requests waiting beyond them (the worker
   pool's queue) */
#define RCPT_AUTHD_CONNS 8
#define RCPT_AUTHD_QUEUE 4096

/* The restrictions on the loop thread: false when one would block. */
static bool rcpt_check_loop(struct session *s)
{
	s->no_block = true;
	smtpd_rcpt_check(s);
	s->no_block = false;
	return !s->rc.would_block;
}

/* The directory answered (s->job_dir): the restrictions, then the
   reply, and the session goes on (from a loop callback). */
static void rcpt_looked_up(struct session *s)
{
	if (s->job_dir != DIR_RCPT_TEMPFAIL && !rcpt_check_loop(s)) {
		s->job = JOB_NONE;
		if (smtpd_job_submit(s, JOB_RCPT_CHECK))
			return;
		s->state = S_COMMAND;
		smtpd_rcpt_busy(s);
		smtpd_session_resume(s);
		return;
	}
	s->job = JOB_NONE;
	s->state = S_COMMAND;
	smtpd_rcpt_finish(s);
	smtpd_session_resume(s);
}

/* LOOKUP domain (the address itself was not found): a hosted domain
   means an unknown user, as dir_check_rcpt_quota() */
static void on_domain(void *ctx, enum authc_status st,
		      const struct authc_reply *reply)
{
	(void)reply;
	struct session *s = ctx;
	s->rcpt_req = NULL;
	s->job_dir = st == AUTHC_OK	    ? DIR_RCPT_UNKNOWN
		     : st == AUTHC_TEMPFAIL ? DIR_RCPT_TEMPFAIL
					    : DIR_RCPT_REMOTE;
	rcpt_looked_up(s);
}

/* LOOKUP rcpt: a mailbox or an alias (catch-alls included) */
static void on_rcpt(void *ctx, enum authc_status st,
		    const struct authc_reply *reply)
{
	(void)reply;
	struct session *s = ctx;
	s->rcpt_req = NULL;
	if (st == AUTHC_NOTFOUND) {
		s->rcpt_req = authc_async_lookup(
		    s->srv->authc, "domain", smtp_addr_domain(s->job_rcpt.addr),
		    on_domain, s);
		if (s->rcpt_req != NULL)
			return;
		st = AUTHC_TEMPFAIL; /* the queue is full */
	}
	s->job_dir = st == AUTHC_OK ? DIR_RCPT_LOCAL : DIR_RCPT_TEMPFAIL;
	rcpt_looked_up(s);
}

void smtpd_rcpt_start(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	if (!s->pol->rcpt_on_loop ||
	    (s->authenticated && s->pol->rcpt_auth_worker)) {
		if (!smtpd_job_submit(s, JOB_RCPT))
			smtpd_rcpt_busy(s);
		return;
	}
	s->job_full = false; /* no quota check here (rcpt_on_loop) */
	s->job = JOB_RCPT;   /* the restrictions' protocol_state */
	if (smtp_addr_domain(s->job_rcpt.addr)[0] == '\0') {
		/* never local, no lookup (dir_check_rcpt_quota) */
		s->job_dir = DIR_RCPT_REMOTE;
		if (!rcpt_check_loop(s)) {
			s->job = JOB_NONE;
			if (!smtpd_job_submit(s, JOB_RCPT_CHECK))
				smtpd_rcpt_busy(s);
			return;
		}
		s->job = JOB_NONE;
		smtpd_rcpt_finish(s);
		return;
	}
	if (srv->authc == NULL)
		srv->authc = authc_async_new(srv->loop, srv->cfg.authd_socket,
					     RCPT_AUTHD_CONNS, RCPT_AUTHD_QUEUE,
					     SMTPD_AUTHD_TIMEOUT_MS);
	s->rcpt_req = authc_async_lookup(srv->authc, "rcpt", s->job_rcpt.addr,
					 on_rcpt, s);
	if (s->rcpt_req == NULL) {
		s->job = JOB_NONE;
		smtpd_rcpt_busy(s);
		return;
	}
	s->state = S_WAIT;
}

bool smtpd_rcpt_cancel(struct session *s)
{
	if (s->rcpt_req == NULL)
		return false;
	authc_async_cancel(&s->rcpt_req);
	s->job = JOB_NONE;
	return true;
}
