/*
 * youju-mra internals shared by its modules: the server settings, one
 * client connection (plain or TLS, with bounded input and output) and the
 * two protocols (POP3, IMAP) that drive it.
 */
#ifndef YOUJU_MRA_H
#define YOUJU_MRA_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "ev.h"
#include "net.h"
#include "str.h"

/* Raw input buffered per connection (a line plus room to pipeline). */
#define MRA_IN_MAX (64 * 1024)
/* Stop reading while this much output waits (STYLE "drop clients..."). */
#define MRA_OUT_HIGH (256 * 1024)
/* Output buffer hard limit: one fetched message plus framing. */
#define MRA_OUT_MAX (160u * 1024 * 1024)
/* Failed logins before the connection is closed. */
#define MRA_AUTH_FAILS_MAX 3
/* Bad commands in a row before the connection is closed. */
#define MRA_BAD_MAX 20

struct tls_ctx;
struct tls_conn;
struct imap_compress;
struct mra_limits;
struct mra_conn;
struct mra_login_result;

struct mra_server {
	struct ev_loop *loop;
	struct tls_ctx *tls;	  /* NULL when TLS is not available */
	const char *authd_socket; /* borrowed from the conf */
	const char *hostname;
	uint64_t autologout_ms;
	uint64_t message_size_limit;	/* APPEND literal cap */
	bool login_needs_tls;		/* imap_login_disabled_without_tls */
	unsigned max_userip;		/* mra_max_userip_connections */
	unsigned max_per_ip;		/* mra_client_connection_count_limit,
					   0: none */
	uint64_t output_timeout_ms;	/* mra_output_timeout */
	uid_t uid;			/* the uid we run as */
	struct mra_limits *limits;	/* counters shared by the workers
					   (mra_limits.h); NULL: count nothing */
	uint64_t sieve_max_script_size; /* ManageSieve quotas */
	unsigned sieve_max_scripts;	/* 0: no limit */
};

extern struct mra_server mra_srv;

struct mra_proto {
	const char *name;		   /* "pop3" / "imap" */
	void (*start)(struct mra_conn *c); /* greeting */
	void (*input)(struct mra_conn *c); /* consume c->in */
	void (*login_done)(struct mra_conn *c,
			   const struct mra_login_result *r);
	void (*timeout)(struct mra_conn *c); /* autologout */
	void (*free)(struct mra_conn *c);    /* session teardown */
	/* STARTTLS finished (NULL: nothing to do); ManageSieve resends
	   its capabilities (RFC 5804 §2.2) */
	void (*tls_started)(struct mra_conn *c);
};

extern const struct mra_proto mra_pop3_proto;
extern const struct mra_proto mra_imap_proto;
extern const struct mra_proto mra_managesieve_proto;

struct mra_conn {
	uint64_t id;
	int fd;
	struct ev_io *io;
	struct ev_timer *idle;
	struct tls_conn *tls;
	struct imap_compress *z; /* COMPRESS=DEFLATE (RFC 4978), or NULL */
	bool tls_on;		 /* TLS established (for logs, LOGINDISABLED) */
	bool handshaking;
	bool starttls_pending; /* start TLS once out is flushed */
	bool compress_pending; /* start COMPRESS once out is flushed */
	bool closing;	       /* close once out is flushed */
	bool paused;	       /* do not process input (login pending) */
	bool dead;
	bool out_timer;	     /* idle timer counts an output stall */
	bool ip_counted;     /* holds a count of the rip key */
	bool userip_counted; /* holds a count of the proto+user+rip key */
	unsigned tls_want;
	struct buf in, out;
	char rip[NET_ADDR_MAX], lip[NET_ADDR_MAX];
	char user[256]; /* logged-in user, "" before login */
	const struct mra_proto *proto;
	void *sess;
	/* Set by the protocol while it sends a long reply piece by piece
	   (POP3 RETR): called whenever the output is below MRA_OUT_HIGH,
	   until it sets produce back to NULL; no input is processed
	   meanwhile. */
	void (*produce)(struct mra_conn *c);
	struct mra_conn *prev, *next;
};

/* conn.c */
void mra_conn_accept(int fd, const char *rip, const struct mra_proto *p,
		     bool implicit_tls);
/* Queues bytes for the client; false when the output limit is passed
   (the connection is then closing). */
bool mra_conn_write(struct mra_conn *c, const void *p, size_t n);
__attribute__((format(printf, 2, 3))) bool
mra_conn_printf(struct mra_conn *c, const char *fmt, ...);
/* Closes after the pending output is sent. */
void mra_conn_close(struct mra_conn *c);
/* Starts TLS after the pending output ("OK Begin TLS") is sent; input
   already buffered is discarded (CVE-2011-0411). */
void mra_conn_starttls(struct mra_conn *c);
/* Starts COMPRESS=DEFLATE after the pending output (the OK) is sent;
   input already buffered is taken as compressed. */
void mra_conn_compress(struct mra_conn *c);
/* Re-evaluates input processing (after a login result, ...). */
void mra_conn_kick(struct mra_conn *c);
/* The first connection of this process (then ->next), or NULL. */
struct mra_conn *mra_conn_first(void);
/* The connection with id, or NULL when it is gone. */
struct mra_conn *mra_conn_find(uint64_t id);
/* mra_max_userip_connections over every worker: counts c as a session of
   user (from c->rip, c->proto) unless max sessions are counted already.
   Returns 1 counted (c->userip_counted; c->user must then be set to user,
   or mra_conn_userip_release() called), 0 over the limit, -1 not counted
   (no table, table full: let the client in). */
int mra_conn_userip_acquire(struct mra_conn *c, const char *user, unsigned max);
/* Gives back c's count (c->user names the key).  Idempotent. */
void mra_conn_userip_release(struct mra_conn *c, const char *user);
/* True when the output is above the high-water mark. */
bool mra_conn_backlogged(const struct mra_conn *c);
/* Calls c->produce until it is done, the output reaches the high-water
   mark or the connection is closing. */
void mra_conn_pump(struct mra_conn *c);
void mra_conn_free_all(void);
/* Connections of this worker (a reload's old worker exits at 0). */
size_t mra_conn_count(void);

/* login.c: password check through youju-authd on a lib/workq pool. */
enum mra_login_status {
	MRA_LOGIN_OK,
	MRA_LOGIN_FAIL,
	MRA_LOGIN_TEMPFAIL,
	MRA_LOGIN_DISABLED
};

struct mra_login_result {
	enum mra_login_status status;
	char user[256];
	char maildir[4096]; /* absolute, created if missing */
	char quota[64];
	const char *error; /* static text for logs */
};

/* Whether a plaintext login (IMAP LOGIN, AUTHENTICATE PLAIN, POP3
   USER/PASS, AUTH PLAIN) is allowed on c: always when
   imap_login_disabled_without_tls = no, else over TLS or when the client's
   address is the address it connected to (Dovecot's "secured":
   disable_plaintext_auth = yes). */
bool mra_conn_plaintext_ok(const struct mra_conn *c);

/* Starts checking user/password for c (service "pop3" or "imap");
   c->paused is set until proto->login_done() runs.  The password is
   wiped by the worker.  Returns 0 or -1 (could not start). */
int mra_login_start(struct mra_conn *c, const char *service, struct str user,
		    struct str pass);
/* Runs job(ctx) on a thread of the login pool (for blocking youju-authd
   round trips besides logins: STYLE.md keeps them off the loop), then
   done(ctx) on the loop; cancel(ctx) instead of both when the pool stops
   first.  Returns 0, or -1 when the pool is full (ctx stays the
   caller's). */
int mra_pool_submit(void (*job)(void *ctx), void (*done)(void *ctx),
		    void (*cancel)(void *ctx), void *ctx);
/* Starts the login worker pool on the loop (in each worker process,
   after fork).  0 or -1. */
int mra_login_init(struct ev_loop *loop);

/* Decodes SASL PLAIN (RFC 4616) from base64 b64: authzid NUL authcid NUL
   passwd.  The caller owns *user_r and *pass_r (free; wipe the password).
   Returns 0 or -1 when malformed. */
int mra_sasl_plain(struct str b64, char **user_r, char **pass_r);

/* The Dovecot-shaped log helpers, "imap-login: Login: user=<...>, ..." */
void mra_log_login(const struct mra_conn *c, const char *user,
		   const char *method);
void mra_log_auth_failed(const struct mra_conn *c, const char *user,
			 const char *method, unsigned attempts,
			 const char *why);
/* At the end of a session that only tried a refused plaintext login
   (Dovecot's "tried to use disallowed plaintext auth"). */
void mra_log_plaintext_refused(const struct mra_conn *c, const char *user);

#endif
