/*
 * Recipient checks against the directory (youju-authd's lookups): is a
 * recipient's domain hosted here, and if so is the address a mailbox or
 * an alias.  Blocking, with a short timeout: call it from a worker thread.
 */
#ifndef MTA_DIR_H
#define MTA_DIR_H

enum dir_rcpt {
	DIR_RCPT_REMOTE,   /* a domain we do not host */
	DIR_RCPT_LOCAL,	   /* a hosted mailbox or alias */
	DIR_RCPT_UNKNOWN,  /* hosted domain, no such mailbox nor alias */
	DIR_RCPT_TEMPFAIL, /* the directory could not answer */
};

/* Looks addr (local@domain, any case) up through the authd socket; the
   deadline is lib/authc's (authc_set_timeout() at start-up).  An address
   without a domain is never local. */
enum dir_rcpt dir_check_rcpt(const char *authd_socket, const char *addr);

/* "remote", "local", "unknown", "tempfail" (logs, tests) */
const char *dir_rcpt_name(enum dir_rcpt r);

#endif
