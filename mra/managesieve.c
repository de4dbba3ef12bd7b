/*
 * ManageSieve (RFC 5804): upload, check, list and activate the mailbox's
 * Sieve scripts, stored in Pigeonhole's layout by lib/sieve_store, checked
 * by lib/sieve.  CAPABILITY, STARTTLS, AUTHENTICATE PLAIN (through
 * youju-authd, service "sieve", the same failure throttling as IMAP),
 * LISTSCRIPTS, PUTSCRIPT, GETSCRIPT, SETACTIVE, DELETESCRIPT,
 * RENAMESCRIPT, CHECKSCRIPT, HAVESPACE, NOOP, UNAUTHENTICATE, LOGOUT.
 * Quotas: sieve_max_script_size and sieve_quota_max_scripts (youju.cf,
 * Pigeonhole's names).
 *
 * Input: a command is a line of atoms and strings, a string being quoted
 * or a literal {N+} / {N} whose N bytes follow the line end.  RFC 5804
 * has no continuation response for literals (unlike IMAP): the
 * synchronizing {N} that some clients send is read exactly as {N+}.  Literals
 * are copied out of the connection's input buffer as they arrive (a script may
 * be larger than that buffer) and capped at SIEVE_SCRIPT_MAX.
 */
#include "mra.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sieve.h"
#include "sieve_store.h"
#include "xalloc.h"

#define MS_LINE_MAX    8192
#define MS_ARGS_MAX    4
#define MS_LITERAL_MAX (SIEVE_SCRIPT_MAX + 1024)

enum ms_state { MS_AUTH, MS_LOGIN_WAIT, MS_TRANS };

struct ms_sess {
	enum ms_state state;
	bool sasl_wait; /* the next command is the SASL response */
	bool skipping;
	unsigned fails, bad;
	char login_user[256];
	char home[4096];
	/* the command being assembled */
	struct buf arg[MS_ARGS_MAX + 1];
	size_t nargs;
	bool atom0;	   /* arg[0] is the command name */
	uint64_t lit_left; /* bytes of a literal still to come */
	bool in_literal;
	bool overflow; /* too many arguments or too large: refuse */
};

static void ms_quoted(struct mra_conn *c, const char *p, size_t len)
{
	(void)mra_conn_write(c, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		char ch = p[i];
		if (ch == '\r' || ch == '\n')
			ch = ' ';
		if (ch == '"' || ch == '\\')
			(void)mra_conn_write(c, "\\", 1);
		(void)mra_conn_write(c, &ch, 1);
	}
	(void)mra_conn_write(c, "\"", 1);
}

/* OK / NO / BYE with an optional response code and a text */
static void ms_reply(struct mra_conn *c, const char *what, const char *code,
		     const char *text)
{
	(void)mra_conn_printf(c, "%s ", what);
	if (code != NULL)
		(void)mra_conn_printf(c, "(%s) ", code);
	ms_quoted(c, text, strlen(text));
	(void)mra_conn_write(c, "\r\n", 2);
}

static void ms_caps(struct mra_conn *c)
{
	struct ms_sess *s = c->sess;
	(void)mra_conn_printf(c, "\"IMPLEMENTATION\" \"youju\"\r\n");
	(void)mra_conn_printf(c, "\"SIEVE\" \"%s\"\r\n", sieve_extensions());
	if (s->state != MS_TRANS && mra_conn_plaintext_ok(c))
		(void)mra_conn_printf(c, "\"SASL\" \"PLAIN\"\r\n");
	else
		(void)mra_conn_printf(c, "\"SASL\" \"\"\r\n");
	if (mra_srv.tls != NULL && !c->tls_on)
		(void)mra_conn_printf(c, "\"STARTTLS\"\r\n");
	(void)mra_conn_printf(c, "\"MAXREDIRECTS\" \"%u\"\r\n",
			      SIEVE_REDIRECT_MAX);
	(void)mra_conn_printf(c, "\"VERSION\" \"1.0\"\r\n");
	/* RFC 5804 §2.14.1 */
	(void)mra_conn_printf(c, "\"UNAUTHENTICATE\"\r\n");
}

static void ms_reset(struct ms_sess *s)
{
	for (size_t i = 0; i <= MS_ARGS_MAX; i++)
		buf_reset(&s->arg[i]);
	s->nargs = 0;
	s->overflow = false;
	s->in_literal = false;
	s->lit_left = 0;
}

static void ms_start(struct mra_conn *c)
{
	struct ms_sess *s = xcalloc(1, sizeof *s);
	for (size_t i = 0; i <= MS_ARGS_MAX; i++)
		buf_init(&s->arg[i], MS_LITERAL_MAX);
	c->sess = s;
	ms_caps(c);
	ms_reply(c, "OK", NULL, "youju ManageSieve ready.");
}

static void ms_tls_started(struct mra_conn *c)
{
	/* RFC 5804 §2.2: the capabilities again, now over TLS */
	ms_caps(c);
	ms_reply(c, "OK", NULL, "TLS negotiation successful.");
}

static void ms_free(struct mra_conn *c)
{
	struct ms_sess *s = c->sess;
	if (s == NULL)
		return;
	if (s->fails > 0 && s->state != MS_TRANS)
		mra_log_auth_failed(c, s->login_user, "PLAIN", s->fails,
				    "auth failed");
	for (size_t i = 0; i <= MS_ARGS_MAX; i++)
		buf_deinit(&s->arg[i]);
	free(s);
	c->sess = NULL;
}

static void ms_timeout(struct mra_conn *c)
{
	ms_reply(c, "BYE", NULL, "Disconnected for inactivity.");
}

/* ---- login --------------------------------------------------------------- */

static void ms_sasl_response(struct mra_conn *c, struct str b64)
{
	struct ms_sess *s = c->sess;
	s->sasl_wait = false;
	if (b64.len == 1 && b64.p[0] == '*') {
		ms_reply(c, "NO", NULL, "Authentication aborted.");
		return;
	}
	char *user, *pass;
	if (mra_sasl_plain(b64, &user, &pass) < 0) {
		s->fails++;
		ms_reply(c, "NO", NULL,
			 "Invalid base64 data or PLAIN response.");
		return;
	}
	log_escape(s->login_user, sizeof s->login_user, user, strlen(user));
	int rc = mra_login_start(c, "sieve", str_from_cstr(user),
				 str_from_cstr(pass));
	explicit_bzero(pass, strlen(pass));
	free(pass);
	free(user);
	if (rc < 0) {
		ms_reply(c, "NO", "TRYLATER",
			 "Temporary authentication failure.");
		return;
	}
	s->state = MS_LOGIN_WAIT;
}

static void ms_login_done(struct mra_conn *c, const struct mra_login_result *r)
{
	struct ms_sess *s = c->sess;
	s->state = MS_AUTH;
	switch (r->status) {
	case MRA_LOGIN_OK:
		break;
	case MRA_LOGIN_FAIL:
		s->fails++;
		ms_reply(c, "NO", NULL, "Authentication failed.");
		if (s->fails >= MRA_AUTH_FAILS_MAX)
			mra_conn_close(c);
		return;
	case MRA_LOGIN_DISABLED:
		mra_log_auth_failed(c, s->login_user, "PLAIN", 1,
				    "ManageSieve disabled for this user");
		ms_reply(c, "NO", NULL,
			 "ManageSieve is disabled for this account.");
		return;
	case MRA_LOGIN_TEMPFAIL:
		log_warning("managesieve-login: authd: %s, user=<%s>, rip=%s",
			    r->error ? r->error : "?", s->login_user, c->rip);
		ms_reply(c, "NO", "TRYLATER",
			 "Temporary authentication failure.");
		return;
	}
	if (sieve_store_home(r->maildir, s->home, sizeof s->home) < 0) {
		ms_reply(c, "NO", "TRYLATER", "Cannot find your home.");
		return;
	}
	snprintf(s->login_user, sizeof s->login_user, "%s", r->user);
	s->state = MS_TRANS;
	mra_log_login(c, r->user, "PLAIN");
	ms_reply(c, "OK", NULL, "Logged in.");
}

/* ---- commands ------------------------------------------------------------ */

static const char *ms_arg(const struct ms_sess *s, size_t i)
{
	return s->arg[i].p != NULL ? s->arg[i].p : "";
}

/* a name argument: valid UTF-8-ish script name, or a NO reply */
static bool ms_name(struct mra_conn *c, size_t i)
{
	struct ms_sess *s = c->sess;
	if (!sieve_store_name_ok(ms_arg(s, i), s->arg[i].len)) {
		ms_reply(c, "NO", NULL, "Invalid script name.");
		return false;
	}
	return true;
}

static void ms_errno_reply(struct mra_conn *c, const char *what)
{
	if (errno == ENOENT)
		ms_reply(c, "NO", "NONEXISTENT", "There is no such script.");
	else if (errno == EEXIST)
		ms_reply(c, "NO", "ALREADYEXISTS",
			 "A script with that name already exists.");
	else if (errno == EBUSY)
		ms_reply(c, "NO", "ACTIVE", "The script is active.");
	else {
		struct ms_sess *s = c->sess;
		log_error("managesieve(%s): %s: %s", s->login_user, what,
			  strerror(errno));
		ms_reply(c, "NO", "TRYLATER", "Storage error.");
	}
}

/* HAVESPACE's and PUTSCRIPT's quota: 0 fits, else a NO was sent */
static int ms_space(struct mra_conn *c, const char *name, uint64_t size)
{
	struct ms_sess *s = c->sess;
	uint64_t max = mra_srv.sieve_max_script_size;
	if (max == 0 || max > SIEVE_SCRIPT_MAX)
		max = SIEVE_SCRIPT_MAX;
	if (size > max) {
		ms_reply(c, "NO", "QUOTA/MAXSIZE", "Script is too large.");
		return -1;
	}
	char **names;
	long n = sieve_store_list(s->home, &names);
	if (n < 0) {
		ms_errno_reply(c, "list");
		return -1;
	}
	bool exists = false;
	for (long i = 0; i < n; i++)
		exists = exists || strcmp(names[i], name) == 0;
	sieve_store_names_free(names, (size_t)n);
	if (!exists && mra_srv.sieve_max_scripts > 0 &&
	    (unsigned long)n >= mra_srv.sieve_max_scripts) {
		ms_reply(c, "NO", "QUOTA/MAXSCRIPTS", "Too many scripts.");
		return -1;
	}
	return 0;
}

/* CHECKSCRIPT and PUTSCRIPT: 0 compiles, else a NO was sent */
static int ms_check(struct mra_conn *c, const struct buf *script)
{
	char err[SIEVE_ERROR_MAX];
	struct sieve_program *p = sieve_compile(
	    script->p != NULL ? script->p : "", script->len, err, sizeof err);
	if (p == NULL) {
		ms_reply(c, "NO", NULL, err);
		return -1;
	}
	sieve_free(&p);
	return 0;
}

static bool ms_nargs(struct mra_conn *c, size_t want_min, size_t want_max)
{
	struct ms_sess *s = c->sess;
	if (s->nargs - 1 < want_min || s->nargs - 1 > want_max) {
		ms_reply(c, "NO", NULL, "Wrong number of arguments.");
		s->bad++;
		return false;
	}
	return true;
}

static void ms_trans(struct mra_conn *c, const char *cmd)
{
	struct ms_sess *s = c->sess;
	char active[SIEVE_STORE_NAME_MAX + 1];
	if (strcasecmp(cmd, "LISTSCRIPTS") == 0) {
		if (!ms_nargs(c, 0, 0))
			return;
		char **names;
		long n = sieve_store_list(s->home, &names);
		if (n < 0) {
			ms_errno_reply(c, "list");
			return;
		}
		if (sieve_store_active(s->home, active, sizeof active) < 0)
			active[0] = '\0';
		for (long i = 0; i < n; i++) {
			ms_quoted(c, names[i], strlen(names[i]));
			if (strcmp(names[i], active) == 0)
				(void)mra_conn_printf(c, " ACTIVE");
			(void)mra_conn_write(c, "\r\n", 2);
		}
		sieve_store_names_free(names, (size_t)n);
		ms_reply(c, "OK", NULL, "Listscripts completed.");
	} else if (strcasecmp(cmd, "GETSCRIPT") == 0) {
		if (!ms_nargs(c, 1, 1) || !ms_name(c, 1))
			return;
		char *data;
		size_t len;
		int r = sieve_store_get(s->home, ms_arg(s, 1), &data, &len);
		if (r <= 0) {
			if (r == 0)
				errno = ENOENT;
			ms_errno_reply(c, "read");
			return;
		}
		(void)mra_conn_printf(c, "{%zu}\r\n", len);
		(void)mra_conn_write(c, data, len);
		(void)mra_conn_write(c, "\r\n", 2);
		free(data);
		ms_reply(c, "OK", NULL, "Getscript completed.");
	} else if (strcasecmp(cmd, "PUTSCRIPT") == 0) {
		if (!ms_nargs(c, 2, 2) || !ms_name(c, 1) ||
		    ms_space(c, ms_arg(s, 1), s->arg[2].len) < 0 ||
		    ms_check(c, &s->arg[2]) < 0)
			return;
		if (sieve_store_put(s->home, ms_arg(s, 1), ms_arg(s, 2),
				    s->arg[2].len) < 0) {
			ms_errno_reply(c, "write");
			return;
		}
		log_info("managesieve(%s): script %s stored (%zu bytes)",
			 s->login_user, ms_arg(s, 1), s->arg[2].len);
		ms_reply(c, "OK", NULL, "Putscript completed.");
	} else if (strcasecmp(cmd, "CHECKSCRIPT") == 0) {
		if (!ms_nargs(c, 1, 1) || ms_check(c, &s->arg[1]) < 0)
			return;
		ms_reply(c, "OK", NULL, "Script is valid.");
	} else if (strcasecmp(cmd, "SETACTIVE") == 0) {
		if (!ms_nargs(c, 1, 1))
			return;
		if (s->arg[1].len > 0 && !ms_name(c, 1))
			return;
		if (sieve_store_set_active(s->home, ms_arg(s, 1)) < 0) {
			ms_errno_reply(c, "setactive");
			return;
		}
		log_info("managesieve(%s): active script %s", s->login_user,
			 s->arg[1].len > 0 ? ms_arg(s, 1) : "(none)");
		ms_reply(c, "OK", NULL, "Setactive completed.");
	} else if (strcasecmp(cmd, "DELETESCRIPT") == 0) {
		if (!ms_nargs(c, 1, 1) || !ms_name(c, 1))
			return;
		if (sieve_store_delete(s->home, ms_arg(s, 1)) < 0) {
			ms_errno_reply(c, "delete");
			return;
		}
		ms_reply(c, "OK", NULL, "Deletescript completed.");
	} else if (strcasecmp(cmd, "RENAMESCRIPT") == 0) {
		if (!ms_nargs(c, 2, 2) || !ms_name(c, 1) || !ms_name(c, 2))
			return;
		if (sieve_store_rename(s->home, ms_arg(s, 1), ms_arg(s, 2)) <
		    0) {
			ms_errno_reply(c, "rename");
			return;
		}
		ms_reply(c, "OK", NULL, "Renamescript completed.");
	} else if (strcasecmp(cmd, "HAVESPACE") == 0) {
		if (!ms_nargs(c, 2, 2) || !ms_name(c, 1))
			return;
		uint64_t size;
		if (str_parse_u64(ms_arg(s, 2), 0, UINT64_MAX, &size) < 0) {
			ms_reply(c, "NO", NULL, "Invalid size.");
			return;
		}
		if (ms_space(c, ms_arg(s, 1), size) == 0)
			ms_reply(c, "OK", NULL, "Putscript would succeed.");
	} else {
		s->bad++;
		ms_reply(c, "NO", NULL, "Unknown command.");
	}
}

static void ms_command(struct mra_conn *c)
{
	struct ms_sess *s = c->sess;
	if (s->overflow) {
		s->bad++;
		ms_reply(c, "NO", NULL, "Too many arguments.");
		return;
	}
	if (s->sasl_wait) {
		ms_sasl_response(c, (struct str){ms_arg(s, 0), s->arg[0].len});
		return;
	}
	if (s->nargs == 0 || !s->atom0) {
		s->bad++;
		ms_reply(c, "NO", NULL, "Expected a command.");
		return;
	}
	const char *cmd = ms_arg(s, 0);
	if (strcasecmp(cmd, "CAPABILITY") == 0) {
		ms_caps(c);
		ms_reply(c, "OK", NULL, "Capability completed.");
	} else if (strcasecmp(cmd, "LOGOUT") == 0) {
		ms_reply(c, "OK", NULL, "Logout completed.");
		mra_conn_close(c);
	} else if (strcasecmp(cmd, "NOOP") == 0) {
		if (s->nargs > 1) {
			(void)mra_conn_printf(c, "OK (TAG ");
			ms_quoted(c, ms_arg(s, 1), s->arg[1].len);
			(void)mra_conn_printf(c, ") \"Done\"\r\n");
		} else {
			ms_reply(c, "OK", NULL, "Done");
		}
	} else if (strcasecmp(cmd, "STARTTLS") == 0) {
		if (mra_srv.tls == NULL || c->tls_on || s->state == MS_TRANS) {
			ms_reply(c, "NO", NULL, "TLS is not available.");
			return;
		}
		ms_reply(c, "OK", NULL, "Begin TLS negotiation now.");
		mra_conn_starttls(c);
	} else if (strcasecmp(cmd, "UNAUTHENTICATE") == 0) {
		/* RFC 5804 §2.14.1: back to the non-authenticated state; the
		   TLS layer stays */
		if (s->state != MS_TRANS) {
			ms_reply(c, "NO", NULL, "Not authenticated.");
			return;
		}
		log_info("managesieve(%s): unauthenticated", s->login_user);
		s->state = MS_AUTH;
		s->home[0] = '\0';
		s->login_user[0] = '\0';
		s->fails = 0;
		mra_conn_userip_release(c, c->user);
		c->user[0] = '\0';
		ms_reply(c, "OK", NULL, "Unauthenticate completed.");
	} else if (strcasecmp(cmd, "AUTHENTICATE") == 0) {
		if (s->state == MS_TRANS) {
			ms_reply(c, "NO", NULL, "Already authenticated.");
			return;
		}
		if (s->nargs < 2 || strcasecmp(ms_arg(s, 1), "PLAIN") != 0) {
			ms_reply(c, "NO", NULL,
				 "Unsupported authentication mechanism.");
			return;
		}
		if (!mra_conn_plaintext_ok(c)) {
			mra_log_plaintext_refused(c, "");
			ms_reply(c, "NO", NULL,
				 "Plaintext authentication disallowed on "
				 "non-secure (SSL/TLS) connections.");
			return;
		}
		if (s->nargs >= 3) {
			ms_sasl_response(
			    c, (struct str){ms_arg(s, 2), s->arg[2].len});
			return;
		}
		s->sasl_wait = true;
		(void)mra_conn_printf(c, "\"\"\r\n");
	} else if (s->state == MS_TRANS) {
		ms_trans(c, cmd);
	} else {
		s->bad++;
		ms_reply(c, "NO", NULL, "Authenticate first.");
	}
}

/* ---- input --------------------------------------------------------------- */

/* Reads the tokens of line (one physical line) into the command being
   assembled.  Returns 1 when the line ends with a literal announcement
   (s->lit_left set), 0 when the command is complete, -1 on a syntax
   error. */
static int ms_tokens(struct ms_sess *s, struct str line)
{
	size_t i = 0;
	while (i < line.len) {
		char ch = line.p[i];
		if (ch == ' ' || ch == '\t') {
			i++;
			continue;
		}
		struct buf *b =
		    s->nargs <= MS_ARGS_MAX ? &s->arg[s->nargs] : NULL;
		if (b == NULL)
			s->overflow = true;
		if (ch == '"') {
			i++;
			while (i < line.len && line.p[i] != '"') {
				if (line.p[i] == '\\' && i + 1 < line.len)
					i++;
				if (b != NULL &&
				    buf_append_char(b, line.p[i]) < 0)
					s->overflow = true;
				i++;
			}
			if (i >= line.len)
				return -1;
			i++;
		} else if (ch == '{') {
			size_t j = i + 1;
			uint64_t n = 0;
			while (j < line.len && line.p[j] >= '0' &&
			       line.p[j] <= '9' && n <= MS_LITERAL_MAX) {
				n = n * 10 + (uint64_t)(line.p[j] - '0');
				j++;
			}
			if (j < line.len && line.p[j] == '+')
				j++;
			if (j + 1 != line.len || line.p[j] != '}' || j == i + 1)
				return -1;
			if (n > MS_LITERAL_MAX)
				s->overflow = true;
			if (b == NULL || s->overflow)
				b = NULL;
			s->lit_left = n;
			s->in_literal = true;
			if (s->nargs == 0)
				s->atom0 = false;
			s->nargs++;
			return 1;
		} else {
			size_t j = i;
			while (j < line.len && line.p[j] != ' ' &&
			       line.p[j] != '"' && line.p[j] != '{')
				j++;
			if (b != NULL && buf_append(b, line.p + i, j - i) < 0)
				s->overflow = true;
			if (s->nargs == 0)
				s->atom0 = true;
			i = j;
			s->nargs++;
			continue;
		}
		if (s->nargs == 0)
			s->atom0 = false;
		s->nargs++;
	}
	return 0;
}

static void ms_input(struct mra_conn *c)
{
	struct ms_sess *s = c->sess;
	while (!c->closing && !c->paused && !c->starttls_pending &&
	       !mra_conn_backlogged(c)) {
		if (s->in_literal) {
			size_t take = c->in.len < s->lit_left
					  ? c->in.len
					  : (size_t)s->lit_left;
			if (take == 0 && s->lit_left > 0)
				return;
			size_t k = s->nargs - 1;
			if (k <= MS_ARGS_MAX && !s->overflow &&
			    buf_append(&s->arg[k], c->in.p, take) < 0)
				s->overflow = true;
			buf_consume(&c->in, take);
			s->lit_left -= take;
			if (s->lit_left > 0)
				return;
			s->in_literal = false;
			/* the rest of the command line follows */
		}
		struct str line;
		if (s->skipping) {
			if (!net_skip_line(&c->in))
				return;
			s->skipping = false;
			ms_reset(s);
			continue;
		}
		enum net_line r = net_read_line(&c->in, MS_LINE_MAX, &line);
		if (r == LINE_MORE)
			return;
		if (r == LINE_TOOLONG) {
			ms_reply(c, "NO", NULL, "Line too long.");
			s->skipping = true;
			if (++s->bad >= MRA_BAD_MAX)
				mra_conn_close(c);
			continue;
		}
		int t = ms_tokens(s, line);
		net_line_consume(&c->in, line);
		if (t == 1)
			continue;
		if (t < 0) {
			s->bad++;
			ms_reply(c, "NO", NULL, "Syntax error.");
		} else if (s->nargs > 0 || s->sasl_wait) {
			ms_command(c);
		}
		ms_reset(s);
		if (s->bad >= MRA_BAD_MAX) {
			ms_reply(c, "BYE", NULL, "Too many bad commands.");
			mra_conn_close(c);
		}
	}
}

const struct mra_proto mra_managesieve_proto = {
    .name = "managesieve",
    .start = ms_start,
    .input = ms_input,
    .login_done = ms_login_done,
    .timeout = ms_timeout,
    .free = ms_free,
    .tls_started = ms_tls_started,
};
