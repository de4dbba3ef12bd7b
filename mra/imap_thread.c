/*
 * THREAD; see imap_thread.h.  The threads are built by lib/mailthread
 * (shared with webmail's conversation view); this file reads the
 * command, feeds it the matching messages' keys (from youju.index, else
 * from their files) and writes the tree; the last answer is kept for the
 * next THREAD on the same, unchanged messages, and extended when
 * messages were appended (the thread cache below).
 */
#include "imap_thread.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "imap_search.h"
#include "imap_sess.h"
#include "imap_sort.h"
#include "maildir.h"
#include "mailthread.h"
#include "mra.h"
#include "xalloc.h"

#define NONE MAILTHREAD_NONE

/* ---- the answer as tokens ---------------------------------------------

   A THREAD answer is written from a list of tokens: a matching message
   (its position among the matches, so that the same list serves THREAD
   and UID THREAD and survives renumbering), "(", ")" or a space. */

#define TOK_OPEN  UINT32_MAX
#define TOK_CLOSE (UINT32_MAX - 1)
#define TOK_SPACE (UINT32_MAX - 2)

struct toks {
	uint32_t *v;
	size_t n, cap;
};

static void tok_add(struct toks *t, uint32_t v)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->v = xrealloc(t->v, t->cap * sizeof *t->v);
	}
	t->v[t->n++] = v;
}

/* Node k and what hangs below it: a chain of single children as
   "1 2 3" (a loop, not recursion: reply chains are long), branches as
   "1 (2 3)(4)". */
static void tok_node(struct toks *out, const struct mailthread *t, size_t k,
		     unsigned depth)
{
	for (;;) {
		uint32_t id;
		bool real = mailthread_id(t, k, &id);
		if (real)
			tok_add(out, id);
		size_t first = mailthread_child(t, k);
		if (first == NONE)
			return;
		if (real && mailthread_next(t, first) == NONE) {
			tok_add(out, TOK_SPACE);
			k = first;
			continue;
		}
		if (depth >= IMAP_THREAD_DEPTH_MAX)
			return;
		if (real)
			tok_add(out, TOK_SPACE);
		for (size_t g = first; g != NONE; g = mailthread_next(t, g)) {
			tok_add(out, TOK_OPEN);
			tok_node(out, t, g, depth + 1);
			tok_add(out, TOK_CLOSE);
		}
		return;
	}
}

/* The threads of t (its ids: positions among the matches) as tokens. */
static void tok_tree(struct toks *out, const struct mailthread *t)
{
	size_t root = mailthread_root(t);
	for (size_t g = mailthread_child(t, root); g != NONE;
	     g = mailthread_next(t, g)) {
		tok_add(out, TOK_OPEN);
		tok_node(out, t, g, 0);
		tok_add(out, TOK_CLOSE);
	}
}

/* "* THREAD ..." from the tokens; ids[k] is what match k is sent as. */
static void tok_write(struct mra_conn *c, const struct toks *t,
		      const uint32_t *ids)
{
	char b[4096];
	size_t n = 0;
	memcpy(b, "* THREAD", 8);
	n = 8;
	if (t->n > 0)
		b[n++] = ' ';
	for (size_t i = 0; i < t->n; i++) {
		if (sizeof b - n < 16) {
			(void)mra_conn_write(c, b, n);
			n = 0;
		}
		uint32_t v = t->v[i];
		if (v == TOK_OPEN) {
			b[n++] = '(';
		} else if (v == TOK_CLOSE) {
			b[n++] = ')';
		} else if (v == TOK_SPACE) {
			b[n++] = ' ';
		} else {
			char d[10];
			size_t k = 0;
			uint32_t x = ids[v];
			do {
				d[k++] = (char)('0' + x % 10);
				x /= 10;
			} while (x != 0);
			while (k > 0)
				b[n++] = d[--k];
		}
	}
	b[n++] = '\r';
	b[n++] = '\n';
	(void)mra_conn_write(c, b, n);
}

/* ---- the thread cache --------------------------------------------------

   Dovecot keeps the finished thread links in its index; youju-mra keeps,
   per worker, the last THREAD whose search reads no text (the common
   `UID THREAD REFERENCES UTF-8 ALL` of clients and webmail): the
   folder's path and UIDVALIDITY, the algorithm, each match's UID and
   validators (file size, base name hash, internal date: what its keys
   and its place in the tree come from), the answer as tokens, and the
   lib/mailthread object it came from (the matches' keys and REFERENCES'
   linked containers).  A THREAD whose matches are exactly these reuses
   the tokens and only looks up the ids.  One whose first matches are
   exactly these and has more after them (appended messages: UIDs above
   the cached ones) adds only the new ones' keys to the mailthread and
   builds again, which links only the new messages (mailthread.h) and
   gives what a build from scratch gives.  Anything else (an expunged or
   rewritten match, a changed internal date, a search matching others
   before the last cached match) builds the tree again from youju.index
   and replaces the cache.  Flags alone change nothing the tree depends
   on.  One folder a worker, freed when no session of the worker has
   that folder selected any more (imap_thread_folder_closed); its size
   is about 32 bytes a match for the validators and tokens plus the
   mailthread (72 bytes a message, the keys' strings, about 100 bytes a
   message, and a container of 64 bytes per message and per missing
   parent; docs/mra.md). */

/* tc_ent.mtime of a message with a Date: (its internal date, which a
   stat would cost, is not used) */
#define TC_DATE_UNUSED INT64_MIN

struct tc_ent {
	uint32_t uid;
	int64_t mtime; /* or TC_DATE_UNUSED */
	uint64_t size, base_hash;
};

static struct {
	char *path;
	uint32_t uidvalidity;
	bool refs;
	struct tc_ent *e;
	size_t n;
	struct toks toks;
	struct mailthread *t; /* the matches' keys and links */
} tc;

static uint64_t tc_hash(const char *s)
{
	return hash_fnv1a(s, strlen(s));
}

static struct tc_ent tc_ent_of(const struct maildir_msg *mm, int64_t mtime)
{
	return (struct tc_ent){.uid = mm->uid,
			       .mtime = mtime,
			       .size = mm->size,
			       .base_hash = tc_hash(mm->base)};
}

static bool tc_ent_eq(const struct tc_ent *a, const struct tc_ent *b)
{
	return a->uid == b->uid && a->mtime == b->mtime && a->size == b->size &&
	       a->base_hash == b->base_hash;
}

static void tc_drop(void)
{
	free(tc.path);
	free(tc.e);
	free(tc.toks.v);
	mailthread_free(&tc.t);
	memset(&tc, 0, sizeof tc);
}

void imap_thread_folder_closed(const void *sess, const char *path)
{
	if (tc.path == NULL || strcmp(tc.path, path) != 0)
		return;
	for (struct mra_conn *o = mra_conn_first(); o != NULL; o = o->next) {
		const struct imap_sess *s = o->sess;
		if (o->proto == &mra_imap_proto && s != NULL && s != sess &&
		    s->f != NULL && strcmp(s->f->path, path) == 0)
			return;
	}
	tc_drop();
	/* a large folder's cache is megabytes in the middle of the heap */
	(void)malloc_trim(0);
}

static bool tc_usable(const struct imap_search *s)
{
	return !imap_search_needs_text(s) && !imap_search_needs_file(s) &&
	       !imap_search_needs_size(s);
}

enum tc_found {
	TC_MISS,   /* build from scratch */
	TC_HIT,	   /* the cached answer */
	TC_EXTEND, /* the cached matches and more after them */
};

/* Compares f's messages matching s with the cache.  ids (f->n of them)
   gets what each match is sent as; for TC_EXTEND *from_r is the folder
   index of the first match beyond the cached ones. */
static enum tc_found tc_lookup(struct maildir_folder *f, const bool *recent,
			       const struct imap_search *s, bool refs, bool uid,
			       uint32_t *ids, size_t *from_r)
{
	if (tc.path == NULL || tc.refs != refs ||
	    tc.uidvalidity != f->uidvalidity || strcmp(tc.path, f->path) != 0)
		return TC_MISS;
	size_t j = 0;
	for (size_t i = 0; i < f->n; i++) {
		struct imap_search_msg m;
		imap_search_msg_init(&m, f, i, recent, f->msgs[i].vsize);
		if (!imap_search_match(s, &m))
			continue;
		if (j == tc.n) {
			*from_r = i;
			return TC_EXTEND;
		}
		/* the file's mtime only where the tree used it */
		int64_t d = tc.e[j].mtime == TC_DATE_UNUSED
				? TC_DATE_UNUSED
				: (int64_t)maildir_msg_mtime(f, &f->msgs[i]);
		struct tc_ent e = tc_ent_of(&f->msgs[i], d);
		if (!tc_ent_eq(&e, &tc.e[j]))
			return TC_MISS;
		ids[j++] = uid ? m.uid : m.seq;
	}
	return j == tc.n ? TC_HIT : TC_MISS;
}

/* ---- building the threads --------------------------------------------- */

struct thr_ctx {
	struct mailthread *t;
	bool uid;
	uint32_t *ids; /* what each match is sent as */
	struct tc_ent *ents;
	size_t n;
};

static void thr_one(void *ctx, const struct imap_search_msg *m,
		    const struct mailkeys *k)
{
	struct thr_ctx *x = ctx;
	size_t j = x->n++;
	x->ids[j] = x->uid ? m->uid : m->seq;
	/* the internal date (a stat) only for a message without a Date: */
	int64_t d =
	    k->has_date ? TC_DATE_UNUSED : (int64_t)imap_search_msg_date(m);
	x->ents[j] = tc_ent_of(m->msg, d);
	/* ties go by the order of the matches (as by sequence number), so
	   that the messages kept in the cache need no renumbering */
	mailthread_add_keys(x->t, (uint32_t)j, (uint32_t)j, k->has_date ? 0 : d,
			    k);
}

void imap_thread_cmd(struct mra_conn *c, const char *tag,
		     struct maildir_folder *f, const bool *recent,
		     struct maildir_index *ix, bool uid,
		     const struct imap_arg *args, size_t n)
{
	bool refs;
	if (n < 3 || args[0].type != IMAP_ARG_ATOM) {
		(void)mra_conn_printf(c, "%s BAD Invalid arguments.\r\n", tag);
		return;
	}
	if (strcasecmp(args[0].s, "REFERENCES") == 0) {
		refs = true;
	} else if (strcasecmp(args[0].s, "ORDEREDSUBJECT") == 0) {
		refs = false;
	} else {
		(void)mra_conn_printf(c, "%s BAD Unknown thread algorithm.\r\n",
				      tag);
		return;
	}
	struct imap_search *s;
	if (imap_sort_prepare(c, tag, args + 1, n - 1, &s) < 0)
		return;
	bool usable = tc_usable(s);
	size_t cap = f->n ? f->n : 1, from = 0;
	uint32_t *ids = xcalloc(cap, sizeof *ids);
	enum tc_found found =
	    usable ? tc_lookup(f, recent, s, refs, uid, ids, &from) : TC_MISS;
	if (found == TC_HIT) {
		imap_search_free(&s);
		tok_write(c, &tc.toks, ids);
		free(ids);
		(void)mra_conn_printf(c, "%s OK Thread completed.\r\n", tag);
		return;
	}
	struct thr_ctx x = {.uid = uid, .ids = ids};
	if (found == TC_EXTEND) {
		/* the cached messages stay, the new ones are added */
		x.t = tc.t;
		x.ents = xrealloc(tc.e, cap * sizeof *x.ents);
		x.n = tc.n;
		tc.t = NULL;
		tc.e = NULL;
		tc_drop();
		imap_search_each_from(f, from, recent, NULL, ix, s, true,
				      thr_one, &x);
	} else {
		x.t = mailthread_new();
		x.ents = xcalloc(cap, sizeof *x.ents);
		imap_search_each(f, recent, NULL, ix, s, true, thr_one, &x);
	}
	imap_search_free(&s);
	mailthread_build(x.t, refs);
	struct toks toks = {0};
	tok_tree(&toks, x.t);
	mailthread_drop_tree(x.t);
	tok_write(c, &toks, x.ids);
	free(x.ids);
	if (usable) {
		tc_drop();
		tc.path = xstrdup(f->path);
		tc.uidvalidity = f->uidvalidity;
		tc.refs = refs;
		tc.e = x.ents;
		tc.n = x.n;
		tc.toks = toks;
		tc.t = x.t;
	} else {
		free(x.ents);
		free(toks.v);
		mailthread_free(&x.t);
	}
	(void)mra_conn_printf(c, "%s OK Thread completed.\r\n", tag);
}
