/*
 * Queues a delivery status notification for a message (Postfix bounce(8)):
 * builds the RFC 3464 report (dsn.h) and writes it as a new queue file
 * from the null sender to the original sender, committed into active/
 * like any received message.  Blocking; thread-safe.
 */
#ifndef MTA_BOUNCE_H
#define MTA_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>

#include "dsn.h"
#include "qfile.h"
#include "queue.h"

/* Who gets a notification, and from which envelope sender. */
struct bounce_to {
	const char *rcpt;   /* qf's sender, or the postmaster */
	const char *sender; /* "" (null sender), or double_bounce_sender */
	bool headers_only;  /* postmaster copies: never the whole message */
};

/*
 * Queues the notification about qf's recipients in r (n entries) in
 * queue_dir, to to->rcpt.  id_r gets the new queue ID.  Returns 0, or -1
 * with *error_r (static) and errno.
 */
int bounce_queue(const char *queue_dir, const char *hostname, size_t size_limit,
		 const struct qfile *qf, const struct bounce_to *to,
		 const struct dsn_rcpt *r, size_t n,
		 char id_r[QUEUE_ID_LEN + 1], const char **error_r);

/*
 * Queues msg (len bytes, LF line ends, a complete message) from envelope
 * sender ("" for <>) to rcpt as a new locally submitted message, committed
 * into active/ (Sieve's redirect and vacation: mta/sieve_deliver.c).
 * id_r gets the new queue ID.  Returns 0, or -1 with *error_r and errno.
 * Blocking; thread-safe.
 */
int bounce_queue_message(const char *queue_dir, const char *sender,
			 const char *rcpt, const char *msg, size_t len,
			 char id_r[QUEUE_ID_LEN + 1], const char **error_r);

#endif
