/*
 * Sender Policy Framework (RFC 7208): check_host() for the client address
 * and the MAIL FROM identity (or the HELO name for the null sender), with
 * the RFC's limits (10 DNS-querying terms, 2 void lookups, 10 MX names)
 * and macros (§7).  "ptr" is evaluated as not matching (§5.5 says it
 * SHOULD NOT be used; its lookups cost the most).  Blocking DNS: worker
 * threads only.
 */
#ifndef MTA_SPF_H
#define MTA_SPF_H

#include <stddef.h>

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/* "none", "pass", ... as RFC 8601 writes them. */
const char *spf_result_name(enum spf_result r);

/*
 * check_host(ip, domain of sender, sender).  ip: the client address as
 * text (IPv4 or IPv6); sender: the MAIL FROM address ("" for the null
 * sender: postmaster@helo is checked); helo: the HELO/EHLO name.  The
 * domain checked goes to domain_r (256 bytes).
 */
enum spf_result spf_check(const char *ip, const char *sender, const char *helo,
			  char domain_r[256]);

/* For the tests: check_host() with an explicit domain. */
enum spf_result spf_check_host(const char *ip, const char *domain,
			       const char *sender, const char *helo);

/* Macro expansion (§7) of spec into out (outsz) for the given inputs;
   0, or -1 for a syntax error (permerror). */
int spf_expand(const char *spec, const char *ip, const char *domain,
	       const char *sender, const char *helo, char *out, size_t outsz);

#endif
