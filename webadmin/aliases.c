/*
 * /api/domains/{domain}/aliases: the alias table (ExtMan's alias pages).
 * address is "local@domain", or "@domain" for a catch-all; goto is a list
 * of target addresses in the API and ExtMail's comma-joined text in the
 * table.  maxalias is checked with the domain row locked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "extmail_sql.h"
#include "log.h"
#include "listing.h"
#include "wa.h"
#include "webjson.h"
#include "xalloc.h"

#define GOTO_MAX      1000
#define GOTO_TEXT_MAX 65535

static json_t *alias_json(const struct sqlrow *row)
{
	json_t *o = wa_row_json(extmail_alias_cols, row);
	json_t *list = json_array();
	const char *g = row->cols[1] != NULL ? row->cols[1] : "";
	while (*g != '\0') {
		size_t n = strcspn(g, ",");
		const char *s = g, *e = g + n;
		while (s < e && (*s == ' ' || *s == '\t' || *s == '\n'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' ||
				 e[-1] == '\n' || e[-1] == '\r'))
			e--;
		if (e > s) {
			json_t *v = json_stringn(s, (size_t)(e - s));
			if (v != NULL)
				json_array_append_new(list, v);
		}
		g += n;
		if (*g == ',')
			g++;
	}
	json_object_set_new(o, "goto", list);
	return o;
}

/* Validates the goto list into ExtMail's comma text; -1 after a 400. */
static int goto_text(struct http_req *req, json_t *in, struct buf *out)
{
	json_t *g = json_object_get(in, "goto");
	if (g != NULL && json_is_string(g)) {
		/* one per line, as the form's text area, or commas */
		json_t *list = json_array();
		const char *s = json_string_value(g);
		while (*s != '\0') {
			size_t n = strcspn(s, ",\r\n");
			if (n > 0)
				json_array_append_new(list, json_stringn(s, n));
			s += n;
			if (*s != '\0')
				s++;
		}
		json_object_set_new(in, "goto", list);
		g = list;
	}
	if (g == NULL || !json_is_array(g) || json_array_size(g) == 0 ||
	    json_array_size(g) > GOTO_MAX) {
		webjson_error(req, 400, "invalid",
			      "goto: a list of 1 to 1000 addresses", "goto");
		return -1;
	}
	size_t i;
	json_t *v;
	json_array_foreach(g, i, v)
	{
		const char *t = json_is_string(v) ? json_string_value(v) : NULL;
		size_t tl = t != NULL ? strlen(t) : 0;
		while (t != NULL && (*t == ' ' || *t == '\t'))
			t++, tl--;
		while (tl > 0 && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
			tl--;
		const char *at = t != NULL ? memchr(t, '@', tl) : NULL;
		bool ok = at != NULL && at > t && tl <= EXTMAIL_ADDRESS_MAX &&
			  (size_t)(at - t) + 1 < tl;
		for (size_t k = 0; ok && k < tl; k++)
			ok = (unsigned char)t[k] > 0x20 && t[k] != 0x7f &&
			     t[k] != ',' && t[k] != '"' && t[k] != '<' &&
			     t[k] != '>' && t[k] != '\\';
		if (ok) {
			char dom[EXTMAIL_DOMAIN_MAX + 1];
			size_t dl = tl - (size_t)(at + 1 - t);
			ok = dl <= EXTMAIL_DOMAIN_MAX;
			if (ok) {
				memcpy(dom, at + 1, dl);
				dom[dl] = '\0';
				for (char *p = dom; *p; p++)
					if (*p >= 'A' && *p <= 'Z')
						*p = (char)(*p + 32);
				ok = extmail_domain_valid(dom);
			}
		}
		if (!ok) {
			char msg[120];
			snprintf(msg, sizeof msg,
				 "goto: entry %zu is not an address", i + 1);
			webjson_error(req, 400, "invalid", msg, "goto");
			return -1;
		}
		if ((out->len > 0 && buf_append_char(out, ',') < 0) ||
		    buf_append(out, t, tl) < 0) {
			webjson_error(req, 400, "invalid", "goto: too long",
				      "goto");
			return -1;
		}
	}
	return 0;
}

static json_t *alias_item(struct http_req *req, struct sqlconn *c,
			  const struct sqlrow *row)
{
	(void)req;
	(void)c;
	return alias_json(row);
}

void wa_aliases_list(struct http_req *req)
{
	const char *domain = http_req_param(req, 0);
	struct wa_search s;
	if (wa_search_begin(req, &s) < 0)
		return;
	const char *args[] = {domain, s.q, s.like, s.like, s.offset};
#undef WHERE
#define WHERE                                                                  \
	" FROM alias WHERE domain = ? AND (? = '' OR address LIKE ? OR "       \
	"goto LIKE ?)"
	struct sqlconn *c = wa_db(req);
	if (c != NULL) {
		if (wa_can_domain(req, c, domain))
			wa_list_reply(req, c, s.page, "SELECT COUNT(*)" WHERE,
				      "SELECT " EXTMAIL_ALIAS_SELECT WHERE
				      " ORDER BY address LIMIT 50 OFFSET ?",
				      args, 5, alias_item);
		wa_db_put(req, &c, false);
	}
	wa_search_end(&s);
}

static int load_alias(struct http_req *req, struct sqlconn *c,
		      const char *address, const char *domain, bool lock,
		      struct sqlresult *res)
{
	const char *args[2] = {address, domain};
	if (wa_q(req, c,
		 lock ? "SELECT " EXTMAIL_ALIAS_SELECT
			" FROM alias WHERE address = ? AND domain = ? "
			"FOR UPDATE"
		      : "SELECT " EXTMAIL_ALIAS_SELECT
			" FROM alias WHERE address = ? AND domain = ?",
		 args, 2, res) < 0)
		return -1;
	if (res->nrows == 0) {
		webjson_error(req, 404, "not_found", "no such alias",
			      "address");
		return 0;
	}
	return 1;
}

void wa_alias_get(struct http_req *req)
{
	const char *domain = http_req_param(req, 0);
	const char *address = http_req_param(req, 1);
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	struct sqlconn *c = wa_db(req);
	if (c != NULL && wa_can_domain(req, c, domain) &&
	    load_alias(req, c, address, domain, false, &res) == 1)
		webjson_reply(req, 200, alias_json(&res.rows[0]));
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
}

/* "local@domain" or "@domain" for this domain; owned, or NULL after 400 */
static char *alias_address(struct http_req *req, const char *given,
			   const char *domain)
{
	char *a = wa_lower(given);
	const char *at = strrchr(a, '@');
	if (at == NULL) { /* a bare local part */
		size_t n = strlen(a) + strlen(domain) + 2;
		char *full = xmalloc(n);
		snprintf(full, n, "%s@%s", a, domain);
		free(a);
		a = full;
		at = strrchr(a, '@');
	}
	char local[EXTMAIL_LOCAL_MAX + 2];
	size_t ll = (size_t)(at - a);
	bool ok = strcmp(at + 1, domain) == 0 && ll <= EXTMAIL_LOCAL_MAX;
	if (ok && ll > 0) {
		memcpy(local, a, ll);
		local[ll] = '\0';
		ok = extmail_local_valid(local);
	}
	if (!ok) {
		webjson_error(req, 400, "invalid",
			      "address: local@domain of this domain, or "
			      "@domain for a catch-all",
			      "address");
		free(a);
		return NULL;
	}
	return a;
}

static void alias_write(struct http_req *req, bool create)
{
	struct wa *wa = http_req_app(req);
	const char *domain = http_req_param(req, 0);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	static const char *const allowed[] = {"address", "goto", "active",
					      NULL};
	struct buf g;
	buf_init(&g, GOTO_TEXT_MAX);
	char *address = NULL;
	struct sqlconn *c = NULL;
	struct sqlresult res, dres;
	memset(&res, 0, sizeof res);
	memset(&dres, 0, sizeof dres);
	const char *given = NULL;
	bool active = true;
	if ((c = wa_db(req)) == NULL || !wa_can_domain(req, c, domain) ||
	    webjson_only(req, in, allowed) < 0)
		goto out;
	if (create) {
		if (webjson_get_str(req, in, "address", true,
				    EXTMAIL_ADDRESS_MAX, &given) < 0)
			goto out;
	} else
		given = http_req_param(req, 1);
	if ((address = alias_address(req, given, domain)) == NULL)
		goto out;
	int has_active = webjson_get_bool(req, in, "active", false, &active);
	if (has_active < 0)
		goto out;
	if ((create || json_object_get(in, "goto") != NULL) &&
	    goto_text(req, in, &g) < 0)
		goto out;
	if (wa_begin(req, c) < 0)
		goto out;
	const char *dargs[1] = {domain};
	if (wa_q(req, c,
		 "SELECT maxalias FROM domain WHERE domain = ? FOR UPDATE",
		 dargs, 1, &dres) < 0)
		goto rollback;
	if (dres.nrows == 0) {
		webjson_error(req, 404, "not_found", "no such domain",
			      "domain");
		goto rollback;
	}
	json_t *before = NULL;
	char now[20];
	wa_now(now);
	const char *act = active ? "1" : "0";
	int rc;
	if (create) {
		int64_t n = 0, max = 0;
		if (dres.rows[0].cols[0] != NULL)
			max = strtoll(dres.rows[0].cols[0], NULL, 10);
		if (wa_q_int(req, c,
			     "SELECT COUNT(*) FROM alias WHERE domain = ?",
			     dargs, 1, &n) < 0)
			goto rollback;
		if (max > 0 && n + 1 > max) {
			webjson_error(req, 422, "limit",
				      "the domain has its maximum number of "
				      "aliases (maxalias)",
				      "maxalias");
			goto rollback;
		}
		const char *margs[1] = {address};
		if (wa_q_int(req, c,
			     "SELECT COUNT(*) FROM mailbox WHERE username = ?",
			     margs, 1, &n) < 0)
			goto rollback;
		if (n > 0) {
			webjson_error(req, 409, "exists",
				      "a mailbox has this address", "address");
			goto rollback;
		}
		const char *args[] = {address, buf_cstr(&g), domain, now, act};
		rc = wa_q(req, c,
			  "INSERT INTO alias (" EXTMAIL_ALIAS_SELECT
			  ") VALUES (" EXTMAIL_ALIAS_MARKS ")",
			  args, 5, NULL);
		if (rc < 0 && sqlconn_is_duplicate(c))
			webjson_error(req, 409, "exists",
				      "the alias exists already", "address");
	} else {
		if (load_alias(req, c, address, domain, true, &res) != 1)
			goto rollback;
		before = alias_json(&res.rows[0]);
		const char *gt = g.len > 0 ? buf_cstr(&g) : res.rows[0].cols[1];
		if (has_active == 0)
			act = res.rows[0].cols[4] != NULL ? res.rows[0].cols[4]
							  : "1";
		const char *args[] = {gt, act, address};
		rc = wa_q(req, c,
			  "UPDATE alias SET goto = ?, active = ? "
			  "WHERE address = ?",
			  args, 3, NULL);
	}
	sqlresult_free(&res);
	memset(&res, 0, sizeof res);
	if (rc == 0)
		rc = load_alias(req, c, address, domain, false, &res) == 1 ? 0
									   : -1;
	json_t *after = rc == 0 ? alias_json(&res.rows[0]) : NULL;
	rc = wa_audit_commit(req, c, rc,
			     create ? "alias.create" : "alias.update", address,
			     before, after);
	json_decref(before);
	if (rc < 0) {
		json_decref(after);
		goto rollback;
	}
	wa_authd_flush(wa, address);
	webjson_reply(req, create ? 201 : 200, after);
	goto out;
rollback:
	sqlconn_rollback(c);
out:
	sqlresult_free(&res);
	sqlresult_free(&dres);
	wa_db_put(req, &c, false);
	buf_deinit(&g);
	free(address);
	json_decref(in);
}

void wa_alias_create(struct http_req *req)
{
	alias_write(req, true);
}

void wa_alias_update(struct http_req *req)
{
	alias_write(req, false);
}

void wa_alias_delete(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const char *domain = http_req_param(req, 0);
	const char *address = http_req_param(req, 1);
	struct sqlresult res;
	memset(&res, 0, sizeof res);
	struct sqlconn *c = wa_db(req);
	if (c == NULL || !wa_can_domain(req, c, domain) || wa_begin(req, c) < 0)
		goto out;
	if (load_alias(req, c, address, domain, true, &res) != 1) {
		sqlconn_rollback(c);
		goto out;
	}
	json_t *before = alias_json(&res.rows[0]);
	const char *args[1] = {address};
	int rc =
	    wa_q(req, c, "DELETE FROM alias WHERE address = ?", args, 1, NULL);
	rc = wa_audit_commit(req, c, rc, "alias.delete", address, before, NULL);
	json_decref(before);
	if (rc < 0) {
		sqlconn_rollback(c);
		goto out;
	}
	wa_authd_flush(wa, address);
	webjson_reply(req, 200, json_object());
out:
	sqlresult_free(&res);
	wa_db_put(req, &c, false);
}
