/*
 * Maildir++ delivery (see deliver.h, reference/maildir.md §4).
 */
#include "deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "mailbox.h"
#include "junk.h"
#include "log.h"
#include "maildir.h"
#include "str.h"
#include "syncgroup.h"
#include "xalloc.h"

struct deliver_pending {
	char root[PATH_MAX];
	struct maildir_quota_rule rule;
	struct maildir_pending file;
	int rootfd; /* root, open until the link (or AT_FDCWD) */
	int qfd;    /* its maildirsize, kept from the check to the add */
};

/*
 * A delivery opens its Maildir's root once (O_PATH) and does the rest
 * relative to it (new/, maildirsize, the tmp/ file, its link and unlink):
 * the path was walked from / at each of those steps (dentry lookups were
 * ~6% of the queue manager's CPU, docs/queue.md).  The root and its
 * maildirsize stay open from the write until the link, across the first
 * flush: at most this many such deliveries at once per process hold their
 * two descriptors; beyond, a delivery works by path as before (a message
 * with a thousand local recipients must not run out of descriptors).
 */
#define DELIVER_HELD_MAX 128
static atomic_int deliver_held;

__attribute__((format(printf, 4, 5))) static void
deliver_set(struct deliver_result *r, enum deliver_status st, const char *dsn,
	    const char *fmt, ...)
{
	va_list ap;
	r->status = st;
	r->unsynced = false;
	r->pending = NULL;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	va_start(ap, fmt);
	int n = vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	if (n < 0)
		r->text[0] = '\0';
}

bool deliver_has_delivered_to(const char *msg, size_t len, const char *addr)
{
	static const char hdr[] = "delivered-to:";
	const size_t hlen = sizeof(hdr) - 1;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - msg) : len;
		if (end == i)
			break; /* the empty line ends the header */
		if (end - i > hlen && strncasecmp(msg + i, hdr, hlen) == 0) {
			struct str v = str_trim(
			    (struct str){msg + i + hlen, end - i - hlen});
			if (v.len > 0 && v.p[v.len - 1] == '\r')
				v.len--;
			if (str_case_eq_cstr(v, addr))
				return true;
		}
		i = end + 1;
	}
	return false;
}

/* root/new: its path into p.  -1 with errno when too long. */
static int deliver_new_path(char *p, size_t psz, const char *root)
{
	int n = snprintf(p, psz, "%s/new", root);
	if (n < 0 || (size_t)n >= psz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The existence test of a Maildir (root/new is a directory), and the
   file system it is on (st->st_dev: flushed with the queue's syncfs, or
   fsynced alone).  A stat(), not an open(), fstat() and close(): three
   system calls per delivery were two too many.  -1 with errno (ENOENT:
   no Maildir yet; ENOTDIR). */
static int deliver_stat_new(const char *root, struct stat *st)
{
	char p[PATH_MAX];
	if (deliver_new_path(p, sizeof(p), root) < 0 || stat(p, st) < 0)
		return -1;
	if (!S_ISDIR(st->st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* The Maildir root open as a directory (O_PATH: for the *at() calls
   only), with the existence test of deliver_stat_new() relative to it;
   -1 with errno as deliver_stat_new(). */
static int deliver_open_root(const char *root, struct stat *newst)
{
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int e = fstatat(fd, "new", newst, 0) < 0 ? errno
		: !S_ISDIR(newst->st_mode)	 ? ENOTDIR
						 : 0;
	if (e != 0) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* fsync of folder/new, for a Maildir the queue's flushes do not cover. */
static int deliver_fsync_new(const char *folder)
{
	char p[PATH_MAX];
	if (deliver_new_path(p, sizeof(p), folder) < 0)
		return -1;
	return file_fsync_dir(p);
}

static void deliver_write(const struct deliver_cfg *cfg, const char *address,
			  const char *root, int rootfd,
			  const struct stat *newst,
			  const struct maildir_quota_rule *rule,
			  const char *sender, const char *msg, size_t len,
			  struct deliver_result *r);

void deliver_maildir(const struct deliver_cfg *cfg, const char *address,
		     const char *maildir, const char *quota, const char *sender,
		     const char *msg, size_t len, struct deliver_result *r)
{
	const char *err = "";
	struct maildir_quota_rule rule;
	char root[PATH_MAX];

	if (maildir == NULL || maildir[0] != '/') {
		deliver_set(r, DELIVER_DEFER, "4.3.5",
			    "mailbox %s has no usable maildir", address);
		return;
	}
	size_t rl = strlen(maildir);
	while (rl > 1 && maildir[rl - 1] == '/')
		rl--;
	if (rl >= sizeof(root)) {
		deliver_set(r, DELIVER_DEFER, "4.3.5", "maildir too long");
		return;
	}
	memcpy(root, maildir, rl);
	root[rl] = '\0';
	if (deliver_has_delivered_to(msg, len, address)) {
		deliver_set(r, DELIVER_BOUNCE, "5.4.6",
			    "mail forwarding loop for %s", address);
		return;
	}
	if (maildir_quota_rule_make(quota, cfg->default_limit,
				    cfg->global_limit_only, &rule) < 0) {
		deliver_set(r, DELIVER_DEFER, "4.3.5",
			    "bad quota definition %s", quota);
		return;
	}
	struct stat newst;
	bool held = cfg->group_sync &&
		    atomic_fetch_add(&deliver_held, 1) < DELIVER_HELD_MAX;
	if (cfg->group_sync && !held)
		atomic_fetch_sub(&deliver_held, 1);
	int rootfd = AT_FDCWD, made = -1;
	int ns = held ? (rootfd = deliver_open_root(root, &newst))
		      : deliver_stat_new(root, &newst);
	/* a new Maildir as Postfix's virtual(8) makes it: INBOX only, the
	   default folders come at the first login (maildir_folders.h) */
	if (ns < 0 && errno == ENOENT &&
	    (made = maildir_create_inbox(root, &err)) >= 0)
		ns = held ? (rootfd = deliver_open_root(root, &newst))
			  : deliver_stat_new(root, &newst);
	if (ns < 0) {
		if (held)
			atomic_fetch_sub(&deliver_held, 1);
		deliver_set(r, DELIVER_DEFER, "4.2.0",
			    "cannot create maildir %s: %s", root,
			    strerror(errno));
		return;
	}
	/* made just now, so empty: its maildirsize without the scan (on
	   failure the quota check below scans as usual) */
	if (made == 1)
		(void)maildir_quota_create_empty(root, &rule);
	deliver_write(cfg, address, root, held ? rootfd : AT_FDCWD, &newst,
		      &rule, sender, msg, len, r);
	/* kept by a file waiting in tmp/ for the flushes */
	if (held && (r->pending == NULL || r->pending->rootfd != rootfd)) {
		close(rootfd);
		atomic_fetch_sub(&deliver_held, 1);
	}
}

/* root/.Junk/new (junk its folder path) into *st, relative to rootfd
   unless AT_FDCWD; -1 with errno. */
static int deliver_junk_new(const char *junk, int rootfd, struct stat *st)
{
	if (rootfd == AT_FDCWD)
		return deliver_stat_new(junk, st);
	if (fstatat(rootfd, ".Junk/new", st, 0) < 0)
		return -1;
	if (!S_ISDIR(st->st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/*
 * The Junk folder of a spam verdict, its new/ into *st.  A Maildir that
 * a delivery made (here or by Postfix) has no default folders until the
 * first login: the verdict makes them then, as that login would, so spam
 * to a new mailbox lands in Junk as it did when delivery made them all.
 * A Junk that its user deleted stays deleted (the message goes to the
 * inbox).  0, or -1: no Junk.
 */
static int deliver_junk_stat(const char *address, const char *root, int rootfd,
			     const char *junk, struct stat *st)
{
	if (deliver_junk_new(junk, rootfd, st) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	const char *err = "";
	int r = maildir_default_folder_want(root, "Junk", &err);
	if (r < 0)
		log_warning("cannot make the default folders of %s for <%s>: "
			    "%s: %s",
			    root, address, err, strerror(errno));
	return r > 0 ? deliver_junk_new(junk, rootfd, st) : -1;
}

/* The rest of deliver_maildir(), root/new being newst; root open as
   rootfd, or AT_FDCWD. */
static void deliver_write(const struct deliver_cfg *cfg, const char *address,
			  const char *root, int rootfd,
			  const struct stat *newst,
			  const struct maildir_quota_rule *rule,
			  const char *sender, const char *msg, size_t len,
			  struct deliver_result *r)
{
	const char *err = "";

	struct buf content;
	buf_init(&content, len + 2 * 1024 + 64);
	if (buf_printf(&content, "Return-Path: <%s>\nDelivered-To: %s\n",
		       sender, address) < 0 ||
	    buf_append(&content, msg, len) < 0) {
		buf_deinit(&content);
		deliver_set(r, DELIVER_DEFER, "4.3.0", "address too long");
		return;
	}
	uint64_t size = content.len;
	if (rule->own && rule->max_bytes > 0 && size > rule->max_bytes) {
		buf_deinit(&content);
		deliver_set(r, DELIVER_BOUNCE, "5.2.2", "%s",
			    cfg->limit_message);
		return;
	}
	struct mailbox_user u = {root, *rule};
	/* a spam verdict goes into Junk when the mailbox has one (mta/junk.h)
	 */
	char junk[PATH_MAX];
	const char *folder = root;
	bool to_junk = false;
	struct stat junkst;
	if (junk_verdict(msg, len) &&
	    snprintf(junk, sizeof(junk), "%s/.Junk", root) <
		(int)sizeof(junk) &&
	    deliver_junk_stat(address, root, rootfd, junk, &junkst) == 0) {
		folder = junk;
		newst = &junkst;
		to_junk = true;
	}
	/* the queue manager flushes a batch of deliveries with shared
	   syncfs calls (docs/queue.md) when the Maildir is on the queue's
	   file system: the file waits in tmp/ for the first */
	bool later = cfg->group_sync && syncgroup_covers(newst->st_dev);
	struct deliver_pending *pend = NULL;
	if (later) {
		pend = xcalloc(1, sizeof(*pend));
		memcpy(pend->root, root, strlen(root) + 1);
		pend->rule = *rule;
		pend->rootfd = rootfd;
		pend->qfd = -1;
	}
	/* with the root open, the folder relative to it */
	const char *rel = rootfd == AT_FDCWD ? folder : to_junk ? ".Junk" : "";
	if ((later ? mailbox_deliver_begin(
			 &u, rootfd, rel, content.p, content.len, &pend->file,
			 rootfd != AT_FDCWD ? &pend->qfd : NULL, &err)
		   : mailbox_deliver(&u, folder, content.p, content.len,
				     &err)) < 0) {
		free(pend);
		int e = errno;
		buf_deinit(&content);
		if (e == EDQUOT && strcmp(err, "quota") == 0) {
			if (cfg->overquota_bounce)
				deliver_set(r, DELIVER_BOUNCE, "5.2.2", "%s",
					    cfg->limit_message);
			else
				deliver_set(r, DELIVER_DEFER, "4.2.2", "%s",
					    cfg->limit_message);
		} else if (strcmp(err, "quota") == 0) {
			deliver_set(r, DELIVER_DEFER, "4.3.0",
				    "maildir quota of %s: %s", root,
				    strerror(e));
		} else if (e == EDQUOT || e == EFBIG || e == ENOSPC) {
			deliver_set(
			    r, e == ENOSPC ? DELIVER_DEFER : DELIVER_BOUNCE,
			    e == ENOSPC ? "4.3.1" : "5.2.2",
			    "cannot deliver to maildir: %s: %s", err,
			    strerror(e));
		} else {
			deliver_set(r, DELIVER_DEFER, "4.2.0",
				    "cannot deliver to maildir: %s: %s", err,
				    strerror(e));
		}
		return;
	}
	buf_deinit(&content);
	int fr = later ? 0 : deliver_fsync_new(folder);
	int fe = errno;
	if (fr < 0) {
		deliver_set(r, DELIVER_DEFER, "4.3.0", "fsync %s/new: %s",
			    folder, strerror(fe));
		return;
	}
	deliver_set(r, DELIVER_OK, "2.0.0",
		    to_junk ? "delivered to maildir folder Junk"
			    : "delivered to maildir");
	r->unsynced = later;
	r->pending = pend;
}

/* Closes what a pending delivery held open (deliver_maildir()). */
static void deliver_release(struct deliver_pending *p)
{
	if (p->rootfd != AT_FDCWD) {
		close(p->rootfd);
		atomic_fetch_sub(&deliver_held, 1);
	}
	free(p);
}

int deliver_link(struct deliver_result *r)
{
	struct deliver_pending *p = r->pending;
	if (p == NULL)
		return 0;
	r->pending = NULL;
	struct mailbox_user u = {p->root, p->rule};
	const char *err = "";
	int rc = mailbox_deliver_end(&u, &p->file, &p->qfd, &err);
	if (rc < 0)
		deliver_set(r, DELIVER_DEFER, "4.2.0",
			    "cannot deliver to maildir: %s: %s", err,
			    strerror(errno));
	deliver_release(p);
	return rc;
}

void deliver_drop(struct deliver_result *r)
{
	if (r->pending == NULL)
		return;
	mailbox_deliver_abort(&r->pending->file, &r->pending->qfd);
	deliver_release(r->pending);
	r->pending = NULL;
}
