/*
 * The webmail's filter form as Sieve (see sieve_filters.h).  The form is
 * checked field by field into a normalised copy (every field present,
 * defaults filled in), and that copy is what the script's JSON line
 * holds, so that parsing a script and generating it again is an exact
 * comparison.  The order of the script follows ExtMail's maildrop rules
 * (docs/sieve.md "Moving from ExtMail"): black list, auto-reply,
 * forwarding, white list, then the user's rules.
 */
#include "sieve_filters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webjson.h"

#define SIEVE_FILTERS_MARK "# youju-filters-v1 "

struct gen {
	struct buf *out;
	char *err, *field;
	size_t errsz, fieldsz;
	int rc;
	/* the tests of the rules that reject, joined by ",\n": auto-reply
	   and a forward with a copy must not run with reject (RFC 5429
	   §2.1, and lib/sieve refuses it at run time) */
	struct buf *rejects;
};

static int gen_fail(struct gen *g, const char *field, const char *what)
{
	if (g->rc == 0) {
		snprintf(g->err, g->errsz, "%s", what);
		snprintf(g->field, g->fieldsz, "%s", field);
	}
	g->rc = -1;
	return -1;
}

static void put(struct gen *g, const char *s)
{
	if (buf_append_str(g->out, s) < 0)
		gen_fail(g, "", "the filters make a script over 256 KiB");
}

/* A Sieve quoted string (RFC 5228 §2.4.2): '"' and '\' escaped. */
static void put_q(struct gen *g, const char *s)
{
	put(g, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			put(g, "\\");
		char c[2] = {*s, '\0'};
		put(g, c);
	}
	put(g, "\"");
}

static void put_list(struct gen *g, json_t *arr)
{
	size_t i;
	json_t *v;
	put(g, "[");
	json_array_foreach(arr, i, v)
	{
		if (i > 0)
			put(g, ", ");
		put_q(g, json_string_value(v));
	}
	put(g, "]");
}

/* ---- checking the form ------------------------------------------------- */

/* Text without control bytes (LF and TAB too when multi). */
static bool text_ok(const char *s, bool multi)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if ((*c < 0x20 && !(multi && (*c == '\n' || *c == '\t'))) ||
		    *c == 0x7f)
			return false;
	return true;
}

/* The string field key of o (absent: def), checked, into the normalised
   object n; NULL after gen_fail. */
static const char *take_str(struct gen *g, json_t *o, json_t *n,
			    const char *path, const char *key, const char *def,
			    size_t max, bool multi, bool required)
{
	char f[300];
	snprintf(f, sizeof f, "%s%s%s", path, path[0] ? "." : "", key);
	json_t *v = json_object_get(o, key);
	const char *s = def;
	if (v == NULL && required) {
		gen_fail(g, f, "missing");
		return NULL;
	}
	if (v != NULL) {
		if (!json_is_string(v) ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			gen_fail(g, f, "not a string");
			return NULL;
		}
		s = json_string_value(v);
	}
	if (strlen(s) > max || !text_ok(s, multi)) {
		gen_fail(g, f,
			 strlen(s) > max ? "too long" : "control characters");
		return NULL;
	}
	if (required && s[0] == '\0') {
		gen_fail(g, f, "empty");
		return NULL;
	}
	json_object_set_new(n, key, json_string(s));
	return json_string_value(json_object_get(n, key));
}

static bool take_bool(struct gen *g, json_t *o, json_t *n, const char *path,
		      const char *key, bool def)
{
	json_t *v = json_object_get(o, key);
	bool b = def;
	if (v != NULL && !json_is_boolean(v)) {
		char f[300];
		snprintf(f, sizeof f, "%s.%s", path, key);
		gen_fail(g, f, "not true or false");
	} else if (v != NULL) {
		b = json_is_true(v);
	}
	json_object_set_new(n, key, json_boolean(b));
	return b;
}

static bool one_of(const char *v, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(v, *list) == 0)
			return true;
	return false;
}

/* Refuses keys of o outside allowed. */
static int only(struct gen *g, json_t *o, const char *path,
		const char *const *allowed)
{
	const char *k;
	json_t *v;
	if (!json_is_object(o))
		return gen_fail(g, path, "not an object");
	json_object_foreach(o, k, v)
	{
		if (!one_of(k, allowed)) {
			char f[300];
			snprintf(f, sizeof f, "%s%s%s", path,
				 path[0] ? "." : "", k);
			return gen_fail(g, f, "unknown field");
		}
	}
	return 0;
}

/* An address (local@domain) or, when domain_ok, a domain or "@domain":
   printable ASCII or UTF-8, no spaces, quotes, brackets or commas. */
static bool addr_ok(const char *s, bool domain_ok)
{
	size_t n = strlen(s);
	if (n == 0 || n > 254)
		return false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c <= 0x20 || *c == 0x7f || strchr("\"\\<>(),;[]", *c))
			return false;
	const char *at = strchr(s, '@');
	if (at == NULL)
		return domain_ok && strchr(s, '.') != NULL;
	if (strchr(at + 1, '@') != NULL || at[1] == '\0')
		return false;
	return at != s || domain_ok;
}

/* An array of addresses at o[key] into n[key] (lower-cased copies not
   needed: the tests compare case-insensitively). */
static json_t *take_addrs(struct gen *g, json_t *o, json_t *n, const char *path,
			  const char *key, size_t max, bool domain_ok)
{
	char f[300];
	snprintf(f, sizeof f, "%s%s%s", path, path[0] ? "." : "", key);
	json_t *v = json_object_get(o, key), *out = json_array(), *e;
	size_t i;
	json_object_set_new(n, key, out);
	if (v == NULL)
		return out;
	if (!json_is_array(v) || json_array_size(v) > max) {
		gen_fail(g, f, json_is_array(v) ? "too many" : "not a list");
		return out;
	}
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e);
		if (s == NULL || strlen(s) != json_string_length(e) ||
		    !addr_ok(s, domain_ok)) {
			char fi[330];
			snprintf(fi, sizeof fi, "%s[%zu]", f, i);
			gen_fail(g, fi,
				 domain_ok ? "not an address or domain"
					   : "not an address");
			return out;
		}
		json_array_append_new(out, json_string(s));
	}
	return out;
}

/* ---- the script -------------------------------------------------------- */

/* The test "this sender is on the list": addresses on From and Sender
   and the envelope sender; "dom" and "@dom" entries by domain. */
static void put_list_test(struct gen *g, json_t *list)
{
	json_t *addrs = json_array(), *doms = json_array(), *e;
	size_t i;
	json_array_foreach(list, i, e)
	{
		const char *s = json_string_value(e);
		if (strchr(s, '@') == NULL)
			json_array_append_new(doms, json_string(s));
		else if (s[0] == '@')
			json_array_append_new(doms, json_string(s + 1));
		else
			json_array_append_new(addrs, json_string(s));
	}
	put(g, "anyof (");
	const char *sep = "";
	if (json_array_size(addrs) > 0) {
		put(g, "address :all :is [\"from\", \"sender\"] ");
		put_list(g, addrs);
		put(g, ",\n        envelope :all :is \"from\" ");
		put_list(g, addrs);
		sep = ",\n        ";
	}
	if (json_array_size(doms) > 0) {
		put(g, sep);
		put(g, "address :domain :is [\"from\", \"sender\"] ");
		put_list(g, doms);
		put(g, ",\n        envelope :domain :is \"from\" ");
		put_list(g, doms);
	}
	put(g, ")");
	json_decref(addrs);
	json_decref(doms);
}

/* YYYY-MM-DD */
static bool date_ok(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static void gen_vacation(struct gen *g, json_t *form, json_t *n)
{
	static const char *const keys[] = {"enabled", "subject",   "body",
					   "days",    "addresses", "start",
					   "end",     NULL};
	json_t *v = json_object_get(form, "vacation"), *nv = json_object();
	json_object_set_new(n, "vacation", nv);
	if (v == NULL)
		v = nv;
	if (only(g, v, "vacation", keys) < 0)
		return;
	bool on = take_bool(g, v, nv, "vacation", "enabled", false);
	const char *subject = take_str(g, v, nv, "vacation", "subject", "",
				       SIEVE_FILTERS_FIELD_MAX, false, false);
	const char *body = take_str(g, v, nv, "vacation", "body", "",
				    SIEVE_FILTERS_TEXT_MAX, true, false);
	const char *start =
	    take_str(g, v, nv, "vacation", "start", "", 10, false, false);
	const char *end =
	    take_str(g, v, nv, "vacation", "end", "", 10, false, false);
	json_t *addrs = take_addrs(g, v, nv, "vacation", "addresses",
				   SIEVE_FILTERS_ADDRS_MAX, false);
	json_t *dv = json_object_get(v, "days");
	json_int_t days = 1;
	if (dv != NULL && (!json_is_integer(dv) || json_integer_value(dv) < 1 ||
			   json_integer_value(dv) > 365)) {
		gen_fail(g, "vacation.days", "not a number from 1 to 365");
		return;
	}
	if (dv != NULL)
		days = json_integer_value(dv);
	json_object_set_new(nv, "days", json_integer(days));
	if (g->rc < 0)
		return;
	if (start[0] != '\0' && !date_ok(start)) {
		gen_fail(g, "vacation.start", "not a date (YYYY-MM-DD)");
		return;
	}
	if (end[0] != '\0' && !date_ok(end)) {
		gen_fail(g, "vacation.end", "not a date (YYYY-MM-DD)");
		return;
	}
	if (start[0] != '\0' && end[0] != '\0' && strcmp(start, end) > 0) {
		gen_fail(g, "vacation.end", "before the start");
		return;
	}
	if (!on)
		return;
	if (body[0] == '\0') {
		gen_fail(g, "vacation.body", "empty");
		return;
	}
	put(g, "\n# auto-reply\n");
	const char *ind = "";
	if (start[0] != '\0' || end[0] != '\0') {
		/* RFC 5260 §5: the dates in the user's... the server's zone;
		   the auto-reply switches itself off after the end date */
		put(g, "if allof (");
		if (start[0] != '\0') {
			put(g, "currentdate :value \"ge\" \"date\" ");
			put_q(g, start);
		}
		if (end[0] != '\0') {
			put(g, start[0] != '\0' ? ",\n          " : "");
			put(g, "currentdate :value \"le\" \"date\" ");
			put_q(g, end);
		}
		put(g, ") {\n");
		ind = "    ";
	}
	char d[32];
	snprintf(d, sizeof d, "%lld", (long long)days);
	put(g, ind);
	put(g, "vacation :days ");
	put(g, d);
	if (subject[0] != '\0') {
		put(g, " :subject ");
		put_q(g, subject);
	}
	if (json_array_size(addrs) > 0) {
		put(g, " :addresses ");
		put_list(g, addrs);
	}
	put(g, "\n");
	put(g, ind);
	put(g, "    ");
	put_q(g, body);
	put(g, ";\n");
	if (ind[0] != '\0')
		put(g, "}\n");
}

static void gen_forward(struct gen *g, json_t *form, json_t *n)
{
	static const char *const keys[] = {"enabled", "to", "keep", NULL};
	json_t *v = json_object_get(form, "forward"), *nv = json_object();
	json_object_set_new(n, "forward", nv);
	if (v == NULL)
		v = nv;
	if (only(g, v, "forward", keys) < 0)
		return;
	bool on = take_bool(g, v, nv, "forward", "enabled", false);
	bool keep = take_bool(g, v, nv, "forward", "keep", true);
	json_t *to = take_addrs(g, v, nv, "forward", "to",
				SIEVE_FILTERS_ADDRS_MAX, false);
	if (g->rc < 0 || !on)
		return;
	if (json_array_size(to) == 0) {
		gen_fail(g, "forward.to", "no address");
		return;
	}
	put(g, "\n# forwarding\n");
	size_t i;
	json_t *e;
	json_array_foreach(to, i, e)
	{
		put(g, keep ? "redirect :copy " : "redirect ");
		put_q(g, json_string_value(e));
		put(g, ";\n");
	}
	if (!keep)
		put(g, "stop;\n");
}

static const char *const fields[] = {"from",   "to",   "cc",	     "subject",
				     "header", "size", "attachment", NULL};
static const char *const ops[] = {"contains", "not_contains", "is",    "not_is",
				  "matches",  "over",	      "under", NULL};

/* A size: digits with an optional K, M or G (RFC 5228 §2.4.1). */
static bool size_ok(const char *s)
{
	size_t n = strlen(s), i = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0 || i > 9)
		return false;
	return i == n || (i + 1 == n && strchr("KMG", s[i]) != NULL);
}

/* A header field name (RFC 5322 §3.6.8): printable ASCII but ':'. */
static bool hname_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == ':')
			return false;
	return true;
}

static void gen_condition(struct gen *g, json_t *c, json_t *nc,
			  const char *path)
{
	static const char *const keys[] = {"field", "header", "op", "value",
					   NULL};
	char f[300];
	if (only(g, c, path, keys) < 0)
		return;
	const char *field =
	    take_str(g, c, nc, path, "field", "", 20, false, true);
	const char *op =
	    take_str(g, c, nc, path, "op", "contains", 20, false, false);
	const char *hdr = take_str(g, c, nc, path, "header", "",
				   SIEVE_FILTERS_FIELD_MAX, false, false);
	const char *value = take_str(g, c, nc, path, "value", "",
				     SIEVE_FILTERS_FIELD_MAX, false, false);
	if (g->rc < 0)
		return;
	snprintf(f, sizeof f, "%s.field", path);
	if (!one_of(field, fields)) {
		gen_fail(g, f, "unknown field");
		return;
	}
	snprintf(f, sizeof f, "%s.op", path);
	bool sz = strcmp(field, "size") == 0;
	if (!one_of(op, ops) ||
	    sz != (strcmp(op, "over") == 0 || strcmp(op, "under") == 0)) {
		gen_fail(g, f, "not an operator for this field");
		return;
	}
	snprintf(f, sizeof f, "%s.value", path);
	if (sz) {
		if (!size_ok(value)) {
			gen_fail(g, f, "not a size (digits, then K, M or G)");
			return;
		}
		put(g,
		    strcmp(op, "over") == 0 ? "size :over " : "size :under ");
		put(g, value);
		return;
	}
	if (strcmp(field, "attachment") == 0) {
		/* as ExtMail's Hasattach: a multipart/mixed message */
		put(g, "header :contains \"content-type\" \"multipart/mixed\"");
		return;
	}
	if (value[0] == '\0') {
		gen_fail(g, f, "empty");
		return;
	}
	if (strcmp(field, "header") == 0 && !hname_ok(hdr)) {
		snprintf(f, sizeof f, "%s.header", path);
		gen_fail(g, f, "not a header field name");
		return;
	}
	bool neg = strncmp(op, "not_", 4) == 0;
	const char *m = neg ? op + 4 : op;
	if (neg)
		put(g, "not ");
	put(g, "header :");
	put(g, m);
	put(g, " ");
	put_q(g, strcmp(field, "header") == 0 ? hdr : field);
	put(g, " ");
	put_q(g, value);
}

static const char *const acts[] = {"fileinto", "redirect", "redirect_copy",
				   "discard",  "reject",   "mark_read",
				   "flag",     "stop",	   NULL};

static void gen_rule(struct gen *g, json_t *r, json_t *nr, const char *path)
{
	static const char *const keys[] = {"name",	 "enabled", "match",
					   "conditions", "actions", NULL};
	char f[300];
	if (only(g, r, path, keys) < 0)
		return;
	const char *name = take_str(g, r, nr, path, "name", "",
				    SIEVE_FILTERS_FIELD_MAX, false, false);
	bool on = take_bool(g, r, nr, path, "enabled", true);
	const char *match =
	    take_str(g, r, nr, path, "match", "all", 8, false, false);
	if (g->rc < 0)
		return;
	if (strcmp(match, "all") != 0 && strcmp(match, "any") != 0) {
		snprintf(f, sizeof f, "%s.match", path);
		gen_fail(g, f, "not all or any");
		return;
	}
	json_t *conds = json_object_get(r, "conditions");
	json_t *actions = json_object_get(r, "actions");
	json_t *nconds = json_array(), *nacts = json_array();
	json_object_set_new(nr, "conditions", nconds);
	json_object_set_new(nr, "actions", nacts);
	snprintf(f, sizeof f, "%s.conditions", path);
	if (conds != NULL &&
	    (!json_is_array(conds) ||
	     json_array_size(conds) > SIEVE_FILTERS_CONDITIONS_MAX)) {
		gen_fail(g, f, "not a list, or too long");
		return;
	}
	snprintf(f, sizeof f, "%s.actions", path);
	if (!json_is_array(actions) || json_array_size(actions) == 0 ||
	    json_array_size(actions) > SIEVE_FILTERS_ACTIONS_MAX) {
		gen_fail(g, f, "one to ten actions");
		return;
	}
	/* the actions first (checked, and what the rule does) */
	size_t i;
	json_t *a;
	bool reject = false, other = false, flag = false, seen = false,
	     fileinto = false;
	json_array_foreach(actions, i, a)
	{
		char ap[220];
		snprintf(ap, sizeof ap, "%s.actions[%zu]", path, i);
		static const char *const akeys[] = {"type", "value", NULL};
		json_t *na = json_object();
		json_array_append_new(nacts, na);
		if (only(g, a, ap, akeys) < 0)
			return;
		const char *type =
		    take_str(g, a, na, ap, "type", "", 20, false, true);
		if (type == NULL)
			return;
		bool multi = strcmp(type, "reject") == 0;
		const char *val = take_str(g, a, na, ap, "value", "",
					   multi ? SIEVE_FILTERS_TEXT_MAX
						 : SIEVE_FILTERS_FIELD_MAX,
					   multi, false);
		if (val == NULL)
			return;
		snprintf(f, sizeof f, "%s.type", ap);
		if (!one_of(type, acts)) {
			gen_fail(g, f, "unknown action");
			return;
		}
		snprintf(f, sizeof f, "%s.value", ap);
		if ((strcmp(type, "fileinto") == 0 ||
		     strcmp(type, "reject") == 0) &&
		    val[0] == '\0') {
			gen_fail(g, f, "empty");
			return;
		}
		if (strncmp(type, "redirect", 8) == 0 && !addr_ok(val, false)) {
			gen_fail(g, f, "not an address");
			return;
		}
		if (strcmp(type, "reject") == 0)
			reject = true;
		else if (strcmp(type, "mark_read") == 0)
			seen = true;
		else if (strcmp(type, "flag") == 0)
			flag = true;
		else if (strcmp(type, "stop") != 0)
			other = true;
		if (strcmp(type, "fileinto") == 0)
			fileinto = true;
	}
	if (reject && (other || seen || flag)) {
		snprintf(f, sizeof f, "%s.actions", path);
		gen_fail(g, f, "reject goes only with stop");
		return;
	}
	/* then the test */
	json_t *c;
	char head[SIEVE_FILTERS_FIELD_MAX + 20];
	snprintf(head, sizeof head, "\n# rule: %s\n", name);
	put(g, on ? "" : "\n# (off)");
	put(g, head);
	struct buf *real = g->out, scratch;
	if (!on) {
		/* an off rule is checked like the others and kept only in
		   the JSON line */
		buf_init(&scratch, 256u * 1024);
		g->out = &scratch;
	}
	size_t nc = conds != NULL ? json_array_size(conds) : 0;
	size_t test_at = g->out->len;
	if (nc == 0) {
		put(g, "if true {\n");
	} else {
		put(g, nc == 1		 ? "if "
		       : match[1] == 'l' ? "if allof ("
					 : "if anyof (");
		json_array_foreach(conds, i, c)
		{
			char cp[220];
			snprintf(cp, sizeof cp, "%s.conditions[%zu]", path, i);
			json_t *ncd = json_object();
			json_array_append_new(nconds, ncd);
			if (i > 0)
				put(g, ",\n        ");
			gen_condition(g, c, ncd, cp);
		}
		put(g, nc == 1 ? " {\n" : ") {\n");
	}
	if (reject && on) {
		const char *t = g->out->p + test_at + 3;
		size_t tl = g->out->len - test_at - 3 - 3;
		if (nc == 0) {
			t = "true";
			tl = 4;
		}
		if ((g->rejects->len > 0 &&
		     buf_append_str(g->rejects, ",\n        ") < 0) ||
		    buf_append(g->rejects, t, tl) < 0)
			gen_fail(g, "",
				 "the filters make a script over 256 KiB");
	}
	const char *fl = seen && flag ? "[\"\\\\Seen\", \"\\\\Flagged\"]"
			 : seen	      ? "\"\\\\Seen\""
			 : flag	      ? "\"\\\\Flagged\""
				      : NULL;
	if (fl != NULL && !fileinto) {
		put(g, "    addflag ");
		put(g, fl);
		put(g, ";\n");
	}
	bool stop = false;
	json_array_foreach(nacts, i, a)
	{
		const char *type =
		    json_string_value(json_object_get(a, "type"));
		const char *val =
		    json_string_value(json_object_get(a, "value"));
		if (strcmp(type, "fileinto") == 0) {
			put(g, "    fileinto :create ");
			if (fl != NULL) {
				put(g, ":flags ");
				put(g, fl);
				put(g, " ");
			}
			put_q(g, val);
			put(g, ";\n");
		} else if (strcmp(type, "redirect") == 0 ||
			   strcmp(type, "redirect_copy") == 0) {
			put(g, type[8] == '_' ? "    redirect :copy "
					      : "    redirect ");
			put_q(g, val);
			put(g, ";\n");
		} else if (strcmp(type, "discard") == 0) {
			put(g, "    discard;\n");
		} else if (strcmp(type, "reject") == 0) {
			put(g, "    reject ");
			put_q(g, val);
			put(g, ";\n");
		} else if (strcmp(type, "stop") == 0) {
			stop = true;
		}
	}
	if (stop)
		put(g, "    stop;\n");
	put(g, "}\n");
	if (!on) {
		buf_deinit(&scratch);
		g->out = real;
	}
}

static void gen_rules(struct gen *g, json_t *form, json_t *n)
{
	json_t *rules = json_object_get(form, "rules"), *nr = json_array(), *r;
	json_object_set_new(n, "rules", nr);
	if (rules == NULL)
		return;
	if (!json_is_array(rules) ||
	    json_array_size(rules) > SIEVE_FILTERS_RULES_MAX) {
		gen_fail(g, "rules", "not a list, or more than 100 rules");
		return;
	}
	size_t i;
	json_array_foreach(rules, i, r)
	{
		char p[40];
		snprintf(p, sizeof p, "rules[%zu]", i);
		json_t *o = json_object();
		json_array_append_new(nr, o);
		gen_rule(g, r, o, p);
		if (g->rc < 0)
			return;
	}
}

/* Appends part (one section of the script) to g's output; with guard
   (the reject rules' tests), inside "if not anyof (guard) { }". */
static void put_part(struct gen *g, struct buf *part, struct buf *guard)
{
	if (part->len == 0)
		return;
	if (guard != NULL && guard->len > 0) {
		put(g, "\n# not when a rule below rejects the message\n"
		       "if not anyof (");
		put(g, guard->p);
		put(g, ") {");
	}
	put(g, part->p);
	if (guard != NULL && guard->len > 0)
		put(g, "}\n");
}

/* Everything but the head, into g->out; n gets the normalised form. */
static void gen_body(struct gen *g, json_t *form, json_t *n)
{
	static const char *const keys[] = {"rules",	"vacation",  "forward",
					   "whitelist", "blacklist", NULL};
	if (only(g, form, "", keys) < 0)
		return;
	json_t *bl = take_addrs(g, form, n, "", "blacklist",
				SIEVE_FILTERS_LIST_MAX, true);
	json_t *wl = take_addrs(g, form, n, "", "whitelist",
				SIEVE_FILTERS_LIST_MAX, true);
	if (g->rc < 0)
		return;
	struct buf *out = g->out, vac, fwd, rules, rejects;
	buf_init(&vac, out->max);
	buf_init(&fwd, out->max);
	buf_init(&rules, out->max);
	buf_init(&rejects, out->max);
	g->rejects = &rejects;
	g->out = &vac;
	gen_vacation(g, form, n);
	g->out = &fwd;
	if (g->rc == 0)
		gen_forward(g, form, n);
	g->out = &rules;
	if (g->rc == 0)
		gen_rules(g, form, n);
	g->out = out;
	if (g->rc == 0 && json_array_size(bl) > 0) {
		put(g, "\n# black list\nif ");
		put_list_test(g, bl);
		put(g, " {\n    discard;\n    stop;\n}\n");
	}
	if (g->rc == 0) {
		put_part(g, &vac, &rejects);
		/* a forward without a copy stops before the rules */
		bool copy = json_is_true(
		    json_object_get(json_object_get(n, "forward"), "keep"));
		put_part(g, &fwd, copy ? &rejects : NULL);
	}
	if (g->rc == 0 && json_array_size(wl) > 0) {
		put(g, "\n# white list: no rule below applies\nif ");
		put_list_test(g, wl);
		put(g, " {\n    keep;\n    stop;\n}\n");
	}
	if (g->rc == 0)
		put_part(g, &rules, NULL);
	buf_deinit(&vac);
	buf_deinit(&fwd);
	buf_deinit(&rules);
	buf_deinit(&rejects);
}

int sieve_filters_generate(json_t *form, struct buf *out, char *err,
			   size_t errsz, char *field, size_t fieldsz)
{
	struct buf body;
	buf_init(&body, out->max);
	struct gen g = {&body, err, field, errsz, fieldsz, 0, NULL};
	json_t *n = json_object();
	gen_body(&g, form, n);
	char *js = NULL;
	if (g.rc == 0) {
		js = json_dumps(n, JSON_COMPACT | JSON_SORT_KEYS |
				       JSON_ENSURE_ASCII);
		g.out = out;
		put(&g,
		    "# Filters edited in youju webmail (Settings, Filters).\n"
		    "# Changes made here by hand turn the webmail's form\n"
		    "# into a plain script editor for this script.\n");
		put(&g, SIEVE_FILTERS_MARK);
		put(&g, js != NULL ? js : "{}");
		put(&g,
		    "\nrequire [\"fileinto\", \"mailbox\", \"copy\", "
		    "\"reject\", \"envelope\", \"vacation\",\n"
		    "         \"imap4flags\", \"relational\", \"date\"];\n");
		if (body.len > 0 && buf_append(out, body.p, body.len) < 0)
			gen_fail(&g, "",
				 "the filters make a script over 256 KiB");
	}
	free(js);
	json_decref(n);
	buf_deinit(&body);
	return g.rc;
}

json_t *sieve_filters_parse(const char *script, size_t len)
{
	/* the mark is on the fourth line; look in the first 1 KiB */
	const char *end = script + len, *p = script;
	size_t ml = strlen(SIEVE_FILTERS_MARK);
	for (int line = 0; line < 8 && p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return NULL;
		if ((size_t)(nl - p) > ml &&
		    memcmp(p, SIEVE_FILTERS_MARK, ml) == 0) {
			char e[128];
			json_t *form = webjson_parse_object(
			    p + ml, (size_t)(nl - p) - ml, e, sizeof e);
			if (form == NULL)
				return NULL;
			struct buf again;
			buf_init(&again, len + 1);
			char ge[200], gf[200];
			bool same =
			    sieve_filters_generate(form, &again, ge, sizeof ge,
						   gf, sizeof gf) == 0 &&
			    again.len == len &&
			    memcmp(again.p, script, len) == 0;
			buf_deinit(&again);
			if (!same)
				json_decref(form);
			return same ? form : NULL;
		}
		p = nl + 1;
	}
	return NULL;
}

json_t *sieve_filters_empty(void)
{
	json_t *in = json_object(), *n = json_object();
	struct buf b;
	buf_init(&b, 64u * 1024);
	char e[200], f[200];
	struct gen g = {&b, e, f, sizeof e, sizeof f, 0, NULL};
	gen_body(&g, in, n);
	buf_deinit(&b);
	json_decref(in);
	return n;
}
