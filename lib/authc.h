/*
 * Blocking client of youju-authd (docs/authd-protocol.md), for worker
 * threads of youju-mta, youju-mra and youju-webmail and for the CLI.  One
 * request per connection, as the protocol wants.  Every call is tri-state:
 * AUTHC_OK (found / accepted), AUTHC_NOTFOUND (the daemon answered FAIL:
 * unknown, wrong password, refused) or AUTHC_TEMPFAIL (no socket, timeout,
 * connection closed without a complete reply: try again later).
 * Thread-safe.  With authc_cache_enable() (lib/authc_cache.h) the LOOKUPs
 * reuse authd's answers while authd's own cache would.
 */
#ifndef YOUJU_AUTHC_H
#define YOUJU_AUTHC_H

#include <stdbool.h>
#include <stddef.h>

enum authc_status {
	AUTHC_OK = 1,
	AUTHC_NOTFOUND = 0,
	AUTHC_TEMPFAIL = -1,
};

/* the largest reply accepted (ENUMERATE aside, replies are < 8 KiB) */
#define AUTHC_REPLY_MAX (1u << 20)
/* default whole-request deadline, as libcourierauth's read deadline */
#define AUTHC_TIMEOUT_MS 30000
/* a kept connection idle longer is closed rather than reused: well
   inside youju-authd's idle timeout (10 s), so the server seldom closes
   one under a request */
#define AUTHC_KEEPALIVE_IDLE_MS 5000

struct authc_kv {
	char *key;
	char *value;
};

/* A parsed KEY=VALUE reply, in the order received.  Free with
   authc_reply_free(); zero-initialised is a valid empty reply. */
struct authc_reply {
	struct authc_kv *kv;
	size_t n;
};

void authc_reply_free(struct authc_reply *r);
/* The first value of key, or NULL (borrowed until authc_reply_free). */
const char *authc_get(const struct authc_reply *r, const char *key);

/* Sets the deadline of each later call (milliseconds, > 0).  Call once at
   start-up, before threads use the client. */
void authc_set_timeout(unsigned ms);

/*
 * Keep-alive (docs/authd-protocol.md §3, KEEPALIVE=1): LOOKUP and
 * MAPLOOKUP of each thread reuse one open connection to youju-authd
 * instead of connecting per request (AUTH, PRE and PASSWD never do).  A
 * thread's connection is closed when the thread exits; a forked child
 * never uses its parent's (it opens its own).  Call once at start-up,
 * before threads use the client, in processes that do not close file
 * descriptors behind the library's back.
 */
void authc_set_keepalive(bool on);

/*
 * Sends the raw request bytes and reads the reply to EOF.  "FAIL\n" →
 * AUTHC_NOTFOUND; KEY=VALUE lines ending in ".\n" → AUTHC_OK with reply_r
 * filled (reply_r may be NULL); "OK\n" → AUTHC_OK (PASSWD); anything else
 * → AUTHC_TEMPFAIL.
 */
enum authc_status authc_request(const char *socket_path, const void *req,
				size_t len, struct authc_reply *reply_r);

/*
 * AUTH login: checks user/password for service ("smtp", "imap", "pop3",
 * "webmail", ...); ip (may be NULL) goes in TCPREMOTEIP for the daemon's
 * throttling and logs.  A user or password containing a byte < 0x20 is
 * refused here (AUTHC_NOTFOUND), as libcourierauth does.  On AUTHC_OK
 * reply_r holds UID GID HOME ADDRESS MAILDIR QUOTA OPTIONS ...
 */
enum authc_status authc_auth_login(const char *socket_path, const char *service,
				   const char *user, const char *password,
				   const char *ip, struct authc_reply *reply_r);
/*
 * The same, for clients with an event loop: asks the daemon (FAILDELAY=1)
 * to answer a failure at once with the delay it would have waited
 * (Dovecot's auth penalty, docs/authd-protocol.md §5), which goes to
 * *delay_ms_r (0 otherwise; at most AUTHC_DELAY_MAX_MS).  The caller waits
 * that long on a timer before telling its client, so the penalty holds no
 * thread.  On AUTHC_NOTFOUND reply_r (when given) holds DELAY and, only
 * when the password was right but the login is still refused, REASON:
 * "inactive" (mailbox or domain not active, expired) or "disabled" (the
 * service is off for the account).
 */
#define AUTHC_DELAY_MAX_MS 300000u
enum authc_status
authc_auth_login_penalty(const char *socket_path, const char *service,
			 const char *user, const char *password, const char *ip,
			 struct authc_reply *reply_r, unsigned *delay_ms_r);
/* PRE . service user: the account without a password check. */
enum authc_status authc_pre(const char *socket_path, const char *service,
			    const char *user, struct authc_reply *reply_r);
/* PASSWD: AUTHC_OK changed, AUTHC_NOTFOUND refused (note: the daemon,
   like courier's, also answers FAIL when the database is down). */
enum authc_status authc_passwd(const char *socket_path, const char *service,
			       const char *user, const char *oldpw,
			       const char *newpw);
/* The same with FAILDELAY=1 and the client's address: a refusal comes
   back at once with authd's penalty in *delay_ms_r, for the caller to
   wait out without holding a thread (youju-webmail). */
enum authc_status authc_passwd_penalty(const char *socket_path,
				       const char *service, const char *user,
				       const char *oldpw, const char *newpw,
				       const char *ip, unsigned *delay_ms_r);

/*
 * LOOKUP rcpt: TYPE=mailbox with the user keys (ADDRESS UID GID HOME
 * MAILDIR QUOTA NAME ACTIVE DISABLEPWDCHANGE OPTIONS), or TYPE=alias with
 * ADDRESS and one MAILBOX=, REMOTE= or UNKNOWN= entry per final target;
 * both with DOMAIN_TRANSPORT (the domain's transport column, maybe empty).
 */
enum authc_status authc_lookup_rcpt(const char *socket_path,
				    const char *address,
				    struct authc_reply *reply_r);
/* LOOKUP domain: DOMAIN ACTIVE (NOTFOUND: not hosted). */
enum authc_status authc_lookup_domain(const char *socket_path,
				      const char *domain,
				      struct authc_reply *reply_r);
/* LOOKUP quota: DOMAIN ACTIVE MAXQUOTA MAXUSERS MAXALIAS USERS QUOTASUM
   ALIASES. */
enum authc_status authc_lookup_quota(const char *socket_path,
				     const char *domain,
				     struct authc_reply *reply_r);
/* LOOKUP user: the mailbox whatever its state (see ACTIVE). */
enum authc_status authc_lookup_user(const char *socket_path,
				    const char *address,
				    struct authc_reply *reply_r);

/* LOOKUP directory: the active mailboxes of a hosted, active domain, one
   ENTRY=<address> <name> each (at most 1000, then TRUNCATED=1). */
enum authc_status authc_lookup_directory(const char *socket_path,
					 const char *domain,
					 struct authc_reply *reply_r);

/*
 * MAPLOOKUP <path> <key>: a mysql: table of youju.cf, run by the daemon
 * (youju-mta's access and transport maps).  On AUTHC_OK the value goes to
 * val (valsz bytes; AUTHC_TEMPFAIL when it does not fit).  A table the
 * daemon does not know is a temporary failure (it closes).  Keys and
 * paths over 1024 bytes, or with a NUL, are AUTHC_NOTFOUND here.
 */
enum authc_status authc_map_lookup(const char *socket_path, const char *path,
				   const char *key, char *val, size_t valsz);
/* MAPLOOKUP's word encoding: bytes <= 0x20, 0x7f and '%' become %XX, so
   any key is one word.  Into out (outsz bytes); 0, or -1 if too long. */
int authc_map_encode(const char *s, size_t n, char *out, size_t outsz);

/* The value of option name in an OPTIONS string ("a=1,b=0"), copied into
   out (outsz); returns 0, or -1 when absent or too long. */
int authc_option(const char *options, const char *name, char *out,
		 size_t outsz);

/*
 * The account an AUTH, PRE or LOOKUP rcpt reply describes, as every
 * consumer needs it: the one HOME/MAILDIR rule lives here (courier's
 * consumers: MAILDIR when absolute, else relative to HOME, else
 * HOME/Maildir).
 */
struct authc_account {
	char user[256];	    /* ADDRESS ("" when absent) */
	char maildir[4096]; /* absolute, no trailing '/' */
	char quota[128];    /* QUOTA ("104857600S,1000C"), "" none */
	char options[1024]; /* OPTIONS ("disableimap=0,..."), "" none */
};

/*
 * Fills a from reply.  Returns 0, or -1 with *error_r (static text) when
 * the reply has no usable Maildir (no HOME for a relative one, a "/../"
 * or a name too long) or a field does not fit.
 */
int authc_account_get(const struct authc_reply *reply, struct authc_account *a,
		      const char **error_r);

/*
 * True when a's OPTIONS turn service ("imap", "pop3", "smtp", "webmail")
 * off: disable<service> set, or disableinsecure<service> on a connection
 * without TLS (tls false).
 */
bool authc_account_disabled(const struct authc_account *a, const char *service,
			    bool tls);

/* ---- for lib/authc_async (the same protocol on an event loop) ---- */

struct buf;

/* Room for a LOOKUP request (authc_lookup_request's out maximum). */
#define AUTHC_LOOKUP_REQ_MAX 8192

/*
 * Appends the request "[REUSE=1\n][KEEPALIVE=1\n]LOOKUP <kind> <arg>\n"
 * to out (REUSE=1 when authc_cache_enabled()).
 * Returns 1, 0 when arg is empty or holds a byte <= 0x20 or 0x7f (the
 * lookup is AUTHC_NOTFOUND without asking), or -1 when out is full
 * (AUTHC_TEMPFAIL).
 */
int authc_lookup_request(const char *kind, const char *arg, bool keepalive,
			 struct buf *out);
/* True when p[0..len) is a whole framed reply of a kept connection:
   "FAIL\n", or KEY=VALUE lines ending in a "." line, after the
   "TTL=<ms>\n" line of a REUSE=1 reply (a malformed TTL line is "whole"
   too: nothing more is awaited, and it classifies as a failure). */
bool authc_reply_framed(const char *p, size_t len);
/* Classifies a whole reply as authc_request() does; reply_r (may be
   NULL) gets the KEY=VALUE pairs of an AUTHC_OK one. */
enum authc_status authc_reply_classify(const char *p, size_t len,
				       struct authc_reply *reply_r);

#endif
