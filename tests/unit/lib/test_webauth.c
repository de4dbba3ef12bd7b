/*
 * Unit tests for lib/webauth: the session cookie and the CSRF check on
 * real HTTP requests.  A struct http_req comes only from lib/http, so the
 * test serves a few routes in-process (http_server_start on a loopback
 * socket, no daemon) and talks to them over the socket: no cookie, a
 * look-alike cookie, an unknown or malformed ID, a live session, a state
 * change with no, a wrong and the right X-CSRF-Token, the cookie set at
 * login and expired at logout (the session then gone).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "test.h"
#include "webauth.h"
#include "websession.h"

#define COOKIE "sid"

static struct websession_store *store;

static bool authorize(void *app, struct http_req *req, unsigned flags)
{
	if (!(flags & HTTP_F_SESSION))
		return true;
	char id[WEBSESSION_ID_LEN + 1];
	struct websession_info info;
	return webauth_session(req, store, COOKIE, flags, id, &info);
}

static void h_ok(struct http_req *req)
{
	http_reply_raw(req, 200, "text/plain", "ok", 2);
}

/* the CSRF token in the body, the cookie in Set-Cookie */
static void h_login(struct http_req *req)
{
	struct websession_info info;
	if (webauth_start(req, store, COOKIE, "bob@example.com", "user",
			  &info) < 0)
		http_reply_raw(req, 500, "text/plain", "x", 1);
	else
		http_reply_raw(req, 200, "text/plain", info.csrf,
			       strlen(info.csrf));
}

static void h_logout(struct http_req *req)
{
	char id[WEBSESSION_ID_LEN + 1];
	struct websession_info info;
	if (webauth_session(req, store, COOKIE, HTTP_F_CSRF, id, &info)) {
		webauth_end(req, store, COOKIE, id);
		h_ok(req);
	}
}

static const struct http_route routes[] = {
    {"GET", "/who", h_ok, HTTP_F_SESSION},
    {"POST", "/do", h_ok, HTTP_F_SESSION | HTTP_F_CSRF},
    {"POST", "/login", h_login, 0},
    {"POST", "/logout", h_logout, 0},
    {NULL, NULL, NULL, 0},
};

static struct sockaddr_in addr;

/* One request on its own connection: the status, the reply (head and
   body) in out. */
static int call(const char *method, const char *path, const char *cookie,
		const char *csrf, char *out, size_t outsz)
{
	char req[1024];
	int n = snprintf(req, sizeof req,
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			 "Connection: close\r\nContent-Length: 0\r\n"
			 "%s%s%s%s%s%s\r\n",
			 method, path, cookie ? "Cookie: " : "",
			 cookie ? cookie : "", cookie ? "\r\n" : "",
			 csrf ? "X-CSRF-Token: " : "", csrf ? csrf : "",
			 csrf ? "\r\n" : "");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    write(fd, req, (size_t)n) != n) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t got = 0;
	ssize_t r;
	while (got + 1 < outsz &&
	       (r = read(fd, out + got, outsz - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(fd);
	int status = -1;
	if (sscanf(out, "HTTP/1.1 %d", &status) != 1)
		return -1;
	return status;
}

static const char *body_of(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");
	return b != NULL ? b + 4 : "";
}

int main(void)
{
	store = websession_store_new(16, 3600, 86400);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t alen = sizeof addr;
	if (store == NULL || lfd < 0 ||
	    bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
		perror("test_webauth: listen");
		return 1;
	}
	struct http_server_opts o = {
	    .name = "test_webauth",
	    .listen_fds = {lfd},
	    .n_listen = 1,
	    .routes = routes,
	    .authorize = authorize,
	    .threads = 2,
	    .workers = 1,
	    .queue_max = 16,
	    .body_max = 4096,
	    .conn_memory = 65536,
	    .per_ip = 16,
	    .conn_limit = 16,
	    .timeout = 10,
	    .access_fd = open("/dev/null", O_WRONLY | O_APPEND | O_CLOEXEC),
	};
	const char *err = NULL;
	struct http_server *srv = http_server_start(&o, &err);
	if (srv == NULL) {
		fprintf(stderr, "test_webauth: %s\n", err ? err : "?");
		return 1;
	}
	char resp[8192];

	test_begin("webauth cookie");
	test_assert(call("GET", "/who", NULL, NULL, resp, sizeof resp) == 401);
	test_assert(strstr(body_of(resp), "\"unauthorized\"") != NULL);
	char id[WEBSESSION_ID_LEN + 1];
	struct websession_info info;
	test_assert(websession_create(store, "ann@example.com", "user", id,
				      &info) == 0);
	char ck[300];
	snprintf(ck, sizeof ck, "a=1; " COOKIE "=%s; b=2", id);
	test_assert(call("GET", "/who", ck, NULL, resp, sizeof resp) == 200);
	test_assert(strcmp(body_of(resp), "ok") == 0);
	/* a look-alike name, another ID, a cut one, an empty one */
	snprintf(ck, sizeof ck, "x" COOKIE "=%s", id);
	test_assert(call("GET", "/who", ck, NULL, resp, sizeof resp) == 401);
	char other[WEBSESSION_ID_LEN + 1];
	memcpy(other, id, sizeof other);
	other[0] = other[0] == 'a' ? 'b' : 'a';
	snprintf(ck, sizeof ck, COOKIE "=%s", other);
	test_assert(call("GET", "/who", ck, NULL, resp, sizeof resp) == 401);
	snprintf(ck, sizeof ck, COOKIE "=%.63s", id);
	test_assert(call("GET", "/who", ck, NULL, resp, sizeof resp) == 401);
	test_assert(call("GET", "/who", COOKIE "=", NULL, resp, sizeof resp) ==
		    401);

	test_begin("webauth csrf");
	snprintf(ck, sizeof ck, COOKIE "=%s", id);
	test_assert(call("POST", "/do", ck, NULL, resp, sizeof resp) == 403);
	test_assert(strstr(body_of(resp), "\"csrf\"") != NULL);
	test_assert(call("POST", "/do", ck, "", resp, sizeof resp) == 403);
	test_assert(call("POST", "/do", ck, id, resp, sizeof resp) == 403);
	char wrong[WEBSESSION_ID_LEN + 1];
	memcpy(wrong, info.csrf, sizeof wrong);
	wrong[WEBSESSION_ID_LEN - 1] =
	    wrong[WEBSESSION_ID_LEN - 1] == '0' ? '1' : '0';
	test_assert(call("POST", "/do", ck, wrong, resp, sizeof resp) == 403);
	test_assert(call("POST", "/do", ck, info.csrf, resp, sizeof resp) ==
		    200);
	/* the right token without the cookie is nothing */
	test_assert(call("POST", "/do", NULL, info.csrf, resp, sizeof resp) ==
		    401);

	test_begin("webauth start and end");
	test_assert(call("POST", "/login", NULL, NULL, resp, sizeof resp) ==
		    200);
	char csrf[WEBSESSION_ID_LEN + 1] = "";
	snprintf(csrf, sizeof csrf, "%s", body_of(resp));
	const char *sc = strstr(resp, "Set-Cookie: " COOKIE "=");
	test_assert(sc != NULL && strlen(csrf) == WEBSESSION_ID_LEN);
	char newid[WEBSESSION_ID_LEN + 1] = "";
	if (sc != NULL)
		snprintf(newid, sizeof newid, "%s",
			 sc + strlen("Set-Cookie: " COOKIE "="));
	test_assert(websession_id_valid(newid));
	test_assert(sc != NULL && strstr(sc, "HttpOnly") != NULL &&
		    strstr(sc, "SameSite=Strict") != NULL);
	snprintf(ck, sizeof ck, COOKIE "=%s", newid);
	test_assert(call("GET", "/who", ck, NULL, resp, sizeof resp) == 200);
	test_assert(call("POST", "/do", ck, csrf, resp, sizeof resp) == 200);
	/* logout wants the token too */
	test_assert(call("POST", "/logout", ck, NULL, resp, sizeof resp) ==
		    403);
	test_assert(call("GET", "/who", ck, NULL, resp, sizeof resp) == 200);
	test_assert(call("POST", "/logout", ck, csrf, resp, sizeof resp) ==
		    200);
	sc = strstr(resp, "Set-Cookie: " COOKIE "=; Path=/; Max-Age=0");
	test_assert(sc != NULL);
	test_assert(call("GET", "/who", ck, NULL, resp, sizeof resp) == 401);
	/* the other session lives on */
	snprintf(ck, sizeof ck, COOKIE "=%s", id);
	test_assert(call("GET", "/who", ck, NULL, resp, sizeof resp) == 200);

	http_server_stop(&srv);
	close(lfd);
	websession_store_free(&store);
	return test_end();
}
