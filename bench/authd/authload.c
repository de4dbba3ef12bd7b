/*
 * authload: a load generator for courier's authdaemond protocol, used by
 * bench/authd/run.sh to drive youju-authd and courier's authdaemond alike.
 * C client threads each send one `AUTH n` login request per connection (the
 * wire format of reference/authd-protocol.md §2.2, as Cyrus SASL and Courier
 * imapd send it) and read the reply until the server closes, cycling
 * through the users of a file so that every account is looked up.  Requests
 * that start during the warm-up are not counted.  It prints one line:
 *
 *   ok=N fail=N err=N secs=S rate=R p50_us=U p90_us=U p99_us=U max_us=U
 *
 * ok is a reply ending in `.` with a UID line, fail is `FAIL`, err is
 * anything else (a temporary failure, a refused connection, a timeout).
 * The rate and the percentiles count ok replies only.  Not part of the main
 * build: run.sh compiles it with `cc -O2 -lpthread`.
 *
 *   authload -s SOCKET -u USERFILE [-c CLIENTS] [-d SECONDS] [-w WARMUP]
 *            [-S SERVICE]
 *
 * USERFILE holds `login<TAB>password` lines.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define AUTHLOAD_REPLY_MAX   8192
#define AUTHLOAD_REQ_MAX     1024
#define AUTHLOAD_USERS_MAX   100000
#define AUTHLOAD_CLIENTS_MAX 1024

struct authload_req {
	char *data;
	size_t len;
};

struct authload_thread {
	pthread_t tid;
	size_t first;  /* index of the first user this thread asks for */
	uint64_t *lat; /* ok latencies in ns, measured window only */
	size_t nlat, caplat;
	uint64_t fail, err;
	uint64_t last_end;
	bool oom;
};

static struct sockaddr_un authload_addr;
static struct authload_req *authload_reqs;
static size_t authload_nreqs;
static uint64_t authload_t_warm, authload_t_stop;

static uint64_t authload_now(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) {
		perror("authload: clock_gettime");
		exit(2);
	}
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int authload_parse_uint(const char *s, unsigned long max,
			       unsigned long *r)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-')
		return -1;
	*r = v;
	return 0;
}

static int authload_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One request: 1 ok, 0 FAIL, -1 error (no usable reply). */
static int authload_one(const struct authload_req *rq)
{
	char reply[AUTHLOAD_REPLY_MAX];
	size_t got = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = 30, .tv_usec = 0};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (const struct sockaddr *)&authload_addr,
		    sizeof(authload_addr)) < 0 ||
	    authload_write_all(fd, rq->data, rq->len) < 0) {
		close(fd);
		return -1;
	}
	for (;;) {
		if (got == sizeof(reply)) {
			close(fd);
			return -1;
		}
		ssize_t n = read(fd, reply + got, sizeof(reply) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (close(fd) < 0)
		return -1;
	if (got == 5 && memcmp(reply, "FAIL\n", 5) == 0)
		return 0;
	if (got >= 6 && memcmp(reply, "UID=", 4) == 0 &&
	    memcmp(reply + got - 3, "\n.\n", 3) == 0)
		return 1;
	return -1;
}

static void *authload_run(void *arg)
{
	struct authload_thread *t = arg;
	size_t i = t->first;
	for (;;) {
		uint64_t t0 = authload_now();
		if (t0 >= authload_t_stop)
			break;
		int r = authload_one(&authload_reqs[i]);
		uint64_t t1 = authload_now();
		i = (i + 1) % authload_nreqs;
		if (t0 < authload_t_warm)
			continue;
		t->last_end = t1;
		if (r == 0) {
			t->fail++;
			continue;
		}
		if (r < 0) {
			t->err++;
			continue;
		}
		if (t->nlat == t->caplat) {
			size_t ncap = t->caplat == 0 ? 65536 : t->caplat * 2;
			uint64_t *p = realloc(t->lat, ncap * sizeof(*p));
			if (p == NULL) {
				t->oom = true;
				break;
			}
			t->lat = p;
			t->caplat = ncap;
		}
		t->lat[t->nlat++] = t1 - t0;
	}
	return NULL;
}

static int authload_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Builds one AUTH request per `login<TAB>password` line of path. */
static int authload_load_users(const char *path, const char *service)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	char line[512];
	authload_reqs = calloc(AUTHLOAD_USERS_MAX, sizeof(*authload_reqs));
	if (authload_reqs == NULL) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL &&
	       authload_nreqs < AUTHLOAD_USERS_MAX) {
		size_t len = strcspn(line, "\n");
		line[len] = '\0';
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		char body[AUTHLOAD_REQ_MAX], req[AUTHLOAD_REQ_MAX];
		int n = snprintf(body, sizeof(body), "%s\nlogin\n%s\n%s\n",
				 service, line, tab + 1);
		if (n < 0 || (size_t)n >= sizeof(body))
			continue;
		int m = snprintf(req, sizeof(req), "AUTH %d\n%s", n, body);
		if (m < 0 || (size_t)m >= sizeof(req))
			continue;
		struct authload_req *rq = &authload_reqs[authload_nreqs];
		rq->data = malloc((size_t)m);
		if (rq->data == NULL) {
			fclose(f);
			return -1;
		}
		memcpy(rq->data, req, (size_t)m);
		rq->len = (size_t)m;
		authload_nreqs++;
	}
	if (ferror(f) || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return authload_nreqs > 0 ? 0 : -1;
}

static void authload_usage(void)
{
	fputs("usage: authload -s SOCKET -u USERFILE [-c CLIENTS] "
	      "[-d SECONDS] [-w WARMUP] [-S SERVICE]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *users = NULL, *service = "imap";
	unsigned long clients = 32, secs = 10, warm = 2;
	int opt;
	while ((opt = getopt(argc, argv, "s:u:c:d:w:S:")) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'u':
			users = optarg;
			break;
		case 'S':
			service = optarg;
			break;
		case 'c':
			if (authload_parse_uint(optarg, AUTHLOAD_CLIENTS_MAX,
						&clients) < 0 ||
			    clients == 0)
				authload_usage();
			break;
		case 'd':
			if (authload_parse_uint(optarg, 3600, &secs) < 0 ||
			    secs == 0)
				authload_usage();
			break;
		case 'w':
			if (authload_parse_uint(optarg, 3600, &warm) < 0)
				authload_usage();
			break;
		default:
			authload_usage();
		}
	}
	if (sock == NULL || users == NULL)
		authload_usage();
	authload_addr.sun_family = AF_UNIX;
	int n = snprintf(authload_addr.sun_path, sizeof(authload_addr.sun_path),
			 "%s", sock);
	if (n < 0 || (size_t)n >= sizeof(authload_addr.sun_path)) {
		fprintf(stderr, "authload: socket path too long\n");
		return 2;
	}
	if (authload_load_users(users, service) < 0) {
		fprintf(stderr, "authload: no usable users in %s\n", users);
		return 2;
	}

	struct authload_thread *th = calloc(clients, sizeof(*th));
	if (th == NULL)
		return 2;
	uint64_t start = authload_now();
	authload_t_warm = start + (uint64_t)warm * 1000000000u;
	authload_t_stop = authload_t_warm + (uint64_t)secs * 1000000000u;
	for (size_t i = 0; i < clients; i++) {
		th[i].first = i * authload_nreqs / clients;
		int e = pthread_create(&th[i].tid, NULL, authload_run, &th[i]);
		if (e != 0) {
			fprintf(stderr, "authload: pthread_create: %s\n",
				strerror(e));
			return 2;
		}
	}
	size_t total = 0;
	uint64_t fail = 0, err = 0, end = authload_t_warm;
	bool oom = false;
	for (size_t i = 0; i < clients; i++) {
		int e = pthread_join(th[i].tid, NULL);
		if (e != 0) {
			fprintf(stderr, "authload: pthread_join: %s\n",
				strerror(e));
			return 2;
		}
		total += th[i].nlat;
		fail += th[i].fail;
		err += th[i].err;
		oom |= th[i].oom;
		if (th[i].last_end > end)
			end = th[i].last_end;
	}
	if (oom) {
		fprintf(stderr, "authload: out of memory\n");
		return 2;
	}
	uint64_t *all = malloc((total > 0 ? total : 1) * sizeof(*all));
	if (all == NULL)
		return 2;
	size_t k = 0;
	for (size_t i = 0; i < clients; i++) {
		if (th[i].nlat > 0)
			memcpy(all + k, th[i].lat, th[i].nlat * sizeof(*all));
		k += th[i].nlat;
		free(th[i].lat);
	}
	qsort(all, total, sizeof(*all), authload_cmp);
	double span = (double)(end - authload_t_warm) / 1e9;
	if (span <= 0)
		span = (double)secs;
	uint64_t p50 = 0, p90 = 0, p99 = 0, max = 0;
	if (total > 0) {
		p50 = all[(total - 1) * 50 / 100];
		p90 = all[(total - 1) * 90 / 100];
		p99 = all[(total - 1) * 99 / 100];
		max = all[total - 1];
	}
	printf("ok=%zu fail=%llu err=%llu secs=%.2f rate=%.1f p50_us=%llu "
	       "p90_us=%llu p99_us=%llu max_us=%llu\n",
	       total, (unsigned long long)fail, (unsigned long long)err, span,
	       (double)total / span, (unsigned long long)(p50 / 1000),
	       (unsigned long long)(p90 / 1000),
	       (unsigned long long)(p99 / 1000),
	       (unsigned long long)(max / 1000));
	free(all);
	free(th);
	for (size_t i = 0; i < authload_nreqs; i++)
		free(authload_reqs[i].data);
	free(authload_reqs);
	return 0;
}
