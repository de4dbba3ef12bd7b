/*
 * The recent watermark of a folder (imap_recent.h).  Dovecot keeps the
 * same number as first_recent_uid in its dovecot.index header; youju has
 * no binary index shared between sessions that every session rewrites
 * under the folder lock (youju.index is a cache, saved lazily and
 * possibly skipped when its lock is busy), so the watermark has its own
 * tiny file, replaced atomically under the dovecot-uidlist lock that every
 * scan of the folder takes anyway.
 */
#include "imap_recent.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "str.h"

/* The file is one short line; anything longer is not ours. */
#define IMAP_RECENT_FILE_MAX 64
/* How long a claim waits for the dovecot-uidlist lock. */
#define IMAP_RECENT_LOCK_MS 2000

uint32_t imap_recent_parse(const char *data, size_t len, uint32_t uidvalidity)
{
	char tmp[IMAP_RECENT_FILE_MAX + 1];
	if (len == 0 || len > IMAP_RECENT_FILE_MAX ||
	    memchr(data, '\0', len) != NULL)
		return 0;
	memcpy(tmp, data, len);
	tmp[len] = '\0';
	char *sp = strchr(tmp, ' ');
	char *nl = strchr(tmp, '\n');
	if (sp == NULL || nl == NULL || nl < sp || nl[1] != '\0')
		return 0;
	*sp = '\0';
	*nl = '\0';
	uint64_t v, uid;
	if (str_parse_u64(tmp, 1, UINT32_MAX, &v) < 0 ||
	    str_parse_u64(sp + 1, 0, UINT32_MAX, &uid) < 0 || v != uidvalidity)
		return 0;
	return (uint32_t)uid;
}

static uint32_t imap_recent_read(const char *folder, uint32_t uidvalidity)
{
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/" IMAP_RECENT_FILE, folder);
	if (n < 0 || (size_t)n >= sizeof path)
		return 0;
	struct buf b;
	buf_init(&b, IMAP_RECENT_FILE_MAX + 1);
	uint32_t w = 0;
	if (maildir_file_read(path, &b) > 0)
		w = imap_recent_parse(b.p, b.len, uidvalidity);
	buf_deinit(&b);
	return w;
}

uint32_t imap_recent_claim(const char *folder, uint32_t uidvalidity,
			   uint32_t max_uid, bool claim)
{
	uint32_t w = imap_recent_read(folder, uidvalidity);
	if (!claim || w >= max_uid)
		return w; /* nothing new to take: no lock needed */
	if (maildir_uidlist_lock(folder, IMAP_RECENT_LOCK_MS) < 0) {
		log_warning("imap: %s/dovecot-uidlist.lock: %s: no \\Recent "
			    "given",
			    folder, strerror(errno));
		return max_uid;
	}
	w = imap_recent_read(folder, uidvalidity);
	if (max_uid > w) {
		char line[48];
		int n = snprintf(line, sizeof line, "%lu %lu\n",
				 (unsigned long)uidvalidity,
				 (unsigned long)max_uid);
		if (n < 0 || (size_t)n >= sizeof line ||
		    maildir_file_replace(folder, IMAP_RECENT_FILE, line,
					 (size_t)n) < 0) {
			log_warning("imap: %s/" IMAP_RECENT_FILE ": %s: no "
				    "\\Recent given",
				    folder, strerror(errno));
			w = max_uid;
		}
	}
	maildir_uidlist_unlock(folder);
	return w;
}
