/*
 * The PREVIEW cache; see imap_preview_cache.h.  The mapped file is only
 * read through pvc_line(), which checks every field of the line it is
 * given, so a damaged file costs a recomputation, never a bad answer
 * beyond a wrong-but-harmless preview text of the right UID and size.
 */
#include "imap_preview_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "maildir.h"
#include "uidsearch.h"
#include "xalloc.h"

struct pvc_entry {
	uint32_t uid;
	uint64_t size;
	char *text; /* owned */
	size_t len;
};

struct imap_preview_cache {
	char *path;
	uint32_t uidvalidity;
	char *map; /* the file, mapped, or NULL */
	size_t maplen;
	size_t body;		/* offset of the first entry line */
	struct pvc_entry *pend; /* ascending uid */
	size_t npend, cap;
};

static void pvc_unmap(struct imap_preview_cache *pc)
{
	if (pc->map != NULL)
		munmap(pc->map, pc->maplen);
	pc->map = NULL;
	pc->maplen = pc->body = 0;
}

/* Maps the file when its header names our UIDVALIDITY. */
static void pvc_map(struct imap_preview_cache *pc)
{
	pvc_unmap(pc);
	int fd = open(pc->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > IMAP_PREVIEW_CACHE_MAX) {
		close(fd);
		return;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return;
	pc->map = m;
	pc->maplen = (size_t)st.st_size;
	char want[64];
	int k = snprintf(want, sizeof want, "youju-preview 1 %lu\n",
			 (unsigned long)pc->uidvalidity);
	if (k <= 0 || (size_t)k > pc->maplen ||
	    memcmp(pc->map, want, (size_t)k) != 0 ||
	    pc->map[pc->maplen - 1] != '\n') {
		pvc_unmap(pc);
		return;
	}
	pc->body = (size_t)k;
}

struct imap_preview_cache *imap_preview_cache_open(const char *dir,
						   uint32_t uidvalidity)
{
	struct imap_preview_cache *pc = xcalloc(1, sizeof *pc);
	size_t n = strlen(dir) + sizeof "/" IMAP_PREVIEW_CACHE_FILE;
	pc->path = xmalloc(n);
	snprintf(pc->path, n, "%s/" IMAP_PREVIEW_CACHE_FILE, dir);
	pc->uidvalidity = uidvalidity;
	pvc_map(pc);
	return pc;
}

static void pvc_pending_clear(struct imap_preview_cache *pc)
{
	for (size_t i = 0; i < pc->npend; i++)
		free(pc->pend[i].text);
	pc->npend = 0;
}

void imap_preview_cache_free(struct imap_preview_cache **pcp)
{
	struct imap_preview_cache *pc = *pcp;
	if (pc == NULL)
		return;
	pvc_unmap(pc);
	pvc_pending_clear(pc);
	free(pc->pend);
	free(pc->path);
	free(pc);
	*pcp = NULL;
}

/* A decimal number of [*p, end) up to ' '; advances *p past the space. */
static bool pvc_num(const char **p, const char *end, uint64_t max,
		    uint64_t *v_r)
{
	uint64_t v = 0;
	const char *q = *p;
	while (q < end && *q >= '0' && *q <= '9') {
		if (v > (max - (uint64_t)(*q - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*q - '0');
		q++;
	}
	if (q == *p || q >= end || *q != ' ')
		return false;
	*p = q + 1;
	*v_r = v;
	return true;
}

/* The entry line starting at pos: false when it is malformed. */
static bool pvc_line(const struct imap_preview_cache *pc, size_t pos,
		     struct pvc_entry *e, size_t *next_r)
{
	const char *p = pc->map + pos, *end = pc->map + pc->maplen;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return false;
	uint64_t uid, size;
	if (!pvc_num(&p, nl, UINT32_MAX, &uid) ||
	    !pvc_num(&p, nl, UINT64_MAX, &size))
		return false;
	e->uid = (uint32_t)uid;
	e->size = size;
	e->text = (char *)p;
	e->len = (size_t)(nl - p);
	*next_r = (size_t)(nl + 1 - pc->map);
	return true;
}

/* The first line start at or after pos. */
static size_t pvc_line_start(const struct imap_preview_cache *pc, size_t pos)
{
	if (pos <= pc->body)
		return pc->body;
	if (pc->map[pos - 1] == '\n')
		return pos;
	const char *nl = memchr(pc->map + pos, '\n', pc->maplen - pos);
	return nl == NULL ? pc->maplen : (size_t)(nl + 1 - pc->map);
}

/* Binary search of the mapped lines (ascending uid). */
static bool pvc_file_get(const struct imap_preview_cache *pc, uint32_t uid,
			 struct pvc_entry *e)
{
	size_t lo = pc->body, hi = pc->maplen;
	while (pc->map != NULL && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		size_t s = pvc_line_start(pc, mid), next;
		if (s >= hi) {
			hi = mid;
			continue;
		}
		if (!pvc_line(pc, s, e, &next))
			return false;
		if (e->uid == uid)
			return true;
		if (e->uid < uid)
			lo = next;
		else
			hi = s;
	}
	return false;
}

/* The index of the first pending entry with uid >= uid. */
static size_t pvc_pend_find(const struct imap_preview_cache *pc, uint32_t uid)
{
	return uidsearch_lower_bound(pc->pend, pc->npend, sizeof *pc->pend,
				     offsetof(struct pvc_entry, uid), uid);
}

bool imap_preview_cache_get(struct imap_preview_cache *pc, uint32_t uid,
			    uint64_t size, struct str *text_r)
{
	size_t k = pvc_pend_find(pc, uid);
	struct pvc_entry e;
	if (k < pc->npend && pc->pend[k].uid == uid)
		e = pc->pend[k];
	else if (!pvc_file_get(pc, uid, &e))
		return false;
	if (e.size != size)
		return false; /* another file under the UID: recompute */
	for (size_t i = 0; i < e.len; i++)
		if ((unsigned char)e.text[i] < 0x20 || e.text[i] == 0x7f)
			return false; /* not written by us: recompute */
	*text_r = (struct str){e.text, e.len};
	return true;
}

void imap_preview_cache_add(struct imap_preview_cache *pc, uint32_t uid,
			    uint64_t size, const char *text, size_t len)
{
	size_t k = pvc_pend_find(pc, uid);
	if (k < pc->npend && pc->pend[k].uid == uid) {
		free(pc->pend[k].text);
	} else {
		if (pc->npend >= IMAP_PREVIEW_CACHE_PENDING_MAX)
			return;
		if (pc->npend == pc->cap) {
			pc->cap = pc->cap ? pc->cap * 2 : 64;
			pc->pend =
			    xrealloc(pc->pend, pc->cap * sizeof *pc->pend);
		}
		memmove(pc->pend + k + 1, pc->pend + k,
			(pc->npend - k) * sizeof *pc->pend);
		pc->npend++;
	}
	char *t = xmemdup0(text, len);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			t[i] = ' ';
	pc->pend[k] = (struct pvc_entry){uid, size, t, len};
}

size_t imap_preview_cache_pending(const struct imap_preview_cache *pc)
{
	return pc->npend;
}

static bool pvc_in_folder(const struct maildir_folder *f, uint32_t uid)
{
	return maildir_folder_find(f, uid) >= 0;
}

static int pvc_put(struct buf *b, const struct pvc_entry *e)
{
	if (buf_printf(b, "%lu %llu ", (unsigned long)e->uid,
		       (unsigned long long)e->size) < 0 ||
	    buf_append(b, e->text, e->len) < 0 || buf_append(b, "\n", 1) < 0)
		return -1;
	return 0;
}

int imap_preview_cache_save(struct imap_preview_cache *pc,
			    const struct maildir_folder *f)
{
	if (pc->npend == 0)
		return 0;
	struct buf b;
	buf_init(&b, IMAP_PREVIEW_CACHE_MAX);
	int r = buf_printf(&b, "youju-preview 1 %lu\n",
			   (unsigned long)pc->uidvalidity);
	/* merge the mapped lines and the pending entries, both ascending;
	   a pending entry replaces a line of its UID */
	size_t pos = pc->map != NULL ? pc->body : 0, k = 0;
	uint32_t last = 0; /* the output stays ascending whatever the file */
	bool any = false;
	while (r == 0) {
		struct pvc_entry fe, *pe = k < pc->npend ? &pc->pend[k] : NULL;
		size_t next = 0;
		bool have = pc->map != NULL && pos < pc->maplen &&
			    pvc_line(pc, pos, &fe, &next);
		if (!have && pe == NULL)
			break;
		const struct pvc_entry *e;
		if (have && (pe == NULL || fe.uid < pe->uid)) {
			e = &fe;
			pos = next;
		} else {
			if (have && fe.uid == pe->uid)
				pos = next;
			e = pe;
			k++;
		}
		if ((any && e->uid <= last) || !pvc_in_folder(f, e->uid))
			continue;
		r = pvc_put(&b, e);
		last = e->uid;
		any = true;
	}
	struct file_replace_opts o = {.mode = 0600, .no_fsync = true};
	if (r == 0)
		r = file_replace(pc->path, b.p, b.len, &o);
	else
		errno = EFBIG;
	buf_deinit(&b);
	if (r < 0)
		return -1;
	pvc_pending_clear(pc);
	pvc_map(pc);
	return 0;
}
