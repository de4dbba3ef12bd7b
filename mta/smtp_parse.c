/*
 * SMTP command parsing (see smtp_parse.h).  The grammar is RFC 5321's,
 * loosened where Postfix is loose in its default configuration
 * (strict_rfc821_envelopes = no): "MAIL FROM: <a>" with a space after the
 * colon, an address without angle brackets, an address without a domain,
 * and a source route that is read and dropped (RFC 5321 4.1.1.3 and
 * appendix C).  Everything that is accepted is still restricted to bytes
 * that are safe to log, store in a queue file and pass to a shell-free
 * delivery agent: no controls, no spaces outside quotes.
 */
#include "smtp_parse.h"

#include <string.h>
#include <strings.h>

static const char *const verb_names[SMTP_VERB_COUNT] = {
    [SMTP_VERB_UNKNOWN] = "unknown", [SMTP_VERB_HELO] = "helo",
    [SMTP_VERB_EHLO] = "ehlo",	     [SMTP_VERB_MAIL] = "mail",
    [SMTP_VERB_RCPT] = "rcpt",	     [SMTP_VERB_DATA] = "data",
    [SMTP_VERB_RSET] = "rset",	     [SMTP_VERB_NOOP] = "noop",
    [SMTP_VERB_QUIT] = "quit",	     [SMTP_VERB_VRFY] = "vrfy",
    [SMTP_VERB_HELP] = "help",	     [SMTP_VERB_STARTTLS] = "starttls",
    [SMTP_VERB_AUTH] = "auth",	     [SMTP_VERB_ETRN] = "etrn",
    [SMTP_VERB_BDAT] = "bdat",
};

const char *smtp_verb_name(enum smtp_verb v)
{
	if ((unsigned)v >= SMTP_VERB_COUNT)
		return "unknown";
	return verb_names[v];
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

enum smtp_verb smtp_parse_verb(struct str line, struct str *args_r)
{
	size_t n = 0;
	while (n < line.len && !is_wsp(line.p[n]))
		n++;
	struct str verb = {line.p, n};
	size_t a = n;
	while (a < line.len && is_wsp(line.p[a]))
		a++;
	struct str args = {line.p + a, line.len - a};
	while (args.len > 0 && is_wsp(args.p[args.len - 1]))
		args.len--;
	for (unsigned v = 1; v < SMTP_VERB_COUNT; v++) {
		if (str_case_eq_cstr(verb, verb_names[v])) {
			*args_r = args;
			return (enum smtp_verb)v;
		}
	}
	*args_r = line;
	return SMTP_VERB_UNKNOWN;
}

/* RFC 5322 atext */
static bool is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * Reads an address (local[@domain]) at *pp, stopping at stop (a byte that
 * ends it: '>' or ' ') or end.  Appends it to out.  Returns 0 or -1.
 */
static int parse_addr(const char **pp, const char *end, char stop, bool utf8_ok,
		      char *out, size_t outsz, size_t *len_r)
{
	const char *p = *pp;
	size_t o = 0;
#define PUT(c)                                                                 \
	do {                                                                   \
		if (o + 1 >= outsz)                                            \
			return -1;                                             \
		out[o++] = (c);                                                \
	} while (0)
	if (p < end && *p == '"') {
		PUT('"');
		p++;
		for (;;) {
			if (p >= end)
				return -1;
			unsigned char c = (unsigned char)*p;
			if (c == '"') {
				PUT('"');
				p++;
				break;
			}
			if (c == '\\') {
				if (p + 1 >= end)
					return -1;
				unsigned char d = (unsigned char)p[1];
				if (d < 0x20 || d == 0x7f)
					return -1;
				PUT('\\');
				PUT((char)d);
				p += 2;
				continue;
			}
			if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8_ok))
				return -1;
			PUT((char)c);
			p++;
		}
	} else {
		size_t start = o;
		while (p < end) {
			unsigned char c = (unsigned char)*p;
			if (is_atext(c) || c == '.' || (c >= 0x80 && utf8_ok)) {
				PUT((char)c);
				p++;
			} else {
				break;
			}
		}
		if (o == start)
			return -1;
	}
	if (p < end && *p == '@') {
		PUT('@');
		p++;
		if (p < end && *p == '[') {
			/* address literal: [1.2.3.4] or [IPv6:...] */
			PUT('[');
			p++;
			size_t start = o;
			while (p < end && *p != ']') {
				unsigned char c = (unsigned char)*p;
				if (c <= 0x20 || c >= 0x7f || c == '[' ||
				    c == '\\')
					return -1;
				PUT((char)c);
				p++;
			}
			if (p >= end || o == start)
				return -1;
			PUT(']');
			p++;
		} else {
			size_t start = o;
			while (p < end) {
				unsigned char c = (unsigned char)*p;
				if (str_is_host_char(c) ||
				    (c >= 0x80 && utf8_ok)) {
					PUT((char)c);
					p++;
				} else {
					break;
				}
			}
			if (o == start)
				return -1;
		}
	}
#undef PUT
	if (p < end && *p != stop)
		return -1;
	out[o] = '\0';
	*len_r = o;
	*pp = p;
	return 0;
}

int smtp_parse_path(const char **pp, const char *end, bool allow_empty,
		    bool utf8_ok, char *addr_r, size_t addrsz)
{
	const char *p = *pp;
	size_t len = 0;
	size_t outsz = addrsz < SMTP_ADDR_MAX + 1 ? addrsz : SMTP_ADDR_MAX + 1;
	if (outsz == 0)
		return -1;
	while (p < end && is_wsp(*p))
		p++;
	if (p < end && *p == '<') {
		p++;
		if (p < end && *p == '>') {
			if (!allow_empty)
				return -1;
			addr_r[0] = '\0';
			*pp = p + 1;
			return 0;
		}
		if (p < end && *p == '@') {
			/* source route "@a,@b:" is read and ignored */
			while (p < end && *p != ':') {
				if (!str_is_host_char((unsigned char)*p) &&
				    *p != '@' && *p != ',' && *p != '[' &&
				    *p != ']')
					return -1;
				p++;
			}
			if (p >= end)
				return -1;
			p++;
		}
		if (parse_addr(&p, end, '>', utf8_ok, addr_r, outsz, &len) < 0)
			return -1;
		if (p >= end || *p != '>')
			return -1;
		p++;
	} else {
		if (parse_addr(&p, end, ' ', utf8_ok, addr_r, outsz, &len) < 0)
			return -1;
	}
	/* the path must be followed by white space or the end */
	if (p < end && !is_wsp(*p))
		return -1;
	*pp = p;
	return 0;
}

bool smtp_xtext_valid(struct str s, size_t max)
{
	if (s.len == 0 || s.len > max)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '+') {
			if (i + 2 >= s.len)
				return false;
			for (int k = 1; k <= 2; k++) {
				unsigned char h = (unsigned char)s.p[i + k];
				if (!((h >= '0' && h <= '9') ||
				      (h >= 'A' && h <= 'F')))
					return false;
			}
			i += 2;
			continue;
		}
		if (c < 33 || c > 126 || c == '=')
			return false;
	}
	return true;
}

const char *smtp_addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at != NULL ? at + 1 : "";
}

bool smtp_is_fqdn(const char *name)
{
	size_t labels = 0, len = 0;
	bool alpha = false;
	const char *p = name;
	if (*p == '\0')
		return false;
	for (;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.' || c == '\0') {
			if (len == 0 || len > 63)
				return c == '\0' && len == 0 && labels >= 2 &&
				       p[-1] == '.' && alpha;
			labels++;
			len = 0;
			if (c == '\0')
				break;
			continue;
		}
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			alpha = true;
		} else if (!((c >= '0' && c <= '9') || c == '-')) {
			return false;
		}
		len++;
	}
	return labels >= 2 && alpha && (p - name) <= 253;
}

/* Splits the next white-space separated word off *pp. */
static bool next_word(const char **pp, const char *end, struct str *w_r)
{
	const char *p = *pp;
	while (p < end && is_wsp(*p))
		p++;
	if (p >= end)
		return false;
	const char *s = p;
	while (p < end && !is_wsp(*p))
		p++;
	*w_r = (struct str){s, (size_t)(p - s)};
	*pp = p;
	return true;
}

static void split_param(struct str w, struct str *key_r, struct str *val_r,
			bool *has_val_r)
{
	const char *eq = memchr(w.p, '=', w.len);
	if (eq == NULL) {
		*key_r = w;
		*val_r = (struct str){w.p + w.len, 0};
		*has_val_r = false;
		return;
	}
	*key_r = (struct str){w.p, (size_t)(eq - w.p)};
	*val_r = (struct str){eq + 1, w.len - (size_t)(eq - w.p) - 1};
	*has_val_r = true;
}

static void copy_cstr(char *dst, size_t dstsz, struct str s)
{
	size_t n = s.len < dstsz - 1 ? s.len : dstsz - 1;
	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

/* "FROM:" / "TO:" then the path; returns the position after it */
static enum smtp_parse_err
parse_prefix_path(struct str args, const char *prefix, bool allow_empty,
		  bool utf8_ok, char *addr, size_t addrsz, const char **rest_r)
{
	if (!str_has_prefix_case(args, prefix))
		return SMTP_PARSE_SYNTAX;
	const char *p = args.p + strlen(prefix);
	const char *end = args.p + args.len;
	while (p < end && is_wsp(*p))
		p++;
	if (p >= end)
		return SMTP_PARSE_SYNTAX;
	if (smtp_parse_path(&p, end, allow_empty, utf8_ok, addr, addrsz) < 0)
		return SMTP_PARSE_ADDRESS;
	*rest_r = p;
	return SMTP_PARSE_OK;
}

/* One "key[=value]" of MAIL or RCPT into the command's struct ctx. */
typedef enum smtp_parse_err (*param_fn)(void *ctx, struct str key,
					struct str val, bool has_val);

/* The path after prefix into addr, then each parameter (at most
   SMTP_PARAMS_MAX) to fn; *bad_r is the parameter an error concerns. */
static enum smtp_parse_err
parse_path_params(struct str args, const char *prefix, bool allow_empty,
		  bool utf8_ok, char *addr, size_t addrsz, param_fn fn,
		  void *ctx, struct str *bad_r)
{
	const char *p, *end = args.p + args.len;
	enum smtp_parse_err e = parse_prefix_path(args, prefix, allow_empty,
						  utf8_ok, addr, addrsz, &p);
	struct str w;
	unsigned count = 0;
	while (e == SMTP_PARSE_OK && next_word(&p, end, &w)) {
		struct str key, val;
		bool has_val;
		*bad_r = w;
		if (++count > SMTP_PARAMS_MAX)
			return SMTP_PARSE_PARAM;
		split_param(w, &key, &val, &has_val);
		e = fn(ctx, key, val, has_val);
	}
	return e;
}

static enum smtp_parse_err mail_param(void *ctx, struct str key, struct str val,
				      bool has_val)
{
	struct smtp_mail *m = ctx;
	if (str_case_eq_cstr(key, "SIZE")) {
		if (!has_val ||
		    str_to_u64(val, 0, UINT64_MAX / 2, &m->size) < 0)
			return SMTP_PARSE_VALUE;
		m->has_size = true;
	} else if (str_case_eq_cstr(key, "BODY")) {
		if (has_val && str_case_eq_cstr(val, "7BIT"))
			m->body = SMTP_BODY_7BIT;
		else if (has_val && str_case_eq_cstr(val, "8BITMIME"))
			m->body = SMTP_BODY_8BITMIME;
		else
			return SMTP_PARSE_VALUE;
	} else if (str_case_eq_cstr(key, "RET")) {
		if (has_val && str_case_eq_cstr(val, "FULL"))
			m->ret = SMTP_RET_FULL;
		else if (has_val && str_case_eq_cstr(val, "HDRS"))
			m->ret = SMTP_RET_HDRS;
		else
			return SMTP_PARSE_VALUE;
	} else if (str_case_eq_cstr(key, "ENVID")) {
		if (!has_val || !smtp_xtext_valid(val, SMTP_ENVID_MAX))
			return SMTP_PARSE_VALUE;
		copy_cstr(m->envid, sizeof(m->envid), val);
	} else if (str_case_eq_cstr(key, "AUTH")) {
		/* RFC 4954 5: AUTH=<> or xtext of an address */
		if (!has_val)
			return SMTP_PARSE_VALUE;
		if (!str_eq_cstr(val, "<>") &&
		    !smtp_xtext_valid(val, SMTP_ADDR_MAX))
			return SMTP_PARSE_VALUE;
		copy_cstr(m->auth, sizeof(m->auth), val);
	} else if (str_case_eq_cstr(key, "SMTPUTF8")) {
		if (has_val)
			return SMTP_PARSE_VALUE;
		m->smtputf8 = true;
	} else {
		return SMTP_PARSE_PARAM;
	}
	return SMTP_PARSE_OK;
}

static bool parse_notify(struct str v, unsigned *bits_r)
{
	unsigned bits = 0;
	size_t i = 0;
	if (v.len == 0)
		return false;
	while (i <= v.len) {
		size_t j = i;
		while (j < v.len && v.p[j] != ',')
			j++;
		struct str item = {v.p + i, j - i};
		if (str_case_eq_cstr(item, "NEVER"))
			bits |= SMTP_NOTIFY_NEVER;
		else if (str_case_eq_cstr(item, "SUCCESS"))
			bits |= SMTP_NOTIFY_SUCCESS;
		else if (str_case_eq_cstr(item, "FAILURE"))
			bits |= SMTP_NOTIFY_FAILURE;
		else if (str_case_eq_cstr(item, "DELAY"))
			bits |= SMTP_NOTIFY_DELAY;
		else
			return false;
		i = j + 1;
	}
	/* RFC 3461 4.1: NEVER stands alone */
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return false;
	*bits_r = bits;
	return true;
}

static enum smtp_parse_err rcpt_param(void *ctx, struct str key, struct str val,
				      bool has_val)
{
	struct smtp_rcpt *r = ctx;
	if (str_case_eq_cstr(key, "NOTIFY")) {
		if (!has_val || !parse_notify(val, &r->notify))
			return SMTP_PARSE_VALUE;
	} else if (str_case_eq_cstr(key, "ORCPT")) {
		/* addr-type ";" xtext (RFC 3461 4.2) */
		const char *semi = has_val ? memchr(val.p, ';', val.len) : NULL;
		if (semi == NULL || semi == val.p)
			return SMTP_PARSE_VALUE;
		struct str x = {semi + 1, val.len - (size_t)(semi + 1 - val.p)};
		if (!smtp_xtext_valid(x, SMTP_ORCPT_MAX) ||
		    val.len > SMTP_ORCPT_MAX)
			return SMTP_PARSE_VALUE;
		for (const char *c = val.p; c < semi; c++) {
			if (!is_atext((unsigned char)*c))
				return SMTP_PARSE_VALUE;
		}
		copy_cstr(r->orcpt, sizeof(r->orcpt), val);
	} else {
		return SMTP_PARSE_PARAM;
	}
	return SMTP_PARSE_OK;
}

enum smtp_parse_err smtp_parse_mail(struct str args, bool utf8_ok,
				    struct smtp_mail *m, struct str *bad_r)
{
	memset(m, 0, sizeof(*m));
	enum smtp_parse_err e =
	    parse_path_params(args, "FROM:", true, utf8_ok, m->addr,
			      sizeof(m->addr), mail_param, m, bad_r);
	if (e != SMTP_PARSE_OK)
		return e;
	/* non-ASCII in the sender needs SMTPUTF8 on this very command */
	for (const char *c = m->addr; *c != '\0'; c++) {
		if ((unsigned char)*c >= 0x80 && !m->smtputf8)
			return SMTP_PARSE_ADDRESS;
	}
	return SMTP_PARSE_OK;
}

enum smtp_parse_err smtp_parse_rcpt(struct str args, bool utf8_ok,
				    struct smtp_rcpt *r, struct str *bad_r)
{
	memset(r, 0, sizeof(*r));
	return parse_path_params(args, "TO:", false, utf8_ok, r->addr,
				 sizeof(r->addr), rcpt_param, r, bad_r);
}

int smtp_qualify_postmaster(char *addr, size_t addrsz, const char *domain)
{
	if (strcasecmp(addr, "postmaster") != 0 || domain == NULL ||
	    domain[0] == '\0')
		return 0;
	/* the name as the client spelled it: local parts may be
	   case-sensitive elsewhere, and "Postmaster" is the same box here */
	size_t n = strlen(addr), d = strlen(domain);
	if (n + 1 + d + 1 > addrsz || n + 1 + d > SMTP_ADDR_MAX)
		return 0;
	addr[n] = '@';
	memcpy(addr + n + 1, domain, d + 1);
	return 1;
}
