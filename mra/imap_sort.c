/*
 * SORT; see imap_sort.h.  Each matching message's keys (lib/mailkeys:
 * the base subject, sent date, address keys) come from its youju.index
 * entry, or from its file when it has none (the entry is then written),
 * into a small record; the records are sorted with the keys in order.
 * The DATE key is the Date: field in UTC, or the internal date when
 * there is none (RFC 5256 §2.2); address keys use the first address of
 * the field (lib/addrlist): its local part for FROM/TO/CC, its display
 * name or else "local@domain" for DISPLAYFROM/DISPLAYTO.
 */
#include "imap_sort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addrlist.h"
#include "hash.h"
#include "imap_context.h"
#include "imap_render.h"
#include "imap_search.h"
#include "maildir.h"
#include "mailkeys.h"
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

/* The string keys a record keeps, and the sort key each one serves. */
enum rec_str { R_SUBJECT, R_FROM, R_TO, R_CC, R_DFROM, R_DTO, R_NSTR };

static const struct {
	enum sort_key key;
	enum mailkeys_str src;
} rec_strs[R_NSTR] = {
    [R_SUBJECT] = {SORT_SUBJECT, MAILKEYS_SUBJECT},
    [R_FROM] = {SORT_FROM, MAILKEYS_FROM},
    [R_TO] = {SORT_TO, MAILKEYS_TO},
    [R_CC] = {SORT_CC, MAILKEYS_CC},
    [R_DFROM] = {SORT_DISPLAYFROM, MAILKEYS_DFROM},
    [R_DTO] = {SORT_DISPLAYTO, MAILKEYS_DTO},
};

/* one matching message and its keys */
struct sort_rec {
	uint32_t seq, id; /* id: what is sent (sequence or UID) */
	int64_t arrival, date;
	uint64_t size;
	/* the comparison forms the criteria use: offsets into the
	   command's string pool (0: the empty string) */
	size_t str[R_NSTR];
};

/* the strings of one SORT, NUL-terminated, in one growing block */
struct sort_pool {
	char *p;
	size_t n, cap;
};

static size_t pool_add(struct sort_pool *pl, struct str v)
{
	if (pl->cap - pl->n < v.len + 1) {
		while (pl->cap - pl->n < v.len + 1)
			pl->cap = pl->cap ? pl->cap * 2 : 4096;
		pl->p = xrealloc(pl->p, pl->cap);
	}
	size_t off = pl->n;
	if (v.len > 0)
		memcpy(pl->p + off, v.p, v.len);
	pl->p[off + v.len] = '\0';
	pl->n += v.len + 1;
	return off;
}

static int key_str(enum sort_key key)
{
	for (int i = 0; i < R_NSTR; i++)
		if (rec_strs[i].key == key)
			return i;
	return -1;
}

/* Fills r's keys that cr uses from k. */
static void rec_keys(struct sort_rec *r, const struct mailkeys *k,
		     const struct imap_sort_keys *cr, struct sort_pool *pl)
{
	if (k->has_date)
		r->date = k->date;
	for (size_t i = 0; i < cr->n; i++) {
		int j = key_str(cr->key[i]);
		if (j >= 0 && r->str[j] == 0 && k->s[rec_strs[j].src].len > 0)
			r->str[j] = pool_add(pl, k->s[rec_strs[j].src]);
	}
}

/* qsort has no context argument in C11: the criteria and the pool go
   through file-scope pointers (one event loop per process, no threads
   here) */
static const struct imap_sort_keys *sort_cur;
static const char *sort_pool;

static int cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static int rec_cmp(const void *pa, const void *pb)
{
	const struct sort_rec *a = pa, *b = pb;
	for (size_t k = 0; k < sort_cur->n; k++) {
		int c = 0, j;
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
		default:
			j = key_str(sort_cur->key[k]);
			c = strcmp(sort_pool + a->str[j],
				   sort_pool + b->str[j]);
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

/* ---- the date/size cache ------------------------------------------------

   SORT by ARRIVAL, DATE and SIZE with a search that reads no text (the
   common `SORT (REVERSE DATE) UTF-8 ALL` of clients and webmail) needs
   only each message's Date: and its size in CR LF form.  Both are fixed
   for a UID (a Maildir message's content never changes), so each worker
   keeps them for the last folder it sorted this way, keyed by UID and
   checked by the file's base name and size as youju.index's entries are:
   40 bytes a message in one array, cheaper to walk than youju.index's
   records.  When a message is missing from it (new mail, another folder)
   the SORT goes the general way (youju.index, else the file) and the
   cache is rebuilt from that SORT's matches.  Freed, as the thread
   cache is, when no session of the worker has that folder selected any
   more (imap_folder_closed in imap.c). */

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

bool imap_sort_cache_drop(const char *path)
{
	if (sc.path == NULL || strcmp(sc.path, path) != 0)
		return false;
	free(sc.path);
	free(sc.e);
	memset(&sc, 0, sizeof sc);
	return true;
}

static uint64_t sc_hash(const char *s)
{
	return hash_fnv1a(s, strlen(s));
}

static bool sc_scalar_only(const struct imap_sort_keys *cr)
{
	for (size_t k = 0; k < cr->n; k++)
		if (key_str(cr->key[k]) >= 0)
			return false;
	return true;
}

struct sort_ctx {
	struct sort_rec *recs;
	size_t nr;
	bool uid;
	bool arrival; /* cr has ARRIVAL */
	const struct imap_sort_keys *cr;
	struct sort_pool pool;
	struct sc_ent *ne; /* the cache being rebuilt, or NULL */
	size_t nne;
};

static void rec_add(struct sort_ctx *x, const struct imap_search_msg *m,
		    int64_t date)
{
	struct sort_rec *r = &x->recs[x->nr++];
	memset(r, 0, sizeof *r);
	r->seq = m->seq;
	r->id = x->uid ? m->uid : m->seq;
	/* the file's mtime is read (a stat) only for a sort on it */
	r->arrival = x->arrival ? (int64_t)imap_search_msg_date(m) : 0;
	r->date = date;
	r->size = m->size;
}

static void sort_one(void *ctx, const struct imap_search_msg *m,
		     const struct mailkeys *k)
{
	struct sort_ctx *x = ctx;
	rec_add(x, m, k->has_date ? k->date : (int64_t)imap_search_msg_date(m));
	rec_keys(&x->recs[x->nr - 1], k, x->cr, &x->pool);
	if (x->ne != NULL)
		x->ne[x->nne++] = (struct sc_ent){
		    .uid = m->uid,
		    .has_date = k->has_date,
		    .date = k->date,
		    .vsize = m->size,
		    .size = m->msg->size,
		    .base_hash = sc_hash(m->msg->base),
		};
}

/* Answers from the cache when it has every message of f; false (x
   untouched) when one is missing. */
static bool sort_scalar(struct maildir_folder *f, const bool *recent,
			const struct imap_search *s, struct sort_ctx *x)
{
	if (sc.path == NULL || strcmp(sc.path, f->path) != 0 ||
	    sc.uidvalidity != f->uidvalidity)
		return false;
	size_t *at = xcalloc(f->n ? f->n : 1, sizeof *at), j = 0;
	for (size_t i = 0; i < f->n; i++) {
		struct maildir_msg *mm = &f->msgs[i];
		while (j < sc.n && sc.e[j].uid < mm->uid)
			j++;
		if (j == sc.n || sc.e[j].uid != mm->uid ||
		    sc.e[j].size != mm->size ||
		    sc.e[j].base_hash != sc_hash(mm->base)) {
			free(at);
			return false;
		}
		at[i] = j;
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct sc_ent *c = &sc.e[at[i]];
		struct imap_search_msg m;
		imap_search_msg_init(&m, f, i, recent, c->vsize);
		if (imap_search_match(s, &m))
			rec_add(x, &m,
				c->has_date
				    ? c->date
				    : maildir_msg_mtime(f, &f->msgs[i]));
	}
	free(at);
	return true;
}

/* The messages of f matching s, sorted by cr (owned, *nr_r of them);
 *pool_r (owned) holds their strings. */
static struct sort_rec *sort_collect(struct maildir_folder *f,
				     const bool *recent,
				     struct maildir_index *ix,
				     const struct imap_search *s,
				     const struct imap_sort_keys *cr, bool uid,
				     size_t *nr_r, char **pool_r)
{
	struct sort_ctx x = {.recs = xcalloc(f->n ? f->n : 1, sizeof *x.recs),
			     .uid = uid,
			     .cr = cr};
	for (size_t k = 0; k < cr->n; k++)
		if (cr->key[k] == SORT_ARRIVAL)
			x.arrival = true;
	(void)pool_add(&x.pool, (struct str){"", 0}); /* offset 0: "" */
	bool scalar = sc_scalar_only(cr) && !imap_search_needs_text(s) &&
		      !imap_search_needs_file(s);
	if (!scalar || !sort_scalar(f, recent, s, &x)) {
		if (scalar)
			x.ne = xcalloc(f->n ? f->n : 1, sizeof *x.ne);
		imap_search_each(f, recent, NULL, ix, s, true, sort_one, &x);
	}
	if (x.ne != NULL) {
		if (sc.path == NULL || strcmp(sc.path, f->path) != 0) {
			free(sc.path);
			sc.path = xstrdup(f->path);
		}
		sc.uidvalidity = f->uidvalidity;
		free(sc.e);
		sc.e = x.ne;
		sc.n = x.nne;
	}
	sort_cur = cr;
	sort_pool = x.pool.p;
	if (x.nr > 1)
		qsort(x.recs, x.nr, sizeof *x.recs, rec_cmp);
	sort_cur = NULL;
	sort_pool = NULL;
	*nr_r = x.nr;
	*pool_r = x.pool.p;
	return x.recs;
}

uint32_t *imap_sort_run(struct maildir_folder *f, const bool *recent,
			struct maildir_index *ix, const struct imap_search *s,
			const struct imap_sort_keys *k, size_t *n_r)
{
	char *pool;
	struct sort_rec *r =
	    sort_collect(f, recent, ix, s, k, true, n_r, &pool);
	uint32_t *v = xcalloc(*n_r ? *n_r : 1, sizeof *v);
	for (size_t i = 0; i < *n_r; i++)
		v[i] = r[i].id;
	free(r);
	free(pool);
	return v;
}

void imap_sort_keys_free(struct imap_sort_keys **k)
{
	free(*k);
	*k = NULL;
}

void imap_sort_cmd(struct mra_conn *c, const char *tag,
		   struct maildir_folder *f, const bool *recent,
		   struct maildir_index *ix, bool uid,
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
	char *pool;
	struct sort_rec *recs =
	    sort_collect(f, recent, ix, s, &cr, uid, &nr, &pool);
	free(pool);
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
	bool kept =
	    !es.update || imap_context_add_sort(c, tag, uid, &s, &keep, &es);
	imap_sort_keys_free(&keep);
	imap_search_reply(c, tag, uid, kept, &es, &s, "Sort");
}
