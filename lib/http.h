/*
 * The HTTP layer of youju's web daemons (DESIGN §10), on libmicrohttpd
 * 0.9.75: an internal thread pool with epoll does the sockets and the
 * parsing of requests; every API request is then handed, with its
 * connection suspended, to a small pool of worker threads of our own (SQL
 * and password hashing block), and its reply queued when the connection is
 * resumed.  Static files are served from a document root directly.
 *
 * What the layer enforces for every request, so that handlers need not:
 * limits (connection memory and so header size, connections per IP, the
 * body cap -> 413), "Transfer-Encoding: chunked" together with
 * "Content-Length" -> 400, a route table with path parameters, the security
 * headers (CSP without inline script, frame-ancestors 'none', nosniff,
 * no-referrer) on every response, and one access-log line per request
 * (method, path without the query, status, bytes, time, client, user: no
 * cookies, no tokens, no bodies).
 *
 * Sessions, CSRF and roles are the application's: a route's flags are
 * given to its authorize callback (http_server_opts.authorize) on the
 * worker thread before the handler runs.
 */
#ifndef YOUJU_HTTP_H
#define YOUJU_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_req;
struct http_server;

/* Route flags, passed to the authorize callback. */
enum {
	HTTP_F_SESSION = 1 << 0, /* a logged-in session or an API token */
	HTTP_F_CSRF = 1 << 1,  /* X-CSRF-Token must match (not with a token) */
	HTTP_F_ADMIN = 1 << 2, /* the super administrator only */
};

/* Path parameters ("{}" segments) per route, at most. */
#define HTTP_PARAMS_MAX 4
/* Bytes of one path parameter or query value kept, at most. */
#define HTTP_PARAM_MAX 512
/* Query arguments kept per request, at most (others are ignored). */
#define HTTP_QUERY_MAX 16

/*
 * Runs on a worker thread with the request; it must set the reply
 * (http_reply_json(), http_reply_error(), ...) before returning.  A handler
 * that sets none answers 500.
 */
typedef void http_handler_fn(struct http_req *req);

struct http_route {
	const char *method;  /* "GET", "POST", "PUT", "DELETE" */
	const char *pattern; /* "/api/domains/{}/mailboxes/{}": "{}" matches
				one non-empty segment */
	http_handler_fn *handler;
	unsigned flags; /* HTTP_F_* */
};

/*
 * Called on the worker thread before each handler with the route's flags:
 * returns true to run the handler, or false after setting an error reply
 * (401, 403).
 */
typedef bool http_authorize_fn(void *app, struct http_req *req, unsigned flags);

struct http_server_opts {
	const char *name;  /* "webadmin": log prefix */
	int listen_fds[8]; /* bound, listening sockets */
	size_t n_listen;
	const char *docroot;		 /* static files (NULL: none) */
	const struct http_route *routes; /* ends with a NULL method */
	http_authorize_fn *authorize;
	void *app;		  /* given to authorize, http_req_app() */
	unsigned threads;	  /* MHD thread pool size */
	unsigned workers;	  /* handler threads */
	unsigned queue_max;	  /* queued jobs before 503 */
	size_t body_max;	  /* bytes of a request body (413 beyond) */
	size_t conn_memory;	  /* per-connection memory: headers fit */
	unsigned per_ip;	  /* connections per client address */
	unsigned conn_limit;	  /* connections in all */
	unsigned timeout;	  /* seconds idle before a connection closes */
	const char *tls_cert_pem; /* PEM certificate chain and key for
				     HTTPS with libmicrohttpd's GnuTLS; */
	const char *tls_key_pem;  /* NULL: plain HTTP. Must outlive the
				     server. */
	int access_fd;		  /* access log, opened O_APPEND before the
				     privilege drop (-1: the mail log);
				     the server closes it */
};

/*
 * Starts serving on the given sockets (already bound, maybe as root; call
 * after privsep_drop()).  Returns the server, or NULL with *error_r.
 */
struct http_server *http_server_start(const struct http_server_opts *o,
				      const char **error_r);
/* Stops accepting, finishes the queued jobs, stops MHD.  NULL-safe. */
void http_server_stop(struct http_server **s);
/*
 * A web daemon's main loop, after privsep_drop(): blocks SIGTERM, SIGINT,
 * SIGHUP and SIGPIPE (the MHD and worker threads inherit the mask, so only
 * this thread takes them, with sigwait), starts the server, tells the
 * parent it is ready (daemon_ready), then waits: SIGHUP reopens the log,
 * SIGTERM or SIGINT stops the server and closes o's listening sockets.
 * Returns 0 after a stop, or -1 with *error_r when it could not start.
 */
int http_server_run(const struct http_server_opts *o, const char **error_r);

/* ---- for handlers (worker thread) ---- */

void *http_req_app(const struct http_req *req);
const char *http_req_method(const struct http_req *req);
/* The path, URL-decoded by MHD (borrowed for the request's life). */
const char *http_req_path(const struct http_req *req);
/* The i-th "{}" of the route (0-based), or "" (borrowed). */
const char *http_req_param(const struct http_req *req, size_t i);
/* A query argument (decoded), or NULL when absent (borrowed). */
const char *http_req_query(const struct http_req *req, const char *name);
/* A request header (case-insensitive name), or NULL (borrowed).  Only the
   headers the layer keeps: Cookie, X-CSRF-Token, Authorization,
   Content-Type, Origin, Host, User-Agent. */
const char *http_req_header(const struct http_req *req, const char *name);
/* The body (NUL-terminated, may hold NULs) and its length. */
const char *http_req_body(const struct http_req *req, size_t *len_r);
/* The client's address as text ("127.0.0.1"). */
const char *http_req_client(const struct http_req *req);
/* Whether the request came over TLS (for the Secure cookie flag). */
bool http_req_tls(const struct http_req *req);
/* Names the authenticated user in the access log (copied). */
void http_req_set_user(struct http_req *req, const char *user);
/* Per-request slot for the application (e.g. its session); freed by the
   application's handler, never by the layer. */
void http_req_set_ctx(struct http_req *req, void *ctx);
void *http_req_ctx(const struct http_req *req);

/* Sets the reply: status and a JSON text (copied).  Content-Type is
   application/json; charset=utf-8. */
void http_reply_raw(struct http_req *req, unsigned status,
		    const char *content_type, const char *body, size_t len);
/*
 * Adds a response header (copied; at most 8 per reply), e.g. Set-Cookie.
 * Names and values must not contain CR or LF (ASSERT).  A header the layer
 * sends by default (the security headers, Cache-Control: no-store) is
 * replaced by the handler's own of the same name (case-insensitive), e.g.
 * a stricter Content-Security-Policy for one reply; an empty value removes
 * it.
 */
void http_reply_header(struct http_req *req, const char *name,
		       const char *value);

/*
 * Holds the reply for ms milliseconds (at most HTTP_DELAY_MAX_MS) after
 * the handler returns, on a timer rather than on the worker thread: a
 * failed login waits out youju-authd's penalty this way (lib/authc
 * authc_auth_login_penalty) without tying up a worker.  At most
 * HTTP_DELAYED_MAX replies wait at once; beyond that, and when the server
 * stops, they go out at once.
 */
#define HTTP_DELAY_MAX_MS 300000u
#define HTTP_DELAYED_MAX  1024
void http_reply_delay(struct http_req *req, unsigned ms);

/* ---- helpers shared with the tests and fuzzers ---- */

/*
 * Matches path against a route pattern; on a match copies the "{}" segments
 * into params (each HTTP_PARAM_MAX bytes) and returns true.  A segment
 * longer than HTTP_PARAM_MAX or a pattern with more than HTTP_PARAMS_MAX
 * parameters does not match.
 */
bool http_route_match(const char *pattern, const char *path,
		      char params[][HTTP_PARAM_MAX], size_t *nparams_r);
/*
 * Resolves a URL path below docroot for a static file: refuses ".." (also
 * inside a name), segments starting with "." (hidden files),
 * empty segments after the first, NULs, backslashes and hidden files; "/"
 * maps to index.html.  Writes docroot-relative into out.  Returns 0 or -1.
 */
int http_static_path(const char *urlpath, char *out, size_t outsz);
/*
 * The headers a handler's reply carries besides Content-Type, in order:
 * the layer's defaults not overridden by names[] (case-insensitive), then
 * names[i]: values[i] for each non-empty value (Set-Cookie may repeat).
 * emit is called once per header.
 */
typedef void http_header_fn(void *ctx, const char *name, const char *value);
void http_headers_merge(const char *const *names, const char *const *values,
			size_t n, http_header_fn *emit, void *ctx);
/*
 * The Origin check of every state change (not GET or HEAD), before the
 * route's authorize callback: a request without Origin passes (not a
 * browser, or an old one: the CSRF token still holds); otherwise Origin
 * must be http(s)://HOST where HOST is the Host header (host and port;
 * host only when Host has no port, as behind a proxy sending
 * "Host $host"); "null" and other schemes are refused.  403 "origin".
 */
bool http_origin_ok(const char *method, const char *origin, const char *host);
/* Content-Type for a file name by its extension. */
const char *http_mime_type(const char *name);

#endif
