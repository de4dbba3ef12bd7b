/*
 * Per-user webmail preferences (prefs.c), stored in the Maildir as
 * youju-webmail.cf (docs/webmail.md "Preferences file").  ExtMail's
 * user.cf and signature.cf are read for defaults and never written.
 */
#ifndef YOUJU_WEBMAIL_PREFS_H
#define YOUJU_WEBMAIL_PREFS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "str.h"

#define WM_PREFS_FILE	 "youju-webmail.cf"
#define WM_PREFS_MAX	 (64u * 1024)
#define WM_SIGNATURE_MAX 4000
/* the signature's HTML form (sanitized) */
#define WM_SIGNATURE_HTML_MAX 16000
#define WM_PAGE_SIZE_MIN      5
#define WM_PAGE_SIZE_MAX      200

struct wm_prefs {
	char name[256];	    /* display name, "" = authd's NAME */
	unsigned page_size; /* 0: the server's webmail_page_size */
	char timezone[64];  /* IANA name, "" = the browser's */
	char sort[16];	    /* date arrival from subject size */
	char order[8];	    /* asc desc */
	bool purge;	    /* delete mode: purge (true) or to Trash */
	bool prefer_html;
	char lang[8]; /* en_US zh_CN, "" = the browser's */
	/* reading: text with no or a wrong charset label read as this
	   ("" off; reading.c wm_local_charsets) */
	char local_charset[24];
	char signature[WM_SIGNATURE_MAX + 1];
	/* its HTML form, lib/htmlsan's output ("" none: the text is the
	   signature in HTML compose too) */
	char signature_html[WM_SIGNATURE_HTML_MAX + 1];
};

/*
 * Reads the preferences of the Maildir maildir into p: the defaults, then
 * ExtMail's user.cf and signature.cf when present, then youju-webmail.cf.
 * Unknown keys and bad values are skipped.  Never fails (a file that
 * cannot be read leaves the defaults).
 */
void wm_prefs_load(const char *maildir, struct wm_prefs *p);

/*
 * Replaces the caller's preferences file with text (NULL: it could not be
 * built, errno says why).  Returns 0, or -1 after logging and replying
 * 500.  The caller holds wm_prefs_lock().
 */
struct buf;
int wm_prefs_save(struct http_req *req, const struct buf *text);

/* GET /api/prefs, PUT /api/prefs */
void wm_prefs_get(struct http_req *req);
void wm_prefs_put(struct http_req *req);

/* For tests and fuzzing: applies one file's text to p (cf: "key = value"
   lines; extmail: ExtMail's key names).  Returns the keys applied. */
size_t wm_prefs_parse(struct wm_prefs *p, const char *text, size_t len,
		      bool extmail);
/*
 * The next "key = value" line of a preferences text from *pos (advanced
 * past it): white space around key and value trimmed; blank lines,
 * comments (#), lines without '=' and lines holding a NUL skipped.  The
 * key and value point into text.  Returns false at the end.
 */
bool wm_prefs_line(const char *text, size_t len, size_t *pos, struct str *key_r,
		   struct str *val_r);

#endif
