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
 * Each caller gets its own deep copy (the mailbox layer changes
 * m->letters in place).
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

struct slot {
	char *path;
	struct stamp st;
	struct maildir_folder *f;
	uint64_t used;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[FCACHE_SLOTS];
static uint64_t clock_tick;

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

static struct maildir_folder *copy(const struct maildir_folder *src)
{
	struct maildir_folder *f = xcalloc(1, sizeof *f);
	f->path = xstrdup(src->path);
	f->uidvalidity = src->uidvalidity;
	f->next_uid = src->next_uid;
	f->had_new = src->had_new;
	f->n = src->n;
	f->msgs = xcalloc(src->n ? src->n : 1, sizeof *f->msgs);
	for (size_t i = 0; i < src->n; i++) {
		f->msgs[i] = src->msgs[i];
		f->msgs[i].base = xstrdup(src->msgs[i].base);
		f->msgs[i].letters = xstrdup(src->msgs[i].letters);
	}
	maildir_keywords_init(&f->kw);
	maildir_keywords_copy(&f->kw, &src->kw);
	return f;
}

struct maildir_folder *fcache_open(const char *path, const char **error_r)
{
	struct stamp before, after;
	bool stamped = stamp_read(path, &before) == 0;
	if (stamped) {
		pthread_mutex_lock(&lock);
		for (size_t i = 0; i < FCACHE_SLOTS; i++) {
			struct slot *s = &slots[i];
			if (s->f != NULL && strcmp(s->path, path) == 0 &&
			    stamp_eq(&s->st, &before)) {
				s->used = ++clock_tick;
				struct maildir_folder *f = copy(s->f);
				pthread_mutex_unlock(&lock);
				return f;
			}
		}
		pthread_mutex_unlock(&lock);
	}
	time_t now = time(NULL);
	struct maildir_folder *f = maildir_folder_open(path, false, error_r);
	if (f == NULL || !stamped || !stamp_settled(&before, now) ||
	    stamp_read(path, &after) < 0 || !stamp_eq(&before, &after))
		return f;
	pthread_mutex_lock(&lock);
	struct slot *victim = &slots[0];
	for (size_t i = 0; i < FCACHE_SLOTS; i++) {
		struct slot *s = &slots[i];
		if (s->f != NULL && strcmp(s->path, path) == 0) {
			victim = s;
			break;
		}
		if (s->used < victim->used)
			victim = s;
	}
	maildir_folder_free(&victim->f);
	free(victim->path);
	victim->path = xstrdup(path);
	victim->st = before;
	victim->f = copy(f);
	victim->used = ++clock_tick;
	pthread_mutex_unlock(&lock);
	return f;
}

void fcache_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < FCACHE_SLOTS; i++) {
		maildir_folder_free(&slots[i].f);
		free(slots[i].path);
		slots[i].path = NULL;
		slots[i].used = 0;
	}
	pthread_mutex_unlock(&lock);
}
