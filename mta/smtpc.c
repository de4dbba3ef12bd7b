/*
 * SMTP client (see smtpc.h).  One connection per attempt; commands are
 * sent one at a time (no PIPELINING), which keeps the per-recipient
 * bookkeeping obvious.
 */
#include "smtpc.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mxlookup.h"
#include "ev.h"
#include "log.h"
#include "net.h"
#include "str.h"
#include "tls.h"

#define SMTPC_REPLY_MAX 4096
#define SMTPC_IN_MAX	16384
#define SMTPC_OUT_CHUNK 65536
#define SMTPC_PORT	25

struct smtpc_conn {
	int fd;
	struct tls_conn *tls;
	struct buf in, out;
	char host[MX_NAME_MAX];
	char addr[NET_ADDR_MAX];
	unsigned port;
	bool starttls, ehlo;
	char reply[SMTPC_REPLY_MAX]; /* last reply, lines joined by ' ' */
	int code;
	char err[256]; /* why the conversation broke */
};

/* snprintf that truncates on purpose (replies, reasons for logs) */
__attribute__((format(printf, 3, 4))) static void
smtpc_fmt(char *out, size_t sz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, sz, fmt, ap);
	va_end(ap);
	if (n < 0 && sz > 0)
		out[0] = '\0';
}

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

int smtpc_dot_encode(const char *msg, size_t len, struct buf *out)
{
	bool bol = true;
	for (size_t i = 0; i < len; i++) {
		char c = msg[i];
		if (bol && c == '.' && buf_append_char(out, '.') < 0)
			return -1;
		if (c == '\n') {
			if (buf_append(out, "\r\n", 2) < 0)
				return -1;
			bol = true;
			continue;
		}
		if (buf_append_char(out, c) < 0)
			return -1;
		bol = false;
	}
	if (!bol && buf_append(out, "\r\n", 2) < 0)
		return -1;
	return buf_append(out, ".\r\n", 3);
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
			smtpc_fmt(c->err, sizeof(c->err), "write: %s",
				  c->tls != NULL ? tls_conn_error(c->tls)
						 : strerror(errno));
			return -1;
		}
		if (r == 0 &&
		    smtpc_wait(c->fd, want, (int)timeout * 1000) < 0) {
			smtpc_fmt(c->err, sizeof(c->err), "write: %s",
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
			smtpc_fmt(c->err, sizeof(c->err), "%s",
				  errno == 0 ? "lost connection"
					     : strerror(errno));
			return -1;
		}
		if (smtpc_wait(c->fd, want, (int)timeout * 1000) < 0) {
			smtpc_fmt(c->err, sizeof(c->err), "read: %s",
				  strerror(errno));
			return -1;
		}
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
			smtpc_fmt(c->err, sizeof(c->err), "malformed reply");
			return -1;
		}
		int code = (line.p[0] - '0') * 100 + (line.p[1] - '0') * 10 +
			   (line.p[2] - '0');
		bool more = line.len > 3 && line.p[3] == '-';
		struct str text = {line.p + (line.len > 3 ? 4 : 3),
				   line.len > 3 ? line.len - 4 : 0};
		if (str_case_eq_cstr(text, "STARTTLS"))
			c->starttls = true;
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
		smtpc_fmt(c->err, sizeof(c->err), "command too long");
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
		smtpc_fmt(rcpts[i].res.dsn, sizeof(rcpts[i].res.dsn), "%s",
			  dsn);
		smtpc_fmt(rcpts[i].res.text, sizeof(rcpts[i].res.text), "%s",
			  text);
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
	smtpc_fmt(out, sz, "%d.0.0", code / 100);
}

static void smtpc_result(struct smtpc_conn *c, struct deliver_result *r,
			 const char *stage)
{
	smtpc_dsn_of(c->reply, c->code, r->dsn, sizeof(r->dsn));
	r->status = c->code < 300   ? DELIVER_OK
		    : c->code < 500 ? DELIVER_DEFER
				    : DELIVER_BOUNCE;
	if (r->status == DELIVER_OK)
		smtpc_fmt(r->text, sizeof(r->text), "%s", c->reply);
	else
		smtpc_fmt(r->text, sizeof(r->text),
			  "host %s[%s] said: %s (in reply to %s command)",
			  c->host, c->addr, c->reply, stage);
}

/*
 * One conversation over a connected fd.  Returns 1 when the recipients
 * got their final answers, 0 when the next host should be tried (greeting
 * or EHLO trouble, TLS failure, a lost connection before MAIL), with
 * c->err set.
 */
static int smtpc_session(const struct smtpc_cfg *cfg, struct smtpc_conn *c,
			 const char *sender, const char *msg, size_t len,
			 struct smtpc_rcpt *rcpts, size_t n)
{
	char text[600];
	int code = smtpc_reply(c, cfg->cmd_timeout);
	if (code < 0)
		return 0;
	if (code != 220) {
		smtpc_fmt(c->err, sizeof(c->err),
			  "host %s[%s] refused to talk to me: %s", c->host,
			  c->addr, c->reply);
		return 0;
	}
	c->starttls = false;
	code = smtpc_cmd(c, cfg->cmd_timeout, "EHLO %s", cfg->helo_name);
	if (code >= 500)
		code =
		    smtpc_cmd(c, cfg->cmd_timeout, "HELO %s", cfg->helo_name);
	if (code != 250) {
		if (code > 0)
			smtpc_fmt(c->err, sizeof(c->err),
				  "host %s[%s] said: %s (in reply to EHLO "
				  "command)",
				  c->host, c->addr, c->reply);
		return 0;
	}
	if (c->starttls && cfg->tls != NULL &&
	    cfg->tls_level != SMTPC_TLS_NONE) {
		code = smtpc_cmd(c, cfg->cmd_timeout, "STARTTLS");
		if (code == 220) {
			unsigned want = 0;
			c->tls = tls_conn_new(cfg->tls, c->fd, c->host);
			if (c->tls == NULL) {
				smtpc_fmt(c->err, sizeof(c->err),
					  "TLS setup failed");
				return 0;
			}
			int r;
			while ((r = tls_starttls(c->tls, &c->in, &want)) == 0)
				if (smtpc_wait(c->fd, want,
					       (int)cfg->cmd_timeout * 1000) <
				    0)
					break;
			if (r != 1) {
				smtpc_fmt(
				    c->err, sizeof(c->err),
				    "TLS handshake with %s[%s] failed: %s",
				    c->host, c->addr, tls_conn_error(c->tls));
				return 0;
			}
			log_info("Anonymous TLS connection established to "
				 "%s[%s]:%u: %s with cipher %s",
				 c->host, c->addr, c->port,
				 tls_conn_version(c->tls),
				 tls_conn_cipher(c->tls));
			if (smtpc_cmd(c, cfg->cmd_timeout, "EHLO %s",
				      cfg->helo_name) != 250)
				return 0;
		}
	}
	if (c->tls == NULL && cfg->tls_level == SMTPC_TLS_ENCRYPT) {
		smtpc_fmt(c->err, sizeof(c->err),
			  "TLS is required, but was not offered by host "
			  "%s[%s]",
			  c->host, c->addr);
		return 0;
	}
	code = smtpc_cmd(c, cfg->cmd_timeout, "MAIL FROM:<%s>", sender);
	if (code < 0)
		return 0;
	if (code != 250) {
		struct deliver_result r;
		smtpc_result(c, &r, "MAIL FROM");
		smtpc_set_all(rcpts, n, r.status, r.dsn, r.text);
		return 1;
	}
	size_t accepted = 0;
	for (size_t i = 0; i < n; i++) {
		code = smtpc_cmd(c, cfg->cmd_timeout, "RCPT TO:<%s>",
				 rcpts[i].addr);
		if (code < 0) {
			smtpc_fmt(text, sizeof(text),
				  "lost connection with %s[%s] while sending "
				  "RCPT TO: %s",
				  c->host, c->addr, c->err);
			smtpc_set_all(rcpts + i, n - i, DELIVER_DEFER, "4.4.2",
				      text);
			smtpc_set_all(rcpts, i, DELIVER_DEFER, "4.4.2", text);
			return 1;
		}
		smtpc_result(c, &rcpts[i].res, "RCPT TO");
		if (code == 250 || code == 251)
			accepted++;
	}
	if (accepted == 0) {
		(void)smtpc_cmd(c, cfg->cmd_timeout, "QUIT");
		return 1;
	}
	code = smtpc_cmd(c, cfg->cmd_timeout, "DATA");
	if (code != 354) {
		struct deliver_result r;
		if (code < 0) {
			r.status = DELIVER_DEFER;
			smtpc_fmt(r.dsn, sizeof(r.dsn), "4.4.2");
			smtpc_fmt(r.text, sizeof(r.text),
				  "lost connection with %s[%s] while sending "
				  "DATA",
				  c->host, c->addr);
		} else {
			smtpc_result(c, &r, "DATA");
		}
		for (size_t i = 0; i < n; i++)
			if (rcpts[i].res.status == DELIVER_OK)
				rcpts[i].res = r;
		return 1;
	}
	buf_reset(&c->out);
	struct buf body;
	buf_init(&body, len * 2 + 16);
	if (smtpc_dot_encode(msg, len, &body) < 0) {
		buf_deinit(&body);
		smtpc_set_all(rcpts, n, DELIVER_DEFER, "4.3.0",
			      "cannot encode message");
		return 1;
	}
	struct buf saved = c->out;
	c->out = body;
	int fr = smtpc_flush(c, cfg->data_timeout);
	body = c->out;
	c->out = saved;
	buf_deinit(&body);
	code = fr < 0 ? -1 : smtpc_reply(c, cfg->data_timeout);
	struct deliver_result r;
	if (code < 0) {
		r.status = DELIVER_DEFER;
		smtpc_fmt(r.dsn, sizeof(r.dsn), "4.4.2");
		smtpc_fmt(r.text, sizeof(r.text),
			  "lost connection with %s[%s] while sending message "
			  "body: %s",
			  c->host, c->addr, c->err);
	} else {
		smtpc_result(c, &r, "end of DATA");
		if (r.status == DELIVER_OK)
			smtpc_fmt(r.text, sizeof(r.text), "%d %s", code,
				  c->reply + 4);
	}
	for (size_t i = 0; i < n; i++)
		if (rcpts[i].res.status == DELIVER_OK)
			rcpts[i].res = r;
	if (code > 0)
		(void)smtpc_cmd(c, cfg->cmd_timeout, "QUIT");
	return 1;
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

/* Tries every address of host.  1 done, 0 next host (c->err). */
static int smtpc_try_host(const struct smtpc_cfg *cfg, struct smtpc_conn *c,
			  const char *host, unsigned port, const char *sender,
			  const char *msg, size_t len, struct smtpc_rcpt *rcpts,
			  size_t n)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	char portstr[8];
	smtpc_fmt(portstr, sizeof(portstr), "%u", port);
	int g = getaddrinfo(host, portstr, &hints, &res);
	if (g != 0) {
		smtpc_fmt(c->err, sizeof(c->err),
			  "Host or domain name not "
			  "found. Name service error "
			  "for name=%s: %s",
			  host, gai_strerror(g));
		return 0;
	}
	int done = 0;
	for (ai = res; ai != NULL && !done; ai = ai->ai_next) {
		smtpc_fmt(c->host, sizeof(c->host), "%s", host);
		c->port = port;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, c->addr,
				sizeof(c->addr), NULL, 0, NI_NUMERICHOST) != 0)
			smtpc_fmt(c->addr, sizeof(c->addr), "?");
		c->fd = smtpc_connect_addr(ai, cfg->connect_timeout);
		if (c->fd < 0) {
			smtpc_fmt(c->err, sizeof(c->err),
				  "connect to %s[%s]:%u: %s", host, c->addr,
				  port, strerror(errno));
			continue;
		}
		done = smtpc_session(cfg, c, sender, msg, len, rcpts, n);
		smtpc_conn_close(c);
	}
	freeaddrinfo(res);
	return done;
}

void smtpc_deliver(const struct smtpc_cfg *cfg, const char *domain,
		   const char *sender, const char *msg, size_t len,
		   struct smtpc_rcpt *rcpts, size_t n, char *relay_r,
		   size_t relay_sz)
{
	struct smtpc_conn c = {.fd = -1};
	char host[MX_NAME_MAX];
	unsigned port;
	bool use_mx;
	struct mx_host mx[MX_HOSTS_MAX];
	size_t nmx = 0;

	smtpc_fmt(relay_r, relay_sz, "none");
	for (size_t i = 0; i < n; i++)
		rcpts[i].res.status = DELIVER_DEFER;
	const char *spec = cfg->relayhost[0] != '\0' ? cfg->relayhost : domain;
	if (smtpc_parse_nexthop(spec, host, sizeof(host), &port, &use_mx) < 0) {
		smtpc_set_all(rcpts, n, DELIVER_DEFER, "4.3.5",
			      "bad next-hop specification");
		return;
	}
	if (use_mx) {
		enum mx_status st = mx_lookup(host, mx, MX_HOSTS_MAX, &nmx);
		if (st == MX_NOTFOUND) {
			char t[400];
			smtpc_fmt(t, sizeof(t),
				  "Host or domain name not found. Name service "
				  "error for name=%s type=MX: Host not found",
				  host);
			smtpc_set_all(rcpts, n, DELIVER_BOUNCE, "5.1.2", t);
			return;
		}
		if (st == MX_TEMPFAIL) {
			char t[400];
			smtpc_fmt(t, sizeof(t),
				  "Host or domain name not found. Name service "
				  "error for name=%s type=MX: Host not found, "
				  "try again",
				  host);
			smtpc_set_all(rcpts, n, DELIVER_DEFER, "4.4.3", t);
			return;
		}
	}
	if (nmx == 0) {
		nmx = 1;
		mx[0].pref = 0;
		smtpc_fmt(mx[0].host, sizeof(mx[0].host), "%s", host);
	}
	buf_init(&c.in, SMTPC_IN_MAX);
	buf_init(&c.out, SMTPC_OUT_CHUNK);
	smtpc_fmt(c.err, sizeof(c.err), "no usable host");
	int done = 0;
	for (size_t i = 0; i < nmx && !done; i++)
		done = smtpc_try_host(cfg, &c, mx[i].host, port, sender, msg,
				      len, rcpts, n);
	if (done)
		smtpc_fmt(relay_r, relay_sz, "%s[%s]:%u", c.host, c.addr,
			  c.port);
	else
		smtpc_set_all(rcpts, n, DELIVER_DEFER, "4.4.1", c.err);
	buf_deinit(&c.in);
	buf_deinit(&c.out);
}
