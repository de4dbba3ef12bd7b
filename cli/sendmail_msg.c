/*
 * Message handling for the sendmail command (see sendmail_msg.h).  Every
 * function works on bounded buffers: the input is streamed through small
 * state machines, the header section is capped at SM_HEADER_MAX, and an
 * address never grows past SM_ADDR_MAX.
 */
#include "sendmail_msg.h"

#include <errno.h>
#include <string.h>

#include "base64.h"

/* ------------------------------------------------------------ the input */

void sm_input_init(struct sm_input *in, bool ignore_dots)
{
	memset(in, 0, sizeof(*in));
	in->ignore_dots = ignore_dots;
	in->bol = true;
}

/* Puts back what the state machine held: the "." and the CR. */
static int input_flush(struct sm_input *in, struct buf *out)
{
	if (in->dot && buf_append_char(out, '.') < 0)
		return -1;
	if (in->cr && buf_append_char(out, '\r') < 0)
		return -1;
	if (in->dot || in->cr)
		in->bol = false;
	in->dot = in->cr = false;
	return 0;
}

ssize_t sm_input_feed(struct sm_input *in, const char *p, size_t n,
		      struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (in->done)
			return (ssize_t)i;
		if (c == '\n') {
			if (in->dot && !in->ignore_dots) {
				/* ".\n" or ".\r\n": the end, as sendmail(1) */
				in->done = true;
				in->dot = in->cr = false;
				return (ssize_t)(i + 1);
			}
			in->cr = false; /* CR LF is a line end */
			if (input_flush(in, out) < 0 ||
			    buf_append_char(out, '\n') < 0)
				return -1;
			in->bol = true;
			continue;
		}
		if (in->cr && input_flush(in, out) < 0)
			return -1;
		if (c == '\r') {
			in->cr = true;
			continue;
		}
		if (in->bol && c == '.' && !in->dot) {
			in->dot = true;
			in->bol = false;
			continue;
		}
		if (input_flush(in, out) < 0 || buf_append_char(out, c) < 0)
			return -1;
		in->bol = false;
	}
	return (ssize_t)n;
}

int sm_input_end(struct sm_input *in, struct buf *out)
{
	if (in->done)
		return 0;
	if (in->dot && !in->cr && !in->ignore_dots) {
		/* a last line "." without LF ends the message just as well */
		in->dot = false;
		in->done = true;
		return 0;
	}
	bool partial = !in->bol || in->dot || in->cr;
	if (input_flush(in, out) < 0)
		return -1;
	if (partial && buf_append_char(out, '\n') < 0)
		return -1;
	in->bol = true;
	in->done = true;
	return 0;
}

/* ------------------------------------------------------- the header */

/* "Name:" with a name of printable ASCII other than ':' (RFC 5322 2.2) */
static bool field_start(struct str l)
{
	const char *colon = memchr(l.p, ':', l.len);
	if (colon == NULL || colon == l.p)
		return false;
	for (const char *c = l.p; c < colon; c++) {
		if ((unsigned char)*c <= 32 || (unsigned char)*c >= 127)
			return false;
	}
	return true;
}

int sm_header_read(FILE *f, struct buf *hdr, off_t *body_off_r,
		   const char **error_r)
{
	struct buf line;
	off_t off = 0;
	bool first = true;
	int rc = 0;
	buf_reset(hdr);
	buf_init(&line, hdr->max);
	for (;;) {
		int c;
		bool lf = false;
		buf_reset(&line);
		while ((c = getc(f)) != EOF) {
			if (c == '\n') {
				lf = true;
				break;
			}
			if (buf_append_char(&line, (char)c) < 0)
				break;
		}
		if (ferror(f)) {
			*error_r = "read";
			rc = -1;
			break;
		}
		if (c != EOF && !lf) {
			*error_r = "message header too large";
			errno = EFBIG;
			rc = -1;
			break;
		}
		if (!lf && line.len == 0) {
			*body_off_r = off;
			break;
		}
		off_t used = (off_t)line.len + (lf ? 1 : 0);
		struct str l = {line.len ? line.p : "", line.len};
		bool from_ =
		    first && l.len >= 5 && memcmp(l.p, "From ", 5) == 0;
		first = false;
		if (from_) {
			off += used;
			continue;
		}
		if (l.len == 0) {
			*body_off_r = off + used;
			break;
		}
		bool cont = (l.p[0] == ' ' || l.p[0] == '\t') && hdr->len > 0;
		if (!cont && !field_start(l)) {
			*body_off_r = off;
			break;
		}
		if (buf_append(hdr, l.p, l.len) < 0 ||
		    buf_append_char(hdr, '\n') < 0) {
			*error_r = "message header too large";
			errno = EFBIG;
			rc = -1;
			break;
		}
		off += used;
		if (!lf) {
			*body_off_r = off;
			break;
		}
	}
	buf_deinit(&line);
	return rc;
}

bool sm_header_next(struct str *rest, struct str *field_r)
{
	if (rest->len == 0)
		return false;
	size_t i = 0;
	for (;;) {
		const char *nl = memchr(rest->p + i, '\n', rest->len - i);
		i = nl != NULL ? (size_t)(nl - rest->p) + 1 : rest->len;
		if (i >= rest->len || (rest->p[i] != ' ' && rest->p[i] != '\t'))
			break;
	}
	*field_r = (struct str){rest->p, i};
	rest->p += i;
	rest->len -= i;
	return true;
}

bool sm_field_is(struct str field, const char *name)
{
	size_t n = strlen(name);
	return field.len > n && field.p[n] == ':' &&
	       str_has_prefix_case(field, name);
}

struct str sm_field_value(struct str field)
{
	const char *colon = memchr(field.p, ':', field.len);
	if (colon == NULL)
		return (struct str){field.p + field.len, 0};
	return (struct str){colon + 1,
			    field.len - (size_t)(colon + 1 - field.p)};
}

/* ------------------------------------------------------- addresses */

struct addr_acc {
	char s[SM_ADDR_MAX + 1];
	size_t len;
	bool overflow, bad;
};

static void acc_put(struct addr_acc *a, char c)
{
	if ((unsigned char)c < 32 || c == 127)
		a->bad = true;
	if (a->len >= SM_ADDR_MAX) {
		a->overflow = true;
		return;
	}
	a->s[a->len++] = c;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One member is complete: hand its address to fn.  1 taken, 0 empty,
   -1 bad or stopped. */
static int member_end(struct addr_acc *tok, struct addr_acc *ang,
		      bool has_angle, sm_addr_fn *fn, void *ctx)
{
	struct addr_acc *a = has_angle ? ang : tok;
	char *s = a->s;
	size_t len = a->len;
	if (a->overflow || a->bad)
		return -1;
	if (has_angle && len > 0 && s[0] == '@') {
		/* RFC 5322 obs-route: "@r1,@r2:addr" */
		char *colon = memchr(s, ':', len);
		if (colon != NULL) {
			len -= (size_t)(colon + 1 - s);
			s = colon + 1;
		}
	}
	if (len == 0)
		return 0;
	char out[SM_ADDR_MAX + 1];
	memcpy(out, s, len);
	out[len] = '\0';
	return fn(ctx, out, len) < 0 ? -1 : 1;
}

int sm_addr_list(struct str v, sm_addr_fn *fn, void *ctx, struct str *bad_r)
{
	struct addr_acc tok = {0}, ang = {0};
	bool has_angle = false, in_angle = false;
	size_t start = 0;
	int count = 0;
	for (size_t i = 0; i <= v.len; i++) {
		char c = i < v.len ? v.p[i] : ',';
		if (i == v.len)
			in_angle = false; /* "<a@x" unterminated */
		struct addr_acc *cur = in_angle ? &ang : &tok;
		if (c == '(' && !in_angle) {
			/* a comment, nested, with quoted-pairs */
			int depth = 1;
			for (i++; i < v.len && depth > 0; i++) {
				if (v.p[i] == '\\')
					i++;
				else if (v.p[i] == '(')
					depth++;
				else if (v.p[i] == ')')
					depth--;
			}
			/* the loop's i++ must still reach the final member */
			i = (i > v.len ? v.len : i) - 1;
			continue;
		}
		if (c == '"') {
			acc_put(cur, c);
			for (i++; i < v.len && v.p[i] != '"'; i++) {
				if (v.p[i] == '\\' && i + 1 < v.len)
					acc_put(cur, v.p[i++]);
				acc_put(cur, v.p[i]);
			}
			acc_put(cur, '"');
			if (i >= v.len)
				i = v.len - 1; /* unterminated */
			continue;
		}
		if (in_angle) {
			if (c == '>')
				in_angle = false;
			else if (!is_space(c))
				acc_put(&ang, c);
			continue;
		}
		if (c == '<') {
			in_angle = has_angle = true;
			ang = (struct addr_acc){0};
			continue;
		}
		if (c == ':') {
			/* a group's display name */
			tok = (struct addr_acc){0};
			continue;
		}
		if (c == ',' || c == ';') {
			int r = member_end(&tok, &ang, has_angle, fn, ctx);
			if (r < 0) {
				if (bad_r != NULL)
					*bad_r = (struct str){
					    v.p + start,
					    (i < v.len ? i : v.len) - start};
				return -1;
			}
			count += r;
			tok = (struct addr_acc){0};
			ang = (struct addr_acc){0};
			has_angle = false;
			start = i + 1;
			continue;
		}
		if (!is_space(c))
			acc_put(&tok, c);
	}
	return count;
}

/* ---------------------------------------------------------- From: */

static bool has_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* RFC 2047 encoded-words of at most 45 bytes each (60 base64 characters,
   within the 75 of 2.), never cutting a UTF-8 sequence, folded. */
static int encoded_words(struct buf *out, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t k = n - i < 45 ? n - i : 45;
		while (k > 1 && i + k < n &&
		       ((unsigned char)s[i + k] & 0xC0) == 0x80)
			k--;
		char b64[64];
		if (base64_encode(s + i, k, b64, sizeof(b64)) < 0 ||
		    buf_printf(out, "%s=?UTF-8?B?%s?=", i ? "\n " : "", b64) <
			0)
			return -1;
		i += k;
	}
	return 0;
}

int sm_from_header(struct buf *out, const char *fullname, const char *addr)
{
	char name[SM_FULLNAME_MAX + 1];
	size_t n = 0;
	for (const char *p = fullname; *p != '\0' && n < SM_FULLNAME_MAX; p++)
		if ((unsigned char)*p >= 32 && *p != 127)
			name[n++] = *p;
	name[n] = '\0';
	if (buf_append_str(out, "From: ") < 0)
		return -1;
	if (n == 0)
		return buf_printf(out, "%s\n", addr);
	if (has_8bit(name, n)) {
		if (encoded_words(out, name, n) < 0)
			return -1;
	} else {
		if (buf_append_char(out, '"') < 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if ((name[i] == '"' || name[i] == '\\') &&
			    buf_append_char(out, '\\') < 0)
				return -1;
			if (buf_append_char(out, name[i]) < 0)
				return -1;
		}
		if (buf_append_char(out, '"') < 0)
			return -1;
	}
	return buf_printf(out, " <%s>\n", addr);
}

int sm_xtext(const char *in, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		bool plain = *p >= 33 && *p <= 126 && *p != '+' && *p != '=';
		size_t need = plain ? 1 : 3;
		if (o + need >= outsz)
			return -1;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '+';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return 0;
}
