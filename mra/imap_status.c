/*
 * STATUS and LIST-STATUS; see imap_status.h.  The counts come from a
 * fresh scan of the folder (it is not numbered here: a read-only open);
 * SIZE is the sum of RFC822.SIZE, from the W= of the file names when
 * they have it, else from the file.
 */
#include "imap_status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "imap_mbox.h"
#include "imap_recent.h"
#include "imap_render.h"
#include "imap_utf8.h"
#include "imap_objectid.h"
#include "mailbox.h"
#include "maildir.h"
#include "maildir_modseq.h"
#include "mra.h"

enum {
	ST_MESSAGES,
	ST_RECENT,
	ST_UIDNEXT,
	ST_UIDVALIDITY,
	ST_UNSEEN,
	ST_SIZE,
	ST_HIGHESTMODSEQ,
	ST_DELETED,   /* RFC 9051 §6.3.11 */
	ST_MAILBOXID, /* RFC 8474 §4 */
	ST_N
};
static const char *const imap_status_names[ST_N] = {
    "MESSAGES", "RECENT",	 "UIDNEXT", "UIDVALIDITY", "UNSEEN",
    "SIZE",	"HIGHESTMODSEQ", "DELETED", "MAILBOXID"};

#define IMAP_STATUS_ITEMS_MAX 16

static int imap_status_item(const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM)
		return -1;
	for (int k = 0; k < ST_N; k++)
		if (strcasecmp(a->s, imap_status_names[k]) == 0)
			return k;
	return -1;
}

bool imap_status_items_ok(const struct imap_arg *items)
{
	if (items->type != IMAP_ARG_LIST || items->n > IMAP_STATUS_ITEMS_MAX)
		return false;
	for (size_t i = 0; i < items->n; i++)
		if (imap_status_item(&items->list[i]) < 0)
			return false;
	return true;
}

/* RFC822.SIZE of m: W=, else counted from the file (0 when gone). */
static uint64_t imap_status_vsize(struct maildir_folder *f,
				  struct maildir_msg *m)
{
	if (m->vsize != 0)
		return m->vsize;
	uint64_t n = 0;
	int fd = maildir_msg_open(f, m);
	if (fd >= 0 && mailbox_fd_vsize(fd, &n) < 0)
		n = 0;
	if (fd >= 0)
		close(fd);
	return n;
}

const char *imap_status_write(struct mra_conn *c, const char *maildir,
			      const char *name, const struct imap_arg *items)
{
	struct maildir_folder *f = imap_mbox_open(maildir, name);
	if (f == NULL)
		return "NO [NONEXISTENT] Mailbox doesn't exist.";
	bool want[ST_N] = {false};
	for (size_t i = 0; i < items->n; i++)
		want[imap_status_item(&items->list[i])] = true;
	unsigned long long v[ST_N] = {0};
	v[ST_MESSAGES] = f->n;
	v[ST_UIDNEXT] = f->next_uid;
	v[ST_UIDVALIDITY] = f->uidvalidity;
	uint32_t max_uid = f->n > 0 ? f->msgs[f->n - 1].uid : 0;
	uint32_t first_old =
	    imap_recent_claim(f->path, f->uidvalidity, max_uid, false);
	for (size_t i = 0; i < f->n; i++) {
		struct maildir_msg *m = &f->msgs[i];
		v[ST_RECENT] += m->uid > first_old;
		unsigned fl = maildir_flags_parse(str_from_cstr(m->letters));
		if (!(fl & MAILDIR_SEEN))
			v[ST_UNSEEN]++;
		if (fl & MAILDIR_TRASHED)
			v[ST_DELETED]++;
		if (want[ST_SIZE])
			v[ST_SIZE] += imap_status_vsize(f, m);
	}
	if (want[ST_HIGHESTMODSEQ]) {
		/* RFC 7162 §3.1.10, from youju-modseq brought up to date */
		struct maildir_modseq ms;
		if (maildir_modseq_sync(f, 2000, &ms) == 0)
			v[ST_HIGHESTMODSEQ] = ms.highest;
		maildir_modseq_deinit(&ms);
	}
	char id[IMAP_OBJECTID_SIZE] = "";
	if (want[ST_MAILBOXID] && imap_objectid_mailbox(f->path, id) < 0)
		snprintf(id, sizeof id, "NIL");
	maildir_folder_free(&f);
	struct buf b;
	buf_init(&b, 2 * strlen(name) + 512);
	int r = buf_printf(&b, "* STATUS ");
	char u8[IMAP_UTF8_NAME_MAX];
	const char *shown = imap_utf8_name_out(c, name, u8, sizeof u8);
	if (r == 0)
		r = imap_render_quoted(&b, shown, strlen(shown));
	if (r == 0)
		r = buf_printf(&b, " (");
	/* in the order asked, names upper-cased, as Dovecot answers */
	for (size_t i = 0; r == 0 && i < items->n; i++) {
		int k = imap_status_item(&items->list[i]);
		if (k == ST_MAILBOXID)
			r = buf_printf(&b, "%sMAILBOXID (%s)", i ? " " : "",
				       id);
		else
			r = buf_printf(&b, "%s%s %llu", i ? " " : "",
				       imap_status_names[k], v[k]);
	}
	if (r == 0)
		r = buf_printf(&b, ")\r\n");
	if (r == 0)
		(void)mra_conn_write(c, b.p, b.len);
	buf_deinit(&b);
	return NULL;
}
