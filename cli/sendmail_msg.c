/*
 * Message handling for the sendmail command (see sendmail_msg.h).  Every
 * function works on bounded buffers: the input is streamed through small
 * state machines, the header section is capped at SM_HEADER_MAX, and an
 * address never grows past SM_ADDR_MAX.
 */
#include "sendmail_msg.h"

#include <errno.h>
#include <string.h>

#include "addrlist.h"
#include "rfc2047.h"

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

/* ------------------------------------------------------- addresses */

/* The list is read by lib/addrlist; here each address becomes the text
   a recipient or sender needs: box@domain, without name or route. */
int sm_addr_list(struct str v, sm_addr_fn *fn, void *ctx, struct str *bad_r)
{
	struct addrlist l;
	addrlist_parse(v.p, v.len, &l);
	int count = 0;
	for (size_t i = 0; i < l.n; i++) {
		const struct addrlist_addr *a = &l.v[i];
		if (a->kind != ADDRLIST_MAILBOX)
			continue;
		size_t len = a->mailbox_len +
			     (a->domain != NULL ? 1 + a->domain_len : 0);
		if (len == 0)
			continue; /* "<>" */
		if (len > SM_ADDR_MAX || a->ctl) {
			if (bad_r != NULL)
				*bad_r =
				    (struct str){v.p + a->src_off, a->src_len};
			count = -1;
			break;
		}
		char out[SM_ADDR_MAX + 1];
		memcpy(out, a->mailbox, a->mailbox_len);
		if (a->domain != NULL) {
			out[a->mailbox_len] = '@';
			memcpy(out + a->mailbox_len + 1, a->domain,
			       a->domain_len);
		}
		out[len] = '\0';
		if (fn(ctx, out, len) < 0) {
			count = -1;
			break;
		}
		count++;
	}
	addrlist_free(&l);
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
		if (rfc2047_words(out, name, n, "\n ") < 0)
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
