/*
 * THREAD; see imap_thread.h.  The threads are built by lib/mailthread
 * (shared with webmail's conversation view); this file reads the
 * command, feeds it the matching messages' keys (from youju.index, else
 * from their files) and writes the tree.
 */
#include "imap_thread.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_search.h"
#include "imap_sort.h"
#include "mailthread.h"
#include "mra.h"
#include "xalloc.h"

#define NONE MAILTHREAD_NONE

struct thr_ctx {
	struct mailthread *t;
	bool uid;
};

static void thr_one(void *ctx, const struct imap_search_msg *m,
		    const struct mailkeys *k)
{
	struct thr_ctx *x = ctx;
	mailthread_add_keys(x->t, m->seq, x->uid ? m->uid : m->seq,
			    k->has_date ? 0 : (int64_t)imap_search_msg_date(m),
			    k);
}

/* Writes node k and what hangs below it: a chain of single children
   as "1 2 3" (a loop, not recursion: reply chains are long), branches
   as "1 (2 3)(4)". */
static void write_node(struct mra_conn *c, const struct mailthread *t, size_t k,
		       unsigned depth)
{
	for (;;) {
		uint32_t id;
		bool real = mailthread_id(t, k, &id);
		if (real)
			(void)mra_conn_printf(c, "%lu", (unsigned long)id);
		size_t first = mailthread_child(t, k);
		if (first == NONE)
			return;
		if (real && mailthread_next(t, first) == NONE) {
			(void)mra_conn_write(c, " ", 1);
			k = first;
			continue;
		}
		if (depth >= IMAP_THREAD_DEPTH_MAX)
			return;
		if (real)
			(void)mra_conn_write(c, " ", 1);
		for (size_t g = first; g != NONE; g = mailthread_next(t, g)) {
			(void)mra_conn_write(c, "(", 1);
			write_node(c, t, g, depth + 1);
			(void)mra_conn_write(c, ")", 1);
		}
		return;
	}
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
	struct thr_ctx x = {.t = mailthread_new(), .uid = uid};
	imap_search_each(f, recent, NULL, ix, s, true, thr_one, &x);
	imap_search_free(&s);
	mailthread_build(x.t, refs);
	size_t root = mailthread_root(x.t);
	(void)mra_conn_write(c, "* THREAD", 8);
	if (mailthread_child(x.t, root) != NONE)
		(void)mra_conn_write(c, " ", 1);
	for (size_t g = mailthread_child(x.t, root); g != NONE;
	     g = mailthread_next(x.t, g)) {
		(void)mra_conn_write(c, "(", 1);
		write_node(c, x.t, g, 0);
		(void)mra_conn_write(c, ")", 1);
	}
	(void)mra_conn_write(c, "\r\n", 2);
	mailthread_free(&x.t);
	(void)mra_conn_printf(c, "%s OK Thread completed.\r\n", tag);
}
