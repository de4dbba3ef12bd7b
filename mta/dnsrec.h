/*
 * The DNS records the sender checks read (TXT for DKIM keys, SPF and
 * DMARC; A, AAAA and MX for SPF), on mta/dnscheck.c's resolver.  Blocking:
 * worker threads only.
 */
#ifndef MTA_DNSREC_H
#define MTA_DNSREC_H

#include <stddef.h>

#include "dnscheck.h"

/* Most records of one answer kept, and the longest TXT record. */
#define DNSREC_MAX     32
#define DNSREC_TXT_MAX 8192

/* The TXT records of a name, each one's strings joined (raw bytes, NUL
   terminated, embedded NULs cut the string short). */
struct dnsrec_txt {
	size_t n;
	char *v[DNSREC_MAX]; /* owned */
};
enum dns_status dnsrec_txt(const char *name, struct dnsrec_txt *t);
void dnsrec_txt_free(struct dnsrec_txt *t);

/* A (family 4: 4-byte entries) or AAAA (6: 16-byte entries) records. */
struct dnsrec_addr {
	size_t n;
	int family;
	unsigned char a[DNSREC_MAX][16];
};
enum dns_status dnsrec_addr(const char *name, int family,
			    struct dnsrec_addr *r);

/* MX host names (in the order received). */
struct dnsrec_mx {
	size_t n;
	char host[DNSREC_MAX][256];
};
enum dns_status dnsrec_mx(const char *name, struct dnsrec_mx *r);

#endif
