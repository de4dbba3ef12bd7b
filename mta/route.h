/*
 * Mail routing for the queue manager (Postfix trivial-rewrite's transport
 * step): transport_maps entries and the ExtMail domain.transport column
 * are Postfix "transport:nexthop" values (transport(5)).  The lookup
 * order is transport_maps, then domain.transport, then relayhost, then
 * the recipient domain's MX (see docs/delivery.md).  Thread-safe.
 */
#ifndef MTA_ROUTE_H
#define MTA_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

struct map;

#define ROUTE_NEXTHOP_MAX 300
#define ROUTE_TEXT_MAX	  300

enum route_kind {
	ROUTE_LOCAL,   /* virtual:, local:, maildrop:, dovecot: - Maildir */
	ROUTE_SMTP,    /* smtp:, relay:, or an empty transport */
	ROUTE_ERROR,   /* error:text - bounce */
	ROUTE_RETRY,   /* retry:text - defer */
	ROUTE_DISCARD, /* discard:text - drop, report as sent */
};

struct route {
	enum route_kind kind;
	char transport[16];		 /* "smtp", "relay", "virtual"...
					    (lower case; for defer_transports) */
	char nexthop[ROUTE_NEXTHOP_MAX]; /* SMTP: "" = the domain */
	char dsn[8];			 /* ERROR and RETRY */
	char text[ROUTE_TEXT_MAX];	 /* ERROR, RETRY, DISCARD */
};

/*
 * Parses a transport(5) value: "smtp:[host]:port", "relay:host",
 * ":[host]" (the default transport, smtp), "smtp" (no nexthop),
 * "virtual:", "error:5.7.1 text", "retry:text", "discard:text".
 * Returns 0, or -1 for an unknown transport (lmtp, pipe services...) or
 * a malformed value.
 */
int route_parse(const char *value, struct route *r);

enum route_status { ROUTE_NONE, ROUTE_FOUND, ROUTE_TEMPFAIL };

/*
 * Looks rcpt up in the transport map m the way Postfix does: the whole
 * address, then its domain, then each parent as ".parent", then "*".
 * ROUTE_FOUND fills r; a value that does not parse is logged and treated
 * as a temporary failure (mail waits for the operator, never bounces).
 */
enum route_status route_lookup(struct map *m, const char *rcpt,
			       struct route *r);

#endif
