/*
 * Sieve's comparators and match types (RFC 5228 §2.7, RFC 4790, RFC 5231):
 * i;octet, i;ascii-casemap and i;ascii-numeric under :is, :contains,
 * :matches and the relational :value.  :matches is the classic wildcard
 * walk that backs up only to the most recent '*', so it is O(n * m) at
 * worst and never exponential; its captures follow RFC 5229 §3.2 (each
 * '*' as short as the rest of the match allows, the last one taking what
 * remains).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sieve_int.h"
#include "xalloc.h"

static unsigned char sieve_fold(enum sieve_cmp cmp, unsigned char c)
{
	return cmp == SIEVE_CMP_OCTET ? c : (unsigned char)tolower(c);
}

/* i;ascii-numeric (RFC 4790 §9.1): the leading digits as a number; a
   string that does not start with a digit is positive infinity. */
static int sieve_numeric_cmp(const char *a, size_t alen, const char *b,
			     size_t blen)
{
	size_t ad = 0, bd = 0;
	while (ad < alen && isdigit((unsigned char)a[ad]))
		ad++;
	while (bd < blen && isdigit((unsigned char)b[bd]))
		bd++;
	if (ad == 0 || bd == 0)
		return ad == bd ? 0 : ad == 0 ? 1 : -1;
	/* compare without leading zeros, by length then digits */
	while (ad > 1 && *a == '0') {
		a++;
		ad--;
	}
	while (bd > 1 && *b == '0') {
		b++;
		bd--;
	}
	if (ad != bd)
		return ad < bd ? -1 : 1;
	int c = memcmp(a, b, ad);
	return c < 0 ? -1 : c > 0;
}

static int sieve_cmp_order(enum sieve_cmp cmp, const char *a, size_t alen,
			   const char *b, size_t blen)
{
	if (cmp == SIEVE_CMP_NUMERIC)
		return sieve_numeric_cmp(a, alen, b, blen);
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = sieve_fold(cmp, (unsigned char)a[i]);
		unsigned char y = sieve_fold(cmp, (unsigned char)b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen == blen ? 0 : alen < blen ? -1 : 1;
}

bool sieve_relational(enum sieve_rel rel, enum sieve_cmp cmp, const char *a,
		      size_t alen, const char *b, size_t blen)
{
	int c = sieve_cmp_order(cmp, a, alen, b, blen);
	switch (rel) {
	case SIEVE_REL_GT:
		return c > 0;
	case SIEVE_REL_GE:
		return c >= 0;
	case SIEVE_REL_LT:
		return c < 0;
	case SIEVE_REL_LE:
		return c <= 0;
	case SIEVE_REL_EQ:
		return c == 0;
	case SIEVE_REL_NE:
		return c != 0;
	case SIEVE_REL_NONE:
		break;
	}
	return false;
}

static bool sieve_contains(enum sieve_cmp cmp, const char *v, size_t vlen,
			   const char *k, size_t klen)
{
	if (klen == 0)
		return true;
	if (cmp == SIEVE_CMP_OCTET)
		return memmem(v, vlen, k, klen) != NULL;
	/* fold both, then glibc's two-way memmem: linear */
	char *fv = xmalloc(vlen + 1), *fk = xmalloc(klen + 1);
	for (size_t i = 0; i < vlen; i++)
		fv[i] = (char)tolower((unsigned char)v[i]);
	for (size_t i = 0; i < klen; i++)
		fk[i] = (char)tolower((unsigned char)k[i]);
	bool r = memmem(fv, vlen, fk, klen) != NULL;
	free(fv);
	free(fk);
	return r;
}

/* One element of a :matches pattern. */
struct sieve_pat {
	int c;	      /* the byte, or -1 '*', -2 '?' */
	unsigned var; /* wildcard number (1-based) */
};

static bool sieve_glob(enum sieve_cmp cmp, const char *v, size_t vlen,
		       const char *k, size_t klen, struct sieve_captures *caps)
{
	struct sieve_pat *pat = xmalloc((klen + 1) * sizeof(*pat));
	size_t m = 0;
	unsigned nvar = 0;
	for (size_t i = 0; i < klen; i++) {
		if (k[i] == '\\' && i + 1 < klen) {
			pat[m++] = (struct sieve_pat){(unsigned char)k[++i], 0};
		} else if (k[i] == '*') {
			pat[m++] = (struct sieve_pat){-1, ++nvar};
		} else if (k[i] == '?') {
			pat[m++] = (struct sieve_pat){-2, ++nvar};
		} else {
			pat[m++] = (struct sieve_pat){(unsigned char)k[i], 0};
		}
	}
	/* capture spans per wildcard */
	size_t *cs = xcalloc(2 * ((size_t)nvar + 1), sizeof(size_t));
	size_t p = 0, s = 0, star_p = SIZE_MAX, star_s = 0;
	bool ok = true;
	while (s < vlen) {
		if (p < m && pat[p].c == -2) {
			cs[2 * pat[p].var] = s;
			cs[2 * pat[p].var + 1] = 1;
			p++;
			s++;
		} else if (p < m && pat[p].c == -1) {
			star_p = p;
			star_s = s;
			cs[2 * pat[p].var] = s;
			cs[2 * pat[p].var + 1] = 0;
			p++;
		} else if (p < m && sieve_fold(cmp, (unsigned char)pat[p].c) ==
					sieve_fold(cmp, (unsigned char)v[s])) {
			p++;
			s++;
		} else if (star_p != SIZE_MAX) {
			p = star_p + 1;
			s = ++star_s;
			cs[2 * pat[star_p].var + 1] =
			    s - cs[2 * pat[star_p].var];
		} else {
			ok = false;
			break;
		}
	}
	while (ok && p < m && pat[p].c == -1) {
		cs[2 * pat[p].var] = s;
		cs[2 * pat[p].var + 1] = 0;
		p++;
	}
	ok = ok && p == m;
	if (ok && caps != NULL) {
		caps->n = 0;
		for (unsigned i = 0; i <= nvar && i < SIEVE_MATCH_VARS; i++) {
			buf_reset(&caps->v[i]);
			const char *src = i == 0 ? v : v + cs[2 * i];
			size_t n = i == 0 ? vlen : cs[2 * i + 1];
			if (buf_append(&caps->v[i], src, n) < 0)
				buf_reset(&caps->v[i]);
			caps->n = i + 1;
		}
	}
	free(cs);
	free(pat);
	return ok;
}

bool sieve_match(enum sieve_mt mt, enum sieve_cmp cmp, const char *value,
		 size_t vlen, const char *key, size_t klen,
		 struct sieve_captures *caps)
{
	switch (mt) {
	case SIEVE_MT_IS:
		return sieve_cmp_order(cmp, value, vlen, key, klen) == 0;
	case SIEVE_MT_CONTAINS:
		return sieve_contains(cmp, value, vlen, key, klen);
	case SIEVE_MT_MATCHES:
		return sieve_glob(cmp, value, vlen, key, klen, caps);
	}
	return false;
}
