/*
 * The queue manager's notices (see qmgr_int.h, docs/delivery.md): the
 * delivery status notifications (RFC 3464) that a finished pass owes the
 * sender or the postmaster: non-delivery, delay warning, success.  Each is
 * a new message queued with bounce_queue() (bounce.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce.h"
#include "dsn.h"
#include "log.h"
#include "qmgr_int.h"
#include "xalloc.h"

static int qmgr_notice(struct qmgr_job *j, const struct dsn_rcpt *dr, size_t n,
		       const struct bounce_to *to, const char *what)
{
	const struct qmgr_cfg *c = &j->q->cfg;
	char id[QUEUE_ID_LEN + 1];
	const char *err = "";
	if (bounce_queue(c->queue_dir, c->hostname, c->bounce_size_limit,
			 &j->qf, to, dr, n, id, &err) < 0) {
		log_warning("%s: cannot queue the %s: %s: %s", j->id, what, err,
			    strerror(errno));
		return -1;
	}
	log_info_as("bounce", "%s: %s: %s", j->id, what, id);
	return 0;
}

/* Which targets a notice is about. */
enum qmgr_notice_kind { NOTICE_FAILED, NOTICE_DELAYED, NOTICE_SUCCESS };

static size_t qmgr_notice_rcpts(struct qmgr_job *j, enum qmgr_notice_kind k,
				struct dsn_rcpt *dr)
{
	size_t n = 0;
	for (size_t i = 0; i < j->nt; i++) {
		struct qmgr_target *t = &j->t[i];
		unsigned nt = j->qf.rcpts[t->rcpt].notify;
		enum dsn_action act;
		if (k == NOTICE_FAILED) {
			/* RFC 3461: no NOTIFY means FAILURE */
			if (t->res.status != DELIVER_BOUNCE ||
			    (nt != 0 && (nt & 4) == 0))
				continue;
			act = DSN_FAILED;
		} else if (k == NOTICE_DELAYED) {
			/* no NOTIFY: DELAY at our discretion (Postfix:
			   yes, once delay_warning_time is set) */
			if (t->res.status != DELIVER_DEFER ||
			    (nt != 0 && (nt & 8) == 0))
				continue;
			act = DSN_DELAYED;
		} else {
			/* a next hop that took NOTIFY reports success
			   itself (RFC 3461 §4.1): no "relayed" from us */
			if (t->res.status != DELIVER_OK || (nt & 2) == 0 ||
			    (nt & 1) != 0 || t->kind == TGT_DISCARD ||
			    t->dsn_passed)
				continue;
			act =
			    t->kind == TGT_REMOTE ? DSN_RELAYED : DSN_DELIVERED;
		}
		dr[n++] = (struct dsn_rcpt){
		    .addr = t->addr,
		    .orcpt = j->qf.rcpts[t->rcpt].orcpt,
		    .action = act,
		    .status = t->res.dsn,
		    .diag = t->res.text,
		    .remote_mta = NULL,
		};
	}
	return n;
}

/*
 * Non-delivery notices for the bounced targets (Postfix bounce(8)): to
 * the sender; for a bounce that could not be delivered (sender <>), to
 * 2bounce_notice_recipient when notify_classes has 2bounce, from
 * double_bounce_sender; a failed postmaster notice (sender double-bounce)
 * is discarded, so nothing loops.  notify_classes "bounce" adds a
 * headers-only copy to bounce_notice_recipient.  Returns 0 when every
 * notice is safe on disk (or none was due), -1 to keep the targets
 * pending.
 */
int qmgr_bounce(struct qmgr_job *j)
{
	const struct qmgr_cfg *c = &j->q->cfg;
	struct dsn_rcpt *dr = xcalloc(j->nt + 1, sizeof(*dr));
	size_t n = qmgr_notice_rcpts(j, NOTICE_FAILED, dr);
	int rc = 0;
	const char *sender = j->qf.sender;
	if (n == 0) {
		/* nothing to say */
	} else if (strcasecmp(sender, c->double_bounce) == 0) {
		log_info("%s: undeliverable postmaster notification discarded",
			 j->id);
	} else if (sender[0] == '\0') {
		struct bounce_to to = {c->postmaster, c->double_bounce, false};
		if (!c->notify_2bounce)
			log_info("%s: bounce of a bounce: notification "
				 "discarded",
				 j->id);
		else
			rc = qmgr_notice(j, dr, n, &to,
					 "postmaster non-delivery "
					 "notification");
	} else {
		struct bounce_to to = {sender, "", false};
		rc = qmgr_notice(j, dr, n, &to,
				 "sender non-delivery notification");
		struct bounce_to pm = {c->bounce_notice, c->double_bounce,
				       true};
		if (rc == 0 && c->notify_bounce)
			rc = qmgr_notice(j, dr, n, &pm,
					 "postmaster non-delivery "
					 "notification");
	}
	free(dr);
	return rc;
}

/* NOTIFY=SUCCESS reports ("Successful Mail Delivery Report"); a lost one
   is logged, never retried (the mail itself was delivered). */
void qmgr_success(struct qmgr_job *j)
{
	struct dsn_rcpt *dr = xcalloc(j->nt + 1, sizeof(*dr));
	size_t n = qmgr_notice_rcpts(j, NOTICE_SUCCESS, dr);
	struct bounce_to to = {j->qf.sender, "", false};
	if (n > 0 && j->qf.sender[0] != '\0')
		(void)qmgr_notice(j, dr, n, &to,
				  "sender delivery status notification");
	free(dr);
}

/* The delay warning, once per message after delay_warning_time.  Returns
   true when one was queued (the caller records "Y"). */
bool qmgr_delay_warning(struct qmgr_job *j, double age)
{
	const struct qmgr_cfg *c = &j->q->cfg;
	if (c->delay_warning <= 0 || j->qf.warned != 0 ||
	    age < (double)c->delay_warning || j->qf.sender[0] == '\0' ||
	    strcasecmp(j->qf.sender, c->double_bounce) == 0)
		return false;
	struct dsn_rcpt *dr = xcalloc(j->nt + 1, sizeof(*dr));
	size_t n = qmgr_notice_rcpts(j, NOTICE_DELAYED, dr);
	struct bounce_to to = {j->qf.sender, "", false};
	bool sent = n > 0 && qmgr_notice(j, dr, n, &to,
					 "sender delay notification") == 0;
	free(dr);
	return sent;
}
