/*
 * The session cookie on a request, as both web daemons use it (DESIGN
 * §10): find the live session a request's cookie names and check the
 * CSRF token of state changes; start a session with its cookie; end one
 * and expire its cookie.  The store and the cookie format are
 * lib/websession's; the replies are the API's error shapes (lib/webjson).
 */
#ifndef YOUJU_WEBAUTH_H
#define YOUJU_WEBAUTH_H

#include <stdbool.h>

#include "http.h"
#include "websession.h"

/*
 * The session the request's cookie (named cookie) names: true with its
 * ID in id_r (WEBSESSION_ID_LEN + 1 bytes) and its copy in *info_r; false
 * after replying 401 (no cookie, unknown or expired session) or, with
 * HTTP_F_CSRF in flags, 403 when X-CSRF-Token is missing or wrong.
 */
bool webauth_session(struct http_req *req, struct websession_store *st,
		     const char *cookie, unsigned flags, char *id_r,
		     struct websession_info *info_r);

/* Starts a session for user with role and sets its cookie on the reply.
   Returns 0 with the session's copy in *info_r, or -1 (no random bytes;
   nothing set). */
__attribute__((warn_unused_result)) int
webauth_start(struct http_req *req, struct websession_store *st,
	      const char *cookie, const char *user, const char *role,
	      struct websession_info *info_r);

/* Ends session id (none when NULL) and expires the cookie on the reply. */
void webauth_end(struct http_req *req, struct websession_store *st,
		 const char *cookie, const char *id);

#endif
