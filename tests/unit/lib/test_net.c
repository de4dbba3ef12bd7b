/*
 * Unit tests for lib/net: the line reader (empty, exact max, max+1, NUL,
 * bare CR, CR LF, pipelined lines, over-long line then recovery), listen
 * spec parsing, TCP/Unix listeners with accept, fill and flush.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "net.h"
#include "test.h"

static void put(struct buf *b, const char *p, size_t n)
{
	test_assert(buf_append(b, p, n) == 0);
}

#define PUT(b, s) put((b), (s), sizeof(s) - 1)

static bool line_is(struct str l, const char *p, size_t n)
{
	return l.len == n && memcmp(l.p, p, n) == 0;
}

#define LINE_IS(l, s) line_is((l), (s), sizeof(s) - 1)

static void test_lines_basic(void)
{
	struct buf in;
	struct str l;

	test_begin("lines basic");
	buf_init(&in, 64);
	/* empty input */
	test_assert(net_read_line(&in, 10, &l) == LINE_MORE);
	test_assert(net_read_line_raw(&in, 10, &l) == LINE_MORE);
	/* partial */
	PUT(&in, "HELO");
	test_assert(net_read_line(&in, 10, &l) == LINE_MORE);
	/* CR LF */
	PUT(&in, " x\r\n");
	test_assert(net_read_line(&in, 10, &l) == LINE_OK);
	test_assert(LINE_IS(l, "HELO x"));
	test_assert(net_line_was_crlf(&in, l));
	net_line_consume(&in, l);
	test_assert(in.len == 0);
	/* bare LF, empty line */
	PUT(&in, "\n");
	test_assert(net_read_line(&in, 10, &l) == LINE_OK);
	test_assert(l.len == 0);
	test_assert(!net_line_was_crlf(&in, l));
	net_line_consume(&in, l);
	test_assert(in.len == 0);
	/* empty line with CR LF */
	PUT(&in, "\r\n");
	test_assert(net_read_line(&in, 10, &l) == LINE_OK && l.len == 0);
	net_line_consume(&in, l);
	test_assert(in.len == 0);
	/* raw keeps the CR */
	PUT(&in, "ab\r\n");
	test_assert(net_read_line_raw(&in, 10, &l) == LINE_OK);
	test_assert(LINE_IS(l, "ab\r"));
	net_line_consume(&in, l);
	test_assert(in.len == 0);
	/* bare CR inside a line is kept; only CR before LF goes */
	PUT(&in, "a\rb\r\r\n");
	test_assert(net_read_line(&in, 10, &l) == LINE_OK);
	test_assert(LINE_IS(l, "a\rb\r"));
	test_assert(net_line_was_crlf(&in, l));
	net_line_consume(&in, l);
	test_assert(in.len == 0);
	/* a lone CR is not a line end */
	PUT(&in, "abc\r");
	test_assert(net_read_line(&in, 10, &l) == LINE_MORE);
	PUT(&in, "def\n");
	test_assert(net_read_line(&in, 10, &l) == LINE_OK);
	test_assert(LINE_IS(l, "abc\rdef"));
	net_line_consume(&in, l);
	/* embedded NUL */
	put(&in, "a\0b\r\n", 5);
	test_assert(net_read_line(&in, 10, &l) == LINE_OK);
	test_assert(line_is(l, "a\0b", 3));
	net_line_consume(&in, l);
	test_assert(in.len == 0);
	/* several lines in one buffer (pipelining) */
	PUT(&in, "one\r\ntwo\nthree\r\nfou");
	test_assert(net_read_line(&in, 10, &l) == LINE_OK && LINE_IS(l, "one"));
	net_line_consume(&in, l);
	test_assert(net_read_line(&in, 10, &l) == LINE_OK && LINE_IS(l, "two"));
	net_line_consume(&in, l);
	test_assert(net_read_line(&in, 10, &l) == LINE_OK &&
		    LINE_IS(l, "three"));
	net_line_consume(&in, l);
	test_assert(net_read_line(&in, 10, &l) == LINE_MORE);
	test_assert(in.len == 3 && memcmp(in.p, "fou", 3) == 0);
	buf_deinit(&in);
}

static void test_lines_limits(void)
{
	struct buf in;
	struct str l;

	test_begin("lines limits");
	buf_init(&in, 64);
	/* exactly max bytes including CR LF: accepted */
	PUT(&in, "12345678\r\n");
	test_assert(net_read_line(&in, 10, &l) == LINE_OK);
	test_assert(LINE_IS(l, "12345678"));
	net_line_consume(&in, l);
	/* exactly max with a bare LF */
	PUT(&in, "123456789\n");
	test_assert(net_read_line(&in, 10, &l) == LINE_OK);
	test_assert(LINE_IS(l, "123456789"));
	net_line_consume(&in, l);
	/* max + 1: too long even though the LF is in the buffer */
	PUT(&in, "123456789\r\n");
	test_assert(net_read_line(&in, 10, &l) == LINE_TOOLONG);
	test_assert(net_read_line_raw(&in, 10, &l) == LINE_TOOLONG);
	test_assert(net_skip_line(&in));
	test_assert(in.len == 0);
	/* max bytes and no LF: too long before the rest arrives */
	PUT(&in, "0123456789");
	test_assert(net_read_line(&in, 10, &l) == LINE_TOOLONG);
	/* max - 1 bytes without LF: still waiting */
	buf_reset(&in);
	PUT(&in, "012345678");
	test_assert(net_read_line(&in, 10, &l) == LINE_MORE);
	buf_deinit(&in);
}

static void test_lines_recovery(void)
{
	struct buf in;
	struct str l;

	test_begin("lines recovery");
	buf_init(&in, 16);
	/* an over-long line that spans several reads, then a good one */
	PUT(&in, "AAAAAAAAAAAAAAAA"); /* fills the buffer */
	test_assert(net_read_line(&in, 8, &l) == LINE_TOOLONG);
	test_assert(!net_skip_line(&in)); /* no LF yet: still skipping */
	test_assert(in.len == 0);
	PUT(&in, "BBBBBBBB");
	test_assert(!net_skip_line(&in));
	PUT(&in, "CC\r\nQUIT\r\nNO");
	test_assert(net_skip_line(&in));
	test_assert(net_read_line(&in, 8, &l) == LINE_OK && LINE_IS(l, "QUIT"));
	net_line_consume(&in, l);
	test_assert(net_read_line(&in, 8, &l) == LINE_MORE);
	test_assert(in.len == 2);
	buf_deinit(&in);

	/* a line longer than the buffer maximum, with max > buffer max */
	buf_init(&in, 4);
	PUT(&in, "abcd");
	test_assert(net_read_line(&in, 100, &l) == LINE_TOOLONG);
	buf_deinit(&in);
	/* max 0 accepts nothing */
	buf_init(&in, 4);
	PUT(&in, "\n");
	test_assert(net_read_line(&in, 0, &l) == LINE_TOOLONG);
	buf_deinit(&in);
}

struct spec_case {
	const char *spec;
	int ok;
	const char *host;
	unsigned port;
};

static const struct spec_case spec_cases[] = {
    {"127.0.0.1:25", 1, "127.0.0.1", 25},
    {"[::1]:143", 1, "::1", 143},
    {"[2001:db8::1]:65535", 1, "2001:db8::1", 65535},
    {"*:587", 1, "", 587},
    {":110", 1, "", 110},
    {"993", 1, "", 993},
    {"mail.example.org:0", 1, "mail.example.org", 0},
    {"localhost:8080", 1, "localhost", 8080},
    {"", 0, NULL, 0},
    {"localhost", 0, NULL, 0},
    {"host:", 0, NULL, 0},
    {"host:65536", 0, NULL, 0},
    {"host:-1", 0, NULL, 0},
    {"host:+25", 0, NULL, 0},
    {"host: 25", 0, NULL, 0},
    {"host:25x", 0, NULL, 0},
    {"ho st:25", 0, NULL, 0},
    {"a*:25", 0, NULL, 0},
    {"::1:25", 0, NULL, 0},
    {"[::1]", 0, NULL, 0},
    {"[::1]25", 0, NULL, 0},
    {"[::1]:", 0, NULL, 0},
    {"[::1:25", 0, NULL, 0},
    {"[]:25", 0, NULL, 0},
    {"[127.0.0.1]:25", 0, NULL, 0},
    {"[zz::1]:25", 0, NULL, 0},
};

static void test_spec(void)
{
	struct net_spec ns;
	const char *err;
	char longhost[NET_HOST_MAX + 8];

	test_begin("listen spec");
	for (size_t i = 0; i < sizeof spec_cases / sizeof spec_cases[0]; i++) {
		const struct spec_case *c = &spec_cases[i];
		err = NULL;
		int r = net_parse_spec(c->spec, &ns, &err);
		if (c->ok) {
			test_assert(r == 0);
			test_assert(r != 0 || strcmp(ns.host, c->host) == 0);
			test_assert(r != 0 || ns.port == c->port);
		} else {
			test_assert(r == -1);
			test_assert(err != NULL && errno == EINVAL);
		}
		if ((r == 0) != (c->ok == 1))
			fprintf(stderr, "  spec case: \"%s\"\n", c->spec);
	}
	/* host name of exactly NET_HOST_MAX, then one more */
	memset(longhost, 'a', NET_HOST_MAX);
	memcpy(longhost + NET_HOST_MAX, ":25", 4);
	test_assert(net_parse_spec(longhost, &ns, &err) == 0);
	test_assert(strlen(ns.host) == NET_HOST_MAX);
	memset(longhost, 'a', NET_HOST_MAX + 1);
	memcpy(longhost + NET_HOST_MAX + 1, ":25", 4);
	test_assert(net_parse_spec(longhost, &ns, &err) == -1);
	test_assert(net_parse_spec(NULL, &ns, &err) == -1);
}

static void test_tcp(void)
{
	const char *err = NULL;
	char peer[NET_ADDR_MAX];
	struct buf in, out;

	test_begin("tcp listen/accept");
	int lfd = net_listen_tcp("127.0.0.1:0", 16, &err);
	test_assert(lfd >= 0);
	if (lfd < 0) {
		fprintf(stderr, "  %s: %s\n", err, strerror(errno));
		return;
	}
	int port = net_local_port(lfd);
	test_assert(port > 0);
	int cfd = -1;
	test_assert(net_accept(lfd, &cfd, peer, sizeof peer) == 0);

	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	test_assert(connect(c, (struct sockaddr *)&sa, sizeof sa) == 0);
	test_assert(net_accept(lfd, &cfd, peer, sizeof peer) == 1);
	test_assert(strcmp(peer, "127.0.0.1") == 0);

	/* fill / flush */
	buf_init(&in, 8);
	buf_init(&out, 64);
	test_assert(net_fill(cfd, &in) == 0); /* nothing yet */
	test_assert(write(c, "0123456789", 10) == 10);
	test_assert(net_set_nonblock(c) == 0);
	usleep(10000);
	test_assert(net_fill(cfd, &in) == 1);
	test_assert(in.len == 8); /* bounded by the buffer maximum */
	test_assert(net_fill(cfd, &in) == -1 && errno == ENOBUFS);
	buf_reset(&in);
	test_assert(net_fill(cfd, &in) == 1 && in.len == 2);
	test_assert(buf_append_str(&out, "reply\r\n") == 0);
	test_assert(net_out_flush(cfd, &out) == 1);
	test_assert(out.len == 0);
	char got[16];
	usleep(10000);
	test_assert(read(c, got, sizeof got) == 7);
	close(c);
	usleep(10000);
	buf_reset(&in);
	errno = EBADF;
	test_assert(net_fill(cfd, &in) == -1 && errno == 0);
	buf_deinit(&in);
	buf_deinit(&out);
	close(cfd);
	close(lfd);

	/* wildcard dual stack, if the host has IPv6 */
	lfd = net_listen_tcp("*:0", 4, &err);
	test_assert(lfd >= 0);
	if (lfd >= 0)
		close(lfd);
	test_assert(net_listen_tcp("bad spec:1", 4, &err) == -1);
	test_assert(net_listen_tcp("[::1]:0", 4, &err) >= 0 ||
		    errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT);
}

static void test_unix(void)
{
	char dir[] = "/tmp/test_net.XXXXXX";
	char path[128];
	const char *err = NULL;
	char peer[NET_ADDR_MAX];
	struct stat st;

	test_begin("unix listen");
	test_assert(mkdtemp(dir) != NULL);
	int n = snprintf(path, sizeof path, "%s/sock", dir);
	test_assert(n > 0 && (size_t)n < sizeof path);
	int lfd = net_listen_unix(path, 0660, 8, &err);
	test_assert(lfd >= 0);
	test_assert(stat(path, &st) == 0);
	test_assert(S_ISSOCK(st.st_mode));
	test_assert((st.st_mode & 0777) == 0660);
	/* a restart replaces the socket */
	int lfd2 = net_listen_unix(path, 0600, 8, &err);
	test_assert(lfd2 >= 0);
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	test_assert(connect(c, (struct sockaddr *)&sun, sizeof sun) == 0);
	int cfd = -1;
	test_assert(net_accept(lfd2, &cfd, peer, sizeof peer) == 1);
	test_assert(strcmp(peer, "unix") == 0);
	close(cfd);
	close(c);
	close(lfd);
	close(lfd2);

	char longpath[200];
	memset(longpath, 'x', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = '\0';
	test_assert(net_listen_unix(longpath, 0600, 8, &err) == -1 &&
		    errno == ENAMETOOLONG);
	test_assert(unlink(path) == 0);
	test_assert(rmdir(dir) == 0);
}

int main(void)
{
	test_lines_basic();
	test_lines_limits();
	test_lines_recovery();
	test_spec();
	test_tcp();
	test_unix();
	test_begin("prefix_eq: whole bytes, a part byte, 0 and all bits");
	{
		static const unsigned char a[4] = {192, 0, 2, 129},
					   b[4] = {192, 0, 2, 200},
					   c[4] = {10, 0, 0, 1};
		test_assert(net_prefix_eq(a, b, 24));
		test_assert(net_prefix_eq(a, b, 25));  /* 1xxxxxxx both */
		test_assert(!net_prefix_eq(a, b, 26)); /* 10.. vs 11.. */
		test_assert(!net_prefix_eq(a, b, 32));
		test_assert(net_prefix_eq(a, a, 32));
		test_assert(net_prefix_eq(a, c, 0));
		test_assert(!net_prefix_eq(a, c, 1));
		unsigned char v6a[16] = {0x20, 0x01, 0x0d, 0xb8},
			      v6b[16] = {0x20, 0x01, 0x0d, 0xb9};
		test_assert(net_prefix_eq(v6a, v6b, 31));
		test_assert(!net_prefix_eq(v6a, v6b, 32));
		test_assert(net_prefix_eq(v6a, v6a, 128));
	}
	return test_end();
}
