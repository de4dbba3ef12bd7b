/*
 * The end of data for authenticated and local senders (smtpd_session.h):
 * their message is kept in memory during DATA so that, before the queue
 * file is made durable, the From: addresses can be checked against the
 * login (smtpd_sender_login_maps, as the envelope sender was at RCPT) and
 * the mail of hosted domains signed with DKIM: the DKIM-Signature fields
 * go into the queue file after Received: and before the message, in one
 * pass, so no message is ever rewritten.  Only mail that passed the
 * sender check is signed: a mailbox of a shared host cannot get mail
 * signed for another hosted domain.
 */
#include "smtpd_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dir.h"
#include "dkim.h"
#include "dkim_sign.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "log.h"
#include "milter.h"
#include "milter_args.h"
#include "policy.h"
#include "sender_login.h"
#include "smtp_parse.h"
#include "spf.h"
#include "xalloc.h"

/* when there is no message_size_limit */
#define SIGN_BUF_MAX ((size_t)1 << 30)

/* Mail from other servers: not authenticated, not local. */
static bool inbound(const struct session *s)
{
	return !s->authenticated && !s->mynetworks &&
	       s->svc != SMTPD_SVC_PICKUP &&
	       (s->pol->auth_dkim || s->pol->auth_spf || s->pol->auth_dmarc);
}

void smtpd_sign_start(struct session *s)
{
	bool pickup = s->svc == SMTPD_SVC_PICKUP;
	bool milters = (pickup ? s->pol->nnp_milters : s->pol->nmilters) > 0;
	bool checks = milters ||
		      (s->authenticated &&
		       restrict_sender_login(s->pol->stage[RESTRICT_SENDER])) ||
		      inbound(s);
	bool keys = dkim_keys_count(s->pol->dkim) > 0 &&
		    (s->authenticated || s->svc == SMTPD_SVC_PICKUP);
	buf_deinit(&s->msgbuf);
	s->msgbuf_on = checks || keys;
	if (s->msgbuf_on) {
		uint64_t lim = s->srv->cfg.size_limit;
		buf_init(&s->msgbuf, lim > 0 && lim < SIGN_BUF_MAX
					 ? (size_t)lim
					 : SIGN_BUF_MAX);
	}
}

/* The From: fields of the kept message: their number, the first one's
   value into *v_r / *len_r. */
static size_t from_field(const struct session *s, const char **v_r,
			 size_t *len_r)
{
	struct dkim_msg *m = xmalloc(sizeof(*m));
	size_t n = 0;
	dkim_msg_parse(s->msgbuf.p ? s->msgbuf.p : "", s->msgbuf.len, m);
	for (size_t i = 0; i < m->nf; i++) {
		const struct dkim_field *f = &m->f[i];
		if (!dkim_field_is(f, "from"))
			continue;
		if (n++ == 0) {
			*v_r = f->p + f->name_len + 1;
			*len_r = f->len - f->name_len - 1;
		}
	}
	free(m);
	return n;
}

/* Is the sender (envelope and From:) the authenticated user's?  False
   with the reply set when the message must be refused. */
static bool sender_ok(struct session *s, bool *signable)
{
	int mode = restrict_sender_login(s->pol->stage[RESTRICT_SENDER]);
	const struct sender_login_maps *lm = &s->pol->login_maps;
	const char *authd = s->srv->cfg.authd_socket;
	const char *v = NULL;
	size_t vl = 0;
	char bad[SMTP_ADDR_MAX + 1];
	*signable = false;
	if (from_field(s, &v, &vl) != 1)
		return true; /* none, or several: left alone, not signed */
	enum sender_login_result r = sender_login_check_from(
	    lm, authd, s->sasl_user, v, vl, bad, sizeof(bad));
	if (mode && r == SENDER_LOGIN_TEMPFAIL) {
		s->job_res = RESTRICT_REJECT;
		snprintf(s->job_reply, sizeof(s->job_reply),
			 "451 4.3.0 <%s>: Sender address rejected: Temporary "
			 "lookup failure",
			 bad);
		return false;
	}
	if (mode && r == SENDER_LOGIN_NOT_OWNED) {
		char esc[SMTP_ADDR_MAX + 1];
		log_escape(esc, sizeof(esc), bad, strlen(bad));
		s->job_res = RESTRICT_REJECT;
		snprintf(s->job_reply, sizeof(s->job_reply),
			 "553 5.7.1 <%s>: Sender address rejected: not owned "
			 "by user %s",
			 esc, s->sasl_user);
		return false;
	}
	/* the envelope sender was checked at RCPT when the restriction
	   is on; otherwise ask now, for the signing decision only */
	enum sender_login_result e =
	    mode ? SENDER_LOGIN_OWNED
		 : sender_login_check(lm, authd, s->sasl_user, s->mail.addr);
	*signable = r == SENDER_LOGIN_OWNED && e == SENDER_LOGIN_OWNED &&
		    s->mail.addr[0] != '\0';
	return true;
}

/* Appends the kept message to the queue file, leaving out the
   Authentication-Results: fields that claim to be ours (RFC 8601 §5). */
static int write_message(struct session *s, bool strip)
{
	const char *msg = s->msgbuf.p ? s->msgbuf.p : "";
	size_t len = s->msgbuf.len;
	if (!strip)
		return len ? queue_file_write(s->qf, msg, len) : 0;
	struct dkim_msg *m = xmalloc(sizeof(*m));
	dkim_msg_parse(msg, len, m);
	const char *pos = msg;
	const char *me = s->srv->cfg.hostname;
	size_t ml = strlen(me);
	int rc = 0;
	for (size_t i = 0; i < m->nf && rc == 0; i++) {
		const struct dkim_field *f = &m->f[i];
		if (!dkim_field_is(f, "authentication-results"))
			continue;
		const char *v = f->p + f->name_len + 1;
		const char *end = f->p + f->len;
		while (v < end && (*v == ' ' || *v == '\t' || *v == '\n'))
			v++;
		size_t il = strcspn(v, "; \t\n(");
		if (il != ml || (size_t)(end - v) < il ||
		    strncasecmp(v, me, ml) != 0)
			continue;
		/* write what comes before, skip the field and its LF */
		rc = queue_file_write(s->qf, pos, (size_t)(f->p - pos));
		pos = end < msg + len && *end == '\n' ? end + 1 : end;
		log_info("%s: removed a forged Authentication-Results: %s",
			 s->id, me);
	}
	free(m);
	if (rc == 0 && pos < msg + len)
		rc = queue_file_write(s->qf, pos, (size_t)(msg + len - pos));
	return rc;
}

/*
 * Mail from other servers: DKIM, SPF and DMARC into an
 * Authentication-Results: field (RFC 8601) in ar; false when the
 * sender's DMARC policy (or smtpd_spf_fail_action) refuses the message.
 */
static bool check_inbound(struct session *s, struct buf *ar)
{
	const struct smtpd_policy *p = s->pol;
	const char *msg = s->msgbuf.p ? s->msgbuf.p : "";
	struct dkim_sig_result dk[DKIM_VERIFY_MAX];
	size_t ndk = 0;
	enum spf_result spf = SPF_NONE;
	char spf_dom[256] = "", from[256] = "";
	struct dmarc_eval dm = {.result = DMARC_NONE};
	int rc =
	    buf_printf(ar, "Authentication-Results: %s", s->srv->cfg.hostname);
	size_t empty = ar->len;
	if (p->auth_dkim) {
		ndk = dkim_verify(msg, s->msgbuf.len, s->arrival.tv_sec, dk);
		for (size_t i = 0; i < ndk; i++)
			rc |= buf_printf(ar,
					 ";\n\tdkim=%s (%s) header.d=%s "
					 "header.s=%s header.b=%s",
					 dkim_result_name(dk[i].result),
					 dk[i].reason, dk[i].domain,
					 dk[i].selector, dk[i].b8);
		if (ndk == 0)
			rc |= buf_printf(ar, ";\n\tdkim=none");
	}
	if (p->auth_spf || p->auth_dmarc) {
		spf = spf_check(s->addr, s->mail.addr, s->helo, spf_dom);
		if (p->auth_spf)
			rc |= buf_printf(
			    ar, ";\n\tspf=%s smtp.%s=%s", spf_result_name(spf),
			    s->mail.addr[0] ? "mailfrom" : "helo",
			    s->mail.addr[0] ? s->mail.addr : s->helo);
	}
	if (p->auth_dmarc &&
	    dkim_from_domain(msg, s->msgbuf.len, from, sizeof(from))) {
		dmarc_check(p->psl, from, dk, ndk, spf, spf_dom, &dm);
		rc |= buf_printf(ar, ";\n\tdmarc=%s",
				 dmarc_result_name(dm.result));
		if (dm.result == DMARC_PASS || dm.result == DMARC_FAIL)
			rc |= buf_printf(ar, " (p=%s",
					 dmarc_policy_name(dm.policy));
		/* RFC 7489 §6.6.4 sampling: what was drawn and applied */
		if (dm.result == DMARC_FAIL && dm.pct < 100)
			rc |= buf_printf(ar, " pct=%u sampled=%s dis=%s",
					 dm.pct, dm.sampled ? "yes" : "no",
					 dmarc_policy_name(dm.disposition));
		else if (dm.result == DMARC_PASS && dm.pct < 100)
			rc |= buf_printf(ar, " pct=%u", dm.pct);
		if (dm.result == DMARC_PASS || dm.result == DMARC_FAIL)
			rc |= buf_append_char(ar, ')');
		rc |= buf_printf(ar, " header.from=%s", from);
	}
	if (ar->len == empty)
		rc |= buf_printf(ar, "; none");
	rc |= buf_append_char(ar, '\n');
	if (rc != 0)
		buf_reset(ar);
	log_info("%s: authentication: dkim=%s spf=%s dmarc=%s%s%s", s->id,
		 ndk ? dkim_result_name(dk[0].result) : "none",
		 spf_result_name(spf), dmarc_result_name(dm.result),
		 from[0] ? " header.from=" : "", from);
	if (dm.result == DMARC_FAIL && dm.pct < 100)
		log_info("%s: dmarc: p=%s pct=%u sampled=%s: applying %s",
			 s->id, dmarc_policy_name(dm.policy), dm.pct,
			 dm.sampled ? "yes" : "no",
			 dmarc_policy_name(dm.disposition));
	if (dm.result == DMARC_FAIL && p->dmarc_enforce &&
	    dm.disposition == DMARC_P_REJECT) {
		s->job_res = RESTRICT_REJECT;
		snprintf(s->job_reply, sizeof(s->job_reply),
			 "550 5.7.1 Email rejected per DMARC policy for %s",
			 from);
		return false;
	}
	if (spf == SPF_FAIL && p->spf_reject) {
		s->job_res = RESTRICT_REJECT;
		snprintf(s->job_reply, sizeof(s->job_reply),
			 "550 5.7.23 <%s>: Sender address rejected: SPF fail "
			 "- not authorized",
			 s->mail.addr[0] ? s->mail.addr : s->helo);
		return false;
	}
	if (dm.result == DMARC_FAIL && p->dmarc_enforce &&
	    dm.disposition == DMARC_P_QUARANTINE) {
		/* delivered into the Junk folder (docs/delivery.md) */
		rc = buf_printf(ar,
				"X-Spam-Flag: YES\n"
				"X-Youju-Quarantine: DMARC policy of %s\n",
				from);
		(void)rc;
		log_info("%s: quarantine: DMARC policy of %s", s->id, from);
	}
	return true;
}

/*
 * The milters' envelope changes (SMFIR_CHGFROM, SMFIR_ADDRCPT,
 * SMFIR_ADDRCPT_PAR, SMFIR_DELRCPT), in the order they came, on the
 * session's envelope, with the ESMTP arguments milter_args.h keeps; then the
 * queue file is made again with it, as Postfix's cleanup rewrites its envelope
 * records.  An address that does not parse is skipped (logged); a recipient
 * added twice is kept once; a deleted one is matched without regard to case.
 * With no recipient left, the message is discarded (logged).  False when the
 * queue file cannot be made again.
 */
static bool apply_envelope(struct session *s, const struct milter_result *r)
{
	size_t applied = 0;
	for (size_t i = 0; i < r->nops; i++) {
		const struct milter_env_op *o = &r->ops[i];
		char addr[SMTP_ADDR_MAX + 1], esc[SMTP_ADDR_MAX + 1];
		const char *p = o->addr, *end = o->addr + strlen(o->addr);
		log_escape(esc, sizeof(esc), o->addr, strlen(o->addr));
		if (o->op == 'e' && o->addr[0] == '\0') {
			addr[0] = '\0';
		} else if (smtp_parse_path(&p, end, o->op == 'e', true, addr,
					   sizeof(addr)) < 0 ||
			   p != end) {
			log_warning("%s: milter: bad address in envelope "
				    "change '%c': %s",
				    s->id, o->op, esc);
			continue;
		}
		size_t k = 0;
		while (o->op != 'e' && k < s->nrcpt &&
		       strcasecmp(s->rcpts[k].addr, addr) != 0)
			k++;
		if (o->op == 'e') {
			log_info("%s: milter: change sender: <%s> -> <%s>",
				 s->id, s->mail.addr, addr);
			memcpy(s->mail.addr, addr, sizeof(s->mail.addr));
			(void)milter_args_mail(s->id, o->args, &s->mail);
		} else if (o->op == '+' && k == s->nrcpt) {
			if (s->nrcpt == s->rcpt_cap) {
				s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 4;
				s->rcpts = xrealloc(
				    s->rcpts, s->rcpt_cap * sizeof(*s->rcpts));
			}
			memset(&s->rcpts[s->nrcpt], 0, sizeof(*s->rcpts));
			memcpy(s->rcpts[s->nrcpt].addr, addr, sizeof(addr));
			(void)milter_args_rcpt(
			    s->id, o->args, &s->rcpts[s->nrcpt].notify,
			    s->rcpts[s->nrcpt].orcpt,
			    sizeof(s->rcpts[s->nrcpt].orcpt));
			s->nrcpt++;
			log_info("%s: milter: add rcpt: <%s>", s->id, addr);
		} else if (o->op == '-' && k < s->nrcpt) {
			memmove(&s->rcpts[k], &s->rcpts[k + 1],
				(s->nrcpt - k - 1) * sizeof(*s->rcpts));
			s->nrcpt--;
			log_info("%s: milter: delete rcpt: <%s>", s->id, addr);
		} else {
			continue;
		}
		applied++;
	}
	if (applied == 0)
		return true;
	if (s->nrcpt == 0) {
		log_info("%s: milter: no recipient left: discarded", s->id);
		s->tx.discard = true;
		return true;
	}
	if (!smtpd_data_reopen(s)) {
		s->job_rc = -1;
		s->job_errno = errno;
		s->job_error = "write queue file";
		return false;
	}
	return true;
}

/* The local (or, with peer, the remote) address of fd into out; returns
   its port, 0 when unknown. */
static unsigned sock_addr(int fd, bool peer, char *out, size_t outsz)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	out[0] = '\0';
	if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
		  : getsockname(fd, (struct sockaddr *)&ss, &sl)) < 0)
		return 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&ss;
		if (inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)outsz))
			return ntohs(a->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&ss;
		if (inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)outsz))
			return ntohs(a->sin6_port);
	}
	out[0] = '\0';
	return 0;
}

/* {mail_mailer}, {rcpt_mailer}: the transport Postfix would name for an
   address -- "virtual" for a hosted domain (a mailbox, an alias, or an
   unknown name there), "smtp" for any other domain; "" (not sent) when
   the directory cannot answer.  youju has no local(8) transport. */
static const char *mailer_of(void *ctx, const char *addr)
{
	const struct session *s = ctx;
	switch (dir_check_rcpt(s->srv->cfg.authd_socket, addr)) {
	case DIR_RCPT_LOCAL:
	case DIR_RCPT_UNKNOWN:
		return "virtual";
	case DIR_RCPT_REMOTE:
		return "smtp";
	case DIR_RCPT_TEMPFAIL:
		break;
	}
	return "";
}

/* The milters of the session's kind; false when the message is refused,
   discarded or put on hold by them (s->job_res, s->tx set). */
static bool run_milters(struct session *s)
{
	bool pickup = s->svc == SMTPD_SVC_PICKUP;
	size_t n = pickup ? s->pol->nnp_milters : s->pol->nmilters;
	if (n == 0)
		return true;
	const char *rc[1024];
	size_t nr = s->nrcpt < 1024 ? s->nrcpt : 1024;
	for (size_t i = 0; i < nr; i++)
		rc[i] = s->rcpts[i].addr;
	/* {daemon_addr}, {daemon_port}: the address the client reached;
	   {client_port} and the connect step's port */
	char daddr[NET_ADDR_MAX] = "";
	unsigned dport = 0, cport = 0;
	if (s->svc != SMTPD_SVC_PICKUP) {
		dport = sock_addr(s->fd, false, daddr, sizeof(daddr));
		char caddr[NET_ADDR_MAX];
		cport = sock_addr(s->fd, true, caddr, sizeof(caddr));
	}
	char csubj[256] = "", ciss[256] = "";
	if (s->tls_on)
		(void)tls_conn_peer_cn(s->tls, csubj, ciss, sizeof(csubj));
	struct milter_tx tx = {
	    .queue_id = s->id,
	    .myhostname = s->srv->cfg.hostname,
	    .client_addr = s->addr,
	    .client_name = s->name,
	    .client_port = cport,
	    .helo = s->helo,
	    .sender = s->mail.addr,
	    .rcpts = rc,
	    .nrcpt = nr,
	    .sasl_method = s->authenticated ? s->sasl_mech : "",
	    .sasl_user = s->authenticated ? s->sasl_user : "",
	    .tls_version = s->tls_on ? tls_conn_version(s->tls) : "",
	    .tls_cipher = s->tls_on ? tls_conn_cipher(s->tls) : "",
	    .tls_bits = s->tls_on ? (unsigned)tls_conn_cipher_bits(s->tls) : 0,
	    .cert_subject = csubj,
	    .cert_issuer = ciss,
	    /* Postfix keeps AUTH=<> as no value */
	    .auth_author = strcmp(s->mail.auth, "<>") == 0 ? "" : s->mail.auth,
	    .mailer = mailer_of,
	    .mailer_ctx = s,
	    .daemon_addr = daddr,
	    .daemon_port = dport,
	    .msg = s->msgbuf.p ? s->msgbuf.p : "",
	    .len = s->msgbuf.len,
	};
	struct milter_result mr;
	milter_run(pickup ? (const char *const *)s->pol->np_milters
			  : (const char *const *)s->pol->milters,
		   n, &s->pol->milter, &tx, &mr);
	if (mr.changed) {
		buf_deinit(&s->msgbuf);
		s->msgbuf = mr.msg; /* ownership moves */
		mr.changed = false;
	}
	bool env_ok = true;
	if (mr.action == MILTER_ACCEPT || mr.action == MILTER_QUARANTINE)
		env_ok = apply_envelope(s, &mr);
	milter_result_deinit(&mr);
	if (!env_ok)
		return false;
	switch (mr.action) {
	case MILTER_ACCEPT:
		return !s->tx.discard;
	case MILTER_QUARANTINE:
		log_info("%s: milter: quarantine: %s", s->id, mr.reason);
		s->tx.hold = true;
		return !s->tx.discard;
	case MILTER_DISCARD:
		s->tx.discard = true;
		return false;
	case MILTER_REJECT:
	case MILTER_TEMPFAIL:
		s->job_res = RESTRICT_REJECT;
		s->milter_reject = true;
		snprintf(s->job_reply, sizeof(s->job_reply), "%s", mr.reply);
		return false;
	}
	return true;
}

bool smtpd_sign_run(struct session *s)
{
	bool signable = false;
	if (!run_milters(s))
		return false;
	struct buf ar;
	buf_init(&ar, 16 * 1024);
	bool in = inbound(s);
	if (in && !check_inbound(s, &ar)) {
		buf_deinit(&ar);
		return false;
	}
	if (s->authenticated) {
		if (!sender_ok(s, &signable))
			return false;
	} else if (s->svc == SMTPD_SVC_PICKUP) {
		/* root and the mail daemons' own user (the webmail, which
		   submits as the logged-in user only) are trusted; other
		   local users' mail is signed only when
		   local_login_sender_maps names both its envelope sender
		   and its From: for them */
		const char *v = NULL;
		size_t vl = 0;
		signable =
		    s->peer_uid == 0 || s->peer_uid == (unsigned long)geteuid();
		if (!signable && s->login_listed && from_field(s, &v, &vl) == 1)
			signable = smtpd_pickup_signable(s, v, vl);
	}
	struct buf sig;
	buf_init(&sig, 64 * 1024);
	char dom[256];
	const char *msg = s->msgbuf.p ? s->msgbuf.p : "";
	if (signable && dkim_keys_count(s->pol->dkim) > 0 &&
	    dkim_from_domain(msg, s->msgbuf.len, dom, sizeof(dom))) {
		int n = dkim_sign(s->pol->dkim, dom, msg, s->msgbuf.len,
				  s->arrival.tv_sec, &sig);
		if (n < 0) {
			log_warning("%s: dkim: cannot sign for %s", s->id, dom);
			buf_reset(&sig);
		} else if (n > 0) {
			log_info("%s: dkim: signed, d=%s, signatures=%d", s->id,
				 dom, n);
		}
	}
	if ((ar.len > 0 && queue_file_write(s->qf, ar.p, ar.len) < 0) ||
	    (sig.len > 0 && queue_file_write(s->qf, sig.p, sig.len) < 0) ||
	    write_message(s, in) < 0) {
		s->job_rc = -1;
		s->job_errno = errno;
		s->job_error = "write queue file";
		buf_deinit(&sig);
		buf_deinit(&ar);
		return false;
	}
	buf_deinit(&sig);
	buf_deinit(&ar);
	return true;
}
