/*
 * Listeners, accept, buffered non-blocking I/O and the bounded line reader;
 * see net.h.  The line reader never looks further than max bytes for the
 * LF, so a peer that never sends one costs at most max bytes of scanning
 * per call and can never make the buffer grow (STYLE.md).
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

/* ---- listen specs ---- */

static int net_spec_fail(const char **error_r, const char *why)
{
	*error_r = why;
	errno = EINVAL;
	return -1;
}

int net_parse_spec(const char *spec, struct net_spec *spec_r,
		   const char **error_r)
{
	const char *host, *host_end, *port;
	uint64_t v;

	if (spec == NULL || *spec == '\0')
		return net_spec_fail(error_r, "empty listen address");
	if (spec[0] == '[') {
		host = spec + 1;
		host_end = strchr(host, ']');
		if (host_end == NULL)
			return net_spec_fail(error_r, "missing ']'");
		if (host_end[1] != ':')
			return net_spec_fail(error_r, "missing port");
		port = host_end + 2;
		if (host_end == host)
			return net_spec_fail(error_r, "empty IPv6 address");
	} else {
		const char *colon = strchr(spec, ':');
		if (colon == NULL) {
			host = host_end = spec; /* bare port */
			port = spec;
		} else {
			if (strchr(colon + 1, ':') != NULL)
				return net_spec_fail(
				    error_r, "IPv6 address needs brackets");
			host = spec;
			host_end = colon;
			port = colon + 1;
		}
		for (const char *c = host; c < host_end; c++) {
			if (!str_is_host_char((unsigned char)*c) &&
			    !(*c == '*' && host_end - host == 1))
				return net_spec_fail(error_r, "bad host name");
		}
	}
	size_t hlen = (size_t)(host_end - host);
	if (hlen > NET_HOST_MAX)
		return net_spec_fail(error_r, "host name too long");
	if (*port == '\0')
		return net_spec_fail(error_r, "missing port");
	if (str_parse_u64(port, 0, 65535, &v) < 0)
		return net_spec_fail(error_r, "bad port");
	if (hlen == 1 && host[0] == '*')
		hlen = 0;
	memcpy(spec_r->host, host, hlen);
	spec_r->host[hlen] = '\0';
	if (spec[0] == '[') {
		struct in6_addr a6;
		if (inet_pton(AF_INET6, spec_r->host, &a6) != 1)
			return net_spec_fail(error_r, "bad IPv6 address");
	}
	spec_r->port = (uint16_t)v;
	return 0;
}

/* ---- listeners ---- */

static int net_bind_listen(int family, const struct sockaddr *sa,
			   socklen_t salen, int backlog, bool reuseport,
			   const char **error_r)
{
	int one = 1, zero = 0;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		*error_r = "socket";
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
		*error_r = "setsockopt SO_REUSEADDR";
		goto fail;
	}
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
		*error_r = "setsockopt SO_REUSEPORT";
		goto fail;
	}
	/* A wildcard "::" also takes IPv4 whatever bindv6only says. */
	if (family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(
		&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0) {
		*error_r = "setsockopt IPV6_V6ONLY";
		goto fail;
	}
	if (bind(fd, sa, salen) < 0) {
		*error_r = "bind";
		goto fail;
	}
	if (listen(fd, backlog) < 0) {
		*error_r = "listen";
		goto fail;
	}
	return fd;
fail:;
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int net_listen_wildcard(uint16_t port, int backlog, bool reuseport,
			       const char **error_r)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	memset(&s6, 0, sizeof s6);
	s6.sin6_family = AF_INET6;
	s6.sin6_addr = in6addr_any;
	s6.sin6_port = htons(port);
	int fd = net_bind_listen(AF_INET6, (struct sockaddr *)&s6, sizeof s6,
				 backlog, reuseport, error_r);
	if (fd >= 0 || errno != EAFNOSUPPORT)
		return fd;
	memset(&s4, 0, sizeof s4);
	s4.sin_family = AF_INET;
	s4.sin_addr.s_addr = htonl(INADDR_ANY);
	s4.sin_port = htons(port);
	return net_bind_listen(AF_INET, (struct sockaddr *)&s4, sizeof s4,
			       backlog, reuseport, error_r);
}

int net_listen_tcp(const char *spec, int backlog, const char **error_r)
{
	return net_listen_tcp_reuseport(spec, backlog, false, error_r);
}

int net_listen_tcp_reuseport(const char *spec, int backlog, bool reuseport,
			     const char **error_r)
{
	struct net_spec ns;
	struct addrinfo hints, *res, *ai;
	char port[8];

	if (net_parse_spec(spec, &ns, error_r) < 0)
		return -1;
	if (ns.host[0] == '\0')
		return net_listen_wildcard(ns.port, backlog, reuseport,
					   error_r);
	int n = snprintf(port, sizeof port, "%u", (unsigned)ns.port);
	if (n < 0 || (size_t)n >= sizeof port)
		return net_spec_fail(error_r, "bad port");
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int gai = getaddrinfo(ns.host, port, &hints, &res);
	if (gai != 0) {
		*error_r =
		    gai == EAI_SYSTEM ? "getaddrinfo" : "cannot resolve host";
		if (gai != EAI_SYSTEM)
			errno = EADDRNOTAVAIL;
		return -1;
	}
	int fd = -1, saved = EADDRNOTAVAIL;
	*error_r = "no address";
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = net_bind_listen(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
				     backlog, reuseport, error_r);
		if (fd < 0)
			saved = errno;
	}
	freeaddrinfo(res);
	if (fd < 0)
		errno = saved;
	return fd;
}

int net_listen_unix(const char *path, mode_t mode, int backlog,
		    const char **error_r)
{
	struct sockaddr_un sun;
	int n, fd, saved;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof sun.sun_path, "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof sun.sun_path) {
		*error_r = "socket path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = "socket";
		return -1;
	}
	/* A stale temp socket from a crash would make bind fail. */
	if (unlink(sun.sun_path) < 0 && errno != ENOENT) {
		*error_r = "unlink stale socket";
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		*error_r = "bind";
		goto fail;
	}
	if (chmod(sun.sun_path, mode) < 0) {
		*error_r = "chmod";
		goto fail_unlink;
	}
	if (listen(fd, backlog) < 0) {
		*error_r = "listen";
		goto fail_unlink;
	}
	if (rename(sun.sun_path, path) < 0) {
		*error_r = "rename";
		goto fail_unlink;
	}
	return fd;
fail_unlink:
	saved = errno;
	(void)unlink(sun.sun_path);
	errno = saved;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	errno = EAFNOSUPPORT;
	return -1;
}

bool net_prefix_eq(const unsigned char *a, const unsigned char *b,
		   unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* ---- accept ---- */

static void net_addr_text(const struct sockaddr_storage *ss, char *out,
			  size_t outsz)
{
	const char *r = NULL;

	if (outsz == 0)
		return;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		r = inet_ntop(AF_INET, &s4->sin_addr, out, (socklen_t)outsz);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		/* The dual-stack wildcard shows IPv4 clients as
		   ::ffff:a.b.c.d; logs and access maps want a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			r = inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out,
				      (socklen_t)outsz);
		else
			r = inet_ntop(AF_INET6, &s6->sin6_addr, out,
				      (socklen_t)outsz);
	} else if (ss->ss_family == AF_UNIX && outsz >= sizeof "unix") {
		memcpy(out, "unix", sizeof "unix");
		r = out;
	}
	if (r == NULL)
		out[0] = '\0';
}

void net_accept_batch(int listen_fd,
		      void (*fn)(void *ctx, int fd, const char *peer),
		      void *ctx)
{
	for (int i = 0; i < 64; i++) {
		int fd;
		char peer[NET_ADDR_MAX];
		int r = net_accept(listen_fd, &fd, peer, sizeof peer);
		if (r == 0)
			return;
		if (r < 0) {
			log_warning("accept: %s", strerror(errno));
			return;
		}
		fn(ctx, fd, peer);
	}
}

int net_accept(int listen_fd, int *fd_r, char *peer, size_t peer_size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int fd;

	memset(&ss, 0, sizeof ss);
	fd = accept4(listen_fd, (struct sockaddr *)&ss, &len,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			return 0;
		default:
			return -1;
		}
	}
	net_addr_text(&ss, peer, peer_size);
	*fd_r = fd;
	return 1;
}

int net_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	if (fl & O_NONBLOCK)
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- buffered I/O ---- */

int net_fill(int fd, struct buf *in)
{
	char tmp[NET_FILL_CHUNK];
	size_t room = buf_room(in);
	ssize_t n;

	if (room == 0) {
		errno = ENOBUFS;
		return -1;
	}
	if (room > sizeof tmp)
		room = sizeof tmp;
	do
		n = read(fd, tmp, room);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	if (n == 0) {
		errno = 0;
		return -1;
	}
	if (buf_append(in, tmp, (size_t)n) < 0) {
		errno = ENOBUFS; /* cannot happen: n <= room */
		return -1;
	}
	return 1;
}

int net_out_flush(int fd, struct buf *out)
{
	bool sock = true;

	while (out->len > 0) {
		ssize_t n;
		if (sock) {
			n = send(fd, out->p, out->len, MSG_NOSIGNAL);
			if (n < 0 && errno == ENOTSOCK) {
				sock = false;
				continue;
			}
		} else {
			n = write(fd, out->p, out->len);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		buf_consume(out, (size_t)n);
	}
	return 1;
}

/* ---- line reader ---- */

static enum net_line net_find_line(struct buf *in, size_t max,
				   struct str *line_r)
{
	if (in->len == 0)
		return LINE_MORE;
	size_t scan = in->len < max ? in->len : max;
	const char *lf = scan > 0 ? memchr(in->p, '\n', scan) : NULL;
	if (lf == NULL) {
		if (in->len >= max || in->len >= in->max)
			return LINE_TOOLONG;
		return LINE_MORE;
	}
	line_r->p = in->p;
	line_r->len = (size_t)(lf - in->p);
	return LINE_OK;
}

enum net_line net_read_line_raw(struct buf *in, size_t max, struct str *line_r)
{
	return net_find_line(in, max, line_r);
}

enum net_line net_read_line(struct buf *in, size_t max, struct str *line_r)
{
	enum net_line r = net_find_line(in, max, line_r);

	if (r == LINE_OK && line_r->len > 0 &&
	    line_r->p[line_r->len - 1] == '\r')
		line_r->len--;
	return r;
}

/* The line must start the buffer and be followed by LF or CR LF: anything
   else means the caller consumed twice or passed a foreign str. */
static size_t net_line_span(const struct buf *in, struct str line)
{
	if (in->p == NULL || line.p != in->p || line.len >= in->len)
		abort();
	if (line.p[line.len] == '\n')
		return line.len + 1;
	if (line.p[line.len] == '\r' && line.len + 1 < in->len &&
	    line.p[line.len + 1] == '\n')
		return line.len + 2;
	abort();
}

void net_line_consume(struct buf *in, struct str line)
{
	buf_consume(in, net_line_span(in, line));
}

bool net_line_was_crlf(const struct buf *in, struct str line)
{
	return net_line_span(in, line) == line.len + 2;
}

bool net_skip_line(struct buf *in)
{
	const char *lf = in->len > 0 ? memchr(in->p, '\n', in->len) : NULL;

	if (lf == NULL) {
		buf_reset(in);
		return false;
	}
	buf_consume(in, (size_t)(lf - in->p) + 1);
	return true;
}
