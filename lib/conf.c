/*
 * Configuration files in Postfix main.cf syntax; see conf.h.  Loading runs in
 * three passes: split the text into logical lines and record "name = value"
 * (last definition wins, as in Postfix), expand every known parameter's value
 * (memoised, with a loop check and a depth limit, because defaults such as
 * myorigin = $myhostname chain), then convert it to its type.  The result is
 * never written again, so any number of threads may read it; error text goes
 * to a thread-local buffer for the same reason.
 */
#include "conf.h"

#include "buf.h"
#include "file.h"
#include "log.h"
#include "str.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef YOUJU_SRCDIR
#define YOUJU_SRCDIR "."
#endif

#define CONF_HOME_PARAM "youju_home"
/* Past this many, warnings are summed up in one line (a fuzzed or garbled
   file must not cost a Levenshtein search per line). */
#define CONF_WARN_MAX 50
/* Longest bad value quoted in an error message. */
#define CONF_QUOTE_MAX 120

#define CONF_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			conf_assert_fail(#cond, __FILE__, __LINE__);           \
	} while (0)

enum conf_state { ST_NEW, ST_BUSY, ST_DONE };

struct conf_entry {
	const char *name;		/* param->name, or owned (unknown) */
	const struct conf_param *param; /* NULL for an unknown name */
	char *raw;			/* owned text from the file, or NULL */
	unsigned line;			/* line of the definition, 0: default */
	bool set;
	bool referenced; /* some $name refers to it */
	enum conf_state state;
	char *value;  /* owned, expanded */
	int64_t num;  /* INT, SIZE, TIME (seconds) */
	bool flag;    /* BOOL */
	char **items; /* LIST: owned, NULL-terminated */
	size_t n_items;
};

struct conf {
	char *path;
	struct conf_entry *known; /* sorted by name */
	size_t n_known;
	struct conf_entry *extra; /* unknown names; sorted by name */
	size_t n_extra;
};

struct conf_load_ctx {
	struct conf *c;
	const struct conf_table *const *tables;
	conf_warn_fn *warn_cb;
	void *warn_ctx;
	unsigned n_warn;
	size_t extra_cap;
};

static _Thread_local char conf_errbuf[1024];

__attribute__((noreturn)) static void
conf_assert_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "youju: assertion failed: %s (%s:%d)\n", what, file,
		line);
	abort();
}

__attribute__((format(printf, 2, 3))) static void
conf_set_error(const char **error_r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(conf_errbuf, sizeof conf_errbuf, fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(conf_errbuf, sizeof conf_errbuf,
			 "configuration error");
	/* a truncated message is still the right message */
	if (error_r != NULL)
		*error_r = conf_errbuf;
}

__attribute__((format(printf, 2, 3))) static void
conf_warn(struct conf_load_ctx *lc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (lc->n_warn++ >= CONF_WARN_MAX)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (lc->warn_cb != NULL)
		lc->warn_cb(lc->warn_ctx, msg);
	else
		log_warning("%s", msg);
}

/* Quotes untrusted text for a message: escaped and cut. */
static const char *conf_quote(char *out, size_t outsz, const char *s)
{
	return log_escape(out, outsz, s, strlen(s));
}

const char *conf_home(void)
{
	const char *h = getenv("YOUJU_HOME");
	if (h != NULL && h[0] != '\0')
		return h;
	return YOUJU_SRCDIR "/var";
}

char *conf_default_path(void)
{
	const char *home = conf_home();
	static const char tail[] = "/etc/youju.cf";
	size_t n = strlen(home);
	char *p = xmalloc(n + sizeof tail);
	memcpy(p, home, n);
	memcpy(p + n, tail, sizeof tail);
	return p;
}

/* ---------------------------------------------------------------- tables */

const struct conf_param *conf_find_param(const struct conf_table *const *tables,
					 const char *name)
{
	for (size_t t = 0; tables[t] != NULL; t++) {
		const struct conf_param *p = tables[t]->params;
		for (; p->name != NULL; p++)
			if (strcmp(p->name, name) == 0)
				return p;
	}
	return NULL;
}

/* Levenshtein distance with two rows; both strings at most CONF_NAME_MAX. */
static size_t conf_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t prev[CONF_NAME_MAX + 1], cur[CONF_NAME_MAX + 1];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t v = prev[j - 1] + cost;
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			cur[j] = v;
		}
		memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
	}
	return prev[lb];
}

const char *conf_nearest(const struct conf_table *const *tables,
			 const char *name)
{
	size_t ln = strlen(name);
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	if (ln == 0 || ln > CONF_NAME_MAX)
		return NULL;
	for (size_t t = 0; tables[t] != NULL; t++) {
		const struct conf_param *p = tables[t]->params;
		for (; p->name != NULL; p++) {
			size_t lp = strlen(p->name);
			if (lp > CONF_NAME_MAX)
				continue;
			size_t d = conf_distance(name, ln, p->name, lp);
			if (d < best_d) {
				best_d = d;
				best = p->name;
			}
		}
	}
	/* close enough to be a typo, and not most of the word */
	if (best_d > 3 || best_d * 2 > ln)
		return NULL;
	return best;
}

/* ---------------------------------------------------------------- lookup */

static int conf_entry_cmp(const void *a, const void *b)
{
	const struct conf_entry *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	if (r != 0)
		return r;
	/* equal names (unknown, defined twice): the earlier line first */
	return (x->line > y->line) - (x->line < y->line);
}

static int conf_key_cmp(const void *key, const void *elem)
{
	const struct conf_entry *e = elem;
	return strcmp(key, e->name);
}

static struct conf_entry *conf_lookup_known(const struct conf *c,
					    const char *name)
{
	return bsearch(name, c->known, c->n_known, sizeof c->known[0],
		       conf_key_cmp);
}

static struct conf_entry *conf_lookup_any(const struct conf *c,
					  const char *name)
{
	struct conf_entry *e = conf_lookup_known(c, name);
	if (e == NULL && c->n_extra > 0)
		e = bsearch(name, c->extra, c->n_extra, sizeof c->extra[0],
			    conf_key_cmp);
	return e;
}

static void conf_entry_free(struct conf_entry *e, bool own_name)
{
	if (own_name)
		free((char *)e->name);
	free(e->raw);
	free(e->value);
	if (e->items != NULL) {
		for (size_t i = 0; i < e->n_items; i++)
			free(e->items[i]);
		free(e->items);
	}
}

void conf_free(struct conf **cp)
{
	struct conf *c = *cp;
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_known; i++)
		conf_entry_free(&c->known[i], false);
	for (size_t i = 0; i < c->n_extra; i++)
		conf_entry_free(&c->extra[i], true);
	free(c->known);
	free(c->extra);
	free(c->path);
	free(c);
	*cp = NULL;
}

/* One entry per distinct known name, the first table's declaration winning. */
static void conf_init_known(struct conf *c,
			    const struct conf_table *const *tables)
{
	size_t n = 0;
	for (size_t t = 0; tables[t] != NULL; t++)
		for (const struct conf_param *p = tables[t]->params;
		     p->name != NULL; p++)
			n++;
	c->known = xcalloc(n, sizeof c->known[0]);
	for (size_t t = 0; tables[t] != NULL; t++) {
		for (const struct conf_param *p = tables[t]->params;
		     p->name != NULL; p++) {
			if (conf_find_param(tables, p->name) != p)
				continue; /* declared again by a later table */
			c->known[c->n_known].name = p->name;
			c->known[c->n_known].param = p;
			c->n_known++;
		}
	}
	qsort(c->known, c->n_known, sizeof c->known[0], conf_entry_cmp);
}

/* ---------------------------------------------------------------- parsing */

static bool conf_is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_';
}

static bool conf_is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/*
 * Records "name = value" from a logical line.  Returns 0 or -1 with
 * *error_r.
 */
static int conf_define(struct conf_load_ctx *lc, const char *line, size_t len,
		       unsigned lineno, const char **error_r)
{
	struct conf *c = lc->c;
	size_t i = 0;

	while (i < len && conf_is_name_char(line[i]))
		i++;
	size_t name_len = i;
	while (i < len && conf_is_space(line[i]))
		i++;
	if (name_len == 0 || i == len || line[i] != '=') {
		conf_set_error(error_r,
			       "%s, line %u: syntax error: expected "
			       "\"name = value\"",
			       c->path, lineno);
		return -1;
	}
	if (name_len > CONF_NAME_MAX) {
		conf_set_error(
		    error_r, "%s, line %u: parameter name longer than %d bytes",
		    c->path, lineno, CONF_NAME_MAX);
		return -1;
	}
	struct str value = str_trim((struct str){line + i + 1, len - i - 1});
	char *name = xmemdup0(line, name_len);

	struct conf_entry *e = conf_lookup_known(c, name);
	if (e != NULL && strcmp(name, CONF_HOME_PARAM) == 0) {
		conf_warn(lc,
			  "%s, line %u: %s is read-only (set the YOUJU_HOME "
			  "environment variable instead); ignored",
			  c->path, lineno, CONF_HOME_PARAM);
		free(name);
		return 0;
	}
	if (e != NULL) {
		free(name);
	} else {
		if (c->n_extra == lc->extra_cap) {
			lc->extra_cap = lc->extra_cap ? lc->extra_cap * 2 : 8;
			c->extra = xrealloc(c->extra,
					    lc->extra_cap * sizeof c->extra[0]);
		}
		e = &c->extra[c->n_extra++];
		memset(e, 0, sizeof *e);
		e->name = name;
	}
	free(e->raw);
	e->raw = xmemdup0(value.p, value.len);
	e->line = lineno;
	e->set = true;
	return 0;
}

/*
 * Checks one physical line (without its newline) for bytes we refuse and
 * returns its length with a CR LF's CR dropped, or -1 with *error_r.
 */
static ssize_t conf_check_line(const struct conf *c, const char *p, size_t len,
			       unsigned lineno, const char **error_r)
{
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (len > CONF_LINE_MAX) {
		conf_set_error(error_r,
			       "%s, line %u: line longer than %d bytes",
			       c->path, lineno, CONF_LINE_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			conf_set_error(error_r,
				       "%s, line %u: illegal control character "
				       "0x%02x",
				       c->path, lineno, ch);
			return -1;
		}
	}
	return (ssize_t)len;
}

static bool conf_is_blank_or_comment(const char *p, size_t len)
{
	size_t i = 0;
	while (i < len && conf_is_space(p[i]))
		i++;
	return i == len || p[i] == '#';
}

/* Pass 1: logical lines to entries. */
static int conf_scan(struct conf_load_ctx *lc, const char *data, size_t len,
		     const char **error_r)
{
	struct buf logical;
	unsigned lineno = 0, logical_line = 0;
	size_t pos = 0;
	int ret = 0;

	buf_init(&logical, CONF_FILE_MAX);
	while (pos < len && ret == 0) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t plen =
		    nl != NULL ? (size_t)(nl - (data + pos)) : len - pos;
		const char *p = data + pos;
		pos += plen + (nl != NULL);
		lineno++;

		ssize_t l = conf_check_line(lc->c, p, plen, lineno, error_r);
		if (l < 0) {
			ret = -1;
			break;
		}
		if (conf_is_blank_or_comment(p, (size_t)l))
			continue;
		if (conf_is_space(p[0])) {
			if (logical_line == 0) {
				conf_set_error(error_r,
					       "%s, line %u: continuation line "
					       "with no parameter to continue",
					       lc->c->path, lineno);
				ret = -1;
				break;
			}
			struct str t = str_trim((struct str){p, (size_t)l});
			if (buf_append_char(&logical, ' ') < 0 ||
			    buf_append(&logical, t.p, t.len) < 0) {
				conf_set_error(error_r, "%s, line %u: too long",
					       lc->c->path, lineno);
				ret = -1;
			}
			continue;
		}
		if (logical_line != 0)
			ret = conf_define(lc, logical.p, logical.len,
					  logical_line, error_r);
		buf_reset(&logical);
		logical_line = lineno;
		if (ret == 0 && buf_append(&logical, p, (size_t)l) < 0) {
			conf_set_error(error_r, "%s, line %u: too long",
				       lc->c->path, lineno);
			ret = -1;
		}
	}
	if (ret == 0 && logical_line != 0)
		ret = conf_define(lc, logical.p, logical.len, logical_line,
				  error_r);
	buf_deinit(&logical);
	return ret;
}

/* Keeps the last definition of each unknown name, sorted for bsearch. */
static void conf_sort_extra(struct conf *c)
{
	if (c->n_extra == 0)
		return;
	qsort(c->extra, c->n_extra, sizeof c->extra[0], conf_entry_cmp);
	size_t out = 0;
	for (size_t i = 0; i < c->n_extra; i++) {
		if (i + 1 < c->n_extra &&
		    strcmp(c->extra[i].name, c->extra[i + 1].name) == 0) {
			conf_entry_free(&c->extra[i], true);
			continue;
		}
		c->extra[out++] = c->extra[i];
	}
	c->n_extra = out;
}

/* ---------------------------------------------------------------- expansion */

struct conf_expand {
	struct conf *c;
	const struct conf_entry *top; /* the parameter being expanded */
	const char **error_r;
};

static int conf_expand_entry(struct conf_expand *x, struct conf_entry *e,
			     unsigned depth);

static void conf_where(const struct conf_expand *x, char *out, size_t outsz)
{
	int n;
	if (x->top->line != 0)
		n = snprintf(out, outsz, "%s, line %u", x->c->path,
			     x->top->line);
	else
		n = snprintf(out, outsz, "%s", x->c->path);
	if (n < 0 || (size_t)n >= outsz)
		out[0] = '\0';
}

static int conf_too_long(struct conf_expand *x)
{
	char where[512];
	conf_where(x, where, sizeof where);
	conf_set_error(x->error_r,
		       "%s: value of %s longer than %d bytes after expansion",
		       where, x->top->name, CONF_VALUE_MAX);
	return -1;
}

/*
 * Finds the end of a ${...} or $(...) starting after the opening bracket at
 * s[0..len): returns the offset of the matching close, or -1.
 */
static ssize_t conf_match_close(const char *s, size_t len, char open,
				char close)
{
	size_t level = 1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == open)
			level++;
		else if (s[i] == close && --level == 0)
			return (ssize_t)i;
	}
	return -1;
}

static int conf_expand_text(struct conf_expand *x, const char *s, size_t len,
			    struct buf *out, unsigned depth);

/* Appends the value of the named parameter (empty when undefined). */
static int conf_expand_ref(struct conf_expand *x, const char *name,
			   size_t name_len, const char *cond, size_t cond_len,
			   char op, struct buf *out, unsigned depth)
{
	char key[CONF_NAME_MAX + 1];
	const char *value = "";

	if (name_len > 0 && name_len <= CONF_NAME_MAX) {
		memcpy(key, name, name_len);
		key[name_len] = '\0';
		struct conf_entry *e = conf_lookup_any(x->c, key);
		if (e != NULL) {
			e->referenced = true;
			if (conf_expand_entry(x, e, depth + 1) < 0)
				return -1;
			value = e->value;
		}
	}
	if (op == '?')
		return value[0] != '\0'
			   ? conf_expand_text(x, cond, cond_len, out, depth + 1)
			   : 0;
	if (op == ':')
		return value[0] == '\0'
			   ? conf_expand_text(x, cond, cond_len, out, depth + 1)
			   : 0;
	if (buf_append_str(out, value) < 0)
		return conf_too_long(x);
	return 0;
}

static int conf_expand_text(struct conf_expand *x, const char *s, size_t len,
			    struct buf *out, unsigned depth)
{
	char where[512];

	if (depth > CONF_EXPAND_DEPTH) {
		conf_where(x, where, sizeof where);
		conf_set_error(x->error_r,
			       "%s: expansion of %s nested deeper than %d",
			       where, x->top->name, CONF_EXPAND_DEPTH);
		return -1;
	}
	size_t i = 0;
	while (i < len) {
		const char *dollar = memchr(s + i, '$', len - i);
		size_t lit =
		    dollar != NULL ? (size_t)(dollar - (s + i)) : len - i;
		if (buf_append(out, s + i, lit) < 0)
			return conf_too_long(x);
		i += lit;
		if (i >= len)
			break;
		i++; /* the '$' */
		if (i == len || s[i] == '$' ||
		    (s[i] != '{' && s[i] != '(' && !conf_is_name_char(s[i]))) {
			/* "$$" is a '$'; so is a '$' before no name */
			if (buf_append_char(out, '$') < 0)
				return conf_too_long(x);
			if (i < len && s[i] == '$')
				i++;
			continue;
		}
		if (conf_is_name_char(s[i])) {
			size_t start = i;
			while (i < len && conf_is_name_char(s[i]))
				i++;
			if (conf_expand_ref(x, s + start, i - start, NULL, 0, 0,
					    out, depth) < 0)
				return -1;
			continue;
		}
		char open = s[i], close = open == '{' ? '}' : ')';
		i++;
		ssize_t end = conf_match_close(s + i, len - i, open, close);
		if (end < 0) {
			conf_where(x, where, sizeof where);
			conf_set_error(x->error_r,
				       "%s: value of %s: missing '%c' after "
				       "\"$%c\"",
				       where, x->top->name, close, open);
			return -1;
		}
		const char *inner = s + i;
		size_t inner_len = (size_t)end, n = 0;
		i += (size_t)end + 1;
		while (n < inner_len && conf_is_name_char(inner[n]))
			n++;
		char op = n < inner_len ? inner[n] : 0;
		if (n == 0 || (op != 0 && op != '?' && op != ':')) {
			conf_where(x, where, sizeof where);
			conf_set_error(x->error_r,
				       "%s: value of %s: bad parameter "
				       "reference \"$%c...%c\"",
				       where, x->top->name, open, close);
			return -1;
		}
		const char *cond = op != 0 ? inner + n + 1 : NULL;
		size_t cond_len = op != 0 ? inner_len - n - 1 : 0;
		if (conf_expand_ref(x, inner, n, cond, cond_len, op, out,
				    depth) < 0)
			return -1;
	}
	return 0;
}

static int conf_expand_entry(struct conf_expand *x, struct conf_entry *e,
			     unsigned depth)
{
	char where[512];

	if (e->state == ST_DONE)
		return 0;
	if (e->state == ST_BUSY) {
		/* name the parameter that closes the loop, where it is set */
		const struct conf_entry *top = x->top;
		if (e->line != 0)
			x->top = e;
		conf_where(x, where, sizeof where);
		x->top = top;
		if (e == top)
			conf_set_error(x->error_r,
				       "%s: expansion loop: $%s refers back to "
				       "itself",
				       where, e->name);
		else
			conf_set_error(x->error_r,
				       "%s: expansion loop: $%s refers back to "
				       "itself (expanding %s)",
				       where, e->name, top->name);
		return -1;
	}
	const char *text = e->raw;
	if (text == NULL)
		text = e->param != NULL && e->param->def != NULL ? e->param->def
								 : "";
	struct buf out;
	buf_init(&out, CONF_VALUE_MAX);
	e->state = ST_BUSY;
	int r = conf_expand_text(x, text, strlen(text), &out, depth);
	if (r == 0) {
		e->value = xmemdup0(buf_cstr(&out), out.len);
		e->state = ST_DONE;
	}
	buf_deinit(&out);
	return r;
}

/* ---------------------------------------------------------------- types */

/* Parses a Postfix time: digits and an optional unit. */
static int conf_parse_time(const char *s, char def_unit, int64_t *secs_r)
{
	size_t n = strlen(s);
	char unit = def_unit != 0 ? def_unit : 's';
	if (n > 0 && !(s[n - 1] >= '0' && s[n - 1] <= '9')) {
		unit = s[n - 1];
		n--;
	}
	int64_t mult;
	switch (unit) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 604800;
		break;
	default:
		return -1;
	}
	uint64_t v;
	if (str_to_u64((struct str){s, n}, 0, (uint64_t)INT64_MAX / mult, &v) <
	    0)
		return -1;
	*secs_r = (int64_t)v * mult;
	return 0;
}

static int conf_parse_bool(const char *s, bool *v_r)
{
	static const char *const yes[] = {"yes", "true", "1"};
	static const char *const no[] = {"no", "false", "0"};
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v_r = false;
			return 0;
		}
	}
	return -1;
}

/* Splits on commas and white space; "{ a, b }" stays one item, unbraced. */
static void conf_split_list(struct conf_entry *e)
{
	const char *s = e->value;
	size_t len = strlen(s), cap = 4, n = 0;
	char **items = xmalloc(cap * sizeof items[0]);

	for (size_t i = 0; i < len;) {
		if (s[i] == ',' || conf_is_space(s[i])) {
			i++;
			continue;
		}
		struct str item;
		if (s[i] == '{') {
			ssize_t end =
			    conf_match_close(s + i + 1, len - i - 1, '{', '}');
			size_t ilen = end < 0 ? len - i - 1 : (size_t)end;
			item = str_trim((struct str){s + i + 1, ilen});
			i += ilen + 1 + (end >= 0);
		} else {
			size_t start = i;
			while (i < len && s[i] != ',' && !conf_is_space(s[i]))
				i++;
			item = (struct str){s + start, i - start};
		}
		if (n + 1 >= cap) {
			cap *= 2;
			items = xrealloc(items, cap * sizeof items[0]);
		}
		items[n++] = xmemdup0(item.p, item.len);
	}
	items[n] = NULL;
	e->items = items;
	e->n_items = n;
}

static int conf_convert(struct conf_expand *x, struct conf_entry *e)
{
	const struct conf_param *p = e->param;
	char where[512], quoted[CONF_QUOTE_MAX];
	const char *expected = NULL;
	int64_t v = 0;

	switch (p->type) {
	case CONF_STR:
		return 0;
	case CONF_LIST:
		conf_split_list(e);
		return 0;
	case CONF_BOOL:
		if (conf_parse_bool(e->value, &e->flag) == 0)
			return 0;
		expected = "expected yes or no";
		break;
	case CONF_INT:
		if (str_parse_i64(e->value, p->min, p->max, &v) == 0) {
			e->num = v;
			return 0;
		}
		expected = "expected an integer";
		break;
	case CONF_SIZE:
		if (p->min >= 0 &&
		    str_parse_u64(e->value, (uint64_t)p->min, (uint64_t)p->max,
				  (uint64_t *)&v) == 0) {
			e->num = v;
			return 0;
		}
		expected = "expected a size in bytes";
		break;
	case CONF_TIME:
		if (conf_parse_time(e->value, p->unit, &v) == 0 &&
		    v >= p->min && v <= p->max) {
			e->num = v;
			return 0;
		}
		expected = "expected a time (a number with an optional unit "
			   "s, m, h, d or w) in seconds";
		break;
	}
	conf_where(x, where, sizeof where);
	conf_quote(quoted, sizeof quoted, e->value);
	if (p->type == CONF_BOOL)
		conf_set_error(x->error_r, "%s: bad value for %s: '%s'%s (%s)",
			       where, p->name, quoted,
			       e->line == 0 ? " (default)" : "", expected);
	else
		conf_set_error(x->error_r,
			       "%s: bad value for %s: '%s'%s (%s from %lld "
			       "to %lld)",
			       where, p->name, quoted,
			       e->line == 0 ? " (default)" : "", expected,
			       (long long)p->min, (long long)p->max);
	return -1;
}

/*
 * Postfix derives myhostname from the system's host name and mydomain from
 * myhostname; the tables cannot say that, so an entry the file did not set
 * gets its default here.  A name without a dot gets ".localdomain", so the
 * banner and Received: always carry a fully-qualified name.
 */
static void conf_host_defaults(struct conf *c)
{
	char host[256];
	if (gethostname(host, sizeof host - 16) < 0 || host[0] == '\0')
		memcpy(host, "localhost", sizeof "localhost");
	host[sizeof host - 16] = '\0';
	if (strchr(host, '.') == NULL) {
		size_t n = strlen(host);
		memcpy(host + n, ".localdomain", sizeof ".localdomain");
	}
	struct conf_entry *h = conf_lookup_known(c, "myhostname");
	if (h == NULL)
		return;
	if (!h->set) {
		free(h->raw);
		h->raw = xstrdup(host);
	}
	struct conf_entry *d = conf_lookup_known(c, "mydomain");
	/* mydomain follows a literal myhostname: the part after its first dot
	 */
	if (d != NULL && !d->set && h->raw != NULL &&
	    strchr(h->raw, '$') == NULL) {
		const char *dot = strchr(h->raw, '.');
		free(d->raw);
		d->raw = xstrdup(dot != NULL && dot[1] != '\0' ? dot + 1
							       : "localdomain");
	}
}

/* Passes 2 and 3 on every known entry, then the unknown-name warnings. */
static int conf_finish(struct conf_load_ctx *lc, const char **error_r)
{
	struct conf *c = lc->c;
	struct conf_entry *home = conf_lookup_known(c, CONF_HOME_PARAM);

	conf_host_defaults(c);
	if (home != NULL) {
		free(home->raw);
		home->raw = NULL;
		/* $ in the directory name must not be expanded */
		home->value = xstrdup(conf_home());
		home->state = ST_DONE;
	}
	for (size_t i = 0; i < c->n_known; i++) {
		struct conf_expand x = {c, &c->known[i], error_r};
		if (conf_expand_entry(&x, &c->known[i], 0) < 0 ||
		    conf_convert(&x, &c->known[i]) < 0)
			return -1;
	}
	unsigned unknown = 0;
	for (size_t i = 0; i < c->n_extra; i++) {
		const struct conf_entry *e = &c->extra[i];
		/* youju.cf is shared: another program's parameter is known */
		if (e->referenced ||
		    conf_find_param(conf_all_tables, e->name) != NULL)
			continue;
		unknown++;
		if (lc->n_warn >= CONF_WARN_MAX) {
			lc->n_warn++;
			continue;
		}
		const char *near = conf_nearest(lc->tables, e->name);
		if (near != NULL)
			conf_warn(lc,
				  "%s, line %u: unknown parameter %s (did you "
				  "mean %s?)",
				  c->path, e->line, e->name, near);
		else
			conf_warn(lc, "%s, line %u: unknown parameter %s",
				  c->path, e->line, e->name);
	}
	if (lc->n_warn > CONF_WARN_MAX) {
		lc->n_warn = 0; /* let the summary through */
		conf_warn(lc, "%s: %u unknown parameters in all", c->path,
			  unknown);
	}
	return 0;
}

struct conf *conf_parse(const char *path, const char *data, size_t len,
			const struct conf_table *const *tables,
			conf_warn_fn *warn_cb, void *warn_ctx,
			const char **error_r)
{
	struct conf *c = xcalloc(1, sizeof *c);
	struct conf_load_ctx lc = {
	    .c = c, .tables = tables, .warn_cb = warn_cb, .warn_ctx = warn_ctx};

	c->path = xstrdup(path);
	conf_init_known(c, tables);
	if (len > CONF_FILE_MAX) {
		conf_set_error(error_r, "%s: file larger than %d bytes", path,
			       CONF_FILE_MAX);
		conf_free(&c);
		return NULL;
	}
	int r = conf_scan(&lc, data, len, error_r);
	conf_sort_extra(c);
	if (r < 0 || conf_finish(&lc, error_r) < 0) {
		conf_free(&c);
		return NULL;
	}
	return c;
}

/*
 * Reads a whole file of at most max bytes into *data_r (owned, NUL-added).
 * Returns 1, 0 when it does not exist, -1 with *error_r.
 */
static int conf_read_file(const char *path, size_t max, char **data_r,
			  size_t *len_r, struct stat *st_r,
			  const char **error_r)
{
	int r = file_read(path, max, 0, data_r, len_r, st_r);
	if (r < 0)
		conf_set_error(error_r, "%s: %s", path,
			       errno == EFBIG	 ? "file too large"
			       : errno == EINVAL ? "not a regular file"
						 : strerror(errno));
	return r;
}

struct conf *conf_load_warn(const char *path,
			    const struct conf_table *const *tables,
			    conf_warn_fn *warn_cb, void *warn_ctx,
			    const char **error_r)
{
	char *data = NULL;
	size_t len = 0;
	struct stat st;

	int r = conf_read_file(path, CONF_FILE_MAX, &data, &len, &st, error_r);
	if (r < 0)
		return NULL;
	struct conf *c = conf_parse(path, r > 0 ? data : "", len, tables,
				    warn_cb, warn_ctx, error_r);
	free(data);
	return c;
}

struct conf *conf_load(const char *path, const struct conf_table *const *tables,
		       const char **error_r)
{
	return conf_load_warn(path, tables, NULL, NULL, error_r);
}

struct conf *conf_defaults(const struct conf_table *const *tables)
{
	const char *error;
	struct conf *c =
	    conf_parse("(defaults)", "", 0, tables, NULL, NULL, &error);
	if (c == NULL)
		fatal("bad built-in configuration default: %s", error);
	return c;
}

/* ---------------------------------------------------------------- getters */

static const struct conf_entry *conf_get(const struct conf *c, const char *name)
{
	const struct conf_entry *e = conf_lookup_known(c, name);
	if (e == NULL) {
		fprintf(stderr, "youju: undeclared parameter %s\n", name);
		CONF_ASSERT(e != NULL);
	}
	return e;
}

const char *conf_str(const struct conf *c, const char *name)
{
	return conf_get(c, name)->value;
}

int64_t conf_int(const struct conf *c, const char *name)
{
	const struct conf_entry *e = conf_get(c, name);
	CONF_ASSERT(e->param->type == CONF_INT || e->param->type == CONF_SIZE);
	return e->num;
}

int64_t conf_time(const struct conf *c, const char *name)
{
	const struct conf_entry *e = conf_get(c, name);
	CONF_ASSERT(e->param->type == CONF_TIME);
	return e->num;
}

bool conf_bool(const struct conf *c, const char *name)
{
	const struct conf_entry *e = conf_get(c, name);
	CONF_ASSERT(e->param->type == CONF_BOOL);
	return e->flag;
}

const char *const *conf_list(const struct conf *c, const char *name,
			     size_t *n_r)
{
	const struct conf_entry *e = conf_get(c, name);
	CONF_ASSERT(e->param->type == CONF_LIST);
	if (n_r != NULL)
		*n_r = e->n_items;
	return (const char *const *)e->items;
}

bool conf_is_set(const struct conf *c, const char *name)
{
	return conf_get(c, name)->set;
}

const char *conf_raw(const struct conf *c, const char *name)
{
	const struct conf_entry *e = conf_get(c, name);
	if (e->raw != NULL)
		return e->raw;
	if (strcmp(name, CONF_HOME_PARAM) == 0)
		return e->value;
	return e->param->def != NULL ? e->param->def : "";
}

const char *conf_path(const struct conf *c)
{
	return c->path;
}

/* ---------------------------------------------------------------- editing */

/* The name a definition line starts with, or len 0 for other lines. */
static struct str conf_line_name(const char *p, size_t len)
{
	size_t i = 0;
	if (len == 0 || conf_is_space(p[0]) || conf_is_blank_or_comment(p, len))
		return (struct str){p, 0};
	while (i < len && conf_is_name_char(p[i]))
		i++;
	return (struct str){p, i};
}

static void conf_edit_ignore_warning(void *ctx, const char *msg)
{
}

/* Writes data to path through a temp file in the same directory, keeping
   the old file's mode and (as root) owner; the rename is made durable. */
static int conf_write_atomic(const char *path, const char *data, size_t len,
			     const struct stat *old_st, const char **error_r)
{
	struct file_replace_opts o = {
	    .mode = old_st != NULL ? old_st->st_mode & 07777 : 0644,
	    .dir_fsync = true,
	    .chown = old_st != NULL && geteuid() == 0,
	    .uid = old_st != NULL ? old_st->st_uid : 0,
	    .gid = old_st != NULL ? old_st->st_gid : 0,
	};
	if (file_replace(path, data, len, &o) < 0) {
		conf_set_error(error_r, "%s: replace: %s", path,
			       strerror(errno));
		return -1;
	}
	return 0;
}

/* Builds the edited text: the first definition of name replaced, later ones
   (and all their continuation lines) dropped, else appended. */
static int conf_edit_text(const char *data, size_t len, const char *name,
			  const char *newline, struct buf *out)
{
	bool done = false, dropping = false;
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t plen =
		    nl != NULL ? (size_t)(nl - (data + pos)) + 1 : len - pos;
		const char *p = data + pos;
		pos += plen;

		bool blank = conf_is_blank_or_comment(p, plen - (nl != NULL));
		if (dropping && !blank && conf_is_space(p[0]))
			continue; /* a continuation of the replaced line */
		if (!blank && !conf_is_space(p[0]))
			dropping = false;
		struct str n = conf_line_name(p, plen);
		if (n.len > 0 && str_eq_cstr(n, name)) {
			dropping = true;
			if (done)
				continue;
			done = true;
			if (buf_append_str(out, newline) < 0)
				return -1;
			continue;
		}
		if (buf_append(out, p, plen) < 0)
			return -1;
	}
	if (done)
		return 0;
	if (out->len > 0 && out->p[out->len - 1] != '\n' &&
	    buf_append_char(out, '\n') < 0)
		return -1;
	return buf_append_str(out, newline);
}

int conf_edit(const char *path, const char *name, const char *value,
	      const char **error_r)
{
	const struct conf_param *p = conf_find_param(conf_all_tables, name);
	char quoted[CONF_QUOTE_MAX];
	struct buf line, out;
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	int ret = -1;

	if (p == NULL) {
		const char *near = conf_nearest(conf_all_tables, name);
		conf_quote(quoted, sizeof quoted, name);
		if (near != NULL)
			conf_set_error(
			    error_r, "unknown parameter %s (did you mean %s?)",
			    quoted, near);
		else
			conf_set_error(error_r, "unknown parameter %s", quoted);
		return -1;
	}
	if (strcmp(name, CONF_HOME_PARAM) == 0) {
		conf_set_error(
		    error_r,
		    "%s is read-only (set the YOUJU_HOME environment "
		    "variable instead)",
		    name);
		return -1;
	}
	struct str v = str_trim(str_from_cstr(value));
	for (size_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.p[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			conf_set_error(error_r,
				       "bad value for %s: control character "
				       "0x%02x",
				       name, ch);
			return -1;
		}
	}
	buf_init(&line, CONF_LINE_MAX + 1);
	buf_init(&out, CONF_FILE_MAX);
	if (buf_printf(&line, "%s = ", name) < 0 ||
	    buf_append(&line, v.p, v.len) < 0 || line.len > CONF_LINE_MAX ||
	    buf_append_char(&line, '\n') < 0) {
		conf_set_error(error_r,
			       "value for %s longer than a line (%d "
			       "bytes)",
			       name, CONF_LINE_MAX);
		goto out;
	}
	int r = conf_read_file(path, CONF_FILE_MAX, &data, &len, &st, error_r);
	if (r < 0)
		goto out;
	if (conf_edit_text(r > 0 ? data : "", len, name, buf_cstr(&line),
			   &out) < 0) {
		conf_set_error(error_r,
			       "%s: file would be larger than %d "
			       "bytes",
			       path, CONF_FILE_MAX);
		goto out;
	}
	struct conf *check =
	    conf_parse(path, buf_cstr(&out), out.len, conf_all_tables,
		       conf_edit_ignore_warning, NULL, error_r);
	if (check == NULL)
		goto out; /* *error_r names the parameter and the line */
	conf_free(&check);
	ret = conf_write_atomic(path, buf_cstr(&out), out.len,
				r > 0 ? &st : NULL, error_r);
out:
	free(data);
	buf_deinit(&line);
	buf_deinit(&out);
	return ret;
}
