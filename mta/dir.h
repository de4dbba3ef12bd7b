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

#include <stdbool.h>
#include <stdint.h>

/* Looks addr (local@domain, any case) up through the authd socket; the
   deadline is lib/authc's (authc_set_timeout() at start-up).  An address
   without a domain is never local. */
enum dir_rcpt dir_check_rcpt(const char *authd_socket, const char *addr);

/* The MTA's quota settings, as delivery applies them. */
struct dir_quota {
	uint64_t default_limit; /* virtual_mailbox_limit, 0 = none */
	bool limit_override;	/* virtual_mailbox_limit_override */
};

/*
 * dir_check_rcpt() that also tells whether a mailbox (not an alias) is
 * over its Maildir++ quota with msg_size more bytes (0: unknown): *full_r
 * (dq NULL: never full).  The rule is delivery's (maildir_quota_rule_make:
 * QUOTA from the directory when limit_override, else default_limit
 * bytes), read-only: the mailbox's maildirsize as it is; a missing or
 * unreadable one is "not full" (delivery recounts and decides).
 */
enum dir_rcpt dir_check_rcpt_quota(const char *authd_socket, const char *addr,
				   const struct dir_quota *dq,
				   uint64_t msg_size, bool *full_r);

/* "remote", "local", "unknown", "tempfail" (logs, tests) */
const char *dir_rcpt_name(enum dir_rcpt r);

#endif
