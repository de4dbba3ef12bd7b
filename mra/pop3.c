/*
 * POP3 (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595) and SASL PLAIN
 * (RFC 5034) on the INBOX of a Maildir++.  The mailbox is a snapshot taken
 * at login; DELE only marks, and the marked messages are unlinked in the
 * UPDATE state after QUIT (RFC 1939 §6), so a dropped connection deletes
 * nothing.  UIDLs are Dovecot's default "%08Xu%08Xv" (UID, UIDVALIDITY from
 * dovecot-uidlist), hence stable across sessions and consistent with IMAP;
 * Dovecot 2.3 expands %X in lower case (seen in tests/integration/
 * test_mra_interop.py), so do we, or clients moved over would fetch again.
 */
#include "mra.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mailbox.h"
#include "maildir.h"
#include "dot.h"
#include "xalloc.h"

/* RFC 2449 §4: 255 octets per command line; AUTH responses may be longer
   (RFC 5034 §4 lifts it), so allow a SASL PLAIN blob. */
#define POP3_LINE_MAX 8192
/* RETR and TOP read the message file in pieces of this size as the
   client takes the output, so a session holds at most MRA_OUT_HIGH plus
   one converted piece, whatever the message size. */
#define POP3_CHUNK (64 * 1024)

/* One piece of a message file; the loop is single-threaded. */
static char pop3_chunk[POP3_CHUNK];

enum pop3_state { POP3_AUTH, POP3_LOGIN_WAIT, POP3_TRANS };

struct pop3_sess {
	enum pop3_state state;
	char *user; /* from USER */
	char login_user[256];
	char method[8];
	bool plaintext_refused; /* USER, PASS or AUTH without TLS */
	bool sasl_wait;		/* AUTH PLAIN without initial response */
	bool skipping;		/* dropping an over-long line */
	unsigned fails, bad;
	struct maildir_folder *f;
	char *maildir;
	bool *deleted;
	unsigned retr_count, top_count;
	uint64_t retr_bytes;
	int send_fd; /* the message being sent, -1: none */
	struct dot_enc dot;
};

static void pop3_reply(struct mra_conn *c, const char *s)
{
	(void)mra_conn_printf(c, "%s\r\n", s);
}

static void pop3_start(struct mra_conn *c)
{
	struct pop3_sess *s = xcalloc(1, sizeof *s);
	s->send_fd = -1;
	c->sess = s;
	pop3_reply(c, "+OK youju ready.");
}

static void pop3_free(struct mra_conn *c)
{
	struct pop3_sess *s = c->sess;
	if (s == NULL)
		return;
	if (s->fails > 0 && s->state != POP3_TRANS)
		mra_log_auth_failed(c, s->login_user, s->method, s->fails,
				    "auth failed");
	else if (s->plaintext_refused && s->state != POP3_TRANS)
		mra_log_plaintext_refused(c, s->login_user);
	if (s->send_fd >= 0)
		close(s->send_fd);
	c->produce = NULL;
	free(s->user);
	free(s->maildir);
	free(s->deleted);
	maildir_folder_free(&s->f);
	free(s);
	c->sess = NULL;
}

static void pop3_timeout(struct mra_conn *c)
{
	pop3_reply(c, "-ERR Disconnected for inactivity.");
}

static bool pop3_caps(struct mra_conn *c)
{
	struct pop3_sess *s = c->sess;
	pop3_reply(c, "+OK");
	pop3_reply(c, "CAPA");
	pop3_reply(c, "TOP");
	pop3_reply(c, "UIDL");
	pop3_reply(c, "RESP-CODES");
	pop3_reply(c, "PIPELINING");
	pop3_reply(c, "AUTH-RESP-CODE");
	if (s->state != POP3_TRANS) {
		if (mra_srv.tls != NULL && !c->tls_on)
			pop3_reply(c, "STLS");
		if (mra_conn_plaintext_ok(c)) {
			pop3_reply(c, "USER");
			pop3_reply(c, "SASL PLAIN");
		} else {
			pop3_reply(c, "SASL"); /* as Dovecot: no mechanism */
		}
	}
	pop3_reply(c, "IMPLEMENTATION youju");
	pop3_reply(c, ".");
	return true;
}

static void pop3_login(struct mra_conn *c, struct str user, struct str pass,
		       const char *method)
{
	struct pop3_sess *s = c->sess;
	snprintf(s->method, sizeof s->method, "%s", method);
	log_escape(s->login_user, sizeof s->login_user, user.p, user.len);
	if (mra_login_start(c, "pop3", user, pass) < 0) {
		pop3_reply(c, "-ERR [SYS/TEMP] Temporary authentication "
			      "failure.");
		return;
	}
	s->state = POP3_LOGIN_WAIT;
}

static void pop3_login_done(struct mra_conn *c,
			    const struct mra_login_result *r)
{
	struct pop3_sess *s = c->sess;
	const char *err = NULL;
	s->state = POP3_AUTH;
	switch (r->status) {
	case MRA_LOGIN_OK:
		break;
	case MRA_LOGIN_FAIL:
		s->fails++;
		pop3_reply(c, "-ERR [AUTH] Authentication failed.");
		if (s->fails >= MRA_AUTH_FAILS_MAX)
			mra_conn_close(c);
		return;
	case MRA_LOGIN_DISABLED:
		mra_log_auth_failed(c, s->login_user, s->method, 1,
				    "POP3 disabled for this user");
		pop3_reply(c, "-ERR [AUTH] POP3 is disabled for this "
			      "account.");
		return;
	case MRA_LOGIN_TEMPFAIL:
		log_warning("pop3-login: authd: %s, user=<%s>, rip=%s",
			    r->error ? r->error : "?", s->login_user, c->rip);
		pop3_reply(c, "-ERR [SYS/TEMP] Temporary authentication "
			      "failure.");
		return;
	}
	s->f = maildir_folder_open(r->maildir, true, &err);
	if (s->f == NULL) {
		log_error("pop3(%s): %s: %s: %s", r->user, r->maildir, err,
			  strerror(errno));
		pop3_reply(c, "-ERR [SYS/TEMP] Cannot open the mailbox.");
		return;
	}
	snprintf(s->login_user, sizeof s->login_user, "%s", r->user);
	s->maildir = xstrdup(r->maildir);
	s->deleted = xcalloc(s->f->n ? s->f->n : 1, sizeof *s->deleted);
	s->state = POP3_TRANS;
	mra_log_login(c, r->user, s->method);
	pop3_reply(c, "+OK Logged in.");
}

/* The RFC822 size (CRLF) of message i, counted from the file
   (mailbox_fd_vsize) when the name has no W= field. */
static uint64_t pop3_size(struct pop3_sess *s, size_t i)
{
	struct maildir_msg *m = &s->f->msgs[i];
	if (m->vsize != 0 || m->size == 0)
		return m->vsize;
	int fd = maildir_msg_open(s->f, m);
	if (fd < 0)
		return 0;
	uint64_t n;
	if (mailbox_fd_vsize(fd, &n) == 0)
		m->vsize = n;
	close(fd);
	return m->vsize;
}

/* One line of LIST or UIDL for message i, after prefix ("+OK " or ""). */
static void pop3_list_line(struct mra_conn *c, const char *prefix, size_t i,
			   bool uidl)
{
	struct pop3_sess *s = c->sess;
	if (uidl)
		(void)mra_conn_printf(c, "%s%zu %08x%08x\r\n", prefix, i + 1,
				      s->f->msgs[i].uid, s->f->uidvalidity);
	else
		(void)mra_conn_printf(c, "%s%zu %llu\r\n", prefix, i + 1,
				      (unsigned long long)pop3_size(s, i));
}

/* message number argument: 1..n, not deleted; else index -1 */
static long pop3_msgno(struct mra_conn *c, struct str arg)
{
	struct pop3_sess *s = c->sess;
	uint64_t v;
	if (str_to_u64(arg, 1, s->f->n, &v) < 0) {
		pop3_reply(c, "-ERR There's no message with that number.");
		return -1;
	}
	if (s->deleted[v - 1]) {
		pop3_reply(c, "-ERR Message is deleted.");
		return -1;
	}
	return (long)(v - 1);
}

/* The end of a RETR/TOP: close the file, stop producing. */
static void pop3_send_done(struct mra_conn *c)
{
	struct pop3_sess *s = c->sess;
	if (s->send_fd >= 0)
		close(s->send_fd);
	s->send_fd = -1;
	c->produce = NULL;
}

/* c->produce while a message is sent: one piece of the file, converted;
   the end of the file (or of TOP's lines) ends the reply.  A read error
   half-way cannot be told to the client in POP3: the session closes. */
static void pop3_produce(struct mra_conn *c)
{
	struct pop3_sess *s = c->sess;
	ssize_t r = 0;
	if (!dot_enc_done(&s->dot)) {
		do
			r = read(s->send_fd, pop3_chunk, sizeof pop3_chunk);
		while (r < 0 && errno == EINTR);
	}
	if (r < 0) {
		log_error("pop3(%s): reading a message: %s", s->login_user,
			  strerror(errno));
		pop3_send_done(c);
		mra_conn_close(c);
		return;
	}
	int w = r > 0 ? dot_enc_feed(&s->dot, pop3_chunk, (size_t)r, &c->out)
		      : dot_enc_end(&s->dot, &c->out);
	if (w < 0) {
		log_warning("%s: output limit reached, rip=%s", c->proto->name,
			    c->rip);
		pop3_send_done(c);
		mra_conn_close(c);
		return;
	}
	if (r == 0)
		pop3_send_done(c);
}

/* Starts sending message i: the header and at most body_lines body lines
   (UINT64_MAX: all), CRLF line ends, dot-stuffed, then "." (lib/dot),
   produced from the file as the client takes it. */
static void pop3_send(struct mra_conn *c, size_t i, uint64_t body_lines)
{
	struct pop3_sess *s = c->sess;
	uint64_t size = pop3_size(s, i);
	int fd = maildir_msg_open(s->f, &s->f->msgs[i]);
	if (fd < 0) {
		pop3_reply(c, errno == ENOENT
				  ? "-ERR Message was expunged."
				  : "-ERR [SYS/TEMP] Cannot read message.");
		return;
	}
	(void)mra_conn_printf(c, "+OK %llu octets\r\n",
			      (unsigned long long)size);
	s->send_fd = fd;
	/* a Maildir file may hold CR LF lines */
	dot_enc_init(&s->dot, DOT_CRLF_IN, body_lines, 0);
	c->produce = pop3_produce;
	/* small messages are done at once, and pipelined commands go on
	   in the same pass */
	mra_conn_pump(c);
}

static void pop3_update(struct mra_conn *c)
{
	struct pop3_sess *s = c->sess;
	struct mailbox_user u;
	size_t n = s->f->n, removed = 0;
	unsigned del = 0, fail = 0;
	bool *sel = xcalloc(n ? n : 1, sizeof *sel);
	for (size_t i = 0; i < n; i++) {
		sel[i] = s->deleted[i];
		del += sel[i];
	}
	(void)mailbox_user_init(&u, s->maildir, NULL); /* no definition */
	/* lib/mailbox unlinks and records the freed room in maildirsize */
	if (del > 0 && mailbox_expunge(&u, s->f, sel, &removed) < 0) {
		log_error("pop3(%s): expunge: %s", s->login_user,
			  strerror(errno));
		fail = del - (unsigned)removed;
	}
	del = (unsigned)removed;
	free(sel);
	log_info("pop3(%s): Disconnected: Logged out top=%u, retr=%u/%llu, "
		 "del=%u/%zu",
		 s->login_user, s->top_count, s->retr_count,
		 (unsigned long long)s->retr_bytes, del, n);
	if (fail > 0)
		pop3_reply(c, "-ERR [SYS/TEMP] Some deleted messages were "
			      "not removed.");
	else
		pop3_reply(c, "+OK Logging out, messages deleted.");
}

static void pop3_trans(struct mra_conn *c, struct str cmd, struct str arg)
{
	struct pop3_sess *s = c->sess;
	struct maildir_folder *f = s->f;
	if (str_case_eq_cstr(cmd, "STAT")) {
		uint64_t total = 0;
		size_t n = 0;
		for (size_t i = 0; i < f->n; i++)
			if (!s->deleted[i]) {
				total += pop3_size(s, i);
				n++;
			}
		(void)mra_conn_printf(c, "+OK %zu %llu\r\n", n,
				      (unsigned long long)total);
	} else if (str_case_eq_cstr(cmd, "LIST") ||
		   str_case_eq_cstr(cmd, "UIDL")) {
		bool uidl = str_case_eq_cstr(cmd, "UIDL");
		if (arg.len > 0) {
			long i = pop3_msgno(c, arg);
			if (i < 0)
				return;
			pop3_list_line(c, "+OK ", (size_t)i, uidl);
			return;
		}
		pop3_reply(c, "+OK");
		for (size_t i = 0; i < f->n; i++) {
			if (s->deleted[i])
				continue;
			pop3_list_line(c, "", i, uidl);
		}
		pop3_reply(c, ".");
	} else if (str_case_eq_cstr(cmd, "RETR")) {
		long i = pop3_msgno(c, arg);
		if (i < 0)
			return;
		s->retr_count++;
		s->retr_bytes += pop3_size(s, (size_t)i);
		pop3_send(c, (size_t)i, UINT64_MAX);
		/* RFC 1939 leaves \Seen to us; Dovecot sets it on RETR */
		struct maildir_msg *m = &f->msgs[i];
		char letters[64];
		if (maildir_info_set(
			str_from_cstr(m->letters),
			maildir_flags_parse(str_from_cstr(m->letters)) |
			    MAILDIR_SEEN,
			letters, sizeof letters) == 0)
			(void)maildir_msg_set_letters(f, m, letters);
	} else if (str_case_eq_cstr(cmd, "TOP")) {
		const char *sp = memchr(arg.p, ' ', arg.len);
		uint64_t lines;
		if (sp == NULL ||
		    str_to_u64((struct str){sp + 1,
					    arg.len - (size_t)(sp - arg.p) - 1},
			       0, UINT64_MAX - 1, &lines) < 0) {
			pop3_reply(c, "-ERR Invalid arguments.");
			return;
		}
		long i =
		    pop3_msgno(c, (struct str){arg.p, (size_t)(sp - arg.p)});
		if (i < 0)
			return;
		s->top_count++;
		pop3_send(c, (size_t)i, lines);
	} else if (str_case_eq_cstr(cmd, "DELE")) {
		long i = pop3_msgno(c, arg);
		if (i < 0)
			return;
		s->deleted[i] = true;
		pop3_reply(c, "+OK Marked to be deleted.");
	} else if (str_case_eq_cstr(cmd, "RSET")) {
		memset(s->deleted, 0, f->n * sizeof *s->deleted);
		pop3_reply(c, "+OK");
	} else if (str_case_eq_cstr(cmd, "NOOP")) {
		pop3_reply(c, "+OK");
	} else if (str_case_eq_cstr(cmd, "QUIT")) {
		pop3_update(c);
		mra_conn_close(c);
	} else if (str_case_eq_cstr(cmd, "CAPA")) {
		pop3_caps(c);
	} else {
		s->bad++;
		pop3_reply(c, "-ERR Unknown command.");
	}
}

static void pop3_sasl_response(struct mra_conn *c, struct str line)
{
	struct pop3_sess *s = c->sess;
	s->sasl_wait = false;
	if (line.len == 1 && line.p[0] == '*') {
		pop3_reply(c, "-ERR Authentication aborted.");
		return;
	}
	char *user, *pass;
	if (mra_sasl_plain(line, &user, &pass) < 0) {
		s->fails++;
		pop3_reply(c, "-ERR [AUTH] Invalid base64 data or "
			      "PLAIN response.");
		return;
	}
	pop3_login(c, str_from_cstr(user), str_from_cstr(pass), "PLAIN");
	explicit_bzero(pass, strlen(pass));
	free(pass);
	free(user);
}

static void pop3_auth(struct mra_conn *c, struct str cmd, struct str arg)
{
	struct pop3_sess *s = c->sess;
	bool insecure = !mra_conn_plaintext_ok(c);
	if (str_case_eq_cstr(cmd, "CAPA")) {
		pop3_caps(c);
	} else if (str_case_eq_cstr(cmd, "STLS")) {
		if (mra_srv.tls == NULL || c->tls_on) {
			pop3_reply(c, "-ERR TLS is not available.");
			return;
		}
		pop3_reply(c, "+OK Begin TLS negotiation now.");
		mra_conn_starttls(c);
	} else if (str_case_eq_cstr(cmd, "USER")) {
		if (insecure) {
			s->plaintext_refused = true;
			log_escape(s->login_user, sizeof s->login_user, arg.p,
				   arg.len);
			pop3_reply(c, "-ERR [AUTH] Plaintext authentication "
				      "disallowed on non-secure (SSL/TLS) "
				      "connections.");
			return;
		}
		free(s->user);
		s->user = xmemdup0(arg.p, arg.len);
		pop3_reply(c, "+OK");
	} else if (str_case_eq_cstr(cmd, "PASS")) {
		if (insecure) {
			s->plaintext_refused = true;
			pop3_reply(c, "-ERR [AUTH] Plaintext authentication "
				      "disallowed on non-secure (SSL/TLS) "
				      "connections.");
			return;
		}
		if (s->user == NULL) {
			pop3_reply(c, "-ERR No username given.");
			return;
		}
		struct str u = str_from_cstr(s->user);
		pop3_login(c, u, arg, "PLAIN");
	} else if (str_case_eq_cstr(cmd, "AUTH")) {
		if (arg.len == 0) {
			pop3_reply(c, "+OK");
			pop3_reply(c, "PLAIN");
			pop3_reply(c, ".");
			return;
		}
		if (insecure) {
			s->plaintext_refused = true;
			pop3_reply(c, "-ERR [AUTH] Plaintext authentication "
				      "disabled.");
			return;
		}
		const char *sp = memchr(arg.p, ' ', arg.len);
		struct str mech = {arg.p, sp ? (size_t)(sp - arg.p) : arg.len};
		if (!str_case_eq_cstr(mech, "PLAIN")) {
			pop3_reply(c, "-ERR Unsupported authentication "
				      "mechanism.");
			return;
		}
		if (sp == NULL) {
			s->sasl_wait = true;
			pop3_reply(c, "+ ");
			return;
		}
		struct str ir = {sp + 1, arg.len - mech.len - 1};
		if (ir.len == 1 && ir.p[0] == '=')
			ir.len = 0; /* RFC 5034 §4: "=" is an empty one */
		pop3_sasl_response(c, ir);
	} else if (str_case_eq_cstr(cmd, "QUIT")) {
		pop3_reply(c, "+OK Logging out.");
		mra_conn_close(c);
	} else if (str_case_eq_cstr(cmd, "NOOP")) {
		pop3_reply(c, "+OK");
	} else {
		s->bad++;
		pop3_reply(c, "-ERR Unknown command.");
	}
}

static void pop3_input(struct mra_conn *c)
{
	struct pop3_sess *s = c->sess;
	while (!c->closing && !c->paused && !c->starttls_pending &&
	       c->produce == NULL && !mra_conn_backlogged(c)) {
		struct str line;
		if (s->skipping) {
			if (!net_skip_line(&c->in))
				return;
			s->skipping = false;
			continue;
		}
		enum net_line r = net_read_line(&c->in, POP3_LINE_MAX, &line);
		if (r == LINE_MORE)
			return;
		if (r == LINE_TOOLONG) {
			pop3_reply(c, "-ERR Input line too long.");
			s->skipping = true;
			if (++s->bad >= MRA_BAD_MAX)
				mra_conn_close(c);
			continue;
		}
		if (s->sasl_wait) {
			pop3_sasl_response(c, line);
			net_line_consume(&c->in, line);
			continue;
		}
		const char *sp = memchr(line.p, ' ', line.len);
		struct str cmd = {line.p,
				  sp ? (size_t)(sp - line.p) : line.len};
		struct str arg = {sp ? sp + 1 : "",
				  sp ? line.len - cmd.len - 1 : 0};
		if (s->state == POP3_TRANS)
			pop3_trans(c, cmd, arg);
		else
			pop3_auth(c, cmd, arg);
		net_line_consume(&c->in, line);
		if (s->bad >= MRA_BAD_MAX) {
			pop3_reply(c, "-ERR Too many bad commands.");
			mra_conn_close(c);
		}
	}
}

const struct mra_proto mra_pop3_proto = {
    .name = "pop3",
    .start = pop3_start,
    .input = pop3_input,
    .login_done = pop3_login_done,
    .timeout = pop3_timeout,
    .free = pop3_free,
};
