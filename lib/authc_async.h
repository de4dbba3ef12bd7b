/*
 * youju-authd LOOKUPs for an event loop thread (lib/ev), without a worker
 * thread: the request goes out on a kept connection watched by the loop,
 * and the caller's callback runs when the reply arrives.  The protocol
 * and the outcomes are lib/authc's (authc_lookup_rcpt() and friends):
 * KEEPALIVE=1 requests (docs/authd-protocol.md §3), one request in flight
 * per connection (the protocol wants the reply before the next request),
 * at most max_conns connections, further requests wait in order.  Each
 * request has the whole-request deadline given at creation; a kept
 * connection found closed before any byte of the reply is asked again on
 * a new one (lookups are idempotent), and one idle longer than
 * AUTHC_KEEPALIVE_IDLE_MS, or opened on a socket file that is no longer
 * the one at the path, is replaced.  Loop thread only.
 */
#ifndef YOUJU_AUTHC_ASYNC_H
#define YOUJU_AUTHC_ASYNC_H

#include <stddef.h>

#include "authc.h"
#include "ev.h"

struct authc_async;
struct authc_async_req;

/*
 * The result: AUTHC_OK with the reply's KEY=VALUE pairs in reply
 * (borrowed for the call), AUTHC_NOTFOUND, or AUTHC_TEMPFAIL (no socket,
 * deadline passed, connection closed without a whole reply).  Runs on the
 * loop, never from inside authc_async_lookup(); it may start or cancel
 * other lookups but must not free the client.
 */
typedef void authc_async_fn(void *ctx, enum authc_status st,
			    const struct authc_reply *reply);

/*
 * A client of the youju-authd socket at socket_path (copied) on loop:
 * max_conns connections at most (>= 1), queue_max requests waiting for
 * one beyond them, timeout_ms per request (> 0).  Aborts on failure.
 */
struct authc_async *authc_async_new(struct ev_loop *loop,
				    const char *socket_path, unsigned max_conns,
				    size_t queue_max, unsigned timeout_ms);
/* Closes the connections; callbacks not yet run never run.  NULL-safe;
   sets *a to NULL. */
void authc_async_free(struct authc_async **a);

/*
 * LOOKUP kind arg ("rcpt", "domain", ... as lib/authc).  fn(ctx, ...)
 * runs exactly once, unless cancelled first.  Returns the request (owned
 * by the client until fn runs or it is cancelled), or NULL when queue_max
 * requests already wait (nothing is asked; fn never runs: a temporary
 * failure for the caller to answer).
 */
struct authc_async_req *authc_async_lookup(struct authc_async *a,
					   const char *kind, const char *arg,
					   authc_async_fn *fn, void *ctx);
/* Forgets a request whose fn has not run (its owner goes away) and
   clears the caller's pointer.  A reply already asked for is read and
   dropped, so the connection stays usable.  NULL-safe. */
void authc_async_cancel(struct authc_async_req **r);

/* Requests not yet delivered (waiting, in flight or about to be
   delivered), and connections open: for tests. */
size_t authc_async_pending(const struct authc_async *a);
unsigned authc_async_conns(const struct authc_async *a);

#endif
