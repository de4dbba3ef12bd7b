/*
 * Sort keys kept between requests; see listcache.h.  A kept set is
 * immutable once published (its sorted orders are filled in lazily under
 * its own lock) and reference-counted, so requests read it without
 * holding the cache lock.  A folder that changed gets a new set: the
 * entries of messages still there (same UID, base name and size) are
 * copied from the old one, only new messages are summarised.  The
 * validity rule is fcache's and youju.index's: a message whose file was
 * replaced has another base name or size.
 */
#include "listcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fcache.h"
#include "maildir_index.h"
#include "mailmatch.h"
#include "mailsort.h"
#include "wm.h"
#include "xalloc.h"

struct entry {
	uint32_t uid;
	uint64_t size;
	char *base;
	struct wm_summary s;
	int64_t date;
	char *from_key, *subject_key; /* mailsort comparison forms */
	char *subject_fold;	      /* search's form (lib/mailmatch) */
	size_t subject_fold_len;
};

struct listcache {
	char *path;
	uint32_t uidvalidity;
	uint64_t serial; /* the fcache scan it matches (0 none); under lock */
	struct entry *e;
	size_t n;
	unsigned refs; /* under lock */
	uint64_t used; /* under lock */
	pthread_mutex_t olock;
	uint32_t *order[LISTCACHE_NKEYS];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct listcache *slots[LISTCACHE_SLOTS];
static uint64_t tick;

static void lc_free(struct listcache *lc)
{
	for (size_t i = 0; i < lc->n; i++) {
		free(lc->e[i].base);
		free(lc->e[i].from_key);
		free(lc->e[i].subject_key);
		free(lc->e[i].subject_fold);
		wm_summary_free(&lc->e[i].s);
	}
	for (int k = 0; k < LISTCACHE_NKEYS; k++)
		free(lc->order[k]);
	pthread_mutex_destroy(&lc->olock);
	free(lc->e);
	free(lc->path);
	free(lc);
}

static void unref_locked(struct listcache *lc)
{
	if (lc != NULL && --lc->refs == 0)
		lc_free(lc);
}

void listcache_put(struct listcache **lc)
{
	if (*lc == NULL)
		return;
	pthread_mutex_lock(&lock);
	unref_locked(*lc);
	pthread_mutex_unlock(&lock);
	*lc = NULL;
}

static bool valid_for(const struct listcache *lc,
		      const struct maildir_folder *f)
{
	if (lc->n != f->n || lc->uidvalidity != f->uidvalidity ||
	    strcmp(lc->path, f->path) != 0)
		return false;
	for (size_t i = 0; i < f->n; i++)
		if (lc->e[i].uid != f->msgs[i].uid ||
		    lc->e[i].size != f->msgs[i].size ||
		    strcmp(lc->e[i].base, f->msgs[i].base) != 0)
			return false;
	return true;
}

static const struct entry *old_entry(const struct listcache *old,
				     const struct maildir_msg *m)
{
	if (old == NULL)
		return NULL;
	size_t lo = 0, hi = old->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (old->e[mid].uid < m->uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < old->n && old->e[lo].uid == m->uid &&
	    old->e[lo].size == m->size && strcmp(old->e[lo].base, m->base) == 0)
		return &old->e[lo];
	return NULL;
}

static char *xdup(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

/* The keys of a summary, as IMAP SORT forms them (lib/mailsort). */
static void make_keys(struct entry *e, const struct maildir_msg *m)
{
	e->date = e->s.has_date ? e->s.date : (int64_t)m->mtime;
	const char *subj = e->s.subject != NULL ? e->s.subject : "";
	struct buf b;
	buf_init(&b, 4 * strlen(subj) + 16);
	e->subject_key =
	    mailsort_base_subject(subj, strlen(subj), &b, NULL) == 0
		? mailsort_fold(b.p ? b.p : "", b.len)
		: xstrdup("");
	buf_deinit(&b);
	/* the folded subject search matches in (lib/mailmatch's form) */
	buf_init(&b, 8 * strlen(subj) + 16);
	bool folded = mailmatch_needle(subj, strlen(subj), &b) == 0;
	e->subject_fold =
	    xmemdup0(folded && b.p ? b.p : "", folded ? b.len : 0);
	e->subject_fold_len = folded ? b.len : 0;
	buf_deinit(&b);
	/* DISPLAYFROM (RFC 5957): the name shown, else the address */
	const char *from = e->s.from != NULL ? e->s.from : "";
	buf_init(&b, strlen(from) + 16);
	char *box = NULL;
	if (buf_append_str(&b, "From: ") == 0 &&
	    buf_append_str(&b, from) == 0 && buf_append_str(&b, "\n") == 0)
		mailsort_addr_keys(b.p, b.len, "From", &box, &e->from_key);
	else
		e->from_key = xstrdup("");
	free(box);
	buf_deinit(&b);
}

static struct listcache *build(struct maildir_folder *f,
			       const struct maildir_index *ix,
			       const struct listcache *old)
{
	struct listcache *lc = xcalloc(1, sizeof *lc);
	lc->path = xstrdup(f->path);
	lc->uidvalidity = f->uidvalidity;
	lc->n = f->n;
	lc->e = xcalloc(f->n ? f->n : 1, sizeof *lc->e);
	pthread_mutex_init(&lc->olock, NULL);
	for (size_t i = 0; i < f->n; i++) {
		struct maildir_msg *m = &f->msgs[i];
		struct entry *e = &lc->e[i];
		const struct entry *o = old_entry(old, m);
		e->uid = m->uid;
		e->size = m->size;
		e->base = xstrdup(m->base);
		if (o != NULL) {
			e->s = o->s;
			e->s.subject = xdup(o->s.subject);
			e->s.from = xdup(o->s.from);
			e->date = o->date;
			e->from_key = xdup(o->from_key);
			e->subject_key = xdup(o->subject_key);
			e->subject_fold =
			    xmemdup0(o->subject_fold, o->subject_fold_len);
			e->subject_fold_len = o->subject_fold_len;
			continue;
		}
		if (!wm_msg_summary(f, ix, m, &e->s)) {
			wm_summary_free(&e->s);
			memset(&e->s, 0, sizeof e->s);
		}
		if (e->s.subject == NULL)
			e->s.subject = xstrdup("");
		if (e->s.from == NULL)
			e->s.from = xstrdup("");
		make_keys(e, m);
	}
	return lc;
}

/* The kept set of path (a reference), or NULL; *slot_r is its slot or
   the one a new set would take.  Under lock. */
static struct listcache *find_locked(const char *path, size_t *slot_r)
{
	struct listcache *old = NULL;
	size_t slot = 0;
	for (size_t i = 0; i < LISTCACHE_SLOTS; i++) {
		if (slots[i] != NULL && strcmp(slots[i]->path, path) == 0) {
			old = slots[i];
			slot = i;
			break;
		}
		if (slots[i] == NULL ||
		    (slots[slot] != NULL && slots[i]->used < slots[slot]->used))
			slot = i;
	}
	if (old != NULL) {
		old->refs++;
		old->used = ++tick;
	}
	*slot_r = slot;
	return old;
}

/* Publishes lc (refs 2: the caller's and the slot's) in place of old
   (the caller's reference to it is dropped). */
static void publish(struct listcache *lc, struct listcache *old, size_t slot)
{
	lc->refs = 2;
	pthread_mutex_lock(&lock);
	lc->used = ++tick;
	if (old != NULL && slots[slot] == old) {
		unref_locked(old); /* the slot's */
		slots[slot] = lc;
	} else if (old == NULL && slots[slot] == NULL) {
		slots[slot] = lc;
	} else {
		/* the slots moved meanwhile: take the least used one */
		size_t v = 0;
		for (size_t i = 0; i < LISTCACHE_SLOTS; i++)
			if (slots[i] == NULL ||
			    (slots[v] != NULL &&
			     slots[i]->used < slots[v]->used))
				v = i;
		unref_locked(slots[v]);
		slots[v] = lc;
	}
	unref_locked(old); /* ours */
	pthread_mutex_unlock(&lock);
}

struct listcache *listcache_get(struct maildir_folder *f,
				const struct maildir_index *ix)
{
	size_t slot = 0;
	pthread_mutex_lock(&lock);
	struct listcache *old = find_locked(f->path, &slot);
	pthread_mutex_unlock(&lock);
	if (old != NULL && valid_for(old, f))
		return old;
	/* built outside the lock: summaries may read files */
	struct listcache *lc = build(f, ix, old);
	publish(lc, old, slot);
	return lc;
}

struct listcache *listcache_get_scan(const struct fcache_scan *scan)
{
	const struct maildir_folder *f = fcache_scan_folder(scan);
	uint64_t serial = fcache_scan_serial(scan);
	size_t slot = 0;
	pthread_mutex_lock(&lock);
	struct listcache *old = find_locked(f->path, &slot);
	bool same = old != NULL && serial != 0 && old->serial == serial;
	pthread_mutex_unlock(&lock);
	if (same)
		return old;
	if (old != NULL && valid_for(old, f)) {
		/* the folder was scanned again but did not change */
		pthread_mutex_lock(&lock);
		old->serial = serial;
		pthread_mutex_unlock(&lock);
		return old;
	}
	/* summaries read files, which updates the folder (maildir_msg_read
	   opens its directories, follows renames): a copy of the shared
	   scan is read, entry i still belongs to its message i */
	struct maildir_folder *own = fcache_scan_copy(scan);
	struct maildir_index *ix =
	    maildir_index_open(own->path, own->uidvalidity, NULL);
	struct listcache *lc = build(own, ix, old);
	maildir_index_free(&ix);
	maildir_folder_free(&own);
	lc->serial = serial;
	publish(lc, old, slot);
	return lc;
}

struct listcache *listcache_peek_scan(const struct fcache_scan *scan)
{
	uint64_t serial = fcache_scan_serial(scan);
	if (serial == 0)
		return NULL;
	size_t slot = 0;
	pthread_mutex_lock(&lock);
	struct listcache *lc =
	    find_locked(fcache_scan_folder(scan)->path, &slot);
	if (lc != NULL && lc->serial != serial) {
		unref_locked(lc);
		lc = NULL;
	}
	pthread_mutex_unlock(&lock);
	return lc;
}

const struct wm_summary *listcache_summary(const struct listcache *lc, size_t i)
{
	return &lc->e[i].s;
}

const char *listcache_subject_key(const struct listcache *lc, size_t i)
{
	return lc->e[i].subject_key;
}

struct str listcache_subject_fold(const struct listcache *lc, size_t i)
{
	return (struct str){lc->e[i].subject_fold, lc->e[i].subject_fold_len};
}

static _Thread_local const struct listcache *cmp_lc;
static _Thread_local enum listcache_key cmp_key;

static int order_cmp(const void *pa, const void *pb)
{
	const struct entry *a = &cmp_lc->e[*(const uint32_t *)pa];
	const struct entry *b = &cmp_lc->e[*(const uint32_t *)pb];
	int c = 0;
	switch (cmp_key) {
	case LISTCACHE_DATE:
		c = a->date < b->date ? -1 : a->date > b->date;
		break;
	case LISTCACHE_FROM:
		c = strcmp(a->from_key, b->from_key);
		break;
	case LISTCACHE_SUBJECT:
		c = strcmp(a->subject_key, b->subject_key);
		break;
	case LISTCACHE_NKEYS:
		break;
	}
	if (c == 0)
		c = a->uid < b->uid ? -1 : a->uid > b->uid;
	return c;
}

const uint32_t *listcache_order(struct listcache *lc, enum listcache_key key)
{
	pthread_mutex_lock(&lc->olock);
	if (lc->order[key] == NULL) {
		uint32_t *o = xcalloc(lc->n ? lc->n : 1, sizeof *o);
		for (size_t i = 0; i < lc->n; i++)
			o[i] = (uint32_t)i;
		cmp_lc = lc;
		cmp_key = key;
		if (lc->n > 1)
			qsort(o, lc->n, sizeof *o, order_cmp);
		cmp_lc = NULL;
		lc->order[key] = o;
	}
	const uint32_t *r = lc->order[key];
	pthread_mutex_unlock(&lc->olock);
	return r;
}

void listcache_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < LISTCACHE_SLOTS; i++) {
		unref_locked(slots[i]);
		slots[i] = NULL;
	}
	pthread_mutex_unlock(&lock);
}
