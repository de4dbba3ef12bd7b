/*
 * Who may use which sender address (Postfix's smtpd_sender_login_maps with
 * reject_sender_login_mismatch, built from the ExtMail tables).  A login
 * owns an address when it is the login itself, when the address is not a
 * mailbox and its alias expansion (youju-authd's LOOKUP rcpt) delivers to
 * the login's mailbox, or when a table of smtpd_sender_login_maps maps the
 * address (or "@domain") to a list holding the login (the grants of a
 * domain administrator).  Lookups block: call from a worker thread.
 */
#ifndef MTA_SENDER_LOGIN_H
#define MTA_SENDER_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

struct map;

/* Most tables in smtpd_sender_login_maps. */
#define SENDER_LOGIN_MAPS_MAX 8

/* smtpd_sender_login_maps, parsed: the built-in ExtMail lookup ("extmail:")
   and any number of extra tables (owned). */
struct sender_login_maps {
	bool extmail;
	size_t n;
	struct map *map[SENDER_LOGIN_MAPS_MAX];
};

enum sender_login_result {
	SENDER_LOGIN_OWNED,
	SENDER_LOGIN_NOT_OWNED,
	SENDER_LOGIN_TEMPFAIL, /* youju-authd or a table did not answer */
};

/*
 * Parses the items of smtpd_sender_login_maps into m (zeroed here).
 * Returns 0, or -1 with a message in err naming the bad item.
 */
int sender_login_maps_parse(struct sender_login_maps *m,
			    const char *const *items, size_t n, char *err,
			    size_t errsz);
void sender_login_maps_free(struct sender_login_maps *m);

/*
 * Does login own addr?  The null sender ("") is owned by everyone (bounces
 * and receipts carry no identity).  authd: youju-authd's socket.
 */
enum sender_login_result sender_login_check(const struct sender_login_maps *m,
					    const char *authd,
					    const char *login,
					    const char *addr);

/*
 * The same for every address of a header From: value v[0..len): OWNED
 * only when each one is owned (and there is at least one).  The first
 * address not owned goes to bad_r (badsz bytes).
 */
enum sender_login_result
sender_login_check_from(const struct sender_login_maps *m, const char *authd,
			const char *login, const char *v, size_t len,
			char *bad_r, size_t badsz);

#endif
