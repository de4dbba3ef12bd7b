/*
 * local_login_sender_maps (Postfix 3.6+): which envelope senders each
 * local Unix user may give to the sendmail command (the pickup socket).
 * The tables are searched with the login name (or "uid:N" when the uid
 * has no passwd entry); the first table that knows the key answers with
 * a list of sender patterns separated by blanks or commas:
 *
 *   *          any sender
 *   <>         the null sender (empty_address_local_login_sender_maps_
 *              lookup_key names this pattern)
 *   @domain    any address in domain
 *   address    that address; one without "@" gets "@$myorigin", as the
 *              sender it stands for does
 *
 * Address extensions (recipient_delimiter) of the sender are ignored.  A
 * user no table knows may use no sender.  The default, "static:*", lets
 * everyone use anything.  Besides the map types of maps.h, "static:VALUE"
 * and Postfix's "inline:{ key=value, { key = value } }" are read here.
 * youju also uses the answer to decide DKIM signing: only a sender allowed
 * by a pattern other than "*" counts as the user's own (smtpd_sign.c).
 */
#ifndef MTA_LOCAL_LOGIN_H
#define MTA_LOCAL_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

/* Most tables in the parameter. */
#define LOCAL_LOGIN_TABLES_MAX 16

struct local_login;

enum local_login_result {
	LOCAL_LOGIN_DENIED,   /* no pattern allows it (or no entry) */
	LOCAL_LOGIN_ANY,      /* allowed by "*" only */
	LOCAL_LOGIN_LISTED,   /* allowed by a pattern naming it */
	LOCAL_LOGIN_TEMPFAIL, /* a table could not be read */
};

/* Parses the parameter's value spec.  null_key: the null sender's
   pattern ("<>"); myorigin, delim: for bare patterns and extensions.
   Returns the object, or NULL with a message in err (errsz). */
struct local_login *local_login_new(const char *spec, const char *null_key,
				    const char *myorigin, const char *delim,
				    char *err, size_t errsz);
void local_login_free(struct local_login **ll);

/* True when the value is exactly "static:*": no lookup is needed, and
   every answer would be LOCAL_LOGIN_ANY. */
bool local_login_is_any(const struct local_login *ll);

/* May login (NULL or "": use "uid:N") use sender ("" the null sender)?
   Thread-safe (mysql tables block: worker threads). */
enum local_login_result local_login_check(struct local_login *ll,
					  const char *login, unsigned long uid,
					  const char *sender);

/* The same for every address of a header From: value v[0..len):
   LISTED only when each one is LISTED (and there is at least one). */
enum local_login_result local_login_check_from(struct local_login *ll,
					       const char *login,
					       unsigned long uid, const char *v,
					       size_t len);

/* "denied", "any", "listed", "tempfail" (logs) */
const char *local_login_result_name(enum local_login_result r);

#endif
