/*
 * Date parsing and date-parts for Sieve (see sieve_date.h, RFC 5260 §4,
 * RFC 5322 §3.3).
 */
#include "sieve_date.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const sieve_months[] = {"jan", "feb", "mar", "apr",
					   "may", "jun", "jul", "aug",
					   "sep", "oct", "nov", "dec"};
static const char *const sieve_wdays[] = {"Sun", "Mon", "Tue", "Wed",
					  "Thu", "Fri", "Sat"};

static void sieve_skip(const char **p, const char *end)
{
	while (*p < end && (isspace((unsigned char)**p) || **p == ','))
		(*p)++;
}

static int sieve_num(const char **p, const char *end, int maxdigits, int *v)
{
	int n = 0, d = 0;
	while (*p < end && isdigit((unsigned char)**p) && d < maxdigits) {
		n = n * 10 + (**p - '0');
		(*p)++;
		d++;
	}
	if (d == 0)
		return -1;
	*v = n;
	return d;
}

int sieve_time_parse(const char *p, size_t len, struct sieve_time *t)
{
	const char *end = p + len;
	sieve_skip(&p, end);
	/* optional day name */
	if (p < end && isalpha((unsigned char)*p)) {
		while (p < end && isalpha((unsigned char)*p))
			p++;
		sieve_skip(&p, end);
	}
	int day, year, hh, mm, ss = 0, mon = -1;
	if (sieve_num(&p, end, 2, &day) < 0)
		return -1;
	sieve_skip(&p, end);
	if (end - p < 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(p, sieve_months[i], 3) == 0)
			mon = i;
	if (mon < 0)
		return -1;
	p += 3;
	sieve_skip(&p, end);
	int yd = sieve_num(&p, end, 4, &year);
	if (yd < 0)
		return -1;
	if (yd <= 2)
		year += year < 50 ? 2000 : 1900;
	else if (yd == 3)
		year += 1900;
	sieve_skip(&p, end);
	if (sieve_num(&p, end, 2, &hh) < 0 || p >= end || *p++ != ':' ||
	    sieve_num(&p, end, 2, &mm) < 0)
		return -1;
	if (p < end && *p == ':') {
		p++;
		if (sieve_num(&p, end, 2, &ss) < 0)
			return -1;
	}
	sieve_skip(&p, end);
	int off = 0;
	if (p < end && (*p == '+' || *p == '-')) {
		int sign = *p == '-' ? -1 : 1, z;
		p++;
		if (sieve_num(&p, end, 4, &z) != 4)
			return -1;
		off = sign * ((z / 100) * 60 + z % 100);
	} else if (p < end) {
		static const struct {
			const char *n;
			int off;
		} zones[] = {{"UT", 0},	    {"GMT", 0},	   {"EST", -300},
			     {"EDT", -240}, {"CST", -360}, {"CDT", -300},
			     {"MST", -420}, {"MDT", -360}, {"PST", -480},
			     {"PDT", -420}};
		for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
			if ((size_t)(end - p) >= strlen(zones[i].n) &&
			    strncasecmp(p, zones[i].n, strlen(zones[i].n)) == 0)
				off = zones[i].off;
	}
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 ||
	    year < 1900 || year > 9999)
		return -1;
	struct tm tm = {.tm_year = year - 1900,
			.tm_mon = mon,
			.tm_mday = day,
			.tm_hour = hh,
			.tm_min = mm,
			.tm_sec = ss > 59 ? 59 : ss};
	time_t u = timegm(&tm);
	if (u == (time_t)-1)
		return -1;
	t->utc = u - (time_t)off * 60;
	t->offset = off;
	return 0;
}

static int sieve_local_offset(time_t at)
{
	struct tm tm;
	if (localtime_r(&at, &tm) == NULL)
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

int sieve_time_now(time_t now, struct sieve_time *t)
{
	t->utc = now;
	t->offset = sieve_local_offset(now);
	return 0;
}

int sieve_time_zone(struct sieve_time *t, const char *zone, time_t now)
{
	if (zone == NULL) {
		t->offset = sieve_local_offset(t->utc);
		return 0;
	}
	if (strlen(zone) != 5 || (zone[0] != '+' && zone[0] != '-'))
		return -1;
	for (int i = 1; i < 5; i++)
		if (!isdigit((unsigned char)zone[i]))
			return -1;
	int z = (zone[1] - '0') * 1000 + (zone[2] - '0') * 100 +
		(zone[3] - '0') * 10 + (zone[4] - '0');
	if (z % 100 > 59)
		return -1;
	t->offset = (zone[0] == '-' ? -1 : 1) * ((z / 100) * 60 + z % 100);
	(void)now;
	return 0;
}

int sieve_time_part(const struct sieve_time *t, const char *part, char *out,
		    size_t outsz)
{
	time_t local = t->utc + (time_t)t->offset * 60;
	struct tm tm;
	if (gmtime_r(&local, &tm) == NULL)
		return -1;
	int off = t->offset < 0 ? -t->offset : t->offset;
	char sign = t->offset < 0 ? '-' : '+';
	int n;
	if (strcasecmp(part, "year") == 0)
		n = snprintf(out, outsz, "%04d", tm.tm_year + 1900);
	else if (strcasecmp(part, "month") == 0)
		n = snprintf(out, outsz, "%02d", tm.tm_mon + 1);
	else if (strcasecmp(part, "day") == 0)
		n = snprintf(out, outsz, "%02d", tm.tm_mday);
	else if (strcasecmp(part, "date") == 0)
		n = snprintf(out, outsz, "%04d-%02d-%02d", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday);
	else if (strcasecmp(part, "julian") == 0)
		/* Modified Julian Day: days since 1858-11-17 */
		n = snprintf(out, outsz, "%lld",
			     (long long)(local / 86400 + 40587 -
					 (local < 0 && local % 86400 ? 1 : 0)));
	else if (strcasecmp(part, "hour") == 0)
		n = snprintf(out, outsz, "%02d", tm.tm_hour);
	else if (strcasecmp(part, "minute") == 0)
		n = snprintf(out, outsz, "%02d", tm.tm_min);
	else if (strcasecmp(part, "second") == 0)
		n = snprintf(out, outsz, "%02d", tm.tm_sec);
	else if (strcasecmp(part, "time") == 0)
		n = snprintf(out, outsz, "%02d:%02d:%02d", tm.tm_hour,
			     tm.tm_min, tm.tm_sec);
	else if (strcasecmp(part, "iso8601") == 0)
		n = snprintf(
		    out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
	else if (strcasecmp(part, "std11") == 0)
		n = snprintf(
		    out, outsz, "%s, %d %c%s %04d %02d:%02d:%02d %c%02d%02d",
		    sieve_wdays[tm.tm_wday], tm.tm_mday,
		    toupper((unsigned char)sieve_months[tm.tm_mon][0]),
		    sieve_months[tm.tm_mon] + 1, tm.tm_year + 1900, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
	else if (strcasecmp(part, "zone") == 0)
		n = snprintf(out, outsz, "%c%02d%02d", sign, off / 60,
			     off % 60);
	else if (strcasecmp(part, "weekday") == 0)
		n = snprintf(out, outsz, "%d", tm.tm_wday);
	else
		return -1;
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}
