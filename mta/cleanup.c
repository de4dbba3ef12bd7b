/*
 * header_checks / body_checks actions (see cleanup.h), as Postfix's
 * cleanup_act() reads them: the first word is the action (any case), the
 * rest its text.  An action we do not know (FILTER, REDIRECT, BCC, ...)
 * is treated as DUNNO, as documented in docs/mta.md.
 */
#include "cleanup.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum cleanup_action cleanup_check(struct map *m, const char *line, char *text)
{
	char val[MAP_VALUE_MAX + 1];
	text[0] = '\0';
	if (m == NULL)
		return CLEANUP_NONE;
	switch (map_lookup(m, line, val, sizeof(val))) {
	case MAP_NOTFOUND:
		return CLEANUP_NONE;
	case MAP_TEMPFAIL:
		return CLEANUP_TEMPFAIL;
	case MAP_FOUND:
		break;
	}
	size_t cl = strcspn(val, " \t");
	const char *rest = val + cl;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	static const struct {
		const char *name;
		enum cleanup_action a;
	} acts[] = {
	    {"REJECT", CLEANUP_REJECT},	  {"DISCARD", CLEANUP_DISCARD},
	    {"HOLD", CLEANUP_HOLD},	  {"WARN", CLEANUP_WARN},
	    {"INFO", CLEANUP_INFO},	  {"IGNORE", CLEANUP_IGNORE},
	    {"PREPEND", CLEANUP_PREPEND}, {"REPLACE", CLEANUP_REPLACE},
	};
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		if (strlen(acts[i].name) != cl ||
		    strncasecmp(val, acts[i].name, cl) != 0)
			continue;
		int n;
		if (acts[i].a == CLEANUP_REJECT) {
			/* "x.y.z text" or our default with 5.7.1 */
			if ((rest[0] == '4' || rest[0] == '5') &&
			    rest[1] == '.')
				n = snprintf(text, CLEANUP_TEXT_MAX + 1, "%s",
					     rest);
			else
				n = snprintf(
				    text, CLEANUP_TEXT_MAX + 1, "5.7.1 %s",
				    *rest ? rest : "Message content rejected");
		} else {
			n = snprintf(text, CLEANUP_TEXT_MAX + 1, "%s", rest);
		}
		if (n < 0)
			text[0] = '\0';
		if ((acts[i].a == CLEANUP_PREPEND ||
		     acts[i].a == CLEANUP_REPLACE) &&
		    text[0] == '\0')
			return CLEANUP_NONE;
		return acts[i].a;
	}
	return CLEANUP_NONE;
}

const char *cleanup_action_log(enum cleanup_action a)
{
	switch (a) {
	case CLEANUP_REJECT:
		return "reject";
	case CLEANUP_DISCARD:
		return "discard";
	case CLEANUP_HOLD:
		return "hold";
	case CLEANUP_WARN:
		return "warning";
	case CLEANUP_INFO:
		return "info";
	default:
		return NULL;
	}
}
