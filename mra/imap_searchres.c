/*
 * SEARCHRES (RFC 5182); see imap_searchres.h.  "$" is expanded into an
 * ordinary sequence set before the command runs, so every command that
 * takes a set takes "$" the same way, with no code of its own.
 */
#include "imap_searchres.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "imap_render.h"
#include "maildir.h"
#include "xalloc.h"

/* A set no message is in: neither a sequence number (a folder never
   holds 2^32-1 messages) nor a UID Maildir++ folders give out. */
#define SEARCHRES_NONE "4294967295"

void imap_searchres_reset(struct imap_searchres *r)
{
	free(r->uids);
	r->uids = NULL;
	r->n = 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void imap_searchres_save(struct imap_searchres *r,
			 const struct maildir_folder *f, const uint32_t *v,
			 size_t n, bool uid)
{
	imap_searchres_reset(r);
	if (n == 0)
		return;
	r->uids = xcalloc(n, sizeof *r->uids);
	for (size_t i = 0; i < n; i++) {
		if (uid)
			r->uids[r->n++] = v[i];
		else if (v[i] >= 1 && v[i] <= f->n)
			r->uids[r->n++] = f->msgs[v[i] - 1].uid;
	}
	qsort(r->uids, r->n, sizeof *r->uids, cmp_u32);
}

/* The index of uid in f, or f->n when it is gone. */
static size_t searchres_find(const struct maildir_folder *f, uint32_t uid)
{
	long k = maildir_folder_find(f, uid);
	return k < 0 ? f->n : (size_t)k;
}

/* The saved messages still in f as "a:b,c" (sequence numbers or UIDs),
   malloc'd. */
static char *searchres_set(const struct imap_searchres *r,
			   const struct maildir_folder *f, bool uid)
{
	/* r->uids ascend, and so do their sequence numbers */
	uint32_t *v = xcalloc(r->n ? r->n : 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++) {
		size_t k = searchres_find(f, r->uids[i]);
		if (k < f->n)
			v[n++] = uid ? r->uids[i] : (uint32_t)(k + 1);
	}
	struct buf b;
	buf_init(&b, 64 + n * 22);
	(void)imap_render_seqset(&b, v, n); /* the maximum holds every run */
	free(v);
	char *s = xstrdup(b.len ? b.p : SEARCHRES_NONE);
	buf_deinit(&b);
	return s;
}

static void searchres_put(struct imap_arg *a, char *set)
{
	free(a->s);
	a->s = set;
	a->len = strlen(set);
}

static bool is_dollar(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_ATOM && strcmp(a->s, "$") == 0;
}

/* "$" search keys in a[0..n), lists included (depth bounded by the
   parser) */
static void searchres_keys(const struct imap_searchres *r,
			   const struct maildir_folder *f, struct imap_arg *a,
			   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == IMAP_ARG_LIST)
			searchres_keys(r, f, a[i].list, a[i].n);
		else if (is_dollar(&a[i])) {
			bool after_uid = i > 0 &&
					 a[i - 1].type == IMAP_ARG_ATOM &&
					 strcasecmp(a[i - 1].s, "UID") == 0;
			searchres_put(&a[i], searchres_set(r, f, after_uid));
		}
	}
}

void imap_searchres_expand(const struct imap_searchres *r,
			   const struct maildir_folder *f, struct imap_cmd *cmd,
			   bool uid)
{
	const char *n = cmd->name;
	if (f == NULL || cmd->nargs == 0)
		return;
	if (strcmp(n, "FETCH") == 0 || strcmp(n, "STORE") == 0 ||
	    strcmp(n, "COPY") == 0 || strcmp(n, "MOVE") == 0 ||
	    (uid && strcmp(n, "EXPUNGE") == 0)) {
		if (is_dollar(&cmd->args[0]))
			searchres_put(&cmd->args[0], searchres_set(r, f, uid));
	} else if (strcmp(n, "SEARCH") == 0 || strcmp(n, "SORT") == 0 ||
		   strcmp(n, "THREAD") == 0) {
		searchres_keys(r, f, cmd->args, cmd->nargs);
	}
}

bool imap_searchres_asked(const struct imap_arg *a, size_t n)
{
	if (n < 2 || a[0].type != IMAP_ARG_ATOM ||
	    strcasecmp(a[0].s, "RETURN") != 0 || a[1].type != IMAP_ARG_LIST)
		return false;
	for (size_t i = 0; i < a[1].n; i++)
		if (a[1].list[i].type == IMAP_ARG_ATOM &&
		    strcasecmp(a[1].list[i].s, "SAVE") == 0)
			return true;
	return false;
}
