/*
 * The mailbox layer (see mailbox.h, docs/mailbox.md).  It holds the
 * rules that used to live in the IMAP and POP3 session code: quota on
 * every way mail comes in or goes away, keyword letters remapped per
 * folder, UIDs assigned under dovecot-uidlist.lock so that COPY and
 * APPEND can answer COPYUID/APPENDUID, copies by hard link as Dovecot's
 * maildir-copy.c, and flag changes applied to the file's current name.
 */
#include "mailbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "xalloc.h"

/* How long a writer waits for dovecot-uidlist.lock (maildir_folder_open
   waits as long). */
#define MAILBOX_LOCK_MS 5000

int mailbox_user_init(struct mailbox_user *u, const char *root,
		      const char *quota_def)
{
	u->root = root;
	if (maildir_quota_rule_make(quota_def, 0, false, &u->quota) < 0) {
		memset(&u->quota, 0, sizeof u->quota);
		return -1;
	}
	return 0;
}

static int mailbox_path(char *out, size_t outsz, const char *a, const char *b,
			const char *c)
{
	int n = snprintf(out, outsz, "%s/%s/%s", a, b, c);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Takes folder's uidlist lock with the uidlist read into ul; a missing
 * uidlist is first created the one way a folder gets it
 * (maildir_folder_open).  Returns 0 locked, or -1 with errno unlocked.
 */
static int mailbox_uidlist_begin(const char *folder, struct maildir_uidlist *ul)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (maildir_uidlist_lock(folder, MAILBOX_LOCK_MS) < 0)
			return -1;
		int r = maildir_uidlist_read(folder, ul);
		if (r > 0)
			return 0;
		int e = errno;
		maildir_uidlist_deinit(ul);
		maildir_uidlist_unlock(folder);
		if (r < 0) {
			errno = e;
			return -1;
		}
		const char *err;
		struct maildir_folder *f =
		    maildir_folder_open(folder, false, &err);
		if (f == NULL)
			return -1;
		maildir_folder_free(&f);
	}
	errno = EAGAIN;
	return -1;
}

/* The UID of the record for base, or 0.  Searched from the end, where a
   message just stored is. */
static uint32_t mailbox_uidlist_find(const struct maildir_uidlist *ul,
				     const char *base)
{
	for (size_t i = ul->n; i-- > 0;)
		if (strcmp(ul->recs[i].base, base) == 0)
			return ul->recs[i].uid;
	return 0;
}

/* ---- append -------------------------------------------------------------- */

static int mailbox_append_letters(const char *folder,
				  const struct mailbox_append *a, char *out,
				  size_t outsz, const char **error_r);

int mailbox_append(const struct mailbox_user *u, const char *folder,
		   const struct mailbox_append *a, uint32_t *uidvalidity_r,
		   uint32_t *uid_r, const char **error_r)
{
	char letters[64], base[MAILDIR_FILENAME_MAX + 1];

	int over = maildir_quota_check(u->root, &u->quota, a->len, 1, 0, NULL);
	if (over != 0) {
		*error_r = "quota";
		if (over > 0)
			errno = EDQUOT;
		return -1;
	}
	if (mailbox_append_letters(folder, a, letters, sizeof letters,
				   error_r) < 0)
		return -1;
	if (maildir_store(folder, a->data, a->len, false, letters, a->when,
			  base, error_r) < 0)
		return -1;
	/* the message is stored: a lost delta is repaired by the next
	   recalculation (maildir.md §4) */
	(void)maildir_quota_add(u->root, (int64_t)a->len, 1);
	/* number it now, for APPENDUID; a session that scanned the folder
	   since the store may have numbered it already */
	struct maildir_uidlist ul;
	if (mailbox_uidlist_begin(folder, &ul) < 0) {
		if (uid_r != NULL)
			*uid_r = 0;
		return 0; /* stored; the next scan numbers it */
	}
	uint32_t uid = mailbox_uidlist_find(&ul, base);
	int r = 0;
	if (uid == 0) {
		uid = ul.next_uid;
		maildir_uidlist_add(&ul, uid, base, strlen(base));
		r = maildir_uidlist_write(folder, &ul);
	}
	if (uidvalidity_r != NULL)
		*uidvalidity_r = ul.uidvalidity;
	if (uid_r != NULL)
		*uid_r = r == 0 ? uid : 0;
	maildir_uidlist_deinit(&ul);
	maildir_uidlist_unlock(folder);
	return 0;
}

/* The info letters of message a in folder: flags and keyword letters
   (names given letters in dovecot-keywords when new).  0 or -1. */
static int mailbox_append_letters(const char *folder,
				  const struct mailbox_append *a, char *out,
				  size_t outsz, const char **error_r)
{
	uint32_t bits = 0;
	if (a->nkw > 0) {
		struct maildir_keywords kw;
		maildir_keywords_init(&kw);
		int r = maildir_keywords_assign(folder, a->kw, a->nkw, &kw);
		int e = errno;
		for (size_t i = 0; r == 0 && i < a->nkw; i++) {
			int k = maildir_keywords_find(&kw, a->kw[i]);
			if (k >= 0)
				bits |= 1u << k;
		}
		maildir_keywords_deinit(&kw);
		if (r < 0) {
			*error_r = "keywords";
			errno = e;
			return -1;
		}
	}
	if (maildir_info_build((struct str){"", 0}, a->flags, bits, out,
			       outsz) < 0) {
		*error_r = "flags";
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int mailbox_append_many(const struct mailbox_user *u, const char *folder,
			const struct mailbox_append *a, size_t n,
			uint32_t *uidvalidity_r, uint32_t *uids_r,
			const char **error_r)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += a[i].len;
	int over = maildir_quota_check(u->root, &u->quota, total, n, 0, NULL);
	if (over != 0) {
		*error_r = "quota";
		if (over > 0)
			errno = EDQUOT;
		return -1;
	}
	/* a folder without dovecot-uidlist gets it first, so that the
	   first scan does not number these in directory order */
	struct maildir_uidlist ul;
	if (mailbox_uidlist_begin(folder, &ul) == 0) {
		maildir_uidlist_deinit(&ul);
		maildir_uidlist_unlock(folder);
	}
	char(*name)[MAILDIR_FILENAME_MAX + 68] =
	    xcalloc(n ? n : 1, sizeof *name);
	char(*base)[MAILDIR_FILENAME_MAX + 1] =
	    xcalloc(n ? n : 1, sizeof *base);
	size_t done = 0;
	int e = 0;
	for (; done < n; done++) {
		char letters[64];
		if (mailbox_append_letters(folder, &a[done], letters,
					   sizeof letters, error_r) < 0 ||
		    maildir_store(folder, a[done].data, a[done].len, false,
				  letters, a[done].when, base[done],
				  error_r) < 0) {
			e = errno;
			break;
		}
		snprintf(name[done], sizeof name[done], "%s:2,%s", base[done],
			 letters);
	}
	if (done < n) {
		/* all or nothing (RFC 3502 §6.3.11): the ones stored go */
		for (size_t i = 0; i < done; i++) {
			char p[PATH_MAX];
			int k =
			    snprintf(p, sizeof p, "%s/cur/%s", folder, name[i]);
			if (k > 0 && (size_t)k < sizeof p)
				(void)unlink(p);
		}
		free(name);
		free(base);
		errno = e;
		return -1;
	}
	(void)maildir_quota_add(u->root, (int64_t)total, (int64_t)n);
	/* number them at once, in order, for APPENDUID */
	memset(uids_r, 0, n * sizeof *uids_r);
	if (mailbox_uidlist_begin(folder, &ul) == 0) {
		bool added = false;
		for (size_t i = 0; i < n; i++) {
			uids_r[i] = mailbox_uidlist_find(&ul, base[i]);
			if (uids_r[i] == 0) {
				uids_r[i] = ul.next_uid;
				maildir_uidlist_add(&ul, uids_r[i], base[i],
						    strlen(base[i]));
				added = true;
			}
		}
		if (added && maildir_uidlist_write(folder, &ul) < 0)
			memset(uids_r, 0, n * sizeof *uids_r);
		if (uidvalidity_r != NULL)
			*uidvalidity_r = ul.uidvalidity;
		maildir_uidlist_deinit(&ul);
		maildir_uidlist_unlock(folder);
	}
	free(name);
	free(base);
	return 0;
}

int mailbox_deliver(const struct mailbox_user *u, const char *folder,
		    const char *data, size_t len, const char **error_r)
{
	int over = maildir_quota_check(u->root, &u->quota, len, 1, 0, NULL);
	if (over != 0) {
		*error_r = "quota";
		if (over > 0)
			errno = EDQUOT;
		return -1;
	}
	if (maildir_store(folder, data, len, true, NULL, 0, NULL, error_r) < 0)
		return -1;
	/* stored: a lost delta is repaired by the next recalculation */
	(void)maildir_quota_add(u->root, (int64_t)len, 1);
	return 0;
}

int mailbox_deliver_begin(const struct mailbox_user *u, int rootfd,
			  const char *folder, const char *data, size_t len,
			  struct maildir_pending *p, int *qfd,
			  const char **error_r)
{
	int over =
	    qfd != NULL
		? maildir_quota_check_keep(u->root, rootfd, &u->quota, len, 1,
					   qfd)
		: maildir_quota_check(u->root, &u->quota, len, 1, 0, NULL);
	if (over != 0) {
		*error_r = "quota";
		if (over > 0)
			errno = EDQUOT;
		return -1;
	}
	if (maildir_store_tmp(rootfd, folder, data, len, p, error_r) < 0) {
		int e = errno;
		if (qfd != NULL && *qfd >= 0)
			close(*qfd);
		if (qfd != NULL)
			*qfd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

int mailbox_deliver_end(const struct mailbox_user *u,
			const struct maildir_pending *p, int *qfd,
			const char **error_r)
{
	if (maildir_pending_link(p, error_r) < 0) {
		int e = errno;
		if (*qfd >= 0)
			close(*qfd);
		*qfd = -1;
		errno = e;
		return -1;
	}
	/* stored: a lost delta is repaired by the next recalculation */
	(void)maildir_quota_add_fd(u->root, p->dirfd, qfd, (int64_t)p->size, 1);
	return 0;
}

void mailbox_deliver_abort(const struct maildir_pending *p, int *qfd)
{
	if (p != NULL)
		maildir_pending_drop(p);
	if (*qfd >= 0)
		close(*qfd);
	*qfd = -1;
}

void mailbox_copy_result_free(struct mailbox_copy_result *r)
{
	free(r->src_uids);
	free(r->dst_uids);
	memset(r, 0, sizeof *r);
}

/*
 * The info letters of a copy in folder dst: keyword letters are per
 * folder, so each keyword is looked up by name in dst's dovecot-keywords
 * (dkw, kept up to date) and given a letter there if it has none.  A
 * keyword that finds no free letter is dropped.  0 or -1.
 */
static int mailbox_copy_letters(const char *dst, struct maildir_keywords *dkw,
				const struct maildir_keywords *skw,
				const char *letters, char *out, size_t outsz)
{
	struct str l = str_from_cstr(letters);
	uint32_t bits = maildir_keyword_bits(l), nb = 0;
	struct str names[MAILDIR_KEYWORDS_MAX];
	size_t n = 0;
	bool missing = false;
	for (size_t k = 0; k < MAILDIR_KEYWORDS_MAX; k++) {
		if (!(bits & (1u << k)) || skw->name[k] == NULL)
			continue;
		names[n] = str_from_cstr(skw->name[k]);
		missing |= maildir_keywords_find(dkw, names[n]) < 0;
		n++;
	}
	if (missing && maildir_keywords_assign(dst, names, n, dkw) < 0 &&
	    errno != ENOSPC)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int k = maildir_keywords_find(dkw, names[i]);
		if (k >= 0)
			nb |= 1u << k;
	}
	/* keyword letters of the source mean nothing in dst: only nb */
	return maildir_info_build(l, maildir_flags_parse(l), nb, out, outsz);
}

int mailbox_fd_vsize(int fd, uint64_t *vsize_r)
{
	char b[65536];
	uint64_t n = 0;
	bool cr = false; /* the last piece ended in CR */
	off_t off = 0;
	for (;;) {
		ssize_t r = file_pread_all(fd, b, sizeof b, off);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += maildir_crlf_size(b, (size_t)r);
		if (cr && b[0] == '\n')
			n--; /* a CR LF split between two pieces */
		cr = b[r - 1] == '\r';
		off += r;
	}
	*vsize_r = n;
	return 0;
}

/* Copies the bytes of fd into tmp (created), fsync'd, with mtime. */
static int mailbox_copy_bytes(int fd, const char *tmp, time_t mtime)
{
	char b[65536];
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return -1;
	off_t off = 0;
	int rc = 0;
	for (;;) {
		ssize_t r = file_pread_all(fd, b, sizeof b, off);
		if (r < 0 || (r > 0 && file_write_all(out, b, (size_t)r) < 0)) {
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		off += r;
	}
	if (rc == 0 && fsync(out) < 0)
		rc = -1;
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	if (rc == 0)
		(void)futimens(out, ts); /* INTERNALDATE is best effort */
	int e = errno;
	if (close(out) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0) {
		(void)unlink(tmp);
		errno = e;
	}
	return rc;
}

/*
 * Puts message m of src into dst/cur/<base>:2,<letters>: a hard link of
 * its current file (looked up again when another session renamed it), or
 * a copy of its bytes where links are not possible.  base_r gets the new
 * unique base (size MAILDIR_FILENAME_MAX + 1).  Returns 1 done, 0 the
 * message is gone (expunged meanwhile), -1 error with errno.
 */
static int mailbox_copy_one(struct maildir_folder *src, struct maildir_msg *m,
			    const char *dst, const char *letters, char *base_r)
{
	char from[PATH_MAX], to[PATH_MAX], name[PATH_MAX];
	uint64_t vsize = m->vsize;
	if (vsize == 0) {
		int fd = maildir_msg_open(src, m);
		if (fd < 0)
			return errno == ENOENT ? 0 : -1;
		int r = mailbox_fd_vsize(fd, &vsize);
		int e = errno;
		close(fd);
		if (r < 0) {
			errno = e;
			return -1;
		}
	}
	if (maildir_unique_name(base_r, MAILDIR_FILENAME_MAX + 1, m->size,
				vsize) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int n = snprintf(name, sizeof name, "%s:2,%s", base_r, letters);
	if (n < 0 || (size_t)n >= sizeof name ||
	    mailbox_path(to, sizeof to, dst, "cur", name) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (int attempt = 0; attempt < 8; attempt++) {
		if (maildir_msg_path(src, m, from, sizeof from) < 0)
			return -1;
		if (link(from, to) == 0)
			return 1;
		if (errno == ENOENT) {
			if (maildir_msg_locate(src, m) < 0)
				return errno == ENOENT ? 0 : -1;
			continue;
		}
		if (errno != EXDEV && errno != EPERM && errno != EMLINK)
			return -1;
		/* no hard links here: copy the bytes through dst/tmp */
		char tmp[PATH_MAX];
		if (mailbox_path(tmp, sizeof tmp, dst, "tmp", base_r) < 0)
			return -1;
		int fd = maildir_msg_open(src, m);
		if (fd < 0)
			return errno == ENOENT ? 0 : -1;
		int r = mailbox_copy_bytes(fd, tmp, maildir_msg_mtime(src, m));
		close(fd);
		if (r < 0)
			return -1;
		r = rename(tmp, to);
		if (r < 0) {
			int e = errno;
			(void)unlink(tmp);
			errno = e;
			return -1;
		}
		return 1;
	}
	errno = EBUSY;
	return -1;
}

/* fsync of dir/sub: the new names survive a crash. */
static void mailbox_sync_dir(const char *dir, const char *sub)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof p, "%s/%s", dir, sub);
	if (n < 0 || (size_t)n >= sizeof p)
		return;
	if (file_fsync_dir(p) < 0)
		return; /* best effort, as ever: the links are made */
}

int mailbox_copy(const struct mailbox_user *u, struct maildir_folder *src,
		 bool *sel, const char *dst, bool move,
		 struct mailbox_copy_result *r, const char **error_r)
{
	memset(r, 0, sizeof *r);
	size_t want = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < src->n; i++)
		if (sel[i]) {
			want++;
			bytes += src->msgs[i].size;
		}
	/* a MOVE within one Maildir leaves the usage as it is (Dovecot's
	   quota plugin: moving inside one quota root needs no room) */
	if (!move && want > 0) {
		int over = maildir_quota_check(u->root, &u->quota, bytes, want,
					       0, NULL);
		if (over != 0) {
			*error_r = "quota";
			if (over > 0)
				errno = EDQUOT;
			return -1;
		}
	}
	/* keyword letters first: assigning them takes dst's uidlist lock */
	char(*letters)[64] = xcalloc(want ? want : 1, sizeof *letters);
	struct maildir_keywords dkw;
	maildir_keywords_init(&dkw);
	if (maildir_keywords_read(dst, &dkw) < 0) {
		*error_r = "read dovecot-keywords";
		goto fail_early;
	}
	for (size_t i = 0, k = 0; i < src->n; i++) {
		if (!sel[i])
			continue;
		if (mailbox_copy_letters(dst, &dkw, &src->kw,
					 src->msgs[i].letters, letters[k],
					 sizeof letters[k]) < 0) {
			*error_r = "keywords";
			goto fail_early;
		}
		k++;
	}
	struct maildir_uidlist ul;
	if (mailbox_uidlist_begin(dst, &ul) < 0) {
		*error_r = "lock dovecot-uidlist";
		goto fail_early;
	}
	/* linked and numbered under the lock: no other session can number
	   these files first, so dst UIDs follow the source order */
	r->src_uids = xcalloc(want ? want : 1, sizeof *r->src_uids);
	r->dst_uids = xcalloc(want ? want : 1, sizeof *r->dst_uids);
	bool *copied = xcalloc(src->n ? src->n : 1, sizeof *copied);
	char(*names)[MAILDIR_FILENAME_MAX + 72] = NULL;
	names = xcalloc(want ? want : 1, sizeof *names);
	uint64_t cbytes = 0;
	int e = 0;
	for (size_t i = 0, k = 0; i < src->n; i++) {
		if (!sel[i])
			continue;
		struct maildir_msg *m = &src->msgs[i];
		char base[MAILDIR_FILENAME_MAX + 1];
		int c = mailbox_copy_one(src, m, dst, letters[k++], base);
		if (c < 0) {
			e = errno;
			*error_r = "link into folder";
			break;
		}
		if (c == 0)
			continue;
		(void)snprintf(names[r->n], sizeof names[r->n], "%s:2,%s", base,
			       letters[k - 1]);
		r->src_uids[r->n] = m->uid;
		r->dst_uids[r->n] = ul.next_uid;
		maildir_uidlist_add(&ul, ul.next_uid, base, strlen(base));
		r->n++;
		copied[i] = true;
		cbytes += m->size;
	}
	if (e == 0 && r->n > 0 && maildir_uidlist_write(dst, &ul) < 0) {
		e = errno;
		*error_r = "write dovecot-uidlist";
	}
	if (e != 0) {
		/* all or nothing, as Dovecot's transaction: take the new
		   links back before anyone numbered them */
		for (size_t j = 0; j < r->n; j++) {
			char p[PATH_MAX];
			if (mailbox_path(p, sizeof p, dst, "cur", names[j]) ==
			    0)
				(void)unlink(p);
		}
	}
	r->uidvalidity = ul.uidvalidity;
	maildir_uidlist_deinit(&ul);
	maildir_uidlist_unlock(dst);
	free(names);
	free(letters);
	maildir_keywords_deinit(&dkw);
	if (e != 0) {
		free(copied);
		mailbox_copy_result_free(r);
		errno = e;
		return -1;
	}
	mailbox_sync_dir(dst, "cur");
	if (!move) {
		if (r->n > 0)
			(void)maildir_quota_add(u->root, (int64_t)cbytes,
						(int64_t)r->n);
		free(copied);
		return 0;
	}
	/* MOVE: the copies are in place; now the originals go, with no
	   quota delta (the bytes stayed in the Maildir) */
	size_t w = 0;
	for (size_t i = 0, n = src->n; i < n; i++) {
		struct maildir_msg *m = &src->msgs[i];
		sel[i] = false;
		if (copied[i] && maildir_msg_unlink(src, m) >= 0) {
			sel[i] = true;
			free(m->base);
			free(m->letters);
			continue;
		}
		src->msgs[w++] = *m;
	}
	src->n = w;
	free(copied);
	return 0;

fail_early:;
	int e0 = errno;
	free(letters);
	maildir_keywords_deinit(&dkw);
	errno = e0;
	return -1;
}

/* ---- expunge ------------------------------------------------------------- */

int mailbox_expunge(const struct mailbox_user *u, struct maildir_folder *f,
		    bool *sel, size_t *removed_r)
{
	size_t w = 0, removed = 0, fail = 0;
	int64_t bytes = 0, count = 0;
	int e = 0;
	for (size_t i = 0, n = f->n; i < n; i++) {
		struct maildir_msg *m = &f->msgs[i];
		if (sel[i]) {
			int r = maildir_msg_unlink(f, m);
			if (r >= 0) {
				if (r > 0) {
					bytes += (int64_t)m->size;
					count++;
				}
				free(m->base);
				free(m->letters);
				removed++;
				continue;
			}
			e = errno;
			fail++;
			sel[i] = false;
		}
		f->msgs[w++] = *m;
	}
	f->n = w;
	if (count > 0)
		(void)maildir_quota_add(u->root, -bytes, -count);
	*removed_r = removed;
	if (fail > 0) {
		errno = e;
		return -1;
	}
	return 0;
}

/* ---- flags --------------------------------------------------------------- */

const struct mailbox_flag mailbox_flags[MAILBOX_NFLAGS] = {
    {"\\Answered", MAILDIR_REPLIED}, {"\\Flagged", MAILDIR_FLAGGED},
    {"\\Deleted", MAILDIR_TRASHED},  {"\\Seen", MAILDIR_SEEN},
    {"\\Draft", MAILDIR_DRAFT},
};

unsigned mailbox_flag_bit(struct str name)
{
	for (size_t i = 0; i < MAILBOX_NFLAGS; i++)
		if (str_case_eq_cstr(name, mailbox_flags[i].name))
			return mailbox_flags[i].bit;
	return 0;
}

int mailbox_keywords(struct maildir_folder *f, const struct str *names,
		     size_t n, uint32_t *bits_r)
{
	*bits_r = 0;
	if (n == 0)
		return 0;
	struct maildir_keywords kw;
	maildir_keywords_init(&kw);
	int r = maildir_keywords_assign(f->path, names, n, &kw);
	int e = errno;
	if (r == 0 || e == ENOSPC) {
		if (!maildir_keywords_equal(&kw, &f->kw))
			maildir_keywords_copy(&f->kw, &kw);
		for (size_t i = 0; i < n; i++) {
			int k = maildir_keywords_find(&f->kw, names[i]);
			if (k >= 0)
				*bits_r |= 1u << k;
		}
	}
	maildir_keywords_deinit(&kw);
	errno = e;
	return r;
}

struct mailbox_flags_op {
	enum mailbox_flags_mode mode;
	unsigned flags;
	uint32_t kw, known;
};

static int mailbox_flags_fn(const char *cur, char *out, size_t outsz, void *ctx)
{
	const struct mailbox_flags_op *op = ctx;
	struct str l = str_from_cstr(cur);
	unsigned f = maildir_flags_parse(l);
	uint32_t k = maildir_keyword_bits(l);
	switch (op->mode) {
	case MAILBOX_FLAGS_ADD:
		f |= op->flags;
		k |= op->kw;
		break;
	case MAILBOX_FLAGS_REMOVE:
		f &= ~op->flags;
		k &= ~op->kw;
		break;
	case MAILBOX_FLAGS_REPLACE:
		/* P has no IMAP flag, and letters without a name in
		   dovecot-keywords are not ours to drop (Dovecot keeps both) */
		f = op->flags | (f & MAILDIR_PASSED);
		k = op->kw | (k & ~op->known);
		break;
	}
	return maildir_info_build(l, f, k, out, outsz);
}

int mailbox_msg_flags(struct maildir_folder *f, struct maildir_msg *m,
		      enum mailbox_flags_mode mode, unsigned flags,
		      uint32_t kwbits)
{
	struct mailbox_flags_op op = {mode, flags, kwbits, 0};
	for (size_t k = 0; k < MAILDIR_KEYWORDS_MAX; k++)
		if (f->kw.name[k] != NULL)
			op.known |= 1u << k;
	return maildir_msg_change_letters(f, m, mailbox_flags_fn, &op, true);
}
