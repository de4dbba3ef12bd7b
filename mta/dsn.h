/*
 * Delivery status notifications (RFC 3464, RFC 3462 multipart/report),
 * shaped like Postfix's bounce(8) messages: a human-readable part, a
 * message/delivery-status part, then the returned message (message/rfc822)
 * or only its header (text/rfc822-headers, RET=HDRS or when the message
 * is larger than bounce_size_limit).  Pure text building: unit-tested.
 */
#ifndef MTA_DSN_H
#define MTA_DSN_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

enum dsn_action {
	DSN_FAILED,
	DSN_DELAYED,
	DSN_DELIVERED, /* into a mailbox (NOTIFY=SUCCESS) */
	DSN_RELAYED,   /* handed to a server that does not speak DSN */
};

struct dsn_rcpt {
	const char *addr;  /* final recipient */
	const char *orcpt; /* "rfc822;addr" (ORCPT) or "" */
	enum dsn_action action;
	const char *status;	/* "5.1.1" */
	const char *diag;	/* "smtp; 550 ..." or plain text */
	const char *remote_mta; /* host name or NULL */
};

struct dsn_report {
	const char *queue_id; /* of the original message */
	const char *hostname; /* myhostname */
	const char *sender;   /* the original envelope sender */
	const char *to;	      /* To: of the report (NULL: sender) */
	const char *envid;    /* "" or the ENVID */
	const char *ret;      /* "", "FULL" or "HDRS" */
	time_t arrival, now;
	const char *msg; /* the original message (LF line ends) */
	size_t msg_len;
	size_t size_limit; /* bounce_size_limit: return headers only
			      above it */
	const struct dsn_rcpt *rcpts;
	size_t nrcpt;
};

/*
 * Appends the whole notification (header and body, LF line ends) to out.
 * Returns 0, or -1 when out's maximum was reached.
 */
__attribute__((warn_unused_result)) int dsn_build(const struct dsn_report *r,
						  struct buf *out);

/* The length of msg's header (up to and including the empty line, or all
   of it when there is none). */
size_t dsn_header_len(const char *msg, size_t len);

/* The RFC 5322 date of t in local time into out (size >= 40). */
void dsn_date(time_t t, char *out, size_t outsz);

#endif
