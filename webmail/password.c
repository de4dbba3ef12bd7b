/*
 * POST /api/password {"old", "new"}: the logged-in user's password,
 * changed through youju-authd's PASSWD (which checks the old password
 * again, refuses disablepwdchange and writes the hash with
 * authd_password_scheme).  The new password must be at least
 * webmail_password_min_length characters, differ from the old one and
 * carry no control bytes (authd's protocol cannot send them).  A refusal
 * waits authd's penalty on lib/http's timer (FAILDELAY=1, as the login
 * does), not on a worker thread.  On success
 * every session of the user ends, and this request gets a new one.
 */
#include <stdio.h>
#include <string.h>

#include "authc.h"
#include "log.h"
#include "webauth.h"
#include "webjson.h"
#include "wm.h"

/* Characters of UTF-8 text (not bytes): the minimum is what people count. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void wm_password(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	static const char *const allowed[] = {"old", "new", NULL};
	const char *oldpw = NULL, *newpw = NULL;
	char user[WEBSESSION_USER_MAX];
	struct websession_info info;
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "old", true, 1024, &oldpw) < 0 ||
	    webjson_get_str(req, in, "new", true, 1024, &newpw) < 0)
		goto out;
	if (me->pwchange_disabled) {
		webjson_error(req, 403, "pwchange_disabled",
			      "password changes are disabled for this mailbox",
			      NULL);
		goto out;
	}
	if (utf8_chars(newpw) < wm->password_min) {
		char msg[80];
		snprintf(msg, sizeof msg,
			 "the new password needs at least %u characters",
			 wm->password_min);
		webjson_error(req, 400, "password_short", msg, "new");
		goto out;
	}
	if (strcmp(oldpw, newpw) == 0) {
		webjson_error(req, 400, "password_same",
			      "the new password is the old one", "new");
		goto out;
	}
	if (!websession_get(wm->sessions, me->session_id, &info)) {
		webjson_error(req, 401, "unauthorized", "session ended", NULL);
		goto out;
	}
	snprintf(user, sizeof user, "%s", info.user);
	/* authd answers FAIL for a wrong old password (counted as a failed
	   login) and for a database it cannot update alike */
	unsigned delay_ms = 0;
	enum authc_status st =
	    authc_passwd_penalty(wm->authd_socket, "webmail", user, oldpw,
				 newpw, http_req_client(req), &delay_ms);
	if (st != AUTHC_OK) {
		/* authd's penalty, waited out on lib/http's timer */
		http_reply_delay(req, delay_ms);
		log_info("webmail: user=<%s>, client=%s: password change "
			 "refused",
			 user, http_req_client(req));
		webjson_error(req, 403, "password_refused",
			      "the old password is wrong or the change was "
			      "refused",
			      "old");
		goto out;
	}
	log_info("webmail: user=<%s>, client=%s: password changed", user,
		 http_req_client(req));
	/* everyone logged in with the old password is logged out; this
	   browser carries on in a new session */
	(void)websession_destroy_user(wm->sessions, user);
	struct websession_info ni;
	json_t *o = json_object();
	if (webauth_start(req, wm->sessions, WM_COOKIE, user, info.role, &ni) ==
	    0)
		json_object_set_new(o, "csrf", json_string(ni.csrf));
	webjson_reply(req, 200, o);
out:
	json_decref(in);
}
