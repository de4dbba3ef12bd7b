/*
 * mysql: tables for youju-mta, run by youju-authd (see sqlmap.h).
 *
 * Postfix builds the SQL text by pasting the quoted key into the query
 * template (mysql_table(5)).  We never do: the template is turned once, at
 * load time, into a statement with '?' placeholders, and the key's parts
 * are bound as values.  A template written for Postfix ("WHERE x = '%s'")
 * therefore works unchanged, and a key such as "x' OR 1=1 --" is only
 * ever compared as a string.  The lookup semantics (suppressed queries,
 * result_format, domain, expansion_limit, NULL and empty values skipped,
 * values joined with ',') follow mysql_table(5).
 */
#include "sqlmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "file.h"
#include "log.h"
#include "str.h"
#include "xalloc.h"

void sqlmap_free(struct sqlmap **pm)
{
	struct sqlmap *m = *pm;
	if (m == NULL)
		return;
	free(m->path);
	free(m->query);
	free(m->result_format);
	for (size_t i = 0; i < m->ndomains; i++)
		free(m->domains[i]);
	free(m->domains);
	free(m->hosts);
	free(m->user);
	free(m->dbname);
	free(m);
	*pm = NULL;
}

/* ------------------------------------------------------ query template */

static bool query_letter(char c, char *arg_r)
{
	switch (c) {
	case 's':
	case 'S':
		*arg_r = 's';
		return true;
	case 'u':
	case 'U':
		*arg_r = 'u';
		return true;
	case 'd':
	case 'D':
		*arg_r = 'd';
		return true;
	default:
		if (c >= '1' && c <= '9') {
			*arg_r = c;
			return true;
		}
		return false;
	}
}

/* Appends raw template text, with "%%" turned into '%'. */
static int put_text(struct buf *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%' && i + 1 < n && p[i + 1] == '%')
			i++;
		if (buf_append(out, &p[i], 1) < 0)
			return -1;
	}
	return 0;
}

static int add_arg(char arg, char *args, size_t *nargs, char *err, size_t errsz)
{
	if (*nargs == SQLMAP_ARGS_MAX) {
		str_fmt_trunc(err, errsz,
			      "more than %d expansions in the query",
			      SQLMAP_ARGS_MAX);
		return -1;
	}
	args[(*nargs)++] = arg;
	return 0;
}

/*
 * A quoted literal starting at q[0] (the quote).  Pieces of text between
 * expansions are re-emitted as literals of the same quote; a literal with
 * no expansion is copied as it is.  *end_r is past the closing quote.
 */
static int convert_literal(const char *q, const char **end_r, struct buf *out,
			   char *args, size_t *nargs, char *err, size_t errsz)
{
	char quote = q[0];
	const char *p = q + 1;
	const char *piece = p; /* start of the pending text piece */
	size_t nexp = 0, npieces = 0;
	struct buf parts; /* the CONCAT() arguments built so far */
	buf_init(&parts, out->max);
	int rc = -1;
	for (;;) {
		if (*p == '\0') {
			str_fmt_trunc(err, errsz, "unclosed %c in the query",
				      quote);
			goto out;
		}
		if (*p == '%' && p[1] == '%') {
			p += 2;
			continue;
		}
		if (*p == '%') {
			char a;
			if (!query_letter(p[1], &a)) {
				str_fmt_trunc(err, errsz,
					      "invalid %%%c in the query",
					      p[1] != '\0' ? p[1] : ' ');
				goto out;
			}
			if (p > piece) {
				if ((npieces++ > 0 &&
				     buf_append_str(&parts, ", ") < 0) ||
				    buf_append(&parts, &quote, 1) < 0 ||
				    put_text(&parts, piece,
					     (size_t)(p - piece)) < 0 ||
				    buf_append(&parts, &quote, 1) < 0)
					goto toolong;
			}
			if ((npieces++ > 0 &&
			     buf_append_str(&parts, ", ") < 0) ||
			    buf_append(&parts, "?", 1) < 0 ||
			    add_arg(a, args, nargs, err, errsz) < 0)
				goto toolong;
			nexp++;
			p += 2;
			piece = p;
			continue;
		}
		if (*p == '\\' && p[1] == '%') {
			/* Postfix would expand after it, MySQL would not */
			str_fmt_trunc(err, errsz,
				      "backslash before %% in the query");
			goto out;
		}
		if (*p == '\\' && p[1] != '\0') {
			p += 2;
			continue;
		}
		if (*p == quote && p[1] == quote) {
			p += 2; /* a doubled quote stands for one */
			continue;
		}
		if (*p == quote)
			break;
		p++;
	}
	if (nexp == 0) {
		/* a plain literal: as written ("%%" still means '%') */
		if (put_text(out, q, (size_t)(p + 1 - q)) < 0)
			goto toolong;
	} else {
		if (p > piece &&
		    (buf_append_str(&parts, ", ") < 0 ||
		     buf_append(&parts, &quote, 1) < 0 ||
		     put_text(&parts, piece, (size_t)(p - piece)) < 0 ||
		     buf_append(&parts, &quote, 1) < 0))
			goto toolong;
		if (p > piece)
			npieces++;
		/* '%s' alone becomes a bare ?; '%u@%d' a CONCAT() */
		if (npieces == 1
			? buf_append(out, parts.p, parts.len) < 0
			: buf_printf(out, "CONCAT(%s)", buf_cstr(&parts)) < 0)
			goto toolong;
	}
	*end_r = p + 1;
	rc = 0;
	goto out;
toolong:
	if (err[0] == '\0')
		str_fmt_trunc(err, errsz, "query too long");
out:
	buf_deinit(&parts);
	return rc;
}

int sqlmap_convert_query(const char *query, struct buf *out, char *args,
			 size_t *nargs_r, char *err, size_t errsz)
{
	const char *p = query;
	*nargs_r = 0;
	if (errsz > 0)
		err[0] = '\0';
	while (*p != '\0') {
		if (*p == '\'' || *p == '"') {
			if (convert_literal(p, &p, out, args, nargs_r, err,
					    errsz) < 0)
				return -1;
			continue;
		}
		if (*p == '`') {
			const char *e = strchr(p + 1, '`');
			if (e == NULL) {
				str_fmt_trunc(err, errsz,
					      "unclosed ` in the query");
				return -1;
			}
			if (memchr(p, '%', (size_t)(e - p)) != NULL) {
				str_fmt_trunc(
				    err, errsz,
				    "%% inside a `quoted` name in the "
				    "query");
				return -1;
			}
			if (buf_append(out, p, (size_t)(e + 1 - p)) < 0)
				goto toolong;
			p = e + 1;
			continue;
		}
		if (*p == '?') {
			/* it would shift every placeholder after it */
			str_fmt_trunc(err, errsz, "'?' in the query");
			return -1;
		}
		if (*p == '%' && p[1] == '%') {
			if (buf_append(out, "%", 1) < 0)
				goto toolong;
			p += 2;
			continue;
		}
		if (*p == '%') {
			char a;
			if (!query_letter(p[1], &a)) {
				str_fmt_trunc(err, errsz,
					      "invalid %%%c in the query",
					      p[1] != '\0' ? p[1] : ' ');
				return -1;
			}
			if (buf_append(out, "?", 1) < 0 ||
			    add_arg(a, args, nargs_r, err, errsz) < 0)
				goto toolong;
			p += 2;
			continue;
		}
		if (buf_append(out, p, 1) < 0)
			goto toolong;
		p++;
	}
	return 0;
toolong:
	if (err[0] == '\0')
		str_fmt_trunc(err, errsz, "query too long");
	return -1;
}

/* Checks result_format and notes the key parts it needs. */
static int check_format(struct sqlmap *m, char *err, size_t errsz)
{
	for (const char *p = m->result_format; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		p++;
		switch (*p) {
		case '%':
		case 's':
		case 'u':
		case 'd':
		case 'S':
			break;
		case 'U':
			m->need_local = true;
			break;
		case 'D':
			m->need_domain = true;
			break;
		default:
			if (*p >= '1' && *p <= '9') {
				m->need_domain = true;
				if ((unsigned)(*p - '0') > m->need_labels)
					m->need_labels = (unsigned)(*p - '0');
				break;
			}
			str_fmt_trunc(err, errsz,
				      "invalid %%%c in result_format",
				      *p != '\0' ? *p : ' ');
			return -1;
		}
	}
	return 0;
}

/* ----------------------------------------------------------- .cf files */

struct cf_param {
	char *name, *value;
};

static const char *cf_get(const struct cf_param *ps, size_t n, const char *name)
{
	const char *v = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ps[i].name, name) == 0)
			v = ps[i].value; /* the last one wins, as in main.cf */
	}
	return v;
}

static void cf_free(struct cf_param *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ps[i].name);
		if (ps[i].value != NULL) {
			explicit_bzero(ps[i].value, strlen(ps[i].value));
			free(ps[i].value);
		}
	}
	free(ps);
}

#define CF_PARAMS_MAX 100

/* "name = value" lines; continuation lines (leading white space) are
   joined with one space. */
static struct cf_param *cf_parse(const char *text, size_t len, size_t *n_r,
				 char *err, size_t errsz)
{
	struct cf_param *ps = NULL;
	size_t n = 0;
	unsigned lineno = 0;
	const char *p = text, *end = text + len;
	struct buf line;
	buf_init(&line, SQLMAP_LINE_MAX);
	*n_r = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end;
		struct str l = {p, (size_t)(e - p)};
		p = nl != NULL ? nl + 1 : end;
		lineno++;
		if (l.len > 0 && l.p[l.len - 1] == '\r')
			l.len--;
		if (memchr(l.p, '\0', l.len) != NULL) {
			str_fmt_trunc(err, errsz, "line %u: NUL byte", lineno);
			goto fail;
		}
		bool cont = l.len > 0 && (l.p[0] == ' ' || l.p[0] == '\t');
		struct str t = str_trim(l);
		if (t.len == 0 || t.p[0] == '#')
			continue;
		if (cont) {
			if (n == 0) {
				str_fmt_trunc(
				    err, errsz,
				    "line %u: continuation of nothing", lineno);
				goto fail;
			}
			buf_reset(&line);
			if (buf_append_str(&line, ps[n - 1].value) < 0 ||
			    buf_append(&line, " ", 1) < 0 ||
			    buf_append(&line, t.p, t.len) < 0) {
				str_fmt_trunc(err, errsz,
					      "line %u: value too long",
					      lineno);
				goto fail;
			}
			explicit_bzero(ps[n - 1].value,
				       strlen(ps[n - 1].value));
			free(ps[n - 1].value);
			ps[n - 1].value = xstrdup(buf_cstr(&line));
			continue;
		}
		const char *eq = memchr(t.p, '=', t.len);
		if (eq == NULL) {
			str_fmt_trunc(err, errsz, "line %u: missing '='",
				      lineno);
			goto fail;
		}
		struct str name =
		    str_trim((struct str){t.p, (size_t)(eq - t.p)});
		struct str val = str_trim(
		    (struct str){eq + 1, (size_t)(t.p + t.len - eq - 1)});
		if (name.len == 0 || name.len > 64 || val.len >= line.max) {
			str_fmt_trunc(err, errsz, "line %u: bad parameter",
				      lineno);
			goto fail;
		}
		for (size_t i = 0; i < name.len; i++) {
			char c = name.p[i];
			if (!((c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '_')) {
				str_fmt_trunc(err, errsz,
					      "line %u: bad parameter name",
					      lineno);
				goto fail;
			}
		}
		if (n == CF_PARAMS_MAX) {
			str_fmt_trunc(err, errsz,
				      "line %u: too many parameters", lineno);
			goto fail;
		}
		ps = xrealloc(ps, (n + 1) * sizeof(*ps));
		ps[n].name = xmemdup0(name.p, name.len);
		ps[n].value = xmemdup0(val.p, val.len);
		n++;
	}
	buf_deinit(&line);
	*n_r = n;
	return ps;
fail:
	buf_deinit(&line);
	cf_free(ps, n);
	return NULL;
}

static void split_domains(struct sqlmap *m, const char *list)
{
	const char *p = list;
	while (*p != '\0') {
		size_t skip = strspn(p, " \t,");
		p += skip;
		size_t w = strcspn(p, " \t,");
		if (w == 0)
			break;
		m->domains =
		    xrealloc(m->domains, (m->ndomains + 1) * sizeof(char *));
		m->domains[m->ndomains] = xmemdup0(p, w);
		str_lower(m->domains[m->ndomains]);
		m->ndomains++;
		p += w;
	}
}

struct sqlmap *sqlmap_parse(const char *path, const char *text, size_t len,
			    char *err, size_t errsz)
{
	size_t n;
	err[0] = '\0';
	if (len > SQLMAP_FILE_MAX) {
		str_fmt_trunc(err, errsz, "file too big");
		return NULL;
	}
	struct cf_param *ps = cf_parse(text, len, &n, err, errsz);
	if (ps == NULL && err[0] != '\0')
		return NULL;
	struct sqlmap *m = xcalloc(1, sizeof(*m));
	m->path = xstrdup(path);
	struct buf q, legacy;
	buf_init(&q, SQLMAP_LINE_MAX * 2);
	buf_init(&legacy, SQLMAP_LINE_MAX * 2);
	const char *query = cf_get(ps, n, "query");
	if (query == NULL) {
		/* Postfix 2.1's form: SELECT select_field FROM table WHERE
		   where_field = '%s' additional_conditions */
		const char *sel = cf_get(ps, n, "select_field");
		const char *tab = cf_get(ps, n, "table");
		const char *wh = cf_get(ps, n, "where_field");
		const char *add = cf_get(ps, n, "additional_conditions");
		if (sel == NULL || tab == NULL || wh == NULL) {
			str_fmt_trunc(err, errsz,
				      "no query (nor select_field, "
				      "table and where_field)");
			goto fail;
		}
		if (buf_printf(&legacy,
			       "SELECT %s FROM %s WHERE %s = '%%s'%s%s", sel,
			       tab, wh, add != NULL ? " " : "",
			       add != NULL ? add : "") < 0) {
			str_fmt_trunc(err, errsz, "query too long");
			goto fail;
		}
		query = buf_cstr(&legacy);
	}
	if (query[0] == '\0') {
		str_fmt_trunc(err, errsz, "empty query");
		goto fail;
	}
	char qerr[200];
	if (sqlmap_convert_query(query, &q, m->args, &m->nargs, qerr,
				 sizeof(qerr)) < 0) {
		str_fmt_trunc(err, errsz, "query: %s", qerr);
		goto fail;
	}
	m->query = xstrdup(buf_cstr(&q));
	for (size_t i = 0; i < m->nargs; i++) {
		char a = m->args[i];
		if (a == 'u')
			m->need_local = true;
		if (a == 'd')
			m->need_domain = true;
		if (a >= '1' && a <= '9') {
			m->need_domain = true;
			if ((unsigned)(a - '0') > m->need_labels)
				m->need_labels = (unsigned)(a - '0');
		}
	}
	const char *rf = cf_get(ps, n, "result_format");
	m->result_format = xstrdup(rf != NULL && rf[0] != '\0' ? rf : "%s");
	if (check_format(m, err, errsz) < 0)
		goto fail;
	const char *dom = cf_get(ps, n, "domain");
	if (dom != NULL) {
		split_domains(m, dom);
		for (size_t i = 0; i < m->ndomains; i++) {
			if (m->domains[i][0] == '/' ||
			    strchr(m->domains[i], ':') != NULL) {
				str_fmt_trunc(
				    err, errsz,
				    "domain: only domain names are "
				    "supported, not files or tables (%s)",
				    m->domains[i]);
				goto fail;
			}
		}
	}
	const char *lim = cf_get(ps, n, "expansion_limit");
	if (lim != NULL) {
		uint64_t v;
		if (str_parse_u64(lim, 0, SQLMAP_ROWS_MAX, &v) < 0) {
			str_fmt_trunc(
			    err, errsz,
			    "expansion_limit: expected a number from 0 "
			    "to %d",
			    SQLMAP_ROWS_MAX);
			goto fail;
		}
		m->expansion_limit = (unsigned)v;
	}
	const char *v;
	if ((v = cf_get(ps, n, "hosts")) != NULL)
		m->hosts = xstrdup(v);
	if ((v = cf_get(ps, n, "user")) != NULL)
		m->user = xstrdup(v);
	if ((v = cf_get(ps, n, "dbname")) != NULL)
		m->dbname = xstrdup(v);
	v = cf_get(ps, n, "password");
	m->has_password = v != NULL && v[0] != '\0';
	buf_deinit(&q);
	buf_deinit(&legacy);
	cf_free(ps, n);
	return m;
fail:
	buf_deinit(&q);
	buf_deinit(&legacy);
	cf_free(ps, n);
	sqlmap_free(&m);
	return NULL;
}

/* ------------------------------------------------------------- lookups */

bool sqlmap_bind(const struct sqlmap *m, const char *key, struct sqlmap_key *k,
		 const char **args_r)
{
	size_t len = strlen(key);
	if (len == 0 || len > SQLMAP_KEY_MAX)
		return false;
	char *mem = k->mem;
	memcpy(mem, key, len + 1);
	k->key = mem;
	k->local = k->domain = NULL;
	k->nlabels = 0;
	const char *at = strrchr(key, '@');
	if (at != NULL) {
		size_t ll = (size_t)(at - key), dl = len - ll - 1;
		char *local = mem + len + 1, *dom = local + ll + 1;
		memcpy(local, key, ll);
		local[ll] = '\0';
		memcpy(dom, at + 1, dl + 1);
		k->local = local;
		k->domain = dom;
		/* labels from the right: %1 is the top-level one */
		char *lab = dom + dl + 1;
		memcpy(lab, at + 1, dl + 1);
		for (;;) {
			char *dot = strrchr(lab, '.');
			const char *l = dot != NULL ? dot + 1 : lab;
			if (k->nlabels < 9)
				k->labels[k->nlabels++] = l;
			if (dot == NULL)
				break;
			*dot = '\0';
		}
	}
	/* domain = list: only user@listed-domain keys are looked up */
	if (m->ndomains > 0) {
		if (k->local == NULL || k->local[0] == '\0' ||
		    k->domain[0] == '\0')
			return false;
		bool hit = false;
		for (size_t i = 0; i < m->ndomains && !hit; i++)
			hit = strcasecmp(m->domains[i], k->domain) == 0;
		if (!hit)
			return false;
	}
	if (m->need_local && k->local != NULL && k->local[0] == '\0')
		return false;
	if (m->need_domain && (k->domain == NULL || k->domain[0] == '\0'))
		return false;
	for (unsigned i = 0; i < m->need_labels; i++) {
		if (i >= k->nlabels || k->labels[i][0] == '\0')
			return false;
	}
	for (size_t i = 0; i < m->nargs; i++) {
		char a = m->args[i];
		if (a == 's')
			args_r[i] = k->key;
		else if (a == 'u')
			args_r[i] = k->local != NULL ? k->local : k->key;
		else if (a == 'd')
			args_r[i] = k->domain;
		else
			args_r[i] = k->labels[a - '1'];
	}
	return true;
}

/* Appends s, control bytes turned into spaces (the value goes on one
   protocol line and into an SMTP reply). */
static int put_clean(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c =
		    (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
		if (buf_append(out, &c, 1) < 0)
			return -1;
	}
	return 0;
}

int sqlmap_format(const struct sqlmap *m, const struct sqlmap_key *k,
		  const char *value, struct buf *out)
{
	if (value == NULL || value[0] == '\0')
		return 0;
	const char *vat = strrchr(value, '@');
	size_t start = out->len;
	if (out->len > 0 && buf_append(out, ",", 1) < 0)
		return -1;
	for (const char *p = m->result_format; *p != '\0'; p++) {
		const char *s = NULL;
		size_t n = 0;
		if (*p != '%') {
			s = p;
			n = 1;
		} else {
			p++;
			switch (*p) {
			case '%':
				s = p;
				n = 1;
				break;
			case 's':
				s = value;
				n = strlen(value);
				break;
			case 'u':
				if (vat == value)
					goto skip; /* empty local part */
				s = value;
				n = vat != NULL ? (size_t)(vat - value)
						: strlen(value);
				break;
			case 'd':
				if (vat == NULL || vat[1] == '\0')
					goto skip;
				s = vat + 1;
				n = strlen(s);
				break;
			case 'S':
				s = k->key;
				break;
			case 'U':
				s = k->local != NULL ? k->local : k->key;
				break;
			case 'D':
				s = k->domain;
				break;
			default:
				if (*p >= '1' && *p <= '9' &&
				    (unsigned)(*p - '1') < k->nlabels)
					s = k->labels[*p - '1'];
				break;
			}
			if (s == NULL)
				goto skip; /* bind checked: not reached */
			if (strchr("SUD123456789", *p) != NULL)
				n = strlen(s);
		}
		if (put_clean(out, s, n) < 0)
			return -1;
	}
	return 1;
skip:
	buf_truncate(out, start);
	return 0;
}

enum sqlmap_status sqlmap_lookup(const struct sqlmap *m, struct sqlpool *pool,
				 unsigned wait_ms, const char *key, char *val,
				 size_t valsz, const char **error_r)
{
	struct sqlmap_key k;
	const char *args[SQLMAP_ARGS_MAX];
	*error_r = NULL;
	if (!sqlmap_bind(m, key, &k, args))
		return SQLMAP_NOTFOUND;
	struct sqlconn *conn = sqlpool_get(pool, wait_ms, error_r);
	if (conn == NULL)
		return SQLMAP_TEMPFAIL;
	struct sqlresult res;
	enum sqlpool_status qs = sqlconn_query(conn, m->query, args, m->nargs,
					       SQLMAP_ROWS_MAX, &res, error_r);
	sqlpool_put(pool, &conn, qs == SQL_TEMPFAIL);
	if (qs != SQL_OK)
		return SQLMAP_TEMPFAIL;
	struct buf out;
	buf_init(&out, SQLMAP_VALUE_MAX);
	enum sqlmap_status st = SQLMAP_NOTFOUND;
	unsigned count = 0;
	for (size_t r = 0; r < res.nrows && st != SQLMAP_TEMPFAIL; r++) {
		const struct sqlrow *row = &res.rows[r];
		for (size_t c = 0; c < row->ncols; c++) {
			int rc = sqlmap_format(m, &k, row->cols[c], &out);
			if (rc < 0) {
				*error_r = "result too long";
				st = SQLMAP_TEMPFAIL;
				break;
			}
			count += (unsigned)rc;
			if (m->expansion_limit > 0 &&
			    count > m->expansion_limit) {
				*error_r = "expansion_limit exceeded";
				st = SQLMAP_TEMPFAIL;
				break;
			}
		}
	}
	sqlresult_free(&res);
	if (st != SQLMAP_TEMPFAIL && count > 0) {
		int w = snprintf(val, valsz, "%s", buf_cstr(&out));
		if (w < 0 || (size_t)w >= valsz) {
			*error_r = "result too long";
			st = SQLMAP_TEMPFAIL;
		} else {
			st = SQLMAP_FOUND;
		}
	}
	buf_deinit(&out);
	return st;
}

/* ---------------------------------------------------------- the set */

struct set_ent {
	char *path;
	struct sqlmap *m; /* NULL: broken */
	char *error;
};

struct sqlmap_set {
	size_t n;
	struct set_ent *e;
};

struct sqlmap *sqlmap_load_file(const char *path, char *err, size_t errsz,
				bool *eacces_r)
{
	*eacces_r = false;
	err[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*eacces_r = errno == EACCES;
		str_fmt_trunc(err, errsz, "open: %s", strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		str_fmt_trunc(err, errsz, "not a regular file");
		close(fd);
		return NULL;
	}
	if ((st.st_mode & 022) != 0) {
		/* anyone who can write it chooses the SQL authd runs */
		str_fmt_trunc(err, errsz,
			      "writable by group or others (chmod "
			      "go-w it)");
		close(fd);
		return NULL;
	}
	if (st.st_size > SQLMAP_FILE_MAX) {
		str_fmt_trunc(err, errsz, "file too big");
		close(fd);
		return NULL;
	}
	char *text = NULL;
	size_t len = 0;
	int rr = file_read_fd(fd, SQLMAP_FILE_MAX, &text, &len);
	int e = errno;
	close(fd);
	if (rr < 0) {
		str_fmt_trunc(err, errsz, "%s",
			      e == EFBIG ? "file too big" : strerror(e));
		return NULL;
	}
	struct sqlmap *m = sqlmap_parse(path, text, len, err, errsz);
	explicit_bzero(text, len);
	free(text);
	if (m != NULL && m->has_password && (st.st_mode & 077) != 0) {
		str_fmt_trunc(
		    err, errsz,
		    "holds a password and is readable by group or others "
		    "(youju-authd does not use it: remove the password "
		    "line, or chmod 600 the file)");
		sqlmap_free(&m);
	}
	return m;
}

static struct sqlmap *sqlmap_dup(const struct sqlmap *o)
{
	struct sqlmap *m = xcalloc(1, sizeof(*m));
	*m = *o;
	m->path = xstrdup(o->path);
	m->query = xstrdup(o->query);
	m->result_format = xstrdup(o->result_format);
	m->domains = o->ndomains ? xcalloc(o->ndomains, sizeof(char *)) : NULL;
	for (size_t i = 0; i < o->ndomains; i++)
		m->domains[i] = xstrdup(o->domains[i]);
	m->hosts = o->hosts != NULL ? xstrdup(o->hosts) : NULL;
	m->user = o->user != NULL ? xstrdup(o->user) : NULL;
	m->dbname = o->dbname != NULL ? xstrdup(o->dbname) : NULL;
	return m;
}

static void conf_quiet(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg; /* the daemon that owns the parameter warns */
}

static bool host_is_ours(const char *h, size_t n, const struct sqlmap_db *db)
{
	char w[512];
	if (n >= sizeof(w))
		return false;
	memcpy(w, h, n);
	w[n] = '\0';
	const char *x = w;
	if (strncmp(x, "unix:", 5) == 0)
		return db->socket != NULL && strcmp(x + 5, db->socket) == 0;
	if (strncmp(x, "inet:", 5) == 0)
		x += 5;
	if (db->host == NULL || db->host[0] == '\0')
		return strcmp(x, "localhost") == 0; /* the local socket */
	return strcmp(x, db->host) == 0;
}

/* Warns once per load about connection settings authd does not use. */
static void warn_differs(const struct sqlmap *m, const struct sqlmap_db *db,
			 bool password_differs)
{
	const char *what[4];
	size_t n = 0;
	if (m->hosts != NULL) {
		for (const char *p = m->hosts; *p != '\0';) {
			p += strspn(p, " \t,");
			size_t w = strcspn(p, " \t,");
			if (w > 0 && !host_is_ours(p, w, db)) {
				what[n++] = "hosts";
				break;
			}
			p += w;
		}
	}
	if (m->user != NULL && db->user != NULL &&
	    strcmp(m->user, db->user) != 0)
		what[n++] = "user";
	if (password_differs)
		what[n++] = "password";
	if (m->dbname != NULL && db->dbname != NULL &&
	    strcmp(m->dbname, db->dbname) != 0)
		what[n++] = "dbname";
	if (n == 0)
		return;
	log_warning(
	    "authd: mysql:%s: %s%s%s%s%s%s%s differ%s from youju-authd's "
	    "own (mysql_host, mysql_user, mysql_dbname): they are "
	    "ignored, the query runs on youju-authd's connection",
	    m->path, what[0], n > 1 ? ", " : "", n > 1 ? what[1] : "",
	    n > 2 ? ", " : "", n > 2 ? what[2] : "", n > 3 ? ", " : "",
	    n > 3 ? what[3] : "", n == 1 ? "s" : "");
}

/* The password is only compared, never kept: read it again. */
static bool password_differs(const char *path, const struct sqlmap_db *db)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	char *text = xmalloc(SQLMAP_FILE_MAX + 1);
	ssize_t r = read(fd, text, SQLMAP_FILE_MAX);
	close(fd);
	bool differs = false;
	size_t n;
	char err[64] = "";
	struct cf_param *ps =
	    r > 0 ? cf_parse(text, (size_t)r, &n, err, sizeof(err)) : NULL;
	if (ps != NULL) {
		const char *pw = cf_get(ps, n, "password");
		const char *ours = db->password != NULL ? db->password : "";
		size_t a = pw != NULL ? strlen(pw) : 0, b = strlen(ours);
		differs = pw != NULL && pw[0] != '\0' &&
			  (a != b || !str_secure_eq(pw, ours, a));
		cf_free(ps, n);
	}
	if (r > 0)
		explicit_bzero(text, (size_t)r);
	free(text);
	return differs;
}

static void set_add(struct sqlmap_set *s, const char *path, size_t len,
		    const struct sqlmap_db *db, const struct sqlmap_set *old)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strlen(s->e[i].path) == len &&
		    memcmp(s->e[i].path, path, len) == 0)
			return;
	}
	if (s->n == SQLMAP_SET_MAX) {
		log_error("authd: more than %d mysql: tables: %.*s ignored",
			  SQLMAP_SET_MAX, (int)len, path);
		return;
	}
	struct set_ent e = {.path = xmemdup0(path, len)};
	char err[512] = "";
	bool eacces = false;
	if (len > SQLMAP_PATH_MAX || e.path[0] != '/') {
		str_fmt_trunc(err, sizeof(err), "not an absolute path");
	} else {
		e.m = sqlmap_load_file(e.path, err, sizeof(err), &eacces);
	}
	const struct sqlmap *prev = NULL;
	const char *perr;
	if (e.m == NULL && eacces && old != NULL &&
	    sqlmap_set_find(old, e.path, &prev, &perr) == 1) {
		/* root read it at start-up; we have dropped root since */
		e.m = sqlmap_dup(prev);
		log_warning("authd: mysql:%s: %s: keeping the table read "
			    "before",
			    e.path, err);
	} else if (e.m == NULL) {
		e.error = xstrdup(err);
		log_error("authd: mysql:%s: %s (its lookups fail "
			  "temporarily)",
			  e.path, err);
	} else {
		warn_differs(e.m, db,
			     e.m->has_password && password_differs(e.path, db));
		log_debug("authd: mysql:%s: query: %s", e.path, e.m->query);
	}
	s->e = xrealloc(s->e, (s->n + 1) * sizeof(*s->e));
	s->e[s->n++] = e;
}

struct sqlmap_set *sqlmap_set_load(const char *conf_path,
				   const struct sqlmap_db *db,
				   const struct sqlmap_set *old)
{
	struct sqlmap_set *s = xcalloc(1, sizeof(*s));
	const char *err = NULL;
	struct conf *c =
	    conf_load_warn(conf_path, conf_all_tables, conf_quiet, NULL, &err);
	if (c == NULL) {
		log_error("authd: %s: %s: no mysql: tables", conf_path,
			  err != NULL ? err : "cannot load");
		return s;
	}
	for (size_t t = 0; conf_all_tables[t] != NULL; t++) {
		const struct conf_param *ps = conf_all_tables[t]->params;
		for (size_t i = 0; ps[i].name != NULL; i++) {
			const char *v = conf_str(c, ps[i].name);
			while (*v != '\0') {
				v += strspn(v, " \t\r\n,");
				size_t w = strcspn(v, " \t\r\n,");
				if (w > 6 && strncmp(v, "mysql:", 6) == 0)
					set_add(s, v + 6, w - 6, db, old);
				v += w;
			}
		}
	}
	conf_free(&c);
	return s;
}

void sqlmap_set_free(struct sqlmap_set **ps)
{
	struct sqlmap_set *s = *ps;
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].path);
		sqlmap_free(&s->e[i].m);
		free(s->e[i].error);
	}
	free(s->e);
	free(s);
	*ps = NULL;
}

size_t sqlmap_set_count(const struct sqlmap_set *s)
{
	return s != NULL ? s->n : 0;
}

int sqlmap_set_find(const struct sqlmap_set *s, const char *path,
		    const struct sqlmap **m_r, const char **error_r)
{
	for (size_t i = 0; s != NULL && i < s->n; i++) {
		if (strcmp(s->e[i].path, path) != 0)
			continue;
		*m_r = s->e[i].m;
		*error_r = s->e[i].error;
		return s->e[i].m != NULL ? 1 : 0;
	}
	return -1;
}
