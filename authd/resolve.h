/*
 * Recipient resolution for LOOKUP rcpt (docs/authd-protocol.md): an address
 * becomes a mailbox, an alias expanded to its final targets, or nothing.
 * Order, as Postfix applies virtual_alias_maps before the mailbox maps: an
 * exact alias, then an active mailbox, then the domain's catch-all
 * "@domain" (so a mailbox's own address wins over the catch-all).  Targets
 * are expanded recursively up to max_depth levels; an alias that lists its
 * own address delivers to the mailbox of that name (the usual way to keep a
 * copy).  A catch-all target "@other" maps user@domain to user@other.
 * The data comes through ops, so the logic is testable without SQL.
 */
#ifndef AUTHD_RESOLVE_H
#define AUTHD_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

struct resolve_ops {
	/* active alias: goto list (owned) */
	enum authd_status (*alias)(void *ctx, const char *address,
				   char **goto_r);
	/* usable mailbox (active, domain active, not expired) */
	enum authd_status (*mailbox)(void *ctx, const char *address);
	/* hosted and active domain */
	enum authd_status (*domain)(void *ctx, const char *domain);
};

enum resolve_kind {
	RESOLVE_MAILBOX, /* a local mailbox */
	RESOLVE_REMOTE,	 /* an address in a domain we do not host */
	RESOLVE_UNKNOWN, /* a local address with no mailbox nor alias */
};

struct resolve_target {
	enum resolve_kind kind;
	char *address; /* owned, lower case */
};

/* the most targets one expansion may produce */
#define RESOLVE_MAX_TARGETS 1000
/* the most directory queries one expansion may make */
#define RESOLVE_MAX_QUERIES 2000

struct resolve_result {
	bool is_alias; /* else the address is itself a mailbox */
	struct resolve_target *targets;
	size_t n;
	const char *error; /* set with AUTHD_TEMPFAIL: loop, too many */
};

/*
 * Resolves address (any case; lower-cased).  AUTHD_FOUND: *res_r holds
 * either one MAILBOX target (is_alias false) or the alias expansion
 * (is_alias true, n >= 0).  AUTHD_NOTFOUND: not hosted, or nothing there.
 * AUTHD_TEMPFAIL: a lookup failed, or the expansion passed max_depth /
 * the limits above (res_r->error says which).  Free with
 * resolve_result_free() in every case.
 */
enum authd_status resolve_rcpt(const struct resolve_ops *ops, void *ctx,
			       const char *address, unsigned max_depth,
			       struct resolve_result *res_r);
void resolve_result_free(struct resolve_result *res);

#endif
