/*
 * IMAP flags and keywords (RFC 3501 §2.3.2) on Maildir info letters: the
 * system flags are the capitals of ":2,", keywords the letters a-z mapped
 * through the folder's dovecot-keywords (lib/maildir_meta).  Shared by
 * SELECT, STORE, APPEND, COPY, FETCH and the unsolicited FETCH of a sync.
 */
#ifndef YOUJU_MRA_IMAP_FLAGS_H
#define YOUJU_MRA_IMAP_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"
#include "maildir_meta.h"

struct mra_conn;

/* Most keywords one command may name (only 26 fit in a folder). */
#define IMAP_FLAGS_KW_MAX 64

struct imap_flagset {
	unsigned sys;			  /* enum maildir_flag bits */
	struct str kw[IMAP_FLAGS_KW_MAX]; /* borrowed from the arguments */
	size_t nkw;
};

/*
 * Parses a flag list (or n single flags): system flags by name, \Recent
 * ignored, keywords (atoms) collected.  Returns 0, or -1 for an unknown
 * system flag, a bad keyword or too many.
 */
int imap_flags_parse(const struct imap_arg *a, size_t n,
		     struct imap_flagset *fs);

/* Keyword bits (letters) of fs's keywords in kw; names kw lacks are left
   out. */
uint32_t imap_flags_kwbits(const struct imap_flagset *fs,
			   const struct maildir_keywords *kw);

/* Writes "(\Seen kw1 ...)" for info letters with the table kw. */
void imap_flags_write(struct mra_conn *c, const struct maildir_keywords *kw,
		      const char *letters, bool recent);

/*
 * Writes the "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" lines of a
 * folder with the keywords of kw; "\*" is offered while a letter is
 * free.
 */
void imap_flags_write_defs(struct mra_conn *c,
			   const struct maildir_keywords *kw);

/*
 * The letters for info letters old with system flags sys and the
 * keywords kwbits, written to out (size >= 64).  0 or -1.
 */
int imap_flags_letters(const char *old, unsigned sys, uint32_t kwbits,
		       char *out, size_t outsz);

#endif
