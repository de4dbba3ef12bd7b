/*
 * Drafts (docs/webmail.md "Compose"): the compose form saves itself as
 * a message in Drafts with \Draft and \Seen, replacing the draft it
 * saved before (the app passes that one's UID), and the message sent
 * from a draft removes it.  Storing goes through lib/mailbox's append
 * (quota counted, a UID as IMAP APPEND gets), removing through its
 * expunge, so an IMAP client sees the same Drafts folder, and a draft
 * written in Thunderbird opens here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcache.h"
#include "log.h"
#include "maildir.h"
#include "maildir_folders.h"
#include "wm.h"
#include "xalloc.h"

/* The path of the caller's Drafts (made when missing) into out. */
static int drafts_path(const struct wm_caller *me, char *out, size_t outsz)
{
	if (maildir_folder_create(me->acct.maildir, "Drafts") < 0 &&
	    errno != EEXIST)
		log_warning("webmail: %s: cannot create Drafts: %s",
			    me->acct.maildir, strerror(errno));
	int n = snprintf(out, outsz, "%s/.Drafts", me->acct.maildir);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

void wm_draft_remove(struct http_req *req, uint32_t uid)
{
	const struct wm_caller *me = wm_caller(req);
	char path[4200];
	const char *err = NULL;
	if (drafts_path(me, path, sizeof path) < 0)
		return;
	struct maildir_folder *f = fcache_open(path, &err);
	if (f == NULL) {
		log_warning("webmail: %s: %s: %s", path, err != NULL ? err : "",
			    strerror(errno));
		return;
	}
	long i = maildir_folder_find(f, uid);
	/* only a draft: a UID the app sends must not remove other mail */
	if (i >= 0 && (maildir_flags_parse(str_from_cstr(f->msgs[i].letters)) &
		       MAILDIR_DRAFT) != 0) {
		bool *sel = xcalloc(f->n + 1, sizeof *sel);
		sel[i] = true;
		(void)wm_expunge(me, f, sel);
		free(sel);
	}
	maildir_folder_free(&f);
}

void wm_draft_store(struct http_req *req, const struct buf *msg,
		    uint32_t old_uid, const char *message_id)
{
	const struct wm_caller *me = wm_caller(req);
	char path[4200];
	if (drafts_path(me, path, sizeof path) < 0) {
		webjson_error(req, 500, "internal", "no Drafts folder", NULL);
		return;
	}
	struct mailbox_append ap = {.data = msg->p,
				    .len = msg->len,
				    .flags = MAILDIR_SEEN | MAILDIR_DRAFT};
	const char *err = NULL;
	uint32_t uid = 0;
	if (mailbox_append(&me->mu, path, &ap, NULL, &uid, &err) < 0) {
		if (errno == EDQUOT) {
			webjson_error(req, 507, "over_quota",
				      "the mailbox is full", NULL);
		} else {
			log_warning("webmail: %s: save draft: %s: %s",
				    me->acct.user, err != NULL ? err : "",
				    strerror(errno));
			webjson_error(req, 500, "internal",
				      "cannot save the draft", NULL);
		}
		return;
	}
	if (old_uid > 0 && old_uid != uid)
		wm_draft_remove(req, old_uid);
	json_t *o = json_object();
	json_object_set_new(o, "uid", json_integer(uid));
	json_object_set_new(o, "message_id", json_string(message_id));
	webjson_reply(req, 200, o);
}
