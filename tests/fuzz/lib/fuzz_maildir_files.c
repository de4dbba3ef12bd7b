/*
 * Fuzz target for the Maildir control files another program may have
 * written (lib/maildir, lib/maildir_quota): any bytes as maildirsize, as
 * a quota definition, as dovecot-uidlist, and as a message file name.  A
 * uidlist that parses must format and parse again to the same records; a
 * maildirsize that parses has a non-negative usage.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy: the parsers must not read past size */
	char *d = xmalloc(size + 1);
	memcpy(d, data, size);
	d[size] = '\0';

	struct maildir_quota q;
	if (maildir_quota_parse(d, size, &q) == 0 &&
	    (q.bytes < 0 || q.count < 0 || !q.valid))
		abort();
	uint64_t b, c;
	(void)maildir_quota_def_parse(d, &b, &c);

	struct maildir_uidlist ul, ul2;
	const char *err = "";
	maildir_uidlist_init(&ul);
	if (maildir_uidlist_parse(d, size, &ul, &err) == 0) {
		struct buf out;
		buf_init(&out, 4 * size + 4096);
		if (maildir_uidlist_format(&ul, &out) == 0) {
			maildir_uidlist_init(&ul2);
			if (maildir_uidlist_parse(out.p, out.len, &ul2, &err) <
				0 ||
			    ul2.n != ul.n || ul2.uidvalidity != ul.uidvalidity)
				abort();
			for (size_t i = 0; i < ul.n; i++)
				if (ul.recs[i].uid != ul2.recs[i].uid ||
				    strcmp(ul.recs[i].base, ul2.recs[i].base) !=
					0)
					abort();
			for (size_t i = 1; i < ul.n; i++)
				if (ul.recs[i].uid <= ul.recs[i - 1].uid)
					abort();
			maildir_uidlist_deinit(&ul2);
		}
		buf_deinit(&out);
	}
	maildir_uidlist_deinit(&ul);

	struct str name = {d, size}, base, letters;
	maildir_name_split(name, &base, &letters);
	if (base.len > size ||
	    (letters.len > 0 &&
	     (letters.p < d || letters.p + letters.len > d + size)))
		abort();
	uint64_t v;
	(void)maildir_name_size(base, 'S', &v);
	(void)maildir_name_size(base, 'W', &v);
	char out[64];
	(void)maildir_info_set(letters, maildir_flags_parse(letters), out,
			       sizeof out);
	free(d);
	return 0;
}
