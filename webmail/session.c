/*
 * youju-webmail's route table, logins and the caller check every other
 * route goes through.  A login is youju-authd's AUTH with service
 * "webmail" and the client's address (authd counts failures and throttles,
 * docs/authd-protocol.md §5); each attempt is logged in ExtMail's shape
 *
 *	user=<u@d>, client=IP, module=login, status=loginok|badlogin|
 *	disabled|deactive
 *
 * so that mailgraph_ext and the operators' scripts keep working.  A
 * failed login's reply waits out authd's penalty on lib/http's timer, and
 * "disabled"/"deactive" are told only after the right password (authd's
 * REASON).  Every
 * later request looks the account up again (LOOKUP user), so that a
 * mailbox disabled in the console is logged out at its next click.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "authc.h"
#include "log.h"
#include "maildir.h"
#include "msghtml.h"
#include "popfetch.h"
#include "reading.h"
#include "str.h"
#include "compose.h"
#include "upload.h"
#include "webauth.h"
#include "webjson.h"
#include "wm.h"
#include "xalloc.h"

/* clang-format off */
#define S HTTP_F_SESSION
#define C HTTP_F_CSRF
const struct http_route wm_routes[] = {
	{ "POST", "/api/session", wm_session_login, 0 },
	{ "GET", "/api/session", wm_session_get, S },
	{ "DELETE", "/api/session", wm_session_logout, S | C },
	{ "GET", "/api/folders", wm_folders, S },
	{ "POST", "/api/folders", wm_folder_create, S | C },
	{ "POST", "/api/empty", wm_empty, S | C },
	{ "GET", "/api/messages", wm_messages, S },
	{ "GET", "/api/message", wm_message, S },
	{ "GET", "/api/message/html", wm_message_html, S },
	{ "GET", "/api/attachment", wm_attachment, S },
	{ "POST", "/api/flags", wm_flags, S | C },
	{ "POST", "/api/move", wm_move, S | C },
	{ "POST", "/api/delete", wm_delete, S | C },
	{ "POST", "/api/send", wm_send, S | C },
	{ "POST", "/api/upload", wm_upload, S | C },
	{ "GET", "/api/prefs", wm_prefs_get, S },
	{ "PUT", "/api/prefs", wm_prefs_put, S | C },
	{ "POST", "/api/password", wm_password, S | C },
	{ "GET", "/api/contacts", wm_contacts_list, S },
	{ "POST", "/api/contacts", wm_contacts_add, S | C },
	{ "PUT", "/api/contacts/{}", wm_contacts_edit, S | C },
	{ "DELETE", "/api/contacts/{}", wm_contacts_delete, S | C },
	{ "GET", "/api/contacts.csv", wm_contacts_export, S },
	{ "POST", "/api/contacts/import", wm_contacts_import, S | C },
	{ "GET", "/api/directory", wm_directory, S },
	{ "GET", "/api/netdisk", wm_netdisk_list, S },
	{ "POST", "/api/netdisk", wm_netdisk_op, S | C },
	{ "GET", "/api/netdisk/file", wm_netdisk_file, S },
	{ "GET", "/api/popfetch", wm_popfetch_get, S },
	{ "POST", "/api/popfetch", wm_popfetch_post, S | C },
	{ "GET", "/api/search", wm_search, S },
	{ "POST", "/api/folders/rename", wm_folder_rename, S | C },
	{ "POST", "/api/folders/delete", wm_folder_delete, S | C },
	{ "POST", "/api/draft", wm_draft_save, S | C },
	{ "GET", "/api/source", wm_source, S },
	{ "GET", "/api/thread", wm_thread, S },
	{ "GET", "/api/filters", wm_filters_get, S },
	{ "PUT", "/api/filters", wm_filters_put, S | C },
	{ "DELETE", "/api/filters", wm_filters_off, S | C },
	{ "PUT", "/api/filters/raw", wm_filters_raw, S | C },
	{ "GET", "/api/remote_images", wm_remoteimg_get, S },
	{ "POST", "/api/remote_images", wm_remoteimg_post, S | C },
	{ "POST", "/api/reattach", wm_reattach, S | C },
	{ "GET", "/api/upload/view", wm_upload_view, S },
	{ "GET", "/api/attachment/view", wm_attachment_view, S },
	{ "POST", "/api/mdn", wm_mdn, S | C },
	{ "GET", "/extmail", wm_extmail_redirect, 0 },
	{ "GET", "/extmail/*", wm_extmail_redirect, 0 },
	{ NULL, NULL, NULL, 0 },
};
#undef S
#undef C
/* clang-format on */

/* one request per worker thread at a time: the caller lives here */
static _Thread_local struct wm_caller tl_caller;

const struct wm_caller *wm_caller(struct http_req *req)
{
	return http_req_ctx(req);
}

/* The login lower-cased into out; false when it is not a plausible
   address (control bytes, no '@', too long). */
static bool login_name(const char *user, char *out, size_t outsz)
{
	size_t n = strlen(user);
	if (n == 0 || n >= outsz || strchr(user, '@') == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)user[i];
		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>')
			return false;
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : (char)c;
	}
	out[n] = '\0';
	return true;
}

static void log_login(const char *user, const char *ip, const char *status)
{
	char esc[300];
	log_info("user=<%s>, client=%s, module=login, status=%s",
		 log_escape(esc, sizeof esc, user, strlen(user)), ip, status);
}

/*
 * "Bind my session to my IP": the session's role carries a digest of the
 * client address it logged in from ("ip:" + 24 hex digits of SHA-256),
 * and every request from another address ends the session.  Off, the
 * role is "user".
 */
static void ip_role(const char *ip, char *out, size_t outsz)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	static const char hex[] = "0123456789abcdef";
	if (outsz < 28 ||
	    EVP_Digest(ip, strlen(ip), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < 12) {
		snprintf(out, outsz, "ip:?");
		return;
	}
	memcpy(out, "ip:", 3);
	for (size_t i = 0; i < 12; i++) {
		out[3 + 2 * i] = hex[md[i] >> 4];
		out[4 + 2 * i] = hex[md[i] & 15];
	}
	out[27] = '\0';
}

void wm_session_login(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	static const char *const allowed[] = {"user", "password", "bind_ip",
					      NULL};
	const char *user = NULL, *password = NULL;
	bool bind_ip = false;
	char luser[256];
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "user", true, 255, &user) < 0 ||
	    webjson_get_str(req, in, "password", true, 1024, &password) < 0 ||
	    webjson_get_bool(req, in, "bind_ip", false, &bind_ip) < 0)
		goto out;
	const char *ip = http_req_client(req);
	if (!login_name(user, luser, sizeof luser)) {
		log_login(user, ip, "badlogin");
		webjson_error(req, 401, "bad_login",
			      "wrong address or password", NULL);
		goto out;
	}
	http_req_set_user(req, luser);
	/* authd answers a failure at once with its penalty, which the
	   reply then waits out on lib/http's timer: a guesser holds no
	   worker thread (docs/authd-protocol.md §5) */
	struct authc_reply r = {0};
	unsigned delay_ms = 0;
	enum authc_status st = authc_auth_login_penalty(
	    wm->authd_socket, "webmail", luser, password, ip, &r, &delay_ms);
	if (st == AUTHC_TEMPFAIL) {
		authc_reply_free(&r);
		log_warning("webmail: login: user=<%s>, client=%s: "
			    "youju-authd did not answer (throttled or "
			    "unavailable)",
			    luser, ip);
		webjson_error(req, 503, "unavailable",
			      "login is not possible now, try again later",
			      NULL);
		goto out;
	}
	if (st == AUTHC_NOTFOUND) {
		/* REASON comes only with the right password: nobody learns
		   an account's state without it */
		const char *why = authc_get(&r, "REASON");
		if (why != NULL && strcmp(why, "inactive") == 0) {
			log_login(luser, ip, "deactive");
			webjson_error(req, 403, "deactive",
				      "this mailbox is not active", NULL);
		} else if (why != NULL && strcmp(why, "disabled") == 0) {
			log_login(luser, ip, "disabled");
			webjson_error(req, 403, "disabled",
				      "webmail is disabled for this mailbox",
				      NULL);
		} else {
			log_login(luser, ip, "badlogin");
			webjson_error(req, 401, "bad_login",
				      "wrong address or password", NULL);
		}
		authc_reply_free(&r);
		http_reply_delay(req, delay_ms);
		goto out;
	}
	/* a mailbox that never got mail has no Maildir yet, and one that
	   only got mail has no folders (delivery makes them bare): ExtMail's
	   default folders made here, and subscribed the first time, as
	   youju-mra does at its login */
	struct authc_account acct;
	const char *aerr = NULL, *merr = NULL;
	if (authc_account_get(&r, &acct, &aerr) < 0 ||
	    maildir_create(acct.maildir, &merr) < 0) {
		authc_reply_free(&r);
		log_warning("webmail: login: user=<%s>: %s: %s", luser,
			    aerr != NULL ? aerr : merr,
			    aerr != NULL ? "" : strerror(errno));
		webjson_error(req, 500, "internal",
			      "the mailbox cannot be opened", NULL);
		goto out;
	}
	authc_reply_free(&r);
	wm_filters_login(luser, acct.maildir);
	struct websession_info info;
	char role[WEBSESSION_ROLE_MAX] = "user";
	if (bind_ip)
		ip_role(ip, role, sizeof role);
	if (webauth_start(req, wm->sessions, WM_COOKIE, luser, role, &info) <
	    0) {
		webjson_error(req, 500, "internal", "no random bytes", NULL);
		goto out;
	}
	log_login(luser, ip, "loginok");
	json_t *o = json_object();
	json_object_set_new(o, "user", json_string(luser));
	json_object_set_new(o, "csrf", json_string(info.csrf));
	json_object_set_new(o, "bind_ip", json_boolean(bind_ip));
	webjson_reply(req, 200, o);
out:
	json_decref(in);
}

bool wm_authorize(void *app, struct http_req *req, unsigned flags)
{
	struct wm *wm = app;
	memset(&tl_caller, 0, sizeof tl_caller);
	http_req_set_ctx(req, NULL);
	if ((flags & HTTP_F_SESSION) == 0)
		return true;
	struct websession_info info;
	char id[WEBSESSION_ID_LEN + 1];
	if (!webauth_session(req, wm->sessions, WM_COOKIE, flags, id, &info))
		return false;
	if (strncmp(info.role, "ip:", 3) == 0) {
		char role[WEBSESSION_ROLE_MAX];
		ip_role(http_req_client(req), role, sizeof role);
		if (strcmp(role, info.role) != 0) {
			websession_destroy(wm->sessions, id);
			log_info("webmail: user=<%s>, client=%s: session bound "
				 "to another address: ended",
				 info.user, http_req_client(req));
			webjson_error(req, 401, "unauthorized",
				      "session ended (bound to another "
				      "address)",
				      NULL);
			return false;
		}
	}
	memcpy(tl_caller.session_id, id, sizeof id);
	http_req_set_user(req, info.user);

	struct authc_reply r = {0};
	enum authc_status st =
	    authc_lookup_user(wm->authd_socket, info.user, &r);
	if (st == AUTHC_TEMPFAIL) {
		authc_reply_free(&r);
		webjson_error(req, 503, "unavailable",
			      "youju-authd did not answer, try again later",
			      NULL);
		return false;
	}
	const char *err = NULL;
	const char *active = authc_get(&r, "ACTIVE");
	bool ok = st == AUTHC_OK && active != NULL &&
		  strcmp(active, "1") == 0 &&
		  authc_account_get(&r, &tl_caller.acct, &err) == 0 &&
		  !authc_account_disabled(&tl_caller.acct, "webmail", true);
	if (ok && authc_get(&r, "NAME") != NULL)
		snprintf(tl_caller.name, sizeof tl_caller.name, "%s",
			 authc_get(&r, "NAME"));
	if (ok) {
		const char *dp = authc_get(&r, "DISABLEPWDCHANGE");
		tl_caller.pwchange_disabled =
		    dp != NULL && strcmp(dp, "1") == 0;
		/* the display name chosen in the preferences wins */
		wm_prefs_load(tl_caller.acct.maildir, &tl_caller.prefs);
		if (tl_caller.prefs.name[0] != '\0')
			memcpy(tl_caller.name, tl_caller.prefs.name,
			       sizeof tl_caller.name);
	}
	authc_reply_free(&r);
	if (!ok) {
		if (err != NULL)
			log_warning("webmail: %s: %s", info.user, err);
		websession_destroy(wm->sessions, id);
		webjson_error(req, 401, "unauthorized", "session ended", NULL);
		return false;
	}
	if (mailbox_user_init(&tl_caller.mu, tl_caller.acct.maildir,
			      tl_caller.acct.quota) < 0)
		log_warning("webmail: %s: malformed quota \"%s\" (obeying "
			    "maildirsize)",
			    info.user, tl_caller.acct.quota);
	http_req_set_ctx(req, &tl_caller);
	return true;
}

void wm_session_get(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	struct websession_info info;
	if (!websession_get(wm->sessions, me->session_id, &info)) {
		webjson_error(req, 401, "unauthorized", "session ended", NULL);
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "user", json_string(info.user));
	json_object_set_new(o, "name", json_string(me->name));
	json_object_set_new(o, "csrf", json_string(info.csrf));
	json_object_set_new(o, "page_size",
			    json_integer(me->prefs.page_size > 0
					     ? me->prefs.page_size
					     : wm->page_size));
	/* the quota bar: use from maildirsize, the limit authd's QUOTA or
	   maildirsize's own line (null: unknown, 0: no limit) */
	struct maildir_quota q;
	uint64_t maxb = 0, maxc = 0;
	if (maildir_quota_read(me->acct.maildir, &q) == 1) {
		if (me->acct.quota[0] == '\0' ||
		    maildir_quota_def_parse(me->acct.quota, &maxb, &maxc) < 0) {
			maxb = q.max_bytes;
			maxc = q.max_count;
		}
		json_t *qo = json_object();
		json_object_set_new(qo, "bytes", json_integer(q.bytes));
		json_object_set_new(qo, "count", json_integer(q.count));
		json_object_set_new(qo, "max_bytes",
				    json_integer((json_int_t)maxb));
		json_object_set_new(qo, "max_count",
				    json_integer((json_int_t)maxc));
		json_object_set_new(o, "quota", qo);
	} else
		json_object_set_new(o, "quota", json_null());
	webjson_reply(req, 200, o);
}

void wm_session_logout(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	webauth_end(req, wm->sessions, WM_COOKIE, me->session_id);
	webjson_reply(req, 200, json_object());
}

void wm_extmail_redirect(struct http_req *req)
{
	http_reply_header(req, "Location", "/");
	http_reply_raw(req, 301, "text/plain; charset=utf-8", "moved to /\n",
		       11);
}
