/*
 * Vacation's "may we answer this at all" rules (RFC 5230 §4.5 and §5,
 * RFC 3834): see sieve_vacation_allowed() in sieve.h.  The once-per-
 * sender-per-period record is the delivery's (mta/sieve_deliver.c).
 */
#include <string.h>
#include <strings.h>

#include "addrlist.h"
#include "buf.h"
#include "mime.h"
#include "sieve.h"
#include "sieve_int.h"

static bool sieve_sender_is_robot(const char *s)
{
	const char *at = strrchr(s, '@');
	size_t ll = at != NULL ? (size_t)(at - s) : strlen(s);
	static const char *const exact[] = {"mailer-daemon", "listserv",
					    "majordomo", "postmaster"};
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (ll == strlen(exact[i]) && strncasecmp(s, exact[i], ll) == 0)
			return true;
	if (ll >= 6 && strncasecmp(s, "owner-", 6) == 0)
		return true;
	if (ll >= 8 && strncasecmp(s + ll - 8, "-request", 8) == 0)
		return true;
	return false;
}

bool sieve_vacation_allowed(const char *msg, size_t len, const char *sender,
			    const char *const *addresses, size_t naddresses,
			    const char **why_r)
{
	if (sender == NULL || sender[0] == '\0') {
		*why_r = "null sender";
		return false;
	}
	if (sieve_sender_is_robot(sender)) {
		*why_r = "sender is a list or daemon address";
		return false;
	}
	size_t pos = 0;
	struct str name, value;
	bool mine = false;
	struct buf v;
	buf_init(&v, 1024 * 1024);
	/* the header only: mime_header_next stops at the blank line */
	while (mime_header_next(msg, len, &pos, &name, &value)) {
		buf_reset(&v);
		(void)mime_unfold(value, &v);
		const char *val = v.p != NULL ? v.p : "";
		if (str_has_prefix_case(name, "list-")) {
			*why_r = "mailing list message (List-*)";
			buf_deinit(&v);
			return false;
		}
		if (str_case_eq_cstr(name, "precedence") &&
		    (strcasecmp(val, "bulk") == 0 ||
		     strcasecmp(val, "list") == 0 ||
		     strcasecmp(val, "junk") == 0)) {
			*why_r = "Precedence: bulk/list/junk";
			buf_deinit(&v);
			return false;
		}
		if (str_case_eq_cstr(name, "auto-submitted") &&
		    strncasecmp(val, "no", 2) != 0) {
			*why_r = "Auto-Submitted message";
			buf_deinit(&v);
			return false;
		}
		if (str_case_eq_cstr(name, "x-auto-response-suppress") ||
		    (str_case_eq_cstr(name, "x-spam-flag") &&
		     strcasecmp(val, "yes") == 0)) {
			*why_r = "auto-response suppressed or spam";
			buf_deinit(&v);
			return false;
		}
		if (!mine && (str_case_eq_cstr(name, "to") ||
			      str_case_eq_cstr(name, "cc") ||
			      str_case_eq_cstr(name, "bcc") ||
			      str_case_eq_cstr(name, "resent-to") ||
			      str_case_eq_cstr(name, "resent-cc"))) {
			struct addrlist l;
			addrlist_parse(v.p, v.len, &l);
			for (size_t i = 0; i < l.n && !mine; i++) {
				const struct addrlist_addr *a = &l.v[i];
				if (a->kind != ADDRLIST_MAILBOX ||
				    a->domain == NULL)
					continue;
				for (size_t k = 0; k < naddresses && !mine;
				     k++) {
					const char *u = addresses[k];
					const char *at = strrchr(u, '@');
					if (at == NULL)
						continue;
					mine =
					    (size_t)(at - u) == a->local_len &&
					    strncasecmp(u, a->local,
							a->local_len) == 0 &&
					    strcasecmp(at + 1, a->domain) == 0;
				}
			}
			addrlist_free(&l);
		}
	}
	buf_deinit(&v);
	if (!mine) {
		*why_r = "none of the user's addresses in To/Cc";
		return false;
	}
	*why_r = "";
	return true;
}
