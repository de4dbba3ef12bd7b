/*
 * SMTP AUTH through Cyrus SASL (libsasl2), configured as the seeds
 * configure Postfix: an application config file youju-smtpd.conf under
 * $config_directory/sasl/ with "pwcheck_method: authdaemond",
 * "authdaemond_path" naming youju-authd's socket and "mech_list: PLAIN
 * LOGIN".  libsasl2 finds it through a SASL_CB_GETCONFPATH callback, so
 * the system's /etc/sasl2 is never consulted.  Passwords are checked by a
 * checkpass callback that asks youju-authd with the client's address
 * (pwcheck_method is not used: Cyrus's authdaemond verifier cannot carry
 * the address).  Steps that may check a password block on the authd
 * socket: run them in a worker.
 */
#ifndef MTA_SASL_H
#define MTA_SASL_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 4954 4: a line of AUTH data may hold 12288 octets. */
#define MTA_SASL_LINE_MAX 12288

struct mta_sasl;

enum mta_sasl_status {
	MTA_SASL_DONE,	   /* authenticated */
	MTA_SASL_CONTINUE, /* send the challenge, read a response */
	MTA_SASL_FAIL,	   /* authentication failed */
	MTA_SASL_TEMPFAIL, /* the back end failed */
	MTA_SASL_BADMECH,  /* unknown mechanism */
};

/*
 * Writes <config_dir>/sasl/youju-smtpd.conf when missing, then initialises
 * libsasl2.  Start-up only.  Returns 0 or -1 with *error_r (static).
 */
__attribute__((warn_unused_result)) int mta_sasl_init(const char *config_dir,
						      const char *authd_socket,
						      const char **error_r);
void mta_sasl_done(void);

/* The mechanisms offered, space separated ("PLAIN LOGIN"); static, after
   mta_sasl_init(). */
const char *mta_sasl_mechs(void);

/* A new server exchange for one session (NULL on failure, logged).
   local: "ip;port" as libsasl2 wants it, may be NULL; remote: the client's
   IP address, sent to youju-authd with the password, may be NULL. */
struct mta_sasl *mta_sasl_new(const char *hostname, const char *local,
			      const char *remote);
void mta_sasl_free(struct mta_sasl **s);

/*
 * Starts (mech != NULL) or continues (mech == NULL) the exchange with the
 * decoded client data in/inlen (in NULL: no initial response).  On
 * CONTINUE *out_r and *outlen_r hold the raw challenge (borrowed until the
 * next call).  Thread-safe between sessions; blocking.
 */
enum mta_sasl_status mta_sasl_step(struct mta_sasl *s, const char *mech,
				   const char *in, unsigned inlen,
				   const char **out_r, unsigned *outlen_r);

/* The authenticated user name (after DONE), borrowed. */
const char *mta_sasl_username(const struct mta_sasl *s);
/* After MTA_SASL_FAIL: how long authd asks the reply to the client to be
   delayed (its failure penalty, milliseconds), else 0. */
unsigned mta_sasl_delay_ms(const struct mta_sasl *s);
/* The last error text of libsasl2, for the log. */
const char *mta_sasl_error(const struct mta_sasl *s);

/* Base64 helpers over sasl_encode64 and sasl_decode64: 0 or -1. */
int mta_sasl_b64_decode(const char *in, size_t inlen, char *out, size_t outsz,
			unsigned *outlen_r);
int mta_sasl_b64_encode(const char *in, unsigned inlen, char *out,
			size_t outsz);

#endif
