/*
 * RFC 8474 object ids and RFC 8514 save dates for youju-mra (the formats
 * are in imap_objectid.h and docs/mra.md).
 */
#include "imap_objectid.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/sha.h>

#include "buf.h"
#include "file.h"

static void imap_objectid_hex(char kind, const unsigned char *b,
			      char out[IMAP_OBJECTID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	out[0] = kind;
	for (size_t k = 0; k < 12; k++) {
		out[1 + 2 * k] = hex[b[k] >> 4];
		out[2 + 2 * k] = hex[b[k] & 15];
	}
	out[25] = '\0';
}

/* A stored id is "F" and 24 lower-case hex digits, then a line end. */
static bool imap_objectid_valid(const char *p, size_t len)
{
	if (len < 25 || p[0] != 'F')
		return false;
	for (size_t k = 1; k < 25; k++)
		if (!((p[k] >= '0' && p[k] <= '9') ||
		      (p[k] >= 'a' && p[k] <= 'f')))
			return false;
	return len == 25 || p[25] == '\n';
}

static int imap_objectid_read(const char *file, char out[IMAP_OBJECTID_SIZE])
{
	char *data;
	size_t len;
	int r = file_read(file, 64, 0, &data, &len, NULL);
	if (r <= 0) {
		if (r == 0)
			errno = ENOENT;
		return -1;
	}
	bool ok = imap_objectid_valid(data, len);
	if (ok) {
		memcpy(out, data, 25);
		out[25] = '\0';
	}
	free(data);
	if (!ok)
		errno = EINVAL;
	return ok ? 0 : -1;
}

int imap_objectid_mailbox(const char *path, char out[IMAP_OBJECTID_SIZE])
{
	char file[4096];
	if (file_path(file, sizeof file, path, IMAP_OBJECTID_FILE) < 0)
		return -1;
	if (imap_objectid_read(file, out) == 0)
		return 0;
	if (errno != ENOENT)
		return -1; /* a broken file is not replaced: the id stays */
	unsigned char rnd[12];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return -1;
	char id[IMAP_OBJECTID_SIZE], line[IMAP_OBJECTID_SIZE + 1];
	imap_objectid_hex('F', rnd, id);
	snprintf(line, sizeof line, "%s\n", id);
	struct file_replace_opts o = {.mode = 0600, .no_clobber = true};
	if (file_replace(file, line, 26, &o) == 0) {
		memcpy(out, id, IMAP_OBJECTID_SIZE);
		return 0;
	}
	/* another session made it first: take that one */
	return errno == EEXIST ? imap_objectid_read(file, out) : -1;
}

void imap_objectid_email(const char *base, char out[IMAP_OBJECTID_SIZE])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)base, strlen(base), md);
	imap_objectid_hex('M', md, out);
}

time_t imap_objectid_savedate(const char *base)
{
	uint64_t t = 0;
	size_t k = 0;
	for (; base[k] >= '0' && base[k] <= '9' && k < 12; k++)
		t = t * 10 + (uint64_t)(base[k] - '0');
	/* "<seconds>." with a plausible time (after 2001, Maildir's era) */
	if (k == 0 || base[k] != '.' || t < 1000000000u || t > INT32_MAX * 4ull)
		return 0;
	return (time_t)t;
}

int imap_objectid_fetch(struct buf *out, const char *base, bool savedate,
			bool emailid, bool threadid)
{
	int r = 0;
	if (savedate) {
		time_t t = imap_objectid_savedate(base);
		struct tm tm;
		char date[64];
		if (t != 0 && gmtime_r(&t, &tm) != NULL &&
		    strftime(date, sizeof date, "%d-%b-%Y %H:%M:%S +0000",
			     &tm) > 0)
			r |= buf_printf(out, "%sSAVEDATE \"%s\"",
					out->len ? " " : "", date);
		else
			r |= buf_printf(out, "%sSAVEDATE NIL",
					out->len ? " " : "");
	}
	if (emailid) {
		char id[IMAP_OBJECTID_SIZE];
		imap_objectid_email(base, id);
		r |= buf_printf(out, "%sEMAILID (%s)", out->len ? " " : "", id);
	}
	if (threadid)
		r |= buf_printf(out, "%sTHREADID NIL", out->len ? " " : "");
	return r < 0 ? -1 : 0;
}
