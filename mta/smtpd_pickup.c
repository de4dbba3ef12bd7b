/*
 * The pickup service: the local mail submission of the sendmail command
 * (cli/sendmail.c).  Postfix writes such mail into a maildrop directory
 * through the setgid postdrop and its pickup daemon feeds it to cleanup;
 * youju has no set-id program at all: youju-mta listens on a Unix socket
 * (sendmail_socket, mode 0666) and speaks the same ESMTP as on port 25.
 * What makes the session different is decided here: the kernel tells who
 * the client is (SO_PEERCRED), the client is trusted as mynetworks and the
 * smtpd restrictions are skipped (as pickup bypasses smtpd; header_checks
 * and body_checks still apply), addresses without a domain get
 * @$myorigin, the Received: header is Postfix's "by host (youju, from
 * userid N)", and VRFY asks the directory (sendmail -bv).
 */
#include "smtpd_session.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local_login.h"
#include "log.h"
#include "policy.h"
#include "xalloc.h"

/* getpwuid_r's scratch space; entries larger than this are looked up as
   "unknown" (the uid is what counts, the name is for the log). */
#define PICKUP_PW_BUF 16384

const char *smtpd_service_name(enum smtpd_service svc)
{
	switch (svc) {
	case SMTPD_SVC_SMTP:
		return "smtp";
	case SMTPD_SVC_SUBMISSION:
		return "submission";
	case SMTPD_SVC_SMTPS:
		return "smtps";
	case SMTPD_SVC_PICKUP:
		return "pickup";
	}
	return "?";
}

int smtpd_pickup_listen(const char *path, const char **error_r)
{
	char dir[4096];
	int n = snprintf(dir, sizeof(dir), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		*error_r = "path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		/* others must be able to reach the socket: the socket's own
		   mode is the access control, as for Postfix's public/ */
		if (mkdir(dir, 0755) == 0) {
			/* whatever the umask: others must traverse it */
			if (chmod(dir, 0755) < 0) {
				*error_r = "chmod";
				return -1;
			}
		} else if (errno != EEXIST) {
			*error_r = "mkdir";
			return -1;
		}
	}
	return net_listen_unix(path, 0666, 128, error_r);
}

bool smtpd_pickup_peer(struct session *s)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	/* Postfix's stand-alone smtpd (sendmail -bs) names a client it has
	   no address for localhost[127.0.0.1]; log readers expect an IP */
	snprintf(s->name, sizeof(s->name), "localhost");
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1");
	s->mynetworks = true;
	snprintf(s->peer_user, sizeof(s->peer_user), "unknown");
	if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    len != sizeof(cred)) {
		log_warning("pickup: SO_PEERCRED: %s", strerror(errno));
		return false;
	}
	s->peer_uid = cred.uid;
	struct passwd pw, *res = NULL;
	char *scratch = xmalloc(PICKUP_PW_BUF);
	if (getpwuid_r(cred.uid, &pw, scratch, PICKUP_PW_BUF, &res) == 0 &&
	    res != NULL)
		log_escape(s->peer_user, sizeof(s->peer_user), pw.pw_name,
			   strlen(pw.pw_name));
	free(scratch);
	log_info("pickup: uid=%lu, user=%s, pid=%ld", s->peer_uid, s->peer_user,
		 (long)cred.pid);
	return true;
}

void smtpd_pickup_qualify(const struct session *s, char *addr)
{
	size_t n = strlen(addr);
	if (n == 0)
		return;
	/* a quoted local part may hold an '@' of its own */
	const char *q = strrchr(addr, '"');
	if (strchr(q != NULL ? q : addr, '@') != NULL)
		return;
	const char *origin = s->srv->cfg.myorigin;
	size_t o = strlen(origin);
	if (o == 0 || n + 1 + o > SMTP_ADDR_MAX)
		return;
	addr[n] = '@';
	memcpy(addr + n + 1, origin, o + 1);
}

void smtpd_pickup_log_id(const struct session *s)
{
	/* Postfix's pickup line: pflogsumm counts it as a received message */
	log_info_as("pickup", "%s: uid=%lu from=<%s>", s->id, s->peer_uid,
		    s->mail.addr);
}

void smtpd_pickup_vrfy(struct session *s, struct str args)
{
	const char *p = args.p, *end = args.p + args.len;
	struct smtp_rcpt *r = &s->job_rcpt;
	memset(r, 0, sizeof(*r));
	if (smtp_parse_path(&p, end, false, true, r->addr, sizeof(r->addr)) <
		0 ||
	    str_trim((struct str){p, (size_t)(end - p)}).len != 0) {
		smtpd_reply_err(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	smtpd_pickup_qualify(s, r->addr);
	if (!smtpd_job_submit(s, JOB_VRFY))
		smtpd_reply(s, "450 4.3.0 <%s>: Temporary lookup failure",
			    r->addr);
}

void smtpd_pickup_vrfy_run(struct session *s)
{
	s->job_dir = dir_check_rcpt(s->srv->cfg.authd_socket, s->job_rcpt.addr);
}

void smtpd_pickup_vrfy_finish(struct session *s)
{
	const char *a = s->job_rcpt.addr;
	s->ok[SMTP_VERB_VRFY]++;
	/* plain replies, not error replies: sendmail -bv may ask about more
	   unknown users than smtpd_hard_error_limit */
	switch (s->job_dir) {
	case DIR_RCPT_LOCAL:
		smtpd_reply(s, "250 2.1.5 <%s>: deliverable to a local mailbox",
			    a);
		break;
	case DIR_RCPT_REMOTE:
		smtpd_reply(s,
			    "252 2.1.5 <%s>: remote address, delivery will be "
			    "attempted",
			    a);
		break;
	case DIR_RCPT_UNKNOWN:
		smtpd_reply(s,
			    "550 5.1.1 <%s>: Recipient address rejected: User "
			    "unknown in virtual mailbox table",
			    a);
		break;
	case DIR_RCPT_TEMPFAIL:
		smtpd_reply(s, "450 4.3.0 <%s>: Temporary lookup failure", a);
		break;
	}
}

int smtpd_pickup_received(const struct session *s, const char *date, char *out,
			  size_t outsz)
{
	int n = snprintf(out, outsz,
			 "Received: by %s (youju, from userid %lu)\n\tid %s; "
			 "%s\n",
			 s->srv->cfg.hostname, s->peer_uid, s->id, date);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	return n;
}

bool smtpd_pickup_login_needed(const struct session *s)
{
	return s->svc == SMTPD_SVC_PICKUP && s->pol->local_login != NULL &&
	       !local_login_is_any(s->pol->local_login);
}

void smtpd_pickup_login_check(struct session *s)
{
	s->job_res = RESTRICT_DUNNO;
	s->login_listed = false;
	if (!smtpd_pickup_login_needed(s))
		return;
	enum local_login_result r = local_login_check(
	    s->pol->local_login, s->peer_user, s->peer_uid, s->mail.addr);
	char esc[SMTP_ADDR_MAX + 1];
	log_escape(esc, sizeof(esc), s->mail.addr, strlen(s->mail.addr));
	switch (r) {
	case LOCAL_LOGIN_LISTED:
		s->login_listed = true;
		return;
	case LOCAL_LOGIN_ANY:
		return;
	case LOCAL_LOGIN_DENIED:
		s->job_res = RESTRICT_REJECT;
		snprintf(s->job_reply, sizeof(s->job_reply),
			 "553 5.7.1 <%s>: Sender address rejected: not owned "
			 "by user %s",
			 esc, s->peer_user);
		log_warning("pickup: uid=%lu (%s) is not allowed to use sender "
			    "address <%s> (local_login_sender_maps)",
			    s->peer_uid, s->peer_user, esc);
		return;
	case LOCAL_LOGIN_TEMPFAIL:
		break;
	}
	s->job_res = RESTRICT_REJECT;
	snprintf(s->job_reply, sizeof(s->job_reply),
		 "451 4.3.0 <%s>: Sender address rejected: Temporary lookup "
		 "failure",
		 esc);
}

bool smtpd_pickup_signable(struct session *s, const char *v, size_t len)
{
	if (!s->login_listed || !smtpd_pickup_login_needed(s))
		return false;
	return local_login_check_from(s->pol->local_login, s->peer_user,
				      s->peer_uid, v,
				      len) == LOCAL_LOGIN_LISTED;
}
