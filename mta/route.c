/*
 * Transport lookups (see route.h).  Postfix transport(5) is the
 * reference for the value syntax and the search order; "error:" text may
 * start with an enhanced status code, as Postfix's error(8) allows.
 */
#include "route.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "maps.h"

static const char *const route_local_names[] = {"virtual", "local", "maildrop",
						"dovecot", NULL};

static bool route_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* "5.7.1 text" -> dsn "5.7.1", text "text"; else the default class. */
static void route_text(struct route *r, const char *text, char cls)
{
	size_t n = strspn(text, "0123456789.");
	if (n >= 5 && n < sizeof(r->dsn) && text[0] == cls && text[1] == '.' &&
	    (text[n] == ' ' || text[n] == '\0')) {
		memcpy(r->dsn, text, n);
		r->dsn[n] = '\0';
		text += n;
		text += strspn(text, " ");
	} else {
		snprintf(r->dsn, sizeof(r->dsn), "%c.0.0", cls);
	}
	int w = snprintf(r->text, sizeof(r->text), "%s", text);
	if (w < 0)
		r->text[0] = '\0';
}

int route_parse(const char *value, struct route *r)
{
	memset(r, 0, sizeof(*r));
	value += strspn(value, " \t");
	const char *colon = strchr(value, ':');
	size_t tl = colon != NULL ? (size_t)(colon - value) : strlen(value);
	const char *next = colon != NULL ? colon + 1 : "";
	/* the name as written, "smtp" for the default transport */
	if (tl == 0)
		snprintf(r->transport, sizeof(r->transport), "smtp");
	else
		for (size_t i = 0; i < tl && i + 1 < sizeof(r->transport); i++)
			r->transport[i] =
			    (char)(value[i] >= 'A' && value[i] <= 'Z'
				       ? value[i] - 'A' + 'a'
				       : value[i]);
	if (tl == 0 || route_is(value, tl, "smtp") ||
	    route_is(value, tl, "relay")) {
		size_t nl = strlen(next);
		while (nl > 0 && (next[nl - 1] == ' ' || next[nl - 1] == '\t'))
			nl--;
		if (nl >= sizeof(r->nexthop) || (tl == 0 && nl == 0) ||
		    memchr(next, ' ', nl) != NULL)
			return -1;
		memcpy(r->nexthop, next, nl);
		r->nexthop[nl] = '\0';
		r->kind = ROUTE_SMTP;
		return 0;
	}
	for (size_t i = 0; route_local_names[i] != NULL; i++)
		if (route_is(value, tl, route_local_names[i])) {
			r->kind = ROUTE_LOCAL;
			return 0;
		}
	if (route_is(value, tl, "error")) {
		r->kind = ROUTE_ERROR;
		route_text(r,
			   next[0] != '\0' ? next
					   : "mail for this "
					     "destination is refused",
			   '5');
		return 0;
	}
	if (route_is(value, tl, "retry")) {
		r->kind = ROUTE_RETRY;
		route_text(r, next[0] != '\0' ? next : "delivery deferred",
			   '4');
		return 0;
	}
	if (route_is(value, tl, "discard")) {
		r->kind = ROUTE_DISCARD;
		route_text(r, next[0] != '\0' ? next : "discarded", '2');
		return 0;
	}
	return -1;
}

static enum route_status route_try(struct map *m, const char *key,
				   struct route *r)
{
	char val[MAP_VALUE_MAX];
	enum map_status st = map_lookup(m, key, val, sizeof(val));
	if (st == MAP_TEMPFAIL)
		return ROUTE_TEMPFAIL;
	if (st == MAP_NOTFOUND)
		return ROUTE_NONE;
	if (route_parse(val, r) < 0) {
		log_warning("%s: bad transport for %s: \"%.200s\"", map_spec(m),
			    key, val);
		return ROUTE_TEMPFAIL;
	}
	return ROUTE_FOUND;
}

enum route_status route_lookup(struct map *m, const char *rcpt, struct route *r)
{
	enum route_status st;
	if (m == NULL || strlen(rcpt) >= MAP_KEY_MAX)
		return ROUTE_NONE;
	if ((st = route_try(m, rcpt, r)) != ROUTE_NONE || !map_is_fixed(m))
		return st; /* regexp, pcre: one lookup of the address */
	const char *dom = strrchr(rcpt, '@');
	dom = dom != NULL ? dom + 1 : rcpt;
	if (dom[0] != '\0' && (st = route_try(m, dom, r)) != ROUTE_NONE)
		return st;
	/* parents: a.b.example.org -> .b.example.org, .example.org, .org */
	for (const char *p = strchr(dom, '.'); p != NULL;
	     p = strchr(p + 1, '.')) {
		if ((st = route_try(m, p, r)) != ROUTE_NONE)
			return st;
	}
	return route_try(m, "*", r);
}
