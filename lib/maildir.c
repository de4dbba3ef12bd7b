/*
 * Maildir++ storage shared by youju-mra and youju-mta.  The rules come
 * from reference/maildir.md: names are never reused, messages are only
 * renamed or unlinked, control files are replaced by temp file + rename,
 * and every reader expects files to vanish under it.  dovecot-uidlist is
 * the UID master so Dovecot can take a youju Maildir over and back.
 */
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "file.h"
#include "uidsearch.h"
#include "xalloc.h"

#define MAILDIR_LOCK_STALE 120 /* seconds, as Dovecot's dotlock */

static const char maildir_flag_letters[] = "DFPRST";

unsigned maildir_flags_parse(struct str letters)
{
	unsigned flags = 0;
	for (size_t i = 0; i < letters.len; i++) {
		const char *p = memchr(maildir_flag_letters, letters.p[i], 6);
		if (p != NULL && letters.p[i] != '\0')
			flags |= 1u << (p - maildir_flag_letters);
	}
	return flags;
}

/* The letters set in on[], in ASCII order, NUL-terminated into out. */
static int maildir_letters_emit(const bool on[256], char *out, size_t outsz)
{
	size_t n = 0;
	for (int c = 1; c < 256; c++) {
		if (!on[c])
			continue;
		if (n + 1 >= outsz)
			return -1;
		out[n++] = (char)c;
	}
	if (outsz == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

int maildir_info_set(struct str old, unsigned flags, char *out, size_t outsz)
{
	bool seen[256] = {false};
	for (size_t i = 0; i < old.len; i++) {
		unsigned char c = (unsigned char)old.p[i];
		if (c > 0x20 && c < 0x7f && c != ':' && c != ',' && c != '/')
			seen[c] = true;
	}
	for (int i = 0; i < 6; i++)
		seen[(unsigned char)maildir_flag_letters[i]] =
		    (flags & (1u << i)) != 0;
	return maildir_letters_emit(seen, out, outsz);
}

void maildir_name_split(struct str name, struct str *base_r,
			struct str *letters_r)
{
	const char *colon = memchr(name.p, ':', name.len);
	*letters_r = (struct str){"", 0};
	if (colon == NULL) {
		*base_r = name;
		return;
	}
	*base_r = (struct str){name.p, (size_t)(colon - name.p)};
	size_t rest = name.len - base_r->len - 1;
	if (rest >= 2 && colon[1] == '2' && colon[2] == ',') {
		const char *l = colon + 3;
		size_t ll = rest - 2;
		/* Dovecot: a second ',' starts fields it leaves alone */
		const char *comma = memchr(l, ',', ll);
		if (comma != NULL)
			ll = (size_t)(comma - l);
		*letters_r = (struct str){l, ll};
	}
}

int maildir_name_size(struct str name, char key, uint64_t *v_r)
{
	size_t end = name.len;
	const char *colon = memchr(name.p, ':', name.len);
	if (colon != NULL)
		end = (size_t)(colon - name.p);
	for (size_t i = 0; i + 2 < end; i++) {
		if (name.p[i] != ',' || name.p[i + 1] != key ||
		    name.p[i + 2] != '=')
			continue;
		size_t j = i + 3;
		uint64_t v = 0;
		size_t digits = 0;
		while (j < end && name.p[j] >= '0' && name.p[j] <= '9') {
			if (v > (UINT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (uint64_t)(name.p[j] - '0');
			j++;
			digits++;
		}
		if (digits == 0 || (j < end && name.p[j] != ','))
			continue;
		*v_r = v;
		return 0;
	}
	return -1;
}

uint64_t maildir_crlf_size(const char *data, size_t len)
{
	/* memchr from LF to LF: a message's lines are tens of bytes,
	   and this runs over every delivered message */
	uint64_t n = len;
	const char *p = data, *end = data + len, *lf;
	while (p < end && (lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (lf == data || lf[-1] != '\r')
			n++;
		p = lf + 1;
	}
	return n;
}

/* The host part of new names, read once (Dovecot's my_hostname too):
   '/', ':' and ',' cannot appear in it (maildir(5)). */
static char maildir_host[256];
static pthread_once_t maildir_host_once = PTHREAD_ONCE_INIT;

/* getpid() once per process (a fork resets it): a system call per
   delivery saved */
static pid_t maildir_pid;

static void maildir_forked(void)
{
	maildir_pid = 0;
}

static void maildir_host_init(void)
{
	(void)pthread_atfork(NULL, NULL, maildir_forked);
	if (gethostname(maildir_host, sizeof maildir_host) < 0)
		memcpy(maildir_host, "localhost", 10);
	maildir_host[sizeof maildir_host - 1] = '\0';
	for (char *p = maildir_host; *p != '\0'; p++)
		if (*p == '/' || *p == ':' || *p == ',')
			*p = '_';
}

int maildir_unique_name(char *out, size_t outsz, uint64_t size, uint64_t vsize)
{
	/* one time stamp per name in this process, under a lock: the
	   delivery threads must never make the same name (same size, same
	   microsecond) */
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static struct timeval last;
	struct timeval tv;

	pthread_once(&maildir_host_once, maildir_host_init);
	if (gettimeofday(&tv, NULL) < 0)
		return -1;
	pthread_mutex_lock(&mu);
	if (tv.tv_sec < last.tv_sec ||
	    (tv.tv_sec == last.tv_sec && tv.tv_usec <= last.tv_usec)) {
		tv = last;
		if (++tv.tv_usec >= 1000000) {
			tv.tv_sec++;
			tv.tv_usec = 0;
		}
	}
	last = tv;
	if (maildir_pid == 0)
		maildir_pid = getpid();
	pid_t pid = maildir_pid;
	pthread_mutex_unlock(&mu);
	int n = snprintf(out, outsz, "%lld.M%ldP%ld.%s,S=%llu,W=%llu",
			 (long long)tv.tv_sec, (long)tv.tv_usec, (long)pid,
			 maildir_host, (unsigned long long)size,
			 (unsigned long long)vsize);
	if (n < 0 || (size_t)n >= outsz || n > MAILDIR_FILENAME_MAX - 16)
		return -1;
	return 0;
}

static int maildir_path(char *out, size_t outsz, const char *a, const char *b,
			const char *c)
{
	int n = snprintf(out, outsz, "%s/%s%s%s", a, b, c[0] ? "/" : "", c);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Writes data into folder/tmp/ (folder relative to dirfd, see
   maildir_store_tmp(); fsynced when sync) and names the destination in
   new/ (in_new) or cur/ with ":2,<letters>": p, base_r. */
static int maildir_write_tmp(int dirfd, const char *folder, const char *data,
			     size_t len, bool in_new, const char *letters,
			     time_t mtime, char *base_r, bool sync,
			     struct maildir_pending *p, const char **error_r)
{
	char base[MAILDIR_FILENAME_MAX + 1];
	char final[MAILDIR_FILENAME_MAX + 1];

	if (maildir_unique_name(base, sizeof base, len,
				maildir_crlf_size(data, len)) < 0) {
		*error_r = "file name too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	if (folder[0] == '\0')
		folder = "."; /* dirfd itself */
	int n = in_new ? snprintf(final, sizeof final, "%s", base)
		       : snprintf(final, sizeof final, "%s:2,%s", base,
				  letters ? letters : "");
	if (n < 0 || (size_t)n >= sizeof final ||
	    maildir_path(p->tmp, sizeof p->tmp, folder, "tmp", base) < 0 ||
	    maildir_path(p->dst, sizeof p->dst, folder, in_new ? "new" : "cur",
			 final) < 0) {
		*error_r = "path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	p->size = len;
	p->dirfd = dirfd;
	int fd = openat(dirfd, p->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0600);
	if (fd < 0) {
		*error_r = "open tmp file";
		return -1;
	}
	if (file_write_all(fd, data, len) < 0 || (sync && fsync(fd) < 0)) {
		int e = errno;
		*error_r = "write tmp file";
		close(fd);
		unlinkat(dirfd, p->tmp, 0);
		errno = e;
		return -1;
	}
	if (mtime != 0) {
		struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
		(void)futimens(fd, ts); /* INTERNALDATE is best effort */
	}
	if (close(fd) < 0) {
		int e = errno;
		*error_r = "close tmp file";
		unlinkat(dirfd, p->tmp, 0);
		errno = e;
		return -1;
	}
	if (base_r != NULL)
		memcpy(base_r, base, strlen(base) + 1);
	return 0;
}

int maildir_pending_link(const struct maildir_pending *p, const char **error_r)
{
	if (linkat(p->dirfd, p->tmp, p->dirfd, p->dst, 0) < 0) {
		if (errno != EXDEV && errno != EPERM) {
			int e = errno;
			*error_r = "link into maildir";
			unlinkat(p->dirfd, p->tmp, 0);
			errno = e;
			return -1;
		}
		if (renameat(p->dirfd, p->tmp, p->dirfd, p->dst) < 0) {
			int e = errno;
			*error_r = "rename into maildir";
			unlinkat(p->dirfd, p->tmp, 0);
			errno = e;
			return -1;
		}
	} else {
		/* a leftover is purged after 36 h */
		(void)unlinkat(p->dirfd, p->tmp, 0);
	}
	return 0;
}

void maildir_pending_drop(const struct maildir_pending *p)
{
	(void)unlinkat(p->dirfd, p->tmp, 0);
}

int maildir_store(const char *folder, const char *data, size_t len, bool in_new,
		  const char *letters, time_t mtime, char *base_r,
		  const char **error_r)
{
	struct maildir_pending p;
	if (maildir_write_tmp(AT_FDCWD, folder, data, len, in_new, letters,
			      mtime, base_r, true, &p, error_r) < 0)
		return -1;
	return maildir_pending_link(&p, error_r);
}

int maildir_store_tmp(int dirfd, const char *folder, const char *data,
		      size_t len, struct maildir_pending *p,
		      const char **error_r)
{
	return maildir_write_tmp(dirfd, folder, data, len, true, NULL, 0, NULL,
				 false, p, error_r);
}

/* ---- dovecot-uidlist ------------------------------------------------- */

void maildir_uidlist_init(struct maildir_uidlist *ul)
{
	memset(ul, 0, sizeof *ul);
	ul->version = 3;
	ul->next_uid = 1;
	ul->hdr_extra = xstrdup("");
}

void maildir_uidlist_deinit(struct maildir_uidlist *ul)
{
	for (size_t i = 0; i < ul->n; i++) {
		free(ul->recs[i].base);
		free(ul->recs[i].extra);
	}
	free(ul->recs);
	free(ul->hdr_extra);
	memset(ul, 0, sizeof *ul);
}

void maildir_uidlist_take(struct maildir_uidlist *ul, uint32_t uid, char *base,
			  char *extra)
{
	if (ul->n == ul->cap) {
		ul->cap = ul->cap ? ul->cap * 2 : 64;
		ul->recs = xrealloc(ul->recs, ul->cap * sizeof *ul->recs);
	}
	ul->recs[ul->n++] = (struct maildir_uidrec){uid, base, extra};
	if (uid >= ul->next_uid)
		ul->next_uid = uid + 1;
}

void maildir_uidlist_add(struct maildir_uidlist *ul, uint32_t uid,
			 const char *base, size_t base_len)
{
	maildir_uidlist_take(ul, uid, xmemdup0(base, base_len), xstrdup(""));
}

static bool maildir_u32(const char *p, size_t len, uint32_t *v_r)
{
	uint64_t v;
	struct str s = {p, len};
	if (str_to_u64(s, 0, UINT32_MAX, &v) < 0)
		return false;
	*v_r = (uint32_t)v;
	return true;
}

/* next space-separated word of [*pp, end) */
static struct str maildir_word(const char **pp, const char *end)
{
	const char *p = *pp;
	while (p < end && *p == ' ')
		p++;
	const char *s = p;
	while (p < end && *p != ' ')
		p++;
	*pp = p;
	return (struct str){s, (size_t)(p - s)};
}

static int maildir_uidlist_header(const char *p, const char *end,
				  struct maildir_uidlist *ul,
				  const char **error_r)
{
	struct str w = maildir_word(&p, end);
	if (str_eq_cstr(w, "1")) {
		struct str v = maildir_word(&p, end);
		struct str n = maildir_word(&p, end);
		if (!maildir_u32(v.p, v.len, &ul->uidvalidity) ||
		    !maildir_u32(n.p, n.len, &ul->next_uid)) {
			*error_r = "bad version 1 header";
			return -1;
		}
		ul->version = 1;
		return 0;
	}
	if (!str_eq_cstr(w, "3")) {
		*error_r = "unsupported uidlist version";
		return -1;
	}
	ul->version = 3;
	struct buf extra;
	buf_init(&extra, 4096);
	bool have_v = false;
	for (;;) {
		w = maildir_word(&p, end);
		if (w.len == 0)
			break;
		if (w.p[0] == 'V' &&
		    maildir_u32(w.p + 1, w.len - 1, &ul->uidvalidity)) {
			have_v = true;
		} else if (w.p[0] == 'N' &&
			   maildir_u32(w.p + 1, w.len - 1, &ul->next_uid)) {
		} else if (w.p[0] == 'G' && w.len - 1 < sizeof ul->guid) {
			memcpy(ul->guid, w.p + 1, w.len - 1);
			ul->guid[w.len - 1] = '\0';
		} else if (buf_append_char(&extra, ' ') < 0 ||
			   buf_append(&extra, w.p, w.len) < 0) {
			buf_deinit(&extra);
			*error_r = "header too long";
			return -1;
		}
	}
	free(ul->hdr_extra);
	ul->hdr_extra = xstrdup(extra.len ? buf_cstr(&extra) + 1 : "");
	buf_deinit(&extra);
	if (!have_v) {
		*error_r = "header without UIDVALIDITY";
		return -1;
	}
	return 0;
}

int maildir_uidlist_parse(const char *data, size_t len,
			  struct maildir_uidlist *ul, const char **error_r)
{
	if (len == 0) {
		*error_r = "empty";
		return -1;
	}
	const char *p = data, *end = data + len;
	const char *nl = memchr(p, '\n', len);
	if (nl == NULL) {
		*error_r = "no header line";
		return -1;
	}
	if (memchr(data, '\0', len) != NULL) {
		*error_r = "NUL byte";
		return -1;
	}
	uint32_t hdr_next = 0;
	if (maildir_uidlist_header(p, nl, ul, error_r) < 0)
		return -1;
	hdr_next = ul->next_uid;
	ul->next_uid = 1;
	p = nl + 1;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (le == p) {
			p = le + 1;
			continue;
		}
		const char *q = p;
		struct str w = maildir_word(&q, le);
		uint32_t uid;
		if (!maildir_u32(w.p, w.len, &uid) || uid == 0 ||
		    (ul->n > 0 && uid <= ul->recs[ul->n - 1].uid)) {
			*error_r = "bad or non-ascending uid";
			return -1;
		}
		const char *name;
		size_t extra_len = 0;
		const char *extra = q;
		if (ul->version == 3) {
			const char *colon = memchr(q, ':', (size_t)(le - q));
			if (colon == NULL) {
				*error_r = "record without ':'";
				return -1;
			}
			name = colon + 1;
			while (extra < colon && *extra == ' ')
				extra++;
			const char *ee = colon;
			while (ee > extra && ee[-1] == ' ')
				ee--;
			extra_len = (size_t)(ee - extra);
		} else {
			while (q < le && *q == ' ')
				q++;
			name = q;
		}
		/* older writers stored the full name: keep the base only */
		const char *ne = memchr(name, ':', (size_t)(le - name));
		if (ne == NULL)
			ne = le;
		if (ne == name || (size_t)(ne - name) > MAILDIR_FILENAME_MAX ||
		    memchr(name, '/', (size_t)(ne - name)) != NULL) {
			*error_r = "bad file name";
			return -1;
		}
		maildir_uidlist_take(ul, uid,
				     xmemdup0(name, (size_t)(ne - name)),
				     xmemdup0(extra, extra_len));
		p = nl ? nl + 1 : end;
	}
	/* N can lag behind appended records (maildir.md §5.1) */
	if (hdr_next > ul->next_uid)
		ul->next_uid = hdr_next;
	return 0;
}

int maildir_uidlist_format(const struct maildir_uidlist *ul, struct buf *out)
{
	if (buf_printf(out, "3 V%lu N%lu", (unsigned long)ul->uidvalidity,
		       (unsigned long)ul->next_uid) < 0)
		return -1;
	if (ul->guid[0] != '\0' && buf_printf(out, " G%s", ul->guid) < 0)
		return -1;
	if (ul->hdr_extra[0] != '\0' &&
	    buf_printf(out, " %s", ul->hdr_extra) < 0)
		return -1;
	if (buf_append_char(out, '\n') < 0)
		return -1;
	for (size_t i = 0; i < ul->n; i++) {
		const struct maildir_uidrec *r = &ul->recs[i];
		if (buf_printf(out, "%lu%s%s :%s\n", (unsigned long)r->uid,
			       r->extra[0] ? " " : "", r->extra, r->base) < 0)
			return -1;
	}
	return 0;
}

int maildir_dotlock(const char *dir, const char *lockname, int timeout_ms)
{
	char path[PATH_MAX];
	if (maildir_path(path, sizeof path, dir, lockname, "") < 0)
		return -1;
	return file_dotlock(path, timeout_ms, MAILDIR_LOCK_STALE);
}

void maildir_dotunlock(const char *dir, const char *lockname)
{
	char path[PATH_MAX];
	if (maildir_path(path, sizeof path, dir, lockname, "") == 0)
		file_dotunlock(path);
}

int maildir_uidlist_lock(const char *folder, int timeout_ms)
{
	return maildir_dotlock(folder, "dovecot-uidlist.lock", timeout_ms);
}

void maildir_uidlist_unlock(const char *folder)
{
	maildir_dotunlock(folder, "dovecot-uidlist.lock");
}

int maildir_file_read(const char *path, struct buf *out)
{
	return file_read_buf(path, out);
}

int maildir_file_replace(const char *dir, const char *name, const char *data,
			 size_t len)
{
	char path[PATH_MAX];
	if (maildir_path(path, sizeof path, dir, name, "") < 0)
		return -1;
	return file_replace(path, data, len, NULL);
}

/* ---- folder scan ------------------------------------------------------ */

static bool maildir_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Base names in delivery order: runs of digits compare as numbers, so
   "T.M99999P1" sorts before "T.M100000P1" (the microseconds are not
   zero-padded), as Dovecot orders new files.  Names equal that way
   but spelled differently ("01", "1") fall back to bytes, so only the
   same name compares equal. */
int maildir_base_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;
	while (i < an && j < bn) {
		if (maildir_digit(a[i]) && maildir_digit(b[j])) {
			size_t ei = i, ej = j;
			while (ei < an && maildir_digit(a[ei]))
				ei++;
			while (ej < bn && maildir_digit(b[ej]))
				ej++;
			while (i < ei && a[i] == '0')
				i++;
			while (j < ej && b[j] == '0')
				j++;
			if (ei - i != ej - j)
				return ei - i < ej - j ? -1 : 1;
			int c = memcmp(a + i, b + j, ei - i);
			if (c != 0)
				return c;
			i = ei;
			j = ej;
			continue;
		}
		if (a[i] != b[j])
			return (unsigned char)a[i] < (unsigned char)b[j] ? -1
									 : 1;
		i++;
		j++;
	}
	if (an - i != bn - j)
		return an - i < bn - j ? -1 : 1;
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c != 0)
		return c;
	return (an > bn) - (an < bn);
}

void maildir_folder_free(struct maildir_folder **fp)
{
	struct maildir_folder *f = *fp;
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->msgs[i].base);
		free(f->msgs[i].letters);
	}
	free(f->msgs);
	free(f->path);
	maildir_keywords_deinit(&f->kw);
	for (int k = 0; k < 2; k++)
		if (f->dir_open[k])
			close(f->dir_fd[k]);
	free(f);
	*fp = NULL;
}

long maildir_folder_find(const struct maildir_folder *f, uint32_t uid)
{
	size_t k = uidsearch_find(f->msgs, f->n, sizeof *f->msgs,
				  offsetof(struct maildir_msg, uid), uid);
	return k < f->n ? (long)k : -1;
}

static int maildir_msg_name(const struct maildir_msg *m, bool in_new,
			    const char *letters, char *out, size_t outsz)
{
	int n = in_new ? snprintf(out, outsz, "%s", m->base)
		       : snprintf(out, outsz, "%s:2,%s", m->base, letters);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int maildir_msg_path(const struct maildir_folder *f,
		     const struct maildir_msg *m, char *out, size_t outsz)
{
	char name[PATH_MAX];
	if (maildir_msg_name(m, m->in_new, m->letters, name, sizeof name) < 0)
		return -1;
	return maildir_path(out, outsz, f->path, m->in_new ? "new" : "cur",
			    name);
}

/* The file whose base name is base, looked for in folder's cur/ then
   new/ by reading the directories (a name went stale: another reader
   renamed it).  The open directory, with *name (valid until closedir())
   and *in_new set, or NULL with errno ENOENT. */
static DIR *maildir_find_base(const char *folder, const char *base,
			      const char **name, bool *in_new)
{
	static const char *const subs[] = {"cur", "new"};
	size_t bl = strlen(base);
	for (int s = 0; s < 2; s++) {
		char dpath[PATH_MAX];
		if (maildir_path(dpath, sizeof dpath, folder, subs[s], "") < 0)
			return NULL;
		DIR *d = opendir(dpath);
		if (d == NULL)
			continue;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, base, bl) != 0 ||
			    (de->d_name[bl] != '\0' && de->d_name[bl] != ':'))
				continue;
			*name = de->d_name;
			*in_new = s == 1;
			return d;
		}
		closedir(d);
	}
	errno = ENOENT;
	return NULL;
}

/* Finds m's current name in cur/ (then new/) after it vanished. */
static int maildir_msg_relocate(struct maildir_folder *f, struct maildir_msg *m)
{
	const char *name;
	bool in_new;
	DIR *d = maildir_find_base(f->path, m->base, &name, &in_new);
	if (d == NULL)
		return -1;
	struct str b, l;
	maildir_name_split(str_from_cstr(name), &b, &l);
	free(m->letters);
	m->letters = xmemdup0(l.p, l.len);
	m->in_new = in_new;
	closedir(d);
	return 0;
}

/* f's new/ (in_new) or cur/ as a descriptor, opened once; -1 when it
   cannot be opened (the caller then uses the path). */
static int maildir_dir_fd(struct maildir_folder *f, bool in_new)
{
	int k = in_new ? 0 : 1;
	if (!f->dir_open[k]) {
		char p[PATH_MAX];
		if (maildir_path(p, sizeof p, f->path, in_new ? "new" : "cur",
				 "") < 0)
			return -1;
		int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		f->dir_fd[k] = fd;
		f->dir_open[k] = true;
	}
	return f->dir_fd[k];
}

int maildir_msg_open(struct maildir_folder *f, struct maildir_msg *m)
{
	char path[PATH_MAX];
	for (int attempt = 0; attempt < 3; attempt++) {
		int dfd = maildir_dir_fd(f, m->in_new), fd;
		if (dfd >= 0) {
			if (maildir_msg_name(m, m->in_new, m->letters, path,
					     sizeof path) < 0)
				return -1;
			fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
		} else {
			if (maildir_msg_path(f, m, path, sizeof path) < 0)
				return -1;
			fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		if (fd >= 0 || errno != ENOENT)
			return fd;
		if (maildir_msg_relocate(f, m) < 0)
			return -1;
	}
	errno = ENOENT;
	return -1;
}

int maildir_msg_read(struct maildir_folder *f, struct maildir_msg *m,
		     struct buf *out)
{
	int fd = maildir_msg_open(f, m);
	if (fd < 0)
		return -1;
	int r = file_read_fd_buf(fd, out);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

int maildir_msg_locate(struct maildir_folder *f, struct maildir_msg *m)
{
	return maildir_msg_relocate(f, m);
}

/* The delivery time at the start of a Maildir name ("<seconds>.M..."),
   or 0. */
static time_t maildir_name_time(const char *base)
{
	uint64_t t = 0;
	size_t k = 0;
	while (k < 12 && base[k] >= '0' && base[k] <= '9')
		t = t * 10 + (uint64_t)(base[k++] - '0');
	return k > 0 && base[k] == '.' ? (time_t)t : 0;
}

/* stat of the file whose base is base (maildir_find_base).  Unlike
   maildir_msg_relocate this changes nothing in m: a caller may hold
   m->letters. */
static int maildir_stat_base(const char *folder, const char *base,
			     struct stat *st)
{
	const char *name;
	bool in_new;
	DIR *d = maildir_find_base(folder, base, &name, &in_new);
	if (d == NULL)
		return -1;
	int r = fstatat(dirfd(d), name, st, 0);
	int e = errno;
	closedir(d);
	errno = e;
	return r;
}

time_t maildir_msg_mtime(const struct maildir_folder *cf,
			 const struct maildir_msg *cm)
{
	if (cm->mtime_known)
		return cm->mtime;
	/* the scan's cache, filled on first use (maildir.h) */
	struct maildir_folder *f = (struct maildir_folder *)cf;
	struct maildir_msg *m = (struct maildir_msg *)cm;
	char name[PATH_MAX];
	struct stat st;
	int r = -1;
	if (maildir_msg_name(m, m->in_new, m->letters, name, sizeof name) ==
	    0) {
		int dfd = maildir_dir_fd(f, m->in_new);
		if (dfd >= 0)
			r = fstatat(dfd, name, &st, 0);
		else {
			char path[PATH_MAX];
			r = maildir_msg_path(f, m, path, sizeof path) == 0
				? stat(path, &st)
				: -1;
		}
		if (r < 0 && errno == ENOENT)
			r = maildir_stat_base(f->path, m->base, &st);
	}
	m->mtime = r == 0 ? st.st_mtime : maildir_name_time(m->base);
	m->mtime_known = true;
	return m->mtime;
}

void maildir_folder_mtimes(struct maildir_folder *f)
{
	for (size_t i = 0; i < f->n; i++)
		(void)maildir_msg_mtime(f, &f->msgs[i]);
}

/* How often a flag change retries when the file keeps moving under it;
   each retry means another session changed the same message meanwhile. */
#define MAILDIR_CHANGE_TRIES 16

int maildir_msg_change_letters(struct maildir_folder *f, struct maildir_msg *m,
			       maildir_letters_fn *fn, void *ctx, bool verify)
{
	char from[PATH_MAX], to[PATH_MAX], name[PATH_MAX], next[64];
	/*
	 * rename(2) from the name we believe current is a compare-and-swap:
	 * it succeeds only while the file still carries exactly the letters
	 * fn was given.  When another session renamed it first (ENOENT), the
	 * current name is looked up and fn applied again to what is really
	 * there, so no concurrent change is overwritten by a stale set.
	 */
	for (int attempt = 0; attempt < MAILDIR_CHANGE_TRIES; attempt++) {
		if (fn(m->letters, next, sizeof next, ctx) < 0) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (maildir_msg_path(f, m, from, sizeof from) < 0)
			return -1;
		if (!m->in_new && strcmp(next, m->letters) == 0) {
			struct stat st;
			if (!verify || stat(from, &st) == 0)
				return 0;
			if (errno != ENOENT || maildir_msg_relocate(f, m) < 0)
				return -1;
			continue;
		}
		if (maildir_msg_name(m, false, next, name, sizeof name) < 0 ||
		    maildir_path(to, sizeof to, f->path, "cur", name) < 0)
			return -1;
		if (rename(from, to) == 0) {
			free(m->letters);
			m->letters = xstrdup(next);
			m->in_new = false;
			return 0;
		}
		if (errno != ENOENT || maildir_msg_relocate(f, m) < 0)
			return -1;
	}
	errno = EBUSY;
	return -1;
}

/* The three-way merge of maildir_msg_set_letters(): what the caller
   changed from base to target, applied to the current letters. */
struct maildir_merge {
	const char *base, *target;
};

static int maildir_merge_fn(const char *cur, char *out, size_t outsz, void *ctx)
{
	const struct maildir_merge *mg = ctx;
	bool on[256] = {false};
	for (const char *p = cur; *p != '\0'; p++)
		on[(unsigned char)*p] = true;
	for (int c = 1; c < 256; c++) {
		bool in_base = strchr(mg->base, c) != NULL;
		bool in_target = strchr(mg->target, c) != NULL;
		if (in_base && !in_target)
			on[c] = false;
		else if (in_target && !in_base)
			on[c] = true;
	}
	return maildir_letters_emit(on, out, outsz);
}

int maildir_msg_set_letters(struct maildir_folder *f, struct maildir_msg *m,
			    const char *letters)
{
	char *base = xstrdup(m->letters);
	struct maildir_merge mg = {base, letters};
	int r = maildir_msg_change_letters(f, m, maildir_merge_fn, &mg, false);
	int e = errno;
	free(base);
	errno = e;
	return r;
}

int maildir_msg_unlink(struct maildir_folder *f, struct maildir_msg *m)
{
	char path[PATH_MAX];
	for (int attempt = 0; attempt < MAILDIR_CHANGE_TRIES; attempt++) {
		if (maildir_msg_path(f, m, path, sizeof path) < 0)
			return -1;
		if (unlink(path) == 0)
			return 1;
		if (errno != ENOENT)
			return -1;
		if (maildir_msg_relocate(f, m) < 0)
			return errno == ENOENT ? 0 : -1;
	}
	errno = EBUSY;
	return -1;
}

int maildir_uidlist_read(const char *folder, struct maildir_uidlist *ul)
{
	char path[PATH_MAX];
	const char *err;
	struct buf text;
	maildir_uidlist_init(ul);
	if (maildir_path(path, sizeof path, folder, "dovecot-uidlist", "") < 0)
		return -1;
	buf_init(&text, MAILDIR_UIDLIST_MAX);
	int r = file_read_buf(path, &text);
	if (r == 1 && maildir_uidlist_parse(text.p, text.len, ul, &err) < 0) {
		maildir_uidlist_deinit(ul);
		maildir_uidlist_init(ul);
		r = 0;
	}
	int e = errno;
	buf_deinit(&text);
	errno = e;
	return r;
}

int maildir_uidlist_write(const char *folder, const struct maildir_uidlist *ul)
{
	char path[PATH_MAX];
	struct buf text;
	if (maildir_path(path, sizeof path, folder, "dovecot-uidlist", "") < 0)
		return -1;
	buf_init(&text, MAILDIR_UIDLIST_MAX);
	int r = maildir_uidlist_format(ul, &text) < 0
		    ? (errno = EFBIG, -1)
		    : file_replace(path, text.p ? text.p : "", text.len, NULL);
	int e = errno;
	buf_deinit(&text);
	errno = e;
	return r;
}
