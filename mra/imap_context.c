/*
 * CONTEXT=SEARCH UPDATE; see imap_context.h.  Each active search is
 * evaluated again on the session's snapshot when a change may have to be
 * told (its cost is a SEARCH's: a BODY search reads the messages again),
 * and its result compared by UID with the last one told.  The position
 * in ADDTO / REMOVEFROM is 0: an unsorted SEARCH result has no order
 * (RFC 5267 §4.4).
 */
#include "imap_context.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_render.h"
#include "imap_search.h"
#include "imap_sess.h"
#include "imap_sort.h"
#include "maildir.h"
#include "mra.h"
#include "xalloc.h"

static void imap_context_free(struct imap_context *x)
{
	free(x->tag);
	imap_search_free(&x->s);
	imap_sort_keys_free(&x->sort);
	free(x->seq);
	free(x->uids);
	memset(x, 0, sizeof *x);
}

/* The sequence number of uid in f (1-based), or 0. */
static size_t imap_context_seq(const struct maildir_folder *f, uint32_t uid)
{
	return (size_t)(maildir_folder_find(f, uid) + 1);
}

/* The result as (seq, uid) pairs from matches v (seqs or UIDs). */
static void imap_context_set(struct imap_context *x,
			     const struct maildir_folder *f, const uint32_t *v,
			     size_t n, bool v_uid)
{
	free(x->seq);
	free(x->uids);
	x->seq = xcalloc(n ? n : 1, sizeof *x->seq);
	x->uids = xcalloc(n ? n : 1, sizeof *x->uids);
	x->n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t q = v_uid ? imap_context_seq(f, v[i]) : v[i];
		if (q == 0 || q > f->n)
			continue;
		x->seq[x->n] = (uint32_t)q;
		x->uids[x->n] = f->msgs[q - 1].uid;
		x->n++;
	}
}

bool imap_context_add(struct mra_conn *c, const char *tag, bool uid,
		      struct imap_search **s, const struct imap_esearch *es)
{
	struct imap_sess *ss = c->sess;
	if (ss->nctx == IMAP_CONTEXT_MAX || ss->f == NULL)
		return false;
	if (ss->ctx == NULL)
		ss->ctx = xcalloc(IMAP_CONTEXT_MAX, sizeof *ss->ctx);
	struct imap_context *x = &ss->ctx[ss->nctx++];
	x->tag = xstrdup(tag);
	x->uid = uid;
	x->s = *s;
	*s = NULL;
	imap_context_set(x, ss->f, es->v, es->n, uid);
	return true;
}

bool imap_context_add_sort(struct mra_conn *c, const char *tag, bool uid,
			   struct imap_search **s, struct imap_sort_keys **k,
			   const struct imap_esearch *es)
{
	struct imap_sess *ss = c->sess;
	if (!imap_context_add(c, tag, uid, s, es))
		return false;
	ss->ctx[ss->nctx - 1].sort = *k;
	*k = NULL;
	return true;
}

int imap_context_cancel(struct imap_sess *s, const char *tag)
{
	for (size_t i = 0; i < s->nctx; i++) {
		if (strcmp(s->ctx[i].tag, tag) != 0)
			continue;
		imap_context_free(&s->ctx[i]);
		s->ctx[i] = s->ctx[--s->nctx];
		memset(&s->ctx[s->nctx], 0, sizeof s->ctx[s->nctx]);
		return 0;
	}
	return -1;
}

void imap_context_clear(struct imap_sess *s)
{
	for (size_t i = 0; i < s->nctx; i++)
		imap_context_free(&s->ctx[i]);
	free(s->ctx);
	s->ctx = NULL;
	s->nctx = 0;
}

static void imap_context_head(struct mra_conn *c, const struct imap_context *x,
			      const char *what)
{
	struct buf q;
	buf_init(&q, 2 * strlen(x->tag) + 3);
	(void)mra_conn_write(c, "* ESEARCH (TAG ", 15);
	if (imap_render_quoted(&q, x->tag, strlen(x->tag)) == 0)
		(void)mra_conn_write(c, q.p, q.len);
	buf_deinit(&q);
	(void)mra_conn_printf(c, ")%s %s (", x->uid ? " UID" : "", what);
}

void imap_context_expunge(struct mra_conn *c, size_t seq)
{
	struct imap_sess *s = c->sess;
	for (size_t i = 0; i < s->nctx; i++) {
		struct imap_context *x = &s->ctx[i];
		size_t w = 0;
		for (size_t k = 0; k < x->n; k++) {
			if (x->seq[k] == seq) {
				/* the position in a sorted result */
				imap_context_head(c, x, "REMOVEFROM");
				(void)mra_conn_printf(
				    c, "%zu %lu)\r\n", x->sort ? w + 1 : 0,
				    (unsigned long)(x->uid ? x->uids[k] : seq));
				continue;
			}
			x->seq[w] = x->seq[k] > seq ? x->seq[k] - 1 : x->seq[k];
			x->uids[w] = x->uids[k];
			w++;
		}
		x->n = w;
	}
}

/* Sends "* ESEARCH (TAG t) [UID] what (0 set)" for v[0..n) when n > 0. */
static void imap_context_tell(struct mra_conn *c, const struct imap_context *x,
			      const char *what, const uint32_t *v, size_t n)
{
	if (n == 0)
		return;
	imap_context_head(c, x, what);
	(void)mra_conn_write(c, "0 ", 2);
	imap_esearch_set(c, v, n);
	(void)mra_conn_write(c, ")\r\n", 3);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static bool u32_has(const uint32_t *sorted, size_t n, uint32_t v)
{
	return bsearch(&v, sorted, n, sizeof v, u32_cmp) != NULL;
}

/* "* ESEARCH (TAG t) [UID] what (pos id)" */
static void imap_context_one(struct mra_conn *c, const struct imap_context *x,
			     const char *what, size_t pos, uint32_t id)
{
	imap_context_head(c, x, what);
	(void)mra_conn_printf(c, "%zu %lu)\r\n", pos, (unsigned long)id);
}

/*
 * A sorted context (RFC 5267 §4.3): a message's place in the order never
 * changes (the sort keys come from its text, which never changes), so
 * the new order is the old one with messages taken out and put in.  Each
 * removal is told with its position at that moment, then each addition
 * with its final position, in ascending order, so a client applying them
 * one by one ends with the new order.
 */
static void imap_context_sorted(struct mra_conn *c, struct imap_context *x)
{
	struct imap_sess *s = c->sess;
	size_t nn;
	uint32_t *nv =
	    imap_sort_run(s->f, s->recent, s->ix, x->s, x->sort, &nn);
	uint32_t *ns = xcalloc(nn + 1, sizeof *ns), *os;
	memcpy(ns, nv, nn * sizeof *ns);
	qsort(ns, nn, sizeof *ns, u32_cmp);
	os = xcalloc(x->n + 1, sizeof *os);
	memcpy(os, x->uids, x->n * sizeof *os);
	qsort(os, x->n, sizeof *os, u32_cmp);
	size_t pos = 0;
	for (size_t k = 0; k < x->n; k++) {
		if (u32_has(ns, nn, x->uids[k])) {
			pos++;
			continue;
		}
		size_t q = imap_context_seq(s->f, x->uids[k]);
		if (q != 0) /* else told with its EXPUNGE */
			imap_context_one(c, x, "REMOVEFROM", pos + 1,
					 x->uid ? x->uids[k] : (uint32_t)q);
	}
	for (size_t k = 0; k < nn; k++)
		if (!u32_has(os, x->n, nv[k]))
			imap_context_one(
			    c, x, "ADDTO", k + 1,
			    x->uid ? nv[k]
				   : (uint32_t)imap_context_seq(s->f, nv[k]));
	imap_context_set(x, s->f, nv, nn, true);
	free(nv);
	free(ns);
	free(os);
}

void imap_context_notify(struct mra_conn *c)
{
	struct imap_sess *s = c->sess;
	if (s == NULL || s->nctx == 0 || s->f == NULL || s->notifying)
		return;
	s->notifying = true;
	for (size_t i = 0; i < s->nctx; i++) {
		struct imap_context *x = &s->ctx[i];
		if (x->sort != NULL) {
			imap_context_sorted(c, x);
			continue;
		}
		struct imap_esearch es;
		memset(&es, 0, sizeof es);
		imap_search_run(s->f, s->recent, NULL, s->ix, x->s, false, &es);
		/* es.v: the new sequence numbers, x the old result, both
		   ascending (and so in UID order): one merge */
		uint32_t *add = xcalloc(es.n + 1, sizeof *add);
		uint32_t *del = xcalloc(x->n + 1, sizeof *del);
		size_t na = 0, nd = 0, k = 0, j = 0;
		while (k < es.n || j < x->n) {
			uint32_t nu =
			    k < es.n ? s->f->msgs[es.v[k] - 1].uid : UINT32_MAX;
			uint32_t ou = j < x->n ? x->uids[j] : UINT32_MAX;
			if (nu == ou) {
				k++;
				j++;
			} else if (nu < ou) {
				add[na++] = x->uid ? nu : es.v[k];
				k++;
			} else {
				size_t q = imap_context_seq(s->f, ou);
				if (q != 0) /* else told with its EXPUNGE */
					del[nd++] = x->uid ? ou : (uint32_t)q;
				j++;
			}
		}
		imap_context_tell(c, x, "REMOVEFROM", del, nd);
		imap_context_tell(c, x, "ADDTO", add, na);
		imap_context_set(x, s->f, es.v, es.n, false);
		free(add);
		free(del);
		free(es.v);
		free(es.ms);
	}
	s->notifying = false;
}
