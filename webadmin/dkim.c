/*
 * DKIM keys of a domain in the console (DESIGN §10, docs/mta.md "DKIM"):
 *
 *   GET    /api/domains/{d}/dkim        the keys and the DNS records
 *   POST   /api/domains/{d}/dkim        a new key {"selector", "algorithm"}
 *   DELETE /api/domains/{d}/dkim/{sel}  retire a key (end of a rotation)
 *
 * The keys are the files of `youju dkim keygen` (lib/dkimkey): this
 * daemon runs as mail_owner, which owns dkim_key_directory when the keys
 * were made by `youju dkim` or here.  Rotating is: add a key under a new
 * selector, publish its record, wait for the DNS, then delete the old one;
 * youju-mta signs with every key of the domain it has loaded, and loads
 * new and removed keys at `youju reload`.  Admins and the domain's
 * managers may do this; every change is audited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "dkimkey.h"
#include "log.h"
#include "wa.h"
#include "webjson.h"
#include "xalloc.h"

static const char *key_dir(struct http_req *req)
{
	struct wa *wa = http_req_app(req);
	return conf_str(wa->conf, "dkim_key_directory");
}

/* The domain of the path, lower case, checked: the caller may manage it
   and it exists.  False after a reply. */
static bool domain_of(struct http_req *req, struct sqlconn *c, char *out,
		      size_t outsz)
{
	const char *d = http_req_param(req, 0);
	size_t n = strlen(d);
	if (n >= outsz) {
		webjson_error(req, 404, "not_found", "no such domain",
			      "domain");
		return false;
	}
	for (size_t i = 0; i <= n; i++)
		out[i] = d[i] >= 'A' && d[i] <= 'Z' ? (char)(d[i] + 32) : d[i];
	if (!wa_can_domain(req, c, d))
		return false;
	int64_t count = 0;
	const char *args[1] = {d};
	if (wa_q_int(req, c, "SELECT COUNT(*) FROM domain WHERE domain = ?",
		     args, 1, &count) < 0)
		return false;
	if (count == 0 || !dkimkey_domain_ok(out)) {
		webjson_error(req, 404, "not_found", "no such domain",
			      "domain");
		return false;
	}
	return true;
}

/* {"selector", "algorithm", "name", "txt", "record"}, or NULL when the
   .pub is missing or unusable. */
static json_t *key_json(const char *dir, const char *domain, const char *sel)
{
	char *pem = dkimkey_read_pub(dir, domain, sel);
	char txt[DKIMKEY_RECORD_MAX], rec[DKIMKEY_RECORD_MAX], name[400];
	if (pem == NULL || dkimkey_txt(pem, txt, sizeof(txt)) < 0 ||
	    dkimkey_record(domain, sel, pem, rec, sizeof(rec)) < 0) {
		free(pem);
		return NULL;
	}
	free(pem);
	snprintf(name, sizeof(name), "%s._domainkey.%s", sel, domain);
	json_t *o = json_object();
	json_object_set_new(o, "selector", json_string(sel));
	json_object_set_new(
	    o, "algorithm",
	    json_string(strstr(txt, "k=ed25519") ? "ed25519" : "rsa"));
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "txt", json_string(txt));
	json_object_set_new(o, "record", json_string(rec));
	return o;
}

void wa_dkim_list(struct http_req *req)
{
	char domain[256];
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		return;
	if (!domain_of(req, c, domain, sizeof(domain))) {
		wa_db_put(req, &c, false);
		return;
	}
	wa_db_put(req, &c, false);
	const char *dir = key_dir(req);
	char **sels;
	size_t n = dkimkey_list(dir, domain, &sels);
	json_t *keys = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *k = key_json(dir, domain, sels[i]);
		if (k != NULL)
			json_array_append_new(keys, k);
		free(sels[i]);
	}
	free(sels);
	json_t *o = json_object();
	json_object_set_new(o, "domain", json_string(domain));
	json_object_set_new(o, "keys", keys);
	webjson_reply(req, 200, o);
}

void wa_dkim_create(struct http_req *req)
{
	static const char *const allowed[] = {"selector", "algorithm", NULL};
	char domain[256], selbuf[DKIMKEY_SELECTOR_MAX + 1];
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	const char *sel = NULL, *alg = "rsa";
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "selector", false, DKIMKEY_SELECTOR_MAX,
			    &sel) < 0 ||
	    webjson_get_str(req, in, "algorithm", false, 16, &alg) < 0) {
		json_decref(in);
		return;
	}
	bool ed = strcmp(alg, "ed25519") == 0;
	if (!ed && strcmp(alg, "rsa") != 0) {
		webjson_error(req, 400, "invalid",
			      "algorithm: rsa (2048 bits) or ed25519",
			      "algorithm");
		json_decref(in);
		return;
	}
	if (sel == NULL || sel[0] == '\0') {
		/* a selector per month, as rotation schedules name them;
		   a second key in one month gets a letter */
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		snprintf(selbuf, sizeof(selbuf), "y%04d%02d%s",
			 tm.tm_year + 1900, tm.tm_mon + 1, ed ? "e" : "");
	} else {
		snprintf(selbuf, sizeof(selbuf), "%s", sel);
	}
	json_decref(in);
	if (!dkimkey_selector_ok(selbuf)) {
		webjson_error(req, 400, "invalid",
			      "selector: a-z 0-9 - _ (up to 63)", "selector");
		return;
	}
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		return;
	if (!domain_of(req, c, domain, sizeof(domain)) ||
	    wa_begin(req, c) < 0) {
		wa_db_put(req, &c, false);
		return;
	}
	const char *dir = key_dir(req);
	char err[4400];
	if (dkimkey_generate(dir, domain, selbuf, ed, err, sizeof(err)) < 0) {
		int e = errno;
		sqlconn_rollback(c);
		wa_db_put(req, &c, false);
		if (e == EEXIST) {
			webjson_error(req, 409, "exists",
				      "this selector has a key: pick another",
				      "selector");
			return;
		}
		log_warning("webadmin: dkim keygen %s: %s", domain, err);
		webjson_error(req, 500, "failed",
			      e == EACCES ? "dkim_key_directory is not "
					    "writable by mail_owner"
					  : "cannot make the key",
			      NULL);
		return;
	}
	json_t *k = key_json(dir, domain, selbuf);
	char object[400];
	snprintf(object, sizeof(object), "%s/%s", domain, selbuf);
	json_t *after = json_pack("{s:s, s:s}", "selector", selbuf, "algorithm",
				  ed ? "ed25519" : "rsa");
	int rc = wa_audit(req, c, "dkim.create", object, NULL, after);
	if (rc == 0)
		rc = wa_commit(req, c);
	json_decref(after);
	if (rc < 0 || k == NULL) {
		sqlconn_rollback(c);
		(void)dkimkey_remove(dir, domain, selbuf);
		wa_db_put(req, &c, false);
		json_decref(k);
		if (rc == 0)
			webjson_error(req, 500, "failed",
				      "cannot read the new key", NULL);
		return;
	}
	wa_db_put(req, &c, false);
	log_info("webadmin: dkim: new key %s for %s", selbuf, domain);
	webjson_reply(req, 201, k);
}

void wa_dkim_delete(struct http_req *req)
{
	char domain[256];
	const char *sel = http_req_param(req, 1);
	struct sqlconn *c = wa_db(req);
	if (c == NULL)
		return;
	if (!domain_of(req, c, domain, sizeof(domain))) {
		wa_db_put(req, &c, false);
		return;
	}
	const char *dir = key_dir(req);
	char *pem = dkimkey_selector_ok(sel)
			? dkimkey_read_pub(dir, domain, sel)
			: NULL;
	if (pem == NULL) {
		wa_db_put(req, &c, false);
		webjson_error(req, 404, "not_found", "no such key", "selector");
		return;
	}
	free(pem);
	char object[400];
	snprintf(object, sizeof(object), "%s/%s", domain, sel);
	json_t *before = json_pack("{s:s}", "selector", sel);
	int rc = wa_begin(req, c);
	if (rc == 0)
		rc = wa_audit(req, c, "dkim.delete", object, before, NULL);
	json_decref(before);
	if (rc == 0 && dkimkey_remove(dir, domain, sel) < 0) {
		log_warning("webadmin: dkim: remove %s: %s", object,
			    strerror(errno));
		webjson_error(req, 500, "failed", "cannot remove the key",
			      NULL);
		rc = -1;
	}
	if (rc == 0)
		rc = wa_commit(req, c);
	if (rc < 0) {
		sqlconn_rollback(c);
		wa_db_put(req, &c, false);
		return;
	}
	wa_db_put(req, &c, false);
	log_info("webadmin: dkim: removed key %s", object);
	webjson_reply(req, 200, json_object());
}
