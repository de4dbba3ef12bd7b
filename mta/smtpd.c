/*
 * SMTP sessions (see smtpd.h).  Each connection is a struct session with
 * an explicit state (enum sstate); input is read into a bounded buffer and
 * handled one complete line at a time, so pipelined commands (RFC 2920)
 * are answered in order and their replies leave in one write.  Blocking
 * work (directory lookups, Cyrus SASL, the fsync of a queue file) runs in
 * the worker pool while the session waits in S_WAIT with reading paused.
 * Reply texts, codes and log lines follow Postfix's smtpd so that clients,
 * users and log readers (pflogsumm, fail2ban) see what they know.
 */
#include "smtpd_session.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "anvil.h"
#include "buf.h"
#include "cleanup.h"
#include "conf.h"
#include "dir.h"
#include "dnscheck.h"
#include "log.h"
#include "net.h"
#include "peername.h"
#include "policy.h"
#include "queue.h"
#include "sasl.h"
#include "smtp_parse.h"
#include "str.h"
#include "xalloc.h"

static void session_run(struct session *s);
static void session_free(struct session *s);
static void greet(struct session *s);
static void connect_finish(struct session *s);

/* The command name as Postfix logs it: "lost connection after RCPT" */
const char *smtpd_verb_log(const struct session *s)
{
	static const char *const up[SMTP_VERB_COUNT] = {
	    [SMTP_VERB_UNKNOWN] = "CONNECT", [SMTP_VERB_HELO] = "HELO",
	    [SMTP_VERB_EHLO] = "EHLO",	     [SMTP_VERB_MAIL] = "MAIL",
	    [SMTP_VERB_RCPT] = "RCPT",	     [SMTP_VERB_DATA] = "DATA",
	    [SMTP_VERB_RSET] = "RSET",	     [SMTP_VERB_NOOP] = "NOOP",
	    [SMTP_VERB_QUIT] = "QUIT",	     [SMTP_VERB_VRFY] = "VRFY",
	    [SMTP_VERB_HELP] = "HELP",	     [SMTP_VERB_STARTTLS] = "STARTTLS",
	    [SMTP_VERB_AUTH] = "AUTH",	     [SMTP_VERB_ETRN] = "ETRN",
	    [SMTP_VERB_BDAT] = "BDAT",
	};
	if (s->state == S_DATA)
		return "END-OF-MESSAGE";
	return up[s->last_verb];
}

/* ---------------------------------------------------------------- output */

/* One reply line (CR LF added) into s's output; -1 with s closing when
   the buffer is full. */
__attribute__((format(printf, 2, 0))) static int
reply_line(struct session *s, const char *fmt, va_list ap)
{
	if (buf_vprintf(&s->out, fmt, ap) < 0 ||
	    buf_append(&s->out, "\r\n", 2) < 0) {
		s->state = S_CLOSING;
		return -1;
	}
	return 0;
}

__attribute__((format(printf, 2, 3))) void smtpd_reply(struct session *s,
						       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = reply_line(s, fmt, ap);
	va_end(ap);
	if (r < 0) /* a client that does not read its replies */
		log_warning("%s[%s]: output buffer full", s->name, s->addr);
}

void smtpd_session_close(struct session *s)
{
	if (s->state != S_WAIT)
		s->state = S_CLOSING;
}

/* A 4xx/5xx reply counts towards smtpd_hard_error_limit. */
__attribute__((format(printf, 2, 3))) void smtpd_reply_err(struct session *s,
							   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = reply_line(s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	s->errors++;
	unsigned hard = s->pol->hard_error_limit;
	if (s->errors >= s->pol->soft_error_limit && s->errors < hard &&
	    s->pol->error_sleep_ms > 0)
		s->sleep_pending = true;
	if (hard > 0 && s->errors >= hard) {
		log_info("too many errors after %s from %s[%s]",
			 smtpd_verb_log(s), s->name, s->addr);
		smtpd_reply(s, "421 4.7.0 %s Error: too many errors",
			    s->srv->cfg.hostname);
		smtpd_session_close(s);
	}
}

/* Postfix's smtpd_error_sleep_time: once the client has made
   smtpd_soft_error_limit errors, hold each error reply back for a while. */
static bool maybe_sleep(struct session *s)
{
	if ((!s->sleep_pending && s->auth_penalty_ms == 0) ||
	    s->state != S_COMMAND)
		return false;
	uint64_t ms = s->sleep_pending ? s->pol->error_sleep_ms : 0;
	if (s->auth_penalty_ms > ms)
		ms = s->auth_penalty_ms;
	s->sleep_pending = false;
	s->auth_penalty_ms = 0;
	s->state = S_SLEEP;
	ev_timer_set(s->timer, ms);
	return true;
}

/* ------------------------------------------------------------- transaction */

void smtpd_transaction_reset(struct session *s)
{
	s->have_mail = false;
	memset(&s->mail, 0, sizeof(s->mail));
	s->nrcpt = 0;
	s->id[0] = '\0';
	queue_file_free(&s->qf);
	/* flags of the connect and HELO stages hold for every transaction */
	s->tx = s->early;
	s->tx_defer = false;
	s->cl_action = CLEANUP_NONE;
	s->cl_text[0] = '\0';
	buf_reset(&s->hdr);
	buf_deinit(&s->msgbuf);
	s->msgbuf_on = false;
	s->milter_reject = false;
}

const char *smtpd_proto_name(const struct session *s)
{
	if (!s->esmtp)
		return "SMTP";
	if (s->tls_on && s->authenticated)
		return "ESMTPSA";
	if (s->tls_on)
		return "ESMTPS";
	if (s->authenticated)
		return "ESMTPA";
	return "ESMTP";
}

/* Postfix: "NOQUEUE: reject: RCPT from host[ip]: <reply>; from=<> to=<>
   proto=ESMTP helo=<>" */
static void log_what(struct session *s, const char *what, const char *cmd,
		     const char *rep, const char *to)
{
	/* Postfix's log_whatsup(): from=, to= and helo= only once known
	   (a reject at CONNECT has none of them) */
	char helo[SMTPD_HELO_MAX * 4 + 16] = "";
	char from[SMTP_ADDR_MAX + 16] = "", rcpt[SMTP_ADDR_MAX + 16] = "";
	const char *h =
	    s->log_helo ? s->log_helo : (s->have_helo ? s->helo : NULL);
	if (h != NULL) {
		char esc[SMTPD_HELO_MAX * 4 + 8];
		log_escape(esc, sizeof(esc), h, strlen(h));
		snprintf(helo, sizeof(helo), " helo=<%s>", esc);
	}
	if (s->have_mail)
		snprintf(from, sizeof(from), " from=<%s>", s->mail.addr);
	if (to != NULL)
		snprintf(rcpt, sizeof(rcpt), " to=<%.*s>", SMTP_ADDR_MAX, to);
	log_info("%s: %s: %s from %s[%s]: %s;%s%s proto=%s%s",
		 s->id[0] ? s->id : "NOQUEUE", what, cmd, s->name, s->addr, rep,
		 from, rcpt, s->esmtp ? "ESMTP" : "SMTP", helo);
}

void smtpd_log_reject(struct session *s, const char *cmd, const char *rep,
		      const char *to)
{
	/* Postfix logs a milter's reply without its three-digit code */
	if (s->milter_reject && strlen(rep) > 4 && rep[3] == ' ')
		rep += 4;
	log_what(s, s->milter_reject ? "milter-reject" : "reject", cmd, rep,
		 to);
}

/* warn_if_reject, DISCARD and HOLD of the last evaluation */
void smtpd_log_events(struct session *s, const char *cmd, const char *to)
{
	for (size_t i = 0; i < s->rc.nevents; i++)
		log_what(s, s->rc.events[i].what, cmd, s->rc.events[i].text,
			 to);
	s->rc.nevents = 0;
}

/* ------------------------------------------------------------------ jobs */

static void job_done(void *ctx);

/* End of data (worker): end-of-data restrictions, then commit unless the
   message is rejected or discarded. */
static void commit_run(struct session *s)
{
	static const enum restrict_stage st[] = {RESTRICT_EOD};
	s->job_res = RESTRICT_DUNNO;
	s->job_rc = 0;
	if (s->svc != SMTPD_SVC_PICKUP &&
	    restrict_count(s->pol->stage[RESTRICT_EOD]) > 0) {
		smtpd_ctx_fill(s, s->nrcpt == 1 ? s->rcpts[0].addr : "");
		s->job_res = smtpd_run_stages(s, st, 1);
		s->tx.discard |= s->rc.discard;
		s->tx.hold |= s->rc.hold;
	}
	if (s->job_res == RESTRICT_REJECT || s->tx.discard ||
	    s->cl_action == CLEANUP_DISCARD)
		return;
	/* sender identity of From:, DKIM signing (smtpd_sign.c) */
	if (s->msgbuf_on && !smtpd_sign_run(s))
		return;
	if (s->tx.hold || s->cl_action == CLEANUP_HOLD)
		queue_file_set_hold(s->qf);
	errno = 0;
	s->job_rc = queue_file_commit(s->qf, &s->job_error);
	s->job_errno = errno;
}

static void job_run(void *ctx)
{
	struct session *s = ctx;
	switch (s->job) {
	case JOB_CONNECT:
		smtpd_connect_check(s);
		break;
	case JOB_HELO:
		smtpd_early_check(s, RESTRICT_HELO);
		break;
	case JOB_MAIL:
		/* the pickup socket skips the restrictions (docs/mta.md) */
		if (s->svc == SMTPD_SVC_PICKUP)
			smtpd_pickup_login_check(s);
		else
			smtpd_early_check(s, RESTRICT_SENDER);
		break;
	case JOB_RCPT: {
		struct dir_quota dq = {s->pol->mailbox_limit,
				       s->pol->limit_override};
		s->job_dir = dir_check_rcpt_quota(
		    s->srv->cfg.authd_socket, s->job_rcpt.addr, &dq,
		    s->mail.size,
		    s->pol->reject_over_quota ? &s->job_full : NULL);
		if (s->job_dir != DIR_RCPT_TEMPFAIL)
			smtpd_rcpt_check(s);
		break;
	}
	case JOB_RCPT_CHECK:
		smtpd_rcpt_check(s);
		break;
	case JOB_DATA: {
		static const enum restrict_stage st[] = {RESTRICT_DATA};
		smtpd_ctx_fill(s, s->nrcpt == 1 ? s->rcpts[0].addr : "");
		s->job_res = smtpd_run_stages(s, st, 1);
		break;
	}
	case JOB_SASL: {
		const char *out = NULL;
		unsigned outlen = 0;
		s->job_sasl =
		    mta_sasl_step(s->sasl, s->job_start ? s->sasl_mech : NULL,
				  s->job_in, s->job_inlen, &out, &outlen);
		free(s->job_out);
		s->job_out = NULL;
		s->job_outlen = 0;
		if (s->job_sasl == MTA_SASL_CONTINUE) {
			s->job_out = xmemdup0(out ? out : "", outlen);
			s->job_outlen = outlen;
		}
		break;
	}
	case JOB_COMMIT:
		commit_run(s);
		break;
	case JOB_VRFY:
		smtpd_pickup_vrfy_run(s);
		break;
	case JOB_NONE:
		break;
	}
}

bool smtpd_job_submit(struct session *s, enum job_kind kind)
{
	s->job = kind;
	if (workq_submit(s->srv->pool, job_run, job_done, s) < 0) {
		s->job = JOB_NONE;
		return false;
	}
	s->state = S_WAIT;
	return true;
}

/* ------------------------------------------------------------------ AUTH */

static void auth_reset(struct session *s)
{
	mta_sasl_free(&s->sasl);
	free(s->job_in);
	s->job_in = NULL;
	free(s->job_out);
	s->job_out = NULL;
}

static void auth_finish(struct session *s)
{
	char b64[MTA_SASL_LINE_MAX + 1];
	switch (s->job_sasl) {
	case MTA_SASL_CONTINUE:
		if (mta_sasl_b64_encode(s->job_out, s->job_outlen, b64,
					sizeof(b64)) < 0) {
			smtpd_reply_err(s, "454 4.7.0 Temporary authentication "
					   "failure: generic failure");
			auth_reset(s);
			return;
		}
		smtpd_reply(s, "334 %s", b64);
		s->state = S_AUTH;
		return;
	case MTA_SASL_DONE:
		s->authenticated = true;
		free(s->sasl_user);
		s->sasl_user = xstrdup(mta_sasl_username(s->sasl));
		s->ok[SMTP_VERB_AUTH]++;
		smtpd_reply(s, "235 2.7.0 Authentication successful");
		break;
	case MTA_SASL_FAIL:
		log_warning("%s[%s]: SASL %s authentication failed: "
			    "authentication failure",
			    s->name, s->addr, s->sasl_mech);
		smtpd_reply_err(s, "535 5.7.8 Error: authentication failed: "
				   "authentication failure");
		/* authd's penalty (Dovecot's auth_penalty): the 535 waits on
		   our timer, holding neither a worker nor other sessions */
		s->auth_penalty_ms = mta_sasl_delay_ms(s->sasl);
		break;
	case MTA_SASL_BADMECH:
		smtpd_reply_err(s,
				"504 5.5.4 Unrecognized authentication type");
		break;
	case MTA_SASL_TEMPFAIL:
		log_warning("%s[%s]: SASL %s authentication failed: "
			    "generic failure",
			    s->name, s->addr, s->sasl_mech);
		smtpd_reply_err(s,
				"454 4.7.0 Temporary authentication failure: "
				"generic failure");
		break;
	}
	/* a failed exchange cannot be resumed: start afresh next time */
	auth_reset(s);
}

static void auth_submit(struct session *s, bool start, const char *b64,
			size_t len)
{
	char *dec = xmalloc(MTA_SASL_LINE_MAX + 1);
	unsigned declen = 0;
	if (len == 1 && b64[0] == '=') {
		len = 0;
	} else if (mta_sasl_b64_decode(b64, len, dec, MTA_SASL_LINE_MAX + 1,
				       &declen) < 0) {
		free(dec);
		smtpd_reply_err(s, "501 5.5.2 Cannot decode response");
		auth_reset(s);
		return;
	}
	free(s->job_in);
	s->job_in = dec;
	s->job_inlen = declen;
	s->job_start = start;
	if (!smtpd_job_submit(s, JOB_SASL)) {
		smtpd_reply_err(s,
				"454 4.7.0 Temporary authentication failure: "
				"generic failure");
		auth_reset(s);
	}
}

/* -------------------------------------------------------------- commands */

enum {
	CMD_PRE_TLS = 1,  /* allowed on submission before STARTTLS */
	CMD_PRE_HELO = 2, /* allowed before HELO with smtpd_helo_required */
};

typedef void cmd_fn(struct session *s, struct str args);

/* The HELO/EHLO reply; s->job_helo holds the name. */
static void helo_accept(struct session *s, bool esmtp)
{
	memcpy(s->helo, s->job_helo, sizeof(s->helo));
	s->have_helo = true;
	s->esmtp = esmtp;
	smtpd_transaction_reset(s);
	s->ok[esmtp ? SMTP_VERB_EHLO : SMTP_VERB_HELO]++;
	const struct smtpd_config *cfg = &s->srv->cfg;
	if (!esmtp) {
		smtpd_reply(s, "250 %s", cfg->hostname);
		return;
	}
	smtpd_reply(s, "250-%s", cfg->hostname);
	smtpd_reply(s, "250-PIPELINING");
	if (cfg->size_limit > 0)
		smtpd_reply(s, "250-SIZE %llu",
			    (unsigned long long)cfg->size_limit);
	else
		smtpd_reply(s, "250-SIZE");
	if (!cfg->disable_vrfy)
		smtpd_reply(s, "250-VRFY");
	bool pickup = s->svc == SMTPD_SVC_PICKUP;
	if (s->srv->tls != NULL && !s->tls_on && !pickup)
		smtpd_reply(s, "250-STARTTLS");
	if (cfg->sasl_enable && !s->authenticated && !pickup &&
	    (s->tls_on || !cfg->tls_auth_only)) {
		smtpd_reply(s, "250-AUTH %s", mta_sasl_mechs());
		if (cfg->broken_sasl_auth_clients)
			smtpd_reply(s, "250-AUTH=%s", mta_sasl_mechs());
	}
	smtpd_reply(s, "250-ENHANCEDSTATUSCODES");
	smtpd_reply(s, "250-8BITMIME");
	smtpd_reply(s, "250-DSN");
	smtpd_reply(s, "250 SMTPUTF8");
}

static void cmd_helo(struct session *s, struct str args, bool esmtp)
{
	if (args.len == 0) {
		smtpd_reply_err(s, "501 Syntax: %s hostname",
				esmtp ? "EHLO" : "HELO");
		return;
	}
	size_t n = args.len < SMTPD_HELO_MAX ? args.len : SMTPD_HELO_MAX;
	memcpy(s->job_helo, args.p, n);
	s->job_helo[n] = '\0';
	s->job_esmtp = esmtp;
	if (!s->pol->delay_reject &&
	    restrict_count(s->pol->stage[RESTRICT_HELO]) > 0) {
		if (!smtpd_job_submit(s, JOB_HELO))
			smtpd_reply_err(s, "451 4.3.0 Error: server busy");
		return;
	}
	helo_accept(s, esmtp);
}

/* smtpd_helo_restrictions done (JOB_HELO): as Postfix's helo_cmd(), a
   rejected HELO leaves the session as it was. */
static void helo_checked(struct session *s)
{
	const char *cmd = s->job_esmtp ? "EHLO" : "HELO";
	s->log_helo = s->job_helo;
	smtpd_log_events(s, cmd, NULL);
	if (s->job_res == RESTRICT_REJECT) {
		smtpd_log_reject(s, cmd, s->job_reply, NULL);
		s->log_helo = NULL;
		smtpd_reply_err(s, "%s", s->job_reply);
		return;
	}
	s->log_helo = NULL;
	smtpd_early_keep(s, &s->early, &s->sess_defer, s->sess_defer_reply);
	helo_accept(s, s->job_esmtp);
}

static void cmd_ehlo_(struct session *s, struct str args)
{
	cmd_helo(s, args, true);
}

static void cmd_helo_(struct session *s, struct str args)
{
	cmd_helo(s, args, false);
}

/* Answers a MAIL or RCPT parse failure as Postfix does; true when the
   command parsed.  bad: the offending ESMTP parameter, escaped for the
   reply. */
static bool parse_ok(struct session *s, enum smtp_parse_err r, struct str bad,
		     const char *syntax, const char *address)
{
	char e[128];
	switch (r) {
	case SMTP_PARSE_OK:
		return true;
	case SMTP_PARSE_SYNTAX:
		smtpd_reply_err(s, "%s", syntax);
		break;
	case SMTP_PARSE_ADDRESS:
		smtpd_reply_err(s, "%s", address);
		break;
	case SMTP_PARSE_PARAM:
		log_escape(e, sizeof(e), bad.p, bad.len);
		smtpd_reply_err(s, "555 5.5.4 Unsupported option: %s", e);
		break;
	case SMTP_PARSE_VALUE:
		log_escape(e, sizeof(e), bad.p, bad.len);
		smtpd_reply_err(s, "501 5.5.4 Bad parameter syntax: %s", e);
		break;
	}
	return false;
}

static void mail_accept(struct session *s)
{
	s->have_mail = true;
	s->nrcpt = 0;
	s->ok[SMTP_VERB_MAIL]++;
	smtpd_reply(s, "250 2.1.0 Ok");
}

static void cmd_mail(struct session *s, struct str args)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	struct str bad = {"", 0};
	if (!s->have_helo && s->pol->helo_required) {
		smtpd_reply_err(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->have_mail) {
		smtpd_reply_err(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->svc == SMTPD_SVC_SUBMISSION && !s->authenticated) {
		smtpd_reply_err(s, "530 5.7.0 Authentication required");
		return;
	}
	if (!parse_ok(s, smtp_parse_mail(args, s->esmtp, &s->mail, &bad), bad,
		      "501 5.5.4 Syntax: MAIL FROM:<address>",
		      "501 5.1.7 Bad sender address syntax"))
		return;
	if (s->svc == SMTPD_SVC_PICKUP)
		smtpd_pickup_qualify(s, s->mail.addr);
	s->login_listed = false;
	if (s->mail.has_size && cfg->size_limit > 0 &&
	    s->mail.size > cfg->size_limit) {
		char rep[] = "552 5.3.4 Message size exceeds fixed limit";
		smtpd_log_reject(s, "MAIL", rep, NULL);
		smtpd_reply_err(s, "%s", rep);
		memset(&s->mail, 0, sizeof(s->mail));
		return;
	}
	if (smtpd_pickup_login_needed(s) ||
	    (!s->pol->delay_reject &&
	     restrict_count(s->pol->stage[RESTRICT_SENDER]) > 0)) {
		if (!smtpd_job_submit(s, JOB_MAIL)) {
			smtpd_reply_err(s, "451 4.3.0 Error: server busy");
			memset(&s->mail, 0, sizeof(s->mail));
		}
		return;
	}
	mail_accept(s);
}

/* smtpd_sender_restrictions done (JOB_MAIL, smtpd_delay_reject = no) */
static void mail_checked(struct session *s)
{
	s->have_mail = true; /* for the log's from=<> */
	smtpd_log_events(s, "MAIL", NULL);
	if (s->job_res == RESTRICT_REJECT) {
		smtpd_log_reject(s, "MAIL", s->job_reply, NULL);
		s->have_mail = false;
		memset(&s->mail, 0, sizeof(s->mail));
		smtpd_reply_err(s, "%s", s->job_reply);
		return;
	}
	s->tx_defer = false;
	smtpd_early_keep(s, &s->tx, &s->tx_defer, s->tx_defer_reply);
	mail_accept(s);
}

static void cmd_rcpt(struct session *s, struct str args)
{
	struct str bad = {"", 0};
	if (!s->have_mail) {
		smtpd_reply_err(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (!parse_ok(
		s, smtp_parse_rcpt(args, s->mail.smtputf8, &s->job_rcpt, &bad),
		bad, "501 5.5.4 Syntax: RCPT TO:<address>",
		"501 5.1.3 Bad recipient address syntax"))
		return;
	if (s->nrcpt >= s->srv->cfg.rcpt_limit) {
		smtpd_reply_err(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (s->svc == SMTPD_SVC_PICKUP) {
		/* as Postfix's pickup: no restrictions, no lookup; the
		   delivery side bounces what it cannot deliver */
		smtpd_pickup_qualify(s, s->job_rcpt.addr);
		memset(&s->rc, 0, sizeof(s->rc));
		s->job_dir = DIR_RCPT_LOCAL;
		s->job_res = RESTRICT_PERMIT;
		smtpd_rcpt_finish(s);
		return;
	}
	if (smtp_qualify_postmaster(s->job_rcpt.addr, sizeof(s->job_rcpt.addr),
				    s->srv->cfg.mydomain) == 1) {
		/* RFC 5321 4.5.1: <postmaster> alone must be accepted; as
		   Postfix's smtpd_check_rcpt(), without restrictions or a
		   lookup (docs/mta.md) */
		memset(&s->rc, 0, sizeof(s->rc));
		s->job_dir = DIR_RCPT_LOCAL;
		s->job_full = false;
		s->job_res = RESTRICT_PERMIT;
		smtpd_rcpt_finish(s);
		return;
	}
	smtpd_rcpt_start(s);
}

void smtpd_rcpt_busy(struct session *s)
{
	char rep[RESTRICT_REPLY_MAX];
	snprintf(rep, sizeof(rep), "451 4.3.0 <%s>: Temporary lookup failure",
		 s->job_rcpt.addr);
	smtpd_reply_err(s, "%s", rep);
}

static void data_go(struct session *s)
{
	if (!smtpd_data_start(s)) {
		smtpd_reply_err(s, "451 4.3.0 Error: queue file write error");
		smtpd_transaction_reset(s);
		return;
	}
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	s->state = S_DATA;
}

/* smtpd_data_restrictions done (JOB_DATA) */
static void data_checked(struct session *s)
{
	const char *to = s->nrcpt == 1 ? s->rcpts[0].addr : NULL;
	smtpd_log_events(s, "DATA", to);
	if (s->job_res == RESTRICT_REJECT) {
		smtpd_log_reject(s, "DATA", s->job_reply, to);
		smtpd_reply_err(s, "%s", s->job_reply);
		return;
	}
	smtpd_tx_merge(s);
	data_go(s);
}

static void cmd_data(struct session *s, struct str args)
{
	if (args.len > 0) {
		smtpd_reply_err(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (!s->have_mail) {
		smtpd_reply_err(s, "503 5.5.1 Error: need RCPT command");
		return;
	}
	if (s->nrcpt == 0) {
		smtpd_reply_err(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	if (s->svc != SMTPD_SVC_PICKUP &&
	    restrict_count(s->pol->stage[RESTRICT_DATA]) > 0) {
		if (!smtpd_job_submit(s, JOB_DATA))
			smtpd_reply_err(s, "451 4.3.0 Error: server busy");
		return;
	}
	data_go(s);
}

static void cmd_rset(struct session *s, struct str args)
{
	if (args.len > 0) {
		smtpd_reply_err(s, "501 5.5.4 Syntax: RSET");
		return;
	}
	smtpd_transaction_reset(s);
	s->ok[SMTP_VERB_RSET]++;
	smtpd_reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct session *s, struct str args)
{
	s->ok[SMTP_VERB_NOOP]++;
	smtpd_reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct session *s, struct str args)
{
	s->ok[SMTP_VERB_QUIT]++;
	smtpd_reply(s, "221 2.0.0 Bye");
	smtpd_session_close(s);
}

static void cmd_vrfy(struct session *s, struct str args)
{
	if (s->svc == SMTPD_SVC_PICKUP) {
		smtpd_pickup_vrfy(s, args);
		return;
	}
	if (s->srv->cfg.disable_vrfy) {
		smtpd_reply_err(s, "502 5.5.1 VRFY command is disabled");
		return;
	}
	if (args.len == 0 || args.len > SMTP_ADDR_MAX + 2 ||
	    !str_is_printable(args)) {
		smtpd_reply_err(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	s->ok[SMTP_VERB_VRFY]++;
	smtpd_reply(s, "252 2.0.0 %.*s", (int)args.len, args.p);
}

static void cmd_help(struct session *s, struct str args)
{
	s->ok[SMTP_VERB_HELP]++;
	smtpd_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP "
		       "QUIT VRFY STARTTLS AUTH HELP");
}

static void cmd_starttls(struct session *s, struct str args)
{
	if (args.len > 0) {
		smtpd_reply_err(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->tls_on) {
		smtpd_reply_err(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (s->srv->tls == NULL) {
		smtpd_reply_err(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	s->ok[SMTP_VERB_STARTTLS]++;
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	s->state = S_STARTTLS;
}

static void cmd_auth(struct session *s, struct str args)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	if (!cfg->sasl_enable || (cfg->tls_auth_only && !s->tls_on)) {
		smtpd_reply_err(s,
				"503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (!s->have_helo) {
		smtpd_reply_err(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->authenticated) {
		smtpd_reply_err(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->have_mail) {
		smtpd_reply_err(
		    s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	const char *sp = memchr(args.p, ' ', args.len);
	struct str mech = {args.p, sp ? (size_t)(sp - args.p) : args.len};
	struct str init = {"", 0};
	if (sp != NULL)
		init = str_trim((struct str){sp + 1, args.len - mech.len - 1});
	if (mech.len == 0 || mech.len >= sizeof(s->sasl_mech)) {
		smtpd_reply_err(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	for (size_t i = 0; i < mech.len; i++) {
		char c = mech.p[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		s->sasl_mech[i] = c;
	}
	s->sasl_mech[mech.len] = '\0';
	auth_reset(s);
	s->sasl = mta_sasl_new(cfg->hostname, NULL, s->addr);
	if (s->sasl == NULL) {
		smtpd_reply_err(s,
				"454 4.7.0 Temporary authentication failure: "
				"generic failure");
		return;
	}
	if (sp == NULL) {
		free(s->job_in);
		s->job_in = NULL;
		s->job_inlen = 0;
		s->job_start = true;
		if (!smtpd_job_submit(s, JOB_SASL)) {
			smtpd_reply_err(s, "454 4.7.0 Temporary authentication "
					   "failure: generic failure");
			auth_reset(s);
		}
		return;
	}
	auth_submit(s, true, init.p, init.len);
}

static void cmd_unknown(struct session *s, struct str args)
{
	smtpd_reply_err(s, "502 5.5.2 Error: command not recognized");
}

static void cmd_unimplemented(struct session *s, struct str args)
{
	smtpd_reply_err(s, "502 5.5.1 Error: command not implemented");
}

static const struct {
	cmd_fn *fn;
	unsigned flags;
} cmd_table[SMTP_VERB_COUNT] = {
    [SMTP_VERB_UNKNOWN] = {cmd_unknown, CMD_PRE_TLS | CMD_PRE_HELO},
    [SMTP_VERB_HELO] = {cmd_helo_, CMD_PRE_TLS | CMD_PRE_HELO},
    [SMTP_VERB_EHLO] = {cmd_ehlo_, CMD_PRE_TLS | CMD_PRE_HELO},
    [SMTP_VERB_MAIL] = {cmd_mail, 0},
    [SMTP_VERB_RCPT] = {cmd_rcpt, 0},
    [SMTP_VERB_DATA] = {cmd_data, 0},
    [SMTP_VERB_RSET] = {cmd_rset, CMD_PRE_TLS | CMD_PRE_HELO},
    [SMTP_VERB_NOOP] = {cmd_noop, CMD_PRE_TLS | CMD_PRE_HELO},
    [SMTP_VERB_QUIT] = {cmd_quit, CMD_PRE_TLS | CMD_PRE_HELO},
    [SMTP_VERB_VRFY] = {cmd_vrfy, 0},
    [SMTP_VERB_HELP] = {cmd_help, CMD_PRE_TLS | CMD_PRE_HELO},
    [SMTP_VERB_STARTTLS] = {cmd_starttls, CMD_PRE_TLS | CMD_PRE_HELO},
    [SMTP_VERB_AUTH] = {cmd_auth, 0},
    [SMTP_VERB_ETRN] = {cmd_unimplemented, 0},
    [SMTP_VERB_BDAT] = {cmd_unimplemented, 0},
};

/*
 * RFC 2920: a client may send further commands without waiting only after
 * EHLO, and never after EHLO, DATA, VRFY, QUIT, NOOP, STARTTLS or AUTH
 * themselves.  Input already waiting behind such a line is "improper
 * command pipelining" (Postfix's smtpd_flag_ill_pipelining), which
 * reject_unauth_pipelining turns into a rejection.
 */
static void check_pipelining(struct session *s, struct str line)
{
	if (s->ill_pipelining)
		return;
	size_t used = (size_t)(line.p - s->in.p) + line.len + 1;
	if (net_line_was_crlf(&s->in, line))
		used++;
	if (s->in.len <= used)
		return;
	struct str args;
	enum smtp_verb v = smtp_parse_verb(line, &args);
	bool last = v == SMTP_VERB_EHLO || v == SMTP_VERB_HELO ||
		    v == SMTP_VERB_DATA || v == SMTP_VERB_VRFY ||
		    v == SMTP_VERB_QUIT || v == SMTP_VERB_NOOP ||
		    v == SMTP_VERB_STARTTLS || v == SMTP_VERB_AUTH;
	if (s->esmtp && !last)
		return;
	char esc[512];
	size_t n = s->in.len - used;
	log_escape(esc, sizeof(esc), s->in.p + used, n > 100 ? 100 : n);
	log_info("improper command pipelining after %s from %s[%s]: %s",
		 smtp_verb_name(v), s->name, s->addr, esc);
	s->ill_pipelining = true;
}

static void command(struct session *s, struct str line)
{
	struct str args;
	enum smtp_verb v = smtp_parse_verb(line, &args);
	s->last_verb = v;
	s->total[v]++;
	if (line.len == 0) {
		smtpd_reply_err(s, "500 5.5.2 Error: bad syntax");
		return;
	}
	if (v != SMTP_VERB_AUTH && line.len > SMTPD_CMD_MAX) {
		smtpd_reply_err(s, "500 5.5.2 Error: line too long");
		return;
	}
	if (s->access_denied && v != SMTP_VERB_QUIT && v != SMTP_VERB_UNKNOWN) {
		/* Postfix, after a client reject at connect (RFC 5321 3.1) */
		smtpd_reply_err(s, "503 5.7.0 Error: access denied for %s[%s]",
				s->name, s->addr);
		return;
	}
	unsigned flags = cmd_table[v].flags;
	if (s->svc == SMTPD_SVC_SUBMISSION && s->srv->tls != NULL &&
	    !s->tls_on && !(flags & CMD_PRE_TLS)) {
		smtpd_reply_err(
		    s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (s->pol->helo_required && !s->have_helo && !(flags & CMD_PRE_HELO)) {
		smtpd_reply_err(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	cmd_table[v].fn(s, args);
}

static void auth_line(struct session *s, struct str line)
{
	if (line.len == 1 && line.p[0] == '*') {
		smtpd_reply_err(s, "501 5.7.0 Authentication aborted");
		auth_reset(s);
		s->state = S_COMMAND;
		return;
	}
	s->state = S_COMMAND;
	auth_submit(s, false, line.p, line.len);
}

/* Handles complete lines in the input buffer while the state allows. */
static void process_input(struct session *s)
{
	while (s->out.len < SMTPD_OUT_HIGH) {
		if (s->state != S_COMMAND && s->state != S_AUTH &&
		    s->state != S_DATA)
			return;
		if (s->skipping) {
			if (!net_skip_line(&s->in))
				return;
			s->skipping = false;
			continue;
		}
		if (s->state == S_DATA) {
			if (!smtpd_data_input(s))
				return;
			continue;
		}
		size_t max = SMTPD_IN_MAX - 1;
		struct str line;
		switch (net_read_line(&s->in, max, &line)) {
		case LINE_MORE:
		case LINE_EOF:
			return;
		case LINE_TOOLONG:
			if (s->state == S_AUTH) {
				/* RFC 4954 4: the exchange ends here, or the
				   next commands would be read as responses */
				smtpd_reply_err(s, "500 5.5.6 Authentication "
						   "Exchange line is too long");
				auth_reset(s);
				s->state = S_COMMAND;
			} else {
				smtpd_reply_err(
				    s, "500 5.5.2 Error: line too long");
			}
			s->skipping = !net_skip_line(&s->in);
			continue;
		case LINE_OK:
			break;
		}
		if (!net_line_was_crlf(&s->in, line) &&
		    s->srv->cfg.forbid_bare_newline && !s->mynetworks) {
			net_line_consume(&s->in, line);
			smtpd_bare_lf(s);
			return;
		}
		if (s->state == S_AUTH) {
			/* copy: the worker reads it after we consume */
			auth_line(s, line);
		} else {
			check_pipelining(s, line);
			command(s, line);
		}
		net_line_consume(&s->in, line);
		if (s->state == S_STARTTLS) {
			/* anything pipelined after STARTTLS came in clear:
			   drop it (CVE-2011-0411) */
			buf_reset(&s->in);
			return;
		}
		if (maybe_sleep(s))
			return;
	}
}

/* ------------------------------------------------------------------- I/O */

static void timer_arm(struct session *s)
{
	ev_timer_set(s->timer, (uint64_t)s->srv->cfg.timeout_s * 1000);
}

static void log_disconnect(struct session *s)
{
	static const enum smtp_verb order[] = {
	    SMTP_VERB_HELO, SMTP_VERB_EHLO, SMTP_VERB_STARTTLS, SMTP_VERB_AUTH,
	    SMTP_VERB_MAIL, SMTP_VERB_RCPT, SMTP_VERB_DATA,	SMTP_VERB_BDAT,
	    SMTP_VERB_RSET, SMTP_VERB_NOOP, SMTP_VERB_VRFY,	SMTP_VERB_ETRN,
	    SMTP_VERB_QUIT, SMTP_VERB_HELP, SMTP_VERB_UNKNOWN,
	};
	struct buf b;
	unsigned tot = 0, ok = 0;
	buf_init(&b, 1024);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum smtp_verb v = order[i];
		if (s->total[v] == 0)
			continue;
		tot += s->total[v];
		ok += s->ok[v];
		int r;
		if (s->ok[v] == s->total[v])
			r = buf_printf(&b, " %s=%u", smtp_verb_name(v),
				       s->total[v]);
		else
			r = buf_printf(&b, " %s=%u/%u", smtp_verb_name(v),
				       s->ok[v], s->total[v]);
		(void)r;
	}
	int r;
	if (ok == tot)
		r = buf_printf(&b, " commands=%u", tot);
	else
		r = buf_printf(&b, " commands=%u/%u", ok, tot);
	(void)r;
	log_info("disconnect from %s[%s]%s", s->name, s->addr, buf_cstr(&b));
	buf_deinit(&b);
}

static void session_free(struct session *s)
{
	(void)smtpd_rcpt_cancel(s); /* a lookup on the loop holds no thread */
	if (s->job != JOB_NONE) {
		/* the worker still holds s: finish in job_done */
		s->freed_pending = true;
		ev_io_free(&s->io);
		ev_timer_free(&s->timer);
		return;
	}
	peername_cancel(&s->pn_wait);
	log_disconnect(s);
	smtpd_transaction_reset(s);
	auth_reset(s);
	ev_io_free(&s->io);
	ev_timer_free(&s->timer);
	tls_conn_free(&s->tls);
	close(s->fd);
	buf_deinit(&s->in);
	buf_wipe(&s->out);
	buf_deinit(&s->out);
	free(s->rcpts);
	free(s->sasl_user);
	buf_deinit(&s->hdr);
	buf_deinit(&s->msgbuf);
	if (s->anvil_counted)
		anvil_disconnect(s->srv->anvil, s->addr);
	policy_unref(&s->pol);
	s->srv->sessions--;
	free(s);
}

static void session_lost(struct session *s, const char *why)
{
	if (s->state == S_DATA)
		log_info(
		    "lost connection after DATA (%llu bytes) from "
		    "%s[%s]%s",
		    (unsigned long long)(s->qf ? queue_file_size(s->qf) : 0),
		    s->name, s->addr, why);
	else
		log_info("lost connection after %s from %s[%s]%s",
			 smtpd_verb_log(s), s->name, s->addr, why);
	session_free(s);
}

void smtpd_job_done(struct session *s)
{
	enum job_kind kind = s->job;
	s->job = JOB_NONE;
	if (s->freed_pending) {
		session_free(s);
		return;
	}
	s->state = S_COMMAND;
	switch (kind) {
	case JOB_CONNECT:
		connect_finish(s);
		break;
	case JOB_HELO:
		helo_checked(s);
		break;
	case JOB_MAIL:
		mail_checked(s);
		break;
	case JOB_RCPT:
	case JOB_RCPT_CHECK:
		smtpd_rcpt_finish(s);
		break;
	case JOB_SASL:
		auth_finish(s);
		break;
	case JOB_COMMIT:
		smtpd_commit_finish(s);
		break;
	case JOB_DATA:
		data_checked(s);
		break;
	case JOB_VRFY:
		smtpd_pickup_vrfy_finish(s);
		break;
	case JOB_NONE:
		break;
	}
	smtpd_session_resume(s);
}

static void job_done(void *ctx)
{
	smtpd_job_done(ctx);
}

void smtpd_session_resume(struct session *s)
{
	if (!maybe_sleep(s))
		timer_arm(s);
	session_run(s);
}

/* 1 all sent, 0 wait, -1 error */
static int session_flush(struct session *s)
{
	if (s->out.len == 0)
		return 1;
	if (s->tls_on)
		return tls_write(s->tls, &s->out, &s->tls_want);
	int r = net_out_flush(s->fd, &s->out);
	if (r == 0)
		s->tls_want = EV_WRITE;
	return r;
}

/* 1 progress, 0 would block, -1 EOF or error */
static int session_read(struct session *s)
{
	if (s->tls_on) {
		int r = tls_read(s->tls, &s->in, &s->tls_want);
		return r;
	}
	size_t room = buf_room(&s->in), before = s->in.len;
	if (room > NET_FILL_CHUNK)
		room = NET_FILL_CHUNK;
	int r = net_fill(s->fd, &s->in);
	if (r == 0)
		s->tls_want = EV_READ;
	/* a short read emptied the socket: what the client sends next
	   wakes the (level-triggered) loop, no read needs to ask first */
	s->drained = r > 0 && s->in.len - before < room;
	return r;
}

static void session_io_set(struct session *s, unsigned ev)
{
	s->io_ev = ev;
	ev_io_set(s->io, ev);
}

static void session_update(struct session *s)
{
	unsigned ev = 0;
	bool polled = s->polled;
	s->polled = false;
	if (s->state == S_SLEEP) {
		session_io_set(s, 0);
		return;
	}
	/* A worker job: reading waits for its result.  The read interest
	   stays until the loop reports input meanwhile (then it goes), so a
	   client that waits for the reply, as most do, costs no epoll_ctl()
	   pair per job. */
	if (s->state == S_WAIT && s->out.len == 0 && !polled &&
	    s->io_ev == EV_READ)
		return;
	if (s->out.len > 0) {
		ev = s->tls_on ? s->tls_want : EV_WRITE;
	} else if (s->state == S_HANDSHAKE) {
		ev = s->tls_want;
	} else if (s->state == S_COMMAND || s->state == S_AUTH ||
		   s->state == S_DATA) {
		ev = s->tls_on ? s->tls_want : EV_READ;
	}
	if (ev == 0 && s->state != S_WAIT)
		ev = EV_READ;
	session_io_set(s, ev);
}

static void session_run(struct session *s)
{
	bool replied = false;
	for (;;) {
		if (s->state == S_SLEEP)
			break;
		replied |= s->out.len > 0;
		int w = session_flush(s);
		if (w < 0) {
			session_lost(s, "");
			return;
		}
		if (w == 0)
			break;
		if (s->state == S_CLOSING) {
			session_free(s);
			return;
		}
		if (s->state == S_WAIT)
			break;
		if (s->state == S_STARTTLS) {
			s->tls = tls_conn_new(s->srv->tls, s->fd, NULL);
			if (s->tls == NULL) {
				session_free(s);
				return;
			}
			s->state = S_HANDSHAKE;
			int h = tls_starttls(s->tls, &s->in, &s->tls_want);
			if (h < 0) {
				log_info("SSL_accept error from %s[%s]: %s",
					 s->name, s->addr,
					 tls_conn_error(s->tls));
				session_lost(s, "");
				return;
			}
			s->hs_done = h == 1;
			if (h == 0)
				break;
		}
		if (s->state == S_HANDSHAKE) {
			if (!s->hs_done) {
				int h = tls_handshake(s->tls, &s->tls_want);
				if (h < 0) {
					log_info("SSL_accept error from "
						 "%s[%s]: %s",
						 s->name, s->addr,
						 tls_conn_error(s->tls));
					session_lost(s, "");
					return;
				}
				if (h == 0)
					break;
				s->hs_done = true;
			}
			bool implicit = s->svc == SMTPD_SVC_SMTPS;
			s->tls_on = true;
			log_info("Anonymous TLS connection established from "
				 "%s[%s]: %s with cipher %s (%d/%d bits)",
				 s->name, s->addr, tls_conn_version(s->tls),
				 tls_conn_cipher(s->tls),
				 tls_conn_cipher_bits(s->tls),
				 tls_conn_cipher_bits(s->tls));
			/* RFC 3207 4.2: forget what the client said */
			s->have_helo = false;
			s->esmtp = false;
			s->helo[0] = '\0';
			smtpd_transaction_reset(s);
			s->state = S_COMMAND;
			if (implicit)
				greet(s);
			continue;
		}
		size_t before = s->out.len;
		enum sstate st = s->state;
		process_input(s);
		if (s->out.len != before || s->state != st)
			continue;
		/* The last read emptied the socket and a reply went out
		   since: the client waits for it (a pipelining client sent
		   its group before), so a read now would only say EAGAIN.
		   Back to the loop, which says when more comes.  Without a
		   reply (message data arriving in pieces) read on: the next
		   piece is often there already.  OpenSSL may hold read
		   bytes: a TLS session always asks. */
		if (s->drained && replied && !s->tls_on)
			break;
		int r = session_read(s);
		if (r < 0) {
			session_lost(s, "");
			return;
		}
		if (r == 0)
			break;
		timer_arm(s);
	}
	session_update(s);
}

static void session_io(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct session *s = ctx;
	/* input (or its end) came while a worker job runs */
	s->polled = s->state == S_WAIT;
	s->drained = false;
	session_run(s);
}

static void session_timeout(struct ev_timer *t, void *ctx)
{
	struct session *s = ctx;
	if (s->state == S_WAIT) {
		timer_arm(s);
		return;
	}
	if (s->state == S_SLEEP) {
		s->state = S_COMMAND;
		timer_arm(s);
		session_run(s);
		return;
	}
	if (s->state == S_CLOSING) {
		/* the client does not read our last reply */
		session_free(s);
		return;
	}
	if (s->state == S_DATA)
		log_info(
		    "timeout after DATA (%llu bytes) from %s[%s]",
		    (unsigned long long)(s->qf ? queue_file_size(s->qf) : 0),
		    s->name, s->addr);
	else
		log_info("timeout after %s from %s[%s]", smtpd_verb_log(s),
			 s->name, s->addr);
	if (s->state == S_HANDSHAKE) {
		session_free(s);
		return;
	}
	buf_reset(&s->out);
	smtpd_reply(s, "421 4.4.2 %s Error: timeout exceeded",
		    s->srv->cfg.hostname);
	smtpd_transaction_reset(s);
	s->state = S_CLOSING;
	session_run(s);
}

/* ---------------------------------------------------------- the server */

int smtpd_policy_setup(struct smtpd_server *srv, const struct conf *c,
		       char *err, size_t errsz)
{
	struct smtpd_policy *p = policy_load(c, err, errsz);
	if (p == NULL)
		return -1;
	policy_unref(&srv->policy);
	srv->policy = p;
	if (srv->anvil == NULL)
		srv->anvil = anvil_new();
	return 0;
}

void smtpd_server_done(struct smtpd_server *srv)
{
	policy_unref(&srv->policy);
	anvil_free(&srv->anvil);
	/* the lookups' watchers belong to the loop: once ev_loop_free() has
	   run (srv->loop NULL) they are gone with it, and the rest goes with
	   the process */
	if (srv->loop != NULL) {
		peername_free(&srv->pn);
		ev_io_free(&srv->commit_io); /* the eventfd is the group's */
		ev_timer_free(&srv->commit_kick);
	}
}

/* The refusal of a client over one of its connection limits (what:
   "concurrency" or "rate", n its count): Postfix's warning and 421. */
static bool client_limit_refuse(struct session *s, const char *what, unsigned n)
{
	static const char *const svc_names[] = {"smtp", "submission", "smtps",
						"pickup"};
	log_info("connect from %s[%s]", s->name, s->addr);
	log_warning("Connection %s limit exceeded: %u from %s[%s] for "
		    "service %s",
		    what, n, s->name, s->addr, svc_names[s->svc]);
	smtpd_reply(s, "421 4.7.0 %s Error: too many connections from %s",
		    s->srv->cfg.hostname, s->addr);
	return false;
}

/* smtpd_client_connection_count_limit and _rate_limit (Postfix's anvil
   replies and warnings).  True when the session may go on. */
static bool client_limits(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	const struct smtpd_policy *p = s->pol;
	unsigned count, rate;
	if (p->limit_exceptions != NULL &&
	    netlist_match(p->limit_exceptions, s->addr))
		return true;
	anvil_connect(srv->anvil, s->addr, ev_now_ms(srv->loop),
		      (uint64_t)p->rate_unit_s * 1000, &count, &rate);
	s->anvil_counted = true;
	if (p->conn_count_limit > 0 && count > p->conn_count_limit)
		return client_limit_refuse(s, "concurrency", count);
	if (p->conn_rate_limit > 0 && rate > p->conn_rate_limit)
		return client_limit_refuse(s, "rate", rate);
	return true;
}

/* The first reply: the banner, or the client stage's reject with
   smtpd_delay_reject = no (Postfix then answers 503 to all but QUIT). */
static void greet(struct session *s)
{
	s->state = S_COMMAND;
	if (s->access_denied)
		smtpd_reply(s, "%s", s->deny_reply);
	else
		smtpd_reply(s, "220 %s", s->srv->cfg.banner);
}

/* The client's name is known and the client restrictions ran (JOB_CONNECT,
   or none at connect): log the connection, then TLS (SMTPS) or the banner. */
static void connect_finish(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	log_info("connect from %s[%s]", s->name, s->addr);
	smtpd_log_events(s, "CONNECT", NULL);
	if (s->job_res == RESTRICT_REJECT) {
		s->access_denied = true;
		memcpy(s->deny_reply, s->job_reply, sizeof(s->deny_reply));
		smtpd_log_reject(s, "CONNECT", s->deny_reply, NULL);
	} else if (!s->pol->delay_reject) {
		smtpd_early_keep(s, &s->early, &s->sess_defer,
				 s->sess_defer_reply);
		s->tx = s->early;
	}
	if (s->svc != SMTPD_SVC_SMTPS) {
		greet(s);
		return;
	}
	s->tls = srv->tls ? tls_conn_new(srv->tls, s->fd, NULL) : NULL;
	if (s->tls == NULL) {
		s->state = S_CLOSING; /* nothing queued: closes at once */
		return;
	}
	s->state = S_HANDSHAKE;
	s->tls_want = EV_READ;
}

/* The client's name (peername.h), as Postfix's smtpd_peer_init(): the
   PTR name when forward-confirmed, else "unknown"; then the client
   restrictions in a worker when smtpd_delay_reject = no. */
static void connect_named(void *ctx, enum dns_status st, enum dns_status ptr_st,
			  const char *name)
{
	struct session *s = ctx;
	s->pn_wait = NULL;
	s->name_dns = 1 + (int)st;
	s->ptr_dns = 1 + (int)ptr_st;
	snprintf(s->ptr_name, sizeof(s->ptr_name), "%s",
		 ptr_st == DNS_OK ? name : "");
	snprintf(s->name, sizeof(s->name), "%s",
		 st == DNS_OK ? name : "unknown");
	s->state = S_COMMAND;
	s->job_res = RESTRICT_DUNNO;
	if (!s->pol->delay_reject &&
	    restrict_count(s->pol->stage[RESTRICT_CLIENT]) > 0) {
		if (!smtpd_job_submit(s, JOB_CONNECT)) {
			log_info("connect from %s[%s]", s->name, s->addr);
			log_warning("worker queue full: refusing %s[%s]",
				    s->name, s->addr);
			smtpd_reply(s, "421 4.3.2 %s Error: server busy",
				    s->srv->cfg.hostname);
			s->state = S_CLOSING;
		}
	} else {
		connect_finish(s);
	}
	timer_arm(s);
	session_run(s);
}

void smtpd_accept(struct smtpd_server *srv, int fd, const char *peer,
		  enum smtpd_service svc)
{
	struct session *s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->svc = svc;
	s->fd = fd;
	buf_init(&s->in, SMTPD_IN_MAX);
	buf_init(&s->out, SMTPD_OUT_MAX);
	snprintf(s->addr, sizeof(s->addr), "%s", peer);
	snprintf(s->name, sizeof(s->name), "unknown");
	s->mynetworks = netlist_match(srv->cfg.mynetworks, peer);
	bool peer_ok = svc != SMTPD_SVC_PICKUP || smtpd_pickup_peer(s);
	s->last_verb = SMTP_VERB_UNKNOWN;
	/* mta/main.c sets the policy up before it accepts anything */
	bool pol_ok = srv->policy != NULL;
	if (pol_ok)
		s->pol = policy_ref(srv->policy);
	buf_init(&s->hdr, pol_ok ? s->pol->header_size_limit + 16 : 16);
	srv->sessions++;
	s->io = ev_io_new(srv->loop, fd, 0, session_io, s);
	s->timer = ev_timer_new(srv->loop, (uint64_t)srv->cfg.timeout_s * 1000,
				session_timeout, s);
	if (srv->cfg.max_sessions > 0 &&
	    srv->sessions > srv->cfg.max_sessions) {
		/* refused before the name lookup: no work for a flood */
		log_info("connect from %s[%s]", s->name, s->addr);
		log_warning("too many connections: refusing %s[%s]", s->name,
			    s->addr);
		smtpd_reply(s, "421 4.7.0 %s Error: too many connections",
			    srv->cfg.hostname);
		s->state = S_CLOSING;
	} else if (!pol_ok || !peer_ok) {
		log_info("connect from %s[%s]", s->name, s->addr);
		smtpd_reply(s, "421 4.3.5 %s Error: server configuration error",
			    srv->cfg.hostname);
		s->state = S_CLOSING;
	} else if (svc == SMTPD_SVC_PICKUP) {
		/* local submission, as Postfix's pickup: no name lookup, no
		   connection limits, no client restrictions */
		log_info("connect from %s[%s]", s->name, s->addr);
		greet(s);
	} else if (!client_limits(s)) {
		/* counted and refused before any lookup: a flood from one
		   address costs no DNS query (Postfix's anvil reply) */
		s->state = S_CLOSING;
	} else if (s->pol->peername_lookup) {
		/* on the loop, bounded by smtpd_peername_lookup_timeout:
		   never in the worker pool, never queued behind others */
		if (srv->pn == NULL)
			srv->pn = peername_new(srv->loop);
		s->state = S_WAIT;
		s->pn_wait = peername_lookup(srv->pn, s->addr,
					     s->pol->peername_timeout_ms,
					     connect_named, s);
	} else {
		s->state = S_WAIT;
		connect_named(s, DNS_NOTFOUND, DNS_NOTFOUND, "");
		return;
	}
	session_run(s);
}
