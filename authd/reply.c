/*
 * Reply formatting for youju-authd.  The key order is the one courier's
 * authdaemond writes (reference/authd-protocol.md §3.1), because some
 * consumers stop at the first key they need and tests compare bytes.  No
 * value may carry an LF (that would forge a key), so every value is cut at
 * its first LF; NAME is also cut at its first comma as courier does.
 */
#include "reply.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const char *const disable_names[AUTHD_DIS_COUNT] = {
    "disablesmtpd",   "disablesmtp", "disablewebmail",
    "disablenetdisk", "disableimap", "disablepop3",
};

const char *authd_disable_name(unsigned bit_index)
{
	return bit_index < AUTHD_DIS_COUNT ? disable_names[bit_index] : "?";
}

void authd_user_free(struct authd_user *u)
{
	if (u == NULL)
		return;
	if (u->passwd != NULL)
		explicit_bzero(u->passwd, strlen(u->passwd));
	if (u->clearpw != NULL)
		explicit_bzero(u->clearpw, strlen(u->clearpw));
	free(u->address);
	free(u->passwd);
	free(u->clearpw);
	free(u->name);
	free(u->home);
	free(u->maildir);
	free(u->quota);
	free(u->netdiskquota);
	memset(u, 0, sizeof(*u));
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct authd_user *authd_user_dup(const struct authd_user *u)
{
	struct authd_user *d = xmalloc(sizeof(*d));
	*d = *u;
	d->address = dup_or_null(u->address);
	d->passwd = dup_or_null(u->passwd);
	d->clearpw = dup_or_null(u->clearpw);
	d->name = dup_or_null(u->name);
	d->home = dup_or_null(u->home);
	d->maildir = dup_or_null(u->maildir);
	d->quota = dup_or_null(u->quota);
	d->netdiskquota = dup_or_null(u->netdiskquota);
	return d;
}

bool authd_user_usable(const struct authd_user *u)
{
	return u->mailbox_active && u->domain_active && !u->expired;
}

/* Appends value up to its first LF (or stop byte when not 0). */
static int append_cut(struct buf *out, const char *v, char stop)
{
	size_t n = strcspn(v, "\n");
	if (stop != '\0') {
		const char *c = memchr(v, stop, n);
		if (c != NULL)
			n = (size_t)(c - v);
	}
	return buf_append(out, v, n);
}

int authd_reply_kv(struct buf *out, const char *key, const char *value)
{
	if (value == NULL)
		return 0;
	if (buf_append_str(out, key) < 0 || buf_append_char(out, '=') < 0 ||
	    append_cut(out, value, '\0') < 0 || buf_append_char(out, '\n') < 0)
		return -1;
	return 0;
}

int authd_user_options(const struct authd_user *u, struct buf *out)
{
	for (unsigned i = 0; i < AUTHD_DIS_COUNT; i++) {
		if (buf_printf(out, "%s%s=%d", i > 0 ? "," : "",
			       disable_names[i],
			       (u->disabled & (1u << i)) != 0) < 0)
			return -1;
	}
	if (u->netdiskquota != NULL && u->netdiskquota[0] != '\0') {
		/* a comma would split the entry: keep what comes before */
		size_t n = strcspn(u->netdiskquota, ",\n");
		if (buf_append_str(out, ",netdiskquota=") < 0 ||
		    buf_append(out, u->netdiskquota, n) < 0)
			return -1;
	}
	return 0;
}

/* True when list (comma-separated name=value) has an entry called
   name[0..nlen). */
static bool options_have(const char *list, size_t listlen, const char *name,
			 size_t nlen)
{
	const char *p = list, *end = list + listlen;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma != NULL ? comma : end;
		const char *eq = memchr(p, '=', (size_t)(e - p));
		size_t l = (size_t)((eq != NULL ? eq : e) - p);
		if (l == nlen && memcmp(p, name, nlen) == 0)
			return true;
		p = e + 1;
	}
	return false;
}

int authd_options_merge(const char *account, const char *defaults,
			struct buf *out)
{
	size_t start = out->len;
	if (account == NULL)
		account = "";
	if (append_cut(out, account, '\0') < 0)
		return -1;
	if (defaults == NULL)
		return 0;
	const char *p = defaults;
	while (*p != '\0') {
		size_t l = strcspn(p, ",\n");
		/* tolerate spaces around entries in the config value */
		const char *s = p;
		size_t sl = l;
		while (sl > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			sl--;
		}
		while (sl > 0 && (s[sl - 1] == ' ' || s[sl - 1] == '\t'))
			sl--;
		if (sl > 0) {
			const char *eq = memchr(s, '=', sl);
			size_t nlen = eq != NULL ? (size_t)(eq - s) : sl;
			const char *have = out->p != NULL ? out->p + start : "";
			if (!options_have(have, out->len - start, s, nlen)) {
				if (out->len > start &&
				    buf_append_char(out, ',') < 0)
					return -1;
				if (buf_append(out, s, sl) < 0)
					return -1;
			}
		}
		p += l;
		if (*p == '\0' || *p == '\n')
			break;
		p++;
	}
	return 0;
}

int authd_reply_user(struct buf *out, const struct authd_user *u,
		     const char *passwd2, bool with_passwd, bool with_name,
		     bool with_quota, const char *defaults)
{
	struct buf opts;
	buf_init(&opts, 4096);
	int rc = -1;
	if (buf_printf(out, "UID=%lu\nGID=%lu\n", u->uid, u->gid) < 0 ||
	    authd_reply_kv(out, "HOME", u->home) < 0 ||
	    authd_reply_kv(out, "ADDRESS", u->address) < 0)
		goto out;
	if (with_name && u->name != NULL && u->name[0] != '\0') {
		if (buf_append_str(out, "NAME=") < 0 ||
		    append_cut(out, u->name, ',') < 0 ||
		    buf_append_char(out, '\n') < 0)
			goto out;
	}
	if (u->maildir != NULL && u->maildir[0] != '\0' &&
	    authd_reply_kv(out, "MAILDIR", u->maildir) < 0)
		goto out;
	if (with_quota && authd_reply_kv(out, "QUOTA", u->quota) < 0)
		goto out;
	if (with_passwd && u->passwd != NULL && u->passwd[0] != '\0' &&
	    authd_reply_kv(out, "PASSWD", u->passwd) < 0)
		goto out;
	if (passwd2 != NULL && authd_reply_kv(out, "PASSWD2", passwd2) < 0)
		goto out;
	if (authd_user_options(u, &opts) < 0)
		goto out;
	struct buf merged;
	buf_init(&merged, 4096);
	if (authd_options_merge(buf_cstr(&opts), defaults, &merged) < 0) {
		buf_deinit(&merged);
		goto out;
	}
	if (merged.len > 0 &&
	    authd_reply_kv(out, "OPTIONS", buf_cstr(&merged)) < 0) {
		buf_deinit(&merged);
		goto out;
	}
	buf_deinit(&merged);
	if (buf_append_str(out, ".\n") < 0)
		goto out;
	rc = 0;
out:
	buf_deinit(&opts);
	return rc;
}

int authd_reply_enum(struct buf *out, const struct authd_user *u,
		     const char *defaults)
{
	struct buf opts, merged;
	buf_init(&opts, 4096);
	buf_init(&merged, 4096);
	int rc = -1;
	/* TAB separates the fields: a TAB inside a value would shift them */
	const char *f[3] = {u->address, u->home,
			    u->maildir != NULL ? u->maildir : ""};
	for (int i = 0; i < 3; i++) {
		if (f[i] == NULL || strpbrk(f[i], "\t\n") != NULL) {
			rc = 0; /* skip the record */
			goto out;
		}
	}
	if (authd_user_options(u, &opts) < 0 ||
	    authd_options_merge(buf_cstr(&opts), defaults, &merged) < 0)
		goto out;
	if (buf_printf(out, "%s\t%lu\t%lu\t%s\t%s\t%s\n", f[0], u->uid, u->gid,
		       f[1], f[2], buf_cstr(&merged)) < 0)
		goto out;
	rc = 0;
out:
	buf_deinit(&opts);
	buf_deinit(&merged);
	return rc;
}
