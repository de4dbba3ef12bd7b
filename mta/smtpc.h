/*
 * The SMTP client (Postfix smtp(8)): one delivery attempt of one message
 * to the recipients of one destination (a domain, or the relayhost).
 * Next hops: relayhost "[host]:port" (no MX lookup), "host[:port]" (MX
 * lookup of host) or the domain's MX hosts in preference order, then its
 * A/AAAA; each host's addresses are tried in turn until one talks.
 * Opportunistic STARTTLS (smtp_tls_security_level = may; "encrypt"
 * refuses to go on in clear).  Replies: 2xx sent, 4xx defer, 5xx bounce.
 * Blocking (poll with timeouts): delivery threads only.
 */
#ifndef MTA_SMTPC_H
#define MTA_SMTPC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "deliver.h"

struct tls_ctx;

enum smtpc_tls { SMTPC_TLS_NONE, SMTPC_TLS_MAY, SMTPC_TLS_ENCRYPT };

struct smtpc_cfg {
	const char *helo_name;	  /* myhostname */
	const char *relayhost;	  /* "" for direct delivery */
	unsigned connect_timeout; /* seconds */
	unsigned cmd_timeout;	  /* per reply */
	unsigned data_timeout;	  /* final "." reply */
	struct tls_ctx *tls;	  /* client context or NULL */
	enum smtpc_tls tls_level;
};

struct smtpc_rcpt {
	const char *addr;
	struct deliver_result res; /* filled by smtpc_deliver */
};

/*
 * Delivers msg (LF line ends) from sender to the recipients (all in
 * domain).  relay_r (size relay_sz) gets "host[addr]:port" of the server
 * that answered, or "none".
 */
void smtpc_deliver(const struct smtpc_cfg *cfg, const char *domain,
		   const char *sender, const char *msg, size_t len,
		   struct smtpc_rcpt *rcpts, size_t n, char *relay_r,
		   size_t relay_sz);

/*
 * Splits a next-hop spec: "[host]:port", "[host]", "host:port", "host".
 * *mx_r is false for the bracketed forms.  Returns 0 or -1 (malformed).
 */
int smtpc_parse_nexthop(const char *spec, char *host, size_t hostsz,
			unsigned *port_r, bool *mx_r);

/* Appends msg to out as SMTP DATA: LF -> CR LF, dot-stuffing, ".\r\n"
   at the end.  Returns 0, or -1 when out is full. */
int smtpc_dot_encode(const char *msg, size_t len, struct buf *out);

#endif
