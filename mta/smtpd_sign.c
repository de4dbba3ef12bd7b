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

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dkim.h"
#include "dkim_sign.h"
#include "log.h"
#include "policy.h"
#include "sender_login.h"
#include "xalloc.h"

/* when there is no message_size_limit */
#define SIGN_BUF_MAX ((size_t)1 << 30)

void smtpd_sign_start(struct session *s)
{
	bool checks = s->authenticated &&
		      restrict_sender_login(s->pol->stage[RESTRICT_SENDER]);
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

bool smtpd_sign_run(struct session *s)
{
	bool signable = false;
	if (s->authenticated) {
		if (!sender_ok(s, &signable))
			return false;
	} else if (s->svc == SMTPD_SVC_PICKUP) {
		/* root and the mail daemons' own user (the webmail, which
		   submits as the logged-in user only) are trusted; other
		   local users' mail goes out unsigned */
		signable =
		    s->peer_uid == 0 || s->peer_uid == (unsigned long)geteuid();
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
	if ((sig.len > 0 && queue_file_write(s->qf, sig.p, sig.len) < 0) ||
	    (s->msgbuf.len > 0 &&
	     queue_file_write(s->qf, s->msgbuf.p, s->msgbuf.len) < 0)) {
		s->job_rc = -1;
		s->job_errno = errno;
		s->job_error = "write queue file";
		buf_deinit(&sig);
		return false;
	}
	buf_deinit(&sig);
	return true;
}
