/*
 * The webmail's filter form (rules, auto-reply, forwarding, white and
 * black lists) as a Sieve script, and back (docs/sieve.md "Filters edited
 * in webmail").  The generated script carries the form itself as JSON on
 * one comment line; a stored script is the form's only when regenerating
 * that JSON gives the same script byte for byte, so a script edited by
 * hand (or uploaded over ManageSieve) is never mistaken for one and never
 * overwritten by the form.  Pure text work on Jansson values.
 */
#ifndef YOUJU_SIEVE_FILTERS_H
#define YOUJU_SIEVE_FILTERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* the script's name in the store (HOME/sieve/youju-webmail.sieve) */
#define SIEVE_FILTERS_NAME "youju-webmail"
/* limits of the form */
#define SIEVE_FILTERS_RULES_MAX	     100
#define SIEVE_FILTERS_CONDITIONS_MAX 10
#define SIEVE_FILTERS_ACTIONS_MAX    10
#define SIEVE_FILTERS_LIST_MAX	     200  /* white/black list entries */
#define SIEVE_FILTERS_ADDRS_MAX	     10	  /* forward and vacation addresses */
#define SIEVE_FILTERS_TEXT_MAX	     8000 /* vacation body, reject text */
#define SIEVE_FILTERS_FIELD_MAX	     500  /* any other string */

/*
 * Checks form (an object as docs/sieve.md describes it) and appends the
 * script to out (whose maximum should be SIEVE_SCRIPT_MAX).  Returns 0,
 * or -1 with what is wrong in err[0..errsz) and the offending field's
 * path ("rules[1].actions[0].value") in field[0..fieldsz).  The script
 * is not compiled here: callers check it with sieve_compile.
 */
int sieve_filters_generate(json_t *form, struct buf *out, char *err,
			   size_t errsz, char *field, size_t fieldsz);

/*
 * The form of script[0..len) when it is exactly what
 * sieve_filters_generate makes of its own JSON line (owned, json_decref),
 * else NULL (not ours, or edited by hand).
 */
json_t *sieve_filters_parse(const char *script, size_t len);

/* An empty form: no rules, lists, auto-reply or forwarding (owned). */
json_t *sieve_filters_empty(void);

#endif
