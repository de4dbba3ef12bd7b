/*
 * Milter ESMTP arguments (see milter_args.h).  Each argument is handed on
 * its own to the SMTP parser as "FROM:<> ARG" or "TO:<x@x> ARG", so the
 * value rules are exactly those of a client's MAIL and RCPT commands.
 */
#include "milter_args.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "str.h"

/* The next blank-separated argument of *pp into arg (argsz); false at
   the end.  Longer arguments are cut (and then fail to parse). */
static bool next_arg(const char **pp, char *arg, size_t argsz)
{
	const char *p = *pp + strspn(*pp, " \t");
	size_t n = strcspn(p, " \t");
	if (n == 0)
		return false;
	snprintf(arg, argsz, "%.*s", (int)n, p);
	*pp = p + n;
	return true;
}

static bool has_key(const char *arg, const char *key)
{
	size_t k = strlen(key);
	return strncasecmp(arg, key, k) == 0 && arg[k] == '=';
}

/* the argument as logged: printable, cut at 100 bytes like Postfix's
   "%.100s" */
static void shown(char *out, size_t outsz, const char *arg)
{
	log_escape(out, outsz < 101 ? outsz : 101, arg, strlen(arg));
}

/* Postfix's line for an argument that is dropped unread. */
static void ignoring(const char *queue_id, const char *esc)
{
	log_warning("%s: ignoring ESMTP argument from milter: \"%s\"", queue_id,
		    esc);
}

size_t milter_args_mail(const char *queue_id, const char *args,
			struct smtp_mail *m)
{
	char arg[SMTP_ORCPT_MAX + 16], cmd[SMTP_ORCPT_MAX + 32], esc[128];
	const char *p = args;
	size_t kept = 0, seen = 0;
	while (next_arg(&p, arg, sizeof(arg))) {
		shown(esc, sizeof(esc), arg);
		if (++seen > MILTER_ARGS_MAX) {
			ignoring(queue_id, esc);
			continue;
		}
		bool wanted = has_key(arg, "RET") || has_key(arg, "ENVID") ||
			      has_key(arg, "BODY");
		if (!wanted) {
			ignoring(queue_id, esc);
			continue;
		}
		struct smtp_mail one;
		struct str bad;
		int k = snprintf(cmd, sizeof(cmd), "FROM:<> %s", arg);
		if (k < 0 || (size_t)k >= sizeof(cmd) ||
		    smtp_parse_mail((struct str){cmd, (size_t)k}, true, &one,
				    &bad) != SMTP_PARSE_OK) {
			log_warning("%s: Bad %.*s parameter from milter: "
				    "\"%s\"",
				    queue_id, (int)strcspn(arg, "="), arg, esc);
			continue;
		}
		if (has_key(arg, "RET"))
			m->ret = one.ret;
		else if (has_key(arg, "ENVID"))
			memcpy(m->envid, one.envid, sizeof(m->envid));
		else
			m->body = one.body;
		log_info("%s: milter: sender argument %s", queue_id, esc);
		kept++;
	}
	return kept;
}

size_t milter_args_rcpt(const char *queue_id, const char *args,
			unsigned *notify, char *orcpt, size_t orcptsz)
{
	char arg[SMTP_ORCPT_MAX + 16], cmd[SMTP_ORCPT_MAX + 32], esc[128];
	const char *p = args;
	size_t kept = 0, seen = 0;
	bool have_notify = false, have_orcpt = false;
	while (next_arg(&p, arg, sizeof(arg))) {
		shown(esc, sizeof(esc), arg);
		bool is_notify = has_key(arg, "NOTIFY");
		bool is_orcpt = has_key(arg, "ORCPT");
		if (++seen > MILTER_ARGS_MAX || (!is_notify && !is_orcpt)) {
			ignoring(queue_id, esc);
			continue;
		}
		struct smtp_rcpt one;
		struct str bad;
		int k = snprintf(cmd, sizeof(cmd), "TO:<x@x> %s", arg);
		/* Postfix: a second NOTIFY= or ORCPT= is bad too */
		if ((is_notify && have_notify) || (is_orcpt && have_orcpt) ||
		    k < 0 || (size_t)k >= sizeof(cmd) ||
		    smtp_parse_rcpt((struct str){cmd, (size_t)k}, true, &one,
				    &bad) != SMTP_PARSE_OK ||
		    (is_orcpt && strlen(one.orcpt) >= orcptsz)) {
			log_warning("%s: Bad %s parameter from milter: \"%s\"",
				    queue_id, is_notify ? "NOTIFY" : "ORCPT",
				    esc);
			continue;
		}
		if (is_notify) {
			*notify = one.notify;
			have_notify = true;
		} else {
			memcpy(orcpt, one.orcpt, strlen(one.orcpt) + 1);
			have_orcpt = true;
		}
		kept++;
	}
	return kept;
}
