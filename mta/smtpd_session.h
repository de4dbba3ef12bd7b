/*
 * The inside of an SMTP session, shared by smtpd.c (connection, commands,
 * restrictions, worker jobs) and smtpd_data.c (DATA: the message into the
 * queue file, cleanup's header work, header_checks and body_checks).  Not
 * an interface for other modules: smtpd.h is.
 */
#ifndef MTA_SMTPD_SESSION_H
#define MTA_SMTPD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/time.h>

#include "buf.h"
#include "cleanup.h"
#include "dir.h"
#include "net.h"
#include "queue.h"
#include "restrict.h"
#include "sasl.h"
#include "smtp_parse.h"
#include "smtpd.h"
#include "str.h"
#include "tls.h"

enum sstate {
	S_HANDSHAKE, /* TLS handshake (SMTPS, or after STARTTLS) */
	S_COMMAND,   /* reading commands */
	S_AUTH,	     /* reading an AUTH continuation line */
	S_DATA,	     /* reading the message */
	S_WAIT,	     /* a worker job runs; reading paused */
	S_STARTTLS,  /* "220 Ready to start TLS" being flushed */
	S_CLOSING,   /* flushing the last reply, then free */
	S_SLEEP,     /* smtpd_error_sleep_time before the next reply */
};

struct rcpt {
	char addr[SMTP_ADDR_MAX + 1];
	char orcpt[SMTP_ORCPT_MAX + 1];
	unsigned notify;
};

enum job_kind {
	JOB_NONE,
	JOB_CONNECT, /* the client's name; client restrictions (no delay) */
	JOB_HELO,    /* helo restrictions (smtpd_delay_reject = no) */
	JOB_MAIL,    /* sender restrictions (smtpd_delay_reject = no) */
	JOB_RCPT,
	JOB_RCPT_CHECK, /* the RCPT restrictions alone (smtpd_rcpt.c) */
	JOB_SASL,
	JOB_COMMIT,
	JOB_DATA,
	JOB_VRFY, /* VRFY on the pickup socket (sendmail -bv) */
};

/* Longest client host name kept (RFC 1035 2.3.4). */
#define SMTPD_NAME_MAX 255

/* What the restrictions left for the transaction (access map actions). */
struct tx_flags {
	bool discard, hold;
	size_t nprepend;
	char prepend[RESTRICT_PREPEND_MAX][RESTRICT_REPLY_MAX];
};

struct session {
	struct smtpd_server *srv;
	struct smtpd_policy *pol; /* the policy this session started with */
	bool anvil_counted;
	struct peername_wait *pn_wait; /* the name lookup in flight */
	bool ill_pipelining;	       /* reject_unauth_pipelining */
	bool sleep_pending;	  /* delay the replies (soft error limit) */
	uint64_t auth_penalty_ms; /* delay the 535 (authd's penalty) */
	enum smtpd_service svc;
	enum sstate state;
	int fd;
	struct ev_io *io;
	struct ev_timer *timer;
	struct tls_conn *tls;
	unsigned tls_want;
	/* I/O without wasted system calls (smtpd.c, session_run): the
	   last read emptied the socket, so the next one waits for the
	   poll; the loop called us; the interest last set */
	bool drained, polled;
	unsigned io_ev;
	bool tls_on, hs_done;
	struct buf in, out;
	bool skipping;
	bool freed_pending; /* teardown waits for the worker */

	char addr[NET_ADDR_MAX];
	char name[SMTPD_NAME_MAX + 1];	   /* forward-confirmed, or "unknown" */
	char ptr_name[SMTPD_NAME_MAX + 1]; /* the PTR name, or "" */
	int name_dns, ptr_dns; /* 1 + enum dns_status of the lookups */
	char helo[SMTPD_HELO_MAX + 1];
	bool have_helo, esmtp;
	bool mynetworks;
	/* pickup (the sendmail command): the peer's SO_PEERCRED */
	unsigned long peer_uid;
	char peer_user[64];
	/* local_login_sender_maps allowed the envelope sender by name
	   (not by "*"): one condition of signing an ordinary user's mail */
	bool login_listed;

	struct mta_sasl *sasl;
	char sasl_mech[32];
	char *sasl_user;
	bool authenticated;

	/* the mail transaction */
	bool have_mail;
	struct smtp_mail mail;
	struct rcpt *rcpts;
	size_t nrcpt, rcpt_cap;
	char id[QUEUE_ID_LEN + 1];
	struct queue_file *qf;
	struct timeval arrival;

	/* restrictions and cleanup */
	struct restrict_ctx rc;
	enum restrict_result job_res;
	char job_reply[RESTRICT_REPLY_MAX];
	struct tx_flags tx;
	/* smtpd_delay_reject = no: what the connect and HELO stages left
	   (tx starts from early), and their pending defer_if_permit */
	bool access_denied; /* the client stage rejected at connect */
	char deny_reply[RESTRICT_REPLY_MAX];
	struct tx_flags early;
	bool sess_defer, tx_defer; /* client+helo stages; MAIL stage */
	char sess_defer_reply[RESTRICT_REPLY_MAX];
	char tx_defer_reply[RESTRICT_REPLY_MAX];
	const char *log_helo; /* the HELO name being checked, for the log */
	struct buf hdr;	      /* the logical header being read */
	bool hdr_truncated;
	enum cleanup_action cl_action; /* REJECT, DISCARD, HOLD seen */
	char cl_text[CLEANUP_TEXT_MAX + 1];

	/* the message kept in memory until the end of data, for the From:
	   sender check and DKIM signing (authenticated and local senders) */
	bool msgbuf_on;
	struct buf msgbuf;
	bool milter_reject; /* logged as Postfix's "milter-reject:" */

	/* DATA */
	bool line_start, prev_crlf, in_header, too_big, write_err;
	bool seen_msgid, seen_date, seen_from;
	char msgid[256];

	/* counts for the disconnect line */
	unsigned total[SMTP_VERB_COUNT], ok[SMTP_VERB_COUNT];
	unsigned errors;
	enum smtp_verb last_verb;

	/* the worker job in flight (JOB_RCPT also while the loop waits for
	   youju-authd: rcpt_req, smtpd_rcpt.c) */
	enum job_kind job;
	struct authc_async_req *rcpt_req;
	bool no_block; /* smtpd_ctx_fill: evaluate without blocking */
	struct smtp_rcpt job_rcpt;
	char job_helo[SMTPD_HELO_MAX + 1];
	bool job_esmtp;
	enum dir_rcpt job_dir;
	bool job_full; /* the mailbox is over quota (smtpd_reject_over_quota) */
	char *job_in;
	unsigned job_inlen;
	bool job_start;
	enum mta_sasl_status job_sasl;
	char *job_out;
	unsigned job_outlen;
	int job_rc, job_errno;
	const char *job_error;
	/* JOB_COMMIT on the loop (smtpd_commit.c): the flush it waits for,
	   and the next session waiting in srv's list */
	uint64_t commit_ticket;
	struct session *commit_next;
};

/* ------------------------------------------------------ smtpd.c helpers */

/* Queues one reply line (CRLF added); a full output buffer closes. */
__attribute__((format(printf, 2, 3))) void smtpd_reply(struct session *s,
						       const char *fmt, ...);
/* The same for a 4xx/5xx reply: counts towards the error limits. */
__attribute__((format(printf, 2, 3))) void
smtpd_reply_err(struct session *s, const char *fmt, ...);
/* Closes after the queued replies (or after the job in flight). */
void smtpd_session_close(struct session *s);
/* Forgets MAIL, RCPTs and the queue file of the transaction. */
void smtpd_transaction_reset(struct session *s);
/* "ESMTPSA" and friends (RFC 3848) for Received: and the queue file. */
const char *smtpd_proto_name(const struct session *s);
/* The command as Postfix names it in "lost connection after X". */
const char *smtpd_verb_log(const struct session *s);
/* Postfix's "ID: reject: CMD from host[ip]: reply; from=<> to=<> ..." */
void smtpd_log_reject(struct session *s, const char *cmd, const char *rep,
		      const char *to);
/* Logs the restriction events (warn_if_reject, DISCARD, HOLD) kept in
   s->rc and clears them. */
void smtpd_log_events(struct session *s, const char *cmd, const char *to);
/* Runs a job in the worker pool; false when the pool refused it. */
bool smtpd_job_submit(struct session *s, enum job_kind kind);
/* A job done on the loop's behalf (not in the pool) has its result:
   what the pool's completion does (the reply, or the teardown of a
   session that went away meanwhile).  From loop callbacks only. */
void smtpd_job_done(struct session *s);
/* After a job's reply (s back in S_COMMAND): the error sleep or the idle
   timer, then the session goes on with its input.  From loop callbacks
   only, never from inside a command. */
void smtpd_session_resume(struct session *s);
/* The refusal of a RCPT whose check could not start (the worker pool or
   the youju-authd queue is full): 451, not logged. */
void smtpd_rcpt_busy(struct session *s);

/* ------------------------------------------------------- smtpd_check.c */

/* Fills s->rc for a restriction list (rcpt: "" when none), with the
   client name found at connect. */
void smtpd_ctx_fill(struct session *s, const char *rcpt);
/* Evaluates the stages in order; the first reject ends it, then a
   pending defer_if_permit (worker).  The reply goes to s->job_reply. */
enum restrict_result smtpd_run_stages(struct session *s,
				      const enum restrict_stage *st, size_t n);
/* Worker: the restrictions of RCPT (after the directory lookup, whose
   result is in s->job_dir), of the connection (the client's name, then
   the client list with smtpd_delay_reject = no), and of HELO/EHLO
   (s->job_helo) or MAIL (s->mail) with smtpd_delay_reject = no. */
void smtpd_rcpt_check(struct session *s);
void smtpd_connect_check(struct session *s);
void smtpd_early_check(struct session *s, enum restrict_stage stage);
/* Keeps what a stage left in s->rc (access map flags into f, a pending
   defer_if_permit into *defer and defer_reply) for later commands. */
void smtpd_early_keep(struct session *s, struct tx_flags *f, bool *defer,
		      char *defer_reply);
/* Adds s->rc's access map flags to the transaction. */
void smtpd_tx_merge(struct session *s);
/* The RCPT reply once JOB_RCPT is done. */
void smtpd_rcpt_finish(struct session *s);

/* -------------------------------------------------------- smtpd_rcpt.c */

/* RCPT after the syntax and the recipient limit: on the loop thread when
   the policy allows it (rcpt_on_loop: youju-authd asked asynchronously,
   the restrictions run without blocking), else JOB_RCPT in a worker. */
void smtpd_rcpt_start(struct session *s);
/* The session goes away: forgets a youju-authd lookup in flight (s->job
   becomes JOB_NONE).  True when there was one. */
bool smtpd_rcpt_cancel(struct session *s);

/* -------------------------------------------------------- smtpd_data.c */

/* After "354": creates the queue file with the envelope and Received:.
   False (logged) when it cannot be written. */
bool smtpd_data_start(struct session *s);
/* Commit job (worker): the queue file made again from the session's
   (changed) envelope, same ID and arrival time, before the message is
   written (milter envelope changes).  False (logged) when it cannot be. */
bool smtpd_data_reopen(struct session *s);
/* One step of DATA input; true when it consumed something.  At the final
   "." it leaves S_DATA and submits the commit job (or replies). */
bool smtpd_data_input(struct session *s);
/* A bare LF from a client outside mynetworks with smtpd_forbid_bare_newline:
   521 and close, as Postfix. */
void smtpd_bare_lf(struct session *s);
/* The commit job is done: the reply to the end of data. */
void smtpd_commit_finish(struct session *s);

/* ------------------------------------------------------ smtpd_commit.c */

/* At the end of data: the commit on the loop, waiting for the sync
   group's flusher instead of a worker, when nothing but the flush can
   block (no end-of-data restrictions, no kept message, the queue on the
   sync group's file system).  True when it took the commit (s in S_WAIT
   with JOB_COMMIT, or the reply already queued); false: submit the
   commit job. */
bool smtpd_commit_loop(struct session *s);

/* -------------------------------------------------------- smtpd_sign.c */

/* At DATA: whether the message is kept in s->msgbuf (and sets it up). */
void smtpd_sign_start(struct session *s);
/* Commit job (worker), when s->msgbuf_on: checks the From: addresses of
   an authenticated sender, signs mail of hosted domains, and writes the
   kept message into the queue file.  False when the commit must not go
   on (s->job_res / s->job_reply, or s->job_rc and s->job_error set). */
bool smtpd_sign_run(struct session *s);

/* ------------------------------------------------------ smtpd_pickup.c */

/* A new pickup session: the peer's uid and user name from
   SO_PEERCRED; the client counts as local (mynetworks).  False (logged)
   when the kernel cannot tell: refuse the session. */
bool smtpd_pickup_peer(struct session *s);
/* Appends "@" myorigin to a non-empty address without a domain, as
   Postfix does for local submissions (left alone if it would not fit in
   SMTP_ADDR_MAX). */
void smtpd_pickup_qualify(const struct session *s, char *addr);
/* Postfix pickup's "ID: uid=N from=<sender>" once the queue ID exists. */
void smtpd_pickup_log_id(const struct session *s);
/* VRFY on the pickup socket (sendmail -bv): a directory lookup in the
   worker pool, then 250 local, 252 remote, 550 unknown, 450 tempfail. */
void smtpd_pickup_vrfy(struct session *s, struct str args);
void smtpd_pickup_vrfy_run(struct session *s);
void smtpd_pickup_vrfy_finish(struct session *s);
/* True when MAIL on the pickup socket must go through
   smtpd_pickup_login_check (local_login_sender_maps is not static:*). */
bool smtpd_pickup_login_needed(const struct session *s);
/* local_login_sender_maps for the envelope sender (worker, JOB_MAIL):
   s->job_res and s->job_reply set when it is refused (553, or 451 when
   a table cannot be read); s->login_listed. */
void smtpd_pickup_login_check(struct session *s);
/* Whether an ordinary local user's message may be DKIM-signed (worker):
   the envelope sender and every From: address (v[0..len)) allowed by
   name in local_login_sender_maps. */
bool smtpd_pickup_signable(struct session *s, const char *v, size_t len);
/* Postfix's "Received: by host (youju, from userid N)\n\tid ID; date\n"
   into out (size outsz); returns its length, or -1 when it does not fit. */
int smtpd_pickup_received(const struct session *s, const char *date, char *out,
			  size_t outsz);

#endif
