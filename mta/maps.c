/*
 * Lookup tables (see maps.h).  Text tables are read straight from the
 * source file into a sorted array, so "postmap" is never needed and an
 * edited file takes effect at the next lookup, which is what operators
 * who forget postmap expect.  Pattern tables keep their rules in file
 * order: the first match wins (cidr_table(5), regexp_table(5)).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "maps.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authc.h"
#include "buf.h"
#include "file.h"
#include "log.h"
#include "net.h"
#include "str.h"
#include "xalloc.h"

enum map_type { MT_TEXT, MT_CIDR, MT_REGEXP, MT_PCRE, MT_MYSQL };

struct text_ent {
	char *key; /* lower case */
	char *val;
};

struct rule {
	bool negate;
	bool is_if;	    /* "if PATTERN": on no match, go to skip */
	size_t skip;	    /* the rule after the matching "endif" */
	struct map_net net; /* MT_CIDR */
	regex_t re;	    /* MT_REGEXP */
	pcre2_code *pc;	    /* MT_PCRE */
	char *val;
};

struct map_data {
	size_t n;
	struct text_ent *ents; /* MT_TEXT, sorted by key */
	struct rule *rules;    /* others, in file order */
};

struct map {
	char *spec;
	char *path;   /* NULL: built from text */
	char *socket; /* MT_MYSQL: youju-authd's socket */
	enum map_type type;
	pthread_mutex_t lock;
	struct stat st; /* of the file last read */
	struct map_data *d;
};

/* ------------------------------------------------------------ networks */

bool map_net_parse(const char *text, size_t len, struct map_net *net)
{
	char host[INET6_ADDRSTRLEN + 1];
	if (memchr(text, '\0', len) != NULL)
		return false;
	const char *slash = memchr(text, '/', len);
	size_t hlen = slash ? (size_t)(slash - text) : len;
	const char *h = text;
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	unsigned max;
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, host, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	net->prefix = max;
	if (slash != NULL) {
		char num[8];
		const char *np = slash + 1;
		size_t nl = (size_t)(text + len - np);
		if (nl == 0 || nl >= sizeof(num))
			return false;
		memcpy(num, np, nl);
		num[nl] = '\0';
		uint64_t v;
		if (str_parse_u64(num, 0, max, &v) < 0)
			return false;
		net->prefix = (unsigned)v;
	}
	/* host bits beyond the prefix: Postfix refuses "1.2.3.4/24" */
	for (unsigned b = net->prefix; b < max; b++) {
		if (net->addr[b / 8] & (0x80 >> (b % 8)))
			return false;
	}
	return true;
}

bool map_net_match(const struct map_net *net, const char *addr)
{
	unsigned char a4[4], a6[16];
	bool is4 = inet_pton(AF_INET, addr, a4) == 1;
	bool is6 = !is4 && inet_pton(AF_INET6, addr, a6) == 1;
	if (is6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a6)) {
		memcpy(a4, a6 + 12, 4);
		is4 = true;
		is6 = false;
	}
	if (is4 && net->family == AF_INET)
		return net_prefix_eq(a4, net->addr, net->prefix);
	if (is6 && net->family == AF_INET6)
		return net_prefix_eq(a6, net->addr, net->prefix);
	return false;
}

/* -------------------------------------------------------------- parsing */

static void rule_free(struct rule *ru, enum map_type type)
{
	if (type == MT_REGEXP)
		regfree(&ru->re);
	if (type == MT_PCRE)
		pcre2_code_free(ru->pc);
	free(ru->val);
}

static void data_free(struct map_data **pd, enum map_type type)
{
	struct map_data *d = *pd;
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		if (type == MT_TEXT) {
			free(d->ents[i].key);
			free(d->ents[i].val);
			continue;
		}
		rule_free(&d->rules[i], type);
	}
	free(d->ents);
	free(d->rules);
	free(d);
	*pd = NULL;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct text_ent *x = a, *y = b;
	return strcmp(x->key, y->key);
}

/* One logical line (continuations joined with one space) at a time. */
struct reader {
	const char *p, *end;
	unsigned lineno, first;
	struct buf line;
};

static bool next_logical(struct reader *r)
{
	buf_reset(&r->line);
	while (r->p < r->end) {
		const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
		const char *e = nl ? nl : r->end;
		struct str l = {r->p, (size_t)(e - r->p)};
		if (l.len > 0 && l.p[l.len - 1] == '\r')
			l.len--;
		bool cont = l.len > 0 && (l.p[0] == ' ' || l.p[0] == '\t');
		struct str t = str_trim(l);
		if (r->line.len > 0 && (!cont || t.len == 0) &&
		    !(t.len > 0 && t.p[0] == '#' && cont))
			return true; /* the next line starts a new entry */
		r->p = nl ? nl + 1 : r->end;
		r->lineno++;
		if (t.len == 0 || t.p[0] == '#')
			continue;
		if (r->line.len == 0)
			r->first = r->lineno;
		else if (buf_append(&r->line, " ", 1) < 0)
			return true;
		if (buf_append(&r->line, t.p, t.len) < 0)
			return true;
	}
	return r->line.len > 0;
}

/* Splits "key value": *key_r gets the key, *val_r the trimmed rest. */
static void split_kv(char *s, char **key_r, char **val_r)
{
	char *sp = s + strcspn(s, " \t");
	*key_r = s;
	if (*sp != '\0')
		*sp++ = '\0';
	while (*sp == ' ' || *sp == '\t')
		sp++;
	*val_r = sp;
}

static int parse_text(struct map_data *d, struct reader *r, const char *name,
		      char *err, size_t errsz)
{
	size_t cap = 0;
	while (next_logical(r)) {
		char *key, *val;
		char *line = (char *)buf_cstr(&r->line);
		split_kv(line, &key, &val);
		if (strlen(key) > MAP_KEY_MAX) {
			str_fmt_trunc(err, errsz, "%s, line %u: key too long",
				      name, r->first);
			return -1;
		}
		if (d->n == cap) {
			cap = cap ? cap * 2 : 16;
			d->ents = xrealloc(d->ents, cap * sizeof(*d->ents));
		}
		d->ents[d->n].key = xstrdup(key);
		str_lower(d->ents[d->n].key);
		d->ents[d->n].val = xstrdup(val);
		d->n++;
	}
	if (d->n > 0)
		qsort(d->ents, d->n, sizeof(*d->ents), ent_cmp);
	/* duplicates: keep one (sorting is not stable; warn as postmap) */
	return 0;
}

/* Parses "/pattern/flags": pattern copied to pat (unescaped delimiter),
 *icase and *extended set from flags, *rest_r after the flags. */
static bool parse_delimited(char *s, char **pat_r, bool *icase, bool *ext,
			    bool *multi, char **rest_r)
{
	char delim = s[0];
	if (delim == '\0' || isalnum((unsigned char)delim) || delim == '\\' ||
	    delim == ' ')
		return false;
	char *w = s + 1, *p = s + 1;
	for (; *p != '\0' && *p != delim; p++) {
		if (*p == '\\' && p[1] == delim) {
			p++;
		} else if (*p == '\\' && p[1] != '\0') {
			*w++ = *p++;
		}
		*w++ = *p;
	}
	if (*p != delim)
		return false;
	*w = '\0';
	*pat_r = s + 1;
	p++;
	*icase = true; /* Postfix's default: case-insensitive */
	*ext = *multi = false;
	for (; *p != '\0' && *p != ' ' && *p != '\t'; p++) {
		switch (*p) {
		case 'i':
			*icase = !*icase;
			break;
		case 'x':
			*ext = !*ext;
			break;
		case 'm':
			*multi = !*multi;
			break;
		default:
			return false;
		}
	}
	while (*p == ' ' || *p == '\t')
		p++;
	*rest_r = p;
	return true;
}

/* A keyword ("if", "endif") alone or followed by white space. */
static bool keyword(const char *line, const char *kw, char **rest_r)
{
	size_t n = strlen(kw);
	if (strncasecmp(line, kw, n) != 0 ||
	    (line[n] != '\0' && line[n] != ' ' && line[n] != '\t'))
		return false;
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	*rest_r = (char *)line;
	return true;
}

/*
 * Rules in file order.  "if PATTERN" ... "endif" blocks (regexp_table(5),
 * pcre_table(5), cidr_table(5)) nest up to MAP_IF_DEPTH: an "if" is kept
 * as a rule without a result whose skip index points past its "endif",
 * so a lookup jumps over the block when the condition does not match.
 */
#define MAP_IF_DEPTH 32
static int parse_rules(struct map_data *d, enum map_type type, struct reader *r,
		       const char *name, char *err, size_t errsz)
{
	size_t cap = 0;
	size_t open[MAP_IF_DEPTH];
	unsigned open_line[MAP_IF_DEPTH];
	size_t depth = 0;
	while (next_logical(r)) {
		char *line = (char *)buf_cstr(&r->line);
		char *rest;
		struct rule ru = {0};
		if (keyword(line, "endif", &rest)) {
			if (depth == 0 || rest[0] != '\0') {
				str_fmt_trunc(
				    err, errsz, "%s, line %u: %s", name,
				    r->first,
				    depth ? "text after endif"
					  : "endif without matching if");
				return -1;
			}
			d->rules[open[--depth]].skip = d->n;
			continue;
		}
		if (keyword(line, "if", &rest)) {
			if (depth == MAP_IF_DEPTH) {
				str_fmt_trunc(
				    err, errsz,
				    "%s, line %u: if nested too deeply", name,
				    r->first);
				return -1;
			}
			ru.is_if = true;
			line = rest;
		}
		if (line[0] == '!') {
			ru.negate = true;
			line++;
		}
		if (type == MT_CIDR) {
			char *key, *val;
			split_kv(line, &key, &val);
			if (!map_net_parse(key, strlen(key), &ru.net)) {
				str_fmt_trunc(
				    err, errsz,
				    "%s, line %u: bad address pattern: %s",
				    name, r->first, key);
				return -1;
			}
			ru.val = xstrdup(val);
		} else {
			char *pat, *rest;
			bool icase, ext, multi;
			if (!parse_delimited(line, &pat, &icase, &ext, &multi,
					     &rest)) {
				str_fmt_trunc(
				    err, errsz,
				    "%s, line %u: bad pattern syntax "
				    "(expected /pattern/flags result)",
				    name, r->first);
				return -1;
			}
			if (type == MT_REGEXP) {
				int fl = REG_EXTENDED;
				if (icase)
					fl |= REG_ICASE;
				if (multi)
					fl |= REG_NEWLINE;
				if (regcomp(&ru.re, pat, fl) != 0) {
					str_fmt_trunc(
					    err, errsz,
					    "%s, line %u: bad regular "
					    "expression",
					    name, r->first);
					return -1;
				}
			} else {
				uint32_t fl = 0;
				int ec;
				PCRE2_SIZE off;
				if (icase)
					fl |= PCRE2_CASELESS;
				if (ext)
					fl |= PCRE2_EXTENDED;
				if (multi)
					fl |= PCRE2_MULTILINE;
				ru.pc = pcre2_compile((PCRE2_SPTR)pat,
						      PCRE2_ZERO_TERMINATED, fl,
						      &ec, &off, NULL);
				if (ru.pc == NULL) {
					PCRE2_UCHAR m[120];
					if (pcre2_get_error_message(
						ec, m, sizeof(m)) < 0)
						m[0] = '\0';
					str_fmt_trunc(
					    err, errsz,
					    "%s, line %u: bad regular "
					    "expression: %s",
					    name, r->first, (char *)m);
					return -1;
				}
			}
			ru.val = xstrdup(rest);
		}
		if (ru.is_if && ru.val[0] != '\0') {
			str_fmt_trunc(err, errsz,
				      "%s, line %u: text after if pattern",
				      name, r->first);
			rule_free(&ru, type);
			return -1;
		}
		if (d->n == cap) {
			cap = cap ? cap * 2 : 16;
			d->rules = xrealloc(d->rules, cap * sizeof(*d->rules));
		}
		if (ru.is_if) {
			open_line[depth] = r->first;
			open[depth++] = d->n;
		}
		d->rules[d->n++] = ru;
	}
	if (depth > 0) {
		str_fmt_trunc(err, errsz,
			      "%s, line %u: if without matching endif", name,
			      open_line[depth - 1]);
		return -1;
	}
	return 0;
}

static struct map_data *parse(enum map_type type, const char *text, size_t len,
			      const char *name, char *err, size_t errsz)
{
	struct map_data *d = xcalloc(1, sizeof(*d));
	struct reader r = {.p = text, .end = text + len};
	buf_init(&r.line, MAP_VALUE_MAX + MAP_KEY_MAX + 16);
	int rc = type == MT_TEXT ? parse_text(d, &r, name, err, errsz)
				 : parse_rules(d, type, &r, name, err, errsz);
	if (rc == 0 && r.line.len >= r.line.max - 1) {
		str_fmt_trunc(err, errsz, "%s, line %u: entry too long", name,
			      r.first);
		rc = -1;
	}
	buf_deinit(&r.line);
	if (rc < 0)
		data_free(&d, type);
	return d;
}

/* Reads the whole file; NULL with err set. */
static char *read_file(const char *path, struct stat *st, size_t *len_r,
		       char *err, size_t errsz)
{
	char *p = NULL;
	int r = file_read(path, MAP_FILE_MAX, 0, &p, len_r, st);
	if (r <= 0) {
		str_fmt_trunc(err, errsz, "%s: %s", path,
			      r == 0	       ? strerror(ENOENT)
			      : errno == EFBIG ? "file too big"
					       : strerror(errno));
		return NULL;
	}
	return p;
}

static struct map_data *load_file(struct map *m, struct stat *st, char *err,
				  size_t errsz)
{
	size_t len;
	char *text = read_file(m->path, st, &len, err, errsz);
	if (text == NULL)
		return NULL;
	struct map_data *d = parse(m->type, text, len, m->path, err, errsz);
	free(text);
	return d;
}

static bool type_of(const char *t, size_t n, enum map_type *type_r)
{
	static const struct {
		const char *name;
		enum map_type type;
	} types[] = {
	    {"hash", MT_TEXT},	   {"btree", MT_TEXT},	  {"lmdb", MT_TEXT},
	    {"texthash", MT_TEXT}, {"cdb", MT_TEXT},	  {"dbm", MT_TEXT},
	    {"cidr", MT_CIDR},	   {"regexp", MT_REGEXP}, {"pcre", MT_PCRE},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strlen(types[i].name) == n &&
		    strncmp(types[i].name, t, n) == 0) {
			*type_r = types[i].type;
			return true;
		}
	}
	return false;
}

static pthread_mutex_t socket_lock = PTHREAD_MUTEX_INITIALIZER;
static char *authd_socket;

void map_set_authd_socket(const char *path)
{
	pthread_mutex_lock(&socket_lock);
	free(authd_socket);
	authd_socket = xstrdup(path);
	pthread_mutex_unlock(&socket_lock);
}

/*
 * mysql:/path: nothing is read here (the file may hold a password and be
 * readable by root only); youju-authd reads it, at its start and reload,
 * because the path appears in youju.cf.
 */
static struct map *open_mysql(const char *spec, const char *path, char *err,
			      size_t errsz);

static struct map *map_new(const char *spec, enum map_type type)
{
	struct map *m = xcalloc(1, sizeof(*m));
	m->spec = xstrdup(spec);
	m->type = type;
	if (pthread_mutex_init(&m->lock, NULL) != 0)
		fatal("pthread_mutex_init: %s", strerror(errno));
	return m;
}

struct map *map_open(const char *spec, char *err, size_t errsz)
{
	const char *colon = strchr(spec, ':');
	enum map_type type = MT_TEXT;
	const char *path = spec;
	if (colon != NULL && spec[0] != '/') {
		if (strncmp(spec, "mysql:", 6) == 0)
			return open_mysql(spec, colon + 1, err, errsz);
		if (!type_of(spec, (size_t)(colon - spec), &type)) {
			/* DESIGN: only youju-authd holds database
			   credentials, so no SQL table is opened here */
			bool sql = strncmp(spec, "pgsql:", 6) == 0 ||
				   strncmp(spec, "sqlite:", 7) == 0;
			str_fmt_trunc(
			    err, errsz, "%s: unsupported map type %.*s%s", spec,
			    (int)(colon - spec), spec,
			    sql ? " (youju-mta reads no database: use a "
				  "mysql: table, which youju-authd runs, "
				  "or a text, cidr:, regexp: or pcre: "
				  "table; see docs/mta.md, \"SQL "
				  "access tables\")"
				: "");
			return NULL;
		}
		path = colon + 1;
	}
	if (path[0] != '/') {
		str_fmt_trunc(err, errsz,
			      "%s: the table must be an absolute path", spec);
		return NULL;
	}
	struct map *m = map_new(spec, type);
	m->path = xstrdup(path);
	m->d = load_file(m, &m->st, err, errsz);
	if (m->d == NULL) {
		map_free(&m);
		return NULL;
	}
	return m;
}

static struct map *open_mysql(const char *spec, const char *path, char *err,
			      size_t errsz)
{
	if (path[0] != '/') {
		str_fmt_trunc(err, errsz,
			      "%s: the table must be an absolute path", spec);
		return NULL;
	}
	if (strlen(path) > MAP_KEY_MAX) {
		str_fmt_trunc(err, errsz, "%s: path too long", spec);
		return NULL;
	}
	pthread_mutex_lock(&socket_lock);
	char *sock = authd_socket != NULL ? xstrdup(authd_socket) : NULL;
	pthread_mutex_unlock(&socket_lock);
	if (sock == NULL) {
		str_fmt_trunc(err, errsz, "%s: no authd_socket to ask", spec);
		return NULL;
	}
	struct map *m = map_new(spec, MT_MYSQL);
	m->path = xstrdup(path);
	m->socket = sock;
	return m;
}

struct map *map_from_text(const char *type, const char *text, size_t len,
			  char *err, size_t errsz)
{
	enum map_type t;
	if (!type_of(type, strlen(type), &t)) {
		str_fmt_trunc(err, errsz, "unsupported map type %s", type);
		return NULL;
	}
	struct map *m = map_new(type, t);
	m->d = parse(t, text, len, type, err, errsz);
	if (m->d == NULL)
		map_free(&m);
	return m;
}

void map_free(struct map **pm)
{
	struct map *m = *pm;
	if (m == NULL)
		return;
	data_free(&m->d, m->type);
	pthread_mutex_destroy(&m->lock);
	free(m->spec);
	free(m->path);
	free(m->socket);
	free(m);
	*pm = NULL;
}

const char *map_spec(const struct map *m)
{
	return m->spec;
}

bool map_is_fixed(const struct map *m)
{
	/* Postfix's mysql tables are "fixed" too: access(5) partial keys */
	return m->type == MT_TEXT || m->type == MT_MYSQL;
}

bool map_is_local(const struct map *m)
{
	return m->type != MT_MYSQL;
}

/* ------------------------------------------------------------- lookups */

static void refresh(struct map *m)
{
	struct stat st;
	if (m->path == NULL || stat(m->path, &st) < 0)
		return; /* gone: keep what we have */
	if (st.st_mtim.tv_sec == m->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == m->st.st_mtim.tv_nsec &&
	    st.st_size == m->st.st_size && st.st_ino == m->st.st_ino)
		return;
	char err[256];
	struct map_data *d = load_file(m, &st, err, sizeof(err));
	if (d == NULL) {
		log_warning("%s: reload failed, keeping the old table: %s",
			    m->spec, err);
		m->st = st; /* do not retry on every lookup */
		return;
	}
	data_free(&m->d, m->type);
	m->d = d;
	m->st = st;
}

/* Copies v to out with $1..$9 (and ${n}) replaced by the match groups. */
static void expand(const char *v, const char *subj, const size_t *so,
		   const size_t *eo, unsigned ngroups, char *out, size_t outsz)
{
	size_t o = 0;
	for (const char *p = v; *p != '\0' && o + 1 < outsz; p++) {
		unsigned g = 10;
		if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
			g = (unsigned)(p[1] - '0');
			p++;
		} else if (*p == '$' && p[1] == '{' && p[2] >= '1' &&
			   p[2] <= '9' && p[3] == '}') {
			g = (unsigned)(p[2] - '0');
			p += 3;
		} else if (*p == '$' && p[1] == '$') {
			p++;
		}
		if (g == 10) {
			out[o++] = *p;
			continue;
		}
		if (g >= ngroups || so[g] == (size_t)-1)
			continue;
		for (size_t i = so[g]; i < eo[g] && o + 1 < outsz; i++)
			out[o++] = subj[i];
	}
	out[o] = '\0';
}

static bool rule_match(const struct rule *ru, enum map_type type,
		       const char *key, char *val, size_t valsz)
{
	size_t so[10], eo[10];
	unsigned ng = 0;
	bool hit = false;
	if (type == MT_CIDR) {
		hit = map_net_match(&ru->net, key);
	} else if (type == MT_REGEXP) {
		regmatch_t pm[10];
		hit = regexec(&ru->re, key, 10, pm, 0) == 0;
		for (ng = 0; hit && ng < 10; ng++) {
			so[ng] = pm[ng].rm_so < 0 ? (size_t)-1
						  : (size_t)pm[ng].rm_so;
			eo[ng] = pm[ng].rm_so < 0 ? 0 : (size_t)pm[ng].rm_eo;
		}
	} else {
		pcre2_match_data *md =
		    pcre2_match_data_create_from_pattern(ru->pc, NULL);
		if (md == NULL)
			return false;
		int rc = pcre2_match(ru->pc, (PCRE2_SPTR)key, strlen(key), 0, 0,
				     md, NULL);
		hit = rc >= 0;
		if (hit) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			uint32_t cnt = pcre2_get_ovector_count(md);
			for (ng = 0; ng < 10 && ng < cnt; ng++) {
				bool set = ng < (unsigned)(rc ? rc : 1) &&
					   ov[2 * ng] != PCRE2_UNSET;
				so[ng] = set ? ov[2 * ng] : (size_t)-1;
				eo[ng] = set ? ov[2 * ng + 1] : 0;
			}
		}
		pcre2_match_data_free(md);
	}
	if (ru->negate)
		hit = !hit, ng = 0;
	if (!hit)
		return false;
	expand(ru->val, key, so, eo, ng, val, valsz);
	return true;
}

enum map_status map_lookup(struct map *m, const char *key, char *val,
			   size_t valsz)
{
	enum map_status st = MAP_NOTFOUND;
	char k[MAP_KEY_MAX + 1];
	size_t n = strlen(key);
	if (n > MAP_KEY_MAX || valsz == 0)
		return MAP_NOTFOUND;
	memcpy(k, key, n + 1);
	if (m->type == MT_MYSQL) {
		/* folded like text tables (Postfix's access maps fold keys) */
		str_lower(k);
		switch (authc_map_lookup(m->socket, m->path, k, val, valsz)) {
		case AUTHC_OK:
			return MAP_FOUND;
		case AUTHC_NOTFOUND:
			return MAP_NOTFOUND;
		case AUTHC_TEMPFAIL:
			break;
		}
		return MAP_TEMPFAIL;
	}
	if (pthread_mutex_lock(&m->lock) != 0)
		return MAP_TEMPFAIL;
	refresh(m);
	struct map_data *d = m->d;
	if (d == NULL) {
		st = MAP_TEMPFAIL;
	} else if (m->type == MT_TEXT) {
		str_lower(k);
		struct text_ent probe = {.key = k};
		struct text_ent *e = d->n ? bsearch(&probe, d->ents, d->n,
						    sizeof(*d->ents), ent_cmp)
					  : NULL;
		if (e != NULL) {
			int w = snprintf(val, valsz, "%s", e->val);
			(void)w; /* truncation is documented */
			st = MAP_FOUND;
		}
	} else {
		for (size_t i = 0; i < d->n; i++) {
			const struct rule *ru = &d->rules[i];
			bool hit = rule_match(ru, m->type, k, val, valsz);
			if (ru->is_if) {
				if (!hit)
					i = ru->skip - 1; /* past the endif */
				continue;
			}
			if (hit) {
				st = MAP_FOUND;
				break;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
	return st;
}
