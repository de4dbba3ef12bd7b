/*
 * RFC 3464 notifications (see dsn.h).
 */
#include "dsn.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void dsn_date(time_t t, char *out, size_t outsz)
{
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, outsz, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		out[0] = '\0';
}

size_t dsn_header_len(const char *msg, size_t len)
{
	if (len > 0 && msg[0] == '\n')
		return 1;
	for (size_t i = 1; i < len; i++)
		if (msg[i] == '\n' && msg[i - 1] == '\n')
			return i + 1;
	return len;
}

static const char *dsn_action_name(enum dsn_action a)
{
	switch (a) {
	case DSN_DELAYED:
		return "delayed";
	case DSN_DELIVERED:
		return "delivered";
	case DSN_RELAYED:
		return "relayed";
	default:
		return "failed";
	}
}

static int dsn_human(const struct dsn_report *r, struct buf *out,
		     enum dsn_action kind)
{
	int rc = 0;
	rc |= buf_printf(out, "This is the mail system at host %s.\n\n",
			 r->hostname);
	if (kind == DSN_FAILED)
		rc |= buf_append_str(
		    out, "I'm sorry to have to inform you that your message "
			 "could not\nbe delivered to one or more recipients. "
			 "It's attached below.\n\n"
			 "For further assistance, please send mail to "
			 "postmaster.\n\n"
			 "If you do so, please include this problem report. "
			 "You can\ndelete your own text from the attached "
			 "returned message.\n\n"
			 "                   The mail system\n\n");
	else if (kind == DSN_DELAYED)
		rc |= buf_append_str(
		    out,
		    "####################################################"
		    "################\n# THIS IS A WARNING ONLY.  YOU DO "
		    "NOT NEED TO RESEND YOUR MESSAGE. #\n##############"
		    "######################################################"
		    "\n\nYour message could not be delivered for a while."
		    " The mail system\nwill keep trying.\n\n");
	else
		rc |= buf_append_str(
		    out, "Your message was successfully delivered to the "
			 "destination(s)\nlisted below.\n\n");
	for (size_t i = 0; i < r->nrcpt; i++) {
		const struct dsn_rcpt *d = &r->rcpts[i];
		rc |= buf_printf(out, "<%s>: %s\n", d->addr, d->diag);
	}
	return rc;
}

static int dsn_status_part(const struct dsn_report *r, struct buf *out)
{
	char date[64];
	int rc = 0;
	rc |= buf_printf(out, "Reporting-MTA: dns; %s\nX-Youju-Queue-ID: %s\n",
			 r->hostname, r->queue_id);
	if (r->envid[0] != '\0')
		rc |= buf_printf(out, "Original-Envelope-Id: %s\n", r->envid);
	rc |= buf_printf(out, "X-Youju-Sender: rfc822; %s\n", r->sender);
	dsn_date(r->arrival, date, sizeof(date));
	rc |= buf_printf(out, "Arrival-Date: %s\n", date);
	for (size_t i = 0; i < r->nrcpt; i++) {
		const struct dsn_rcpt *d = &r->rcpts[i];
		rc |=
		    buf_printf(out, "\nFinal-Recipient: rfc822; %s\n", d->addr);
		if (d->orcpt[0] != '\0') {
			const char *semi = strchr(d->orcpt, ';');
			rc |= buf_printf(out, "Original-Recipient: %s\n",
					 semi != NULL ? d->orcpt : "");
		}
		rc |= buf_printf(out, "Action: %s\nStatus: %s\n",
				 dsn_action_name(d->action), d->status);
		if (d->remote_mta != NULL && d->remote_mta[0] != '\0')
			rc |= buf_printf(out, "Remote-MTA: dns; %s\n",
					 d->remote_mta);
		if (strncmp(d->diag, "smtp; ", 6) == 0)
			rc |= buf_printf(out, "Diagnostic-Code: %s\n", d->diag);
		else
			rc |= buf_printf(out, "Diagnostic-Code: X-Youju; %s\n",
					 d->diag);
	}
	return rc;
}

int dsn_build(const struct dsn_report *r, struct buf *out)
{
	char date[64], boundary[128];
	enum dsn_action kind = DSN_DELIVERED;
	int rc = 0;
	for (size_t i = 0; i < r->nrcpt; i++) {
		if (r->rcpts[i].action == DSN_FAILED)
			kind = DSN_FAILED;
		else if (r->rcpts[i].action == DSN_DELAYED &&
			 kind != DSN_FAILED)
			kind = DSN_DELAYED;
	}
	const char *subject =
	    kind == DSN_FAILED	  ? "Undelivered Mail Returned to Sender"
	    : kind == DSN_DELAYED ? "Delayed Mail (still being retried)"
				  : "Successful Mail Delivery Report";
	int n = snprintf(boundary, sizeof(boundary), "%s.%lld/%s", r->queue_id,
			 (long long)r->now, r->hostname);
	if (n < 0 || (size_t)n >= sizeof(boundary))
		return -1;
	dsn_date(r->now, date, sizeof(date));
	rc |= buf_printf(out,
			 "From: MAILER-DAEMON@%s (Mail Delivery System)\n"
			 "To: %s\nSubject: %s\nDate: %s\n"
			 "Message-Id: <%lld.%s@%s>\n"
			 "Auto-Submitted: auto-replied\n"
			 "MIME-Version: 1.0\n"
			 "Content-Type: multipart/report; "
			 "report-type=delivery-status;\n"
			 "\tboundary=\"%s\"\n"
			 "Content-Transfer-Encoding: 8bit\n\n"
			 "This is a MIME-encapsulated message.\n\n",
			 r->hostname, r->to != NULL ? r->to : r->sender,
			 subject, date, (long long)r->now, r->queue_id,
			 r->hostname, boundary);
	rc |= buf_printf(out,
			 "--%s\nContent-Description: Notification\n"
			 "Content-Type: text/plain; charset=us-ascii\n\n",
			 boundary);
	rc |= dsn_human(r, out, kind);
	rc |= buf_printf(out,
			 "\n--%s\nContent-Description: Delivery report\n"
			 "Content-Type: message/delivery-status\n\n",
			 boundary);
	rc |= dsn_status_part(r, out);
	bool full = strcmp(r->ret, "HDRS") != 0 &&
		    (r->size_limit == 0 || r->msg_len <= r->size_limit) &&
		    kind == DSN_FAILED;
	size_t hlen = dsn_header_len(r->msg, r->msg_len);
	if (full)
		rc |= buf_printf(out,
				 "\n--%s\nContent-Description: Undelivered "
				 "Message\nContent-Type: message/rfc822\n"
				 "Content-Transfer-Encoding: 8bit\n\n",
				 boundary);
	else
		rc |= buf_printf(out,
				 "\n--%s\nContent-Description: %s\n"
				 "Content-Type: text/rfc822-headers\n\n",
				 boundary,
				 kind == DSN_FAILED
				     ? "Undelivered Message Headers"
				     : "Message Headers");
	size_t take = full ? r->msg_len : hlen;
	rc |= buf_append(out, r->msg, take);
	if (take > 0 && r->msg[take - 1] != '\n')
		rc |= buf_append_char(out, '\n');
	rc |= buf_printf(out, "\n--%s--\n", boundary);
	return rc != 0 ? -1 : 0;
}
