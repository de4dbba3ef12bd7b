/*
 * SPF check_host() (see spf.h).  One evaluation keeps its counters in a
 * struct passed down through include: and redirect=, so the limits apply
 * to the whole tree as §4.6.4 demands.  Records are parsed term by term
 * straight from the TXT string; nothing is cached.
 */
#include "spf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsrec.h"
#include "net.h"

#define SPF_LOOKUP_LIMIT 10
#define SPF_VOID_LIMIT	 2
#define SPF_MX_LIMIT	 10
#define SPF_DEPTH_MAX	 12

struct spf_eval {
	int family; /* 4 or 6 */
	unsigned char ip[16];
	const char *ip_text;
	const char *sender;
	const char *helo;
	int lookups, voids;
};

const char *spf_result_name(enum spf_result r)
{
	static const char *const n[] = {"none",	    "neutral",	"pass",
					"fail",	    "softfail", "temperror",
					"permerror"};
	return (unsigned)r < sizeof(n) / sizeof(n[0]) ? n[r] : "permerror";
}

static bool domain_ok(const char *d)
{
	size_t n = strlen(d);
	if (n == 0 || n > 253 || strchr(d, '.') == NULL)
		return false;
	for (const char *p = d; *p; p++) {
		if ((unsigned char)*p <= 32 || *p == 127)
			return false;
	}
	/* each label 1..63 */
	for (const char *p = d; *p;) {
		size_t l = strcspn(p, ".");
		if (l == 0 || l > 63)
			return false;
		p += l;
		if (*p == '.')
			p++; /* a final dot ("a.b.") is allowed */
	}
	return true;
}

/* ---------------------------------------------------------------- macros */

static bool is_delim(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

static void ip_macro(const struct spf_eval *e, bool dotted_v, char *out,
		     size_t outsz)
{
	if (e->family == 4) {
		snprintf(out, outsz, "%u.%u.%u.%u", e->ip[0], e->ip[1],
			 e->ip[2], e->ip[3]);
		return;
	}
	(void)dotted_v;
	size_t o = 0;
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < 16 && o + 4 < outsz; i++) {
		out[o++] = hx[e->ip[i] >> 4];
		out[o++] = '.';
		out[o++] = hx[e->ip[i] & 15];
		out[o++] = i == 15 ? '\0' : '.';
	}
	if (o < outsz)
		out[o] = '\0';
	else if (outsz > 0)
		out[outsz - 1] = '\0';
}

static int expand(const struct spf_eval *e, const char *spec,
		  const char *domain, char *out, size_t outsz)
{
	size_t o = 0;
	const char *at = strrchr(e->sender, '@');
	char local[256], sdom[256], tmp[512];
	snprintf(local, sizeof(local), "%.*s", at ? (int)(at - e->sender) : 0,
		 e->sender);
	snprintf(sdom, sizeof(sdom), "%s", at ? at + 1 : e->helo);
	if (local[0] == '\0')
		snprintf(local, sizeof(local), "postmaster");
	for (const char *p = spec; *p;) {
		if (*p != '%') {
			if ((unsigned char)*p < 0x21 || *p == 0x7f)
				return -1;
			if (o + 1 >= outsz)
				return -1;
			out[o++] = *p++;
			continue;
		}
		p++;
		const char *lit = NULL;
		if (*p == '%')
			lit = "%";
		else if (*p == '_')
			lit = " ";
		else if (*p == '-')
			lit = "%20";
		if (lit != NULL) {
			size_t l = strlen(lit);
			if (o + l >= outsz)
				return -1;
			memcpy(out + o, lit, l);
			o += l;
			p++;
			continue;
		}
		if (*p++ != '{')
			return -1;
		char letter = (char)tolower((unsigned char)*p++);
		const char *val;
		switch (letter) {
		case 's':
			snprintf(tmp, sizeof(tmp), "%s@%s", local, sdom);
			val = tmp;
			break;
		case 'l':
			val = local;
			break;
		case 'o':
			val = sdom;
			break;
		case 'd':
			val = domain;
			break;
		case 'i':
			ip_macro(e, true, tmp, sizeof(tmp));
			val = tmp;
			break;
		case 'p':
			val = "unknown";
			break;
		case 'v':
			val = e->family == 4 ? "in-addr" : "ip6";
			break;
		case 'h':
			val = e->helo;
			break;
		default:
			return -1;
		}
		unsigned keep = 0;
		bool digits = false;
		while (*p >= '0' && *p <= '9' && keep < 1000) {
			keep = keep * 10 + (unsigned)(*p++ - '0');
			digits = true;
		}
		if (digits && keep == 0)
			return -1; /* "0" parts is a syntax error */
		bool rev = false;
		if (*p == 'r' || *p == 'R') {
			rev = true;
			p++;
		}
		char delims[16] = "";
		size_t nd = 0;
		while (is_delim(*p) && nd + 1 < sizeof(delims))
			delims[nd++] = *p++;
		delims[nd] = '\0';
		if (*p++ != '}')
			return -1;
		if (nd == 0)
			snprintf(delims, sizeof(delims), ".");
		/* split, maybe reverse, keep the rightmost parts, join with
		   '.' */
		char copy[512];
		snprintf(copy, sizeof(copy), "%s", val);
		char *parts[128];
		size_t np = 0;
		char *q = copy;
		for (;;) {
			if (np < 128)
				parts[np++] = q;
			size_t l = strcspn(q, delims);
			if (q[l] == '\0')
				break;
			q[l] = '\0';
			q += l + 1;
		}
		if (rev) {
			for (size_t i = 0; i < np / 2; i++) {
				char *t = parts[i];
				parts[i] = parts[np - 1 - i];
				parts[np - 1 - i] = t;
			}
		}
		size_t first = keep > 0 && keep < np ? np - keep : 0;
		for (size_t i = first; i < np; i++) {
			size_t l = strlen(parts[i]);
			if (o + l + 2 >= outsz)
				return -1;
			if (i > first)
				out[o++] = '.';
			memcpy(out + o, parts[i], l);
			o += l;
		}
	}
	out[o] = '\0';
	/* §7.3: a result over 253 bytes loses labels from the left */
	char *r = out;
	while (strlen(r) > 253) {
		char *dot = strchr(r, '.');
		if (dot == NULL)
			break;
		r = dot + 1;
	}
	if (r != out)
		memmove(out, r, strlen(r) + 1);
	return 0;
}

int spf_expand(const char *spec, const char *ip, const char *domain,
	       const char *sender, const char *helo, char *out, size_t outsz)
{
	struct spf_eval e = {.sender = sender, .helo = helo, .ip_text = ip};
	if (inet_pton(AF_INET, ip, e.ip) == 1)
		e.family = 4;
	else if (inet_pton(AF_INET6, ip, e.ip) == 1)
		e.family = 6;
	else
		return -1;
	return expand(&e, spec, domain, out, outsz);
}

/* ------------------------------------------------------------ matching */

/* Parses "/n" and "//n" after a domain spec; -1 for a bad length. */
static int cidr_lens(const char *s, unsigned *v4, unsigned *v6)
{
	*v4 = 32;
	*v6 = 128;
	if (*s == '\0')
		return 0;
	if (s[0] == '/' && s[1] != '/') {
		char *end;
		unsigned long n = strtoul(s + 1, &end, 10);
		if (end == s + 1 || n > 32)
			return -1;
		*v4 = (unsigned)n;
		s = end;
	}
	if (s[0] == '/' && s[1] == '/') {
		char *end;
		unsigned long n = strtoul(s + 2, &end, 10);
		if (end == s + 2 || n > 128)
			return -1;
		*v6 = (unsigned)n;
		s = end;
	}
	return *s == '\0' ? 0 : -1;
}

/* 1 match, 0 none, -1 temperror, -2 permerror */
static int match_addrs(struct spf_eval *e, const char *host, unsigned v4,
		       unsigned v6)
{
	struct dnsrec_addr r;
	enum dns_status st = dnsrec_addr(host, e->family, &r);
	if (st == DNS_RETRY)
		return -1;
	if (st == DNS_NOTFOUND)
		return 0;
	size_t al = e->family == 4 ? 4 : 16;
	unsigned bits = e->family == 4 ? v4 : v6;
	for (size_t i = 0; i < r.n; i++) {
		if (net_prefix_eq(r.a[i], e->ip, bits))
			return 1;
	}
	(void)al;
	return 0;
}

static enum spf_result check_host(struct spf_eval *e, const char *domain,
				  int depth);

/* one lookup-counting term; false past the limit */
static bool count(struct spf_eval *e)
{
	return ++e->lookups <= SPF_LOOKUP_LIMIT;
}

static bool void_lookup(struct spf_eval *e)
{
	return ++e->voids <= SPF_VOID_LIMIT;
}

/* Evaluates one mechanism: 1 match, 0 none, or an error result < 0:
   -1 temperror, -2 permerror. */
static int mechanism(struct spf_eval *e, const char *name, size_t nl,
		     const char *arg, const char *domain, int depth)
{
	char target[512];
#define NAME(s) (nl == strlen(s) && strncasecmp(name, (s), nl) == 0)
	if (NAME("all"))
		return arg ? -2 : 1;
	if (NAME("ip4") || NAME("ip6")) {
		if (arg == NULL)
			return -2;
		bool six = NAME("ip6");
		char net[64];
		const char *slash = strchr(arg, '/');
		size_t al = slash ? (size_t)(slash - arg) : strlen(arg);
		if (al >= sizeof(net))
			return -2;
		memcpy(net, arg, al);
		net[al] = '\0';
		unsigned char a[16];
		unsigned bits = six ? 128 : 32;
		if (inet_pton(six ? AF_INET6 : AF_INET, net, a) != 1)
			return -2;
		if (slash != NULL) {
			char *end;
			unsigned long n = strtoul(slash + 1, &end, 10);
			if (end == slash + 1 || *end != '\0' || n > bits)
				return -2;
			bits = (unsigned)n;
		}
		if ((six ? 6 : 4) != e->family)
			return 0;
		return net_prefix_eq(a, e->ip, bits);
	}
	if (NAME("a") || NAME("mx")) {
		if (!count(e))
			return -2;
		unsigned v4, v6;
		const char *spec = arg;
		char dspec[512] = "";
		if (spec != NULL) {
			/* the domain spec ends where a "/" cidr starts */
			const char *sl = strchr(spec, '/');
			size_t l = sl ? (size_t)(sl - spec) : strlen(spec);
			if (l >= sizeof(dspec))
				return -2;
			memcpy(dspec, spec, l);
			dspec[l] = '\0';
			if (cidr_lens(spec + l, &v4, &v6) < 0)
				return -2;
		} else {
			v4 = 32;
			v6 = 128;
		}
		if (dspec[0] == '\0' && spec != NULL && spec[0] != '/')
			return -2;
		if (dspec[0] != '\0') {
			if (expand(e, dspec, domain, target, sizeof(target)) <
			    0)
				return -2;
		} else {
			snprintf(target, sizeof(target), "%s", domain);
		}
		if (NAME("a")) {
			int r = match_addrs(e, target, v4, v6);
			if (r == 0) {
				struct dnsrec_addr x;
				if (dnsrec_addr(target, e->family, &x) ==
					DNS_NOTFOUND &&
				    !void_lookup(e))
					return -2;
			}
			return r;
		}
		struct dnsrec_mx mx;
		enum dns_status st = dnsrec_mx(target, &mx);
		if (st == DNS_RETRY)
			return -1;
		if (st == DNS_NOTFOUND)
			return void_lookup(e) ? 0 : -2;
		if (mx.n > SPF_MX_LIMIT)
			return -2;
		for (size_t i = 0; i < mx.n; i++) {
			int r = match_addrs(e, mx.host[i], v4, v6);
			if (r != 0)
				return r;
		}
		return 0;
	}
	if (NAME("ptr")) {
		if (!count(e))
			return -2;
		return 0;
	}
	if (NAME("exists") || NAME("include")) {
		if (arg == NULL || arg[0] == '\0')
			return -2;
		if (!count(e))
			return -2;
		if (expand(e, arg, domain, target, sizeof(target)) < 0)
			return -2;
		if (NAME("exists")) {
			struct dnsrec_addr x;
			/* always an A lookup (§5.7) */
			int fam = e->family;
			e->family = 4;
			enum dns_status st = dnsrec_addr(target, 4, &x);
			e->family = fam;
			if (st == DNS_RETRY)
				return -1;
			if (st == DNS_NOTFOUND)
				return void_lookup(e) ? 0 : -2;
			return 1;
		}
		switch (check_host(e, target, depth + 1)) {
		case SPF_PASS:
			return 1;
		case SPF_FAIL:
		case SPF_SOFTFAIL:
		case SPF_NEUTRAL:
			return 0;
		case SPF_TEMPERROR:
			return -1;
		case SPF_PERMERROR:
		case SPF_NONE:
			return -2;
		}
		return -2;
	}
	return -2; /* unknown mechanism */
#undef NAME
}

static enum spf_result check_host(struct spf_eval *e, const char *domain,
				  int depth)
{
	if (depth > SPF_DEPTH_MAX)
		return SPF_PERMERROR;
	if (!domain_ok(domain))
		return SPF_NONE;
	struct dnsrec_txt t;
	enum dns_status st = dnsrec_txt(domain, &t);
	if (st == DNS_RETRY)
		return SPF_TEMPERROR;
	const char *rec = NULL;
	size_t nrec = 0;
	for (size_t i = 0; i < t.n; i++) {
		if (strncasecmp(t.v[i], "v=spf1", 6) == 0 &&
		    (t.v[i][6] == ' ' || t.v[i][6] == '\0')) {
			rec = t.v[i];
			nrec++;
		}
	}
	if (nrec == 0) {
		dnsrec_txt_free(&t);
		return SPF_NONE;
	}
	if (nrec > 1) {
		dnsrec_txt_free(&t);
		return SPF_PERMERROR;
	}
	enum spf_result res = SPF_NEUTRAL;
	char redirect[1024] = "";
	bool matched = false, err = false;
	const char *p = rec + 6;
	while (!matched && !err && *p) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		size_t tl = strcspn(p, " ");
		char term[1024];
		if (tl >= sizeof(term)) {
			res = SPF_PERMERROR;
			err = true;
			break;
		}
		memcpy(term, p, tl);
		term[tl] = '\0';
		p += tl;
		/* modifier: name=value, the name before any ':' or '/' */
		size_t nlen = strcspn(term, "=:/");
		if (term[nlen] == '=') {
			if (nlen == 8 &&
			    strncasecmp(term, "redirect", 8) == 0) {
				if (redirect[0] != '\0') {
					res = SPF_PERMERROR;
					err = true;
				}
				snprintf(redirect, sizeof(redirect), "%s",
					 term + 9);
			} else if (nlen == 0) {
				res = SPF_PERMERROR;
				err = true;
			}
			continue; /* exp= and unknown modifiers */
		}
		char q = '+';
		char *m = term;
		if (strchr("+-~?", *m)) {
			q = *m;
			m++;
		}
		size_t ml = strcspn(m, ":/");
		const char *arg = NULL;
		if (m[ml] == ':')
			arg = m + ml + 1;
		else if (m[ml] == '/')
			arg = m + ml;
		int r = mechanism(e, m, ml, arg, domain, depth);
		if (r == -1) {
			res = SPF_TEMPERROR;
			err = true;
		} else if (r < 0) {
			res = SPF_PERMERROR;
			err = true;
		} else if (r == 1) {
			matched = true;
			res = q == '-'	 ? SPF_FAIL
			      : q == '~' ? SPF_SOFTFAIL
			      : q == '?' ? SPF_NEUTRAL
					 : SPF_PASS;
		}
	}
	dnsrec_txt_free(&t);
	if (!matched && !err && redirect[0] != '\0') {
		char target[512];
		if (!count(e) ||
		    expand(e, redirect, domain, target, sizeof(target)) < 0)
			return SPF_PERMERROR;
		res = check_host(e, target, depth + 1);
		if (res == SPF_NONE)
			res = SPF_PERMERROR;
	}
	return res;
}

enum spf_result spf_check_host(const char *ip, const char *domain,
			       const char *sender, const char *helo)
{
	struct spf_eval e = {.sender = sender, .helo = helo, .ip_text = ip};
	if (inet_pton(AF_INET, ip, e.ip) == 1) {
		e.family = 4;
	} else if (inet_pton(AF_INET6, ip, e.ip) == 1) {
		e.family = 6;
		/* an IPv4-mapped address is checked as IPv4 (§5) */
		static const unsigned char v4m[12] = {0, 0, 0, 0, 0,	0,
						      0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(e.ip, v4m, 12) == 0) {
			memmove(e.ip, e.ip + 12, 4);
			e.family = 4;
		}
	} else {
		return SPF_NONE;
	}
	return check_host(&e, domain, 0);
}

enum spf_result spf_check(const char *ip, const char *sender, const char *helo,
			  char domain_r[256])
{
	const char *at = strrchr(sender, '@');
	char full[600];
	snprintf(domain_r, 256, "%s", at ? at + 1 : helo);
	if (at == NULL) {
		snprintf(full, sizeof(full), "postmaster@%s", helo);
		sender = full;
	}
	return spf_check_host(ip, domain_r, sender, helo);
}
