/*
 * DMARC evaluation (see dmarc.h).  RFC 7489 §6.6.3: the record of the
 * exact From: domain, else of its organizational domain; a DNS failure is
 * temperror (no policy applied); p= invalid or missing is a permerror
 * unless rua= exists (treated as p=none, §6.6.3 step 6).  pct= samples
 * as §6.6.4 says: a failing message outside the pct% sample gets the
 * next-lower policy (reject -> quarantine, quarantine -> none); pct=0 and
 * pct=100 are deterministic.
 */
#include "dmarc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsrec.h"

const char *dmarc_result_name(enum dmarc_result r)
{
	static const char *const n[] = {"none", "pass", "fail", "temperror",
					"permerror"};
	return (unsigned)r < sizeof(n) / sizeof(n[0]) ? n[r] : "permerror";
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	return p == DMARC_P_REJECT	 ? "reject"
	       : p == DMARC_P_QUARANTINE ? "quarantine"
					 : "none";
}

unsigned dmarc_pct_parse(const char *v)
{
	unsigned n = 0;
	size_t i = 0;
	while (v[i] == ' ' || v[i] == '\t')
		i++;
	size_t start = i;
	for (; v[i] >= '0' && v[i] <= '9' && i - start < 4; i++)
		n = n * 10 + (unsigned)(v[i] - '0');
	while (v[i] == ' ' || v[i] == '\t')
		i++;
	if (i == start || v[i] != '\0' || n > 100)
		return 100;
	return n;
}

enum dmarc_policy dmarc_disposition(enum dmarc_policy p, bool sampled)
{
	if (sampled)
		return p;
	return p == DMARC_P_REJECT ? DMARC_P_QUARANTINE : DMARC_P_NONE;
}

void dmarc_org_domain(const struct psl *l, const char *d, char *out,
		      size_t outsz)
{
	if (l != NULL && psl_count(l) > 0) {
		(void)psl_org_domain(l, d, out, outsz);
		return;
	}
	static const char *const sld[] = {"co",	 "com", "net", "org",
					  "gov", "edu", "ac"};
	size_t n = strlen(d);
	while (n > 0 && d[n - 1] == '.')
		n--;
	size_t labels = 2;
	const char *last = NULL, *second = NULL;
	for (size_t i = n; i-- > 0;) {
		if (d[i] != '.')
			continue;
		if (last == NULL) {
			last = d + i + 1;
		} else {
			second = d + i + 1;
			break;
		}
	}
	if (last != NULL && (size_t)(d + n - last) == 2) {
		const char *s2 = second ? second : d;
		size_t l2 = (size_t)(last - 1 - s2);
		for (size_t i = 0; i < sizeof(sld) / sizeof(sld[0]); i++) {
			if (strlen(sld[i]) == l2 &&
			    strncmp(s2, sld[i], l2) == 0)
				labels = 3;
		}
	}
	/* keep the last `labels` labels */
	size_t seen = 0, start = 0;
	for (size_t i = n; i-- > 0;) {
		if (d[i] == '.' && ++seen == labels) {
			start = i + 1;
			break;
		}
	}
	snprintf(out, outsz, "%.*s", (int)(n - start), d + start);
}

static bool aligned(const struct psl *l, const char *a, const char *from,
		    bool strict)
{
	if (strcasecmp(a, from) == 0)
		return true;
	if (strict)
		return false;
	char oa[256], of[256];
	dmarc_org_domain(l, a, oa, sizeof(oa));
	dmarc_org_domain(l, from, of, sizeof(of));
	return strcasecmp(oa, of) == 0;
}

/* 1 found (record into rec), 0 none, -1 DNS failure, -2 several */
static int fetch(const char *domain, char *rec, size_t recsz)
{
	char q[300];
	struct dnsrec_txt t;
	int rc = 0;
	snprintf(q, sizeof(q), "_dmarc.%s", domain);
	enum dns_status st = dnsrec_txt(q, &t);
	if (st == DNS_RETRY)
		return -1;
	for (size_t i = 0; st == DNS_OK && i < t.n; i++) {
		const char *v = t.v[i];
		while (*v == ' ' || *v == '\t')
			v++;
		if (strncmp(v, "v=DMARC1", 8) != 0 ||
		    (v[8] != ';' && v[8] != ' ' && v[8] != '\t' &&
		     v[8] != '\0'))
			continue;
		rc = rc == 1 ? -2 : 1;
		snprintf(rec, recsz, "%s", v);
	}
	if (st == DNS_OK)
		dnsrec_txt_free(&t);
	return rc;
}

static bool parse_p(const char *v, enum dmarc_policy *p)
{
	if (strcmp(v, "none") == 0)
		*p = DMARC_P_NONE;
	else if (strcmp(v, "quarantine") == 0)
		*p = DMARC_P_QUARANTINE;
	else if (strcmp(v, "reject") == 0)
		*p = DMARC_P_REJECT;
	else
		return false;
	return true;
}

void dmarc_check(const struct psl *l, const char *from_domain,
		 const struct dkim_sig_result *dk, size_t ndk,
		 enum spf_result spf, const char *spf_domain,
		 struct dmarc_eval *r)
{
	char rec[4096], org[256], v[256];
	r->result = DMARC_NONE;
	r->policy = DMARC_P_NONE;
	r->pct = 100;
	r->sampled = true;
	r->disposition = DMARC_P_NONE;
	snprintf(r->domain, sizeof(r->domain), "%s", from_domain);
	dmarc_org_domain(l, from_domain, org, sizeof(org));
	bool sub = false;
	int f = fetch(from_domain, rec, sizeof(rec));
	if (f == 0 && strcasecmp(org, from_domain) != 0) {
		f = fetch(org, rec, sizeof(rec));
		sub = true;
	}
	if (f == -1) {
		r->result = DMARC_TEMPERROR;
		return;
	}
	if (f == -2) {
		r->result = DMARC_PERMERROR;
		return;
	}
	if (f == 0)
		return;
	size_t rl = strlen(rec);
	if (!dkim_tag(rec, rl, "p", v, sizeof(v)) || !parse_p(v, &r->policy)) {
		if (!dkim_tag(rec, rl, "rua", v, sizeof(v))) {
			r->result = DMARC_PERMERROR;
			return;
		}
		r->policy = DMARC_P_NONE;
	}
	if (sub && dkim_tag(rec, rl, "sp", v, sizeof(v)))
		(void)parse_p(v, &r->policy);
	bool sdkim =
	    dkim_tag(rec, rl, "adkim", v, sizeof(v)) && strcmp(v, "s") == 0;
	bool sspf =
	    dkim_tag(rec, rl, "aspf", v, sizeof(v)) && strcmp(v, "s") == 0;
	bool pass =
	    spf == SPF_PASS && aligned(l, spf_domain, from_domain, sspf);
	for (size_t i = 0; !pass && i < ndk; i++)
		pass = dk[i].result == DKIM_PASS &&
		       aligned(l, dk[i].domain, from_domain, sdkim);
	r->result = pass ? DMARC_PASS : DMARC_FAIL;
	if (dkim_tag(rec, rl, "pct", v, sizeof(v)))
		r->pct = dmarc_pct_parse(v);
	if (!pass) {
		/* §6.6.4: 0 and 100 without drawing */
		r->sampled = r->pct >= 100 ||
			     (r->pct > 0 && arc4random_uniform(100) < r->pct);
		r->disposition = dmarc_disposition(r->policy, r->sampled);
	}
}
