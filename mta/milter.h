/*
 * The Sendmail milter protocol (version 6, as Postfix speaks it) on the
 * client side: each message is handed to the milters of smtpd_milters
 * (SMTP) or non_smtpd_milters (the pickup socket) in turn, with the
 * session's connect, HELO, MAIL and RCPT steps replayed at the end of
 * data, then its header and body; what the milters answer (reject,
 * tempfail, discard, accept, quarantine, header and body changes) comes
 * back in a struct milter_result, envelope changes (change sender, add
 * and delete recipients) as a list of operations for the caller to apply
 * to its envelope.  The macros sent at each step are Postfix's
 * milter_*_macros lists, or the ones a milter asked for in negotiation
 * (smfi_setsymlist).  Blocking, with timeouts: call from a worker thread.
 */
#ifndef MTA_MILTER_H
#define MTA_MILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Most milters in one list; longest packet accepted from a milter. */
#define MILTER_MAX	  8
#define MILTER_PACKET_MAX (1u << 20)
/* Most envelope changes kept from one message (more: a protocol error). */
#define MILTER_ENV_OPS_MAX 1000
/* Longest ESMTP argument text of one envelope change (longer: the change
   is made without them, logged). */
#define MILTER_ENV_ARGS_MAX 1000

/* The steps that carry macros, in libmilter's SMFIM_* numbering. */
enum milter_stage {
	MILTER_M_CONNECT,
	MILTER_M_HELO,
	MILTER_M_MAIL,
	MILTER_M_RCPT,
	MILTER_M_DATA,
	MILTER_M_EOM,
	MILTER_M_EOH,
	MILTER_M_STAGES,
};

enum milter_action {
	MILTER_ACCEPT, /* go on (also "continue") */
	MILTER_REJECT,
	MILTER_TEMPFAIL,
	MILTER_DISCARD,
	MILTER_QUARANTINE, /* accepted into hold/ */
};

struct milter_cfg {
	enum milter_action default_action; /* milter_default_action */
	unsigned protocol;		   /* milter_protocol (2..6) */
	unsigned connect_ms, command_ms, content_ms;
	/* milter_connect_macros ... milter_end_of_data_macros: macro names
	   separated by blanks or commas (borrowed; NULL: none) */
	const char *macros[MILTER_M_STAGES];
};

/* One message and its session, as the milters see them.  Strings are
   NUL-terminated (may be ""). */
struct milter_tx {
	const char *queue_id, *myhostname;
	const char *client_addr, *client_name, *helo;
	unsigned client_port;
	const char *sender;
	const char *const *rcpts;
	size_t nrcpt;
	const char *sasl_method, *sasl_user;
	const char *tls_version, *tls_cipher;
	unsigned tls_bits;
	/* {cert_subject}, {cert_issuer}: the common names of the client's
	   certificate (smtpd_tls_ask_ccert); "" none */
	const char *cert_subject, *cert_issuer;
	const char *auth_author; /* {auth_author}: MAIL FROM's AUTH= */
	/* {mail_mailer}, {rcpt_mailer}: the transport that delivers to an
	   address ("virtual", "smtp"; "" unknown), asked only when a milter
	   is to be sent one of them (NULL: never sent) */
	const char *(*mailer)(void *ctx, const char *addr);
	void *mailer_ctx;
	const char *daemon_addr; /* the server's address ("" unknown) */
	unsigned daemon_port;
	const char *msg; /* queue form: LF line ends */
	size_t len;
};

/* One envelope change: 'e' change sender (addr "" is <>), '+' add
   recipient (also for SMFIR_ADDRCPT_PAR), '-' delete recipient.  addr is
   as the milter sent it with the angle brackets and white space taken
   off; args the ESMTP arguments of SMFIR_CHGFROM and SMFIR_ADDRCPT_PAR
   ("" none), as sent. */
struct milter_env_op {
	char op;
	char *addr; /* owned */
	char *args; /* owned */
};

struct milter_result {
	enum milter_action action;
	char reply[600];	   /* the SMTP reply for reject/tempfail */
	char reason[256];	   /* quarantine reason, or what failed (log) */
	bool changed;		   /* msg holds the changed message */
	struct buf msg;		   /* owned (buf_deinit), when changed */
	struct milter_env_op *ops; /* owned: in the order received */
	size_t nops;
};

/* Frees r's envelope changes and, when r->changed, r->msg (a caller that
   took r->msg sets r->changed to false first). */
void milter_result_deinit(struct milter_result *r);

/* Parses milter_default_action's value; false when unknown. */
bool milter_action_parse(const char *s, enum milter_action *a);
/* True when spec is "inet:host:port" or "unix:/path". */
bool milter_spec_ok(const char *spec);

/*
 * Runs tx through the milters of specs[0..n) (each sees the message as
 * the previous one left it).  A milter that cannot be reached, times out
 * or breaks the protocol gets cfg->default_action (logged), and the
 * changes it asked for are dropped.  r is initialised here; free it with
 * milter_result_deinit.
 */
void milter_run(const char *const *specs, size_t n,
		const struct milter_cfg *cfg, const struct milter_tx *tx,
		struct milter_result *r);

#endif
