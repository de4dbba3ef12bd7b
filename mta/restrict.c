/*
 * Restriction lists and mynetworks (see restrict.h).  Reply texts, codes
 * and lookup orders are Postfix's (smtpd_check.c, access(5)) so that log
 * readers and users' expectations carry over: "Relay access denied" with
 * 554 5.7.1, "need fully-qualified address" with 504 5.5.2, "Domain not
 * found" with unknown_address_reject_code, and so on.
 */
#include "restrict.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authc.h"
#include "dnscheck.h"
#include "maps.h"
#include "policysvc.h"
#include "sender_login.h"
#include "smtp_parse.h"
#include "str.h"
#include "xalloc.h"

struct netlist {
	size_t n;
	struct map_net *e;
};

struct netlist *netlist_parse(const char *const *items, size_t n,
			      const char **bad_r)
{
	struct netlist *nl = xcalloc(1, sizeof(*nl));
	nl->e = xcalloc(n ? n : 1, sizeof(*nl->e));
	for (size_t i = 0; i < n; i++) {
		if (!map_net_parse(items[i], strlen(items[i]), &nl->e[nl->n])) {
			*bad_r = items[i];
			netlist_free(&nl);
			return NULL;
		}
		nl->n++;
	}
	return nl;
}

bool netlist_match(const struct netlist *nl, const char *addr)
{
	for (size_t i = 0; i < nl->n; i++) {
		if (map_net_match(&nl->e[i], addr))
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
	R_DEFER_IF_PERMIT,
	R_DEFER_IF_REJECT,
	R_WARN_IF_REJECT,
	R_PERMIT_MYNETWORKS,
	R_PERMIT_SASL,
	R_REJECT_UNAUTH_DEST,
	R_DEFER_UNAUTH_DEST,
	R_PERMIT_AUTH_DEST,
	R_REJECT_UNAUTH_PIPELINING,
	R_REJECT_NON_FQDN_RCPT,
	R_REJECT_NON_FQDN_SENDER,
	R_REJECT_NON_FQDN_HELO,
	R_REJECT_INVALID_HELO,
	R_REJECT_UNKNOWN_HELO,
	R_REJECT_UNKNOWN_SENDER,
	R_REJECT_UNKNOWN_RCPT,
	R_REJECT_UNKNOWN_CLIENT,
	R_REJECT_UNKNOWN_REVERSE,
	R_RBL_CLIENT,
	R_RHSBL_SENDER,
	R_RHSBL_CLIENT,
	R_RHSBL_HELO,
	R_RHSBL_RCPT,
	R_CHECK_CLIENT,
	R_CHECK_HELO,
	R_CHECK_SENDER,
	R_CHECK_RCPT,
	R_SENDER_LOGIN,	     /* reject_sender_login_mismatch */
	R_AUTH_SENDER_LOGIN, /* reject_authenticated_sender_login_mismatch */
	R_POLICY,	     /* check_policy_service */
};

enum { A_NONE, A_MAP, A_ZONE, A_POLICY }; /* the argument a name takes */

/* reject_rbl_client zone=d.d.d.d: each d a number or "[n;n..m;...]"
   (Postfix 3's syntax), kept as the set of allowed values per octet. */
struct rbl_filter {
	unsigned char ok[4][32]; /* bit v of octet i: v is allowed */
};

static bool octet_num(const char **pp, unsigned *v_r)
{
	const char *p = *pp;
	unsigned v = 0;
	size_t n = 0;
	while (*p >= '0' && *p <= '9' && n < 4) {
		v = v * 10 + (unsigned)(*p++ - '0');
		n++;
	}
	if (n == 0 || n > 3 || v > 255)
		return false;
	*pp = p;
	*v_r = v;
	return true;
}

/* Parses "127.0.0.2", "127.0.0.[2..11]", "127.0.[0;1].[2;4..6]". */
static bool rbl_filter_parse(const char *text, struct rbl_filter *f)
{
	const char *p = text;
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 4; i++) {
		unsigned lo, hi;
		if (i > 0 && *p++ != '.')
			return false;
		bool list = *p == '[';
		if (list)
			p++;
		do {
			if (list && *p == ';')
				p++;
			if (!octet_num(&p, &lo))
				return false;
			hi = lo;
			if (list && p[0] == '.' && p[1] == '.') {
				p += 2;
				if (!octet_num(&p, &hi) || hi < lo)
					return false;
			}
			for (unsigned v = lo; v <= hi; v++)
				f->ok[i][v / 8] |=
				    (unsigned char)(1u << (v % 8));
		} while (list && *p == ';');
		if (list && *p++ != ']')
			return false;
	}
	return *p == '\0';
}

static bool rbl_filter_match(const struct rbl_filter *f,
			     const unsigned char a[4])
{
	for (int i = 0; i < 4; i++) {
		if (!(f->ok[i][a[i] / 8] & (1u << (a[i] % 8))))
			return false;
	}
	return true;
}

static const struct {
	const char *name;
	enum restrict_kind kind;
	int arg;
} restrict_names[] = {
    {"permit", R_PERMIT, A_NONE},
    {"reject", R_REJECT, A_NONE},
    {"defer", R_DEFER, A_NONE},
    {"defer_if_permit", R_DEFER_IF_PERMIT, A_NONE},
    {"defer_if_reject", R_DEFER_IF_REJECT, A_NONE},
    {"warn_if_reject", R_WARN_IF_REJECT, A_NONE},
    {"permit_mynetworks", R_PERMIT_MYNETWORKS, A_NONE},
    {"permit_sasl_authenticated", R_PERMIT_SASL, A_NONE},
    {"reject_unauth_destination", R_REJECT_UNAUTH_DEST, A_NONE},
    {"defer_unauth_destination", R_DEFER_UNAUTH_DEST, A_NONE},
    {"permit_auth_destination", R_PERMIT_AUTH_DEST, A_NONE},
    {"reject_unauth_pipelining", R_REJECT_UNAUTH_PIPELINING, A_NONE},
    {"reject_non_fqdn_recipient", R_REJECT_NON_FQDN_RCPT, A_NONE},
    {"reject_non_fqdn_sender", R_REJECT_NON_FQDN_SENDER, A_NONE},
    {"reject_non_fqdn_helo_hostname", R_REJECT_NON_FQDN_HELO, A_NONE},
    {"reject_non_fqdn_hostname", R_REJECT_NON_FQDN_HELO, A_NONE},
    {"reject_invalid_helo_hostname", R_REJECT_INVALID_HELO, A_NONE},
    {"reject_invalid_hostname", R_REJECT_INVALID_HELO, A_NONE},
    {"reject_unknown_helo_hostname", R_REJECT_UNKNOWN_HELO, A_NONE},
    {"reject_unknown_hostname", R_REJECT_UNKNOWN_HELO, A_NONE},
    {"reject_unknown_sender_domain", R_REJECT_UNKNOWN_SENDER, A_NONE},
    {"reject_unknown_recipient_domain", R_REJECT_UNKNOWN_RCPT, A_NONE},
    {"reject_unknown_client_hostname", R_REJECT_UNKNOWN_CLIENT, A_NONE},
    {"reject_unknown_client", R_REJECT_UNKNOWN_CLIENT, A_NONE},
    {"reject_unknown_reverse_client_hostname", R_REJECT_UNKNOWN_REVERSE,
     A_NONE},
    {"reject_rbl_client", R_RBL_CLIENT, A_ZONE},
    {"reject_rbl", R_RBL_CLIENT, A_ZONE},
    {"reject_rhsbl_sender", R_RHSBL_SENDER, A_ZONE},
    {"reject_rhsbl_client", R_RHSBL_CLIENT, A_ZONE},
    {"reject_rhsbl_helo", R_RHSBL_HELO, A_ZONE},
    {"reject_rhsbl_recipient", R_RHSBL_RCPT, A_ZONE},
    {"check_client_access", R_CHECK_CLIENT, A_MAP},
    {"check_helo_access", R_CHECK_HELO, A_MAP},
    {"check_sender_access", R_CHECK_SENDER, A_MAP},
    {"check_recipient_access", R_CHECK_RCPT, A_MAP},
    {"reject_sender_login_mismatch", R_SENDER_LOGIN, A_NONE},
    {"reject_authenticated_sender_login_mismatch", R_AUTH_SENDER_LOGIN, A_NONE},
    {"check_policy_service", R_POLICY, A_POLICY},
};
#define NNAMES (sizeof(restrict_names) / sizeof(restrict_names[0]))

struct restrict_step {
	enum restrict_kind kind;
	struct map *map;
	char *zone;
	struct rbl_filter *filter; /* NULL: any A record counts */
};

struct restrict_list {
	enum restrict_stage stage;
	struct restrict_opts o;
	size_t n;
	struct restrict_step s[RESTRICT_MAX];
};

void restrict_opts_default(struct restrict_opts *o)
{
	*o = (struct restrict_opts){
	    .reject_code = 554,
	    .defer_code = 450,
	    .access_map_reject_code = 554,
	    .access_map_defer_code = 450,
	    .relay_domains_reject_code = 554,
	    .unknown_address_reject_code = 450,
	    .unknown_client_reject_code = 450,
	    .unknown_hostname_reject_code = 450,
	    .maps_rbl_reject_code = 554,
	    .non_fqdn_reject_code = 504,
	    .invalid_hostname_reject_code = 501,
	    .parent_matches_subdomains = true,
	    .policy_timeout_ms = 100000,
	    .policy_default_action = "451 4.3.5 Server configuration problem",
	};
}

struct restrict_list *restrict_parse_list(const char *const *items, size_t n,
					  enum restrict_stage stage,
					  const struct restrict_opts *o,
					  char *err, size_t errsz)
{
	struct restrict_list *rl = xcalloc(1, sizeof(*rl));
	rl->stage = stage;
	rl->o = *o;
	for (size_t i = 0; i < n; i++) {
		size_t j;
		for (j = 0; j < NNAMES; j++) {
			if (strcasecmp(items[i], restrict_names[j].name) == 0)
				break;
		}
		if (j == NNAMES) {
			str_fmt_trunc(err, errsz, "unknown restriction: %s",
				      items[i]);
			restrict_free(&rl);
			return NULL;
		}
		if (rl->n >= RESTRICT_MAX) {
			str_fmt_trunc(err, errsz, "too many restrictions at %s",
				      items[i]);
			restrict_free(&rl);
			return NULL;
		}
		struct restrict_step *st = &rl->s[rl->n++];
		st->kind = restrict_names[j].kind;
		if (restrict_names[j].arg == A_NONE)
			continue;
		if (i + 1 >= n) {
			str_fmt_trunc(err, errsz,
				      "restriction %s needs an argument",
				      items[i]);
			restrict_free(&rl);
			return NULL;
		}
		const char *arg = items[++i];
		if (restrict_names[j].arg == A_POLICY) {
			if (!policysvc_spec_ok(arg)) {
				str_fmt_trunc(
				    err, errsz,
				    "check_policy_service: want inet:host:port "
				    "or unix:/path: %s",
				    arg);
				restrict_free(&rl);
				return NULL;
			}
			st->zone = xstrdup(arg);
			continue;
		}
		if (restrict_names[j].arg == A_MAP) {
			char merr[512];
			st->map = map_open(arg, merr, sizeof(merr));
			if (st->map == NULL) {
				str_fmt_trunc(err, errsz, "%s %s: %s",
					      restrict_names[j].name, arg,
					      merr);
				restrict_free(&rl);
				return NULL;
			}
			continue;
		}
		const char *eq = strchr(arg, '=');
		st->zone =
		    eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
		if (eq != NULL) {
			st->filter = xmalloc(sizeof(*st->filter));
			if (!rbl_filter_parse(eq + 1, st->filter)) {
				str_fmt_trunc(
				    err, errsz,
				    "%s: bad reply filter (want d.d.d.d, each "
				    "d "
				    "a number or [n;n..m]): %s",
				    restrict_names[j].name, arg);
				restrict_free(&rl);
				return NULL;
			}
		}
		if (st->zone[0] == '\0' || strchr(st->zone, '.') == NULL) {
			str_fmt_trunc(err, errsz, "%s: bad DNS zone: %s",
				      restrict_names[j].name, arg);
			restrict_free(&rl);
			return NULL;
		}
	}
	return rl;
}

struct restrict_list *restrict_parse(const char *const *items, size_t n,
				     const char **bad_r)
{
	struct restrict_opts o;
	char err[600];
	restrict_opts_default(&o);
	struct restrict_list *rl = restrict_parse_list(
	    items, n, RESTRICT_RECIPIENT, &o, err, sizeof(err));
	if (rl == NULL) {
		*bad_r = n > 0 ? items[0] : "";
		for (size_t i = 0; i < n; i++) {
			if (strstr(err, items[i]) != NULL) {
				*bad_r = items[i];
				break;
			}
		}
	}
	return rl;
}

void restrict_free(struct restrict_list **prl)
{
	struct restrict_list *rl = *prl;
	if (rl == NULL)
		return;
	for (size_t i = 0; i < rl->n; i++) {
		map_free(&rl->s[i].map);
		free(rl->s[i].zone);
		free(rl->s[i].filter);
	}
	free(rl);
	*prl = NULL;
}

bool restrict_has_relay_guard(const struct restrict_list *rl)
{
	for (size_t i = 0; rl != NULL && i < rl->n; i++) {
		switch (rl->s[i].kind) {
		case R_REJECT_UNAUTH_DEST:
		case R_DEFER_UNAUTH_DEST:
		case R_REJECT:
		case R_DEFER:
		case R_DEFER_IF_PERMIT:
			return true;
		default:
			break;
		}
	}
	return false;
}

int restrict_sender_login(const struct restrict_list *rl)
{
	for (size_t i = 0; rl != NULL && i < rl->n; i++) {
		if (rl->s[i].kind == R_SENDER_LOGIN)
			return 2;
		if (rl->s[i].kind == R_AUTH_SENDER_LOGIN)
			return 1;
	}
	return 0;
}

size_t restrict_count(const struct restrict_list *rl)
{
	return rl ? rl->n : 0;
}

bool restrict_nonblocking(const struct restrict_list *rl)
{
	for (size_t i = 0; rl != NULL && i < rl->n; i++) {
		switch (rl->s[i].kind) {
		case R_REJECT_UNKNOWN_HELO:
		case R_REJECT_UNKNOWN_SENDER:
		case R_RBL_CLIENT:
		case R_RHSBL_SENDER:
		case R_RHSBL_CLIENT:
		case R_RHSBL_HELO:
		case R_RHSBL_RCPT:
		case R_POLICY:
			return false;
		case R_CHECK_CLIENT:
		case R_CHECK_HELO:
		case R_CHECK_SENDER:
		case R_CHECK_RCPT:
			/* a table in memory (a file read again when it
			   changed, as Postfix's tables in its smtpd); mysql:
			   asks youju-authd */
			if (!map_is_local(rl->s[i].map))
				return false;
			break;
		default:
			/* the others look at the context alone, or block
			   only sometimes (would_block, restrict.h) */
			break;
		}
	}
	return true;
}

/* A step is about to wait (DNS, youju-authd, a table, a policy server):
   true when the caller forbade it, and the evaluation stops. */
static bool would_block(struct restrict_ctx *c)
{
	if (!c->no_block)
		return false;
	c->would_block = true;
	return true;
}

/* ------------------------------------------------------------ replies */

/* RFC 5321 4.1.3 address literal or a name of letters, digits, '-' '.' */
static bool helo_valid(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > STR_HOSTNAME_MAX)
		return false;
	if (h[0] == '[')
		return h[n - 1] == ']';
	return str_is_hostname(str_from_cstr(h));
}

/* What the stage's generic "reject" names. */
static void stage_names(enum restrict_stage st, const struct restrict_ctx *c,
			char *name, size_t namesz, const char **class_r)
{
	switch (st) {
	case RESTRICT_CLIENT:
		str_fmt_trunc(name, namesz, "%s[%s]", c->client_name,
			      c->client_addr);
		*class_r = "Client host";
		return;
	case RESTRICT_HELO:
		str_fmt_trunc(name, namesz, "%s", c->helo);
		*class_r = "Helo command";
		return;
	case RESTRICT_SENDER:
		str_fmt_trunc(name, namesz, "%s", c->sender);
		*class_r = "Sender address";
		return;
	case RESTRICT_RELAY:
	case RESTRICT_RECIPIENT:
		str_fmt_trunc(name, namesz, "%s", c->rcpt);
		*class_r = "Recipient address";
		return;
	case RESTRICT_DATA:
		str_fmt_trunc(name, namesz, "DATA");
		*class_r = "Data command";
		return;
	case RESTRICT_EOD:
	case RESTRICT_NSTAGES:
		break;
	}
	str_fmt_trunc(name, namesz, "END-OF-MESSAGE");
	*class_r = "End-of-data";
}

/*
 * "code dsn text", the dsn's class digit forced to the code's (Postfix's
 * smtpd_check_reject does the same: "450" with "5.1.8" says "4.1.8").
 */
__attribute__((format(printf, 4, 5))) static void
make_reply(char *out, unsigned code, const char *dsn, const char *f, ...)
{
	char text[RESTRICT_REPLY_MAX];
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(text, sizeof(text), f, ap);
	va_end(ap);
	if (n < 0)
		text[0] = '\0';
	if (code < 400 || code > 599)
		code = 554;
	str_fmt_trunc(out, RESTRICT_REPLY_MAX, "%u %c%s %s", code,
		      code >= 500 ? '5' : '4', dsn + 1, text);
}

/* A "text" that may open with its own enhanced status code "x.y.z ". */
static void split_dsn(const char *text, const char *def, char *dsn,
		      const char **rest_r)
{
	const char *p = text;
	if ((p[0] == '4' || p[0] == '5') && p[1] == '.') {
		size_t n = strspn(p, "0123456789.");
		if (n < 12 && n >= 5 && (p[n] == ' ' || p[n] == '\0')) {
			memcpy(dsn, p, n);
			dsn[n] = '\0';
			p += n;
			while (*p == ' ')
				p++;
			*rest_r = p;
			return;
		}
	}
	str_fmt_trunc(dsn, 12, "%s", def);
	*rest_r = text;
}

static void add_event(struct restrict_ctx *c, const char *what,
		      const char *text)
{
	if (c->nevents >= RESTRICT_EVENTS_MAX)
		return;
	struct restrict_event *e = &c->events[c->nevents++];
	str_fmt_trunc(e->what, sizeof(e->what), "%s", what);
	str_fmt_trunc(e->text, sizeof(e->text), "%s", text);
}

/* --------------------------------------------------------- access maps */

enum step_result { S_DUNNO, S_PERMIT, S_REJECT };

static enum step_result eval_list(const struct restrict_list *rl,
				  struct restrict_ctx *c, char *out, int depth);

/* Postfix's check_table_result(): what one table value means. */
static enum step_result table_result(const struct restrict_list *rl,
				     struct restrict_ctx *c, const char *value,
				     const char *name, const char *class,
				     char *out, int depth)
{
	const struct restrict_opts *o = &rl->o;
	size_t cl = strcspn(value, " \t");
	const char *text = value + cl;
	char dsn[12];
	const char *t;
	while (*text == ' ' || *text == '\t')
		text++;
#define IS(w) (cl == strlen(w) && strncasecmp(value, (w), cl) == 0)
	if (IS("DUNNO"))
		return S_DUNNO;
	if (IS("OK") || IS("RELAY"))
		return S_PERMIT;
	if (IS("REJECT") || IS("DEFER")) {
		bool rej = IS("REJECT");
		split_dsn(text, rej ? "5.7.1" : "4.7.1", dsn, &t);
		make_reply(out,
			   rej ? o->access_map_reject_code
			       : o->access_map_defer_code,
			   dsn, "<%s>: %s rejected: %s", name, class,
			   *t ? t : "Access denied");
		return S_REJECT;
	}
	if (IS("DEFER_IF_PERMIT") || IS("DEFER_IF_REJECT")) {
		bool ifp = IS("DEFER_IF_PERMIT");
		split_dsn(text, "4.7.1", dsn, &t);
		char *slot = ifp ? c->defer_reply : c->defer_reject_reply;
		make_reply(slot, o->access_map_defer_code, dsn,
			   "<%s>: %s rejected: %s", name, class,
			   *t ? t : "Service unavailable");
		if (ifp)
			c->defer_if_permit = true;
		else
			c->defer_if_reject = true;
		return S_DUNNO;
	}
	if (IS("DISCARD") || IS("HOLD")) {
		char ev[RESTRICT_REPLY_MAX];
		bool dis = IS("DISCARD");
		str_fmt_trunc(ev, sizeof(ev), "<%s>: %s %s", name, class,
			      *text ? text
				    : (dis ? "triggers DISCARD action"
					   : "triggers HOLD action"));
		add_event(c, dis ? "discard" : "hold", ev);
		if (dis) {
			c->discard = true;
			return S_PERMIT;
		}
		c->hold = true;
		return S_DUNNO;
	}
	if (IS("PREPEND")) {
		const char *colon = strchr(text, ':');
		if (colon != NULL && colon > text &&
		    c->nprepend < RESTRICT_PREPEND_MAX)
			str_fmt_trunc(c->prepend[c->nprepend++],
				      RESTRICT_REPLY_MAX, "%s", text);
		return S_DUNNO;
	}
	if (strspn(value, "0123456789") == strlen(value) && value[0])
		return S_PERMIT; /* all-numeric: Postfix's "OK" */
	if (cl == 3 && (value[0] == '4' || value[0] == '5') &&
	    isdigit((unsigned char)value[1]) &&
	    isdigit((unsigned char)value[2]) && *text) {
		char def[6] = "x.7.1";
		def[0] = value[0];
		split_dsn(text, def, dsn, &t);
		unsigned code =
		    (unsigned)((value[0] - '0') * 100 + (value[1] - '0') * 10 +
			       (value[2] - '0'));
		make_reply(out, code, dsn, "<%s>: %s rejected: %s", name, class,
			   *t ? t : "Access denied");
		return S_REJECT;
	}
	/* a restriction list: "permit_mynetworks reject" and the like
	   (its tables are opened now, its steps may block: not on a loop) */
	if (depth < 2 && !would_block(c)) {
		char copy[MAP_VALUE_MAX + 1];
		const char *items[RESTRICT_MAX];
		size_t n = 0;
		char err[256];
		str_fmt_trunc(copy, sizeof(copy), "%s", value);
		for (char *p = copy; *p && n < RESTRICT_MAX;) {
			p += strspn(p, " \t,");
			if (*p == '\0')
				break;
			items[n++] = p;
			p += strcspn(p, " \t,");
			if (*p)
				*p++ = '\0';
		}
		struct restrict_list *sub = restrict_parse_list(
		    items, n, rl->stage, o, err, sizeof(err));
		if (sub != NULL) {
			enum step_result r = eval_list(sub, c, out, depth + 1);
			restrict_free(&sub);
			return r;
		}
	}
	return S_DUNNO; /* Postfix warns and ignores unknown values */
#undef IS
}

/* One lookup: found (result in *res), not found, or tempfail (reply). */
static int lookup(const struct restrict_list *rl, struct restrict_ctx *c,
		  struct map *m, const char *key, const char *name,
		  const char *class, char *out, int depth,
		  enum step_result *res)
{
	char val[MAP_VALUE_MAX + 1];
	if (!map_is_local(m) && would_block(c)) {
		*res = S_DUNNO;
		return 1;
	}
	switch (map_lookup(m, key, val, sizeof(val))) {
	case MAP_NOTFOUND:
		return 0;
	case MAP_TEMPFAIL:
		str_fmt_trunc(out, RESTRICT_REPLY_MAX,
			      "451 4.3.0 <%s>: Temporary lookup failure", name);
		*res = S_REJECT;
		return 1;
	case MAP_FOUND:
		break;
	}
	*res = table_result(rl, c, val, name, class, out, depth);
	return 1;
}

/* A domain and its parents: "a.b.c", then "b.c", "c" (or ".b.c", ".c"). */
static int lookup_domain(const struct restrict_list *rl, struct restrict_ctx *c,
			 struct map *m, const char *domain, const char *name,
			 const char *class, char *out, int depth,
			 enum step_result *res)
{
	if (domain[0] == '\0')
		return 0;
	if (lookup(rl, c, m, domain, name, class, out, depth, res))
		return 1;
	if (!map_is_fixed(m))
		return 0;
	for (const char *p = strchr(domain + 1, '.'); p != NULL;
	     p = strchr(p + 1, '.')) {
		const char *key = rl->o.parent_matches_subdomains ? p + 1 : p;
		if (key[0] == '\0')
			break;
		if (lookup(rl, c, m, key, name, class, out, depth, res))
			return 1;
	}
	return 0;
}

/*
 * Where the address extension starts (recipient_delimiter: any of its
 * characters), or 0 when there is none.  A local part that starts with
 * the delimiter has no extension ("+x@d" stays whole), as in Postfix.
 */
static size_t ext_start(const struct restrict_opts *o, const char *addr,
			size_t local_len)
{
	if (o->recipient_delimiter[0] == '\0')
		return 0;
	for (size_t i = 1; i < local_len; i++) {
		if (strchr(o->recipient_delimiter, addr[i]) != NULL)
			return i;
	}
	return 0;
}

/*
 * access(5) for an address: user+ext@domain, user@domain, domain (and its
 * parents), user+ext@, user@.  The null sender is looked up as "<>".
 */
static enum step_result check_addr(const struct restrict_list *rl,
				   struct restrict_ctx *c, struct map *m,
				   const char *addr, const char *class,
				   char *out, int depth)
{
	enum step_result r = S_DUNNO;
	const char *key = addr[0] ? addr : "<>";
	char k[MAP_KEY_MAX + 1];
	if (lookup(rl, c, m, key, addr, class, out, depth, &r))
		return r;
	if (!map_is_fixed(m) || addr[0] == '\0')
		return S_DUNNO;
	const char *at = strrchr(addr, '@');
	size_t ul = at ? (size_t)(at - addr) : strlen(addr);
	size_t ext = ext_start(&rl->o, addr, ul);
	if (ext > 0 && strlen(addr) - (ul - ext) < sizeof(k)) {
		/* user@domain without the extension */
		str_fmt_trunc(k, sizeof(k), "%.*s%s", (int)ext, addr,
			      at ? at : "");
		if (lookup(rl, c, m, k, addr, class, out, depth, &r))
			return r;
	}
	if (at == NULL)
		return S_DUNNO;
	if (lookup_domain(rl, c, m, at + 1, addr, class, out, depth, &r))
		return r;
	if (ul + 1 < sizeof(k)) {
		str_fmt_trunc(k, sizeof(k), "%.*s@", (int)ul, addr);
		if (lookup(rl, c, m, k, addr, class, out, depth, &r))
			return r;
		if (ext > 0) {
			str_fmt_trunc(k, sizeof(k), "%.*s@", (int)ext, addr);
			if (lookup(rl, c, m, k, addr, class, out, depth, &r))
				return r;
		}
	}
	return S_DUNNO;
}

/* check_client_access: the name (and parents), then the address and its
   octet prefixes ("1.2.3.4", "1.2.3", "1.2", "1"; IPv6 by ':' groups). */
static enum step_result check_client(const struct restrict_list *rl,
				     struct restrict_ctx *c, struct map *m,
				     char *out, int depth)
{
	enum step_result r = S_DUNNO;
	char name[600];
	const char *class = "Client host";
	str_fmt_trunc(name, sizeof(name), "%s[%s]", c->client_name,
		      c->client_addr);
	if (strcmp(c->client_name, "unknown") != 0 &&
	    lookup_domain(rl, c, m, c->client_name, name, class, out, depth,
			  &r))
		return r;
	if (lookup(rl, c, m, c->client_addr, name, class, out, depth, &r))
		return r;
	if (!map_is_fixed(m))
		return S_DUNNO;
	char a[64];
	char sep = strchr(c->client_addr, ':') ? ':' : '.';
	str_fmt_trunc(a, sizeof(a), "%s", c->client_addr);
	for (char *p = strrchr(a, sep); p != NULL && p > a;
	     p = strrchr(a, sep)) {
		*p = '\0';
		if (a[0] == '\0')
			break;
		if (lookup(rl, c, m, a, name, class, out, depth, &r))
			return r;
	}
	return S_DUNNO;
}

/* ----------------------------------------------------------------- DNS */

/* false when the lookup would block (would_block) */
static bool client_dns(struct restrict_ctx *c)
{
	if (c->client_dns != 0)
		return true;
	if (would_block(c))
		return false;
	enum dns_status ptr = DNS_NOTFOUND;
	c->client_dns =
	    1 + (int)dns_client_name(c->client_addr, c->client_fcrdns,
				     sizeof(c->client_fcrdns), &ptr);
	c->client_rdns = 1 + (int)ptr;
	return true;
}

/* A temporary DNS failure: Postfix's defer_if_permit tempfail action. */
static void tempfail(struct restrict_ctx *c, const char *reply)
{
	if (!c->defer_if_permit) {
		c->defer_if_permit = true;
		str_fmt_trunc(c->defer_reply, sizeof(c->defer_reply), "%s",
			      reply);
	}
}

static enum step_result unknown_domain(const struct restrict_list *rl,
				       struct restrict_ctx *c, const char *addr,
				       bool sender, char *out)
{
	const char *d = smtp_addr_domain(addr);
	const char *class = sender ? "Sender address" : "Recipient address";
	const char *dsn = sender ? "4.1.8" : "4.1.2";
	char rep[RESTRICT_REPLY_MAX];
	if (addr[0] == '\0' || d == NULL || d[0] == '\0' || d[0] == '[')
		return S_DUNNO;
	if (would_block(c))
		return S_DUNNO;
	switch (dns_mailhost(d)) {
	case DNS_OK:
		return S_DUNNO;
	case DNS_NOTFOUND:
		make_reply(out, rl->o.unknown_address_reject_code, dsn,
			   "<%s>: %s rejected: Domain not found", addr, class);
		return S_REJECT;
	case DNS_RETRY:
		make_reply(rep, 450, dsn, "<%s>: %s rejected: Domain not found",
			   addr, class);
		tempfail(c, rep);
		return S_DUNNO;
	}
	return S_DUNNO;
}

static enum step_result rbl(const struct restrict_list *rl,
			    struct restrict_ctx *c,
			    const struct restrict_step *st, const char *what,
			    const char *class, bool reverse, char *out)
{
	char q[300];
	struct dns_listing l;
	if (what == NULL || what[0] == '\0' || strcmp(what, "unknown") == 0)
		return S_DUNNO;
	if (reverse) {
		if (!dns_reverse_ip(what, q, sizeof(q)))
			return S_DUNNO;
	} else {
		str_fmt_trunc(q, sizeof(q), "%s", what);
	}
	if (would_block(c) || dns_listed(q, st->zone, &l) != DNS_OK)
		return S_DUNNO; /* Postfix ignores RBL lookup failures */
	bool hit = st->filter == NULL;
	for (size_t i = 0; !hit && i < l.naddr; i++)
		hit = rbl_filter_match(st->filter, l.addr[i]);
	if (!hit)
		return S_DUNNO;
	/* Postfix's default_rbl_reply: "$rbl_code Service unavailable;
	   $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?;
	   $rbl_reason}", the reason being the list's TXT record */
	make_reply(out, rl->o.maps_rbl_reject_code, "5.7.1",
		   "Service unavailable; %s [%s] blocked using %s%s%s", class,
		   what, st->zone, l.txt[0] ? "; " : "", l.txt);
	return S_REJECT;
}

/* reject_(authenticated_)sender_login_mismatch (sender_login.h) */
static enum step_result sender_login(const struct restrict_list *rl,
				     const struct restrict_step *st,
				     struct restrict_ctx *c, char *out)
{
	if (c->sender[0] == '\0' || c->login_maps == NULL)
		return S_DUNNO;
	const char *login = c->sasl_username;
	if (login == NULL || login[0] == '\0') {
		/* Postfix: an unauthenticated client may not use an
		   address that has an owner */
		if (st->kind == R_AUTH_SENDER_LOGIN || !c->login_maps->extmail)
			return S_DUNNO;
		if (would_block(c))
			return S_DUNNO;
		switch (sender_login_check(c->login_maps, c->authd_socket, "",
					   c->sender)) {
		case SENDER_LOGIN_OWNED:
		case SENDER_LOGIN_TEMPFAIL:
			return S_DUNNO;
		case SENDER_LOGIN_NOT_OWNED:
			break;
		}
		struct authc_reply r = {0};
		enum authc_status a =
		    authc_lookup_rcpt(c->authd_socket, c->sender, &r);
		authc_reply_free(&r);
		if (a != AUTHC_OK)
			return S_DUNNO;
		make_reply(out, 553, "5.7.1",
			   "<%s>: Sender address rejected: not logged in",
			   c->sender);
		return S_REJECT;
	}
	if (would_block(c))
		return S_DUNNO;
	switch (sender_login_check(c->login_maps, c->authd_socket, login,
				   c->sender)) {
	case SENDER_LOGIN_OWNED:
		return S_DUNNO;
	case SENDER_LOGIN_TEMPFAIL:
		make_reply(out, 451, "4.3.0",
			   "<%s>: Sender address rejected: Temporary lookup "
			   "failure",
			   c->sender);
		return S_REJECT;
	case SENDER_LOGIN_NOT_OWNED:
		break;
	}
	make_reply(out, 553, "5.7.1",
		   "<%s>: Sender address rejected: not owned by user %s",
		   c->sender, login);
	return S_REJECT;
}

/* check_policy_service: the server's action is read as an access table
   value, named like the stage's own rejects */
static enum step_result policy(const struct restrict_list *rl,
			       const struct restrict_step *st,
			       struct restrict_ctx *c, char *out, int depth)
{
	char action[RESTRICT_REPLY_MAX];
	char name[600];
	const char *class;
	const struct restrict_opts *o = &rl->o;
	if (would_block(c))
		return S_DUNNO;
	if (policysvc_query(st->zone, c, o->policy_timeout_ms, action,
			    sizeof(action)) < 0)
		str_fmt_trunc(action, sizeof(action), "%s",
			      o->policy_default_action);
	if (action[0] == '\0')
		return S_DUNNO;
	stage_names(rl->stage, c, name, sizeof(name), &class);
	return table_result(rl, c, action, name, class, out, depth);
}

/* ---------------------------------------------------------- evaluation */

/* reject_non_fqdn_sender and _recipient: addr (not "<>") whose domain is
   not a fully-qualified name; what is "Sender" or "Recipient". */
static enum step_result non_fqdn_addr(const struct restrict_opts *o,
				      const char *addr, const char *what,
				      char *out)
{
	if (addr[0] == '\0' || smtp_is_fqdn(smtp_addr_domain(addr)))
		return S_DUNNO;
	make_reply(out, o->non_fqdn_reject_code, "5.5.2",
		   "<%s>: %s address rejected: need fully-qualified address",
		   addr, what);
	return S_REJECT;
}

static enum step_result eval_step(const struct restrict_list *rl,
				  const struct restrict_step *st,
				  struct restrict_ctx *c, char *out, int depth)
{
	const struct restrict_opts *o = &rl->o;
	char name[600];
	const char *class;
	char rep[RESTRICT_REPLY_MAX];
	switch (st->kind) {
	case R_PERMIT:
		return S_PERMIT;
	case R_REJECT:
	case R_DEFER:
		stage_names(rl->stage, c, name, sizeof(name), &class);
		if (st->kind == R_REJECT)
			make_reply(out, o->reject_code, "5.7.1",
				   "<%s>: %s rejected: Access denied", name,
				   class);
		else
			make_reply(out, o->defer_code, "4.7.1",
				   "<%s>: %s rejected: Try again later", name,
				   class);
		return S_REJECT;
	case R_DEFER_IF_PERMIT:
		stage_names(rl->stage, c, name, sizeof(name), &class);
		make_reply(rep, o->defer_code, "4.7.1",
			   "<%s>: %s rejected: defer_if_permit requested", name,
			   class);
		tempfail(c, rep);
		return S_DUNNO;
	case R_DEFER_IF_REJECT:
		stage_names(rl->stage, c, name, sizeof(name), &class);
		c->defer_if_reject = true;
		make_reply(c->defer_reject_reply, o->defer_code, "4.7.1",
			   "<%s>: %s rejected: defer_if_reject requested", name,
			   class);
		return S_DUNNO;
	case R_WARN_IF_REJECT:
		return S_DUNNO; /* handled by eval_list */
	case R_PERMIT_MYNETWORKS:
		return c->mynetworks ? S_PERMIT : S_DUNNO;
	case R_PERMIT_SASL:
		return c->authenticated ? S_PERMIT : S_DUNNO;
	case R_REJECT_UNAUTH_DEST:
	case R_DEFER_UNAUTH_DEST:
		if (c->rcpt[0] == '\0' || c->rcpt_local)
			return S_DUNNO;
		if (st->kind == R_REJECT_UNAUTH_DEST)
			make_reply(out, o->relay_domains_reject_code, "5.7.1",
				   "<%s>: Relay access denied", c->rcpt);
		else
			make_reply(out, o->defer_code, "4.7.1",
				   "<%s>: Relay access denied", c->rcpt);
		return S_REJECT;
	case R_PERMIT_AUTH_DEST:
		return c->rcpt[0] != '\0' && c->rcpt_local ? S_PERMIT : S_DUNNO;
	case R_REJECT_UNAUTH_PIPELINING:
		if (!c->ill_pipelining)
			return S_DUNNO;
		stage_names(rl->stage, c, name, sizeof(name), &class);
		make_reply(out, 503, "5.5.0",
			   "<%s>: %s rejected: Improper use of SMTP command "
			   "pipelining",
			   name, class);
		return S_REJECT;
	case R_REJECT_NON_FQDN_RCPT:
		return non_fqdn_addr(o, c->rcpt, "Recipient", out);
	case R_REJECT_NON_FQDN_SENDER:
		return non_fqdn_addr(o, c->sender, "Sender", out);
	case R_REJECT_NON_FQDN_HELO:
		if (c->helo[0] == '\0' || c->helo[0] == '[' ||
		    smtp_is_fqdn(c->helo))
			return S_DUNNO;
		make_reply(out, o->non_fqdn_reject_code, "5.5.2",
			   "<%s>: Helo command rejected: need "
			   "fully-qualified hostname",
			   c->helo);
		return S_REJECT;
	case R_REJECT_INVALID_HELO:
		if (c->helo[0] == '\0' || helo_valid(c->helo))
			return S_DUNNO;
		make_reply(out, o->invalid_hostname_reject_code, "5.5.2",
			   "<%s>: Helo command rejected: Invalid name",
			   c->helo);
		return S_REJECT;
	case R_REJECT_UNKNOWN_HELO:
		if (c->helo[0] == '\0' || c->helo[0] == '[' ||
		    !helo_valid(c->helo) || would_block(c))
			return S_DUNNO;
		switch (dns_hostname(c->helo)) {
		case DNS_OK:
			return S_DUNNO;
		case DNS_NOTFOUND:
			make_reply(out, o->unknown_hostname_reject_code,
				   "4.7.1",
				   "<%s>: Helo command rejected: Host not "
				   "found",
				   c->helo);
			return S_REJECT;
		case DNS_RETRY:
			make_reply(rep, 450, "4.7.1",
				   "<%s>: Helo command rejected: Host not "
				   "found",
				   c->helo);
			tempfail(c, rep);
			return S_DUNNO;
		}
		return S_DUNNO;
	case R_REJECT_UNKNOWN_SENDER:
		return unknown_domain(rl, c, c->sender, true, out);
	case R_REJECT_UNKNOWN_RCPT:
		if (c->rcpt_local)
			return S_DUNNO;
		return unknown_domain(rl, c, c->rcpt, false, out);
	case R_REJECT_UNKNOWN_CLIENT:
	case R_REJECT_UNKNOWN_REVERSE: {
		bool rev = st->kind == R_REJECT_UNKNOWN_REVERSE;
		if (!client_dns(c))
			return S_DUNNO;
		int d = (rev ? c->client_rdns : c->client_dns) - 1;
		if (d == DNS_OK)
			return S_DUNNO;
		make_reply(out,
			   d == DNS_RETRY ? 450 : o->unknown_client_reject_code,
			   rev ? "4.7.1" : "4.7.25",
			   rev ? "Client host rejected: cannot find your "
				 "reverse hostname, [%s]"
			       : "Client host rejected: cannot find your "
				 "hostname, [%s]",
			   c->client_addr);
		return S_REJECT;
	}
	case R_RBL_CLIENT:
		return rbl(rl, c, st, c->client_addr, "Client host", true, out);
	case R_RHSBL_SENDER:
		return rbl(rl, c, st, smtp_addr_domain(c->sender),
			   "Sender address", false, out);
	case R_RHSBL_CLIENT:
		return rbl(rl, c, st, c->client_name, "Client host", false,
			   out);
	case R_RHSBL_HELO:
		return rbl(rl, c, st, c->helo[0] == '[' ? "" : c->helo,
			   "Helo command", false, out);
	case R_RHSBL_RCPT:
		return rbl(rl, c, st, smtp_addr_domain(c->rcpt),
			   "Recipient address", false, out);
	case R_CHECK_CLIENT:
		return check_client(rl, c, st->map, out, depth);
	case R_CHECK_HELO: {
		enum step_result r = S_DUNNO;
		if (c->helo[0] == '\0')
			return S_DUNNO;
		if (lookup_domain(rl, c, st->map, c->helo, c->helo,
				  "Helo command", out, depth, &r))
			return r;
		return S_DUNNO;
	}
	case R_CHECK_SENDER:
		if (c->sender == NULL)
			return S_DUNNO;
		return check_addr(rl, c, st->map, c->sender, "Sender address",
				  out, depth);
	case R_CHECK_RCPT:
		if (c->rcpt[0] == '\0')
			return S_DUNNO;
		return check_addr(rl, c, st->map, c->rcpt, "Recipient address",
				  out, depth);
	case R_SENDER_LOGIN:
	case R_AUTH_SENDER_LOGIN:
		return sender_login(rl, st, c, out);
	case R_POLICY:
		return policy(rl, st, c, out, depth);
	}
	return S_DUNNO;
}

static enum step_result eval_list(const struct restrict_list *rl,
				  struct restrict_ctx *c, char *out, int depth)
{
	bool warn = false;
	for (size_t i = 0; i < rl->n; i++) {
		const struct restrict_step *st = &rl->s[i];
		if (st->kind == R_WARN_IF_REJECT) {
			warn = true;
			continue;
		}
		enum step_result r = eval_step(rl, st, c, out, depth);
		if (c->would_block)
			return S_DUNNO;
		if (r == S_REJECT && warn) {
			add_event(c, "reject_warning", out);
			r = S_DUNNO;
		}
		warn = false;
		if (r == S_REJECT && c->defer_if_reject && !(out[0] == '4')) {
			str_fmt_trunc(out, RESTRICT_REPLY_MAX, "%s",
				      c->defer_reject_reply);
		}
		if (r != S_DUNNO)
			return r;
	}
	return S_DUNNO;
}

enum restrict_result restrict_eval(const struct restrict_list *rl,
				   struct restrict_ctx *c, char *out)
{
	static const char empty[] = "";
	if (c->client_name == NULL)
		c->client_name = "unknown";
	if (c->client_addr == NULL)
		c->client_addr = empty;
	if (c->helo == NULL)
		c->helo = empty;
	if (c->sender == NULL)
		c->sender = empty;
	if (c->rcpt == NULL)
		c->rcpt = empty;
	if (rl == NULL)
		return RESTRICT_DUNNO;
	switch (eval_list(rl, c, out, 0)) {
	case S_PERMIT:
		return RESTRICT_PERMIT;
	case S_REJECT:
		return RESTRICT_REJECT;
	case S_DUNNO:
		break;
	}
	return RESTRICT_DUNNO;
}

bool restrict_finish(struct restrict_ctx *c, char *out)
{
	if (!c->defer_if_permit)
		return false;
	str_fmt_trunc(out, RESTRICT_REPLY_MAX, "%s", c->defer_reply);
	return true;
}
