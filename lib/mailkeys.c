/*
 * Sort and thread keys of a message; see mailkeys.h.  Every key is made
 * by lib/mailsort's functions (the base subject, the date parser, the
 * address keys, the comparison form), so SORT, THREAD and webmail's list
 * order mail the same way whether the keys come from youju.index or from
 * the message's file.
 */
#include "mailkeys.h"

#include <stdlib.h>
#include <string.h>

#include "maildir_index.h"
#include "mailsort.h"
#include "xalloc.h"

#define KEYS_FIXED 9 /* flags + date */

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* strings are youju.index's segments: u32 length + bytes */
static int add_str(struct buf *out, const char *p, size_t len)
{
	return maildir_index_seg_add(out, p, len);
}

static int add_owned(struct buf *out, char *s)
{
	int rc = add_str(out, s, strlen(s));
	free(s);
	return rc;
}

/* one "<...>" id of a field value */
struct span {
	size_t off, len;
};

/*
 * The non-empty "<...>" ids of v[0..len) into *ids (owned, xrealloc'd),
 * *n of them.  An id runs from '<' to the next '>', as Dovecot reads
 * them (RFC 5256 §3 REFERENCES step 1).
 */
static void ids_parse(const char *v, size_t len, struct span **ids, size_t *n)
{
	const char *p = v, *end = v + len;
	size_t cap = 0;
	*n = 0;
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (lt == NULL)
			break;
		const char *gt = memchr(lt, '>', (size_t)(end - lt));
		if (gt == NULL)
			break;
		if (gt - lt > 1) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				*ids = xrealloc(*ids, cap * sizeof **ids);
			}
			(*ids)[(*n)++] = (struct span){(size_t)(lt - v),
						       (size_t)(gt - lt + 1)};
		}
		p = gt + 1;
	}
}

/* Appends the ids of the header's References (else In-Reply-To's last
   one), the last MAILKEYS_REFS_MAX within MAILKEYS_REFS_BYTES. */
static int add_refs(const char *hdr, size_t len, struct buf *v, struct buf *out)
{
	struct span *ids = NULL;
	size_t n = 0, first = 0;
	if (mailsort_field(hdr, len, "References", v))
		ids_parse(v->p ? v->p : "", v->len, &ids, &n);
	if (n == 0 && mailsort_field(hdr, len, "In-Reply-To", v)) {
		ids_parse(v->p ? v->p : "", v->len, &ids, &n);
		first = n > 0 ? n - 1 : 0;
	}
	size_t bytes = 0, i = n;
	while (i > first && n - i < MAILKEYS_REFS_MAX &&
	       bytes + ids[i - 1].len <= MAILKEYS_REFS_BYTES)
		bytes += ids[--i].len;
	int rc = 0;
	for (; rc == 0 && i < n; i++)
		rc = add_str(out, v->p + ids[i].off, ids[i].len);
	free(ids);
	return rc;
}

int mailkeys_build(const char *hdr, size_t len, struct buf *out)
{
	struct buf v, b;
	buf_init(&v, 1 << 20);
	buf_init(&b, 1 << 20);
	bool has_date = false, reply = false;
	int64_t date = 0;
	if (mailsort_field(hdr, len, "Date", &v))
		has_date = mailsort_parse_date(v.p ? v.p : "", v.len, &date);
	if (!has_date)
		date = 0;
	char *subject;
	if (mailsort_field(hdr, len, "Subject", &v) &&
	    mailsort_base_subject(v.p ? v.p : "", v.len, &b, &reply) == 0)
		subject = mailsort_fold(b.p ? b.p : "", b.len);
	else
		subject = xstrdup("");
	unsigned char fixed[KEYS_FIXED];
	fixed[0] = (unsigned char)((has_date ? 1 : 0) | (reply ? 2 : 0));
	put32(fixed + 1, (uint32_t)(uint64_t)date);
	put32(fixed + 5, (uint32_t)((uint64_t)date >> 32));
	int rc = buf_append(out, fixed, sizeof fixed);
	if (rc == 0)
		rc = add_owned(out, subject);
	else
		free(subject);
	static const char *const addr[] = {"From", "To", "Cc"};
	for (size_t i = 0; i < 3; i++) {
		char *box, *disp;
		mailsort_addr_keys(hdr, len, addr[i], &box, &disp);
		if (rc == 0)
			rc = add_owned(out, box);
		else
			free(box);
		if (i < 2 && rc == 0)
			rc = add_owned(out, disp);
		else
			free(disp);
	}
	/* Message-ID: its last id, as a References entry names it */
	struct span *ids = NULL;
	size_t n = 0;
	if (mailsort_field(hdr, len, "Message-ID", &v))
		ids_parse(v.p ? v.p : "", v.len, &ids, &n);
	if (rc == 0)
		rc = n > 0 ? add_str(out, v.p + ids[n - 1].off, ids[n - 1].len)
			   : add_str(out, "", 0);
	free(ids);
	if (rc == 0)
		rc = add_refs(hdr, len, &v, out);
	buf_deinit(&v);
	buf_deinit(&b);
	return rc;
}

bool mailkeys_ref_next(struct str *refs, struct str *id_r)
{
	return maildir_index_seg_next(refs, id_r);
}

bool mailkeys_decode(struct str blob, struct mailkeys *k)
{
	memset(k, 0, sizeof *k);
	if (blob.len < KEYS_FIXED || blob.p[0] & ~3)
		return false;
	const unsigned char *u = (const unsigned char *)blob.p;
	k->has_date = u[0] & 1;
	k->reply = (u[0] & 2) != 0;
	k->date =
	    (int64_t)((uint64_t)get32(u + 1) | (uint64_t)get32(u + 5) << 32);
	struct str rest = {blob.p + KEYS_FIXED, blob.len - KEYS_FIXED};
	for (size_t i = 0; i < MAILKEYS_NSTR; i++)
		if (!mailkeys_ref_next(&rest, &k->s[i]))
			return false;
	/* the ids must fill the rest exactly */
	k->refs = rest;
	struct str id;
	while (mailkeys_ref_next(&rest, &id))
		;
	return rest.len == 0;
}
