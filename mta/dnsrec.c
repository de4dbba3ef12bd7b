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

/* One query's answer section: the records point into msg. */
struct dnsrec_answer {
	unsigned char *msg;
	int len;
	struct dns_rr rr[DNS_RR_MAX];
	size_t nrr;
};

/*
 * Asks for name's records of type and splits the answer section.  DNS_OK:
 * a->msg is owned by the caller (free()); any other status: nothing to
 * free.  An answer that does not parse is a temporary failure.
 */
static enum dns_status dnsrec_answer(const char *name, int type,
				     struct dnsrec_answer *a)
{
	a->msg = xmalloc(ANS_MAX);
	a->len = 0;
	a->nrr = 0;
	enum dns_status st = dns_query(name, type, a->msg, ANS_MAX, &a->len);
	if (st == DNS_OK && dns_reply_answers(a->msg, (size_t)a->len, a->rr,
					      DNS_RR_MAX, &a->nrr) < 0)
		st = DNS_RETRY;
	if (st != DNS_OK) {
		free(a->msg);
		a->msg = NULL;
		a->nrr = 0;
	}
	return st;
}

enum dns_status dnsrec_txt(const char *name, struct dnsrec_txt *t)
{
	struct dnsrec_answer a;
	t->n = 0;
	enum dns_status st = dnsrec_answer(name, ns_t_txt, &a);
	if (st != DNS_OK)
		return st;
	for (size_t i = 0; i < a.nrr && t->n < DNSREC_MAX; i++) {
		const struct dns_rr *rr = &a.rr[i];
		if (rr->type != ns_t_txt)
			continue;
		char *v = xmalloc(DNSREC_TXT_MAX);
		size_t o = 0;
		for (size_t p = 0; p < rr->rdlen;) {
			size_t sl = rr->rdata[p++];
			for (size_t j = 0; j < sl && p < rr->rdlen; j++, p++) {
				if (o + 1 < DNSREC_TXT_MAX)
					v[o++] = (char)rr->rdata[p];
			}
		}
		v[o] = '\0';
		t->v[t->n++] = v;
	}
	free(a.msg);
	return t->n == 0 ? DNS_NOTFOUND : DNS_OK;
}

void dnsrec_txt_free(struct dnsrec_txt *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	t->n = 0;
}

enum dns_status dnsrec_addr(const char *name, int family, struct dnsrec_addr *r)
{
	struct dnsrec_answer a;
	int type = family == 6 ? ns_t_aaaa : ns_t_a;
	size_t al = family == 6 ? 16 : 4;
	r->n = 0;
	r->family = family;
	enum dns_status st = dnsrec_answer(name, type, &a);
	if (st != DNS_OK)
		return st;
	for (size_t i = 0; i < a.nrr && r->n < DNSREC_MAX; i++) {
		if (a.rr[i].type == type && a.rr[i].rdlen == al)
			memcpy(r->a[r->n++], a.rr[i].rdata, al);
	}
	free(a.msg);
	return r->n == 0 ? DNS_NOTFOUND : DNS_OK;
}

enum dns_status dnsrec_mx(const char *name, struct dnsrec_mx *r)
{
	struct dnsrec_answer a;
	r->n = 0;
	enum dns_status st = dnsrec_answer(name, ns_t_mx, &a);
	if (st != DNS_OK)
		return st;
	for (size_t i = 0; i < a.nrr && r->n < DNSREC_MAX; i++) {
		if (a.rr[i].type != ns_t_mx || a.rr[i].rdlen < 3)
			continue;
		if (dn_expand(a.msg, a.msg + a.len, a.rr[i].rdata + 2,
			      r->host[r->n], sizeof(r->host[0])) > 0)
			r->n++;
	}
	free(a.msg);
	return r->n == 0 ? DNS_NOTFOUND : DNS_OK;
}
