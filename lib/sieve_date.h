/*
 * Dates for Sieve's date and currentdate tests (RFC 5260): an RFC 5322
 * date-time parsed into an instant and its zone, moved to another zone,
 * and its date-parts ("year", "date", "iso8601", "std11", ...) formatted.
 */
#ifndef YOUJU_SIEVE_DATE_H
#define YOUJU_SIEVE_DATE_H

#include <stddef.h>
#include <time.h>

struct sieve_time {
	time_t utc;
	int offset; /* minutes east of UTC of the zone shown */
};

/* Parses an RFC 5322 date-time ("Sat, 13 Mar 2010 14:30:00 +0100",
   obsolete zone names and two-digit years accepted).  0 or -1. */
int sieve_time_parse(const char *p, size_t len, struct sieve_time *t);
/* now in the local zone.  0 or -1. */
int sieve_time_now(time_t now, struct sieve_time *t);
/* Moves t to zone ("+0100"), or the local zone at now when zone is NULL.
   0, or -1 for a malformed zone. */
int sieve_time_zone(struct sieve_time *t, const char *zone, time_t now);
/* Formats date-part part of t into out.  0, or -1 for an unknown part. */
int sieve_time_part(const struct sieve_time *t, const char *part, char *out,
		    size_t outsz);

#endif
