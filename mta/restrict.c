/*
 * Restriction lists and mynetworks (see restrict.h).  The reply texts are
 * Postfix's (smtpd_check.c) so that log readers and users' expectations
 * carry over: "Relay access denied" with 554 5.7.1, "need
 * fully-qualified address" with 504 5.5.2, and so on.
 */
#include "restrict.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "smtp_parse.h"
#include "xalloc.h"

struct net_entry {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct netlist {
	size_t n;
	struct net_entry *e;
};

static bool parse_net(const char *item, struct net_entry *e)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(item, '/');
	size_t hlen = slash ? (size_t)(slash - item) : strlen(item);
	const char *h = item;
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	unsigned max;
	if (inet_pton(AF_INET, host, e->addr) == 1) {
		e->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, e->addr) == 1) {
		e->family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	e->prefix = max;
	if (slash != NULL) {
		uint64_t v;
		if (str_parse_u64(slash + 1, 0, max, &v) < 0)
			return false;
		e->prefix = (unsigned)v;
	}
	return true;
}

struct netlist *netlist_parse(const char *const *items, size_t n,
			      const char **bad_r)
{
	struct netlist *nl = xcalloc(1, sizeof(*nl));
	nl->e = xcalloc(n ? n : 1, sizeof(*nl->e));
	for (size_t i = 0; i < n; i++) {
		if (!parse_net(items[i], &nl->e[nl->n])) {
			*bad_r = items[i];
			netlist_free(&nl);
			return NULL;
		}
		nl->n++;
	}
	return nl;
}

static bool prefix_eq(const unsigned char *a, const unsigned char *b,
		      unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool netlist_match(const struct netlist *nl, const char *addr)
{
	unsigned char a4[4], a6[16];
	bool is4 = inet_pton(AF_INET, addr, a4) == 1;
	bool is6 = !is4 && inet_pton(AF_INET6, addr, a6) == 1;
	if (!is4 && !is6)
		return false;
	if (is6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a6)) {
		memcpy(a4, a6 + 12, 4);
		is4 = true;
		is6 = false;
	}
	for (size_t i = 0; i < nl->n; i++) {
		const struct net_entry *e = &nl->e[i];
		if (is4 && e->family == AF_INET &&
		    prefix_eq(a4, e->addr, e->prefix))
			return true;
		if (is6 && e->family == AF_INET6 &&
		    prefix_eq(a6, e->addr, e->prefix))
			return true;
	}
	return false;
}

void netlist_free(struct netlist **pnl)
{
	if (*pnl == NULL)
		return;
	free((*pnl)->e);
	free(*pnl);
	*pnl = NULL;
}

enum restrict_kind {
	R_PERMIT,
	R_REJECT,
	R_DEFER,
	R_PERMIT_MYNETWORKS,
	R_PERMIT_SASL,
	R_REJECT_UNAUTH_DEST,
	R_PERMIT_AUTH_DEST,
	R_REJECT_NON_FQDN_RCPT,
	R_REJECT_NON_FQDN_SENDER,
	R_REJECT_NON_FQDN_HELO,
	R_REJECT_INVALID_HELO,
};

static const struct {
	const char *name;
	enum restrict_kind kind;
} restrict_names[] = {
    {"permit", R_PERMIT},
    {"reject", R_REJECT},
    {"defer", R_DEFER},
    {"permit_mynetworks", R_PERMIT_MYNETWORKS},
    {"permit_sasl_authenticated", R_PERMIT_SASL},
    {"reject_unauth_destination", R_REJECT_UNAUTH_DEST},
    {"permit_auth_destination", R_PERMIT_AUTH_DEST},
    {"reject_non_fqdn_recipient", R_REJECT_NON_FQDN_RCPT},
    {"reject_non_fqdn_sender", R_REJECT_NON_FQDN_SENDER},
    {"reject_non_fqdn_helo_hostname", R_REJECT_NON_FQDN_HELO},
    {"reject_non_fqdn_hostname", R_REJECT_NON_FQDN_HELO},
    {"reject_invalid_helo_hostname", R_REJECT_INVALID_HELO},
    {"reject_invalid_hostname", R_REJECT_INVALID_HELO},
};

struct restrict_list {
	size_t n;
	enum restrict_kind k[RESTRICT_MAX];
};

struct restrict_list *restrict_parse(const char *const *items, size_t n,
				     const char **bad_r)
{
	struct restrict_list *rl = xcalloc(1, sizeof(*rl));
	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0;
		     j < sizeof(restrict_names) / sizeof(restrict_names[0]);
		     j++) {
			if (strcmp(items[i], restrict_names[j].name) == 0)
				break;
		}
		if (j == sizeof(restrict_names) / sizeof(restrict_names[0]) ||
		    rl->n >= RESTRICT_MAX) {
			*bad_r = items[i];
			free(rl);
			return NULL;
		}
		rl->k[rl->n++] = restrict_names[j].kind;
	}
	return rl;
}

void restrict_free(struct restrict_list **rl)
{
	free(*rl);
	*rl = NULL;
}

/* RFC 5321 4.1.3 address literal or a name of letters, digits, '-' '.' */
static bool helo_valid(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 255)
		return false;
	if (h[0] == '[')
		return h[n - 1] == ']';
	for (const char *c = h; *c; c++) {
		unsigned char u = (unsigned char)*c;
		if (!((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
		      (u >= '0' && u <= '9') || u == '-' || u == '.' ||
		      u == '_'))
			return false;
	}
	return true;
}

__attribute__((format(printf, 2, 3))) static void reply(char *out,
							const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, RESTRICT_REPLY_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= RESTRICT_REPLY_MAX)
		snprintf(out, RESTRICT_REPLY_MAX, "554 5.7.1 Access denied");
}

enum restrict_result restrict_eval(const struct restrict_list *rl,
				   const struct restrict_ctx *c, char *out)
{
	for (size_t i = 0; i < rl->n; i++) {
		switch (rl->k[i]) {
		case R_PERMIT:
			return RESTRICT_PERMIT;
		case R_REJECT:
			reply(out,
			      "554 5.7.1 <%s>: Recipient address "
			      "rejected: Access denied",
			      c->rcpt);
			return RESTRICT_REJECT;
		case R_DEFER:
			reply(out,
			      "450 4.7.1 <%s>: Recipient address "
			      "rejected: Try again later",
			      c->rcpt);
			return RESTRICT_REJECT;
		case R_PERMIT_MYNETWORKS:
			if (c->mynetworks)
				return RESTRICT_PERMIT;
			break;
		case R_PERMIT_SASL:
			if (c->authenticated)
				return RESTRICT_PERMIT;
			break;
		case R_REJECT_UNAUTH_DEST:
			if (!c->rcpt_local) {
				reply(out,
				      "554 5.7.1 <%s>: Relay access "
				      "denied",
				      c->rcpt);
				return RESTRICT_REJECT;
			}
			break;
		case R_PERMIT_AUTH_DEST:
			if (c->rcpt_local)
				return RESTRICT_PERMIT;
			break;
		case R_REJECT_NON_FQDN_RCPT:
			if (!smtp_is_fqdn(smtp_addr_domain(c->rcpt))) {
				reply(out,
				      "504 5.5.2 <%s>: Recipient address "
				      "rejected: need fully-qualified "
				      "address",
				      c->rcpt);
				return RESTRICT_REJECT;
			}
			break;
		case R_REJECT_NON_FQDN_SENDER:
			if (c->sender[0] != '\0' &&
			    !smtp_is_fqdn(smtp_addr_domain(c->sender))) {
				reply(out,
				      "504 5.5.2 <%s>: Sender address "
				      "rejected: need fully-qualified "
				      "address",
				      c->sender);
				return RESTRICT_REJECT;
			}
			break;
		case R_REJECT_NON_FQDN_HELO:
			if (c->helo[0] != '\0' && c->helo[0] != '[' &&
			    !smtp_is_fqdn(c->helo)) {
				reply(out,
				      "504 5.5.2 <%s>: Helo command "
				      "rejected: need fully-qualified "
				      "hostname",
				      c->helo);
				return RESTRICT_REJECT;
			}
			break;
		case R_REJECT_INVALID_HELO:
			if (c->helo[0] != '\0' && !helo_valid(c->helo)) {
				reply(out,
				      "501 5.5.2 <%s>: Helo command "
				      "rejected: Invalid name",
				      c->helo);
				return RESTRICT_REJECT;
			}
			break;
		}
	}
	return RESTRICT_DUNNO;
}
