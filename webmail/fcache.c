/*
 * Folder scans kept between requests.  A scan (lib/maildir's
 * maildir_folder_open) is reused while the modification times and sizes
 * of new/, cur/, dovecot-uidlist and dovecot-keywords are unchanged: a
 * delivery, an expunge or a flag change by anyone (a rename in cur/)
 * changes cur/ or new/, a renumbering changes the uidlist.  File-system
 * times are coarse (a kernel tick), so a change made in the same tick as
 * the scan could leave them equal: as Dovecot does with its
 * maildir_very_dirty_syncs guard, a scan is only kept when every one of
 * those times is at least FCACHE_SETTLE seconds older than the scan, and
 * the times are read again after the scan to see nothing moved during it.
 * A kept scan is shared, reference-counted and never changed: readers
 * (the message list, search) borrow it with fcache_get; a caller that
 * changes messages (the mailbox layer changes m->letters in place) gets
 * its own deep copy (fcache_open), or a copy of just the one message it
 * opens (fcache_open_msg): copying 50,000 entries and freeing them again
 * was most of the cost of opening one message in a large folder.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fcache.h"
#include "xalloc.h"

struct stamp {
	struct timespec m[4];
	off_t size[4];
	bool exists[4];
};

struct fcache_scan {
	struct maildir_folder *f;
	uint64_t serial; /* 0: not kept */
	unsigned refs;	 /* under lock */
};

struct slot {
	char *path;
	struct stamp st;
	struct fcache_scan *scan; /* one reference is the slot's */
	uint64_t used;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[FCACHE_SLOTS];
static uint64_t clock_tick, serials;
static int stamp_read(const char *path, struct stamp *s)
{
	static const char *const names[4] = {"new", "cur", "dovecot-uidlist",
					     "dovecot-keywords"};
	memset(s, 0, sizeof *s);
	for (int i = 0; i < 4; i++) {
		char p[4200];
		struct stat st;
		int n = snprintf(p, sizeof p, "%s/%s", path, names[i]);
		if (n < 0 || (size_t)n >= sizeof p)
			return -1;
		if (stat(p, &st) < 0) {
			if (errno != ENOENT)
				return -1;
			continue;
		}
		s->exists[i] = true;
		s->m[i] = st.st_mtim;
		s->size[i] = st.st_size;
	}
	return 0;
}

static bool stamp_eq(const struct stamp *a, const struct stamp *b)
{
	for (int i = 0; i < 4; i++)
		if (a->exists[i] != b->exists[i] ||
		    a->m[i].tv_sec != b->m[i].tv_sec ||
		    a->m[i].tv_nsec != b->m[i].tv_nsec ||
		    a->size[i] != b->size[i])
			return false;
	return true;
}

/* every time at least FCACHE_SETTLE seconds before now */
static bool stamp_settled(const struct stamp *s, time_t now)
{
	for (int i = 0; i < 4; i++)
		if (s->exists[i] && s->m[i].tv_sec + FCACHE_SETTLE > now)
			return false;
	return true;
}

/* A copy of src's folder-wide fields, with room for n messages. */
static struct maildir_folder *copy_shell(const struct maildir_folder *src,
					 size_t n)
{
	struct maildir_folder *f = xcalloc(1, sizeof *f);
	f->path = xstrdup(src->path);
	f->uidvalidity = src->uidvalidity;
	f->next_uid = src->next_uid;
	f->had_new = src->had_new;
	f->msgs = xcalloc(n ? n : 1, sizeof *f->msgs);
	maildir_keywords_init(&f->kw);
	maildir_keywords_copy(&f->kw, &src->kw);
	return f;
}

static void copy_msg(struct maildir_msg *dst, const struct maildir_msg *src)
{
	*dst = *src;
	dst->base = xstrdup(src->base);
	dst->letters = xstrdup(src->letters);
}

static struct maildir_folder *copy(const struct maildir_folder *src)
{
	struct maildir_folder *f = copy_shell(src, src->n);
	f->n = src->n;
	for (size_t i = 0; i < src->n; i++)
		copy_msg(&f->msgs[i], &src->msgs[i]);
	return f;
}

static void scan_unref_locked(struct fcache_scan *s)
{
	if (s != NULL && --s->refs == 0) {
		maildir_folder_free(&s->f);
		free(s);
	}
}

void fcache_scan_put(struct fcache_scan **s)
{
	if (*s == NULL)
		return;
	pthread_mutex_lock(&lock);
	scan_unref_locked(*s);
	pthread_mutex_unlock(&lock);
	*s = NULL;
}

static void slot_drop_locked(struct slot *s)
{
	scan_unref_locked(s->scan);
	s->scan = NULL;
	free(s->path);
	s->path = NULL;
	s->used = 0;
}

struct fcache_scan *fcache_get(const char *path, const char **error_r)
{
	struct stamp before, after;
	bool stamped = stamp_read(path, &before) == 0;
	if (stamped) {
		pthread_mutex_lock(&lock);
		for (size_t i = 0; i < FCACHE_SLOTS; i++) {
			struct slot *s = &slots[i];
			if (s->scan != NULL && strcmp(s->path, path) == 0 &&
			    stamp_eq(&s->st, &before)) {
				s->used = ++clock_tick;
				s->scan->refs++;
				struct fcache_scan *r = s->scan;
				pthread_mutex_unlock(&lock);
				return r;
			}
		}
		pthread_mutex_unlock(&lock);
	}
	time_t now = time(NULL);
	struct maildir_folder *f = maildir_folder_open(path, false, error_r);
	if (f == NULL)
		return NULL;
	/* the list shows every date, and the scan is shared between
	   threads: no lazy stat later (maildir_msg_mtime) */
	maildir_folder_mtimes(f);
	struct fcache_scan *scan = xcalloc(1, sizeof *scan);
	scan->f = f;
	scan->refs = 1; /* the caller's */
	if (!stamped || !stamp_settled(&before, now) ||
	    stamp_read(path, &after) < 0 || !stamp_eq(&before, &after))
		return scan; /* not kept: serial 0 */
	pthread_mutex_lock(&lock);
	struct slot *victim = &slots[0];
	for (size_t i = 0; i < FCACHE_SLOTS; i++) {
		struct slot *s = &slots[i];
		if (s->scan != NULL && strcmp(s->path, path) == 0) {
			victim = s;
			break;
		}
		if (s->used < victim->used)
			victim = s;
	}
	slot_drop_locked(victim);
	victim->path = xstrdup(path);
	victim->st = before;
	scan->serial = ++serials;
	scan->refs++; /* the slot's */
	victim->scan = scan;
	victim->used = ++clock_tick;
	pthread_mutex_unlock(&lock);
	return scan;
}

const struct maildir_folder *fcache_scan_folder(const struct fcache_scan *s)
{
	return s->f;
}

uint64_t fcache_scan_serial(const struct fcache_scan *s)
{
	return s->serial;
}

struct maildir_folder *fcache_scan_copy(const struct fcache_scan *s)
{
	return copy(s->f);
}

struct maildir_folder *fcache_scan_copy_msgs(const struct fcache_scan *s,
					     const size_t *idx, size_t n)
{
	struct maildir_folder *f = copy_shell(s->f, n);
	for (size_t k = 0; k < n; k++)
		if (idx[k] < s->f->n)
			copy_msg(&f->msgs[f->n++], &s->f->msgs[idx[k]]);
	return f;
}

struct maildir_folder *fcache_open(const char *path, const char **error_r)
{
	struct fcache_scan *s = fcache_get(path, error_r);
	if (s == NULL)
		return NULL;
	struct maildir_folder *f = NULL;
	pthread_mutex_lock(&lock);
	if (s->refs == 1) { /* not kept and not shared: take it whole */
		f = s->f;
		s->f = NULL;
	}
	pthread_mutex_unlock(&lock);
	if (f == NULL)
		f = copy(s->f);
	fcache_scan_put(&s);
	return f;
}

struct maildir_folder *fcache_open_msg(const char *path, uint32_t uid,
				       const char **error_r)
{
	struct fcache_scan *s = fcache_get(path, error_r);
	if (s == NULL)
		return NULL;
	struct maildir_folder *f = copy_shell(s->f, 1);
	long i = maildir_folder_find(s->f, uid);
	if (i >= 0) {
		copy_msg(&f->msgs[0], &s->f->msgs[i]);
		f->n = 1;
	}
	fcache_scan_put(&s);
	return f;
}

void fcache_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < FCACHE_SLOTS; i++)
		slot_drop_locked(&slots[i]);
	pthread_mutex_unlock(&lock);
}
