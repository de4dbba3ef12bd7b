/*
 * SORT; see imap_sort.h.  Each matching message is read once (there is
 * no sort index yet: a SORT costs a read of every matching file, as a
 * SEARCH BODY does, except for the date and size cache below), its keys
 * are computed into a small record, and the records are sorted with the
 * keys in order.  The DATE key is the Date: field in UTC, or the
 * internal date when there is none (RFC 5256 §2.2); address keys use the
 * first address of the field (lib/addrlist): its local part for
 * FROM/TO/CC, its display name or else "local@domain" for
 * DISPLAYFROM/DISPLAYTO.
 */
#include "imap_sort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addrlist.h"
#include "imap_context.h"
#include "imap_render.h"
#include "imap_search.h"
#include "maildir.h"
#include "mailsort.h"
#include "mime.h"
#include "mra.h"
#include "xalloc.h"

enum sort_key {
	SORT_ARRIVAL,
	SORT_CC,
	SORT_DATE,
	SORT_FROM,
	SORT_SIZE,
	SORT_SUBJECT,
	SORT_TO,
	SORT_DISPLAYFROM,
	SORT_DISPLAYTO,
};

static const struct {
	const char *name;
	enum sort_key key;
} sort_keys[] = {
    {"ARRIVAL", SORT_ARRIVAL},
    {"CC", SORT_CC},
    {"DATE", SORT_DATE},
    {"FROM", SORT_FROM},
    {"SIZE", SORT_SIZE},
    {"SUBJECT", SORT_SUBJECT},
    {"TO", SORT_TO},
    {"DISPLAYFROM", SORT_DISPLAYFROM},
    {"DISPLAYTO", SORT_DISPLAYTO},
};

struct imap_sort_keys {
	enum sort_key key[IMAP_SORT_KEYS_MAX];
	bool reverse[IMAP_SORT_KEYS_MAX];
	size_t n;
};

/* one matching message and its keys */
struct sort_rec {
	uint32_t seq, id; /* id: what is sent (sequence or UID) */
	int64_t arrival, date;
	uint64_t size;
	/* owned comparison forms (folded), NULL until computed: the base
	   subject, the FROM/CC/TO keys, the DISPLAYFROM/DISPLAYTO keys */
	char *subject, *from, *cc, *to, *dfrom, *dto;
};

static void rec_keys(struct sort_rec *r, const char *msg, size_t len,
		     const struct imap_sort_keys *cr)
{
	size_t hl = imap_render_header_end(msg, len);
	struct buf v;
	buf_init(&v, 1 << 20);
	for (size_t k = 0; k < cr->n; k++) {
		switch (cr->key[k]) {
		case SORT_DATE:
			if (mailsort_field(msg, hl, "Date", &v))
				(void)mailsort_parse_date(v.p ? v.p : "", v.len,
							  &r->date);
			break;
		case SORT_SUBJECT:
			if (r->subject == NULL) {
				struct buf b;
				buf_init(&b, 1 << 20);
				if (mailsort_field(msg, hl, "Subject", &v) &&
				    mailsort_base_subject(v.p ? v.p : "", v.len,
							  &b, NULL) == 0)
					r->subject = mailsort_fold(
					    b.p ? b.p : "", b.len);
				else
					r->subject = xstrdup("");
				buf_deinit(&b);
			}
			break;
		case SORT_FROM:
		case SORT_DISPLAYFROM:
			if (r->from == NULL)
				mailsort_addr_keys(msg, hl, "From", &r->from,
						   &r->dfrom);
			break;
		case SORT_TO:
		case SORT_DISPLAYTO:
			if (r->to == NULL)
				mailsort_addr_keys(msg, hl, "To", &r->to,
						   &r->dto);
			break;
		case SORT_CC:
			if (r->cc == NULL) {
				char *d;
				mailsort_addr_keys(msg, hl, "Cc", &r->cc, &d);
				free(d);
			}
			break;
		case SORT_ARRIVAL:
		case SORT_SIZE:
			break;
		}
	}
	buf_deinit(&v);
}

static void rec_free(struct sort_rec *r)
{
	free(r->subject);
	free(r->from);
	free(r->cc);
	free(r->to);
	free(r->dfrom);
	free(r->dto);
}

static const struct imap_sort_keys *sort_cur;

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static int rec_cmp(const void *pa, const void *pb)
{
	const struct sort_rec *a = pa, *b = pb;
	for (size_t k = 0; k < sort_cur->n; k++) {
		int c = 0;
		switch (sort_cur->key[k]) {
		case SORT_ARRIVAL:
			c = cmp_i64(a->arrival, b->arrival);
			break;
		case SORT_DATE:
			c = cmp_i64(a->date, b->date);
			break;
		case SORT_SIZE:
			c = (a->size > b->size) - (a->size < b->size);
			break;
		case SORT_SUBJECT:
			c = cmp_str(a->subject, b->subject);
			break;
		case SORT_FROM:
			c = cmp_str(a->from, b->from);
			break;
		case SORT_TO:
			c = cmp_str(a->to, b->to);
			break;
		case SORT_CC:
			c = cmp_str(a->cc, b->cc);
			break;
		case SORT_DISPLAYFROM:
			c = cmp_str(a->dfrom, b->dfrom);
			break;
		case SORT_DISPLAYTO:
			c = cmp_str(a->dto, b->dto);
			break;
		}
		if (c != 0)
			return sort_cur->reverse[k] ? -c : c;
	}
	return cmp_i64(a->seq, b->seq);
}

/* ---- the command ------------------------------------------------------ */

static const char *parse_crit(const struct imap_arg *a,
			      struct imap_sort_keys *cr)
{
	memset(cr, 0, sizeof *cr);
	if (a->type != IMAP_ARG_LIST || a->n == 0)
		return "BAD Invalid sort criteria.";
	bool rev = false;
	for (size_t i = 0; i < a->n; i++) {
		const struct imap_arg *k = &a->list[i];
		const char *s = k->type == IMAP_ARG_ATOM ? k->s : "";
		if (strcasecmp(s, "REVERSE") == 0 && !rev) {
			rev = true;
			continue;
		}
		size_t j = 0;
		while (j < sizeof sort_keys / sizeof *sort_keys &&
		       strcasecmp(s, sort_keys[j].name) != 0)
			j++;
		if (j == sizeof sort_keys / sizeof *sort_keys ||
		    cr->n == IMAP_SORT_KEYS_MAX)
			return "BAD Invalid sort criteria.";
		cr->key[cr->n] = sort_keys[j].key;
		cr->reverse[cr->n++] = rev;
		rev = false;
	}
	return rev ? "BAD Invalid sort criteria." : NULL;
}

int imap_sort_prepare(struct mra_conn *c, const char *tag,
		      const struct imap_arg *args, size_t n,
		      struct imap_search **s_r)
{
	const char *err = NULL;
	*s_r = NULL;
	if (!imap_arg_is_astring(&args[0]))
		err = "BAD Invalid charset.";
	else if (strcasecmp(args[0].s, "UTF-8") != 0 &&
		 strcasecmp(args[0].s, "US-ASCII") != 0)
		err = "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.";
	const char *serr = NULL;
	if (err == NULL && imap_search_parse(args + 1, n - 1, s_r, &serr) < 0)
		err = serr ? serr : "Invalid search.";
	if (err == NULL)
		return 0;
	bool bad = strncmp(err, "BAD ", 4) != 0 && strncmp(err, "NO ", 3) != 0;
	(void)mra_conn_printf(c, "%s %s%s\r\n", tag, bad ? "BAD " : "", err);
	imap_search_free(s_r);
	return -1;
}

void imap_sort_each(struct maildir_folder *f, const bool *recent,
		    const struct imap_search *s, imap_sort_each_fn *fn,
		    void *ctx)
{
	struct buf msg;
	buf_init(&msg, mra_srv.message_size_limit * 2 + 1024);
	for (size_t i = 0; i < f->n; i++) {
		struct maildir_msg *mm = &f->msgs[i];
		buf_reset(&msg);
		if (maildir_msg_read(f, mm, &msg) < 0)
			continue; /* expunged meanwhile */
		struct imap_search_msg m = {
		    .seq = (uint32_t)(i + 1),
		    .uid = mm->uid,
		    .max_seq = (uint32_t)f->n,
		    .max_uid = f->n ? f->msgs[f->n - 1].uid : 0,
		    .letters = mm->letters,
		    .recent = recent[i],
		    .size = maildir_crlf_size(msg.p ? msg.p : "", msg.len),
		    .internal_date = mm->mtime,
		    .text = msg.p ? msg.p : "",
		    .len = msg.len,
		    .folder = f,
		    .msg = mm,
		};
		if (imap_search_match(s, &m))
			fn(ctx, &m);
	}
	buf_deinit(&msg);
}

struct sort_ctx {
	struct sort_rec *recs;
	size_t nr;
	bool uid;
	const struct imap_sort_keys *cr;
};

static void sort_one(void *ctx, const struct imap_search_msg *m)
{
	struct sort_ctx *x = ctx;
	struct sort_rec *r = &x->recs[x->nr++];
	r->seq = m->seq;
	r->id = x->uid ? m->uid : m->seq;
	r->arrival = (int64_t)m->internal_date;
	r->date = (int64_t)m->internal_date;
	r->size = m->size;
	rec_keys(r, m->text, m->len, x->cr);
}

/* ---- the date/size cache ------------------------------------------------

   SORT by ARRIVAL, DATE and SIZE with a search that reads no text (the
   common `SORT (REVERSE DATE) UTF-8 ALL` of clients and webmail) needs
   from each file only its Date: and its size in CR LF form.  Both are
   fixed for a UID (a Maildir message's content never changes), so each
   worker keeps them for the last folder it sorted this way, keyed by UID
   and checked by the file's base name and size as youju.index's entries
   are; a later SORT of that folder reads only the files it has not seen.
   One folder per process, 40 bytes a message, rebuilt at each such SORT
   (expunged messages fall out); another folder or UIDVALIDITY replaces
   it. */

struct sc_ent {
	uint32_t uid;
	bool has_date; /* a readable Date: (else the internal date) */
	int64_t date;
	uint64_t vsize;
	uint64_t size; /* validators: the file size and base name hash */
	uint64_t base_hash;
};

static struct {
	char *path;
	uint32_t uidvalidity;
	struct sc_ent *e;
	size_t n;
} sc;

static uint64_t sc_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static bool sc_scalar_only(const struct imap_sort_keys *cr)
{
	for (size_t k = 0; k < cr->n; k++)
		if (cr->key[k] != SORT_ARRIVAL && cr->key[k] != SORT_DATE &&
		    cr->key[k] != SORT_SIZE)
			return false;
	return true;
}

/* sort_one for a search that reads no text and keys sc_scalar_only:
   each message's date and size from the cache, else from its file. */
static void sort_scalar(struct maildir_folder *f, const bool *recent,
			const struct imap_search *s, struct sort_ctx *x)
{
	bool same = sc.path != NULL && strcmp(sc.path, f->path) == 0 &&
		    sc.uidvalidity == f->uidvalidity;
	struct sc_ent *ne = xcalloc(f->n ? f->n : 1, sizeof *ne);
	size_t nn = 0, j = 0;
	struct buf msg;
	buf_init(&msg, mra_srv.message_size_limit * 2 + 1024);
	for (size_t i = 0; i < f->n; i++) {
		struct maildir_msg *mm = &f->msgs[i];
		uint64_t bh = sc_hash(mm->base);
		while (same && j < sc.n && sc.e[j].uid < mm->uid)
			j++;
		struct sc_ent *c = &ne[nn];
		if (same && j < sc.n && sc.e[j].uid == mm->uid &&
		    sc.e[j].size == mm->size && sc.e[j].base_hash == bh) {
			*c = sc.e[j];
		} else {
			buf_reset(&msg);
			if (maildir_msg_read(f, mm, &msg) < 0)
				continue; /* expunged meanwhile */
			const char *t = msg.p ? msg.p : "";
			size_t hl = imap_render_header_end(t, msg.len);
			struct buf v;
			buf_init(&v, 1 << 20);
			*c = (struct sc_ent){.uid = mm->uid,
					     .vsize =
						 maildir_crlf_size(t, msg.len),
					     .size = mm->size,
					     .base_hash = bh};
			if (mailsort_field(t, hl, "Date", &v))
				c->has_date = mailsort_parse_date(
				    v.p ? v.p : "", v.len, &c->date);
			buf_deinit(&v);
		}
		nn++;
		struct imap_search_msg m = {
		    .seq = (uint32_t)(i + 1),
		    .uid = mm->uid,
		    .max_seq = (uint32_t)f->n,
		    .max_uid = f->n ? f->msgs[f->n - 1].uid : 0,
		    .letters = mm->letters,
		    .recent = recent[i],
		    .size = c->vsize,
		    .internal_date = mm->mtime,
		    .folder = f,
		    .msg = mm,
		};
		if (!imap_search_match(s, &m))
			continue;
		struct sort_rec *r = &x->recs[x->nr++];
		r->seq = m.seq;
		r->id = x->uid ? m.uid : m.seq;
		r->arrival = (int64_t)m.internal_date;
		r->date = c->has_date ? c->date : (int64_t)m.internal_date;
		r->size = m.size;
	}
	buf_deinit(&msg);
	if (!same) {
		free(sc.path);
		sc.path = xstrdup(f->path);
		sc.uidvalidity = f->uidvalidity;
	}
	free(sc.e);
	sc.e = ne;
	sc.n = nn;
}

/* The messages of f matching s, sorted by cr (owned, *nr_r of them;
   each with rec_free'd strings already). */
static struct sort_rec *sort_collect(struct maildir_folder *f,
				     const bool *recent,
				     const struct imap_search *s,
				     const struct imap_sort_keys *cr, bool uid,
				     size_t *nr_r)
{
	struct sort_ctx x = {xcalloc(f->n ? f->n : 1, sizeof *x.recs), 0, uid,
			     cr};
	if (sc_scalar_only(cr) && !imap_search_needs_text(s) &&
	    !imap_search_needs_file(s))
		sort_scalar(f, recent, s, &x);
	else
		imap_sort_each(f, recent, s, sort_one, &x);
	/* qsort has no context argument in C11: the criteria go through a
	   file-scope pointer (one event loop per process, no threads here) */
	sort_cur = cr;
	if (x.nr > 1)
		qsort(x.recs, x.nr, sizeof *x.recs, rec_cmp);
	sort_cur = NULL;
	for (size_t i = 0; i < x.nr; i++)
		rec_free(&x.recs[i]);
	*nr_r = x.nr;
	return x.recs;
}

uint32_t *imap_sort_run(struct maildir_folder *f, const bool *recent,
			const struct imap_search *s,
			const struct imap_sort_keys *k, size_t *n_r)
{
	struct sort_rec *r = sort_collect(f, recent, s, k, true, n_r);
	uint32_t *v = xcalloc(*n_r ? *n_r : 1, sizeof *v);
	for (size_t i = 0; i < *n_r; i++)
		v[i] = r[i].id;
	free(r);
	return v;
}

void imap_sort_keys_free(struct imap_sort_keys **k)
{
	free(*k);
	*k = NULL;
}

void imap_sort_cmd(struct mra_conn *c, const char *tag,
		   struct maildir_folder *f, const bool *recent, bool uid,
		   const struct imap_arg *args, size_t n)
{
	struct imap_esearch es;
	if (imap_esearch_parse(&args, &n, &es) < 0) {
		free(es.v);
		(void)mra_conn_printf(c,
				      "%s BAD Invalid sort return "
				      "options.\r\n",
				      tag);
		return;
	}
	struct imap_sort_keys cr;
	const char *err =
	    n >= 3 ? parse_crit(&args[0], &cr) : "BAD Invalid arguments.";
	if (err != NULL) {
		(void)mra_conn_printf(c, "%s %s\r\n", tag, err);
		return;
	}
	struct imap_search *s;
	if (imap_sort_prepare(c, tag, args + 1, n - 1, &s) < 0)
		return;
	size_t nr;
	struct sort_rec *recs = sort_collect(f, recent, s, &cr, uid, &nr);
	if (!es.on)
		(void)mra_conn_write(c, "* SORT", 6);
	for (size_t i = 0; i < nr; i++) {
		if (es.on)
			imap_esearch_add(&es, recs[i].id);
		else
			(void)mra_conn_printf(c, " %lu",
					      (unsigned long)recs[i].id);
	}
	free(recs);
	/* CONTEXT=SORT (RFC 5267 §4): kept in sort order */
	struct imap_sort_keys *keep = NULL;
	if (es.update) {
		keep = xmalloc(sizeof *keep);
		*keep = cr;
	}
	if (es.update && !imap_context_add_sort(c, tag, uid, &s, &keep, &es)) {
		imap_sort_keys_free(&keep);
		imap_search_free(&s);
		free(es.v);
		(void)mra_conn_printf(c,
				      "%s NO [NOUPDATE \"%s\"] Too many "
				      "searches kept updated.\r\n",
				      tag, tag);
		return;
	}
	if (es.on)
		imap_esearch_write(c, tag, uid, &es);
	else
		(void)mra_conn_write(c, "\r\n", 2);
	imap_search_free(&s);
	free(es.v);
	(void)mra_conn_printf(c, "%s OK Sort completed.\r\n", tag);
}
