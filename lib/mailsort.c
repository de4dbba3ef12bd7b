/*
 * The sort and thread keys of a message (RFC 5256 §2), shared by
 * youju-mra's SORT and THREAD and youju-webmail's message list and
 * conversations; see mailsort.h.
 */
#include "mailsort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addrlist.h"
#include "mime.h"
#include "str.h"
#include "xalloc.h"

/* ---- base subject (RFC 5256 §2.1) --------------------------------------- */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Length of a subj-blob ("[" *BLOBCHAR "]" *WSP) at s, or 0. */
static size_t blob_len(const char *s, size_t n)
{
	if (n == 0 || s[0] != '[')
		return 0;
	size_t i = 1;
	while (i < n && s[i] != '[' && s[i] != ']')
		i++;
	if (i >= n || s[i] != ']')
		return 0;
	i++;
	while (i < n && is_wsp(s[i]))
		i++;
	return i;
}

/* Length of a subj-leader at s: WSP, or *subj-blob subj-refwd; 0 if
   none. */
static size_t leader_len(const char *s, size_t n)
{
	if (n > 0 && is_wsp(s[0]))
		return 1;
	size_t i = 0, b;
	while ((b = blob_len(s + i, n - i)) > 0)
		i += b;
	if (n - i >= 2 && strncasecmp(s + i, "re", 2) == 0)
		i += 2;
	else if (n - i >= 3 && strncasecmp(s + i, "fwd", 3) == 0)
		i += 3;
	else if (n - i >= 2 && strncasecmp(s + i, "fw", 2) == 0)
		i += 2;
	else
		return 0;
	while (i < n && is_wsp(s[i]))
		i++;
	i += blob_len(s + i, n - i);
	if (i < n && s[i] == ':')
		return i + 1;
	return 0;
}

int mailsort_base_subject(const char *s, size_t len, struct buf *out,
			  bool *reply_r)
{
	bool reply = false;
	/* (1) white space runs become one space (on a private copy) */
	char *t = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (is_wsp(s[i])) {
			if (n > 0 && t[n - 1] == ' ')
				continue;
			t[n++] = ' ';
		} else {
			t[n++] = s[i];
		}
	}
	size_t a = 0, e = n; /* the base is t[a..e) */
	for (;;) {
		/* (2) trailing "(fwd)" and white space */
		for (;;) {
			if (e > a && t[e - 1] == ' ')
				e--;
			else if (e - a >= 5 &&
				 strncasecmp(t + e - 5, "(fwd)", 5) == 0) {
				e -= 5;
				reply = true;
			} else
				break;
		}
		/* (3), (4), (5): leaders, then a leading blob if something
		   is left after it */
		for (;;) {
			size_t l = leader_len(t + a, e - a);
			if (l > 0) {
				reply |= t[a] != ' ';
				a += l;
				continue;
			}
			size_t b = blob_len(t + a, e - a);
			if (b > 0 && a + b < e) {
				a += b;
				continue;
			}
			break;
		}
		/* (6) "[fwd: ... ]" */
		if (e - a >= 6 && strncasecmp(t + a, "[fwd:", 5) == 0 &&
		    t[e - 1] == ']') {
			a += 5;
			e--;
			reply = true;
			continue;
		}
		break;
	}
	int rc = buf_append(out, t + a, e - a);
	free(t);
	if (reply_r != NULL)
		*reply_r = reply;
	return rc;
}

/* ---- keys ------------------------------------------------------------- */

static int month_no(const char *m)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	for (int i = 0; i < 12; i++)
		if (strncasecmp(m, names + 3 * i, 3) == 0)
			return i + 1;
	return 0;
}

/* RFC 5322 §3.3 date-time (with the obsolete zones) into UTC seconds. */
bool mailsort_parse_date(const char *v, size_t len, int64_t *t_r)
{
	char s[128];
	size_t l = len < sizeof s - 1 ? len : sizeof s - 1;
	memcpy(s, v, l);
	s[l] = '\0';
	const char *p = strchr(s, ',');
	p = p ? p + 1 : s;
	unsigned d, y, hh, mm, ss = 0;
	char mon[4], rest[32] = "";
	int k = sscanf(p, " %2u %3s %4u %2u:%2u:%2u %31s", &d, mon, &y, &hh,
		       &mm, &ss, rest);
	if (k < 6) {
		ss = 0;
		rest[0] = '\0';
		k = sscanf(p, " %2u %3s %4u %2u:%2u %31s", &d, mon, &y, &hh,
			   &mm, rest);
		if (k < 5)
			return false;
	}
	int mo = month_no(mon);
	if (mo == 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
		return false;
	if (y < 50)
		y += 2000;
	else if (y < 1000)
		y += 1900;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = (int)d;
	tm.tm_hour = (int)hh;
	tm.tm_min = (int)mm;
	tm.tm_sec = (int)ss;
	int64_t t = (int64_t)timegm(&tm);
	if ((rest[0] == '+' || rest[0] == '-') && strlen(rest) >= 5) {
		int zh = (rest[1] - '0') * 10 + (rest[2] - '0');
		int zm = (rest[3] - '0') * 10 + (rest[4] - '0');
		int off = zh * 3600 + zm * 60;
		t -= rest[0] == '+' ? off : -off;
	}
	*t_r = t;
	return true;
}

/*
 * The comparison form of p[0..len) as an owned string: case-folded
 * (lib/mime), then ASCII letters in upper case, because i;unicode-casemap
 * compares titlecased text: "[xyz]" and "_" sort after "c", as in
 * Dovecot.
 */
char *mailsort_fold(const char *p, size_t len)
{
	struct buf b;
	buf_init(&b, 4 * len + 16);
	char *s = mime_fold(p, len, &b) == 0 ? xmemdup0(b.p ? b.p : "", b.len)
					     : xstrdup("");
	buf_deinit(&b);
	for (char *q = s; *q != '\0'; q++)
		if (*q >= 'a' && *q <= 'z')
			*q = (char)(*q - 32);
	return s;
}

/* The decoded value of the first field name of hdr into out. */
bool mailsort_field(const char *hdr, size_t len, const char *name,
		    struct buf *out)
{
	size_t pos = 0;
	struct str fn, fv;
	while (mime_header_next(hdr, len, &pos, &fn, &fv)) {
		if (!str_case_eq_cstr(fn, name))
			continue;
		buf_reset(out);
		return mime_header_decode(fv, out) == 0;
	}
	return false;
}

/* FROM/TO/CC key (first address's local part) and the DISPLAY key (its
   name, else local@domain), both folded. */
void mailsort_addr_keys(const char *hdr, size_t len, const char *name,
			char **box_r, char **disp_r)
{
	struct buf v;
	buf_init(&v, 1 << 20);
	*box_r = NULL;
	*disp_r = NULL;
	if (mailsort_field(hdr, len, name, &v)) {
		struct addrlist l;
		addrlist_parse(v.p ? v.p : "", v.len, &l);
		const struct addrlist_addr *a = NULL;
		for (size_t i = 0; i < l.n && a == NULL; i++)
			if (l.v[i].kind == ADDRLIST_MAILBOX)
				a = &l.v[i];
		if (l.n > 0 && l.v[0].kind == ADDRLIST_GROUP_START &&
		    l.v[0].name != NULL) {
			/* a group first: its name is both keys */
			*box_r = mailsort_fold(l.v[0].name, l.v[0].name_len);
			*disp_r = mailsort_fold(l.v[0].name, l.v[0].name_len);
		} else if (a != NULL) {
			*box_r = mailsort_fold(a->local, a->local_len);
		}
		if (*disp_r == NULL && a != NULL && a->name != NULL &&
		    a->name_len > 0) {
			*disp_r = mailsort_fold(a->name, a->name_len);
		} else if (*disp_r == NULL && a != NULL) {
			struct buf d;
			buf_init(&d, a->local_len + a->domain_len + 2);
			int ok = buf_append(&d, a->local, a->local_len);
			if (ok == 0 && a->domain != NULL)
				ok = buf_append_char(&d, '@') < 0 ||
					     buf_append(&d, a->domain,
							a->domain_len) < 0
					 ? -1
					 : 0;
			*disp_r = ok == 0 ? mailsort_fold(d.p ? d.p : "", d.len)
					  : xstrdup("");
			buf_deinit(&d);
		}
		addrlist_free(&l);
	}
	buf_deinit(&v);
	if (*box_r == NULL)
		*box_r = xstrdup("");
	if (*disp_r == NULL)
		*disp_r = xstrdup("");
}
