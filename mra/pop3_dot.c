/*
 * POP3 line conversion and dot-stuffing across chunk boundaries (see
 * pop3_dot.h).  Whole runs between line ends are copied at once; only the
 * first byte of a line and a trailing CR need a look.
 */
#include "pop3_dot.h"

#include <string.h>

void pop3_dot_init(struct pop3_dot *d, uint64_t body_lines)
{
	*d = (struct pop3_dot){ .body_lines = body_lines, .bol = true };
}

bool pop3_dot_done(const struct pop3_dot *d)
{
	return d->done;
}

int pop3_dot_feed(struct pop3_dot *d, const char *p, size_t n,
		  struct buf *out)
{
	size_t i = 0;
	while (i < n && !d->done) {
		if (d->bol) {
			/* TOP counts the body lines as they begin */
			if (d->in_body && d->lines++ >= d->body_lines) {
				d->done = true;
				break;
			}
			if (p[i] == '.' && buf_append(out, ".", 1) < 0)
				return -1;
			d->bol = false;
			d->line_len = 0;
		}
		const char *nl = memchr(p + i, '\n', n - i);
		size_t seg = (nl ? (size_t)(nl - p) : n) - i;
		if (seg > 0 && d->cr) {
			/* more content follows: the held CR was data */
			if (buf_append(out, "\r", 1) < 0)
				return -1;
			d->line_len++;
		}
		if (seg > 0)
			d->cr = false;
		size_t take = seg;
		if (take > 0 && p[i + take - 1] == '\r') {
			take--;
			d->cr = true;
		}
		if (buf_append(out, p + i, take) < 0)
			return -1;
		d->line_len += take;
		if (nl == NULL) {
			i = n;
			break;
		}
		/* a CR right before the LF belongs to the line end */
		d->cr = false;
		if (buf_append(out, "\r\n", 2) < 0)
			return -1;
		if (d->line_len == 0)
			d->in_body = true;
		d->bol = true;
		i = (size_t)(nl - p) + 1;
	}
	return 0;
}

int pop3_dot_end(struct pop3_dot *d, struct buf *out)
{
	/* an unterminated last line: its trailing CR, if any, is the line
	   end, as for a terminated one */
	if (!d->done && !d->bol && buf_append(out, "\r\n", 2) < 0)
		return -1;
	d->cr = false;
	return buf_append(out, ".\r\n", 3);
}
