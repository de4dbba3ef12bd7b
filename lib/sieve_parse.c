/*
 * The Sieve parser (RFC 5228 §8 grammar) and the checks of each command's
 * arguments.  The lexer reads the script once; the parser builds nodes
 * (struct sieve_node), recursing at most SIEVE_DEPTH_MAX levels for
 * blocks and nested tests; then every node is checked against its
 * command's rules (tags, positional arguments, the extension it needs) so
 * that the interpreter never meets a malformed node.  The first error
 * stops everything and is reported as "line N: ...", as Pigeonhole does.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sieve.h"
#include "sieve_int.h"
#include "str.h"
#include "xalloc.h"

/* tokens and arguments per command: far above any real script */
#define SIEVE_ARGS_MAX	64
#define SIEVE_LIST_MAX	1024
#define SIEVE_BLOCK_MAX 100000
#define SIEVE_IDENT_MAX 128

static const struct {
	const char *name;
	unsigned ext;
} sieve_ext_names[] = {
    {"fileinto", SIEVE_EXT_FILEINTO},
    {"reject", SIEVE_EXT_REJECT},
    {"ereject", SIEVE_EXT_EREJECT},
    {"envelope", SIEVE_EXT_ENVELOPE},
    {"encoded-character", SIEVE_EXT_ENCODED},
    {"comparator-i;octet", SIEVE_EXT_OCTET},
    {"comparator-i;ascii-casemap", SIEVE_EXT_CASEMAP},
    {"comparator-i;ascii-numeric", SIEVE_EXT_NUMERIC},
    {"relational", SIEVE_EXT_RELATIONAL},
    {"subaddress", SIEVE_EXT_SUBADDRESS},
    {"body", SIEVE_EXT_BODY},
    {"copy", SIEVE_EXT_COPY},
    {"mailbox", SIEVE_EXT_MAILBOX},
    {"variables", SIEVE_EXT_VARIABLES},
    {"vacation", SIEVE_EXT_VACATION},
    {"vacation-seconds", SIEVE_EXT_VACATION_SECONDS | SIEVE_EXT_VACATION},
    {"imap4flags", SIEVE_EXT_IMAP4FLAGS},
    {"date", SIEVE_EXT_DATE},
    {"index", SIEVE_EXT_INDEX},
    {"editheader", SIEVE_EXT_EDITHEADER},
    {"duplicate", SIEVE_EXT_DUPLICATE},
};

const char *sieve_extensions(void)
{
	return "fileinto reject ereject envelope encoded-character "
	       "comparator-i;octet comparator-i;ascii-casemap "
	       "comparator-i;ascii-numeric relational subaddress body copy "
	       "mailbox variables vacation vacation-seconds imap4flags date "
	       "index editheader duplicate";
}

/* ---- lexer --------------------------------------------------------------- */

enum sieve_tok {
	TOK_EOF,
	TOK_IDENT,
	TOK_TAG,
	TOK_NUM,
	TOK_STR,
	TOK_PUNCT, /* one of [ ] ( ) { } , ; */
};

struct sieve_parser {
	const char *p, *end;
	unsigned line;
	/* the current token */
	enum sieve_tok tok;
	unsigned tok_line;
	unsigned prev_line; /* where the previous token ended */
	char punct;
	struct buf text; /* identifier, tag or string */
	uint64_t num;
	bool error;
	char *err;
	size_t errsz;
	unsigned exts;
	bool seen_other; /* a command other than require was seen */
};

void sieve_error_at(char *err, size_t errsz, unsigned line, const char *fmt,
		    va_list ap)
{
	int n = snprintf(err, errsz, "line %u: ", line);
	if (n < 0 || (size_t)n >= errsz)
		return;
	(void)vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
}

__attribute__((format(printf, 3, 4))) static void
sieve_err(struct sieve_parser *ps, unsigned line, const char *fmt, ...)
{
	if (ps->error)
		return;
	ps->error = true;
	va_list ap;
	va_start(ap, fmt);
	sieve_error_at(ps->err, ps->errsz, line, fmt, ap);
	va_end(ap);
}

/* Appends c to the token text; false (error set) past the string cap. */
static bool sieve_tok_add(struct sieve_parser *ps, char c)
{
	if (ps->text.len >= SIEVE_STRING_MAX || buf_append_char(&ps->text, c)) {
		sieve_err(ps, ps->line, "string too long (more than %u bytes)",
			  SIEVE_STRING_MAX);
		return false;
	}
	return true;
}

static void sieve_skip_space(struct sieve_parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;
		if (c == '\n') {
			ps->line++;
			ps->p++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			ps->p++;
		} else if (c == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		} else if (c == '/' && ps->end - ps->p >= 2 &&
			   ps->p[1] == '*') {
			unsigned start = ps->line;
			ps->p += 2;
			for (;;) {
				if (ps->end - ps->p < 2) {
					sieve_err(ps, start,
						  "unterminated comment");
					ps->p = ps->end;
					return;
				}
				if (ps->p[0] == '*' && ps->p[1] == '/') {
					ps->p += 2;
					break;
				}
				if (*ps->p == '\n')
					ps->line++;
				ps->p++;
			}
		} else {
			return;
		}
	}
}

static void sieve_lex_quoted(struct sieve_parser *ps)
{
	ps->p++;
	for (;;) {
		if (ps->p >= ps->end) {
			sieve_err(ps, ps->tok_line, "unterminated string");
			return;
		}
		char c = *ps->p++;
		if (c == '"')
			return;
		if (c == '\\') {
			if (ps->p >= ps->end)
				continue;
			c = *ps->p++; /* \" \\ and, undefined, \x -> x */
		}
		if (c == '\n')
			ps->line++;
		if (!sieve_tok_add(ps, c))
			return;
	}
}

/* "text:" already read: the rest of the line may hold white space and a
   hash comment, then lines up to "." alone (RFC 5228 §2.4.2). */
static void sieve_lex_multiline(struct sieve_parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
	if (ps->p < ps->end && *ps->p == '#')
		while (ps->p < ps->end && *ps->p != '\n')
			ps->p++;
	if (ps->p < ps->end && *ps->p == '\r')
		ps->p++;
	if (ps->p >= ps->end || *ps->p != '\n') {
		sieve_err(ps, ps->line, "text: must be followed by a line end");
		return;
	}
	ps->p++;
	ps->line++;
	for (;;) {
		if (ps->p >= ps->end) {
			sieve_err(ps, ps->tok_line, "unterminated text: block");
			return;
		}
		const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
		const char *le = nl != NULL ? nl : ps->end;
		size_t n = (size_t)(le - ps->p);
		if (n > 0 && ps->p[n - 1] == '\r')
			n--;
		if (n == 1 && ps->p[0] == '.') {
			ps->p = nl != NULL ? nl + 1 : ps->end;
			ps->line++;
			return;
		}
		const char *s = ps->p;
		if (n >= 2 && s[0] == '.' && s[1] == '.') {
			s++;
			n--;
		}
		for (size_t i = 0; i < n; i++)
			if (!sieve_tok_add(ps, s[i]))
				return;
		/* the line end as written (CRLF or LF), so that text: and a
		   quoted string spanning the same lines are equal, as in
		   Pigeonhole */
		if ((le > ps->p && le[-1] == '\r' &&
		     !sieve_tok_add(ps, '\r')) ||
		    !sieve_tok_add(ps, '\n'))
			return;
		ps->line++;
		ps->p = nl != NULL ? nl + 1 : ps->end;
	}
}

static bool sieve_is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool sieve_is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static void sieve_next(struct sieve_parser *ps)
{
	ps->prev_line = ps->line;
	buf_reset(&ps->text);
	sieve_skip_space(ps);
	ps->tok_line = ps->line;
	if (ps->error || ps->p >= ps->end) {
		ps->tok = TOK_EOF;
		return;
	}
	char c = *ps->p;
	if (strchr("[](){},;", c) != NULL && c != '\0') {
		ps->tok = TOK_PUNCT;
		ps->punct = c;
		ps->p++;
		return;
	}
	if (c == '"') {
		ps->tok = TOK_STR;
		sieve_lex_quoted(ps);
		return;
	}
	if (isdigit((unsigned char)c)) {
		uint64_t v = 0;
		while (ps->p < ps->end && isdigit((unsigned char)*ps->p)) {
			unsigned d = (unsigned)(*ps->p++ - '0');
			if (v > (UINT64_MAX - d) / 10) {
				sieve_err(ps, ps->line, "number too large");
				return;
			}
			v = v * 10 + d;
		}
		uint64_t mul = 1;
		if (ps->p < ps->end) {
			switch (*ps->p) {
			case 'K':
			case 'k':
				mul = 1024;
				break;
			case 'M':
			case 'm':
				mul = 1024 * 1024;
				break;
			case 'G':
			case 'g':
				mul = 1024 * 1024 * 1024;
				break;
			}
			if (mul > 1)
				ps->p++;
		}
		if (v > UINT64_MAX / mul) {
			sieve_err(ps, ps->line, "number too large");
			return;
		}
		ps->tok = TOK_NUM;
		ps->num = v * mul;
		return;
	}
	bool tag = false;
	if (c == ':') {
		tag = true;
		ps->p++;
		if (ps->p >= ps->end || !sieve_is_ident_start(*ps->p)) {
			sieve_err(ps, ps->line, "':' must start a tag");
			return;
		}
	}
	if (ps->p < ps->end && sieve_is_ident_start(*ps->p)) {
		while (ps->p < ps->end && sieve_is_ident(*ps->p)) {
			if (ps->text.len >= SIEVE_IDENT_MAX) {
				sieve_err(ps, ps->line, "identifier too long");
				return;
			}
			if (!sieve_tok_add(
				ps, (char)tolower((unsigned char)*ps->p)))
				return;
			ps->p++;
		}
		if (!tag && ps->p < ps->end && *ps->p == ':' &&
		    strcmp(ps->text.p, "text") == 0) {
			ps->p++;
			buf_reset(&ps->text);
			ps->tok = TOK_STR;
			sieve_lex_multiline(ps);
			return;
		}
		ps->tok = tag ? TOK_TAG : TOK_IDENT;
		return;
	}
	if (isprint((unsigned char)c))
		sieve_err(ps, ps->line, "unexpected character '%c'", c);
	else
		sieve_err(ps, ps->line, "unexpected byte 0x%02x",
			  (unsigned char)c);
}

static bool sieve_punct(const struct sieve_parser *ps, char c)
{
	return ps->tok == TOK_PUNCT && ps->punct == c;
}

/* ---- parser -------------------------------------------------------------- */

/* Room for element n of an array grown by doubling (capacity: the next
   power of two), so a long script costs linear time. */
static void *sieve_grow(void *v, size_t n, size_t size)
{
	if (n != 0 && (n & (n - 1)) != 0)
		return v;
	return xrealloc(v, (n == 0 ? 1 : 2 * n) * size);
}

static void sieve_list_free(struct sieve_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].p);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void sieve_node_deinit(struct sieve_node *n)
{
	free(n->name);
	for (size_t i = 0; i < n->nargs; i++) {
		free(n->args[i].tag);
		sieve_list_free(&n->args[i].list);
	}
	free(n->args);
	for (size_t i = 0; i < n->ntests; i++)
		sieve_node_deinit(&n->tests[i]);
	free(n->tests);
	for (size_t i = 0; i < n->nblock; i++)
		sieve_node_deinit(&n->block[i]);
	free(n->block);
}

static void sieve_list_add(struct sieve_list *l, const struct buf *b)
{
	l->v = sieve_grow(l->v, l->n, sizeof(*l->v));
	l->v[l->n].p = xmemdup0(b->p != NULL ? b->p : "", b->len);
	l->v[l->n].len = b->len;
	l->v[l->n].var = false;
	l->n++;
}

static void sieve_parse_test(struct sieve_parser *ps, struct sieve_node *n,
			     unsigned depth);

/* arguments: *argument [ test / test-list ] */
static void sieve_parse_args(struct sieve_parser *ps, struct sieve_node *n,
			     unsigned depth)
{
	for (;;) {
		if (ps->error)
			return;
		struct sieve_arg a = {.line = ps->tok_line};
		if (ps->tok == TOK_TAG) {
			a.kind = SIEVE_ARG_TAG;
			a.tag = xstrdup(ps->text.p);
			sieve_next(ps);
		} else if (ps->tok == TOK_NUM) {
			a.kind = SIEVE_ARG_NUM;
			a.num = ps->num;
			sieve_next(ps);
		} else if (ps->tok == TOK_STR) {
			a.kind = SIEVE_ARG_STR;
			sieve_list_add(&a.list, &ps->text);
			sieve_next(ps);
		} else if (sieve_punct(ps, '[')) {
			a.kind = SIEVE_ARG_STR;
			a.is_list = true;
			sieve_next(ps);
			for (;;) {
				if (ps->tok != TOK_STR) {
					sieve_err(ps, ps->tok_line,
						  "expected a string in the "
						  "string list");
					break;
				}
				if (a.list.n >= SIEVE_LIST_MAX) {
					sieve_err(ps, ps->tok_line,
						  "string list too long");
					break;
				}
				sieve_list_add(&a.list, &ps->text);
				sieve_next(ps);
				if (sieve_punct(ps, ']')) {
					sieve_next(ps);
					break;
				}
				if (!sieve_punct(ps, ',')) {
					sieve_err(ps, ps->tok_line,
						  "expected ',' or ']' in the "
						  "string list");
					break;
				}
				sieve_next(ps);
			}
		} else {
			break;
		}
		if (n->nargs >= SIEVE_ARGS_MAX) {
			sieve_err(ps, a.line, "too many arguments");
			free(a.tag);
			sieve_list_free(&a.list);
			return;
		}
		n->args = sieve_grow(n->args, n->nargs, sizeof(*n->args));
		n->args[n->nargs++] = a;
	}
	if (ps->error)
		return;
	if (sieve_punct(ps, '(')) {
		sieve_next(ps);
		for (;;) {
			if (n->ntests >= SIEVE_ARGS_MAX) {
				sieve_err(ps, ps->tok_line, "too many tests");
				return;
			}
			n->tests =
			    sieve_grow(n->tests, n->ntests, sizeof(*n->tests));
			memset(&n->tests[n->ntests], 0, sizeof(*n->tests));
			sieve_parse_test(ps, &n->tests[n->ntests++], depth + 1);
			if (ps->error)
				return;
			if (sieve_punct(ps, ')')) {
				sieve_next(ps);
				break;
			}
			if (!sieve_punct(ps, ',')) {
				sieve_err(ps, ps->tok_line,
					  "expected ',' or ')' in the test "
					  "list");
				return;
			}
			sieve_next(ps);
		}
	} else if (ps->tok == TOK_IDENT) {
		n->tests = xcalloc(1, sizeof(*n->tests));
		n->ntests = 1;
		sieve_parse_test(ps, &n->tests[0], depth + 1);
	}
}

static void sieve_parse_test(struct sieve_parser *ps, struct sieve_node *n,
			     unsigned depth)
{
	if (depth > SIEVE_DEPTH_MAX) {
		sieve_err(ps, ps->tok_line, "tests nested too deeply (max %u)",
			  SIEVE_DEPTH_MAX);
		return;
	}
	if (ps->tok != TOK_IDENT) {
		sieve_err(ps, ps->tok_line, "expected a test");
		return;
	}
	n->name = xstrdup(ps->text.p);
	n->line = ps->tok_line;
	sieve_next(ps);
	sieve_parse_args(ps, n, depth);
}

static void sieve_parse_block(struct sieve_parser *ps, struct sieve_node **v,
			      size_t *nv, unsigned depth, bool top);

static void sieve_parse_command(struct sieve_parser *ps, struct sieve_node *n,
				unsigned depth)
{
	n->name = xstrdup(ps->text.p);
	n->line = ps->tok_line;
	sieve_next(ps);
	sieve_parse_args(ps, n, depth);
	if (ps->error)
		return;
	if (sieve_punct(ps, ';')) {
		sieve_next(ps);
		return;
	}
	if (sieve_punct(ps, '{')) {
		if (depth >= SIEVE_DEPTH_MAX) {
			sieve_err(ps, ps->tok_line,
				  "blocks nested too deeply (max %u)",
				  SIEVE_DEPTH_MAX);
			return;
		}
		unsigned open = ps->tok_line;
		sieve_next(ps);
		n->has_block = true;
		sieve_parse_block(ps, &n->block, &n->nblock, depth + 1, false);
		if (ps->error)
			return;
		if (!sieve_punct(ps, '}')) {
			sieve_err(ps, open, "block not closed with '}'");
			return;
		}
		sieve_next(ps);
		return;
	}
	/* reported where the command's last token ended, not where the
	   next token (perhaps lines further) begins */
	if (ps->tok == TOK_EOF)
		sieve_err(ps, ps->prev_line,
			  "missing ';' after command '%s' at the end of the "
			  "script",
			  n->name);
	else
		sieve_err(ps, ps->prev_line,
			  "expected ';' or a block after command '%s'",
			  n->name);
}

static void sieve_parse_block(struct sieve_parser *ps, struct sieve_node **v,
			      size_t *nv, unsigned depth, bool top)
{
	while (!ps->error) {
		if (ps->tok == TOK_EOF || (!top && sieve_punct(ps, '}')))
			return;
		if (ps->tok != TOK_IDENT) {
			sieve_err(ps, ps->tok_line, "expected a command");
			return;
		}
		if (*nv >= SIEVE_BLOCK_MAX) {
			sieve_err(ps, ps->tok_line, "too many commands");
			return;
		}
		*v = sieve_grow(*v, *nv, sizeof(**v));
		memset(&(*v)[*nv], 0, sizeof(**v));
		sieve_parse_command(ps, &(*v)[(*nv)++], depth);
	}
}

/* ---- checks -------------------------------------------------------------- */

/* encoded-character (RFC 5228 §2.4.2.4): ${hex:41 42} and ${unicode:263a}
   replaced in s; a malformed one stays as written. */
static void sieve_decode_encoded(struct sieve_str *s)
{
	struct buf out;
	buf_init(&out, SIEVE_STRING_MAX * 4);
	size_t i = 0;
	bool changed = false;
	while (i < s->len) {
		const char *p = s->p + i;
		size_t rest = s->len - i;
		bool hex = rest > 6 && strncasecmp(p, "${hex:", 6) == 0;
		bool uni = rest > 10 && strncasecmp(p, "${unicode:", 10) == 0;
		if (hex || uni) {
			size_t j = hex ? 6 : 10;
			struct buf dec;
			buf_init(&dec, SIEVE_STRING_MAX);
			bool ok = true;
			while (j < rest && p[j] != '}' && ok) {
				if (p[j] == ' ' || p[j] == '\t' ||
				    p[j] == '\r' || p[j] == '\n') {
					j++;
					continue;
				}
				uint32_t v = 0;
				size_t d = 0;
				while (j < rest &&
				       isxdigit((unsigned char)p[j])) {
					if (d++ >= 8) {
						ok = false;
						break;
					}
					v = v * 16 +
					    (uint32_t)str_hex_digit(p[j]);
					j++;
				}
				if (d == 0 || !ok) {
					ok = false;
					break;
				}
				if (hex) {
					if (d > 2 ||
					    buf_append_char(&dec, (char)v))
						ok = false;
					continue;
				}
				if (v > 0x10ffff ||
				    (v >= 0xd800 && v <= 0xdfff)) {
					ok = false;
					break;
				}
				char u[4];
				if (buf_append(&dec, u, str_utf8_encode(v, u)) <
				    0)
					ok = false;
			}
			if (ok && j < rest && p[j] == '}' && dec.len > 0 &&
			    buf_append(&out, dec.p, dec.len) == 0) {
				buf_deinit(&dec);
				i += j + 1;
				changed = true;
				continue;
			}
			buf_deinit(&dec);
		}
		if (buf_append_char(&out, s->p[i]) < 0)
			break;
		i++;
	}
	if (changed && out.len <= SIEVE_STRING_MAX) {
		free(s->p);
		s->p = xmemdup0(out.p != NULL ? out.p : "", out.len);
		s->len = out.len;
	}
	buf_deinit(&out);
}

static void sieve_strings_prepare(struct sieve_parser *ps, struct sieve_node *n)
{
	for (size_t i = 0; i < n->nargs; i++) {
		struct sieve_list *l = &n->args[i].list;
		for (size_t k = 0; k < l->n; k++) {
			if ((ps->exts & SIEVE_EXT_ENCODED) &&
			    memmem(l->v[k].p, l->v[k].len, "${", 2) != NULL)
				sieve_decode_encoded(&l->v[k]);
			l->v[k].var =
			    (ps->exts & SIEVE_EXT_VARIABLES) &&
			    memmem(l->v[k].p, l->v[k].len, "${", 2) != NULL;
		}
	}
}

static bool sieve_need(struct sieve_parser *ps, unsigned line, unsigned ext,
		       const char *what, const char *extname)
{
	if ((ps->exts & ext) == ext)
		return true;
	sieve_err(ps, line, "%s requires the '%s' extension (require \"%s\";)",
		  what, extname, extname);
	return false;
}

static const struct {
	const char *name;
	enum sieve_cmd cmd;
	bool test;
	unsigned ext;
	const char *extname;
} sieve_cmds[] = {
    {"require", SC_REQUIRE, false, 0, NULL},
    {"if", SC_IF, false, 0, NULL},
    {"elsif", SC_ELSIF, false, 0, NULL},
    {"else", SC_ELSE, false, 0, NULL},
    {"stop", SC_STOP, false, 0, NULL},
    {"keep", SC_KEEP, false, 0, NULL},
    {"discard", SC_DISCARD, false, 0, NULL},
    {"fileinto", SC_FILEINTO, false, SIEVE_EXT_FILEINTO, "fileinto"},
    {"redirect", SC_REDIRECT, false, 0, NULL},
    {"reject", SC_REJECT, false, SIEVE_EXT_REJECT, "reject"},
    {"ereject", SC_EREJECT, false, SIEVE_EXT_EREJECT, "ereject"},
    {"vacation", SC_VACATION, false, SIEVE_EXT_VACATION, "vacation"},
    {"set", SC_SET, false, SIEVE_EXT_VARIABLES, "variables"},
    {"addflag", SC_ADDFLAG, false, SIEVE_EXT_IMAP4FLAGS, "imap4flags"},
    {"setflag", SC_SETFLAG, false, SIEVE_EXT_IMAP4FLAGS, "imap4flags"},
    {"removeflag", SC_REMOVEFLAG, false, SIEVE_EXT_IMAP4FLAGS, "imap4flags"},
    {"addheader", SC_ADDHEADER, false, SIEVE_EXT_EDITHEADER, "editheader"},
    {"deleteheader", SC_DELETEHEADER, false, SIEVE_EXT_EDITHEADER,
     "editheader"},
    {"address", ST_ADDRESS, true, 0, NULL},
    {"envelope", ST_ENVELOPE, true, SIEVE_EXT_ENVELOPE, "envelope"},
    {"header", ST_HEADER, true, 0, NULL},
    {"exists", ST_EXISTS, true, 0, NULL},
    {"size", ST_SIZE, true, 0, NULL},
    {"allof", ST_ALLOF, true, 0, NULL},
    {"anyof", ST_ANYOF, true, 0, NULL},
    {"not", ST_NOT, true, 0, NULL},
    {"true", ST_TRUE, true, 0, NULL},
    {"false", ST_FALSE, true, 0, NULL},
    {"body", ST_BODY, true, SIEVE_EXT_BODY, "body"},
    {"string", ST_STRING, true, SIEVE_EXT_VARIABLES, "variables"},
    {"date", ST_DATE, true, SIEVE_EXT_DATE, "date"},
    {"currentdate", ST_CURRENTDATE, true, SIEVE_EXT_DATE, "date"},
    {"hasflag", ST_HASFLAG, true, SIEVE_EXT_IMAP4FLAGS, "imap4flags"},
    {"duplicate", ST_DUPLICATE, true, SIEVE_EXT_DUPLICATE, "duplicate"},
    {"mailboxexists", ST_MAILBOXEXISTS, true, SIEVE_EXT_MAILBOX, "mailbox"},
};

/* Which tags a command or test takes. */
enum {
	TG_MATCH = 1u << 0,   /* :is :contains :matches :value :count */
	TG_CMP = 1u << 1,     /* :comparator */
	TG_ADDR = 1u << 2,    /* :all :localpart :domain :user :detail */
	TG_INDEX = 1u << 3,   /* :index :last */
	TG_SIZE = 1u << 4,    /* :over :under */
	TG_BODY = 1u << 5,    /* :raw :text :content */
	TG_ZONE = 1u << 6,    /* :zone :originalzone */
	TG_COPY = 1u << 7,    /* :copy */
	TG_CREATE = 1u << 8,  /* :create */
	TG_FLAGS = 1u << 9,   /* :flags */
	TG_VAC = 1u << 10,    /* vacation's */
	TG_SETMOD = 1u << 11, /* set's modifiers */
	TG_LAST = 1u << 12,   /* addheader :last */
	TG_DUP = 1u << 13,    /* duplicate's */
};

struct sieve_shape {
	unsigned tags;
	/* positional arguments: 's' string, 'l' string list, 'n' number;
	   an upper-case letter is optional (only at the start, as the
	   variable name of addflag, or at the end) */
	const char *pos;
};

static struct sieve_shape sieve_shape(enum sieve_cmd c)
{
	switch (c) {
	case SC_REQUIRE:
		return (struct sieve_shape){0, "l"};
	case SC_IF:
	case SC_ELSIF:
	case SC_ELSE:
	case SC_STOP:
	case SC_DISCARD:
		return (struct sieve_shape){0, ""};
	case SC_KEEP:
		return (struct sieve_shape){TG_FLAGS, ""};
	case SC_FILEINTO:
		return (struct sieve_shape){TG_COPY | TG_CREATE | TG_FLAGS,
					    "s"};
	case SC_REDIRECT:
		return (struct sieve_shape){TG_COPY, "s"};
	case SC_REJECT:
	case SC_EREJECT:
		return (struct sieve_shape){0, "s"};
	case SC_VACATION:
		return (struct sieve_shape){TG_VAC, "s"};
	case SC_SET:
		return (struct sieve_shape){TG_SETMOD, "ss"};
	case SC_ADDFLAG:
	case SC_SETFLAG:
	case SC_REMOVEFLAG:
		return (struct sieve_shape){0, "Sl"};
	case SC_ADDHEADER:
		return (struct sieve_shape){TG_LAST, "ss"};
	case SC_DELETEHEADER:
		return (struct sieve_shape){TG_INDEX | TG_MATCH | TG_CMP, "sL"};
	case ST_ADDRESS:
	case ST_ENVELOPE:
		return (struct sieve_shape){
		    TG_MATCH | TG_CMP | TG_ADDR |
			(c == ST_ADDRESS ? TG_INDEX : 0),
		    "ll"};
	case ST_HEADER:
		return (struct sieve_shape){TG_MATCH | TG_CMP | TG_INDEX, "ll"};
	case ST_EXISTS:
		return (struct sieve_shape){0, "l"};
	case ST_SIZE:
		return (struct sieve_shape){TG_SIZE, "n"};
	case ST_ALLOF:
	case ST_ANYOF:
	case ST_NOT:
	case ST_TRUE:
	case ST_FALSE:
		return (struct sieve_shape){0, ""};
	case ST_BODY:
		return (struct sieve_shape){TG_MATCH | TG_CMP | TG_BODY, "l"};
	case ST_STRING:
		return (struct sieve_shape){TG_MATCH | TG_CMP, "ll"};
	case ST_DATE:
		return (struct sieve_shape){
		    TG_MATCH | TG_CMP | TG_ZONE | TG_INDEX, "ssl"};
	case ST_CURRENTDATE:
		return (struct sieve_shape){TG_MATCH | TG_CMP | TG_ZONE, "sl"};
	case ST_HASFLAG:
		return (struct sieve_shape){TG_MATCH | TG_CMP, "Ll"};
	case ST_DUPLICATE:
		return (struct sieve_shape){TG_DUP | TG_LAST, ""};
	case ST_MAILBOXEXISTS:
		return (struct sieve_shape){0, "l"};
	}
	return (struct sieve_shape){0, ""};
}

/* The string argument after tag number i (its value), or an error. */
static const struct sieve_list *sieve_tag_str(struct sieve_parser *ps,
					      struct sieve_node *n, size_t *i,
					      bool list)
{
	const char *tag = n->args[*i].tag;
	if (*i + 1 >= n->nargs || n->args[*i + 1].kind != SIEVE_ARG_STR ||
	    (!list && n->args[*i + 1].is_list)) {
		sieve_err(ps, n->args[*i].line, "tag :%s needs a %s", tag,
			  list ? "string list" : "string");
		return NULL;
	}
	(*i)++;
	return &n->args[*i].list;
}

static bool sieve_tag_num(struct sieve_parser *ps, struct sieve_node *n,
			  size_t *i, uint64_t *v_r)
{
	if (*i + 1 >= n->nargs || n->args[*i + 1].kind != SIEVE_ARG_NUM) {
		sieve_err(ps, n->args[*i].line, "tag :%s needs a number",
			  n->args[*i].tag);
		return false;
	}
	(*i)++;
	*v_r = n->args[*i].num;
	return true;
}

static void sieve_check_tag(struct sieve_parser *ps, struct sieve_node *n,
			    unsigned tags, size_t *i, unsigned *seen)
{
	const char *t = n->args[*i].tag;
	unsigned line = n->args[*i].line;
	/* each group may be given once */
	unsigned group = 0;
	if ((tags & TG_MATCH) &&
	    (strcmp(t, "is") == 0 || strcmp(t, "contains") == 0 ||
	     strcmp(t, "matches") == 0)) {
		group = TG_MATCH;
		n->mt = t[0] == 'i'   ? SIEVE_MT_IS
			: t[0] == 'c' ? SIEVE_MT_CONTAINS
				      : SIEVE_MT_MATCHES;
	} else if ((tags & TG_MATCH) &&
		   (strcmp(t, "value") == 0 || strcmp(t, "count") == 0)) {
		group = TG_MATCH;
		if (!sieve_need(ps, line, SIEVE_EXT_RELATIONAL, ":value/:count",
				"relational"))
			return;
		n->count = t[0] == 'c';
		const struct sieve_list *l = sieve_tag_str(ps, n, i, false);
		if (l == NULL)
			return;
		static const char *const ops[] = {"gt", "ge", "lt",
						  "le", "eq", "ne"};
		n->rel = SIEVE_REL_NONE;
		for (size_t k = 0; k < 6; k++)
			if (strcasecmp(l->v[0].p, ops[k]) == 0)
				n->rel = (enum sieve_rel)(SIEVE_REL_GT + k);
		if (n->rel == SIEVE_REL_NONE) {
			sieve_err(ps, line,
				  "unknown relational operator \"%s\"",
				  l->v[0].p);
			return;
		}
	} else if ((tags & TG_CMP) && strcmp(t, "comparator") == 0) {
		group = TG_CMP;
		const struct sieve_list *l = sieve_tag_str(ps, n, i, false);
		if (l == NULL)
			return;
		const char *c = l->v[0].p;
		if (strcasecmp(c, "i;ascii-casemap") == 0)
			n->cmp = SIEVE_CMP_CASEMAP;
		else if (strcasecmp(c, "i;octet") == 0)
			n->cmp = SIEVE_CMP_OCTET;
		else if (strcasecmp(c, "i;ascii-numeric") == 0) {
			if (!sieve_need(ps, line, SIEVE_EXT_NUMERIC,
					"comparator i;ascii-numeric",
					"comparator-i;ascii-numeric"))
				return;
			n->cmp = SIEVE_CMP_NUMERIC;
		} else {
			sieve_err(ps, line, "unknown comparator \"%s\"", c);
			return;
		}
	} else if ((tags & TG_ADDR) &&
		   (strcmp(t, "all") == 0 || strcmp(t, "localpart") == 0 ||
		    strcmp(t, "domain") == 0 || strcmp(t, "user") == 0 ||
		    strcmp(t, "detail") == 0)) {
		group = TG_ADDR;
		if ((t[0] == 'u' || t[1] == 'e') &&
		    !sieve_need(ps, line, SIEVE_EXT_SUBADDRESS,
				t[0] == 'u' ? ":user" : ":detail",
				"subaddress"))
			return;
		n->ap = strcmp(t, "all") == 0	      ? SIEVE_AP_ALL
			: strcmp(t, "localpart") == 0 ? SIEVE_AP_LOCALPART
			: strcmp(t, "domain") == 0    ? SIEVE_AP_DOMAIN
			: strcmp(t, "user") == 0      ? SIEVE_AP_USER
						      : SIEVE_AP_DETAIL;
	} else if ((tags & TG_INDEX) && strcmp(t, "index") == 0) {
		group = TG_INDEX;
		if (n->cmd != SC_DELETEHEADER &&
		    !sieve_need(ps, line, SIEVE_EXT_INDEX, ":index", "index"))
			return;
		uint64_t v;
		if (!sieve_tag_num(ps, n, i, &v))
			return;
		if (v == 0 || v > INT32_MAX) {
			sieve_err(ps, line, ":index must be 1 or more");
			return;
		}
		n->index = (int64_t)v;
	} else if ((tags & (TG_INDEX | TG_LAST)) && strcmp(t, "last") == 0) {
		group = TG_LAST;
		if ((tags & TG_INDEX) && n->cmd != SC_DELETEHEADER &&
		    !sieve_need(ps, line, SIEVE_EXT_INDEX, ":last", "index"))
			return;
		n->last = true;
	} else if ((tags & TG_SIZE) &&
		   (strcmp(t, "over") == 0 || strcmp(t, "under") == 0)) {
		group = TG_SIZE;
		n->over = t[0] == 'o';
	} else if ((tags & TG_BODY) &&
		   (strcmp(t, "raw") == 0 || strcmp(t, "text") == 0 ||
		    strcmp(t, "content") == 0)) {
		group = TG_BODY;
		n->body = t[0] == 'r'	? SIEVE_BODY_RAW
			  : t[0] == 't' ? SIEVE_BODY_TEXT
					: SIEVE_BODY_CONTENT;
		if (n->body == SIEVE_BODY_CONTENT &&
		    (n->content = sieve_tag_str(ps, n, i, true)) == NULL)
			return;
	} else if ((tags & TG_ZONE) && strcmp(t, "zone") == 0) {
		group = TG_ZONE;
		if ((n->zone = sieve_tag_str(ps, n, i, false)) == NULL)
			return;
		n->has_zone = true;
	} else if ((tags & TG_ZONE) && strcmp(t, "originalzone") == 0 &&
		   n->cmd == ST_DATE) {
		group = TG_ZONE;
		n->originalzone = true;
	} else if ((tags & TG_COPY) && strcmp(t, "copy") == 0) {
		group = TG_COPY;
		if (!sieve_need(ps, line, SIEVE_EXT_COPY, ":copy", "copy"))
			return;
		n->copy = true;
	} else if ((tags & TG_CREATE) && strcmp(t, "create") == 0) {
		group = TG_CREATE;
		if (!sieve_need(ps, line, SIEVE_EXT_MAILBOX, ":create",
				"mailbox"))
			return;
		n->create = true;
	} else if ((tags & TG_FLAGS) && strcmp(t, "flags") == 0) {
		group = TG_FLAGS;
		if (!sieve_need(ps, line, SIEVE_EXT_IMAP4FLAGS, ":flags",
				"imap4flags"))
			return;
		if ((n->flags = sieve_tag_str(ps, n, i, true)) == NULL)
			return;
		n->has_flags = true;
	} else if ((tags & TG_VAC) &&
		   (strcmp(t, "days") == 0 || strcmp(t, "seconds") == 0)) {
		group = TG_SIZE; /* one period */
		if (t[0] == 's' &&
		    !sieve_need(ps, line, SIEVE_EXT_VACATION_SECONDS,
				":seconds", "vacation-seconds"))
			return;
		uint64_t v;
		if (!sieve_tag_num(ps, n, i, &v))
			return;
		if (t[0] == 'd')
			v = v > UINT32_MAX ? (uint64_t)UINT32_MAX * 86400
					   : v * 86400;
		n->num = v;
	} else if ((tags & TG_VAC) && strcmp(t, "subject") == 0) {
		group = TG_BODY;
		n->subject = sieve_tag_str(ps, n, i, false);
		return;
	} else if ((tags & TG_VAC) && strcmp(t, "from") == 0) {
		group = TG_ZONE;
		n->from = sieve_tag_str(ps, n, i, false);
		return;
	} else if ((tags & TG_VAC) && strcmp(t, "addresses") == 0) {
		group = TG_ADDR;
		n->addresses = sieve_tag_str(ps, n, i, true);
		return;
	} else if ((tags & TG_VAC) && strcmp(t, "mime") == 0) {
		group = TG_COPY;
		n->mime = true;
	} else if ((tags & (TG_VAC | TG_DUP)) && strcmp(t, "handle") == 0) {
		group = TG_CREATE;
		n->handle = sieve_tag_str(ps, n, i, false);
		return;
	} else if ((tags & TG_DUP) &&
		   (strcmp(t, "header") == 0 || strcmp(t, "uniqueid") == 0)) {
		group = TG_MATCH;
		const struct sieve_list *l = sieve_tag_str(ps, n, i, false);
		if (t[0] == 'h')
			n->header = l;
		else
			n->uniqueid = l;
		if (*seen & group)
			sieve_err(ps, line,
				  ":header and :uniqueid exclude each "
				  "other");
		*seen |= group;
		return;
	} else if ((tags & TG_DUP) && strcmp(t, "seconds") == 0) {
		group = TG_SIZE;
		if (!sieve_tag_num(ps, n, i, &n->num))
			return;
	} else if ((tags & TG_SETMOD) &&
		   (strcmp(t, "lower") == 0 || strcmp(t, "upper") == 0 ||
		    strcmp(t, "lowerfirst") == 0 ||
		    strcmp(t, "upperfirst") == 0 ||
		    strcmp(t, "quotewildcard") == 0 ||
		    strcmp(t, "length") == 0)) {
		unsigned m =
		    strcmp(t, "lower") == 0	      ? SIEVE_MOD_LOWER
		    : strcmp(t, "upper") == 0	      ? SIEVE_MOD_UPPER
		    : strcmp(t, "lowerfirst") == 0    ? SIEVE_MOD_LOWERFIRST
		    : strcmp(t, "upperfirst") == 0    ? SIEVE_MOD_UPPERFIRST
		    : strcmp(t, "quotewildcard") == 0 ? SIEVE_MOD_QUOTEWILDCARD
						      : SIEVE_MOD_LENGTH;
		/* RFC 5229 §4.1: one modifier of each precedence level */
		if (((m & (SIEVE_MOD_LOWER | SIEVE_MOD_UPPER)) &&
		     (n->mods & (SIEVE_MOD_LOWER | SIEVE_MOD_UPPER))) ||
		    ((m & (SIEVE_MOD_LOWERFIRST | SIEVE_MOD_UPPERFIRST)) &&
		     (n->mods &
		      (SIEVE_MOD_LOWERFIRST | SIEVE_MOD_UPPERFIRST))) ||
		    (n->mods & m)) {
			sieve_err(ps, line,
				  "conflicting or repeated modifier :%s", t);
			return;
		}
		n->mods |= m;
		return;
	} else {
		sieve_err(ps, line, "unknown tag :%s for '%s'", t, n->name);
		return;
	}
	if (*seen & group) {
		sieve_err(ps, line, "tag :%s conflicts with an earlier tag", t);
		return;
	}
	*seen |= group;
}

static void sieve_check_node(struct sieve_parser *ps, struct sieve_node *n,
			     bool test, unsigned depth);

static void sieve_check_block(struct sieve_parser *ps, struct sieve_node *v,
			      size_t nv, unsigned depth)
{
	for (size_t i = 0; i < nv && !ps->error; i++) {
		struct sieve_node *n = &v[i];
		sieve_check_node(ps, n, false, depth);
		if (ps->error)
			return;
		if (n->cmd == SC_ELSIF || n->cmd == SC_ELSE) {
			enum sieve_cmd prev = i > 0 ? v[i - 1].cmd : SC_STOP;
			if (i == 0 || (prev != SC_IF && prev != SC_ELSIF)) {
				sieve_err(ps, n->line,
					  "'%s' without a preceding 'if'",
					  n->name);
				return;
			}
		}
	}
}

static void sieve_check_require(struct sieve_parser *ps, struct sieve_node *n)
{
	if (ps->seen_other) {
		sieve_err(ps, n->line,
			  "'require' must come before any other command");
		return;
	}
	const struct sieve_list *l = &n->args[0].list;
	for (size_t i = 0; i < l->n; i++) {
		size_t k;
		for (k = 0;
		     k < sizeof(sieve_ext_names) / sizeof(sieve_ext_names[0]);
		     k++)
			if (strcmp(l->v[i].p, sieve_ext_names[k].name) == 0)
				break;
		if (k == sizeof(sieve_ext_names) / sizeof(sieve_ext_names[0])) {
			sieve_err(ps, n->line,
				  "unsupported extension \"%.80s\"", l->v[i].p);
			return;
		}
		ps->exts |= sieve_ext_names[k].ext;
	}
}

static void sieve_check_node(struct sieve_parser *ps, struct sieve_node *n,
			     bool test, unsigned depth)
{
	size_t k, nc = sizeof(sieve_cmds) / sizeof(sieve_cmds[0]);
	for (k = 0; k < nc; k++)
		if (strcmp(sieve_cmds[k].name, n->name) == 0)
			break;
	if (k == nc || sieve_cmds[k].test != test) {
		sieve_err(ps, n->line, "unknown %s '%s'",
			  test ? "test" : "command", n->name);
		return;
	}
	n->cmd = sieve_cmds[k].cmd;
	if (sieve_cmds[k].ext != 0 &&
	    !sieve_need(ps, n->line, sieve_cmds[k].ext,
			n->cmd == ST_STRING ? "test 'string'" : n->name,
			sieve_cmds[k].extname))
		return;
	if (!test && n->cmd != SC_REQUIRE)
		ps->seen_other = true;
	sieve_strings_prepare(ps, n);

	struct sieve_shape sh = sieve_shape(n->cmd);
	unsigned seen = 0;
	size_t npos = 0;
	const struct sieve_arg *pos[4];
	for (size_t i = 0; i < n->nargs && !ps->error; i++) {
		if (n->args[i].kind == SIEVE_ARG_TAG) {
			if (npos > 0 && n->cmd != SC_VACATION) {
				sieve_err(ps, n->args[i].line,
					  "tag :%s after a positional "
					  "argument",
					  n->args[i].tag);
				return;
			}
			sieve_check_tag(ps, n, sh.tags, &i, &seen);
			continue;
		}
		if (npos >= 4) {
			sieve_err(ps, n->args[i].line,
				  "too many arguments for '%s'", n->name);
			return;
		}
		pos[npos++] = &n->args[i];
	}
	if (ps->error)
		return;
	/* match positional arguments to the shape */
	const char *shape = sh.pos;
	size_t need = 0, opt_front = 0, opt_back = 0, len = strlen(shape);
	for (size_t i = 0; i < len; i++) {
		if (isupper((unsigned char)shape[i])) {
			if (i == 0)
				opt_front = 1;
			else
				opt_back = 1;
		} else {
			need++;
		}
	}
	if (npos < need || npos > need + opt_front + opt_back) {
		sieve_err(ps, n->line, "'%s' takes %zu%s argument%s, not %zu",
			  n->name, need,
			  opt_front + opt_back > 0 ? " or more" : "",
			  need == 1 ? "" : "s", npos);
		return;
	}
	size_t si = (opt_front && npos == need) ? 1 : 0;
	const struct sieve_list **slot[3] = {&n->l1, &n->l2, &n->l3};
	size_t sl = si; /* an absent optional first arg leaves l1 NULL */
	for (size_t i = 0; i < npos; i++, si++, sl++) {
		char want = (char)tolower((unsigned char)shape[si]);
		const struct sieve_arg *a = pos[i];
		if (want == 'n') {
			if (a->kind != SIEVE_ARG_NUM) {
				sieve_err(ps, a->line, "'%s' expects a number",
					  n->name);
				return;
			}
			n->num = a->num;
			continue;
		}
		if (a->kind != SIEVE_ARG_STR || (want == 's' && a->is_list)) {
			sieve_err(ps, a->line,
				  "'%s' expects a %s as argument %zu", n->name,
				  want == 's' ? "string" : "string list",
				  i + 1);
			return;
		}
		if (sl < 3)
			*slot[sl] = &a->list;
	}
	/* tests and blocks */
	bool wants_test =
	    n->cmd == SC_IF || n->cmd == SC_ELSIF || n->cmd == ST_NOT;
	bool wants_tests = n->cmd == ST_ALLOF || n->cmd == ST_ANYOF;
	bool wants_block =
	    n->cmd == SC_IF || n->cmd == SC_ELSIF || n->cmd == SC_ELSE;
	if (wants_test && n->ntests != 1) {
		sieve_err(ps, n->line, "'%s' needs one test", n->name);
		return;
	}
	if (wants_tests && n->ntests == 0) {
		sieve_err(ps, n->line, "'%s' needs a test list", n->name);
		return;
	}
	if (!wants_test && !wants_tests && n->ntests > 0) {
		sieve_err(ps, n->line, "'%s' takes no test", n->name);
		return;
	}
	if (wants_block != n->has_block) {
		sieve_err(ps, n->line,
			  wants_block ? "'%s' needs a block"
				      : "'%s' takes no block (missing ';'?)",
			  n->name);
		return;
	}
	if (!test && n->cmd != SC_IF && n->cmd != SC_ELSIF &&
	    n->cmd != SC_ELSE && n->has_block) {
		sieve_err(ps, n->line, "'%s' takes no block", n->name);
		return;
	}
	if (n->cmd == ST_SIZE && !(seen & TG_SIZE)) {
		sieve_err(ps, n->line, "'size' needs :over or :under");
		return;
	}
	if (n->cmp == SIEVE_CMP_NUMERIC && n->rel == SIEVE_REL_NONE &&
	    n->mt != SIEVE_MT_IS) {
		sieve_err(ps, n->line,
			  "comparator i;ascii-numeric allows only :is, "
			  ":value and :count");
		return;
	}
	if (n->cmd == SC_REQUIRE)
		sieve_check_require(ps, n);
	if (n->cmd == SC_SET && n->l1 != NULL) {
		const struct sieve_str *s = &n->l1->v[0];
		bool ok =
		    s->len > 0 && s->len <= 64 && sieve_is_ident_start(s->p[0]);
		for (size_t i = 0; ok && i < s->len; i++)
			ok = sieve_is_ident(s->p[i]);
		if (!ok) {
			sieve_err(ps, n->line,
				  "invalid variable name \"%.64s\"", s->p);
			return;
		}
	}
	for (size_t i = 0; i < n->ntests && !ps->error; i++)
		sieve_check_node(ps, &n->tests[i], true, depth + 1);
	if (!ps->error)
		sieve_check_block(ps, n->block, n->nblock, depth + 1);
}

struct sieve_program *sieve_compile(const char *script, size_t len,
				    char *error_r, size_t errsz)
{
	struct sieve_parser ps = {
	    .p = script,
	    .end = script + len,
	    .line = 1,
	    .err = error_r,
	    .errsz = errsz,
	};
	if (errsz > 0)
		error_r[0] = '\0';
	if (len > SIEVE_SCRIPT_MAX) {
		sieve_err(&ps, 1, "script too large (more than %u bytes)",
			  SIEVE_SCRIPT_MAX);
		return NULL;
	}
	buf_init(&ps.text, SIEVE_STRING_MAX + 16);
	struct sieve_program *p = xcalloc(1, sizeof(*p));
	sieve_next(&ps);
	sieve_parse_block(&ps, &p->cmds, &p->n, 0, true);
	if (!ps.error)
		sieve_check_block(&ps, p->cmds, p->n, 0);
	buf_deinit(&ps.text);
	if (ps.error) {
		sieve_free(&p);
		return NULL;
	}
	p->exts = ps.exts;
	return p;
}

void sieve_free(struct sieve_program **pp)
{
	struct sieve_program *p = *pp;
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		sieve_node_deinit(&p->cmds[i]);
	free(p->cmds);
	free(p);
	*pp = NULL;
}
