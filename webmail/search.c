/*
 * GET /api/search: messages of one folder or of all folders whose
 * subject, sender, recipients or text contain a string, within a date
 * range, with or without attachments, unread or flagged only (the list's
 * quick filters) (docs/webmail.md "Search").
 *
 * The text matcher is youju-mra's SEARCH matcher (lib/mailmatch): the
 * same decoding, case folding and address normal form, so a search finds
 * in webmail what it finds over IMAP.  The folder is the shared scan
 * (fcache_get) and the subject, date and attachment mark are the list's
 * kept summaries (listcache.c), already decoded and folded in memory: a
 * search by subject walks them and reads nothing.  From, To and Cc are
 * answered from youju.index where the message has a valid entry; the
 * text, and messages without an entry, are read from their files.  The
 * date is the Date: field's (the arrival time without one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fcache.h"
#include "listcache.h"
#include "log.h"
#include "maildir.h"
#include "maildir_folders.h"
#include "maildir_index.h"
#include "mailmatch.h"
#include "str.h"
#include "summary.h"
#include "wm.h"
#include "xalloc.h"

/* Most matches kept; past it the reply says "limited". */
#define SEARCH_HITS_MAX 10000
/* Most folders searched by one "all folders" request. */
#define SEARCH_FOLDERS_MAX 1000
/* Longest search string (bytes). */
#define SEARCH_Q_MAX 500

enum {
	IN_SUBJECT = 1,
	IN_FROM = 2,
	IN_TO = 4, /* To and Cc */
	IN_BODY = 8,
};

/*
 * The needle's Horspool shift table, made once per request: glibc's
 * memmem makes its own on every call, which was most of the cost of
 * matching 50,000 kept subjects.
 */
struct finder {
	const unsigned char *n;
	size_t len;
	size_t shift[256];
};

static void finder_init(struct finder *fd, const char *n, size_t len)
{
	fd->n = (const unsigned char *)n;
	fd->len = len;
	for (size_t c = 0; c < 256; c++)
		fd->shift[c] = len;
	for (size_t i = 0; i + 1 < len; i++)
		fd->shift[fd->n[i]] = len - 1 - i;
}

/* Whether h contains the needle (an empty needle is everywhere). */
static bool finder_in(const struct finder *fd, struct str h)
{
	if (fd->len == 0)
		return true;
	const unsigned char *p = (const unsigned char *)h.p;
	const unsigned char last = fd->n[fd->len - 1];
	for (size_t i = 0; h.len >= fd->len && i <= h.len - fd->len;) {
		unsigned char c = p[i + fd->len - 1];
		if (c == last && memcmp(p + i, fd->n, fd->len - 1) == 0)
			return true;
		i += fd->shift[c];
	}
	return false;
}

struct sfolder {
	char *name;		  /* UTF-8, IMAP view */
	struct fcache_scan *scan; /* shared, read-only */
	struct listcache *lc;	  /* the list's kept summaries */
	/* for the fields not kept (from, to, body), opened when first
	   needed: youju.index, and a copy of the scan to read files
	   through (reading updates the folder) */
	struct maildir_index *ix;
	struct maildir_folder *own;
};

struct hit {
	size_t folder;		     /* index into the folders */
	const struct maildir_msg *m; /* the scan's */
	const struct wm_summary *s;  /* borrowed from the folder's lc */
};

struct search {
	unsigned in;
	struct buf needle;    /* folded */
	struct finder finder; /* over needle */
	bool has_q;
	int64_t since, before;	  /* UTC seconds; before exclusive; 0 none */
	int attachment;		  /* -1 any, 0 without, 1 with */
	unsigned unseen, flagged; /* quick filters: 1 only those */
	struct sfolder *folders;
	size_t nfolders;
	struct hit *hits;
	size_t nhits, caphits;
	bool limited;
};

/* "YYYY-MM-DD" as UTC seconds of that day's start.  0 or -1. */
static int parse_day(const char *s, int64_t *t_r)
{
	unsigned y, m, d;
	char tail;
	if (strlen(s) != 10 ||
	    sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || y < 1970 ||
	    y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	/* days from civil (H. Hinnant's algorithm) */
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*t_r = (era * 146097 + doe - 719468) * 86400;
	return 0;
}

/* Message i of folder sf matches the string (the subject from the kept
   folded subjects, the other fields from youju.index or the file). */
static bool text_match(struct search *q, struct sfolder *sf, size_t i,
		       struct buf *file)
{
	if (!q->has_q)
		return true;
	/* the subject from the kept list keys: no entry or file read */
	unsigned in = q->in;
	if (in & IN_SUBJECT) {
		if (finder_in(&q->finder, listcache_subject_fold(sf->lc, i)))
			return true;
		in &= ~(unsigned)IN_SUBJECT;
		if (in == 0)
			return false;
	}
	const struct maildir_folder *sh = fcache_scan_folder(sf->scan);
	if (sf->own == NULL) {
		sf->own = fcache_scan_copy(sf->scan);
		sf->ix = maildir_index_open(sh->path, sh->uidvalidity, NULL);
	}
	struct maildir_folder *f = sf->own;
	struct maildir_msg *m = &f->msgs[i];
	struct maildir_index_entry e;
	bool cached = maildir_index_get(sf->ix, m->uid, str_from_cstr(m->base),
					m->size, &e);
	const char *n = q->needle.p ? q->needle.p : "";
	size_t nl = q->needle.len;
	struct mailmatch_msg mm;
	bool hit = false;
	mailmatch_msg_init(&mm, NULL, 0, cached ? &e : NULL);
	/* headers from the entry first: no file read when they match */
	if (!hit && cached && (in & IN_FROM))
		hit = mailmatch_header(&mm, "From", true, n, nl);
	if (!hit && cached && (in & IN_TO))
		hit = mailmatch_header(&mm, "To", true, n, nl) ||
		      mailmatch_header(&mm, "Cc", true, n, nl);
	if (!hit && (!cached || (in & IN_BODY))) {
		buf_reset(file);
		if (maildir_msg_read(f, m, file) == 0) {
			mailmatch_msg_deinit(&mm);
			mailmatch_msg_init(&mm, file->p ? file->p : "",
					   file->len, NULL);
			if (!hit && !cached && (in & IN_FROM))
				hit =
				    mailmatch_header(&mm, "From", true, n, nl);
			if (!hit && !cached && (in & IN_TO))
				hit =
				    mailmatch_header(&mm, "To", true, n, nl) ||
				    mailmatch_header(&mm, "Cc", true, n, nl);
			if (!hit && (in & IN_BODY))
				hit = mailmatch_body(&mm, n, nl);
		}
	}
	mailmatch_msg_deinit(&mm);
	return hit;
}

static void search_folder(struct search *q, size_t fi, struct buf *file)
{
	struct sfolder *sf = &q->folders[fi];
	const struct maildir_folder *f = fcache_scan_folder(sf->scan);
	/* date, attachments, the subject and the result's summary as the
	   list has them (listcache.c: kept between requests, matched to
	   the shared scan without a pass over it) */
	sf->lc = listcache_get_scan(sf->scan);
	for (size_t i = 0; i < f->n && !q->limited; i++) {
		const struct maildir_msg *m = &f->msgs[i];
		const struct wm_summary *s = listcache_summary(sf->lc, i);
		int64_t date = s->has_date ? s->date : m->mtime;
		bool ok =
		    (q->since == 0 || date >= q->since) &&
		    (q->before == 0 || date < q->before) &&
		    (q->attachment < 0 || (int)s->attachments == q->attachment);
		if (ok && (q->unseen || q->flagged)) {
			unsigned fl =
			    maildir_flags_parse(str_from_cstr(m->letters));
			ok = (!q->unseen || (fl & MAILDIR_SEEN) == 0) &&
			     (!q->flagged || (fl & MAILDIR_FLAGGED) != 0);
		}
		if (!ok || !text_match(q, sf, i, file))
			continue;
		if (q->nhits == SEARCH_HITS_MAX) {
			q->limited = true;
			break;
		}
		if (q->nhits == q->caphits) {
			q->caphits = q->caphits ? 2 * q->caphits : 64;
			q->hits =
			    xrealloc(q->hits, q->caphits * sizeof *q->hits);
		}
		q->hits[q->nhits++] =
		    (struct hit){.folder = fi, .m = m, .s = s};
	}
}

/* newest first; ties by folder, then UID descending */
static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	int64_t dx = x->s->has_date ? x->s->date : x->m->mtime;
	int64_t dy = y->s->has_date ? y->s->date : y->m->mtime;
	if (dx != dy)
		return dx < dy ? 1 : -1;
	if (x->folder != y->folder)
		return x->folder < y->folder ? -1 : 1;
	return x->m->uid < y->m->uid ? 1 : x->m->uid > y->m->uid ? -1 : 0;
}

static void add_folder(void *ctx, const char *name, const char *path)
{
	struct search *q = ctx;
	const char *err = NULL;
	if (q->nfolders == SEARCH_FOLDERS_MAX)
		return;
	struct fcache_scan *scan = fcache_get(path, &err);
	if (scan == NULL) {
		log_warning("webmail: search: %s: %s: %s", path,
			    err != NULL ? err : "", strerror(errno));
		return;
	}
	q->folders[q->nfolders].name = xstrdup(name);
	q->folders[q->nfolders++].scan = scan;
}

/* Parses "in" (comma-separated subject, from, to, body; "all" all four)
   into *in_r.  0 or -1. */
static int parse_in(const char *s, unsigned *in_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"subject", IN_SUBJECT},
		     {"from", IN_FROM},
		     {"to", IN_TO},
		     {"body", IN_BODY},
		     {"all", IN_SUBJECT | IN_FROM | IN_TO | IN_BODY}};
	*in_r = 0;
	while (*s != '\0') {
		size_t l = strcspn(s, ",");
		bool found = false;
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strlen(names[i].name) == l &&
			    strncmp(s, names[i].name, l) == 0) {
				*in_r |= names[i].bit;
				found = true;
			}
		if (!found)
			return -1;
		s += l;
		if (*s == ',')
			s++;
	}
	return *in_r != 0 ? 0 : -1;
}

/* GET /api/search?q=&in=&folder=&since=&before=&attachment=&flag=&page= */
void wm_search(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	/* the user's preference (prefs.c), else webmail_page_size */
	const unsigned psize =
	    me->prefs.page_size > 0 ? me->prefs.page_size : wm->page_size;
	const char *qs = http_req_query(req, "q");
	const char *in_s = http_req_query(req, "in");
	const char *folder = http_req_query(req, "folder");
	const char *since = http_req_query(req, "since");
	const char *before = http_req_query(req, "before");
	const char *att = http_req_query(req, "attachment");
	const char *page_s = http_req_query(req, "page");
	const char *flag = http_req_query(req, "flag");
	struct search q;
	memset(&q, 0, sizeof q);
	q.attachment = -1;
	q.in = IN_SUBJECT | IN_FROM | IN_TO;
	uint64_t page = 1;
	buf_init(&q.needle, 8 * SEARCH_Q_MAX + 64);
	if (qs == NULL)
		qs = "";
	if (strlen(qs) > SEARCH_Q_MAX) {
		webjson_error(req, 400, "invalid", "q: too long", "q");
		goto out;
	}
	if (in_s != NULL && in_s[0] != '\0' && parse_in(in_s, &q.in) < 0) {
		webjson_error(req, 400, "invalid",
			      "in: subject, from, to, body or all", "in");
		goto out;
	}
	if (since != NULL && since[0] != '\0' &&
	    parse_day(since, &q.since) < 0) {
		webjson_error(req, 400, "invalid", "since: YYYY-MM-DD",
			      "since");
		goto out;
	}
	if (before != NULL && before[0] != '\0') {
		if (parse_day(before, &q.before) < 0) {
			webjson_error(req, 400, "invalid", "before: YYYY-MM-DD",
				      "before");
			goto out;
		}
		q.before += 86400; /* the day itself is in the range */
	}
	if (att != NULL && att[0] != '\0') {
		if (strcmp(att, "1") != 0 && strcmp(att, "0") != 0) {
			webjson_error(req, 400, "invalid", "attachment: 0 or 1",
				      "attachment");
			goto out;
		}
		q.attachment = att[0] == '1';
	}
	if (page_s != NULL && page_s[0] != '\0' &&
	    str_parse_u64(page_s, 1, 1000000, &page) < 0) {
		webjson_error(req, 400, "invalid", "page: from 1", "page");
		goto out;
	}
	if (flag != NULL && flag[0] != '\0') {
		if (strcmp(flag, "unseen") == 0)
			q.unseen = 1;
		else if (strcmp(flag, "flagged") == 0)
			q.flagged = 1;
		else {
			webjson_error(req, 400, "invalid",
				      "flag: unseen or flagged", "flag");
			goto out;
		}
	}
	/* the words of the string as one needle, folded as SEARCH folds */
	struct str t = str_from_cstr(qs);
	while (t.len > 0 && (t.p[0] == ' ' || t.p[0] == '\t'))
		t.p++, t.len--;
	while (t.len > 0 && (t.p[t.len - 1] == ' ' || t.p[t.len - 1] == '\t'))
		t.len--;
	q.has_q = t.len > 0;
	if (q.has_q && mailmatch_needle(t.p, t.len, &q.needle) < 0) {
		webjson_error(req, 400, "invalid", "q: too long", "q");
		goto out;
	}
	finder_init(&q.finder, q.needle.p ? q.needle.p : "", q.needle.len);
	if (!q.has_q && q.since == 0 && q.before == 0 && q.attachment < 0 &&
	    !q.unseen && !q.flagged) {
		webjson_error(req, 400, "invalid",
			      "give a string, a date or the attachment mark",
			      "q");
		goto out;
	}
	q.folders = xcalloc(SEARCH_FOLDERS_MAX, sizeof *q.folders);
	if (folder != NULL && folder[0] != '\0' && strcmp(folder, "*") != 0) {
		char path[4096];
		if (wm_folder_path(req, folder, path, sizeof path) < 0)
			goto out;
		add_folder(&q,
			   strcasecmp(folder, "INBOX") == 0 ? "INBOX" : folder,
			   path);
	} else {
		add_folder(&q, "INBOX", me->acct.maildir);
		wm_each_folder(me->acct.maildir, add_folder, &q);
	}
	struct buf file;
	buf_init(&file, WM_MESSAGE_MAX);
	for (size_t i = 0; i < q.nfolders && !q.limited; i++)
		search_folder(&q, i, &file);
	buf_deinit(&file);
	if (q.nhits > 1)
		qsort(q.hits, q.nhits, sizeof *q.hits, hit_cmp);

	json_t *list = json_array();
	size_t from = (size_t)(page - 1) * psize;
	for (size_t i = from; i < q.nhits && i < from + psize; i++) {
		struct hit *h = &q.hits[i];
		const struct maildir_folder *f =
		    fcache_scan_folder(q.folders[h->folder].scan);
		json_t *o = json_object();
		json_object_set_new(o, "folder",
				    json_string(q.folders[h->folder].name));
		wm_msg_row(o, f, h->m, h->s, true);
		json_array_append_new(list, o);
	}
	json_t *o = json_object();
	json_object_set_new(o, "total", json_integer((json_int_t)q.nhits));
	json_object_set_new(o, "page", json_integer((json_int_t)page));
	json_object_set_new(o, "page_size", json_integer(psize));
	json_object_set_new(o, "limited", json_boolean(q.limited));
	json_object_set_new(o, "messages", list);
	webjson_reply(req, 200, o);
out:
	free(q.hits);
	for (size_t i = 0; i < q.nfolders; i++) {
		listcache_put(&q.folders[i].lc);
		free(q.folders[i].name);
		maildir_index_free(&q.folders[i].ix);
		maildir_folder_free(&q.folders[i].own);
		fcache_scan_put(&q.folders[i].scan);
	}
	free(q.folders);
	buf_deinit(&q.needle);
}
