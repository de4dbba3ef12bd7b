/*
 * youju-authd LOOKUPs on an event loop (see authc_async.h).  The request
 * bytes, the framing of a kept connection's reply and its classification
 * are lib/authc's own (authc_lookup_request, authc_reply_framed,
 * authc_reply_classify), so both clients agree byte for byte.  What is
 * new is who waits: instead of a worker thread blocked in recv() under
 * SO_RCVTIMEO, each connection is a lib/ev watcher with a timer for the
 * deadline of its request, and the loop thread goes on with other
 * sessions meanwhile (youju-mta's RCPT step: no hand-off to a worker and
 * back, two thread wake-ups per recipient fewer).
 *
 * Results found inside a call (an argument that cannot be looked up, no
 * socket) wait for a 0 ms timer, so a callback never runs inside
 * authc_async_lookup(); results read from a connection are delivered at
 * once from its watcher.
 */
#include "authc_async.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "authc_cache.h"
#include "buf.h"
#include "xalloc.h"

enum rq_state { RQ_WAITING, RQ_RUNNING, RQ_DONE };

struct aconn;

struct authc_async_req {
	struct authc_async *a;
	enum rq_state state;
	bool cancelled; /* running without an owner: the reply is dropped */
	bool retried;	/* asked again after a kept connection was closed */
	struct buf msg;
	char *key; /* "<kind> <arg>" when reused answers are kept, or NULL */
	struct authc_cache_token tok; /* key: read before the request */
	uint64_t deadline;	      /* ev_now_ms() */
	authc_async_fn *fn;
	void *ctx;
	enum authc_status st; /* RQ_DONE */
	struct authc_reply reply;
	struct aconn *conn;		     /* RQ_RUNNING */
	struct authc_async_req *prev, *next; /* waiting or done list */
};

struct aconn {
	struct authc_async *a;
	unsigned slot;
	int fd;
	struct ev_io *io;
	unsigned io_ev;
	struct ev_timer *timer;	     /* the deadline of req */
	struct authc_async_req *req; /* in flight, or NULL: idle */
	bool kept;		     /* a reply came on it before */
	size_t sent;		     /* bytes of req->msg sent */
	uint64_t idle_since;
	dev_t dev; /* the socket file it was opened on */
	ino_t ino;
	struct buf in;
};

struct rq_list {
	struct authc_async_req *head, *tail;
	size_t n;
};

struct authc_async {
	struct ev_loop *loop;
	char *path;
	unsigned max_conns, timeout_ms;
	size_t queue_max;
	struct aconn **conns; /* max_conns slots; NULL: free */
	unsigned nconns;
	struct rq_list waiting, done;
	size_t pending;	       /* lookups whose fn has not run, not cancelled */
	struct ev_timer *kick; /* delivers results made inside a call */
	unsigned in_call;      /* inside authc_async_lookup() */
	bool delivering;
};

/* ---- request lists ---------------------------------------------------- */

static void rq_push(struct rq_list *l, struct authc_async_req *r, bool front)
{
	r->prev = r->next = NULL;
	if (l->head == NULL) {
		l->head = l->tail = r;
	} else if (front) {
		r->next = l->head;
		l->head->prev = r;
		l->head = r;
	} else {
		r->prev = l->tail;
		l->tail->next = r;
		l->tail = r;
	}
	l->n++;
}

static void rq_remove(struct rq_list *l, struct authc_async_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	r->prev = r->next = NULL;
	l->n--;
}

static void rq_free(struct authc_async_req *r)
{
	authc_reply_free(&r->reply);
	buf_deinit(&r->msg);
	free(r->key);
	free(r);
}

/* ---- results ---------------------------------------------------------- */

/* r is finished with st (reply: its pairs, taken over; may be NULL). */
static void finish(struct authc_async_req *r, enum authc_status st,
		   struct authc_reply *reply)
{
	struct authc_async *a = r->a;
	r->conn = NULL;
	if (r->cancelled) {
		if (reply != NULL)
			authc_reply_free(reply);
		rq_free(r);
		return;
	}
	r->state = RQ_DONE;
	r->st = st;
	if (reply != NULL) {
		r->reply = *reply;
		*reply = (struct authc_reply){NULL, 0};
	}
	rq_push(&a->done, r, false);
	if (a->in_call > 0)
		ev_timer_set(a->kick, 0);
}

/* Runs the callbacks of the finished requests, unless inside a call. */
static void deliver(struct authc_async *a)
{
	if (a->in_call > 0 || a->delivering)
		return;
	a->delivering = true;
	struct authc_async_req *r;
	while ((r = a->done.head) != NULL) {
		rq_remove(&a->done, r);
		a->pending--;
		r->fn(r->ctx, r->st, &r->reply);
		rq_free(r);
	}
	a->delivering = false;
}

static void on_kick(struct ev_timer *t, void *ctx)
{
	(void)t;
	deliver(ctx);
}

/* ---- connections ------------------------------------------------------ */

static void on_io(struct ev_io *io, int fd, unsigned events, void *ctx);
static void on_deadline(struct ev_timer *t, void *ctx);
static void dispatch(struct authc_async *a);

static void conn_close(struct aconn *c)
{
	struct authc_async *a = c->a;
	a->conns[c->slot] = NULL;
	a->nconns--;
	ev_io_free(&c->io);
	ev_timer_free(&c->timer);
	close(c->fd);
	buf_deinit(&c->in);
	free(c);
}

/* A new connection in slot, to the socket file st; NULL when it cannot
   be opened. */
static struct aconn *conn_open(struct authc_async *a, unsigned slot,
			       const struct stat *st)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t pl = strlen(a->path);
	if (pl >= sizeof(sa.sun_path))
		return NULL;
	memcpy(sa.sun_path, a->path, pl + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return NULL;
	/* a Unix socket connects at once or not at all (EAGAIN: the
	   daemon's backlog is full, a temporary failure like any other) */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return NULL;
	}
	struct aconn *c = xcalloc(1, sizeof(*c));
	c->a = a;
	c->slot = slot;
	c->fd = fd;
	c->dev = st->st_dev;
	c->ino = st->st_ino;
	buf_init(&c->in, AUTHC_REPLY_MAX);
	c->io_ev = EV_READ;
	c->io = ev_io_new(a->loop, fd, EV_READ, on_io, c);
	if (c->io == NULL) {
		buf_deinit(&c->in);
		free(c);
		close(fd);
		return NULL;
	}
	c->timer = ev_timer_new(a->loop, UINT64_MAX, on_deadline, c);
	a->conns[slot] = c;
	a->nconns++;
	return c;
}

static void conn_io(struct aconn *c, unsigned ev)
{
	if (c->io_ev != ev) {
		c->io_ev = ev;
		ev_io_set(c->io, ev);
	}
}

/* The connection of a request failed before a whole reply (closed,
   error): a kept one that said nothing is asked again on a new
   connection, as lib/authc does; otherwise a temporary failure. */
static void conn_failed(struct aconn *c)
{
	struct authc_async *a = c->a;
	struct authc_async_req *r = c->req;
	bool retry = r != NULL && c->kept && c->in.len == 0 && !r->retried &&
		     !r->cancelled;
	conn_close(c);
	if (r == NULL)
		return;
	if (!retry) {
		finish(r, AUTHC_TEMPFAIL, NULL);
		return;
	}
	r->retried = true;
	r->state = RQ_WAITING;
	r->conn = NULL;
	rq_push(&a->waiting, r, true);
}

/* Sends what is left of the request on c.  False when c is gone. */
static bool conn_write(struct aconn *c)
{
	struct authc_async_req *r = c->req;
	while (c->sent < r->msg.len) {
		ssize_t n =
		    send(c->fd, r->msg.p + c->sent, r->msg.len - c->sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_io(c, EV_READ | EV_WRITE);
			return true;
		}
		conn_failed(c);
		return false;
	}
	conn_io(c, EV_READ);
	return true;
}

/* Classifies c's whole reply to r; one that may be reused (a TTL line
   first: REUSE=1 was asked) is kept in lib/authc_cache. */
static enum authc_status classify(struct aconn *c, struct authc_async_req *r,
				  struct authc_reply *rep)
{
	if (r->key == NULL)
		return authc_reply_classify(c->in.p, c->in.len, rep);
	uint64_t ttl;
	bool bad;
	long skip = authc_reply_ttl(c->in.p, c->in.len, &ttl, &bad);
	if (skip < 0)
		return AUTHC_TEMPFAIL;
	const char *p = c->in.p + skip;
	size_t n = c->in.len - (size_t)skip;
	enum authc_status st = authc_reply_classify(p, n, rep);
	if (st != AUTHC_TEMPFAIL)
		authc_cache_put(c->a->path, &r->tok, r->key, strlen(r->key),
				ttl, p, n);
	return st;
}

/* Reads from c; a whole reply finishes its request. */
static void conn_read(struct aconn *c)
{
	char chunk[4096];
	ssize_t n = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0 || c->req == NULL) {
		/* closed, an error, or bytes nobody asked for */
		conn_failed(c);
		return;
	}
	if (buf_append(&c->in, chunk, (size_t)n) < 0) {
		c->kept = false; /* bytes came: no second try */
		conn_failed(c);
		return;
	}
	if (!authc_reply_framed(c->in.p, c->in.len))
		return; /* the rest comes in another piece */
	struct authc_async_req *r = c->req;
	struct authc_reply rep = {NULL, 0};
	enum authc_status st = classify(c, r, &rep);
	c->req = NULL;
	buf_reset(&c->in);
	ev_timer_set(c->timer, UINT64_MAX);
	if (st == AUTHC_TEMPFAIL) {
		conn_close(c);
	} else {
		c->kept = true;
		c->idle_since = ev_now_ms(c->a->loop);
	}
	finish(r, st, &rep);
}

static void on_io(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	(void)io;
	(void)fd;
	struct aconn *c = ctx;
	struct authc_async *a = c->a;
	bool alive = true;
	if ((events & EV_WRITE) && c->req != NULL && c->sent < c->req->msg.len)
		alive = conn_write(c);
	if (alive && (events & EV_READ))
		conn_read(c);
	dispatch(a);
	deliver(a);
}

static void on_deadline(struct ev_timer *t, void *ctx)
{
	(void)t;
	struct aconn *c = ctx;
	struct authc_async *a = c->a;
	struct authc_async_req *r = c->req;
	/* a late reply must not be taken for the next request's */
	conn_close(c);
	if (r != NULL)
		finish(r, AUTHC_TEMPFAIL, NULL);
	dispatch(a);
	deliver(a);
}

/* Puts r on the connection in slot (the idle one there, or a new one). */
static void start(struct authc_async *a, unsigned slot,
		  struct authc_async_req *r)
{
	struct stat st;
	struct aconn *c = a->conns[slot];
	uint64_t now = ev_now_ms(a->loop);
	if (stat(a->path, &st) < 0) {
		/* no socket: the daemon is gone, or was taken away */
		if (c != NULL)
			conn_close(c);
		finish(r, AUTHC_TEMPFAIL, NULL);
		return;
	}
	if (c != NULL && (now - c->idle_since > AUTHC_KEEPALIVE_IDLE_MS ||
			  c->dev != st.st_dev || c->ino != st.st_ino)) {
		conn_close(c);
		c = NULL;
	}
	if (c == NULL && (c = conn_open(a, slot, &st)) == NULL) {
		finish(r, AUTHC_TEMPFAIL, NULL);
		return;
	}
	c->req = r;
	c->sent = 0;
	r->conn = c;
	r->state = RQ_RUNNING;
	ev_timer_set(c->timer, r->deadline > now ? r->deadline - now : 0);
	(void)conn_write(c);
}

/* Starts waiting requests while a connection is free: an idle one
   first, else an empty slot (a retried request always gets a new one). */
static void dispatch(struct authc_async *a)
{
	struct authc_async_req *r;
	while ((r = a->waiting.head) != NULL) {
		unsigned idle = a->max_conns, empty = a->max_conns;
		for (unsigned i = 0; i < a->max_conns; i++) {
			struct aconn *c = a->conns[i];
			if (c == NULL && empty == a->max_conns)
				empty = i;
			else if (c != NULL && c->req == NULL &&
				 idle == a->max_conns)
				idle = i;
		}
		unsigned slot =
		    r->retried || idle == a->max_conns ? empty : idle;
		if (slot == a->max_conns && r->retried && idle < a->max_conns) {
			/* every slot holds a connection: replace an idle one */
			conn_close(a->conns[idle]);
			slot = idle;
		}
		if (slot == a->max_conns)
			return;
		rq_remove(&a->waiting, r);
		if (ev_now_ms(a->loop) >= r->deadline) {
			finish(r, AUTHC_TEMPFAIL, NULL);
			continue;
		}
		start(a, slot, r);
	}
}

/* ---- the interface ---------------------------------------------------- */

struct authc_async *authc_async_new(struct ev_loop *loop,
				    const char *socket_path, unsigned max_conns,
				    size_t queue_max, unsigned timeout_ms)
{
	struct authc_async *a = xcalloc(1, sizeof(*a));
	a->loop = loop;
	a->path = xstrdup(socket_path);
	a->max_conns = max_conns > 0 ? max_conns : 1;
	a->queue_max = queue_max;
	a->timeout_ms = timeout_ms > 0 ? timeout_ms : AUTHC_TIMEOUT_MS;
	a->conns = xcalloc(a->max_conns, sizeof(*a->conns));
	a->kick = ev_timer_new(loop, UINT64_MAX, on_kick, a);
	return a;
}

void authc_async_free(struct authc_async **pa)
{
	struct authc_async *a = *pa;
	if (a == NULL)
		return;
	*pa = NULL;
	for (unsigned i = 0; i < a->max_conns; i++) {
		struct aconn *c = a->conns[i];
		if (c == NULL)
			continue;
		if (c->req != NULL)
			rq_free(c->req);
		conn_close(c);
	}
	struct authc_async_req *r;
	while ((r = a->waiting.head) != NULL) {
		rq_remove(&a->waiting, r);
		rq_free(r);
	}
	while ((r = a->done.head) != NULL) {
		rq_remove(&a->done, r);
		rq_free(r);
	}
	ev_timer_free(&a->kick);
	free(a->conns);
	free(a->path);
	free(a);
}

/* With reuse on: finishes r with the answer kept for kind arg and returns
   true, or notes what r's answer is to be kept under and returns false. */
static bool reused(struct authc_async *a, struct authc_async_req *r,
		   const char *kind, const char *arg)
{
	struct buf key, body;
	buf_init(&key, AUTHC_LOOKUP_REQ_MAX);
	buf_init(&body, AUTHC_CACHE_BODY_MAX);
	bool hit = false;
	if (buf_printf(&key, "%s %s", kind, arg) == 0) {
		hit = authc_cache_get(a->path, key.p, key.len, &body, &r->tok);
		if (hit) {
			struct authc_reply rep = {NULL, 0};
			enum authc_status st =
			    authc_reply_classify(body.p, body.len, &rep);
			finish(r, st, &rep);
		} else {
			r->key = xstrdup(buf_cstr(&key));
		}
	}
	buf_deinit(&key);
	buf_deinit(&body);
	return hit;
}

struct authc_async_req *authc_async_lookup(struct authc_async *a,
					   const char *kind, const char *arg,
					   authc_async_fn *fn, void *ctx)
{
	if (a->waiting.n >= a->queue_max && a->nconns >= a->max_conns) {
		bool idle = false;
		for (unsigned i = 0; i < a->max_conns && !idle; i++)
			idle = a->conns[i] != NULL && a->conns[i]->req == NULL;
		if (!idle)
			return NULL;
	}
	struct authc_async_req *r = xcalloc(1, sizeof(*r));
	r->a = a;
	r->fn = fn;
	r->ctx = ctx;
	r->deadline = ev_now_ms(a->loop) + a->timeout_ms;
	buf_init(&r->msg, AUTHC_LOOKUP_REQ_MAX);
	a->pending++;
	a->in_call++;
	int rc = authc_lookup_request(kind, arg, true, &r->msg);
	if (rc <= 0) {
		finish(r, rc == 0 ? AUTHC_NOTFOUND : AUTHC_TEMPFAIL, NULL);
	} else if (authc_cache_enabled() && reused(a, r, kind, arg)) {
		/* answered from lib/authc_cache (delivered by the kick) */
	} else {
		r->state = RQ_WAITING;
		rq_push(&a->waiting, r, false);
		dispatch(a);
	}
	a->in_call--;
	return r;
}

void authc_async_cancel(struct authc_async_req **pr)
{
	struct authc_async_req *r = *pr;
	if (r == NULL)
		return;
	*pr = NULL;
	struct authc_async *a = r->a;
	a->pending--;
	switch (r->state) {
	case RQ_WAITING:
		rq_remove(&a->waiting, r);
		rq_free(r);
		return;
	case RQ_DONE:
		rq_remove(&a->done, r);
		rq_free(r);
		return;
	case RQ_RUNNING:
		r->cancelled = true;
		r->fn = NULL;
		r->ctx = NULL;
		return;
	}
}

size_t authc_async_pending(const struct authc_async *a)
{
	return a->pending;
}

unsigned authc_async_conns(const struct authc_async *a)
{
	return a->nconns;
}
