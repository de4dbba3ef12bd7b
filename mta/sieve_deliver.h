/*
 * Sieve at delivery: runs the mailbox's active script (lib/sieve) and
 * carries out its actions — keep and fileinto through lib/mailbox,
 * redirect and vacation as new messages through the queue, reject as a
 * bounce — or, when the mailbox has no active script, is plain
 * deliver_maildir().  Scripts live in Pigeonhole's layout under the
 * mailbox's home (docs/sieve.md): HOME/sieve/NAME.sieve and the active
 * link HOME/.dovecot.sieve.  A broken script never loses mail: the message
 * is kept, the error logged and the user told once.  Blocking: delivery
 * threads only.
 */
#ifndef MTA_SIEVE_DELIVER_H
#define MTA_SIEVE_DELIVER_H

#include <stddef.h>

#include "deliver.h"

struct sieve_deliver_ctx {
	const char *queue_dir; /* for redirect and vacation */
	const char *hostname;  /* myhostname: Message-IDs, notices */
	const char *queue_id;  /* of the message, for the log */
	const char *sender;    /* envelope sender, "" for <> */
	const char *orig_rcpt; /* the recipient as given in RCPT TO */
	const char *msg;       /* the message, LF line ends */
	size_t len;
};

struct conf;

/* Reads recipient_delimiter (for :user/:detail) at the queue manager's
   start; a reload starts a new queue manager. */
void sieve_deliver_configure(const struct conf *conf);

/*
 * Delivers c's message to the mailbox address whose Maildir is maildir,
 * as deliver_maildir() does (same cfg, quota and result), after running
 * the mailbox's active Sieve script if it has one.  Fills *r.
 */
void sieve_deliver(const struct deliver_cfg *cfg,
		   const struct sieve_deliver_ctx *c, const char *address,
		   const char *maildir, const char *quota,
		   struct deliver_result *r);

/*
 * The home of a Maildir: its parent when the Maildir's last component is
 * "Maildir" (ExtMail's and Dovecot's ~/Maildir), else the Maildir itself.
 * Returns 0, or -1 when out (outsz) is too small.
 */
int sieve_home(const char *maildir, char *out, size_t outsz);

#endif
