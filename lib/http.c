/*
 * libmicrohttpd glue for youju's web daemons (see http.h).  Each request
 * goes through three calls of the access handler: the first (headers
 * parsed) checks framing and size and picks the route, the next ones take
 * the body into a capped buffer, and the last either serves a static file
 * at once or suspends the connection and queues the request for a worker
 * thread.  The worker runs the application's authorize callback and the
 * handler, then resumes the connection; the handler is called once more
 * and queues the reply.  web.md §6: suspended connections never time out
 * in MHD, so every job must end by itself (the SQL pool has timeouts) and
 * the workers drain the queue before MHD is stopped.
 */
#include "http.h"
#include "timerq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "daemon.h"
#include "log.h"
#include "workq.h"
#include "xalloc.h"

/* active in release builds too (STYLE.md "Errors") */
#define HTTP_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			fatal("http: assertion failed: %s (%s:%d)", #cond,     \
			      __FILE__, __LINE__);                             \
	} while (0)

#define HTTP_REPLY_HEADERS 8
/* seconds a request may wait for a worker before it is refused (503) */
#define HTTP_QUEUE_DEADLINE 30
#define HTTP_KEPT_HEADERS   8
#define HTTP_REPLY_MAX	    (64u << 20)

/* the request headers handlers may read */
static const char *const kept_headers[HTTP_KEPT_HEADERS] = {
    "Cookie", "X-CSRF-Token", "Authorization", "Content-Type",
    "Origin", "Host",	      "User-Agent",    "X-Forwarded-Proto",
};

/* Every response: no inline script, no framing, no sniffing, no referrer
   (DESIGN §10; web.md §8c for the app pages). */
static const char *const security_headers[][2] = {
    {"Content-Security-Policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; "
     "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
     "form-action 'self'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};

enum req_state {
	REQ_NEW,    /* first call done: reading the body */
	REQ_QUEUED, /* with a worker; connection suspended */
	REQ_DONE,   /* reply ready; queue it on the next call */
	REQ_SENT,   /* response queued */
};

struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	enum req_state state;
	struct timespec start;
	char method[8];
	char *path;
	char client[INET6_ADDRSTRLEN];
	bool tls;
	const struct http_route *route;
	char params[HTTP_PARAMS_MAX][HTTP_PARAM_MAX];
	size_t nparams;
	char *qname[HTTP_QUERY_MAX], *qval[HTTP_QUERY_MAX];
	size_t nquery;
	char *hdr[HTTP_KEPT_HEADERS];
	struct buf body;
	bool body_too_big;
	/* reply */
	unsigned status;
	char *ctype;
	struct buf out;
	char *rh_name[HTTP_REPLY_HEADERS], *rh_value[HTTP_REPLY_HEADERS];
	size_t nrh;
	uint64_t sent_bytes;
	char *user;
	void *ctx;
	struct timespec queued_at;
	bool ran;	   /* req_run finished: its reply stands */
	unsigned delay_ms; /* http_reply_delay: resume this much later */
};

struct http_server {
	struct http_server_opts o;
	struct MHD_Daemon *mhd[8];
	size_t nmhd;
	int docroot_fd;
	struct workq *pool; /* handlers run here (lib/workq, callback mode) */
	struct timerq *delays; /* replies held back (http_reply_delay) */
	int access_fd;
	pthread_mutex_t log_lock;
};

/* ---- pure helpers ---- */

bool http_route_match(const char *pattern, const char *path,
		      char params[][HTTP_PARAM_MAX], size_t *nparams_r)
{
	size_t n = 0;
	const char *p = pattern, *s = path;
	while (*p != '\0') {
		if (p[0] == '*' && p[1] == '\0') {
			*nparams_r = n;
			return true;
		}
		if (p[0] == '{' && p[1] == '}') {
			size_t len = strcspn(s, "/");
			if (len == 0 || len >= HTTP_PARAM_MAX ||
			    n >= HTTP_PARAMS_MAX)
				return false;
			memcpy(params[n], s, len);
			params[n][len] = '\0';
			n++;
			s += len;
			p += 2;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	if (*s != '\0')
		return false;
	*nparams_r = n;
	return true;
}

int http_static_path(const char *urlpath, char *out, size_t outsz)
{
	if (urlpath[0] != '/')
		return -1;
	const char *p = urlpath + 1;
	if (*p == '\0')
		p = "index.html";
	size_t len = strlen(p);
	if (len == 0 || len >= outsz || len > 1024 || strstr(p, "..") != NULL)
		return -1; /* ".." nowhere, not only as a whole segment */
	/* every segment non-empty, not starting with '.', plain bytes;
	   a trailing '/' names the directory's index.html */
	const char *seg = p;
	for (;;) {
		size_t sl = strcspn(seg, "/");
		if (sl == 0 && seg[0] == '\0' && seg != p)
			break; /* trailing slash */
		if (sl == 0 || seg[0] == '.')
			return -1;
		for (size_t i = 0; i < sl; i++) {
			unsigned char c = (unsigned char)seg[i];
			if (c < 0x21 || c == 0x7f || c == '\\' || c == ':')
				return -1;
		}
		if (seg[sl] == '\0')
			break;
		seg += sl + 1;
	}
	memcpy(out, p, len + 1);
	if (out[len - 1] == '/') {
		static const char idx[] = "index.html";
		if (len + sizeof idx > outsz)
			return -1;
		memcpy(out + len, idx, sizeof idx);
	}
	return 0;
}

const char *http_mime_type(const char *name)
{
	static const char *const map[][2] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".json", "application/json; charset=utf-8"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".ico", "image/x-icon"},
	    {".woff2", "font/woff2"},
	    {".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(name, '.');
	if (dot != NULL)
		for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
			if (strcmp(dot, map[i][0]) == 0)
				return map[i][1];
	return "application/octet-stream";
}

/* ---- request accessors ---- */

void *http_req_app(const struct http_req *req)
{
	return req->srv->o.app;
}
const char *http_req_method(const struct http_req *req)
{
	return req->method;
}
const char *http_req_path(const struct http_req *req)
{
	return req->path;
}
const char *http_req_param(const struct http_req *req, size_t i)
{
	return i < req->nparams ? req->params[i] : "";
}
const char *http_req_query(const struct http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (strcmp(req->qname[i], name) == 0)
			return req->qval[i];
	return NULL;
}
const char *http_req_header(const struct http_req *req, const char *name)
{
	for (size_t i = 0; i < HTTP_KEPT_HEADERS; i++)
		if (strcasecmp(kept_headers[i], name) == 0)
			return req->hdr[i];
	return NULL;
}
const char *http_req_body(const struct http_req *req, size_t *len_r)
{
	*len_r = req->body.len;
	return buf_cstr(&req->body);
}
const char *http_req_client(const struct http_req *req)
{
	return req->client;
}
bool http_req_tls(const struct http_req *req)
{
	return req->tls;
}
void http_req_set_user(struct http_req *req, const char *user)
{
	free(req->user);
	req->user = user != NULL ? xstrdup(user) : NULL;
}
void http_req_set_ctx(struct http_req *req, void *ctx)
{
	req->ctx = ctx;
}
void *http_req_ctx(const struct http_req *req)
{
	return req->ctx;
}

void http_reply_raw(struct http_req *req, unsigned status,
		    const char *content_type, const char *body, size_t len)
{
	req->status = status;
	free(req->ctype);
	req->ctype = xstrdup(content_type);
	buf_reset(&req->out);
	if (buf_append(&req->out, body, len) < 0) {
		req->status = 500;
		free(req->ctype);
		req->ctype = xstrdup("application/json");
		buf_reset(&req->out);
		if (buf_append_str(&req->out,
				   "{\"error\":{\"code\":\"internal\","
				   "\"message\":\"reply too large\"}}") < 0)
			buf_reset(&req->out);
	}
}

void http_reply_delay(struct http_req *req, unsigned ms)
{
	req->delay_ms = ms > HTTP_DELAY_MAX_MS ? HTTP_DELAY_MAX_MS : ms;
}

void http_reply_header(struct http_req *req, const char *name,
		       const char *value)
{
	HTTP_ASSERT(strpbrk(name, "\r\n") == NULL);
	HTTP_ASSERT(strpbrk(value, "\r\n") == NULL);
	HTTP_ASSERT(req->nrh < HTTP_REPLY_HEADERS);
	req->rh_name[req->nrh] = xstrdup(name);
	req->rh_value[req->nrh] = xstrdup(value);
	req->nrh++;
}

static void reply_error(struct http_req *req, unsigned status, const char *code,
			const char *message)
{
	char body[256];
	int n = snprintf(body, sizeof body,
			 "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
			 code, message);
	HTTP_ASSERT(n > 0 && (size_t)n < sizeof body);
	http_reply_raw(req, status, "application/json; charset=utf-8", body,
		       (size_t)n);
}

/* ---- request life ---- */

static void req_free(struct http_req *r)
{
	free(r->path);
	for (size_t i = 0; i < r->nquery; i++) {
		free(r->qname[i]);
		free(r->qval[i]);
	}
	for (size_t i = 0; i < HTTP_KEPT_HEADERS; i++)
		free(r->hdr[i]);
	buf_deinit(&r->body);
	free(r->ctype);
	buf_deinit(&r->out);
	for (size_t i = 0; i < r->nrh; i++) {
		free(r->rh_name[i]);
		free(r->rh_value[i]);
	}
	free(r->user);
	free(r);
}

static void add_security_headers(struct MHD_Response *resp)
{
	for (size_t i = 0;
	     i < sizeof security_headers / sizeof security_headers[0]; i++)
		(void)MHD_add_response_header(resp, security_headers[i][0],
					      security_headers[i][1]);
}

static bool name_in(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

void http_headers_merge(const char *const *names, const char *const *values,
			size_t n, http_header_fn *emit, void *ctx)
{
	for (size_t i = 0;
	     i < sizeof security_headers / sizeof security_headers[0]; i++)
		if (!name_in(security_headers[i][0], names, n))
			emit(ctx, security_headers[i][0],
			     security_headers[i][1]);
	if (!name_in("Cache-Control", names, n))
		emit(ctx, "Cache-Control", "no-store");
	for (size_t i = 0; i < n; i++)
		if (values[i][0] != '\0')
			emit(ctx, names[i], values[i]);
}

/* host[:port] or [v6][:port]: the host's length and the port (NULL). */
static void split_hostport(const char *s, size_t *hlen, const char **port)
{
	const char *e = s[0] == '[' ? strchr(s, ']') : strchr(s, ':');
	if (s[0] == '[')
		e = e != NULL ? e + 1 : s + strlen(s);
	else if (e == NULL)
		e = s + strlen(s);
	*hlen = (size_t)(e - s);
	*port = *e == ':' ? e + 1 : NULL;
}

bool http_origin_ok(const char *method, const char *origin, const char *host)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
	    origin == NULL)
		return true;
	const char *o = origin;
	if (strncasecmp(o, "https://", 8) == 0)
		o += 8;
	else if (strncasecmp(o, "http://", 7) == 0)
		o += 7;
	else
		return false; /* "null" (sandboxed, file:), other schemes */
	if (host == NULL || host[0] == '\0' || o[0] == '\0' ||
	    strpbrk(o, "/?#@ ") != NULL)
		return false;
	size_t ol, hl;
	const char *op, *hp;
	split_hostport(o, &ol, &op);
	split_hostport(host, &hl, &hp);
	if (ol != hl || strncasecmp(o, host, ol) != 0)
		return false;
	/* Host without a port (a proxy's "Host $host"): names only */
	return hp == NULL || (op != NULL && strcmp(op, hp) == 0);
}

static void add_one(void *resp, const char *name, const char *value)
{
	(void)MHD_add_response_header(resp, name, value);
}

static enum MHD_Result queue_reply(struct http_req *r)
{
	if (r->status == 0)
		reply_error(r, 500, "internal", "no reply");
	size_t len = r->out.len;
	struct MHD_Response *resp;
	/* the reply buffer is handed to MHD, which frees it */
	char *data = r->out.p;
	if (data == NULL)
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	else {
		resp = MHD_create_response_from_buffer(len, data,
						       MHD_RESPMEM_MUST_FREE);
		if (resp != NULL)
			r->out.p = NULL, r->out.len = r->out.cap = 0;
	}
	if (resp == NULL)
		return MHD_NO;
	if (r->ctype != NULL)
		(void)MHD_add_response_header(resp, "Content-Type", r->ctype);
	http_headers_merge((const char *const *)r->rh_name,
			   (const char *const *)r->rh_value, r->nrh, add_one,
			   resp);
	r->sent_bytes = len;
	r->state = REQ_SENT;
	enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result fail_now(struct http_req *r, unsigned status,
				const char *code, const char *message)
{
	reply_error(r, status, code, message);
	return queue_reply(r);
}

/* Serves a static file from the document root on the MHD thread (a
   local file read is fast); GET and HEAD only. */
static enum MHD_Result serve_static(struct http_req *r)
{
	struct http_server *s = r->srv;
	char rel[1100];
	if (s->docroot_fd < 0 || http_static_path(r->path, rel, sizeof rel) < 0)
		return fail_now(r, 404, "not_found", "no such page");
	/* walk the segments without following symlinks: nothing outside
	   the document root can be reached */
	const char *ctype = http_mime_type(rel); /* static strings */
	int dfd = dup(s->docroot_fd);
	if (dfd < 0)
		return fail_now(r, 500, "internal", "cannot open");
	char *save = NULL, *seg = strtok_r(rel, "/", &save);
	int fd = -1;
	while (seg != NULL) {
		char *next = strtok_r(NULL, "/", &save);
		int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			    (next != NULL ? O_DIRECTORY : 0);
		fd = openat(dfd, seg, flags);
		close(dfd);
		dfd = -1;
		if (fd < 0)
			break;
		if (next != NULL) {
			dfd = fd;
			fd = -1;
		}
		seg = next;
	}
	if (dfd >= 0)
		close(dfd);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return fail_now(r, 404, "not_found", "no such page");
	}
	char etag[80];
	snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
		 (uint64_t)st.st_ino, (uint64_t)st.st_size,
		 (uint64_t)st.st_mtim.tv_sec * 1000000000u +
		     (uint64_t)st.st_mtim.tv_nsec);
	const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						      "If-None-Match");
	struct MHD_Response *resp;
	unsigned status;
	if (inm != NULL && strstr(inm, etag) != NULL) {
		close(fd);
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
		status = 304;
		r->sent_bytes = 0;
	} else {
		/* MHD owns fd from here and closes it */
		resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
		if (resp == NULL)
			close(fd);
		status = 200;
		r->sent_bytes = (uint64_t)st.st_size;
	}
	if (resp == NULL)
		return MHD_NO;
	add_security_headers(resp);
	(void)MHD_add_response_header(resp, "ETag", etag);
	(void)MHD_add_response_header(resp, "Cache-Control", "no-cache");
	if (status == 200)
		(void)MHD_add_response_header(resp, "Content-Type", ctype);
	r->status = status;
	r->state = REQ_SENT;
	enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result copy_query(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	struct http_req *r = cls;
	if (r->nquery >= HTTP_QUERY_MAX)
		return MHD_NO;
	if (key == NULL || strlen(key) >= HTTP_PARAM_MAX)
		return MHD_YES;
	if (value == NULL)
		value = "";
	r->qname[r->nquery] = xstrdup(key);
	r->qval[r->nquery] = xstrndup(value, HTTP_PARAM_MAX - 1);
	r->nquery++;
	return MHD_YES;
}

static void client_address(struct MHD_Connection *c, char *out, size_t outsz)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, outsz, "unknown");
	if (ci == NULL || ci->client_addr == NULL)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(
		    AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    out, (socklen_t)outsz);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(
		    AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    out, (socklen_t)outsz);
}

static bool is_loopback(const char *ip)
{
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

static void pool_push(struct http_server *s, struct http_req *r);

static enum MHD_Result first_call(struct http_server *s, struct http_req *r,
				  const char *url, const char *method)
{
	struct MHD_Connection *c = r->conn;
	/* RFC 9112 §6.1: a request with both is a smuggling attempt;
	   MHD 0.9.75 accepts it (web.md §6) */
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     "Transfer-Encoding");
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	if (te != NULL && cl != NULL)
		return fail_now(r, 400, "bad_request",
				"both Transfer-Encoding and Content-Length");
	if (strlen(url) > 2048)
		return fail_now(r, 414, "uri_too_long", "path too long");
	for (size_t i = 0; i < HTTP_KEPT_HEADERS; i++) {
		const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							    kept_headers[i]);
		if (v != NULL)
			r->hdr[i] = xstrdup(v);
	}
	const char *xfp = r->hdr[7];
	/* behind the shipped nginx (on loopback) the scheme and the client's
	   address come in headers that nginx sets whole; from anyone else
	   they could be forged, so they count only from loopback */
	bool proxied = is_loopback(r->client);
	r->tls = s->o.tls_key_pem != NULL ||
		 (proxied && xfp != NULL && strcasecmp(xfp, "https") == 0);
	const char *real =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Real-IP");
	unsigned char addr[sizeof(struct in6_addr)];
	if (proxied && real != NULL && strlen(real) < sizeof r->client &&
	    (inet_pton(AF_INET, real, addr) == 1 ||
	     inet_pton(AF_INET6, real, addr) == 1))
		snprintf(r->client, sizeof r->client, "%s", real);
	(void)MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, copy_query,
					r);

	bool path_ok = false;
	for (const struct http_route *rt = s->o.routes;
	     rt != NULL && rt->method != NULL; rt++) {
		if (!http_route_match(rt->pattern, url, r->params, &r->nparams))
			continue;
		path_ok = true;
		if (strcmp(rt->method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		     strcmp(rt->method, "GET") == 0)) {
			r->route = rt;
			break;
		}
	}
	if (r->route == NULL) {
		r->nparams = 0;
		if (path_ok)
			return fail_now(r, 405, "method_not_allowed",
					"method not allowed");
		if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0)
			return fail_now(r, 404, "not_found",
					"no such endpoint");
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return fail_now(r, 405, "method_not_allowed",
					"method not allowed");
		return serve_static(r);
	}
	if (cl != NULL) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0' || end == cl)
			return fail_now(r, 400, "bad_request",
					"bad Content-Length");
		if (n > s->o.body_max)
			return fail_now(r, 413, "too_large",
					"request body too large");
	}
	buf_init(&r->body, s->o.body_max);
	r->state = REQ_NEW;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		r->srv = s;
		r->conn = c;
		clock_gettime(CLOCK_MONOTONIC, &r->start);
		snprintf(r->method, sizeof r->method, "%s", method);
		r->path = xstrndup(url, 2048);
		buf_init(&r->out, HTTP_REPLY_MAX);
		buf_init(&r->body, 1);
		client_address(c, r->client, sizeof r->client);
		*con_cls = r;
		return first_call(s, r, url, method);
	}
	switch (r->state) {
	case REQ_NEW:
		if (*upload_data_size != 0) {
			if (!r->body_too_big &&
			    buf_append(&r->body, upload_data,
				       *upload_data_size) < 0)
				r->body_too_big = true;
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (r->body_too_big)
			return fail_now(r, 413, "too_large",
					"request body too large");
		r->state = REQ_QUEUED;
		MHD_suspend_connection(c);
		pool_push(s, r);
		return MHD_YES;
	case REQ_QUEUED:
		return MHD_YES; /* not reached: suspended */
	case REQ_DONE:
		return queue_reply(r);
	case REQ_SENT:
		/* more body after an early reply: drop it */
		*upload_data_size = 0;
		return MHD_YES;
	}
	return MHD_NO;
}

static void access_log(struct http_server *s, struct http_req *r)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - r->start.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - r->start.tv_nsec) / 1e6;
	char path[300], user[300];
	log_escape(path, sizeof path, r->path, strlen(r->path));
	log_escape(user, sizeof user, r->user != NULL ? r->user : "-",
		   r->user != NULL ? strlen(r->user) : 1);
	if (s->access_fd < 0) {
		log_info("%s: %s %s status=%u, bytes=%" PRIu64
			 ", ms=%.1f, client=%s, user=%s",
			 s->o.name, r->method, path, r->status, r->sent_bytes,
			 ms, r->client, user);
		return;
	}
	char line[1024], ts[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	int n = snprintf(
	    line, sizeof line, "%s %s %s %s %u %" PRIu64 " %.1fms user=%s\n",
	    ts, r->client, r->method, path, r->status, r->sent_bytes, ms, user);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = (int)sizeof line - 1, line[n - 1] = '\n';
	pthread_mutex_lock(&s->log_lock);
	ssize_t w = write(s->access_fd, line, (size_t)n);
	pthread_mutex_unlock(&s->log_lock);
	(void)w;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	if (r == NULL)
		return;
	if (r->status == 0)
		r->status = 499; /* the client went away first */
	access_log(s, r);
	req_free(r);
	*con_cls = NULL;
}

/* ---- worker pool ---- */

/* On a worker: the handler, unless the request waited past its deadline
   (a suspended connection never times out in MHD, web.md §6, so its
   client has likely given up) or is not authorized. */
static void req_run(void *ctx)
{
	struct http_req *r = ctx;
	struct http_server *s = r->srv;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	bool ok =
	    now.tv_sec - r->queued_at.tv_sec < (time_t)HTTP_QUEUE_DEADLINE;
	if (!ok)
		reply_error(r, 503, "busy", "server busy, try again");
	if (ok && !http_origin_ok(r->method, http_req_header(r, "Origin"),
				  http_req_header(r, "Host"))) {
		reply_error(r, 403, "origin", "cross-origin request refused");
		ok = false;
	}
	if (ok && s->o.authorize != NULL)
		ok = s->o.authorize(s->o.app, r, r->route->flags);
	if (ok)
		r->route->handler(r);
	r->ran = true;
}

/* After req_run (same worker thread), or for a request the pool never
   ran (refused, or dropped at stop): the reply goes out on the next MHD
   call. */
static void req_resume_now(void *ctx)
{
	struct http_req *r = ctx;
	r->state = REQ_DONE;
	MHD_resume_connection(r->conn);
}

static void req_resume(void *ctx)
{
	struct http_req *r = ctx;
	unsigned ms = r->delay_ms;
	r->delay_ms = 0;
	/* a full timer queue answers at once: the penalty is authd's
	   courtesy to the guesser's victims, not a lock */
	if (ms > 0 && r->ran &&
	    timerq_add(r->srv->delays, ms, req_resume_now, r) == 0)
		return;
	req_resume_now(r);
}

/* A request refused by a full pool, or one whose resume the stopping
   pool will not run (lib/workq calls this after joining its threads). */
static void req_cancel(void *ctx)
{
	struct http_req *r = ctx;
	if (!r->ran)
		reply_error(r, 503, "busy", "server busy, try again");
	r->delay_ms = 0;
	req_resume(r);
}

static void pool_push(struct http_server *s, struct http_req *r)
{
	clock_gettime(CLOCK_MONOTONIC, &r->queued_at);
	if (workq_submit(s->pool, req_run, req_resume, r) < 0)
		req_cancel(r);
}

static void mhd_log(void *cls, const char *fm, va_list ap)
{
	char msg[512];
	int n = vsnprintf(msg, sizeof msg, fm, ap);
	if (n <= 0)
		return;
	size_t len = strlen(msg);
	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	log_warning("%s: libmicrohttpd: %s", (const char *)cls, msg);
}

struct http_server *http_server_start(const struct http_server_opts *o,
				      const char **error_r)
{
	struct http_server *s = xcalloc(1, sizeof *s);
	s->o = *o;
	s->docroot_fd = -1;
	s->access_fd = -1;
	pthread_mutex_init(&s->log_lock, NULL);
	if (o->docroot != NULL) {
		s->docroot_fd =
		    open(o->docroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->docroot_fd < 0)
			log_warning("%s: document root %s: %s", o->name,
				    o->docroot, strerror(errno));
	}
	s->access_fd = o->access_fd;
	s->delays = timerq_new(HTTP_DELAYED_MAX);
	s->pool = workq_new(&(struct workq_opts){
	    .name = o->name,
	    .threads = o->workers > 0 ? o->workers : 4,
	    .queue_max = o->queue_max,
	    .cancel = req_cancel,
	});
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	/* TLS options go through an option array, so one call serves
	   both cases */
	struct MHD_OptionItem tls_opts[3] = {
	    {MHD_OPTION_END, 0, NULL},
	    {MHD_OPTION_END, 0, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	if (o->tls_cert_pem != NULL && o->tls_key_pem != NULL) {
		flags |= MHD_USE_TLS;
		tls_opts[0] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem};
		tls_opts[1] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert_pem};
	}
	for (size_t i = 0; i < o->n_listen && i < 8; i++) {
		s->mhd[i] = MHD_start_daemon(
		    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY,
		    tls_opts, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
		    (void *)o->name, MHD_OPTION_LISTEN_SOCKET,
		    (MHD_socket)o->listen_fds[i], MHD_OPTION_THREAD_POOL_SIZE,
		    (unsigned)(o->threads > 0 ? o->threads : 2),
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		    (size_t)(o->conn_memory > 0 ? o->conn_memory : 32768),
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    (unsigned)(o->per_ip > 0 ? o->per_ip : 64),
		    MHD_OPTION_CONNECTION_LIMIT,
		    (unsigned)(o->conn_limit > 0 ? o->conn_limit : 1024),
		    MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)(o->timeout > 0 ? o->timeout : 30),
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		    MHD_OPTION_END);
		if (s->mhd[i] == NULL) {
			*error_r = "MHD_start_daemon failed";
			http_server_stop(&s);
			return NULL;
		}
		s->nmhd++;
	}
	return s;
}

void http_server_stop(struct http_server **sp)
{
	struct http_server *s = *sp;
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nmhd; i++)
		(void)MHD_quiesce_daemon(s->mhd[i]);
	/* running handlers finish; waiting requests are answered 503
	   (req_cancel), all resumed before MHD stops */
	workq_free(&s->pool);
	/* held replies go out now */
	timerq_free(&s->delays);
	for (size_t i = 0; i < s->nmhd; i++)
		MHD_stop_daemon(s->mhd[i]);
	if (s->docroot_fd >= 0)
		close(s->docroot_fd);
	if (s->access_fd >= 0)
		close(s->access_fd);
	pthread_mutex_destroy(&s->log_lock);
	free(s);
	*sp = NULL;
}

int http_server_run(const struct http_server_opts *o, const char **error_r)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct http_server *srv = http_server_start(o, error_r);
	if (srv == NULL)
		return -1;
	daemon_ready();
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0 || sig == SIGPIPE)
			continue;
		if (sig != SIGHUP)
			break;
		if (log_reopen() < 0)
			log_warning("%s: reopen log: %s", o->name,
				    strerror(errno));
	}
	log_info("%s: stopping", o->name);
	http_server_stop(&srv);
	for (size_t i = 0; i < o->n_listen; i++)
		close(o->listen_fds[i]);
	return 0;
}
