/*
 * "This mailbox forwards" for the mailbox list and edit pages (issue 15,
 * docs/sieve.md "In webadmin"): a mailbox forwards when an active alias
 * row of its own address sends its mail elsewhere (ExtMail's forwarding;
 * the alias is looked up before the mailbox, as Postfix does), or when
 * its active Sieve script (lib/sieve_store, the script ManageSieve,
 * webmail's Filters or `youju sieve import` made) has redirect commands.
 * The script is compiled and read, not run: a redirect under a condition
 * is listed too, and the page says "may forward".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "sieve.h"
#include "sieve_store.h"
#include "wa.h"

#define FWD_PAGE     50
#define FWD_MARKS_10 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
#define FWD_MARKS_50                                                           \
	FWD_MARKS_10 ", " FWD_MARKS_10 ", " FWD_MARKS_10 ", " FWD_MARKS_10     \
		     ", " FWD_MARKS_10

/* A relative path of plain segments, as webadmin writes maildir. */
static bool fwd_relative(const char *p)
{
	if (p == NULL || p[0] == '\0' || p[0] == '/' || strstr(p, "..") != NULL)
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

static void fwd_add(void *ctx, const char *addr, size_t len, bool copy)
{
	json_t *o = ctx, *to = json_object_get(o, "to"), *v;
	size_t i;
	if (copy)
		json_object_set_new(o, "copy", json_true());
	json_array_foreach(to, i, v)
	{
		if (json_string_length(v) == len &&
		    strncasecmp(json_string_value(v), addr, len) == 0)
			return;
	}
	json_t *s = json_stringn(addr, len);
	if (s != NULL)
		json_array_append_new(to, s);
}

/* The active script's redirects of the mailbox whose maildir (relative
   to the mailbox base) is maildir: {"script", "to", "copy"}, or NULL. */
static json_t *fwd_sieve(const struct wa *wa, const char *user,
			 const char *maildir)
{
	char path[PATH_MAX], home[PATH_MAX], name[SIEVE_STORE_NAME_MAX + 1];
	if (!fwd_relative(maildir))
		return NULL;
	int n = snprintf(path, sizeof path, "%s/%s", wa->mailbox_base, maildir);
	if (n < 0 || (size_t)n >= sizeof path ||
	    sieve_store_home(path, home, sizeof home) < 0 ||
	    sieve_store_active(home, name, sizeof name) < 0 || name[0] == '\0')
		return NULL;
	char *data = NULL;
	size_t len = 0;
	int r = sieve_store_get(home, name, &data, &len);
	if (r <= 0) {
		if (r < 0)
			log_warning("webadmin: %s: sieve script %s: %s", user,
				    name, strerror(errno));
		return NULL;
	}
	char err[SIEVE_ERROR_MAX];
	struct sieve_program *p = sieve_compile(data, len, err, sizeof err);
	free(data);
	if (p == NULL)
		return NULL; /* delivery keeps everything: no forward */
	json_t *o = json_object();
	json_object_set_new(o, "script", json_string(name));
	json_object_set_new(o, "to", json_array());
	json_object_set_new(o, "copy", json_false());
	size_t k = sieve_redirects(p, fwd_add, o);
	sieve_free(&p);
	if (k == 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* An alias row's goto for the mailbox address: {"to", "keep"}, or NULL
   when it delivers only to the mailbox itself. */
static json_t *fwd_alias(const char *address, const char *go)
{
	json_t *to = json_array();
	bool keep = false;
	const char *p = go;
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n' ||
		       *p == '\r')
			p++;
		const char *e = p;
		while (*e && *e != ',' && *e != ' ' && *e != '\t' &&
		       *e != '\n' && *e != '\r')
			e++;
		if (e > p) {
			size_t l = (size_t)(e - p);
			if (l == strlen(address) &&
			    strncasecmp(p, address, l) == 0)
				keep = true;
			else {
				json_t *s = json_stringn(p, l);
				if (s != NULL)
					json_array_append_new(to, s);
			}
		}
		p = e;
	}
	if (json_array_size(to) == 0) {
		json_decref(to);
		return NULL;
	}
	json_t *o = json_object();
	json_object_set_new(o, "to", to);
	json_object_set_new(o, "keep", json_boolean(keep));
	return o;
}

void wa_forwards_annotate(struct http_req *req, struct sqlconn *c,
			  json_t *items)
{
	struct wa *wa = http_req_app(req);
	const char *in[FWD_PAGE];
	size_t n = json_array_size(items);
	if (n == 0)
		return;
	if (n > FWD_PAGE)
		n = FWD_PAGE;
	for (size_t i = 0; i < FWD_PAGE; i++)
		in[i] = i < n ? json_string_value(json_object_get(
				    json_array_get(items, i), "username"))
			      : NULL;
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	const char *err = NULL;
	/* the aliases of the page's addresses, in one query; a failure
	   leaves the indicator out rather than failing the page */
	bool aliases_ok =
	    sqlconn_query(c,
			  "SELECT address, goto FROM alias WHERE active = 1 "
			  "AND address IN (" FWD_MARKS_50 ")",
			  in, FWD_PAGE, FWD_PAGE, &res, &err) == SQL_OK;
	if (!aliases_ok)
		log_warning("webadmin: forwards: aliases: %s",
			    err != NULL ? err : "?");
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(items, i);
		const char *user = in[i];
		if (user == NULL)
			continue;
		json_t *f = json_object();
		for (size_t r = 0; aliases_ok && r < res.nrows; r++) {
			const char *a = res.rows[r].cols[0];
			const char *g = res.rows[r].cols[1];
			if (a == NULL || g == NULL || strcasecmp(a, user) != 0)
				continue;
			json_t *al = fwd_alias(user, g);
			if (al != NULL)
				json_object_set_new(f, "alias", al);
		}
		json_t *sv = fwd_sieve(
		    wa, user, json_string_value(json_object_get(m, "maildir")));
		if (sv != NULL)
			json_object_set_new(f, "sieve", sv);
		if (json_object_size(f) == 0) {
			json_decref(f);
			f = json_null();
		}
		json_object_set_new(m, "forwards", f);
	}
	sqlresult_free(&res);
}
