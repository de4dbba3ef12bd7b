/*
 * header_checks and body_checks (Postfix's header_checks(5)) for the
 * message as it arrives: each logical header (continuation lines
 * included, joined by newlines) or body line is looked up in a regexp: or
 * pcre: table and the action found is parsed here.  Actions: REJECT,
 * DISCARD, HOLD, WARN, INFO, IGNORE, PREPEND, REPLACE, DUNNO/OK.
 */
#ifndef MTA_CLEANUP_H
#define MTA_CLEANUP_H

#include <stddef.h>

#include "maps.h"

enum cleanup_action {
	CLEANUP_NONE,	  /* keep the line */
	CLEANUP_REJECT,	  /* text: the reply text ("5.7.1 ...") */
	CLEANUP_DISCARD,  /* accept and drop the message */
	CLEANUP_HOLD,	  /* queue on hold */
	CLEANUP_WARN,	  /* log, keep */
	CLEANUP_INFO,	  /* log, keep */
	CLEANUP_IGNORE,	  /* drop the line */
	CLEANUP_PREPEND,  /* text: a line to write before it */
	CLEANUP_REPLACE,  /* text: the line to write instead */
	CLEANUP_TEMPFAIL, /* the table could not be read */
};

#define CLEANUP_TEXT_MAX MAP_VALUE_MAX

/*
 * Looks line up in m.  text_r (CLEANUP_TEXT_MAX + 1 bytes) gets the
 * action's text: for REJECT "5.7.1 Message content rejected" when the
 * table gave none (with the enhanced code first, always), for the log
 * actions the table's text or "" .
 */
enum cleanup_action cleanup_check(struct map *m, const char *line,
				  char *text_r);
/* The log name of an action: "reject", "discard", "hold", "warning",
   "info", or NULL when it is not logged. */
const char *cleanup_action_log(enum cleanup_action a);

#endif
