/*
 * Renaming and deleting the user's own folders (docs/webmail.md
 * "Folders").  The rules are IMAP's RENAME and DELETE, through the same
 * lib code (lib/maildir_meta maildir_folder_rename, lib/maildir_folders
 * maildir_folder_delete): children move with a renamed folder, a deleted
 * folder's children stay.  INBOX and the system folders (Sent, Drafts,
 * Trash, Junk) are refused, and so is a name that is one of them.  The
 * messages of a deleted folder are expunged first through lib/mailbox,
 * so the quota in maildirsize counts them out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fcache.h"
#include "log.h"
#include "maildir.h"
#include "maildir_folders.h"
#include "maildir_meta.h"
#include "str.h"
#include "wm.h"
#include "xalloc.h"

static bool is_system(const char *name)
{
	static const char *const sys[] = {"INBOX", "Sent", "Drafts", "Trash",
					  "Junk"};
	for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
		if (strcasecmp(name, sys[i]) == 0)
			return true;
	return false;
}

/* A user folder name (UTF-8) from field of in, as modified UTF-7 into
   m7.  0, or -1 after replying 400. */
static int user_folder(struct http_req *req, json_t *in, const char *field,
		       char *m7, size_t m7sz, const char **utf8_r)
{
	const char *name = NULL;
	if (webjson_get_str(req, in, field, true, 200, &name) < 0)
		return -1;
	if (is_system(name)) {
		webjson_error(req, 400, "system_folder",
			      "system folders cannot be renamed or deleted",
			      field);
		return -1;
	}
	if (maildir_utf8_to_mutf7(str_from_cstr(name), m7, m7sz) < 0 ||
	    !maildir_folder_name_ok(m7)) {
		webjson_error(req, 400, "invalid", "bad folder name", field);
		return -1;
	}
	*utf8_r = name;
	return 0;
}

/* POST /api/folders/rename {"name", "to"} */
void wm_folder_rename(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	static const char *const allowed[] = {"name", "to", NULL};
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	char from[MAILDIR_FOLDER_MAX + 1], to[MAILDIR_FOLDER_MAX + 1];
	const char *from8 = NULL, *to8 = NULL;
	if (webjson_only(req, in, allowed) < 0 ||
	    user_folder(req, in, "name", from, sizeof from, &from8) < 0 ||
	    user_folder(req, in, "to", to, sizeof to, &to8) < 0)
		goto out;
	if (maildir_folder_rename(me->acct.maildir, from, to) < 0) {
		switch (errno) {
		case EEXIST:
			webjson_error(req, 409, "exists", "it exists already",
				      "to");
			break;
		case ENOENT:
			webjson_error(req, 404, "not_found", "no such folder",
				      "name");
			break;
		case EINVAL:
			webjson_error(req, 400, "invalid",
				      "cannot rename a folder into itself",
				      "to");
			break;
		default:
			log_warning("webmail: %s: rename %s to %s: %s",
				    me->acct.maildir, from, to,
				    strerror(errno));
			webjson_error(req, 500, "internal", "rename failed",
				      NULL);
		}
		goto out;
	}
	/* as RENAME: the subscriptions follow (Dovecot does the same) */
	if (maildir_subs_rename(me->acct.maildir, from, to) < 0)
		log_warning("webmail: %s: subscriptions: %s", me->acct.maildir,
			    strerror(errno));
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(to8));
	webjson_reply(req, 200, o);
out:
	json_decref(in);
}

/* POST /api/folders/delete {"name"} */
void wm_folder_delete(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	static const char *const allowed[] = {"name", NULL};
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	char m7[MAILDIR_FOLDER_MAX + 1], path[4096];
	const char *name8 = NULL;
	if (webjson_only(req, in, allowed) < 0 ||
	    user_folder(req, in, "name", m7, sizeof m7, &name8) < 0 ||
	    wm_folder_path(req, name8, path, sizeof path) < 0)
		goto out;
	const char *err = NULL;
	struct maildir_folder *f = fcache_open(path, &err);
	size_t removed = 0;
	if (f != NULL) {
		removed = wm_expunge(me, f, NULL);
		maildir_folder_free(&f);
	}
	if (maildir_folder_delete(path) < 0) {
		log_warning("webmail: delete %s: %s", path, strerror(errno));
		webjson_error(req, 500, "internal", "delete failed", NULL);
		goto out;
	}
	if (maildir_subs_set(me->acct.maildir, m7, false) < 0)
		log_warning("webmail: %s: unsubscribe %s: %s", me->acct.maildir,
			    m7, strerror(errno));
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name8));
	json_object_set_new(o, "expunged", json_integer((json_int_t)removed));
	webjson_reply(req, 200, o);
out:
	json_decref(in);
}
