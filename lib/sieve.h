/*
 * Sieve (RFC 5228) for youju: a parser that turns a script into a checked
 * program, and an interpreter that runs the program over one message and
 * returns the actions to take (keep, fileinto, redirect, reject, vacation,
 * ...).  Nothing here touches a Maildir or the queue: the MTA's delivery
 * (mta/sieve_deliver.c) carries the actions out, ManageSieve
 * (mra/managesieve.c) only checks scripts.  docs/sieve.md lists the
 * extensions `require` accepts.
 *
 * Every input is bounded: a script of at most SIEVE_SCRIPT_MAX bytes,
 * blocks and tests nested at most SIEVE_DEPTH_MAX deep (the parser and the
 * interpreter recurse, but never deeper than that), at most
 * SIEVE_STEPS_MAX interpreter steps and SIEVE_ACTIONS_MAX actions per run,
 * strings and variables capped at SIEVE_STRING_MAX bytes.
 */
#ifndef YOUJU_SIEVE_H
#define YOUJU_SIEVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIEVE_SCRIPT_MAX    (256u * 1024)
#define SIEVE_DEPTH_MAX	    32
#define SIEVE_STEPS_MAX	    100000
#define SIEVE_ACTIONS_MAX   64
#define SIEVE_REDIRECT_MAX  4
#define SIEVE_STRING_MAX    (64u * 1024)
#define SIEVE_VARIABLES_MAX 128
#define SIEVE_ERROR_MAX	    512

struct sieve_program;

/*
 * Parses and checks script[0..len) (any bytes).  Returns the program
 * (free with sieve_free), or NULL with a message in error_r[0..errsz)
 * of the form "line N: what is wrong" (the first error only).
 */
struct sieve_program *sieve_compile(const char *script, size_t len,
				    char *error_r, size_t errsz);
void sieve_free(struct sieve_program **p);

/* The extensions `require` accepts, space-separated (ManageSieve's SIEVE
   capability, docs/sieve.md). */
const char *sieve_extensions(void);

/*
 * Calls fn for the address of every redirect command in p, in script
 * order (as written: one built from variables gives its "${...}" text),
 * with whether it has :copy.  Returns how many.  For views such as
 * webadmin's "this mailbox forwards": it says nothing about whether a
 * redirect's condition ever holds.  sieve_inspect.c.
 */
size_t sieve_redirects(const struct sieve_program *p,
		       void (*fn)(void *ctx, const char *addr, size_t len,
				  bool copy),
		       void *ctx);

/* ---- running ------------------------------------------------------------ */

/* The message and its envelope as the interpreter sees them. */
struct sieve_msg {
	const char *data; /* the whole message, LF or CRLF line ends */
	size_t len;
	const char *env_from; /* MAIL FROM, "" for <> */
	const char *env_to;   /* the final recipient address */
	const char *orig_to;  /* the recipient as given in RCPT TO */
};

struct sieve_env {
	const char *delimiter; /* recipient_delimiter characters, "" none */
	time_t now;	       /* currentdate, date zone */
	/* duplicate (RFC 7352): true when id was seen within seconds; the
	   id is then recorded.  NULL: nothing is ever a duplicate. */
	bool (*duplicate)(void *ctx, const char *id, size_t idlen,
			  uint64_t seconds, bool last);
	/* mailboxexists (RFC 5490): NULL: every name exists. */
	bool (*mailbox_exists)(void *ctx, const char *name);
	void *ctx;
};

enum sieve_action_kind {
	SIEVE_ACT_KEEP,
	SIEVE_ACT_FILEINTO,
	SIEVE_ACT_REDIRECT,
	SIEVE_ACT_DISCARD,
	SIEVE_ACT_REJECT,
	SIEVE_ACT_VACATION,
};

struct sieve_action {
	enum sieve_action_kind kind;
	/* fileinto: the folder name (UTF-8, '/' or '.' hierarchy as given);
	   redirect: the address; reject: the reason; vacation: the body */
	char *arg;
	bool create;  /* fileinto :create */
	bool ereject; /* reject came from ereject */
	/* keep and fileinto: IMAP flags, space-separated ("" none) */
	char *flags;
	/* vacation */
	uint64_t seconds; /* period (:days converted), 0 = default */
	char *from, *subject, *handle; /* NULL when not given */
	bool mime;
	char **addresses; /* :addresses */
	size_t naddresses;
};

/* What one run decided.  The implicit keep is already an action. */
struct sieve_result {
	struct sieve_action *v; /* owned */
	size_t n;
	/* editheader changed the header: the whole new header, blank line
	   included (owned), to put in front of the original body; NULL when
	   the message is unchanged. */
	char *header;
	size_t header_len;
	size_t body_off; /* where the original body starts in msg->data */
};

/*
 * Runs p over msg.  Returns 0 with r filled (free with
 * sieve_result_free), or -1 with a runtime error in error_r (step or
 * action limit, too many redirects, a bad value such as a fileinto to an
 * invalid name): the caller then keeps the message.
 */
int sieve_run(const struct sieve_program *p, const struct sieve_msg *msg,
	      const struct sieve_env *env, struct sieve_result *r,
	      char *error_r, size_t errsz);
void sieve_result_free(struct sieve_result *r);

/*
 * Vacation's rules (RFC 5230 §4.5, §5): whether the message may be
 * answered at all.  sender is the envelope sender; addresses are the
 * user's (the recipient first, then :addresses).  False with *why_r (a
 * static string for the log) for a null or MAILER-DAEMON/owner-/-request
 * sender, List-Id or any List-* field, Precedence bulk/list/junk,
 * Auto-Submitted other than "no", or when none of the addresses is in To,
 * Cc, Bcc, Resent-To or Resent-Cc.
 */
bool sieve_vacation_allowed(const char *msg, size_t len, const char *sender,
			    const char *const *addresses, size_t naddresses,
			    const char **why_r);

#endif
