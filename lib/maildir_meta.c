/*
 * dovecot-keywords and subscriptions, written the way Dovecot 2.3 writes
 * them (reference/maildir.md §3, §6) so that neither side loses the other's
 * keywords or subscriptions.  Both files are small; they are read whole
 * and replaced whole under a dotlock.
 */
#include "maildir_meta.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "file.h"
#include "maildir.h"
#include "xalloc.h"

/* Replaces dir/name with data (file_replace). */
static int meta_replace(const char *dir, const char *name, const char *data,
			size_t len)
{
	char path[PATH_MAX];
	if (file_path(path, sizeof path, dir, name) < 0)
		return -1;
	return file_replace(path, data, len, NULL);
}

/* Reads dir/name into b (initialised here, up to MAILDIR_META_FILE_MAX;
   the caller frees it).  1 read, 0 missing, -1 with errno. */
static int meta_read(const char *dir, const char *name, struct buf *b)
{
	char path[PATH_MAX];
	buf_init(b, MAILDIR_META_FILE_MAX);
	if (file_path(path, sizeof path, dir, name) < 0)
		return -1;
	return file_read_buf(path, b);
}

/* Takes or drops the dotlock dir/name (stale after 120 s, as Dovecot's). */
static int meta_lock(const char *dir, const char *name, int timeout_ms)
{
	char path[PATH_MAX];
	if (file_path(path, sizeof path, dir, name) < 0)
		return -1;
	return file_dotlock(path, timeout_ms, 120);
}

static void meta_unlock(const char *dir, const char *name)
{
	char path[PATH_MAX];
	if (file_path(path, sizeof path, dir, name) == 0)
		file_dotunlock(path);
}

/* How long a writer waits for another one's dotlock. */
#define MAILDIR_META_LOCK_MS 5000

void maildir_keywords_init(struct maildir_keywords *kw)
{
	memset(kw, 0, sizeof *kw);
}

void maildir_keywords_deinit(struct maildir_keywords *kw)
{
	for (size_t i = 0; i < MAILDIR_KEYWORDS_MAX; i++) {
		free(kw->name[i]);
		kw->name[i] = NULL;
	}
}

void maildir_keywords_copy(struct maildir_keywords *dst,
			   const struct maildir_keywords *src)
{
	maildir_keywords_deinit(dst);
	for (size_t i = 0; i < MAILDIR_KEYWORDS_MAX; i++)
		dst->name[i] = src->name[i] ? xstrdup(src->name[i]) : NULL;
}

bool maildir_keywords_equal(const struct maildir_keywords *a,
			    const struct maildir_keywords *b)
{
	for (size_t i = 0; i < MAILDIR_KEYWORDS_MAX; i++) {
		if ((a->name[i] == NULL) != (b->name[i] == NULL))
			return false;
		if (a->name[i] && strcmp(a->name[i], b->name[i]) != 0)
			return false;
	}
	return true;
}

bool maildir_keyword_ok(struct str name)
{
	if (name.len == 0 || name.len > MAILDIR_KEYWORD_LEN_MAX)
		return false;
	for (size_t i = 0; i < name.len; i++) {
		unsigned char c = (unsigned char)name.p[i];
		/* RFC 3501 §9 atom-char: no CTL, SP, "(){%*\"\\]" */
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

size_t maildir_keywords_parse(const char *data, size_t len,
			      struct maildir_keywords *kw)
{
	size_t kept = 0;
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(le - p));
		size_t idx = 0;
		bool ok = sp != NULL && sp > p && sp - p <= 3;
		for (const char *q = p; ok && q < sp; q++) {
			if (*q < '0' || *q > '9')
				ok = false;
			else
				idx = idx * 10 + (size_t)(*q - '0');
		}
		if (ok) {
			struct str name = {sp + 1, (size_t)(le - sp - 1)};
			if (name.len > 0 && name.p[name.len - 1] == '\r')
				name.len--;
			if (idx < MAILDIR_KEYWORDS_MAX &&
			    kw->name[idx] == NULL && maildir_keyword_ok(name)) {
				kw->name[idx] = xmemdup0(name.p, name.len);
				kept++;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return kept;
}

int maildir_keywords_format(const struct maildir_keywords *kw, struct buf *out)
{
	for (size_t i = 0; i < MAILDIR_KEYWORDS_MAX; i++)
		if (kw->name[i] != NULL &&
		    buf_printf(out, "%zu %s\n", i, kw->name[i]) < 0)
			return -1;
	return 0;
}

int maildir_keywords_read(const char *folder, struct maildir_keywords *kw)
{
	struct buf b;
	int r = meta_read(folder, "dovecot-keywords", &b);
	if (r > 0)
		(void)maildir_keywords_parse(b.p, b.len, kw);
	int e = errno;
	buf_deinit(&b);
	errno = e;
	return r < 0 ? -1 : 0;
}

int maildir_keywords_find(const struct maildir_keywords *kw, struct str name)
{
	for (size_t i = 0; i < MAILDIR_KEYWORDS_MAX; i++)
		if (kw->name[i] != NULL && name.len == strlen(kw->name[i]) &&
		    strncasecmp(kw->name[i], name.p, name.len) == 0)
			return (int)i;
	return -1;
}

int maildir_keywords_assign(const char *folder, const struct str *names,
			    size_t n, struct maildir_keywords *kw)
{
	for (size_t i = 0; i < n; i++)
		if (!maildir_keyword_ok(names[i])) {
			errno = EINVAL;
			return -1;
		}
	if (meta_lock(folder, "dovecot-uidlist.lock", MAILDIR_META_LOCK_MS) < 0)
		return -1;
	maildir_keywords_deinit(kw);
	int rc = maildir_keywords_read(folder, kw);
	bool added = false;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (maildir_keywords_find(kw, names[i]) >= 0)
			continue;
		size_t k = 0;
		while (k < MAILDIR_KEYWORDS_MAX && kw->name[k] != NULL)
			k++;
		if (k == MAILDIR_KEYWORDS_MAX) {
			errno = ENOSPC;
			rc = -1;
			break;
		}
		kw->name[k] = xmemdup0(names[i].p, names[i].len);
		added = true;
	}
	if (added) {
		/* also on ENOSPC: the names that fitted keep their letters */
		int e = errno;
		struct buf b;
		buf_init(&b, MAILDIR_META_FILE_MAX);
		if (maildir_keywords_format(kw, &b) < 0 ||
		    meta_replace(folder, "dovecot-keywords", b.p ? b.p : "",
				 b.len) < 0)
			rc = -1;
		else
			errno = e;
		buf_deinit(&b);
	}
	int e = errno;
	meta_unlock(folder, "dovecot-uidlist.lock");
	errno = e;
	return rc;
}

uint32_t maildir_keyword_bits(struct str letters)
{
	uint32_t bits = 0;
	for (size_t i = 0; i < letters.len; i++)
		if (letters.p[i] >= 'a' && letters.p[i] <= 'z')
			bits |= 1u << (letters.p[i] - 'a');
	return bits;
}

int maildir_info_build(struct str old, unsigned flags, uint32_t kwbits,
		       char *out, size_t outsz)
{
	/* system flags and unknown letters first: maildir_info_set keeps
	   every non-system letter of old, so drop old's keywords from it */
	char rest[64];
	size_t r = 0;
	for (size_t i = 0; i < old.len; i++) {
		char c = old.p[i];
		if (c >= 'a' && c <= 'z')
			continue;
		if (r + 1 >= sizeof rest)
			return -1;
		rest[r++] = c;
	}
	char sys[64];
	if (maildir_info_set((struct str){rest, r}, flags, sys, sizeof sys) < 0)
		return -1;
	size_t o = strlen(sys);
	if (o >= outsz)
		return -1;
	memcpy(out, sys, o);
	/* lowercase sorts after every capital: append in ASCII order */
	for (unsigned i = 0; i < MAILDIR_KEYWORDS_MAX; i++) {
		if (!(kwbits & (1u << i)))
			continue;
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)('a' + i);
	}
	out[o] = '\0';
	return 0;
}

bool maildir_msg_has_keyword(const struct maildir_folder *f,
			     const struct maildir_msg *m, const char *name)
{
	int k = maildir_keywords_find(&f->kw, str_from_cstr(name));
	return k >= 0 && (maildir_keyword_bits(str_from_cstr(m->letters)) &
			  (1u << k)) != 0;
}

/* ---- subscriptions ------------------------------------------------------ */

static int maildir_subs_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts names and drops duplicates; returns the new count. */
static size_t maildir_subs_uniq(char **names, size_t n)
{
	if (n == 0)
		return 0;
	qsort(names, n, sizeof *names, maildir_subs_cmp);
	size_t w = 1;
	for (size_t i = 1; i < n; i++) {
		if (strcmp(names[i], names[w - 1]) == 0)
			free(names[i]);
		else
			names[w++] = names[i];
	}
	return w;
}

size_t maildir_subs_parse(const char *data, size_t len, char ***names_r)
{
	const char *p = data, *end = data + len;
	bool v2 = false;
	if (len >= 4 && memcmp(p, "V\t2\n", 4) == 0) {
		v2 = true;
		p += 4;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	while (p < end && n < MAILDIR_SUBS_MAX) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t l = (size_t)(le - p);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		/* NUL or '/' cannot be in a mailbox name: skip the line */
		if (l > 0 && l <= MAILDIR_FOLDER_MAX && !memchr(p, '\0', l) &&
		    !memchr(p, '/', l)) {
			char *nm = xmemdup0(p, l);
			if (v2)
				for (char *q = nm; *q != '\0'; q++)
					if (*q == '\t')
						*q = '.';
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				names = xrealloc(names, cap * sizeof *names);
			}
			names[n++] = nm;
		}
		p = nl ? nl + 1 : end;
	}
	*names_r = names;
	return maildir_subs_uniq(names, n);
}

int maildir_subs_format(char *const *names, size_t n, struct buf *out)
{
	/* version 2 (Dovecot 2.3): header, an empty line, TAB separators */
	if (buf_append(out, "V\t2\n\n", 5) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		for (const char *q = names[i]; *q != '\0'; q++)
			if (buf_append(out, *q == '.' ? "\t" : q, 1) < 0)
				return -1;
		if (buf_append(out, "\n", 1) < 0)
			return -1;
	}
	return 0;
}

long maildir_subs_read(const char *root, char ***names_r)
{
	struct buf b;
	int r = meta_read(root, "subscriptions", &b);
	if (r < 0) {
		int e = errno;
		buf_deinit(&b);
		errno = e;
		return -1;
	}
	size_t n = maildir_subs_parse(b.p ? b.p : "", b.len, names_r);
	buf_deinit(&b);
	return (long)n;
}

int maildir_subs_write(const char *root, char *const *names, size_t n)
{
	struct buf b;
	buf_init(&b, MAILDIR_META_FILE_MAX);
	int rc = maildir_subs_format(names, n, &b) < 0 ||
			 meta_replace(root, "subscriptions", b.p, b.len) < 0
		     ? -1
		     : 0;
	int e = errno;
	buf_deinit(&b);
	errno = e;
	return rc;
}

/* The change a subs edit makes, under the lock; 1 changed, 0 not, -1. */
typedef int maildir_subs_edit_fn(char ***names, size_t *n, const char *a,
				 const char *b);

static int maildir_subs_edit(const char *root, maildir_subs_edit_fn *fn,
			     const char *a, const char *b)
{
	if (meta_lock(root, "subscriptions.lock", MAILDIR_META_LOCK_MS) < 0)
		return -1;
	char **names = NULL;
	long r = maildir_subs_read(root, &names);
	int rc = -1;
	if (r >= 0) {
		size_t n = (size_t)r;
		rc = fn(&names, &n, a, b);
		if (rc > 0)
			rc = maildir_subs_write(root, names, n);
		r = (long)n;
	}
	int e = errno;
	maildir_names_free(names, r > 0 ? (size_t)r : 0);
	meta_unlock(root, "subscriptions.lock");
	errno = e;
	return rc < 0 ? -1 : 0;
}

static int maildir_subs_edit_set(char ***names, size_t *n, const char *name,
				 const char *on)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*names)[i], name) != 0)
			continue;
		if (on != NULL)
			return 0;
		free((*names)[i]);
		memmove(&(*names)[i], &(*names)[i + 1],
			(*n - i - 1) * sizeof **names);
		(*n)--;
		return 1;
	}
	if (on == NULL)
		return 0;
	if (*n >= MAILDIR_SUBS_MAX) {
		errno = ENOSPC;
		return -1;
	}
	*names = xrealloc(*names, (*n + 1) * sizeof **names);
	(*names)[(*n)++] = xstrdup(name);
	*n = maildir_subs_uniq(*names, *n);
	return 1;
}

int maildir_subs_set(const char *root, const char *name, bool on)
{
	if (name[0] == '\0' || strlen(name) > MAILDIR_FOLDER_MAX ||
	    strchr(name, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	return maildir_subs_edit(root, maildir_subs_edit_set, name,
				 on ? "" : NULL);
}

static int maildir_subs_edit_rename(char ***names, size_t *n, const char *from,
				    const char *to)
{
	size_t fl = strlen(from);
	int changed = 0;
	for (size_t i = 0; i < *n; i++) {
		char *nm = (*names)[i];
		if (strncmp(nm, from, fl) != 0 ||
		    (nm[fl] != '\0' && nm[fl] != '.'))
			continue;
		size_t need = strlen(to) + strlen(nm + fl) + 1;
		if (need > MAILDIR_FOLDER_MAX + 1)
			continue; /* too long to keep: dropped by rename */
		char *r = xmalloc(need);
		(void)snprintf(r, need, "%s%s", to, nm + fl);
		free(nm);
		(*names)[i] = r;
		changed = 1;
	}
	if (changed)
		*n = maildir_subs_uniq(*names, *n);
	return changed;
}

int maildir_subs_rename(const char *root, const char *from, const char *to)
{
	return maildir_subs_edit(root, maildir_subs_edit_rename, from, to);
}

/* ---- folder tree -------------------------------------------------------- */

static int maildir_meta_path(char *out, size_t outsz, const char *root,
			     const char *name)
{
	int k = snprintf(out, outsz, "%s/.%s", root, name);
	if (k < 0 || (size_t)k >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* name is from itself or one of its children ("from.x") */
static bool maildir_is_under(const char *name, const char *from, size_t fl)
{
	return strncmp(name, from, fl) == 0 &&
	       (name[fl] == '\0' || name[fl] == '.');
}

int maildir_folder_rename(const char *root, const char *from, const char *to)
{
	size_t fl = strlen(from);
	if (!maildir_folder_name_ok(from) || !maildir_folder_name_ok(to) ||
	    maildir_is_under(to, from, fl)) {
		errno = EINVAL;
		return -1;
	}
	char **names = NULL;
	long n = maildir_folder_list(root, &names);
	if (n < 0)
		return -1;
	int rc = 0;
	size_t found = 0;
	char src[PATH_MAX], dst[PATH_MAX], nn[MAILDIR_FOLDER_MAX + 2];
	/* check every target first so that a clash renames nothing */
	for (long i = 0; i < n && rc == 0; i++) {
		if (!maildir_is_under(names[i], from, fl))
			continue;
		found++;
		int k = snprintf(nn, sizeof nn, "%s%s", to, names[i] + fl);
		if (k < 0 || (size_t)k >= sizeof nn ||
		    !maildir_folder_name_ok(nn)) {
			errno = EINVAL;
			rc = -1;
		} else if (maildir_meta_path(dst, sizeof dst, root, nn) < 0) {
			rc = -1;
		} else if (access(dst, F_OK) == 0) {
			errno = EEXIST;
			rc = -1;
		}
	}
	if (rc == 0 && found == 0) {
		errno = ENOENT;
		rc = -1;
	}
	for (long i = 0; i < n && rc == 0; i++) {
		if (!maildir_is_under(names[i], from, fl))
			continue;
		(void)snprintf(nn, sizeof nn, "%s%s", to, names[i] + fl);
		if (maildir_meta_path(src, sizeof src, root, names[i]) < 0 ||
		    maildir_meta_path(dst, sizeof dst, root, nn) < 0 ||
		    rename(src, dst) < 0)
			rc = -1;
	}
	int e = errno;
	maildir_names_free(names, (size_t)n);
	/* Dovecot moves the subscriptions along with the folders */
	if (rc == 0)
		(void)maildir_subs_rename(root, from, to);
	errno = e;
	return rc;
}

long maildir_inbox_move(const char *root, const char *to)
{
	if (maildir_folder_create(root, to) < 0)
		return -1;
	char dir[PATH_MAX];
	if (maildir_meta_path(dir, sizeof dir, root, to) < 0)
		return -1;
	/* the keyword letters of the moved files mean what INBOX's
	   dovecot-keywords says: the new folder starts with a copy */
	struct maildir_keywords kw;
	maildir_keywords_init(&kw);
	if (maildir_keywords_read(root, &kw) == 0) {
		struct buf b;
		buf_init(&b, MAILDIR_META_FILE_MAX);
		if (maildir_keywords_format(&kw, &b) == 0 && b.len > 0)
			(void)meta_replace(dir, "dovecot-keywords", b.p, b.len);
		buf_deinit(&b);
	}
	maildir_keywords_deinit(&kw);
	long moved = 0;
	static const char *const subs[] = {"new", "cur"};
	for (size_t s = 0; s < 2; s++) {
		char sd[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
		int k = snprintf(sd, sizeof sd, "%s/%s", root, subs[s]);
		if (k < 0 || (size_t)k >= sizeof sd)
			return -1;
		DIR *d = opendir(sd);
		if (d == NULL)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			int a =
			    snprintf(src, sizeof src, "%s/%s", sd, de->d_name);
			int b = snprintf(dst, sizeof dst, "%s/%s/%s", dir,
					 subs[s], de->d_name);
			if (a < 0 || (size_t)a >= sizeof src || b < 0 ||
			    (size_t)b >= sizeof dst)
				continue;
			/* ENOENT: expunged or moved to cur/ meanwhile */
			if (rename(src, dst) == 0)
				moved++;
		}
		closedir(d);
	}
	return moved;
}
