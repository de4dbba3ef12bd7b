/*
 * CSV export and import of a domain's mailboxes and aliases (issue 11).
 *
 *   GET  /api/domains/{d}/export?type=mailboxes|aliases      -> text/csv
 *   POST /api/domains/{d}/import?type=mailboxes|aliases[&dry_run=1]
 *
 * An import is checked whole before anything is written: every bad row is
 * reported with its line, field and reason (the dry run stops there), and
 * the rows are then written in one transaction, all or none, with the
 * domain row locked.  Clear-text passwords are hashed (SHA-512-crypt) by a
 * few threads at once; a value that already is a crypt(3) hash ("$6$...",
 * "$1$..." as in an ExtMail dump) is stored as it is.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "csv.h"
#include "extmail_sql.h"
#include "log.h"
#include "pwhash.h"
#include "record.h"
#include "wa.h"
#include "webjson.h"
#include "xalloc.h"

#define EXPORT_MAX   (64u << 20)
#define HASH_THREADS 4
#define ERRORS_SHOWN 1000
/* an import's columns and the bytes of one field, at most */
#define WA_CSV_FIELDS_MAX 32
#define WA_CSV_FIELD_MAX  1024

static const char *const export_mailbox_cols[] = {
    "username",	    "uid",	   "name",	     "quota",
    "netdiskquota", "expiredate",  "active",	     "disablepwdchange",
    "disablesmtpd", "disablesmtp", "disablewebmail", "disablenetdisk",
    "disableimap",  "disablepop3", "mailhost",	     NULL,
};

static bool want_type(struct http_req *req, bool *mailboxes_r)
{
	const char *t = http_req_query(req, "type");
	if (t != NULL && strcmp(t, "mailboxes") == 0)
		*mailboxes_r = true;
	else if (t != NULL && strcmp(t, "aliases") == 0)
		*mailboxes_r = false;
	else {
		webjson_error(req, 400, "invalid", "type: mailboxes or aliases",
			      "type");
		return false;
	}
	return true;
}

/* ---- export ---- */

static int export_mailboxes(struct http_req *req, struct sqlconn *c,
			    const char *domain, struct buf *out)
{
	for (size_t i = 0; export_mailbox_cols[i] != NULL; i++)
		if (csv_put(out, export_mailbox_cols[i],
			    export_mailbox_cols[i + 1] == NULL) < 0)
			return -1;
	char after[EXTMAIL_ADDRESS_MAX + 1] = "";
	for (;;) {
		struct sqlresult res;
		memset(&res, 0, sizeof res);
		const char *args[2] = {domain, after};
		if (wa_q(req, c,
			 "SELECT " EXTMAIL_MAILBOX_SELECT " FROM mailbox FORCE "
			 "INDEX (youju_domain_user) WHERE domain = ? AND "
			 "username > ? ORDER BY username LIMIT 5000",
			 args, 2, &res) < 0)
			return -2;
		for (size_t r = 0; r < res.nrows; r++) {
			const struct sqlrow *row = &res.rows[r];
			for (size_t i = 0; export_mailbox_cols[i] != NULL;
			     i++) {
				const char *n = export_mailbox_cols[i];
				const char *v =
				    extmail_col(extmail_mailbox_cols, row, n);
				char num[24];
				if (strcmp(n, "quota") == 0 ||
				    strcmp(n, "netdiskquota") == 0) {
					uint64_t b = 0;
					(void)extmail_quota_bytes(v, &b);
					snprintf(num, sizeof num, "%llu",
						 (unsigned long long)b);
					v = num;
				}
				if (csv_put(out, v != NULL ? v : "",
					    export_mailbox_cols[i + 1] ==
						NULL) < 0) {
					sqlresult_free(&res);
					return -1;
				}
			}
		}
		size_t n = res.nrows;
		if (n > 0)
			snprintf(after, sizeof after, "%s",
				 res.rows[n - 1].cols[0] != NULL
				     ? res.rows[n - 1].cols[0]
				     : "");
		sqlresult_free(&res);
		if (n < 5000)
			return 0;
	}
}

static int export_aliases(struct http_req *req, struct sqlconn *c,
			  const char *domain, struct buf *out)
{
	if (csv_put(out, "address", 0) < 0 || csv_put(out, "goto", 0) < 0 ||
	    csv_put(out, "active", 1) < 0)
		return -1;
	char after[EXTMAIL_ADDRESS_MAX + 1] = "";
	for (;;) {
		struct sqlresult res;
		memset(&res, 0, sizeof res);
		const char *args[2] = {domain, after};
		if (wa_q(req, c,
			 "SELECT address, goto, active FROM alias WHERE "
			 "domain = ? AND address > ? ORDER BY address "
			 "LIMIT 5000",
			 args, 2, &res) < 0)
			return -2;
		for (size_t r = 0; r < res.nrows; r++) {
			char **v = res.rows[r].cols;
			if (csv_put(out, v[0] ? v[0] : "", 0) < 0 ||
			    csv_put(out, v[1] ? v[1] : "", 0) < 0 ||
			    csv_put(out, v[2] ? v[2] : "1", 1) < 0) {
				sqlresult_free(&res);
				return -1;
			}
		}
		size_t n = res.nrows;
		if (n > 0)
			snprintf(after, sizeof after, "%s",
				 res.rows[n - 1].cols[0]
				     ? res.rows[n - 1].cols[0]
				     : "");
		sqlresult_free(&res);
		if (n < 5000)
			return 0;
	}
}

void wa_export(struct http_req *req)
{
	const char *domain = http_req_param(req, 0);
	bool mailboxes;
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		return;
	if (!wa_can_domain(req, c, domain) || !want_type(req, &mailboxes)) {
		wa_db_put(req, &c, false);
		return;
	}
	struct buf out;
	buf_init(&out, EXPORT_MAX);
	int rc = mailboxes ? export_mailboxes(req, c, domain, &out)
			   : export_aliases(req, c, domain, &out);
	wa_db_put(req, &c, false);
	if (rc == -1)
		webjson_error(req, 500, "internal", "export too large", NULL);
	if (rc == 0) {
		char disp[400];
		snprintf(disp, sizeof disp,
			 "attachment; filename=\"%s-%s.csv\"", domain,
			 mailboxes ? "mailboxes" : "aliases");
		http_reply_header(req, "Content-Disposition", disp);
		http_reply_raw(req, 200, "text/csv; charset=utf-8",
			       buf_cstr(&out), out.len);
	}
	buf_deinit(&out);
}

/* ---- import ---- */

struct irow {
	struct record m; /* mailboxes */
	char *address;	 /* mailbox or alias address */
	char *password;	 /* clear text (wiped) or a stored hash */
	char *hash;	 /* made by the hash threads */
	char *goto_text; /* aliases: the comma list */
	bool active;
	size_t line;
};

struct report {
	json_t *errors;
	size_t nerr;
};

static void row_error(struct report *rep, size_t line, const char *field,
		      const char *msg)
{
	rep->nerr++;
	if (json_array_size(rep->errors) >= ERRORS_SHOWN)
		return;
	json_t *e = json_object();
	json_object_set_new(e, "line", json_integer((json_int_t)line));
	json_t *f = field != NULL ? json_string(field) : NULL;
	json_object_set_new(e, "field", f != NULL ? f : json_null());
	json_t *m = json_string(msg);
	json_object_set_new(e, "message", m != NULL ? m : json_string("bad"));
	json_array_append_new(rep->errors, e);
}

static bool is_stored_hash(const char *p)
{
	return (p[0] == '$' && strlen(p) > 20 &&
		strcmp(pwhash_scheme_name(p), "unknown") != 0 &&
		strcmp(pwhash_scheme_name(p), "plain") != 0);
}

struct hash_job {
	struct irow *rows;
	size_t n;
	size_t next;
	pthread_mutex_t lock;
	bool failed;
};

static void *hash_main(void *arg)
{
	struct hash_job *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->lock);
		size_t i = j->next++;
		pthread_mutex_unlock(&j->lock);
		if (i >= j->n)
			return NULL;
		struct irow *r = &j->rows[i];
		if (r->password == NULL || is_stored_hash(r->password))
			continue;
		const char *err = NULL;
		r->hash = pwhash_make(r->password, "sha512-crypt", &err);
		if (r->hash == NULL)
			j->failed = true;
	}
}

static int hash_all(struct irow *rows, size_t n)
{
	struct hash_job j = {rows, n, 0, PTHREAD_MUTEX_INITIALIZER, false};
	pthread_t t[HASH_THREADS];
	size_t started = 0;
	for (; started < HASH_THREADS; started++)
		if (pthread_create(&t[started], NULL, hash_main, &j) != 0)
			break;
	if (started == 0)
		hash_main(&j);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return j.failed ? -1 : 0;
}

static int col_of(const struct csv_row *hdr, const char *name)
{
	for (size_t i = 0; i < hdr->n; i++)
		if (strcmp(hdr->cell[i], name) == 0)
			return (int)i;
	return -1;
}

/* Validates the mailbox rows into rows[]; running totals against the
   domain's limits.  Returns the number of rows. */
static size_t check_mailboxes(struct http_req *req, struct sqlconn *c,
			      const struct csv_table *t, const struct record *d,
			      struct irow *rows, struct report *rep, int *fail)
{
	const struct wa_caller *me = wa_caller(req);
	const struct csv_row *hdr = &t->rows[0];
	const char *domain = rec_get(d, "domain");
	int c_uid = col_of(hdr, "uid"), c_user = col_of(hdr, "username");
	int c_pw = col_of(hdr, "password");
	if (c_uid < 0 && c_user < 0) {
		row_error(rep, hdr->line, "uid",
			  "a uid or username column "
			  "is required");
		return 0;
	}
	if (c_pw < 0) {
		row_error(rep, hdr->line, "password",
			  "a password column is required");
		return 0;
	}
	for (size_t k = 0; k < hdr->n; k++) {
		const char *n = hdr->cell[k];
		if (strcmp(n, "uid") == 0 || strcmp(n, "username") == 0 ||
		    strcmp(n, "password") == 0)
			continue;
		const char *err = NULL;
		struct record probe;
		rec_init(&probe, extmail_mailbox_cols, wa_mailbox_fields);
		int bad = rec_apply_text(&probe, n, "0", &err) < 0 &&
			  strcmp(err, "unknown or read-only column") == 0;
		rec_deinit(&probe);
		if (bad) {
			row_error(rep, hdr->line, n, "unknown column");
			return 0;
		}
	}
	struct wa_stats use;
	if (wa_mailbox_usage(req, c, domain, &use) < 0) {
		*fail = 1;
		return 0;
	}
	int64_t users = use.users, qsum = use.quota, nsum = use.netdiskquota;
	int64_t maxusers = rec_int(d, "maxusers");
	uint64_t maxq = rec_quota(d, "maxquota");
	uint64_t maxn = rec_quota(d, "maxnetdiskquota");
	const char *dexp = rec_get(d, "expiredate");
	size_t n = 0;
	for (size_t i = 1; i < t->n; i++) {
		const struct csv_row *row = &t->rows[i];
		size_t line = row->line;
		if (row->n != hdr->n) {
			row_error(rep, line, NULL,
				  "not as many fields as the header");
			continue;
		}
		char *local = NULL;
		if (c_uid >= 0)
			local = wa_lower(row->cell[c_uid]);
		else {
			local = wa_lower(row->cell[c_user]);
			char *at = strrchr(local, '@');
			if (at == NULL || strcmp(at + 1, domain) != 0) {
				row_error(rep, line, "username",
					  "not an address of this domain");
				free(local);
				continue;
			}
			*at = '\0';
		}
		if (!extmail_local_valid(local)) {
			row_error(rep, line, c_uid >= 0 ? "uid" : "username",
				  "not a valid local part");
			free(local);
			continue;
		}
		const char *pw = row->cell[c_pw];
		if (!is_stored_hash(pw) &&
		    (strlen(pw) < 8 || strlen(pw) > 256)) {
			row_error(rep, line, "password",
				  "8 to 256 characters, or a crypt(3) hash");
			free(local);
			continue;
		}
		struct irow *r = &rows[n];
		memset(r, 0, sizeof *r);
		r->line = line;
		rec_init(&r->m, extmail_mailbox_cols, wa_mailbox_fields);
		wa_mailbox_defaults(&r->m, d, local, domain);
		free(local);
		bool ok = true;
		for (size_t k = 0; k < hdr->n && ok; k++) {
			const char *name = hdr->cell[k];
			if ((int)k == c_uid || (int)k == c_user ||
			    (int)k == c_pw)
				continue;
			const char *err = NULL;
			if (rec_apply_text(&r->m, name,
					   csv_unguard(row->cell[k]),
					   &err) < 0) {
				row_error(rep, line, name, err);
				ok = false;
			}
		}
		/* the domain's rules, on running totals */
		uint64_t q = rec_quota(&r->m, "quota");
		uint64_t nd = rec_quota(&r->m, "netdiskquota");
		const char *mexp = rec_get(&r->m, "expiredate");
		if (ok && maxusers > 0 && users + 1 > maxusers) {
			row_error(rep, line, "maxusers",
				  "the domain's maximum number of mailboxes");
			ok = false;
		}
		if (ok && maxq > 0 && (q == 0 || (uint64_t)qsum + q > maxq)) {
			row_error(rep, line, "quota",
				  "over the domain's maxquota");
			ok = false;
		}
		if (ok && maxn > 0 && (nd == 0 || (uint64_t)nsum + nd > maxn)) {
			row_error(rep, line, "netdiskquota",
				  "over the domain's maxnetdiskquota");
			ok = false;
		}
		if (ok && dexp != NULL && strcmp(dexp, "0000-00-00") != 0 &&
		    mexp != NULL &&
		    (strcmp(mexp, "0000-00-00") == 0 ||
		     strcmp(mexp, dexp) > 0)) {
			row_error(rep, line, "expiredate",
				  "after the domain's expiredate");
			ok = false;
		}
		for (size_t s = 0; ok && !me->admin && wa_services[s]; s++)
			if (rec_int(d, wa_services[s]) == 1 &&
			    rec_int(&r->m, wa_services[s]) != 1) {
				row_error(rep, line, wa_services[s],
					  "the domain disables this service");
				ok = false;
			}
		r->address = xstrdup(rec_get(&r->m, "username"));
		if (ok) {
			int64_t exists = 0;
			const char *a[2] = {r->address, r->address};
			if (wa_q_int(req, c,
				     "SELECT (SELECT COUNT(*) FROM mailbox "
				     "WHERE username = ?) + (SELECT COUNT(*) "
				     "FROM alias WHERE address = ?)",
				     a, 2, &exists) < 0) {
				*fail = 1;
				rec_deinit(&r->m);
				free(r->address);
				return n;
			}
			if (exists > 0) {
				row_error(rep, line, "uid",
					  "the address exists already");
				ok = false;
			}
		}
		if (!ok) {
			rec_deinit(&r->m);
			free(r->address);
			continue;
		}
		r->password = xstrdup(pw);
		users++;
		qsum += (int64_t)q;
		nsum += (int64_t)nd;
		n++;
	}
	return n;
}

static int cmp_irow(const void *a, const void *b)
{
	const struct irow *x = a, *y = b;
	return strcmp(x->address, y->address);
}

/* Aliases: address, goto (addresses split on , ; space or newline),
   optional active. */
static size_t check_aliases(struct http_req *req, struct sqlconn *c,
			    const struct csv_table *t, const struct record *d,
			    struct irow *rows, struct report *rep, int *fail)
{
	const struct csv_row *hdr = &t->rows[0];
	const char *domain = rec_get(d, "domain");
	int c_addr = col_of(hdr, "address"), c_goto = col_of(hdr, "goto");
	int c_act = col_of(hdr, "active");
	if (c_addr < 0 || c_goto < 0) {
		row_error(rep, hdr->line, c_addr < 0 ? "address" : "goto",
			  "address and goto columns are required");
		return 0;
	}
	int64_t have = 0, max = rec_int(d, "maxalias");
	const char *dargs[1] = {domain};
	if (wa_q_int(req, c, "SELECT COUNT(*) FROM alias WHERE domain = ?",
		     dargs, 1, &have) < 0) {
		*fail = 1;
		return 0;
	}
	size_t n = 0;
	for (size_t i = 1; i < t->n; i++) {
		const struct csv_row *row = &t->rows[i];
		size_t line = row->line;
		if (row->n != hdr->n) {
			row_error(rep, line, NULL,
				  "not as many fields as the header");
			continue;
		}
		char *a = wa_lower(csv_unguard(row->cell[c_addr]));
		if (strchr(a, '@') == NULL) {
			size_t l = strlen(a) + strlen(domain) + 2;
			char *full = xmalloc(l);
			snprintf(full, l, "%s@%s", a, domain);
			free(a);
			a = full;
		}
		char *at = strrchr(a, '@');
		bool ok = strcmp(at + 1, domain) == 0;
		if (ok && at > a) {
			*at = '\0';
			ok = extmail_local_valid(a);
			*at = '@';
		}
		if (!ok) {
			row_error(rep, line, "address",
				  "local@domain of this domain, or @domain");
			free(a);
			continue;
		}
		struct buf g;
		buf_init(&g, 65535);
		const char *p = row->cell[c_goto];
		while (*p != '\0' && ok) {
			size_t len = strcspn(p, ",; \t\r\n");
			if (len > 0) {
				char *tgt = xmemdup0(p, len);
				char *tat = strrchr(tgt, '@');
				char *dom =
				    tat != NULL ? wa_lower(tat + 1) : NULL;
				ok = tat != NULL && tat > tgt &&
				     extmail_domain_valid(dom) &&
				     strpbrk(tgt, "\"<>\\") == NULL &&
				     (g.len == 0 ||
				      buf_append_char(&g, ',') == 0) &&
				     buf_append(&g, tgt, len) == 0;
				free(dom);
				free(tgt);
			}
			p += len;
			if (*p != '\0')
				p++;
		}
		if (!ok || g.len == 0) {
			row_error(rep, line, "goto", "a list of addresses");
			buf_deinit(&g);
			free(a);
			continue;
		}
		bool active = true;
		if (c_act >= 0) {
			const char *v = row->cell[c_act];
			if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
			    strcmp(v, "no") == 0)
				active = false;
			else if (!(strcmp(v, "1") == 0 ||
				   strcmp(v, "true") == 0 ||
				   strcmp(v, "yes") == 0 || v[0] == '\0')) {
				row_error(rep, line, "active", "0 or 1");
				buf_deinit(&g);
				free(a);
				continue;
			}
		}
		if (max > 0 && have + 1 > max) {
			row_error(rep, line, "maxalias",
				  "the domain's maximum number of aliases");
			buf_deinit(&g);
			free(a);
			continue;
		}
		int64_t exists = 0;
		const char *qa[2] = {a, a};
		if (wa_q_int(req, c,
			     "SELECT (SELECT COUNT(*) FROM mailbox WHERE "
			     "username = ?) + (SELECT COUNT(*) FROM alias "
			     "WHERE address = ?)",
			     qa, 2, &exists) < 0) {
			*fail = 1;
			buf_deinit(&g);
			free(a);
			return n;
		}
		if (exists > 0) {
			row_error(rep, line, "address",
				  "the address exists already");
			buf_deinit(&g);
			free(a);
			continue;
		}
		struct irow *r = &rows[n++];
		memset(r, 0, sizeof *r);
		r->line = line;
		r->address = a;
		r->goto_text = xstrdup(buf_cstr(&g));
		r->active = active;
		buf_deinit(&g);
		have++;
	}
	return n;
}

static void free_rows(struct irow *rows, size_t n, bool mailboxes)
{
	for (size_t i = 0; i < n; i++) {
		if (mailboxes)
			rec_deinit(&rows[i].m);
		free(rows[i].address);
		if (rows[i].password != NULL) {
			explicit_bzero(rows[i].password,
				       strlen(rows[i].password));
			free(rows[i].password);
		}
		if (rows[i].hash != NULL) {
			explicit_bzero(rows[i].hash, strlen(rows[i].hash));
			free(rows[i].hash);
		}
		free(rows[i].goto_text);
	}
	free(rows);
}

void wa_import(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	const char *domain = http_req_param(req, 0);
	const char *dr = http_req_query(req, "dry_run");
	bool dry =
	    dr != NULL && (strcmp(dr, "1") == 0 || strcmp(dr, "true") == 0);
	bool mailboxes = true;
	struct csv_table t = {NULL, 0};
	struct record d;
	rec_init(&d, extmail_domain_cols, wa_mailbox_fields);
	struct irow *rows = NULL;
	size_t n = 0;
	struct report rep = {json_array(), 0};
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		goto out;
	if (!wa_can_domain(req, c, domain) || !want_type(req, &mailboxes))
		goto out;
	size_t len;
	const char *body = http_req_body(req, &len);
	char err[200];
	if (csv_parse(body, len, WA_CSV_FIELDS_MAX, WA_CSV_FIELD_MAX, &t, err,
		      sizeof err) < 0) {
		webjson_error(req, 400, "bad_csv", err, NULL);
		goto out;
	}
	if (t.n < 1) {
		webjson_error(req, 400, "bad_csv", "no header line", NULL);
		goto out;
	}
	if (wa_begin(req, c) < 0)
		goto out;
	if (wa_lock_domain(req, c, domain, &d, true) != 1)
		goto rollback;
	rows = xcalloc(t.n, sizeof *rows);
	int fail = 0;
	n = mailboxes ? check_mailboxes(req, c, &t, &d, rows, &rep, &fail)
		      : check_aliases(req, c, &t, &d, rows, &rep, &fail);
	if (fail)
		goto rollback;
	/* the same address twice in the file */
	if (n > 1) {
		qsort(rows, n, sizeof *rows, cmp_irow);
		for (size_t i = 1; i < n; i++)
			if (strcmp(rows[i].address, rows[i - 1].address) == 0)
				row_error(&rep, rows[i].line,
					  mailboxes ? "uid" : "address",
					  "the same address twice in the file");
	}
	json_t *o = json_object();
	json_object_set_new(o, "dry_run", json_boolean(dry));
	json_object_set_new(o, "rows", json_integer((json_int_t)(t.n - 1)));
	json_object_set_new(o, "valid", json_integer((json_int_t)n));
	json_object_set_new(o, "error_count",
			    json_integer((json_int_t)rep.nerr));
	json_object_set_new(o, "errors", json_incref(rep.errors));
	if (dry || rep.nerr > 0) {
		sqlconn_rollback(c);
		json_object_set_new(o, "imported", json_integer(0));
		webjson_reply(req, rep.nerr > 0 && !dry ? 422 : 200, o);
		goto out;
	}
	if (mailboxes && hash_all(rows, n) < 0) {
		json_decref(o);
		webjson_error(req, 500, "internal", "cannot hash", "password");
		goto rollback;
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct irow *r = &rows[i];
		if (mailboxes) {
			rec_set(&r->m, "password",
				r->hash != NULL ? r->hash : r->password);
			rc = wa_q(req, c,
				  "INSERT INTO mailbox (" EXTMAIL_MAILBOX_SELECT
				  ") VALUES (" EXTMAIL_MAILBOX_MARKS ")",
				  rec_args(&r->m), r->m.n, NULL);
		} else {
			char now[20];
			wa_now(now);
			const char *a[] = {r->address, r->goto_text, domain,
					   now, r->active ? "1" : "0"};
			rc = wa_q(req, c,
				  "INSERT INTO alias (" EXTMAIL_ALIAS_SELECT
				  ") VALUES (" EXTMAIL_ALIAS_MARKS ")",
				  a, 5, NULL);
		}
	}
	if (rc == 0) {
		json_t *after = json_object();
		json_object_set_new(after, "count",
				    json_integer((json_int_t)n));
		json_object_set_new(
		    after, "type",
		    json_string(mailboxes ? "mailboxes" : "aliases"));
		rc = wa_audit(req, c,
			      mailboxes ? "mailbox.import" : "alias.import",
			      domain, NULL, after);
		json_decref(after);
	}
	if (rc == 0)
		rc = wa_commit(req, c);
	if (rc < 0) {
		json_decref(o);
		goto rollback;
	}
	json_object_set_new(o, "imported", json_integer((json_int_t)n));
	wa_authd_flush(wa, domain);
	webjson_reply(req, 200, o);
	goto out;
rollback:
	sqlconn_rollback(c);
out:
	wa_db_put(req, &c, false);
	if (rows != NULL)
		free_rows(rows, n, mailboxes);
	json_decref(rep.errors);
	rec_deinit(&d);
	csv_free(&t);
}
