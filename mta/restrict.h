/*
 * Postfix-style access restrictions (DESIGN §8): mynetworks as a CIDR
 * list, and restriction lists such as smtpd_recipient_restrictions parsed
 * into steps that restrict_eval() walks in order, stopping at the first
 * permit or reject, as Postfix's smtpd_check.c does.  A list belongs to a
 * stage (client, helo, sender, relay, recipient, data, end-of-data), which
 * names what "reject" rejects ("Client host rejected", "Recipient address
 * rejected", ...).  Names (see docs/mta.md for replies):
 *   permit reject defer defer_if_permit defer_if_reject warn_if_reject
 *   permit_mynetworks permit_sasl_authenticated
 *   reject_unauth_destination defer_unauth_destination
 *   permit_auth_destination reject_unauth_pipelining
 *   reject_invalid_helo_hostname reject_non_fqdn_helo_hostname
 *   reject_unknown_helo_hostname reject_non_fqdn_sender
 *   reject_non_fqdn_recipient reject_unknown_sender_domain
 *   reject_unknown_recipient_domain reject_unknown_client_hostname
 *   reject_unknown_reverse_client_hostname
 *   reject_rbl_client ZONE[=a.b.c.d] reject_rhsbl_sender ZONE
 *   reject_rhsbl_client ZONE reject_rhsbl_helo ZONE
 *   reject_rhsbl_recipient ZONE
 *   check_client_access MAP check_helo_access MAP check_sender_access MAP
 *   check_recipient_access MAP
 *   reject_sender_login_mismatch reject_authenticated_sender_login_mismatch
 *   check_policy_service inet:host:port|unix:/path
 * and the old names reject_invalid_hostname, reject_non_fqdn_hostname,
 * reject_unknown_hostname, reject_unknown_client.
 * Evaluation may block (DNS, table files): run it in a worker thread.
 */
#ifndef MTA_RESTRICT_H
#define MTA_RESTRICT_H

#include <stdbool.h>
#include <stddef.h>

struct netlist;
struct restrict_list;
struct sender_login_maps;

/* Most entries in one list. */
#define RESTRICT_MAX 64
/* Room for one reply line built by restrict_eval(). */
#define RESTRICT_REPLY_MAX 600
/* Log events (warn_if_reject, DISCARD, HOLD) and PREPENDs per evaluation. */
#define RESTRICT_EVENTS_MAX  8
#define RESTRICT_PREPEND_MAX 4

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

enum restrict_stage {
	RESTRICT_CLIENT,
	RESTRICT_HELO,
	RESTRICT_SENDER,
	RESTRICT_RELAY,
	RESTRICT_RECIPIENT,
	RESTRICT_DATA,
	RESTRICT_EOD,
	RESTRICT_NSTAGES,
};

/* Reply codes (Postfix's parameters of the same names). */
struct restrict_opts {
	unsigned reject_code;		       /* 554 */
	unsigned defer_code;		       /* 450 */
	unsigned access_map_reject_code;       /* 554 */
	unsigned access_map_defer_code;	       /* 450 */
	unsigned relay_domains_reject_code;    /* 554 */
	unsigned unknown_address_reject_code;  /* 450 */
	unsigned unknown_client_reject_code;   /* 450 */
	unsigned unknown_hostname_reject_code; /* 450 */
	unsigned maps_rbl_reject_code;	       /* 554 */
	unsigned non_fqdn_reject_code;	       /* 504 */
	unsigned invalid_hostname_reject_code; /* 501 */
	bool parent_matches_subdomains;	       /* smtpd_access_maps in
						  parent_domain_matches_subdomains */
	char recipient_delimiter[16];	       /* "": no address extensions */
	unsigned policy_timeout_ms; /* smtpd_policy_service_timeout */
	/* smtpd_policy_service_default_action */
	char policy_default_action[128];
};

/* Postfix's defaults. */
void restrict_opts_default(struct restrict_opts *o);

/*
 * Parses a restriction list for stage with options o (copied).  Tables
 * named by check_*_access are opened now.  Returns the list or NULL with
 * a message in err (errsz bytes) naming the bad item.
 */
struct restrict_list *restrict_parse_list(const char *const *items, size_t n,
					  enum restrict_stage stage,
					  const struct restrict_opts *o,
					  char *err, size_t errsz);
/* restrict_parse_list() for smtpd_recipient_restrictions with the default
   options; NULL with *bad_r set to the first bad item. */
struct restrict_list *restrict_parse(const char *const *items, size_t n,
				     const char **bad_r);
void restrict_free(struct restrict_list **rl);
/* True when the list holds a restriction that stops open relaying
   (reject_unauth_destination, defer_unauth_destination, reject, defer,
   defer_if_permit), as Postfix demands of relay or recipient lists. */
bool restrict_has_relay_guard(const struct restrict_list *rl);
/* 2 when the list holds reject_sender_login_mismatch, 1 for
   reject_authenticated_sender_login_mismatch, else 0. */
int restrict_sender_login(const struct restrict_list *rl);
/* Entries in the list (0: empty). */
size_t restrict_count(const struct restrict_list *rl);
/*
 * True when evaluating rl never waits on another server by itself: no
 * DNS list nor DNS lookup (the client's name counts only when the caller
 * found it already), no check_policy_service, no mysql: table in
 * check_*_access (tables in memory are fine).  Such a list may run on an
 * event loop thread with restrict_ctx.no_block set; the steps that block
 * only sometimes (reject_unknown_client_hostname before the name is
 * known, reject_unknown_recipient_domain for a domain not hosted here,
 * the sender login checks of an authenticated client, a table value that
 * is a restriction list) stop that evaluation with would_block, and the
 * caller runs it again in a worker.  An empty or NULL list is safe.
 */
bool restrict_nonblocking(const struct restrict_list *rl);

/* What one evaluation found besides its result. */
struct restrict_event {
	char what[16]; /* "reject_warning", "discard", "hold" */
	char text[RESTRICT_REPLY_MAX];
};

/* What a restriction can look at (strings NUL-terminated, may be ""),
   and what it leaves behind.  Zero it, fill the inputs. */
struct restrict_ctx {
	bool mynetworks;	 /* the client is in mynetworks */
	bool authenticated;	 /* SASL login done */
	bool rcpt_local;	 /* the recipient domain is ours */
	bool ill_pipelining;	 /* the client pipelined without permission */
	const char *client_name; /* "unknown" when there is none */
	const char *client_addr;
	const char *helo;
	const char *sender;
	const char *rcpt;
	/* for the sender login checks and policy services (NULL: none) */
	const char *sasl_username, *sasl_method;
	const char *authd_socket;
	const struct sender_login_maps *login_maps;
	const char *protocol_state; /* "RCPT", "DATA", "END-OF-MESSAGE" */
	const char *protocol_name;  /* "ESMTP" */
	const char *queue_id;
	const char *encryption_protocol, *encryption_cipher;
	unsigned rcpt_count;
	unsigned long long size;

	/* the caller cannot wait (an event loop): a step that would block
	   stops the evaluation instead, setting would_block; its result
	   and outputs then mean nothing (evaluate again without no_block) */
	bool no_block;
	bool would_block;

	/* outputs, accumulated over calls */
	bool discard, hold;
	size_t nevents, nprepend;
	struct restrict_event events[RESTRICT_EVENTS_MAX];
	char prepend[RESTRICT_PREPEND_MAX][RESTRICT_REPLY_MAX];
	bool defer_if_permit; /* a 450 waits for a final permit */
	char defer_reply[RESTRICT_REPLY_MAX];
	bool defer_if_reject; /* a later reject becomes this 450 */
	char defer_reject_reply[RESTRICT_REPLY_MAX];

	/* the client name lookup (dns_client_name), done once: by the
	   caller (smtpd does it at connect) or by the first restriction
	   that needs it.  0: not yet; else 1 + enum dns_status. */
	int client_dns;		 /* the name is forward-confirmed */
	int client_rdns;	 /* the PTR lookup alone */
	char client_fcrdns[256]; /* the PTR name, or "" */
};

enum restrict_result {
	RESTRICT_DUNNO, /* the list ended without a decision */
	RESTRICT_PERMIT,
	RESTRICT_REJECT, /* reply_r holds the SMTP reply */
};

/* Evaluates rl.  reply_r (RESTRICT_REPLY_MAX bytes) gets "554 5.7.1 <x>:
   Relay access denied" and the like on RESTRICT_REJECT. */
enum restrict_result restrict_eval(const struct restrict_list *rl,
				   struct restrict_ctx *ctx, char *reply_r);

/*
 * Ends a command's evaluation: when no stage rejected and a
 * defer_if_permit is pending, it becomes the reply (returns true).
 */
bool restrict_finish(struct restrict_ctx *ctx, char *reply_r);

#endif
