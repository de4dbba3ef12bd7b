/*
 * What the message list shows of one message, read from the head of its
 * file: the decoded Subject and From, the Date: as a time, and whether it
 * looks like it has attachments (multipart/mixed, as ExtMail's list
 * marks them).  Also the RFC 5322 date-time parser that sorting by date
 * needs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mime.h"
#include "reading.h"
#include "summary.h"
#include "wm.h"
#include "xalloc.h"

static long days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

/* the next token: a run of letters, of digits, or one other byte */
static size_t token(const char *s, size_t len, size_t *pos, const char **t)
{
	while (*pos < len &&
	       (s[*pos] == ' ' || s[*pos] == '\t' || s[*pos] == '\r' ||
		s[*pos] == '\n' || s[*pos] == ','))
		(*pos)++;
	/* a comment "(...)" is skipped whole */
	if (*pos < len && s[*pos] == '(') {
		while (*pos < len && s[*pos] != ')')
			(*pos)++;
		if (*pos < len)
			(*pos)++;
		return token(s, len, pos, t);
	}
	size_t b = *pos;
	*t = s + b;
	if (b >= len)
		return 0;
	char c = s[b];
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		while (*pos < len && ((s[*pos] >= 'a' && s[*pos] <= 'z') ||
				      (s[*pos] >= 'A' && s[*pos] <= 'Z')))
			(*pos)++;
	else if (c >= '0' && c <= '9')
		while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9' &&
		       *pos - b < 9)
			(*pos)++;
	else
		(*pos)++;
	return *pos - b;
}

static bool num(const char *t, size_t n, long *v)
{
	if (n == 0 || n > 9 || t[0] < '0' || t[0] > '9')
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v = *v * 10 + (t[i] - '0');
	return true;
}

int wm_parse_date(const char *s, size_t len, int64_t *t_r)
{
	static const char *const months[] = {"jan", "feb", "mar", "apr",
					     "may", "jun", "jul", "aug",
					     "sep", "oct", "nov", "dec"};
	size_t pos = 0, n;
	const char *t;
	long day, mon = -1, year, hh, mm, ss = 0;
	n = token(s, len, &pos, &t);
	if (n >= 3 && !(t[0] >= '0' && t[0] <= '9')) /* day name */
		n = token(s, len, &pos, &t);
	if (!num(t, n, &day) || day < 1 || day > 31)
		return -1;
	n = token(s, len, &pos, &t);
	for (int i = 0; i < 12 && n == 3; i++)
		if (strncasecmp(t, months[i], 3) == 0)
			mon = i + 1;
	if (mon < 0)
		return -1;
	n = token(s, len, &pos, &t);
	if (!num(t, n, &year))
		return -1;
	if (n <= 2) /* RFC 5322 §4.3 */
		year += year < 50 ? 2000 : 1900;
	else if (n == 3)
		year += 1900;
	if (year < 1900 || year > 9999)
		return -1;
	n = token(s, len, &pos, &t);
	if (!num(t, n, &hh) || hh > 23)
		return -1;
	n = token(s, len, &pos, &t);
	if (n != 1 || t[0] != ':')
		return -1;
	n = token(s, len, &pos, &t);
	if (!num(t, n, &mm) || mm > 59)
		return -1;
	size_t save = pos;
	n = token(s, len, &pos, &t);
	if (n == 1 && t[0] == ':') {
		n = token(s, len, &pos, &t);
		if (!num(t, n, &ss) || ss > 60)
			return -1;
	} else
		pos = save;
	long off = 0;
	n = token(s, len, &pos, &t);
	if (n == 1 && (t[0] == '+' || t[0] == '-')) {
		const char *sign = t;
		long z;
		n = token(s, len, &pos, &t);
		if (n == 4 && num(t, n, &z)) {
			off = (z / 100) * 3600 + (z % 100) * 60;
			if (*sign == '-')
				off = -off;
		}
	} else if (n == 3) {
		static const struct {
			const char *name;
			int hours;
		} zones[] = {{"EST", -5}, {"EDT", -4}, {"CST", -6},
			     {"CDT", -5}, {"MST", -7}, {"MDT", -6},
			     {"PST", -8}, {"PDT", -7}};
		for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
			if (strncasecmp(t, zones[i].name, 3) == 0)
				off = zones[i].hours * 3600L;
	}
	*t_r = (int64_t)days_from_civil(year, (unsigned)mon, (unsigned)day) *
		   86400 +
	       hh * 3600 + mm * 60 + ss - off;
	return 0;
}

/* Decodes an RFC 2047 header value into a fresh string (valid UTF-8). */
static char *decoded(struct str v)
{
	struct buf b;
	buf_init(&b, 4096);
	if (mime_header_decode(v, &b) < 0)
		buf_truncate(&b, b.len); /* keep what fitted */
	char *s = xstrdup(buf_cstr(&b));
	buf_deinit(&b);
	return s;
}

void wm_summary_from_header(const char *hdr, size_t len, struct wm_summary *s)
{
	size_t pos = 0;
	struct str name, value;
	while (mime_header_next(hdr, len, &pos, &name, &value)) {
		if (str_case_eq_cstr(name, "Subject") && s->subject == NULL)
			s->subject = decoded(value);
		else if (str_case_eq_cstr(name, "From") && s->from == NULL)
			s->from = wm_from_display(value);
		else if (str_case_eq_cstr(name, "Date") && !s->has_date) {
			s->has_date =
			    wm_parse_date(value.p, value.len, &s->date) == 0;
		} else if (str_case_eq_cstr(name, "Content-Type")) {
			struct str v = str_trim(value);
			s->attachments =
			    str_has_prefix_case(v, "multipart/mixed");
		}
	}
	if (s->subject == NULL)
		s->subject = xstrdup("");
	if (s->from == NULL)
		s->from = xstrdup("");
}

/* the header block's length: up to and including the blank line */
static size_t header_len(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\n' &&
		    ((i + 1 < n && p[i + 1] == '\n') ||
		     (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')))
			return i + 1;
	return n;
}

int wm_summary_read(struct maildir_folder *f, struct maildir_msg *m,
		    struct wm_summary *s)
{
	memset(s, 0, sizeof *s);
	int fd = maildir_msg_open(f, m);
	if (fd < 0)
		return -1;
	char *p = xmalloc(WM_HEADER_MAX);
	size_t n = 0;
	while (n < WM_HEADER_MAX) {
		ssize_t r = read(fd, p + n, WM_HEADER_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (header_len(p, n) < n)
			break;
	}
	close(fd);
	wm_summary_from_header(p, header_len(p, n), s);
	free(p);
	return 0;
}

void wm_summary_free(struct wm_summary *s)
{
	free(s->subject);
	free(s->from);
	s->subject = s->from = NULL;
}
