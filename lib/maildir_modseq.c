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

void maildir_modseq_file_deinit(struct maildir_modseq_file *mf)
{
	free(mf->recs);
	memset(mf, 0, sizeof *mf);
}

void maildir_modseq_deinit(struct maildir_modseq *ms)
{
	free(ms->v);
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

int maildir_modseq_parse(const char *data, size_t len,
			 struct maildir_modseq_file *mf)
{
	memset(mf, 0, sizeof *mf);
	static const char magic[] = "youju-modseq 1 ";
	const char *p = data, *end = data + len;
	uint64_t v, h;
	if (len < sizeof magic - 1 || memcmp(p, magic, sizeof magic - 1) != 0)
		return -1;
	p += sizeof magic - 1;
	if (modseq_num(&p, end, UINT32_MAX, &v) < 0 || v == 0 ||
	    modseq_char(&p, end, ' ') < 0 ||
	    modseq_num(&p, end, INT64_MAX, &h) < 0 ||
	    modseq_char(&p, end, '\n') < 0)
		return -1;
	mf->uidvalidity = (uint32_t)v;
	mf->highest = h;
	size_t cap = 0;
	while (p < end) {
		struct maildir_modseq_rec r;
		uint64_t uid, ms;
		memset(&r, 0, sizeof r);
		if (modseq_num(&p, end, UINT32_MAX, &uid) < 0 || uid == 0 ||
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

static int modseq_write(const char *path, uint32_t uidvalidity,
			uint64_t highest, const struct maildir_folder *f,
			const uint64_t *v)
{
	struct buf b;
	buf_init(&b, MODSEQ_FILE_MAX);
	int r =
	    buf_printf(&b, "youju-modseq 1 %lu %llu\n",
		       (unsigned long)uidvalidity, (unsigned long long)highest);
	for (size_t i = 0; r == 0 && i < f->n; i++)
		r = buf_printf(&b, "%lu %llu %.39s\n",
			       (unsigned long)f->msgs[i].uid,
			       (unsigned long long)v[i], f->msgs[i].letters);
	if (r == 0)
		r = file_replace(path, b.p ? b.p : "", b.len, NULL);
	else
		errno = EFBIG;
	buf_deinit(&b);
	return r;
}

int maildir_modseq_sync(const struct maildir_folder *f, int lock_ms,
			struct maildir_modseq *ms)
{
	memset(ms, 0, sizeof *ms);
	char path[4096];
	int k = snprintf(path, sizeof path, "%s/" MAILDIR_MODSEQ_FILE, f->path);
	if (k < 0 || (size_t)k >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (maildir_uidlist_lock(f->path, lock_ms) < 0)
		return -1;
	char *data = NULL;
	size_t len = 0;
	struct maildir_modseq_file mf;
	memset(&mf, 0, sizeof mf);
	int rr = file_read(path, MODSEQ_FILE_MAX, 0, &data, &len, NULL);
	bool fresh = rr <= 0 || maildir_modseq_parse(data, len, &mf) < 0 ||
		     mf.uidvalidity != f->uidvalidity;
	free(data);
	/* microseconds since 1970: above anything a file started earlier
	   gave out, at fewer than one change a microsecond on average */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t start =
	    (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	uint64_t highest = mf.highest;
	if (fresh) {
		/* never below what an older file may have given out */
		if (highest < start)
			highest = start;
		maildir_modseq_file_deinit(&mf);
	}
	bool changed = fresh;
	ms->v = xcalloc(f->n ? f->n : 1, sizeof *ms->v);
	ms->n = f->n;
	size_t j = 0;
	bool gone = false;
	for (size_t i = 0; i < f->n; i++) {
		const struct maildir_msg *m = &f->msgs[i];
		while (j < mf.n && mf.recs[j].uid < m->uid) {
			gone = true;
			j++;
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
	}
	if (j < mf.n || gone) {
		highest++; /* expunges move it too (RFC 7162 §3.1.2.1) */
		changed = true;
	}
	ms->highest = highest;
	int r = 0;
	if (changed &&
	    modseq_write(path, f->uidvalidity, highest, f, ms->v) < 0)
		r = -1;
	int e = errno;
	maildir_uidlist_unlock(f->path);
	maildir_modseq_file_deinit(&mf);
	if (r < 0) {
		maildir_modseq_deinit(ms);
		errno = e;
	}
	return r;
}
