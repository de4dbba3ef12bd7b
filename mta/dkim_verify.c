/*
 * DKIM verification (see dkim_verify.h).  Per signature: the tags are
 * parsed (§3.5), the body hash compared (§3.7), the key fetched (§3.6.2),
 * then the header hash verified with the b= value emptied (§3.7: the
 * field as it appears, its b= value removed, no trailing CRLF).  Results
 * follow RFC 8601 §2.7.1: a DNS failure is temperror, never fail.
 */
#include "dkim_verify.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "dkim.h"
#include "dnsrec.h"
#include "xalloc.h"

const char *dkim_result_name(enum dkim_result r)
{
	static const char *const n[] = {"none",	   "pass",	"fail",
					"neutral", "temperror", "permerror"};
	return (unsigned)r < sizeof(n) / sizeof(n[0]) ? n[r] : "permerror";
}

static bool fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool dkim_tag(const char *list, size_t len, const char *tag, char *out,
	      size_t outsz)
{
	size_t tl = strlen(tag);
	size_t i = 0;
	while (i < len) {
		while (i < len && fws(list[i]))
			i++;
		size_t start = i;
		while (i < len && list[i] != '=' && list[i] != ';')
			i++;
		size_t ne = i;
		while (ne > start && fws(list[ne - 1]))
			ne--;
		if (i >= len || list[i] == ';') {
			i++;
			continue;
		}
		i++; /* '=' */
		size_t vs = i;
		while (i < len && list[i] != ';')
			i++;
		if (ne - start == tl && strncmp(list + start, tag, tl) == 0) {
			size_t o = 0;
			for (size_t k = vs; k < i; k++) {
				if (fws(list[k]))
					continue;
				if (o + 1 >= outsz)
					return false;
				out[o++] = list[k];
			}
			out[o] = '\0';
			return true;
		}
		i++;
	}
	return false;
}

/* The field with its b= value removed, into out (raw, not yet
   canonical): name_len bytes of name and the colon copied, then each
   tag; the one named "b" keeps its "b=" and loses its value. */
static int strip_b(const char *p, size_t len, size_t name_len, struct buf *out)
{
	size_t i = name_len + 1;
	if (buf_append(out, p, i) < 0)
		return -1;
	while (i < len) {
		size_t end = i;
		while (end < len && p[end] != ';')
			end++;
		size_t k = i;
		while (k < end && fws(p[k]))
			k++;
		size_t ns = k;
		while (k < end && p[k] != '=' && !fws(p[k]))
			k++;
		size_t ne = k;
		while (k < end && fws(p[k]))
			k++;
		bool is_b =
		    ne - ns == 1 && p[ns] == 'b' && k < end && p[k] == '=';
		size_t copy_to = is_b ? k + 1 : end;
		if (buf_append(out, p + i, copy_to - i) < 0)
			return -1;
		if (end < len && buf_append_char(out, ';') < 0)
			return -1;
		i = end + 1;
	}
	return 0;
}

static EVP_PKEY *key_from(const char *k, const char *p64, bool *revoked)
{
	unsigned char der[4096];
	size_t dl = 0;
	*revoked = p64[0] == '\0';
	if (*revoked)
		return NULL;
	if (base64_decode((struct str){p64, strlen(p64)}, false, der,
			  sizeof(der), &dl) < 0)
		return NULL;
	if (strcmp(k, "ed25519") == 0)
		return dl == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
							      NULL, der, 32)
				: NULL;
	if (strcmp(k, "rsa") != 0)
		return NULL;
	const unsigned char *q = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &q, (long)dl);
	if (pk == NULL) { /* a bare RSAPublicKey, as some publish */
		q = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)dl);
	}
	if (pk != NULL && (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
			   EVP_PKEY_get_bits(pk) < 1024)) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

static void verify_one(const struct dkim_msg *m, const struct dkim_field *f,
		       long long now, struct dkim_sig_result *r)
{
	const char *v = f->p + f->name_len + 1;
	size_t vl = f->len - f->name_len - 1;
	char ver[8], a[32], c[64] = "simple/simple", h[2048], bh[128], b[2048],
			    l[32], x[32], qv[64];
	r->result = DKIM_NEUTRAL;
	r->reason = "bad signature syntax";
	if (!dkim_tag(v, vl, "v", ver, sizeof(ver)) ||
	    !dkim_tag(v, vl, "a", a, sizeof(a)) ||
	    !dkim_tag(v, vl, "d", r->domain, sizeof(r->domain)) ||
	    !dkim_tag(v, vl, "s", r->selector, sizeof(r->selector)) ||
	    !dkim_tag(v, vl, "h", h, sizeof(h)) ||
	    !dkim_tag(v, vl, "bh", bh, sizeof(bh)) ||
	    !dkim_tag(v, vl, "b", b, sizeof(b)))
		return;
	memcpy(r->b8, b, strnlen(b, 8));
	r->b8[strnlen(b, 8)] = '\0';
	(void)dkim_tag(v, vl, "c", c, sizeof(c));
	if (strcmp(ver, "1") != 0)
		return;
	/* h= must name From (§5.4) */
	bool from = false;
	for (const char *p = h; *p;) {
		size_t n = strcspn(p, ":");
		if (n == 4 && strncasecmp(p, "from", 4) == 0)
			from = true;
		p += n + (p[n] == ':');
	}
	if (!from)
		return;
	bool ed = strcmp(a, "ed25519-sha256") == 0;
	if (!ed && strcmp(a, "rsa-sha256") != 0) {
		r->reason = "unsupported algorithm";
		return;
	}
	if (dkim_tag(v, vl, "q", qv, sizeof(qv)) &&
	    strncmp(qv, "dns/txt", 7) != 0)
		return;
	char *slash = strchr(c, '/');
	bool hrel = strncmp(c, "relaxed", 7) == 0;
	bool brel = slash ? strcmp(slash + 1, "relaxed") == 0 : false;
	if ((!hrel && strncmp(c, "simple", 6) != 0) ||
	    (slash && !brel && strcmp(slash + 1, "simple") != 0))
		return;
	long long lim = -1;
	if (dkim_tag(v, vl, "l", l, sizeof(l))) {
		char *end;
		lim = strtoll(l, &end, 10);
		if (*end != '\0' || lim < 0)
			return;
	}
	if (dkim_tag(v, vl, "x", x, sizeof(x)) && strtoll(x, NULL, 10) < now) {
		r->result = DKIM_FAIL;
		r->reason = "signature expired";
		return;
	}
	/* the body first: no DNS query for a body that changed */
	unsigned char hash[32], want[64];
	size_t wl = 0;
	dkim_body_hash(m->body, m->body_len, brel, lim, hash);
	if (base64_decode((struct str){bh, strlen(bh)}, false, want,
			  sizeof(want), &wl) < 0 ||
	    wl != 32)
		return;
	if (memcmp(hash, want, 32) != 0) {
		r->result = DKIM_FAIL;
		r->reason = "body hash did not verify";
		return;
	}
	char qname[400];
	snprintf(qname, sizeof(qname), "%s._domainkey.%s", r->selector,
		 r->domain);
	struct dnsrec_txt t;
	enum dns_status st = dnsrec_txt(qname, &t);
	if (st != DNS_OK) {
		r->result = st == DNS_RETRY ? DKIM_TEMPERROR : DKIM_PERMERROR;
		r->reason = st == DNS_RETRY ? "key lookup failed"
					    : "no key for signature";
		return;
	}
	/* the first record that parses as a key */
	EVP_PKEY *pk = NULL;
	bool revoked = false;
	for (size_t i = 0; i < t.n && pk == NULL && !revoked; i++) {
		char kv[16] = "DKIM1", kk[16] = "rsa", kp[4096];
		size_t tl = strlen(t.v[i]);
		(void)dkim_tag(t.v[i], tl, "v", kv, sizeof(kv));
		(void)dkim_tag(t.v[i], tl, "k", kk, sizeof(kk));
		if (strcmp(kv, "DKIM1") != 0 ||
		    !dkim_tag(t.v[i], tl, "p", kp, sizeof(kp)))
			continue;
		if (strcmp(kk, ed ? "ed25519" : "rsa") != 0)
			continue;
		pk = key_from(kk, kp, &revoked);
	}
	dnsrec_txt_free(&t);
	if (pk == NULL) {
		r->result = DKIM_PERMERROR;
		r->reason = revoked ? "key revoked" : "no usable key";
		return;
	}
	struct buf data, sf;
	buf_init(&data, 16 * 1024 * 1024);
	buf_init(&sf, DKIM_HEADER_MAX + 16);
	unsigned char sig[1024];
	size_t sl = 0;
	bool ok = dkim_headers_data(m, h, hrel, &data) == 0 &&
		  strip_b(f->p, f->len, f->name_len, &sf) == 0 &&
		  dkim_canon_header(sf.p ? sf.p : "", sf.len, hrel, true,
				    &data) == 0 &&
		  base64_decode((struct str){b, strlen(b)}, false, sig,
				sizeof(sig), &sl) == 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (ok && ed) {
		unsigned char dg[32];
		unsigned int dl = 32;
		ok = EVP_Digest(data.p, data.len, dg, &dl, EVP_sha256(),
				NULL) == 1 &&
		     EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
		     EVP_DigestVerify(md, sig, sl, dg, dl) == 1;
	} else if (ok) {
		ok =
		    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) ==
			1 &&
		    EVP_DigestVerify(md, sig, sl, (const unsigned char *)data.p,
				     data.len) == 1;
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	buf_deinit(&data);
	buf_deinit(&sf);
	r->result = ok ? DKIM_PASS : DKIM_FAIL;
	r->reason = ok ? "verified" : "signature did not verify";
}

size_t dkim_verify(const char *msg, size_t len, long long now,
		   struct dkim_sig_result *res)
{
	struct dkim_msg *m = xmalloc(sizeof(*m));
	size_t n = 0;
	dkim_msg_parse(msg, len, m);
	for (size_t i = 0; i < m->nf && n < DKIM_VERIFY_MAX; i++) {
		if (!dkim_field_is(&m->f[i], "dkim-signature"))
			continue;
		memset(&res[n], 0, sizeof(res[n]));
		if (m->f[i].len > DKIM_HEADER_MAX) {
			res[n].result = DKIM_NEUTRAL;
			res[n].reason = "signature too long";
		} else {
			verify_one(m, &m->f[i], now, &res[n]);
		}
		n++;
	}
	free(m);
	return n;
}
