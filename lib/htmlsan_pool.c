/*
 * A pool of sanitizer processes (htmlsan_pool.h, docs/htmlsan.md
 * "Isolation").
 *
 * Wire format over the socketpair (both ends are this same binary, so
 * native byte order and struct layout): a request is struct pool_req, then
 * ncid entries (u32 id length, u32 URL length, the bytes), then the HTML;
 * a reply is struct pool_rep, then the output bytes.  A worker exits by
 * itself (rep.exiting) when its CPU time nears the hard limit; the pool
 * then starts a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "htmlsan_pool.h"
#include "xalloc.h"

extern char **environ;

#define POOL_MAGIC	 0x79686d6cu /* "yhml" */
#define POOL_WORKERS_MAX 16
#define POOL_HTML_MAX	 (64u << 20)
#define POOL_CIDS_MAX	 (64u << 20)
#define POOL_CID_N_MAX	 4096
#define POOL_OUT_MAX	 (256u << 20)
#define POOL_CPU_HARD	 600 /* seconds of CPU in a worker's life */
#define POOL_FD_MIN	 10  /* socket fds are kept above stdio and 3 */

struct pool_req {
	uint32_t magic;
	uint32_t flags; /* 1: allow_remote, 2: wrap */
	uint32_t depth_max, nodes_max;
	uint64_t in_max, out_max;
	uint32_t cpu_s, ncid;
	uint64_t cid_bytes, html_len;
};

struct pool_rep {
	uint32_t magic;
	int32_t rc;
	uint32_t exiting;
	uint32_t pad;
	struct htmlsan_report r;
	uint64_t len;
};

struct slot {
	pid_t pid; /* -1: none */
	int fd;
	bool busy;
};

struct htmlsan_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned n;
	struct slot slots[POOL_WORKERS_MAX];
	unsigned timeout_ms;
	size_t memory_max;
	char *exe;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- I/O with a deadline (deadline < 0: none) ---- */

static int io_wait(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - mono_ms();
			if (left <= 0)
				return -1;
			t = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		struct pollfd pf = {fd, ev, 0};
		int n = poll(&pf, 1, t);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		return 0;
	}
}

static int send_all(int fd, const void *p, size_t n, int64_t deadline)
{
	const char *c = p;
	while (n > 0) {
		if (io_wait(fd, POLLOUT, deadline) < 0)
			return -1;
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_all(int fd, void *p, size_t n, int64_t deadline)
{
	char *c = p;
	while (n > 0) {
		if (io_wait(fd, POLLIN, deadline) < 0)
			return -1;
		ssize_t r = recv(fd, c, n, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* ---- the worker ---- */

struct cid_table {
	const struct htmlsan_cid *c;
	size_t n;
};

static int table_cid(void *ctx, const char *cid, size_t len, struct buf *url)
{
	const struct cid_table *t = ctx;
	for (size_t i = 0; i < t->n; i++)
		if (t->c[i].id_len == len && memcmp(t->c[i].id, cid, len) == 0)
			return buf_append(url, t->c[i].url, t->c[i].url_len);
	return -1;
}

/* Sets the CPU soft limit to what is used plus budget; false when the
   worker's life budget is spent (it should exit). */
static bool cpu_budget(unsigned budget)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return false;
	rlim_t used = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1;
	if (used + budget >= POOL_CPU_HARD)
		return false;
	struct rlimit rl = {used + budget, POOL_CPU_HARD};
	return setrlimit(RLIMIT_CPU, &rl) == 0;
}

static int serve_one(int fd, bool *exiting)
{
	struct pool_req q;
	if (recv_all(fd, &q, sizeof q, -1) < 0)
		return -1; /* EOF: the pool is gone */
	if (q.magic != POOL_MAGIC || q.html_len > POOL_HTML_MAX ||
	    q.cid_bytes > POOL_CIDS_MAX || q.ncid > POOL_CID_N_MAX ||
	    q.out_max > POOL_OUT_MAX)
		return -1;
	char *cb = xmalloc(q.cid_bytes + 1);
	char *html = xmalloc(q.html_len + 1);
	struct htmlsan_cid *cids = xcalloc(q.ncid + 1, sizeof *cids);
	int rc = -1;
	if (recv_all(fd, cb, q.cid_bytes, -1) < 0 ||
	    recv_all(fd, html, q.html_len, -1) < 0)
		goto out;
	size_t off = 0;
	for (uint32_t i = 0; i < q.ncid; i++) {
		uint32_t l[2];
		if (q.cid_bytes - off < sizeof l)
			goto out;
		memcpy(l, cb + off, sizeof l);
		off += sizeof l;
		if (q.cid_bytes - off < (uint64_t)l[0] + l[1])
			goto out;
		cids[i].id = cb + off;
		cids[i].id_len = l[0];
		cids[i].url = cb + off + l[0];
		cids[i].url_len = l[1];
		off += (size_t)l[0] + l[1];
	}
	*exiting = !cpu_budget(q.cpu_s);
	struct cid_table t = {cids, q.ncid};
	struct htmlsan_opts o = {.allow_remote = (q.flags & 1) != 0,
				 .wrap = (q.flags & 2) != 0,
				 .cid_url = table_cid,
				 .cid_ctx = &t,
				 .in_max = (size_t)q.in_max,
				 .depth_max = q.depth_max,
				 .nodes_max = q.nodes_max};
	struct buf b;
	buf_init(&b, (size_t)q.out_max);
	struct pool_rep rep = {.magic = POOL_MAGIC};
	rep.rc = htmlsan_html(html, (size_t)q.html_len, &o, &b, &rep.r);
	rep.len = b.len;
	rep.exiting = *exiting;
	rc = send_all(fd, &rep, sizeof rep, -1) < 0 ||
		     send_all(fd, b.p != NULL ? b.p : "", b.len, -1) < 0
		 ? -1
		 : 0;
	buf_deinit(&b);
out:
	free(cids);
	free(html);
	free(cb);
	return rc;
}

int htmlsan_pool_worker(int fd)
{
	/* nothing of the daemon's but the socket: no listening socket, no
	   log, no Maildir */
	for (int i = 0; i < 1024; i++)
		if (i != fd && i > 2)
			(void)close(i);
	(void)setpgid(0, 0);
	(void)signal(SIGPIPE, SIG_IGN);
	struct rlimit zero = {0, 0};
	(void)setrlimit(RLIMIT_CORE, &zero);
	(void)setrlimit(RLIMIT_FSIZE, &zero);
	const char *m = getenv("YOUJU_HTMLSAN_AS");
	size_t as = m != NULL ? (size_t)strtoull(m, NULL, 10) : 0;
#if !defined(__SANITIZE_ADDRESS__)
	/* ASan reserves terabytes of shadow address space */
	struct rlimit rl = {as != 0 ? as : 1024ul << 20,
			    as != 0 ? as : 1024ul << 20};
	(void)setrlimit(RLIMIT_AS, &rl);
#else
	(void)as;
#endif
	for (;;) {
		bool exiting = false;
		if (serve_one(fd, &exiting) < 0 || exiting)
			return 0;
	}
}

/* ---- the pool ---- */

static void slot_kill(struct slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->pid > 0) {
		(void)kill(s->pid, SIGKILL);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	s->pid = -1;
}

static int slot_spawn(struct htmlsan_pool *p, struct slot *s)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	/* keep both ends off the numbers the child's dup2 uses */
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= POOL_FD_MIN)
			continue;
		int d = fcntl(sv[i], F_DUPFD_CLOEXEC, POOL_FD_MIN);
		close(sv[i]);
		sv[i] = d;
	}
	if (sv[0] < 0 || sv[1] < 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		if (sv[1] >= 0)
			close(sv[1]);
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], HTMLSAN_WORKER_FD);
	/* nothing of the parent's stdio (a pipe someone waits on to close) */
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
	posix_spawn_file_actions_adddup2(&fa, 0, 1);
	posix_spawn_file_actions_adddup2(&fa, 0, 2);
	char asv[64];
	snprintf(asv, sizeof asv, "YOUJU_HTMLSAN_AS=%zu", p->memory_max);
	size_t ne = 0;
	while (environ[ne] != NULL)
		ne++;
	char **env = xcalloc(ne + 2, sizeof *env);
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "YOUJU_HTMLSAN_AS=", 17) != 0)
			env[k++] = environ[i];
	env[k++] = asv;
	char *argv[] = {p->exe, (char *)HTMLSAN_WORKER_ARG, NULL};
	pid_t pid;
	int e = posix_spawn(&pid, p->exe, &fa, NULL, argv, env);
	free(env);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (e != 0) {
		close(sv[0]);
		errno = e;
		return -1;
	}
	s->pid = pid;
	s->fd = sv[0];
	return 0;
}

struct htmlsan_pool *htmlsan_pool_start(const struct htmlsan_pool_opts *o,
					const char **error_r)
{
	if (o->workers == 0 || o->workers > POOL_WORKERS_MAX) {
		*error_r = "workers must be 1..16";
		return NULL;
	}
	struct htmlsan_pool *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->n = o->workers;
	p->timeout_ms = o->timeout_ms != 0 ? o->timeout_ms : 5000;
	p->memory_max = o->memory_max != 0 ? o->memory_max : 1024ul << 20;
	p->exe = xstrdup(o->exe != NULL ? o->exe : "/proc/self/exe");
	for (unsigned i = 0; i < p->n; i++) {
		p->slots[i].pid = -1;
		p->slots[i].fd = -1;
	}
	for (unsigned i = 0; i < p->n; i++)
		if (slot_spawn(p, &p->slots[i]) < 0) {
			*error_r = "cannot start a sanitizer process";
			htmlsan_pool_stop(&p);
			return NULL;
		}
	return p;
}

void htmlsan_pool_stop(struct htmlsan_pool **pp)
{
	struct htmlsan_pool *p = *pp;
	if (p == NULL)
		return;
	*pp = NULL;
	for (unsigned i = 0; i < p->n; i++)
		slot_kill(&p->slots[i]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->exe);
	free(p);
}

pid_t htmlsan_pool_pid(struct htmlsan_pool *p, unsigned i)
{
	pthread_mutex_lock(&p->mu);
	pid_t pid = i < p->n ? p->slots[i].pid : -1;
	pthread_mutex_unlock(&p->mu);
	return pid;
}

/* One request on a live worker into *rc_r; false when it failed in any
   way. */
static bool exchange(struct htmlsan_pool *p, struct slot *s, const char *in,
		     size_t len, const struct htmlsan_opts *o,
		     const struct htmlsan_cid *cids, size_t ncids,
		     struct buf *out, struct htmlsan_report *r, int *rc_r,
		     bool *exiting)
{
	int64_t deadline = mono_ms() + p->timeout_ms;
	struct buf cb;
	buf_init(&cb, POOL_CIDS_MAX);
	for (size_t i = 0; i < ncids && i < POOL_CID_N_MAX; i++) {
		uint32_t l[2] = {(uint32_t)cids[i].id_len,
				 (uint32_t)cids[i].url_len};
		size_t mark = cb.len;
		if (cids[i].id_len > UINT32_MAX ||
		    cids[i].url_len > UINT32_MAX ||
		    buf_append(&cb, l, sizeof l) < 0 ||
		    buf_append(&cb, cids[i].id, cids[i].id_len) < 0 ||
		    buf_append(&cb, cids[i].url, cids[i].url_len) < 0) {
			buf_truncate(&cb, mark);
			ncids = i;
			break;
		}
	}
	size_t room = out->max > out->len ? out->max - out->len : 0;
	struct pool_req q = {
	    .magic = POOL_MAGIC,
	    .flags = (o != NULL && o->allow_remote ? 1u : 0u) |
		     (o != NULL && o->wrap ? 2u : 0u),
	    .depth_max = o != NULL ? o->depth_max : 0,
	    .nodes_max = o != NULL ? o->nodes_max : 0,
	    .in_max = o != NULL ? o->in_max : 0,
	    .out_max = room < POOL_OUT_MAX ? room : POOL_OUT_MAX,
	    .cpu_s = p->timeout_ms / 1000 + 1,
	    .ncid = (uint32_t)(ncids < POOL_CID_N_MAX ? ncids : POOL_CID_N_MAX),
	    .cid_bytes = cb.len,
	    .html_len = len,
	};
	bool ok = false;
	struct pool_rep rep;
	if (len > POOL_HTML_MAX ||
	    send_all(s->fd, &q, sizeof q, deadline) < 0 ||
	    send_all(s->fd, cb.p != NULL ? cb.p : "", cb.len, deadline) < 0 ||
	    send_all(s->fd, in, len, deadline) < 0 ||
	    recv_all(s->fd, &rep, sizeof rep, deadline) < 0 ||
	    rep.magic != POOL_MAGIC || rep.len > q.out_max)
		goto out;
	size_t mark = out->len;
	char chunk[65536];
	for (uint64_t left = rep.len; left > 0;) {
		size_t n = left < sizeof chunk ? (size_t)left : sizeof chunk;
		if (recv_all(s->fd, chunk, n, deadline) < 0 ||
		    buf_append(out, chunk, n) < 0) {
			buf_truncate(out, mark);
			goto out;
		}
		left -= n;
	}
	if (rep.rc != HTMLSAN_OK && rep.rc != HTMLSAN_TOO_BIG &&
	    rep.rc != HTMLSAN_TOO_COMPLEX) {
		buf_truncate(out, mark);
		goto out;
	}
	*r = rep.r;
	*exiting = rep.exiting != 0;
	*rc_r = rep.rc;
	ok = true;
out:
	buf_deinit(&cb);
	return ok;
}

int htmlsan_pool_html(struct htmlsan_pool *p, const char *in, size_t len,
		      const struct htmlsan_opts *o,
		      const struct htmlsan_cid *cids, size_t ncids,
		      struct buf *out, struct htmlsan_report *r)
{
	struct htmlsan_report dummy;
	if (r == NULL)
		r = &dummy;
	memset(r, 0, sizeof *r);
	pthread_mutex_lock(&p->mu);
	struct slot *s = NULL;
	for (;;) {
		for (unsigned i = 0; i < p->n && s == NULL; i++)
			if (!p->slots[i].busy)
				s = &p->slots[i];
		if (s != NULL)
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	s->busy = true;
	pthread_mutex_unlock(&p->mu);

	/* a worker that exited by itself (CPU budget) is reaped here */
	if (s->pid > 0 && waitpid(s->pid, NULL, WNOHANG) == s->pid) {
		s->pid = -1;
		slot_kill(s);
	}
	int rc = HTMLSAN_FAILED;
	bool exiting = false;
	if (s->pid > 0 || slot_spawn(p, s) == 0) {
		if (!exchange(p, s, in, len, o, cids, ncids, out, r, &rc,
			      &exiting)) {
			rc = HTMLSAN_FAILED;
			memset(r, 0, sizeof *r);
		}
		/* a failed worker is killed; the next request starts
		   another (never a restart loop within one request) */
		if (rc == HTMLSAN_FAILED || exiting)
			slot_kill(s);
	}

	pthread_mutex_lock(&p->mu);
	s->busy = false;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return rc;
}
