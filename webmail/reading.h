/*
 * Reading options of the message view (docs/webmail.md "Reading"):
 * the charsets a text is decoded with (reading.c: the reader's override,
 * the part's label, and the "try local charset" preference for text with
 * no or a wrong label), the remote-image senders kept in the preferences
 * file (remoteimg.c), and the list's display of a From field (addrdisp.c).
 */
#ifndef YOUJU_WEBMAIL_READING_H
#define YOUJU_WEBMAIL_READING_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "http.h"
#include "str.h"

/* How one request reads text: override (the charset menu, NULL none)
   wins over the part's label; local ("" or NULL off) is used when there
   is no label or decoding by the label meets invalid bytes. */
struct wm_charsets {
	const char *override;
	const char *local;
};

/* Whether v names a charset the "try local charset" preference offers
   (case-insensitive: GB18030, GBK, GB2312, Big5, Big5-HKSCS, ISO-2022-JP,
   Shift_JIS, EUC-JP, EUC-KR, ISO-8859-1, windows-1252, windows-1251, KOI8-R).
 */
bool wm_local_charset_ok(const char *v);

/*
 * Appends the text p[0..n) labelled label (NULL none) as UTF-8 to out,
 * as cs says (NULL: the label alone).  With cs->local set and no
 * override, the text is read as the local charset when the label is
 * missing or reading by it produced more U+FFFD than reading by the
 * local one.  Returns 0, or -1 when out's maximum was reached.
 */
int wm_text_decode(const char *label, const char *p, size_t n,
		   const struct wm_charsets *cs, struct buf *out);

/* A header value decoded (RFC 2047) into out; bytes outside ASCII that
   are not UTF-8 are read as local first (mail that puts GB18030 bytes
   into Subject: unencoded), when local is set. */
int wm_header_decode(struct str v, const char *local, struct buf *out);

/* ---- remoteimg.c: "always load remote images from this sender" ---- */

/* The preference key, one line per sender, in youju-webmail.cf. */
#define WM_REMOTE_KEY "remote_images_from"
/* Senders one mailbox keeps. */
#define WM_REMOTE_MAX 1000

/*
 * The first address of the From field in the header block hdr (len
 * bytes) into addr (lower case local@domain; "" none).  Returns whether
 * that sender is on the list of maildir's preferences file.
 */
bool wm_remoteimg_sender(const char *maildir, const char *hdr, size_t len,
			 char *addr, size_t addrsz);

/* Appends the sender lines of maildir's preferences file to b (prefs.c
   keeps them when it rewrites the file).  Returns 0 or -1 (b full). */
int wm_remoteimg_carry(const char *maildir, struct buf *b);

/* The dotlock of the preferences file, taken around every rewrite
   (prefs.c, remoteimg.c); path out receives the lock's name.  Returns 0,
   or -1 with errno. */
int wm_prefs_lock(const char *maildir, char *lock, size_t locksz);

/* GET /api/remote_images, POST /api/remote_images {"sender", "allow"} */
void wm_remoteimg_get(struct http_req *req);
void wm_remoteimg_post(struct http_req *req);

/* ---- partload.c: a message's part for NetDisk ---- */

struct wm_part {
	char name[1024]; /* the part's file name (UTF-8), "" none */
	char *data;	 /* the decoded body (owned) */
	size_t len;
};

/*
 * The part "part" of message "uid" in "folder" (the request's JSON
 * object in) decoded into p (free with wm_part_free).  Returns 0, or -1
 * after replying 400 (bad field) or 404 (no such message or part).
 */
int wm_part_load(struct http_req *req, json_t *in, struct wm_part *p);
void wm_part_free(struct wm_part *p);

/* ---- addrdisp.c ---- */

/* The From field value v as the list shows it: the first mailbox as
   "Name <local@domain>" (the display name's quoted strings unquoted
   per RFC 5322, then RFC 2047-decoded) or "local@domain"; the decoded
   field when no address can be read.  Returns a fresh string (UTF-8). */
char *wm_from_display(struct str v);

#endif
