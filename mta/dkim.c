/*
 * DKIM canonicalisation (see dkim.h).  RFC 6376 §3.4.2 (relaxed header):
 * the name lower-cased, the value unfolded, runs of WSP one SP, WSP at
 * the end of the value and around the colon removed.  §3.4.4 (relaxed
 * body): WSP at line ends removed, runs of WSP one SP, empty lines at
 * the end removed, and a non-empty body ends in CRLF.  The body is hashed
 * as it is walked: no copy of a large body is made.
 */
#include "dkim.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

void dkim_msg_parse(const char *msg, size_t len, struct dkim_msg *m)
{
	size_t i = 0;
	m->nf = 0;
	m->too_many = false;
	m->body = msg + len;
	m->body_len = 0;
	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (msg + i)) : len - i;
		if (ll == 0 || (ll == 1 && msg[i] == '\r')) {
			/* the empty line: the body follows */
			m->body = msg + i + ll + (nl ? 1 : 0);
			m->body_len = len - (size_t)(m->body - msg);
			return;
		}
		if ((msg[i] == ' ' || msg[i] == '\t') && m->nf > 0) {
			/* continuation of the previous field */
			struct dkim_field *f = &m->f[m->nf - 1];
			f->len = (size_t)(msg + i + ll - f->p);
		} else if (m->nf < DKIM_FIELDS_MAX) {
			const char *colon = memchr(msg + i, ':', ll);
			struct dkim_field *f = &m->f[m->nf++];
			f->p = msg + i;
			f->len = ll;
			f->name_len = colon ? (size_t)(colon - (msg + i)) : ll;
		} else {
			m->too_many = true;
		}
		i += ll + (nl ? 1 : 0);
	}
}

bool dkim_field_is(const struct dkim_field *f, const char *name)
{
	size_t n = strlen(name), fl = f->name_len;
	/* "Name :" (obsolete WSP before the colon) counts */
	while (fl > 0 && (f->p[fl - 1] == ' ' || f->p[fl - 1] == '\t'))
		fl--;
	return fl == n && strncasecmp(f->p, name, n) == 0;
}

static bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

int dkim_canon_header(const char *p, size_t len, bool relaxed, bool no_crlf,
		      struct buf *out)
{
	int rc = 0;
	if (!relaxed) {
		/* simple: as is, with CR LF line ends */
		for (size_t i = 0; i < len && rc == 0; i++) {
			if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
				rc |= buf_append_char(out, '\r');
			rc |= buf_append_char(out, p[i]);
		}
		if (!no_crlf)
			rc |= buf_append(out, "\r\n", 2);
		return rc ? -1 : 0;
	}
	const char *colon = memchr(p, ':', len);
	size_t nl = colon ? (size_t)(colon - p) : len;
	size_t ne = nl;
	while (ne > 0 && wsp(p[ne - 1]))
		ne--;
	for (size_t i = 0; i < ne && rc == 0; i++) {
		char c = p[i];
		rc |= buf_append_char(
		    out, (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c);
	}
	rc |= buf_append_char(out, ':');
	bool pending_sp = false, started = false;
	for (size_t i = nl + 1; i < len && rc == 0; i++) {
		char c = p[i];
		if (c == '\n' || (c == '\r' && i + 1 < len && p[i + 1] == '\n'))
			continue; /* unfold (a bare CR is kept) */
		if (wsp(c)) {
			pending_sp = started;
			continue;
		}
		if (pending_sp)
			rc |= buf_append_char(out, ' ');
		pending_sp = false;
		started = true;
		rc |= buf_append_char(out, c);
	}
	if (!no_crlf)
		rc |= buf_append(out, "\r\n", 2);
	return rc ? -1 : 0;
}

/* Feeds canonical body bytes to the digest, within the l= limit. */
struct bh {
	EVP_MD_CTX *md;
	long long left; /* -1: no limit */
	bool wrote;
};

static void bh_put(struct bh *h, const char *p, size_t n)
{
	if (h->left >= 0) {
		if ((long long)n > h->left)
			n = (size_t)h->left;
		h->left -= (long long)n;
	}
	h->wrote = true;
	if (n > 0)
		EVP_DigestUpdate(h->md, p, n);
}

void dkim_body_hash(const char *body, size_t len, bool relaxed, long long l,
		    unsigned char out[32])
{
	struct bh h = {EVP_MD_CTX_new(), l, false};
	size_t empty = 0; /* empty lines seen and not yet written */
	size_t i = 0;
	EVP_DigestInit_ex(h.md, EVP_sha256(), NULL);
	while (i < len) {
		const char *nl = memchr(body + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (body + i)) : len - i;
		const char *line = body + i;
		i += ll + (nl ? 1 : 0);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (relaxed) {
			while (ll > 0 && wsp(line[ll - 1]))
				ll--;
		}
		if (ll == 0) {
			empty++;
			continue;
		}
		for (; empty > 0; empty--)
			bh_put(&h, "\r\n", 2);
		if (!relaxed) {
			bh_put(&h, line, ll);
		} else {
			size_t k = 0;
			while (k < ll) {
				size_t run = k;
				while (run < ll && !wsp(line[run]))
					run++;
				bh_put(&h, line + k, run - k);
				if (run < ll) {
					bh_put(&h, " ", 1);
					while (run < ll && wsp(line[run]))
						run++;
				}
				k = run;
			}
		}
		bh_put(&h, "\r\n", 2);
	}
	/* simple: an empty body (or only empty lines) is one CRLF
	   (§3.4.3); relaxed: nothing (§3.4.4) */
	if (!relaxed && !h.wrote)
		bh_put(&h, "\r\n", 2);
	unsigned int olen = 32;
	EVP_DigestFinal_ex(h.md, out, &olen);
	EVP_MD_CTX_free(h.md);
}

int dkim_headers_data(const struct dkim_msg *m, const char *h, bool relaxed,
		      struct buf *out)
{
	/* used[i]: field i already taken by an earlier name of h */
	bool used[DKIM_FIELDS_MAX] = {false};
	const char *p = h;
	size_t names = 0;
	while (*p != '\0') {
		while (*p == ':' || wsp(*p) || *p == '\r' || *p == '\n')
			p++;
		size_t n = strcspn(p, ": \t\r\n");
		if (n == 0)
			break;
		if (++names > DKIM_H_MAX)
			return -1;
		char name[256];
		if (n >= sizeof(name))
			return -1;
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		for (size_t i = m->nf; i-- > 0;) {
			if (!used[i] && dkim_field_is(&m->f[i], name)) {
				used[i] = true;
				if (m->f[i].len > DKIM_HEADER_MAX ||
				    dkim_canon_header(m->f[i].p, m->f[i].len,
						      relaxed, false, out) < 0)
					return -1;
				break;
			}
		}
	}
	return 0;
}
