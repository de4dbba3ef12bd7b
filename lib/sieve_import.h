/*
 * ExtMail's filters as a Sieve script: the rules ExtMail's webmail wrote
 * into HOME/.mailfilter (maildrop, with "##" comment blocks describing
 * each rule and "#*" markers for the extensions: whitelist, blacklist,
 * autoreply, forward, forwardcc, spam2junk) and the lists beside them
 * (Maildir/whitelist.cf, blacklist.cf, autoreply.cf) become one script
 * with the same effect (docs/sieve.md, "Moving from ExtMail").  Pure text
 * work; `youju sieve import` reads and writes the files.
 */
#ifndef YOUJU_SIEVE_IMPORT_H
#define YOUJU_SIEVE_IMPORT_H

#include <stddef.h>

#include "buf.h"

struct sieve_import_in {
	const char *mailfilter; /* .mailfilter, or NULL */
	size_t mailfilter_len;
	const char *whitelist, *blacklist; /* one address or domain a line */
	size_t whitelist_len, blacklist_len;
	const char *autoreply; /* a header block, blank line, the text */
	size_t autoreply_len;
};

/*
 * Appends the equivalent Sieve script to out.  *rules_r (may be NULL)
 * gets the number of ExtMail rules and extensions found.  Returns 0, or
 * -1 when out's maximum was reached.
 */
int sieve_import_extmail(const struct sieve_import_in *in, struct buf *out,
			 unsigned *rules_r);

#endif
