/*
 * Maildir++ delivery (see deliver.h, reference/maildir.md §4).
 */
#include "deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "maildir.h"
#include "str.h"

#define DELIVER_QUOTA_DEF_MAX 128

__attribute__((format(printf, 4, 5))) static void
deliver_set(struct deliver_result *r, enum deliver_status st, const char *dsn,
	    const char *fmt, ...)
{
	va_list ap;
	r->status = st;
	snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
	va_start(ap, fmt);
	int n = vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	if (n < 0)
		r->text[0] = '\0';
}

int deliver_quota_parse(const char *s, uint64_t *bytes_r, uint64_t *count_r)
{
	char line[DELIVER_QUOTA_DEF_MAX];
	struct maildir_quota q;
	int n = snprintf(line, sizeof(line), "%s\n", s);
	if (n < 2 || (size_t)n >= sizeof(line))
		return -1;
	if (maildir_quota_parse(line, (size_t)n, &q) < 0)
		return -1;
	*bytes_r = q.max_bytes;
	*count_r = q.max_count;
	return 0;
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

/* The usage check of reference/maildir.md §4: 1 over, 0 fits, -1 error. */
static int deliver_quota_check(const char *root, uint64_t max_bytes,
			       uint64_t max_count, uint64_t size)
{
	struct maildir_quota q;
	bool fresh = false;
	int r = maildir_quota_read(root, &q);
	if (r < 0)
		return -1;
	if (r == 0 || q.max_bytes != max_bytes || q.max_count != max_count) {
		/* missing, broken, or another limit: ours wins (rebuild) */
		if (maildir_quota_recalc(root, max_bytes, max_count, &q) < 0)
			return -1;
		fresh = true;
	}
	for (;;) {
		bool over =
		    (max_bytes > 0 && (uint64_t)q.bytes + size > max_bytes) ||
		    (max_count > 0 && (uint64_t)q.count + 1 > max_count);
		if (!over)
			return 0;
		if (fresh)
			return 1;
		/* do not trust a file that says "over": recount once */
		if (maildir_quota_recalc(root, max_bytes, max_count, &q) < 0)
			return -1;
		fresh = true;
	}
}

/* Opens root/new (O_DIRECTORY): the existence test of the Maildir and,
   kept open, the handle whose fsync makes the delivery durable.  -1 with
   errno (ENOENT: no Maildir yet). */
static int deliver_open_new(const char *root)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s/new", root);
	if (n < 0 || (size_t)n >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void deliver_write(const struct deliver_cfg *cfg, const char *address,
			  const char *root, int newfd, uint64_t max_bytes,
			  uint64_t max_count, const char *sender,
			  const char *msg, size_t len,
			  struct deliver_result *r);

void deliver_maildir(const struct deliver_cfg *cfg, const char *address,
		     const char *maildir, const char *quota, const char *sender,
		     const char *msg, size_t len, struct deliver_result *r)
{
	const char *err = "";
	uint64_t max_bytes = cfg->default_limit, max_count = 0;
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
	if (!cfg->global_limit_only && quota != NULL && quota[0] != '\0' &&
	    deliver_quota_parse(quota, &max_bytes, &max_count) < 0) {
		deliver_set(r, DELIVER_DEFER, "4.3.5",
			    "bad quota definition %s", quota);
		return;
	}
	int newfd = deliver_open_new(root);
	if (newfd < 0 && errno == ENOENT && maildir_create(root, &err) == 0)
		newfd = deliver_open_new(root);
	if (newfd < 0) {
		deliver_set(r, DELIVER_DEFER, "4.2.0",
			    "cannot create maildir %s: %s", root,
			    strerror(errno));
		return;
	}
	deliver_write(cfg, address, root, newfd, max_bytes, max_count, sender,
		      msg, len, r);
	close(newfd);
}

/* The rest of deliver_maildir(), with root/new open as newfd. */
static void deliver_write(const struct deliver_cfg *cfg, const char *address,
			  const char *root, int newfd, uint64_t max_bytes,
			  uint64_t max_count, const char *sender,
			  const char *msg, size_t len, struct deliver_result *r)
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
	if (max_bytes > 0 && size > max_bytes) {
		buf_deinit(&content);
		deliver_set(r, DELIVER_BOUNCE, "5.2.2", "%s",
			    cfg->limit_message);
		return;
	}
	if (max_bytes > 0 || max_count > 0) {
		int over =
		    deliver_quota_check(root, max_bytes, max_count, size);
		if (over < 0) {
			buf_deinit(&content);
			deliver_set(r, DELIVER_DEFER, "4.3.0",
				    "maildir quota of %s: %s", root,
				    strerror(errno));
			return;
		}
		if (over > 0) {
			buf_deinit(&content);
			if (cfg->overquota_bounce)
				deliver_set(r, DELIVER_BOUNCE, "5.2.2", "%s",
					    cfg->limit_message);
			else
				deliver_set(r, DELIVER_DEFER, "4.2.2", "%s",
					    cfg->limit_message);
			return;
		}
	}
	if (maildir_store(root, content.p, content.len, true, NULL, 0, NULL,
			  &err) < 0) {
		int e = errno;
		buf_deinit(&content);
		if (e == EDQUOT || e == EFBIG || e == ENOSPC)
			deliver_set(
			    r, e == ENOSPC ? DELIVER_DEFER : DELIVER_BOUNCE,
			    e == ENOSPC ? "4.3.1" : "5.2.2",
			    "cannot deliver to maildir: %s: %s", err,
			    strerror(e));
		else
			deliver_set(r, DELIVER_DEFER, "4.2.0",
				    "cannot deliver to maildir: %s: %s", err,
				    strerror(e));
		return;
	}
	buf_deinit(&content);
	if (fsync(newfd) < 0) {
		deliver_set(r, DELIVER_DEFER, "4.3.0", "fsync %s/new: %s", root,
			    strerror(errno));
		return;
	}
	if ((max_bytes > 0 || max_count > 0) &&
	    maildir_quota_add(root, (int64_t)size, 1) < 0) {
		/* the message is stored: a lost delta is repaired by the
		   next recalculation (maildir.md §6) */
	}
	deliver_set(r, DELIVER_OK, "2.0.0", "delivered to maildir");
}
