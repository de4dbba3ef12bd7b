/*
 * MX lookups (see mxlookup.h).  The answer is walked by hand with dn_expand()
 * so that no ns_* helper of libresolv is needed.
 */
#include "mxlookup.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

#define MX_ANSWER_MAX 8192

static unsigned mx_u16(const unsigned char *p)
{
	return ((unsigned)p[0] << 8) | p[1];
}

/* Skips a (possibly compressed) name at p; returns the next offset or 0. */
static size_t mx_skip_name(const unsigned char *ans, size_t len, size_t off)
{
	char name[MX_NAME_MAX * 4];
	int n = dn_expand(ans, ans + len, ans + off, name, sizeof(name));
	if (n < 0)
		return 0;
	return off + (size_t)n;
}

enum mx_status mx_parse(const unsigned char *ans, size_t len,
			struct mx_host *mx, size_t max, size_t *n_r)
{
	*n_r = 0;
	if (len < 12)
		return MX_TEMPFAIL;
	unsigned qd = mx_u16(ans + 4), an = mx_u16(ans + 6);
	size_t off = 12;
	for (unsigned i = 0; i < qd; i++) {
		off = mx_skip_name(ans, len, off);
		if (off == 0 || off + 4 > len)
			return MX_TEMPFAIL;
		off += 4;
	}
	size_t n = 0;
	for (unsigned i = 0; i < an; i++) {
		off = mx_skip_name(ans, len, off);
		if (off == 0 || off + 10 > len)
			return MX_TEMPFAIL;
		unsigned type = mx_u16(ans + off);
		unsigned rdlen = mx_u16(ans + off + 8);
		off += 10;
		if (off + rdlen > len)
			return MX_TEMPFAIL;
		if (type == 15 /* MX */ && rdlen >= 3 && n < max) {
			int k = dn_expand(ans, ans + len, ans + off + 2,
					  mx[n].host, sizeof(mx[n].host));
			if (k < 0)
				return MX_TEMPFAIL;
			mx[n].pref = mx_u16(ans + off);
			n++;
		}
		off += rdlen;
	}
	/* insertion sort: stable, n is small */
	for (size_t i = 1; i < n; i++) {
		struct mx_host t = mx[i];
		size_t j = i;
		while (j > 0 && mx[j - 1].pref > t.pref) {
			mx[j] = mx[j - 1];
			j--;
		}
		mx[j] = t;
	}
	*n_r = n;
	return n > 0 ? MX_OK : MX_NODATA;
}

enum mx_status mx_lookup(const char *domain, struct mx_host *mx, size_t max,
			 size_t *n_r)
{
	unsigned char buf[MX_ANSWER_MAX];
	struct __res_state st;
	memset(&st, 0, sizeof(st));
	*n_r = 0;
	if (res_ninit(&st) < 0)
		return MX_TEMPFAIL;
	int len = res_nquery(&st, domain, C_IN, 15, buf, (int)sizeof(buf));
	int herr = st.res_h_errno;
	res_nclose(&st);
	if (len < 0) {
		if (herr == HOST_NOT_FOUND)
			return MX_NOTFOUND;
		if (herr == NO_DATA)
			return MX_NODATA;
		return MX_TEMPFAIL;
	}
	if ((size_t)len > sizeof(buf))
		len = (int)sizeof(buf);
	return mx_parse(buf, (size_t)len, mx, max, n_r);
}
