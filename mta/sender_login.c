/*
 * Sender address ownership (see sender_login.h).  The ExtMail schema has
 * no "sender login" table: a mailbox owns its own address and the aliases
 * that deliver to it, which youju-authd already resolves for RCPT (LOOKUP
 * rcpt, docs/authd-protocol.md §3), so one directory code path answers
 * both questions.  An address that is itself a mailbox belongs to that
 * mailbox only, even when an alias of the same name also copies it
 * elsewhere.
 */
#include "sender_login.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addrlist.h"
#include "authc.h"
#include "maps.h"

int sender_login_maps_parse(struct sender_login_maps *m,
			    const char *const *items, size_t n, char *err,
			    size_t errsz)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(items[i], "extmail:") == 0 ||
		    strcasecmp(items[i], "extmail") == 0) {
			m->extmail = true;
			continue;
		}
		if (m->n >= SENDER_LOGIN_MAPS_MAX) {
			snprintf(err, errsz, "too many tables at %s", items[i]);
			sender_login_maps_free(m);
			return -1;
		}
		char merr[512];
		m->map[m->n] = map_open(items[i], merr, sizeof(merr));
		if (m->map[m->n] == NULL) {
			snprintf(err, errsz, "%s: %s", items[i], merr);
			sender_login_maps_free(m);
			return -1;
		}
		m->n++;
	}
	return 0;
}

void sender_login_maps_free(struct sender_login_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		map_free(&m->map[i]);
	m->n = 0;
}

/* Is login one of the words of list ("a@x, b@y c@z")? */
static bool list_has_login(const char *list, const char *login)
{
	size_t ll = strlen(login);
	const char *p = list;
	while (*p != '\0') {
		p += strspn(p, ", \t");
		size_t w = strcspn(p, ", \t");
		if (w == ll && strncasecmp(p, login, ll) == 0)
			return true;
		p += w;
	}
	return false;
}

static enum sender_login_result table_check(const struct sender_login_maps *m,
					    const char *login, const char *addr)
{
	const char *at = strrchr(addr, '@');
	bool tempfail = false;
	for (size_t i = 0; i < m->n; i++) {
		char val[4096];
		/* Postfix's keys for smtpd_sender_login_maps: the address,
		   then "@domain" */
		const char *keys[2] = {addr, at};
		for (size_t k = 0; k < 2 && keys[k] != NULL; k++) {
			switch (
			    map_lookup(m->map[i], keys[k], val, sizeof(val))) {
			case MAP_FOUND:
				if (list_has_login(val, login))
					return SENDER_LOGIN_OWNED;
				k = 2; /* the first key found decides */
				break;
			case MAP_TEMPFAIL:
				tempfail = true;
				break;
			case MAP_NOTFOUND:
				break;
			}
		}
	}
	return tempfail ? SENDER_LOGIN_TEMPFAIL : SENDER_LOGIN_NOT_OWNED;
}

static enum sender_login_result
extmail_check(const char *authd, const char *login, const char *addr)
{
	struct authc_reply r = {0};
	enum sender_login_result res = SENDER_LOGIN_NOT_OWNED;
	switch (authc_lookup_rcpt(authd, addr, &r)) {
	case AUTHC_TEMPFAIL:
		return SENDER_LOGIN_TEMPFAIL;
	case AUTHC_NOTFOUND:
		return SENDER_LOGIN_NOT_OWNED;
	case AUTHC_OK:
		break;
	}
	const char *type = authc_get(&r, "TYPE");
	if (type != NULL && strcmp(type, "alias") == 0) {
		for (size_t i = 0; i < r.n; i++) {
			if (strcmp(r.kv[i].key, "MAILBOX") == 0 &&
			    strcasecmp(r.kv[i].value, login) == 0)
				res = SENDER_LOGIN_OWNED;
		}
	}
	/* TYPE=mailbox: another mailbox (the login's own address was
	   accepted before asking) */
	authc_reply_free(&r);
	return res;
}

enum sender_login_result sender_login_check(const struct sender_login_maps *m,
					    const char *authd,
					    const char *login, const char *addr)
{
	if (addr[0] == '\0')
		return SENDER_LOGIN_OWNED;
	if (login == NULL || login[0] == '\0')
		return SENDER_LOGIN_NOT_OWNED;
	if (strcasecmp(addr, login) == 0)
		return SENDER_LOGIN_OWNED;
	/* an address with bytes authd's one-word argument cannot carry is
	   nobody's */
	for (const char *c = addr; *c != '\0'; c++) {
		if ((unsigned char)*c <= 32 || *c == 127)
			return SENDER_LOGIN_NOT_OWNED;
	}
	enum sender_login_result t = table_check(m, login, addr);
	if (t == SENDER_LOGIN_OWNED || !m->extmail)
		return t;
	enum sender_login_result e = extmail_check(authd, login, addr);
	if (e == SENDER_LOGIN_NOT_OWNED && t == SENDER_LOGIN_TEMPFAIL)
		return t;
	return e;
}

struct from_check {
	const struct sender_login_maps *m;
	const char *authd, *login;
	char *bad_r; /* the address refused */
	size_t badsz;
	enum sender_login_result res; /* of the last address checked */
};

static bool from_check_one(void *ctx, const char *addr)
{
	struct from_check *x = ctx;
	x->res = sender_login_check(x->m, x->authd, x->login, addr);
	if (x->res != SENDER_LOGIN_OWNED)
		snprintf(x->bad_r, x->badsz, "%s", addr);
	return x->res == SENDER_LOGIN_OWNED;
}

enum sender_login_result
sender_login_check_from(const struct sender_login_maps *m, const char *authd,
			const char *login, const char *v, size_t len,
			char *bad_r, size_t badsz)
{
	struct from_check x = {m,     authd, login,
			       bad_r, badsz, SENDER_LOGIN_NOT_OWNED};
	snprintf(bad_r, badsz, "%s", "");
	long n = addrlist_each_addr_spec(v, len, from_check_one, &x);
	if (n < 0)
		snprintf(bad_r, badsz, "%s", "(unreadable)");
	return n <= 0 ? SENDER_LOGIN_NOT_OWNED : x.res;
}
