/*
 * Builds youju.index entries; see imap_index.h.  The ENVELOPE and body
 * structure strings are produced by imap_render.c / imap_body.c into a
 * buffer, the very functions FETCH uses without the cache, so cached and
 * uncached answers cannot drift apart.  The header values are decoded and
 * folded exactly as SEARCH does it on the file (imap_search.c), and the
 * SORT/THREAD keys are lib/mailkeys', which SORT and THREAD use on a
 * file they have to read.
 */
#include "imap_index.h"

#include <errno.h>
#include <string.h>

#include "imap_body.h"
#include "imap_render.h"
#include "imap_search.h"
#include "log.h"
#include "mailkeys.h"
#include "maildir.h"

void imap_index_bound(struct maildir_index *ix, const struct maildir_folder *f)
{
	if (maildir_index_pending(ix) < IMAP_INDEX_PENDING_MAX)
		return;
	if (maildir_index_save(ix, f, 1000) < 0) {
		if (errno != EWOULDBLOCK)
			log_warning("imap: %s/" MAILDIR_INDEX_FILE ": %s",
				    f->path, strerror(errno));
		maildir_index_drop_pending(ix);
	}
}

int imap_index_header_segs(const char *hdr, size_t len, const char *name,
			   struct buf *out)
{
	size_t pos = 0;
	struct str fn, fv;
	struct buf dec, fold;
	int rc = 0;
	buf_init(&dec, 1 << 20);
	buf_init(&fold, 4 << 20);
	while (rc == 0 && mime_header_next(hdr, len, &pos, &fn, &fv)) {
		if (!str_case_eq_cstr(fn, name))
			continue;
		buf_reset(&dec);
		buf_reset(&fold);
		/* a value SEARCH could not decode matches nothing there:
		   leave it out here too */
		if (mime_header_decode(fv, &dec) < 0 ||
		    mime_fold(dec.p ? dec.p : "", dec.len, &fold) < 0)
			continue;
		rc = maildir_index_seg_add(out, fold.p ? fold.p : "", fold.len);
	}
	buf_deinit(&dec);
	buf_deinit(&fold);
	return rc;
}

int imap_index_build(struct maildir_index *ix, const struct maildir_msg *m,
		     const char *msg, size_t len, const struct mime_part *root)
{
	/* quoting at most doubles a string; more than that is not cached */
	size_t max = MAILDIR_INDEX_RECORD_MAX;
	struct buf out;
	buf_init(&out, 2 * len + 64 * 1024 < max ? 2 * len + 64 * 1024 : max);
	struct buf hdrs;
	buf_init(&hdrs, max);
	size_t off[MIDX_NFIELDS + 1];
	bool ok = true;

	off[MIDX_ENVELOPE] = out.len;
	/* FETCH finds the header end itself: give it the same input */
	if (imap_render_envelope(&out, msg, len) < 0)
		ok = false; /* did not fit */
	off[MIDX_BODYSTRUCTURE] = out.len;
	if (ok && imap_body_structure(&out, msg, root, true) < 0)
		ok = false;
	off[MIDX_BODY] = out.len;
	if (ok && imap_body_structure(&out, msg, root, false) < 0)
		ok = false;
	off[MIDX_BODY + 1] = out.len;

	struct maildir_index_entry e;
	memset(&e, 0, sizeof e);
	size_t hoff[MIDX_NFIELDS + 1];
	for (int f = MIDX_BODY + 1; ok && f < MIDX_SORTKEYS; f++) {
		hoff[f] = hdrs.len;
		if (imap_index_header_segs(msg + root->hdr_off, root->hdr_len,
					   maildir_index_field_header(f),
					   &hdrs) < 0)
			ok = false;
	}
	/* the SORT and THREAD keys (lib/mailkeys) */
	hoff[MIDX_SORTKEYS] = hdrs.len;
	if (ok && mailkeys_build(msg + root->hdr_off, root->hdr_len, &hdrs) < 0)
		ok = false;
	hoff[MIDX_NFIELDS] = hdrs.len;
	int rc = -1;
	if (ok) {
		const char *o = out.p ? out.p : "";
		const char *h = hdrs.p ? hdrs.p : "";
		for (int f = 0; f <= MIDX_BODY; f++)
			e.field[f] =
			    (struct str){o + off[f], off[f + 1] - off[f]};
		for (int f = MIDX_BODY + 1; f < MIDX_NFIELDS; f++)
			e.field[f] =
			    (struct str){h + hoff[f], hoff[f + 1] - hoff[f]};
		long day;
		e.sent_day = MAILDIR_INDEX_NO_DAY;
		if (imap_search_sent_day(msg + root->hdr_off, root->hdr_len,
					 &day) &&
		    day > INT32_MIN && day <= INT32_MAX)
			e.sent_day = (int32_t)day;
		e.uid = m->uid;
		e.size = m->size;
		e.vsize = len;
		e.base = str_from_cstr(m->base);
		rc = maildir_index_put(ix, &e);
	}
	buf_deinit(&out);
	buf_deinit(&hdrs);
	return rc;
}
