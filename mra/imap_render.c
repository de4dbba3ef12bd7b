/*
 * Connection-free IMAP renderers; see imap_render.h.  ENVELOPE follows
 * RFC 3501 §7.4.2 and Dovecot 2.3's choices: header values unfolded and
 * trimmed, Sender and Reply-To falling back to From when missing or
 * empty, addresses as lib/addrlist reads them (groups as start and end
 * markers, quoted local parts unquoted, MISSING_MAILBOX and
 * MISSING_DOMAIN for what is not there), text with '"' or '\\' as a
 * literal; compared with Dovecot in
 * tests/integration/test_imap_conformance.py.
 */
#include "imap_render.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addrlist.h"
#include "str.h"

/* Sticky output: the first append that fails marks it full and every
   later one is skipped, so a truncated value is never patched up by a
   shorter append after it. */
struct ro {
	struct buf *b;
	bool full;
};

static void ro_put(struct ro *o, const char *p, size_t n)
{
	if (!o->full && buf_append(o->b, p, n) < 0)
		o->full = true;
}

static void ro_str(struct ro *o, const char *s)
{
	ro_put(o, s, strlen(s));
}

int imap_render_quoted(struct buf *out, const char *p, size_t len)
{
	struct ro o = {out, false};
	ro_put(&o, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '"' && p[i] != '\\')
			continue;
		ro_put(&o, p + run, i - run);
		ro_put(&o, "\\", 1);
		run = i;
	}
	ro_put(&o, p + run, len - run);
	ro_put(&o, "\"", 1);
	return o.full ? -1 : 0;
}

int imap_render_literal(struct buf *out, const char *p, size_t len)
{
	char hdr[32];
	int n = snprintf(hdr, sizeof hdr, "{%zu}\r\n", len);
	if (n < 0 || (size_t)n >= sizeof hdr ||
	    buf_append(out, hdr, (size_t)n) < 0 || buf_append(out, p, len) < 0)
		return -1;
	return 0;
}

int imap_render_nstring(struct buf *out, const char *p, size_t len,
			bool nil_if_empty)
{
	if (p == NULL || (len == 0 && nil_if_empty))
		return buf_append(out, "NIL", 3);
	bool safe = len < 1024;
	for (size_t i = 0; i < len && safe; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0' ||
		    (unsigned char)p[i] >= 0x80)
			safe = false;
	return safe ? imap_render_quoted(out, p, len)
		    : imap_render_literal(out, p, len);
}

int imap_render_seqset(struct buf *out, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		if (buf_printf(out, "%s%lu", i ? "," : "",
			       (unsigned long)v[i]) < 0 ||
		    (j > i && buf_printf(out, ":%lu", (unsigned long)v[j]) < 0))
			return -1;
		i = j + 1;
	}
	return 0;
}

size_t imap_render_header_end(const char *p, size_t len)
{
	/* an empty header: the message starts with the blank line */
	if (len > 0 && p[0] == '\n')
		return 1;
	if (len > 1 && p[0] == '\r' && p[1] == '\n')
		return 2;
	for (size_t i = 0; i + 1 < len; i++)
		if (p[i] == '\n' &&
		    (p[i + 1] == '\n' ||
		     (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')))
			return i + (p[i + 1] == '\r' ? 3 : 2);
	return len;
}

/* Finds header name in hdr; its value unfolded (CRs dropped, the
   line breaks of continuation lines removed) and trimmed into out.
   Returns whether the field exists. */
static bool header_get(const char *hdr, size_t len, const char *name,
		       struct buf *out)
{
	size_t nl = strlen(name);
	const char *p = hdr, *end = hdr + len;
	while (p < end) {
		const char *le = memchr(p, '\n', (size_t)(end - p));
		if (le == NULL)
			le = end;
		if ((size_t)(le - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			const char *v = p + nl + 1;
			for (;;) {
				for (const char *q = v; q < le; q++)
					if (*q != '\r' &&
					    buf_append_char(out, *q) < 0)
						return true;
				if (le >= end || le + 1 >= end ||
				    (le[1] != ' ' && le[1] != '\t'))
					break;
				v = le + 1;
				le = memchr(v, '\n', (size_t)(end - v));
				if (le == NULL)
					le = end;
			}
			struct str t = str_trim(
			    (struct str){out->p ? out->p : "", out->len});
			size_t off = (size_t)(t.p - (out->p ? out->p : ""));
			if (off > 0)
				buf_consume(out, off);
			buf_truncate(out, t.len);
			return true;
		}
		p = le + 1;
	}
	return false;
}

/* ENVELOPE strings as Dovecot writes them: like imap_render_nstring,
   but text holding '"' or '\\' goes as a literal, not escaped. */
static void env_nstring(struct ro *o, const char *p, size_t len,
			bool nil_if_empty)
{
	if (o->full)
		return;
	bool lit = p != NULL && (memchr(p, '"', len) != NULL ||
				 memchr(p, '\\', len) != NULL);
	int r = lit && !(len == 0 && nil_if_empty)
		    ? imap_render_literal(o->b, p, len)
		    : imap_render_nstring(o->b, p, len, nil_if_empty);
	if (r < 0)
		o->full = true;
}

static void env_string(struct ro *o, const char *hdr, size_t len,
		       const char *name)
{
	struct buf v;
	buf_init(&v, 64 * 1024);
	if (header_get(hdr, len, name, &v))
		env_nstring(o, v.p ? v.p : "", v.len, false);
	else
		ro_put(o, "NIL", 3);
	buf_deinit(&v);
}

/* One address structure: name, route, mailbox, host; a group as
   (NIL NIL "group" NIL) ... (NIL NIL NIL NIL). */
static void env_addr(struct ro *o, const struct addrlist_addr *a)
{
	ro_put(o, "(", 1);
	switch (a->kind) {
	case ADDRLIST_GROUP_START:
		ro_str(o, "NIL NIL ");
		env_nstring(o, a->name ? a->name : "", a->name_len, false);
		ro_str(o, " NIL");
		break;
	case ADDRLIST_GROUP_END:
		ro_str(o, "NIL NIL NIL NIL");
		break;
	case ADDRLIST_MAILBOX:
		env_nstring(o, a->name, a->name_len, true);
		ro_put(o, " ", 1);
		env_nstring(o, a->route, a->route_len, true);
		ro_put(o, " ", 1);
		/* Dovecot's placeholders for what is missing (NIL would
		   mean a group marker) */
		if (a->local_len == 0)
			ro_str(o, "\"MISSING_MAILBOX\"");
		else
			env_nstring(o, a->local, a->local_len, false);
		ro_put(o, " ", 1);
		if (a->domain == NULL || a->domain_len == 0)
			ro_str(o, "\"MISSING_DOMAIN\"");
		else
			env_nstring(o, a->domain, a->domain_len, false);
		break;
	}
	ro_put(o, ")", 1);
}

static void env_addrs(struct ro *o, const char *hdr, size_t len,
		      const char *name, const char *fallback)
{
	struct buf v;
	buf_init(&v, 64 * 1024);
	if ((!header_get(hdr, len, name, &v) || v.len == 0) &&
	    fallback != NULL) {
		buf_reset(&v);
		(void)header_get(hdr, len, fallback, &v);
	}
	struct addrlist l;
	addrlist_parse(v.p ? v.p : "", v.len, &l);
	buf_deinit(&v);
	if (l.n == 0) {
		ro_put(o, "NIL", 3);
	} else {
		ro_put(o, "(", 1);
		for (size_t i = 0; i < l.n; i++)
			env_addr(o, &l.v[i]);
		ro_put(o, ")", 1);
	}
	addrlist_free(&l);
}

int imap_render_envelope(struct buf *out, const char *msg, size_t len)
{
	struct ro o = {out, false};
	size_t hl = imap_render_header_end(msg, len);
	ro_put(&o, "(", 1);
	env_string(&o, msg, hl, "Date");
	ro_put(&o, " ", 1);
	env_string(&o, msg, hl, "Subject");
	ro_put(&o, " ", 1);
	env_addrs(&o, msg, hl, "From", NULL);
	ro_put(&o, " ", 1);
	env_addrs(&o, msg, hl, "Sender", "From");
	ro_put(&o, " ", 1);
	env_addrs(&o, msg, hl, "Reply-To", "From");
	ro_put(&o, " ", 1);
	env_addrs(&o, msg, hl, "To", NULL);
	ro_put(&o, " ", 1);
	env_addrs(&o, msg, hl, "Cc", NULL);
	ro_put(&o, " ", 1);
	env_addrs(&o, msg, hl, "Bcc", NULL);
	ro_put(&o, " ", 1);
	env_string(&o, msg, hl, "In-Reply-To");
	ro_put(&o, " ", 1);
	env_string(&o, msg, hl, "Message-ID");
	ro_put(&o, ")", 1);
	return o.full ? -1 : 0;
}
