/*
 * Unit tests for lib/http's pure parts: route patterns with parameters,
 * the static-file path check (traversal, hidden files, empty segments,
 * NUL, CR/LF, the maximum and one past it) and MIME types.  The daemon
 * side is exercised by tests/integration/test_webadmin_api.py.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "test.h"

static void test_routes(void)
{
	test_begin("routes");
	char p[HTTP_PARAMS_MAX][HTTP_PARAM_MAX];
	size_t n = 99;
	test_assert(http_route_match("/api/domains", "/api/domains", p, &n));
	test_assert(n == 0);
	test_assert(!http_route_match("/api/domains", "/api/domains/", p, &n));
	test_assert(!http_route_match("/api/domains", "/api/domain", p, &n));
	test_assert(!http_route_match("/api/domains", "", p, &n));
	test_assert(http_route_match("/api/domains/{}/mailboxes/{}",
				     "/api/domains/a.com/mailboxes/bob", p,
				     &n));
	test_assert(n == 2 && strcmp(p[0], "a.com") == 0 &&
		    strcmp(p[1], "bob") == 0);
	test_assert(
	    !http_route_match("/api/domains/{}", "/api/domains/", p, &n));
	test_assert(
	    !http_route_match("/api/domains/{}", "/api/domains/a/b", p, &n));
	test_assert(http_route_match("/extman/*", "/extman/", p, &n));
	test_assert(http_route_match("/extman/*", "/extman/cgi/x", p, &n));
	test_assert(!http_route_match("/extman/*", "/extman", p, &n));
	/* a parameter of HTTP_PARAM_MAX - 1 bytes fits, one more does not */
	char path[HTTP_PARAM_MAX + 40];
	memcpy(path, "/x/", 3);
	memset(path + 3, 'a', HTTP_PARAM_MAX - 1);
	path[3 + HTTP_PARAM_MAX - 1] = '\0';
	test_assert(http_route_match("/x/{}", path, p, &n));
	test_assert(strlen(p[0]) == HTTP_PARAM_MAX - 1);
	path[3 + HTTP_PARAM_MAX - 1] = 'a';
	path[3 + HTTP_PARAM_MAX] = '\0';
	test_assert(!http_route_match("/x/{}", path, p, &n));
	/* more parameters than HTTP_PARAMS_MAX */
	test_assert(!http_route_match("/{}/{}/{}/{}/{}", "/a/b/c/d/e", p, &n));
	test_assert(http_route_match("/{}/{}/{}/{}", "/a/b/c/d", p, &n));
}

static void test_static_paths(void)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
	    {"/", "index.html"},
	    {"/index.html", "index.html"},
	    {"/js/app.js", "js/app.js"},
	    {"/js/", "js/index.html"},
	    {"", NULL},
	    {"index.html", NULL},
	    {"/..", NULL},
	    {"/../etc/passwd", NULL},
	    {"/js/../../x", NULL},
	    {"/.git/config", NULL},
	    {"/js/.hidden", NULL},
	    {"//x", NULL},
	    {"/js//x", NULL},
	    {"/a\\b", NULL},
	    {"/a b", NULL},
	    {"/a\rb", NULL},
	    {"/a\nb", NULL},
	    {"/c:x", NULL},
	    {"/a\x7f", NULL},
	};
	test_begin("static paths");
	char out[1100];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = http_static_path(cases[i].url, out, sizeof out);
		if (cases[i].want == NULL)
			test_assert(rc < 0);
		else
			test_assert(rc == 0 && strcmp(out, cases[i].want) == 0);
	}
	/* the limit: 1024 bytes after the slash */
	char url[1100];
	url[0] = '/';
	memset(url + 1, 'a', 1024);
	url[1025] = '\0';
	test_assert(http_static_path(url, out, sizeof out) == 0);
	url[1025] = 'a';
	url[1026] = '\0';
	test_assert(http_static_path(url, out, sizeof out) < 0);
	test_assert(http_static_path("/abc", out, 4) == 0);
	test_assert(http_static_path("/abc", out, 3) < 0);
	test_assert(http_static_path("/ab/", out, 12) < 0);
}

static void test_mime(void)
{
	test_begin("mime");
	test_assert(strncmp(http_mime_type("a.html"), "text/html", 9) == 0);
	test_assert(strncmp(http_mime_type("a.js"), "text/javascript", 15) ==
		    0);
	test_assert(strncmp(http_mime_type("x/a.css"), "text/css", 8) == 0);
	test_assert(strcmp(http_mime_type("a.svg"), "image/svg+xml") == 0);
	test_assert(strcmp(http_mime_type("a"), "application/octet-stream") ==
		    0);
	test_assert(
	    strcmp(http_mime_type("a.HTML"), "application/octet-stream") == 0);
}

struct hdrs {
	size_t n;
	char line[16][512];
};

static void collect(void *ctx, const char *name, const char *value)
{
	struct hdrs *h = ctx;
	if (h->n < 16)
		snprintf(h->line[h->n++], sizeof h->line[0], "%s: %s", name,
			 value);
}

/* how many lines start with prefix (a header name and ": ") */
static size_t count(const struct hdrs *h, const char *prefix)
{
	size_t c = 0;
	for (size_t i = 0; i < h->n; i++)
		c += strncasecmp(h->line[i], prefix, strlen(prefix)) == 0;
	return c;
}

static const char *find(const struct hdrs *h, const char *prefix)
{
	for (size_t i = 0; i < h->n; i++)
		if (strncasecmp(h->line[i], prefix, strlen(prefix)) == 0)
			return h->line[i] + strlen(prefix);
	return "";
}

/* per-reply headers: the defaults, replaced by name, removed by "" */
static void test_headers(void)
{
	test_begin("reply headers");
	struct hdrs h = {0};
	http_headers_merge(NULL, NULL, 0, collect, &h);
	test_assert(count(&h, "Content-Security-Policy: ") == 1);
	test_assert(strstr(find(&h, "Content-Security-Policy: "),
			   "frame-ancestors 'none'") != NULL);
	test_assert(strcmp(find(&h, "X-Frame-Options: "), "DENY") == 0);
	test_assert(strcmp(find(&h, "X-Content-Type-Options: "), "nosniff") ==
		    0);
	test_assert(strcmp(find(&h, "Cache-Control: "), "no-store") == 0);
	size_t ndefault = h.n;

	const char *names[] = {"content-security-policy", "X-Frame-Options",
			       "Set-Cookie", "Set-Cookie"};
	const char *values[] = {"sandbox; default-src 'none'", "", "a=1",
				"b=2"};
	memset(&h, 0, sizeof h);
	http_headers_merge(names, values, 4, collect, &h);
	test_assert(count(&h, "Content-Security-Policy: ") == 1);
	test_assert(strcmp(find(&h, "Content-Security-Policy: "),
			   "sandbox; default-src 'none'") == 0);
	test_assert(count(&h, "X-Frame-Options: ") == 0);
	test_assert(count(&h, "Set-Cookie: ") == 2);
	test_assert(strcmp(find(&h, "X-Content-Type-Options: "), "nosniff") ==
		    0);
	test_assert(h.n == ndefault - 1 + 2);
}

static void test_origin(void)
{
	test_begin("Origin check of state changes");
	test_assert(http_origin_ok("GET", "https://evil.example", "a:1"));
	test_assert(http_origin_ok("HEAD", "null", "a:1"));
	test_assert(http_origin_ok("POST", NULL, "a:1"));
	test_assert(
	    http_origin_ok("POST", "http://127.0.0.1:8080", "127.0.0.1:8080"));
	test_assert(
	    http_origin_ok("DELETE", "https://Mail.Example", "mail.example"));
	/* behind a proxy sending Host $host: the name decides */
	test_assert(http_origin_ok("POST", "https://mail.example:8443",
				   "mail.example"));
	test_assert(http_origin_ok("PUT", "http://[::1]:8080", "[::1]:8080"));
	test_assert(
	    !http_origin_ok("POST", "http://127.0.0.1:8081", "127.0.0.1:8080"));
	test_assert(
	    !http_origin_ok("POST", "http://127.0.0.1", "127.0.0.1:8080"));
	test_assert(
	    !http_origin_ok("POST", "https://evil.example", "mail.example"));
	test_assert(!http_origin_ok("POST", "https://mail.example.evil",
				    "mail.example"));
	test_assert(
	    !http_origin_ok("POST", "https://mail.exampl", "mail.example"));
	test_assert(!http_origin_ok("POST", "null", "mail.example"));
	test_assert(!http_origin_ok("POST", "file://", "mail.example"));
	test_assert(
	    !http_origin_ok("POST", "https://mail.example/x", "mail.example"));
	test_assert(
	    !http_origin_ok("POST", "https://u@mail.example", "mail.example"));
	test_assert(!http_origin_ok("POST", "https://mail.example", NULL));
	test_assert(
	    !http_origin_ok("POST", "https://[::1]:8080", "[::2]:8080"));
	test_assert(!http_origin_ok("POST", "https://", "mail.example"));
}

int main(void)
{
	test_origin();
	test_routes();
	test_static_paths();
	test_mime();
	test_headers();
	return test_end();
}
