/*
 * QRESYNC; see imap_qresync.h.  Which UIDs vanished after a modseq is
 * interval arithmetic: the "x" ranges of youju-modseq newer than it,
 * minus the UIDs still in the folder (a range may span survivors and
 * UIDs that never existed, lib/maildir_modseq.h), intersected with the
 * UIDs the client asks about.  Nothing is enumerated UID by UID, so a
 * range of a million UIDs costs as much as one.
 */
#include "imap_qresync.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_condstore.h"
#include "imap_flags.h"
#include "imap_sess.h"
#include "maildir.h"
#include "mra.h"
#include "str.h"
#include "xalloc.h"

struct ivl {
	uint32_t lo, hi;
};

struct ivls {
	struct ivl *v;
	size_t n, cap;
};

static void ivls_push(struct ivls *s, uint32_t lo, uint32_t hi)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n].lo = lo;
	s->v[s->n].hi = hi;
	s->n++;
}

static int ivl_cmp(const void *a, const void *b)
{
	const struct ivl *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and joins overlapping or touching intervals. */
static void ivls_norm(struct ivls *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof *s->v, ivl_cmp);
	size_t w = 0;
	for (size_t i = 1; i < s->n; i++) {
		if (s->v[i].lo <= s->v[w].hi || s->v[i].lo - 1 == s->v[w].hi) {
			if (s->v[i].hi > s->v[w].hi)
				s->v[w].hi = s->v[i].hi;
		} else {
			s->v[++w] = s->v[i];
		}
	}
	s->n = w + 1;
}

/* One number of a sequence set, or "*" (max). */
static int set_num(const char **p, uint32_t max, uint32_t *v_r)
{
	if (**p == '*') {
		(*p)++;
		*v_r = max;
		return 0;
	}
	uint64_t v = 0;
	if (**p < '0' || **p > '9')
		return -1;
	while (**p >= '0' && **p <= '9') {
		v = v * 10 + (uint64_t)(**p - '0');
		if (v > UINT32_MAX)
			return -1;
		(*p)++;
	}
	*v_r = (uint32_t)v;
	return 0;
}

/* A sequence set ("1:5,7,9:*") as intervals; -1 when malformed. */
static int ivls_parse(const char *set, uint32_t max, struct ivls *s)
{
	const char *p = set;
	for (;;) {
		uint32_t a, b;
		if (set_num(&p, max, &a) < 0)
			return -1;
		b = a;
		if (*p == ':') {
			p++;
			if (set_num(&p, max, &b) < 0)
				return -1;
		}
		if (a > b) {
			uint32_t t = a;
			a = b;
			b = t;
		}
		if (b > 0)
			ivls_push(s, a ? a : 1, b);
		if (*p == '\0')
			break;
		if (*p++ != ',')
			return -1;
	}
	ivls_norm(s);
	return 0;
}

/* a ∩ b (both normalised) into out. */
static void ivls_and(const struct ivls *a, const struct ivls *b,
		     struct ivls *out)
{
	size_t i = 0, j = 0;
	while (i < a->n && j < b->n) {
		uint32_t lo = a->v[i].lo > b->v[j].lo ? a->v[i].lo : b->v[j].lo;
		uint32_t hi = a->v[i].hi < b->v[j].hi ? a->v[i].hi : b->v[j].hi;
		if (lo <= hi)
			ivls_push(out, lo, hi);
		if (a->v[i].hi < b->v[j].hi)
			i++;
		else
			j++;
	}
}

/* a minus the UIDs of f's messages, into out. */
static void ivls_minus_folder(const struct ivls *a,
			      const struct maildir_folder *f, struct ivls *out)
{
	size_t k = 0;
	for (size_t i = 0; i < a->n; i++) {
		uint32_t lo = a->v[i].lo, hi = a->v[i].hi;
		while (k < f->n && f->msgs[k].uid < lo)
			k++;
		while (lo <= hi) {
			if (k < f->n && f->msgs[k].uid <= hi) {
				uint32_t u = f->msgs[k].uid;
				if (u > lo)
					ivls_push(out, lo, u - 1);
				k++;
				if (u == UINT32_MAX)
					break;
				lo = u + 1;
				continue;
			}
			ivls_push(out, lo, hi);
			break;
		}
	}
}

static void ivls_write(struct mra_conn *c, const struct ivls *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].lo == s->v[i].hi)
			(void)mra_conn_printf(c, "%s%lu", i ? "," : "",
					      (unsigned long)s->v[i].lo);
		else
			(void)mra_conn_printf(c, "%s%lu:%lu", i ? "," : "",
					      (unsigned long)s->v[i].lo,
					      (unsigned long)s->v[i].hi);
	}
}

void imap_qresync_enable(struct mra_conn *c)
{
	struct imap_sess *s = c->sess;
	imap_condstore_enable(c, false);
	s->qresync = true;
}

void imap_qresync_vanished(struct mra_conn *c, const char *uidset,
			   uint64_t since)
{
	struct imap_sess *s = c->sess;
	if (s->f == NULL)
		return;
	struct ivls gone = {0}, left = {0}, want = {0}, out = {0};
	for (size_t i = 0; i < s->ms.ngone; i++)
		if (s->ms.gone[i].modseq > since)
			ivls_push(&gone, s->ms.gone[i].lo, s->ms.gone[i].hi);
	ivls_norm(&gone);
	ivls_minus_folder(&gone, s->f, &left);
	uint32_t max = s->f->next_uid > 1 ? s->f->next_uid - 1 : 1;
	if (uidset != NULL && ivls_parse(uidset, max, &want) == 0)
		ivls_and(&left, &want, &out);
	else if (uidset == NULL) {
		out = left;
		memset(&left, 0, sizeof left);
	}
	if (out.n > 0) {
		(void)mra_conn_write(c, "* VANISHED (EARLIER) ", 21);
		ivls_write(c, &out);
		(void)mra_conn_write(c, "\r\n", 2);
	}
	free(gone.v);
	free(left.v);
	free(want.v);
	free(out.v);
}

void imap_qresync_report(struct mra_conn *c, const uint32_t *uids, size_t n)
{
	if (n == 0)
		return;
	struct ivls s = {0};
	for (size_t i = 0; i < n; i++)
		ivls_push(&s, uids[i], uids[i]);
	ivls_norm(&s);
	(void)mra_conn_write(c, "* VANISHED ", 11);
	ivls_write(c, &s);
	(void)mra_conn_write(c, "\r\n", 2);
	free(s.v);
}

static bool arg_num(const struct imap_arg *a, uint64_t min, uint64_t max,
		    uint64_t *v_r)
{
	return a->type == IMAP_ARG_ATOM &&
	       str_parse_u64(a->s, min, max, v_r) == 0;
}

int imap_qresync_parse_select(const struct imap_sess *s,
			      const struct imap_arg *a,
			      struct imap_qresync_req *r, bool *condstore_r,
			      const char **error_r)
{
	memset(r, 0, sizeof *r);
	*condstore_r = false;
	*error_r = "BAD Invalid arguments.";
	if (a->type != IMAP_ARG_LIST)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		const struct imap_arg *p = &a->list[i];
		if (p->type != IMAP_ARG_ATOM)
			return -1;
		if (strcasecmp(p->s, "CONDSTORE") == 0) {
			*condstore_r = true;
			continue;
		}
		if (strcasecmp(p->s, "QRESYNC") != 0 || r->on || i + 1 == a->n)
			return -1;
		/* RFC 7162 §3.2.5: BAD unless enabled first */
		if (!s->qresync) {
			*error_r = "BAD QRESYNC not enabled.";
			return -1;
		}
		const struct imap_arg *q = &a->list[++i];
		uint64_t v, m;
		if (q->type != IMAP_ARG_LIST || q->n < 2 || q->n > 4 ||
		    !arg_num(&q->list[0], 1, UINT32_MAX, &v) ||
		    !arg_num(&q->list[1], 0, INT64_MAX, &m))
			return -1;
		if (q->n >= 3 && (q->list[2].type != IMAP_ARG_ATOM ||
				  !imap_seqset_ok(q->list[2].s)))
			return -1;
		/* seq-match: two sets; youju's modseqs answer exactly
		   without them (RFC 7162 §3.2.5.2 lets a server ignore it) */
		if (q->n == 4 &&
		    (q->list[3].type != IMAP_ARG_LIST || q->list[3].n != 2 ||
		     q->list[3].list[0].type != IMAP_ARG_ATOM ||
		     q->list[3].list[1].type != IMAP_ARG_ATOM ||
		     !imap_seqset_ok(q->list[3].list[0].s) ||
		     !imap_seqset_ok(q->list[3].list[1].s)))
			return -1;
		r->on = true;
		r->uidvalidity = (uint32_t)v;
		r->modseq = m;
		r->known = q->n >= 3 ? q->list[2].s : NULL;
	}
	return 0;
}

int imap_qresync_fetch_mods(const struct imap_sess *s, const struct imap_arg *a,
			    bool uid, uint64_t *since_r, bool *vanished_r)
{
	*since_r = 0;
	*vanished_r = false;
	if (a->type != IMAP_ARG_LIST || a->n == 0)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		const struct imap_arg *p = &a->list[i];
		if (p->type != IMAP_ARG_ATOM)
			return -1;
		if (strcasecmp(p->s, "VANISHED") == 0 && !*vanished_r) {
			*vanished_r = true;
			continue;
		}
		if (strcasecmp(p->s, "CHANGEDSINCE") != 0 || *since_r != 0 ||
		    i + 1 == a->n ||
		    !arg_num(&a->list[i + 1], 1, INT64_MAX, since_r))
			return -1;
		i++;
	}
	/* RFC 7162 §3.2.6: VANISHED needs UID FETCH, CHANGEDSINCE and
	   QRESYNC enabled */
	if (*vanished_r && (!uid || *since_r == 0 || !s->qresync))
		return -1;
	return *since_r != 0 ? 0 : -1;
}

void imap_qresync_select(struct mra_conn *c, const struct imap_qresync_req *r)
{
	struct imap_sess *s = c->sess;
	/* another UIDVALIDITY: the client starts over, nothing to tell
	   (RFC 7162 §3.2.5.1) */
	if (!r->on || s->f == NULL || r->uidvalidity != s->f->uidvalidity)
		return;
	imap_qresync_vanished(c, r->known, r->modseq);
	const uint64_t *ms = imap_condstore_modseqs(s);
	if (ms == NULL)
		return;
	uint32_t max = s->f->n ? s->f->msgs[s->f->n - 1].uid : 0;
	for (size_t i = 0; i < s->f->n; i++) {
		const struct maildir_msg *m = &s->f->msgs[i];
		if (ms[i] <= r->modseq ||
		    (r->known != NULL &&
		     !imap_seqset_has(r->known, m->uid, max)))
			continue;
		(void)mra_conn_printf(c, "* %zu FETCH (UID %lu FLAGS ", i + 1,
				      (unsigned long)m->uid);
		imap_flags_write(c, &s->f->kw, m->letters, s->recent[i]);
		(void)mra_conn_printf(c, " MODSEQ (%llu))\r\n",
				      (unsigned long long)ms[i]);
	}
}
