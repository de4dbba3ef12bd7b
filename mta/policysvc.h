/*
 * The client side of Postfix's policy delegation protocol (SMTPD_POLICY_
 * README): check_policy_service sends the session's attributes as
 * "name=value" lines and an empty line to a policy server (postgrey,
 * policyd-spf, rate limiters) and reads back "action=..." and an empty
 * line.  One connection per query, blocking with a deadline: call from a
 * worker thread.
 */
#ifndef MTA_POLICYSVC_H
#define MTA_POLICYSVC_H

#include <stdbool.h>
#include <stddef.h>

struct restrict_ctx;

/* Longest reply line accepted (Postfix: line_length_limit). */
#define POLICYSVC_LINE_MAX 2048

/* True when spec is "inet:host:port", "inet:[v6]:port" or "unix:/path". */
bool policysvc_spec_ok(const char *spec);

/*
 * Asks the server at spec about c (protocol_state and the rest), within
 * timeout_ms for the whole exchange.  Returns 0 with the action (the value
 * of "action=", "" when it is DUNNO-like empty) in action (actsz bytes),
 * or -1 (logged with the reason) when the server cannot be reached, is
 * too slow or answers garbage: the caller applies
 * smtpd_policy_service_default_action.
 */
int policysvc_query(const char *spec, const struct restrict_ctx *c,
		    unsigned timeout_ms, char *action, size_t actsz);

/*
 * Builds the request for c into out (outsz bytes).  Returns its length,
 * or -1 when it does not fit.  Values with control bytes have them
 * replaced by '?' (the protocol is line-based).
 */
int policysvc_request(const struct restrict_ctx *c, char *out, size_t outsz);

/* Reads one reply from buf[0..len): 1 with the action once the empty
   line was seen, 0 when more is needed, -1 when it is malformed. */
int policysvc_parse_reply(const char *buf, size_t len, char *action,
			  size_t actsz);

/* Shared with the milter client: the monotonic clock in ms; connects to
   spec ("inet:host:port" / "unix:/path") by the deadline (non-blocking fd,
   or -1 with errno); waits for poll events on fd until the deadline (1,
   or -1 with errno ETIMEDOUT). */
long long policysvc_now_ms(void);
int policysvc_connect(const char *spec, long long deadline);
int policysvc_wait(int fd, short events, long long deadline);

#endif
