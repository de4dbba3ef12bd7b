/*
 * Policy delegation client (see policysvc.h).  Attribute names are
 * Postfix's (SMTPD_POLICY_README, "Protocol description"), so existing
 * servers work unchanged; unknown attributes in a reply are ignored as
 * Postfix does.  A server that is down, slow or broken never hangs the
 * session: the deadline covers connect, write and read, and the caller
 * falls back to smtpd_policy_service_default_action.
 */
#include "policysvc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "restrict.h"

long long policysvc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Splits "inet:host:port" / "inet:[v6]:port" into host and port. */
static bool split_inet(const char *a, char *host, size_t hsz, char *port,
		       size_t psz)
{
	const char *colon;
	const char *h = a;
	size_t hl;
	if (a[0] == '[') {
		const char *rb = strchr(a, ']');
		if (rb == NULL || rb[1] != ':')
			return false;
		h = a + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(a, ':');
		if (colon == NULL)
			return false;
		hl = (size_t)(colon - a);
	}
	size_t pl = strlen(colon + 1);
	if (hl == 0 || hl >= hsz || pl == 0 || pl >= psz ||
	    strspn(colon + 1, "0123456789") != pl)
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, colon + 1, pl + 1);
	return true;
}

bool policysvc_spec_ok(const char *spec)
{
	char host[256], port[8];
	if (strncmp(spec, "unix:", 5) == 0)
		return spec[5] == '/' &&
		       strlen(spec + 5) <
			   sizeof(((struct sockaddr_un *)0)->sun_path);
	if (strncmp(spec, "inet:", 5) == 0)
		return split_inet(spec + 5, host, sizeof(host), port,
				  sizeof(port));
	return false;
}

/* Waits for events on fd until the deadline: 1 ready, -1 timeout/error */
int policysvc_wait(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - policysvc_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

int policysvc_connect(const char *spec, long long deadline)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int family;
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		memset(un, 0, sizeof(*un));
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, spec + 5, strlen(spec + 5) + 1);
		sl = sizeof(*un);
		family = AF_UNIX;
	} else {
		char host[256], port[8];
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
		if (!split_inet(spec + 5, host, sizeof(host), port,
				sizeof(port)) ||
		    getaddrinfo(host, port, &hints, &ai) != 0) {
			errno = EHOSTUNREACH;
			return -1;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sl = ai->ai_addrlen;
		family = ai->ai_family;
		freeaddrinfo(ai);
	}
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EINPROGRESS ||
		    policysvc_wait(fd, POLLOUT, deadline) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 ||
		    err != 0) {
			close(fd);
			errno = err ? err : ECONNREFUSED;
			return -1;
		}
	}
	return fd;
}

/* name=value\n, control bytes of the value replaced */
static int attr(char *out, size_t outsz, size_t *len, const char *name,
		const char *value)
{
	if (value == NULL)
		value = "";
	size_t nl = strlen(name), vl = strlen(value);
	if (*len + nl + vl + 2 >= outsz)
		return -1;
	memcpy(out + *len, name, nl);
	out[*len + nl] = '=';
	char *v = out + *len + nl + 1;
	for (size_t i = 0; i < vl; i++)
		v[i] = (unsigned char)value[i] < 32 || value[i] == 127
			   ? '?'
			   : value[i];
	v[vl] = '\n';
	*len += nl + vl + 2;
	out[*len] = '\0';
	return 0;
}

int policysvc_request(const struct restrict_ctx *c, char *out, size_t outsz)
{
	size_t len = 0;
	char n1[32], n2[32];
	snprintf(n1, sizeof(n1), "%u", c->rcpt_count);
	snprintf(n2, sizeof(n2), "%llu", c->size);
	const char *state = c->protocol_state;
	if (state == NULL)
		state = c->rcpt != NULL && c->rcpt[0] ? "RCPT" : "MAIL";
	const char *rname =
	    c->client_fcrdns[0] ? c->client_fcrdns : c->client_name;
	const char *const kv[][2] = {
	    {"request", "smtpd_access_policy"},
	    {"protocol_state", state},
	    {"protocol_name", c->protocol_name ? c->protocol_name : "SMTP"},
	    {"helo_name", c->helo},
	    {"queue_id", c->queue_id},
	    {"sender", c->sender},
	    {"recipient", c->rcpt},
	    {"recipient_count", n1},
	    {"client_address", c->client_addr},
	    {"client_name", c->client_name},
	    {"reverse_client_name", rname},
	    {"instance", c->queue_id},
	    {"sasl_method", c->sasl_method},
	    {"sasl_username", c->sasl_username},
	    {"sasl_sender", ""},
	    {"size", n2},
	    {"ccert_subject", ""},
	    {"ccert_issuer", ""},
	    {"ccert_fingerprint", ""},
	    {"encryption_protocol", c->encryption_protocol},
	    {"encryption_cipher", c->encryption_cipher},
	    {"encryption_keysize", ""},
	    {"etrn_domain", ""},
	    {"stress", ""},
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (attr(out, outsz, &len, kv[i][0], kv[i][1]) < 0)
			return -1;
	}
	if (len + 1 >= outsz)
		return -1;
	out[len++] = '\n';
	out[len] = '\0';
	return (int)len;
}

int policysvc_parse_reply(const char *buf, size_t len, char *action,
			  size_t actsz)
{
	bool have = false;
	action[0] = '\0';
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (nl == NULL)
			return len - i > POLICYSVC_LINE_MAX ? -1 : 0;
		size_t ll = (size_t)(nl - (buf + i));
		if (ll > POLICYSVC_LINE_MAX)
			return -1;
		if (ll > 0 && buf[i + ll - 1] == '\r')
			ll--;
		if (ll == 0)
			return have ? 1 : -1;
		if (ll > 7 && memcmp(buf + i, "action=", 7) == 0) {
			size_t vl = ll - 7;
			if (vl >= actsz)
				vl = actsz - 1;
			for (size_t k = 0; k < vl; k++) {
				char ch = buf[i + 7 + k];
				action[k] = (unsigned char)ch < 32 ? ' ' : ch;
			}
			action[vl] = '\0';
			have = true;
		} else if (memchr(buf + i, '=', ll) == NULL) {
			return -1;
		}
		i += (size_t)(nl - (buf + i)) + 1;
	}
	return 0;
}

int policysvc_query(const char *spec, const struct restrict_ctx *c,
		    unsigned timeout_ms, char *action, size_t actsz)
{
	char req[8192];
	char rep[POLICYSVC_LINE_MAX * 2 + 2];
	size_t rl = 0;
	long long deadline =
	    policysvc_now_ms() + (timeout_ms ? timeout_ms : 100000);
	const char *why = "request too long";
	int n = policysvc_request(c, req, sizeof(req));
	int fd = -1;
	if (n < 0)
		goto fail;
	why = "connect";
	fd = policysvc_connect(spec, deadline);
	if (fd < 0)
		goto fail;
	why = "write";
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			goto fail;
		if (policysvc_wait(fd, POLLOUT, deadline) < 0)
			goto fail;
	}
	why = "read";
	for (;;) {
		if (policysvc_wait(fd, POLLIN, deadline) < 0)
			goto fail;
		ssize_t r = read(fd, rep + rl, sizeof(rep) - 1 - rl);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			goto fail;
		}
		rl += (size_t)r;
		int p = policysvc_parse_reply(rep, rl, action, actsz);
		if (p > 0)
			break;
		if (p < 0 || rl >= sizeof(rep) - 1) {
			why = "malformed reply";
			errno = EPROTO;
			goto fail;
		}
	}
	close(fd);
	return 0;
fail:
	log_warning("problem talking to server %s: %s: %s", spec, why,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}
