/*
 * Load generator for bench/mra (never part of `make test`): blocking
 * sockets, one thread per client, so that the client is not what limits
 * the servers.  Three loads:
 *
 *   mraload imap HOST PORT USER PASS CLIENTS
 *       each client: LOGIN, SELECT INBOX, FETCH 1:* (FLAGS RFC822.SIZE
 *       ENVELOPE), UID FETCH 1:* BODY.PEEK[], LOGOUT
 *   mraload pop3 HOST PORT USER PASS CLIENTS
 *       each client: USER/PASS, STAT, RETR 1..n (32 pipelined), QUIT;
 *       a "%d" in USER becomes the client number (one mailbox each)
 *   mraload idle HOST PORT USER PASS N THREADS
 *       N connections: LOGIN, SELECT INBOX, IDLE; prints "idling N" and
 *       holds them until stdin reaches EOF
 *
 * imap and pop3 print "ok msgs=M bytes=B seconds=S"; any protocol error
 * prints the reason and exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RD_MAX	    (256 * 1024)
#define POP3_WINDOW 32

struct rd {
	int fd;
	char buf[RD_MAX];
	size_t off, len;
};

static const char *g_host, *g_user, *g_pass;
static int g_port;
static unsigned long long g_msgs, g_bytes;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mraload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	struct sockaddr_in sa = {0};
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)g_port);
	if (inet_pton(AF_INET, g_host, &sa.sin_addr) != 1)
		die("bad host %s", g_host);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("connect: %s", strerror(errno));
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void put(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write: %s", strerror(errno));
		s += w;
		n -= (size_t)w;
	}
}

static void fill(struct rd *r)
{
	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == RD_MAX)
		die("line too long");
	ssize_t n;
	do
		n = read(r->fd, r->buf + r->len, RD_MAX - r->len);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		die("read: %s", n == 0 ? "EOF" : strerror(errno));
	r->len += (size_t)n;
}

/* Next line without CR LF; valid until the next call. */
static char *line(struct rd *r, size_t *len_r)
{
	for (;;) {
		char *p = r->buf + r->off;
		char *nl = memchr(p, '\n', r->len - r->off);
		if (nl != NULL) {
			size_t n = (size_t)(nl - p);
			r->off += n + 1;
			if (n > 0 && p[n - 1] == '\r')
				n--;
			p[n] = '\0';
			*len_r = n;
			return p;
		}
		fill(r);
	}
}

static void skip(struct rd *r, unsigned long long n)
{
	while (n > 0) {
		if (r->off == r->len) {
			r->off = r->len = 0;
			fill(r);
		}
		size_t take = r->len - r->off;
		if (take > n)
			take = (size_t)n;
		r->off += take;
		n -= take;
	}
}

/* Runs one tagged IMAP command; counts "* n FETCH" and literal bytes. */
static void imap_cmd(struct rd *r, const char *tag, const char *cmd,
		     unsigned long long *fetches, unsigned long long *bytes)
{
	char out[512];
	int k = snprintf(out, sizeof out, "%s %s\r\n", tag, cmd);
	put(r->fd, out, (size_t)k);
	size_t tl = strlen(tag);
	for (;;) {
		size_t n;
		char *l = line(r, &n);
		if (n > tl && strncmp(l, tag, tl) == 0 && l[tl] == ' ') {
			if (strncmp(l + tl + 1, "OK", 2) != 0)
				die("%s: %s", cmd, l);
			return;
		}
		if (fetches != NULL && l[0] == '*' && strstr(l, " FETCH ("))
			(*fetches)++;
		/* a literal: its bytes follow, then the line goes on */
		while (n > 2 && l[n - 1] == '}') {
			char *o = strrchr(l, '{');
			if (o == NULL)
				break;
			unsigned long long lit = strtoull(o + 1, NULL, 10);
			if (bytes != NULL)
				*bytes += lit;
			skip(r, lit);
			l = line(r, &n);
		}
	}
}

static void imap_login(struct rd *r)
{
	size_t n;
	char *g = line(r, &n);
	if (strncmp(g, "* OK", 4) != 0)
		die("greeting: %s", g);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "LOGIN \"%s\" \"%s\"", g_user, g_pass);
	imap_cmd(r, "L1", cmd, NULL, NULL);
	imap_cmd(r, "S1", "SELECT INBOX", NULL, NULL);
}

static void *imap_client(void *arg)
{
	(void)arg;
	struct rd *r = calloc(1, sizeof *r);
	r->fd = dial();
	imap_login(r);
	unsigned long long f1 = 0, f2 = 0, bytes = 0;
	imap_cmd(r, "F1", "FETCH 1:* (FLAGS RFC822.SIZE ENVELOPE)", &f1,
		 &bytes);
	imap_cmd(r, "F2", "UID FETCH 1:* BODY.PEEK[]", &f2, &bytes);
	imap_cmd(r, "Z1", "LOGOUT", NULL, NULL);
	close(r->fd);
	free(r);
	if (f1 != f2 || f1 == 0)
		die("FETCH counts differ: %llu %llu", f1, f2);
	pthread_mutex_lock(&g_lock);
	g_msgs += f2;
	g_bytes += bytes;
	pthread_mutex_unlock(&g_lock);
	return NULL;
}

static void pop3_ok(struct rd *r, const char *what)
{
	size_t n;
	char *l = line(r, &n);
	if (strncmp(l, "+OK", 3) != 0)
		die("%s: %s", what, l);
}

static void *pop3_client(void *arg)
{
	struct rd *r = calloc(1, sizeof *r);
	char user[256], cmd[512];
	snprintf(user, sizeof user, g_user, (int)(long)arg);
	r->fd = dial();
	pop3_ok(r, "greeting");
	int k = snprintf(cmd, sizeof cmd, "USER %s\r\nPASS %s\r\nSTAT\r\n",
			 user, g_pass);
	put(r->fd, cmd, (size_t)k);
	pop3_ok(r, "USER");
	pop3_ok(r, "PASS");
	size_t n;
	char *l = line(r, &n);
	unsigned long msgs;
	if (sscanf(l, "+OK %lu", &msgs) != 1)
		die("STAT: %s", l);
	unsigned long long bytes = 0;
	for (unsigned long i = 1; i <= msgs; i += POP3_WINDOW) {
		unsigned long last = i + POP3_WINDOW - 1;
		if (last > msgs)
			last = msgs;
		char batch[POP3_WINDOW * 24];
		size_t bl = 0;
		for (unsigned long j = i; j <= last; j++)
			bl += (size_t)snprintf(batch + bl, sizeof batch - bl,
					       "RETR %lu\r\n", j);
		put(r->fd, batch, bl);
		for (unsigned long j = i; j <= last; j++) {
			pop3_ok(r, "RETR");
			for (;;) {
				l = line(r, &n);
				if (n == 1 && l[0] == '.')
					break;
				bytes += n + 2;
			}
		}
	}
	put(r->fd, "QUIT\r\n", 6);
	pop3_ok(r, "QUIT");
	close(r->fd);
	free(r);
	pthread_mutex_lock(&g_lock);
	g_msgs += msgs;
	g_bytes += bytes;
	pthread_mutex_unlock(&g_lock);
	return NULL;
}

static int g_idle_next, g_idle_n;
static int *g_idle_fds;

static void *idle_opener(void *arg)
{
	(void)arg;
	struct rd *r = calloc(1, sizeof *r);
	for (;;) {
		pthread_mutex_lock(&g_lock);
		int i = g_idle_next < g_idle_n ? g_idle_next++ : -1;
		pthread_mutex_unlock(&g_lock);
		if (i < 0)
			break;
		r->off = r->len = 0;
		r->fd = dial();
		imap_login(r);
		put(r->fd, "I1 IDLE\r\n", 9);
		size_t n;
		char *l = line(r, &n);
		while (l[0] == '*')
			l = line(r, &n);
		if (l[0] != '+')
			die("IDLE: %s", l);
		g_idle_fds[i] = r->fd;
	}
	free(r);
	return NULL;
}

static void run_threads(void *(*fn)(void *), int n)
{
	pthread_t *th = calloc((size_t)n, sizeof *th);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], &attr, fn, (void *)(long)i) != 0)
			die("pthread_create");
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
}

int main(int argc, char **argv)
{
	if (argc < 7)
		die("usage: mraload imap|pop3|idle HOST PORT USER PASS N "
		    "[THREADS]");
	g_host = argv[2];
	g_port = (int)strtol(argv[3], NULL, 10);
	g_user = argv[4];
	g_pass = argv[5];
	int n = (int)strtol(argv[6], NULL, 10);
	if (n <= 0)
		die("bad count");
	double t0 = now();
	if (strcmp(argv[1], "imap") == 0) {
		run_threads(imap_client, n);
	} else if (strcmp(argv[1], "pop3") == 0) {
		run_threads(pop3_client, n);
	} else if (strcmp(argv[1], "idle") == 0) {
		int threads = argc > 7 ? (int)strtol(argv[7], NULL, 10) : 16;
		g_idle_n = n;
		g_idle_fds = calloc((size_t)n, sizeof *g_idle_fds);
		run_threads(idle_opener, threads > 0 ? threads : 1);
		printf("idling %d seconds=%.3f\n", n, now() - t0);
		fflush(stdout);
		char buf[64];
		while (read(0, buf, sizeof buf) > 0)
			;
		return 0;
	} else {
		die("unknown load %s", argv[1]);
	}
	printf("ok msgs=%llu bytes=%llu seconds=%.3f\n", g_msgs, g_bytes,
	       now() - t0);
	return 0;
}
