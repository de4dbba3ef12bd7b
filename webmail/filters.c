/*
 * Settings, Filters (docs/webmail.md "Filters", docs/sieve.md "Filters
 * edited in webmail"): the user's rules, auto-reply, forwarding and white
 * and black lists, stored as one generated Sieve script
 * (lib/sieve_filters) in the same store ManageSieve uses (lib/sieve_store:
 * HOME/sieve/youju-webmail.sieve, active through HOME/.dovecot.sieve).
 *
 *	GET    /api/filters          the form, or the active hand-written
 *	                             script
 *	PUT    /api/filters          {"form", "replace"}: save the form
 *	PUT    /api/filters/raw      {"script"}: save the script as text
 *	DELETE /api/filters          no script active (filters off)
 *
 * Every script is compiled by lib/sieve before it is stored, so a script
 * that would fail at delivery is refused here with its line.  A
 * hand-written active script (ManageSieve, or the form's script edited)
 * is shown as text; the form replaces it only when asked ("replace"), and
 * even then it is kept in the store, not overwritten.  At login, a
 * mailbox with ExtMail's .mailfilter and no script gets the import
 * (lib/sieve_import_file.c) once.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sieve.h"
#include "sieve_filters.h"
#include "sieve_import.h"
#include "sieve_store.h"
#include "webjson.h"
#include "wm.h"

/* the name a hand-written script gets when none is active */
#define WM_FILTERS_RAW_NAME "custom"

struct wm_filters_state {
	char home[PATH_MAX];
	char active[SIEVE_STORE_NAME_MAX + 1];
	char *script; /* the active (or the form's) script, owned */
	size_t len;
	json_t *form; /* the form of the form's own script, NULL none */
	bool raw;     /* a script the form did not write is active */
};

static void state_free(struct wm_filters_state *s)
{
	free(s->script);
	json_decref(s->form);
	s->script = NULL;
	s->form = NULL;
}

/* Reads the caller's state; -1 after replying 500. */
static int state_load(struct http_req *req, struct wm_filters_state *s)
{
	const struct wm_caller *me = wm_caller(req);
	memset(s, 0, sizeof *s);
	if (sieve_store_home(me->acct.maildir, s->home, sizeof s->home) < 0 ||
	    sieve_store_active(s->home, s->active, sizeof s->active) < 0) {
		log_warning("webmail: user=<%s>: filters: %s: %s",
			    me->acct.user, me->acct.maildir, strerror(errno));
		webjson_error(req, 500, "internal",
			      "the filters cannot be read", NULL);
		return -1;
	}
	/* the form's own script, whether active or not: its form is what
	   the page shows (and what "use the form" brings back) */
	char *mine = NULL;
	size_t mlen = 0;
	const char *name = SIEVE_FILTERS_NAME;
	int r = sieve_store_get(s->home, name, &mine, &mlen);
	if (r == 1)
		s->form = sieve_filters_parse(mine, mlen);
	bool other =
	    s->active[0] != '\0' && strcmp(s->active, SIEVE_FILTERS_NAME) != 0;
	if (r >= 0 && other) {
		free(mine);
		mine = NULL;
		name = s->active;
		r = sieve_store_get(s->home, name, &mine, &mlen);
	}
	if (r < 0) {
		log_warning("webmail: user=<%s>: filters: %s: %s",
			    me->acct.user, name, strerror(errno));
		webjson_error(req, 500, "internal",
			      "the filters cannot be read", NULL);
		json_decref(s->form);
		s->form = NULL;
		return -1;
	}
	s->script = mine;
	s->len = mlen;
	/* raw: another script is active, or the form's edited by hand */
	s->raw = other || (s->active[0] != '\0' && s->form == NULL);
	return 0;
}

static bool state_raw(const struct wm_filters_state *s)
{
	return s->raw;
}

static void reply_state(struct http_req *req, struct wm_filters_state *s)
{
	json_t *o = json_object();
	bool raw = state_raw(s);
	json_object_set_new(o, "mode", json_string(raw ? "raw" : "form"));
	json_object_set_new(o, "active", json_boolean(s->active[0] != '\0'));
	json_object_set_new(o, "name",
			    json_string(raw ? s->active : SIEVE_FILTERS_NAME));
	json_t *script = s->script != NULL ? json_stringn(s->script, s->len)
					   : json_string("");
	/* a script that is not UTF-8 cannot travel in JSON */
	json_object_set_new(o, "readable", json_boolean(script != NULL));
	json_object_set_new(o, "script",
			    script != NULL ? script : json_string(""));
	json_object_set_new(o, "form",
			    s->form != NULL ? json_incref(s->form)
					    : sieve_filters_empty());
	webjson_reply(req, 200, o);
}

void wm_filters_get(struct http_req *req)
{
	struct wm_filters_state s;
	if (state_load(req, &s) < 0)
		return;
	reply_state(req, &s);
	state_free(&s);
}

/* Compiles script and stores it as name, made active.  -1 after
   replying (400 with the script's error, 500). */
static int store(struct http_req *req, struct wm_filters_state *s,
		 const char *name, const char *script, size_t len,
		 const char *field)
{
	const struct wm_caller *me = wm_caller(req);
	char err[SIEVE_ERROR_MAX];
	struct sieve_program *p = sieve_compile(script, len, err, sizeof err);
	if (p == NULL) {
		webjson_error(req, 400, "sieve", err, field);
		return -1;
	}
	sieve_free(&p);
	if (sieve_store_put(s->home, name, script, len) < 0 ||
	    sieve_store_set_active(s->home, name) < 0) {
		log_warning("webmail: user=<%s>: filters: cannot store "
			    "%s: %s",
			    me->acct.user, name, strerror(errno));
		webjson_error(req, 500, "internal",
			      "the filters cannot be saved", NULL);
		return -1;
	}
	log_info("webmail: user=<%s>: filters: sieve/%s.sieve saved and "
		 "active (%zu bytes)",
		 me->acct.user, name, len);
	return 0;
}

/* Replies the state after a change. */
static void reload_reply(struct http_req *req)
{
	struct wm_filters_state s;
	if (state_load(req, &s) < 0)
		return;
	reply_state(req, &s);
	state_free(&s);
}

void wm_filters_put(struct http_req *req)
{
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	static const char *const allowed[] = {"form", "replace", NULL};
	bool replace = false;
	struct wm_filters_state s;
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_bool(req, in, "replace", false, &replace) < 0)
		goto out;
	json_t *form = json_object_get(in, "form");
	if (!json_is_object(form)) {
		webjson_error(req, 400, "invalid", "missing or not an object",
			      "form");
		goto out;
	}
	if (state_load(req, &s) < 0)
		goto out;
	if (state_raw(&s) && !replace) {
		webjson_error(req, 409, "raw_script",
			      "a hand-written Sieve script is active", NULL);
		state_free(&s);
		goto out;
	}
	struct buf b;
	buf_init(&b, SIEVE_SCRIPT_MAX);
	char err[200], field[300], f2[310];
	if (sieve_filters_generate(form, &b, err, sizeof err, field,
				   sizeof field) < 0) {
		snprintf(f2, sizeof f2, "form%s%s", field[0] == '[' ? "" : ".",
			 field);
		webjson_error(req, 400, "invalid", err, f2);
	} else if (store(req, &s, SIEVE_FILTERS_NAME, b.p, b.len, "form") ==
		   0) {
		reload_reply(req);
	}
	buf_deinit(&b);
	state_free(&s);
out:
	json_decref(in);
}

void wm_filters_raw(struct http_req *req)
{
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	static const char *const allowed[] = {"script", NULL};
	struct wm_filters_state s;
	json_t *v = json_object_get(in, "script");
	if (webjson_only(req, in, allowed) < 0)
		goto out;
	if (!json_is_string(v) || json_string_length(v) > SIEVE_SCRIPT_MAX) {
		webjson_error(req, 400, "invalid",
			      "missing, not a string or over 256 KiB",
			      "script");
		goto out;
	}
	if (state_load(req, &s) < 0)
		goto out;
	/* a hand-written active script is rewritten; from the form, the
	   text goes to a script of its own and the form's stays as it was
	   ("use the form" brings it back) */
	const char *name = s.raw ? s.active : WM_FILTERS_RAW_NAME;
	if (store(req, &s, name, json_string_value(v), json_string_length(v),
		  "script") == 0)
		reload_reply(req);
	state_free(&s);
out:
	json_decref(in);
}

void wm_filters_off(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	char home[PATH_MAX];
	if (sieve_store_home(me->acct.maildir, home, sizeof home) < 0 ||
	    sieve_store_set_active(home, "") < 0) {
		log_warning("webmail: user=<%s>: filters: cannot switch off: "
			    "%s",
			    me->acct.user, strerror(errno));
		webjson_error(req, 500, "internal",
			      "the filters cannot be switched off", NULL);
		return;
	}
	log_info("webmail: user=<%s>: filters: switched off", me->acct.user);
	reload_reply(req);
}

void wm_filters_login(const char *user, const char *maildir)
{
	char home[PATH_MAX], err[SIEVE_ERROR_MAX];
	unsigned n = 0;
	bool active = false;
	if (sieve_store_home(maildir, home, sizeof home) < 0)
		return;
	int r = sieve_import_home(home, maildir, false, true, &n, &active, err,
				  sizeof err);
	if (r < 0)
		log_warning("webmail: user=<%s>: ExtMail filters not "
			    "imported: %s",
			    user, err);
	else if (r == 1)
		log_info("webmail: user=<%s>: ExtMail filters imported: %u "
			 "rules into sieve/%s.sieve%s",
			 user, n, SIEVE_IMPORT_NAME, active ? " (active)" : "");
}
