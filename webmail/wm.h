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

/* send.c */
void wm_send(struct http_req *req);

#endif
