/*
 * Dot-stuffing and CR LF line ends across chunk boundaries (see dot.h).
 * Whole runs between line ends are copied at once; only the first byte of
 * a line, a trailing CR (DOT_CRLF_IN) and fold points need a look.  Came
 * from mra/pop3_dot.c, cli/sendmail_msg.c's sm_enc and mta/smtpc.c's
 * smtpc_dot_encode, which it replaces (Dovecot has the same idea in
 * lib-mail/ostream-dot.c).
 */
#include "dot.h"

#include <string.h>

void dot_enc_init(struct dot_enc *d, unsigned flags, uint64_t body_lines,
		  size_t line_max)
{
	*d = (struct dot_enc){.flags = flags,
			      .body_lines = body_lines,
			      .line_max = line_max == 1 ? 2 : line_max,
			      .bol = true};
}

bool dot_enc_done(const struct dot_enc *d)
{
	return d->done;
}

/* Line content: folded every line_max wire bytes.  A continuation line
   starts with a space, so it never needs stuffing. */
static int put_content(struct dot_enc *d, const char *p, size_t n,
		       struct buf *out)
{
	if (d->line_max == 0) {
		d->col += n;
		return n > 0 ? buf_append(out, p, n) : 0;
	}
	while (n > 0) {
		if (d->col >= d->line_max) {
			if (buf_append(out, "\r\n ", 3) < 0)
				return -1;
			d->col = 1;
		}
		size_t take = d->line_max - d->col;
		if (take > n)
			take = n;
		if (buf_append(out, p, take) < 0)
			return -1;
		d->col += take;
		p += take;
		n -= take;
	}
	return 0;
}

int dot_enc_feed(struct dot_enc *d, const char *p, size_t n, struct buf *out)
{
	size_t i = 0;
	while (i < n && !d->done) {
		if (d->bol) {
			/* TOP counts the body lines as they begin */
			if (d->in_body && d->lines++ >= d->body_lines) {
				d->done = true;
				break;
			}
			if (p[i] == '.') {
				if (buf_append(out, ".", 1) < 0)
					return -1;
				d->col++;
			}
			d->bol = false;
			d->line_len = 0;
		}
		const char *nl = memchr(p + i, '\n', n - i);
		size_t seg = (nl != NULL ? (size_t)(nl - p) : n) - i;
		if (seg > 0 && d->cr) {
			/* more content follows: the held CR was data */
			if (put_content(d, "\r", 1, out) < 0)
				return -1;
			d->line_len++;
		}
		if (seg > 0)
			d->cr = false;
		size_t take = seg;
		if ((d->flags & DOT_CRLF_IN) && take > 0 &&
		    p[i + take - 1] == '\r') {
			take--;
			d->cr = true;
		}
		if (put_content(d, p + i, take, out) < 0)
			return -1;
		d->line_len += take;
		if (nl == NULL)
			break;
		/* a held CR right before the LF belongs to the line end */
		d->cr = false;
		if (buf_append(out, "\r\n", 2) < 0)
			return -1;
		if (d->line_len == 0)
			d->in_body = true;
		d->bol = true;
		d->col = 0;
		i = (size_t)(nl - p) + 1;
	}
	return 0;
}

int dot_enc_end(struct dot_enc *d, struct buf *out)
{
	/* an unterminated last line: its trailing CR, if any, is the line
	   end, as for a terminated one */
	if (!d->done && !d->bol && buf_append(out, "\r\n", 2) < 0)
		return -1;
	d->cr = false;
	d->bol = true;
	d->col = 0;
	return buf_append(out, ".\r\n", 3);
}

int dot_encode(const char *p, size_t n, unsigned flags, size_t line_max,
	       struct buf *out)
{
	struct dot_enc d;
	dot_enc_init(&d, flags, DOT_ALL_LINES, line_max);
	if (dot_enc_feed(&d, p, n, out) < 0)
		return -1;
	return dot_enc_end(&d, out);
}
