/*
 * The SMTP server side of youju-mta: one session per connection, an
 * explicit state machine driven by lib/ev, with Postfix's replies and log
 * lines (DESIGN §8).  smtpd_accept() takes over a freshly accepted socket;
 * everything else happens in callbacks.
 */
#ifndef MTA_SMTPD_H
#define MTA_SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ev.h"
#include "restrict.h"
#include "tls.h"
#include "workq.h"

/* Longest command line (RFC 5321 4.5.3.1.4 is 512; ESMTP parameters push
   it up, as Postfix's line_length_limit does). */
#define SMTPD_CMD_MAX 2048
/* The input buffer: one AUTH line (RFC 4954) plus slack. */
#define SMTPD_IN_MAX 16384
/* Replies waiting to be sent before we stop reading commands. */
#define SMTPD_OUT_HIGH 65536
#define SMTPD_OUT_MAX  (SMTPD_OUT_HIGH + 16384)
/* Longest HELO argument kept. */
#define SMTPD_HELO_MAX 255
/* Deadline of a youju-authd request (lib/authc's timeout in the worker
   threads, lib/authc_async's on the loop). */
#define SMTPD_AUTHD_TIMEOUT_MS 10000

/* PICKUP: the sendmail command's Unix socket (smtpd_pickup.c). */
enum smtpd_service {
	SMTPD_SVC_SMTP,
	SMTPD_SVC_SUBMISSION,
	SMTPD_SVC_SMTPS,
	SMTPD_SVC_PICKUP
};
/* "smtp", "submission", "smtps", "pickup" (logs, the queue file) */
const char *smtpd_service_name(enum smtpd_service svc);

/* Settings derived from the configuration; owned by the server. */
struct smtpd_config {
	char *hostname;
	char *myorigin; /* appended to local senders without a domain */
	char *mydomain; /* RCPT TO:<postmaster> means postmaster@mydomain */
	char *banner;
	char *queue_dir;
	char *authd_socket;
	uint64_t size_limit; /* 0: none */
	unsigned rcpt_limit;
	unsigned timeout_s;
	size_t line_limit;
	bool helo_required;
	bool disable_vrfy;
	bool sasl_enable;
	bool tls_auth_only;
	bool broken_sasl_auth_clients;
	bool forbid_bare_newline;
	unsigned hard_error_limit;
	unsigned max_sessions;
	struct netlist *mynetworks;
	struct restrict_list *rcpt_restrictions;
};

struct smtpd_server {
	struct ev_loop *loop;
	struct smtpd_config cfg;
	struct tls_ctx *tls; /* NULL: no STARTTLS, no SMTPS */
	struct workq *pool;
	unsigned sessions;
	/* restrictions and limits (policy.h); reloadable.  NULL until
	   smtpd_policy_setup(), or the first session loads it */
	struct smtpd_policy *policy;
	struct anvil *anvil; /* per-client connection counts */
	struct peername *pn; /* connect-time name lookups (peername.h) */
	/* youju-authd on the loop (RCPT, smtpd_rcpt.c); NULL until used */
	struct authc_async *authc;
	/* commits waiting for the sync group's flusher, in ticket order
	   (smtpd_commit.c); commit_io NULL until the first */
	struct ev_io *commit_io;
	struct ev_timer *commit_kick; /* after this batch of events */
	bool commit_kick_armed;
	struct session *commit_head, *commit_tail;
};

struct conf;

/*
 * Loads the restriction lists, maps and limits from c into srv (call
 * before privsep_drop(), so table files root can read are opened).
 * Returns 0, or -1 with a message naming the parameter in err.
 */
int smtpd_policy_setup(struct smtpd_server *srv, const struct conf *c,
		       char *err, size_t errsz);
/* Frees what smtpd_policy_setup() and the sessions' server state hold
   (the name lookups only while srv->loop is still there). */
void smtpd_server_done(struct smtpd_server *srv);

/* Starts a session on fd (non-blocking; the session owns and closes it).
   peer: the client's address text from net_accept(). */
void smtpd_accept(struct smtpd_server *srv, int fd, const char *peer,
		  enum smtpd_service svc);

/*
 * The pickup listener: creates the parent directory of path (mode 0755)
 * when missing and opens a Unix socket there, mode 0666, that every local
 * user may connect to (access is by SO_PEERCRED, docs/mta.md "sendmail").
 * Returns the fd (non-blocking) or -1 with *error_r and errno.
 */
int smtpd_pickup_listen(const char *path, const char **error_r);

#endif
