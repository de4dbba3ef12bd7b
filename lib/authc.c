/*
 * youju-authd client (see authc.h).  Connect, write the request, read to
 * EOF under one deadline (poll on a non-blocking socket; a kept-alive
 * connection instead blocks in recv() under socket timeouts), then classify the
 * reply the way libcourierauth does (reference/authd-protocol.md §3.3): a
 * "." line is success, "FAIL" rejection, anything else a temporary
 * failure.
 */
#include "authc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "authc_cache.h"
#include "buf.h"
#include "xalloc.h"

static unsigned authc_timeout_ms = AUTHC_TIMEOUT_MS;

void authc_set_timeout(unsigned ms)
{
	if (ms > 0)
		authc_timeout_ms = ms;
}

void authc_reply_free(struct authc_reply *r)
{
	for (size_t i = 0; i < r->n; i++) {
		/* PASSWD2 echoes a password */
		explicit_bzero(r->kv[i].value, strlen(r->kv[i].value));
		free(r->kv[i].key);
		free(r->kv[i].value);
	}
	free(r->kv);
	r->kv = NULL;
	r->n = 0;
}

const char *authc_get(const struct authc_reply *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->kv[i].key, key) == 0)
			return r->kv[i].value;
	}
	return NULL;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline: 1 ready, -1 timeout/error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = {fd, events, 0};
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int parse_reply(const char *data, size_t len, struct authc_reply *r)
{
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL)
			return -1;
		size_t l = (size_t)(lf - p);
		if (l == 1 && p[0] == '.')
			return lf + 1 == end ? 0 : -1;
		const char *eq = memchr(p, '=', l);
		if (eq != NULL && r != NULL) {
			r->kv = xrealloc(r->kv, (r->n + 1) * sizeof(*r->kv));
			r->kv[r->n].key = xmemdup0(p, (size_t)(eq - p));
			r->kv[r->n].value =
			    xmemdup0(eq + 1, (size_t)(lf - eq - 1));
			r->n++;
		}
		p = lf + 1;
	}
	return -1; /* no "." line */
}

/* ---- connections ---------------------------------------------------- */

/* One kept-alive connection per thread (authc_set_keepalive). */
struct authc_conn {
	int fd;
	unsigned gen; /* authc_forks when kept: a forked child must not
			 talk on its parent's */
	int64_t last_ms;
	bool blocking;	   /* reads wait in recv() (see kept_blocking()) */
	unsigned timeo_ms; /* its socket timeouts then */
	dev_t dev;	   /* the socket file it was opened on */
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static bool authc_keepalive;
/* forks since start (pthread_atfork): cheaper than a getpid() per request */
static unsigned authc_forks;
static pthread_once_t authc_once = PTHREAD_ONCE_INIT;
static pthread_key_t authc_key;
static bool authc_key_ok;

static void authc_conn_free(void *p)
{
	struct authc_conn *c = p;
	/* closing (never shutdown) is harmless even to a parent's */
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void authc_forked(void)
{
	authc_forks++;
}

static void authc_key_init(void)
{
	authc_key_ok = pthread_atfork(NULL, NULL, authc_forked) == 0 &&
		       pthread_key_create(&authc_key, authc_conn_free) == 0;
}

void authc_set_keepalive(bool on)
{
	authc_keepalive = on;
	if (on)
		pthread_once(&authc_once, authc_key_init);
}

/* The fd kept for socket_path by this thread, taken out of the slot;
   -1 when there is none, or it is too old to trust, or socket_path no
   longer names the socket it was opened on (the daemon was restarted,
   or the socket taken away to cut clients off). */
static int pool_take(const char *socket_path, int64_t now,
		     const struct stat *sock, bool *blocking_r)
{
	if (!authc_key_ok)
		return -1;
	struct authc_conn *c = pthread_getspecific(authc_key);
	if (c == NULL || c->fd < 0)
		return -1;
	int fd = c->fd;
	c->fd = -1;
	*blocking_r = c->blocking;
	/* a blocking one waits as long as the timeout when it was kept */
	bool timeo_ok = !c->blocking || c->timeo_ms == authc_timeout_ms;
	if (c->gen != authc_forks || !timeo_ok ||
	    now - c->last_ms > AUTHC_KEEPALIVE_IDLE_MS ||
	    strcmp(c->path, socket_path) != 0 || sock->st_dev != c->dev ||
	    sock->st_ino != c->ino) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Keeps fd, opened on the socket file st, for the next request of this
   thread, or closes it. */
static void pool_put(const char *socket_path, int fd, bool blocking,
		     const struct stat *st)
{
	struct authc_conn *c =
	    authc_key_ok ? pthread_getspecific(authc_key) : NULL;
	size_t pl = strlen(socket_path);
	if (c == NULL && authc_key_ok) {
		c = xcalloc(1, sizeof(*c));
		c->fd = -1;
		if (pthread_setspecific(authc_key, c) != 0) {
			free(c);
			c = NULL;
		}
	}
	if (c == NULL || pl >= sizeof(c->path)) {
		close(fd);
		return;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = fd;
	c->blocking = blocking;
	c->timeo_ms = authc_timeout_ms;
	c->gen = authc_forks;
	c->last_ms = mono_ms();
	c->dev = st->st_dev;
	c->ino = st->st_ino;
	memcpy(c->path, socket_path, pl + 1);
}

static int connect_to(const char *socket_path, bool *connected_r)
{
	*connected_r = false;
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t pl = strlen(socket_path);
	if (pl >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, socket_path, pl + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		*connected_r = true;
	} else if (errno != EINPROGRESS && errno != EAGAIN) {
		close(fd);
		return -1;
	}
	return fd;
}

/* SO_RCVTIMEO and SO_SNDTIMEO of fd: ms milliseconds (> 0). */
static int set_timeouts(int fd, int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return 0;
}

/*
 * A connection to be kept, once connected, reads in blocking recv() calls
 * bounded by SO_RCVTIMEO (and sends under SO_SNDTIMEO) of the whole
 * request's deadline, instead of a poll() before each recv(): one system
 * call fewer per lookup, for three once per connection.  True when fd is
 * now so.
 */
static bool kept_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl >= 0 && set_timeouts(fd, authc_timeout_ms) == 0 &&
	       fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0;
}

bool authc_reply_framed(const char *p, size_t len)
{
	/* a REUSE=1 reply starts with its TTL line (authc_cache.h) */
	uint64_t ttl;
	bool bad;
	long skip = authc_reply_ttl(p, len, &ttl, &bad);
	if (skip < 0)
		return bad; /* malformed: nothing more to wait for */
	p += skip;
	len -= (size_t)skip;
	if (len == 5 && memcmp(p, "FAIL\n", 5) == 0)
		return true;
	return (len == 2 && memcmp(p, ".\n", 2) == 0) ||
	       (len > 2 && memcmp(p + len - 3, "\n.\n", 3) == 0);
}

/*
 * One exchange on fd: send, then read to EOF (or, keep: to the end of the
 * reply).  0 reply read (in holds it; *eof_r whether the server closed),
 * -1 failure; *got_r is how many reply bytes arrived.  blocking: fd is a
 * kept_blocking() one (its calls wait themselves, up to deadline); *cut_r
 * set when its timeouts were shortened to meet the deadline.
 */
static int exchange(int fd, const void *req, size_t len, bool keep,
		    bool blocking, int64_t deadline, struct buf *in,
		    bool *eof_r, size_t *got_r, bool *cut_r)
{
	*eof_r = false;
	*got_r = 0;
	size_t off = 0;
	/* a request fits in the socket's buffer: send first, poll only
	   when it is full (one system call fewer per request) */
	bool full = false;
	while (off < len) {
		if (full && wait_fd(fd, POLLOUT, deadline) < 0)
			return -1;
		ssize_t n =
		    send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);
		full = n < 0 && errno == EAGAIN;
		if (blocking && full)
			return -1; /* SO_SNDTIMEO passed */
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	for (;;) {
		char chunk[4096];
		if (!blocking && wait_fd(fd, POLLIN, deadline) < 0)
			return -1;
		int64_t left = blocking ? deadline - mono_ms() : 1;
		if (left <= 0)
			return -1;
		if (blocking &&
		    (*got_r > 0 || left + 1000 < (int64_t)authc_timeout_ms)) {
			/* a reply in pieces, or a second connection after a
			   kept one failed (both rare): only the time left
			   (request() restores the timeouts of a connection
			   it keeps) */
			if (set_timeouts(fd, left) < 0)
				return -1;
			*cut_r = true;
		}
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && blocking && errno == EAGAIN)
			return -1; /* SO_RCVTIMEO passed */
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			*eof_r = true;
			return 0;
		}
		*got_r += (size_t)n;
		if (buf_append(in, chunk, (size_t)n) < 0)
			return -1;
		if (keep && authc_reply_framed(in->p, in->len))
			return 0;
	}
}

/* One "KEY=value\n" of a FAILDELAY reply at *p: DELAY (1 to 9 digits) or
   REASON (1 to 16 lower-case letters).  Appended to r (may be NULL).
   Returns 0, or -1 when malformed. */
static int fail_line(const char **p, const char *end, const char *key,
		     bool digits, struct authc_reply *r)
{
	size_t k = strlen(key), d = 0;
	const char *v = *p;
	if ((size_t)(end - v) < k + 2 || memcmp(v, key, k) != 0 || v[k] != '=')
		return -1;
	v += k + 1;
	while (
	    v + d < end && v[d] != '\n' &&
	    (digits ? v[d] >= '0' && v[d] <= '9' : v[d] >= 'a' && v[d] <= 'z'))
		d++;
	if (d == 0 || d > (digits ? 9u : 16u) || v + d >= end || v[d] != '\n')
		return -1;
	if (r != NULL) {
		r->kv = xrealloc(r->kv, (r->n + 1) * sizeof(*r->kv));
		r->kv[r->n].key = xstrdup(key);
		r->kv[r->n].value = xmemdup0(v, d);
		r->n++;
	}
	*p = v + d + 1;
	return 0;
}

static int fail_extra(const char *p, const char *end,
		      struct authc_reply *reply_r)
{
	struct authc_reply r = {NULL, 0};
	int rc = fail_line(&p, end, "DELAY", true, &r);
	if (rc == 0 && p < end)
		rc = fail_line(&p, end, "REASON", false, &r);
	if (rc == 0 && p != end)
		rc = -1;
	if (rc == 0 && reply_r != NULL)
		*reply_r = r;
	else
		authc_reply_free(&r);
	return rc;
}

enum authc_status authc_reply_classify(const char *p, size_t len,
				       struct authc_reply *reply_r)
{
	struct authc_reply tmp = {NULL, 0};
	enum authc_status st = AUTHC_TEMPFAIL;
	if (len == 5 && memcmp(p, "FAIL\n", 5) == 0) {
		st = AUTHC_NOTFOUND;
	} else if (len > 5 && memcmp(p, "FAIL\n", 5) == 0) {
		/* FAILDELAY=1: "FAIL\nDELAY=<ms>\n", then "REASON=<word>\n"
		   when the password was right; nothing else */
		if (fail_extra(p + 5, p + len, reply_r) == 0)
			st = AUTHC_NOTFOUND;
	} else if (len == 3 && memcmp(p, "OK\n", 3) == 0) {
		st = AUTHC_OK;
	} else if (len > 0 && parse_reply(p, len, &tmp) == 0) {
		st = AUTHC_OK;
		if (reply_r != NULL) {
			*reply_r = tmp;
			tmp.kv = NULL;
			tmp.n = 0;
		}
	}
	authc_reply_free(&tmp);
	return st;
}

/* Classifies a whole reply; with body_r, after its TTL line (which a
   REUSE=1 reply must have), keeping the rest in body_r. */
static enum authc_status classify_reuse(const struct buf *in,
					struct authc_reply *reply_r,
					uint64_t *ttl_r, struct buf *body_r)
{
	if (body_r == NULL)
		return authc_reply_classify(in->p, in->len, reply_r);
	bool bad;
	long skip = authc_reply_ttl(in->p, in->len, ttl_r, &bad);
	if (skip < 0)
		return AUTHC_TEMPFAIL;
	const char *p = in->p + skip;
	size_t n = in->len - (size_t)skip;
	enum authc_status st = authc_reply_classify(p, n, reply_r);
	if (st != AUTHC_TEMPFAIL && buf_append(body_r, p, n) < 0)
		*ttl_r = 0; /* too big to keep */
	return st;
}

/* keep: the request asked for KEEPALIVE=1 (a LOOKUP or MAPLOOKUP).
   body_r (may be NULL: no REUSE=1 was asked) gets the reply without its
   TTL line, *ttl_r the line's lifetime (0: none). */
static enum authc_status request(const char *socket_path, const void *req,
				 size_t len, bool keep,
				 struct authc_reply *reply_r, uint64_t *ttl_r,
				 struct buf *body_r)
{
	if (reply_r != NULL)
		memset(reply_r, 0, sizeof(*reply_r));
	int64_t deadline = mono_ms() + authc_timeout_ms;
	/* keep: the reply is framed; pool: the connection may be kept */
	struct stat sock;
	bool pool = keep && stat(socket_path, &sock) == 0;
	bool blocking = false;
	int fd =
	    pool ? pool_take(socket_path, mono_ms(), &sock, &blocking) : -1;
	bool reused = fd >= 0;
	enum authc_status st = AUTHC_TEMPFAIL;
	struct buf in;
	buf_init(&in, AUTHC_REPLY_MAX);
	for (;;) {
		if (fd < 0) {
			bool connected;
			if ((fd = connect_to(socket_path, &connected)) < 0)
				break;
			blocking = pool && connected && kept_blocking(fd);
		}
		bool eof;
		size_t got;
		bool cut = false;
		int r = exchange(fd, req, len, keep, blocking, deadline, &in,
				 &eof, &got, &cut);
		if ((r < 0 || eof) && got == 0 && reused) {
			/* the server closed the kept connection meanwhile
			   (idle timeout, restart): lookups are idempotent,
			   so ask again on a new one */
			close(fd);
			fd = -1;
			reused = false;
			continue;
		}
		if (r == 0)
			st = classify_reuse(&in, reply_r, ttl_r, body_r);
		if (r == 0 && pool && !eof && st != AUTHC_TEMPFAIL &&
		    (!cut || set_timeouts(fd, authc_timeout_ms) == 0)) {
			pool_put(socket_path, fd, blocking, &sock);
			fd = -1;
		}
		break;
	}
	if (fd >= 0)
		close(fd);
	buf_wipe(&in);
	buf_deinit(&in);
	return st;
}

enum authc_status authc_request(const char *socket_path, const void *req,
				size_t len, struct authc_reply *reply_r)
{
	return request(socket_path, req, len, false, reply_r, NULL, NULL);
}

static bool clean(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20)
			return false;
	}
	return true;
}

static enum authc_status send_built(const char *socket_path, struct buf *b,
				    int rc, struct authc_reply *reply_r)
{
	enum authc_status st = AUTHC_TEMPFAIL;
	if (rc == 0)
		st = request(socket_path, b->p, b->len, false, reply_r, NULL,
			     NULL);
	buf_wipe(b);
	buf_deinit(b);
	return st;
}

/* AUTH login, with FAILDELAY=1 first when the caller waits out authd's
   penalty itself (authc_auth_login_penalty). */
static enum authc_status auth_login(const char *socket_path,
				    const char *service, const char *user,
				    const char *password, const char *ip,
				    bool faildelay, struct authc_reply *reply_r)
{
	if (reply_r != NULL)
		memset(reply_r, 0, sizeof(*reply_r));
	if (!clean(service) || !clean(user) || !clean(password) ||
	    (ip != NULL && !clean(ip)) || user[0] == '\0')
		return AUTHC_NOTFOUND;
	size_t n = strlen(service) + strlen(user) + strlen(password) +
		   sizeof("\nlogin\n\n\n") - 1;
	if (n >= 8192)
		return AUTHC_NOTFOUND;
	struct buf b;
	buf_init(&b, 16384);
	int rc = faildelay ? buf_append_str(&b, "FAILDELAY=1\n") : 0;
	if (ip != NULL && ip[0] != '\0')
		rc |= buf_printf(&b, "TCPREMOTEIP=%s\n", ip);
	rc |= buf_printf(&b, "AUTH %zu\n%s\nlogin\n%s\n%s\n", n, service, user,
			 password);
	return send_built(socket_path, &b, rc, reply_r);
}

enum authc_status authc_auth_login(const char *socket_path, const char *service,
				   const char *user, const char *password,
				   const char *ip, struct authc_reply *reply_r)
{
	return auth_login(socket_path, service, user, password, ip, false,
			  reply_r);
}

enum authc_status
authc_auth_login_penalty(const char *socket_path, const char *service,
			 const char *user, const char *password, const char *ip,
			 struct authc_reply *reply_r, unsigned *delay_ms_r)
{
	*delay_ms_r = 0;
	struct authc_reply r = {NULL, 0};
	enum authc_status st =
	    auth_login(socket_path, service, user, password, ip, true, &r);
	if (st == AUTHC_NOTFOUND) {
		const char *d = authc_get(&r, "DELAY");
		unsigned long v = d != NULL ? strtoul(d, NULL, 10) : 0;
		*delay_ms_r =
		    v > AUTHC_DELAY_MAX_MS ? AUTHC_DELAY_MAX_MS : (unsigned)v;
	}
	if (reply_r != NULL) {
		*reply_r = r;
	} else {
		authc_reply_free(&r);
	}
	return st;
}

enum authc_status authc_pre(const char *socket_path, const char *service,
			    const char *user, struct authc_reply *reply_r)
{
	if (reply_r != NULL)
		memset(reply_r, 0, sizeof(*reply_r));
	if (!clean(service) || !clean(user) || strchr(service, ' ') != NULL)
		return AUTHC_NOTFOUND;
	struct buf b;
	buf_init(&b, 16384);
	int rc = buf_printf(&b, "PRE . %s %s\n", service, user);
	return send_built(socket_path, &b, rc, reply_r);
}

enum authc_status authc_passwd(const char *socket_path, const char *service,
			       const char *user, const char *oldpw,
			       const char *newpw)
{
	if (!clean(service) || !clean(user) || !clean(oldpw) || !clean(newpw))
		return AUTHC_NOTFOUND;
	struct buf b;
	buf_init(&b, 16384);
	int rc = buf_printf(&b, "PASSWD %s\t%s\t%s\t%s\n", service, user, oldpw,
			    newpw);
	return send_built(socket_path, &b, rc, NULL);
}

enum authc_status authc_passwd_penalty(const char *socket_path,
				       const char *service, const char *user,
				       const char *oldpw, const char *newpw,
				       const char *ip, unsigned *delay_ms_r)
{
	*delay_ms_r = 0;
	if (!clean(service) || !clean(user) || !clean(oldpw) || !clean(newpw) ||
	    (ip != NULL && !clean(ip)))
		return AUTHC_NOTFOUND;
	struct buf b;
	buf_init(&b, 16384);
	int rc = buf_append_str(&b, "FAILDELAY=1\n");
	if (ip != NULL && ip[0] != '\0')
		rc |= buf_printf(&b, "TCPREMOTEIP=%s\n", ip);
	rc |= buf_printf(&b, "PASSWD %s\t%s\t%s\t%s\n", service, user, oldpw,
			 newpw);
	struct authc_reply r = {NULL, 0};
	enum authc_status st = send_built(socket_path, &b, rc, &r);
	const char *d = authc_get(&r, "DELAY");
	unsigned long v = d != NULL ? strtoul(d, NULL, 10) : 0;
	*delay_ms_r = v > AUTHC_DELAY_MAX_MS ? AUTHC_DELAY_MAX_MS : (unsigned)v;
	authc_reply_free(&r);
	return st;
}

int authc_lookup_request(const char *kind, const char *arg, bool keepalive,
			 struct buf *out)
{
	for (const char *c = arg; *c != '\0'; c++) {
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return 0;
	}
	if (arg[0] == '\0')
		return 0;
	if (buf_printf(out, "%s%sLOOKUP %s %s\n",
		       authc_cache_enabled() ? "REUSE=1\n" : "",
		       keepalive ? "KEEPALIVE=1\n" : "", kind, arg) < 0)
		return -1;
	return 1;
}

/* A LOOKUP (request req, with REUSE=1) through lib/authc_cache: the
   answer kept, or authd's, kept when it says it may be. */
static enum authc_status lookup_reuse(const char *socket_path, const char *kind,
				      const char *arg, const struct buf *req,
				      struct authc_reply *reply_r)
{
	struct buf key, body;
	buf_init(&key, AUTHC_LOOKUP_REQ_MAX);
	buf_init(&body, AUTHC_CACHE_BODY_MAX);
	enum authc_status st = AUTHC_TEMPFAIL;
	struct authc_cache_token tok;
	uint64_t ttl = 0;
	bool keyed = buf_printf(&key, "%s %s", kind, arg) == 0;
	if (keyed &&
	    authc_cache_get(socket_path, key.p, key.len, &body, &tok)) {
		st = authc_reply_classify(body.p, body.len, reply_r);
	} else {
		st = request(socket_path, req->p, req->len, authc_keepalive,
			     reply_r, &ttl, &body);
		if (keyed && st != AUTHC_TEMPFAIL)
			authc_cache_put(socket_path, &tok, key.p, key.len, ttl,
					body.p, body.len);
	}
	buf_deinit(&key);
	buf_deinit(&body);
	return st;
}

static enum authc_status lookup(const char *socket_path, const char *kind,
				const char *arg, struct authc_reply *reply_r)
{
	if (reply_r != NULL)
		memset(reply_r, 0, sizeof(*reply_r));
	struct buf b;
	buf_init(&b, AUTHC_LOOKUP_REQ_MAX);
	int rc = authc_lookup_request(kind, arg, authc_keepalive, &b);
	enum authc_status st = rc == 0 ? AUTHC_NOTFOUND : AUTHC_TEMPFAIL;
	if (rc > 0 && authc_cache_enabled()) {
		st = lookup_reuse(socket_path, kind, arg, &b, reply_r);
	} else if (rc > 0) {
		st = request(socket_path, b.p, b.len, authc_keepalive, reply_r,
			     NULL, NULL);
	}
	buf_deinit(&b);
	return st;
}

enum authc_status authc_lookup_rcpt(const char *socket_path,
				    const char *address,
				    struct authc_reply *reply_r)
{
	return lookup(socket_path, "rcpt", address, reply_r);
}

enum authc_status authc_lookup_domain(const char *socket_path,
				      const char *domain,
				      struct authc_reply *reply_r)
{
	return lookup(socket_path, "domain", domain, reply_r);
}

enum authc_status authc_lookup_quota(const char *socket_path,
				     const char *domain,
				     struct authc_reply *reply_r)
{
	return lookup(socket_path, "quota", domain, reply_r);
}

enum authc_status authc_lookup_user(const char *socket_path,
				    const char *address,
				    struct authc_reply *reply_r)
{
	return lookup(socket_path, "user", address, reply_r);
}

enum authc_status authc_lookup_directory(const char *socket_path,
					 const char *domain,
					 struct authc_reply *reply_r)
{
	return lookup(socket_path, "directory", domain, reply_r);
}

int authc_map_encode(const char *s, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool esc = c <= 0x20 || c == 0x7f || c == '%';
		if (o + (esc ? 3 : 1) >= outsz)
			return -1;
		if (esc) {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return 0;
}

enum authc_status authc_map_lookup(const char *socket_path, const char *path,
				   const char *key, char *val, size_t valsz)
{
	/* the daemon's limits: 1024 bytes each, decoded */
	char p[3 * 1024 + 1], k[3 * 1024 + 1];
	size_t pl = strlen(path), kl = strlen(key);
	if (pl == 0 || kl == 0 || pl > 1024 || kl > 1024 ||
	    authc_map_encode(path, pl, p, sizeof(p)) < 0 ||
	    authc_map_encode(key, kl, k, sizeof(k)) < 0)
		return AUTHC_NOTFOUND;
	struct buf b;
	buf_init(&b, 8192);
	struct authc_reply r = {NULL, 0};
	int rc = buf_printf(&b, "%sMAPLOOKUP %s %s\n",
			    authc_keepalive ? "KEEPALIVE=1\n" : "", p, k);
	enum authc_status st = AUTHC_TEMPFAIL;
	if (rc == 0)
		st = request(socket_path, b.p, b.len, authc_keepalive, &r, NULL,
			     NULL);
	buf_deinit(&b);
	if (st == AUTHC_OK) {
		const char *v = authc_get(&r, "VALUE");
		int w = v != NULL ? snprintf(val, valsz, "%s", v) : -1;
		if (w < 0 || (size_t)w >= valsz)
			st = AUTHC_TEMPFAIL;
	}
	authc_reply_free(&r);
	return st;
}

int authc_option(const char *options, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);
	const char *p = options;
	while (p != NULL && *p != '\0') {
		size_t l = strcspn(p, ",");
		if (l > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t vl = l - nl - 1;
			if (vl >= outsz)
				return -1;
			memcpy(out, p + nl + 1, vl);
			out[vl] = '\0';
			return 0;
		}
		p += l;
		if (*p == ',')
			p++;
	}
	return -1;
}

/* Copies v (NULL: "") into out; -1 when it does not fit. */
static int authc_copy(char *out, size_t outsz, const char *v)
{
	size_t n = v != NULL ? strlen(v) : 0;
	if (n >= outsz)
		return -1;
	memcpy(out, v != NULL ? v : "", n + 1);
	return 0;
}

int authc_account_get(const struct authc_reply *reply, struct authc_account *a,
		      const char **error_r)
{
	const char *home = authc_get(reply, "HOME");
	const char *md = authc_get(reply, "MAILDIR");
	memset(a, 0, sizeof *a);
	if (authc_copy(a->user, sizeof a->user, authc_get(reply, "ADDRESS")) <
		0 ||
	    authc_copy(a->quota, sizeof a->quota, authc_get(reply, "QUOTA")) <
		0 ||
	    authc_copy(a->options, sizeof a->options,
		       authc_get(reply, "OPTIONS")) < 0) {
		*error_r = "field too long in the reply from authd";
		return -1;
	}
	/* MAILDIR relative to HOME, as courier's consumers do */
	int k;
	if (md != NULL && md[0] == '/')
		k = snprintf(a->maildir, sizeof a->maildir, "%s", md);
	else if (home == NULL || home[0] != '/')
		k = -1;
	else if (md != NULL && md[0] != '\0')
		k = snprintf(a->maildir, sizeof a->maildir, "%s/%s", home, md);
	else
		k = snprintf(a->maildir, sizeof a->maildir, "%s/Maildir", home);
	size_t ml = k > 0 ? (size_t)k : 0;
	if (k < 0 || ml >= sizeof a->maildir ||
	    strstr(a->maildir, "/../") != NULL ||
	    (ml >= 3 && strcmp(a->maildir + ml - 3, "/..") == 0)) {
		a->maildir[0] = '\0';
		*error_r = "bad maildir from authd";
		return -1;
	}
	while (ml > 1 && a->maildir[ml - 1] == '/')
		a->maildir[--ml] = '\0';
	return 0;
}

bool authc_account_disabled(const struct authc_account *a, const char *service,
			    bool tls)
{
	char name[64], v[16];
	int n = snprintf(name, sizeof name, "disable%s", service);
	if (n > 0 && (size_t)n < sizeof name &&
	    authc_option(a->options, name, v, sizeof v) == 0 && v[0] != '\0' &&
	    strcmp(v, "0") != 0)
		return true;
	if (tls)
		return false;
	n = snprintf(name, sizeof name, "disableinsecure%s", service);
	return n > 0 && (size_t)n < sizeof name &&
	       authc_option(a->options, name, v, sizeof v) == 0 &&
	       v[0] != '\0' && strcmp(v, "0") != 0;
}
