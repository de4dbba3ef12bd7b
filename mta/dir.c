/*
 * Recipient checks through youju-authd (see dir.h): LOOKUP rcpt answers
 * for mailboxes and aliases (catch-alls included); when it finds nothing,
 * LOOKUP domain tells a hosted domain (the user is unknown: 550) from a
 * foreign one (relay rules decide).  Any temporary failure stays one, so
 * a directory outage gives 451, never "User unknown".
 */
#include "dir.h"

#include <string.h>

#include "authc.h"
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

enum dir_rcpt dir_check_rcpt(const char *authd_socket, const char *addr)
{
	const char *domain = smtp_addr_domain(addr);
	if (domain[0] == '\0')
		return DIR_RCPT_REMOTE;
	struct authc_reply r = {0};
	enum authc_status st = authc_lookup_rcpt(authd_socket, addr, &r);
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
