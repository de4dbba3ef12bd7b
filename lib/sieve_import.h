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

#include <stdbool.h>
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

/* the imported script's name, and the marker left in HOME/sieve/ after
   an import (sieve_import_file.c) */
#define SIEVE_IMPORT_NAME   "extmail"
#define SIEVE_IMPORT_MARKER ".youju-extmail-imported"

/*
 * Imports ExtMail's filters of one mailbox (`youju sieve import`, and
 * youju-webmail at a login): reads home/.mailfilter and maildir's
 * whitelist.cf, blacklist.cf and autoreply.cf, writes the script to
 * home/sieve/extmail.sieve (checked by sieve_compile), makes it active
 * when no script is (or always, with force), and leaves the marker.
 * With once, a home whose marker exists or that already has a script is
 * left alone.  Returns 1 imported (*rules_r rules, *active_r whether it
 * was made active), 0 nothing to do (no .mailfilter, or once and done),
 * -1 with the reason in err[0..errsz) (errno kept for I/O).
 */
int sieve_import_home(const char *home, const char *maildir, bool force,
		      bool once, unsigned *rules_r, bool *active_r, char *err,
		      size_t errsz);

#endif
