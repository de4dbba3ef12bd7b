/*
 * FETCH data items from Maildir files.  Messages are stored with LF line
 * ends (maildir.md §2) and served with CR LF, so every size and offset is
 * computed on the CR LF form, as RFC822.SIZE (Dovecot's W=) is.
 * MIME structure (part numbers, BODYSTRUCTURE) comes from lib/mime over
 * the same CR LF form, written by imap_body.c.
 */
#include "imap_fetch.h"
#include "imap_flags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "imap_body.h"
#include "imap_index.h"
#include "imap_objectid.h"
#include "imap_preview.h"
#include "imap_preview_cache.h"
#include "imap_render.h"
#include "log.h"
#include "mailbox.h"
#include "maildir.h"
#include "mime.h"
#include "mra.h"
#include "xalloc.h"

void imap_fetch_items_free(struct imap_fetch_items *it)
{
	for (size_t i = 0; i < it->nsecs; i++) {
		free(it->secs[i].label);
		free(it->secs[i].part);
		for (size_t k = 0; k < it->secs[i].nfields; k++)
			free(it->secs[i].fields[k]);
		free(it->secs[i].fields);
	}
	free(it->secs);
	memset(it, 0, sizeof *it);
}

static struct imap_fetch_sec *imap_fetch_add(struct imap_fetch_items *it)
{
	it->secs = xrealloc(it->secs, (it->nsecs + 1) * sizeof *it->secs);
	struct imap_fetch_sec *s = &it->secs[it->nsecs++];
	memset(s, 0, sizeof *s);
	return s;
}

int imap_fetch_section(const char *spec, size_t len, struct imap_fetch_sec *sec)
{
	struct str s = {spec, len};
	if (len == 0) {
		sec->kind = SEC_ALL;
		return 0;
	}
	/* part numbers "1.2.3", then nothing, MIME or a message section */
	if (spec[0] >= '1' && spec[0] <= '9' && sec->part == NULL) {
		size_t i = 0;
		while (i < len && ((spec[i] >= '0' && spec[i] <= '9') ||
				   (spec[i] == '.' && i + 1 < len &&
				    spec[i + 1] >= '1' && spec[i + 1] <= '9')))
			i++;
		if (i > 64)
			return -1;
		sec->part = xmemdup0(spec, i);
		if (i == len) {
			sec->kind = SEC_ALL;
			return 0;
		}
		if (spec[i] != '.')
			return -1;
		struct str rest = {spec + i + 1, len - i - 1};
		if (str_case_eq_cstr(rest, "MIME")) {
			sec->kind = SEC_MIME;
			return 0;
		}
		return imap_fetch_section(rest.p, rest.len, sec) < 0 ||
			       sec->kind == SEC_ALL
			   ? -1
			   : 0;
	}
	if (str_case_eq_cstr(s, "HEADER")) {
		sec->kind = SEC_HEADER;
		return 0;
	}
	if (str_case_eq_cstr(s, "TEXT")) {
		sec->kind = SEC_TEXT;
		return 0;
	}
	size_t plen;
	if (str_has_prefix_case(s, "HEADER.FIELDS.NOT ")) {
		sec->kind = SEC_FIELDS_NOT;
		plen = 18;
	} else if (str_has_prefix_case(s, "HEADER.FIELDS ")) {
		sec->kind = SEC_FIELDS;
		plen = 14;
	} else {
		return -1;
	}
	const char *p = spec + plen, *end = spec + len;
	if (p >= end || *p != '(' || end[-1] != ')')
		return -1;
	p++;
	end--;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		const char *w = p;
		while (p < end && *p != ' ')
			p++;
		if (p == w)
			break;
		if (sec->nfields >= 256)
			return -1;
		const char *q = w;
		size_t wl = (size_t)(p - w);
		if (wl >= 2 && w[0] == '"' && w[wl - 1] == '"') {
			q++;
			wl -= 2;
		}
		sec->fields = xrealloc(sec->fields, (sec->nfields + 1) *
							sizeof *sec->fields);
		sec->fields[sec->nfields++] = xmemdup0(q, wl);
	}
	return sec->nfields > 0 ? 0 : -1;
}

/* "<origin.octets>" after a section; 0, or -1 when malformed */
static int imap_fetch_partial(const char *rest, struct imap_fetch_sec *s)
{
	if (*rest == '\0')
		return 0;
	unsigned long long o, l;
	char tail;
	if (*rest != '<' || sscanf(rest, "<%llu.%llu%c", &o, &l, &tail) != 3 ||
	    tail != '>' || rest[strlen(rest) - 1] != '>' || l == 0)
		return -1;
	s->partial = true;
	s->off = o;
	s->len = l;
	return 0;
}

/*
 * BINARY[part]<o.n>, BINARY.PEEK[...] and BINARY.SIZE[part] (RFC 3516
 * §4.2): the section is part numbers or nothing; the response names are
 * "BINARY[part]<o>" and "BINARY.SIZE[part]".
 */
static int imap_fetch_binary_att(const char *att, struct imap_fetch_items *it)
{
	bool size = strncasecmp(att, "BINARY.SIZE[", 12) == 0;
	const char *open = strchr(att, '[');
	const char *close = strchr(open, ']');
	if (close == NULL)
		return -1;
	struct imap_fetch_sec *s = imap_fetch_add(it);
	s->binary = !size;
	s->bsize = size;
	s->peek = size || strncasecmp(att, "BINARY.PEEK[", 12) == 0;
	if (imap_fetch_section(open + 1, (size_t)(close - open - 1), s) < 0 ||
	    s->kind != SEC_ALL || imap_fetch_partial(close + 1, s) < 0 ||
	    (size && s->partial))
		return -1;
	char label[128];
	int n =
	    snprintf(label, sizeof label, "%s[%s]",
		     size ? "BINARY.SIZE" : "BINARY", s->part ? s->part : "");
	if (n < 0 || (size_t)n >= sizeof label)
		return -1;
	if (s->partial) {
		size_t used = (size_t)n;
		n = snprintf(label + used, sizeof label - used, "<%llu>",
			     (unsigned long long)s->off);
		if (n < 0 || (size_t)n >= sizeof label - used)
			return -1;
	}
	s->label = xstrdup(label);
	return 0;
}

/* SAVEDATE, EMAILID, THREADID, PREVIEW (imap_objectid.h,
   imap_preview.h) */
static bool imap_fetch_att_new(const char *att, struct imap_fetch_items *it)
{
	bool *set = strcasecmp(att, "SAVEDATE") == 0   ? &it->savedate
		    : strcasecmp(att, "EMAILID") == 0  ? &it->emailid
		    : strcasecmp(att, "THREADID") == 0 ? &it->threadid
		    : strcasecmp(att, "PREVIEW") == 0  ? &it->preview
						       : NULL;
	if (set != NULL)
		*set = true;
	return set != NULL;
}

static int imap_fetch_att(const char *att, struct imap_fetch_items *it)
{
	if (strcasecmp(att, "MODSEQ") == 0) {
		it->modseq = true;
		return 0;
	}
	if (imap_fetch_att_new(att, it))
		return 0;
	if (strcasecmp(att, "FLAGS") == 0) {
		it->flags = true;
	} else if (strcasecmp(att, "UID") == 0) {
		it->uid = true;
	} else if (strcasecmp(att, "RFC822.SIZE") == 0) {
		it->size = true;
	} else if (strcasecmp(att, "INTERNALDATE") == 0) {
		it->internaldate = true;
	} else if (strcasecmp(att, "ENVELOPE") == 0) {
		it->envelope = true;
	} else if (strcasecmp(att, "BODYSTRUCTURE") == 0) {
		it->bodystructure = true;
	} else if (strcasecmp(att, "BODY") == 0) {
		it->body = true;
	} else if (strcasecmp(att, "ALL") == 0 ||
		   strcasecmp(att, "FAST") == 0 ||
		   strcasecmp(att, "FULL") == 0) {
		it->flags = it->internaldate = it->size = true;
		if (strcasecmp(att, "FAST") != 0)
			it->envelope = true;
		if (strcasecmp(att, "FULL") == 0)
			it->body = true;
	} else if (strcasecmp(att, "RFC822") == 0 ||
		   strcasecmp(att, "RFC822.HEADER") == 0 ||
		   strcasecmp(att, "RFC822.TEXT") == 0) {
		struct imap_fetch_sec *s = imap_fetch_add(it);
		s->label = xstrdup(att);
		for (char *q = s->label; *q; q++)
			if (*q >= 'a' && *q <= 'z')
				*q = (char)(*q - 32);
		s->kind = att[6] == '\0'		       ? SEC_ALL
			  : strcasecmp(att + 7, "HEADER") == 0 ? SEC_HEADER
							       : SEC_TEXT;
		s->peek = s->kind == SEC_HEADER;
	} else if (strncasecmp(att, "BINARY[", 7) == 0 ||
		   strncasecmp(att, "BINARY.PEEK[", 12) == 0 ||
		   strncasecmp(att, "BINARY.SIZE[", 12) == 0) {
		return imap_fetch_binary_att(att, it);
	} else if (strncasecmp(att, "BODY[", 5) == 0 ||
		   strncasecmp(att, "BODY.PEEK[", 10) == 0) {
		bool peek = strncasecmp(att, "BODY[", 5) != 0;
		const char *open = strchr(att, '[');
		const char *close = strchr(open, ']');
		if (close == NULL)
			return -1;
		struct imap_fetch_sec *s = imap_fetch_add(it);
		s->peek = peek;
		if (imap_fetch_section(open + 1, (size_t)(close - open - 1),
				       s) < 0)
			return -1;
		const char *rest = close + 1;
		if (*rest == '<') {
			unsigned long long o, l;
			char tail;
			if (sscanf(rest, "<%llu.%llu%c", &o, &l, &tail) != 3 ||
			    tail != '>' || rest[strlen(rest) - 1] != '>' ||
			    l == 0)
				return -1;
			s->partial = true;
			s->off = o;
			s->len = l;
		} else if (*rest != '\0') {
			return -1;
		}
		/* response: BODY[section]<origin> */
		char label[1024];
		int n = snprintf(label, sizeof label, "BODY[%.*s]",
				 (int)(close - open - 1), open + 1);
		if (n < 0 || (size_t)n >= sizeof label)
			return -1;
		if (s->partial) {
			size_t used = (size_t)n;
			n = snprintf(label + used, sizeof label - used,
				     "<%llu>", (unsigned long long)s->off);
			if (n < 0 || (size_t)n >= sizeof label - used)
				return -1;
		}
		/* upper case, as Dovecot: "BODY[1.HEADER.FIELDS (TO)]" */
		for (char *q = label; *q != '\0'; q++)
			if (*q >= 'a' && *q <= 'z')
				*q = (char)(*q - 32);
		s->label = xstrdup(label);
	} else {
		return -1;
	}
	return 0;
}

int imap_fetch_parse(const struct imap_arg *a, bool uid,
		     struct imap_fetch_items *it, const char **error_r)
{
	memset(it, 0, sizeof *it);
	it->uid = uid;
	const struct imap_arg *list = a;
	size_t n = 1;
	if (a->type == IMAP_ARG_LIST) {
		list = a->list;
		n = a->n;
	}
	if (n == 0) {
		*error_r = "Empty fetch list.";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		/* PREVIEW (LAZY) (RFC 8970 §3.1): from the cache or NIL */
		if (i > 0 && list[i].type == IMAP_ARG_LIST && list[i].n == 1 &&
		    list[i].list[0].type == IMAP_ARG_ATOM &&
		    strcasecmp(list[i].list[0].s, "LAZY") == 0 &&
		    list[i - 1].type == IMAP_ARG_ATOM &&
		    strcasecmp(list[i - 1].s, "PREVIEW") == 0) {
			it->preview_lazy = true;
			continue;
		}
		if (list[i].type != IMAP_ARG_ATOM ||
		    imap_fetch_att(list[i].s, it) < 0) {
			imap_fetch_items_free(it);
			*error_r = "Invalid fetch attribute.";
			return -1;
		}
	}
	return 0;
}

/* ---- output helpers ------------------------------------------------------ */

/* Room for the conversion of one piece: every byte may become two. */
#define IMAP_PIECE (32 * 1024)
static char imap_conv[2 * IMAP_PIECE];

/* The CR LF form of len <= IMAP_PIECE bytes at p into imap_conv; returns
   its length.  A bare LF becomes CR LF; NULs, which RFC 3501 4.3 does not
   allow in a literal, become 0x80 as in Dovecot.  Copies whole lines at a
   time (a byte at a time was half of the CPU time of a big FETCH,
   bench/mra).  *cr carries "the last byte was a CR" from one piece of a
   message to the next, so a CR LF split between two reads stays one line
   end. */
static size_t imap_crlf_conv(const char *p, size_t len, bool *cr)
{
	char *o = imap_conv;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) : len;
		if (end > i) {
			memcpy(o, p + i, end - i);
			for (char *z = o;
			     (z = memchr(z, '\0', (size_t)(o + end - i - z))) !=
			     NULL;)
				*z++ = (char)0x80;
			o += end - i;
			*cr = p[end - 1] == '\r';
		}
		if (nl == NULL)
			break;
		/* a line that ends in CR LF already keeps it */
		if (!*cr)
			*o++ = '\r';
		*o++ = '\n';
		*cr = false;
		i = end + 1;
	}
	return (size_t)(o - imap_conv);
}

/* imap_crlf_conv over any length, appended to out: 0, or -1 when out is
   full. */
static int imap_crlf_feed(const char *p, size_t len, bool *cr, struct buf *out)
{
	while (len > 0) {
		size_t n = len < IMAP_PIECE ? len : IMAP_PIECE;
		if (buf_append(out, imap_conv, imap_crlf_conv(p, n, cr)) < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

void imap_fetch_to_crlf(const char *p, size_t len, struct buf *out)
{
	bool cr = false;
	(void)imap_crlf_feed(p, len, &cr, out);
}

/* One read of a streamed message; the loop runs one session at a time. */
static char imap_chunk[IMAP_PIECE];

void imap_fetch_stream_close(struct imap_fetch_stream *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

int imap_fetch_stream_step(struct mra_conn *c, struct imap_fetch_stream *st)
{
	ssize_t r = 0;
	if (st->fd >= 0) {
		do
			r = read(st->fd, imap_chunk, sizeof imap_chunk);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			log_error("imap(%s): reading a message: %s", c->user,
				  strerror(errno));
			r = 0;
		}
	}
	if (r > 0 && st->left > 0) {
		size_t before = c->out.len;
		if (imap_crlf_feed(imap_chunk, (size_t)r, &st->cr, &c->out) <
		    0) {
			imap_fetch_stream_close(st);
			log_warning("%s: output limit reached, rip=%s",
				    c->proto->name, c->rip);
			mra_conn_close(c);
			return -1;
		}
		size_t got = c->out.len - before;
		bool over = got > st->left;
		if (over) {
			buf_truncate(&c->out, before + (size_t)st->left);
			got = (size_t)st->left;
		}
		st->left -= got;
		/* a short read of a regular file is its end: spare the
		   read that would return 0 */
		if (!over && (st->left > 0 || (size_t)r == sizeof imap_chunk))
			return 0;
		if (!over)
			r = 0;
	}
	if (r > 0 || (st->fd >= 0 && st->left > 0))
		log_warning("imap(%s): a message file changed size while "
			    "being sent (%llu bytes %s)",
			    c->user, (unsigned long long)st->left,
			    r > 0 ? "too many" : "missing, padded");
	imap_fetch_stream_close(st);
	if (st->left > 0) {
		size_t n = st->left < sizeof imap_chunk ? (size_t)st->left
							: sizeof imap_chunk;
		memset(imap_chunk, ' ', n);
		st->left -= n;
		return mra_conn_write(c, imap_chunk, n) ? 0 : -1;
	}
	return mra_conn_write(c, ")\r\n", 3) ? 1 : -1;
}

static void imap_literal(struct mra_conn *c, const char *p, size_t len)
{
	(void)mra_conn_printf(c, "{%zu}\r\n", len);
	(void)mra_conn_write(c, p, len);
}

/*
 * Writes a value that an imap_render / imap_body function renders: into
 * a scratch buffer first (the renderers know no connection), then to c.
 * A value past the output cap closes the session, as a direct write past
 * it would.
 */
enum imap_fetch_value { IMAP_V_ENVELOPE, IMAP_V_BODYSTRUCTURE, IMAP_V_BODY };

static void imap_fetch_render(struct mra_conn *c, const char *msg, size_t len,
			      const struct mime_part *root,
			      enum imap_fetch_value what)
{
	struct buf r;
	buf_init(&r, MRA_OUT_MAX);
	int rc = what == IMAP_V_ENVELOPE
		     ? imap_render_envelope(&r, msg, len)
		     : imap_body_structure(&r, msg, root,
					   what == IMAP_V_BODYSTRUCTURE);
	if (rc < 0)
		c->closing = true;
	else
		(void)mra_conn_write(c, r.p ? r.p : "", r.len);
	buf_deinit(&r);
}

/* "ENVELOPE (...)", "BODYSTRUCTURE (...)" or "BODY (...)": as youju.index
   keeps it (ent), else rendered from msg and its MIME tree root. */
static void imap_fetch_value(struct mra_conn *c, enum imap_fetch_value what,
			     const struct maildir_index_entry *ent,
			     const struct buf *msg,
			     const struct mime_part *root)
{
	static const struct {
		const char *label;
		int field;
	} v[] = {
	    [IMAP_V_ENVELOPE] = {"ENVELOPE ", MIDX_ENVELOPE},
	    [IMAP_V_BODYSTRUCTURE] = {"BODYSTRUCTURE ", MIDX_BODYSTRUCTURE},
	    [IMAP_V_BODY] = {"BODY ", MIDX_BODY},
	};
	(void)mra_conn_write(c, v[what].label, strlen(v[what].label));
	if (ent != NULL)
		(void)mra_conn_write(c, ent->field[v[what].field].p,
				     ent->field[v[what].field].len);
	else
		imap_fetch_render(c, msg->p ? msg->p : "", msg->len, root,
				  what);
}

static bool imap_field_listed(const struct imap_fetch_sec *s, const char *p,
			      size_t nl)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (strlen(s->fields[i]) == nl &&
		    strncasecmp(s->fields[i], p, nl) == 0)
			return true;
	return false;
}

/* header lines (with continuations) kept by HEADER.FIELDS[.NOT] */
static void imap_filter_fields(const struct imap_fetch_sec *s, const char *hdr,
			       size_t len, struct buf *out)
{
	const char *p = hdr, *end = hdr + len;
	bool keep = false;
	while (p < end) {
		const char *le = memchr(p, '\n', (size_t)(end - p));
		le = le ? le + 1 : end;
		if (*p == '\r' || *p == '\n')
			break; /* the blank line */
		if (*p != ' ' && *p != '\t') {
			const char *colon = memchr(p, ':', (size_t)(le - p));
			size_t nl = colon ? (size_t)(colon - p) : 0;
			bool listed = colon && imap_field_listed(s, p, nl);
			keep = s->kind == SEC_FIELDS ? listed : !listed;
		}
		if (keep && buf_append(out, p, (size_t)(le - p)) < 0)
			return;
		p = le;
	}
	if (buf_append(out, "\r\n", 2) < 0)
		return; /* bounded by the message size: cannot happen */
}

/*
 * The bytes section s selects in the CR LF message msg (MIME tree root,
 * needed when s has part numbers): *p_r and *len_r, pointing into msg or
 * into part (reset first); *sel_r the part (or NULL), *kind_r the kind
 * the section has on it.  Partial and BINARY are the caller's.
 */
static void imap_sec_select(const char *msgp, size_t msglen,
			    const struct mime_part *root,
			    const struct imap_fetch_sec *s, struct buf *part,
			    const char **p_r, size_t *len_r,
			    const struct mime_part **sel_r,
			    enum imap_sec_kind *kind_r)
{
	const char *mp = msgp;
	size_t mlen = msglen;
	size_t hl = imap_render_header_end(mp, mlen);
	const struct mime_part *sel = NULL;
	enum imap_sec_kind kind = s->kind;
	if (s->part != NULL) {
		/* the message the section applies to: the part's
		   embedded one; MIME and plain numbers: the part */
		sel = root ? imap_body_find(root, s->part) : NULL;
		if (sel != NULL && (kind == SEC_ALL || kind == SEC_MIME)) {
			mp = msgp + sel->hdr_off;
			mlen = sel->hdr_len + sel->body_len;
			hl = sel->hdr_len;
			kind = kind == SEC_ALL ? SEC_TEXT : SEC_HEADER;
		} else if (sel != NULL && sel->kind == MIME_MESSAGE &&
			   sel->children != NULL) {
			sel = sel->children;
			mp = msgp + sel->hdr_off;
			mlen = sel->hdr_len + sel->body_len;
			hl = sel->hdr_len;
		} else {
			kind = SEC_EMPTY;
		}
	}
	const char *p = mp;
	size_t len = mlen;
	buf_reset(part);
	switch (kind) {
	case SEC_ALL:
	case SEC_MIME:
		break;
	case SEC_HEADER:
		len = hl;
		break;
	case SEC_TEXT:
		p = mp + hl;
		len = mlen - hl;
		break;
	case SEC_FIELDS:
	case SEC_FIELDS_NOT:
		imap_filter_fields(s, mp, hl, part);
		p = part->p ? part->p : "";
		len = part->len;
		break;
	case SEC_EMPTY:
		len = 0;
		break;
	}
	*p_r = p;
	*len_r = len;
	*sel_r = sel;
	*kind_r = kind;
}

int imap_fetch_section_text(const char *msg, size_t len,
			    const struct imap_fetch_sec *s, struct buf *out)
{
	struct mime_part *root = s->part != NULL ? mime_parse(msg, len) : NULL;
	struct buf part;
	buf_init(&part, len + 1024);
	const struct mime_part *sel;
	enum imap_sec_kind kind;
	const char *p;
	size_t n;
	imap_sec_select(msg, len, root, s, &part, &p, &n, &sel, &kind);
	if (s->partial) {
		if (s->off >= n) {
			n = 0;
		} else {
			p += s->off;
			n -= (size_t)s->off;
			if (n > s->len)
				n = (size_t)s->len;
		}
	}
	int r = buf_append(out, p, n);
	buf_deinit(&part);
	mime_free(&root);
	return r < 0 ? -1 : 0;
}

int imap_fetch_one(struct mra_conn *c, struct maildir_folder *f, size_t i,
		   bool recent, const struct imap_fetch_items *it,
		   bool readonly, struct maildir_index *ix)
{
	return imap_fetch_one_stream(c, f, i, recent, it, readonly, ix, NULL);
}

/* The PREVIEW item into out: hit (cached), made from msg (and kept in
   the cache), or NIL (PREVIEW (LAZY) of a message not cached yet). */
static int imap_fetch_preview(struct buf *out,
			      const struct imap_fetch_items *it,
			      const struct maildir_msg *m,
			      const struct str *hit, bool make,
			      const struct buf *msg)
{
	if (hit != NULL)
		return imap_preview_item(out, hit->p, hit->len);
	if (!make)
		return imap_preview_item(out, NULL, 0);
	struct buf pv;
	buf_init(&pv, 4 * IMAP_PREVIEW_CHARS + 8);
	int r = imap_preview_make(msg->p ? msg->p : "", msg->len, &pv);
	if (r == 0) {
		if (it->pvcache != NULL)
			imap_preview_cache_add(it->pvcache, m->uid, m->size,
					       pv.p ? pv.p : "", pv.len);
		r = imap_preview_item(out, pv.p ? pv.p : "", pv.len);
	}
	buf_deinit(&pv);
	return r;
}

int imap_fetch_one_stream(struct mra_conn *c, struct maildir_folder *f,
			  size_t i, bool recent,
			  const struct imap_fetch_items *it, bool readonly,
			  struct maildir_index *ix,
			  struct imap_fetch_stream *st)
{
	struct maildir_msg *m = &f->msgs[i];
	struct buf raw, msg, part;
	struct maildir_index_entry ent;
	/* the whole message as the last section: sent from the file as
	   the client takes it, unless its text is needed anyway */
	const struct imap_fetch_sec *ls =
	    it->nsecs > 0 ? &it->secs[it->nsecs - 1] : NULL;
	bool stream = st != NULL && ls != NULL && ls->kind == SEC_ALL &&
		      ls->part == NULL && !ls->partial && !ls->bsize;
	/* FLAGS, UID, INTERNALDATE and a known size need no entry, nor does
	   a streamed message (the entry would only give its size); a
	   lookup checks the record's sum, a visible cost in bench/mra */
	bool want = it->envelope || it->body || it->bodystructure ||
		    it->nsecs > (stream ? 1u : 0u) ||
		    ((it->size || stream) && m->vsize == 0);
	bool cached = ix != NULL && want &&
		      maildir_index_get(ix, m->uid, str_from_cstr(m->base),
					m->size, &ent);
	/* PREVIEW: from the cache (imap_preview_cache.h); on a miss made
	   from the text, or NIL for PREVIEW (LAZY) (RFC 8970 §3.1) */
	struct str pv = {NULL, 0};
	bool pv_hit = it->preview && it->pvcache != NULL &&
		      imap_preview_cache_get(it->pvcache, m->uid, m->size, &pv);
	bool pv_make = it->preview && !pv_hit && !it->preview_lazy;
	if (cached)
		m->vsize = ent.vsize;
	bool need_mime = !cached && (it->body || it->bodystructure);
	for (size_t k = 0; k < it->nsecs; k++)
		if (it->secs[k].part != NULL)
			need_mime = true;
	bool need_body =
	    it->nsecs > (stream ? 1u : 0u) || need_mime || pv_make ||
	    (!cached &&
	     (it->envelope || (it->size && m->vsize == 0 && !stream)));
	int sfd = -1;
	if (stream && need_body)
		stream = false;
	if (stream) {
		sfd = maildir_msg_open(f, m);
		if (sfd < 0)
			return 0; /* expunged: as below */
		uint64_t n = m->vsize;
		/* a literal's {n} when neither the file name (W=) nor
		   youju.index knows it */
		if (n == 0 && mailbox_fd_vsize(sfd, &n) < 0) {
			close(sfd);
			return 0;
		}
		m->vsize = n;
	}
	struct mime_part *root = NULL;
	bool set_seen = false;
	buf_init(&raw, mra_srv.message_size_limit * 2);
	buf_init(&msg, mra_srv.message_size_limit * 2 + 1024);
	buf_init(&part, mra_srv.message_size_limit * 2 + 1024);
	if (need_body) {
		if (maildir_msg_read(f, m, &raw) < 0) {
			/* expunged by another session: nothing to say until
			   the next sync reports it (RFC 3501 §7.4.1) */
			buf_deinit(&raw);
			buf_deinit(&msg);
			buf_deinit(&part);
			return 0;
		}
		imap_fetch_to_crlf(raw.p ? raw.p : "", raw.len, &msg);
		m->vsize = msg.len;
		/* the file is read anyway: the next FETCH of any cached item
		   and SEARCH need not read it again */
		if (need_mime || (ix != NULL && !cached))
			root = mime_parse(msg.p ? msg.p : "", msg.len);
		if (ix != NULL && !cached)
			(void)imap_index_build(ix, m, msg.p ? msg.p : "",
					       msg.len, root);
	}
	for (size_t k = 0; k < it->nsecs; k++)
		if (!it->secs[k].peek && !readonly)
			set_seen = true;
	if (set_seen) {
		unsigned fl = maildir_flags_parse(str_from_cstr(m->letters));
		char letters[64];
		if (!(fl & MAILDIR_SEEN) &&
		    maildir_info_set(str_from_cstr(m->letters),
				     fl | MAILDIR_SEEN, letters,
				     sizeof letters) == 0)
			(void)maildir_msg_set_letters(f, m, letters);
		else
			set_seen = false;
	}
	(void)mra_conn_printf(c, "* %zu FETCH (", i + 1);
	bool sp = false;
#define IMAP_SP()                                                              \
	do {                                                                   \
		if (sp)                                                        \
			(void)mra_conn_write(c, " ", 1);                       \
		sp = true;                                                     \
	} while (0)
	if (it->uid) {
		IMAP_SP();
		(void)mra_conn_printf(c, "UID %lu", (unsigned long)m->uid);
	}
	if (it->flags || set_seen) {
		IMAP_SP();
		(void)mra_conn_write(c, "FLAGS ", 6);
		imap_flags_write(c, &f->kw, m->letters, recent);
	}
	if (it->modseq && it->modseqs != NULL) {
		IMAP_SP();
		(void)mra_conn_printf(c, "MODSEQ (%llu)",
				      (unsigned long long)it->modseqs[i]);
	}
	if (it->size) {
		IMAP_SP();
		(void)mra_conn_printf(c, "RFC822.SIZE %llu",
				      (unsigned long long)m->vsize);
	}
	if (it->internaldate) {
		char date[64];
		struct tm tm;
		time_t t = maildir_msg_mtime(f, m);
		IMAP_SP();
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(date, sizeof date, "%d-%b-%Y %H:%M:%S +0000",
			     &tm) == 0)
			memcpy(date, "01-Jan-1970 00:00:00 +0000", 27);
		(void)mra_conn_printf(c, "INTERNALDATE \"%s\"", date);
	}
	if (it->savedate || it->emailid || it->threadid || it->preview) {
		struct buf ids;
		buf_init(&ids, 64 * 1024);
		if (imap_objectid_fetch(&ids, m->base, it->savedate,
					it->emailid, it->threadid) < 0 ||
		    (it->preview &&
		     imap_fetch_preview(&ids, it, m, pv_hit ? &pv : NULL,
					pv_make, &msg) < 0))
			c->closing = true;
		IMAP_SP();
		(void)mra_conn_write(c, ids.p, ids.len);
		buf_deinit(&ids);
	}
	if (it->envelope) {
		IMAP_SP();
		imap_fetch_value(c, IMAP_V_ENVELOPE, cached ? &ent : NULL, &msg,
				 NULL);
	}
	if (it->bodystructure && (cached || root != NULL)) {
		IMAP_SP();
		imap_fetch_value(c, IMAP_V_BODYSTRUCTURE, cached ? &ent : NULL,
				 &msg, root);
	}
	if (it->body && (cached || root != NULL)) {
		IMAP_SP();
		imap_fetch_value(c, IMAP_V_BODY, cached ? &ent : NULL, &msg,
				 root);
	}
	for (size_t k = 0; k < it->nsecs; k++) {
		const struct imap_fetch_sec *s = &it->secs[k];
		if (stream && k == it->nsecs - 1) {
			IMAP_SP();
			(void)mra_conn_printf(c, "%s {%llu}\r\n", s->label,
					      (unsigned long long)m->vsize);
			st->fd = sfd;
			st->left = m->vsize;
			st->cr = false;
			sfd = -1;
			break;
		}
		const struct mime_part *sel;
		enum imap_sec_kind kind;
		const char *p;
		size_t len;
		imap_sec_select(msg.p ? msg.p : "", msg.len, root, s, &part, &p,
				&len, &sel, &kind);
		if ((s->binary || s->bsize) && sel != NULL &&
		    sel->kind == MIME_LEAF && kind == SEC_TEXT) {
			/* RFC 3516: a leaf's content without its
			   Content-Transfer-Encoding (others are sent as
			   they are, as Dovecot does) */
			if (mime_decode_cte(sel->encoding, p, len, &part) < 0) {
				c->closing = true;
				break;
			}
			p = part.p ? part.p : "";
			len = part.len;
		}
		if (s->bsize) {
			IMAP_SP();
			(void)mra_conn_printf(c, "%s %zu", s->label, len);
			continue;
		}
		if (s->partial) {
			if (s->off >= len) {
				len = 0;
			} else {
				p += s->off;
				len -= (size_t)s->off;
				if (len > s->len)
					len = (size_t)s->len;
			}
		}
		IMAP_SP();
		(void)mra_conn_printf(c, "%s ", s->label);
		/* binary content with a NUL goes as a literal8 */
		if (s->binary && memchr(p, '\0', len) != NULL)
			(void)mra_conn_write(c, "~", 1);
		imap_literal(c, p, len);
	}
#undef IMAP_SP
	bool ok;
	if (stream) {
		ok = !c->closing;
		if (!ok)
			imap_fetch_stream_close(st);
	} else {
		ok = mra_conn_write(c, ")\r\n", 3);
	}
	mime_free(&root);
	buf_deinit(&raw);
	buf_deinit(&msg);
	buf_deinit(&part);
	if (!ok)
		return -1;
	return stream ? 1 : 0;
}
