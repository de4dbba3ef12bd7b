/*
 * The sendmail command (see sendmail.h).  Postfix's sendmail writes into a
 * maildrop directory through the setgid postdrop; here the command is an
 * ordinary program that talks ESMTP to youju-mta's pickup socket, where
 * the kernel tells the MTA which user is calling (SO_PEERCRED).  The
 * message is first read to its end into an unlinked temporary file, so a
 * slow writer (a cron job) never holds an SMTP session open and the size
 * limit is known before the MTA is asked; then the envelope is sent, the
 * header section (with -t's recipients taken from it and Bcc: removed),
 * and the body, dot-stuffed with CR LF.  -bs relays standard input and
 * output to the socket; -bv asks VRFY for each recipient.
 */
#include "sendmail.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "dot.h"
#include "log.h"
#include "mime.h"
#include "net.h"
#include "queue.h"
#include "sendmail_msg.h"
#include "str.h"
#include "xalloc.h"

/* Bytes read from standard input (and the spool) at once. */
#define SM_CHUNK 65536
/* A reply line from youju-mta, and the lines of one reply. */
#define SM_REPLY_LINE_MAX  4096
#define SM_REPLY_LINES_MAX 100
/* How long to wait for youju-mta before giving up (a reply takes at most
   one directory lookup or one fsync). */
#define SM_IO_TIMEOUT_S 300
/* Longest ESMTP value we build (ENVID xtext is at most 100, RFC 3461). */
#define SM_ENVID_MAX 100

struct sm_opts {
	char mode;	    /* 'm' deliver, 's' -bs, 'v' -bv */
	bool extract;	    /* -t */
	bool ignore_dots;   /* -i, -oi */
	bool verbose;	    /* -v: the dialogue on stderr */
	const char *sender; /* -f, -r; NULL: the login name */
	const char *fullname;
	char notify[32];  /* NOTIFY= value, "" none */
	const char *ret;  /* "FULL", "HDRS", NULL */
	const char *body; /* "8BITMIME", "7BIT", NULL */
	char envid[SM_ENVID_MAX + 1];
	const char *config; /* -C */
};

struct sm_rcpts {
	char **v;
	size_t n, max;
	const char *origin;
	int status; /* exit status when one is refused */
};

/* A reply from youju-mta: its code and its last line, printable. */
struct smc {
	int fd;
	bool verbose;
	struct buf in;
	int code;
	char text[SM_REPLY_LINE_MAX];
};

__attribute__((format(printf, 2, 3), noreturn)) static void
sm_fatal(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("sendmail: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sendmail [-tiv] [-f sender] [-F name] [-N dsn] "
		"[-R full|hdrs] [-V envid]\n"
		"                [-B 7bit|8bitmime] [-C config] [-bm|-bs|-bv] "
		"[--] [recipient ...]\n");
	exit(EX_USAGE);
}

/* ------------------------------------------------------------ addresses */

/* user -> user@$myorigin, as Postfix's append_at_myorigin */
static void qualify(char *addr, size_t size, const char *origin)
{
	size_t n = strlen(addr);
	const char *q = strrchr(addr, '"');
	if (n == 0 || origin[0] == '\0' ||
	    strchr(q != NULL ? q : addr, '@') != NULL)
		return;
	int r = snprintf(addr + n, size - n, "@%s", origin);
	if (r < 0 || (size_t)r >= size - n)
		addr[n] = '\0';
}

static int rcpt_add(void *ctx, const char *addr, size_t len)
{
	struct sm_rcpts *r = ctx;
	if (r->n >= r->max)
		sm_fatal(r->status,
			 "too many recipients "
			 "(smtpd_recipient_limit = %zu)",
			 r->max);
	char a[SM_ADDR_MAX + 1];
	memcpy(a, addr, len + 1);
	qualify(a, sizeof(a), r->origin);
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	r->v[r->n++] = xstrdup(a);
	return 0;
}

static void rcpt_list(struct sm_rcpts *r, struct str v, const char *what,
		      int status)
{
	struct str bad = {"", 0};
	if (sm_addr_list(v, rcpt_add, r, &bad) < 0) {
		char esc[256];
		log_escape(esc, sizeof(esc), bad.p,
			   bad.len > 100 ? 100 : bad.len);
		sm_fatal(status, "bad address in %s: %s", what, esc);
	}
}

static int one_addr(void *ctx, const char *addr, size_t len)
{
	char *out = ctx;
	if (out[0] != '\0')
		return -1; /* more than one */
	memcpy(out, addr, len + 1);
	return 0;
}

/* -f: one address, or <> / "" for the null sender */
static void sender_of(const struct sm_opts *o, const char *origin, char *out,
		      size_t size)
{
	out[0] = '\0';
	if (o->sender != NULL) {
		struct str s = str_trim(str_from_cstr(o->sender));
		if (s.len == 0 || str_eq_cstr(s, "<>"))
			return;
		if (sm_addr_list(s, one_addr, out, NULL) != 1)
			sm_fatal(EX_USAGE, "bad sender address: %s", o->sender);
	} else {
		struct passwd *pw = getpwuid(getuid());
		if (pw == NULL || strlen(pw->pw_name) > SM_ADDR_MAX)
			sm_fatal(EX_NOUSER, "no login name for user ID %lu",
				 (unsigned long)getuid());
		memcpy(out, pw->pw_name, strlen(pw->pw_name) + 1);
	}
	qualify(out, size, origin);
}

/* -N never | success,delay,failure (any order, any case) */
static void notify_of(const char *arg, char *out, size_t size)
{
	bool never = false, succ = false, delay = false, fail = false;
	struct str rest = str_from_cstr(arg);
	while (rest.len > 0) {
		const char *comma = memchr(rest.p, ',', rest.len);
		size_t n = comma ? (size_t)(comma - rest.p) : rest.len;
		struct str w = str_trim((struct str){rest.p, n});
		if (str_case_eq_cstr(w, "never"))
			never = true;
		else if (str_case_eq_cstr(w, "success"))
			succ = true;
		else if (str_case_eq_cstr(w, "delay"))
			delay = true;
		else if (str_case_eq_cstr(w, "failure"))
			fail = true;
		else
			sm_fatal(EX_USAGE, "-N: bad DSN notification: %s", arg);
		rest.p += comma ? n + 1 : n;
		rest.len -= comma ? n + 1 : n;
	}
	if (never && (succ || delay || fail))
		sm_fatal(EX_USAGE, "-N: never with other notifications: %s",
			 arg);
	if (!never && !succ && !delay && !fail)
		sm_fatal(EX_USAGE, "-N: no DSN notification given");
	int r = snprintf(out, size, "%s%s%s%s", never ? "NEVER" : "",
			 succ ? "SUCCESS," : "", delay ? "DELAY," : "",
			 fail ? "FAILURE," : "");
	if (r > 0 && (size_t)r < size && out[r - 1] == ',')
		out[r - 1] = '\0';
}

/* ------------------------------------------------------------ the input */

/* Standard input, converted (sendmail_msg.h), into an unlinked file. */
static FILE *spool_stdin(bool ignore_dots, uint64_t limit)
{
	FILE *f = tmpfile();
	if (f == NULL)
		sm_fatal(EX_CANTCREAT, "cannot create a temporary file: %s",
			 strerror(errno));
	struct sm_input in;
	struct buf out;
	char *chunk = xmalloc(SM_CHUNK);
	uint64_t total = 0;
	sm_input_init(&in, ignore_dots);
	buf_init(&out, SM_CHUNK + 8);
	while (!in.done) {
		ssize_t n = read(STDIN_FILENO, chunk, SM_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			sm_fatal(EX_NOINPUT, "read standard input: %s",
				 strerror(errno));
		buf_reset(&out);
		if (n == 0 ? sm_input_end(&in, &out) < 0
			   : sm_input_feed(&in, chunk, (size_t)n, &out) < 0)
			sm_fatal(EX_SOFTWARE, "input conversion overflow");
		total += out.len;
		if (limit > 0 && total > limit)
			sm_fatal(EX_DATAERR,
				 "message too large: over %llu bytes "
				 "(message_size_limit)",
				 (unsigned long long)limit);
		if (out.len > 0 && fwrite(out.p, 1, out.len, f) != out.len)
			sm_fatal(EX_TEMPFAIL, "write temporary file: %s",
				 strerror(errno));
		if (n == 0)
			break;
	}
	free(chunk);
	buf_deinit(&out);
	if (fflush(f) != 0 || fseeko(f, 0, SEEK_SET) != 0)
		sm_fatal(EX_TEMPFAIL, "write temporary file: %s",
			 strerror(errno));
	return f;
}

/* The header as sent: Bcc:, Resent-Bcc: and Return-Path: removed (RFC
   5322 3.6.3; the delivery adds its own Return-Path:), From: added with
   the full name when there is none.  -t takes the recipients. */
static void header_prepare(const struct buf *hdr, const struct sm_opts *o,
			   const char *sender, struct sm_rcpts *r,
			   struct buf *out)
{
	const char *h = hdr->len ? hdr->p : "";
	struct mime_field f;
	size_t pos = 0;
	bool resent = false, from = false;
	while (mime_header_field_next(h, hdr->len, &pos, &f)) {
		if (str_case_eq_cstr(f.name, "Resent-To") ||
		    str_case_eq_cstr(f.name, "Resent-Cc") ||
		    str_case_eq_cstr(f.name, "Resent-Bcc"))
			resent = true;
		if (str_case_eq_cstr(f.name, "From"))
			from = true;
	}
	pos = 0;
	while (mime_header_field_next(h, hdr->len, &pos, &f)) {
		/* with Resent- headers only they name the recipients, as
		   Postfix's cleanup does */
		static const char *const plain[] = {"To", "Cc", "Bcc"};
		static const char *const re[] = {"Resent-To", "Resent-Cc",
						 "Resent-Bcc"};
		for (size_t i = 0; o->extract && i < 3; i++) {
			const char *name = resent ? re[i] : plain[i];
			if (str_case_eq_cstr(f.name, name))
				rcpt_list(r, f.value, name, EX_DATAERR);
		}
		if (str_case_eq_cstr(f.name, "Bcc") ||
		    str_case_eq_cstr(f.name, "Resent-Bcc") ||
		    str_case_eq_cstr(f.name, "Return-Path"))
			continue;
		if (buf_append(out, f.raw.p, f.raw.len) < 0)
			sm_fatal(EX_DATAERR, "message header too large");
	}
	if (!from && o->fullname != NULL && o->fullname[0] != '\0' &&
	    sender[0] != '\0' && sm_from_header(out, o->fullname, sender) < 0)
		sm_fatal(EX_DATAERR, "message header too large");
}

/* --------------------------------------------------------- youju-mta */

static int sm_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		sm_fatal(EX_CONFIG, "sendmail_socket too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		sm_fatal(EX_OSERR, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			sm_fatal(EX_NOPERM, "connect to %s: %s", path,
				 strerror(e));
		sm_fatal(EX_TEMPFAIL,
			 "connect to %s: %s: youju-mta is not running", path,
			 strerror(e));
	}
	struct timeval tv = {.tv_sec = SM_IO_TIMEOUT_S};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		sm_fatal(EX_OSERR, "setsockopt: %s", strerror(errno));
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			sm_fatal(EX_TEMPFAIL,
				 "lost connection with youju-mta: "
				 "%s",
				 w < 0 ? strerror(errno) : "write");
		p += w;
		n -= (size_t)w;
	}
}

/* Reads one (multi-line) reply into c->code and c->text. */
static void smc_reply(struct smc *c)
{
	for (unsigned lines = 0; lines < SM_REPLY_LINES_MAX;) {
		struct str l;
		switch (net_read_line(&c->in, SM_REPLY_LINE_MAX, &l)) {
		case LINE_OK:
			break;
		case LINE_MORE: {
			int r = net_fill(c->fd, &c->in);
			if (r <= 0)
				sm_fatal(EX_TEMPFAIL,
					 "lost connection with youju-mta: %s",
					 r == 0 || errno == EAGAIN ? "timeout"
					 : errno == 0		   ? "closed"
						      : strerror(errno));
			continue;
		}
		default:
			sm_fatal(EX_PROTOCOL, "youju-mta: reply line too long");
		}
		lines++;
		if (l.len < 3 || l.p[0] < '2' || l.p[0] > '5' || l.p[1] < '0' ||
		    l.p[1] > '9' || l.p[2] < '0' || l.p[2] > '9' ||
		    (l.len > 3 && l.p[3] != ' ' && l.p[3] != '-'))
			sm_fatal(EX_PROTOCOL, "youju-mta: bad reply");
		bool more = l.len > 3 && l.p[3] == '-';
		c->code =
		    (l.p[0] - '0') * 100 + (l.p[1] - '0') * 10 + (l.p[2] - '0');
		log_escape(c->text, sizeof(c->text), l.p, l.len);
		if (c->verbose)
			fprintf(stderr, "<<< %s\n", c->text);
		net_line_consume(&c->in, l);
		if (!more)
			return;
	}
	sm_fatal(EX_PROTOCOL, "youju-mta: reply too long");
}

__attribute__((format(printf, 2, 3))) static int smc_cmd(struct smc *c,
							 const char *fmt, ...)
{
	char line[SM_REPLY_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		sm_fatal(EX_SOFTWARE, "command too long");
	if (c->verbose)
		fprintf(stderr, ">>> %s\n", line);
	memcpy(line + n, "\r\n", 2);
	send_all(c->fd, line, (size_t)n + 2);
	smc_reply(c);
	return c->code;
}

/* A reply that is not the one wanted ends the run: 4xx EX_TEMPFAIL, 5xx
   the status the step gives. */
static void expect(const struct smc *c, int want, int status, const char *what)
{
	if (c->code / 100 == want / 100)
		return;
	/* a polite end for the MTA's log; the reply does not matter */
	(void)send(c->fd, "QUIT\r\n", 6, MSG_NOSIGNAL);
	sm_fatal(c->code / 100 == 4 ? EX_TEMPFAIL : status, "%s: %s", what,
		 c->text);
}

static void smc_open(struct smc *c, const char *path, const char *helo,
		     bool verbose)
{
	c->fd = sm_connect(path);
	c->verbose = verbose;
	buf_init(&c->in, SM_REPLY_LINE_MAX * 2);
	smc_reply(c);
	expect(c, 220, EX_UNAVAILABLE, "youju-mta");
	smc_cmd(c, "EHLO %s", helo);
	expect(c, 250, EX_PROTOCOL, "EHLO");
}

/* -bv: a verdict per recipient on standard output. */
static int verify(struct smc *c, const struct sm_rcpts *r)
{
	int status = 0;
	for (size_t i = 0; i < r->n; i++) {
		smc_cmd(c, "VRFY <%s>", r->v[i]);
		const char *verdict = "deliverable";
		if (c->code / 100 == 5) {
			verdict = "undeliverable";
			status = EX_NOUSER;
		} else if (c->code / 100 == 4) {
			verdict = "deferred";
			if (status == 0)
				status = EX_TEMPFAIL;
		}
		/* the text after "250 2.1.5 " */
		const char *t = c->text;
		for (int sp = 0; *t != '\0' && sp < 2; t++)
			if (*t == ' ')
				sp++;
		printf("%s: %s: %s\n", r->v[i], verdict, t);
	}
	if (fflush(stdout) != 0)
		status = EX_IOERR;
	smc_cmd(c, "QUIT");
	return status;
}

static void send_message(struct smc *c, const struct buf *hdr, FILE *spool,
			 off_t body_off)
{
	struct dot_enc enc;
	struct buf out;
	char *chunk = xmalloc(SM_CHUNK);
	/* the spool holds LF lines (sm_input): a CR left in it is data */
	dot_enc_init(&enc, 0, DOT_ALL_LINES, 0);
	buf_init(&out, 2 * SM_CHUNK + 8);
	/* the header in pieces, each within out */
	for (size_t i = 0; i < hdr->len; i += SM_CHUNK) {
		size_t n = hdr->len - i < SM_CHUNK ? hdr->len - i : SM_CHUNK;
		buf_reset(&out);
		if (dot_enc_feed(&enc, hdr->p + i, n, &out) < 0)
			sm_fatal(EX_SOFTWARE, "encoding overflow");
		send_all(c->fd, out.p, out.len);
	}
	send_all(c->fd, "\r\n", 2);
	if (fseeko(spool, body_off, SEEK_SET) != 0)
		sm_fatal(EX_IOERR, "read temporary file: %s", strerror(errno));
	size_t n;
	while ((n = fread(chunk, 1, SM_CHUNK, spool)) > 0) {
		buf_reset(&out);
		if (dot_enc_feed(&enc, chunk, n, &out) < 0)
			sm_fatal(EX_SOFTWARE, "encoding overflow");
		send_all(c->fd, out.p, out.len);
	}
	if (ferror(spool))
		sm_fatal(EX_IOERR, "read temporary file: %s", strerror(errno));
	buf_reset(&out);
	if (dot_enc_end(&enc, &out) < 0)
		sm_fatal(EX_SOFTWARE, "encoding overflow");
	send_all(c->fd, out.p, out.len);
	buf_deinit(&out);
	free(chunk);
}

static int deliver(struct smc *c, const struct sm_opts *o, const char *sender,
		   const struct sm_rcpts *r, const struct buf *hdr, FILE *spool,
		   off_t body_off)
{
	struct buf params;
	buf_init(&params, 256);
	if ((o->body != NULL && buf_printf(&params, " BODY=%s", o->body) < 0) ||
	    (o->ret != NULL && buf_printf(&params, " RET=%s", o->ret) < 0) ||
	    (o->envid[0] != '\0' &&
	     buf_printf(&params, " ENVID=%s", o->envid) < 0))
		sm_fatal(EX_SOFTWARE, "MAIL parameters too long");
	smc_cmd(c, "MAIL FROM:<%s>%s", sender, buf_cstr(&params));
	buf_deinit(&params);
	expect(c, 250, EX_DATAERR, "sender");
	for (size_t i = 0; i < r->n; i++) {
		smc_cmd(c, "RCPT TO:<%s>%s%s", r->v[i],
			o->notify[0] ? " NOTIFY=" : "", o->notify);
		expect(c, 250, EX_NOUSER, r->v[i]);
	}
	smc_cmd(c, "DATA");
	expect(c, 354, EX_DATAERR, "DATA");
	send_message(c, hdr, spool, body_off);
	smc_reply(c);
	expect(c, 250, EX_DATAERR, "message");
	smc_cmd(c, "QUIT");
	return 0;
}

/* -bs: standard input and output are the SMTP session.  A bare LF from
   standard input becomes CR LF, so that a person typing, or a client
   that writes LF, still ends DATA with a lone "." (the MTA itself only
   takes CR LF "." CR LF, RFC 5321 4.1.1.4). */
static int relay(const char *path)
{
	int fd = sm_connect(path);
	struct buf to_mta;
	char *chunk = xmalloc(SM_CHUNK);
	bool in_open = true, prev_cr = false;
	buf_init(&to_mta, 2 * SM_CHUNK + 2);
	if (net_set_nonblock(fd) < 0)
		sm_fatal(EX_OSERR, "fcntl: %s", strerror(errno));
	for (;;) {
		struct pollfd p[2] = {
		    {.fd = fd, .events = POLLIN},
		    {.fd = STDIN_FILENO, .events = POLLIN},
		};
		if (to_mta.len > 0)
			p[0].events |= POLLOUT;
		nfds_t np = in_open && to_mta.len == 0 ? 2 : 1;
		int pr = poll(p, np, SM_IO_TIMEOUT_S * 1000);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			sm_fatal(EX_TEMPFAIL, "youju-mta: %s",
				 pr == 0 ? "timeout" : strerror(errno));
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(fd, chunk, SM_CHUNK);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0)
				break; /* the MTA closed: after QUIT */
			if (fwrite(chunk, 1, (size_t)n, stdout) != (size_t)n ||
			    fflush(stdout) != 0)
				sm_fatal(EX_IOERR, "write standard output: %s",
					 strerror(errno));
		}
		if (to_mta.len > 0 && (p[0].revents & POLLOUT)) {
			if (net_out_flush(fd, &to_mta) < 0)
				sm_fatal(EX_TEMPFAIL,
					 "lost connection with youju-mta: %s",
					 strerror(errno));
		}
		if (np == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(STDIN_FILENO, chunk, SM_CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				sm_fatal(EX_NOINPUT, "read standard input: %s",
					 strerror(errno));
			if (n == 0) {
				in_open = false;
				if (shutdown(fd, SHUT_WR) < 0 &&
				    errno != ENOTCONN)
					sm_fatal(EX_OSERR, "shutdown: %s",
						 strerror(errno));
				continue;
			}
			for (ssize_t i = 0; i < n; i++) {
				int r = 0;
				if (chunk[i] == '\n' && !prev_cr)
					r = buf_append_char(&to_mta, '\r');
				if (r < 0 ||
				    buf_append_char(&to_mta, chunk[i]) < 0)
					sm_fatal(EX_SOFTWARE, "relay overflow");
				prev_cr = chunk[i] == '\r';
			}
		}
	}
	free(chunk);
	buf_deinit(&to_mta);
	close(fd);
	return 0;
}

/* ------------------------------------------------------------- options */

static void ignore_warning(void *ctx, const char *msg)
{
}

static struct conf *load_conf(const char *config)
{
	char *path;
	struct stat st;
	if (config == NULL) {
		path = conf_default_path();
	} else if (stat(config, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* -C as Postfix: a configuration directory */
		size_t n = strlen(config) + sizeof("/youju.cf");
		path = xmalloc(n);
		snprintf(path, n, "%s/youju.cf", config);
	} else {
		path = xstrdup(config);
	}
	const char *err = NULL;
	/* youju.cf also holds other programs' parameters: no warnings */
	struct conf *c = conf_load_warn(path, conf_tables_for("mta"),
					ignore_warning, NULL, &err);
	if (c == NULL)
		sm_fatal(EX_CONFIG, "%s", err != NULL ? err : path);
	free(path);
	return c;
}

/* The ESMTP keyword a or b that arg names in any case (-B, -R), or exit
   with "what: arg". */
static const char *sm_keyword(const char *arg, const char *a, const char *b,
			      const char *what)
{
	if (strcasecmp(arg, a) == 0)
		return a;
	if (strcasecmp(arg, b) == 0)
		return b;
	sm_fatal(EX_USAGE, "%s: %s", what, arg);
}

static void parse_options(int argc, char **argv, struct sm_opts *o)
{
	int opt;
	opterr = 0;
	while ((opt = getopt(argc, argv,
			     "+A:B:C:F:GIL:N:R:UV:X:b:f:h:imno:p:q::r:tv")) !=
	       -1) {
		switch (opt) {
		case 'b':
			if (strcmp(optarg, "m") == 0 ||
			    strcmp(optarg, "s") == 0 ||
			    strcmp(optarg, "v") == 0 ||
			    strcmp(optarg, "p") == 0 ||
			    strcmp(optarg, "i") == 0) {
				o->mode = optarg[0];
				break;
			}
			sm_fatal(EX_USAGE, "-b%s is not supported%s", optarg,
				 strcmp(optarg, "d") == 0
				     ? " (youju start runs youju-mta)"
				     : "");
		case 'B':
			o->body = sm_keyword(optarg, "8BITMIME", "7BIT",
					     "-B: bad body type");
			break;
		case 'C':
			o->config = optarg;
			break;
		case 'F':
			o->fullname = optarg;
			break;
		case 'f':
		case 'r':
			o->sender = optarg;
			break;
		case 'I':
			o->mode = 'i';
			break;
		case 'i':
			o->ignore_dots = true;
			break;
		case 'N':
			notify_of(optarg, o->notify, sizeof(o->notify));
			break;
		case 'o':
			/* -oi as -i; the rest (-oem, -odb, -oA...) are
			   sendmail 8 options Postfix ignores, and so do we */
			if (strcmp(optarg, "i") == 0)
				o->ignore_dots = true;
			break;
		case 'q':
			o->mode = 'q';
			break;
		case 'R':
			o->ret = sm_keyword(optarg, "FULL", "HDRS",
					    "-R: bad return type");
			break;
		case 't':
			o->extract = true;
			break;
		case 'V':
			if (strlen(optarg) > SM_ENVID_MAX ||
			    sm_xtext(optarg, o->envid, sizeof(o->envid)) < 0)
				sm_fatal(EX_USAGE, "-V: envelope ID too long");
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'A': /* sendmail 8 options with no meaning here */
		case 'G':
		case 'h':
		case 'L':
		case 'm':
		case 'n':
		case 'p':
		case 'U':
		case 'X':
			break;
		default:
			fprintf(stderr, "sendmail: bad option: -%c\n",
				optopt ? optopt : '?');
			usage();
		}
	}
}

int cli_sendmail(int argc, char **argv)
{
	struct sm_opts o = {.mode = 'm'};
	parse_options(argc, argv, &o);
	if (o.mode == 'p' || o.mode == 'q') {
		/* -bp is mailq, -q is postqueue -f */
		char *qargv[] = {"queue", o.mode == 'p' ? "list" : "flush",
				 NULL};
		return cli_queue(2, qargv);
	}
	if (o.mode == 'i') {
		printf("sendmail: aliases live in the ExtMail alias table; "
		       "there is nothing to rebuild\n");
		return 0;
	}
	struct conf *conf = load_conf(o.config);
	const char *sock = conf_str(conf, "sendmail_socket");
	if (sock[0] == '\0')
		sm_fatal(EX_UNAVAILABLE,
			 "sendmail_socket is empty: local submission is off");
	if (o.mode == 's')
		return relay(sock);

	const char *origin = conf_str(conf, "myorigin");
	char sender[SM_ADDR_MAX + 1];
	sender_of(&o, origin, sender, sizeof(sender));
	if (o.fullname == NULL)
		o.fullname = getenv("NAME");
	struct sm_rcpts r = {
	    .max = (size_t)conf_int(conf, "smtpd_recipient_limit"),
	    .origin = origin,
	    .status = EX_USAGE,
	};
	for (int i = optind; i < argc; i++)
		rcpt_list(&r, str_from_cstr(argv[i]), "recipient", EX_USAGE);
	if (r.n == 0 && !o.extract)
		sm_fatal(EX_USAGE, "recipient addresses must be given on the "
				   "command line or with -t");

	struct buf hdr, out;
	buf_init(&hdr, SM_HEADER_MAX);
	buf_init(&out, SM_HEADER_MAX + 2 * SM_FULLNAME_MAX + 512);
	FILE *spool = NULL;
	off_t body_off = 0;
	if (o.mode == 'm' || o.extract) {
		const char *err = "";
		spool =
		    spool_stdin(o.ignore_dots,
				(uint64_t)conf_int(conf, "message_size_limit"));
		if (sm_header_read(spool, &hdr, &body_off, &err) < 0)
			sm_fatal(errno == EFBIG ? EX_DATAERR : EX_IOERR,
				 "%s: %s", err, strerror(errno));
		r.status = EX_DATAERR;
		header_prepare(&hdr, &o, sender, &r, &out);
	}
	if (r.n == 0)
		sm_fatal(EX_USAGE,
			 "no recipient addresses found in the message header");

	struct smc c = {0};
	smc_open(&c, sock, conf_str(conf, "myhostname"), o.verbose);
	int status = o.mode == 'v'
			 ? verify(&c, &r)
			 : deliver(&c, &o, sender, &r, &out, spool, body_off);
	close(c.fd);
	buf_deinit(&c.in);
	buf_deinit(&hdr);
	buf_deinit(&out);
	if (spool != NULL)
		fclose(spool);
	for (size_t i = 0; i < r.n; i++)
		free(r.v[i]);
	free(r.v);
	conf_free(&conf);
	return status;
}
