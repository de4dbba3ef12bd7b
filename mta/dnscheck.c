/*
 * DNS checks (see dnscheck.h).  One resolver state per worker thread
 * (res_nquery is reentrant only that way).  The answer section is not
 * parsed for existence checks: a NOERROR reply with answers means "found",
 * the way Postfix's dns_lookup() sees it, except that an A record is read
 * out for block lists.
 */
#include "dnscheck.h"

#include <arpa/inet.h>
#include <limits.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "str.h"

static pthread_mutex_t dns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sockaddr_in dns_server; /* sin_family 0: resolv.conf */

static __thread struct __res_state dns_rs;
static __thread bool dns_rs_ready;

bool dns_set_server(const char *server)
{
	struct sockaddr_in sa = {0};
	if (server != NULL && server[0] != '\0') {
		char host[INET_ADDRSTRLEN + 1];
		const char *colon = strchr(server, ':');
		size_t hl = colon ? (size_t)(colon - server) : strlen(server);
		uint64_t port = 53;
		if (hl == 0 || hl >= sizeof(host))
			return false;
		memcpy(host, server, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
			return false;
		if (colon != NULL &&
		    str_parse_u64(colon + 1, 1, 65535, &port) < 0)
			return false;
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
	}
	pthread_mutex_lock(&dns_lock);
	dns_server = sa;
	pthread_mutex_unlock(&dns_lock);
	return true;
}

bool dns_get_server(struct sockaddr_in *sa_r)
{
	pthread_mutex_lock(&dns_lock);
	*sa_r = dns_server;
	pthread_mutex_unlock(&dns_lock);
	return sa_r->sin_family == AF_INET;
}

static struct __res_state *resolver(void)
{
	if (!dns_rs_ready) {
		memset(&dns_rs, 0, sizeof(dns_rs));
		if (res_ninit(&dns_rs) < 0)
			return NULL;
		dns_rs_ready = true;
	}
	struct sockaddr_in sa;
	pthread_mutex_lock(&dns_lock);
	sa = dns_server;
	pthread_mutex_unlock(&dns_lock);
	if (sa.sin_family == AF_INET) {
		dns_rs.nsaddr_list[0] = sa;
		dns_rs.nscount = 1;
		dns_rs.retrans = 2;
		dns_rs.retry = 1;
	}
	return &dns_rs;
}

/* The answer section of msg (len bytes): *n_r records into rr (max).  -1
   when the message is malformed.  A small reader on dn_skipname, which is
   in libc, unlike ns_initparse (no -lresolv); RFC 1035 4.1. */
int dns_reply_answers(const unsigned char *msg, size_t len, struct dns_rr *rr,
		      size_t max, size_t *n_r)
{
	*n_r = 0;
	if (len < 12 || len > DNS_REPLY_MAX)
		return -1;
	size_t qd = (size_t)(msg[4] << 8 | msg[5]);
	size_t an = (size_t)(msg[6] << 8 | msg[7]);
	const unsigned char *p = msg + 12, *end = msg + len;
	for (size_t i = 0; i < qd; i++) {
		int n = dn_skipname(p, end);
		if (n < 0 || end - p < (ptrdiff_t)n + 4)
			return -1;
		p += n + 4;
	}
	for (size_t i = 0; i < an && *n_r < max; i++) {
		int n = dn_skipname(p, end);
		if (n < 0 || end - p < (ptrdiff_t)n + 10)
			return -1;
		p += n;
		int type = p[0] << 8 | p[1];
		size_t rdlen = (size_t)(p[8] << 8 | p[9]);
		p += 10;
		if ((size_t)(end - p) < rdlen)
			return -1;
		rr[*n_r] = (struct dns_rr){type, p, rdlen};
		(*n_r)++;
		p += rdlen;
	}
	return 0;
}

int dns_reply_ptr(const unsigned char *msg, size_t len, char *name,
		  size_t namesz)
{
	struct dns_rr rr[DNS_RR_MAX];
	size_t nrr = 0;
	name[0] = '\0';
	if (namesz < 2 || dns_reply_answers(msg, len, rr, DNS_RR_MAX, &nrr) < 0)
		return -1;
	for (size_t i = 0; i < nrr; i++) {
		if (rr[i].type == ns_t_ptr &&
		    dn_expand(msg, msg + len, rr[i].rdata, name,
			      namesz > INT_MAX ? INT_MAX : (int)namesz) >= 0 &&
		    dns_name_ok(name))
			return 1;
		name[0] = '\0';
	}
	return 0;
}

bool dns_reply_has_addr(const unsigned char *msg, size_t len,
			const unsigned char *addr, size_t alen)
{
	struct dns_rr rr[DNS_RR_MAX];
	size_t nrr = 0;
	int type = alen == 16 ? ns_t_aaaa : ns_t_a;
	if (dns_reply_answers(msg, len, rr, DNS_RR_MAX, &nrr) < 0)
		return false;
	for (size_t i = 0; i < nrr; i++)
		if (rr[i].type == type && rr[i].rdlen == alen &&
		    memcmp(rr[i].rdata, addr, alen) == 0)
			return true;
	return false;
}

int dns_reply_listing(const unsigned char *msg, size_t len,
		      struct dns_listing *r)
{
	struct dns_rr rr[DNS_RR_MAX];
	size_t nrr = 0;
	r->naddr = 0;
	if (dns_reply_answers(msg, len, rr, DNS_RR_MAX, &nrr) < 0)
		return -1;
	for (size_t i = 0; i < nrr && r->naddr < DNS_LISTED_MAX; i++) {
		if (rr[i].type == ns_t_a && rr[i].rdlen == 4)
			memcpy(r->addr[r->naddr++], rr[i].rdata, 4);
	}
	return 0;
}

void dns_reply_txt(const unsigned char *msg, size_t len, char *txt,
		   size_t txtsz)
{
	struct dns_rr rr[DNS_RR_MAX];
	size_t nrr = 0;
	if (txtsz == 0)
		return;
	txt[0] = '\0';
	if (dns_reply_answers(msg, len, rr, DNS_RR_MAX, &nrr) < 0)
		return;
	/* the first TXT record, its strings joined (RFC 1035 3.3.14: one
	   or more <character-string>s) */
	for (size_t i = 0; i < nrr; i++) {
		if (rr[i].type != ns_t_txt)
			continue;
		size_t o = 0;
		for (size_t p = 0; p < rr[i].rdlen;) {
			size_t sl = rr[i].rdata[p++];
			for (size_t j = 0; j < sl && p < rr[i].rdlen;
			     j++, p++) {
				unsigned char ch = rr[i].rdata[p];
				if (o + 1 >= txtsz)
					break;
				/* a reply line: printable ASCII only */
				txt[o++] =
				    ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
			}
		}
		txt[o] = '\0';
		return;
	}
}

/* One query.  ans (anssz) gets the reply when DNS_OK. */
static enum dns_status query(const char *name, int type, unsigned char *ans,
			     size_t anssz, int *len_r)
{
	struct __res_state *rs = resolver();
	if (rs == NULL)
		return DNS_RETRY;
	int n = res_nquery(rs, name, ns_c_in, type, ans, (int)anssz);
	if (n < 0) {
		switch (rs->res_h_errno) {
		case HOST_NOT_FOUND: /* NXDOMAIN */
		case NO_DATA:	     /* NOERROR, no records of this type */
			return DNS_NOTFOUND;
		default: /* TRY_AGAIN (SERVFAIL, timeout), NO_RECOVERY */
			return DNS_RETRY;
		}
	}
	if (n < 12)
		return DNS_RETRY;
	if ((ans[6] << 8 | ans[7]) == 0)
		return DNS_NOTFOUND;
	if (len_r != NULL)
		*len_r = n;
	return DNS_OK;
}

enum dns_status dns_query(const char *name, int type, unsigned char *ans,
			  size_t anssz, int *len_r)
{
	return query(name, type, ans, anssz, len_r);
}

static enum dns_status any_of(const char *name, const int *types, size_t n)
{
	unsigned char ans[4096];
	bool retry = false;
	for (size_t i = 0; i < n; i++) {
		enum dns_status st =
		    query(name, types[i], ans, sizeof(ans), NULL);
		if (st == DNS_OK)
			return DNS_OK;
		if (st == DNS_RETRY)
			retry = true;
	}
	return retry ? DNS_RETRY : DNS_NOTFOUND;
}

enum dns_status dns_mailhost(const char *domain)
{
	static const int types[] = {ns_t_mx, ns_t_a, ns_t_aaaa};
	return any_of(domain, types, 3);
}

enum dns_status dns_hostname(const char *name)
{
	static const int types[] = {ns_t_a, ns_t_aaaa, ns_t_mx};
	return any_of(name, types, 3);
}

enum dns_status dns_listed(const char *name, const char *zone,
			   struct dns_listing *r)
{
	char q[NS_MAXDNAME + 1];
	unsigned char ans[4096];
	int len = 0;
	memset(r, 0, sizeof(*r));
	int n = snprintf(q, sizeof(q), "%s.%s", name, zone);
	if (n < 0 || (size_t)n >= sizeof(q))
		return DNS_NOTFOUND;
	enum dns_status st = query(q, ns_t_a, ans, sizeof(ans), &len);
	if (st != DNS_OK)
		return st;
	if (dns_reply_listing(ans, (size_t)len, r) < 0)
		return DNS_RETRY;
	if (r->naddr == 0)
		return DNS_NOTFOUND; /* only a CNAME, say */
	/* the reason; a failure leaves it empty, as Postfix's reply without
	   $rbl_reason */
	if (query(q, ns_t_txt, ans, sizeof(ans), &len) == DNS_OK)
		dns_reply_txt(ans, (size_t)len, r->txt, sizeof(r->txt));
	return DNS_OK;
}

bool dns_reverse_ip(const char *addr, char *out, size_t outsz)
{
	unsigned char a[16];
	int n;
	if (inet_pton(AF_INET, addr, a) == 1) {
		n = snprintf(out, outsz, "%u.%u.%u.%u", a[3], a[2], a[1], a[0]);
		return n > 0 && (size_t)n < outsz;
	}
	if (inet_pton(AF_INET6, addr, a) != 1 || outsz < 64)
		return false;
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 15; i >= 0; i--) {
		out[o++] = hex[a[i] & 15];
		out[o++] = '.';
		out[o++] = hex[a[i] >> 4];
		out[o++] = i ? '.' : '\0';
	}
	return true;
}

/*
 * A name a PTR record may give us: letters, digits, '-', '_' and dots,
 * not all digits and dots (Postfix refuses a "numeric" name: it would
 * pass for an address in access tables and logs).
 */
bool dns_name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len > 253 || !str_is_hostname(str_from_cstr(n)) || n[0] == '.' ||
	    n[0] == '-')
		return false;
	return strspn(n, "0123456789.") < len;
}

/* Through NSS (/etc/hosts, then DNS) as Postfix's getnameinfo() does. */
static enum dns_status name_nss(const char *addr, char *name, size_t namesz,
				enum dns_status *ptr_r)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST}, *ai = NULL;
	*ptr_r = DNS_NOTFOUND;
	if (getaddrinfo(addr, NULL, &hints, &ai) != 0)
		return DNS_NOTFOUND;
	int rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, name,
			     (socklen_t)namesz, NULL, 0, NI_NAMEREQD);
	freeaddrinfo(ai);
	if (rc == EAI_AGAIN) {
		*ptr_r = DNS_RETRY;
		return DNS_RETRY;
	}
	if (rc != 0 || !dns_name_ok(name))
		return DNS_NOTFOUND;
	*ptr_r = DNS_OK;
	hints = (struct addrinfo){.ai_socktype = SOCK_STREAM};
	rc = getaddrinfo(name, NULL, &hints, &ai);
	if (rc == EAI_AGAIN)
		return DNS_RETRY;
	if (rc != 0)
		return DNS_NOTFOUND;
	bool ok = false;
	for (struct addrinfo *p = ai; p && !ok; p = p->ai_next) {
		char t[INET6_ADDRSTRLEN];
		if (getnameinfo(p->ai_addr, p->ai_addrlen, t, sizeof(t), NULL,
				0, NI_NUMERICHOST) == 0 &&
		    strcmp(t, addr) == 0)
			ok = true;
	}
	freeaddrinfo(ai);
	return ok ? DNS_OK : DNS_NOTFOUND;
}

enum dns_status dns_client_name(const char *addr, char *name, size_t namesz,
				enum dns_status *ptr_r)
{
	struct sockaddr_in sa;
	pthread_mutex_lock(&dns_lock);
	sa = dns_server;
	pthread_mutex_unlock(&dns_lock);
	name[0] = '\0';
	if (sa.sin_family != AF_INET)
		return name_nss(addr, name, namesz, ptr_r);

	/* a configured server: PTR and A/AAAA through it */
	char rev[80], q[128];
	unsigned char ans[4096];
	int len = 0;
	bool v6 = strchr(addr, ':') != NULL;
	*ptr_r = DNS_NOTFOUND;
	if (!dns_reverse_ip(addr, rev, sizeof(rev)))
		return DNS_NOTFOUND;
	int n = snprintf(q, sizeof(q), "%s.%s", rev,
			 v6 ? "ip6.arpa" : "in-addr.arpa");
	if (n < 0 || (size_t)n >= sizeof(q))
		return DNS_NOTFOUND;
	enum dns_status st = query(q, ns_t_ptr, ans, sizeof(ans), &len);
	if (st != DNS_OK) {
		*ptr_r = st;
		return st;
	}
	int pr = dns_reply_ptr(ans, (size_t)len, name, namesz);
	if (pr <= 0) {
		*ptr_r = pr < 0 ? DNS_RETRY : DNS_NOTFOUND;
		return *ptr_r;
	}
	*ptr_r = DNS_OK;
	st = query(name, v6 ? ns_t_aaaa : ns_t_a, ans, sizeof(ans), &len);
	if (st != DNS_OK)
		return st;
	unsigned char want[16];
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, want) != 1)
		return DNS_NOTFOUND;
	return dns_reply_has_addr(ans, (size_t)len, want, v6 ? 16 : 4)
		   ? DNS_OK
		   : DNS_NOTFOUND;
}
