/*
 * NOTIFY; see imap_notify.h.  NOTIFY SET resolves its filters once into
 * a list of mailboxes, each with its events, the last values told (so a
 * STATUS goes out only when MESSAGES, UIDNEXT, UIDVALIDITY or
 * HIGHESTMODSEQ moved) and two hub watches; a mailbox created later is
 * added when a PERSONAL, SUBTREE or MAILBOXES filter names it.  The
 * memory is what the list holds: about 150 bytes and the name per
 * mailbox, nothing per message.  Events in a mailbox are seen as
 * directory changes (a link into new/, a rename or unlink in cur/) and
 * turned into a fresh STATUS of that mailbox; MailboxName and
 * SubscriptionChange compare the folder list and the subscriptions file
 * with the copies kept from the last look.  AnnotationChange is accepted
 * and never happens (youju keeps no annotations); the METADATA events
 * get NO [BADEVENT].  SELECTED-DELAYED (RFC 5465 §5.2) tells new
 * messages and flag changes at once like SELECTED and holds back only
 * what would renumber messages: an expunged message keeps its place in
 * the session's snapshot (imap_notify_keep_gone) until the next command
 * that may report its EXPUNGE or VANISHED.  MessageNew's
 * fetch-atts (§5.2) are kept parsed and answered with a FETCH of each
 * new message right after its EXISTS (imap_sync).
 */
#include "imap_notify.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "imap_condstore.h"
#include "imap_fetch.h"
#include "imap_mbox.h"
#include "imap_render.h"
#include "imap_utf8.h"
#include "imap_sess.h"
#include "imap_status.h"
#include "inotify_hub.h"
#include "log.h"
#include "maildir.h"
#include "maildir_folders.h"
#include "maildir_meta.h"
#include "maildir_modseq.h"
#include "mra.h"
#include "xalloc.h"

enum {
	NE_NEW = 1,
	NE_EXPUNGE = 2,
	NE_FLAG = 4,
	NE_ANNOT = 8,
	NE_NAME = 16,
	NE_SUBS = 32,
	NE_MSG = NE_NEW | NE_EXPUNGE | NE_FLAG,
};

enum nf_kind {
	NF_SELECTED,
	NF_SELECTED_DELAYED,
	NF_INBOXES,
	NF_PERSONAL,
	NF_SUBSCRIBED,
	NF_SUBTREE,
	NF_MAILBOXES,
};

/* Filters, as parsed (names borrowed from the command while parsing,
   copied into the boxes). */
#define NF_FILTERS_MAX 16
#define NF_NAMES_MAX   64

struct nf_filter {
	enum nf_kind kind;
	unsigned events;
	const struct imap_arg *fetch; /* MessageNew's fetch-atts, or NULL */
	const char *names[NF_NAMES_MAX];
	size_t nnames;
};

struct nf_box {
	char *name;
	unsigned events;
	struct inotify_watch *w[2];
	uint32_t messages, uidnext, uidvalidity;
	uint64_t hms;
	bool told;    /* the values above were sent (or were current at SET) */
	bool pending; /* w[0] watches the folder until new/, cur/ exist */
};

struct imap_notify {
	unsigned sel_events;
	bool sel_delayed;
	bool sel_fetch_on; /* MessageNew with fetch-atts (sel_fetch) */
	struct imap_fetch_items sel_fetch;
	unsigned root_events; /* NE_NAME | NE_SUBS over all filters */
	/* for mailboxes that appear later: the filters' kinds and names */
	struct nf_box *boxes;
	size_t nboxes;
	struct inotify_watch *root_w;
	char **names, **subs; /* the folder list and subscriptions seen */
	size_t nnames, nsubs;
	/* filters kept for new mailboxes: PERSONAL's, SUBTREE/MAILBOXES
	   names with their events */
	unsigned personal_events;
	char **tree;
	unsigned *tree_events;
	bool *tree_sub; /* SUBTREE (else MAILBOXES) */
	size_t ntree;
};

static void nf_box_free(struct nf_box *b)
{
	inotify_hub_unwatch(&b->w[0]);
	inotify_hub_unwatch(&b->w[1]);
	free(b->name);
}

void imap_notify_free(struct imap_notify **np)
{
	struct imap_notify *n = *np;
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nboxes; i++)
		nf_box_free(&n->boxes[i]);
	free(n->boxes);
	inotify_hub_unwatch(&n->root_w);
	maildir_names_free(n->names, n->nnames);
	maildir_names_free(n->subs, n->nsubs);
	if (n->sel_fetch_on)
		imap_fetch_items_free(&n->sel_fetch);
	for (size_t i = 0; i < n->ntree; i++)
		free(n->tree[i]);
	free(n->tree);
	free(n->tree_events);
	free(n->tree_sub);
	free(n);
	*np = NULL;
}

bool imap_notify_selected_now(const struct imap_sess *s)
{
	return s->notify != NULL && s->notify->sel_events != 0;
}

bool imap_notify_selected_delayed(const struct imap_sess *s)
{
	return s->notify != NULL && s->notify->sel_delayed;
}

bool imap_notify_keep_gone(const struct maildir_folder *old,
			   struct maildir_folder *nf)
{
	size_t gone = 0, j = 0;
	for (size_t i = 0; i < old->n; i++) {
		while (j < nf->n && nf->msgs[j].uid < old->msgs[i].uid)
			j++;
		if (j == nf->n || nf->msgs[j].uid != old->msgs[i].uid)
			gone++;
	}
	if (gone == 0)
		return false;
	struct maildir_msg *v = xcalloc(nf->n + gone, sizeof *v);
	size_t i = 0, k = 0;
	j = 0;
	while (i < old->n || j < nf->n) {
		if (j < nf->n &&
		    (i == old->n || nf->msgs[j].uid <= old->msgs[i].uid)) {
			if (i < old->n && nf->msgs[j].uid == old->msgs[i].uid)
				i++;
			v[k++] = nf->msgs[j++]; /* moved: nf's strings */
			continue;
		}
		/* old->msgs[i] is gone: a copy holds its place */
		const struct maildir_msg *g = &old->msgs[i++];
		v[k] = *g;
		v[k].base = xstrdup(g->base);
		v[k].letters = xstrdup(g->letters);
		k++;
	}
	free(nf->msgs);
	nf->msgs = v;
	nf->n = k;
	return true;
}

const struct imap_fetch_items *imap_notify_new_fetch(const struct imap_sess *s)
{
	return s->notify != NULL && s->notify->sel_fetch_on
		   ? &s->notify->sel_fetch
		   : NULL;
}

/* ---- parsing ------------------------------------------------------------ */

static const struct {
	const char *name;
	unsigned ev;
} nf_events[] = {
    {"MessageNew", NE_NEW},	  {"MessageExpunge", NE_EXPUNGE},
    {"FlagChange", NE_FLAG},	  {"AnnotationChange", NE_ANNOT},
    {"MailboxName", NE_NAME},	  {"SubscriptionChange", NE_SUBS},
    {"MailboxMetadataChange", 0}, {"ServerMetadataChange", 0},
};

/* The events list a (or NONE) into *ev, MessageNew's fetch-atts into
 *fetch; -1 BAD, -2 BADEVENT. */
static int nf_parse_events(const struct imap_arg *a, bool selected,
			   unsigned *ev, const struct imap_arg **fetch)
{
	*ev = 0;
	*fetch = NULL;
	if (a->type == IMAP_ARG_ATOM && strcasecmp(a->s, "NONE") == 0)
		return 0;
	if (a->type != IMAP_ARG_LIST || a->n == 0)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		const struct imap_arg *e = &a->list[i];
		if (e->type == IMAP_ARG_LIST && i > 0 && selected &&
		    a->list[i - 1].type == IMAP_ARG_ATOM &&
		    strcasecmp(a->list[i - 1].s, "MessageNew") == 0) {
			/* fetch-atts (RFC 5465 §5.2): checked here, kept
			   parsed by nf_setup */
			struct imap_fetch_items it;
			const char *err;
			memset(&it, 0, sizeof it);
			if (e->n == 0 ||
			    imap_fetch_parse(e, false, &it, &err) < 0)
				return -1;
			imap_fetch_items_free(&it);
			*fetch = e;
			continue;
		}
		if (e->type != IMAP_ARG_ATOM)
			return -1;
		size_t k = 0;
		while (k < sizeof nf_events / sizeof *nf_events &&
		       strcasecmp(e->s, nf_events[k].name) != 0)
			k++;
		if (k == sizeof nf_events / sizeof *nf_events)
			return -1;
		if (nf_events[k].ev == 0)
			return -2;
		*ev |= nf_events[k].ev;
	}
	/* RFC 5465 §5: mailbox events have no meaning for SELECTED */
	if (selected && (*ev & (NE_NAME | NE_SUBS)))
		return -1;
	return 0;
}

static int nf_parse_filter(const struct imap_arg *a, struct nf_filter *f)
{
	memset(f, 0, sizeof *f);
	if (a->type != IMAP_ARG_LIST || a->n < 2 ||
	    a->list[0].type != IMAP_ARG_ATOM)
		return -1;
	static const char *const kinds[] = {
	    "SELECTED",	  "SELECTED-DELAYED", "INBOXES",  "PERSONAL",
	    "SUBSCRIBED", "SUBTREE",	      "MAILBOXES"};
	size_t k = 0;
	while (k < sizeof kinds / sizeof *kinds &&
	       strcasecmp(a->list[0].s, kinds[k]) != 0)
		k++;
	if (k == sizeof kinds / sizeof *kinds)
		return -1;
	f->kind = (enum nf_kind)k;
	size_t ev_at = 1;
	if (f->kind == NF_SUBTREE || f->kind == NF_MAILBOXES) {
		const struct imap_arg *m = &a->list[1];
		if (a->n != 3)
			return -1;
		ev_at = 2;
		if (m->type == IMAP_ARG_LIST) {
			if (m->n == 0 || m->n > NF_NAMES_MAX)
				return -1;
			for (size_t i = 0; i < m->n; i++) {
				if (!imap_arg_is_astring(&m->list[i]))
					return -1;
				f->names[f->nnames++] = m->list[i].s;
			}
		} else if (imap_arg_is_astring(m)) {
			f->names[f->nnames++] = m->s;
		} else {
			return -1;
		}
	} else if (a->n != 2) {
		return -1;
	}
	return nf_parse_events(&a->list[ev_at],
			       f->kind == NF_SELECTED ||
				   f->kind == NF_SELECTED_DELAYED,
			       &f->events, &f->fetch);
}

/* ---- mailboxes ---------------------------------------------------------- */

static bool nf_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

static bool nf_name_eq(const char *a, const char *b)
{
	return nf_is_inbox(a) ? nf_is_inbox(b) : strcmp(a, b) == 0;
}

static bool nf_in_subtree(const char *root, const char *name)
{
	size_t n = strlen(root);
	if (nf_name_eq(root, name))
		return true;
	return strncmp(root, name, n) == 0 && name[n] == '.';
}

static bool nf_sorted_has(char **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (nf_name_eq(v[i], name))
			return true;
	return false;
}

/* The events the kept filters give a mailbox that appeared later. */
static unsigned nf_events_for_new(const struct imap_notify *n, const char *name)
{
	for (size_t i = 0; i < n->ntree; i++)
		if (n->tree_sub[i] ? nf_in_subtree(n->tree[i], name)
				   : nf_name_eq(n->tree[i], name))
			return n->tree_events[i];
	return n->personal_events;
}

static void nf_event(void *ctx);

static struct nf_box *nf_box_find(struct imap_notify *n, const char *name)
{
	for (size_t i = 0; i < n->nboxes; i++)
		if (nf_name_eq(n->boxes[i].name, name))
			return &n->boxes[i];
	return NULL;
}

/* Reads a mailbox's values into b (not told). 0, or -1 (gone). */
static int nf_box_read(struct imap_sess *s, struct nf_box *b)
{
	char *path = imap_mbox_path(s->maildir, b->name);
	const char *err;
	struct maildir_folder *f =
	    path != NULL ? maildir_folder_open(path, false, &err) : NULL;
	free(path);
	if (f == NULL)
		return -1;
	b->messages = (uint32_t)f->n;
	b->uidnext = f->next_uid;
	b->uidvalidity = f->uidvalidity;
	if (b->events & NE_FLAG) {
		struct maildir_modseq ms;
		if (maildir_modseq_sync(f, 2000, &ms) == 0)
			b->hms = ms.highest;
		maildir_modseq_deinit(&ms);
	}
	maildir_folder_free(&f);
	return 0;
}

/* "* STATUS name (...)" with the items b's events ask for (RFC 5465
   §5.1, §5.2, as Dovecot answers): MessageNew MESSAGES UIDNEXT
   UIDVALIDITY, MessageExpunge MESSAGES, FlagChange UIDVALIDITY
   HIGHESTMODSEQ. */
static void nf_box_status(struct mra_conn *c, const struct nf_box *b)
{
	unsigned ev = b->events;
	if ((ev & NE_MSG) == 0)
		return;
	struct buf o;
	buf_init(&o, 2 * strlen(b->name) + 256);
	int r = buf_printf(&o, "* STATUS ");
	char u8[IMAP_UTF8_NAME_MAX];
	const char *shown = imap_utf8_name_out(c, b->name, u8, sizeof u8);
	if (r == 0)
		r = imap_render_quoted(&o, shown, strlen(shown));
	if (r == 0)
		r = buf_printf(&o, " (");
	if (r == 0 && (ev & (NE_NEW | NE_EXPUNGE)))
		r = buf_printf(&o, "MESSAGES %lu ", (unsigned long)b->messages);
	if (r == 0 && (ev & NE_NEW))
		r = buf_printf(&o, "UIDNEXT %lu ", (unsigned long)b->uidnext);
	if (r == 0 && (ev & (NE_NEW | NE_FLAG)))
		r = buf_printf(&o, "UIDVALIDITY %lu ",
			       (unsigned long)b->uidvalidity);
	if (r == 0 && (ev & NE_FLAG))
		r = buf_printf(&o, "HIGHESTMODSEQ %llu ",
			       (unsigned long long)b->hms);
	if (r == 0) {
		buf_truncate(&o, o.len - 1); /* the last space */
		r = buf_printf(&o, ")\r\n");
	}
	if (r == 0)
		(void)mra_conn_write(c, o.p, o.len);
	buf_deinit(&o);
}

/* Whether name is the selected folder of s. */
static bool nf_is_selected(const struct imap_sess *s, const char *name)
{
	if (s->f == NULL)
		return false;
	char *path = imap_mbox_path(s->maildir, name);
	bool eq = path != NULL && strcmp(path, s->f->path) == 0;
	free(path);
	return eq;
}

/*
 * Watches new/ and cur/ of b.  A mailbox being created may not have them
 * yet (another process is between its mkdir calls): then the folder
 * directory itself is watched (b->pending) until they appear.
 */
static void nf_box_watch(struct mra_conn *c, struct imap_sess *s,
			 struct nf_box *b)
{
	struct inotify_hub *hub = imap_inotify_hub();
	char *path = imap_mbox_path(s->maildir, b->name);
	inotify_hub_unwatch(&b->w[0]);
	inotify_hub_unwatch(&b->w[1]);
	b->pending = false;
	if (hub == NULL || path == NULL) {
		free(path);
		return;
	}
	static const char *const subs[] = {"new", "cur"};
	for (size_t i = 0; i < 2; i++) {
		char p[4096];
		int k = snprintf(p, sizeof p, "%s/%s", path, subs[i]);
		errno = ENAMETOOLONG;
		if (k > 0 && (size_t)k < sizeof p)
			b->w[i] = inotify_hub_watch(hub, p, nf_event,
						    (void *)(uintptr_t)c->id);
		if (b->w[i] != NULL)
			continue;
		if (errno != ENOENT) {
			log_warning("imap(%s): notify: inotify %s: %s",
				    s->login_user, p, strerror(errno));
			break;
		}
		inotify_hub_unwatch(&b->w[0]);
		b->w[0] = inotify_hub_watch(hub, path, nf_event,
					    (void *)(uintptr_t)c->id);
		b->pending = b->w[0] != NULL;
		break;
	}
	free(path);
}

static struct nf_box *nf_box_add(struct mra_conn *c, struct imap_sess *s,
				 const char *name, unsigned events)
{
	struct imap_notify *n = s->notify;
	if ((events & NE_MSG) == 0 || n->nboxes == IMAP_NOTIFY_BOXES_MAX ||
	    nf_box_find(n, name) != NULL)
		return NULL;
	n->boxes = xrealloc(n->boxes, (n->nboxes + 1) * sizeof *n->boxes);
	struct nf_box *b = &n->boxes[n->nboxes++];
	memset(b, 0, sizeof *b);
	b->name = xstrdup(name);
	b->events = events;
	nf_box_watch(c, s, b);
	if (nf_box_read(s, b) == 0)
		b->told = true;
	return b;
}

/* ---- events ------------------------------------------------------------- */

static void nf_list_line(struct mra_conn *c, const char *attrs,
			 const char *name)
{
	struct buf o;
	char u8[IMAP_UTF8_NAME_MAX];
	name = imap_utf8_name_out(c, name, u8, sizeof u8); /* RFC 6855 */
	buf_init(&o, 2 * strlen(name) + 64);
	if (buf_printf(&o, "* LIST (%s) \".\" ", attrs) == 0 &&
	    imap_render_quoted(&o, name, strlen(name)) == 0 &&
	    buf_printf(&o, "\r\n") == 0)
		(void)mra_conn_write(c, o.p, o.len);
	buf_deinit(&o);
}

/* MailboxName and SubscriptionChange: compare with the last look. */
static void nf_root_changed(struct mra_conn *c, struct imap_sess *s)
{
	struct imap_notify *n = s->notify;
	char **names = NULL, **subs = NULL;
	long nn = maildir_folder_list(s->maildir, &names);
	long ns = maildir_subs_read(s->maildir, &subs);
	if (nn < 0 || ns < 0) {
		if (nn >= 0)
			maildir_names_free(names, (size_t)nn);
		if (ns >= 0)
			maildir_names_free(subs, (size_t)ns);
		return;
	}
	if (n->root_events & NE_NAME) {
		for (long i = 0; i < nn; i++)
			if (!nf_sorted_has(n->names, n->nnames, names[i]))
				nf_list_line(c, "", names[i]);
		for (size_t i = 0; i < n->nnames; i++)
			if (!nf_sorted_has(names, (size_t)nn, n->names[i]))
				nf_list_line(c, "\\NonExistent", n->names[i]);
	}
	if (n->root_events & NE_SUBS) {
		for (long i = 0; i < ns; i++)
			if (!nf_sorted_has(n->subs, n->nsubs, subs[i]))
				nf_list_line(c, "\\Subscribed", subs[i]);
		for (size_t i = 0; i < n->nsubs; i++)
			if (!nf_sorted_has(subs, (size_t)ns, n->subs[i]))
				nf_list_line(c, "", n->subs[i]);
	}
	/* new mailboxes a filter names get watched */
	for (long i = 0; i < nn; i++)
		if (!nf_sorted_has(n->names, n->nnames, names[i]))
			(void)nf_box_add(c, s, names[i],
					 nf_events_for_new(n, names[i]));
	maildir_names_free(n->names, n->nnames);
	maildir_names_free(n->subs, n->nsubs);
	n->names = names;
	n->nnames = (size_t)nn;
	n->subs = subs;
	n->nsubs = (size_t)ns;
}

/* Looks at what the hub saw and tells the client. */
static void nf_check(struct mra_conn *c, struct imap_sess *s)
{
	struct imap_notify *n = s->notify;
	if (n->root_w != NULL && inotify_watch_take(n->root_w))
		nf_root_changed(c, s);
	for (size_t i = 0; i < n->nboxes; i++) {
		struct nf_box *b = &n->boxes[i];
		bool a = b->w[0] != NULL && inotify_watch_take(b->w[0]);
		bool d = b->w[1] != NULL && inotify_watch_take(b->w[1]);
		if (a && b->pending)
			nf_box_watch(c, s, b);
		if ((!a && !d) || nf_is_selected(s, b->name))
			continue;
		struct nf_box old = *b;
		if (nf_box_read(s, b) < 0)
			continue; /* deleted: MailboxName tells */
		bool moved =
		    !old.told || old.uidvalidity != b->uidvalidity ||
		    ((b->events & (NE_NEW | NE_EXPUNGE)) &&
		     old.messages != b->messages) ||
		    ((b->events & NE_NEW) && old.uidnext != b->uidnext) ||
		    ((b->events & NE_FLAG) && old.hms != b->hms);
		b->told = true;
		if (moved)
			nf_box_status(c, b);
	}
}

static void nf_event(void *ctx)
{
	struct mra_conn *c = mra_conn_find((uint64_t)(uintptr_t)ctx);
	if (c == NULL || c->sess == NULL || c->closing)
		return;
	struct imap_sess *s = c->sess;
	/* never inside a FETCH being produced (a literal may be open);
	   the marks stay for the next event */
	if (s->notify == NULL || c->produce != NULL)
		return;
	nf_check(c, s);
	mra_conn_kick(c);
}

/* ---- the command -------------------------------------------------------- */

/* Whether a filter f names mailbox name (INBOX, a folder). */
static bool nf_filter_has(const struct nf_filter *f, const char *name,
			  char **subs, size_t nsubs)
{
	switch (f->kind) {
	case NF_SELECTED:
	case NF_SELECTED_DELAYED:
		return false;
	case NF_INBOXES:
		return nf_is_inbox(name);
	case NF_PERSONAL:
		return true;
	case NF_SUBSCRIBED:
		return nf_sorted_has(subs, nsubs, name);
	case NF_SUBTREE:
	case NF_MAILBOXES:
		for (size_t i = 0; i < f->nnames; i++)
			if (f->kind == NF_SUBTREE
				? nf_in_subtree(f->names[i], name)
				: nf_name_eq(f->names[i], name))
				return true;
		return false;
	}
	return false;
}

/* Builds s->notify from the filters; status: send the first STATUS. */
static void nf_setup(struct mra_conn *c, struct imap_sess *s,
		     const struct nf_filter *fl, size_t nf, bool status)
{
	struct imap_notify *n = xcalloc(1, sizeof *n);
	s->notify = n;
	char **names = NULL, **subs = NULL;
	long nn = maildir_folder_list(s->maildir, &names);
	long ns = maildir_subs_read(s->maildir, &subs);
	if (nn < 0)
		nn = 0;
	if (ns < 0)
		ns = 0;
	for (size_t k = 0; k < nf; k++) {
		const struct nf_filter *f = &fl[k];
		if (f->kind == NF_SELECTED || f->kind == NF_SELECTED_DELAYED) {
			n->sel_events = f->events;
			n->sel_delayed = f->kind == NF_SELECTED_DELAYED;
			const char *err;
			if (f->fetch != NULL && (f->events & NE_NEW) &&
			    !n->sel_fetch_on &&
			    imap_fetch_parse(f->fetch, false, &n->sel_fetch,
					     &err) == 0)
				n->sel_fetch_on = true;
			continue;
		}
		n->root_events |= f->events & (NE_NAME | NE_SUBS);
		if (f->kind == NF_PERSONAL && n->personal_events == 0)
			n->personal_events = f->events;
		if (f->kind == NF_SUBTREE || f->kind == NF_MAILBOXES) {
			for (size_t i = 0; i < f->nnames; i++) {
				size_t t = n->ntree++;
				n->tree = xrealloc(n->tree,
						   n->ntree * sizeof *n->tree);
				n->tree_events =
				    xrealloc(n->tree_events,
					     n->ntree * sizeof *n->tree_events);
				n->tree_sub =
				    xrealloc(n->tree_sub,
					     n->ntree * sizeof *n->tree_sub);
				n->tree[t] = xstrdup(f->names[i]);
				n->tree_events[t] = f->events;
				n->tree_sub[t] = f->kind == NF_SUBTREE;
			}
		}
	}
	/* INBOX, then the folders: the first filter naming one wins */
	for (long i = -1; i < nn; i++) {
		const char *name = i < 0 ? "INBOX" : names[i];
		for (size_t k = 0; k < nf; k++) {
			if (!nf_filter_has(&fl[k], name, subs, (size_t)ns))
				continue;
			struct nf_box *b = nf_box_add(c, s, name, fl[k].events);
			if (b != NULL && status && b->told &&
			    !nf_is_selected(s, name))
				nf_box_status(c, b);
			break;
		}
	}
	n->names = names;
	n->nnames = (size_t)nn;
	n->subs = subs;
	n->nsubs = (size_t)ns;
	struct inotify_hub *hub = imap_inotify_hub();
	if (n->root_events != 0 && hub != NULL)
		n->root_w = inotify_hub_watch(hub, s->maildir, nf_event,
					      (void *)(uintptr_t)c->id);
}

void imap_cmd_notify(struct imap_ctx *x)
{
	struct imap_arg *a = x->cmd->args;
	size_t na = x->cmd->nargs;
	if (na == 1 && a[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(a[0].s, "NONE") == 0) {
		imap_notify_free(&x->s->notify);
		imap_tagged(x->c, x->cmd->tag, "OK NOTIFY completed.");
		return;
	}
	if (na < 2 || a[0].type != IMAP_ARG_ATOM ||
	    strcasecmp(a[0].s, "SET") != 0) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	size_t i = 1;
	bool status = false;
	if (a[1].type == IMAP_ARG_ATOM && strcasecmp(a[1].s, "STATUS") == 0) {
		status = true;
		i++;
	}
	if (i == na || na - i > NF_FILTERS_MAX) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	struct nf_filter *fl = xcalloc(na - i, sizeof *fl);
	size_t nf = 0;
	for (; i < na; i++) {
		int r = nf_parse_filter(&a[i], &fl[nf++]);
		if (r == -2) {
			imap_tagged(x->c, x->cmd->tag,
				    "NO [BADEVENT (MessageNew MessageExpunge "
				    "FlagChange AnnotationChange MailboxName "
				    "SubscriptionChange)] Unsupported event.");
			free(fl);
			return;
		}
		if (r < 0) {
			imap_tagged(x->c, x->cmd->tag,
				    "BAD Invalid NOTIFY filter.");
			free(fl);
			return;
		}
	}
	imap_notify_free(&x->s->notify);
	nf_setup(x->c, x->s, fl, nf, status);
	free(fl);
	imap_tagged(x->c, x->cmd->tag, "OK NOTIFY completed.");
}
