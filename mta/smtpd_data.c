/*
 * DATA for SMTP sessions (smtpd_session.h): the envelope and Received:
 * go into a new queue file, then each line of the message as it arrives
 * (dot-unstuffed, CR LF to LF, long lines split as Postfix's smtpd does),
 * with cleanup's share of the work: the logical header is gathered within
 * header_size_limit, header_checks and body_checks applied, Date: and
 * Message-Id: added for local and authenticated senders.  Only
 * CR LF "." CR LF ends the data (RFC 5321 4.1.1.4; SMTP smuggling).
 */
#include "smtpd_session.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "policy.h"
#include "xalloc.h"

static void format_date(char *out, size_t outsz, time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	if (strftime(out, outsz, "%a, %e %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
		out[0] = '\0';
}

static int data_put(struct session *s, const char *p, size_t n)
{
	uint64_t limit = s->srv->cfg.size_limit;
	if (s->too_big || s->write_err)
		return 0;
	if (limit > 0 && queue_file_size(s->qf) + s->msgbuf.len + n > limit) {
		s->too_big = true;
		return 0;
	}
	if (s->msgbuf_on) {
		if (buf_append(&s->msgbuf, p, n) < 0)
			s->too_big = true;
		return 0;
	}
	if (queue_file_write(s->qf, p, n) < 0) {
		log_error("%s: write queue file: %s", s->id, strerror(errno));
		s->write_err = true;
		return -1;
	}
	return 0;
}

/* cleanup's job for local clients: add Date: and Message-Id: */
static void data_end_headers(struct session *s)
{
	char line[512];
	s->in_header = false;
	if (!(s->mynetworks || s->authenticated))
		return;
	if (!s->seen_date) {
		char date[128];
		format_date(date, sizeof(date), s->arrival.tv_sec);
		int n = snprintf(line, sizeof(line), "Date: %s\n", date);
		if (n > 0 && (size_t)n < sizeof(line))
			(void)data_put(s, line, (size_t)n);
	}
	if (!s->seen_msgid) {
		struct tm tm;
		char stamp[32];
		localtime_r(&s->arrival.tv_sec, &tm);
		if (strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
			stamp[0] = '\0';
		int n = snprintf(s->msgid, sizeof(s->msgid), "<%s.%s@%s>",
				 stamp, s->id, s->srv->cfg.hostname);
		if (n < 0 || (size_t)n >= sizeof(s->msgid))
			s->msgid[0] = '\0';
		n = snprintf(line, sizeof(line), "Message-Id: %s\n", s->msgid);
		if (n > 0 && (size_t)n < sizeof(line))
			(void)data_put(s, line, (size_t)n);
	}
	if (!s->seen_from && s->svc == SMTPD_SVC_PICKUP) {
		/* cleanup's From: for local submissions without one; the
		   sendmail command adds its own when it has a full name */
		int n =
		    snprintf(line, sizeof(line), "From: %s\n",
			     s->mail.addr[0] ? s->mail.addr : "MAILER-DAEMON");
		if (n > 0 && (size_t)n < sizeof(line))
			(void)data_put(s, line, (size_t)n);
	}
}

static bool header_is(struct str l, const char *name)
{
	size_t n = strlen(name);
	return l.len > n && l.p[n] == ':' && str_has_prefix_case(l, name);
}

/* header_checks / body_checks: one line, "header" or "body" for the log */
static enum cleanup_action check_line(struct session *s, struct map *m,
				      const char *line, const char *kind)
{
	char text[CLEANUP_TEXT_MAX + 1];
	enum cleanup_action a = cleanup_check(m, line, text);
	const char *what = cleanup_action_log(a);
	if (a == CLEANUP_TEMPFAIL) {
		log_warning("%s: %s_checks lookup failed: %s", s->id, kind,
			    map_spec(m));
		a = CLEANUP_REJECT;
		snprintf(text, sizeof(text),
			 "4.3.0 Server configuration "
			 "error");
		what = NULL;
	}
	if (what != NULL) {
		/* Postfix: "ID: reject: header Subject: x from h[a];
		   from=<> to=<> proto=ESMTP helo=<h>: 5.7.1 text" */
		char esc[256], helo[SMTPD_HELO_MAX * 4 + 8];
		size_t n = strlen(line);
		log_escape(esc, sizeof(esc), line, n > 200 ? 200 : n);
		log_escape(helo, sizeof(helo), s->helo, strlen(s->helo));
		log_info_as("cleanup",
			    "%s: %s: %s %s from %s[%s]; from=<%s> to=<%s> "
			    "proto=%s helo=<%s>%s%s",
			    s->id, what, kind, esc, s->name, s->addr,
			    s->mail.addr, s->nrcpt ? s->rcpts[0].addr : "",
			    s->esmtp ? "ESMTP" : "SMTP", helo,
			    text[0] ? ": " : "", text);
	}
	switch (a) {
	case CLEANUP_REJECT:
	case CLEANUP_DISCARD:
	case CLEANUP_HOLD:
		/* the strongest wins: reject, then discard, then hold */
		if (s->cl_action == CLEANUP_NONE ||
		    (s->cl_action == CLEANUP_HOLD && a != CLEANUP_HOLD) ||
		    (s->cl_action == CLEANUP_DISCARD && a == CLEANUP_REJECT)) {
			s->cl_action = a;
			snprintf(s->cl_text, sizeof(s->cl_text), "%s", text);
		}
		return CLEANUP_NONE;
	case CLEANUP_PREPEND:
	case CLEANUP_REPLACE:
		snprintf(s->cl_text, sizeof(s->cl_text), "%s", text);
		return a;
	case CLEANUP_IGNORE:
		return a;
	default:
		return CLEANUP_NONE;
	}
}

/* Writes one line (or header) after body_checks / header_checks. */
static void put_checked(struct session *s, const char *p, size_t n,
			struct map *m, const char *kind)
{
	enum cleanup_action a = CLEANUP_NONE;
	if (m != NULL && s->cl_action != CLEANUP_REJECT) {
		char *line = xmemdup0(p, n);
		a = check_line(s, m, line, kind);
		free(line);
	}
	if (a == CLEANUP_IGNORE)
		return;
	if (a == CLEANUP_PREPEND || a == CLEANUP_REPLACE) {
		(void)data_put(s, s->cl_text, strlen(s->cl_text));
		(void)data_put(s, "\n", 1);
		if (a == CLEANUP_REPLACE)
			return;
	}
	(void)data_put(s, p, n);
	(void)data_put(s, "\n", 1);
}

/* The logical header collected in s->hdr is complete. */
static void hdr_flush(struct session *s)
{
	if (s->hdr.len == 0)
		return;
	struct str l = {s->hdr.p, s->hdr.len};
	const char *colon = memchr(l.p, ':', l.len);
	if (header_is(l, "Date")) {
		s->seen_date = true;
	} else if (header_is(l, "From")) {
		s->seen_from = true;
	} else if (header_is(l, "Message-ID") && colon != NULL) {
		s->seen_msgid = true;
		const char *nl =
		    memchr(colon, '\n', l.len - (size_t)(colon - l.p));
		size_t vl = nl ? (size_t)(nl - colon - 1)
			       : l.len - (size_t)(colon + 1 - l.p);
		struct str v = str_trim((struct str){colon + 1, vl});
		size_t n =
		    v.len < sizeof(s->msgid) - 1 ? v.len : sizeof(s->msgid) - 1;
		log_escape(s->msgid, sizeof(s->msgid), v.p, n);
	}
	put_checked(s, l.p, l.len, s->pol->header_checks, "header");
	buf_reset(&s->hdr);
	s->hdr_truncated = false;
}

/* Adds text to the current header within header_size_limit; the excess
   is dropped, as Postfix's cleanup does. */
static void hdr_add(struct session *s, const char *p, size_t n)
{
	if (s->hdr_truncated)
		return;
	if (s->hdr.len + n > s->pol->header_size_limit ||
	    buf_append(&s->hdr, p, n) < 0) {
		size_t room = s->pol->header_size_limit > s->hdr.len
				  ? s->pol->header_size_limit - s->hdr.len
				  : 0;
		if (room > 0 && buf_append(&s->hdr, p, room) < 0)
			room = 0;
		s->hdr_truncated = true;
	}
}

static bool header_start_ok(struct str l)
{
	const char *colon = memchr(l.p, ':', l.len);
	bool ok = colon != NULL && colon > l.p;
	for (const char *c = l.p; ok && c < colon; c++) {
		if ((unsigned char)*c <= 32 || (unsigned char)*c >= 127)
			ok = false;
	}
	return ok;
}

/*
 * One line of the header section (whole = false: a piece of a line too
 * long to read at once, glued to the previous piece).  Returns true when
 * the line was taken as a header, false when the body has started (the
 * caller writes it as a body line).
 */
static bool data_header_line(struct session *s, struct str l, bool piece)
{
	if (piece) {
		hdr_add(s, l.p, l.len);
		return true;
	}
	if (l.len == 0) {
		hdr_flush(s);
		data_end_headers(s);
		(void)data_put(s, "\n", 1);
		return true;
	}
	if ((l.p[0] == ' ' || l.p[0] == '\t') && s->hdr.len > 0) {
		hdr_add(s, "\n", 1);
		hdr_add(s, l.p, l.len);
		return true;
	}
	hdr_flush(s);
	if (!header_start_ok(l)) {
		/* the body starts without an empty line: end headers here */
		data_end_headers(s);
		(void)data_put(s, "\n", 1);
		return false;
	}
	hdr_add(s, l.p, l.len);
	return true;
}

static void data_line(struct session *s, struct str l)
{
	if (s->in_header && data_header_line(s, l, false))
		return;
	put_checked(s, l.p, l.len, s->pol->body_checks, "body");
}

/* The queue file: envelope, PREPEND headers and Received:, from the
   session's envelope and s->arrival. */
static bool data_open(struct session *s)
{
	const struct smtpd_config *cfg = &s->srv->cfg;
	const char *err = "";
	char date[128], tls[256] = "";
	s->qf = queue_file_create(cfg->queue_dir, s->id, &err);
	if (s->qf == NULL) {
		log_error("%s: %s: %s", s->id, err, strerror(errno));
		return false;
	}
	char v[QUEUE_VALUE_MAX];
	int ok = 0;
	snprintf(v, sizeof(v), "%lld.%06ld", (long long)s->arrival.tv_sec,
		 (long)s->arrival.tv_usec);
	ok |= queue_file_record(s->qf, 'T', v);
	ok |= queue_file_record(s->qf, 'S', s->mail.addr);
	snprintf(v, sizeof(v), "client_name=%s", s->name);
	ok |= queue_file_record(s->qf, 'A', v);
	snprintf(v, sizeof(v), "client_address=%s", s->addr);
	ok |= queue_file_record(s->qf, 'A', v);
	snprintf(v, sizeof(v), "helo_name=%s", s->helo);
	ok |= queue_file_record(s->qf, 'A', v);
	snprintf(v, sizeof(v), "protocol=%s", smtpd_proto_name(s));
	ok |= queue_file_record(s->qf, 'A', v);
	snprintf(v, sizeof(v), "service=%s", smtpd_service_name(s->svc));
	ok |= queue_file_record(s->qf, 'A', v);
	if (s->svc == SMTPD_SVC_PICKUP) {
		snprintf(v, sizeof(v), "uid=%lu", s->peer_uid);
		ok |= queue_file_record(s->qf, 'A', v);
	}
	if (s->authenticated) {
		snprintf(v, sizeof(v), "sasl_method=%s", s->sasl_mech);
		ok |= queue_file_record(s->qf, 'A', v);
		snprintf(v, sizeof(v), "sasl_username=%s", s->sasl_user);
		ok |= queue_file_record(s->qf, 'A', v);
	}
	if (s->mail.envid[0] != '\0') {
		snprintf(v, sizeof(v), "envid=%s", s->mail.envid);
		ok |= queue_file_record(s->qf, 'A', v);
	}
	if (s->mail.ret != SMTP_RET_NONE)
		ok |= queue_file_record(
		    s->qf, 'A',
		    s->mail.ret == SMTP_RET_FULL ? "ret=FULL" : "ret=HDRS");
	if (s->mail.body != SMTP_BODY_NONE)
		ok |= queue_file_record(s->qf, 'A',
					s->mail.body == SMTP_BODY_8BITMIME
					    ? "body=8BITMIME"
					    : "body=7BIT");
	if (s->mail.smtputf8)
		ok |= queue_file_record(s->qf, 'A', "smtputf8=yes");
	for (size_t i = 0; i < s->nrcpt; i++) {
		if (s->rcpts[i].orcpt[0] != '\0')
			ok |= queue_file_record(s->qf, 'O', s->rcpts[i].orcpt);
		if (s->rcpts[i].notify != 0) {
			snprintf(v, sizeof(v), "%u", s->rcpts[i].notify);
			ok |= queue_file_record(s->qf, 'N', v);
		}
		ok |= queue_file_record(s->qf, 'R', s->rcpts[i].addr);
	}
	ok |= queue_file_begin_message(s->qf);
	if (ok != 0) {
		log_error("%s: write queue file: %s", s->id, strerror(errno));
		queue_file_free(&s->qf);
		return false;
	}

	/* access map PREPEND headers go first, as smtpd hands them to
	   cleanup before its Received: */
	for (size_t i = 0; i < s->tx.nprepend; i++) {
		if (queue_file_write(s->qf, s->tx.prepend[i],
				     strlen(s->tx.prepend[i])) < 0 ||
		    queue_file_write(s->qf, "\n", 1) < 0) {
			log_error("%s: write queue file: %s", s->id,
				  strerror(errno));
			queue_file_free(&s->qf);
			return false;
		}
	}
	/* Received: as Postfix writes it (RFC 5321 4.4, RFC 3848 protocol) */
	format_date(date, sizeof(date), s->arrival.tv_sec);
	if (s->tls_on)
		snprintf(tls, sizeof(tls),
			 "\n\t(using %s with cipher %s (%d/%d bits))",
			 tls_conn_version(s->tls), tls_conn_cipher(s->tls),
			 tls_conn_cipher_bits(s->tls),
			 tls_conn_cipher_bits(s->tls));
	char helo[SMTPD_HELO_MAX + 1];
	log_escape(helo, sizeof(helo), s->helo, strlen(s->helo));
	char hdr[2048];
	int n;
	if (s->svc == SMTPD_SVC_PICKUP)
		n = smtpd_pickup_received(s, date, hdr, sizeof(hdr));
	else if (s->nrcpt == 1)
		n = snprintf(hdr, sizeof(hdr),
			     "Received: from %s (%s [%s])%s\n\tby %s (youju) "
			     "with %s id %s\n\tfor <%s>; %s\n",
			     helo[0] ? helo : s->name, s->name, s->addr, tls,
			     cfg->hostname, smtpd_proto_name(s), s->id,
			     s->rcpts[0].addr, date);
	else
		n = snprintf(hdr, sizeof(hdr),
			     "Received: from %s (%s [%s])%s\n\tby %s (youju) "
			     "with %s id %s; %s\n",
			     helo[0] ? helo : s->name, s->name, s->addr, tls,
			     cfg->hostname, smtpd_proto_name(s), s->id, date);
	if (n < 0 || (size_t)n >= sizeof(hdr) ||
	    queue_file_write(s->qf, hdr, (size_t)n) < 0) {
		log_error("%s: write queue file: %s", s->id, strerror(errno));
		queue_file_free(&s->qf);
		return false;
	}
	return true;
}

bool smtpd_data_reopen(struct session *s)
{
	queue_file_free(&s->qf);
	return data_open(s);
}

bool smtpd_data_start(struct session *s)
{
	gettimeofday(&s->arrival, NULL);
	if (!data_open(s))
		return false;
	s->line_start = true;
	s->prev_crlf = true;
	s->in_header = true;
	s->too_big = s->write_err = false;
	s->seen_msgid = s->seen_date = s->seen_from = false;
	s->msgid[0] = '\0';
	smtpd_sign_start(s);
	return true;
}

static void data_finish(struct session *s)
{
	if (s->in_header) {
		hdr_flush(s);
		data_end_headers(s);
	}
	if (s->too_big) {
		char rep[] = "552 5.3.4 Message size exceeds fixed limit";
		smtpd_log_reject(s, "END-OF-MESSAGE", rep, NULL);
		smtpd_reply_err(s, "%s", rep);
		smtpd_transaction_reset(s);
		s->state = S_COMMAND;
		return;
	}
	if (s->write_err) {
		smtpd_reply_err(s, "451 4.3.0 Error: queue file write error");
		smtpd_transaction_reset(s);
		s->state = S_COMMAND;
		return;
	}
	if (s->cl_action == CLEANUP_REJECT) {
		/* header_checks / body_checks REJECT (logged when matched) */
		smtpd_reply_err(s, "%s %s",
				s->cl_text[0] == '4' ? "451" : "550",
				s->cl_text);
		smtpd_transaction_reset(s);
		s->state = S_COMMAND;
		return;
	}
	if (!smtpd_commit_loop(s) && !smtpd_job_submit(s, JOB_COMMIT)) {
		smtpd_reply_err(s, "451 4.3.0 Error: queue file write error");
		smtpd_transaction_reset(s);
		s->state = S_COMMAND;
	}
}

void smtpd_commit_finish(struct session *s)
{
	const char *to = s->nrcpt == 1 ? s->rcpts[0].addr : NULL;
	smtpd_log_events(s, "END-OF-MESSAGE", to);
	if (s->job_res == RESTRICT_REJECT) {
		smtpd_log_reject(s, "END-OF-MESSAGE", s->job_reply, to);
		smtpd_reply_err(s, "%s", s->job_reply);
	} else if (s->tx.discard || s->cl_action == CLEANUP_DISCARD) {
		/* Postfix claims delivery and drops the message */
		log_info_as("cleanup",
			    "%s: from=<%s>, size=%llu, nrcpt=%zu (discarded)",
			    s->id, s->mail.addr,
			    (unsigned long long)queue_file_size(s->qf),
			    s->nrcpt);
		s->ok[SMTP_VERB_DATA]++;
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", s->id);
	} else if (s->job_rc < 0) {
		log_error("%s: %s: %s", s->id, s->job_error,
			  strerror(s->job_errno));
		smtpd_reply_err(s, "451 4.3.0 Error: queue file write error");
	} else {
		if (s->msgid[0] != '\0')
			log_info_as("cleanup", "%s: message-id=%s", s->id,
				    s->msgid);
		bool hold = s->tx.hold || s->cl_action == CLEANUP_HOLD;
		/* as Postfix's qmgr writes it; pflogsumm takes the size and
		   sender from it */
		log_info_as(hold ? "cleanup" : "qmgr",
			    "%s: from=<%s>, size=%llu, nrcpt=%zu (queue %s)",
			    s->id, s->mail.addr,
			    (unsigned long long)queue_file_size(s->qf),
			    s->nrcpt, hold ? "hold" : "active");
		s->ok[SMTP_VERB_DATA]++;
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", s->id);
	}
	smtpd_transaction_reset(s);
}

void smtpd_bare_lf(struct session *s)
{
	log_info("disconnect: bare <LF> received from %s[%s] after %s", s->name,
		 s->addr, smtpd_verb_log(s));
	smtpd_reply(s, "521 5.5.2 %s Error: bare <LF> received",
		    s->srv->cfg.hostname);
	smtpd_transaction_reset(s);
	smtpd_session_close(s);
}

/* One line (or piece of a line too long) of DATA input from in, a view
   of what is left of s->in; adds what it took to *used.  Returns true
   when it took something. */
static bool data_step(struct session *s, struct buf *in, size_t *used)
{
	size_t max = s->srv->cfg.line_limit + 2;
	struct str line;
	if (max > s->in.max)
		max = s->in.max;
	switch (net_read_line_raw(in, max, &line)) {
	case LINE_MORE:
	case LINE_EOF:
		return false;
	case LINE_TOOLONG: {
		/* keep it as a partial line, as Postfix splits long lines;
		   never split a CR from its LF */
		size_t n = max;
		if (n > 1 && in->p[n - 1] == '\r')
			n--;
		struct str seg = {in->p, n};
		if (s->line_start && seg.len > 0 && seg.p[0] == '.') {
			seg.p++;
			seg.len--;
		}
		if (!s->in_header || !data_header_line(s, seg, !s->line_start))
			(void)data_put(s, seg.p, seg.len);
		*used += n;
		s->line_start = false;
		return true;
	}
	case LINE_OK:
		break;
	}
	bool crlf = line.len > 0 && line.p[line.len - 1] == '\r';
	struct str l = {line.p, crlf ? line.len - 1 : line.len};
	if (!crlf && s->srv->cfg.forbid_bare_newline && !s->mynetworks) {
		*used += line.len + 1; /* and its LF */
		smtpd_bare_lf(s);
		return true;
	}
	/* RFC 5321 4.1.1.4: only CR LF "." CR LF ends the data (no bare LF
	   variant: SMTP smuggling) */
	if (s->line_start && s->prev_crlf && crlf && l.len == 1 &&
	    l.p[0] == '.') {
		*used += line.len + 1; /* and its LF */
		s->state = S_COMMAND;
		data_finish(s);
		return true;
	}
	if (s->line_start && l.len > 0 && l.p[0] == '.') {
		l.p++;
		l.len--;
	}
	if (s->line_start) {
		data_line(s, l);
	} else if (s->in_header) {
		data_header_line(s, l, true);
	} else {
		(void)data_put(s, l.p, l.len);
		(void)data_put(s, "\n", 1);
	}
	s->line_start = true;
	s->prev_crlf = crlf;
	*used += line.len + 1; /* and its LF */
	return true;
}

/* The lines at hand, each read in place: the buffer moves once at the
   end, not after every line (a 4 KiB message is ~50 lines, each of
   which moved what followed it). */
bool smtpd_data_input(struct session *s)
{
	size_t used = 0;
	bool any = false;
	while (s->state == S_DATA && used < s->in.len) {
		/* max stays the buffer's: "full" means s->in is */
		struct buf v = {.p = s->in.p + used,
				.len = s->in.len - used,
				.cap = s->in.cap - used,
				.max = s->in.max};
		if (!data_step(s, &v, &used))
			break;
		any = true;
	}
	buf_consume(&s->in, used);
	return any;
}
