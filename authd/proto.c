/*
 * Request parsing for youju-authd.  The rules follow what courier's
 * authdaemond does on the wire (reference/authd-protocol.md §2, §8): meta
 * lines are recognised by an '=' before any space, a request line longer
 * than courier's BUFSIZ buffer or an unknown command closes the connection
 * silently, PRE with an unknown module and PASSWD with control bytes are
 * rejected with FAIL, and AUTH reads exactly n bytes.  The parser works on a
 * private copy so the fields can be NUL-terminated in place.
 */
#include "proto.h"

#include "base64.h"

#include <string.h>

#include "str.h"
#include "xalloc.h"

const char *authd_authtype_name(enum authd_authtype t)
{
	switch (t) {
	case AUTHD_AUTH_LOGIN:
		return "login";
	case AUTHD_AUTH_CRAM_MD5:
		return "cram-md5";
	case AUTHD_AUTH_CRAM_SHA1:
		return "cram-sha1";
	case AUTHD_AUTH_CRAM_SHA256:
		return "cram-sha256";
	}
	return "?";
}

const char *authd_lookup_name(enum authd_lookup_kind k)
{
	switch (k) {
	case AUTHD_LOOKUP_RCPT:
		return "rcpt";
	case AUTHD_LOOKUP_DOMAIN:
		return "domain";
	case AUTHD_LOOKUP_QUOTA:
		return "quota";
	case AUTHD_LOOKUP_USER:
		return "user";
	case AUTHD_LOOKUP_DIRECTORY:
		return "directory";
	}
	return "?";
}

void authd_request_free(struct authd_request *req)
{
	if (req->mem_ != NULL) {
		explicit_bzero(req->mem_, req->memlen_);
		free(req->mem_);
	}
	explicit_bzero(req, sizeof(*req));
}

/* Splits off the next field ending in sep; NULL when sep is absent. */
static char *next_field(char **pp, char *end, char sep)
{
	char *p = *pp;
	char *q = memchr(p, sep, (size_t)(end - p));
	if (q == NULL)
		return NULL;
	*q = '\0';
	*pp = q + 1;
	return p;
}

static bool has_nul(const char *p, size_t n)
{
	return memchr(p, '\0', n) != NULL;
}

/* PRE <module> <service> <userid>: fields split on runs of spaces, the
   userid is the rest of the line. */
static enum authd_parse_status
parse_pre(char *p, char *end, struct authd_request *req, const char **why_r)
{
	const char *f[2];
	for (int i = 0; i < 2; i++) {
		while (p < end && *p == ' ')
			p++;
		char *q = p;
		while (q < end && *q != ' ')
			q++;
		if (q == p || q == end) {
			*why_r = "PRE: missing fields";
			return AUTHD_PARSE_CLOSE;
		}
		*q = '\0';
		f[i] = p;
		p = q + 1;
	}
	while (p < end && *p == ' ')
		p++;
	*end = '\0';
	req->service = f[1];
	req->user = p;
	req->cmd = AUTHD_CMD_PRE;
	/* "." is every module; we answer to the module name authmysql
	   stood for, and to our own */
	if (strcmp(f[0], ".") != 0 && strcmp(f[0], "authmysql") != 0 &&
	    strcmp(f[0], "authyouju") != 0) {
		req->cmd = AUTHD_CMD_REJECT;
		req->reject_reason = "unknown module";
	}
	return AUTHD_PARSE_OK;
}

/* The n-byte AUTH body: service LF authtype LF authdata. */
static enum authd_parse_status parse_auth_body(char *p, char *end,
					       struct authd_request *req,
					       const char **why_r)
{
	req->cmd = AUTHD_CMD_AUTH;
	char *service = next_field(&p, end, '\n');
	char *type = service != NULL ? next_field(&p, end, '\n') : NULL;
	if (type == NULL) {
		req->cmd = AUTHD_CMD_REJECT;
		req->reject_reason = "AUTH: short body";
		return AUTHD_PARSE_OK;
	}
	req->service = service;
	/* both data fields end in LF; be lenient about the last one */
	char *a = next_field(&p, end, '\n');
	char *b = NULL;
	if (a != NULL) {
		b = next_field(&p, end, '\n');
		if (b == NULL) {
			*end = '\0';
			b = p;
		}
	}
	if (strcmp(type, "login") == 0) {
		req->authtype = AUTHD_AUTH_LOGIN;
	} else if (strcmp(type, "cram-md5") == 0) {
		req->authtype = AUTHD_AUTH_CRAM_MD5;
	} else if (strcmp(type, "cram-sha1") == 0) {
		req->authtype = AUTHD_AUTH_CRAM_SHA1;
	} else if (strcmp(type, "cram-sha256") == 0) {
		req->authtype = AUTHD_AUTH_CRAM_SHA256;
	} else {
		req->cmd = AUTHD_CMD_REJECT;
		req->reject_reason = "unsupported authtype";
		return AUTHD_PARSE_OK;
	}
	if (a == NULL) {
		req->cmd = AUTHD_CMD_REJECT;
		req->reject_reason = "AUTH: short body";
		return AUTHD_PARSE_OK;
	}
	if (req->authtype == AUTHD_AUTH_LOGIN) {
		req->user = a;
		req->password = b;
	} else {
		req->challenge = a;
		req->response = b;
	}
	(void)why_r;
	return AUTHD_PARSE_OK;
}

/* PASSWD service TAB user TAB old TAB new [TAB ...] */
static enum authd_parse_status
parse_passwd(char *p, char *end, struct authd_request *req, const char **why_r)
{
	char *f[4];
	int n = 0;
	*end = '\0';
	while (n < 4) {
		f[n++] = p;
		char *t = strchr(p, '\t');
		if (t == NULL)
			break;
		*t = '\0';
		p = t + 1;
	}
	if (n < 4) {
		*why_r = "PASSWD: fewer than four fields";
		return AUTHD_PARSE_CLOSE;
	}
	/* anything after a fifth TAB is cut off */
	char *t = strchr(f[3], '\t');
	if (t != NULL)
		*t = '\0';
	req->cmd = AUTHD_CMD_PASSWD;
	req->service = f[0];
	req->user = f[1];
	req->password = f[2];
	req->newpassword = f[3];
	for (int i = 0; i < 4; i++) {
		for (const char *c = f[i]; *c != '\0'; c++) {
			if ((unsigned char)*c < 0x20) {
				req->cmd = AUTHD_CMD_REJECT;
				req->reject_reason = "PASSWD: control byte";
				return AUTHD_PARSE_OK;
			}
		}
	}
	return AUTHD_PARSE_OK;
}

/* LOOKUP <kind> <argument> (youju extension) */
static enum authd_parse_status
parse_lookup(char *p, char *end, struct authd_request *req, const char **why_r)
{
	*end = '\0';
	char *sp = strchr(p, ' ');
	if (sp == NULL || sp[1] == '\0') {
		*why_r = "LOOKUP: missing argument";
		return AUTHD_PARSE_CLOSE;
	}
	*sp = '\0';
	const char *arg = sp + 1;
	if (strcmp(p, "rcpt") == 0) {
		req->lookup = AUTHD_LOOKUP_RCPT;
	} else if (strcmp(p, "domain") == 0) {
		req->lookup = AUTHD_LOOKUP_DOMAIN;
	} else if (strcmp(p, "quota") == 0) {
		req->lookup = AUTHD_LOOKUP_QUOTA;
	} else if (strcmp(p, "user") == 0) {
		req->lookup = AUTHD_LOOKUP_USER;
	} else if (strcmp(p, "directory") == 0) {
		req->lookup = AUTHD_LOOKUP_DIRECTORY;
	} else {
		*why_r = "LOOKUP: unknown kind";
		return AUTHD_PARSE_CLOSE;
	}
	req->cmd = AUTHD_CMD_LOOKUP;
	req->user = arg;
	for (const char *c = arg; *c != '\0'; c++) {
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c == 0x7f) {
			req->cmd = AUTHD_CMD_REJECT;
			req->reject_reason = "LOOKUP: bad byte in argument";
			break;
		}
	}
	return AUTHD_PARSE_OK;
}

long authd_map_decode(char *s)
{
	char *w = s;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p != '%') {
			*w++ = *p;
			continue;
		}
		int a = str_hex_digit(p[1]);
		int b = a >= 0 ? str_hex_digit(p[2]) : -1;
		if (b < 0 || (a == 0 && b == 0))
			return -1;
		*w++ = (char)(a * 16 + b);
		p += 2;
	}
	*w = '\0';
	return (long)(w - s);
}

/* MAPLOOKUP <path> <key> (youju extension): two encoded words. */
static enum authd_parse_status parse_maplookup(char *p, char *end,
					       struct authd_request *req,
					       const char **why_r)
{
	*end = '\0';
	for (const char *c = p; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			*why_r = "MAPLOOKUP: control byte";
			return AUTHD_PARSE_CLOSE;
		}
	}
	char *sp = strchr(p, ' ');
	if (sp == NULL || sp == p || sp[1] == '\0' ||
	    strchr(sp + 1, ' ') != NULL) {
		*why_r = "MAPLOOKUP: expected a path and a key";
		return AUTHD_PARSE_CLOSE;
	}
	*sp = '\0';
	char *key = sp + 1;
	long pl = authd_map_decode(p);
	long kl = pl >= 0 ? authd_map_decode(key) : -1;
	if (pl <= 0 || kl <= 0 || pl > AUTHD_MAP_PATH_MAX ||
	    kl > AUTHD_MAP_KEY_MAX) {
		*why_r = "MAPLOOKUP: bad path or key";
		return AUTHD_PARSE_CLOSE;
	}
	req->cmd = AUTHD_CMD_MAPLOOKUP;
	req->map = p;
	req->user = key;
	return AUTHD_PARSE_OK;
}

static bool word_is(const char *p, size_t len, const char *w)
{
	size_t n = strlen(w);
	return len == n && memcmp(p, w, n) == 0;
}

enum authd_parse_status authd_parse(const char *data, size_t len, bool eof,
				    struct authd_request *req_r,
				    const char **why_r)
{
	const char *dummy;
	if (why_r == NULL)
		why_r = &dummy;
	*why_r = NULL;
	memset(req_r, 0, sizeof(*req_r));
	char rip[AUTHD_RIP_MAX + 1] = "";
	bool keepalive = false, client_delays = false, reuse = false;
	size_t pos = 0;

	for (;;) {
		const char *line = data + pos;
		size_t avail = len - pos;
		const char *lf = memchr(line, '\n', avail);
		if (lf == NULL) {
			if (avail > AUTHD_LINE_MAX) {
				*why_r = "line too long";
				return AUTHD_PARSE_CLOSE;
			}
			if (eof || len >= AUTHD_REQUEST_MAX) {
				*why_r = eof ? "truncated request"
					     : "request too long";
				return AUTHD_PARSE_CLOSE;
			}
			return AUTHD_PARSE_MORE;
		}
		size_t ll = (size_t)(lf - line);
		if (ll > AUTHD_LINE_MAX) {
			*why_r = "line too long";
			return AUTHD_PARSE_CLOSE;
		}
		if (has_nul(line, ll)) {
			*why_r = "NUL in request line";
			return AUTHD_PARSE_CLOSE;
		}
		/* meta line: '=' before any space */
		size_t k = 0;
		while (k < ll && line[k] != ' ' && line[k] != '=')
			k++;
		if (k < ll && line[k] == '=') {
			if (word_is(line, k, "TCPREMOTEIP")) {
				size_t vl = ll - k - 1;
				if (vl > AUTHD_RIP_MAX)
					vl = AUTHD_RIP_MAX;
				memcpy(rip, line + k + 1, vl);
				rip[vl] = '\0';
			} else if (word_is(line, k, "KEEPALIVE")) {
				/* youju's own clients (lib/authc); courier
				   ignores meta lines it does not know */
				keepalive =
				    word_is(line + k + 1, ll - k - 1, "1");
			} else if (word_is(line, k, "REUSE")) {
				/* lib/authc_cache: a LOOKUP reply then says
				   how long it may be reused (TTL=) */
				reuse = word_is(line + k + 1, ll - k - 1, "1");
			} else if (word_is(line, k, "FAILDELAY")) {
				client_delays =
				    word_is(line + k + 1, ll - k - 1, "1");
			}
			pos += ll + 1;
			continue;
		}

		/* the command line: k = length of its first word */
		const char *rest = line + k + (k < ll ? 1 : 0);
		size_t restlen = ll - k - (k < ll ? 1 : 0);
		size_t body = 0; /* AUTH: bytes after the line */
		enum authd_cmd cmd;
		if (word_is(line, k, "PRE")) {
			cmd = AUTHD_CMD_PRE;
		} else if (word_is(line, k, "AUTH")) {
			uint64_t n;
			if (str_to_u64((struct str){rest, restlen}, 0,
				       AUTHD_AUTH_MAX - 1, &n) < 0) {
				*why_r = "AUTH: bad length";
				return AUTHD_PARSE_CLOSE;
			}
			body = (size_t)n;
			if (len - pos - ll - 1 < body) {
				if (eof) {
					*why_r = "AUTH: truncated body";
					return AUTHD_PARSE_CLOSE;
				}
				return AUTHD_PARSE_MORE;
			}
			if (has_nul(line + ll + 1, body)) {
				*why_r = "AUTH: NUL in body";
				return AUTHD_PARSE_CLOSE;
			}
			cmd = AUTHD_CMD_AUTH;
		} else if (word_is(line, k, "PASSWD")) {
			cmd = AUTHD_CMD_PASSWD;
		} else if (word_is(line, k, "ENUMERATE") && k == ll) {
			cmd = AUTHD_CMD_ENUMERATE;
		} else if (word_is(line, k, "LOOKUP")) {
			cmd = AUTHD_CMD_LOOKUP;
		} else if (word_is(line, k, "MAPLOOKUP")) {
			cmd = AUTHD_CMD_MAPLOOKUP;
		} else if (word_is(line, k, "FLUSH")) {
			cmd = AUTHD_CMD_FLUSH;
		} else {
			*why_r = "unknown command";
			return AUTHD_PARSE_CLOSE;
		}

		/* private copy: the rest of the line, or the AUTH body */
		const char *src = cmd == AUTHD_CMD_AUTH ? line + ll + 1 : rest;
		size_t srclen = cmd == AUTHD_CMD_AUTH ? body : restlen;
		struct authd_request req;
		memset(&req, 0, sizeof(req));
		req.memlen_ = srclen + 1;
		req.mem_ = xmemdup0(src, srclen);
		memcpy(req.rip, rip, sizeof(rip));
		char *p = req.mem_, *end = req.mem_ + srclen;
		enum authd_parse_status st;
		switch (cmd) {
		case AUTHD_CMD_PRE:
			st = parse_pre(p, end, &req, why_r);
			break;
		case AUTHD_CMD_AUTH:
			st = parse_auth_body(p, end, &req, why_r);
			break;
		case AUTHD_CMD_PASSWD:
			st = parse_passwd(p, end, &req, why_r);
			break;
		case AUTHD_CMD_LOOKUP:
			st = parse_lookup(p, end, &req, why_r);
			break;
		case AUTHD_CMD_MAPLOOKUP:
			st = parse_maplookup(p, end, &req, why_r);
			break;
		case AUTHD_CMD_FLUSH:
			/* the argument (what changed) is advisory: every
			   cache is dropped */
			req.cmd = AUTHD_CMD_FLUSH;
			st = AUTHD_PARSE_OK;
			break;
		default:
			req.cmd = AUTHD_CMD_ENUMERATE;
			st = AUTHD_PARSE_OK;
			break;
		}
		if (st != AUTHD_PARSE_OK) {
			authd_request_free(&req);
			return st;
		}
		req.used = pos + ll + 1 + body;
		/* only the lookups, whose replies are framed ("FAIL" or a
		   "." line), may keep the connection */
		req.keepalive = keepalive && (cmd == AUTHD_CMD_LOOKUP ||
					      cmd == AUTHD_CMD_MAPLOOKUP);
		req.reuse = reuse && cmd == AUTHD_CMD_LOOKUP;
		req.client_delays = client_delays && (cmd == AUTHD_CMD_AUTH ||
						      cmd == AUTHD_CMD_PASSWD);
		*req_r = req;
		return AUTHD_PARSE_OK;
	}
}

int authd_cram_decode(const char *b64, char *user_r, size_t usersz,
		      char *digest_r, size_t digestsz)
{
	unsigned char dec[1024];
	size_t dlen;
	if (base64_decode(str_from_cstr(b64), false, dec, sizeof(dec), &dlen) <
		0 ||
	    dlen == 0)
		return -1;
	long n = (long)dlen;
	long sp = -1;
	for (long i = 0; i < n; i++) {
		if (dec[i] < 0x20 || dec[i] == 0x7f)
			return -1;
		if (dec[i] == ' ')
			sp = i;
	}
	if (sp <= 0 || sp == n - 1)
		return -1;
	size_t ul = (size_t)sp, dl = (size_t)(n - sp - 1);
	if (ul >= usersz || dl >= digestsz)
		return -1;
	memcpy(user_r, dec, ul);
	user_r[ul] = '\0';
	for (size_t i = 0; i < dl; i++) {
		unsigned char c = dec[sp + 1 + (long)i];
		if (c >= 'A' && c <= 'F')
			c = (unsigned char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		digest_r[i] = (char)c;
	}
	digest_r[dl] = '\0';
	explicit_bzero(dec, sizeof(dec));
	return 0;
}

long authd_b64_decode(const char *in, unsigned char *out, size_t outsz)
{
	size_t n;
	if (base64_decode(str_from_cstr(in), false, out, outsz, &n) < 0)
		return -1;
	return (long)n;
}
