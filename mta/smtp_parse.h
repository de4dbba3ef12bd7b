/*
 * SMTP command-line parsing for youju-mta's receive side: the verb, the
 * reverse-path / forward-path of MAIL and RCPT (RFC 5321 4.1.2, with
 * Postfix's tolerance for a missing "<>" and a space after the colon), and
 * the ESMTP parameters of RFC 1870 (SIZE), 6152 (BODY), 3461 (RET, ENVID,
 * NOTIFY, ORCPT), 4954 (AUTH) and 6531 (SMTPUTF8).  Pure functions on
 * byte strings: no I/O, no allocation, so they are unit-tested and fuzzed
 * on their own.
 */
#ifndef MTA_SMTP_PARSE_H
#define MTA_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* Longest address kept, RFC 5321 4.5.3.1.3 (path 256 octets with "<>"). */
#define SMTP_ADDR_MAX 254
/* Longest ENVID / ORCPT value (RFC 3461 4.4: 100 and 500 octets). */
#define SMTP_ENVID_MAX 100
#define SMTP_ORCPT_MAX 500
/* Most ESMTP parameters on one MAIL or RCPT command. */
#define SMTP_PARAMS_MAX 16

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_ETRN,
	SMTP_VERB_BDAT,
	SMTP_VERB_COUNT
};

/*
 * Splits a command line (without CR LF) into its verb and arguments.  The
 * verb is matched case-insensitively; *args_r gets the rest after the
 * white space following the verb (empty when none), trailing white space
 * removed.  Returns SMTP_VERB_UNKNOWN for anything else (also for an empty
 * line); the args then hold the whole line.
 */
enum smtp_verb smtp_parse_verb(struct str line, struct str *args_r);
/* "helo", "ehlo", ... as counted in Postfix's disconnect line; "unknown". */
const char *smtp_verb_name(enum smtp_verb v);

enum smtp_body { SMTP_BODY_NONE, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };
enum {
	SMTP_NOTIFY_NEVER = 1,
	SMTP_NOTIFY_SUCCESS = 2,
	SMTP_NOTIFY_FAILURE = 4,
	SMTP_NOTIFY_DELAY = 8
};

/* MAIL FROM: the sender and its parameters (all strings NUL-terminated). */
struct smtp_mail {
	char addr[SMTP_ADDR_MAX + 1]; /* "" for the null sender <> */
	uint64_t size;		      /* SIZE=, 0 when absent */
	bool has_size;
	enum smtp_body body;
	enum smtp_ret ret;
	bool smtputf8;
	char envid[SMTP_ENVID_MAX + 1]; /* xtext as received, "" if none */
	char auth[SMTP_ADDR_MAX + 1];	/* AUTH= xtext as received, "" none */
};

/* RCPT TO: the recipient and its parameters. */
struct smtp_rcpt {
	char addr[SMTP_ADDR_MAX + 1];
	unsigned notify;		/* SMTP_NOTIFY_* bits, 0 absent */
	char orcpt[SMTP_ORCPT_MAX + 1]; /* "rfc822;xtext" as received */
};

/*
 * Why a parse failed, mapped by the session to Postfix's replies:
 * SYNTAX  -> 501 5.5.4 Syntax: MAIL FROM:<address> / RCPT TO:<address>
 * ADDRESS -> 501 5.1.7 Bad sender address syntax / 5.1.3 recipient
 * PARAM   -> 555 5.5.4 Unsupported option: <param>   (*bad_r names it)
 * VALUE   -> 501 5.5.4 Bad <NAME> parameter syntax   (*bad_r names it)
 */
enum smtp_parse_err {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_SYNTAX,
	SMTP_PARSE_ADDRESS,
	SMTP_PARSE_PARAM,
	SMTP_PARSE_VALUE
};

/*
 * Parses the arguments of MAIL ("FROM:<a> PARAM=V ...") into *mail_r.
 * utf8_ok: accept non-ASCII bytes in the address (SMTPUTF8 offered).  On
 * PARAM or VALUE *bad_r is the offending parameter (pointing into args).
 */
enum smtp_parse_err smtp_parse_mail(struct str args, bool utf8_ok,
				    struct smtp_mail *mail_r,
				    struct str *bad_r);
/* The same for RCPT ("TO:<a> NOTIFY=... ORCPT=..."); <> is refused. */
enum smtp_parse_err smtp_parse_rcpt(struct str args, bool utf8_ok,
				    struct smtp_rcpt *rcpt_r,
				    struct str *bad_r);

/*
 * Parses a path at *pp (before end): optional white space, then
 * "<[@route,...:]addr>" or a bare address up to white space.  The address
 * (local@domain, a quoted local part kept quoted, or "" for "<>" when
 * allow_empty) is copied NUL-terminated into addr_r (size addrsz, at most
 * SMTP_ADDR_MAX + 1 used).  *pp is advanced past the path.  Returns 0 or
 * -1 for bad syntax, a bad address, or one that is too long.
 */
int smtp_parse_path(const char **pp, const char *end, bool allow_empty,
		    bool utf8_ok, char *addr_r, size_t addrsz);

/*
 * RFC 5321 4.5.1: the reserved local name "postmaster" (any case) without
 * a domain stands for this system's postmaster.  If addr (size addrsz) is
 * exactly that, it becomes "postmaster@<domain>" and 1 is returned; 0 when
 * addr is anything else, the domain is empty, or the result would not fit.
 */
int smtp_qualify_postmaster(char *addr, size_t addrsz, const char *domain);

/* True for RFC 3461 xtext (printable ASCII except '+' escapes as +HH,
   no '=' or space), of 1..max bytes. */
bool smtp_xtext_valid(struct str s, size_t max);

/* The domain part of addr (after the last '@'), "" when none. */
const char *smtp_addr_domain(const char *addr);

/* True for a host name as reject_non_fqdn_* wants: labels of letters,
   digits and '-' separated by dots, at least two labels, not numeric. */
bool smtp_is_fqdn(const char *name);

#endif
