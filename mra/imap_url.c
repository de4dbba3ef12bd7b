/*
 * CATENATE's and URLAUTH's IMAP URLs; see imap_url.h.
 */
#include "imap_url.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imap_fetch.h"
#include "imap_mbox.h"
#include "mra.h"

/* Decodes %xx escapes of [p, e) into out.  0 or -1. */
static int imap_url_unescape(const char *p, const char *e, char *out,
			     size_t outsz)
{
	size_t n = 0;
	while (p < e) {
		int ch = (unsigned char)*p++;
		if (ch == '%') {
			static const char hex[] = "0123456789abcdef";
			if (e - p < 2)
				return -1;
			const char *h = strchr(hex, p[0] | 0x20);
			const char *l = strchr(hex, p[1] | 0x20);
			if (p[0] == '\0' || p[1] == '\0' || h == NULL ||
			    l == NULL)
				return -1;
			ch = (int)((h - hex) * 16 + (l - hex));
			if (ch == 0)
				return -1;
			p += 2;
		}
		if (n + 1 >= outsz)
			return -1;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	return 0;
}

/* A decimal number of 1..max at p (digits only), the end in *end_r. */
static int imap_url_num(const char *p, uint64_t max, uint64_t *v_r,
			const char **end_r)
{
	if (*p < '0' || *p > '9')
		return -1;
	uint64_t v = 0;
	while (*p >= '0' && *p <= '9') {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	*v_r = v;
	*end_r = p;
	return 0;
}

int imap_url_parse(const char *url, struct imap_url *u)
{
	memset(u, 0, sizeof *u);
	if (url[0] != '/')
		return -1;
	const char *mb = url + 1;
	const char *semi = strstr(mb, "/;");
	if (semi == NULL)
		return -1;
	const char *mbend = semi;
	const char *v = memchr(mb, ';', (size_t)(semi - mb));
	uint64_t n;
	const char *e;
	if (v != NULL) {
		if (strncasecmp(v, ";uidvalidity=", 13) != 0 ||
		    imap_url_num(v + 13, UINT32_MAX, &n, &e) < 0 || e != semi ||
		    n == 0)
			return -1;
		u->uidvalidity = (uint32_t)n;
		mbend = v;
	}
	if (mbend == mb ||
	    imap_url_unescape(mb, mbend, u->mailbox, sizeof u->mailbox) < 0)
		return -1;
	const char *p = semi + 2;
	if (strncasecmp(p, "uid=", 4) != 0 ||
	    imap_url_num(p + 4, UINT32_MAX, &n, &e) < 0 || n == 0)
		return -1;
	u->uid = (uint32_t)n;
	p = e;
	if (strncasecmp(p, "/;section=", 10) == 0) {
		const char *se = strstr(p + 10, "/;");
		if (se == NULL)
			se = p + strlen(p);
		if (se == p + 10 || imap_url_unescape(p + 10, se, u->section,
						      sizeof u->section) < 0)
			return -1;
		p = se;
	}
	if (strncasecmp(p, "/;partial=", 10) == 0) {
		if (imap_url_num(p + 10, UINT64_MAX, &u->off, &e) < 0)
			return -1;
		u->len = UINT64_MAX;
		if (*e == '.' &&
		    (imap_url_num(e + 1, UINT64_MAX, &u->len, &e) < 0 ||
		     u->len == 0))
			return -1;
		u->partial = true;
		p = e;
	}
	return *p == '\0' ? 0 : -1;
}

int imap_url_message(const char *maildir, const struct imap_url *pu,
		     struct buf *msg)
{
	struct maildir_folder *f = imap_mbox_open(maildir, pu->mailbox);
	if (f == NULL)
		return -1;
	long k = maildir_folder_find(f, pu->uid);
	struct maildir_msg *m = k >= 0 ? &f->msgs[k] : NULL;
	struct buf raw;
	buf_init(&raw, mra_srv.message_size_limit * 2);
	int rc = -1;
	if (m != NULL &&
	    (pu->uidvalidity == 0 || pu->uidvalidity == f->uidvalidity) &&
	    maildir_msg_read(f, m, &raw) == 0) {
		imap_fetch_to_crlf(raw.p ? raw.p : "", raw.len, msg);
		rc = 0;
	}
	buf_deinit(&raw);
	maildir_folder_free(&f);
	return rc;
}

int imap_url_fetch(const char *maildir, const char *url, struct buf *out)
{
	struct imap_url pu;
	if (imap_url_parse(url, &pu) < 0)
		return -1;
	int rc = -1;
	struct imap_fetch_sec sec;
	memset(&sec, 0, sizeof sec);
	struct buf msg;
	buf_init(&msg, mra_srv.message_size_limit * 2 + 1024);
	if (imap_fetch_section(pu.section, strlen(pu.section), &sec) < 0 ||
	    imap_url_message(maildir, &pu, &msg) < 0)
		goto out;
	sec.partial = pu.partial;
	sec.off = pu.off;
	sec.len = pu.len;
	if (imap_fetch_section_text(msg.p ? msg.p : "", msg.len, &sec, out) ==
	    0)
		rc = 0;
out:
	free(sec.label);
	free(sec.part);
	for (size_t i = 0; i < sec.nfields; i++)
		free(sec.fields[i]);
	free(sec.fields);
	buf_deinit(&msg);
	return rc;
}
