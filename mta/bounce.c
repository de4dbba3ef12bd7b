/*
 * Notification queueing (see bounce.h).
 */
#include "bounce.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "buf.h"
#include "queue.h"

#define BOUNCE_MAX   (64u * 1024 * 1024)
#define BOUNCE_TRIES 8

/* queue_new_id() is not thread-safe */
static pthread_mutex_t bounce_id_lock = PTHREAD_MUTEX_INITIALIZER;

/* Queues msg from sender to rcpt as a local submission stamped tv: a new
   queue ID (retried while taken), the envelope records, the message.
   never_notify adds NOTIFY=NEVER (a notification is never bounced).
   what names the message in *error_r. */
static int bounce_queue_local(const char *queue_dir, const struct timeval *tv,
			      const char *sender, const char *rcpt,
			      bool never_notify, const char *msg, size_t len,
			      char id_r[QUEUE_ID_LEN + 1], const char *what,
			      const char **error_r)
{
	struct queue_file *f = NULL;
	char t[64];
	for (int i = 0; i < BOUNCE_TRIES && f == NULL; i++) {
		pthread_mutex_lock(&bounce_id_lock);
		queue_new_id(id_r);
		pthread_mutex_unlock(&bounce_id_lock);
		f = queue_file_create(queue_dir, id_r, error_r);
		if (f == NULL && errno != EEXIST)
			break;
	}
	if (f == NULL)
		return -1;
	snprintf(t, sizeof(t), "%lld.%06ld", (long long)tv->tv_sec,
		 (long)tv->tv_usec);
	if (queue_file_record(f, 'T', t) < 0 ||
	    queue_file_record(f, 'S', sender) < 0 ||
	    queue_file_record(f, 'A', "client_name=localhost") < 0 ||
	    queue_file_record(f, 'A', "client_address=127.0.0.1") < 0 ||
	    queue_file_record(f, 'A', "protocol=local") < 0 ||
	    (never_notify && queue_file_record(f, 'N', "1") < 0) ||
	    queue_file_record(f, 'R', rcpt) < 0 ||
	    queue_file_begin_message(f) < 0 ||
	    queue_file_write(f, msg, len) < 0) {
		*error_r = what;
		queue_file_free(&f);
		return -1;
	}
	int rc = queue_file_commit(f, error_r);
	queue_file_free(&f);
	return rc;
}

int bounce_queue(const char *queue_dir, const char *hostname, size_t size_limit,
		 const struct qfile *qf, const struct bounce_to *to,
		 const struct dsn_rcpt *r, size_t n,
		 char id_r[QUEUE_ID_LEN + 1], const char **error_r)
{
	struct buf msg;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	struct dsn_report rep = {
	    .queue_id = qf->id,
	    .hostname = hostname,
	    .sender = qf->sender,
	    .to = to->rcpt,
	    .envid = qf->envid,
	    .ret = to->headers_only ? "HDRS" : qf->ret,
	    .arrival = (time_t)qf->arrival_sec,
	    .now = tv.tv_sec,
	    .msg = qf->msg,
	    .msg_len = qf->msg_len,
	    .size_limit = size_limit,
	    .rcpts = r,
	    .nrcpt = n,
	};
	buf_init(&msg, BOUNCE_MAX);
	if (dsn_build(&rep, &msg) < 0) {
		buf_deinit(&msg);
		*error_r = "notification too large";
		errno = EFBIG;
		return -1;
	}
	int rc = bounce_queue_local(queue_dir, &tv, to->sender, to->rcpt, true,
				    msg.p, msg.len, id_r, "write notification",
				    error_r);
	buf_deinit(&msg);
	return rc;
}

int bounce_queue_message(const char *queue_dir, const char *sender,
			 const char *rcpt, const char *msg, size_t len,
			 char id_r[QUEUE_ID_LEN + 1], const char **error_r)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return bounce_queue_local(queue_dir, &tv, sender, rcpt, false, msg, len,
				  id_r, "write message", error_r);
}
