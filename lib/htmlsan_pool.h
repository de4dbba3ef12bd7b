/*
 * lib/htmlsan in helper processes for a threaded daemon (docs/htmlsan.md
 * "Isolation").  htmlsan_html_isolated() forks per call, which is only
 * safe from a process without threads; youju-webmail serves requests on
 * threads.  A pool instead keeps a few long-lived sanitizer processes,
 * each a fresh exec of the daemon's own binary (posix_spawn of
 * /proc/self/exe with HTMLSAN_WORKER_ARG: no fork of a threaded process),
 * talking over a socketpair.  Each runs with RLIMIT_AS, a per-request
 * RLIMIT_CPU, no core and no file writes; a worker that crashes, times out
 * or sends garbage is killed and a new one is started on the next request,
 * and that call returns HTMLSAN_FAILED (the caller shows the text part).
 *
 * cid: images cannot be resolved by a callback in another process: the
 * caller passes the message's Content-ID -> URL table with the request.
 */
#ifndef YOUJU_HTMLSAN_POOL_H
#define YOUJU_HTMLSAN_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "htmlsan.h"

/* argv[1] of a sanitizer worker: the program's main() calls
   htmlsan_pool_worker(HTMLSAN_WORKER_FD) when it sees it. */
#define HTMLSAN_WORKER_ARG "--htmlsan-worker"
#define HTMLSAN_WORKER_FD  3

struct htmlsan_pool;

struct htmlsan_pool_opts {
	unsigned workers;    /* processes (1..16) */
	unsigned timeout_ms; /* wall clock per request */
	size_t memory_max;   /* RLIMIT_AS of a worker (bytes; 0: 1 GiB;
				not applied under ASan) */
	const char *exe;     /* NULL: /proc/self/exe */
};

/* One Content-ID (without angle brackets) and the URL its image gets. */
struct htmlsan_cid {
	const char *id;
	size_t id_len;
	const char *url;
	size_t url_len;
};

/*
 * Starts the workers (call after the privilege drop: they inherit the
 * credentials).  Returns the pool, or NULL with *error_r.
 */
struct htmlsan_pool *htmlsan_pool_start(const struct htmlsan_pool_opts *o,
					const char **error_r);
/* Kills the workers and frees the pool.  NULL-safe; no call may be in
   progress. */
void htmlsan_pool_stop(struct htmlsan_pool **p);

/*
 * htmlsan_html(in, len, o, out, r) in a worker: o's allow_remote, wrap
 * and limits are used, its cid callback is replaced by the table cids
 * (an id not in it drops the image).  Thread-safe; blocks while every
 * worker is busy.  Returns as htmlsan_html(), or HTMLSAN_FAILED when the
 * worker crashed, timed out or could not be started (it is replaced).
 */
int htmlsan_pool_html(struct htmlsan_pool *p, const char *in, size_t len,
		      const struct htmlsan_opts *o,
		      const struct htmlsan_cid *cids, size_t ncids,
		      struct buf *out, struct htmlsan_report *r);

/* The worker's main loop on fd: serves requests until EOF.  Returns the
   exit status. */
int htmlsan_pool_worker(int fd);

/* For the tests: the process id of worker i, or -1 (none running). */
pid_t htmlsan_pool_pid(struct htmlsan_pool *p, unsigned i);

#endif
