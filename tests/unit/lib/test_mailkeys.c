/*
 * lib/mailkeys: the SORT/THREAD keys of a header block and their blob
 * (youju.index's MIDX_SORTKEYS): each key, the References bounds (ids
 * and bytes, the last ones kept), the In-Reply-To fallback, no header
 * at all, embedded NUL and bare CR or LF, and malformed blobs refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailkeys.h"
#include "test.h"
#include "xalloc.h"

/* Builds and decodes the keys of hdr into *k (strings in *b). */
static bool keys(const char *hdr, size_t len, struct buf *b, struct mailkeys *k)
{
	buf_init(b, MAILKEYS_BLOB_MAX);
	return mailkeys_build(hdr, len, b) == 0 &&
	       mailkeys_decode((struct str){b->p ? b->p : "", b->len}, k);
}

static size_t nrefs(const struct mailkeys *k, const char *first,
		    const char *last)
{
	struct str r = k->refs, id, f = {NULL, 0}, l = {NULL, 0};
	size_t n = 0;
	while (mailkeys_ref_next(&r, &id)) {
		if (n++ == 0)
			f = id;
		l = id;
	}
	if (first != NULL)
		test_assert(f.p != NULL && str_eq_cstr(f, first));
	if (last != NULL)
		test_assert(l.p != NULL && str_eq_cstr(l, last));
	return n;
}

static void test_fields(void)
{
	const char *h =
	    "From: \"Zoe Q\" <zoe@example.com>\r\n"
	    "To: undisclosed: ;, bob@example.org\r\n"
	    "Cc: carol@example.net\r\n"
	    "Subject: Re: [list] Fwd: =?UTF-8?Q?caf=C3=A9?= (fwd)\r\n"
	    "Date: Tue, 3 Mar 2026 10:00:00 +0100\r\n"
	    "Message-ID: <a@x> <b@x>\r\n"
	    "References: <r1@x>\r\n <r2@x> junk <>\r\n"
	    "In-Reply-To: <ignored@x>\r\n\r\n";
	struct buf b;
	struct mailkeys k;
	test_assert(keys(h, strlen(h), &b, &k));
	test_assert(k.has_date && k.date == 1772528400);
	test_assert(k.reply);
	test_assert(str_eq_cstr(k.s[MAILKEYS_SUBJECT], "CAFÉ") ||
		    str_eq_cstr(k.s[MAILKEYS_SUBJECT], "CAFé"));
	test_assert(str_eq_cstr(k.s[MAILKEYS_FROM], "ZOE"));
	test_assert(str_eq_cstr(k.s[MAILKEYS_DFROM], "ZOE Q"));
	test_assert(str_eq_cstr(k.s[MAILKEYS_TO], "UNDISCLOSED"));
	test_assert(str_eq_cstr(k.s[MAILKEYS_DTO], "UNDISCLOSED"));
	test_assert(str_eq_cstr(k.s[MAILKEYS_CC], "CAROL"));
	/* the last id of Message-ID, as the thread code names it */
	test_assert(str_eq_cstr(k.s[MAILKEYS_MSGID], "<b@x>"));
	test_assert(nrefs(&k, "<r1@x>", "<r2@x>") == 2);
	buf_deinit(&b);
}

static void test_empty(void)
{
	struct buf b;
	struct mailkeys k;
	test_assert(keys("", 0, &b, &k));
	test_assert(!k.has_date && k.date == 0 && !k.reply);
	for (int i = 0; i < MAILKEYS_NSTR; i++)
		test_assert(k.s[i].len == 0);
	test_assert(nrefs(&k, NULL, NULL) == 0);
	buf_deinit(&b);
	/* a bad date, bare LF and bare CR line ends, an embedded NUL */
	const char h[] = "Date: someday\nSubject: a\rb\nFrom: x\0y@z\n"
			 "In-Reply-To: <p@x> <q@x>\n\n";
	test_assert(keys(h, sizeof h - 1, &b, &k));
	test_assert(!k.has_date);
	test_assert(k.s[MAILKEYS_SUBJECT].len > 0);
	/* In-Reply-To when there is no References: its last id */
	test_assert(nrefs(&k, "<q@x>", "<q@x>") == 1);
	buf_deinit(&b);
}

static void test_bounds(void)
{
	/* MAILKEYS_REFS_MAX + 1 short ids: the first is dropped */
	struct buf h;
	buf_init(&h, 1 << 20);
	test_assert(buf_append_str(&h, "References:") == 0);
	for (int i = 0; i <= MAILKEYS_REFS_MAX; i++) {
		char id[32];
		snprintf(id, sizeof id, " <%d@x>", i);
		test_assert(buf_append_str(&h, id) == 0);
	}
	test_assert(buf_append_str(&h, "\n\n") == 0);
	struct buf b;
	struct mailkeys k;
	test_assert(keys(h.p, h.len, &b, &k));
	char last[32];
	snprintf(last, sizeof last, "<%d@x>", MAILKEYS_REFS_MAX);
	test_assert(nrefs(&k, "<1@x>", last) == MAILKEYS_REFS_MAX);
	buf_deinit(&b);
	/* long ids: no more than MAILKEYS_REFS_BYTES of them, the last */
	buf_reset(&h);
	test_assert(buf_append_str(&h, "References:") == 0);
	char id[1002];
	for (int i = 0; i < 20; i++) {
		memset(id, 'a' + i, sizeof id);
		id[0] = ' ';
		id[1] = '<';
		id[sizeof id - 1] = '>';
		test_assert(buf_append(&h, id, sizeof id) == 0);
	}
	test_assert(buf_append_str(&h, "\n\n") == 0);
	test_assert(keys(h.p, h.len, &b, &k));
	size_t n = nrefs(&k, NULL, NULL);
	test_assert(n == MAILKEYS_REFS_BYTES / 1001);
	struct str r = k.refs, x;
	size_t bytes = 0;
	while (mailkeys_ref_next(&r, &x))
		bytes += x.len;
	test_assert(bytes <= MAILKEYS_REFS_BYTES && x.p[1] == 'a' + 19);
	buf_deinit(&b);
	/* an id longer than the byte bound alone: no references */
	buf_reset(&h);
	test_assert(buf_append_str(&h, "References: <") == 0);
	for (int i = 0; i < MAILKEYS_REFS_BYTES; i++)
		test_assert(buf_append_char(&h, 'z') == 0);
	test_assert(buf_append_str(&h, ">\n\n") == 0);
	test_assert(keys(h.p, h.len, &b, &k));
	test_assert(nrefs(&k, NULL, NULL) == 0);
	buf_deinit(&b);
	buf_deinit(&h);
}

static void test_malformed(void)
{
	const char *h = "Subject: s\nMessage-ID: <m@x>\nReferences: <r@x>\n\n";
	struct buf b;
	struct mailkeys k;
	test_assert(keys(h, strlen(h), &b, &k));
	/* every truncation is refused, except the one that cuts off the
	   last reference id (4 + 5 bytes) whole */
	for (size_t n = 0; n < b.len; n++)
		test_assert(mailkeys_decode((struct str){b.p, n}, &k) ==
			    (n == b.len - 9));
	/* unknown flags */
	char *c = xmemdup0(b.p, b.len);
	c[0] |= 4;
	test_assert(!mailkeys_decode((struct str){c, b.len}, &k));
	/* a length past the end */
	memcpy(c, b.p, b.len);
	c[9] = 0x7f;
	test_assert(!mailkeys_decode((struct str){c, b.len}, &k));
	free(c);
	/* a trailing byte */
	test_assert(buf_append_char(&b, 'x') == 0);
	test_assert(!mailkeys_decode((struct str){b.p, b.len}, &k));
	buf_deinit(&b);
}

int main(void)
{
	test_begin("mailkeys");
	test_fields();
	test_empty();
	test_bounds();
	test_malformed();
	return test_end();
}
