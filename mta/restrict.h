/*
 * Postfix-style access restrictions (DESIGN §8): mynetworks as a CIDR
 * list, and restriction lists such as smtpd_recipient_restrictions parsed
 * once at start-up into an array of steps that restrict_eval() walks in
 * order, stopping at the first permit or reject, as Postfix does.
 * Implemented names: permit, reject, defer, permit_mynetworks,
 * permit_sasl_authenticated, reject_unauth_destination,
 * permit_auth_destination, reject_non_fqdn_recipient,
 * reject_non_fqdn_sender, reject_non_fqdn_helo_hostname
 * (reject_non_fqdn_hostname), reject_invalid_helo_hostname
 * (reject_invalid_hostname).  Another name is a start-up error.
 */
#ifndef MTA_RESTRICT_H
#define MTA_RESTRICT_H

#include <stdbool.h>
#include <stddef.h>

struct netlist;
struct restrict_list;

/* Most entries in one list. */
#define RESTRICT_MAX 64
/* Room for one reply line built by restrict_eval(). */
#define RESTRICT_REPLY_MAX 600

/*
 * Parses CIDR entries: "a.b.c.d[/n]", "[ipv6][/n]" or "ipv6[/n]".
 * Returns the list (free with netlist_free), or NULL with *bad_r set to
 * the offending item (borrowed from items).
 */
struct netlist *netlist_parse(const char *const *items, size_t n,
			      const char **bad_r);
/* True when addr (text, IPv4 or IPv6) is inside one of the networks. */
bool netlist_match(const struct netlist *nl, const char *addr);
void netlist_free(struct netlist **nl);

/* Parses names as above; NULL with *bad_r naming an unknown one. */
struct restrict_list *restrict_parse(const char *const *items, size_t n,
				     const char **bad_r);
void restrict_free(struct restrict_list **rl);

/* What a restriction can look at (all strings NUL-terminated, may be ""). */
struct restrict_ctx {
	bool mynetworks;    /* the client is in mynetworks */
	bool authenticated; /* SASL login done */
	bool rcpt_local;    /* the recipient domain is ours */
	const char *helo;
	const char *sender;
	const char *rcpt;
};

enum restrict_result {
	RESTRICT_DUNNO, /* the list ended without a decision */
	RESTRICT_PERMIT,
	RESTRICT_REJECT, /* reply_r holds the SMTP reply */
};

/* Evaluates rl for a RCPT command.  reply_r (RESTRICT_REPLY_MAX bytes)
   gets "554 5.7.1 <x>: Relay access denied" and the like. */
enum restrict_result restrict_eval(const struct restrict_list *rl,
				   const struct restrict_ctx *ctx,
				   char *reply_r);

#endif
