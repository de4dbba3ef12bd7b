/*
 * lib/mime: structure (offsets, sizes, lines, nesting, broken input,
 * limits), parameters (RFC 2231), and the decoders (CTE, charsets,
 * RFC 2047, case folding).  Sizes and lines are the ones Dovecot 2.3
 * reports for the same input (checked by hand with its BODYSTRUCTURE).
 */
#include <string.h>

#include "mime.h"
#include "test.h"
#include "xalloc.h"

static struct mime_part *parse(const char *s)
{
	return mime_parse(s, strlen(s));
}

static void test_simple(void)
{
	test_begin("simple");
	struct mime_part *r = parse("Subject: x\r\n\r\nhello\r\nworld\r\n");
	test_assert(r->kind == MIME_LEAF && r->type == NULL);
	test_assert(r->hdr_off == 0 && r->hdr_len == 14);
	test_assert(r->body_off == 14 && r->body_len == 14 && r->lines == 2);
	test_assert(mime_is_type(r, "TEXT", "plain"));
	mime_free(&r);
	test_assert(r == NULL);

	/* empty input, no header end, header only */
	r = mime_parse("", 0);
	test_assert(r->hdr_len == 0 && r->body_len == 0 && r->lines == 0);
	mime_free(&r);
	r = mime_parse(NULL, 0);
	test_assert(r->body_len == 0);
	mime_free(&r);
	r = parse("Subject: no body");
	test_assert(r->hdr_len == 16 && r->body_len == 0);
	mime_free(&r);
	r = parse("\n\nbody\n");
	test_assert(r->hdr_len == 1 && r->body_off == 1 && r->body_len == 6);
	mime_free(&r);
	/* bare CR is not a line end; embedded NUL is a byte */
	static const char nul[] = "A: b\rC: d\n\nx\0y\rz";
	r = mime_parse(nul, sizeof nul - 1);
	test_assert(r->hdr_len == 11 && r->body_len == 5 && r->lines == 0);
	mime_free(&r);
}

static const char mixed[] =
    "Content-Type: multipart/mixed; boundary=\"XYZ\"\n"
    "\n"
    "preamble\n"
    "--XYZ\n"
    "Content-Type: multipart/alternative; boundary=ALT\n"
    "\n"
    "--ALT\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "text\n"
    "--ALT\n"
    "Content-Type: text/html\n"
    "Content-Language: en, fr\n"
    "\n"
    "<p>html</p>\n"
    "\n"
    "--ALT--\n"
    "--XYZ\n"
    "Content-Type: application/pdf; name=\"a \\\"b\\\".pdf\"\n"
    "Content-Disposition: attachment; filename*0=\"lo\"; "
    "filename*1=ng.pdf; x*=utf-8''%E2%82%AC\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-ID: <c@x>\n"
    "\n"
    "aGVsbG8=\n"
    "--XYZ\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "\n"
    "inner body\n"
    "--XYZ--\n"
    "epilogue\n";

static void test_multipart(void)
{
	test_begin("multipart");
	struct mime_part *r = parse(mixed);
	test_assert(r->kind == MIME_MULTIPART && mime_count(r) == 7);
	struct mime_part *alt = r->children;
	test_assert(alt->kind == MIME_MULTIPART &&
		    strcmp(alt->subtype, "alternative") == 0);
	struct mime_part *t = alt->children, *h = t->next;
	test_assert(t->body_len == 4 && t->lines == 0);
	test_assert(memcmp(mixed + t->body_off, "text", 4) == 0);
	test_assert(strcmp(mime_param_get(t->params, t->nparams, "CHARSET"),
			   "utf-8") == 0);
	test_assert(h->body_len == 12 && h->lines == 1 && h->nlangs == 2 &&
		    strcmp(h->langs[1], "fr") == 0);
	/* the close delimiter's own line end stays in the multipart */
	test_assert(memcmp(mixed + alt->body_off + alt->body_len - 8,
			   "--ALT--\n", 8) == 0);
	struct mime_part *pdf = alt->next;
	test_assert(strcmp(pdf->params[0].value, "a \"b\".pdf") == 0);
	test_assert(strcmp(pdf->disposition, "attachment") == 0 &&
		    pdf->ndparams == 2);
	test_assert(strcmp(pdf->dparams[0].name, "filename") == 0 &&
		    strcmp(pdf->dparams[0].value, "long.pdf") == 0);
	test_assert(strcmp(pdf->dparams[1].name, "x*") == 0);
	test_assert(strcmp(pdf->encoding, "base64") == 0 &&
		    strcmp(pdf->id, "<c@x>") == 0);
	struct mime_part *msg = pdf->next;
	test_assert(msg->kind == MIME_MESSAGE && msg->children != NULL);
	test_assert(msg->body_len == 26 && msg->lines == 2);
	test_assert(msg->children->body_len == 10);
	test_assert(msg->next == NULL);
	mime_free(&r);
}

static void test_broken(void)
{
	test_begin("broken");
	/* no close delimiter; nested one closed by the outer boundary */
	struct mime_part *r =
	    parse("Content-Type: multipart/mixed; boundary=a\n\n--a\n"
		  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n"
		  "--a\n\ny\n");
	test_assert(mime_count(r) == 4);
	test_assert(r->children->children->body_len == 1);
	test_assert(r->children->next->body_len == 2);
	mime_free(&r);
	/* no boundary parameter, empty boundary, bad parameters */
	r = parse("Content-Type: multipart/mixed\n\n--\n");
	test_assert(r->kind == MIME_LEAF);
	mime_free(&r);
	r = parse("Content-Type: multipart/mixed; boundary=\"\"\n\n--\n");
	test_assert(r->kind == MIME_LEAF);
	mime_free(&r);
	r = parse("Content-Type: text/plain; ;; =x; a=\"unterminated\n\nb");
	test_assert(r->nparams == 1 &&
		    strcmp(r->params[0].value, "unterminated") == 0);
	mime_free(&r);
	r = parse("Content-Type: garbage\nContent-Type: text/html\n\n");
	test_assert(strcmp(r->type, "") == 0 && r->nparams == 0);
	mime_free(&r);
	/* multipart without body parts */
	r = parse("Content-Type: multipart/mixed; boundary=z\n\nnone\n");
	test_assert(r->kind == MIME_MULTIPART && r->children == NULL);
	mime_free(&r);
	/* digest: parts default to message/rfc822 */
	r = parse("Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
		  "Subject: s\n\nhi\n--d--\n");
	test_assert(r->children->kind == MIME_MESSAGE);
	mime_free(&r);
}

static void test_limits(void)
{
	test_begin("limits");
	/* nesting past MIME_DEPTH_MAX becomes a leaf, never recursion */
	struct buf b;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < MIME_DEPTH_MAX + 10; i++)
		test_assert(buf_printf(&b,
				       "Content-Type: multipart/mixed; "
				       "boundary=b%d\n\n--b%d\n",
				       i, i) == 0);
	struct mime_part *r = mime_parse(b.p, b.len);
	size_t depth = 0;
	for (struct mime_part *p = r; p->children; p = p->children)
		depth++;
	test_assert(depth == MIME_DEPTH_MAX);
	mime_free(&r);
	buf_reset(&b);
	/* message/rfc822 nesting */
	for (int i = 0; i < 200; i++)
		test_assert(buf_append_str(&b, "Content-Type: message/rfc822"
					       "\n\n") == 0);
	r = mime_parse(b.p, b.len);
	test_assert(mime_count(r) == MIME_DEPTH_MAX + 1);
	mime_free(&r);
	/* many parts: capped */
	buf_reset(&b);
	test_assert(buf_append_str(&b, "Content-Type: multipart/mixed; "
				       "boundary=x\n\n") == 0);
	for (int i = 0; i < MIME_PARTS_MAX + 50; i++)
		test_assert(buf_append_str(&b, "--x\n\np\n") == 0);
	r = mime_parse(b.p, b.len);
	test_assert(mime_count(r) == MIME_PARTS_MAX);
	mime_free(&r);
	/* a huge single part */
	buf_deinit(&b);
	size_t n = 8 << 20;
	char *big = xmalloc(n);
	memset(big, 'a', n);
	memcpy(big, "A: b\n\n", 6);
	big[1000] = '\n';
	r = mime_parse(big, n);
	test_assert(r->body_len == n - 6 && r->lines == 1);
	mime_free(&r);
	free(big);
}

static int dec(const char *enc, const char *in, char *out, size_t outsz)
{
	struct buf b;
	buf_init(&b, outsz - 1);
	int r = mime_decode_cte(enc, in, strlen(in), &b);
	memcpy(out, b.p ? b.p : "", b.len + 1);
	buf_deinit(&b);
	return r;
}

static void test_decode(void)
{
	test_begin("decode");
	char out[256];
	test_assert(dec("base64", "aGVs\r\nbG8=\r\n", out, sizeof out) == 0 &&
		    strcmp(out, "hello") == 0);
	test_assert(dec("BASE64", "a*G!V\nsbG8", out, sizeof out) == 0 &&
		    strcmp(out, "hello") == 0);
	test_assert(dec("quoted-printable", "caf=C3=A9 =\r\nx=3d=ZZ=", out,
			sizeof out) == 0 &&
		    strcmp(out, "caf\xc3\xa9 x==ZZ") == 0);
	test_assert(dec("7bit", "as is=41", out, sizeof out) == 0 &&
		    strcmp(out, "as is=41") == 0);
	test_assert(dec("base64", "aGVsbG8=", out, 4) == -1);

	struct buf b;
	buf_init(&b, 1024);
	test_assert(mime_to_utf8("ISO-8859-1", "caf\xe9", 4, &b) == 0 &&
		    strcmp(b.p, "caf\xc3\xa9") == 0);
	buf_reset(&b);
	test_assert(mime_to_utf8("gb2312", "\xd6\xd0\xce\xc4", 4, &b) == 0 &&
		    strcmp(b.p, "\xe4\xb8\xad\xe6\x96\x87") == 0);
	buf_reset(&b);
	test_assert(mime_to_utf8("utf-8", "a\xffz", 3, &b) == 0 &&
		    strcmp(b.p, "a\xef\xbf\xbdz") == 0);
	buf_reset(&b);
	test_assert(mime_to_utf8("x-no-such", "ok", 2, &b) == 0 &&
		    strcmp(b.p, "ok") == 0);
	buf_reset(&b);
	test_assert(mime_header_decode(
			STR_LIT("=?UTF-8?B?w6lsw6g=?= =?utf-8?q?Ve_x?=\r\n"
				" plain =?GB2312?B?1tDOxA==?= =?bad"),
			&b) == 0);
	test_assert(strcmp(b.p, "\xc3\xa9l\xc3\xa8Ve x plain "
				"\xe4\xb8\xad\xe6\x96\x87 =?bad") == 0);
	buf_reset(&b);
	/* a character split over two encoded-words */
	test_assert(mime_header_decode(STR_LIT("=?utf-8?B?w6?= =?utf-8?B?k=?="),
				       &b) == 0);
	buf_reset(&b);
	test_assert(mime_header_decode(STR_LIT("=?utf-8?Q?=C3?= "
					       "=?utf-8?Q?=A9?="),
				       &b) == 0 &&
		    strcmp(b.p, "\xc3\xa9") == 0);
	buf_reset(&b);
	test_assert(
	    mime_fold("ABC \xc3\x89t\xc3\xa9 \xd0\x96 \xce\xa3", 15, &b) == 0);
	test_assert(strcmp(b.p, "abc \xc3\xa9t\xc3\xa9 \xd0\xb6 "
				"\xcf\x83") == 0);
	buf_deinit(&b);
}

static void test_headers(void)
{
	test_begin("headers");
	static const char h[] = "A: 1\r\n folded\r\nno colon\r\n"
				"B :\t2 \r\n\r\nC: body";
	size_t pos = 0;
	struct str n, v;
	test_assert(mime_header_next(h, sizeof h - 1, &pos, &n, &v));
	test_assert(str_eq_cstr(n, "A") && str_eq_cstr(v, " 1\r\n folded"));
	test_assert(mime_header_next(h, sizeof h - 1, &pos, &n, &v));
	test_assert(str_eq_cstr(n, "B"));
	struct buf b;
	buf_init(&b, 64);
	test_assert(mime_unfold(v, &b) == 0 && strcmp(b.p, "2") == 0);
	buf_deinit(&b);
	test_assert(!mime_header_next(h, sizeof h - 1, &pos, &n, &v));
}

/* the raw fields, as youju sendmail copies or drops them */
static void test_header_fields(void)
{
	test_begin("header fields");
	const char h[] = "To: a\n b\nCc: c\nbcc: d\n";
	struct mime_field f;
	size_t pos = 0;
	test_assert(mime_header_field_next(h, sizeof h - 1, &pos, &f));
	test_assert(f.raw.len == 9 && memcmp(f.raw.p, "To: a\n b\n", 9) == 0);
	test_assert(str_case_eq_cstr(f.name, "to"));
	test_assert(f.value.len == 5 && memcmp(f.value.p, " a\n b", 5) == 0);
	test_assert(mime_header_field_next(h, sizeof h - 1, &pos, &f) &&
		    str_case_eq_cstr(f.name, "Cc") &&
		    !str_case_eq_cstr(f.name, "C"));
	test_assert(mime_header_field_next(h, sizeof h - 1, &pos, &f) &&
		    str_case_eq_cstr(f.name, "BCC") && f.raw.len == 7);
	test_assert(!mime_header_field_next(h, sizeof h - 1, &pos, &f));
}

int main(void)
{
	test_header_fields();
	test_simple();
	test_multipart();
	test_broken();
	test_limits();
	test_decode();
	test_headers();
	return test_end();
}
