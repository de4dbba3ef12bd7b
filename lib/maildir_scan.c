/*
 * The folder scan: new/ and cur/ read, matched to dovecot-uidlist,
 * unlisted files numbered; and the cache of the last scans that lets a
 * rescan of an unchanged or slightly changed large folder skip most of
 * that work.  See maildir_scan.h (the cache) and maildir.h
 * (maildir_folder_open).
 */
#include "maildir_scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "hash.h"
#include "xalloc.h"

/* ---- the whole scan --------------------------------------------------- */

struct maildir_ent {
	char *name; /* full file name */
	size_t base_len;
	bool in_new;
	bool has_mtime; /* stat'ed by the scan (no S=, or no d_type) */
	time_t mtime;
	uint64_t size;
	bool used;
	bool dup; /* the same base as an earlier entry (new/ and cur/) */
};

static int maildir_ent_cmp(const void *a, const void *b)
{
	const struct maildir_ent *x = a, *y = b;
	return maildir_base_cmp(x->name, x->base_len, y->name, y->base_len);
}

/* Reads sub/ of folder into *ents.  No stat per file: readdir's d_type
   says it is a plain file, and the size comes from S= (Dovecot's
   deliveries and ours always write it); only a name without S= or a
   file system without d_type costs an fstatat().  INTERNALDATE is read
   later, for the messages whose date is asked for (maildir_msg_mtime). */
static int maildir_scan_dir(const char *folder, const char *sub, bool in_new,
			    struct maildir_ent **ents, size_t *n, size_t *cap,
			    struct stat *dst)
{
	char dpath[PATH_MAX];
	if (file_path(dpath, sizeof dpath, folder, sub) < 0)
		return -1;
	DIR *d = opendir(dpath);
	if (d == NULL)
		return -1;
	int dfd = dirfd(d);
	/* before the first entry: a change from now on moves the mtime */
	if (fstat(dfd, dst) < 0) {
		int e = errno;
		closedir(d);
		errno = e;
		return -1;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*n >= MAILDIR_MSGS_MAX)
			break;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN &&
		    de->d_type != DT_LNK)
			continue; /* a directory, fifo, ...: not a message */
		struct str nm = str_from_cstr(de->d_name), base, letters;
		maildir_name_split(nm, &base, &letters);
		uint64_t size;
		bool has_size = maildir_name_size(base, 'S', &size) == 0;
		struct stat st;
		bool has_st = false;
		if (de->d_type != DT_REG || !has_size) {
			if (fstatat(dfd, de->d_name, &st, 0) < 0 ||
			    !S_ISREG(st.st_mode)) {
				errno = 0;
				continue; /* vanished or not a message */
			}
			has_st = true;
			if (!has_size)
				size = (uint64_t)st.st_size;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*ents = xrealloc(*ents, *cap * sizeof **ents);
		}
		(*ents)[(*n)++] = (struct maildir_ent){
		    .name = xstrdup(de->d_name),
		    .base_len = base.len,
		    .in_new = in_new,
		    .has_mtime = has_st,
		    .mtime = has_st ? st.st_mtime : 0,
		    .size = size,
		};
		errno = 0;
	}
	int e = errno;
	closedir(d);
	errno = e;
	return e ? -1 : 0;
}

/* The entries by base name, open addressing: dovecot-uidlist's records
   are matched to the files without sorting the 50,000 names first
   (sorting them in delivery order had been a sixth of a SELECT). */
struct maildir_ent_tab {
	size_t *slot; /* index + 1 into ents; 0: empty */
	size_t mask;
};

static uint64_t maildir_base_hash(const char *p, size_t len)
{
	return hash_fnv1a(p, len);
}

static struct maildir_ent *maildir_ent_tab_find(const struct maildir_ent_tab *t,
						struct maildir_ent *ents,
						const char *base, size_t len,
						size_t **slot_r)
{
	size_t k = (size_t)maildir_base_hash(base, len) & t->mask;
	while (t->slot[k] != 0) {
		struct maildir_ent *e = &ents[t->slot[k] - 1];
		if (e->base_len == len && memcmp(e->name, base, len) == 0)
			return e;
		k = (k + 1) & t->mask;
	}
	if (slot_r != NULL)
		*slot_r = &t->slot[k];
	return NULL;
}

/* Fills t with ents; a second entry of the same base (a copy in new/
   and cur/) is marked dup and left out: it is one message. */
static void maildir_ent_tab_init(struct maildir_ent_tab *t,
				 struct maildir_ent *ents, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	t->slot = xcalloc(cap, sizeof *t->slot);
	t->mask = cap - 1;
	for (size_t i = 0; i < n; i++) {
		size_t *slot;
		if (maildir_ent_tab_find(t, ents, ents[i].name,
					 ents[i].base_len, &slot) != NULL)
			ents[i].dup = true;
		else
			*slot = i + 1;
	}
}

static int maildir_entp_cmp(const void *a, const void *b)
{
	return maildir_ent_cmp(*(struct maildir_ent *const *)a,
			       *(struct maildir_ent *const *)b);
}

static void maildir_ents_free(struct maildir_ent *ents, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
}

/* ---- validators --------------------------------------------------------- */

/* What says a file or directory is unchanged since it was read. */
struct scan_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	bool trusted; /* usable as a validator */
};

static bool scan_ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* margin: a directory, changed in place (renames, links, unlinks in
   it), where a change within the same timestamp tick would not show:
   a stamp younger than the dirty margin is not trusted, as Dovecot does
   with cur/ and new/.  Otherwise dovecot-uidlist, which every writer
   replaces (rename: another inode) or appends to (Dovecot: another
   size), so its stamp is trusted at any age, as Dovecot trusts its
   inode and size. */
static void scan_stamp_set(struct scan_stamp *s, const struct stat *st,
			   bool margin)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
	s->ctime = st->st_ctim;
	int64_t age = (int64_t)now.tv_sec - (int64_t)st->st_mtim.tv_sec;
	int64_t cage = (int64_t)now.tv_sec - (int64_t)st->st_ctim.tv_sec;
	s->trusted = !margin || (age > MAILDIR_SCAN_DIRTY_MARGIN &&
				 cage > MAILDIR_SCAN_DIRTY_MARGIN);
}

static bool scan_stamp_eq(const struct scan_stamp *s, const struct stat *st)
{
	return s->trusted && s->dev == st->st_dev && s->ino == st->st_ino &&
	       s->size == st->st_size && scan_ts_eq(s->mtime, st->st_mtim) &&
	       scan_ts_eq(s->ctime, st->st_ctim);
}

/* ---- the cache ---------------------------------------------------------- */

#define SCAN_NONE UINT32_MAX

/* One directory entry of a cached listing. */
struct scan_ent {
	uint32_t off; /* the name at names + off, NUL-terminated */
	uint16_t len; /* of the name */
	uint16_t base_len;
	uint32_t hash; /* of the base name */
	uint32_t msg;  /* index into msgs; while diffing: the old entry */
	bool in_new;   /* in new/ (else cur/) */
	bool exact;    /* while diffing: the old entry's very name */
};

/* One message, in UID order. */
struct scan_msg {
	uint32_t uid;
	uint32_t ent;	/* index into ents */
	uint32_t extra; /* its uidlist keys at extras + extra */
	uint64_t size, vsize;
};

struct scan_folder {
	char *path;
	uint64_t used; /* the cache's clock at the last use */
	struct scan_stamp uidlist, dir[2]; /* dir[0] cur/, dir[1] new/ */
	uint32_t uidvalidity, next_uid;
	char guid[33];
	char *hdr_extra;
	struct buf names;  /* the listing's names */
	struct buf extras; /* the records' keys ("W123", ...) */
	struct scan_ent *ents;
	size_t nents, ncur; /* ents[0..ncur) in cur/, the rest in new/ */
	struct scan_msg *msgs;
	size_t n;
};

struct maildir_scan_cache {
	struct scan_folder **fold;
	size_t nfold, max_folders, max_bytes;
	uint64_t clock;
	struct maildir_scan_cache_stats stats;
};

/* The largest names or extras arena of one folder. */
#define SCAN_ARENA_MAX ((size_t)UINT32_MAX)

static uint32_t scan_hash(const char *p, size_t len)
{
	uint64_t h = hash_fnv1a(p, len);
	return (uint32_t)(h ^ (h >> 32));
}

static size_t scan_folder_bytes(const struct scan_folder *sf)
{
	return sizeof *sf + sf->names.len + sf->extras.len +
	       sf->nents * sizeof *sf->ents + sf->n * sizeof *sf->msgs;
}

static void scan_folder_free(struct scan_folder **p)
{
	struct scan_folder *sf = *p;
	if (sf == NULL)
		return;
	free(sf->path);
	free(sf->hdr_extra);
	buf_deinit(&sf->names);
	buf_deinit(&sf->extras);
	free(sf->ents);
	free(sf->msgs);
	free(sf);
	*p = NULL;
}

struct maildir_scan_cache *maildir_scan_cache_new(size_t max_folders,
						  size_t max_bytes)
{
	struct maildir_scan_cache *c = xcalloc(1, sizeof *c);
	c->max_folders = max_folders ? max_folders : 1;
	c->max_bytes = max_bytes;
	c->fold = xcalloc(c->max_folders, sizeof *c->fold);
	return c;
}

void maildir_scan_cache_clear(struct maildir_scan_cache *c)
{
	for (size_t i = 0; i < c->nfold; i++)
		scan_folder_free(&c->fold[i]);
	c->nfold = 0;
}

void maildir_scan_cache_free(struct maildir_scan_cache **cp)
{
	struct maildir_scan_cache *c = *cp;
	if (c == NULL)
		return;
	maildir_scan_cache_clear(c);
	free(c->fold);
	free(c);
	*cp = NULL;
}

struct maildir_scan_cache_stats
maildir_scan_cache_stats(const struct maildir_scan_cache *c)
{
	return c->stats;
}

/* Takes path's folder out of the cache (the caller owns it), or NULL. */
static struct scan_folder *scan_cache_take(struct maildir_scan_cache *c,
					   const char *path)
{
	for (size_t i = 0; i < c->nfold; i++) {
		if (strcmp(c->fold[i]->path, path) != 0)
			continue;
		struct scan_folder *sf = c->fold[i];
		c->fold[i] = c->fold[--c->nfold];
		return sf;
	}
	return NULL;
}

/* Keeps sf (owned by the cache now), making room by dropping the least
   recently used folders; a folder over the whole budget is dropped. */
static void scan_cache_put(struct maildir_scan_cache *c, struct scan_folder *sf)
{
	size_t need = scan_folder_bytes(sf);
	if (need > c->max_bytes) {
		scan_folder_free(&sf);
		return;
	}
	sf->used = ++c->clock;
	for (;;) {
		size_t total = need;
		for (size_t i = 0; i < c->nfold; i++)
			total += scan_folder_bytes(c->fold[i]);
		if (c->nfold < c->max_folders && total <= c->max_bytes)
			break;
		size_t old = 0;
		for (size_t i = 1; i < c->nfold; i++)
			if (c->fold[i]->used < c->fold[old]->used)
				old = i;
		scan_folder_free(&c->fold[old]);
		c->fold[old] = c->fold[--c->nfold];
	}
	c->fold[c->nfold++] = sf;
}

/* Appends len bytes and a NUL to b; the offset, or -1 when full. */
static int64_t scan_arena_add(struct buf *b, const char *p, size_t len)
{
	size_t off = b->len;
	if (off > SCAN_ARENA_MAX - len - 1 || buf_append(b, p, len) < 0 ||
	    buf_append_char(b, '\0') < 0)
		return -1;
	return (int64_t)off;
}

static struct scan_folder *scan_folder_new(const char *path)
{
	struct scan_folder *sf = xcalloc(1, sizeof *sf);
	sf->path = xstrdup(path);
	buf_init(&sf->names, SCAN_ARENA_MAX);
	buf_init(&sf->extras, SCAN_ARENA_MAX);
	return sf;
}

/*
 * The cache entry of a whole scan, or NULL when the folder is one the
 * cached scan does not handle (a stat'ed entry, a message in new/ and
 * cur/).  ents: the listing (cur/ then new/, ncur in cur/); ent_of[i]:
 * the entry of message i of f; keep: the uidlist as it is on disk now.
 */
static struct scan_folder *
scan_folder_of(const char *path, const struct maildir_ent *ents, size_t nents,
	       size_t ncur, struct maildir_ent *const *ent_of,
	       const struct maildir_folder *f,
	       const struct maildir_uidlist *keep, const struct stat dst[2],
	       const struct stat *ulst)
{
	if (nents > MAILDIR_MSGS_MAX || f->n != keep->n)
		return NULL;
	for (size_t i = 0; i < nents; i++)
		if (ents[i].dup || ents[i].has_mtime || !ents[i].used)
			return NULL;
	struct scan_folder *sf = scan_folder_new(path);
	sf->ents = xcalloc(nents ? nents : 1, sizeof *sf->ents);
	sf->msgs = xcalloc(f->n ? f->n : 1, sizeof *sf->msgs);
	for (size_t i = 0; i < nents; i++) {
		const struct maildir_ent *e = &ents[i];
		size_t len = strlen(e->name);
		int64_t off = scan_arena_add(&sf->names, e->name, len);
		if (off < 0 || len > UINT16_MAX) {
			scan_folder_free(&sf);
			return NULL;
		}
		sf->ents[i] = (struct scan_ent){
		    .off = (uint32_t)off,
		    .len = (uint16_t)len,
		    .base_len = (uint16_t)e->base_len,
		    .hash = scan_hash(e->name, e->base_len),
		    .in_new = e->in_new,
		};
	}
	sf->nents = nents;
	sf->ncur = ncur;
	for (size_t i = 0; i < f->n; i++) {
		const struct maildir_uidrec *r = &keep->recs[i];
		int64_t x =
		    scan_arena_add(&sf->extras, r->extra, strlen(r->extra));
		if (x < 0) {
			scan_folder_free(&sf);
			return NULL;
		}
		uint32_t k = (uint32_t)(ent_of[i] - ents);
		sf->msgs[i] = (struct scan_msg){
		    .uid = f->msgs[i].uid,
		    .ent = k,
		    .extra = (uint32_t)x,
		    .size = f->msgs[i].size,
		    .vsize = f->msgs[i].vsize,
		};
		sf->ents[k].msg = (uint32_t)i;
	}
	sf->n = f->n;
	sf->uidvalidity = keep->uidvalidity;
	sf->next_uid = keep->next_uid;
	memcpy(sf->guid, keep->guid, sizeof sf->guid);
	sf->hdr_extra = xstrdup(keep->hdr_extra);
	scan_stamp_set(&sf->dir[0], &dst[0], true);
	scan_stamp_set(&sf->dir[1], &dst[1], true);
	scan_stamp_set(&sf->uidlist, ulst, false);
	return sf;
}

/* ---- the whole scan, under the uidlist lock ----------------------------- */

/* Reads dovecot-uidlist into text with its stat.  1 read, 0 missing, -1
   error with errno. */
static int scan_uidlist_read(const char *ulpath, struct buf *text,
			     struct stat *st)
{
	int fd = open(ulpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	int r = fstat(fd, st) < 0 ? -1 : file_read_fd_buf(fd, text);
	int e = errno;
	close(fd);
	errno = e;
	return r < 0 ? -1 : 1;
}

/* Renames message m of f from new/ to cur/ with an empty ":2," info (the
   reader's duty, maildir.md §3). */
static void scan_move_new(const char *path, struct maildir_msg *m,
			  const char *name)
{
	char from[PATH_MAX], to[PATH_MAX], nm2[PATH_MAX];
	int k = snprintf(nm2, sizeof nm2, "%s:2,", m->base);
	if (k > 0 && (size_t)k < sizeof nm2 &&
	    snprintf(from, sizeof from, "%s/new/%s", path, name) <
		(int)sizeof from &&
	    snprintf(to, sizeof to, "%s/cur/%s", path, nm2) < (int)sizeof to &&
	    rename(from, to) == 0)
		m->in_new = false;
	/* else another reader moved it first: the path is looked up again
	   when needed (maildir.md §7.3) */
}

static struct maildir_folder *scan_full(struct maildir_scan_cache *c,
					const char *path, bool move_new,
					const char **error_r)
{
	struct maildir_ent *ents = NULL;
	size_t n = 0, cap = 0;
	struct maildir_uidlist ul;
	struct buf text;
	char ulpath[PATH_MAX];
	struct stat dst[2], ulst;
	bool dirty = false;

	maildir_uidlist_init(&ul);
	buf_init(&text, MAILDIR_UIDLIST_MAX);
	if (file_path(ulpath, sizeof ulpath, path, "dovecot-uidlist") < 0) {
		*error_r = "path too long";
		goto fail;
	}
	/* cur/ first: of a message in both (a copy left by a crash or
	   another tool) the one with flags is kept, and the new/ copy is
	   not moved over it */
	if (maildir_scan_dir(path, "cur", false, &ents, &n, &cap, &dst[0]) <
	    0) {
		*error_r = "scan maildir";
		goto fail;
	}
	size_t ncur = n;
	if (maildir_scan_dir(path, "new", true, &ents, &n, &cap, &dst[1]) < 0) {
		*error_r = "scan maildir";
		goto fail;
	}
	int r = scan_uidlist_read(ulpath, &text, &ulst);
	if (r < 0) {
		*error_r = "read dovecot-uidlist";
		goto fail;
	}
	const char *perr;
	if (r == 0 || maildir_uidlist_parse(text.p, text.len, &ul, &perr) < 0) {
		/* missing or unreadable: a new UIDVALIDITY, as Dovecot does */
		maildir_uidlist_deinit(&ul);
		maildir_uidlist_init(&ul);
		ul.uidvalidity = maildir_uidvalidity_next(path);
		dirty = true;
	}
	struct maildir_ent_tab tab;
	maildir_ent_tab_init(&tab, ents, n);
	struct maildir_folder *f = xcalloc(1, sizeof *f);
	f->path = xstrdup(path);
	f->msgs = xcalloc(n ? n : 1, sizeof *f->msgs);
	/* listed files, in UID order; drop records of expunged files */
	struct maildir_uidlist keep;
	maildir_uidlist_init(&keep);
	keep.uidvalidity = ul.uidvalidity;
	memcpy(keep.guid, ul.guid, sizeof keep.guid);
	free(keep.hdr_extra);
	keep.hdr_extra = xstrdup(ul.hdr_extra);
	/* the directory entry of each message of f, by index */
	struct maildir_ent **ent_of = xcalloc(n ? n : 1, sizeof *ent_of);
	for (size_t i = 0; i < ul.n; i++) {
		struct maildir_ent *e = maildir_ent_tab_find(
		    &tab, ents, ul.recs[i].base, strlen(ul.recs[i].base), NULL);
		if (e == NULL || e->used) {
			dirty = true;
			continue;
		}
		e->used = true;
		ent_of[f->n] = e;
		maildir_uidlist_take(&keep, ul.recs[i].uid, ul.recs[i].base,
				     ul.recs[i].extra);
		ul.recs[i].base = NULL;
		ul.recs[i].extra = NULL;
		struct maildir_msg *m = &f->msgs[f->n++];
		m->uid = keep.recs[keep.n - 1].uid;
		m->base = xstrdup(e->name);
		m->base[e->base_len] = '\0';
	}
	if (ul.next_uid > keep.next_uid)
		keep.next_uid = ul.next_uid;
	free(tab.slot);
	/* new files, in name order = delivery order (maildir_base_cmp);
	   a dup is the other copy of a message already counted */
	struct maildir_ent **fresh = xcalloc(n ? n : 1, sizeof *fresh);
	size_t nfresh = 0;
	for (size_t i = 0; i < n; i++)
		if (!ents[i].used && !ents[i].dup)
			fresh[nfresh++] = &ents[i];
	if (nfresh > 1)
		qsort(fresh, nfresh, sizeof *fresh, maildir_entp_cmp);
	for (size_t i = 0; i < nfresh; i++) {
		struct maildir_ent *e = fresh[i];
		e->used = true;
		maildir_uidlist_add(&keep, keep.next_uid, e->name, e->base_len);
		ent_of[f->n] = e;
		struct maildir_msg *m = &f->msgs[f->n++];
		m->uid = keep.recs[keep.n - 1].uid;
		m->base = xmemdup0(e->name, e->base_len);
		m->in_new = e->in_new;
		dirty = true;
	}
	free(fresh);
	/* fill the rest of each message from its directory entry */
	for (size_t i = 0; i < f->n; i++) {
		struct maildir_msg *m = &f->msgs[i];
		struct maildir_ent *e = ent_of[i];
		struct str nm = str_from_cstr(e->name), base, letters;
		maildir_name_split(nm, &base, &letters);
		m->letters = xmemdup0(letters.p, letters.len);
		m->size = e->size;
		m->mtime = e->mtime;
		m->mtime_known = e->has_mtime;
		if (maildir_name_size(base, 'W', &m->vsize) < 0)
			m->vsize = 0;
		m->in_new = e->in_new;
		m->recent = e->in_new;
		if (e->in_new)
			f->had_new = true;
		if (move_new && e->in_new)
			scan_move_new(path, m, e->name);
	}
	f->uidvalidity = keep.uidvalidity;
	f->next_uid = keep.next_uid;
	/* read under the uidlist lock, which also guards dovecot-keywords:
	   the letters just scanned and this table are consistent */
	if (maildir_keywords_read(path, &f->kw) < 0) {
		free(ent_of);
		maildir_uidlist_deinit(&keep);
		maildir_folder_free(&f);
		*error_r = "read dovecot-keywords";
		goto fail;
	}
	if (dirty) {
		buf_reset(&text);
		if (maildir_uidlist_format(&keep, &text) < 0 ||
		    file_replace(ulpath, text.p, text.len, NULL) < 0 ||
		    stat(ulpath, &ulst) < 0) {
			/* UIDs this session hands out would not persist */
			free(ent_of);
			maildir_uidlist_deinit(&keep);
			maildir_folder_free(&f);
			*error_r = "write dovecot-uidlist";
			goto fail;
		}
	}
	if (c != NULL) {
		struct scan_folder *sf = scan_folder_of(
		    path, ents, n, ncur, ent_of, f, &keep, dst, &ulst);
		if (sf != NULL)
			scan_cache_put(c, sf);
		c->stats.full++;
	}
	free(ent_of);
	maildir_uidlist_deinit(&keep);
	maildir_uidlist_deinit(&ul);
	maildir_ents_free(ents, n);
	buf_deinit(&text);
	return f;
fail:;
	int e = errno;
	maildir_uidlist_deinit(&ul);
	maildir_ents_free(ents, n);
	buf_deinit(&text);
	errno = e;
	return NULL;
}

/* ---- the cached scan ---------------------------------------------------- */

/* The listing being read, compared with the cached one. */
struct scan_diff {
	const struct scan_folder *old;
	struct buf names;
	struct scan_ent *ents;
	size_t n, cap, ncur;
	struct stat dst[2];
	bool *seen;	  /* old entries whose very name is still there */
	uint32_t *newpos; /* old entry -> its (or its rename's) new entry */
	uint32_t *slot;	  /* old entries by base name: index + 1 */
	size_t mask;
	uint64_t parsed; /* names parsed (new or renamed) */
	uint64_t dirs_read;
};

/* The old entry whose base name is base, or SCAN_NONE. */
static uint32_t scan_diff_find(struct scan_diff *d, const char *base,
			       size_t len, uint32_t h)
{
	const struct scan_folder *o = d->old;
	if (d->slot == NULL) {
		/* built on the first name that is not where it was */
		size_t cap = 16;
		while (cap < 2 * o->nents)
			cap *= 2;
		d->slot = xcalloc(cap, sizeof *d->slot);
		d->mask = cap - 1;
		for (size_t i = 0; i < o->nents; i++) {
			size_t k = o->ents[i].hash & d->mask;
			while (d->slot[k] != 0)
				k = (k + 1) & d->mask;
			d->slot[k] = (uint32_t)i + 1;
		}
	}
	for (size_t k = h & d->mask; d->slot[k] != 0; k = (k + 1) & d->mask) {
		const struct scan_ent *e = &o->ents[d->slot[k] - 1];
		if (e->hash == h && e->base_len == len &&
		    memcmp(o->names.p + e->off, base, len) == 0)
			return d->slot[k] - 1;
	}
	return SCAN_NONE;
}

/* Appends an entry of the new listing.  0, or -1 (too large). */
static int scan_diff_add(struct scan_diff *d, const char *name, size_t len,
			 const struct scan_ent *e)
{
	int64_t off = scan_arena_add(&d->names, name, len);
	if (off < 0 || d->n >= MAILDIR_MSGS_MAX)
		return -1;
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 1024;
		d->ents = xrealloc(d->ents, d->cap * sizeof *d->ents);
	}
	d->ents[d->n] = *e;
	d->ents[d->n].off = (uint32_t)off;
	d->n++;
	return 0;
}

/* Marks old entry o as found again (as entry d->n, about to be added). */
static bool scan_diff_seen(struct scan_diff *d, uint32_t o)
{
	if (d->seen[o])
		return false;
	d->seen[o] = true;
	d->newpos[o] = (uint32_t)d->n;
	return true;
}

/* Reads sub/ (k: 0 cur, 1 new) into d.  1 done, 0 the cached scan
   cannot handle it, -1 error with errno. */
static int scan_diff_dir(struct scan_diff *d, const char *path, int k)
{
	const struct scan_folder *o = d->old;
	size_t ostart = k ? o->ncur : 0, oend = k ? o->nents : o->ncur;
	char dpath[PATH_MAX];
	if (file_path(dpath, sizeof dpath, path, k ? "new" : "cur") < 0)
		return -1;
	DIR *dir = opendir(dpath);
	if (dir == NULL)
		return -1;
	if (fstat(dirfd(dir), &d->dst[k]) < 0) {
		int e = errno;
		closedir(dir);
		errno = e;
		return -1;
	}
	if (scan_stamp_eq(&o->dir[k], &d->dst[k])) {
		/* unchanged since a read it was old enough for: the same
		   names, in the same order */
		closedir(dir);
		for (size_t i = ostart; i < oend; i++) {
			const struct scan_ent *e = &o->ents[i];
			struct scan_ent ne = *e;
			ne.msg = (uint32_t)i;
			ne.exact = true;
			if (!scan_diff_seen(d, (uint32_t)i) ||
			    scan_diff_add(d, o->names.p + e->off, e->len, &ne) <
				0)
				return 0;
		}
		return 1;
	}
	size_t cur = ostart;
	struct dirent *de;
	int r = 1;
	d->dirs_read++;
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		const char *name = de->d_name;
		if (name[0] == '.')
			continue;
		if (de->d_type != DT_REG) {
			if (de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) {
				r = 0; /* needs a stat: the whole scan */
				break;
			}
			continue; /* a directory, fifo, ...: not a message */
		}
		size_t len = strlen(name);
		struct scan_ent ne = {.in_new = k == 1, .msg = SCAN_NONE};
		if (cur < oend && o->ents[cur].len == len &&
		    memcmp(o->names.p + o->ents[cur].off, name, len) == 0) {
			/* where it was: the common case, no parsing */
			ne = o->ents[cur];
			ne.msg = (uint32_t)cur;
			ne.exact = true;
			if (!scan_diff_seen(d, (uint32_t)cur)) {
				r = 0;
				break;
			}
			cur++;
		} else {
			struct str nm = {name, len}, base, letters;
			maildir_name_split(nm, &base, &letters);
			uint64_t size;
			if (len > UINT16_MAX ||
			    maildir_name_size(base, 'S', &size) < 0) {
				r = 0; /* needs a stat: the whole scan */
				break;
			}
			uint32_t h = scan_hash(base.p, base.len);
			uint32_t oi = scan_diff_find(d, base.p, base.len, h);
			ne.base_len = (uint16_t)base.len;
			ne.hash = h;
			ne.len = (uint16_t)len;
			ne.msg = oi;
			if (oi != SCAN_NONE && o->ents[oi].len == len &&
			    o->ents[oi].in_new == (k == 1) &&
			    memcmp(o->names.p + o->ents[oi].off, name, len) ==
				0) {
				/* the same name, elsewhere in the order */
				ne.exact = true;
				if (!scan_diff_seen(d, oi)) {
					r = 0;
					break;
				}
				if (oi >= ostart && oi < oend)
					cur = oi + 1;
			} else {
				d->parsed++;
			}
		}
		if (scan_diff_add(d, name, len, &ne) < 0) {
			r = 0;
			break;
		}
		errno = 0;
	}
	int e = errno;
	closedir(dir);
	if (r == 1 && e != 0) {
		errno = e;
		return -1;
	}
	return r;
}

/* dovecot-uidlist's text for the messages of sf (what
   maildir_uidlist_format writes for the same records). */
static int scan_uidlist_text(const struct scan_folder *sf, struct buf *out)
{
	if (buf_printf(out, "3 V%lu N%lu", (unsigned long)sf->uidvalidity,
		       (unsigned long)sf->next_uid) < 0 ||
	    (sf->guid[0] != '\0' && buf_printf(out, " G%s", sf->guid) < 0) ||
	    (sf->hdr_extra[0] != '\0' &&
	     buf_printf(out, " %s", sf->hdr_extra) < 0) ||
	    buf_append_char(out, '\n') < 0)
		return -1;
	for (size_t i = 0; i < sf->n; i++) {
		const struct scan_msg *m = &sf->msgs[i];
		const struct scan_ent *e = &sf->ents[m->ent];
		const char *x = sf->extras.p + m->extra;
		if (buf_printf(out, "%lu%s%s :", (unsigned long)m->uid,
			       x[0] ? " " : "", x) < 0 ||
		    buf_append(out, sf->names.p + e->off, e->base_len) < 0 ||
		    buf_append_char(out, '\n') < 0)
			return -1;
	}
	return 0;
}

/* The base name ordering of fresh entries (maildir_base_cmp); ctx is
   the struct scan_diff. */
static int scan_fresh_cmp(const void *a, const void *b, void *ctx)
{
	const struct scan_diff *d = ctx;
	const struct scan_ent *x = &d->ents[*(const uint32_t *)a];
	const struct scan_ent *y = &d->ents[*(const uint32_t *)b];
	return maildir_base_cmp(d->names.p + x->off, x->base_len,
				d->names.p + y->off, y->base_len);
}

/* The snapshot of sf, as the whole scan makes it. */
static struct maildir_folder *
scan_snapshot(const char *path, const struct scan_folder *sf, bool move_new)
{
	struct maildir_folder *f = xcalloc(1, sizeof *f);
	f->path = xstrdup(path);
	f->msgs = xcalloc(sf->n ? sf->n : 1, sizeof *f->msgs);
	f->n = sf->n;
	f->uidvalidity = sf->uidvalidity;
	f->next_uid = sf->next_uid;
	for (size_t i = 0; i < sf->n; i++) {
		const struct scan_msg *sm = &sf->msgs[i];
		const struct scan_ent *e = &sf->ents[sm->ent];
		const char *name = sf->names.p + e->off;
		struct maildir_msg *m = &f->msgs[i];
		struct str base, letters;
		maildir_name_split((struct str){name, e->len}, &base, &letters);
		m->uid = sm->uid;
		m->base = xmemdup0(name, e->base_len);
		m->letters = xmemdup0(letters.p, letters.len);
		m->size = sm->size;
		m->vsize = sm->vsize;
		m->in_new = e->in_new;
		m->recent = e->in_new;
		if (e->in_new) {
			f->had_new = true;
			if (move_new)
				scan_move_new(path, m, name);
		}
	}
	return f;
}

/*
 * The scan through sf, under the uidlist lock.  1 with *f_r (sf then
 * describes the folder as it is now), 0 when the whole scan must do it
 * (sf unchanged), -1 error with *error_r and errno.
 */
static int scan_cached(struct maildir_scan_cache *c, struct scan_folder *sf,
		       const char *path, bool move_new,
		       struct maildir_folder **f_r, const char **error_r)
{
	char ulpath[PATH_MAX];
	struct stat ulst;
	if (file_path(ulpath, sizeof ulpath, path, "dovecot-uidlist") < 0 ||
	    stat(ulpath, &ulst) < 0 || !scan_stamp_eq(&sf->uidlist, &ulst))
		return 0; /* another writer: read it again, all of it */
	struct scan_diff d = {.old = sf};
	buf_init(&d.names, SCAN_ARENA_MAX);
	d.seen = xcalloc(sf->nents ? sf->nents : 1, sizeof *d.seen);
	d.newpos = xmalloc((sf->nents ? sf->nents : 1) * sizeof *d.newpos);
	for (size_t i = 0; i < sf->nents; i++)
		d.newpos[i] = SCAN_NONE;
	uint32_t *fresh = NULL;
	struct scan_msg *msgs = NULL;
	int r = scan_diff_dir(&d, path, 0);
	d.ncur = d.n;
	if (r == 1)
		r = scan_diff_dir(&d, path, 1);
	if (r < 0)
		*error_r = "scan maildir";
	if (r != 1)
		goto out;
	/* the names not where they were: renamed messages (their old name
	   gone) or new files; anything else (two names of one message) is
	   left to the whole scan */
	size_t nfresh = 0;
	fresh = xmalloc((d.n ? d.n : 1) * sizeof *fresh);
	for (size_t i = 0; i < d.n; i++) {
		const struct scan_ent *e = &d.ents[i];
		if (e->exact)
			continue;
		if (e->msg == SCAN_NONE) {
			fresh[nfresh++] = (uint32_t)i;
			continue;
		}
		if (d.newpos[e->msg] != SCAN_NONE) {
			r = 0;
			goto out;
		}
		d.newpos[e->msg] = (uint32_t)i;
	}
	if (nfresh > 1)
		qsort_r(fresh, nfresh, sizeof *fresh, scan_fresh_cmp, &d);
	for (size_t i = 1; i < nfresh; i++)
		if (scan_fresh_cmp(&fresh[i - 1], &fresh[i], &d) == 0) {
			r = 0;
			goto out;
		}
	/* the messages: the cached ones still there, in UID order, then
	   the new files numbered in delivery order */
	bool dirty = false;
	size_t n = 0;
	msgs = xmalloc((sf->n + nfresh ? sf->n + nfresh : 1) * sizeof *msgs);
	for (size_t i = 0; i < sf->n; i++) {
		uint32_t np = d.newpos[sf->msgs[i].ent];
		if (np == SCAN_NONE) {
			dirty = true; /* expunged: its record goes */
			continue;
		}
		msgs[n] = sf->msgs[i];
		msgs[n].ent = np;
		d.ents[np].msg = (uint32_t)n++;
	}
	uint32_t next_uid = sf->next_uid;
	size_t extras_len = sf->extras.len;
	for (size_t i = 0; i < nfresh; i++) {
		struct scan_ent *e = &d.ents[fresh[i]];
		struct str base = {d.names.p + e->off, e->base_len};
		uint64_t size = 0, vsize = 0; /* S= is there (scan_diff_dir) */
		(void)maildir_name_size(base, 'S', &size);
		if (maildir_name_size(base, 'W', &vsize) < 0)
			vsize = 0;
		msgs[n] = (struct scan_msg){.uid = next_uid++,
					    .ent = fresh[i],
					    .extra = (uint32_t)extras_len,
					    .size = size,
					    .vsize = vsize};
		e->msg = (uint32_t)n++;
		dirty = true;
	}
	if (next_uid < sf->next_uid) { /* UIDs ran out: the whole scan */
		r = 0;
		goto out;
	}
	/* the new state of sf (nothing can fail below but the writes) */
	if (nfresh > 0 && scan_arena_add(&sf->extras, "", 0) < 0) {
		r = 0;
		goto out;
	}
	buf_deinit(&sf->names);
	sf->names = d.names;
	buf_init(&d.names, SCAN_ARENA_MAX);
	free(sf->ents);
	sf->ents = d.ents;
	d.ents = NULL;
	sf->nents = d.n;
	sf->ncur = d.ncur;
	free(sf->msgs);
	sf->msgs = msgs;
	msgs = NULL;
	sf->n = n;
	sf->next_uid = next_uid;
	scan_stamp_set(&sf->dir[0], &d.dst[0], true);
	scan_stamp_set(&sf->dir[1], &d.dst[1], true);
	struct maildir_folder *f = scan_snapshot(path, sf, move_new);
	if (maildir_keywords_read(path, &f->kw) < 0) {
		maildir_folder_free(&f);
		*error_r = "read dovecot-keywords";
		r = -1;
		goto out;
	}
	if (dirty) {
		struct buf text;
		buf_init(&text, MAILDIR_UIDLIST_MAX);
		if (scan_uidlist_text(sf, &text) < 0 ||
		    file_replace(ulpath, text.p, text.len, NULL) < 0 ||
		    stat(ulpath, &ulst) < 0) {
			int e = errno;
			buf_deinit(&text);
			maildir_folder_free(&f);
			*error_r = "write dovecot-uidlist";
			errno = e;
			r = -1;
			goto out;
		}
		buf_deinit(&text);
		scan_stamp_set(&sf->uidlist, &ulst, false);
	}
	c->stats.cached++;
	c->stats.names_new += d.parsed;
	c->stats.dirs_read += d.dirs_read;
	*f_r = f;
out:;
	int e = errno;
	free(fresh);
	free(msgs);
	free(d.seen);
	free(d.newpos);
	free(d.slot);
	free(d.ents);
	buf_deinit(&d.names);
	errno = e;
	return r;
}

struct maildir_folder *maildir_folder_open_cached(struct maildir_scan_cache *c,
						  const char *path,
						  bool move_new,
						  const char **error_r)
{
	/* Dovecot's readers take no lock, but assigning UIDs does: take it
	   first so two sessions cannot number the same file twice. */
	if (maildir_uidlist_lock(path, 5000) < 0) {
		*error_r = "lock dovecot-uidlist";
		return NULL;
	}
	struct maildir_folder *f = NULL;
	struct scan_folder *sf = c != NULL ? scan_cache_take(c, path) : NULL;
	if (sf != NULL) {
		int r = scan_cached(c, sf, path, move_new, &f, error_r);
		if (r == 1) {
			scan_cache_put(c, sf);
		} else {
			scan_folder_free(&sf);
			if (r < 0) {
				int e = errno;
				maildir_uidlist_unlock(path);
				errno = e;
				return NULL;
			}
		}
	}
	if (f == NULL)
		f = scan_full(c, path, move_new, error_r);
	int e = errno;
	maildir_uidlist_unlock(path);
	errno = e;
	return f;
}

struct maildir_folder *maildir_folder_open(const char *path, bool move_new,
					   const char **error_r)
{
	return maildir_folder_open_cached(NULL, path, move_new, error_r);
}
