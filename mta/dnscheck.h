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
/*
 * Block list: an A record for name under zone (name is "d.c.b.a" for an
 * IPv4 client, the nibbles for IPv6, or a domain for RHSBL).  DNS_OK when
 * listed; the first A record goes to addr_r (16 bytes, may be NULL).
 */
enum dns_status dns_listed(const char *name, const char *zone, char *addr_r);
/* The reversed form of addr for a DNSBL query; false if not an address. */
bool dns_reverse_ip(const char *addr, char *out, size_t outsz);
/*
 * The client's name: PTR, then forward-confirmed (one of the name's A/AAAA
 * records is addr).  DNS_OK with the name in name_r; DNS_NOTFOUND when
 * there is no name or it does not confirm.
 */
enum dns_status dns_client_name(const char *addr, char *name_r, size_t namesz);

#endif
