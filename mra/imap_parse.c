/*
 * IMAP command parsing into a generic argument tree, in the manner of
 * Dovecot's imap-parser: the command handlers check types and counts, the
 * parser only guarantees well-formed tokens, bounded counts and depth.
 * Literal sizes were checked against their cap by imap_frame_line()
 * before a byte of them was buffered.
 */
#include "imap_parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

struct imap_parser {
	const char *p, *end;
	size_t total;
	const char *error;
};

static void imap_args_free(struct imap_arg *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].s);
		imap_args_free(a[i].list, a[i].n);
	}
	free(a);
}

void imap_cmd_free(struct imap_cmd *cmd)
{
	free(cmd->tag);
	free(cmd->name);
	imap_args_free(cmd->args, cmd->nargs);
	memset(cmd, 0, sizeof *cmd);
}

/* RFC 3501 atom-specials, but ']' is allowed (astring, "resp-specials")
   and '[' is an atom character too, except after a fetch-att name
   (imap_section_start) */
static bool imap_atom_char(char c)
{
	unsigned char u = (unsigned char)c;
	return u > 0x20 && u < 0x7f && c != '(' && c != ')' && c != '{' &&
	       c != '"';
}

/* True when the atom s..p so far names a fetch-att whose '[' opens a
   section that may hold spaces and parentheses (RFC 3501 "section",
   RFC 3516 BINARY): BODY[HEADER.FIELDS (A B)].  Anywhere else, as in the
   mailbox name "foo[bar", '[' is an ordinary atom character. */
static bool imap_section_start(const char *s, const char *p)
{
	static const char *const names[] = {"BODY", "BODY.PEEK", "BINARY",
					    "BINARY.PEEK", "BINARY.SIZE"};
	size_t len = (size_t)(p - s);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == len &&
		    strncasecmp(s, names[i], len) == 0)
			return true;
	return false;
}

static char *imap_parse_atom(struct imap_parser *ps, size_t *len_r)
{
	const char *s = ps->p;
	while (ps->p < ps->end) {
		char c = *ps->p;
		if (c == '[' && imap_section_start(s, ps->p)) {
			const char *close =
			    memchr(ps->p, ']', (size_t)(ps->end - ps->p));
			if (close == NULL) {
				ps->error = "Missing ']'";
				return NULL;
			}
			for (const char *q = ps->p; q < close; q++)
				if ((unsigned char)*q < 0x20 ||
				    (unsigned char)*q >= 0x7f) {
					ps->error = "Bad character in section";
					return NULL;
				}
			ps->p = close + 1;
			continue;
		}
		if (!imap_atom_char(c))
			break;
		ps->p++;
	}
	if (ps->p == s || (size_t)(ps->p - s) > IMAP_ATOM_MAX) {
		ps->error = "Expected an atom";
		return NULL;
	}
	*len_r = (size_t)(ps->p - s);
	return xmemdup0(s, *len_r);
}

static char *imap_parse_quoted(struct imap_parser *ps, size_t *len_r)
{
	ps->p++; /* '"' */
	size_t cap = 64, n = 0;
	char *out = xmalloc(cap);
	while (ps->p < ps->end && *ps->p != '"') {
		char c = *ps->p++;
		if (c == '\\') {
			if (ps->p >= ps->end ||
			    (*ps->p != '\\' && *ps->p != '"')) {
				free(out);
				ps->error = "Bad escape in quoted string";
				return NULL;
			}
			c = *ps->p++;
		} else if (c == '\r' || c == '\n' || c == '\0') {
			free(out);
			ps->error = "Bad character in quoted string";
			return NULL;
		}
		if (n + 1 >= cap) {
			cap *= 2;
			out = xrealloc(out, cap);
		}
		out[n++] = c;
	}
	if (ps->p >= ps->end) {
		free(out);
		ps->error = "Unterminated quoted string";
		return NULL;
	}
	ps->p++;
	out[n] = '\0';
	*len_r = n;
	return out;
}

static char *imap_parse_literal(struct imap_parser *ps, size_t *len_r)
{
	ps->p++; /* '{' */
	uint64_t n = 0;
	size_t digits = 0;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9' &&
	       digits < 19) {
		n = n * 10 + (uint64_t)(*ps->p - '0');
		ps->p++;
		digits++;
	}
	if (ps->p < ps->end && *ps->p == '+')
		ps->p++;
	if (digits == 0 || ps->end - ps->p < 3 || ps->p[0] != '}' ||
	    ps->p[1] != '\r' || ps->p[2] != '\n') {
		ps->error = "Bad literal";
		return NULL;
	}
	ps->p += 3;
	if ((uint64_t)(ps->end - ps->p) < n) {
		ps->error = "Literal is shorter than announced";
		return NULL;
	}
	char *s = xmemdup0(ps->p, (size_t)n);
	ps->p += n;
	*len_r = (size_t)n;
	return s;
}

/* Parses arguments until end of input (depth 0) or ')' (depth > 0). */
static int imap_parse_list(struct imap_parser *ps, int depth,
			   struct imap_arg **args_r, size_t *n_r)
{
	struct imap_arg *args = NULL;
	size_t n = 0, cap = 0;
	bool first = true;
	for (;;) {
		if (ps->p >= ps->end) {
			if (depth > 0) {
				ps->error = "Missing ')'";
				goto fail;
			}
			break;
		}
		if (*ps->p == ')') {
			if (depth == 0) {
				ps->error = "Unexpected ')'";
				goto fail;
			}
			ps->p++;
			break;
		}
		if (!first) {
			if (*ps->p != ' ') {
				ps->error = "Expected a space";
				goto fail;
			}
			ps->p++;
		}
		first = false;
		if (ps->p >= ps->end || *ps->p == ' ') {
			ps->error = "Unexpected space or end";
			goto fail;
		}
		if (depth == 0 && *ps->p == ')') {
			ps->error = "Unexpected ')'";
			goto fail;
		}
		if (*ps->p == ')')
			continue; /* "(a )" is tolerated, as Dovecot does */
		if (++ps->total > IMAP_ARGS_MAX) {
			ps->error = "Too many arguments";
			goto fail;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			args = xrealloc(args, cap * sizeof *args);
		}
		struct imap_arg *a = &args[n];
		memset(a, 0, sizeof *a);
		char c = *ps->p;
		if (c == '(') {
			if (depth + 1 >= IMAP_DEPTH_MAX) {
				ps->error = "Lists nested too deeply";
				goto fail;
			}
			ps->p++;
			a->type = IMAP_ARG_LIST;
			n++;
			if (imap_parse_list(ps, depth + 1, &a->list, &a->n) < 0)
				goto fail;
			continue;
		}
		if (c == '"') {
			a->type = IMAP_ARG_STRING;
			a->s = imap_parse_quoted(ps, &a->len);
		} else if (c == '{') {
			a->type = IMAP_ARG_LITERAL;
			a->s = imap_parse_literal(ps, &a->len);
		} else if (c == '~' && ps->p + 1 < ps->end && ps->p[1] == '{') {
			/* literal8 (RFC 3516 §4.2): may hold NULs */
			ps->p++;
			a->type = IMAP_ARG_LITERAL;
			a->literal8 = true;
			a->s = imap_parse_literal(ps, &a->len);
		} else {
			a->type = IMAP_ARG_ATOM;
			a->s = imap_parse_atom(ps, &a->len);
			if (a->s != NULL && strcasecmp(a->s, "NIL") == 0)
				a->type = IMAP_ARG_NIL;
		}
		if (a->s == NULL)
			goto fail;
		n++;
	}
	*args_r = args;
	*n_r = n;
	return 0;
fail:
	imap_args_free(args, n);
	*args_r = NULL;
	*n_r = 0;
	return -1;
}

int imap_parse(const char *p, size_t len, struct imap_cmd *cmd,
	       const char **error_r)
{
	struct imap_parser ps = {p, p + len, 0, NULL};
	memset(cmd, 0, sizeof *cmd);
	/* tag: atom characters except '+' (RFC 3501 tag) */
	const char *s = ps.p;
	while (ps.p < ps.end && imap_atom_char(*ps.p) && *ps.p != '+' &&
	       *ps.p != '[' && *ps.p != '*' && *ps.p != '%' && *ps.p != ']')
		ps.p++;
	if (ps.p == s || ps.p - s > 64) {
		*error_r = "Invalid tag";
		return -1;
	}
	cmd->tag = xmemdup0(s, (size_t)(ps.p - s));
	if (ps.p >= ps.end || *ps.p != ' ') {
		*error_r = "Missing command";
		return -1;
	}
	ps.p++;
	s = ps.p;
	while (ps.p < ps.end && isalpha((unsigned char)*ps.p) && ps.p - s < 32)
		ps.p++;
	if (ps.p == s || (ps.p < ps.end && *ps.p != ' ')) {
		*error_r = "Invalid command name";
		return -1;
	}
	cmd->name = xmemdup0(s, (size_t)(ps.p - s));
	for (char *q = cmd->name; *q != '\0'; q++)
		*q = (char)toupper((unsigned char)*q);
	if (ps.p < ps.end) {
		ps.p++;
		if (ps.p >= ps.end) {
			*error_r = "Trailing space";
			return -1;
		}
	}
	if (imap_parse_list(&ps, 0, &cmd->args, &cmd->nargs) < 0) {
		*error_r = ps.error;
		return -1;
	}
	cmd->total = ps.total;
	return 0;
}

int imap_frame_line(struct str line, uint64_t max, uint64_t *n_r, bool *sync_r)
{
	if (line.len < 3 || line.p[line.len - 1] != '}')
		return 0;
	size_t i = line.len - 2;
	bool plus = false;
	if (line.p[i] == '+') {
		plus = true;
		if (i == 0)
			return 0;
		i--;
	}
	size_t end = i + 1;
	while (i > 0 && line.p[i] >= '0' && line.p[i] <= '9')
		i--;
	if (line.p[i] != '{' || i + 1 == end)
		return 0; /* not a literal marker: an atom ending in '}' */
	if (end - (i + 1) > 19)
		return -1;
	uint64_t n = 0;
	for (size_t k = i + 1; k < end; k++)
		n = n * 10 + (uint64_t)(line.p[k] - '0');
	if (n > max)
		return -1;
	*n_r = n;
	*sync_r = !plus;
	return 1;
}

bool imap_arg_is_astring(const struct imap_arg *a)
{
	/* an unquoted NIL is an astring too (1*ASTRING-CHAR): SEARCH
	   SUBJECT NIL looks for the text "NIL", as in Dovecot */
	return a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_STRING ||
	       a->type == IMAP_ARG_LITERAL || a->type == IMAP_ARG_NIL;
}

bool imap_arg_is_nstring(const struct imap_arg *a)
{
	return imap_arg_is_astring(a) || a->type == IMAP_ARG_NIL;
}

/* one number or '*' of a set; advances *pp */
static bool imap_seq_num(const char **pp, uint32_t max, uint32_t *v_r)
{
	const char *p = *pp;
	if (*p == '*') {
		*v_r = max;
		*pp = p + 1;
		return true;
	}
	uint64_t v = 0;
	size_t digits = 0;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return false;
		p++;
		digits++;
	}
	if (digits == 0 || v == 0)
		return false;
	*v_r = (uint32_t)v;
	*pp = p;
	return true;
}

static bool imap_seqset_walk(const char *set, uint32_t n, uint32_t max,
			     bool *has_r)
{
	const char *p = set;
	*has_r = false;
	if (*p == '\0')
		return false;
	for (;;) {
		uint32_t a, b;
		if (!imap_seq_num(&p, max, &a))
			return false;
		b = a;
		if (*p == ':') {
			p++;
			if (!imap_seq_num(&p, max, &b))
				return false;
		}
		uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
		if (n >= lo && n <= hi)
			*has_r = true;
		if (*p == '\0')
			return true;
		if (*p != ',')
			return false;
		p++;
	}
}

bool imap_seqset_ok(const char *set)
{
	bool has;
	return imap_seqset_walk(set, 0, 1, &has);
}

bool imap_seqset_has(const char *set, uint32_t n, uint32_t max)
{
	bool has;
	return imap_seqset_walk(set, n, max, &has) && has;
}
