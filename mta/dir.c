/*
 * Recipient checks through youju-authd (see dir.h): LOOKUP rcpt answers
 * for mailboxes and aliases (catch-alls included); when it finds nothing,
 * LOOKUP domain tells a hosted domain (the user is unknown: 550) from a
 * foreign one (relay rules decide).  Any temporary failure stays one, so
 * a directory outage gives 451, never "User unknown".  With
 * smtpd_reject_over_quota the mailbox's maildirsize is read as well.
 */
#include "dir.h"

#include <stdio.h>
#include <string.h>

#include "authc.h"
#include "deliver.h"
#include "maildir.h"
#include "smtp_parse.h"

const char *dir_rcpt_name(enum dir_rcpt r)
{
	switch (r) {
	case DIR_RCPT_REMOTE:
		return "remote";
	case DIR_RCPT_LOCAL:
		return "local";
	case DIR_RCPT_UNKNOWN:
		return "unknown";
	case DIR_RCPT_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

/* The maildirsize of the mailbox in r says full (Postfix + VDA's
   virtual_overquota_bounce, moved to RCPT time): delivery's quota rule,
   read-only. */
static bool mailbox_full(const struct authc_reply *r,
			 const struct dir_quota *dq, uint64_t msg_size)
{
	const char *type = authc_get(r, "TYPE");
	struct authc_account a;
	const char *err;
	struct maildir_quota_rule rule;
	if (type == NULL || strcmp(type, "mailbox") != 0 ||
	    authc_account_get(r, &a, &err) < 0)
		return false;
	if (maildir_quota_rule_make(authc_get(r, "QUOTA"), dq->default_limit,
				    !dq->limit_override, &rule) < 0)
		return false;
	/* an unknown size is at least one byte: a mailbox exactly at its
	   limit takes nothing more (delivery's "bytes + size > max") */
	if (msg_size == 0)
		msg_size = 1;
	return maildir_quota_check(a.maildir, &rule, msg_size, 1,
				   MAILDIR_QUOTA_READONLY, NULL) == 1;
}

enum dir_rcpt dir_check_rcpt(const char *authd_socket, const char *addr)
{
	return dir_check_rcpt_quota(authd_socket, addr, NULL, 0, NULL);
}

enum dir_rcpt dir_check_rcpt_quota(const char *authd_socket, const char *addr,
				   const struct dir_quota *dq,
				   uint64_t msg_size, bool *full_r)
{
	const char *domain = smtp_addr_domain(addr);
	if (full_r != NULL)
		*full_r = false;
	if (domain[0] == '\0')
		return DIR_RCPT_REMOTE;
	struct authc_reply r = {0};
	enum authc_status st = authc_lookup_rcpt(authd_socket, addr, &r);
	if (st == AUTHC_OK && full_r != NULL && dq != NULL)
		*full_r = mailbox_full(&r, dq, msg_size);
	authc_reply_free(&r);
	if (st == AUTHC_OK)
		return DIR_RCPT_LOCAL;
	if (st == AUTHC_TEMPFAIL)
		return DIR_RCPT_TEMPFAIL;
	memset(&r, 0, sizeof(r));
	st = authc_lookup_domain(authd_socket, domain, &r);
	authc_reply_free(&r);
	if (st == AUTHC_OK)
		return DIR_RCPT_UNKNOWN;
	if (st == AUTHC_TEMPFAIL)
		return DIR_RCPT_TEMPFAIL;
	return DIR_RCPT_REMOTE;
}
