/*
 * youju-modseq; see maildir_modseq.h.
 */
#include "maildir_modseq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "file.h"
#include "xalloc.h"

/* The largest file read: about 40 bytes a message. */
#define MODSEQ_FILE_MAX (256u << 20)
/* The letters a line keeps (struct maildir_modseq_rec, NUL excluded). */
#define MODSEQ_LETTERS_MAX (sizeof((struct maildir_modseq_rec *)0)->letters - 1)

void maildir_modseq_file_deinit(struct maildir_modseq_file *mf)
{
	free(mf->recs);
	free(mf->gone);
	memset(mf, 0, sizeof *mf);
}

void maildir_modseq_deinit(struct maildir_modseq *ms)
{
	free(ms->v);
	free(ms->gone);
	memset(ms, 0, sizeof *ms);
}

/* A decimal number at *p up to max (digits only), *p moved past it. */
static int modseq_num(const char **p, const char *end, uint64_t max,
		      uint64_t *v_r)
{
	const char *q = *p;
	uint64_t v = 0;
	if (q == end || *q < '0' || *q > '9')
		return -1;
	while (q < end && *q >= '0' && *q <= '9') {
		uint64_t d = (uint64_t)(*q - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
		q++;
	}
	*p = q;
	*v_r = v;
	return 0;
}

static int modseq_char(const char **p, const char *end, char c)
{
	if (*p == end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

/* Appends g to the "x" lines of *v (n of them, capacity *cap). */
static void modseq_gone_push(struct maildir_modseq_gone **v, size_t *n,
			     size_t *cap, struct maildir_modseq_gone g)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = g;
}

/* An "x uidlo uidhi modseq" line (after the "x "), modseqs up to h. */
static int modseq_parse_gone(const char **p, const char *end, uint64_t h,
			     struct maildir_modseq_file *mf, size_t *cap)
{
	uint64_t lo, hi, ms;
	if (modseq_num(p, end, UINT32_MAX, &lo) < 0 || lo == 0 ||
	    modseq_char(p, end, ' ') < 0 ||
	    modseq_num(p, end, UINT32_MAX, &hi) < 0 || hi < lo ||
	    modseq_char(p, end, ' ') < 0 || modseq_num(p, end, h, &ms) < 0 ||
	    ms == 0 || modseq_char(p, end, '\n') < 0 ||
	    mf->ngone == MAILDIR_MODSEQ_GONE_MAX ||
	    (mf->ngone > 0 && ms < mf->gone[mf->ngone - 1].modseq))
		return -1;
	struct maildir_modseq_gone g = {(uint32_t)lo, (uint32_t)hi, ms};
	modseq_gone_push(&mf->gone, &mf->ngone, cap, g);
	return 0;
}

int maildir_modseq_parse(const char *data, size_t len,
			 struct maildir_modseq_file *mf)
{
	memset(mf, 0, sizeof *mf);
	static const char magic[] = "youju-modseq ";
	const char *p = data, *end = data + len;
	uint64_t v, h, version, un = 0;
	if (len < sizeof magic - 1 || memcmp(p, magic, sizeof magic - 1) != 0)
		return -1;
	p += sizeof magic - 1;
	if (modseq_num(&p, end, 2, &version) < 0 || version == 0 ||
	    modseq_char(&p, end, ' ') < 0 ||
	    modseq_num(&p, end, UINT32_MAX, &v) < 0 || v == 0 ||
	    modseq_char(&p, end, ' ') < 0 ||
	    modseq_num(&p, end, INT64_MAX, &h) < 0)
		return -1;
	if (version == 2 && (modseq_char(&p, end, ' ') < 0 ||
			     modseq_num(&p, end, UINT32_MAX, &un) < 0))
		return -1;
	if (modseq_char(&p, end, '\n') < 0)
		return -1;
	mf->uidvalidity = (uint32_t)v;
	mf->highest = h;
	mf->uidnext = (uint32_t)un;
	size_t cap = 0, gcap = 0;
	while (p < end) {
		if (*p == 'x' && version == 2) {
			p++;
			if (modseq_char(&p, end, ' ') < 0 ||
			    modseq_parse_gone(&p, end, h, mf, &gcap) < 0)
				goto bad;
			continue;
		}
		struct maildir_modseq_rec r;
		uint64_t uid, ms;
		memset(&r, 0, sizeof r);
		if (mf->ngone > 0 || /* "x" lines come last */
		    modseq_num(&p, end, UINT32_MAX, &uid) < 0 || uid == 0 ||
		    modseq_char(&p, end, ' ') < 0 ||
		    modseq_num(&p, end, h, &ms) < 0 || ms == 0 ||
		    modseq_char(&p, end, ' ') < 0)
			goto bad;
		size_t k = 0;
		while (p < end && *p != '\n') {
			/* info letters: printable ASCII, no space */
			if (k + 1 >= sizeof r.letters || *p <= ' ' || *p > '~')
				goto bad;
			r.letters[k++] = *p++;
		}
		if (modseq_char(&p, end, '\n') < 0 ||
		    (mf->n > 0 && uid <= mf->recs[mf->n - 1].uid))
			goto bad;
		r.uid = (uint32_t)uid;
		r.modseq = ms;
		if (mf->n == cap) {
			cap = cap ? cap * 2 : 64;
			mf->recs = xrealloc(mf->recs, cap * sizeof *mf->recs);
		}
		mf->recs[mf->n++] = r;
	}
	return 0;
bad:
	maildir_modseq_file_deinit(mf);
	return -1;
}

/* Appends v in decimal to b.  0 or -1 (full). */
static int modseq_put_num(struct buf *b, uint64_t v)
{
	char tmp[24];
	size_t k = sizeof tmp;
	do {
		tmp[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return buf_append(b, tmp + k, sizeof tmp - k);
}

/* The file's text: the header, a line per message, the "x" lines.  A
   line is put together by hand (not printf): 50,000 of them are written
   after any flag change. */
static int modseq_text(struct buf *b, uint64_t highest,
		       const struct maildir_folder *f,
		       const struct maildir_modseq *ms)
{
	if (buf_printf(b, "youju-modseq 2 %lu %llu %lu\n",
		       (unsigned long)f->uidvalidity,
		       (unsigned long long)highest,
		       (unsigned long)f->next_uid) < 0)
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		const char *l = f->msgs[i].letters;
		if (modseq_put_num(b, f->msgs[i].uid) < 0 ||
		    buf_append_char(b, ' ') < 0 ||
		    modseq_put_num(b, ms->v[i]) < 0 ||
		    buf_append_char(b, ' ') < 0 ||
		    buf_append(b, l, strnlen(l, MODSEQ_LETTERS_MAX)) < 0 ||
		    buf_append_char(b, '\n') < 0)
			return -1;
	}
	for (size_t i = 0; i < ms->ngone; i++)
		if (buf_printf(b, "x %lu %lu %llu\n",
			       (unsigned long)ms->gone[i].lo,
			       (unsigned long)ms->gone[i].hi,
			       (unsigned long long)ms->gone[i].modseq) < 0)
			return -1;
	return 0;
}

static int modseq_write(const char *path, uint64_t highest,
			const struct maildir_folder *f,
			const struct maildir_modseq *ms)
{
	struct buf b;
	buf_init(&b, MODSEQ_FILE_MAX);
	int r = modseq_text(&b, highest, f, ms);
	if (r == 0)
		r = file_replace(path, b.p ? b.p : "", b.len, NULL);
	else
		errno = EFBIG;
	buf_deinit(&b);
	return r;
}

/* ---- the cache ---------------------------------------------------------

   One folder's file as last read or written, with its stamp.  Every
   writer replaces youju-modseq by rename under dovecot-uidlist.lock, so
   any new contents come with another inode (and size, mtime, ctime):
   the stamp is trusted at any age. */

struct modseq_cent {
	char *path; /* the folder; NULL: unused */
	uint64_t used;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	struct maildir_modseq_file mf;
};

struct maildir_modseq_cache {
	struct modseq_cent *e;
	size_t n;
	uint64_t clock;
	uint64_t hits, misses;
};

struct maildir_modseq_cache *maildir_modseq_cache_new(size_t max_folders)
{
	struct maildir_modseq_cache *c = xcalloc(1, sizeof *c);
	c->n = max_folders ? max_folders : 1;
	c->e = xcalloc(c->n, sizeof *c->e);
	return c;
}

static void modseq_cent_clear(struct modseq_cent *e)
{
	free(e->path);
	maildir_modseq_file_deinit(&e->mf);
	memset(e, 0, sizeof *e);
}

void maildir_modseq_cache_free(struct maildir_modseq_cache **cp)
{
	struct maildir_modseq_cache *c = *cp;
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		modseq_cent_clear(&c->e[i]);
	free(c->e);
	free(c);
	*cp = NULL;
}

void maildir_modseq_cache_counts(const struct maildir_modseq_cache *c,
				 uint64_t *hits_r, uint64_t *misses_r)
{
	*hits_r = c->hits;
	*misses_r = c->misses;
}

static bool modseq_ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* folder's entry whose stamp is st's, or NULL */
static const struct modseq_cent *
modseq_cache_find(const struct maildir_modseq_cache *c, const char *folder,
		  const struct stat *st)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct modseq_cent *e = &c->e[i];
		if (e->path != NULL && strcmp(e->path, folder) == 0 &&
		    e->dev == st->st_dev && e->ino == st->st_ino &&
		    e->size == st->st_size &&
		    modseq_ts_eq(e->mtime, st->st_mtim) &&
		    modseq_ts_eq(e->ctime, st->st_ctim))
			return e;
	}
	return NULL;
}

/* Keeps mf (taken) as folder's file with stamp st. */
static void modseq_cache_put(struct maildir_modseq_cache *c, const char *folder,
			     const struct stat *st,
			     struct maildir_modseq_file *mf)
{
	struct modseq_cent *e = &c->e[0];
	for (size_t i = 0; i < c->n; i++) {
		if (c->e[i].path != NULL && strcmp(c->e[i].path, folder) == 0) {
			e = &c->e[i];
			break;
		}
		if (c->e[i].used < e->used)
			e = &c->e[i];
	}
	modseq_cent_clear(e);
	e->path = xstrdup(folder);
	e->used = ++c->clock;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->ctime = st->st_ctim;
	e->mf = *mf;
	memset(mf, 0, sizeof *mf);
}

static void modseq_cache_drop(struct maildir_modseq_cache *c,
			      const char *folder)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].path != NULL && strcmp(c->e[i].path, folder) == 0)
			modseq_cent_clear(&c->e[i]);
}

/* The file as it is now for what the sync below wrote: f's messages with
   their modseqs, ms's "x" lines. */
static void modseq_file_of(struct maildir_modseq_file *mf,
			   const struct maildir_folder *f,
			   const struct maildir_modseq *ms)
{
	memset(mf, 0, sizeof *mf);
	mf->uidvalidity = f->uidvalidity;
	mf->highest = ms->highest;
	mf->uidnext = f->next_uid;
	mf->recs = xcalloc(f->n ? f->n : 1, sizeof *mf->recs);
	for (size_t i = 0; i < f->n; i++) {
		struct maildir_modseq_rec *r = &mf->recs[i];
		r->uid = f->msgs[i].uid;
		r->modseq = ms->v[i];
		size_t l = strnlen(f->msgs[i].letters, MODSEQ_LETTERS_MAX);
		memcpy(r->letters, f->msgs[i].letters, l);
	}
	mf->n = f->n;
	mf->gone = xmalloc((ms->ngone ? ms->ngone : 1) * sizeof *mf->gone);
	if (ms->ngone > 0)
		memcpy(mf->gone, ms->gone, ms->ngone * sizeof *mf->gone);
	mf->ngone = ms->ngone;
}

int maildir_modseq_sync(const struct maildir_folder *f, int lock_ms,
			struct maildir_modseq *ms)
{
	return maildir_modseq_sync_cached(NULL, f, lock_ms, ms);
}

int maildir_modseq_sync_cached(struct maildir_modseq_cache *c,
			       const struct maildir_folder *f, int lock_ms,
			       struct maildir_modseq *ms)
{
	memset(ms, 0, sizeof *ms);
	char path[4096];
	if (file_path(path, sizeof path, f->path, MAILDIR_MODSEQ_FILE) < 0)
		return -1;
	if (maildir_uidlist_lock(f->path, lock_ms) < 0)
		return -1;
	struct maildir_modseq_file own;
	memset(&own, 0, sizeof own);
	/* mf: the file's contents, the cache's (read only) or own */
	const struct maildir_modseq_file *mfp = &own;
	struct stat st;
	bool have_st = false, parsed = false;
	const struct modseq_cent *ce = NULL;
	if (c != NULL && stat(path, &st) == 0 &&
	    (ce = modseq_cache_find(c, f->path, &st)) != NULL) {
		mfp = &ce->mf;
		parsed = true;
		c->hits++;
	} else {
		char *data = NULL;
		size_t len = 0;
		int rr = file_read(path, MODSEQ_FILE_MAX, 0, &data, &len, &st);
		have_st = rr > 0;
		parsed = rr > 0 && maildir_modseq_parse(data, len, &own) == 0;
		free(data);
		if (c != NULL)
			c->misses++;
	}
	bool fresh = !parsed || mfp->uidvalidity != f->uidvalidity;
	/* a fresh start keeps only the old file's highestmodseq */
	const struct maildir_modseq_file mf =
	    fresh ? (struct maildir_modseq_file){.highest = mfp->highest}
		  : *mfp;
	/* microseconds since 1970: above anything a file started earlier
	   gave out, at fewer than one change a microsecond on average */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t start =
	    (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	uint64_t highest = mf.highest;
	size_t gcap = 0;
	if (fresh) {
		/* never below what an older file may have given out */
		if (highest < start)
			highest = start;
		/* whatever is missing went before this file began */
		if (f->next_uid > 1) {
			struct maildir_modseq_gone g = {1, f->next_uid - 1,
							highest};
			modseq_gone_push(&ms->gone, &ms->ngone, &gcap, g);
		}
	} else if (mf.ngone > 0) {
		ms->gone = xmalloc(mf.ngone * sizeof *ms->gone);
		memcpy(ms->gone, mf.gone, mf.ngone * sizeof *ms->gone);
		ms->ngone = gcap = mf.ngone;
	}
	bool changed = fresh || mf.uidnext != f->next_uid;
	ms->v = xcalloc(f->n ? f->n : 1, sizeof *ms->v);
	ms->n = f->n;
	/* runs of expunged UIDs with no survivor between them; their
	   modseq is known at the end */
	size_t first_new = ms->ngone;
	struct maildir_modseq_gone run = {0, 0, 0};
	size_t j = 0, fresh_uids = 0;
	uint32_t base = mf.uidnext ? mf.uidnext
			: mf.n > 0 ? mf.recs[mf.n - 1].uid + 1
				   : 1;
	for (size_t i = 0; i < f->n; i++) {
		const struct maildir_msg *m = &f->msgs[i];
		while (j < mf.n && mf.recs[j].uid < m->uid) {
			if (run.lo == 0)
				run.lo = mf.recs[j].uid;
			run.hi = mf.recs[j].uid;
			j++;
		}
		if (j < mf.n && mf.recs[j].uid == m->uid && run.lo != 0) {
			modseq_gone_push(&ms->gone, &ms->ngone, &gcap, run);
			run.lo = 0;
		}
		if (j < mf.n && mf.recs[j].uid == m->uid &&
		    strncmp(mf.recs[j].letters, m->letters,
			    sizeof mf.recs[j].letters) == 0) {
			ms->v[i] = mf.recs[j].modseq;
		} else {
			ms->v[i] = ++highest;
			changed = true;
		}
		if (j < mf.n && mf.recs[j].uid == m->uid)
			j++;
		if (!fresh && m->uid >= base)
			fresh_uids++;
	}
	for (; j < mf.n; j++) {
		if (run.lo == 0)
			run.lo = mf.recs[j].uid;
		run.hi = mf.recs[j].uid;
	}
	if (run.lo != 0)
		modseq_gone_push(&ms->gone, &ms->ngone, &gcap, run);
	/* UIDs given out and expunged since the last sync */
	if (!fresh && f->next_uid > base && fresh_uids < f->next_uid - base) {
		struct maildir_modseq_gone g = {base, f->next_uid - 1, 0};
		modseq_gone_push(&ms->gone, &ms->ngone, &gcap, g);
	}
	if (ms->ngone > first_new) {
		highest++; /* expunges move it too (RFC 7162 §3.1.2.1) */
		changed = true;
		for (size_t i = first_new; i < ms->ngone; i++)
			ms->gone[i].modseq = highest;
	}
	/* bounded: merge the oldest two (the reader leaves out survivors) */
	while (ms->ngone > MAILDIR_MODSEQ_GONE_MAX) {
		struct maildir_modseq_gone *g = ms->gone;
		g[1].lo = g[0].lo < g[1].lo ? g[0].lo : g[1].lo;
		g[1].hi = g[0].hi > g[1].hi ? g[0].hi : g[1].hi;
		memmove(g, g + 1, --ms->ngone * sizeof *g);
	}
	ms->highest = highest;
	int r = 0;
	if (changed && modseq_write(path, highest, f, ms) < 0)
		r = -1;
	if (c != NULL) {
		/* the cache holds the file as it is now (still under the
		   lock, so no other writer came between) */
		if (r == 0 && changed && stat(path, &st) == 0) {
			struct maildir_modseq_file now;
			modseq_file_of(&now, f, ms);
			modseq_cache_put(c, f->path, &st, &now);
		} else if (r == 0 && !changed && ce == NULL && have_st &&
			   parsed) {
			modseq_cache_put(c, f->path, &st, &own);
		} else if (r < 0 || changed) {
			modseq_cache_drop(c, f->path);
		}
	}
	int e = errno;
	maildir_uidlist_unlock(f->path);
	maildir_modseq_file_deinit(&own);
	if (r < 0) {
		maildir_modseq_deinit(ms);
		errno = e;
	}
	return r;
}
