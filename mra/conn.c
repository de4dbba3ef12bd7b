/*
 * One client connection of youju-mra: bounded input and output buffers,
 * plain or TLS (implicit, or STARTTLS/STLS after the go-ahead reply is
 * flushed), an idle timer for autologout, and the loop interest that keeps
 * a client from making us buffer without bound (input is not read while
 * the output is above MRA_OUT_HIGH).  The protocol modules only see
 * complete buffered input and queue replies.
 */
#include "mra.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "imap_compress.h"
#include "mra_limits.h"
#include "log.h"
#include "tls.h"
#include "xalloc.h"

struct mra_server mra_srv;

static struct mra_conn *mra_conns;
static uint64_t mra_next_id = 1;

static void mra_conn_io(struct ev_io *io, int fd, unsigned events, void *ctx);
static void mra_conn_update(struct mra_conn *c);

/* Bytes queued for the client: the output buffer plus, with COMPRESS,
   what is deflated and not yet sent. */
static size_t mra_conn_out_len(const struct mra_conn *c)
{
	return c->out.len + (c->z != NULL ? imap_compress_out_len(c->z) : 0);
}

/* The keys of the shared counters: kind, NUL, fields separated by NUL
   (a user name never holds NUL, login.c refuses bytes below 0x20).
   Returns the length, 0 when it does not fit (not counted). */
static size_t mra_conn_key(char *out, const char *kind, const char *user,
			   const char *rip)
{
	size_t k = strlen(kind), u = strlen(user), r = strlen(rip);
	if (k + u + r + 2 > MRA_LIMITS_KEY_MAX)
		return 0;
	memcpy(out, kind, k + 1);
	memcpy(out + k + 1, user, u + 1);
	memcpy(out + k + 1 + u + 1, rip, r);
	return k + u + r + 2;
}

int mra_conn_userip_acquire(struct mra_conn *c, const char *user, unsigned max)
{
	char key[MRA_LIMITS_KEY_MAX];
	size_t n = mra_conn_key(key, c->proto->name, user, c->rip);
	if (mra_srv.limits == NULL || n == 0 || c->userip_counted)
		return -1;
	int r = mra_limits_acquire(mra_srv.limits, key, n, max);
	if (r == 1)
		c->userip_counted = true;
	return r;
}

void mra_conn_userip_release(struct mra_conn *c, const char *user)
{
	char key[MRA_LIMITS_KEY_MAX];
	if (!c->userip_counted)
		return;
	c->userip_counted = false;
	size_t n = mra_conn_key(key, c->proto->name, user, c->rip);
	if (n > 0)
		mra_limits_release(mra_srv.limits, key, n);
}

static void mra_conn_destroy(struct mra_conn *c)
{
	mra_conn_userip_release(c, c->user);
	if (c->ip_counted) {
		char key[MRA_LIMITS_KEY_MAX];
		size_t n = mra_conn_key(key, "ip", "", c->rip);
		if (n > 0)
			mra_limits_release(mra_srv.limits, key, n);
	}
	if (c->proto->free != NULL)
		c->proto->free(c);
	ev_io_free(&c->io);
	ev_timer_free(&c->idle);
	tls_conn_free(&c->tls);
	imap_compress_free(&c->z);
	close(c->fd);
	buf_deinit(&c->in);
	buf_deinit(&c->out);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		mra_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

static void mra_conn_idle(struct ev_timer *t, void *ctx)
{
	struct mra_conn *c = ctx;
	if (c->out_timer) {
		/* STYLE: drop clients that don't read; what is queued can
		   never be sent, so no goodbye either */
		log_info("%s%s%s%s: Disconnected for inactivity in reading "
			 "our output (%zu bytes queued): rip=%s, lip=%s",
			 c->proto->name, c->user[0] ? "(" : "-login", c->user,
			 c->user[0] ? ")" : "", mra_conn_out_len(c), c->rip,
			 c->lip);
		mra_conn_destroy(c);
		return;
	}
	if (c->proto->timeout != NULL)
		c->proto->timeout(c);
	mra_conn_close(c);
	mra_conn_update(c);
}

/* The one timer of a connection measures the autologout idle time while
   nothing is queued, and the time since the client last took output
   (mra_output_timeout) while something is.  progress: bytes were sent. */
static void mra_conn_timer(struct mra_conn *c, bool progress)
{
	if (mra_conn_out_len(c) > 0) {
		if (!c->out_timer || progress) {
			ev_timer_set(c->idle, mra_srv.output_timeout_ms);
			c->out_timer = true;
		}
	} else if (c->out_timer) {
		ev_timer_set(c->idle, mra_srv.autologout_ms);
		c->out_timer = false;
	}
}

static void mra_local_addr(int fd, char *out, size_t outsz)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	snprintf(out, outsz, "?");
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, out, (socklen_t)outsz);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out,
				  (socklen_t)outsz);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, out,
				  (socklen_t)outsz);
	}
}

/* mra_client_connection_count_limit (over every worker): refuse before
   any TLS or session state exists.  The goodbye on a plain port is best
   effort (one send on a fresh socket); a TLS port just closes.  *counted:
   the connection holds a count of the rip key. */
static bool mra_conn_ip_refused(int fd, const char *rip,
				const struct mra_proto *p, bool implicit_tls,
				bool *counted)
{
	char key[MRA_LIMITS_KEY_MAX];
	*counted = false;
	if (mra_srv.max_per_ip == 0 || mra_srv.limits == NULL)
		return false;
	size_t n = mra_conn_key(key, "ip", "", rip);
	int r = n > 0 ? mra_limits_acquire(mra_srv.limits, key, n,
					   mra_srv.max_per_ip)
		      : -1;
	*counted = r == 1;
	if (r != 0)
		return false;
	log_info("%s-login: Disconnected: Too many connections from the "
		 "same IP (mra_client_connection_count_limit=%u): rip=%s",
		 p->name, mra_srv.max_per_ip, rip);
	if (!implicit_tls) {
		const char *msg = p == &mra_imap_proto
				      ? "* BYE Too many connections from "
					"your IP address.\r\n"
				      : "-ERR [SYS/TEMP] Too many "
					"connections from your IP "
					"address.\r\n";
		(void)send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	close(fd);
	return true;
}

void mra_conn_accept(int fd, const char *rip, const struct mra_proto *p,
		     bool implicit_tls)
{
	bool counted;
	if (mra_conn_ip_refused(fd, rip, p, implicit_tls, &counted))
		return;
	struct mra_conn *c = xcalloc(1, sizeof *c);
	c->ip_counted = counted;
	c->id = mra_next_id++;
	c->fd = fd;
	c->proto = p;
	buf_init(&c->in, MRA_IN_MAX);
	buf_init(&c->out, MRA_OUT_MAX);
	snprintf(c->rip, sizeof c->rip, "%s", rip);
	mra_local_addr(fd, c->lip, sizeof c->lip);
	c->next = mra_conns;
	if (mra_conns != NULL)
		mra_conns->prev = c;
	mra_conns = c;
	c->io = ev_io_new(mra_srv.loop, fd, EV_READ, mra_conn_io, c);
	c->idle =
	    ev_timer_new(mra_srv.loop, mra_srv.autologout_ms, mra_conn_idle, c);
	if (c->io == NULL || c->idle == NULL) {
		log_error("%s: cannot watch connection from %s", p->name, rip);
		mra_conn_destroy(c);
		return;
	}
	if (implicit_tls) {
		c->tls = tls_conn_new(mra_srv.tls, fd, NULL);
		if (c->tls == NULL) {
			mra_conn_destroy(c);
			return;
		}
		c->handshaking = true;
		c->tls_on = true;
		mra_conn_update(c);
		return;
	}
	p->start(c);
	mra_conn_update(c);
}

struct mra_conn *mra_conn_first(void)
{
	return mra_conns;
}

struct mra_conn *mra_conn_find(uint64_t id)
{
	for (struct mra_conn *c = mra_conns; c != NULL; c = c->next)
		if (c->id == id && !c->dead)
			return c;
	return NULL;
}

size_t mra_conn_count(void)
{
	size_t n = 0;
	for (struct mra_conn *c = mra_conns; c != NULL; c = c->next)
		n++;
	return n;
}

void mra_conn_free_all(void)
{
	while (mra_conns != NULL)
		mra_conn_destroy(mra_conns);
}

bool mra_conn_write(struct mra_conn *c, const void *p, size_t n)
{
	if (buf_append(&c->out, p, n) < 0) {
		log_warning("%s: output limit reached, rip=%s", c->proto->name,
			    c->rip);
		c->closing = true;
		return false;
	}
	return true;
}

bool mra_conn_printf(struct mra_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	if (r < 0) {
		log_warning("%s: output limit reached, rip=%s", c->proto->name,
			    c->rip);
		c->closing = true;
		return false;
	}
	return true;
}

void mra_conn_close(struct mra_conn *c)
{
	c->closing = true;
}

void mra_conn_starttls(struct mra_conn *c)
{
	c->starttls_pending = true;
}

void mra_conn_compress(struct mra_conn *c)
{
	c->compress_pending = true;
}

/* COMPRESS goes on once its OK is sent: every byte the client sends
   after that line, and every byte we send, is deflated (RFC 4978 §3). */
static int mra_conn_compress_on(struct mra_conn *c)
{
	c->compress_pending = false;
	c->z = imap_compress_new(mra_srv.loop);
	/* the client was to wait for the OK; whatever it sent after the
	   COMPRESS line already is compressed */
	if (c->in.len > 0 &&
	    buf_append(imap_compress_raw_in(c->z), c->in.p, c->in.len) < 0)
		return -1;
	buf_reset(&c->in);
	return 0;
}

bool mra_conn_backlogged(const struct mra_conn *c)
{
	return mra_conn_out_len(c) >= MRA_OUT_HIGH;
}

void mra_conn_pump(struct mra_conn *c)
{
	while (c->produce != NULL && !c->closing && !mra_conn_backlogged(c))
		c->produce(c);
}

/* Sends b on the socket or through TLS: 1 all sent, 0 pending, -1 error */
static int mra_conn_send(struct mra_conn *c, struct buf *b)
{
	if (c->tls != NULL) {
		if (c->handshaking)
			return 0;
		unsigned want = 0;
		int r = tls_write(c->tls, b, &want);
		if (r == 0)
			c->tls_want |= want;
		return r;
	}
	return net_out_flush(c->fd, b);
}

/* 1 all sent, 0 pending, -1 error */
static int mra_conn_flush(struct mra_conn *c)
{
	size_t before = mra_conn_out_len(c);
	int r = 1;
	if (c->z == NULL) {
		if (before > 0)
			r = mra_conn_send(c, &c->out);
	} else {
		/* deflate in pieces as the socket takes them, so the
		   compressed output stays below IMAP_COMPRESS_OUT_HIGH */
		while (r == 1 && mra_conn_out_len(c) > 0) {
			if (imap_compress_deflate(c->z, &c->out) < 0) {
				log_warning("%s: deflate failed, rip=%s",
					    c->proto->name, c->rip);
				return -1;
			}
			r = mra_conn_send(c, imap_compress_raw_out(c->z));
		}
	}
	if (r >= 0 && before > 0)
		mra_conn_timer(c, mra_conn_out_len(c) < before);
	if (r == 1 && c->compress_pending && mra_conn_compress_on(c) < 0)
		return -1;
	return r;
}

static bool mra_conn_can_process(const struct mra_conn *c)
{
	return !c->closing && !c->paused && !c->handshaking &&
	       !c->starttls_pending && !c->compress_pending &&
	       c->produce == NULL && !mra_conn_backlogged(c);
}

static void mra_conn_update(struct mra_conn *c)
{
	if (c->dead)
		return;
	unsigned ev = 0;
	if (mra_conn_can_process(c))
		ev |= EV_READ;
	if (mra_conn_out_len(c) > 0 && !c->handshaking)
		ev |= c->tls ? 0 : EV_WRITE;
	ev |= c->tls_want;
	mra_conn_timer(c, false);
	if (c->tls != NULL && mra_conn_out_len(c) > 0 && c->tls_want == 0 &&
	    !c->handshaking)
		ev |= EV_WRITE;
	if (c->handshaking && c->tls_want == 0)
		ev |= EV_READ;
	/* a reply being produced resumes when the socket takes more */
	if (c->produce != NULL && !c->closing && !c->handshaking &&
	    c->tls_want == 0)
		ev |= EV_WRITE;
	ev_io_set(c->io, ev);
}

/* Reads what the socket or TLS has into b.  1 progress, 0 nothing, -1
   EOF/error. */
static int mra_conn_read(struct mra_conn *c, struct buf *b)
{
	if (buf_room(b) == 0)
		return 0;
	if (c->tls != NULL) {
		unsigned want = 0;
		int r = tls_read(c->tls, b, &want);
		if (r == 0)
			c->tls_want |= want;
		if (r < 0 && errno == ENOBUFS)
			return 0;
		return r;
	}
	int r = net_fill(c->fd, b);
	if (r < 0 && errno == ENOBUFS)
		return 0;
	return r;
}

/* With COMPRESS: inflates what is buffered; a broken stream is logged. */
static int mra_conn_inflate(struct mra_conn *c)
{
	int r = imap_compress_inflate(c->z, &c->in);
	if (r < 0)
		log_info("%s(%s): Disconnected: compressed input: %s, rip=%s",
			 c->proto->name, c->user, strerror(errno), c->rip);
	return r;
}

/* Reads what is available.  1 progress, 0 nothing, -1 EOF/error. */
static int mra_conn_fill(struct mra_conn *c)
{
	if (buf_room(&c->in) == 0)
		return 0;
	if (c->z == NULL)
		return mra_conn_read(c, &c->in);
	int r = mra_conn_inflate(c); /* what is left from the last read */
	if (r != 0)
		return r;
	r = mra_conn_read(c, imap_compress_raw_in(c->z));
	if (r <= 0)
		return r;
	/* bytes were read, even if they end no block yet */
	return mra_conn_inflate(c) < 0 ? -1 : 1;
}

void mra_conn_kick(struct mra_conn *c)
{
	if (c->dead)
		return;
	/* Pipelined commands wait in c->in while a login runs.  No read
	   event will come for them, so work through them here, flushing in
	   between: a command that fills the output stops the input handler,
	   and if the flush then empties it nothing else would resume it. */
	for (int rounds = 0; rounds < 64; rounds++) {
		if (!mra_conn_can_process(c))
			break;
		/* with COMPRESS, input may wait deflated in its own buffer */
		if (c->z != NULL && mra_conn_inflate(c) < 0) {
			c->dead = true;
			break;
		}
		if (c->in.len == 0)
			break;
		size_t before = c->in.len;
		c->proto->input(c);
		if (mra_conn_flush(c) < 0) {
			c->dead = true;
			break;
		}
		if (c->in.len == before)
			break;
	}
	if (c->dead || mra_conn_flush(c) < 0) {
		c->dead = true;
	} else if (mra_conn_out_len(c) == 0 && c->closing) {
		c->dead = true;
	}
	if (c->dead) {
		mra_conn_destroy(c);
		return;
	}
	mra_conn_update(c);
}

static void mra_conn_io(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct mra_conn *c = ctx;
	c->tls_want = 0;
	if (c->handshaking) {
		unsigned want = 0;
		int r = tls_handshake(c->tls, &want);
		if (r < 0) {
			log_info("%s-login: Disconnected (TLS handshake "
				 "failed: %s): rip=%s, lip=%s",
				 c->proto->name, tls_conn_error(c->tls), c->rip,
				 c->lip);
			mra_conn_destroy(c);
			return;
		}
		if (r == 0) {
			c->tls_want = want;
			mra_conn_update(c);
			return;
		}
		c->handshaking = false;
		if (!c->starttls_pending)
			c->proto->start(c); /* implicit TLS greeting */
		else if (c->proto->tls_started != NULL)
			c->proto->tls_started(c);
		c->starttls_pending = false;
	}
	for (int rounds = 0; rounds < 64; rounds++) {
		int fr = mra_conn_flush(c);
		if (fr < 0) {
			mra_conn_destroy(c);
			return;
		}
		if (fr == 1 && c->closing) {
			mra_conn_destroy(c);
			return;
		}
		if (fr == 1 && c->starttls_pending && c->tls == NULL) {
			c->tls = tls_conn_new(mra_srv.tls, c->fd, NULL);
			if (c->tls == NULL) {
				mra_conn_destroy(c);
				return;
			}
			unsigned want = 0;
			c->handshaking = true;
			c->tls_on = true;
			int r = tls_starttls(c->tls, &c->in, &want);
			if (r < 0) {
				mra_conn_destroy(c);
				return;
			}
			if (r == 0) {
				c->tls_want = want;
				break;
			}
			c->handshaking = false;
			c->starttls_pending = false;
			if (c->proto->tls_started != NULL)
				c->proto->tls_started(c);
			continue;
		}
		if (c->produce != NULL && !c->closing) {
			mra_conn_pump(c);
			if (c->produce != NULL) {
				/* still producing: send, then go on only if
				   the client took it */
				if (mra_conn_flush(c) < 0) {
					mra_conn_destroy(c);
					return;
				}
				if (mra_conn_backlogged(c))
					break;
			}
			continue;
		}
		if (!mra_conn_can_process(c))
			break;
		int r = mra_conn_fill(c);
		if (r < 0) {
			mra_conn_destroy(c);
			return;
		}
		if (c->in.len > 0) {
			size_t before = c->in.len;
			c->proto->input(c);
			if (!c->out_timer)
				ev_timer_set(c->idle, mra_srv.autologout_ms);
			if (r == 0 && c->in.len == before)
				break;
		} else if (r == 0) {
			break;
		}
		if (r == 0 && !(c->tls != NULL && tls_pending(c->tls)) &&
		    mra_conn_out_len(c) == 0)
			break;
	}
	if (mra_conn_flush(c) < 0) {
		mra_conn_destroy(c);
		return;
	}
	if (c->closing && mra_conn_out_len(c) == 0) {
		mra_conn_destroy(c);
		return;
	}
	mra_conn_update(c);
}
