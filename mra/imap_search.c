/*
 * SEARCH: keys to a tree, tree against messages; see imap_search.h.
 * Strings are matched as case-folded UTF-8 substrings (lib/mailmatch,
 * shared with webmail's search) like Dovecot's i;unicode-casemap for the
 * common scripts.
 * Dates compare days, ignoring time and zone (RFC 3501 §6.4.4): the
 * internal date in UTC (as INTERNALDATE shows it), the Date: header in its
 * own zone.  A message without a usable Date: matches no SENT* key.
 */
#include "imap_search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_context.h"
#include "imap_fetch.h"
#include "imap_index.h"
#include "imap_objectid.h"
#include "imap_render.h"
#include "imap_searchres.h"
#include "maildir.h"
#include "mailkeys.h"
#include "mailmatch.h"
#include "mime.h"
#include "mra.h"
#include "xalloc.h"

enum sk {
	SK_ALL,
	SK_FLAG,
	SK_RECENT,
	SK_NEW,
	SK_OLD,
	SK_KEYWORD,
	SK_HEADER,
	SK_BODY,
	SK_TEXT,
	SK_BEFORE,
	SK_ON,
	SK_SINCE,
	SK_SAVEDBEFORE, /* RFC 8514 */
	SK_SAVEDON,
	SK_SAVEDSINCE,
	SK_SENTBEFORE,
	SK_SENTON,
	SK_SENTSINCE,
	SK_LARGER,
	SK_SMALLER,
	SK_SEQ,
	SK_UID,
	SK_MODSEQ,
	SK_EMAILID, /* RFC 8474; THREADID is SK_NONE */
	SK_NONE,
	SK_NOT,
	SK_OR,
	SK_AND,
};

struct sn {
	enum sk kind;
	bool neg; /* for SK_FLAG and SK_KEYWORD: UN... */
	unsigned flag;
	char *hname; /* SK_HEADER field name */
	bool addr;   /* SK_HEADER by FROM/TO/CC/BCC: match addresses */
	char *str;   /* folded needle; keyword; set */
	size_t slen;
	long day; /* dates: days since 1970-01-01 */
	uint64_t num;
	struct sn *kids; /* SK_NOT 1, SK_OR 2, SK_AND n */
	size_t nkids;
};

struct imap_search {
	struct sn root;
	bool text, size;
	bool modseq; /* a MODSEQ key (RFC 7162 §3.1.5) */
	bool file;   /* keys youju.index cannot answer: BODY, TEXT, HEADER x */
};

/* ---- parsing ------------------------------------------------------------ */

struct sp {
	const struct imap_arg *a;
	size_t n, i;
	const char *err;
	struct imap_search *s;
};

static const struct {
	const char *name;
	unsigned flag;
	bool neg;
} sk_flags[] = {
    {"ANSWERED", MAILDIR_REPLIED, false}, {"DELETED", MAILDIR_TRASHED, false},
    {"DRAFT", MAILDIR_DRAFT, false},	  {"FLAGGED", MAILDIR_FLAGGED, false},
    {"SEEN", MAILDIR_SEEN, false},	  {"UNANSWERED", MAILDIR_REPLIED, true},
    {"UNDELETED", MAILDIR_TRASHED, true}, {"UNDRAFT", MAILDIR_DRAFT, true},
    {"UNFLAGGED", MAILDIR_FLAGGED, true}, {"UNSEEN", MAILDIR_SEEN, true},
};

static const struct {
	const char *name;
	enum sk kind;
} sk_dates[] = {
    {"BEFORE", SK_BEFORE},	   {"ON", SK_ON},
    {"SINCE", SK_SINCE},	   {"SAVEDBEFORE", SK_SAVEDBEFORE},
    {"SAVEDON", SK_SAVEDON},	   {"SAVEDSINCE", SK_SAVEDSINCE},
    {"SENTBEFORE", SK_SENTBEFORE}, {"SENTON", SK_SENTON},
    {"SENTSINCE", SK_SENTSINCE},
};

/* header keys that take one string */
static const char *const sk_headers[] = {"BCC", "CC", "FROM", "SUBJECT", "TO"};

static void sn_free(struct sn *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		sn_free(&n->kids[i]);
	free(n->kids);
	free(n->hname);
	free(n->str);
}

static const struct imap_arg *sp_next(struct sp *p)
{
	if (p->i >= p->n) {
		p->err = "Missing search argument.";
		return NULL;
	}
	return &p->a[p->i++];
}

/* An astring argument, case-folded into n->str. */
static int sp_string(struct sp *p, struct sn *n)
{
	const struct imap_arg *a = sp_next(p);
	if (a == NULL)
		return -1;
	if (!imap_arg_is_astring(a)) {
		p->err = "Invalid search string.";
		return -1;
	}
	struct buf b;
	buf_init(&b, a->len * 2 + 16);
	if (mime_fold(a->s, a->len, &b) < 0) {
		buf_deinit(&b);
		return -1;
	}
	n->str = xmemdup0(b.p ? b.p : "", b.len);
	n->slen = b.len;
	buf_deinit(&b);
	return 0;
}

static long days_from_civil(long y, unsigned m, unsigned d)
{
	/* proleptic Gregorian, days since 1970-01-01 */
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static int month_of(const char *s)
{
	static const char *const mon[] = {"jan", "feb", "mar", "apr",
					  "may", "jun", "jul", "aug",
					  "sep", "oct", "nov", "dec"};
	for (int i = 0; i < 12; i++)
		if (strncasecmp(s, mon[i], 3) == 0)
			return i + 1;
	return 0;
}

/* "d-Mon-yyyy" (RFC 3501 date-text) into days */
static int parse_date(const char *s, long *day_r)
{
	unsigned d = 0, y = 0;
	size_t i = 0;
	while (s[i] >= '0' && s[i] <= '9' && i < 2)
		d = d * 10 + (unsigned)(s[i++] - '0');
	if (i == 0 || s[i] != '-' || d < 1 || d > 31)
		return -1;
	int m = month_of(s + i + 1);
	if (m == 0 || s[i + 4] != '-')
		return -1;
	const char *q = s + i + 5;
	size_t k;
	for (k = 0; k < 4 && q[k] >= '0' && q[k] <= '9'; k++)
		y = y * 10 + (unsigned)(q[k] - '0');
	if (k != 4 || q[4] != '\0')
		return -1;
	*day_r = days_from_civil((long)y, (unsigned)m, d);
	return 0;
}

static int sp_key(struct sp *p, struct sn *n, unsigned depth);

/* keys until the end or a ')' (lists are IMAP_ARG_LIST already) */
static int sp_and(struct sp *p, struct sn *n, unsigned depth)
{
	n->kind = SK_AND;
	while (p->i < p->n) {
		n->kids = xrealloc(n->kids, (n->nkids + 1) * sizeof *n->kids);
		struct sn *k = &n->kids[n->nkids++];
		memset(k, 0, sizeof *k);
		if (sp_key(p, k, depth + 1) < 0)
			return -1;
	}
	return 0;
}

static int sp_key(struct sp *p, struct sn *n, unsigned depth)
{
	if (depth > IMAP_SEARCH_DEPTH_MAX) {
		p->err = "Search nested too deeply.";
		return -1;
	}
	const struct imap_arg *a = sp_next(p);
	if (a == NULL)
		return -1;
	if (a->type == IMAP_ARG_LIST) {
		struct sp sub = {a->list, a->n, 0, NULL, p->s};
		if (a->n == 0) {
			p->err = "Empty search list.";
			return -1;
		}
		int r = sp_and(&sub, n, depth);
		if (r < 0)
			p->err = sub.err;
		return r;
	}
	if (a->type != IMAP_ARG_ATOM) {
		p->err = "Invalid search key.";
		return -1;
	}
	const char *k = a->s;
	for (size_t i = 0; i < sizeof sk_flags / sizeof *sk_flags; i++)
		if (strcasecmp(k, sk_flags[i].name) == 0) {
			n->kind = SK_FLAG;
			n->flag = sk_flags[i].flag;
			n->neg = sk_flags[i].neg;
			return 0;
		}
	for (size_t i = 0; i < sizeof sk_dates / sizeof *sk_dates; i++)
		if (strcasecmp(k, sk_dates[i].name) == 0) {
			n->kind = sk_dates[i].kind;
			const struct imap_arg *d = sp_next(p);
			if (d == NULL || !imap_arg_is_astring(d) ||
			    parse_date(d->s, &n->day) < 0) {
				p->err = "Invalid search date.";
				return -1;
			}
			if (n->kind >= SK_SENTBEFORE)
				p->s->text = true;
			return 0;
		}
	for (size_t i = 0; i < sizeof sk_headers / sizeof *sk_headers; i++)
		if (strcasecmp(k, sk_headers[i]) == 0) {
			n->kind = SK_HEADER;
			n->hname = xstrdup(sk_headers[i]);
			n->addr = strcmp(sk_headers[i], "SUBJECT") != 0;
			p->s->text = true;
			return sp_string(p, n);
		}
	if (strcasecmp(k, "ALL") == 0 ||
	    strcasecmp(k, "SAVEDATESUPPORTED") == 0) {
		n->kind = SK_ALL; /* every folder has save dates */
	} else if (strcasecmp(k, "EMAILID") == 0 ||
		   strcasecmp(k, "THREADID") == 0) {
		/* no thread ids: THREADID matches nothing (RFC 8474 §6) */
		n->kind = k[0] == 'E' || k[0] == 'e' ? SK_EMAILID : SK_NONE;
		return sp_string(p, n);
	} else if (strcasecmp(k, "RECENT") == 0) {
		n->kind = SK_RECENT;
	} else if (strcasecmp(k, "NEW") == 0) {
		n->kind = SK_NEW;
	} else if (strcasecmp(k, "OLD") == 0) {
		n->kind = SK_OLD;
	} else if (strcasecmp(k, "KEYWORD") == 0 ||
		   strcasecmp(k, "UNKEYWORD") == 0) {
		n->kind = SK_KEYWORD;
		n->neg = k[0] == 'U' || k[0] == 'u';
		const struct imap_arg *w = sp_next(p);
		if (w == NULL || w->type != IMAP_ARG_ATOM) {
			p->err = "Invalid keyword.";
			return -1;
		}
		n->str = xstrdup(w->s);
	} else if (strcasecmp(k, "HEADER") == 0) {
		n->kind = SK_HEADER;
		const struct imap_arg *h = sp_next(p);
		if (h == NULL || !imap_arg_is_astring(h) || h->len == 0 ||
		    memchr(h->s, '\0', h->len) != NULL) {
			p->err = "Invalid header name.";
			return -1;
		}
		n->hname = xstrdup(h->s);
		p->s->text = true;
		if (maildir_index_header_field(n->hname) < 0)
			p->s->file = true;
		return sp_string(p, n);
	} else if (strcasecmp(k, "BODY") == 0 || strcasecmp(k, "TEXT") == 0) {
		n->kind = (k[0] == 'B' || k[0] == 'b') ? SK_BODY : SK_TEXT;
		p->s->text = p->s->file = true;
		return sp_string(p, n);
	} else if (strcasecmp(k, "LARGER") == 0 ||
		   strcasecmp(k, "SMALLER") == 0) {
		n->kind = (k[0] == 'L' || k[0] == 'l') ? SK_LARGER : SK_SMALLER;
		const struct imap_arg *v = sp_next(p);
		if (v == NULL || v->type != IMAP_ARG_ATOM ||
		    str_parse_u64(v->s, 0, UINT32_MAX, &n->num) < 0) {
			p->err = "Invalid size.";
			return -1;
		}
		p->s->size = true;
	} else if (strcasecmp(k, "MODSEQ") == 0) {
		/* MODSEQ ["/flags/name" priv|shared|all] n: the entry
		   only narrows it down, which youju does not track */
		n->kind = SK_MODSEQ;
		const struct imap_arg *v = sp_next(p);
		if (v != NULL && v->type == IMAP_ARG_STRING) {
			const struct imap_arg *t = sp_next(p);
			if (t == NULL || t->type != IMAP_ARG_ATOM ||
			    (strcasecmp(t->s, "priv") != 0 &&
			     strcasecmp(t->s, "shared") != 0 &&
			     strcasecmp(t->s, "all") != 0)) {
				p->err = "Invalid MODSEQ entry type.";
				return -1;
			}
			v = sp_next(p);
		}
		if (v == NULL || v->type != IMAP_ARG_ATOM ||
		    str_parse_u64(v->s, 0, INT64_MAX, &n->num) < 0) {
			p->err = "Invalid MODSEQ.";
			return -1;
		}
		p->s->modseq = true;
	} else if (strcasecmp(k, "UID") == 0) {
		n->kind = SK_UID;
		const struct imap_arg *v = sp_next(p);
		if (v == NULL || v->type != IMAP_ARG_ATOM ||
		    !imap_seqset_ok(v->s)) {
			p->err = "Invalid UID set.";
			return -1;
		}
		n->str = xstrdup(v->s);
	} else if (strcasecmp(k, "NOT") == 0) {
		n->kind = SK_NOT;
		n->kids = xcalloc(1, sizeof *n->kids);
		n->nkids = 1;
		return sp_key(p, &n->kids[0], depth + 1);
	} else if (strcasecmp(k, "OR") == 0) {
		n->kind = SK_OR;
		n->kids = xcalloc(2, sizeof *n->kids);
		n->nkids = 2;
		if (sp_key(p, &n->kids[0], depth + 1) < 0)
			return -1;
		return sp_key(p, &n->kids[1], depth + 1);
	} else if (imap_seqset_ok(k)) {
		n->kind = SK_SEQ;
		n->str = xstrdup(k);
	} else {
		p->err = "Unknown search key.";
		return -1;
	}
	return 0;
}

int imap_search_parse(const struct imap_arg *args, size_t n,
		      struct imap_search **s_r, const char **error_r)
{
	size_t start = 0;
	if (n >= 1 && args[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(args[0].s, "CHARSET") == 0) {
		if (n < 2 || !imap_arg_is_astring(&args[1])) {
			*error_r = "Invalid charset.";
			return IMAP_SEARCH_BAD;
		}
		if (strcasecmp(args[1].s, "UTF-8") != 0 &&
		    strcasecmp(args[1].s, "US-ASCII") != 0)
			return IMAP_SEARCH_CHARSET;
		start = 2;
	}
	if (start >= n) {
		*error_r = "Missing search keys.";
		return IMAP_SEARCH_BAD;
	}
	struct imap_search *s = xcalloc(1, sizeof *s);
	struct sp p = {args + start, n - start, 0, NULL, s};
	if (sp_and(&p, &s->root, 0) < 0) {
		*error_r = p.err ? p.err : "Invalid search.";
		imap_search_free(&s);
		return IMAP_SEARCH_BAD;
	}
	*s_r = s;
	return 0;
}

void imap_search_free(struct imap_search **sp)
{
	struct imap_search *s = *sp;
	if (s == NULL)
		return;
	sn_free(&s->root);
	free(s);
	*sp = NULL;
}

bool imap_search_needs_text(const struct imap_search *s)
{
	return s->text;
}

bool imap_search_uses_modseq(const struct imap_search *s)
{
	return s->modseq;
}

bool imap_search_needs_size(const struct imap_search *s)
{
	return s->size;
}

bool imap_search_needs_file(const struct imap_search *s)
{
	return s->file;
}

/* ---- evaluation ---------------------------------------------------------- */

/* Per message: the text matcher's state (lib/mailmatch) and the Date:
   day, made on demand. */
struct se {
	const struct imap_search_msg *m;
	struct mailmatch_msg mm;
	long sent_day;
	int sent; /* 0 not parsed yet, 1 ok, -1 none */
};

bool imap_search_has_keyword(const struct imap_search_msg *m,
			     const char *keyword)
{
	if (m->folder == NULL || m->msg == NULL)
		return false;
	return maildir_msg_has_keyword(m->folder, m->msg, keyword);
}

/* Does header field name (NULL: any) of the top header contain n->str? */
static bool se_header(struct se *e, const char *name, const struct sn *n)
{
	return mailmatch_header(&e->mm, name, n->addr, n->str, n->slen);
}

static bool se_body(struct se *e, const struct sn *n)
{
	return mailmatch_body(&e->mm, n->str, n->slen);
}

/* RFC 5322 §3.3 date: [day ","] d month yyyy ...; the day in its zone.
   Only the first Date: field counts. */
bool imap_search_sent_day(const char *hdr, size_t len, long *day_r)
{
	size_t pos = 0;
	struct str fn, fv;
	while (mime_header_next(hdr, len, &pos, &fn, &fv)) {
		if (!str_case_eq_cstr(fn, "Date"))
			continue;
		char v[128];
		size_t l = fv.len < sizeof v - 1 ? fv.len : sizeof v - 1;
		memcpy(v, fv.p, l);
		v[l] = '\0';
		const char *q = strchr(v, ',');
		q = q ? q + 1 : v;
		char mon[4];
		unsigned d, y;
		if (sscanf(q, " %2u %3s %4u", &d, mon, &y) != 3 ||
		    month_of(mon) == 0 || d < 1 || d > 31)
			return false;
		if (y < 50)
			y += 2000;
		else if (y < 1000)
			y += 1900;
		*day_r = days_from_civil((long)y, (unsigned)month_of(mon), d);
		return true;
	}
	return false;
}

static bool se_sent(struct se *e, long *day_r)
{
	const struct maildir_index_entry *c = e->m->cached;
	if (c != NULL) {
		*day_r = c->sent_day;
		return c->sent_day != MAILDIR_INDEX_NO_DAY;
	}
	if (e->m->text == NULL)
		return false;
	if (e->sent == 0) {
		const struct mime_part *root = mailmatch_root(&e->mm);
		const char *h = e->m->text + root->hdr_off;
		e->sent = imap_search_sent_day(h, root->hdr_len, &e->sent_day)
			      ? 1
			      : -1;
	}
	*day_r = e->sent_day;
	return e->sent == 1;
}

static bool se_eval(struct se *e, const struct sn *n)
{
	const struct imap_search_msg *m = e->m;
	long day;
	time_t t;
	switch (n->kind) {
	case SK_ALL:
		return true;
	case SK_FLAG: {
		unsigned f = maildir_flags_parse(str_from_cstr(m->letters));
		return ((f & n->flag) != 0) != n->neg;
	}
	case SK_RECENT:
		return m->recent;
	case SK_NEW:
		return m->recent &&
		       !(maildir_flags_parse(str_from_cstr(m->letters)) &
			 MAILDIR_SEEN);
	case SK_OLD:
		return !m->recent;
	case SK_KEYWORD:
		return imap_search_has_keyword(m, n->str) != n->neg;
	case SK_HEADER:
		return se_header(e, n->hname, n);
	case SK_BODY:
		return m->text != NULL && se_body(e, n);
	case SK_TEXT:
		return m->text != NULL &&
		       (se_header(e, NULL, n) || se_body(e, n));
	case SK_BEFORE:
	case SK_ON:
	case SK_SINCE:
		t = imap_search_msg_date(m);
		day = (long)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
		return n->kind == SK_BEFORE ? day < n->day
		       : n->kind == SK_ON   ? day == n->day
					    : day >= n->day;
	case SK_SAVEDBEFORE:
	case SK_SAVEDON:
	case SK_SAVEDSINCE: {
		time_t t = m->msg ? imap_objectid_savedate(m->msg->base) : 0;
		if (t == 0)
			return false;
		day = (long)(t / 86400);
		return n->kind == SK_SAVEDBEFORE ? day < n->day
		       : n->kind == SK_SAVEDON	 ? day == n->day
						 : day >= n->day;
	}
	case SK_EMAILID: {
		char id[IMAP_OBJECTID_SIZE];
		if (m->msg == NULL)
			return false;
		imap_objectid_email(m->msg->base, id);
		return strcasecmp(id, n->str) == 0;
	}
	case SK_NONE:
		return false;
	case SK_SENTBEFORE:
	case SK_SENTON:
	case SK_SENTSINCE:
		if (!se_sent(e, &day))
			return false;
		return n->kind == SK_SENTBEFORE ? day < n->day
		       : n->kind == SK_SENTON	? day == n->day
						: day >= n->day;
	case SK_LARGER:
		return m->size > n->num;
	case SK_SMALLER:
		return m->size < n->num;
	case SK_SEQ:
		return imap_seqset_has(n->str, m->seq, m->max_seq);
	case SK_UID:
		return imap_seqset_has(n->str, m->uid, m->max_uid);
	case SK_MODSEQ:
		return m->modseq >= n->num;
	case SK_NOT:
		return !se_eval(e, &n->kids[0]);
	case SK_OR:
		return se_eval(e, &n->kids[0]) || se_eval(e, &n->kids[1]);
	case SK_AND:
		for (size_t i = 0; i < n->nkids; i++)
			if (!se_eval(e, &n->kids[i]))
				return false;
		return true;
	}
	return false;
}

bool imap_search_match(const struct imap_search *s,
		       const struct imap_search_msg *m)
{
	struct se e;
	memset(&e, 0, sizeof e);
	e.m = m;
	mailmatch_msg_init(&e.mm, m->text, m->len, m->cached);
	bool r = se_eval(&e, &s->root);
	mailmatch_msg_deinit(&e.mm);
	return r;
}

/* ---- the command --------------------------------------------------------- */

static uint64_t crlf_size(const char *p, size_t len)
{
	uint64_t n = len;
	for (size_t i = 0; i < len; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			n++;
	return n;
}

/*
 * Gives message mm a youju.index entry from its file text (LF or CR LF):
 * the entry is built on the CR LF form, as FETCH serves it.
 */
static void imap_search_index(struct maildir_index *ix,
			      const struct maildir_msg *mm, const char *text,
			      size_t len)
{
	struct buf crlf;
	buf_init(&crlf, (size_t)crlf_size(text, len) + 1);
	imap_fetch_to_crlf(text, len, &crlf);
	struct mime_part *root = mime_parse(crlf.p ? crlf.p : "", crlf.len);
	(void)imap_index_build(ix, mm, crlf.p ? crlf.p : "", crlf.len, root);
	mime_free(&root);
	buf_deinit(&crlf);
}

/* ---- ESEARCH (RFC 4731) ------------------------------------------------ */

int imap_esearch_parse(const struct imap_arg **args, size_t *n,
		       struct imap_esearch *es)
{
	memset(es, 0, sizeof *es);
	const struct imap_arg *a = *args;
	if (*n < 2 || a[0].type != IMAP_ARG_ATOM ||
	    strcasecmp(a[0].s, "RETURN") != 0)
		return 0;
	if (a[1].type != IMAP_ARG_LIST)
		return -1;
	es->on = true;
	for (size_t i = 0; i < a[1].n; i++) {
		const struct imap_arg *o = &a[1].list[i];
		const char *k = o->type == IMAP_ARG_ATOM ? o->s : "";
		if (strcasecmp(k, "MIN") == 0)
			es->min = true;
		else if (strcasecmp(k, "MAX") == 0)
			es->max = true;
		else if (strcasecmp(k, "COUNT") == 0)
			es->count = true;
		else if (strcasecmp(k, "ALL") == 0)
			es->all = true;
		else if (strcasecmp(k, "UPDATE") == 0)
			es->update = true;
		else if (strcasecmp(k, "SAVE") == 0)
			es->save = true;
		else if (strcasecmp(k, "PARTIAL") == 0 && i + 1 < a[1].n &&
			 !es->partial) {
			/* "lo:hi", both > 0 (RFC 5267 §4.4) */
			const struct imap_arg *r = &a[1].list[++i];
			unsigned long lo, hi;
			int used = -1;
			if (r->type != IMAP_ARG_ATOM ||
			    sscanf(r->s, "%lu:%lu%n", &lo, &hi, &used) != 2 ||
			    used != (int)strlen(r->s) || r->s[0] == '-' ||
			    strchr(r->s + 1, '-') != NULL || lo == 0 ||
			    hi == 0 || lo > UINT32_MAX || hi > UINT32_MAX)
				return -1;
			es->partial = true;
			es->plo = (uint32_t)(lo < hi ? lo : hi);
			es->phi = (uint32_t)(lo < hi ? hi : lo);
		} else
			return -1;
	}
	if (a[1].n == 0)
		es->all = true;
	/* RETURN (SAVE): no ESEARCH at all (RFC 5182 §2.4) */
	*args = a + 2;
	*n -= 2;
	return 0;
}

void imap_esearch_add(struct imap_esearch *es, uint32_t v)
{
	if (es->n == es->cap) {
		es->cap = es->cap ? es->cap * 2 : 64;
		es->v = xrealloc(es->v, es->cap * sizeof *es->v);
	}
	es->v[es->n++] = v;
}

void imap_esearch_set(struct mra_conn *c, const uint32_t *v, size_t n)
{
	struct buf b;
	buf_init(&b, 22 * n + 1);
	if (imap_render_seqset(&b, v, n) == 0 && b.len > 0)
		(void)mra_conn_write(c, b.p, b.len);
	buf_deinit(&b);
}

void imap_esearch_write(struct mra_conn *c, const char *tag, bool uid,
			const struct imap_esearch *es)
{
	(void)mra_conn_write(c, "* ESEARCH (TAG ", 15);
	struct buf q;
	buf_init(&q, 2 * strlen(tag) + 3);
	if (imap_render_quoted(&q, tag, strlen(tag)) == 0)
		(void)mra_conn_write(c, q.p, q.len);
	buf_deinit(&q);
	(void)mra_conn_write(c, ")", 1);
	if (uid)
		(void)mra_conn_write(c, " UID", 4);
	if (es->min && es->n > 0)
		(void)mra_conn_printf(c, " MIN %lu", (unsigned long)es->v[0]);
	if (es->max && es->n > 0)
		(void)mra_conn_printf(c, " MAX %lu",
				      (unsigned long)es->v[es->n - 1]);
	if (es->all && es->n > 0) {
		(void)mra_conn_write(c, " ALL ", 5);
		imap_esearch_set(c, es->v, es->n);
	}
	/* COUNT last, as Dovecot orders them */
	if (es->count)
		(void)mra_conn_printf(c, " COUNT %zu", es->n);
	if (es->with_modseq && es->n > 0) {
		/* RFC 4731 §3.2: the highest of what is returned (only the
		   MIN / MAX messages when nothing else is asked) */
		uint64_t hi = 0;
		bool whole = es->all || es->count || es->partial ||
			     (!es->min && !es->max);
		for (size_t i = 0; i < es->nms; i++)
			if ((whole || (es->min && i == 0) ||
			     (es->max && i == es->nms - 1)) &&
			    es->ms[i] > hi)
				hi = es->ms[i];
		(void)mra_conn_printf(c, " MODSEQ %llu",
				      (unsigned long long)hi);
	}
	if (es->partial) {
		(void)mra_conn_printf(c, " PARTIAL (%lu:%lu ",
				      (unsigned long)es->plo,
				      (unsigned long)es->phi);
		if (es->plo > es->n) {
			(void)mra_conn_write(c, "NIL", 3);
		} else {
			size_t hi = es->phi < es->n ? es->phi : es->n;
			imap_esearch_set(c, es->v + es->plo - 1,
					 hi - es->plo + 1);
		}
		(void)mra_conn_write(c, ")", 1);
	}
	(void)mra_conn_write(c, "\r\n", 2);
}

time_t imap_search_msg_date(const struct imap_search_msg *m)
{
	if (m->folder == NULL || m->msg == NULL)
		return m->internal_date;
	return maildir_msg_mtime(m->folder, m->msg);
}

void imap_search_msg_init(struct imap_search_msg *m,
			  const struct maildir_folder *f, size_t i,
			  const bool *recent, uint64_t size)
{
	const struct maildir_msg *mm = &f->msgs[i];
	*m = (struct imap_search_msg){
	    .seq = (uint32_t)(i + 1),
	    .uid = mm->uid,
	    .max_seq = (uint32_t)f->n,
	    .max_uid = f->msgs[f->n - 1].uid,
	    .letters = mm->letters,
	    .recent = recent[i],
	    .size = size,
	    .folder = f,
	    .msg = mm,
	};
}

/* The sort/thread keys of entry e into *k_r, when it has them. */
static bool keys_of(const struct maildir_index_entry *e, struct mailkeys *k_r)
{
	return e->field[MIDX_SORTKEYS].len > 0 &&
	       mailkeys_decode(e->field[MIDX_SORTKEYS], k_r);
}

void imap_search_each(struct maildir_folder *f, const bool *recent,
		      const uint64_t *modseqs, struct maildir_index *ix,
		      const struct imap_search *s, bool want_keys,
		      imap_search_each_fn *fn, void *ctx)
{
	imap_search_each_from(f, 0, recent, modseqs, ix, s, want_keys, fn, ctx);
}

void imap_search_each_from(struct maildir_folder *f, size_t from,
			   const bool *recent, const uint64_t *modseqs,
			   struct maildir_index *ix,
			   const struct imap_search *s, bool want_keys,
			   imap_search_each_fn *fn, void *ctx)
{
	struct buf msg, kb;
	buf_init(&msg, mra_srv.message_size_limit * 2 + 1024);
	buf_init(&kb, MAILKEYS_BLOB_MAX);
	for (size_t i = from; i < f->n; i++) {
		struct maildir_msg *mm = &f->msgs[i];
		struct imap_search_msg m;
		imap_search_msg_init(&m, f, i, recent, mm->vsize);
		m.modseq = modseqs ? modseqs[i] : 0;
		/* keys want the size too: SORT SIZE */
		bool need_size =
		    (want_keys || imap_search_needs_size(s)) && mm->vsize == 0;
		bool need_text =
		    imap_search_needs_text(s) || need_size || want_keys;
		struct maildir_index_entry ent;
		struct mailkeys keys, *k = NULL;
		if (need_text && ix != NULL &&
		    maildir_index_get(ix, mm->uid, str_from_cstr(mm->base),
				      mm->size, &ent)) {
			m.cached = &ent;
			m.size = mm->vsize = ent.vsize;
			if (want_keys && keys_of(&ent, &keys))
				k = &keys;
		}
		/* the file: for BODY/TEXT, or when there is no entry (or
		   one without keys, from a version 3 youju.index) */
		if (imap_search_needs_file(s) ||
		    (need_text && m.cached == NULL) || (want_keys && !k)) {
			buf_reset(&msg);
			if (maildir_msg_read(f, mm, &msg) < 0)
				continue; /* expunged meanwhile */
			m.text = msg.p ? msg.p : "";
			m.len = msg.len;
			m.size = mm->vsize = crlf_size(m.text, m.len);
			if (ix != NULL &&
			    (m.cached == NULL || (want_keys && !k))) {
				m.cached = NULL;
				imap_search_index(ix, mm, m.text, m.len);
				if (want_keys &&
				    maildir_index_get(ix, mm->uid,
						      str_from_cstr(mm->base),
						      mm->size, &ent) &&
				    keys_of(&ent, &keys)) {
					m.cached = &ent;
					k = &keys;
				}
			}
			buf_reset(&kb);
			if (want_keys && k == NULL &&
			    mailkeys_build(
				m.text, imap_render_header_end(m.text, m.len),
				&kb) == 0 &&
			    mailkeys_decode(
				(struct str){kb.p ? kb.p : "", kb.len}, &keys))
				k = &keys; /* no index, or too large for it */
		}
		if (imap_search_match(s, &m)) {
			if (want_keys && k == NULL) {
				memset(&keys, 0, sizeof keys);
				k = &keys;
			}
			fn(ctx, &m, k);
		}
		/* after the match: a save would unmap ent's strings */
		if (ix != NULL)
			imap_index_bound(ix, f);
	}
	buf_deinit(&kb);
	buf_deinit(&msg);
}

struct run_ctx {
	struct imap_esearch *es;
	bool uid;
	const uint64_t *modseqs;
};

static void run_one(void *ctx, const struct imap_search_msg *m,
		    const struct mailkeys *k)
{
	(void)k;
	struct run_ctx *x = ctx;
	struct imap_esearch *es = x->es;
	imap_esearch_add(es, x->uid ? m->uid : m->seq);
	if (x->modseqs != NULL) {
		if (es->nms == es->cap_ms) {
			es->cap_ms = es->cap_ms ? es->cap_ms * 2 : 64;
			es->ms = xrealloc(es->ms, es->cap_ms * sizeof *es->ms);
		}
		es->ms[es->nms++] = m->modseq;
	}
}

void imap_search_run(struct maildir_folder *f, const bool *recent,
		     const uint64_t *modseqs, struct maildir_index *ix,
		     const struct imap_search *s, bool uid,
		     struct imap_esearch *es)
{
	struct run_ctx x = {es, uid, modseqs};
	imap_search_each(f, recent, modseqs, ix, s, false, run_one, &x);
}

/* RFC 5182 §2.4: with MIN and/or MAX and no other option only those are
   saved, else the whole result. */
static void imap_search_save(struct imap_searchres *save,
			     const struct maildir_folder *f, bool uid,
			     const struct imap_esearch *es)
{
	if ((es->min || es->max) && !es->all && !es->count && !es->partial &&
	    es->n > 0) {
		uint32_t v[2];
		size_t k = 0;
		if (es->min)
			v[k++] = es->v[0];
		if (es->max && (k == 0 || es->n > 1))
			v[k++] = es->v[es->n - 1];
		imap_searchres_save(save, f, v, k, uid);
	} else {
		imap_searchres_save(save, f, es->v, es->n, uid);
	}
}

void imap_search_cmd(struct mra_conn *c, const char *tag,
		     struct maildir_folder *f, const bool *recent,
		     const uint64_t *modseqs, bool uid,
		     struct maildir_index *ix, const struct imap_arg *args,
		     size_t n, struct imap_searchres *save)
{
	struct imap_search *s = NULL;
	const char *err = NULL;
	struct imap_esearch es;
	if (imap_esearch_parse(&args, &n, &es) < 0 ||
	    (es.save && save == NULL)) {
		if (save != NULL)
			imap_searchres_reset(save); /* RFC 5182 §2.1 */
		(void)mra_conn_printf(c,
				      "%s BAD Invalid search return "
				      "options.\r\n",
				      tag);
		return;
	}
	int r = imap_search_parse(args, n, &s, &err);
	if (r < 0 && es.save)
		imap_searchres_reset(save);
	if (r == IMAP_SEARCH_CHARSET) {
		(void)mra_conn_printf(c,
				      "%s NO [BADCHARSET (UTF-8 US-ASCII)] "
				      "Unsupported charset.\r\n",
				      tag);
		return;
	}
	if (r < 0) {
		(void)mra_conn_printf(c, "%s BAD %s\r\n", tag, err);
		return;
	}
	imap_search_run(f, recent, s->modseq ? modseqs : NULL, ix, s, uid, &es);
	es.with_modseq = s->modseq && modseqs != NULL;
	if (es.save)
		imap_search_save(save, f, uid, &es);
	if (!es.on) {
		(void)mra_conn_write(c, "* SEARCH", 8);
		uint64_t hi = 0;
		for (size_t i = 0; i < es.n; i++) {
			(void)mra_conn_printf(c, " %lu",
					      (unsigned long)es.v[i]);
			if (es.with_modseq && es.ms[i] > hi)
				hi = es.ms[i];
		}
		/* RFC 7162 §3.1.5: the highest of the matches */
		if (es.with_modseq && es.n > 0)
			(void)mra_conn_printf(c, " (MODSEQ %llu)",
					      (unsigned long long)hi);
	}
	bool kept = !es.update || imap_context_add(c, tag, uid, &s, &es);
	imap_search_reply(c, tag, uid, kept, &es, &s, "Search");
}

void imap_search_reply(struct mra_conn *c, const char *tag, bool uid, bool kept,
		       struct imap_esearch *es, struct imap_search **s,
		       const char *what)
{
	/* SAVE alone asks for no ESEARCH (RFC 5182 §2.4) */
	bool quiet = es->save && !es->min && !es->max && !es->all &&
		     !es->count && !es->partial;
	if (!kept)
		(void)mra_conn_printf(c,
				      "%s NO [NOUPDATE \"%s\"] Too many "
				      "searches kept updated.\r\n",
				      tag, tag);
	else if (es->on && !quiet)
		imap_esearch_write(c, tag, uid, es);
	else if (!es->on)
		(void)mra_conn_write(c, "\r\n", 2);
	if (kept)
		(void)mra_conn_printf(c, "%s OK %s completed.\r\n", tag, what);
	free(es->v);
	free(es->ms);
	es->v = NULL;
	es->ms = NULL;
	imap_search_free(s);
}
