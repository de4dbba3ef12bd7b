/*
 * DMARC (RFC 7489): the policy record of the From: domain (or of its
 * organizational domain), and whether an SPF or DKIM pass is aligned with
 * that domain (adkim, aspf; relaxed: same organizational domain).  The
 * organizational domain comes from the Public Suffix List (psl.h,
 * dmarc_public_suffix_list); without a list, the last two labels, or
 * three when the second-level label is a common registry one ("co",
 * "com", "net", "org", "gov", "edu", "ac") under a two-letter country
 * code.  Blocking DNS: worker threads only.
 */
#ifndef MTA_DMARC_H
#define MTA_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim_verify.h"
#include "psl.h"
#include "spf.h"

enum dmarc_result {
	DMARC_NONE, /* no record */
	DMARC_PASS,
	DMARC_FAIL,
	DMARC_TEMPERROR,
	DMARC_PERMERROR,
};

enum dmarc_policy {
	DMARC_P_NONE,
	DMARC_P_QUARANTINE,
	DMARC_P_REJECT,
};

struct dmarc_eval {
	enum dmarc_result result;
	enum dmarc_policy policy; /* p=, or sp= for a subdomain */
	/* RFC 7489 §6.6.4: pct= (0..100, default 100); for a failing
	   message, whether it fell in the pct% sample (always true at 100,
	   never at 0), and the policy to apply: policy when sampled, the
	   next-lower one (reject -> quarantine -> none) otherwise */
	unsigned pct;
	bool sampled;
	enum dmarc_policy disposition;
	char domain[256]; /* header.from */
};

const char *dmarc_result_name(enum dmarc_result r);
const char *dmarc_policy_name(enum dmarc_policy p);

/* The pct= value of a DMARC record's tag text: 0..100, or 100 when the
   tag is missing or not a number in that range (RFC 7489 §6.3: default
   100; an invalid value is ignored). */
unsigned dmarc_pct_parse(const char *v);

/* The policy a failing message gets (RFC 7489 §6.6.4): p when sampled,
   else the next-lower one. */
enum dmarc_policy dmarc_disposition(enum dmarc_policy p, bool sampled);

/* The organizational domain of d into out (outsz), from the list l
   (NULL: the two-or-three-labels guess). */
void dmarc_org_domain(const struct psl *l, const char *d, char *out,
		      size_t outsz);

/* Evaluates DMARC for from_domain (lower case) given the DKIM results
   and the SPF result for spf_domain; l as for dmarc_org_domain.  A
   failing message with pct < 100 is sampled with arc4random. */
void dmarc_check(const struct psl *l, const char *from_domain,
		 const struct dkim_sig_result *dk, size_t ndk,
		 enum spf_result spf, const char *spf_domain,
		 struct dmarc_eval *r);

#endif
