/*
 * Flags and keywords between IMAP and Maildir info letters.  Keywords are
 * compared case-insensitively and shown as the folder's dovecot-keywords
 * spells them, as Dovecot does.
 */
#include "imap_flags.h"

#include <string.h>
#include <strings.h>

#include "mailbox.h"
#include "maildir.h"
#include "mra.h"

int imap_flags_parse(const struct imap_arg *a, size_t n,
		     struct imap_flagset *fs)
{
	memset(fs, 0, sizeof *fs);
	for (size_t i = 0; i < n; i++) {
		/* an unquoted NIL is a flag-keyword atom like any other */
		if (a[i].type != IMAP_ARG_ATOM && a[i].type != IMAP_ARG_NIL)
			return -1;
		struct str name = {a[i].s, a[i].len};
		if (a[i].s[0] != '\\') {
			if (!maildir_keyword_ok(name) ||
			    fs->nkw >= IMAP_FLAGS_KW_MAX)
				return -1;
			fs->kw[fs->nkw++] = name;
			continue;
		}
		if (strcasecmp(a[i].s, "\\Recent") == 0)
			continue;
		unsigned bit = mailbox_flag_bit(name);
		if (bit == 0)
			return -1;
		fs->sys |= bit;
	}
	return 0;
}

uint32_t imap_flags_kwbits(const struct imap_flagset *fs,
			   const struct maildir_keywords *kw)
{
	uint32_t bits = 0;
	for (size_t i = 0; i < fs->nkw; i++) {
		int k = maildir_keywords_find(kw, fs->kw[i]);
		if (k >= 0)
			bits |= 1u << k;
	}
	return bits;
}

void imap_flags_write(struct mra_conn *c, const struct maildir_keywords *kw,
		      const char *letters, bool recent)
{
	struct str l = str_from_cstr(letters);
	unsigned f = maildir_flags_parse(l);
	uint32_t bits = maildir_keyword_bits(l);
	bool first = true;
	(void)mra_conn_write(c, "(", 1);
	for (size_t i = 0; i < MAILBOX_NFLAGS; i++) {
		if (!(f & mailbox_flags[i].bit))
			continue;
		(void)mra_conn_printf(c, "%s%s", first ? "" : " ",
				      mailbox_flags[i].name);
		first = false;
	}
	if (recent) {
		(void)mra_conn_printf(c, "%s\\Recent", first ? "" : " ");
		first = false;
	}
	/* a letter without a name in dovecot-keywords is kept on disk but
	   not shown, as Dovecot does */
	for (unsigned i = 0; kw != NULL && i < MAILDIR_KEYWORDS_MAX; i++) {
		if (!(bits & (1u << i)) || kw->name[i] == NULL)
			continue;
		(void)mra_conn_printf(c, "%s%s", first ? "" : " ", kw->name[i]);
		first = false;
	}
	(void)mra_conn_write(c, ")", 1);
}

void imap_flags_write_defs(struct mra_conn *c,
			   const struct maildir_keywords *kw)
{
	size_t used = 0;
	for (int pass = 0; pass < 2; pass++) {
		(void)mra_conn_printf(c, pass == 0 ? "* FLAGS ("
						   : "* OK [PERMANENTFLAGS (");
		for (size_t i = 0; i < MAILBOX_NFLAGS; i++)
			(void)mra_conn_printf(c, "%s%s", i ? " " : "",
					      mailbox_flags[i].name);
		for (size_t i = 0; i < MAILDIR_KEYWORDS_MAX; i++) {
			if (kw->name[i] == NULL)
				continue;
			(void)mra_conn_printf(c, " %s", kw->name[i]);
			used += pass == 0;
		}
		if (pass == 0)
			(void)mra_conn_write(c, ")\r\n", 3);
		else
			(void)mra_conn_printf(
			    c, "%s)] Flags permitted.\r\n",
			    used < MAILDIR_KEYWORDS_MAX ? " \\*" : "");
	}
}

int imap_flags_letters(const char *old, unsigned sys, uint32_t kwbits,
		       char *out, size_t outsz)
{
	return maildir_info_build(str_from_cstr(old), sys, kwbits, out, outsz);
}
