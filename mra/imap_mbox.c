/*
 * Mailbox-name commands on a Maildir++ tree, as Dovecot answers them with
 * its default namespace (no prefix, '.' separator, names in modified
 * UTF-7 as stored).  The tree is flat on disk, so a folder ".A.x" may
 * exist without ".A": such a parent is listed with \Noselect (RFC 3501
 * §6.3.8) or \NonExistent (RFC 5258), and DELETE of a folder removes only
 * its own directory, leaving the children, as Dovecot does for Maildir++.
 */
#include "imap_mbox.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap_render.h"
#include "imap_utf8.h"
#include "imap_status.h"
#include "log.h"
#include "maildir.h"
#include "mra.h"
#include "xalloc.h"

/* Most patterns in one LIST-EXTENDED command. */
#define IMAP_LIST_PATTERNS_MAX 32

char *imap_mbox_path(const char *maildir, const char *name)
{
	char path[4096];
	int n;
	if (strcasecmp(name, "INBOX") == 0)
		n = snprintf(path, sizeof path, "%s", maildir);
	else if (maildir_folder_name_ok(name))
		n = snprintf(path, sizeof path, "%s/.%s", maildir, name);
	else
		return NULL;
	if (n < 0 || (size_t)n >= sizeof path)
		return NULL;
	return xstrdup(path);
}

struct maildir_folder *imap_mbox_open(const char *maildir, const char *name)
{
	char *path = imap_mbox_path(maildir, name);
	const char *err;
	struct maildir_folder *f = NULL;
	if (path != NULL && access(path, F_OK) == 0)
		f = maildir_folder_open(path, false, &err);
	free(path);
	return f;
}

/* A mailbox name: INBOX as an atom, everything else quoted (both are
   valid astrings; clients and our tests know this look). */
static void imap_mbox_quote(struct mra_conn *c, const char *s)
{
	char u8[IMAP_UTF8_NAME_MAX];
	s = imap_utf8_name_out(c, s, u8, sizeof u8); /* RFC 6855 */
	if (strcmp(s, "INBOX") == 0) {
		(void)mra_conn_write(c, s, 5);
		return;
	}
	struct buf b;
	buf_init(&b, 2 * strlen(s) + 3);
	if (imap_render_quoted(&b, s, strlen(s)) == 0)
		(void)mra_conn_write(c, b.p, b.len);
	buf_deinit(&b);
}

/*
 * IMAP LIST pattern match (RFC 3501 §6.3.8): '*' matches anything, '%'
 * anything but the separator '.'.  A backtracking matcher takes time
 * exponential in the number of wildcards ("************Z" pinned a worker
 * for seconds, issue 10), so this one walks the pattern once, keeping the
 * set of name positions reachable so far (at most len + 1 of them): time
 * O(pattern * name), memory O(name), whatever the wildcards.
 */
bool imap_mbox_match(const char *pat, const char *name)
{
	size_t len = strlen(name);
	bool small[2][256];
	bool *cur = small[0], *nxt = small[1], *heap = NULL;
	if (len + 1 > sizeof small[0]) {
		heap = xcalloc(2 * (len + 1), sizeof *heap);
		cur = heap;
		nxt = heap + len + 1;
	}
	memset(cur, 0, len + 1);
	cur[0] = true;
	size_t lo = 0; /* the lowest reachable position */
	bool any = true;
	for (const char *p = pat; *p != '\0' && any; p++) {
		if (*p == '%' && p[1] == '*')
			continue; /* "%*" is "*": the '*' covers it */
		memset(nxt, 0, len + 1);
		any = false;
		if (*p == '*') {
			while (p[1] == '*' || p[1] == '%')
				p++; /* "**", "*%", "%*": one '*' */
			for (size_t i = lo; i <= len; i++)
				nxt[i] = any = true;
		} else if (*p == '%') {
			bool run = false; /* reachable without crossing '.' */
			for (size_t i = lo; i <= len; i++) {
				run |= cur[i];
				if (run)
					nxt[i] = any = true;
				if (i < len && name[i] == '.')
					run = false;
			}
		} else {
			for (size_t i = lo; i < len; i++)
				if (cur[i] && name[i] == *p)
					nxt[i + 1] = any = true;
		}
		bool *t = cur;
		cur = nxt;
		nxt = t;
		while (any && !cur[lo])
			lo++;
	}
	bool ok = any && cur[len];
	free(heap);
	return ok;
}

static const char *imap_mbox_special_use(const char *name)
{
	static const char *const map[][2] = {
	    {"Sent", "\\Sent"},
	    {"Drafts", "\\Drafts"},
	    {"Trash", "\\Trash"},
	    {"Junk", "\\Junk"},
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strcmp(name, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

/* ---- LIST / LSUB ------------------------------------------------------ */

struct imap_list_opts {
	bool extended; /* LIST-EXTENDED syntax used */
	bool sel_subscribed, sel_remote, sel_recursive, sel_special;
	bool ret_subscribed, ret_children, ret_special;
	const struct imap_arg *ret_status; /* RFC 5819, or NULL */
	const char *pats[IMAP_LIST_PATTERNS_MAX];
	size_t npats;
};

/* one candidate name: a folder, a subscription or an implied parent */
struct imap_list_ent {
	char *name;
	bool exists, subscribed, children, sub_children;
};

static int imap_list_ent_cmp(const void *a, const void *b)
{
	const struct imap_list_ent *x = a, *y = b;
	return strcmp(x->name, y->name);
}

struct imap_list_set {
	struct imap_list_ent *e;
	size_t n, cap;
};

static void imap_list_add(struct imap_list_set *set, const char *name,
			  bool exists, bool subscribed)
{
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 32;
		set->e = xrealloc(set->e, set->cap * sizeof *set->e);
	}
	set->e[set->n++] = (struct imap_list_ent){xstrdup(name), exists,
						  subscribed, false, false};
	/* every ancestor is a candidate too (implied parent) */
	char *dot = strrchr(set->e[set->n - 1].name, '.');
	if (dot != NULL) {
		char *parent =
		    xmemdup0(name, (size_t)(dot - set->e[set->n - 1].name));
		imap_list_add(set, parent, false, false);
		free(parent);
	}
}

/* Sorts, merges duplicates and works out the children flags. */
static void imap_list_merge(struct imap_list_set *set)
{
	if (set->n == 0)
		return;
	qsort(set->e, set->n, sizeof *set->e, imap_list_ent_cmp);
	size_t w = 0;
	for (size_t i = 0; i < set->n; i++) {
		if (w > 0 && strcmp(set->e[w - 1].name, set->e[i].name) == 0) {
			set->e[w - 1].exists |= set->e[i].exists;
			set->e[w - 1].subscribed |= set->e[i].subscribed;
			free(set->e[i].name);
			continue;
		}
		set->e[w++] = set->e[i];
	}
	set->n = w;
	/* sorted: the descendants of e[i] follow it directly */
	for (size_t i = 0; i < set->n; i++) {
		size_t len = strlen(set->e[i].name);
		for (size_t j = i + 1; j < set->n; j++) {
			const char *d = set->e[j].name;
			if (strncmp(d, set->e[i].name, len) != 0)
				break;
			if (d[len] != '.')
				continue; /* "AB" after "A": keep looking */
			set->e[i].children |= set->e[j].exists;
			set->e[i].sub_children |= set->e[j].subscribed;
		}
	}
}

static void imap_list_free(struct imap_list_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->e[i].name);
	free(set->e);
}

static bool imap_list_matches(const struct imap_list_opts *o, const char *name)
{
	for (size_t i = 0; i < o->npats; i++) {
		const char *p = o->pats[i];
		/* INBOX is case-insensitive (RFC 3501 §5.1) */
		if (strcmp(name, "INBOX") == 0 &&
		    strncasecmp(p, "INBOX", 5) == 0) {
			char tmp[1024];
			int k = snprintf(tmp, sizeof tmp, "INBOX%s", p + 5);
			if (k > 0 && (size_t)k < sizeof tmp &&
			    imap_mbox_match(tmp, name))
				return true;
			continue;
		}
		if (imap_mbox_match(p, name))
			return true;
	}
	return false;
}

/* Parses "LIST [(sel)] ref pat|(pats) [RETURN (ret)]" into o (pattern
   strings point into a static buffer per pattern). */
static const char *imap_list_parse(const struct imap_cmd *cmd, bool lsub,
				   struct imap_list_opts *o, char pbuf[][1024])
{
	const struct imap_arg *a = cmd->args;
	size_t n = cmd->nargs, i = 0;
	memset(o, 0, sizeof *o);
	if (!lsub && n > 0 && a[0].type == IMAP_ARG_LIST) {
		o->extended = true;
		for (size_t k = 0; k < a[0].n; k++) {
			const char *opt = a[0].list[k].type == IMAP_ARG_ATOM
					      ? a[0].list[k].s
					      : "";
			if (strcasecmp(opt, "SUBSCRIBED") == 0)
				o->sel_subscribed = true;
			else if (strcasecmp(opt, "REMOTE") == 0)
				o->sel_remote = true; /* no remote mailboxes */
			else if (strcasecmp(opt, "RECURSIVEMATCH") == 0)
				o->sel_recursive = true;
			else if (strcasecmp(opt, "SPECIAL-USE") == 0)
				o->sel_special = true;
			else
				return "BAD Unknown LIST selection option.";
		}
		/* RFC 5258 §3: RECURSIVEMATCH alone is an error */
		if (o->sel_recursive && !o->sel_subscribed && !o->sel_special)
			return "BAD RECURSIVEMATCH needs another option.";
		i = 1;
	}
	if (n < i + 2 || !imap_arg_is_astring(&a[i]))
		return "BAD Invalid arguments.";
	const char *ref = a[i].s;
	const struct imap_arg *pa = &a[i + 1];
	size_t np = 1;
	if (pa->type == IMAP_ARG_LIST && !lsub) {
		o->extended = true;
		np = pa->n;
		pa = pa->list;
	}
	if (np == 0 || np > IMAP_LIST_PATTERNS_MAX)
		return "BAD Invalid arguments.";
	for (size_t k = 0; k < np; k++) {
		if (!imap_arg_is_astring(&pa[k]))
			return "BAD Invalid arguments.";
		int w = snprintf(pbuf[k], 1024, "%s%s", ref, pa[k].s);
		if (w < 0 || w >= 1024)
			return "BAD Pattern too long.";
		/* the empty pattern asks for the delimiter, no names */
		if (pa[k].s[0] == '\0')
			pbuf[k][0] = '\0';
		o->pats[o->npats++] = pbuf[k];
	}
	i += 2;
	if (i < n) {
		if (lsub || a[i].type != IMAP_ARG_ATOM ||
		    strcasecmp(a[i].s, "RETURN") != 0 || i + 2 != n ||
		    a[i + 1].type != IMAP_ARG_LIST)
			return "BAD Invalid arguments.";
		o->extended = true;
		const struct imap_arg *r = &a[i + 1];
		for (size_t k = 0; k < r->n; k++) {
			const char *opt = r->list[k].type == IMAP_ARG_ATOM
					      ? r->list[k].s
					      : "";
			if (strcasecmp(opt, "SUBSCRIBED") == 0)
				o->ret_subscribed = true;
			else if (strcasecmp(opt, "CHILDREN") == 0)
				o->ret_children = true;
			else if (strcasecmp(opt, "SPECIAL-USE") == 0)
				o->ret_special = true;
			else if (strcasecmp(opt, "STATUS") == 0 &&
				 k + 1 < r->n &&
				 imap_status_items_ok(&r->list[k + 1]))
				o->ret_status = &r->list[++k];
			else
				return "BAD Unknown LIST return option.";
		}
	}
	return NULL;
}

static void imap_list_one(struct mra_conn *c, const char *verb,
			  const struct imap_list_opts *o,
			  const struct imap_list_ent *e, bool lsub,
			  bool childinfo)
{
	char attrs[256] = "";
	size_t al = 0;
#define ATTR(s)                                                                \
	do {                                                                   \
		int k_ = snprintf(attrs + al, sizeof attrs - al, "%s%s",       \
				  al ? " " : "", (s));                         \
		if (k_ > 0 && (size_t)k_ < sizeof attrs - al)                  \
			al += (size_t)k_;                                      \
	} while (0)
	if (lsub) {
		if (!e->subscribed || !e->exists)
			ATTR("\\Noselect");
	} else {
		if (!e->exists)
			ATTR(o->extended ? "\\NonExistent" : "\\Noselect");
		if (o->sel_subscribed || o->ret_subscribed) {
			if (e->subscribed)
				ATTR("\\Subscribed");
		}
		/* in LIST-EXTENDED syntax Dovecot tells children only
		   when RETURN (CHILDREN) asks (RFC 5258 §4 allows both) */
		bool kids = !o->extended || o->ret_children;
		if (kids && (e->exists || e->children))
			ATTR(e->children ? "\\HasChildren" : "\\HasNoChildren");
		const char *su =
		    e->exists ? imap_mbox_special_use(e->name) : NULL;
		if (su != NULL)
			ATTR(su);
	}
#undef ATTR
	(void)mra_conn_printf(c, "* %s (%s) \".\" ", verb, attrs);
	imap_mbox_quote(c, e->name);
	if (childinfo)
		(void)mra_conn_printf(c, " (CHILDINFO (\"SUBSCRIBED\"))");
	(void)mra_conn_write(c, "\r\n", 2);
}

/*
 * RECURSIVEMATCH (RFC 5258 §3.5): whether the unsubscribed e[i] gets a
 * CHILDINFO ("SUBSCRIBED") line.  As Dovecot answers: only for a
 * subscribed descendant that the patterns do not list themselves (with
 * "(a.b a.b.c)" a.b.c is listed, so a.b gets no line).
 */
static bool imap_list_childinfo(const struct imap_list_set *set, size_t i,
				const struct imap_list_opts *o)
{
	const char *name = set->e[i].name;
	size_t len = strlen(name);
	for (size_t j = i + 1; j < set->n; j++) {
		const char *d = set->e[j].name;
		if (strncmp(d, name, len) != 0)
			break;
		if (d[len] == '.' && set->e[j].subscribed &&
		    !imap_list_matches(o, d))
			return true;
	}
	return false;
}

const char *imap_mbox_list(const struct imap_mbox_ctx *x)
{
	bool lsub = strcmp(x->cmd->name, "LSUB") == 0;
	struct imap_list_opts o;
	static char pbuf[IMAP_LIST_PATTERNS_MAX][1024];
	const char *err = imap_list_parse(x->cmd, lsub, &o, pbuf);
	if (err != NULL)
		return err;
	if (o.npats == 1 && o.pats[0][0] == '\0' && !o.sel_subscribed &&
	    !o.sel_special) {
		/* RFC 3501 §6.3.8: the hierarchy delimiter and root */
		(void)mra_conn_printf(x->c, "* %s (\\Noselect) \".\" \"\"\r\n",
				      x->cmd->name);
		return lsub ? "OK Lsub completed." : "OK List completed.";
	}
	char **names = NULL, **subs = NULL;
	long n = maildir_folder_list(x->maildir, &names);
	if (n < 0)
		return "NO [SERVERBUG] Cannot list mailboxes.";
	long ns = maildir_subs_read(x->maildir, &subs);
	if (ns < 0) {
		maildir_names_free(names, (size_t)n);
		return "NO [SERVERBUG] Cannot read subscriptions.";
	}
	struct imap_list_set set = {NULL, 0, 0};
	imap_list_add(&set, "INBOX", true, false);
	for (long i = 0; i < n; i++)
		imap_list_add(&set, names[i], true, false);
	for (long i = 0; i < ns; i++)
		imap_list_add(
		    &set, strcasecmp(subs[i], "INBOX") == 0 ? "INBOX" : subs[i],
		    false, true);
	maildir_names_free(names, (size_t)n);
	maildir_names_free(subs, (size_t)ns);
	imap_list_merge(&set);
	for (size_t i = 0; i < set.n; i++) {
		const struct imap_list_ent *e = &set.e[i];
		if (!imap_list_matches(&o, e->name))
			continue;
		bool childinfo = false;
		if (lsub) {
			/* RFC 3501 §6.3.9: an unsubscribed parent of a
			   subscribed name shows for '%' as \Noselect */
			if (!e->subscribed && !e->sub_children)
				continue;
			if (!e->subscribed) {
				bool pct = false;
				for (size_t k = 0; k < o.npats; k++)
					pct |= strchr(o.pats[k], '%') != NULL;
				if (!pct)
					continue;
			}
		} else if (o.sel_subscribed) {
			if (!e->subscribed) {
				if (!o.sel_recursive ||
				    !imap_list_childinfo(&set, i, &o))
					continue;
				childinfo = true;
			}
		} else if (o.sel_special) {
			if (!e->exists ||
			    imap_mbox_special_use(e->name) == NULL)
				continue;
		} else if (!e->exists && !e->children) {
			continue; /* a subscription without a mailbox */
		}
		imap_list_one(x->c, x->cmd->name, &o, e, lsub, childinfo);
		/* LIST-STATUS: after the mailbox's LIST line, only for one
		   that can be selected */
		if (o.ret_status != NULL && e->exists)
			(void)imap_status_write(x->c, x->maildir, e->name,
						o.ret_status);
	}
	imap_list_free(&set);
	return lsub ? "OK Lsub completed." : "OK List completed.";
}

/* ---- SUBSCRIBE, RENAME, DELETE ---------------------------------------- */

const char *imap_mbox_subscribe(const struct imap_mbox_ctx *x)
{
	const struct imap_arg *a = x->cmd->args;
	if (x->cmd->nargs != 1 || !imap_arg_is_astring(&a[0]))
		return "BAD Invalid arguments.";
	bool on = strcmp(x->cmd->name, "SUBSCRIBE") == 0;
	const char *name = strcasecmp(a[0].s, "INBOX") == 0 ? "INBOX" : a[0].s;
	if (strcmp(name, "INBOX") != 0 && !maildir_folder_name_ok(name))
		return "NO [CANNOT] Invalid mailbox name.";
	/* Dovecot refuses to subscribe a mailbox that does not exist */
	if (on) {
		char *path = imap_mbox_path(x->maildir, name);
		bool exists = path != NULL && access(path, F_OK) == 0;
		free(path);
		if (!exists)
			return "NO [NONEXISTENT] Mailbox doesn't exist.";
	}
	if (maildir_subs_set(x->maildir, name, on) < 0) {
		log_error("imap: %s/subscriptions: %s", x->maildir,
			  strerror(errno));
		return "NO [SERVERBUG] Cannot update subscriptions.";
	}
	return on ? "OK Subscribe completed." : "OK Unsubscribe completed.";
}

const char *imap_mbox_rename(const struct imap_mbox_ctx *x)
{
	const struct imap_arg *a = x->cmd->args;
	if (x->cmd->nargs != 2 || !imap_arg_is_astring(&a[0]) ||
	    !imap_arg_is_astring(&a[1]))
		return "BAD Invalid arguments.";
	const char *from = a[0].s, *to = a[1].s;
	if (strcasecmp(to, "INBOX") == 0)
		return "NO [ALREADYEXISTS] Target mailbox already exists.";
	if (!maildir_folder_name_ok(to))
		return "NO [CANNOT] Invalid mailbox name.";
	int r;
	if (strcasecmp(from, "INBOX") == 0)
		r = maildir_inbox_move(x->maildir, to) < 0 ? -1 : 0;
	else if (!maildir_folder_name_ok(from))
		return "NO [NONEXISTENT] Mailbox doesn't exist.";
	else
		r = maildir_folder_rename(x->maildir, from, to);
	if (r == 0)
		return "OK Rename completed.";
	switch (errno) {
	case EEXIST:
		return "NO [ALREADYEXISTS] Target mailbox already exists.";
	case ENOENT:
		return "NO [NONEXISTENT] Mailbox doesn't exist.";
	case EINVAL:
		return "NO [CANNOT] Can't rename mailbox under itself.";
	default:
		log_error("imap: rename %s: %s", x->maildir, strerror(errno));
		return "NO [SERVERBUG] Rename failed.";
	}
}

const char *imap_mbox_delete(const struct imap_mbox_ctx *x)
{
	const struct imap_arg *a = x->cmd->args;
	if (x->cmd->nargs != 1 || !imap_arg_is_astring(&a[0]))
		return "BAD Invalid arguments.";
	if (strcasecmp(a[0].s, "INBOX") == 0)
		return "NO INBOX can't be deleted.";
	char *path = imap_mbox_path(x->maildir, a[0].s);
	if (path == NULL || access(path, F_OK) < 0) {
		free(path);
		return "NO [NONEXISTENT] Mailbox doesn't exist.";
	}
	/* Maildir++ is flat: ".A.x" lives beside ".A", so deleting A
	   leaves its children (A then lists as \Noselect), as Dovecot */
	int r = maildir_folder_delete(path);
	if (r < 0)
		log_error("imap: delete %s: %s", path, strerror(errno));
	free(path);
	return r < 0 ? "NO [SERVERBUG] Delete failed." : "OK Delete completed.";
}

/* ---- QUOTA ------------------------------------------------------------ */

#define IMAP_QUOTA_ROOT "User quota"

static void imap_quota_line(const struct imap_mbox_ctx *x)
{
	struct maildir_quota_rule rule;
	struct maildir_quota lim, q;
	/* the limit is the user's (authd, like Dovecot's quota_rule);
	   without one, line 1 of maildirsize, as Dovecot's maildir quota;
	   the one check of lib/maildir_quota rebuilds a missing file or one
	   with another definition, so that Dovecot and youju-mta agree */
	if (maildir_quota_rule_make(x->quota, 0, false, &rule) < 0)
		log_warning("imap: bad quota definition %s", x->quota);
	if (maildir_quota_check(x->maildir, &rule, 0, 0, 0, &q) < 0) {
		log_warning("imap: %s/maildirsize: %s", x->maildir,
			    strerror(errno));
		memset(&q, 0, sizeof q);
	}
	lim.max_bytes = rule.own ? rule.max_bytes : q.max_bytes;
	lim.max_count = rule.own ? rule.max_count : q.max_count;
	uint64_t bytes = q.bytes > 0 ? (uint64_t)q.bytes : 0;
	uint64_t count = q.count > 0 ? (uint64_t)q.count : 0;
	(void)mra_conn_printf(x->c, "* QUOTA \"" IMAP_QUOTA_ROOT "\" (");
	bool sp = false;
	if (lim.max_bytes > 0) {
		/* KiB, rounded up as Dovecot and Courier do */
		(void)mra_conn_printf(
		    x->c, "STORAGE %llu %llu",
		    (unsigned long long)((bytes + 1023) / 1024),
		    (unsigned long long)(lim.max_bytes / 1024));
		sp = true;
	}
	if (lim.max_count > 0)
		(void)mra_conn_printf(x->c, "%sMESSAGE %llu %llu",
				      sp ? " " : "", (unsigned long long)count,
				      (unsigned long long)lim.max_count);
	(void)mra_conn_write(x->c, ")\r\n", 3);
}

const char *imap_mbox_quota(const struct imap_mbox_ctx *x)
{
	const struct imap_arg *a = x->cmd->args;
	const char *verb = x->cmd->name;
	if (strcmp(verb, "SETQUOTA") == 0)
		return "NO [NOPERM] Quota can be changed only by the "
		       "administrator.";
	if (x->cmd->nargs != 1 || !imap_arg_is_astring(&a[0]))
		return "BAD Invalid arguments.";
	if (strcmp(verb, "GETQUOTA") == 0) {
		if (strcmp(a[0].s, IMAP_QUOTA_ROOT) != 0)
			return "NO [NONEXISTENT] Quota root doesn't exist.";
		imap_quota_line(x);
		return "OK Getquota completed.";
	}
	char *path = imap_mbox_path(x->maildir, a[0].s);
	bool exists = path != NULL && access(path, F_OK) == 0;
	free(path);
	if (!exists)
		return "NO [NONEXISTENT] Mailbox doesn't exist.";
	/* one quota root for the whole Maildir (maildirsize) */
	(void)mra_conn_printf(x->c, "* QUOTAROOT ");
	imap_mbox_quote(x->c,
			strcasecmp(a[0].s, "INBOX") == 0 ? "INBOX" : a[0].s);
	(void)mra_conn_printf(x->c, " \"" IMAP_QUOTA_ROOT "\"\r\n");
	imap_quota_line(x);
	return "OK Getquotaroot completed.";
}
