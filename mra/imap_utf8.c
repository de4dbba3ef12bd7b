/*
 * UTF8=ACCEPT; see imap_utf8.h.  Commands are rewritten before they run
 * (names into the on-disk form, APPEND's UTF8 item into a plain
 * literal8), so no command handler needs to know about the extension;
 * the four places that write a mailbox name (LIST, STATUS, NOTIFY's
 * STATUS and LIST) call imap_utf8_name_out().
 */
#include "imap_utf8.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_sess.h"
#include "maildir_folders.h"
#include "mra.h"
#include "xalloc.h"

bool imap_utf8_on(const struct mra_conn *c)
{
	if (c->proto != &mra_imap_proto || c->sess == NULL)
		return false;
	const struct imap_sess *s = c->sess;
	return s->utf8 || s->rev2; /* RFC 9051 §5.1 */
}

const char *imap_utf8_name_out(const struct mra_conn *c, const char *name,
			       char *out, size_t outsz)
{
	if (!imap_utf8_on(c) || strchr(name, '&') == NULL ||
	    maildir_mutf7_to_utf8(str_from_cstr(name), out, outsz) < 0)
		return name;
	return out;
}

/* a (an astring) from UTF-8 to modified UTF-7 in place.  0 or -1. */
static int utf8_name_in(struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_STRING &&
	    a->type != IMAP_ARG_LITERAL)
		return 0;
	char out[IMAP_UTF8_NAME_MAX];
	if (memchr(a->s, '\0', a->len) != NULL ||
	    maildir_utf8_to_mutf7((struct str){a->s, a->len}, out, sizeof out) <
		0)
		return -1;
	free(a->s);
	a->s = xstrdup(out);
	a->len = strlen(out);
	return 0;
}

/* LIST/LSUB [(selection)] reference pattern|(patterns) [RETURN (...)] */
static int utf8_list(struct imap_cmd *cmd)
{
	size_t i = 0;
	if (cmd->nargs > 0 && cmd->args[0].type == IMAP_ARG_LIST)
		i = 1;
	if (i + 2 > cmd->nargs)
		return 0; /* LIST itself answers BAD */
	if (utf8_name_in(&cmd->args[i]) < 0)
		return -1;
	struct imap_arg *p = &cmd->args[i + 1];
	if (p->type != IMAP_ARG_LIST)
		return utf8_name_in(p);
	for (size_t k = 0; k < p->n; k++)
		if (utf8_name_in(&p->list[k]) < 0)
			return -1;
	return 0;
}

/* NOTIFY SET [STATUS] (SUBTREE name|(names) events) ... */
static int utf8_notify(struct imap_cmd *cmd)
{
	for (size_t i = 1; i < cmd->nargs; i++) {
		struct imap_arg *f = &cmd->args[i];
		if (f->type != IMAP_ARG_LIST || f->n < 2 ||
		    f->list[0].type != IMAP_ARG_ATOM ||
		    (strcasecmp(f->list[0].s, "SUBTREE") != 0 &&
		     strcasecmp(f->list[0].s, "MAILBOXES") != 0))
			continue;
		struct imap_arg *m = &f->list[1];
		if (m->type != IMAP_ARG_LIST) {
			if (utf8_name_in(m) < 0)
				return -1;
			continue;
		}
		for (size_t k = 0; k < m->n; k++)
			if (utf8_name_in(&m->list[k]) < 0)
				return -1;
	}
	return 0;
}

/*
 * Whether k and l, two arguments in a row, are "UTF8 (literal8)" (RFC 6855
 * §4, utf8-literal): 1 with the literal moved into *lit_r (l is left an
 * empty list, for the caller to overwrite or drop), 0 when k is not the atom
 * UTF8, -1 with *error_r when it is but UTF8=ACCEPT is off or l is not one
 * literal8 in parentheses.
 */
static int utf8_literal(bool on, struct imap_arg *k, struct imap_arg *l,
			struct imap_arg *lit_r, const char **error_r)
{
	if (k->type != IMAP_ARG_ATOM || strcasecmp(k->s, "UTF8") != 0)
		return 0;
	if (!on) {
		*error_r = "UTF8 needs ENABLE UTF8=ACCEPT.";
		return -1;
	}
	if (l->type != IMAP_ARG_LIST || l->n != 1 ||
	    l->list[0].type != IMAP_ARG_LITERAL || !l->list[0].literal8) {
		*error_r = "UTF8 takes (~{n} literal8).";
		return -1;
	}
	*lit_r = l->list[0];
	free(l->list);
	l->list = NULL;
	l->n = 0;
	return 1;
}

/* The parts of a CATENATE list: each "UTF8 (literal8)" (RFC 6855 §4,
   cat-part =/ utf8-literal) becomes "TEXT literal8", which
   mra/imap_append.c takes as it takes a TEXT part.  0 or -1. */
static int utf8_catenate(bool on, struct imap_arg *cat, const char **error_r)
{
	for (size_t j = 0; j + 1 < cat->n; j += 2) {
		struct imap_arg *k = &cat->list[j], *l = &cat->list[j + 1];
		struct imap_arg lit;
		int r = utf8_literal(on, k, l, &lit, error_r);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		*l = lit;
		free(k->s);
		k->s = xstrdup("TEXT");
		k->len = 4;
	}
	return 0;
}

/* APPEND's "UTF8 (literal8)" (RFC 6855 §4) into the literal8 alone, also
   as a part of CATENATE. */
static int utf8_append(bool on, struct imap_cmd *cmd, const char **error_r)
{
	for (size_t i = 1; i < cmd->nargs; i++) {
		struct imap_arg *c = &cmd->args[i];
		if (c->type == IMAP_ARG_ATOM &&
		    strcasecmp(c->s, "CATENATE") == 0 && i + 1 < cmd->nargs &&
		    cmd->args[i + 1].type == IMAP_ARG_LIST &&
		    utf8_catenate(on, &cmd->args[i + 1], error_r) < 0)
			return -1;
	}
	for (size_t i = 1; i + 1 < cmd->nargs; i++) {
		struct imap_arg *a = &cmd->args[i];
		struct imap_arg lit;
		int r = utf8_literal(on, a, &cmd->args[i + 1], &lit, error_r);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		/* the literal takes the place of "UTF8" and the list */
		free(a->s);
		*a = lit;
		cmd->nargs--;
		memmove(cmd->args + i + 1, cmd->args + i + 2,
			(cmd->nargs - i - 1) * sizeof *cmd->args);
	}
	return 0;
}

int imap_utf8_command(bool on, bool names, struct imap_cmd *cmd,
		      const char **error_r)
{
	const char *n = cmd->name;
	*error_r = "Mailbox name is not valid UTF-8.";
	if (strcmp(n, "APPEND") == 0 && utf8_append(on, cmd, error_r) < 0)
		return -1;
	if (!(on || names) || cmd->nargs == 0)
		return 0;
	static const char *const first[] = {
	    "SELECT",	   "EXAMINE", "CREATE", "DELETE",	"SUBSCRIBE",
	    "UNSUBSCRIBE", "STATUS",  "APPEND", "GETQUOTAROOT", "RESETKEY",
	};
	for (size_t i = 0; i < sizeof first / sizeof *first; i++)
		if (strcmp(n, first[i]) == 0)
			return utf8_name_in(&cmd->args[0]);
	if (strcmp(n, "RENAME") == 0) {
		if (utf8_name_in(&cmd->args[0]) < 0)
			return -1;
		return cmd->nargs >= 2 ? utf8_name_in(&cmd->args[1]) : 0;
	}
	if ((strcmp(n, "COPY") == 0 || strcmp(n, "MOVE") == 0) &&
	    cmd->nargs >= 2)
		return utf8_name_in(&cmd->args[1]);
	if (strcmp(n, "LIST") == 0 || strcmp(n, "LSUB") == 0)
		return utf8_list(cmd);
	if (strcmp(n, "NOTIFY") == 0)
		return utf8_notify(cmd);
	if (strcmp(n, "SEARCH") == 0 && on) {
		/* RFC 6855 §3: no CHARSET once UTF8=ACCEPT is on; it comes
		   first, after any RETURN (...) */
		size_t i = cmd->nargs >= 2 &&
				   cmd->args[0].type == IMAP_ARG_ATOM &&
				   strcasecmp(cmd->args[0].s, "RETURN") == 0
			       ? 2
			       : 0;
		if (i < cmd->nargs && cmd->args[i].type == IMAP_ARG_ATOM &&
		    strcasecmp(cmd->args[i].s, "CHARSET") == 0) {
			*error_r = "SEARCH CHARSET is not allowed with "
				   "UTF8=ACCEPT.";
			return -1;
		}
	}
	return 0;
}
