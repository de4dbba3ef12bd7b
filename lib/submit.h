/*
 * Mail handed to youju-mta over its local submission socket (the pickup
 * socket, trusted like Postfix's sendmail): one SMTP transaction, EHLO,
 * MAIL FROM, RCPT TO, DATA (RFC 5321 §3.3), with a 60-second timeout on
 * each read and write.  Used by webmail's send and receipts and by
 * webadmin's group mail.  Blocking: run it off the event loop.
 */
#ifndef YOUJU_SUBMIT_H
#define YOUJU_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>

struct submit_result {
	size_t accepted;   /* recipients the server took */
	char queue_id[64]; /* from "250 ... queued as ID", or "" */
	char reply[1024];  /* the last reply's first line, or a reason */
};

/*
 * Sends msg (len bytes: CRLF lines, dot-stuffed, without the final dot;
 * a CRLF is added when it does not end in one) from sender to the n
 * addresses rcpts over the Unix socket sock, greeting with helo.  With
 * all_rcpts a refused recipient fails the transaction; else it goes on
 * when at least one was accepted.  Returns 0, or -1 with the reason in
 * r->reply.
 */
int submit_local(const char *sock, const char *helo, const char *sender,
		 char *const *rcpts, size_t n, bool all_rcpts, const char *msg,
		 size_t len, struct submit_result *r);

#endif
