/*
 * Session cookies on requests (see webauth.h).
 */
#include "webauth.h"

#include <string.h>

#include "webjson.h"

bool webauth_session(struct http_req *req, struct websession_store *st,
		     const char *cookie, unsigned flags, char *id_r,
		     struct websession_info *info_r)
{
	const char *h = http_req_header(req, "Cookie");
	if (h == NULL ||
	    !websession_cookie_get(h, strlen(h), cookie, id_r,
				   WEBSESSION_ID_LEN + 1) ||
	    !websession_get(st, id_r, info_r)) {
		webjson_error(req, 401, "unauthorized", "not logged in", NULL);
		return false;
	}
	if ((flags & HTTP_F_CSRF) &&
	    !websession_csrf_ok(info_r, http_req_header(req, "X-CSRF-Token"))) {
		webjson_error(req, 403, "csrf", "missing or wrong X-CSRF-Token",
			      NULL);
		return false;
	}
	return true;
}

static void set_cookie(struct http_req *req, const char *cookie, const char *id)
{
	char c[200];
	if (websession_set_cookie(c, sizeof c, cookie, id, http_req_tls(req)) ==
	    0)
		http_reply_header(req, "Set-Cookie", c);
}

int webauth_start(struct http_req *req, struct websession_store *st,
		  const char *cookie, const char *user, const char *role,
		  struct websession_info *info_r)
{
	char id[WEBSESSION_ID_LEN + 1];
	if (websession_create(st, user, role, id, info_r) < 0)
		return -1;
	set_cookie(req, cookie, id);
	explicit_bzero(id, sizeof id);
	return 0;
}

void webauth_end(struct http_req *req, struct websession_store *st,
		 const char *cookie, const char *id)
{
	if (id != NULL)
		websession_destroy(st, id);
	set_cookie(req, cookie, "");
}
