/*
 * TXT, A, AAAA and MX answers (see dnsrec.h).  Answers are read with
 * dnscheck's bounds-checked record walker; names inside MX data are
 * expanded with libc's dn_expand against the whole message (compression).
 */
#include "dnsrec.h"

#include <arpa/nameser.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define ANS_MAX 65535

enum dns_status dnsrec_txt(const char *name, struct dnsrec_txt *t)
{
	unsigned char *ans = xmalloc(ANS_MAX);
	int len = 0;
	t->n = 0;
	enum dns_status st = dns_query(name, ns_t_txt, ans, ANS_MAX, &len);
	if (st == DNS_OK) {
		struct dns_rr rr[DNS_RR_MAX];
		size_t nrr = 0;
		if (dns_reply_answers(ans, (size_t)len, rr, DNS_RR_MAX, &nrr) <
		    0)
			st = DNS_RETRY;
		for (size_t i = 0; st == DNS_OK && i < nrr && t->n < DNSREC_MAX;
		     i++) {
			if (rr[i].type != ns_t_txt)
				continue;
			char *v = xmalloc(DNSREC_TXT_MAX);
			size_t o = 0;
			for (size_t p = 0; p < rr[i].rdlen;) {
				size_t sl = rr[i].rdata[p++];
				for (size_t j = 0; j < sl && p < rr[i].rdlen;
				     j++, p++) {
					if (o + 1 < DNSREC_TXT_MAX)
						v[o++] = (char)rr[i].rdata[p];
				}
			}
			v[o] = '\0';
			t->v[t->n++] = v;
		}
		if (st == DNS_OK && t->n == 0)
			st = DNS_NOTFOUND;
	}
	free(ans);
	return st;
}

void dnsrec_txt_free(struct dnsrec_txt *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	t->n = 0;
}

enum dns_status dnsrec_addr(const char *name, int family, struct dnsrec_addr *r)
{
	unsigned char *ans = xmalloc(ANS_MAX);
	int len = 0;
	int type = family == 6 ? ns_t_aaaa : ns_t_a;
	size_t al = family == 6 ? 16 : 4;
	r->n = 0;
	r->family = family;
	enum dns_status st = dns_query(name, type, ans, ANS_MAX, &len);
	if (st == DNS_OK) {
		struct dns_rr rr[DNS_RR_MAX];
		size_t nrr = 0;
		if (dns_reply_answers(ans, (size_t)len, rr, DNS_RR_MAX, &nrr) <
		    0)
			st = DNS_RETRY;
		for (size_t i = 0; st == DNS_OK && i < nrr && r->n < DNSREC_MAX;
		     i++) {
			if (rr[i].type == type && rr[i].rdlen == al)
				memcpy(r->a[r->n++], rr[i].rdata, al);
		}
		if (st == DNS_OK && r->n == 0)
			st = DNS_NOTFOUND;
	}
	free(ans);
	return st;
}

enum dns_status dnsrec_mx(const char *name, struct dnsrec_mx *r)
{
	unsigned char *ans = xmalloc(ANS_MAX);
	int len = 0;
	r->n = 0;
	enum dns_status st = dns_query(name, ns_t_mx, ans, ANS_MAX, &len);
	if (st == DNS_OK) {
		struct dns_rr rr[DNS_RR_MAX];
		size_t nrr = 0;
		if (dns_reply_answers(ans, (size_t)len, rr, DNS_RR_MAX, &nrr) <
		    0)
			st = DNS_RETRY;
		for (size_t i = 0; st == DNS_OK && i < nrr && r->n < DNSREC_MAX;
		     i++) {
			if (rr[i].type != ns_t_mx || rr[i].rdlen < 3)
				continue;
			if (dn_expand(ans, ans + len, rr[i].rdata + 2,
				      r->host[r->n], sizeof(r->host[0])) > 0)
				r->n++;
		}
		if (st == DNS_OK && r->n == 0)
			st = DNS_NOTFOUND;
	}
	free(ans);
	return st;
}
