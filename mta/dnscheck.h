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
/* The server set, into *sa_r: true, or false for resolv.conf's. */
struct sockaddr_in;
bool dns_get_server(struct sockaddr_in *sa_r);

/* One query of type (ns_t_txt, ...) for name: DNS_OK with the reply in
   ans (anssz bytes; its length in *len_r), DNS_NOTFOUND for NXDOMAIN or
   no answer, DNS_RETRY. */
enum dns_status dns_query(const char *name, int type, unsigned char *ans,
			  size_t anssz, int *len_r);
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
/*
 * The reader of DNS messages (RFC 1035 4.1), for the lookups above and the
 * connect-time resolver; every function takes a reply of len bytes from
 * the network (untrusted, at most DNS_REPLY_MAX).
 */
#define DNS_REPLY_MAX 65535
#define DNS_RR_MAX    32
struct dns_rr {
	int type;		    /* ns_t_a, ns_t_ptr, ... */
	const unsigned char *rdata; /* borrowed from the message */
	size_t rdlen;
};
/* Up to max answer records into rr, their number in *n_r.  0, or -1 for a
   malformed message. */
int dns_reply_answers(const unsigned char *msg, size_t len, struct dns_rr *rr,
		      size_t max, size_t *n_r);
/* The first PTR answer that is a valid, non-numeric host name
   (dns_name_ok) into name (namesz): 1; 0 when there is none (name ""); -1
   for a malformed message. */
int dns_reply_ptr(const unsigned char *msg, size_t len, char *name,
		  size_t namesz);
/* Whether an A (alen 4) or AAAA (alen 16) answer is addr. */
bool dns_reply_has_addr(const unsigned char *msg, size_t len,
			const unsigned char *addr, size_t alen);
/* The A answers into r->addr/r->naddr (r->txt untouched).  0 or -1. */
int dns_reply_listing(const unsigned char *msg, size_t len,
		      struct dns_listing *r);
/* The first TXT answer's strings joined, non-printable bytes as '?', into
   txt (txtsz > 0; "" when none). */
void dns_reply_txt(const unsigned char *msg, size_t len, char *txt,
		   size_t txtsz);
/* A name a PTR record may give: a host name (str_is_hostname) of at most
   253 bytes, not starting with '.' or '-', not all digits and dots
   (Postfix refuses a "numeric" name: it would pass for an address). */
bool dns_name_ok(const char *name);

enum dns_status dns_client_name(const char *addr, char *name_r, size_t namesz,
				enum dns_status *ptr_r);

#endif
