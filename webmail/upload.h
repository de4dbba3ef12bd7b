/*
 * Files uploaded for a message being written (upload.c): stored in the
 * user's Maildir tmp/ until POST /api/send takes them.
 */
#ifndef YOUJU_WEBMAIL_UPLOAD_H
#define YOUJU_WEBMAIL_UPLOAD_H

#include <stddef.h>

#include "buf.h"
#include "http.h"
#include "maildir.h"

/* hex digits of an upload ID (16 random bytes) */
#define UPLOAD_ID_LEN 32

struct wm_upload {
	char name[256];	  /* UTF-8 file name, no path */
	char type[200];	  /* media type, checked at upload */
	const char *data; /* the bytes, borrowed from raw */
	size_t len;
	char path[4200]; /* the stored file (unlink after sending) */
	struct buf raw;
};

/* POST /api/upload (multipart/form-data, field "file") -> {"id", "name",
   "type", "size"} */
void wm_upload(struct http_req *req);

/*
 * Reads upload id (UPLOAD_ID_LEN lower-case hex digits, else EINVAL) of
 * the Maildir maildir, at most max bytes of data.  Returns 0 with *u
 * filled (free with wm_upload_free), or -1 with errno (ENOENT: no such
 * upload; EFBIG: too large).
 */
int wm_upload_read(const char *maildir, const char *id, size_t max,
		   struct wm_upload *u);
void wm_upload_free(struct wm_upload *u);

/*
 * Stores len bytes of data as a new upload of the Maildir maildir, named
 * name (one line, no path) with media type type; its ID (UPLOAD_ID_LEN
 * hex digits and a NUL) into id.  Returns 0, or -1 with errno (logged).
 */
int wm_upload_store(const char *maildir, const char *name, const char *type,
		    const char *data, size_t len, char *id);

#endif
