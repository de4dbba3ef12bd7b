/*
 * youju-authd's event loop (see server.h).  Each connection is a small
 * state machine: READ (parse as bytes arrive) → WORK (a job on a worker
 * thread; the fd is not watched) → DELAY (a failed login waits its penalty
 * on a timer before its FAIL, holding nothing but the connection) → WRITE
 * → closed.  A temporary failure anywhere closes without a reply, which
 * every client of the protocol reads as "try again later".  Only this thread
 * touches connections and the throttling tables, with one exception: the
 * thread that finishes a successful AUTH sends its reply and closes its fd
 * (reply_early), after claiming the fd from the loop.
 */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "handle.h"
#include "lanes.h"
#include "log.h"
#include "md5crypt_batch.h"
#include "net.h"
#include "str.h"
#include "throttle.h"
#include "workq.h"
#include "xalloc.h"

#define THROTTLE_MAX_KEYS 100000
#define ACCEPT_RETRY_MS	  200
/* How long the end of an AUTH whose reply is already sent may wait for
   the loop's next wake-up (workq.h, lazy completions): the throttling
   reset of a success and the connection's slot come back at most about
   this late. */
#define AUTHD_LAZY_MS 2

/* Who owns a job's reply_fd (handle.h) while the job is away from the
   loop: the loop (it writes and closes as for any job), the finishing
   thread for the length of one nonblocking send, the loop that closed the
   connection meanwhile (the thread must not touch the fd), or nobody: the
   thread sent the whole reply and closed the fd. */
enum {
	REPLY_FD_LOOP,
	REPLY_FD_SENDING,
	REPLY_FD_CLOSED,
	REPLY_FD_SENT,
};

/* replies sent by the thread that finished their AUTH */
static atomic_ulong n_early_replies;

enum conn_state { C_READ, C_WORK, C_DELAY, C_WRITE };

struct server;

struct conn {
	struct server *srv;
	int fd;
	struct ev_io *io; /* NULL until the connection must be watched */
	struct ev_timer *timer;
	struct buf in, out;
	enum conn_state state;
	bool keepalive; /* read the next request after this reply */
	uint64_t read_deadline;
	struct authd_job *job;
	struct conn *prev, *next;
};

struct server {
	struct ev_loop *loop;
	struct authd_cfg *cfg;
	char *conf_path;
	char *db_password;
	int listen_fd;
	struct ev_io *listen_io;
	struct ev_timer *accept_timer;
	bool accept_paused;
	struct workq *wq;
	/* failures per client address, per address + login (both lock
	   out), and per login from anywhere (only slows down: a guesser
	   must never lock the owner out, issue 10) */
	struct throttle *thr_ip, *thr_ipuser, *thr_user;
	unsigned nconns;
	struct conn *conns;
	bool draining; /* SIGUSR1: a new process took over the socket */
};

static void conn_io(struct ev_io *io, int fd, unsigned events, void *ctx);

static void conn_close(struct conn *c)
{
	struct server *s = c->srv;
	if (c->job != NULL) {
		/* the worker still has it: it is freed when it comes back */
		struct authd_job *j = c->job;
		for (int want = REPLY_FD_LOOP; j->reply_fd >= 0;
		     want = REPLY_FD_LOOP) {
			if (atomic_compare_exchange_strong(
				&j->reply_fd_state, &want, REPLY_FD_CLOSED))
				break;
			if (want == REPLY_FD_SENT) {
				c->fd = -1; /* closed by its thread */
				break;
			}
			/* REPLY_FD_SENDING: one nonblocking send, then the
			   fd is the loop's again, or closed */
			sched_yield();
		}
		j->conn = NULL;
		c->job = NULL;
	}
	ev_io_free(&c->io);
	ev_timer_free(&c->timer);
	if (c->fd >= 0)
		close(c->fd);
	buf_wipe(&c->in);
	buf_deinit(&c->in);
	buf_wipe(&c->out);
	buf_deinit(&c->out);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
	s->nconns--;
	if (s->draining) {
		if (s->nconns == 0) {
			log_info("authd: reload: old process done, exiting");
			ev_loop_stop(s->loop);
		}
		return;
	}
	if (s->accept_paused && s->nconns < s->cfg->max_clients &&
	    s->accept_timer == NULL) {
		s->accept_paused = false;
		ev_io_set(s->listen_io, EV_READ);
	}
}

/* Sets the connection's epoll interest, registering it on first use: a
   request read whole right after accept (most of them: clients write as
   soon as they are connected) and answered at once needs no epoll_ctl at
   all.  Returns 0, or -1 (logged) when the fd cannot be watched. */
static int conn_watch(struct conn *c, unsigned events)
{
	if (c->io != NULL) {
		ev_io_set(c->io, events);
		return 0;
	}
	if (events == 0)
		return 0;
	c->io = ev_io_new(c->srv->loop, c->fd, events, conn_io, c);
	if (c->io == NULL) {
		log_error("authd: cannot watch a connection: %s",
			  strerror(errno));
		return -1;
	}
	return 0;
}

static void conn_timeout(struct ev_timer *t, void *ctx)
{
	struct conn *c = ctx;
	if (c->state == C_WORK)
		log_warning("authd: request timed out (temporary failure)");
	conn_close(c);
}

/* KEEPALIVE: back to reading, with a fresh idle timer and deadline. */
static void conn_next_request(struct conn *c)
{
	c->state = C_READ;
	c->keepalive = false;
	c->read_deadline = ev_now_ms(c->srv->loop) + AUTHD_READ_DEADLINE_MS;
	ev_timer_set(c->timer, AUTHD_IDLE_MS);
	if (conn_watch(c, EV_READ) < 0)
		conn_close(c);
}

static void conn_write(struct conn *c)
{
	int r = net_out_flush(c->fd, &c->out);
	if (r == 0) {
		if (conn_watch(c, EV_WRITE) < 0)
			conn_close(c);
		return;
	}
	if (r > 0 && c->keepalive && !c->srv->draining) {
		conn_next_request(c);
		return;
	}
	/* all written, or the client went away: either way we are done */
	conn_close(c);
}

static void conn_start_write(struct conn *c)
{
	c->state = C_WRITE;
	ev_timer_set(c->timer, AUTHD_WRITE_MS);
	conn_write(c);
}

static void conn_delay_done(struct ev_timer *t, void *ctx)
{
	struct conn *c = ctx;
	ev_timer_free(&c->timer);
	c->timer = ev_timer_new(c->srv->loop, AUTHD_WRITE_MS, conn_timeout, c);
	conn_start_write(c);
}

static void lower_copy(char *out, size_t outsz, const char *in)
{
	if (snprintf(out, outsz, "%s", in) < 0)
		out[0] = '\0';
	str_lower(out);
}

/* The throttling key of a login request: its lower-cased login name. */
static void login_key(const struct server *s, const struct authd_request *r,
		      char *out, size_t outsz)
{
	char cuser[512], digest[256], login[512];
	const char *user = r->user;
	out[0] = '\0';
	if (r->cmd == AUTHD_CMD_AUTH && r->authtype != AUTHD_AUTH_LOGIN) {
		if (r->response == NULL ||
		    authd_cram_decode(r->response, cuser, sizeof(cuser), digest,
				      sizeof(digest)) < 0)
			return;
		user = cuser;
	}
	if (user == NULL ||
	    authd_login_name(s->cfg, user, login, sizeof(login)) < 0)
		return;
	lower_copy(out, outsz, login);
}

/* The address + login key ("" when the client sent no address: then only
   the per-login table counts, and it never locks). */
static void ipuser_key(const char *rip, const char *login, char *out,
		       size_t outsz)
{
	out[0] = '\0';
	if (rip[0] == '\0' || login[0] == '\0')
		return;
	int n = snprintf(out, outsz, "%s\t%s", rip, login);
	if (n < 0 || (size_t)n >= outsz)
		out[0] = '\0';
}

/* The delay before the FAIL of a login from rip for key (lower-cased):
   Dovecot's auth penalty on the failures already counted for the address
   and the address + login; failures for the login from anywhere count
   only past authd_failure_limit_user (a spread-out guesser is slowed, the
   owner's own typos are not). */
static uint64_t fail_delay(struct server *s, const char *rip, const char *key,
			   uint64_t now)
{
	char ik[600];
	ipuser_key(rip, key, ik, sizeof(ik));
	unsigned n = throttle_failures(s->thr_ip, rip, now);
	unsigned m = throttle_failures(s->thr_ipuser, ik, now);
	unsigned u = throttle_failures(s->thr_user, key, now);
	unsigned lim = s->cfg->failure_limit_user;
	if (m > n)
		n = m;
	if (lim > 0 && u >= lim && u - lim + 1 > n)
		n = u - lim + 1;
	return throttle_penalty_ms(n, s->cfg->failure_delay_ms,
				   s->cfg->failure_delay_max_ms);
}

static void log_login(const char *what, const char *user, const char *rip,
		      const char *service, const char *reason)
{
	char u[200], r[64], sv[64];
	log_escape(u, sizeof(u), user, strlen(user));
	log_escape(r, sizeof(r), rip, strlen(rip));
	log_escape(sv, sizeof(sv), service != NULL ? service : "",
		   service != NULL ? strlen(service) : 0);
	if (reason != NULL)
		log_info("authd: %s: user=<%s>, rip=%s, service=%s, reason=%s",
			 what, u, r, sv, reason);
	else
		log_info("authd: %s: user=<%s>, rip=%s, service=%s", what, u, r,
			 sv);
}

static void job_done(struct server *s, struct authd_job *j)
{
	struct conn *c = j->conn;
	uint64_t delay = 0;
	if (j->login) {
		char login[512], key[512], ik[600];
		uint64_t now = ev_now_ms(s->loop);
		/* the same key conn_dispatch checked (login_key) */
		if (authd_login_name(s->cfg, j->user, login, sizeof(login)) < 0)
			login[0] = '\0';
		lower_copy(key, sizeof(key), login);
		ipuser_key(j->req.rip, key, ik, sizeof(ik));
		if (j->login_failed) {
			log_login(j->req.cmd == AUTHD_CMD_PASSWD
				      ? "password change failed"
				      : "auth failed",
				  j->user, j->req.rip, j->req.service,
				  j->reason);
			delay = fail_delay(s, j->req.rip, key, now);
			enum throttle_state a, b;
			a = throttle_fail(s->thr_ipuser, ik, now);
			b = throttle_fail(s->thr_ip, j->req.rip, now);
			(void)throttle_fail(s->thr_user, key, now);
			if (a == THROTTLE_LOCKED || b == THROTTLE_LOCKED)
				log_login("locked out", j->user, j->req.rip,
					  j->req.service,
					  a == THROTTLE_LOCKED
					      ? "too many failures for "
						"this user from this client"
					      : "too many failures from "
						"this client");
		} else if (!j->tempfail && j->req.cmd == AUTHD_CMD_AUTH &&
			   strcmp(buf_cstr(&j->reply), "FAIL\n") != 0) {
			/* not the address's counter: one good account must
			   not wipe a guesser's record */
			throttle_reset(s->thr_ipuser, ik);
			throttle_reset(s->thr_user, key);
			log_debug("authd: auth ok: user=<%s>, rip=%s, "
				  "service=%s",
				  key, j->req.rip, j->req.service);
		} else if (j->req.cmd == AUTHD_CMD_PASSWD && !j->tempfail) {
			log_login(strcmp(buf_cstr(&j->reply), "OK\n") == 0
				      ? "password changed"
				      : "password change refused",
				  j->user, j->req.rip, j->req.service,
				  j->reason);
		}
	}
	if (j->tempfail && j->reason != NULL) {
		char u[200], r[64];
		log_escape(r, sizeof(r), j->req.rip, strlen(j->req.rip));
		log_warning("authd: temporary failure: user=<%s>, rip=%s, "
			    "reason=%s",
			    log_escape(u, sizeof(u), j->user, strlen(j->user)),
			    r, j->reason);
	}
	if (c == NULL) {
		authd_job_free(&j);
		return;
	}
	c->job = NULL;
	if (j->tempfail || atomic_load(&j->reply_fd_state) == REPLY_FD_SENT) {
		if (!j->tempfail)
			c->fd = -1; /* answered and closed by its thread */
		authd_job_free(&j);
		conn_close(c);
		return;
	}
	/* the reply moves to the connection */
	struct buf tmp = c->out;
	c->out = j->reply;
	j->reply = tmp;
	bool failed = j->login_failed;
	bool client_delays = j->req.client_delays;
	const char *refusal = j->refusal;
	authd_job_free(&j);
	if (failed && client_delays) {
		/* youju's own clients wait on their event loop, so that no
		   thread of theirs is held by the penalty: "FAIL\n" then
		   the delay (docs/authd-protocol.md §5) */
		/* the reason only reaches a client that knew the password:
		   the state of an account is not for guessers */
		if (buf_printf(&c->out, "DELAY=%llu\n",
			       (unsigned long long)delay) < 0 ||
		    (refusal != NULL &&
		     buf_printf(&c->out, "REASON=%s\n", refusal) < 0)) {
			conn_close(c);
			return;
		}
		delay = 0;
	}
	if (failed && delay > 0) {
		c->state = C_DELAY;
		ev_timer_free(&c->timer);
		c->timer = ev_timer_new(s->loop, delay, conn_delay_done, c);
		return;
	}
	conn_start_write(c);
}

/*
 * On the thread that finished j: a successful AUTH's reply is sent and
 * its connection closed here, not after a hop back to the loop (the send
 * wakes the client: the loop thread's largest cost per AUTH, now spread
 * over the threads that finish AUTHs, two CPUs instead of one).  What
 * the loop must still see comes after, in job_done, as before: the
 * throttling tables (a success resets the login's failures, which the
 * loop alone touches), the log line, the connection's end.  A failure
 * goes back to the loop for its delay; a keepalive connection (reply_fd
 * -1) reads its next request on the loop.  The fd is claimed from the
 * loop first, which may have closed the connection on a timeout; a short
 * send leaves the rest to the loop's write.  True when the whole reply
 * was sent: what is left for the loop is bookkeeping, which can wait for
 * its next wake-up (workq_complete_lazy) rather than cause one.
 */
static bool reply_early(struct authd_job *j)
{
	if (j->reply_fd < 0 || j->tempfail || j->login_failed ||
	    j->req.cmd != AUTHD_CMD_AUTH || j->reply.len == 0 ||
	    strcmp(buf_cstr(&j->reply), "FAIL\n") == 0)
		return false;
	int want = REPLY_FD_LOOP;
	if (!atomic_compare_exchange_strong(&j->reply_fd_state, &want,
					    REPLY_FD_SENDING))
		return false; /* the loop closed it */
	ssize_t n;
	do
		n = send(j->reply_fd, j->reply.p, j->reply.len,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)j->reply.len) {
		buf_wipe(&j->reply); /* may hold PASSWD2 */
		buf_reset(&j->reply);
		close(j->reply_fd);
		atomic_fetch_add(&n_early_replies, 1);
		atomic_store(&j->reply_fd_state, REPLY_FD_SENT);
		return true;
	}
	if (n > 0)
		buf_consume(&j->reply, (size_t)n);
	/* full socket or an error: the loop's write tries again or finds
	   the error itself */
	atomic_store(&j->reply_fd_state, REPLY_FD_LOOP);
	return false;
}

static void wq_run(void *ctx)
{
	/* false: parked, finished later through the hooks below */
	if (authd_handle(ctx) && reply_early(ctx))
		workq_lazy();
}

/* A parked AUTH (authd/handle.h): its worker is free at once; the thread
   that runs its user lookup's batch completes it, or resumes it on a
   worker when its password still needs a hash of its own. */
static void wq_park(struct authd_job *j)
{
	j->wq_job = workq_defer();
}

static void wq_complete(struct authd_job *j)
{
	if (reply_early(j))
		workq_complete_lazy(j->wq_job);
	else
		workq_complete(j->wq_job);
}

static void wq_resumed(void *ctx)
{
	authd_handle_resumed(ctx);
	if (reply_early(ctx))
		workq_lazy();
}

static int wq_resume(struct authd_job *j)
{
	return workq_resume(j->wq_job, wq_resumed);
}

static void wq_done(void *ctx)
{
	struct authd_job *j = ctx;
	job_done(j->srv, j);
}

static void wq_cancel(void *ctx)
{
	struct authd_job *j = ctx;
	authd_job_free(&j);
}

static void conn_dispatch(struct conn *c, struct authd_request *req)
{
	struct server *s = c->srv;
	/* no epoll change yet: a request answered at once (below) goes
	   straight back to reading, two epoll_ctl calls fewer */
	/* a client that sends its next request before this reply is not
	   one of ours: it gets the courier behaviour (close after reply) */
	c->keepalive = req->keepalive && req->used == c->in.len;
	if (c->keepalive) {
		buf_wipe(&c->in);
		buf_reset(&c->in);
	}
	if (req->cmd == AUTHD_CMD_REJECT) {
		/* answered at once, no worker needed */
		buf_reset(&c->out);
		if (buf_append_str(&c->out, "FAIL\n") < 0) {
			conn_close(c);
		} else {
			authd_request_free(req);
			conn_start_write(c);
			return;
		}
		authd_request_free(req);
		return;
	}
	if (req->cmd == AUTHD_CMD_AUTH || req->cmd == AUTHD_CMD_PASSWD) {
		char key[512];
		uint64_t now = ev_now_ms(s->loop);
		login_key(s, req, key, sizeof(key));
		char ik[600];
		ipuser_key(req->rip, key, ik, sizeof(ik));
		/* only the address, and the login from that address, are
		   refused: the owner elsewhere gets in (issue 10) */
		bool u =
		    throttle_check(s->thr_ipuser, ik, now) == THROTTLE_LOCKED;
		bool i =
		    throttle_check(s->thr_ip, req->rip, now) == THROTTLE_LOCKED;
		if (u || i) {
			log_login("throttled", key, req->rip, req->service,
				  u ? "user locked out for this client"
				    : "client locked out");
			authd_request_free(req);
			conn_close(c);
			return;
		}
	}
	struct authd_job *j = authd_job_new(req, s->cfg);
	j->conn = c;
	j->srv = s;
	j->park = wq_park;
	j->complete = wq_complete;
	j->resume = wq_resume;
	c->job = j;
	c->state = C_WORK;
	/* a reply to read the next request after stays the loop's */
	if (!c->keepalive)
		j->reply_fd = c->fd;
	if (authd_handle_fast(j)) {
		job_done(s, j);
		return;
	}
	enum authd_park park = authd_handle_park_prepare(j);
	if (park == AUTHD_PARK_ANSWERED) {
		job_done(s, j);
		return;
	}
	/* nothing read while the worker runs (no epoll_ctl when the
	   request came whole at accept: never watched); out of the epoll
	   set for good, since the thread that finishes the job may close
	   the fd (reply_early) */
	ev_io_free(&c->io);
	if (park == AUTHD_PARK_READY) {
		/* behind a user batch under way, with no worker woken for
		   it; else a worker runs it (and leads a batch) */
		j->wq_job = workq_defer_new(s->wq, wq_done, j);
		if (!authd_handle_park(j) &&
		    workq_resume(j->wq_job, wq_run) < 0) {
			/* only while the pool stops, never under the loop */
			j->tempfail = true;
			j->reason = "worker pool stopping";
			workq_complete(j->wq_job);
		}
		ev_timer_set(c->timer, s->cfg->request_timeout_ms);
		return;
	}
	if (workq_submit(s->wq, wq_run, wq_done, j) < 0) {
		log_warning("authd: worker queue full: temporary failure");
		c->job = NULL;
		authd_job_free(&j);
		conn_close(c);
		return;
	}
	ev_timer_set(c->timer, s->cfg->request_timeout_ms);
}

/* Reads what the client sent and acts on a complete request.  c may be
   freed on return. */
static void conn_read(struct conn *c)
{
	bool progress = false;
	struct authd_request req;
	const char *why = NULL;
	enum authd_parse_status st = AUTHD_PARSE_MORE;
	for (;;) {
		int r = net_fill(c->fd, &c->in);
		if (r > 0) {
			progress = true;
			/* the protocol says when a request is whole (a line,
			   or "AUTH <len>" and len bytes): act on it without
			   the read that would only return EAGAIN */
			st = authd_parse(c->in.p, c->in.len, false, &req, &why);
			if (st != AUTHD_PARSE_MORE)
				break;
			continue;
		}
		if (r == 0)
			break; /* st is the last parse's: nothing new */
		if (errno != 0 && errno != ENOBUFS) {
			conn_close(c);
			return;
		}
		/* the end of the client's data (errno 0), or the buffer full:
		   what is there is all there will be */
		st = authd_parse(c->in.p != NULL ? c->in.p : "", c->in.len,
				 errno == 0, &req, &why);
		break;
	}
	if (st == AUTHD_PARSE_OK) {
		conn_dispatch(c, &req);
		return;
	}
	if (st == AUTHD_PARSE_CLOSE) {
		if (c->in.len > 0)
			log_debug("authd: dropped a request: %s", why);
		conn_close(c);
		return;
	}
	if (conn_watch(c, EV_READ) < 0) {
		conn_close(c);
		return;
	}
	if (progress) {
		uint64_t now = ev_now_ms(c->srv->loop);
		uint64_t left =
		    c->read_deadline > now ? c->read_deadline - now : 1;
		ev_timer_set(c->timer,
			     left < AUTHD_IDLE_MS ? left : AUTHD_IDLE_MS);
	}
}

static void conn_io(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	struct conn *c = ctx;
	if (c->state == C_WRITE) {
		conn_write(c);
		return;
	}
	if (c->state != C_READ)
		return;
	conn_read(c);
}

static void accept_resume(struct ev_timer *t, void *ctx)
{
	struct server *s = ctx;
	ev_timer_free(&s->accept_timer);
	if (s->nconns < s->cfg->max_clients) {
		s->accept_paused = false;
		ev_io_set(s->listen_io, EV_READ);
	}
}

static void on_accept(struct ev_io *io, int lfd, unsigned events, void *ctx)
{
	struct server *s = ctx;
	for (;;) {
		if (s->nconns >= s->cfg->max_clients) {
			s->accept_paused = true;
			ev_io_set(s->listen_io, 0);
			return;
		}
		int fd;
		char peer[NET_ADDR_MAX];
		int r = net_accept(lfd, &fd, peer, sizeof(peer));
		if (r == 0) {
			/* awake anyway: the ends of AUTHs answered
			   meanwhile, without a wake-up of their own */
			workq_take(s->wq);
			return;
		}
		if (r < 0) {
			log_error("authd: accept: %s", strerror(errno));
			s->accept_paused = true;
			ev_io_set(s->listen_io, 0);
			if (s->accept_timer == NULL)
				s->accept_timer = ev_timer_new(
				    s->loop, ACCEPT_RETRY_MS, accept_resume, s);
			return;
		}
		struct conn *c = xcalloc(1, sizeof(*c));
		c->srv = s;
		c->fd = fd;
		buf_init(&c->in, AUTHD_REQUEST_MAX);
		buf_init(&c->out, AUTHD_REPLY_MAX);
		c->state = C_READ;
		c->read_deadline = ev_now_ms(s->loop) + AUTHD_READ_DEADLINE_MS;
		c->timer =
		    ev_timer_new(s->loop, AUTHD_IDLE_MS, conn_timeout, c);
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		/* most clients have written their request by now: read it
		   before registering the fd with epoll, which a request
		   answered or parked at once then never needs */
		conn_read(c);
	}
}
/* The verifier stage's counters (lib/md5crypt_batch): how many MD5-crypt
   checks shared an evaluation, at each reload and at the end. */
static void log_md5crypt_stage(size_t lazy)
{
	unsigned long batches, pairs;
	md5crypt_batch_stats(&batches, &pairs);
	if (batches > 0)
		log_info("authd: md5crypt stage: %lu checks in %lu evaluations "
			 "(%.2f per evaluation)",
			 pairs, batches, (double)pairs / (double)batches);
	unsigned long early = atomic_load(&n_early_replies);
	if (early > 0)
		log_info("authd: %lu replies sent by the threads that "
			 "finished their AUTH",
			 early);
	if (lazy > 0)
		log_info("authd: %zu AUTHs ended without waking the loop",
			 lazy);
	authd_lanes_stats(&pairs, &batches);
	if (batches > 0)
		log_info("authd: hash stage: %lu checks in %lu evaluations "
			 "(%.2f per evaluation)",
			 pairs, batches, (double)pairs / (double)batches);
}

static void reload(struct server *s)
{
	const char *err = NULL;
	struct conf *conf =
	    conf_load(s->conf_path, conf_tables_for("authd"), &err);
	if (conf == NULL) {
		log_error("authd: reload failed, keeping the running "
			  "configuration: %s",
			  err != NULL ? err : "?");
		return;
	}
	/* re-read the secret if we still can (we may have dropped root) */
	const char *pwpath = conf_str(conf, "mysql_password_file");
	char *pw = NULL;
	if (pwpath[0] != '\0') {
		const char *e2 = NULL;
		pw = authd_read_secret(pwpath, &e2);
	}
	if (pw != NULL) {
		if (s->db_password != NULL) {
			explicit_bzero(s->db_password, strlen(s->db_password));
			free(s->db_password);
		}
		s->db_password = pw;
	}
	struct authd_cfg *cfg = authd_cfg_new(conf, s->db_password, &err);
	if (cfg == NULL) {
		conf_free(&conf);
		log_error("authd: reload failed, keeping the running "
			  "configuration: %s",
			  err);
		return;
	}
	authd_cfg_load_maps(cfg, s->db_password, s->cfg);
	if (strcmp(cfg->socket_path, s->cfg->socket_path) != 0 ||
	    cfg->workers != s->cfg->workers)
		log_warning("authd: authd_socket and authd_workers change "
			    "only at restart");
	authd_cfg_unref(&s->cfg);
	s->cfg = cfg;
	authd_handle_clear_caches();
	log_md5crypt_stage(workq_lazy_count(s->wq));
	md5crypt_batch_config(0, cfg->md5crypt_batch);
	throttle_configure(s->thr_ipuser, cfg->failure_limit_user,
			   cfg->failure_window_ms, cfg->lockout_ms);
	throttle_configure(s->thr_ip, cfg->failure_limit_client,
			   cfg->failure_window_ms, cfg->lockout_ms);
	throttle_configure(s->thr_user, UINT_MAX, cfg->failure_window_ms, 0);
	if (log_reopen() < 0)
		log_warning("authd: cannot reopen the log file: %s",
			    strerror(errno));
	log_info("authd: configuration reloaded, caches cleared");
}

/* SIGUSR1: youju-authd's master started a process on a new
   configuration.  Stop accepting (the socket is the new process's now),
   close the connections that wait for a request (clients reconnect),
   answer the requests in progress, then exit. */
static void drain(struct server *s)
{
	if (s->draining)
		return;
	s->draining = true;
	s->accept_paused = false;
	ev_io_free(&s->listen_io);
	ev_timer_free(&s->accept_timer);
	struct conn *next;
	for (struct conn *c = s->conns; c != NULL; c = next) {
		next = c->next;
		c->keepalive = false;
		if (c->state == C_READ && c->in.len == 0)
			conn_close(c);
	}
	log_info("authd: reload: old process stops accepting, %u "
		 "connections left",
		 s->nconns);
	if (s->nconns == 0)
		ev_loop_stop(s->loop);
}

static void on_signal(int signo, void *ctx)
{
	struct server *s = ctx;
	if (signo == SIGHUP) {
		reload(s);
		return;
	}
	if (signo == SIGUSR1) {
		drain(s);
		return;
	}
	log_info("authd: stopping on signal %d", signo);
	ev_loop_stop(s->loop);
}

int authd_server_run(int listen_fd, struct authd_cfg *cfg,
		     const char *conf_path, const char *db_password)
{
	struct server s;
	memset(&s, 0, sizeof(s));
	s.loop = ev_loop_new();
	s.cfg = cfg;
	s.conf_path = xstrdup(conf_path);
	s.db_password = db_password != NULL ? xstrdup(db_password) : NULL;
	s.listen_fd = listen_fd;
	s.thr_ipuser = throttle_new(THROTTLE_MAX_KEYS, cfg->failure_limit_user,
				    cfg->failure_window_ms, cfg->lockout_ms);
	/* counts only: the limit is never reached, nothing locks */
	s.thr_user = throttle_new(THROTTLE_MAX_KEYS, UINT_MAX,
				  cfg->failure_window_ms, 0);
	s.thr_ip = throttle_new(THROTTLE_MAX_KEYS, cfg->failure_limit_client,
				cfg->failure_window_ms, cfg->lockout_ms);
	authd_handle_init();
	md5crypt_batch_config(0, cfg->md5crypt_batch);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    ev_signal(s.loop, SIGTERM, on_signal, &s) < 0 ||
	    ev_signal(s.loop, SIGINT, on_signal, &s) < 0 ||
	    ev_signal(s.loop, SIGHUP, on_signal, &s) < 0 ||
	    ev_signal(s.loop, SIGUSR1, on_signal, &s) < 0)
		fatal("authd: cannot set up signal handling: %s",
		      strerror(errno));
	/* the queue holds what the clients limit allows */
	s.wq = workq_new(&(struct workq_opts){.name = "authd",
					      .threads = cfg->workers,
					      .queue_max = cfg->max_clients,
					      .loop = s.loop,
					      .cancel = wq_cancel,
					      .lazy_ms = AUTHD_LAZY_MS});
	authd_lanes_start(0);
	s.listen_io = ev_io_new(s.loop, listen_fd, EV_READ, on_accept, &s);

	int rc = ev_loop_run(s.loop);

	ev_io_free(&s.listen_io);
	ev_timer_free(&s.accept_timer);
	s.draining = false;	 /* no log line per connection from here */
	s.accept_paused = false; /* the listener is gone */
	while (s.conns != NULL)
		conn_close(s.conns);
	size_t lazy = workq_lazy_count(s.wq);
	workq_free(&s.wq);
	authd_lanes_stop(); /* after the pool: its parked AUTHs wait there */
	log_md5crypt_stage(lazy);
	authd_handle_deinit();
	throttle_free(&s.thr_ipuser);
	throttle_free(&s.thr_user);
	throttle_free(&s.thr_ip);
	authd_cfg_unref(&s.cfg);
	if (s.db_password != NULL) {
		explicit_bzero(s.db_password, strlen(s.db_password));
		free(s.db_password);
	}
	free(s.conf_path);
	ev_loop_free(&s.loop);
	return rc;
}
