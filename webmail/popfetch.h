/*
 * POP3 fetch (popfetch.c): up to WM_POPFETCH_MAX remote POP3 accounts per
 * user, fetched into the Inbox by a background job; docs/webmail.md
 * "POP3 fetch".
 */
#ifndef YOUJU_WEBMAIL_POPFETCH_H
#define YOUJU_WEBMAIL_POPFETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define WM_POPFETCH_MAX 6

/*
 * Loads (or, when missing, makes: 32 random bytes, mode 0600) the key
 * that encrypts the stored passwords.  Call as root before the privilege
 * drop.  Returns 0, or -1 with *error_r (POP3 fetch is then off).
 */
int wm_popfetch_init(const char *key_file, bool allow_private,
		     const char **error_r);

/* True when addr (an IPv4 or IPv6 socket address) is loopback, private,
   link-local, unique-local, CGNAT, multicast or unspecified: refused
   unless webmail_popfetch_allow_private. */
struct sockaddr;
bool wm_popfetch_addr_private(const struct sockaddr *sa);

/* GET /api/popfetch, POST /api/popfetch */
void wm_popfetch_get(struct http_req *req);
void wm_popfetch_post(struct http_req *req);

#endif
