/*
 * CONDSTORE session state; see imap_condstore.h.
 */
#include "imap_condstore.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "imap_select.h"
#include "imap_sess.h"
#include "log.h"
#include "maildir.h"
#include "maildir_modseq.h"
#include "mra.h"

/* How long a refresh waits for dovecot-uidlist.lock. */
#define IMAP_MODSEQ_LOCK_MS 2000

void imap_condstore_refresh(struct imap_sess *s)
{
	maildir_modseq_deinit(&s->ms);
	if (!s->condstore || s->f == NULL)
		return;
	if (imap_select_modseq_sync(s->f, IMAP_MODSEQ_LOCK_MS, &s->ms) < 0)
		log_warning("imap(%s): %s/" MAILDIR_MODSEQ_FILE ": %s",
			    s->login_user, s->f->path, strerror(errno));
}

void imap_condstore_enable(struct mra_conn *c, bool tell)
{
	struct imap_sess *s = c->sess;
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->f == NULL)
		return;
	imap_condstore_refresh(s);
	if (tell)
		(void)mra_conn_printf(c,
				      "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
				      (unsigned long long)s->ms.highest);
}

const uint64_t *imap_condstore_modseqs(const struct imap_sess *s)
{
	return s->condstore && s->f != NULL && s->ms.v != NULL &&
		       s->ms.n == s->f->n
		   ? s->ms.v
		   : NULL;
}

uint64_t imap_condstore_modseq(const struct imap_sess *s, size_t i)
{
	const uint64_t *v = imap_condstore_modseqs(s);
	return v != NULL && i < s->ms.n ? v[i] : 0;
}

bool imap_args_have_atom(const struct imap_arg *a, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == IMAP_ARG_ATOM && strcasecmp(a[i].s, name) == 0)
			return true;
		if (a[i].type == IMAP_ARG_LIST &&
		    imap_args_have_atom(a[i].list, a[i].n, name))
			return true;
	}
	return false;
}
