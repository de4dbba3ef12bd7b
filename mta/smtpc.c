/*
 * SMTP client (see smtpc.h).  A transaction is MAIL, RCPT..., DATA; with
 * PIPELINING (RFC 2920) they go out in one write and the replies are
 * matched in order, otherwise one at a time.  After a transaction that
 * left the session in a known state, the connection waits in a small
 * cache (smtp_connection_cache_time_limit) for the next message to the
 * same next hop, which starts with RSET instead of a new TCP, TLS and
 * EHLO exchange, as Postfix's connection cache does.
 */
#include "smtpc.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "dot.h"
#include "ev.h"
#include "log.h"
#include "maps.h"
#include "mxlookup.h"
#include "net.h"
#include "str.h"
#include "tls.h"
#include "xalloc.h"

#define SMTPC_REPLY_MAX 4096
#define SMTPC_IN_MAX	16384
#define SMTPC_OUT_CHUNK 65536
#define SMTPC_PORT	25
#define SMTPC_CACHE_MAX 64

struct smtpc_conn {
	int fd;
	struct tls_conn *tls;
	struct buf in, out;
	char host[MX_NAME_MAX];
	char addr[NET_ADDR_MAX];
	unsigned port;
	char key[MX_NAME_MAX + 16]; /* the next hop it was opened for */
	time_t born, idle_since;
	bool starttls, pipelining, auth_plain, auth_login, dsn;
	enum smtpc_tls tls_level;    /* this next hop's policy */
	char reply[SMTPC_REPLY_MAX]; /* last reply, lines joined by ' ' */
	int code;
	char err[256];	/* why the conversation broke */
	char errdsn[8]; /* its status code when not 4.4.1 (TLS, AUTH) */
};

int smtpc_parse_nexthop(const char *spec, char *host, size_t hostsz,
			unsigned *port_r, bool *mx_r)
{
	const char *h = spec, *he, *colon;
	*port_r = SMTPC_PORT;
	*mx_r = true;
	if (*h == '[') {
		he = strchr(h, ']');
		if (he == NULL)
			return -1;
		h++;
		colon = he[1] == ':' ? he + 1 : NULL;
		if (he[1] != '\0' && colon == NULL)
			return -1;
		*mx_r = false;
	} else {
		colon = strrchr(h, ':');
		he = colon != NULL ? colon : h + strlen(h);
	}
	size_t hl = (size_t)(he - h);
	if (hl == 0 || hl >= hostsz)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon != NULL) {
		uint64_t port;
		if (str_parse_u64(colon + 1, 1, 65535, &port) < 0)
			return -1;
		*port_r = (unsigned)port;
	}
	return 0;
}

int smtpc_dot_encode(const char *msg, size_t len, size_t limit, struct buf *out)
{
	if (limit > 0 && limit < SMTPC_LINE_MIN)
		limit = SMTPC_LINE_MIN;
	/* queue files end lines in a bare LF: a CR is data */
	return dot_encode(msg, len, 0, limit, out);
}

static int smtpc_wait(int fd, unsigned events, int ms)
{
	struct pollfd p = {.fd = fd,
			   .events = (short)((events & EV_WRITE ? POLLOUT : 0) |
					     (events & EV_READ ? POLLIN : 0))};
	for (;;) {
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		return r < 0 ? -1 : 0;
	}
}

static int smtpc_flush(struct smtpc_conn *c, unsigned timeout)
{
	while (c->out.len > 0) {
		unsigned want = EV_WRITE;
		int r = c->tls != NULL ? tls_write(c->tls, &c->out, &want)
				       : net_out_flush(c->fd, &c->out);
		if (r < 0) {
			str_fmt_trunc(c->err, sizeof(c->err), "write: %s",
				      c->tls != NULL ? tls_conn_error(c->tls)
						     : strerror(errno));
			return -1;
		}
		if (r == 0 &&
		    smtpc_wait(c->fd, want, (int)timeout * 1000) < 0) {
			str_fmt_trunc(c->err, sizeof(c->err), "write: %s",
				      strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int smtpc_fill(struct smtpc_conn *c, unsigned timeout)
{
	for (;;) {
		unsigned want = EV_READ;
		int r = c->tls != NULL ? tls_read(c->tls, &c->in, &want)
				       : net_fill(c->fd, &c->in);
		if (r > 0)
			return 0;
		if (r < 0) {
			str_fmt_trunc(c->err, sizeof(c->err), "%s",
				      errno == 0 ? "lost connection"
						 : strerror(errno));
			return -1;
		}
		if (smtpc_wait(c->fd, want, (int)timeout * 1000) < 0) {
			str_fmt_trunc(c->err, sizeof(c->err), "read: %s",
				      strerror(errno));
			return -1;
		}
	}
}

/* Notes the SASL mechanisms of an EHLO "AUTH ..." line we can use. */
static void smtpc_auth_mechs(struct smtpc_conn *c, struct str text)
{
	size_t i = 5;
	while (i < text.len) {
		size_t j = i;
		while (j < text.len && text.p[j] != ' ')
			j++;
		struct str m = {text.p + i, j - i};
		if (str_case_eq_cstr(m, "PLAIN"))
			c->auth_plain = true;
		else if (str_case_eq_cstr(m, "LOGIN"))
			c->auth_login = true;
		i = j + 1;
	}
}

/* Reads one (multi-line) reply; returns its code, -1 on I/O error.  EHLO
   keywords are noted on the way. */
static int smtpc_reply(struct smtpc_conn *c, unsigned timeout)
{
	size_t o = 0;
	c->reply[0] = '\0';
	for (;;) {
		struct str line;
		enum net_line r = net_read_line(&c->in, 1000, &line);
		if (r == LINE_MORE) {
			if (smtpc_fill(c, timeout) < 0)
				return -1;
			continue;
		}
		if (r != LINE_OK || line.len < 3 || line.p[0] < '2' ||
		    line.p[0] > '5' || line.p[1] < '0' || line.p[1] > '9' ||
		    line.p[2] < '0' || line.p[2] > '9') {
			str_fmt_trunc(c->err, sizeof(c->err),
				      "malformed reply");
			return -1;
		}
		int code = (line.p[0] - '0') * 100 + (line.p[1] - '0') * 10 +
			   (line.p[2] - '0');
		bool more = line.len > 3 && line.p[3] == '-';
		struct str text = {line.p + (line.len > 3 ? 4 : 3),
				   line.len > 3 ? line.len - 4 : 0};
		if (str_case_eq_cstr(text, "STARTTLS"))
			c->starttls = true;
		else if (str_case_eq_cstr(text, "PIPELINING"))
			c->pipelining = true;
		else if (str_case_eq_cstr(text, "DSN"))
			c->dsn = true;
		else if (text.len > 5 &&
			 (strncasecmp(text.p, "AUTH ", 5) == 0 ||
			  strncasecmp(text.p, "AUTH=", 5) == 0))
			smtpc_auth_mechs(c, text);
		size_t take = line.len;
		if (o + take + 2 < sizeof(c->reply)) {
			if (o > 0)
				c->reply[o++] = ' ';
			memcpy(c->reply + o, line.p, take);
			o += take;
			c->reply[o] = '\0';
		}
		net_line_consume(&c->in, line);
		if (!more) {
			c->code = code;
			/* keep the log line printable */
			for (size_t i = 0; i < o; i++)
				if ((unsigned char)c->reply[i] < 0x20 ||
				    (unsigned char)c->reply[i] > 0x7e)
					c->reply[i] = '?';
			return code;
		}
	}
}

__attribute__((format(printf, 3, 4))) static int
smtpc_cmd(struct smtpc_conn *c, unsigned timeout, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	if (r < 0 || buf_append(&c->out, "\r\n", 2) < 0) {
		str_fmt_trunc(c->err, sizeof(c->err), "command too long");
		return -1;
	}
	if (smtpc_flush(c, timeout) < 0)
		return -1;
	return smtpc_reply(c, timeout);
}

static int smtpc_connect_addr(const struct addrinfo *ai, unsigned timeout)
{
	int fd = socket(ai->ai_family,
			ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		if (smtpc_wait(fd, EV_WRITE, (int)timeout * 1000) < 0)
			goto fail;
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	return fd;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

static void smtpc_set_all(struct smtpc_rcpt *rcpts, size_t n,
			  enum deliver_status st, const char *dsn,
			  const char *text)
{
	for (size_t i = 0; i < n; i++) {
		rcpts[i].res.status = st;
		str_fmt_trunc(rcpts[i].res.dsn, sizeof(rcpts[i].res.dsn), "%s",
			      dsn);
		str_fmt_trunc(rcpts[i].res.text, sizeof(rcpts[i].res.text),
			      "%s", text);
	}
}

/* The enhanced status code of a reply, or a default from its class. */
static void smtpc_dsn_of(const char *reply, int code, char *out, size_t sz)
{
	const char *p = reply + 3;
	if (*p == ' ' || *p == '-')
		p++;
	if ((p[0] == '2' || p[0] == '4' || p[0] == '5') && p[1] == '.') {
		size_t n = strspn(p, "0123456789.");
		if (n < sz && n >= 5) {
			memcpy(out, p, n);
			out[n] = '\0';
			return;
		}
	}
	str_fmt_trunc(out, sz, "%d.0.0", code / 100);
}

static void smtpc_result(struct smtpc_conn *c, struct deliver_result *r,
			 const char *stage)
{
	smtpc_dsn_of(c->reply, c->code, r->dsn, sizeof(r->dsn));
	r->status = c->code < 300   ? DELIVER_OK
		    : c->code < 500 ? DELIVER_DEFER
				    : DELIVER_BOUNCE;
	if (r->status == DELIVER_OK)
		str_fmt_trunc(r->text, sizeof(r->text), "%s", c->reply);
	else
		str_fmt_trunc(r->text, sizeof(r->text),
			      "host %s[%s] said: %s (in reply to %s command)",
			      c->host, c->addr, c->reply, stage);
}

static void smtpc_conn_close(struct smtpc_conn *c)
{
	if (c->tls != NULL) {
		unsigned want;
		(void)tls_shutdown(c->tls, &want);
		tls_conn_free(&c->tls);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_reset(&c->in);
	buf_reset(&c->out);
}

static struct smtpc_conn *smtpc_conn_new(void)
{
	struct smtpc_conn *c = xcalloc(1, sizeof(*c));
	c->fd = -1;
	buf_init(&c->in, SMTPC_IN_MAX);
	buf_init(&c->out, SMTPC_OUT_CHUNK);
	return c;
}

static void smtpc_conn_free(struct smtpc_conn **cp)
{
	struct smtpc_conn *c = *cp;
	if (c == NULL)
		return;
	smtpc_conn_close(c);
	buf_deinit(&c->in);
	buf_deinit(&c->out);
	free(c);
	*cp = NULL;
}

/* ---- connection cache -------------------------------------------------- */

/* Idle connections, keyed by next hop.  A connection is in the cache or
   in one delivery thread's hands, never both. */
static pthread_mutex_t smtpc_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct smtpc_conn *smtpc_cache[SMTPC_CACHE_MAX];

static struct smtpc_conn *smtpc_cache_take(const char *key)
{
	struct smtpc_conn *c = NULL;
	pthread_mutex_lock(&smtpc_cache_lock);
	for (size_t i = 0; i < SMTPC_CACHE_MAX && c == NULL; i++)
		if (smtpc_cache[i] != NULL &&
		    strcasecmp(smtpc_cache[i]->key, key) == 0) {
			c = smtpc_cache[i];
			smtpc_cache[i] = NULL;
		}
	pthread_mutex_unlock(&smtpc_cache_lock);
	return c;
}

/* Says goodbye and closes (outside the lock: QUIT may wait). */
static void smtpc_quit(struct smtpc_conn **cp, unsigned timeout)
{
	struct smtpc_conn *c = *cp;
	if (c == NULL)
		return;
	if (c->fd >= 0 && buf_append(&c->out, "QUIT\r\n", 6) == 0)
		(void)smtpc_flush(c, timeout > 2 ? 2 : timeout);
	smtpc_conn_free(cp);
}

static void smtpc_cache_put(const struct smtpc_cfg *cfg, struct smtpc_conn *c)
{
	struct smtpc_conn *evict = NULL;
	time_t now = time(NULL);
	if (now - c->born >= (time_t)cfg->reuse_time) {
		smtpc_quit(&c, cfg->cmd_timeout);
		return;
	}
	c->idle_since = now;
	pthread_mutex_lock(&smtpc_cache_lock);
	size_t slot = SMTPC_CACHE_MAX, oldest = 0;
	for (size_t i = 0; i < SMTPC_CACHE_MAX; i++) {
		if (smtpc_cache[i] == NULL) {
			slot = i;
			break;
		}
		if (smtpc_cache[i]->idle_since <
		    smtpc_cache[oldest]->idle_since)
			oldest = i;
	}
	if (slot == SMTPC_CACHE_MAX) {
		evict = smtpc_cache[oldest];
		slot = oldest;
	}
	smtpc_cache[slot] = c;
	pthread_mutex_unlock(&smtpc_cache_lock);
	smtpc_quit(&evict, cfg->cmd_timeout);
}

void smtpc_cache_sweep(const struct smtpc_cfg *cfg, bool all)
{
	struct smtpc_conn *old[SMTPC_CACHE_MAX];
	size_t n = 0;
	time_t now = time(NULL);
	pthread_mutex_lock(&smtpc_cache_lock);
	for (size_t i = 0; i < SMTPC_CACHE_MAX; i++)
		if (smtpc_cache[i] != NULL &&
		    (all || now - smtpc_cache[i]->idle_since >=
				(time_t)cfg->cache_time)) {
			old[n++] = smtpc_cache[i];
			smtpc_cache[i] = NULL;
		}
	pthread_mutex_unlock(&smtpc_cache_lock);
	for (size_t i = 0; i < n; i++)
		smtpc_quit(&old[i], cfg->cmd_timeout);
}

/* ---- one session ------------------------------------------------------- */

static int smtpc_ehlo(const struct smtpc_cfg *cfg, struct smtpc_conn *c)
{
	c->starttls = c->pipelining = c->dsn = false;
	c->auth_plain = c->auth_login = false;
	int code = smtpc_cmd(c, cfg->cmd_timeout, "EHLO %s", cfg->helo_name);
	if (code >= 500)
		code =
		    smtpc_cmd(c, cfg->cmd_timeout, "HELO %s", cfg->helo_name);
	return code;
}

static int smtpc_starttls(const struct smtpc_cfg *cfg, struct smtpc_conn *c)
{
	bool verify = c->tls_level >= SMTPC_TLS_VERIFY;
	str_fmt_trunc(c->errdsn, sizeof(c->errdsn), "4.7.5");
	if (smtpc_cmd(c, cfg->cmd_timeout, "STARTTLS") != 220) {
		str_fmt_trunc(c->err, sizeof(c->err),
			      "host %s[%s] said: %s (in reply to STARTTLS "
			      "command)",
			      c->host, c->addr, c->reply);
		return -1;
	}
	unsigned want = 0;
	struct tls_ctx *ctx = verify ? cfg->tls_verify : cfg->tls;
	c->tls = ctx != NULL ? tls_conn_new(ctx, c->fd, c->host) : NULL;
	if (c->tls == NULL) {
		str_fmt_trunc(c->err, sizeof(c->err),
			      verify
				  ? "Server certificate not verified: no "
				    "usable CA certificates (smtp_tls_CAfile)"
				  : "TLS setup failed");
		return -1;
	}
	int r;
	while ((r = tls_starttls(c->tls, &c->in, &want)) == 0)
		if (smtpc_wait(c->fd, want, (int)cfg->cmd_timeout * 1000) < 0)
			break;
	if (r != 1) {
		str_fmt_trunc(c->err, sizeof(c->err),
			      verify ? "Server certificate not verified: TLS "
				       "handshake with %s[%s] failed: %s"
				     : "TLS handshake with %s[%s] failed: %s",
			      c->host, c->addr, tls_conn_error(c->tls));
		return -1;
	}
	log_info_as("smtp",
		    "%s TLS connection established to %s[%s]:%u: %s with "
		    "cipher %s",
		    verify ? "Verified" : "Anonymous", c->host, c->addr,
		    c->port, tls_conn_version(c->tls), tls_conn_cipher(c->tls));
	c->errdsn[0] = '\0';
	if (smtpc_ehlo(cfg, c) != 250) {
		str_fmt_trunc(c->err, sizeof(c->err),
			      "host %s[%s] said: %s (in reply to EHLO command)",
			      c->host, c->addr, c->reply);
		return -1;
	}
	return 0;
}

/* AUTH PLAIN (or LOGIN) with smtp_sasl_password_maps' "user:password"
   for the next hop or the host.  0 done or not needed, -1 failed. */
static int smtpc_auth(const struct smtpc_cfg *cfg, struct smtpc_conn *c)
{
	char val[MAP_VALUE_MAX], key[MX_NAME_MAX + 16];
	if (!cfg->sasl_enable || cfg->sasl_passwords == NULL)
		return 0;
	enum map_status st =
	    map_lookup(cfg->sasl_passwords, c->key, val, sizeof(val));
	if (st == MAP_NOTFOUND) {
		str_fmt_trunc(key, sizeof(key), "%s", c->host);
		st = map_lookup(cfg->sasl_passwords, key, val, sizeof(val));
	}
	if (st == MAP_TEMPFAIL) {
		str_fmt_trunc(c->err, sizeof(c->err),
			      "smtp_sasl_password_maps lookup failure");
		return -1;
	}
	if (st == MAP_NOTFOUND)
		return 0;
	char *colon = strchr(val, ':');
	if (colon == NULL || (!c->auth_plain && !c->auth_login)) {
		explicit_bzero(val, sizeof(val));
		return 0; /* nothing we can use: go on without AUTH */
	}
	*colon = '\0';
	const char *user = val, *pass = colon + 1;
	char raw[2 * MAP_VALUE_MAX + 2], b64[4 * MAP_VALUE_MAX];
	int code;
	if (c->auth_plain) {
		size_t ul = strlen(user), pl = strlen(pass);
		raw[0] = '\0';
		memcpy(raw + 1, user, ul);
		raw[ul + 1] = '\0';
		memcpy(raw + ul + 2, pass, pl);
		code =
		    base64_encode(raw, ul + pl + 2, b64, sizeof(b64)) < 0
			? -1
			: smtpc_cmd(c, cfg->cmd_timeout, "AUTH PLAIN %s", b64);
	} else {
		code = smtpc_cmd(c, cfg->cmd_timeout, "AUTH LOGIN");
		if (code == 334)
			code = base64_encode(user, strlen(user), b64,
					     sizeof(b64)) < 0
				   ? -1
				   : smtpc_cmd(c, cfg->cmd_timeout, "%s", b64);
		if (code == 334)
			code = base64_encode(pass, strlen(pass), b64,
					     sizeof(b64)) < 0
				   ? -1
				   : smtpc_cmd(c, cfg->cmd_timeout, "%s", b64);
	}
	explicit_bzero(val, sizeof(val));
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(b64, sizeof(b64));
	buf_reset(&c->out); /* no credentials left behind */
	if (code == 235)
		return 0;
	/* Postfix's smtp_sasl_auth_soft_bounce: a refused login is the
	   operator's problem to fix, the mail waits (5.7.8 -> 4.7.8) */
	if (code > 0) {
		smtpc_dsn_of(c->reply, code, c->errdsn, sizeof(c->errdsn));
		c->errdsn[0] = '4';
	} else {
		str_fmt_trunc(c->errdsn, sizeof(c->errdsn), "4.7.0");
	}
	str_fmt_trunc(c->err, sizeof(c->err),
		      "SASL authentication failed; server %s[%s] said: %s",
		      c->host, c->addr, code > 0 ? c->reply : c->err);
	return -1;
}

/*
 * Greeting, EHLO, STARTTLS, AUTH on a fresh connection.  0 ready, -1 try
 * the next host (c->err set).
 */
static int smtpc_hello(const struct smtpc_cfg *cfg, struct smtpc_conn *c)
{
	int code = smtpc_reply(c, cfg->cmd_timeout);
	if (code < 0) {
		str_fmt_trunc(c->err, sizeof(c->err),
			      "lost connection with %s[%s] while receiving the "
			      "initial server greeting",
			      c->host, c->addr);
		return -1;
	}
	if (code != 220) {
		str_fmt_trunc(c->err, sizeof(c->err),
			      "host %s[%s] refused to talk to me: %s", c->host,
			      c->addr, c->reply);
		return -1;
	}
	code = smtpc_ehlo(cfg, c);
	if (code != 250) {
		if (code > 0)
			str_fmt_trunc(c->err, sizeof(c->err),
				      "host %s[%s] said: %s (in reply to EHLO "
				      "command)",
				      c->host, c->addr, c->reply);
		return -1;
	}
	bool must = c->tls_level >= SMTPC_TLS_ENCRYPT;
	if (c->starttls && c->tls_level != SMTPC_TLS_NONE &&
	    (cfg->tls != NULL || must)) {
		if (smtpc_starttls(cfg, c) < 0)
			return -1;
	}
	if (c->tls == NULL && must) {
		str_fmt_trunc(c->errdsn, sizeof(c->errdsn), "4.7.4");
		str_fmt_trunc(c->err, sizeof(c->err),
			      "TLS is required, but was not offered by host "
			      "%s[%s]",
			      c->host, c->addr);
		return -1;
	}
	return smtpc_auth(cfg, c);
}

/* Queues one command; with PIPELINING the flush waits for the batch. */
__attribute__((format(printf, 3, 4))) static int
smtpc_queue(struct smtpc_conn *c, unsigned timeout, const char *fmt, ...)
{
	for (int round = 0; round < 2; round++) {
		size_t mark = c->out.len;
		va_list ap;
		va_start(ap, fmt);
		int r = buf_vprintf(&c->out, fmt, ap);
		va_end(ap);
		if (r == 0 && buf_append(&c->out, "\r\n", 2) == 0)
			return 0;
		c->out.len = mark;
		if (round == 0 && smtpc_flush(c, timeout) < 0)
			return -1;
	}
	str_fmt_trunc(c->err, sizeof(c->err), "command too long");
	return -1;
}

static void smtpc_lost(struct smtpc_conn *c, struct deliver_result *r,
		       const char *stage)
{
	r->status = DELIVER_DEFER;
	str_fmt_trunc(r->dsn, sizeof(r->dsn), "4.4.2");
	str_fmt_trunc(r->text, sizeof(r->text),
		      "lost connection with %s[%s] while sending %s", c->host,
		      c->addr, stage);
}

int smtpc_xtext(const char *s, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch > ' ' && ch < 0x7f && ch != '+' && ch != '=') {
			if (buf_append_char(out, (char)ch) < 0)
				return -1;
			continue;
		}
		char e[3] = {'+', hex[ch >> 4], hex[ch & 15]};
		if (buf_append(out, e, 3) < 0)
			return -1;
	}
	return 0;
}

/* The RFC 3461 parameters of one RCPT ("" when the server has no DSN). */
static int smtpc_rcpt_params(const struct smtpc_conn *c,
			     const struct smtpc_rcpt *r, struct buf *out)
{
	static const char *const names[] = {"NEVER", "SUCCESS", "FAILURE",
					    "DELAY"};
	buf_reset(out);
	if (!c->dsn)
		return 0;
	if (r->notify != 0) {
		if (buf_append_str(out, " NOTIFY=") < 0)
			return -1;
		const char *sep = "";
		for (unsigned b = 0; b < 4; b++)
			if (r->notify & (1u << b)) {
				if (buf_printf(out, "%s%s", sep, names[b]) < 0)
					return -1;
				sep = ",";
			}
	}
	/* the original recipient as received, else the address we were
	   given (as Postfix: the next hop can name it in its reports) */
	if (r->orcpt != NULL && r->orcpt[0] != '\0')
		return buf_printf(out, " ORCPT=%s", r->orcpt);
	if (buf_append_str(out, " ORCPT=rfc822;") < 0)
		return -1;
	return smtpc_xtext(r->orig != NULL ? r->orig : r->addr, out);
}

/*
 * One mail transaction on a ready connection (RFC 5321 §3.3; RFC 2920
 * when the server offers PIPELINING: MAIL, every RCPT and DATA go in one
 * write and the replies are read in order).  Fills every recipient's
 * result.  Returns 1 when the connection is still in a known state (it
 * may be reused), 0 when it must be closed, -1 when it was lost (or
 * 421'd) before the MAIL reply: nothing happened, a cached connection
 * may be replaced and the transaction tried again.
 */
static int smtpc_transaction(const struct smtpc_cfg *cfg, struct smtpc_conn *c,
			     const struct smtpc_msg *m,
			     struct smtpc_rcpt *rcpts, size_t n)
{
	unsigned to = cfg->cmd_timeout;
	bool pipe = c->pipelining;
	int code;
	struct deliver_result r;
	struct buf par;
	buf_init(&par, SMTPC_REPLY_MAX);

	if (c->dsn && m->ret[0] != '\0' &&
	    buf_printf(&par, " RET=%s", m->ret) < 0)
		goto lost_mail;
	if (c->dsn && m->envid[0] != '\0' &&
	    buf_printf(&par, " ENVID=%s", m->envid) < 0)
		goto lost_mail;
	if (smtpc_queue(c, to, "MAIL FROM:<%s>%s", m->sender, buf_cstr(&par)) <
	    0)
		goto lost_mail;
	if (pipe) {
		for (size_t i = 0; i < n; i++)
			if (smtpc_rcpt_params(c, &rcpts[i], &par) < 0 ||
			    smtpc_queue(c, to, "RCPT TO:<%s>%s", rcpts[i].addr,
					buf_cstr(&par)) < 0)
				goto lost_mail;
		if (smtpc_queue(c, to, "DATA") < 0)
			goto lost_mail;
	}
	if (smtpc_flush(c, to) < 0 || (code = smtpc_reply(c, to)) < 0)
		goto lost_mail;
	if (code == 421) {
		/* the server is closing: the same as a lost connection */
		smtpc_result(c, &r, "MAIL FROM");
		smtpc_set_all(rcpts, n, r.status, r.dsn, r.text);
		buf_deinit(&par);
		return -1;
	}
	bool mail_ok = code == 250;
	if (!mail_ok) {
		smtpc_result(c, &r, "MAIL FROM");
		smtpc_set_all(rcpts, n, r.status, r.dsn, r.text);
		if (!pipe) {
			buf_deinit(&par);
			return smtpc_cmd(c, to, "RSET") == 250;
		}
	}
	size_t accepted = 0;
	for (size_t i = 0; i < n; i++) {
		if (!pipe) {
			if (smtpc_rcpt_params(c, &rcpts[i], &par) < 0 ||
			    smtpc_queue(c, to, "RCPT TO:<%s>%s", rcpts[i].addr,
					buf_cstr(&par)) < 0 ||
			    smtpc_flush(c, to) < 0)
				code = -1;
			else
				code = smtpc_reply(c, to);
		} else {
			code = smtpc_reply(c, to);
		}
		if (code < 0) {
			smtpc_lost(c, &r, "RCPT TO");
			smtpc_set_all(rcpts, n, r.status, r.dsn, r.text);
			buf_deinit(&par);
			return 0;
		}
		if (!mail_ok)
			continue; /* the MAIL reply is the recipients' */
		smtpc_result(c, &rcpts[i].res, "RCPT TO");
		rcpts[i].dsn_passed = c->dsn;
		if (code == 250 || code == 251)
			accepted++;
	}
	buf_deinit(&par);
	if (!pipe && accepted == 0) {
		return smtpc_cmd(c, to, "RSET") == 250;
	}
	if (!pipe)
		code = smtpc_cmd(c, to, "DATA");
	else
		code = smtpc_reply(c, to);
	if (code < 0) {
		smtpc_lost(c, &r, "DATA");
		for (size_t i = 0; i < n; i++)
			if (rcpts[i].res.status == DELIVER_OK || !mail_ok)
				rcpts[i].res = r;
		return 0;
	}
	if (code != 354) {
		if (accepted > 0) {
			smtpc_result(c, &r, "DATA");
			for (size_t i = 0; i < n; i++)
				if (rcpts[i].res.status == DELIVER_OK)
					rcpts[i].res = r;
		}
		return smtpc_cmd(c, to, "RSET") == 250;
	}
	if (accepted == 0) {
		/* pipelined DATA accepted without recipients: send an
		   empty message, which the server must refuse or drop */
		code = smtpc_cmd(c, to, ".");
		return code > 0;
	}
	buf_reset(&c->out);
	struct buf body;
	buf_init(&body, m->len * 2 + 16);
	if (smtpc_dot_encode(m->data, m->len, cfg->line_limit, &body) < 0) {
		buf_deinit(&body);
		smtpc_set_all(rcpts, n, DELIVER_DEFER, "4.3.0",
			      "cannot encode message");
		return 0;
	}
	struct buf saved = c->out;
	c->out = body;
	int fr = smtpc_flush(c, cfg->data_timeout);
	body = c->out;
	c->out = saved;
	buf_deinit(&body);
	code = fr < 0 ? -1 : smtpc_reply(c, cfg->data_timeout);
	if (code < 0) {
		smtpc_lost(c, &r, "message body");
	} else {
		smtpc_result(c, &r, "end of DATA");
		if (r.status == DELIVER_OK)
			str_fmt_trunc(r.text, sizeof(r.text), "%d %s", code,
				      c->reply + 4);
	}
	for (size_t i = 0; i < n; i++)
		if (rcpts[i].res.status == DELIVER_OK)
			rcpts[i].res = r;
	return code > 0;
lost_mail:
	buf_deinit(&par);
	smtpc_lost(c, &r, "MAIL FROM");
	smtpc_set_all(rcpts, n, r.status, r.dsn, r.text);
	return -1;
}

/* A cached connection for key that still answers RSET, or NULL. */
static struct smtpc_conn *smtpc_reuse(const struct smtpc_cfg *cfg,
				      const char *key)
{
	struct smtpc_conn *c;
	while ((c = smtpc_cache_take(key)) != NULL) {
		if (smtpc_cmd(c, cfg->cmd_timeout, "RSET") == 250)
			return c;
		smtpc_conn_free(&c);
	}
	return NULL;
}

/* Tries every address of host.  1: a server took the transaction (c is
   the connection, maybe closed); 0: next host (c->err). */
static int smtpc_try_host(const struct smtpc_cfg *cfg, struct smtpc_conn *c,
			  const char *host, unsigned port,
			  const struct smtpc_msg *m, struct smtpc_rcpt *rcpts,
			  size_t n, int *keep_r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	char portstr[8];
	str_fmt_trunc(portstr, sizeof(portstr), "%u", port);
	int g = getaddrinfo(host, portstr, &hints, &res);
	if (g != 0) {
		c->errdsn[0] = '\0';
		str_fmt_trunc(
		    c->err, sizeof(c->err),
		    "Host or domain name not found. Name service error "
		    "for name=%s type=A: %s",
		    host, gai_strerror(g));
		return 0;
	}
	int done = 0;
	for (ai = res; ai != NULL && !done; ai = ai->ai_next) {
		str_fmt_trunc(c->host, sizeof(c->host), "%s", host);
		c->port = port;
		c->errdsn[0] = '\0';
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, c->addr,
				sizeof(c->addr), NULL, 0, NI_NUMERICHOST) != 0)
			str_fmt_trunc(c->addr, sizeof(c->addr), "?");
		c->fd = smtpc_connect_addr(ai, cfg->connect_timeout);
		if (c->fd < 0) {
			str_fmt_trunc(c->err, sizeof(c->err),
				      "connect to %s[%s]:%u: %s", host, c->addr,
				      port, strerror(errno));
			continue;
		}
		c->born = time(NULL);
		if (smtpc_hello(cfg, c) < 0) {
			smtpc_conn_close(c);
			continue;
		}
		*keep_r = smtpc_transaction(cfg, c, m, rcpts, n);
		done = 1;
	}
	freeaddrinfo(res);
	return done;
}

static enum smtpc_tls smtpc_level_name(const char *v, size_t len, bool *ok)
{
	static const struct {
		const char *name;
		enum smtpc_tls level;
	} levels[] = {
	    {"none", SMTPC_TLS_NONE},	  {"may", SMTPC_TLS_MAY},
	    {"dane", SMTPC_TLS_MAY},	  {"encrypt", SMTPC_TLS_ENCRYPT},
	    {"verify", SMTPC_TLS_VERIFY}, {"secure", SMTPC_TLS_VERIFY}};
	*ok = true;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strlen(levels[i].name) == len &&
		    strncasecmp(v, levels[i].name, len) == 0)
			return levels[i].level;
	*ok = false;
	return SMTPC_TLS_MAY;
}

int smtpc_tls_policy(const struct smtpc_cfg *cfg, const char *nexthop,
		     enum smtpc_tls *level_r, char *why, size_t why_sz)
{
	char key[MX_NAME_MAX + 16], val[MAP_VALUE_MAX], host[MX_NAME_MAX];
	unsigned port;
	bool mx;
	*level_r = cfg->tls_level;
	if (cfg->tls_policy == NULL)
		return 0;
	str_fmt_trunc(key, sizeof(key), "%s", nexthop);
	enum map_status st = map_lookup(cfg->tls_policy, key, val, sizeof(val));
	if (st == MAP_NOTFOUND &&
	    smtpc_parse_nexthop(nexthop, host, sizeof(host), &port, &mx) == 0 &&
	    mx) {
		/* the domain, then ".parent" entries for its subdomains */
		const char *d = host;
		bool first = true;
		while (st == MAP_NOTFOUND && d != NULL && *d != '\0') {
			str_fmt_trunc(key, sizeof(key), "%s%s",
				      first ? "" : ".", d);
			st = map_lookup(cfg->tls_policy, key, val, sizeof(val));
			first = false;
			d = strchr(d, '.');
			if (d != NULL)
				d++;
		}
	}
	if (st == MAP_TEMPFAIL) {
		str_fmt_trunc(why, why_sz,
			      "TLS policy lookup for %s: table lookup failure",
			      nexthop);
		return -1;
	}
	if (st == MAP_NOTFOUND)
		return 0;
	/* "level" alone: attributes (match=, protocols=...) are refused
	   rather than ignored, a policy we cannot honour must not pass */
	const char *v = val + strspn(val, " \t");
	size_t len = strcspn(v, " \t");
	bool ok;
	*level_r = smtpc_level_name(v, len, &ok);
	if (!ok || v[len + strspn(v + len, " \t")] != '\0') {
		str_fmt_trunc(why, why_sz,
			      "TLS policy lookup for %s: invalid TLS policy "
			      "\"%.100s\"",
			      nexthop, val);
		return -1;
	}
	return 0;
}

int smtpc_deliver(const struct smtpc_cfg *cfg, const char *nexthop,
		  const struct smtpc_msg *m, struct smtpc_rcpt *rcpts, size_t n,
		  char *relay_r, size_t relay_sz)
{
	char host[MX_NAME_MAX], why[400];
	unsigned port;
	bool use_mx;
	struct mx_host mx[MX_HOSTS_MAX];
	size_t nmx = 0;
	int keep = 0;
	enum smtpc_tls level;

	str_fmt_trunc(relay_r, relay_sz, "none");
	for (size_t i = 0; i < n; i++) {
		rcpts[i].res.status = DELIVER_DEFER;
		rcpts[i].dsn_passed = false;
	}
	if (smtpc_parse_nexthop(nexthop, host, sizeof(host), &port, &use_mx) <
	    0) {
		smtpc_set_all(rcpts, n, DELIVER_DEFER, "4.3.5",
			      "bad next-hop specification");
		return -1;
	}
	if (smtpc_tls_policy(cfg, nexthop, &level, why, sizeof(why)) < 0) {
		log_warning("%s", why);
		smtpc_set_all(rcpts, n, DELIVER_DEFER, "4.7.5", why);
		return -1;
	}
	/* a cached connection to this next hop saves DNS, TCP, TLS */
	struct smtpc_conn *c =
	    cfg->cache_time > 0 ? smtpc_reuse(cfg, nexthop) : NULL;
	if (c != NULL && c->tls_level != level) {
		smtpc_quit(&c, cfg->cmd_timeout); /* the policy changed */
	} else if (c != NULL) {
		keep = smtpc_transaction(cfg, c, m, rcpts, n);
		str_fmt_trunc(relay_r, relay_sz, "%s[%s]:%u", c->host, c->addr,
			      c->port);
		if (keep >= 0)
			goto done;
		/* it died between transactions (an idle timeout on the
		   other side): once more on a fresh connection */
		log_info("%s: cached connection to %s[%s]:%u lost: %s; "
			 "reconnecting",
			 nexthop, c->host, c->addr, c->port, rcpts[0].res.text);
		smtpc_conn_free(&c);
		str_fmt_trunc(relay_r, relay_sz, "none");
		for (size_t i = 0; i < n; i++)
			memset(&rcpts[i].res, 0, sizeof(rcpts[i].res));
		smtpc_set_all(rcpts, n, DELIVER_DEFER, "4.4.1", "");
	}
	if (use_mx) {
		enum mx_status st = mx_lookup(host, mx, MX_HOSTS_MAX, &nmx);
		if (st == MX_NOTFOUND || st == MX_TEMPFAIL) {
			char t[400];
			str_fmt_trunc(
			    t, sizeof(t),
			    "Host or domain name not found. Name service "
			    "error for name=%s type=MX: Host not found%s",
			    host, st == MX_TEMPFAIL ? ", try again" : "");
			smtpc_set_all(rcpts, n,
				      st == MX_TEMPFAIL ? DELIVER_DEFER
							: DELIVER_BOUNCE,
				      st == MX_TEMPFAIL ? "4.4.3" : "5.1.2", t);
			return -1;
		}
	}
	if (nmx == 0) {
		nmx = 1;
		mx[0].pref = 0;
		str_fmt_trunc(mx[0].host, sizeof(mx[0].host), "%s", host);
	}
	c = smtpc_conn_new();
	str_fmt_trunc(c->key, sizeof(c->key), "%s", nexthop);
	str_fmt_trunc(c->err, sizeof(c->err), "no usable host");
	c->tls_level = level;
	int done = 0;
	for (size_t i = 0; i < nmx && !done; i++)
		done = smtpc_try_host(cfg, c, mx[i].host, port, m, rcpts, n,
				      &keep);
	if (!done) {
		smtpc_set_all(rcpts, n, DELIVER_DEFER,
			      c->errdsn[0] != '\0' ? c->errdsn : "4.4.1",
			      c->err);
		smtpc_conn_free(&c);
		return 0;
	}
	str_fmt_trunc(relay_r, relay_sz, "%s[%s]:%u", c->host, c->addr,
		      c->port);
done:
	if (keep > 0 && c->fd >= 0 && cfg->cache_time > 0)
		smtpc_cache_put(cfg, c);
	else
		smtpc_quit(&c, cfg->cmd_timeout);
	return 1;
}
