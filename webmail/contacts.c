/*
 * The personal address book and the domain directory of youju-webmail.
 *
 * The book is youju-abook.json in the Maildir (docs/webmail.md "Address
 * book"): {"contacts": [{"id", "name", "email", "nick", "company",
 * "phone", "group", "notes"}]}, at most WM_CONTACTS_MAX entries, replaced
 * atomically with mode 0600 under a dotlock.  When it does not exist yet,
 * ExtMail's abook.cf (CSV) is read in its place, and is never written.
 * CSV import understands the column names of Outlook, Thunderbird and
 * ExtMail; export writes Outlook's names (which Thunderbird and ExtMail
 * read too), with spreadsheet formulas defused.
 *
 * The directory is youju-authd's LOOKUP directory for the caller's own
 * domain only (the daemon holds no database credentials).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authc.h"
#include "buf.h"
#include "csv.h"
#include "listfile.h"
#include "file.h"
#include "log.h"
#include "webjson.h"
#include "websession.h"
#include "wm.h"

#define WM_ABOOK_FILE	"youju-abook.json"
#define WM_CONTACTS_MAX 5000
#define WM_ABOOK_MAX	(8u * 1024 * 1024)
#define WM_CSV_MAX	(4u * 1024 * 1024)
#define WM_FIELD_MAX	1000

static const char *const fields[] = {"name",  "email", "nick",	"company",
				     "phone", "group", "notes", NULL};

/* A plausible address: one '@', no spaces or control bytes, not too long. */
static bool email_ok(const char *s)
{
	size_t n = strlen(s);
	const char *at = strchr(s, '@');
	if (n < 3 || n > 254 || at == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c <= 0x20 || *c == 0x7f || *c == '<' || *c == '>' ||
		    *c == ',' || *c == '"' || *c == ';')
			return false;
	return true;
}

static bool field_ok(const char *s, bool multi)
{
	if (strlen(s) > WM_FIELD_MAX)
		return false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if ((*c < 0x20 && *c != '\t' && !(multi && *c == '\n')) ||
		    *c == 0x7f)
			return false;
	return true;
}

static int abook_path(const char *maildir, const char *name, char *out,
		      size_t outsz)
{
	return file_path(out, outsz, maildir, name);
}

/* ---- CSV column names ---- */

enum col {
	C_NONE,
	C_NAME,
	C_FIRST,
	C_LAST,
	C_EMAIL,
	C_NICK,
	C_COMPANY,
	C_PHONE,
	C_GROUP,
	C_NOTES
};

static enum col column(const char *h)
{
	static const struct {
		const char *h;
		enum col c;
	} map[] = {
	    /* youju and ExtMail */
	    {"name", C_NAME},
	    {"mail", C_EMAIL},
	    {"email", C_EMAIL},
	    {"e-mail", C_EMAIL},
	    {"nick", C_NICK},
	    {"nickname", C_NICK},
	    {"company", C_COMPANY},
	    {"phone", C_PHONE},
	    {"mobile", C_PHONE},
	    {"group", C_GROUP},
	    {"notes", C_NOTES},
	    {"note", C_NOTES},
	    /* Outlook */
	    {"first name", C_FIRST},
	    {"last name", C_LAST},
	    {"e-mail address", C_EMAIL},
	    {"mobile phone", C_PHONE},
	    {"business phone", C_PHONE},
	    {"home phone", C_PHONE},
	    {"categories", C_GROUP},
	    /* Thunderbird */
	    {"display name", C_NAME},
	    {"primary email", C_EMAIL},
	    {"organization", C_COMPANY},
	    {"mobile number", C_PHONE},
	    {"work phone", C_PHONE},
	    /* Chinese headers as Foxmail and ExtMail's zh_CN export write */
	    {"姓名", C_NAME},
	    {"电子邮件", C_EMAIL},
	    {"邮件地址", C_EMAIL},
	    {"昵称", C_NICK},
	    {"公司", C_COMPANY},
	    {"电话", C_PHONE},
	    {"手机", C_PHONE},
	    {"分组", C_GROUP},
	    {"备注", C_NOTES},
	};
	while (*h == ' ' || (unsigned char)*h == 0xef) /* BOM */
		h += (unsigned char)*h == 0xef && h[1] && h[2] ? 3 : 1;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcasecmp(map[i].h, h) == 0)
			return map[i].c;
	return C_NONE;
}

/* ---- the book ---- */

static json_t *contact_new(const char *id)
{
	json_t *c = json_object();
	json_object_set_new(c, "id", json_string(id));
	for (size_t i = 0; fields[i] != NULL; i++)
		json_object_set_new(c, fields[i], json_string(""));
	return c;
}

static int new_id(char out[17])
{
	return websession_random_hex(out, 8);
}

static bool has_email(json_t *list, const char *email)
{
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *e = json_string_value(json_object_get(c, "email"));
		if (e != NULL && strcasecmp(e, email) == 0)
			return true;
	}
	return false;
}

/*
 * Adds the contacts of a CSV text to list (skipping rows without a valid
 * address, and addresses already there).  A first row naming known
 * columns is a header; otherwise ExtMail's abook.cf order is assumed:
 * name, e-mail, nick, company, phone, group, notes.  A cell loses the '
 * that the export's formula guard put before it (csv_put), so that an
 * exported book imports as it was.  Returns how many were added.
 */
static size_t csv_import(json_t *list, const char *text, size_t len)
{
	enum col cols[CSV_CELLS_MAX];
	static const enum col extmail[] = {C_NAME,  C_EMAIL, C_NICK, C_COMPANY,
					   C_PHONE, C_GROUP, C_NOTES};
	for (size_t i = 0; i < CSV_CELLS_MAX; i++)
		cols[i] = i < 7 ? extmail[i] : C_NONE;
	struct csv_reader rd;
	csv_reader_init(&rd, text, len, CSV_CELLS_MAX, CSV_CELL_MAX, false);
	struct csv_row row;
	size_t added = 0;
	bool first = true;
	const char *why;
	int rc;
	while ((rc = csv_read(&rd, &row, &why)) != 0) {
		if (rc < 0)
			continue;
		if (first) {
			first = false;
			bool header = false;
			for (size_t i = 0; i < row.n; i++)
				if (column(row.cell[i]) == C_EMAIL)
					header = true;
			if (header) {
				for (size_t i = 0; i < CSV_CELLS_MAX; i++)
					cols[i] = i < row.n
						      ? column(row.cell[i])
						      : C_NONE;
				csv_row_free(&row);
				continue;
			}
		}
		const char *v[10] = {0};
		for (size_t i = 0; i < row.n; i++)
			if (cols[i] != C_NONE && v[cols[i]] == NULL &&
			    row.cell[i][0] != '\0')
				v[cols[i]] = csv_unguard(row.cell[i]);
		char name[2 * WM_FIELD_MAX + 2] = "";
		if (v[C_NAME] != NULL)
			snprintf(name, sizeof name, "%s", v[C_NAME]);
		else if (v[C_FIRST] != NULL || v[C_LAST] != NULL)
			snprintf(name, sizeof name, "%s%s%s",
				 v[C_FIRST] ? v[C_FIRST] : "",
				 v[C_FIRST] && v[C_LAST] ? " " : "",
				 v[C_LAST] ? v[C_LAST] : "");
		char id[17];
		if (v[C_EMAIL] != NULL && email_ok(v[C_EMAIL]) &&
		    !has_email(list, v[C_EMAIL]) &&
		    json_array_size(list) < WM_CONTACTS_MAX &&
		    new_id(id) == 0) {
			json_t *c = contact_new(id);
			const char *vals[] = {
			    name,	v[C_EMAIL], v[C_NICK], v[C_COMPANY],
			    v[C_PHONE], v[C_GROUP], v[C_NOTES]};
			bool ok = true;
			for (size_t i = 0; fields[i] != NULL; i++) {
				const char *x = vals[i] ? vals[i] : "";
				if (!field_ok(x, i == 6) ||
				    json_object_set_new(c, fields[i],
							json_string(x)) < 0)
					ok = false;
			}
			if (ok) {
				json_array_append(list, c);
				added++;
			}
			json_decref(c);
		}
		csv_row_free(&row);
	}
	return added;
}

/* The caller's book: a new reference to its "contacts" array, or NULL
   (logged) when the file is unreadable. */
static json_t *abook_load(const char *maildir)
{
	json_t *list;
	int rc = wm_listfile_load(maildir, WM_ABOOK_FILE, "contacts",
				  WM_ABOOK_MAX, &list);
	if (rc != 0)
		return list;
	/* none yet: ExtMail's abook.cf, when there is one */
	char path[4200];
	char *data = NULL;
	size_t len = 0;
	list = json_array();
	if (abook_path(maildir, "abook.cf", path, sizeof path) == 0 &&
	    file_read(path, WM_CSV_MAX, O_NOFOLLOW, &data, &len, NULL) == 1)
		(void)csv_import(list, data, len);
	free(data);
	return list;
}

static int abook_save(const char *maildir, json_t *list)
{
	return wm_listfile_save(maildir, WM_ABOOK_FILE, "contacts", list,
				WM_ABOOK_MAX);
}

/* Runs a change under the book's dotlock: load, fn, save. */
static bool abook_lock(struct http_req *req, char *lock, size_t locksz)
{
	const struct wm_caller *me = wm_caller(req);
	if (abook_path(me->acct.maildir, WM_ABOOK_FILE ".lock", lock, locksz) <
		0 ||
	    file_dotlock(lock, 5000, 30) < 0) {
		webjson_error(req, 503, "busy",
			      "the address book is busy, try again", NULL);
		return false;
	}
	return true;
}

/* The caller's book for a request, as abook_load(); NULL after replying
   500. */
static json_t *abook_get(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	json_t *list = abook_load(me->acct.maildir);
	if (list == NULL)
		webjson_error(req, 500, "internal",
			      "the address book cannot be read", NULL);
	return list;
}

/* abook_lock(), then abook_get(): NULL after replying, unlocked. */
static json_t *abook_open(struct http_req *req, char *lock, size_t locksz)
{
	if (!abook_lock(req, lock, locksz))
		return NULL;
	json_t *list = abook_get(req);
	if (list == NULL)
		file_dotunlock(lock);
	return list;
}

static void reply_saved(struct http_req *req, json_t *list, json_t *extra)
{
	const struct wm_caller *me = wm_caller(req);
	if (abook_save(me->acct.maildir, list) < 0) {
		log_warning("webmail: %s: cannot write the address book: %s",
			    me->acct.user, strerror(errno));
		webjson_error(req, 500, "internal",
			      "the address book cannot be saved", NULL);
		json_decref(extra);
		return;
	}
	webjson_reply(req, 200, extra != NULL ? extra : json_object());
}

static json_t *groups_of(json_t *list)
{
	json_t *g = json_array();
	size_t i, k;
	json_t *c, *x;
	json_array_foreach(list, i, c)
	{
		const char *s = json_string_value(json_object_get(c, "group"));
		if (s == NULL || s[0] == '\0')
			continue;
		bool seen = false;
		json_array_foreach(g, k, x) if (strcmp(json_string_value(x),
						       s) == 0) seen = true;
		if (!seen)
			json_array_append_new(g, json_string(s));
	}
	return g;
}

/* GET /api/contacts -> {"contacts": [...], "groups": [...]} */
void wm_contacts_list(struct http_req *req)
{
	json_t *list = abook_get(req);
	if (list == NULL)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "groups", groups_of(list));
	json_object_set_new(o, "contacts", list);
	webjson_reply(req, 200, o);
}

/* Copies the request's fields into c; email required when need_email.
   Returns 0, or -1 after a 400. */
static int take_fields(struct http_req *req, json_t *in, json_t *c,
		       bool need_email)
{
	for (size_t i = 0; fields[i] != NULL; i++) {
		const char *v = NULL;
		int rc;
		if (i == 6) {
			/* notes may hold line breaks, which webjson's
			   getter refuses */
			json_t *n = json_object_get(in, "notes");
			rc = n == NULL ? 0 : json_is_string(n) ? 1 : -2;
			v = json_string_value(n);
			if (rc == 1 && strlen(v) != json_string_length(n))
				rc = -2; /* a NUL */
		} else {
			rc = webjson_get_str(req, in, fields[i],
					     need_email && i == 1, WM_FIELD_MAX,
					     &v);
		}
		if (rc == -2) {
			webjson_error(req, 400, "invalid", "not a string",
				      "notes");
			return -1;
		}
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		if ((i == 1 && !email_ok(v)) || !field_ok(v, i == 6)) {
			webjson_error(req, 400, "invalid", "bad value",
				      fields[i]);
			return -1;
		}
		json_object_set_new(c, fields[i], json_string(v));
	}
	return 0;
}

/* the fields a contact is written with (POST and PUT /api/contacts) */
static const char *const contact_keys[] = {"name",  "email", "nick",  "company",
					   "phone", "group", "notes", NULL};

static json_t *find_id(json_t *list, const char *id, size_t *idx_r)
{
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *x = json_string_value(json_object_get(c, "id"));
		if (x != NULL && strcmp(x, id) == 0) {
			*idx_r = i;
			return c;
		}
	}
	return NULL;
}

/* POST /api/contacts {"name", "email", ...} -> the contact */
void wm_contacts_add(struct http_req *req)
{
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	char lock[4300], id[17];
	json_t *list = NULL;
	if (webjson_only(req, in, contact_keys) < 0 ||
	    (list = abook_open(req, lock, sizeof lock)) == NULL) {
		json_decref(in);
		return;
	}
	json_t *c = NULL;
	if (json_array_size(list) >= WM_CONTACTS_MAX) {
		webjson_error(req, 409, "full", "the address book is full",
			      NULL);
	} else if (new_id(id) < 0) {
		webjson_error(req, 500, "internal", "no random bytes", NULL);
	} else {
		c = contact_new(id);
		if (take_fields(req, in, c, true) == 0) {
			const char *e =
			    json_string_value(json_object_get(c, "email"));
			if (has_email(list, e)) {
				webjson_error(req, 409, "exists",
					      "this address is in the address "
					      "book already",
					      "email");
			} else {
				json_array_append(list, c);
				reply_saved(req, list, json_incref(c));
			}
		}
	}
	json_decref(c);
	json_decref(list);
	file_dotunlock(lock);
	json_decref(in);
}

/* PUT /api/contacts/{id} {fields to change} */
void wm_contacts_edit(struct http_req *req)
{
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	char lock[4300];
	json_t *list = NULL;
	if (webjson_only(req, in, contact_keys) < 0 ||
	    (list = abook_open(req, lock, sizeof lock)) == NULL) {
		json_decref(in);
		return;
	}
	size_t idx = 0;
	json_t *c = find_id(list, http_req_param(req, 0), &idx);
	if (c == NULL) {
		webjson_error(req, 404, "not_found", "no such contact", NULL);
	} else {
		json_t *copy = json_deep_copy(c);
		if (take_fields(req, in, copy, false) == 0) {
			json_array_set(list, idx, copy);
			reply_saved(req, list, json_incref(copy));
		}
		json_decref(copy);
	}
	json_decref(list);
	file_dotunlock(lock);
	json_decref(in);
}

/* DELETE /api/contacts/{id} */
void wm_contacts_delete(struct http_req *req)
{
	char lock[4300];
	json_t *list = abook_open(req, lock, sizeof lock);
	if (list == NULL)
		return;
	size_t idx = 0;
	if (find_id(list, http_req_param(req, 0), &idx) == NULL)
		webjson_error(req, 404, "not_found", "no such contact", NULL);
	else if (json_array_remove(list, idx) == 0)
		reply_saved(req, list, NULL);
	json_decref(list);
	file_dotunlock(lock);
}

/* POST /api/contacts/import {"csv": "<text>"} -> {"added": n} */
void wm_contacts_import(struct http_req *req)
{
	size_t blen = 0;
	const char *body = http_req_body(req, &blen);
	char err[128];
	json_t *in = webjson_parse_object(body, blen, err, sizeof err);
	if (in == NULL) {
		webjson_error(req, 400, "invalid", err, NULL);
		return;
	}
	json_t *csv = json_object_get(in, "csv");
	static const char *const allowed[] = {"csv", NULL};
	char lock[4300];
	if (webjson_only(req, in, allowed) < 0) {
		json_decref(in);
		return;
	}
	if (!json_is_string(csv) || json_string_length(csv) > WM_CSV_MAX) {
		webjson_error(req, 400, "invalid", "csv: a text up to 4 MiB",
			      "csv");
		json_decref(in);
		return;
	}
	json_t *list = abook_open(req, lock, sizeof lock);
	if (list == NULL) {
		json_decref(in);
		return;
	}
	size_t n =
	    csv_import(list, json_string_value(csv), json_string_length(csv));
	json_t *o = json_object();
	json_object_set_new(o, "added", json_integer((json_int_t)n));
	reply_saved(req, list, o);
	json_decref(list);
	file_dotunlock(lock);
	json_decref(in);
}

/* GET /api/contacts.csv: a download, Outlook's column names */
void wm_contacts_export(struct http_req *req)
{
	json_t *list = abook_get(req);
	if (list == NULL)
		return;
	static const char *const head[] = {
	    "Name",	    "E-mail Address", "Nickname", "Company",
	    "Mobile Phone", "Categories",     "Notes"};
	struct buf b;
	buf_init(&b, 2 * WM_ABOOK_MAX);
	int rc = buf_append_str(&b, "\xef\xbb\xbf"); /* Excel wants a BOM */
	for (size_t i = 0; i < 7; i++)
		rc |= csv_put(&b, head[i], i + 1 == 7);
	size_t k;
	json_t *c;
	json_array_foreach(list, k, c)
	{
		for (size_t i = 0; fields[i] != NULL; i++) {
			const char *v =
			    json_string_value(json_object_get(c, fields[i]));
			rc |= csv_put(&b, v != NULL ? v : "",
				      fields[i + 1] == NULL);
		}
	}
	json_decref(list);
	if (rc != 0) {
		webjson_error(req, 500, "internal", "address book too large",
			      NULL);
	} else {
		http_reply_header(req, "Content-Disposition",
				  "attachment; filename=\"contacts.csv\"");
		http_reply_raw(req, 200, "text/csv; charset=utf-8", b.p, b.len);
	}
	buf_deinit(&b);
}

/* GET /api/directory -> {"domain", "entries": [{"address", "name"}],
   "truncated"}: the active mailboxes of the caller's own domain. */
void wm_directory(struct http_req *req)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	const char *at = strrchr(me->acct.user, '@');
	if (at == NULL || at[1] == '\0') {
		webjson_error(req, 404, "not_found", "no domain", NULL);
		return;
	}
	struct authc_reply r = {0};
	enum authc_status st =
	    authc_lookup_directory(wm->authd_socket, at + 1, &r);
	if (st == AUTHC_TEMPFAIL) {
		authc_reply_free(&r);
		webjson_error(req, 503, "unavailable",
			      "youju-authd did not answer, try again later",
			      NULL);
		return;
	}
	json_t *list = json_array();
	bool truncated = false;
	for (size_t i = 0; i < r.n; i++) {
		if (strcmp(r.kv[i].key, "TRUNCATED") == 0)
			truncated = true;
		if (strcmp(r.kv[i].key, "ENTRY") != 0)
			continue;
		const char *v = r.kv[i].value;
		const char *sp = strchr(v, ' ');
		size_t al = sp != NULL ? (size_t)(sp - v) : strlen(v);
		json_t *e = json_object();
		json_object_set_new(e, "address", json_stringn(v, al));
		json_object_set_new(e, "name",
				    json_string(sp != NULL ? sp + 1 : ""));
		if (json_object_get(e, "address") == NULL ||
		    json_object_get(e, "name") == NULL)
			json_decref(e); /* not UTF-8: skipped */
		else
			json_array_append_new(list, e);
	}
	authc_reply_free(&r);
	json_t *o = json_object();
	json_object_set_new(o, "domain", json_string(at + 1));
	json_object_set_new(o, "entries", list);
	json_object_set_new(o, "truncated", json_boolean(truncated));
	webjson_reply(req, 200, o);
}
