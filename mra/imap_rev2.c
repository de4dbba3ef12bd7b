/*
 * IMAP4rev2 (RFC 9051) session differences that need code of their own;
 * see imap_rev2.h for the list.
 */
#include "imap_rev2.h"

#include <string.h>
#include <strings.h>

#include "imap_sess.h"
#include "xalloc.h"

struct imap_arg *imap_rev2_search_args(const struct imap_sess *s,
				       const struct imap_arg *a, size_t *n)
{
	if (!s->rev2 || (*n > 0 && a[0].type == IMAP_ARG_ATOM &&
			 strcasecmp(a[0].s, "RETURN") == 0))
		return NULL;
	struct imap_arg *na = xcalloc(*n + 2, sizeof *na);
	na[0].type = IMAP_ARG_ATOM;
	na[0].s = (char *)"RETURN";
	na[0].len = 6;
	na[1].type = IMAP_ARG_LIST; /* RETURN () is ALL (RFC 4731 §3.1) */
	if (*n > 0)
		memcpy(na + 2, a, *n * sizeof *a);
	*n += 2;
	return na;
}
