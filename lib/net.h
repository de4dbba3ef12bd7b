/*
 * Sockets and bounded line input: listen-spec parsing, TCP and Unix
 * listeners, non-blocking accept, reading into and writing from struct buf,
 * and the line reader every protocol session uses (STYLE.md "Reading
 * network input").  Nothing here blocks; every fd it creates is
 * non-blocking and close-on-exec.
 *
 * Errors: functions taking error_r set it to a static description of the
 * failed step ("bind", "bad port", ...) and leave errno describing the
 * cause (EINVAL for a malformed spec), so the caller logs once:
 *	log_error("listen %s: %s: %s", spec, error, strerror(errno));
 */
#ifndef YOUJU_NET_H
#define YOUJU_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "str.h"

/* Longest host name in a listen spec (RFC 1035 name length). */
#define NET_HOST_MAX 255
/* Room for any peer address text (IPv6 with scope), NUL included. */
#define NET_ADDR_MAX 64

struct net_spec {
	char host[NET_HOST_MAX + 1]; /* "" = every address (wildcard) */
	uint16_t port;		     /* 0 = kernel picks (tests) */
};

/*
 * Parses a listen spec: "host:port", "[ipv6]:port", "*:port", ":port" or a
 * bare "port" (the last three mean every address).  A host is a name or
 * an IPv4 address ([A-Za-z0-9._-]); an IPv6 literal must be in brackets.
 * The port is decimal 0..65535.  Returns 0, or -1 with *error_r set and
 * errno = EINVAL.
 */
__attribute__((warn_unused_result)) int
net_parse_spec(const char *spec, struct net_spec *spec_r, const char **error_r);

/*
 * Opens a listening TCP socket for spec with SO_REUSEADDR.  A wildcard binds
 * "::" accepting IPv4 too (falling back to 0.0.0.0 without IPv6); a name is
 * resolved once, now (start-up only) and the first address that binds wins.
 * Returns the fd (non-blocking, close-on-exec; the caller owns it), or -1
 * with *error_r and errno.
 */
__attribute__((warn_unused_result)) int
net_listen_tcp(const char *spec, int backlog, const char **error_r);

/*
 * net_listen_tcp(), with SO_REUSEPORT when reuseport is true: several
 * sockets (one per worker process) on the same address, among which the
 * kernel spreads new connections.  Only sockets of the same effective uid
 * can join the group.
 */
__attribute__((warn_unused_result)) int
net_listen_tcp_reuseport(const char *spec, int backlog, bool reuseport,
			 const char **error_r);

/*
 * Opens a listening Unix socket at path: binds "<path>.tmp", chmods it to
 * mode, listens, then renames it over path, so clients never see a socket
 * with the wrong mode nor find no socket during a restart.  Returns the fd
 * (non-blocking, close-on-exec), or -1 with *error_r and errno
 * (ENAMETOOLONG when path does not fit sun_path).
 */
__attribute__((warn_unused_result)) int net_listen_unix(const char *path,
							mode_t mode,
							int backlog,
							const char **error_r);

/* The local port of a bound TCP socket, or -1 with errno. */
int net_local_port(int fd);

/* Whether the addresses a and b (network byte order, 4 or 16 bytes) share
   their first bits bits (a CIDR prefix match; bits within the length). */
bool net_prefix_eq(const unsigned char *a, const unsigned char *b,
		   unsigned bits);

/*
 * Accepts one connection from a non-blocking listener.  *fd_r gets the new
 * fd (non-blocking, close-on-exec; the caller owns it) and peer (size
 * peer_size, NET_ADDR_MAX is enough) the peer's address as text: an IPv4
 * address ("192.0.2.1", also for IPv4-mapped IPv6 peers), an IPv6 address,
 * or "unix".  Returns 1 accepted, 0 nothing to accept now (including a
 * connection aborted before we took it), -1 error with errno (EMFILE,
 * ENFILE: out of fds; pause the listener for a while rather than spin).
 */
__attribute__((warn_unused_result)) int
net_accept(int listen_fd, int *fd_r, char *peer, size_t peer_size);

/*
 * An event loop's read callback for a listener: accepts up to 64 pending
 * connections (net_accept) and gives each to fn with its peer address (fn
 * owns the fd).  An error is logged as a warning and ends the batch.
 */
void net_accept_batch(int listen_fd,
		      void (*fn)(void *ctx, int fd, const char *peer),
		      void *ctx);

/* Sets O_NONBLOCK.  Returns 0 or -1 with errno. */
__attribute__((warn_unused_result)) int net_set_nonblock(int fd);

/* the most one net_fill() reads */
#define NET_FILL_CHUNK 16384
/*
 * Reads once from fd, appending at most buf_room(in) bytes (and at most
 * NET_FILL_CHUNK).  Returns 1 progress, 0 would block, -1 error or end of
 * input: errno is 0 for an orderly EOF, ENOBUFS when in is already full
 * (run the line reader and consume first), otherwise the read error.  A
 * stream socket that returned fewer bytes than asked had nothing more
 * queued at that moment: a caller with a level-triggered poll may wait
 * for it instead of reading again (to an EAGAIN).
 */
__attribute__((warn_unused_result)) int net_fill(int fd, struct buf *in);

/*
 * Writes as much of out as the fd takes, consuming what was written.
 * Returns 1 all written (out is empty), 0 partial (wait for EV_WRITE),
 * -1 error with errno.  Uses MSG_NOSIGNAL on sockets: no SIGPIPE.
 */
__attribute__((warn_unused_result)) int net_out_flush(int fd, struct buf *out);

enum net_line {
	LINE_OK,      /* *line_r holds one complete line */
	LINE_MORE,    /* no complete line yet: read more */
	LINE_TOOLONG, /* max bytes without LF: call net_skip_line() */
	LINE_EOF      /* for callers: net_fill() reported EOF or an error */
};

/*
 * Finds the first complete line at the start of in.  max is the longest
 * line accepted, counting its CR LF or LF (512 for SMTP commands, RFC 5321
 * 4.5.3.1.4), and should be <= in->max.
 *
 * LINE_OK: *line_r is the line without its LF and, for net_read_line(),
 * without one CR right before the LF (net_read_line_raw() keeps it, for
 * callers that must see bare LF versus CR LF, such as SMTP DATA).  The
 * line may contain NULs and bare CRs.  It points into in and stays valid
 * until net_line_consume() or any other change to in; the caller handles
 * it, then calls net_line_consume(in, *line_r).
 * LINE_MORE: no LF within the first max bytes yet and fewer than max bytes
 * (and in not full) are buffered.
 * LINE_TOOLONG: max bytes (or a full in) without LF.  Reply with an error,
 * then drop the rest of that line with net_skip_line().
 * net_read_line never returns LINE_EOF: that value lets a session's switch
 * handle net_fill()'s -1 in the same place.
 */
__attribute__((warn_unused_result)) enum net_line
net_read_line(struct buf *in, size_t max, struct str *line_r);
__attribute__((warn_unused_result)) enum net_line
net_read_line_raw(struct buf *in, size_t max, struct str *line_r);

/* Removes the line returned by LINE_OK, with its terminator, from in. */
void net_line_consume(struct buf *in, struct str line);

/* For a line from net_read_line() (not _raw), before it is consumed: true
   when it ended in CR LF, false for a bare LF. */
bool net_line_was_crlf(const struct buf *in, struct str line);

/*
 * Discards the rest of an over-long line: through the first LF when there
 * is one (returns true: the session goes on with the next line), else the
 * whole buffer (returns false: the caller remembers it is still skipping
 * and calls this again after the next net_fill()).
 */
bool net_skip_line(struct buf *in);

#endif
