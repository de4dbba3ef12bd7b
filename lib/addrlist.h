/*
 * RFC 5322 §3.4 address lists, with the obsolete forms of §4.4 that real
 * mail still carries, parsed leniently as Dovecot's message-address does:
 * display names and quoted strings, comments (nested, with quoted-pairs;
 * "user@domain (Real Name)" gives the name "Real Name"), groups ("g: a@b,
 * c@d;" as a start and an end marker around the members), source routes
 * ("<@r1,@r2:a@b>"), domain literals, and broken input (unterminated
 * quotes, comments and angle brackets) read as far as it goes.  One
 * parser for IMAP ENVELOPE and SEARCH (mra), `youju sendmail` (cli) and
 * the webmail.  Encoded words (RFC 2047) are left as they are: ENVELOPE
 * sends them so, and a caller that wants text decodes the name
 * (lib/mime) — or the whole field first, as SEARCH does.
 */
#ifndef YOUJU_ADDRLIST_H
#define YOUJU_ADDRLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Most entries (addresses and group markers) one list keeps; the rest of
   a longer field is ignored. */
#define ADDRLIST_MAX 1000

enum addrlist_kind {
	ADDRLIST_MAILBOX,     /* one address */
	ADDRLIST_GROUP_START, /* "name:" — name is the group's */
	ADDRLIST_GROUP_END,   /* ";" (or the end of an unclosed group) */
};

struct addrlist_addr {
	enum addrlist_kind kind;
	/* Each string is owned and NUL-terminated (it may hold other NULs
	   from the input: use the lengths), or NULL when absent. */
	char *name;    /* display name: the phrase with quoted strings
			  unquoted and white space collapsed, else the
			  comment of an addr-spec; the group name */
	char *route;   /* obs-route "@r1,@r2" (without the ':') */
	char *mailbox; /* local part as written without CFWS: quoted
			  strings keep their quotes; "" for "<>" and for
			  an empty member before a ',' (Dovecot's
			  MISSING_MAILBOX) */
	char *local;   /* the same with quoted strings unquoted (ENVELOPE,
			  SEARCH); never NULL for a mailbox */
	char *domain;  /* domain without CFWS; NULL when there was no '@' */
	size_t name_len, route_len, mailbox_len, local_len, domain_len;
	/* a byte below 32 or 127 (NUL included) in mailbox or domain */
	bool ctl;
	/* the member's text in the input (from after the previous ',' or
	   group ':' to its ',' ';' or end), for error messages */
	size_t src_off, src_len;
};

struct addrlist {
	struct addrlist_addr *v; /* owned */
	size_t n, cap;
	bool truncated; /* more than ADDRLIST_MAX entries: the rest dropped */
};

/*
 * Parses the unfolded or folded field value p[0..len) (any bytes) into l
 * (initialised here; free with addrlist_free).  Never fails: what cannot
 * be read is skipped.  An empty member before a ',' ("a@b, ,c@d") gives
 * an entry with an empty mailbox and no domain, as Dovecot lists it; one
 * at the end ("a@b,") gives nothing.  A group left open at the end is
 * closed.
 */
void addrlist_parse(const char *p, size_t len, struct addrlist *l);
void addrlist_free(struct addrlist *l);

/*
 * "local@domain" of mailbox a into out (size outsz), as an envelope
 * address to check a From: sender against.  Returns 0, or -1 when a is
 * not a mailbox or cannot stand as one address: no domain, a control
 * character or NUL in it, or longer than out holds.
 */
int addrlist_addr_spec(const struct addrlist_addr *a, char *out, size_t outsz)
    __attribute__((warn_unused_result));

/*
 * Gives each mailbox of the field value v[0..len) (a From: header), in
 * order, to fn as its addrlist_addr_spec() of at most 511 bytes, until fn
 * returns false.  Returns how many fn was given, or -1 when a mailbox
 * could not be written so (fn sees neither it nor any after it): a sender
 * check treats that, and 0, as a refusal.
 */
long addrlist_each_addr_spec(const char *v, size_t len,
			     bool (*fn)(void *ctx, const char *addr),
			     void *ctx);

/*
 * Appends the list in its normal form, as Dovecot writes it for SEARCH:
 * "Name <local@domain>" or "local@domain" per address (quoted local parts
 * unquoted, the route dropped),
 * "group: " before a group's members and ";" after them, entries
 * separated by ", ".  Returns 0, or -1 when out's maximum is reached.
 */
int addrlist_format(const struct addrlist *l, struct buf *out);

#endif
