/*
 * Threads of messages (RFC 5256 §3); see mailthread.h.  Containers live
 * in one growing array and refer to each other by index (parent, first
 * child, next sibling); a small chained hash maps message-ids to
 * containers.  Every walk up the parent chain is bounded by the number
 * of containers and skipped for a container without children, so broken
 * or hostile References (loops, thousands of ids) cannot cause unbounded
 * work, and a long reply chain in order links in linear time.
 */
#include "mailthread.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "mailkeys.h"
#include "xalloc.h"

#define NONE MAILTHREAD_NONE

struct tmsg {
	uint32_t seq, id;
	int64_t date;
	size_t subject; /* folded base subject: offset in pool */
	uint64_t shash; /* its hash (gathering, each build) */
	bool reply;	/* the subject was a reply or forward */
	size_t msgid;	/* "<...>" in pool, or NONE */
	size_t ref0;	/* its References ids: refs[ref0 .. ref0 + nrefs) */
	size_t nrefs;
};

/* Siblings form a doubly linked list with its tail kept in the parent,
   so that linking, unlinking and replacing a node cost O(1) however many
   threads sit under the root (tens of thousands in a large folder). */
struct tnode {
	size_t msg; /* index into msgs, NONE for a dummy */
	size_t parent, child, last, prev, next;
	size_t id;    /* the message-id: offset in pool; NONE when unique */
	size_t hnext; /* hash chain */
};

struct skey;

struct mailthread {
	struct tmsg *msgs;
	size_t nmsgs, capmsgs;
	/* the messages' strings, NUL-terminated, and the offsets of the
	   reference ids: one allocation for all, not one per string */
	char *pool;
	size_t npool, cappool;
	size_t *refs;
	size_t nrefs, caprefs;
	/* the containers being worked on: the tree of the last build (what
	   the walk reads), or while linking the linked containers */
	struct tnode *n;
	size_t nn, capn;
	/* REFERENCES step 1 as far as it went: the containers of the first
	   nlinked messages, linked (swapped into n while linking), and the
	   id hash over them */
	struct tnode *ln;
	size_t lnn, lcapn;
	size_t nlinked;
	size_t *hash;
	size_t nhash;
	size_t root;
	struct skey *sk; /* scratch of sort_kids */
	size_t capsk;
};

/* ---- reading the messages --------------------------------------------- */

/* Copies p[0..len) into the pool; its offset. */
static size_t pool_add(struct mailthread *t, const char *p, size_t len)
{
	if (t->cappool - t->npool < len + 1) {
		while (t->cappool - t->npool < len + 1)
			t->cappool = t->cappool ? t->cappool * 2 : 4096;
		t->pool = xrealloc(t->pool, t->cappool);
	}
	size_t off = t->npool;
	if (len > 0)
		memcpy(t->pool + off, p, len);
	t->pool[off + len] = '\0';
	t->npool += len + 1;
	return off;
}

static uint64_t str_hash(const char *s)
{
	return hash_fnv1a(s, strlen(s));
}

static const char *tm_subject(const struct mailthread *t, const struct tmsg *m)
{
	return t->pool + m->subject;
}

void mailthread_add_keys(struct mailthread *t, uint32_t seq, uint32_t id,
			 int64_t internal_date, const struct mailkeys *k)
{
	if (t->nmsgs == t->capmsgs) {
		t->capmsgs = t->capmsgs ? t->capmsgs * 2 : 64;
		t->msgs = xrealloc(t->msgs, t->capmsgs * sizeof *t->msgs);
	}
	struct tmsg *x = &t->msgs[t->nmsgs++];
	memset(x, 0, sizeof *x);
	x->seq = seq;
	x->id = id;
	x->date = k->has_date ? k->date : internal_date;
	x->reply = k->reply;
	x->subject =
	    pool_add(t, k->s[MAILKEYS_SUBJECT].p, k->s[MAILKEYS_SUBJECT].len);
	x->shash = str_hash(t->pool + x->subject);
	x->msgid =
	    k->s[MAILKEYS_MSGID].len > 0
		? pool_add(t, k->s[MAILKEYS_MSGID].p, k->s[MAILKEYS_MSGID].len)
		: NONE;
	x->ref0 = t->nrefs;
	struct str refs = k->refs, r;
	while (mailkeys_ref_next(&refs, &r)) {
		if (t->nrefs == t->caprefs) {
			t->caprefs = t->caprefs ? t->caprefs * 2 : 256;
			t->refs =
			    xrealloc(t->refs, t->caprefs * sizeof *t->refs);
		}
		t->refs[t->nrefs++] = pool_add(t, r.p, r.len);
		x->nrefs++;
	}
}

void mailthread_add(struct mailthread *t, uint32_t seq, uint32_t id,
		    int64_t internal_date, const char *hdr, size_t hl)
{
	struct buf b;
	buf_init(&b, MAILKEYS_BLOB_MAX);
	struct mailkeys k;
	if (mailkeys_build(hdr, hl, &b) < 0 ||
	    !mailkeys_decode((struct str){b.p ? b.p : "", b.len}, &k)) {
		/* keys larger than the limit: a message without any */
		memset(&k, 0, sizeof k);
		k.s[MAILKEYS_SUBJECT] = (struct str){"", 0};
	}
	mailthread_add_keys(t, seq, id, internal_date, &k);
	buf_deinit(&b);
}

/* ---- containers ------------------------------------------------------- */

static size_t node_new(struct mailthread *t, size_t id)
{
	if (t->nn == t->capn) {
		t->capn = t->capn ? t->capn * 2 : 64;
		t->n = xrealloc(t->n, t->capn * sizeof *t->n);
	}
	t->n[t->nn] = (struct tnode){.msg = NONE,
				     .parent = NONE,
				     .child = NONE,
				     .last = NONE,
				     .prev = NONE,
				     .next = NONE,
				     .id = id,
				     .hnext = NONE};
	return t->nn++;
}

static size_t hash_of(const char *s, size_t nhash)
{
	return (size_t)(str_hash(s) % nhash);
}

/* Whether a and b have the same base subject. */
static bool same_subject(const struct mailthread *t, const struct tmsg *a,
			 const struct tmsg *b)
{
	return a->shash == b->shash &&
	       strcmp(tm_subject(t, a), tm_subject(t, b)) == 0;
}

/* The container of id, created (as a dummy) when missing. */
static size_t node_of(struct mailthread *t, size_t id_off)
{
	const char *id = t->pool + id_off;
	size_t h = hash_of(id, t->nhash);
	for (size_t k = t->hash[h]; k != NONE; k = t->n[k].hnext)
		if (strcmp(t->pool + t->n[k].id, id) == 0)
			return k;
	size_t k = node_new(t, id_off);
	t->n[k].hnext = t->hash[h];
	t->hash[h] = k;
	return k;
}

/*
 * Is a an ancestor of b, or b itself?  A node without children is no
 * one's ancestor: that answer costs nothing, and it is the common case
 * (a message's own container is new unless a reply came before it), so
 * a folder that is one long reply chain links in linear time instead of
 * walking the whole chain up for every message.  Otherwise the walk is
 * bounded by the number of containers.
 */
static bool is_ancestor(const struct mailthread *t, size_t a, size_t b)
{
	if (t->n[a].child == NONE)
		return a == b;
	for (size_t k = b, steps = 0; k != NONE && steps <= t->nn;
	     k = t->n[k].parent, steps++)
		if (k == a)
			return true;
	return false;
}

static void unlink_node(struct mailthread *t, size_t k)
{
	struct tnode *x = &t->n[k];
	if (x->parent == NONE)
		return;
	if (x->prev != NONE)
		t->n[x->prev].next = x->next;
	else
		t->n[x->parent].child = x->next;
	if (x->next != NONE)
		t->n[x->next].prev = x->prev;
	else
		t->n[x->parent].last = x->prev;
	x->parent = x->prev = x->next = NONE;
}

/* Makes c (in no list, or in one being rebuilt) the last child of p. */
static void add_child(struct mailthread *t, size_t p, size_t c)
{
	t->n[c].parent = p;
	t->n[c].next = NONE;
	t->n[c].prev = t->n[p].last;
	if (t->n[p].last != NONE)
		t->n[t->n[p].last].next = c;
	else
		t->n[p].child = c;
	t->n[p].last = c;
}

/* The id hash sized for at least want containers, every container of
   t->n with an id in it. */
static void hash_grow(struct mailthread *t, size_t want)
{
	if (t->hash != NULL && want <= t->nhash)
		return;
	free(t->hash);
	t->nhash = want * 2 + 16;
	t->hash = xmalloc(t->nhash * sizeof *t->hash);
	for (size_t i = 0; i < t->nhash; i++)
		t->hash[i] = NONE;
	for (size_t k = 0; k < t->nn; k++) {
		if (t->n[k].id == NONE)
			continue;
		size_t h = hash_of(t->pool + t->n[k].id, t->nhash);
		t->n[k].hnext = t->hash[h];
		t->hash[h] = k;
	}
}

/* RFC 5256 §3 REFERENCES step 1: the id table and the links, for the
   messages not linked yet.  Step 1 takes the messages one by one in
   order and what it does for one depends only on those before it, so
   linking messages added after a build to the containers kept from it
   is what linking all of them from scratch gives. */
static void thr_link(struct mailthread *t)
{
	size_t more = t->nrefs;
	for (size_t i = 0; i < t->nlinked; i++)
		more -= t->msgs[i].nrefs;
	/* at most a container per message and per reference */
	hash_grow(t, t->nn + (t->nmsgs - t->nlinked) + more);
	for (size_t i = t->nlinked; i < t->nmsgs; i++) {
		struct tmsg *m = &t->msgs[i];
		size_t self;
		if (m->msgid != NONE) {
			self = node_of(t, m->msgid);
			if (t->n[self].msg != NONE) /* a duplicate id */
				self = node_new(t, NONE);
		} else {
			self = node_new(t, NONE);
		}
		t->n[self].msg = i;
		/* (A) the references as a chain, never into a loop nor
		   over an existing parent link */
		size_t prev = NONE;
		for (size_t r = 0; r < m->nrefs; r++) {
			size_t k = node_of(t, t->refs[m->ref0 + r]);
			if (prev != NONE && k != prev &&
			    t->n[k].parent == NONE && !is_ancestor(t, k, prev))
				add_child(t, prev, k);
			prev = k;
		}
		/* (B) the message under its last reference: a link made
		   by other messages' (perhaps truncated) References is
		   broken first, and without references it has no parent */
		unlink_node(t, self);
		if (prev != NONE && prev != self && !is_ancestor(t, self, prev))
			add_child(t, prev, self);
	}
	t->nlinked = t->nmsgs;
}

/* ---- pruning, sorting, gathering ---------------------------------------- */

/* Removes dummies (RFC 5256 §3 step 3) below k, a non-root node; each
   child list is rebuilt in order. */
static void prune(struct mailthread *t, size_t k, bool root_level,
		  unsigned depth)
{
	size_t c = t->n[k].child;
	t->n[k].child = t->n[k].last = NONE; /* rebuilt below */
	while (c != NONE) {
		size_t next = t->n[c].next;
		if (depth < MAILTHREAD_DEPTH_MAX)
			prune(t, c, false, depth + 1);
		bool dummy = t->n[c].msg == NONE;
		size_t nkids = 0;
		for (size_t g = t->n[c].child; g != NONE; g = t->n[g].next)
			nkids++;
		if (dummy && nkids == 0) {
			/* (A) an empty dummy goes */
		} else if (dummy && (!root_level || nkids == 1)) {
			/* (B) its children take its place */
			for (size_t g = t->n[c].child, gn; g != NONE; g = gn) {
				gn = t->n[g].next;
				add_child(t, k, g);
			}
		} else {
			add_child(t, k, c);
		}
		c = next;
	}
}

/* The message a node sorts and is named by: itself, or a dummy's first
   child's. */
static const struct tmsg *node_msg(const struct mailthread *t, size_t k)
{
	for (size_t steps = 0; k != NONE && steps <= t->nn; steps++) {
		if (t->n[k].msg != NONE)
			return &t->msgs[t->n[k].msg];
		k = t->n[k].child;
	}
	return NULL;
}

/* A node's place among its siblings: the sent date and sequence of the
   message it is named by; a node without one sorts last, in the order
   it had (idx). */
struct skey {
	int64_t date;
	uint32_t seq;
	bool none;
	size_t idx, node;
};

static int skey_cmp(const void *pa, const void *pb)
{
	const struct skey *a = pa, *b = pb;
	if (a->none != b->none)
		return a->none ? 1 : -1;
	if (!a->none) {
		if (a->date != b->date)
			return a->date < b->date ? -1 : 1;
		if (a->seq != b->seq)
			return a->seq < b->seq ? -1 : 1;
	}
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Sorts the children of k by sent date (depth first when deep).  The
   keys are taken once per node, not at each comparison, and children
   already in order (most of them, the second time the root is sorted)
   are left as they are. */
static void sort_kids(struct mailthread *t, size_t k, bool deep, unsigned depth)
{
	size_t n = 0;
	for (size_t c = t->n[k].child; c != NONE; c = t->n[c].next) {
		if (deep && depth < MAILTHREAD_DEPTH_MAX)
			sort_kids(t, c, true, depth + 1);
		n++;
	}
	if (n < 2)
		return;
	if (t->capsk < n) {
		t->capsk = n + n / 2;
		free(t->sk);
		t->sk = xmalloc(t->capsk * sizeof *t->sk);
	}
	struct skey *v = t->sk;
	size_t i = 0;
	bool sorted = true;
	for (size_t c = t->n[k].child; c != NONE; c = t->n[c].next, i++) {
		const struct tmsg *m = node_msg(t, c);
		v[i] = (struct skey){.date = m ? m->date : 0,
				     .seq = m ? m->seq : 0,
				     .none = m == NULL,
				     .idx = i,
				     .node = c};
		if (i > 0 && sorted && skey_cmp(&v[i - 1], &v[i]) > 0)
			sorted = false;
	}
	if (sorted)
		return;
	qsort(v, n, sizeof *v, skey_cmp);
	t->n[k].child = t->n[k].last = NONE;
	for (i = 0; i < n; i++)
		add_child(t, k, v[i].node);
}

/* RFC 5256 §3 step 5: threads under the root with one base subject are
   gathered. */
static void gather(struct mailthread *t, size_t root)
{
	size_t n = 0;
	for (size_t c = t->n[root].child; c != NONE; c = t->n[c].next)
		n++;
	if (n < 2)
		return;
	size_t *v = xmalloc(n * sizeof *v), i = 0;
	for (size_t c = t->n[root].child; c != NONE; c = t->n[c].next)
		v[i++] = c;
	/* (B) the subject table: base subject -> node, open addressing
	   (at most n entries in 2n + 1 slots) */
	size_t nh = n * 2 + 1;
	size_t *tab = xmalloc(nh * sizeof *tab);
	for (i = 0; i < nh; i++)
		tab[i] = NONE;
	for (i = 0; i < n; i++) {
		const struct tmsg *m = node_msg(t, v[i]);
		if (m == NULL || tm_subject(t, m)[0] == '\0')
			continue;
		size_t h = (size_t)(m->shash % nh);
		const struct tmsg *om;
		while (tab[h] != NONE && (om = node_msg(t, tab[h])) != NULL &&
		       !same_subject(t, om, m))
			h = (h + 1) % nh;
		if (tab[h] == NONE) {
			tab[h] = v[i];
			continue;
		}
		size_t cur = tab[h];
		bool cur_dummy = t->n[cur].msg == NONE;
		bool me_dummy = t->n[v[i]].msg == NONE;
		if (!cur_dummy &&
		    (me_dummy || (t->msgs[t->n[cur].msg].reply && !m->reply)))
			tab[h] = v[i];
	}
	/* (C) merge */
	for (i = 0; i < n; i++) {
		size_t me = v[i];
		const struct tmsg *m = node_msg(t, me);
		if (m == NULL || tm_subject(t, m)[0] == '\0')
			continue;
		size_t h = (size_t)(m->shash % nh);
		const struct tmsg *om;
		while (tab[h] != NONE && (om = node_msg(t, tab[h])) != NULL &&
		       !same_subject(t, om, m))
			h = (h + 1) % nh;
		size_t other = tab[h];
		if (other == NONE)
			continue;
		if (other == me)
			continue;
		bool o_dummy = t->n[other].msg == NONE;
		bool me_dummy = t->n[me].msg == NONE;
		unlink_node(t, me);
		if (o_dummy && me_dummy) {
			for (size_t g = t->n[me].child, gn; g != NONE; g = gn) {
				gn = t->n[g].next;
				add_child(t, other, g);
			}
			t->n[me].child = t->n[me].last = NONE;
		} else if (o_dummy || (!me_dummy && m->reply &&
				       !t->msgs[t->n[other].msg].reply)) {
			add_child(t, other, me);
		} else {
			/* a new dummy holding both, in other's place */
			size_t d = node_new(t, NONE);
			struct tnode *o = &t->n[other], *dn = &t->n[d];
			dn->parent = root;
			dn->prev = o->prev;
			dn->next = o->next;
			if (o->prev != NONE)
				t->n[o->prev].next = d;
			else
				t->n[root].child = d;
			if (o->next != NONE)
				t->n[o->next].prev = d;
			else
				t->n[root].last = d;
			o->parent = o->prev = o->next = NONE;
			add_child(t, d, other);
			add_child(t, d, me);
			tab[h] = d;
		}
	}
	free(tab);
	free(v);
}

/* ORDEREDSUBJECT (RFC 5256 §3): by base subject, then date; each group's
   first message is the parent of the others. */
static const struct mailthread *os_thr;

static int os_cmp(const void *pa, const void *pb)
{
	const struct tmsg *a = &os_thr->msgs[*(const size_t *)pa];
	const struct tmsg *b = &os_thr->msgs[*(const size_t *)pb];
	int s = strcmp(tm_subject(os_thr, a), tm_subject(os_thr, b));
	if (s != 0)
		return s;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static void ordered_subject(struct mailthread *t, size_t root)
{
	size_t *v = xmalloc((t->nmsgs ? t->nmsgs : 1) * sizeof *v);
	for (size_t i = 0; i < t->nmsgs; i++)
		v[i] = i;
	os_thr = t;
	qsort(v, t->nmsgs, sizeof *v, os_cmp);
	os_thr = NULL;
	size_t parent = NONE;
	const char *subj = NULL;
	for (size_t i = 0; i < t->nmsgs; i++) {
		size_t k = node_new(t, NONE);
		t->n[k].msg = v[i];
		const char *s = tm_subject(t, &t->msgs[v[i]]);
		if (parent != NONE && strcmp(s, subj) == 0) {
			add_child(t, parent, k);
		} else {
			add_child(t, root, k);
			parent = k;
			subj = s;
		}
	}
	free(v);
}

struct mailthread *mailthread_new(void)
{
	struct mailthread *t = xcalloc(1, sizeof *t);
	t->root = NONE;
	return t;
}

/* Swaps the working containers with the linked ones. */
static void swap_linked(struct mailthread *t)
{
	struct tnode *n = t->n;
	size_t nn = t->nn, capn = t->capn;
	t->n = t->ln;
	t->nn = t->lnn;
	t->capn = t->lcapn;
	t->ln = n;
	t->lnn = nn;
	t->lcapn = capn;
}

void mailthread_build(struct mailthread *t, bool references)
{
	size_t root;
	t->nn = 0; /* the last tree goes */
	if (references) {
		swap_linked(t);
		thr_link(t);
		swap_linked(t);
		/* steps 2-6 rearrange a copy: the links stay for the next
		   build */
		if (t->capn < t->lnn + 1) {
			t->capn = t->lnn + t->lnn / 4 + 64;
			free(t->n);
			t->n = xmalloc(t->capn * sizeof *t->n);
		}
		if (t->lnn > 0)
			memcpy(t->n, t->ln, t->lnn * sizeof *t->n);
		t->nn = t->lnn;
		root = node_new(t, NONE);
		for (size_t k = 0; k < root; k++)
			if (t->n[k].parent == NONE)
				add_child(t, root, k);
		prune(t, root, true, 0);
		sort_kids(t, root, false, 0);
		gather(t, root);
		sort_kids(t, root, true, 0);
	} else {
		root = node_new(t, NONE);
		ordered_subject(t, root);
		sort_kids(t, root, false, 0);
	}
	t->root = root;
}

size_t mailthread_root(const struct mailthread *t)
{
	return t->root;
}

size_t mailthread_child(const struct mailthread *t, size_t k)
{
	return k < t->nn ? t->n[k].child : NONE;
}

size_t mailthread_next(const struct mailthread *t, size_t k)
{
	return k < t->nn ? t->n[k].next : NONE;
}

bool mailthread_id(const struct mailthread *t, size_t k, uint32_t *id_r)
{
	if (k >= t->nn || t->n[k].msg == NONE)
		return false;
	*id_r = t->msgs[t->n[k].msg].id;
	return true;
}

void mailthread_free(struct mailthread **tp)
{
	struct mailthread *t = *tp;
	if (t == NULL)
		return;
	free(t->pool);
	free(t->refs);
	free(t->msgs);
	free(t->n);
	free(t->ln);
	free(t->hash);
	free(t->sk);
	free(t);
	*tp = NULL;
}

void mailthread_drop_tree(struct mailthread *t)
{
	free(t->n);
	t->n = NULL;
	t->nn = t->capn = 0;
	t->root = NONE;
}

size_t mailthread_count(const struct mailthread *t)
{
	return t->nmsgs;
}

size_t mailthread_bytes(const struct mailthread *t)
{
	return sizeof *t + t->capmsgs * sizeof *t->msgs + t->cappool +
	       t->caprefs * sizeof *t->refs +
	       (t->capn + t->lcapn) * sizeof *t->n + t->nhash * sizeof *t->hash;
}
