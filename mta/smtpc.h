/*
 * The SMTP client (Postfix smtp(8)): one delivery attempt of one message
 * to the recipients of one next hop.  Next hops: "[host]:port" (no MX
 * lookup), "host[:port]" (MX lookup of host: a domain, or a relayhost
 * without brackets); MX hosts in preference order, then the name's
 * A/AAAA; each host's addresses are tried in turn until one talks.
 * STARTTLS per smtp_tls_security_level: none, may (opportunistic),
 * encrypt (required), verify/secure (required, and the certificate must
 * chain to smtp_tls_CAfile and name the host).  PIPELINING when offered;
 * AUTH PLAIN/LOGIN with smtp_sasl_password_maps.  Connections are kept
 * for reuse (see smtpc_cache_sweep).  Replies: 2xx sent, 4xx defer, 5xx
 * bounce.  Blocking (poll with timeouts): delivery threads only.
 */
#ifndef MTA_SMTPC_H
#define MTA_SMTPC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "deliver.h"

struct tls_ctx;

enum smtpc_tls {
	SMTPC_TLS_NONE,
	SMTPC_TLS_MAY,
	SMTPC_TLS_ENCRYPT,
	SMTPC_TLS_VERIFY, /* verify and secure */
};

struct map;

struct smtpc_cfg {
	const char *helo_name;	    /* myhostname */
	const char *relayhost;	    /* "" for direct delivery */
	unsigned connect_timeout;   /* seconds */
	unsigned cmd_timeout;	    /* per reply */
	unsigned data_timeout;	    /* final "." reply */
	struct tls_ctx *tls;	    /* client context or NULL */
	struct tls_ctx *tls_verify; /* verifying context (smtp_tls_CAfile)
				       or NULL */
	enum smtpc_tls tls_level;   /* smtp_tls_security_level */
	struct map *tls_policy;	    /* smtp_tls_policy_maps or NULL */
	unsigned cache_time; /* idle seconds a connection is kept; 0 off */
	unsigned reuse_time; /* a connection's whole reuse life, seconds */
	size_t line_limit;   /* smtp_line_length_limit, 0 none */
	bool sasl_enable;    /* smtp_sasl_auth_enable */
	struct map *sasl_passwords; /* "[host]:port" or host -> user:pass */
};

/* The message and its RFC 3461 envelope parameters. */
struct smtpc_msg {
	const char *sender; /* "" for <> */
	const char *envid;  /* ENVID xtext as received, "" none */
	const char *ret;    /* "FULL", "HDRS" or "" */
	const char *data;   /* the message, LF line ends */
	size_t len;
};

struct smtpc_rcpt {
	const char *addr;
	unsigned notify;	   /* NOTIFY bits (smtp_parse.h), 0 none */
	const char *orcpt;	   /* "rfc822;xtext" as received, or "" */
	const char *orig;	   /* else ORCPT=rfc822;orig (NULL: addr) */
	struct deliver_result res; /* filled by smtpc_deliver */
	bool dsn_passed; /* filled: the server offered DSN and got NOTIFY
			    and ORCPT, so it reports success itself */
};

/*
 * Delivers m to the recipients through nexthop ("[host]:port",
 * "host:port", "host" or the recipients' domain).  The TLS level is
 * smtp_tls_policy_maps' entry for the next hop, else cfg->tls_level.
 * When the server offers DSN (RFC 3461), RET/ENVID go on MAIL and
 * NOTIFY/ORCPT on RCPT.  A cached connection that dies before the MAIL
 * reply is replaced by a fresh one once.
 * relay_r (size relay_sz) gets "host[addr]:port" of the server that
 * answered, or "none".  Returns 1 when a server took part (the site is
 * alive, whatever it said), 0 when no host of the next hop could be
 * talked to (every recipient deferred with the last failure: the
 * dead-site signal), -1 when nothing was tried (DNS, bad next hop).
 */
int smtpc_deliver(const struct smtpc_cfg *cfg, const char *nexthop,
		  const struct smtpc_msg *m, struct smtpc_rcpt *rcpts, size_t n,
		  char *relay_r, size_t relay_sz);

/*
 * The TLS level for nexthop: smtp_tls_policy_maps (the next hop as
 * written, then for MX next hops the host and each parent domain as
 * ".parent"; value "none", "may", "dane" (= may, no DNSSEC here),
 * "encrypt", "verify" or "secure", nothing else), else cfg->tls_level.
 * Returns 0, or -1 (lookup failure or unusable entry: defer) with a
 * reason in why (why_sz bytes).
 */
int smtpc_tls_policy(const struct smtpc_cfg *cfg, const char *nexthop,
		     enum smtpc_tls *level_r, char *why, size_t why_sz);

/* Appends s as RFC 3461 xtext ('+', '=', controls, space, non-ASCII as
   +HH).  Returns 0, or -1 when out is full. */
int smtpc_xtext(const char *s, struct buf *out);

/*
 * Closes cached connections idle for cfg->cache_time or longer (all of
 * them when all is true), with QUIT.  Called about once a second by the
 * queue manager's main thread.
 */
void smtpc_cache_sweep(const struct smtpc_cfg *cfg, bool all);

/*
 * Splits a next-hop spec: "[host]:port", "[host]", "host:port", "host".
 * *mx_r is false for the bracketed forms.  Returns 0 or -1 (malformed).
 */
int smtpc_parse_nexthop(const char *spec, char *host, size_t hostsz,
			unsigned *port_r, bool *mx_r);

/* Appends msg to out as SMTP DATA: LF -> CR LF, dot-stuffing, ".\r\n"
   at the end; a line longer than limit bytes (0: no limit; a limit
   below SMTPC_LINE_MIN counts as that) is folded by inserting CR LF
   SPACE (Postfix's smtp_line_length_limit: harmless in headers, least
   harmful in bodies).  Returns 0, or -1 when out is full. */
int smtpc_dot_encode(const char *msg, size_t len, size_t limit,
		     struct buf *out);

#define SMTPC_LINE_MIN 40

#endif
