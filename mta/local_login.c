/*
 * local_login_sender_maps (see local_login.h).
 */
#include "local_login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addrlist.h"
#include "buf.h"
#include "maps.h"
#include "xalloc.h"

struct table {
	char *static_value; /* static:VALUE, or NULL */
	struct map *map;    /* otherwise */
};

struct local_login {
	struct table t[LOCAL_LOGIN_TABLES_MAX];
	size_t n;
	bool any; /* exactly static:* */
	char null_key[64];
	char origin[256];
	char delim[16];
};

const char *local_login_result_name(enum local_login_result r)
{
	switch (r) {
	case LOCAL_LOGIN_DENIED:
		return "denied";
	case LOCAL_LOGIN_ANY:
		return "any";
	case LOCAL_LOGIN_LISTED:
		return "listed";
	case LOCAL_LOGIN_TEMPFAIL:
		break;
	}
	return "tempfail";
}

/* The next entry of the parameter: blanks and commas separate, braces
   group ("inline:{ a=b, c=d }").  Returns its length (0 at the end), -1
   for unbalanced braces. */
static long next_entry(const char **pp)
{
	const char *p = *pp + strspn(*pp, " \t\r\n,");
	*pp = p;
	int depth = 0;
	size_t i = 0;
	for (; p[i] != '\0'; i++) {
		if (p[i] == '{')
			depth++;
		else if (p[i] == '}' && --depth < 0)
			return -1;
		else if (depth == 0 && strchr(" \t\r\n,", p[i]) != NULL)
			break;
	}
	return depth != 0 ? -1 : (long)i;
}

/* Text inside one pair of outer braces (white space trimmed), or the
   whole of s. */
static void unbrace(const char *s, size_t n, const char **v, size_t *vl)
{
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
		s++;
		n -= 2;
		while (n > 0 && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
	}
	*v = s;
	*vl = n;
}

/* inline:{ key=value, { key = value } } as a text table */
static struct map *open_inline(const char *body, size_t len, char *err,
			       size_t errsz)
{
	struct buf text;
	buf_init(&text, 64 * 1024);
	char *copy = xmemdup0(body, len);
	const char *p = copy;
	int rc = 0;
	long n;
	while ((n = next_entry(&p)) > 0) {
		const char *e;
		size_t el;
		unbrace(p, (size_t)n, &e, &el);
		const char *eq = memchr(e, '=', el);
		if (eq == NULL || eq == e) {
			snprintf(err, errsz, "inline: want key=value: %.*s",
				 (int)el, e);
			rc = -1;
			break;
		}
		size_t kl = (size_t)(eq - e);
		while (kl > 0 && (e[kl - 1] == ' ' || e[kl - 1] == '\t'))
			kl--;
		const char *v = eq + 1;
		size_t vl = el - (size_t)(v - e);
		while (vl > 0 && (*v == ' ' || *v == '\t'))
			v++, vl--;
		if (memchr(e, '\n', el) != NULL ||
		    buf_printf(&text, "%.*s %.*s\n", (int)kl, e, (int)vl, v) <
			0) {
			snprintf(err, errsz, "inline: bad or too long entry");
			rc = -1;
			break;
		}
		p += n;
	}
	if (n < 0) {
		snprintf(err, errsz, "inline: unbalanced braces");
		rc = -1;
	}
	free(copy);
	struct map *m = rc == 0
			    ? map_from_text("texthash", text.p ? text.p : "",
					    text.len, err, errsz)
			    : NULL;
	buf_deinit(&text);
	return m;
}

struct local_login *local_login_new(const char *spec, const char *null_key,
				    const char *myorigin, const char *delim,
				    char *err, size_t errsz)
{
	struct local_login *ll = xcalloc(1, sizeof(*ll));
	snprintf(ll->null_key, sizeof(ll->null_key), "%s", null_key);
	snprintf(ll->origin, sizeof(ll->origin), "%s", myorigin);
	snprintf(ll->delim, sizeof(ll->delim), "%s", delim);
	const char *p = spec;
	long n;
	while ((n = next_entry(&p)) > 0) {
		char *e = xmemdup0(p, (size_t)n);
		p += n;
		if (ll->n == LOCAL_LOGIN_TABLES_MAX) {
			snprintf(err, errsz, "more than %d tables",
				 LOCAL_LOGIN_TABLES_MAX);
			free(e);
			local_login_free(&ll);
			return NULL;
		}
		struct table *t = &ll->t[ll->n];
		const char *v;
		size_t vl;
		if (strncmp(e, "static:", 7) == 0) {
			unbrace(e + 7, strlen(e + 7), &v, &vl);
			t->static_value = xmemdup0(v, vl);
		} else if (strncmp(e, "inline:", 7) == 0) {
			unbrace(e + 7, strlen(e + 7), &v, &vl);
			t->map = open_inline(v, vl, err, errsz);
		} else {
			t->map = map_open(e, err, errsz);
		}
		free(e);
		if (t->static_value == NULL && t->map == NULL) {
			local_login_free(&ll);
			return NULL;
		}
		ll->n++;
	}
	if (n < 0) {
		snprintf(err, errsz, "unbalanced braces");
		local_login_free(&ll);
		return NULL;
	}
	ll->any = ll->n == 1 && ll->t[0].static_value != NULL &&
		  strcmp(ll->t[0].static_value, "*") == 0;
	return ll;
}

void local_login_free(struct local_login **llp)
{
	struct local_login *ll = *llp;
	if (ll == NULL)
		return;
	*llp = NULL;
	for (size_t i = 0; i < ll->n; i++) {
		free(ll->t[i].static_value);
		map_free(&ll->t[i].map);
	}
	free(ll);
}

bool local_login_is_any(const struct local_login *ll)
{
	return ll->any;
}

/* Does one pattern (pl bytes) allow sender (extension already off)? */
static bool pattern_match(const struct local_login *ll, const char *pat,
			  size_t pl, const char *sender)
{
	size_t nk = strlen(ll->null_key);
	if (pl == nk && strncmp(pat, ll->null_key, nk) == 0)
		return sender[0] == '\0';
	if (sender[0] == '\0')
		return false;
	const char *at = strrchr(sender, '@');
	if (pat[0] == '@')
		return at != NULL && strlen(at) == pl &&
		       strncasecmp(at, pat, pl) == 0;
	if (memchr(pat, '@', pl) != NULL)
		return strlen(sender) == pl &&
		       strncasecmp(sender, pat, pl) == 0;
	/* a bare name: name@$myorigin */
	size_t ol = strlen(ll->origin);
	return at != NULL && (size_t)(at - sender) == pl &&
	       strncasecmp(sender, pat, pl) == 0 && strlen(at + 1) == ol &&
	       strcasecmp(at + 1, ll->origin) == 0;
}

/* The sender without its address extension: local part cut at the first
   recipient_delimiter character. */
static void strip_extension(const struct local_login *ll, const char *sender,
			    char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", sender);
	char *at = strrchr(out, '@');
	if (ll->delim[0] == '\0' || at == NULL)
		return;
	size_t cut = strcspn(out, ll->delim);
	if (cut == 0 || out + cut >= at)
		return;
	memmove(out + cut, at, strlen(at) + 1);
}

enum local_login_result local_login_check(struct local_login *ll,
					  const char *login, unsigned long uid,
					  const char *sender)
{
	char key[64], val[MAP_VALUE_MAX], addr[1100];
	const char *list = NULL;
	if (login != NULL && login[0] != '\0' && strcmp(login, "unknown") != 0)
		snprintf(key, sizeof(key), "%s", login);
	else
		snprintf(key, sizeof(key), "uid:%lu", uid);
	for (size_t i = 0; i < ll->n && list == NULL; i++) {
		if (ll->t[i].static_value != NULL) {
			list = ll->t[i].static_value;
			break;
		}
		switch (map_lookup(ll->t[i].map, key, val, sizeof(val))) {
		case MAP_FOUND:
			list = val;
			break;
		case MAP_NOTFOUND:
			break;
		case MAP_TEMPFAIL:
			return LOCAL_LOGIN_TEMPFAIL;
		}
	}
	if (list == NULL)
		return LOCAL_LOGIN_DENIED;
	strip_extension(ll, sender, addr, sizeof(addr));
	bool any = false;
	for (const char *p = list; *p != '\0';) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, " \t,");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '*')
			any = true;
		else if (pattern_match(ll, p, n, addr))
			return LOCAL_LOGIN_LISTED;
		p += n;
	}
	return any ? LOCAL_LOGIN_ANY : LOCAL_LOGIN_DENIED;
}

struct from_check {
	struct local_login *ll;
	const char *login;
	unsigned long uid;
	enum local_login_result res; /* of the last address checked */
};

static bool from_check_one(void *ctx, const char *addr)
{
	struct from_check *x = ctx;
	x->res = local_login_check(x->ll, x->login, x->uid, addr);
	return x->res == LOCAL_LOGIN_LISTED;
}

enum local_login_result local_login_check_from(struct local_login *ll,
					       const char *login,
					       unsigned long uid, const char *v,
					       size_t len)
{
	struct from_check x = {ll, login, uid, LOCAL_LOGIN_DENIED};
	if (addrlist_each_addr_spec(v, len, from_check_one, &x) <= 0)
		return LOCAL_LOGIN_DENIED;
	return x.res;
}
