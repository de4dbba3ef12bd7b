/*
 * youju-webmail's shared state and the handlers of its route table
 * (DESIGN §10 "API contract", docs/webmail.md).  The daemon holds no
 * database credentials: logins and the account's Maildir come from
 * youju-authd (service "webmail"), mail goes through the lib/mailbox layer
 * and leaves through youju-mta's local submission socket.
 */
#ifndef YOUJU_WEBMAIL_WM_H
#define YOUJU_WEBMAIL_WM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authc.h"
#include "conf.h"
#include "http.h"
#include "mailbox.h"
#include "prefs.h"
#include "webjson.h"
#include "websession.h"

#define WM_COOKIE "youju_webmail"
/* largest message read for display or attachment download */
#define WM_MESSAGE_MAX (64u * 1024 * 1024)
/* header bytes read per message for the list */
#define WM_HEADER_MAX (64u * 1024)
/* UIDs in one flags/move/delete request */
#define WM_UIDS_MAX 10000
/* recipients of one message */
#define WM_RCPTS_MAX 100
/* text of one message sent */
#define WM_TEXT_MAX (4u * 1024 * 1024)

struct wm {
	const struct conf *conf;
	struct websession_store *sessions;
	const char *authd_socket;
	const char *sendmail_socket;
	const char *myhostname;
	uint64_t message_size_limit;
	unsigned page_size;
	unsigned password_min; /* webmail_password_min_length */
};

/* The logged-in user of the request being served (worker thread). */
struct wm_caller {
	char session_id[WEBSESSION_ID_LEN + 1];
	struct authc_account acct; /* from authd PRE, this request */
	char name[256];		   /* NAME (display name), "" none */
	bool pwchange_disabled;	   /* DISABLEPWDCHANGE=1 */
	struct mailbox_user mu;	   /* acct.maildir and its quota */
	struct wm_prefs prefs;	   /* prefs.c, read for this request */
};

extern const struct http_route wm_routes[];
bool wm_authorize(void *app, struct http_req *req, unsigned flags);
const struct wm_caller *wm_caller(struct http_req *req);

/*
 * The directory of folder name (UTF-8, IMAP view: "INBOX", "Sent",
 * "a/b" is refused, "a.b" nested) of the caller's Maildir into out.
 * Returns 0, or -1 after replying 400 (bad name) or 404 (no such folder).
 */
int wm_folder_path(struct http_req *req, const char *name, char *out,
		   size_t outsz);
/*
 * Expunges the messages of f marked in sel (f->n entries; NULL: all) for
 * the caller through lib/mailbox (quota given back); a failure is logged.
 * Returns how many went.
 */
size_t wm_expunge(const struct wm_caller *me, struct maildir_folder *f,
		  bool *sel);
/*
 * Calls fn(ctx, name, path) for each folder of the Maildir maildir below
 * the Inbox, in maildir_folder_list() order: its UTF-8 name and its
 * directory (both borrowed for the call).  A folder whose name cannot be
 * decoded or whose path is too long is passed over.
 */
void wm_each_folder(const char *maildir,
		    void (*fn)(void *ctx, const char *name, const char *path),
		    void *ctx);

/* session.c */
void wm_session_login(struct http_req *req);
void wm_session_get(struct http_req *req);
void wm_session_logout(struct http_req *req);
void wm_extmail_redirect(struct http_req *req);

/* mail.c */
void wm_folders(struct http_req *req);
void wm_folder_create(struct http_req *req);
void wm_empty(struct http_req *req);
void wm_messages(struct http_req *req);
void wm_message(struct http_req *req);
void wm_attachment(struct http_req *req);
void wm_flags(struct http_req *req);
void wm_move(struct http_req *req);
void wm_delete(struct http_req *req);

/* password.c: POST /api/password */
void wm_password(struct http_req *req);

/* contacts.c */
void wm_contacts_list(struct http_req *req);
void wm_contacts_add(struct http_req *req);
void wm_contacts_edit(struct http_req *req);
void wm_contacts_delete(struct http_req *req);
void wm_contacts_export(struct http_req *req);
void wm_contacts_import(struct http_req *req);
void wm_directory(struct http_req *req);

/* netdisk.c */
void wm_netdisk_list(struct http_req *req);
void wm_netdisk_op(struct http_req *req);
void wm_netdisk_file(struct http_req *req);

/* for the handlers outside mail.c: the folder of a request (or a reply
   sent), a message's flags as IMAP names, its list summary (youju.index,
   else the file's head; false when it went away) */
struct maildir_folder *wm_folder_open(struct http_req *req, const char *name);
json_t *wm_flags_json(const struct maildir_folder *f,
		      const struct maildir_msg *m);
struct maildir_index;
struct wm_summary;
bool wm_msg_summary(struct maildir_folder *f, const struct maildir_index *ix,
		    struct maildir_msg *m, struct wm_summary *s);

/* reading.c: the "charset" query of GET /api/message (the reader's
   override: letters, digits, "-_.:", 1 to 40 bytes, else ignored), or
   NULL */
const char *wm_charset_override(struct http_req *req);
/* GET /api/source?folder=&uid=[&download=1]: the message as text/plain */
void wm_source(struct http_req *req);

/* list.c: a message's fields in the lists (GET /api/messages, search,
   threads) into o: uid, subject, from, date, flags; with full also
   arrival, size and attachments */
void wm_msg_row(json_t *o, const struct maildir_folder *f,
		const struct maildir_msg *m, const struct wm_summary *s,
		bool full);

/* list.c: the page of GET /api/messages of the shared scan (fcache.h),
   sorted by key (enum listcache_key) from the kept sort keys; replies */
struct fcache_scan;
void wm_list_sorted(struct http_req *req, const struct fcache_scan *scan,
		    int key, bool desc, size_t page);
/* list.c: the same in arrival (UID) order, or by size; replies */
void wm_list_plain(struct http_req *req, const struct fcache_scan *scan,
		   bool by_size, bool desc, size_t page);

/* search.c, folders.c, drafts.c, thread.c */
void wm_search(struct http_req *req);
void wm_folder_rename(struct http_req *req);
void wm_folder_delete(struct http_req *req);
void wm_draft_save(struct http_req *req);
void wm_thread(struct http_req *req);

/* filters.c: GET/PUT/DELETE /api/filters, PUT /api/filters/raw; and at
   login, ExtMail's filters imported once (errors logged) */
void wm_filters_get(struct http_req *req);
void wm_filters_put(struct http_req *req);
void wm_filters_raw(struct http_req *req);
void wm_filters_off(struct http_req *req);
void wm_filters_login(const char *user, const char *maildir);

/* send.c: POST /api/send, and POST /api/draft (the same fields) */
void wm_send(struct http_req *req);

/* drafts.c: msg (CR LF) stored in Drafts as \Draft \Seen, the earlier
   draft old_uid (0 none) of the same compose expunged; replies
   {"uid", "message_id"}.  wm_draft_remove expunges a draft after its
   message was sent (errors logged). */
struct buf;
void wm_draft_store(struct http_req *req, const struct buf *msg,
		    uint32_t old_uid, const char *message_id);
void wm_draft_remove(struct http_req *req, uint32_t uid);

#endif
