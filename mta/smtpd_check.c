/*
 * The restriction side of SMTP sessions (smtpd_session.h): the context a
 * restriction list sees, the stages each command runs (smtpd_delay_reject
 * decides whether client, helo and sender lists run at RCPT or at
 * connect, HELO/EHLO and MAIL), and the RCPT reply.  The *_check
 * functions run in worker threads (smtpd_rcpt_check also on the loop
 * thread, with s->no_block: smtpd_rcpt.c), the rest in the loop thread.
 */
#include "smtpd_session.h"

#include <stdio.h>
#include <string.h>

#include "dnscheck.h"
#include "log.h"
#include "policy.h"
#include "str.h"
#include "xalloc.h"

/* Keeps what the access maps asked of the transaction. */
void smtpd_tx_merge(struct session *s)
{
	s->tx.discard |= s->rc.discard;
	s->tx.hold |= s->rc.hold;
	for (size_t i = 0;
	     i < s->rc.nprepend && s->tx.nprepend < RESTRICT_PREPEND_MAX; i++)
		memcpy(s->tx.prepend[s->tx.nprepend++], s->rc.prepend[i],
		       RESTRICT_REPLY_MAX);
	s->rc.nprepend = 0;
}

/* The restriction context for this session (worker or loop thread). */
void smtpd_ctx_fill(struct session *s, const char *rcpt)
{
	memset(&s->rc, 0, sizeof(s->rc));
	s->rc.no_block = s->no_block;
	s->rc.mynetworks = s->mynetworks;
	s->rc.authenticated = s->authenticated;
	s->rc.ill_pipelining = s->ill_pipelining;
	s->rc.client_name = s->name;
	s->rc.client_addr = s->addr;
	if (s->name_dns != 0) {
		s->rc.client_dns = s->name_dns;
		s->rc.client_rdns = s->ptr_dns;
		memcpy(s->rc.client_fcrdns, s->ptr_name,
		       sizeof(s->rc.client_fcrdns));
	}
	s->rc.helo = s->helo;
	s->rc.sender = s->have_mail ? s->mail.addr : "";
	s->rc.rcpt = rcpt;
	s->rc.sasl_username = s->authenticated ? s->sasl_user : "";
	s->rc.sasl_method = s->authenticated ? s->sasl_mech : "";
	s->rc.authd_socket = s->srv->cfg.authd_socket;
	s->rc.login_maps = &s->pol->login_maps;
	s->rc.protocol_name = smtpd_proto_name(s);
	static const char *const state[] = {
	    [JOB_CONNECT] = "CONNECT",
	    [JOB_HELO] = "EHLO",
	    [JOB_MAIL] = "MAIL",
	    [JOB_RCPT] = "RCPT",
	    [JOB_RCPT_CHECK] = "RCPT",
	    [JOB_DATA] = "DATA",
	    [JOB_COMMIT] = "END-OF-MESSAGE",
	};
	if ((size_t)s->job < sizeof(state) / sizeof(state[0]))
		s->rc.protocol_state = state[s->job];
	s->rc.queue_id = s->id;
	s->rc.rcpt_count = (unsigned)s->nrcpt;
	s->rc.size = s->have_mail ? (unsigned long long)s->mail.size : 0;
	if (s->tls_on) {
		s->rc.encryption_protocol = tls_conn_version(s->tls);
		s->rc.encryption_cipher = tls_conn_cipher(s->tls);
	}
}

/* Evaluates the stages in order; the first reject ends it (worker). */
enum restrict_result smtpd_run_stages(struct session *s,
				      const enum restrict_stage *st, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (restrict_eval(s->pol->stage[st[i]], &s->rc, s->job_reply) ==
		    RESTRICT_REJECT)
			return RESTRICT_REJECT;
		if (s->rc.would_block) /* s->no_block: try again in a worker */
			return RESTRICT_DUNNO;
	}
	if (restrict_finish(&s->rc, s->job_reply))
		return RESTRICT_REJECT;
	return RESTRICT_PERMIT;
}

/* A defer_if_permit left by an earlier command (smtpd_delay_reject = no)
   still waits for a final permit. */
static void defer_load(struct session *s, bool pending, const char *reply)
{
	if (!pending || s->rc.defer_if_permit)
		return;
	s->rc.defer_if_permit = true;
	memcpy(s->rc.defer_reply, reply, sizeof(s->rc.defer_reply));
}

/* RCPT: with smtpd_delay_reject (the default) the client, helo and
   sender stages run here, then relay, then recipient (Postfix's order);
   without it the first three ran at connect, HELO and MAIL. */
void smtpd_rcpt_check(struct session *s)
{
	static const enum restrict_stage st[] = {
	    RESTRICT_CLIENT, RESTRICT_HELO, RESTRICT_SENDER, RESTRICT_RELAY,
	    RESTRICT_RECIPIENT};
	smtpd_ctx_fill(s, s->job_rcpt.addr);
	s->rc.rcpt_local = s->job_dir != DIR_RCPT_REMOTE;
	if (s->pol->delay_reject) {
		s->job_res = smtpd_run_stages(s, st, 5);
		return;
	}
	defer_load(s, s->sess_defer, s->sess_defer_reply);
	defer_load(s, s->tx_defer, s->tx_defer_reply);
	s->job_res = smtpd_run_stages(s, st + 3, 2);
}

/* Connect (worker), once the client's name is known (smtpd.c,
   peername.h): with smtpd_delay_reject = no, the client restrictions. */
void smtpd_connect_check(struct session *s)
{
	s->job_res = RESTRICT_DUNNO;
	if (!s->pol->delay_reject &&
	    restrict_count(s->pol->stage[RESTRICT_CLIENT]) > 0) {
		smtpd_ctx_fill(s, "");
		s->job_res = restrict_eval(s->pol->stage[RESTRICT_CLIENT],
					   &s->rc, s->job_reply);
	}
}

/* HELO/EHLO or MAIL with smtpd_delay_reject = no (worker). */
void smtpd_early_check(struct session *s, enum restrict_stage stage)
{
	smtpd_ctx_fill(s, "");
	if (stage == RESTRICT_HELO)
		s->rc.helo = s->job_helo;
	else
		s->rc.sender = s->mail.addr;
	defer_load(s, s->sess_defer, s->sess_defer_reply);
	s->job_res = restrict_eval(s->pol->stage[stage], &s->rc, s->job_reply);
}

/* Keeps a stage's flags and pending defer for later commands. */
void smtpd_early_keep(struct session *s, struct tx_flags *f, bool *defer,
		      char *defer_reply)
{
	f->discard |= s->rc.discard;
	f->hold |= s->rc.hold;
	for (size_t i = 0;
	     i < s->rc.nprepend && f->nprepend < RESTRICT_PREPEND_MAX; i++)
		memcpy(f->prepend[f->nprepend++], s->rc.prepend[i],
		       RESTRICT_REPLY_MAX);
	s->rc.nprepend = 0;
	if (s->rc.defer_if_permit) {
		*defer = true;
		memcpy(defer_reply, s->rc.defer_reply, RESTRICT_REPLY_MAX);
	}
}

/* Refuses the RCPT of addr with "<code> <addr>: <text>" (at most
   RESTRICT_REPLY_MAX), logged as Postfix's NOQUEUE: reject line. */
static void rcpt_refuse(struct session *s, const char *addr, const char *code,
			const char *text)
{
	char rep[RESTRICT_REPLY_MAX];
	str_fmt_trunc(rep, sizeof(rep), "%s <%s>: %s", code, addr, text);
	smtpd_log_reject(s, "RCPT", rep, addr);
	smtpd_reply_err(s, "%s", rep);
}

void smtpd_rcpt_finish(struct session *s)
{
	struct smtp_rcpt *r = &s->job_rcpt;

	if (s->job_dir == DIR_RCPT_TEMPFAIL) {
		rcpt_refuse(s, r->addr, "451 4.3.0",
			    "Temporary lookup failure");
		return;
	}
	smtpd_log_events(s, "RCPT", r->addr);
	if (s->job_res == RESTRICT_REJECT) {
		smtpd_log_reject(s, "RCPT", s->job_reply, r->addr);
		smtpd_reply_err(s, "%s", s->job_reply);
		return;
	}
	if (s->job_dir == DIR_RCPT_LOCAL && s->job_full &&
	    s->pol->reject_over_quota) {
		/* Postfix + VDA bounce the message at delivery; saying so at
		   RCPT spares the bounce (docs/mta.md) */
		rcpt_refuse(s, r->addr, "552 5.2.2",
			    "Recipient address rejected: Mailbox full");
		return;
	}
	if (s->job_dir == DIR_RCPT_UNKNOWN) {
		rcpt_refuse(s, r->addr, "550 5.1.1",
			    "Recipient address rejected: User unknown in "
			    "virtual mailbox table");
		return;
	}
	if (s->nrcpt == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 4;
		s->rcpts = xrealloc(s->rcpts, s->rcpt_cap * sizeof(*s->rcpts));
	}
	smtpd_tx_merge(s);
	struct rcpt *n = &s->rcpts[s->nrcpt++];
	memcpy(n->addr, r->addr, sizeof(n->addr));
	memcpy(n->orcpt, r->orcpt, sizeof(n->orcpt));
	n->notify = r->notify;
	if (s->id[0] == '\0') {
		queue_new_id(s->id);
		if (s->svc == SMTPD_SVC_PICKUP)
			smtpd_pickup_log_id(s);
		else if (s->authenticated)
			log_info("%s: client=%s[%s], sasl_method=%s, "
				 "sasl_username=%s",
				 s->id, s->name, s->addr, s->sasl_mech,
				 s->sasl_user);
		else
			log_info("%s: client=%s[%s]", s->id, s->name, s->addr);
	}
	s->ok[SMTP_VERB_RCPT]++;
	smtpd_reply(s, "250 2.1.5 Ok");
}
