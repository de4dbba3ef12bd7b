/*
 * Blocking DNS checks for the restrictions (run them in worker threads
 * only): does a mail domain or host name exist, is an address or domain
 * listed in a DNS block list, does a client address have a (forward
 * confirmed) name.  Queries go through res_nquery with one resolver state
 * per thread, to /etc/resolv.conf's servers or to the one server given.
 */
#ifndef MTA_DNSCHECK_H
#define MTA_DNSCHECK_H

#include <stdbool.h>
#include <stddef.h>

enum dns_status {
	DNS_OK,	      /* found */
	DNS_NOTFOUND, /* NXDOMAIN, or no record of the types asked */
	DNS_RETRY,    /* SERVFAIL, timeout, no server: try again later */
};

/* The server to ask ("ip" or "ip:port"; NULL or "": resolv.conf).  Returns
   false for a bad address.  Call before the workers start, or pass the
   same text to every call (dns_set_server keeps a copy per thread). */
bool dns_set_server(const char *server);

/* MX, then A, then AAAA (reject_unknown_*_domain). */
enum dns_status dns_mailhost(const char *domain);
/* A, then AAAA, then MX (reject_unknown_helo_hostname). */
enum dns_status dns_hostname(const char *name);
/* What a block list says about a name. */
#define DNS_LISTED_MAX 16
#define DNS_TXT_MAX    256
struct dns_listing {
	size_t naddr;			       /* A records found */
	unsigned char addr[DNS_LISTED_MAX][4]; /* e.g. 127.0.0.2 */
	char txt[DNS_TXT_MAX];		       /* the TXT reason, or "" */
};

/*
 * Block list: A records for name under zone (name is "d.c.b.a" for an
 * IPv4 client, the nibbles for IPv6, or a domain for RHSBL).  DNS_OK when
 * listed, with the addresses and the text of the first TXT record for the
 * same name (control bytes replaced by '?') in *r.
 */
enum dns_status dns_listed(const char *name, const char *zone,
			   struct dns_listing *r);
/* The reversed form of addr for a DNSBL query; false if not an address. */
bool dns_reverse_ip(const char *addr, char *out, size_t outsz);
/*
 * The client's name (Postfix's name and reverse_name): the PTR name goes to
 * name_r ("" when none) with the PTR lookup's own status in *ptr_r; the
 * result says whether that name is forward-confirmed (one of its A/AAAA
 * records is addr): DNS_OK, DNS_NOTFOUND (no PTR, a malformed or numeric
 * name, or no match) or DNS_RETRY.
 */
enum dns_status dns_client_name(const char *addr, char *name_r, size_t namesz,
				enum dns_status *ptr_r);

#endif
