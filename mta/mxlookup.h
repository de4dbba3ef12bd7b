/*
 * MX lookups for the SMTP client (RFC 5321 §5.1) through the system
 * resolver (res_query), with our own bounded answer parser.  Blocking:
 * delivery threads only.
 */
#ifndef MTA_MXLOOKUP_H
#define MTA_MXLOOKUP_H

#include <stddef.h>

#define MX_HOSTS_MAX 16
#define MX_NAME_MAX  256

enum mx_status {
	MX_OK,	     /* MX records found */
	MX_NODATA,   /* the name exists without MX: use it as the host */
	MX_NOTFOUND, /* NXDOMAIN */
	MX_TEMPFAIL, /* SERVFAIL, timeout, malformed answer */
};

struct mx_host {
	unsigned pref;
	char host[MX_NAME_MAX];
};

/*
 * Parses a DNS answer (len bytes) for MX records: fills mx (at most
 * max), sorted by preference (stable), and *n_r.  Returns MX_OK, or
 * MX_NODATA when the answer holds none, MX_TEMPFAIL when malformed.
 */
enum mx_status mx_parse(const unsigned char *ans, size_t len,
			struct mx_host *mx, size_t max, size_t *n_r);

/* Looks domain's MX records up.  As mx_parse, plus MX_NOTFOUND. */
enum mx_status mx_lookup(const char *domain, struct mx_host *mx, size_t max,
			 size_t *n_r);

#endif
