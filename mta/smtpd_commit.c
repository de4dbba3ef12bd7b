/*
 * The end-of-data commit on the loop thread (issue 10).  The commit job
 * (smtpd.c commit_run) handed every message to a worker that wrote the
 * queue file's tail, renamed it into active/ and then slept in the shared
 * flush (syncgroup.h) before waking the loop: two or three thread
 * wake-ups per message and a worker held for the flush.  When nothing of
 * the commit can block but the flush — no end-of-data restrictions, no
 * kept message (milters, DKIM/SPF/DMARC checks, signing: s->msgbuf_on),
 * a queue directory that is the sync group's — the loop does the short
 * file system steps itself (queue_file_commit_start: the same writes and
 * the same rename) and takes a sync group ticket; once the loop has
 * handled the batch of events at hand (a 0 ms timer: timers run after
 * the I/O callbacks), it kicks the group's flusher thread, which runs (or
 * joins) the flush that covers every commit of that batch and wakes the
 * loop once per flush through an eventfd, and the sessions whose tickets
 * are covered get their reply in the order they asked.  No delay is
 * added: a lone commit is flushed at the end of the loop iteration that
 * made it.
 *
 * Nothing else changes: the 250 still waits for a flush that began after
 * the rename (docs/queue.md "Durability"), a failed flush is the same 451
 * and removes the file, and the reply is smtpd_commit_finish()'s either
 * way, so codes, texts and log lines are the worker path's.  While its
 * flush is pending the session is in S_WAIT with JOB_COMMIT, as with the
 * worker job: pipelined input waits, and a client that goes away leaves
 * the teardown to the flush's end (freed_pending).
 */
#include "smtpd_session.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "policy.h"
#include "restrict.h"
#include "syncgroup.h"

/* The flusher told the loop that flushes returned: every waiting session
   whose ticket is covered gets its reply, in ticket order. */
static void on_flushed(struct ev_io *io, int fd, unsigned events, void *ctx)
{
	(void)io;
	(void)fd;
	(void)events;
	struct smtpd_server *srv = ctx;
	syncgroup_async_drain();
	while (srv->commit_head != NULL) {
		struct session *s = srv->commit_head;
		int r = syncgroup_check(s->commit_ticket);
		if (r == 0)
			break; /* later tickets are not covered either */
		srv->commit_head = s->commit_next;
		if (srv->commit_head == NULL)
			srv->commit_tail = NULL;
		s->commit_next = NULL;
		s->job_rc = queue_file_commit_end(s->qf, r, &s->job_error);
		s->job_errno = s->job_rc < 0 ? errno : 0;
		smtpd_job_done(s);
	}
}

/* The loop handled its batch of events (timers run after them): the
   commits it made meanwhile go to one flush. */
static void on_kick(struct ev_timer *t, void *ctx)
{
	(void)t;
	struct smtpd_server *srv = ctx;
	srv->commit_kick_armed = false;
	syncgroup_kick();
}

bool smtpd_commit_loop(struct session *s)
{
	struct smtpd_server *srv = s->srv;
	if (s->msgbuf_on ||
	    (s->svc != SMTPD_SVC_PICKUP &&
	     restrict_count(s->pol->stage[RESTRICT_EOD]) > 0) ||
	    !queue_file_async_ok(s->qf))
		return false;
	if (srv->commit_io == NULL) {
		int fd = syncgroup_async_fd();
		if (fd < 0)
			return false;
		srv->commit_io =
		    ev_io_new(srv->loop, fd, EV_READ, on_flushed, srv);
		srv->commit_kick =
		    ev_timer_new(srv->loop, UINT64_MAX, on_kick, srv);
	}
	s->job_res = RESTRICT_DUNNO;
	s->job_rc = 0;
	s->job_errno = 0;
	if (s->tx.discard || s->cl_action == CLEANUP_DISCARD) {
		/* nothing to flush: the reply at once */
		smtpd_commit_finish(s);
		return true;
	}
	if (s->tx.hold || s->cl_action == CLEANUP_HOLD)
		queue_file_set_hold(s->qf);
	errno = 0;
	if (queue_file_commit_start(s->qf, &s->commit_ticket, &s->job_error) <
	    0) {
		s->job_rc = -1;
		s->job_errno = errno;
		smtpd_commit_finish(s);
		return true;
	}
	s->job = JOB_COMMIT;
	s->state = S_WAIT;
	s->commit_next = NULL;
	if (srv->commit_tail != NULL)
		srv->commit_tail->commit_next = s;
	else
		srv->commit_head = s;
	srv->commit_tail = s;
	if (!srv->commit_kick_armed) {
		srv->commit_kick_armed = true;
		ev_timer_set(srv->commit_kick, 0);
	}
	return true;
}
