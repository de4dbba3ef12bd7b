/*
 * youju.index, the per-folder FETCH/SEARCH cache; see maildir_index.h for
 * the file layout.  The file is mapped read-only: sessions on the same
 * folder share its pages, and a 50,000-message folder costs the process
 * little more than the directory it binary-searches.  Entries parsed
 * since the file was opened wait in memory ("pending"), each one already
 * in record form, until maildir_index_save() writes a new file.
 *
 * Integers are written little-endian byte by byte, so the file does not
 * depend on the host and nothing is read through a misaligned pointer.
 */
#include "maildir_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "maildir.h"
#include "uidsearch.h"
#include "xalloc.h"

#define MIDX_MAGIC   "youjuidx"
#define MIDX_HDR_LEN 32
#define MIDX_DIR_LEN 16
/* checksum u32, uid u32, size u64, vsize u64, sent_day i32 */
#define MIDX_REC_FIXED 28
#define MIDX_NSTR      (1 + MIDX_NFIELDS)

static const char *const midx_headers[MIDX_NFIELDS] = {
    [MIDX_FROM] = "From",
    [MIDX_TO] = "To",
    [MIDX_CC] = "Cc",
    [MIDX_BCC] = "Bcc",
    [MIDX_SUBJECT] = "Subject",
    [MIDX_MESSAGE_ID] = "Message-ID",
    [MIDX_REPLY_TO] = "Reply-To",
    [MIDX_SENDER] = "Sender",
    [MIDX_IN_REPLY_TO] = "In-Reply-To",
};

const char *maildir_index_field_header(enum maildir_index_field f)
{
	return (unsigned)f < MIDX_NFIELDS ? midx_headers[f] : NULL;
}

int maildir_index_header_field(const char *name)
{
	for (int i = 0; i < MIDX_NFIELDS; i++)
		if (midx_headers[i] != NULL &&
		    strcasecmp(midx_headers[i], name) == 0)
			return i;
	return -1;
}

/* one entry parsed since the file was opened, as a whole record */
struct midx_pend {
	uint32_t uid;
	uint32_t len;
	unsigned char *rec; /* owned */
};

/* a mapped youju.index */
struct midx_map {
	const unsigned char *p; /* NULL: none */
	size_t len;
	size_t count;
	uint32_t version; /* of the file: its records' layout */
	dev_t dev;
	ino_t ino;
};

struct maildir_index {
	char *folder;
	uint32_t uidvalidity;
	struct midx_map map;
	struct midx_pend *pend; /* ascending uid */
	size_t npend, cap;
};

/* ---- bytes --------------------------------------------------------------- */

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/*
 * The checksum of header, directory and records: enough to notice a torn
 * or garbled file, not a defence against forgery (the folder's owner can
 * write the file anyway).  Eight little-endian bytes per multiply: every
 * cached FETCH item checks one record, and FNV-1a's byte at a time was
 * the first cost of bench/mra's FETCH ENVELOPE (version 1 files used it;
 * they are rebuilt).
 */
static uint32_t midx_sum(uint32_t h0, const unsigned char *p, size_t len)
{
	const uint64_t k = 0x100000001b3ull;
	uint64_t h = h0 ^ 0x9e3779b97f4a7c15ull ^ (uint64_t)len << 32;
	for (; len >= 8; p += 8, len -= 8) {
		h = (h ^ get64(p)) * k;
		h ^= h >> 29;
	}
	for (; len > 0; p++, len--)
		h = (h ^ *p) * k;
	h ^= h >> 32;
	return (uint32_t)(h * 0x9e3779b97f4a7c15ull >> 32);
}

#define SUM_INIT 2166136261u

/* ---- records ------------------------------------------------------------- */

/* Strings in a record of file version v (the base name and fields). */
static size_t midx_nstr(uint32_t v)
{
	return v == 3 ? MIDX_NSTR - 1 : MIDX_NSTR;
}

/* Decodes and checks one record of file version v; false when it is
   malformed.  Fields v does not have are empty. */
static bool midx_decode(const unsigned char *p, size_t len, uint32_t v,
			struct maildir_index_entry *e)
{
	if (len < MIDX_REC_FIXED || len > MAILDIR_INDEX_RECORD_MAX ||
	    midx_sum(SUM_INIT, p + 4, len - 4) != get32(p))
		return false;
	e->uid = get32(p + 4);
	e->size = get64(p + 8);
	e->vsize = get64(p + 16);
	e->sent_day = (int32_t)get32(p + 24);
	size_t off = MIDX_REC_FIXED, nstr = midx_nstr(v);
	for (size_t i = nstr; i < MIDX_NSTR; i++)
		e->field[i - 1] = (struct str){"", 0};
	for (size_t i = 0; i < nstr; i++) {
		if (len - off < 4)
			return false;
		uint32_t l = get32(p + off);
		off += 4;
		if (l > len - off)
			return false;
		struct str s = {(const char *)p + off, l};
		if (i == 0)
			e->base = s;
		else
			e->field[i - 1] = s;
		off += l;
	}
	return off == len;
}

static size_t midx_encoded_len(const struct maildir_index_entry *e)
{
	size_t n = MIDX_REC_FIXED + 4 * MIDX_NSTR + e->base.len;
	for (size_t i = 0; i < MIDX_NFIELDS; i++)
		n += e->field[i].len;
	return n;
}

static unsigned char *midx_encode(const struct maildir_index_entry *e,
				  size_t len)
{
	unsigned char *p = xmalloc(len);
	put32(p + 4, e->uid);
	put64(p + 8, e->size);
	put64(p + 16, e->vsize);
	put32(p + 24, (uint32_t)e->sent_day);
	size_t off = MIDX_REC_FIXED;
	for (size_t i = 0; i < MIDX_NSTR; i++) {
		struct str s = i == 0 ? e->base : e->field[i - 1];
		put32(p + off, (uint32_t)s.len);
		off += 4;
		if (s.len > 0)
			memcpy(p + off, s.p, s.len);
		off += s.len;
	}
	put32(p, midx_sum(SUM_INIT, p + 4, len - 4));
	return p;
}

static long midx_check(const unsigned char *b, size_t len,
		       uint32_t uidvalidity);

/* ---- the mapped file ----------------------------------------------------- */

static void midx_unmap(struct midx_map *m)
{
	if (m->p != NULL)
		(void)munmap((void *)m->p, m->len);
	memset(m, 0, sizeof *m);
}

/*
 * Maps and checks folder/youju.index.  Returns 1 loaded, 0 missing, -1
 * unusable (m is then empty).
 */
static int midx_map(const char *folder, uint32_t uidvalidity,
		    struct midx_map *m)
{
	memset(m, 0, sizeof *m);
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/" MAILDIR_INDEX_FILE, folder);
	if (n < 0 || (size_t)n >= sizeof path)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < MIDX_HDR_LEN ||
	    (uint64_t)st.st_size > MAILDIR_INDEX_FILE_MAX) {
		close(fd);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	long count = midx_check(p, len, uidvalidity);
	if (count < 0) {
		(void)munmap(p, len);
		return -1;
	}
	m->p = p;
	m->len = len;
	m->count = (size_t)count;
	m->version = get32((const unsigned char *)p + 8);
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	return 1;
}

/* Checks header and directory of a file image; its count, or -1. */
static long midx_check(const unsigned char *b, size_t len, uint32_t uidvalidity)
{
	if (len < MIDX_HDR_LEN)
		return -1;
	uint32_t count = get32(b + 16);
	bool ok = memcmp(b, MIDX_MAGIC, 8) == 0 &&
		  get32(b + 8) >= MAILDIR_INDEX_VERSION_OLDEST &&
		  get32(b + 8) <= MAILDIR_INDEX_VERSION &&
		  get32(b + 12) == uidvalidity && count <= MAILDIR_MSGS_MAX &&
		  (uint64_t)count * MIDX_DIR_LEN <= len - MIDX_HDR_LEN;
	if (ok) {
		unsigned char hdr[MIDX_HDR_LEN];
		memcpy(hdr, b, sizeof hdr);
		put32(hdr + 20, 0);
		uint32_t h = midx_sum(SUM_INIT, hdr, sizeof hdr);
		h = midx_sum(h, b + MIDX_HDR_LEN, (size_t)count * MIDX_DIR_LEN);
		ok = h == get32(b + 20);
	}
	/* the directory must ascend and point inside the file; records
	   themselves are checked when read */
	uint32_t last = 0;
	for (size_t i = 0; ok && i < count; i++) {
		const unsigned char *d = b + MIDX_HDR_LEN + i * MIDX_DIR_LEN;
		uint32_t uid = get32(d), rl = get32(d + 4);
		uint64_t off = get64(d + 8);
		ok = uid > last && off <= len && rl <= len - off;
		last = uid;
	}
	return ok ? (long)count : -1;
}

long maildir_index_verify(const void *data, size_t len, uint32_t uidvalidity)
{
	long count = midx_check(data, len, uidvalidity);
	long good = 0;
	for (long i = 0; i < count; i++) {
		const unsigned char *d = (const unsigned char *)data +
					 MIDX_HDR_LEN + i * MIDX_DIR_LEN;
		struct maildir_index_entry e;
		if (midx_decode((const unsigned char *)data + get64(d + 8),
				get32(d + 4),
				get32((const unsigned char *)data + 8), &e) &&
		    e.uid == get32(d))
			good++;
	}
	return count < 0 ? -1 : good;
}

/* The record of uid in m, or NULL. */
static const unsigned char *midx_map_find(const struct midx_map *m,
					  uint32_t uid, size_t *len_r)
{
	size_t lo = 0, hi = m->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const unsigned char *d =
		    m->p + MIDX_HDR_LEN + mid * MIDX_DIR_LEN;
		uint32_t u = get32(d);
		if (u == uid) {
			*len_r = get32(d + 4);
			return m->p + get64(d + 8);
		}
		if (u < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- the index ----------------------------------------------------------- */

struct maildir_index *maildir_index_open(const char *folder,
					 uint32_t uidvalidity, int *status_r)
{
	struct maildir_index *ix = xcalloc(1, sizeof *ix);
	ix->folder = xstrdup(folder);
	ix->uidvalidity = uidvalidity;
	int r = midx_map(folder, uidvalidity, &ix->map);
	if (status_r != NULL)
		*status_r = r;
	return ix;
}

static void midx_pend_clear(struct maildir_index *ix)
{
	for (size_t i = 0; i < ix->npend; i++)
		free(ix->pend[i].rec);
	free(ix->pend);
	ix->pend = NULL;
	ix->npend = ix->cap = 0;
}

void maildir_index_drop_pending(struct maildir_index *ix)
{
	midx_pend_clear(ix);
}

void maildir_index_free(struct maildir_index **ixp)
{
	struct maildir_index *ix = *ixp;
	if (ix == NULL)
		return;
	midx_unmap(&ix->map);
	midx_pend_clear(ix);
	free(ix->folder);
	free(ix);
	*ixp = NULL;
}

size_t maildir_index_count(const struct maildir_index *ix)
{
	return ix->map.count;
}

size_t maildir_index_pending(const struct maildir_index *ix)
{
	return ix->npend;
}

/* Position of uid in pend (or where it would go); *found_r. */
static size_t midx_pend_pos(const struct maildir_index *ix, uint32_t uid,
			    bool *found_r)
{
	size_t n = ix->npend, k = n;
	/* FETCH and SEARCH go up the UIDs: try the end first */
	if (n == 0 || ix->pend[n - 1].uid >= uid)
		k = uidsearch_lower_bound(ix->pend, n, sizeof *ix->pend,
					  offsetof(struct midx_pend, uid), uid);
	*found_r = k < n && ix->pend[k].uid == uid;
	return k;
}

/* The newest record of uid (pending first, then the file), or NULL;
 *ver_r the layout version of the record. */
static const unsigned char *midx_find(const struct maildir_index *ix,
				      uint32_t uid, size_t *len_r,
				      uint32_t *ver_r)
{
	bool found;
	size_t i = midx_pend_pos(ix, uid, &found);
	*ver_r = MAILDIR_INDEX_VERSION;
	if (found) {
		*len_r = ix->pend[i].len;
		return ix->pend[i].rec;
	}
	*ver_r = ix->map.version;
	return ix->map.p ? midx_map_find(&ix->map, uid, len_r) : NULL;
}

static bool midx_valid(const unsigned char *rec, size_t len, uint32_t ver,
		       uint32_t uid, struct str base, uint64_t size,
		       struct maildir_index_entry *e)
{
	return rec != NULL && midx_decode(rec, len, ver, e) && e->uid == uid &&
	       e->size == size && e->base.len == base.len &&
	       memcmp(e->base.p, base.p, base.len) == 0;
}

bool maildir_index_get(const struct maildir_index *ix, uint32_t uid,
		       struct str base, uint64_t size,
		       struct maildir_index_entry *e_r)
{
	size_t len = 0;
	uint32_t ver;
	const unsigned char *rec = midx_find(ix, uid, &len, &ver);
	return midx_valid(rec, len, ver, uid, base, size, e_r);
}

int maildir_index_put(struct maildir_index *ix,
		      const struct maildir_index_entry *e)
{
	size_t len = midx_encoded_len(e);
	if (len > MAILDIR_INDEX_RECORD_MAX || e->uid == 0) {
		errno = EFBIG;
		return -1;
	}
	unsigned char *rec = midx_encode(e, len);
	bool found;
	size_t i = midx_pend_pos(ix, e->uid, &found);
	if (found) {
		free(ix->pend[i].rec);
	} else {
		if (ix->npend == ix->cap) {
			ix->cap = ix->cap ? ix->cap * 2 : 64;
			ix->pend =
			    xrealloc(ix->pend, ix->cap * sizeof *ix->pend);
		}
		memmove(ix->pend + i + 1, ix->pend + i,
			(ix->npend - i) * sizeof *ix->pend);
		ix->npend++;
	}
	ix->pend[i] = (struct midx_pend){e->uid, (uint32_t)len, rec};
	return 0;
}

/* ---- saving -------------------------------------------------------------- */

struct midx_out {
	uint32_t uid;
	uint32_t len;
	const unsigned char *rec;
	bool owned; /* rec re-encoded from an older version: free() it */
};

/* Writes the file from outs[0..n) to fd (header, directory, records). */
static int midx_write(int fd, uint32_t uidvalidity, const struct midx_out *outs,
		      size_t n)
{
	size_t dirlen = n * MIDX_DIR_LEN;
	unsigned char *head = xmalloc(MIDX_HDR_LEN + dirlen);
	memset(head, 0, MIDX_HDR_LEN);
	memcpy(head, MIDX_MAGIC, 8);
	put32(head + 8, MAILDIR_INDEX_VERSION);
	put32(head + 12, uidvalidity);
	put32(head + 16, (uint32_t)n);
	uint64_t off = MIDX_HDR_LEN + dirlen;
	for (size_t i = 0; i < n; i++) {
		unsigned char *d = head + MIDX_HDR_LEN + i * MIDX_DIR_LEN;
		put32(d, outs[i].uid);
		put32(d + 4, outs[i].len);
		put64(d + 8, off);
		off += outs[i].len;
	}
	put32(head + 20, midx_sum(midx_sum(SUM_INIT, head, MIDX_HDR_LEN),
				  head + MIDX_HDR_LEN, dirlen));
	int rc = file_write_all(fd, head, MIDX_HDR_LEN + dirlen);
	free(head);
	/* records through a 256 KiB buffer: one write per many records */
	enum { CHUNK = 256 * 1024 };
	unsigned char *buf = xmalloc(CHUNK);
	size_t used = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (used + outs[i].len > CHUNK && used > 0) {
			rc = file_write_all(fd, buf, used);
			used = 0;
		}
		if (outs[i].len > CHUNK) {
			if (rc == 0)
				rc = file_write_all(fd, outs[i].rec,
						    outs[i].len);
			continue;
		}
		memcpy(buf + used, outs[i].rec, outs[i].len);
		used += outs[i].len;
	}
	if (rc == 0 && used > 0)
		rc = file_write_all(fd, buf, used);
	free(buf);
	return rc;
}

int maildir_index_save(struct maildir_index *ix, const struct maildir_folder *f,
		       int lock_ms)
{
	if (maildir_dotlock(ix->folder, MAILDIR_INDEX_FILE ".lock", lock_ms) <
	    0)
		return -1;
	/* UIDVALIDITY changed: nothing we hold is valid any more */
	if (f->uidvalidity != ix->uidvalidity) {
		midx_unmap(&ix->map);
		midx_pend_clear(ix);
		ix->uidvalidity = f->uidvalidity;
	}
	/* another session saved since we mapped: take its entries too */
	struct midx_map other;
	memset(&other, 0, sizeof other);
	char path[4096];
	int n1 =
	    snprintf(path, sizeof path, "%s/" MAILDIR_INDEX_FILE, ix->folder);
	if (n1 < 0 || (size_t)n1 >= sizeof path) {
		maildir_dotunlock(ix->folder, MAILDIR_INDEX_FILE ".lock");
		errno = ENAMETOOLONG;
		return -1;
	}
	struct stat st;
	if (stat(path, &st) == 0 &&
	    (ix->map.p == NULL || st.st_ino != ix->map.ino ||
	     st.st_dev != ix->map.dev))
		(void)midx_map(ix->folder, ix->uidvalidity, &other);

	struct midx_out *outs = xcalloc(f->n ? f->n : 1, sizeof *outs);
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct maildir_msg *m = &f->msgs[i];
		struct str base = str_from_cstr(m->base);
		struct maildir_index_entry e, oe;
		size_t len = 0, olen = 0;
		uint32_t ver;
		const unsigned char *rec = midx_find(ix, m->uid, &len, &ver);
		bool ok = midx_valid(rec, len, ver, m->uid, base, m->size, &e);
		/* the other file's entry when ours is missing or has no
		   sort keys and its has */
		const unsigned char *orec =
		    other.p != NULL && (!ok || e.field[MIDX_SORTKEYS].len == 0)
			? midx_map_find(&other, m->uid, &olen)
			: NULL;
		if (orec != NULL &&
		    midx_valid(orec, olen, other.version, m->uid, base, m->size,
			       &oe) &&
		    (!ok || oe.field[MIDX_SORTKEYS].len > 0)) {
			rec = orec;
			len = olen;
			ver = other.version;
			e = oe;
			ok = true;
		}
		if (!ok)
			continue;
		bool owned = ver != MAILDIR_INDEX_VERSION;
		if (owned) {
			len = midx_encoded_len(&e);
			if (len > MAILDIR_INDEX_RECORD_MAX)
				continue;
			rec = midx_encode(&e, len);
		}
		outs[n++] =
		    (struct midx_out){m->uid, (uint32_t)len, rec, owned};
	}
	/* no fsync: after a crash a torn file fails its checksums and is
	   rebuilt, which is cheaper than syncing 50 MB */
	struct file_replace_opts o = {.no_fsync = true};
	struct file_tmp t;
	int rc = file_replace_open(&t, path, &o);
	if (rc == 0) {
		if (midx_write(t.fd, ix->uidvalidity, outs, n) < 0) {
			file_replace_abort(&t);
			rc = -1;
		} else {
			rc = file_replace_commit(&t);
		}
	}
	int e = errno;
	for (size_t i = 0; i < n; i++)
		if (outs[i].owned)
			free((void *)outs[i].rec);
	free(outs);
	midx_unmap(&other);
	if (rc == 0) {
		midx_unmap(&ix->map);
		midx_pend_clear(ix);
		(void)midx_map(ix->folder, ix->uidvalidity, &ix->map);
	}
	maildir_dotunlock(ix->folder, MAILDIR_INDEX_FILE ".lock");
	errno = e;
	return rc;
}

/* ---- segments ------------------------------------------------------------ */

int maildir_index_seg_add(struct buf *out, const char *p, size_t len)
{
	unsigned char l[4];
	if (len > UINT32_MAX)
		return -1;
	put32(l, (uint32_t)len);
	if (buf_append(out, l, 4) < 0 || buf_append(out, p, len) < 0)
		return -1;
	return 0;
}

bool maildir_index_seg_next(struct str *field, struct str *seg_r)
{
	if (field->len < 4)
		return false;
	uint32_t l = get32((const unsigned char *)field->p);
	if (l > field->len - 4)
		return false;
	seg_r->p = field->p + 4;
	seg_r->len = l;
	field->p += 4 + l;
	field->len -= 4 + l;
	return true;
}
