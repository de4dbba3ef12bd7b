/*
 * Milter client (see milter.h).  Packets are a 4-byte big-endian length
 * (command byte included), the command byte and its data (libmilter's
 * mfdef.h numbers and letters, Postfix's milter8.c behaviour).  The whole
 * conversation for one message happens at the end of data on one
 * connection per milter: option negotiation, macros and connect, HELO,
 * MAIL, each RCPT, DATA, each header, end of header, the body in 64 KiB
 * chunks with CR LF line ends, end of body, then the modifications and
 * the final answer, QUIT.  Steps the milter asked to skip (SMFIP_NO*) are
 * not sent and steps it will not answer (SMFIP_NR_*) are not waited for.
 * Envelope changes (change sender, add or delete recipients) are handed
 * back as a list; the caller rewrites its queue file's envelope with them
 * (smtpd_sign.c), as Postfix's cleanup does.  A modification the milter
 * did not ask for in negotiation (SMFIF_*) is a protocol error, as in
 * Postfix's milter8.c.
 */
#include "milter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dkim.h"
#include "log.h"
#include "policysvc.h"
#include "xalloc.h"

/* protocol steps (SMFIP_*) */
#define P_NOCONNECT 0x1
#define P_NOHELO    0x2
#define P_NOMAIL    0x4
#define P_NORCPT    0x8
#define P_NOBODY    0x10
#define P_NOHDRS    0x20
#define P_NOEOH	    0x40
#define P_NR_HDR    0x80
#define P_NOUNKNOWN 0x100
#define P_NODATA    0x200
#define P_SKIP	    0x400
#define P_RCPT_REJ  0x800
#define P_NR_CONN   0x1000
#define P_NR_HELO   0x2000
#define P_NR_MAIL   0x4000
#define P_NR_RCPT   0x8000
#define P_NR_DATA   0x10000
#define P_NR_UNKN   0x20000
#define P_NR_EOH    0x40000
#define P_NR_BODY   0x80000
#define P_LEADSPC   0x100000
#define P_OFFERED   0x1FFFFF
/* actions (SMFIF_*) we carry out */
#define A_ADDHDRS     0x1
#define A_CHGBODY     0x2
#define A_ADDRCPT     0x4
#define A_DELRCPT     0x8
#define A_CHGHDRS     0x10
#define A_QUARANTINE  0x20
#define A_CHGFROM     0x40
#define A_ADDRCPT_PAR 0x80
#define A_SETSYMLIST  0x100
#define A_ALL	      0x1FF
/* longest macro name list a milter may ask for at one step */
#define SYMLIST_MAX 1024

#define BODY_CHUNK 65535

struct hdr {
	char *name;
	char *value; /* as after the colon, leading space included */
};

struct mmsg {
	struct hdr *h;
	size_t nh, cap;
	struct buf body;
};

struct conn {
	int fd;
	const char *spec;
	const struct milter_cfg *cfg;
	uint32_t proto; /* the milter's protocol flags */
	uint32_t actions;
	unsigned version;
	/* the macros the milter asked for (smfi_setsymlist), owned; NULL:
	   the milter_*_macros setting */
	char *symlist[MILTER_M_STAGES];
	const struct milter_tx *tx;
};

void milter_result_deinit(struct milter_result *r)
{
	for (size_t i = 0; i < r->nops; i++) {
		free(r->ops[i].addr);
		free(r->ops[i].args);
	}
	free(r->ops);
	r->ops = NULL;
	r->nops = 0;
	if (r->changed)
		buf_deinit(&r->msg);
	r->changed = false;
}

bool milter_action_parse(const char *s, enum milter_action *a)
{
	if (strcasecmp(s, "accept") == 0)
		*a = MILTER_ACCEPT;
	else if (strcasecmp(s, "tempfail") == 0)
		*a = MILTER_TEMPFAIL;
	else if (strcasecmp(s, "reject") == 0)
		*a = MILTER_REJECT;
	else if (strcasecmp(s, "quarantine") == 0)
		*a = MILTER_QUARANTINE;
	else
		return false;
	return true;
}

bool milter_spec_ok(const char *spec)
{
	return policysvc_spec_ok(spec);
}

/* ---------------------------------------------------------- the message */

static void mmsg_add(struct mmsg *m, const char *name, size_t nl,
		     const char *value, size_t vl, size_t at)
{
	if (m->nh == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 32;
		m->h = xrealloc(m->h, m->cap * sizeof(*m->h));
	}
	if (at > m->nh)
		at = m->nh;
	memmove(m->h + at + 1, m->h + at, (m->nh - at) * sizeof(*m->h));
	m->h[at].name = xmemdup0(name, nl);
	m->h[at].value = xmemdup0(value, vl);
	m->nh++;
}

static void mmsg_del(struct mmsg *m, size_t i)
{
	free(m->h[i].name);
	free(m->h[i].value);
	memmove(m->h + i, m->h + i + 1, (m->nh - i - 1) * sizeof(*m->h));
	m->nh--;
}

static void mmsg_load(struct mmsg *m, const char *msg, size_t len)
{
	struct dkim_msg *d = xmalloc(sizeof(*d));
	memset(m, 0, sizeof(*m));
	dkim_msg_parse(msg, len, d);
	for (size_t i = 0; i < d->nf; i++) {
		const struct dkim_field *f = &d->f[i];
		size_t vl = f->len > f->name_len ? f->len - f->name_len - 1 : 0;
		mmsg_add(m, f->p, f->name_len,
			 f->len > f->name_len ? f->p + f->name_len + 1 : "", vl,
			 m->nh);
	}
	/* room for a milter's replacement body (RFC 5322 has no limit;
	   message_size_limit is checked on what the client sent) */
	buf_init(&m->body, len + 64 * 1024 * 1024);
	if (d->body_len > 0 && buf_append(&m->body, d->body, d->body_len) < 0)
		m->body.len = 0;
	free(d);
}

static void mmsg_free(struct mmsg *m)
{
	while (m->nh > 0)
		mmsg_del(m, m->nh - 1);
	free(m->h);
	buf_deinit(&m->body);
}

/* the queue form: LF line ends */
static int mmsg_write(const struct mmsg *m, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < m->nh; i++)
		rc |= buf_printf(out, "%s:%s\n", m->h[i].name, m->h[i].value);
	rc |= buf_append_char(out, '\n');
	if (m->body.len > 0)
		rc |= buf_append(out, m->body.p, m->body.len);
	return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- wire */

static int send_all(struct conn *c, const void *p, size_t n, unsigned ms)
{
	long long deadline = policysvc_now_ms() + ms;
	const char *q = p;
	while (n > 0) {
		ssize_t w = send(c->fd, q, n, MSG_NOSIGNAL);
		if (w > 0) {
			q += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (policysvc_wait(c->fd, POLLOUT, deadline) < 0)
			return -1;
	}
	return 0;
}

static int send_cmd(struct conn *c, char cmd, const void *data, size_t n,
		    unsigned ms)
{
	unsigned char h[5];
	uint32_t l = htonl((uint32_t)n + 1);
	memcpy(h, &l, 4);
	h[4] = (unsigned char)cmd;
	if (send_all(c, h, 5, ms) < 0)
		return -1;
	return n ? send_all(c, data, n, ms) : 0;
}

static int read_full(struct conn *c, void *p, size_t n, long long deadline)
{
	char *q = p;
	while (n > 0) {
		ssize_t r = read(c->fd, q, n);
		if (r > 0) {
			q += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (policysvc_wait(c->fd, POLLIN, deadline) < 0)
			return -1;
	}
	return 0;
}

/* One reply packet: the command into *cmd, the data (NUL added) into
 *data (free it), its length into *n. */
static int read_reply(struct conn *c, char *cmd, char **data, size_t *n,
		      unsigned ms)
{
	long long deadline = policysvc_now_ms() + ms;
	unsigned char h[4];
	uint32_t l;
	if (read_full(c, h, 4, deadline) < 0)
		return -1;
	memcpy(&l, h, 4);
	l = ntohl(l);
	if (l == 0 || l > MILTER_PACKET_MAX) {
		errno = EPROTO;
		return -1;
	}
	char *b = xmalloc(l + 1);
	if (read_full(c, b, l, deadline) < 0) {
		free(b);
		return -1;
	}
	*cmd = b[0];
	memmove(b, b + 1, l - 1);
	b[l - 1] = '\0';
	*data = b;
	*n = l - 1;
	return 0;
}

/* The domain of an address ("" when none). */
static const char *addr_domain(const char *a)
{
	const char *at = a ? strrchr(a, '@') : NULL;
	return at ? at + 1 : "";
}

/*
 * The value of one macro (Postfix's names, milter8.c and smtpd_milter.c);
 * "" when unknown or not set: such macros are not sent.  rcpt is the
 * recipient of the RCPT step (NULL elsewhere).  tmp holds built values.
 */
static const char *macro_value(const struct milter_tx *tx, const char *name,
			       const char *rcpt, char *tmp, size_t tmpsz)
{
	if (strcmp(name, "j") == 0 || strcmp(name, "{daemon_name}") == 0)
		return tx->myhostname;
	if (strcmp(name, "v") == 0)
		return "youju";
	if (strcmp(name, "_") == 0) {
		snprintf(tmp, tmpsz, "%s [%s]", tx->client_name,
			 tx->client_addr);
		return tmp;
	}
	if (strcmp(name, "{daemon_addr}") == 0)
		return tx->daemon_addr ? tx->daemon_addr : "";
	if (strcmp(name, "{daemon_port}") == 0 ||
	    strcmp(name, "{client_port}") == 0) {
		unsigned port =
		    name[1] == 'd' ? tx->daemon_port : tx->client_port;
		if (port == 0)
			return "";
		snprintf(tmp, tmpsz, "%u", port);
		return tmp;
	}
	if (strcmp(name, "{client_addr}") == 0)
		return tx->client_addr;
	if (strcmp(name, "{client_name}") == 0 ||
	    strcmp(name, "{client_ptr}") == 0)
		return tx->client_name;
	if (strcmp(name, "{tls_version}") == 0)
		return tx->tls_version ? tx->tls_version : "";
	if (strcmp(name, "{cipher}") == 0)
		return tx->tls_cipher ? tx->tls_cipher : "";
	if (strcmp(name, "{cipher_bits}") == 0) {
		if (tx->tls_bits == 0)
			return "";
		snprintf(tmp, tmpsz, "%u", tx->tls_bits);
		return tmp;
	}
	if (strcmp(name, "i") == 0)
		return tx->queue_id;
	if (strcmp(name, "{auth_type}") == 0)
		return tx->sasl_method ? tx->sasl_method : "";
	if (strcmp(name, "{auth_authen}") == 0)
		return tx->sasl_user ? tx->sasl_user : "";
	if (strcmp(name, "{cert_subject}") == 0)
		return tx->cert_subject ? tx->cert_subject : "";
	if (strcmp(name, "{cert_issuer}") == 0)
		return tx->cert_issuer ? tx->cert_issuer : "";
	if (strcmp(name, "{auth_author}") == 0)
		return tx->auth_author ? tx->auth_author : "";
	if (strcmp(name, "{mail_mailer}") == 0)
		return tx->mailer && tx->sender[0] != '\0'
			   ? tx->mailer(tx->mailer_ctx, tx->sender)
			   : "";
	if (strcmp(name, "{rcpt_mailer}") == 0)
		return tx->mailer && rcpt ? tx->mailer(tx->mailer_ctx, rcpt)
					  : "";
	if (strcmp(name, "{mail_addr}") == 0)
		return tx->sender;
	if (strcmp(name, "{mail_host}") == 0)
		return addr_domain(tx->sender);
	if (strcmp(name, "{rcpt_addr}") == 0)
		return rcpt ? rcpt : "";
	if (strcmp(name, "{rcpt_host}") == 0)
		return rcpt ? addr_domain(rcpt) : "";
	return "";
}

/* macros: one 'D' packet for the step cmd with the names of stage (the
   milter's own list, else the setting) */
static int send_macros(struct conn *c, char cmd, enum milter_stage stage,
		       const char *rcpt)
{
	const char *list =
	    c->symlist[stage] ? c->symlist[stage] : c->cfg->macros[stage];
	if (list == NULL || list[0] == '\0')
		return 0;
	struct buf b;
	buf_init(&b, 16384);
	int rc = buf_append_char(&b, cmd);
	size_t nsent = 0;
	for (const char *p = list; *p != '\0';) {
		p += strspn(p, " ,\t\r\n");
		size_t n = strcspn(p, " ,\t\r\n");
		if (n == 0)
			break;
		char name[128], tmp[600];
		if (n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			const char *v =
			    macro_value(c->tx, name, rcpt, tmp, sizeof(tmp));
			if (v != NULL && v[0] != '\0') {
				rc |= buf_append(&b, name, n + 1);
				rc |= buf_append(&b, v, strlen(v) + 1);
				nsent++;
			}
		}
		p += n;
	}
	if (rc == 0 && nsent > 0)
		rc = send_cmd(c, 'D', b.p, b.len, c->cfg->command_ms);
	buf_deinit(&b);
	return rc;
}

/* The macro lists after the three words of the milter's 'O' reply:
   (stage, names NUL-terminated) pairs, smfi_setsymlist. */
static void read_symlists(struct conn *c, const char *d, size_t n)
{
	size_t i = 12;
	while (i + 5 <= n) {
		uint32_t st;
		memcpy(&st, d + i, 4);
		st = ntohl(st);
		i += 4;
		const char *names = d + i;
		size_t l = strnlen(names, n - i);
		i += l + 1;
		if (st >= MILTER_M_STAGES || l > SYMLIST_MAX ||
		    !(c->actions & A_SETSYMLIST))
			continue;
		free(c->symlist[st]);
		c->symlist[st] = xmemdup0(names, l);
	}
}

/* ------------------------------------------------------- the conversation */

enum step { ST_CONTINUE, ST_FINAL, ST_ERROR };

/* SMFIR_REPLYCODE d[0..n) ("550 5.7.1 text", NUL-terminated): the milter's
   own reply, CR and LF made spaces, into r.  false for a bad code. */
static bool replycode(struct milter_result *r, char *d, size_t n)
{
	if (n < 4 || (d[0] != '4' && d[0] != '5') || d[1] < '0' || d[1] > '9' ||
	    d[2] < '0' || d[2] > '9' || (d[3] != ' ' && d[3] != '-'))
		return false;
	for (char *q = d; *q; q++)
		if (*q == '\r' || *q == '\n')
			*q = ' ';
	r->action = d[0] == '4' ? MILTER_TEMPFAIL : MILTER_REJECT;
	snprintf(r->reply, sizeof(r->reply), "%s", d);
	return true;
}

/* Reads the answer to one step unless the milter said it will not give
   one.  A final verdict (reject, tempfail, discard, accept) ends the
   conversation: ST_FINAL with r->action/reply set. */
static enum step answer(struct conn *c, uint32_t nr_flag, unsigned ms,
			struct milter_result *r, const char *step)
{
	if (nr_flag && (c->proto & nr_flag))
		return ST_CONTINUE;
	for (;;) {
		char cmd;
		char *d;
		size_t n;
		if (read_reply(c, &cmd, &d, &n, ms) < 0) {
			snprintf(r->reason, sizeof(r->reason), "%s: %s", step,
				 strerror(errno));
			return ST_ERROR;
		}
		enum step st = ST_FINAL;
		switch (cmd) {
		case 'c': /* continue */
		case 's': /* skip (the rest of the body) */
			st = ST_CONTINUE;
			break;
		case 'p': /* progress: wait on */
			free(d);
			continue;
		case 'a':
			r->action = MILTER_ACCEPT;
			break;
		case 'd':
			r->action = MILTER_DISCARD;
			break;
		case 'r':
			r->action = MILTER_REJECT;
			snprintf(r->reply, sizeof(r->reply),
				 "550 5.7.1 Command rejected");
			break;
		case 't':
			r->action = MILTER_TEMPFAIL;
			snprintf(r->reply, sizeof(r->reply),
				 "451 4.7.1 Service unavailable - try again "
				 "later");
			break;
		case 'y':
			if (!replycode(r, d, n)) {
				snprintf(r->reason, sizeof(r->reason),
					 "%s: bad reply code", step);
				free(d);
				return ST_ERROR;
			}
			break;
		default:
			snprintf(r->reason, sizeof(r->reason),
				 "%s: unexpected reply '%c'", step, cmd);
			free(d);
			return ST_ERROR;
		}
		free(d);
		return st;
	}
}

static void fold_crlf(char *v)
{
	char *o = v;
	for (char *p = v; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n')
			continue;
		*o++ = *p;
	}
	*o = '\0';
}

/* One envelope change into r->ops: the address with white space and
   angle brackets taken off; for 'e' and '2' the ESMTP arguments that may
   follow it (d holds n bytes, NUL-terminated). */
static int env_op(const struct conn *c, struct milter_result *r, char op,
		  const char *d, size_t dn)
{
	const char *args = "";
	size_t al = 0, first = strlen(d);
	if ((op == 'e' || op == '2') && first + 1 < dn) {
		args = d + first + 1;
		al = strnlen(args, dn - first - 1);
		if (al > MILTER_ENV_ARGS_MAX) {
			/* the change is made, its arguments dropped */
			log_warning("%s: milter %s: ESMTP arguments of %zu "
				    "bytes ignored",
				    c->tx->queue_id, c->spec, al);
			args = "";
			al = 0;
		}
	}
	if (r->nops >= MILTER_ENV_OPS_MAX)
		return -1;
	const char *a = d;
	while (*a == ' ' || *a == '\t')
		a++;
	size_t n = strlen(a);
	while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
		n--;
	if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
		a++;
		n -= 2;
	}
	if (n > 1000 || (n == 0 && op != 'e'))
		return -1;
	r->ops = xrealloc(r->ops, (r->nops + 1) * sizeof(*r->ops));
	r->ops[r->nops].op = op == '2' ? '+' : op;
	r->ops[r->nops].addr = xmemdup0(a, n);
	r->ops[r->nops].args = xmemdup0(args, al);
	r->nops++;
	return 0;
}

/* End of body: modifications, then the final verdict. */
static enum step eom(struct conn *c, struct mmsg *m, struct milter_result *r)
{
	bool body_replaced = false;
	for (;;) {
		char cmd;
		char *d;
		size_t n;
		if (read_reply(c, &cmd, &d, &n, c->cfg->content_ms) < 0) {
			snprintf(r->reason, sizeof(r->reason),
				 "end of body: %s", strerror(errno));
			return ST_ERROR;
		}
		const char *name = d, *val = NULL;
		uint32_t idx = 0;
		bool mod = true;
		switch (cmd) {
		case 'h': /* add header: name\0value\0 */
		case 'i': /* insert header: index name\0value\0 */
		case 'm': /* change header: index name\0value\0 */
			if (!(c->actions &
			      (cmd == 'm' ? A_CHGHDRS : A_ADDHDRS)))
				goto bad;
			if (cmd != 'h') {
				if (n < 4)
					goto bad;
				memcpy(&idx, d, 4);
				idx = ntohl(idx);
				name = d + 4;
			}
			val = name + strlen(name) + 1;
			if (val > d + n || name[0] == '\0' ||
			    strpbrk(name, ": \t\r\n") != NULL)
				goto bad;
			{
				char *v = xmalloc(strlen(val) + 2);
				v[0] = ' ';
				memcpy(v + 1, val, strlen(val) + 1);
				fold_crlf(v);
				const char *vv =
				    (c->proto & P_LEADSPC) ? v + 1 : v;
				if (cmd == 'h') {
					mmsg_add(m, name, strlen(name), vv,
						 strlen(vv), m->nh);
				} else if (cmd == 'i') {
					mmsg_add(m, name, strlen(name), vv,
						 strlen(vv), idx);
				} else {
					/* the idx-th field of that name
					   (1-based); an empty value deletes */
					size_t seen = 0, i;
					for (i = 0; i < m->nh; i++)
						if (strcasecmp(m->h[i].name,
							       name) == 0 &&
						    ++seen == (idx ? idx : 1))
							break;
					if (i < m->nh && val[0] == '\0') {
						mmsg_del(m, i);
					} else if (i < m->nh) {
						free(m->h[i].value);
						m->h[i].value = xstrdup(vv);
					} else if (val[0] != '\0') {
						mmsg_add(m, name, strlen(name),
							 vv, strlen(vv), m->nh);
					}
				}
				free(v);
			}
			break;
		case 'b': /* replace body (chunks, CR LF line ends) */
			if (!(c->actions & A_CHGBODY))
				goto bad;
			if (!body_replaced) {
				m->body.len = 0;
				body_replaced = true;
			}
			for (size_t i = 0; i < n; i++) {
				if (d[i] == '\r' && i + 1 < n &&
				    d[i + 1] == '\n')
					continue;
				if (buf_append_char(&m->body, d[i]) < 0)
					goto bad;
			}
			break;
		case 'e': /* change sender: addr\0[args\0] */
		case '+': /* add recipient: addr\0 */
		case '2': /* add recipient: addr\0[args\0] */
		case '-': /* delete recipient: addr\0 */
			if (!(c->actions & (cmd == 'e'	 ? A_CHGFROM
					    : cmd == '-' ? A_DELRCPT
					    : cmd == '+' ? A_ADDRCPT
							 : A_ADDRCPT_PAR)) ||
			    env_op(c, r, cmd, d, n) < 0)
				goto bad;
			break;
		case 'q': /* quarantine */
			if (!(c->actions & A_QUARANTINE))
				goto bad;
			r->action = MILTER_QUARANTINE;
			snprintf(r->reason, sizeof(r->reason), "%s", d);
			break;
		case 'p':
			break;
		default:
			mod = false;
		}
		if (mod) {
			r->changed |= cmd != 'q' && cmd != 'p' && cmd != 'e' &&
				      cmd != '+' && cmd != '2' && cmd != '-';
			free(d);
			continue;
		}
		/* the final answer */
		enum milter_action before = r->action;
		if (cmd == 'y') {
			if (!replycode(r, d, n))
				goto bad;
			free(d);
			return ST_FINAL;
		}
		free(d);
		switch (cmd) {
		case 'c':
		case 'a':
			if (before != MILTER_QUARANTINE)
				r->action = MILTER_ACCEPT;
			return ST_FINAL;
		case 'd':
			r->action = MILTER_DISCARD;
			return ST_FINAL;
		case 'r':
			r->action = MILTER_REJECT;
			snprintf(r->reply, sizeof(r->reply),
				 "550 5.7.1 Command rejected");
			return ST_FINAL;
		case 't':
			r->action = MILTER_TEMPFAIL;
			snprintf(r->reply, sizeof(r->reply),
				 "451 4.7.1 Service unavailable - try again "
				 "later");
			return ST_FINAL;
		default:
			snprintf(r->reason, sizeof(r->reason),
				 "end of body: unexpected reply '%c'", cmd);
			return ST_ERROR;
		}
	bad:
		snprintf(r->reason, sizeof(r->reason),
			 "end of body: malformed modification '%c'", cmd);
		free(d);
		return ST_ERROR;
	}
}

static enum step converse(struct conn *c, const struct milter_tx *tx,
			  struct mmsg *m, struct milter_result *r)
{
	const struct milter_cfg *cfg = c->cfg;
	unsigned char opt[12];
	uint32_t v = htonl(cfg->protocol), a = htonl(A_ALL),
		 p = htonl(P_OFFERED);
	memcpy(opt, &v, 4);
	memcpy(opt + 4, &a, 4);
	memcpy(opt + 8, &p, 4);
	if (send_cmd(c, 'O', opt, 12, cfg->command_ms) < 0) {
		snprintf(r->reason, sizeof(r->reason), "negotiate: %s",
			 strerror(errno));
		return ST_ERROR;
	}
	char cmd = 0;
	char *d = NULL;
	size_t n = 0;
	errno = 0;
	if (read_reply(c, &cmd, &d, &n, cfg->command_ms) < 0 || cmd != 'O' ||
	    n < 12) {
		snprintf(r->reason, sizeof(r->reason), "negotiate: %s",
			 d == NULL ? strerror(errno) : "bad reply");
		free(d);
		return ST_ERROR;
	}
	memcpy(&v, d, 4);
	memcpy(&a, d + 4, 4);
	memcpy(&p, d + 8, 4);
	c->version = ntohl(v);
	c->actions = ntohl(a) & A_ALL;
	c->proto = ntohl(p) & P_OFFERED;
	if (c->version < 2) {
		free(d);
		snprintf(r->reason, sizeof(r->reason),
			 "negotiate: milter protocol version %u", c->version);
		return ST_ERROR;
	}
	read_symlists(c, d, n);
	free(d);
	enum step st;
	if (send_macros(c, 'C', MILTER_M_CONNECT, NULL) < 0)
		goto io;
	if (!(c->proto & P_NOCONNECT)) {
		struct buf b;
		buf_init(&b, 2048);
		bool v6 = strchr(tx->client_addr, ':') != NULL;
		uint16_t pp = htons((uint16_t)tx->client_port);
		int rc = buf_append(&b, tx->client_name,
				    strlen(tx->client_name) + 1);
		rc |= buf_append_char(&b, v6 ? '6' : '4');
		rc |= buf_append(&b, &pp, 2);
		rc |= buf_append(&b, tx->client_addr,
				 strlen(tx->client_addr) + 1);
		rc |= send_cmd(c, 'C', b.p, b.len, cfg->command_ms);
		buf_deinit(&b);
		if (rc < 0)
			goto io;
		if ((st = answer(c, P_NR_CONN, cfg->command_ms, r,
				 "connect")) != ST_CONTINUE)
			return st;
	}
	if (send_macros(c, 'H', MILTER_M_HELO, NULL) < 0)
		goto io;
	if (!(c->proto & P_NOHELO)) {
		if (send_cmd(c, 'H', tx->helo, strlen(tx->helo) + 1,
			     cfg->command_ms) < 0)
			goto io;
		if ((st = answer(c, P_NR_HELO, cfg->command_ms, r, "helo")) !=
		    ST_CONTINUE)
			return st;
	}
	if (send_macros(c, 'M', MILTER_M_MAIL, NULL) < 0)
		goto io;
	if (!(c->proto & P_NOMAIL)) {
		char s[1100];
		int k = snprintf(s, sizeof(s), "<%s>", tx->sender);
		if (k < 0 || (size_t)k >= sizeof(s) ||
		    send_cmd(c, 'M', s, (size_t)k + 1, cfg->command_ms) < 0)
			goto io;
		if ((st = answer(c, P_NR_MAIL, cfg->command_ms, r, "mail")) !=
		    ST_CONTINUE)
			return st;
	}
	for (size_t i = 0; i < tx->nrcpt && !(c->proto & P_NORCPT); i++) {
		char s[1100];
		int k = snprintf(s, sizeof(s), "<%s>", tx->rcpts[i]);
		if (send_macros(c, 'R', MILTER_M_RCPT, tx->rcpts[i]) < 0 ||
		    k < 0 || (size_t)k >= sizeof(s) ||
		    send_cmd(c, 'R', s, (size_t)k + 1, cfg->command_ms) < 0)
			goto io;
		/* a milter's per-recipient reject refuses the message: the
		   recipients were accepted long ago */
		if ((st = answer(c, P_NR_RCPT, cfg->command_ms, r, "rcpt")) !=
		    ST_CONTINUE)
			return st;
	}
	if (c->version >= 4 && !(c->proto & P_NODATA)) {
		if (send_macros(c, 'T', MILTER_M_DATA, NULL) < 0 ||
		    send_cmd(c, 'T', NULL, 0, cfg->command_ms) < 0)
			goto io;
		if ((st = answer(c, P_NR_DATA, cfg->command_ms, r, "data")) !=
		    ST_CONTINUE)
			return st;
	}
	for (size_t i = 0; i < m->nh && !(c->proto & P_NOHDRS); i++) {
		const char *val = m->h[i].value;
		if (!(c->proto & P_LEADSPC))
			while (*val == ' ' || *val == '\t')
				val++;
		struct buf b;
		buf_init(&b, DKIM_HEADER_MAX * 2);
		int rc = buf_append(&b, m->h[i].name, strlen(m->h[i].name) + 1);
		rc |= buf_append(&b, val, strlen(val) + 1);
		rc |= send_cmd(c, 'L', b.p, b.len, cfg->command_ms);
		buf_deinit(&b);
		if (rc < 0)
			goto io;
		if ((st = answer(c, P_NR_HDR, cfg->command_ms, r, "header")) !=
		    ST_CONTINUE)
			return st;
	}
	if (!(c->proto & P_NOEOH)) {
		if (send_macros(c, 'N', MILTER_M_EOH, NULL) < 0 ||
		    send_cmd(c, 'N', NULL, 0, cfg->command_ms) < 0)
			goto io;
		if ((st = answer(c, P_NR_EOH, cfg->command_ms, r,
				 "end of header")) != ST_CONTINUE)
			return st;
	}
	if (!(c->proto & P_NOBODY)) {
		/* CR LF line ends, in chunks */
		struct buf chunk;
		buf_init(&chunk, BODY_CHUNK + 2);
		const char *b = m->body.p ? m->body.p : "";
		for (size_t i = 0; i <= m->body.len; i++) {
			bool end = i == m->body.len;
			if (!end) {
				if (b[i] == '\n' &&
				    buf_append_char(&chunk, '\r') < 0)
					goto io;
				if (buf_append_char(&chunk, b[i]) < 0)
					goto io;
			}
			if (chunk.len >= BODY_CHUNK - 1 ||
			    (end && chunk.len > 0)) {
				if (send_cmd(c, 'B', chunk.p, chunk.len,
					     cfg->content_ms) < 0) {
					buf_deinit(&chunk);
					goto io;
				}
				chunk.len = 0;
				st = answer(c, P_NR_BODY, cfg->content_ms, r,
					    "body");
				if (st == ST_ERROR || st == ST_FINAL) {
					buf_deinit(&chunk);
					return st;
				}
			}
		}
		buf_deinit(&chunk);
	}
	if (send_macros(c, 'E', MILTER_M_EOM, NULL) < 0 ||
	    send_cmd(c, 'E', NULL, 0, cfg->content_ms) < 0)
		goto io;
	return eom(c, m, r);
io:
	snprintf(r->reason, sizeof(r->reason), "write: %s", strerror(errno));
	return ST_ERROR;
}

void milter_run(const char *const *specs, size_t n,
		const struct milter_cfg *cfg, const struct milter_tx *tx,
		struct milter_result *r)
{
	memset(r, 0, sizeof(*r));
	r->action = MILTER_ACCEPT;
	struct mmsg m;
	mmsg_load(&m, tx->msg, tx->len);
	for (size_t i = 0; i < n && i < MILTER_MAX; i++) {
		struct conn c = {.spec = specs[i], .cfg = cfg, .tx = tx};
		struct milter_result one;
		memset(&one, 0, sizeof(one));
		one.action = MILTER_ACCEPT;
		long long deadline = policysvc_now_ms() + cfg->connect_ms;
		errno = 0;
		c.fd = policysvc_connect(specs[i], deadline);
		enum step st;
		if (c.fd < 0) {
			snprintf(one.reason, sizeof(one.reason), "connect: %s",
				 strerror(errno));
			st = ST_ERROR;
		} else {
			st = converse(&c, tx, &m, &one);
			(void)send_cmd(&c, 'Q', NULL, 0, 1000);
			close(c.fd);
		}
		for (int k = 0; k < MILTER_M_STAGES; k++)
			free(c.symlist[k]);
		r->changed |= one.changed;
		/* envelope changes of a milter that failed are dropped */
		for (size_t k = 0; k < one.nops; k++) {
			if (st != ST_ERROR && r->nops < MILTER_ENV_OPS_MAX) {
				r->ops = xrealloc(r->ops, (r->nops + 1) *
							      sizeof(*r->ops));
				r->ops[r->nops++] = one.ops[k];
			} else {
				free(one.ops[k].addr);
				free(one.ops[k].args);
			}
		}
		free(one.ops);
		if (st == ST_ERROR) {
			log_warning("%s: milter %s: %s: applying "
				    "milter_default_action",
				    tx->queue_id, specs[i], one.reason);
			one.action = cfg->default_action;
			if (one.action == MILTER_TEMPFAIL)
				snprintf(one.reply, sizeof(one.reply),
					 "451 4.7.1 Service unavailable - try "
					 "again later");
			else if (one.action == MILTER_REJECT)
				snprintf(one.reply, sizeof(one.reply),
					 "550 5.7.1 Command rejected");
			else if (one.action == MILTER_QUARANTINE)
				snprintf(one.reason, sizeof(one.reason),
					 "milter_default_action");
		}
		if (one.action == MILTER_QUARANTINE) {
			r->action = MILTER_QUARANTINE;
			snprintf(r->reason, sizeof(r->reason), "%s",
				 one.reason);
			continue;
		}
		if (one.action != MILTER_ACCEPT) {
			r->action = one.action;
			memcpy(r->reply, one.reply, sizeof(r->reply));
			memcpy(r->reason, one.reason, sizeof(r->reason));
			break;
		}
	}
	if (r->changed) {
		buf_init(&r->msg, tx->len + 128 * 1024 * 1024);
		if (mmsg_write(&m, &r->msg) < 0) {
			buf_deinit(&r->msg);
			r->changed = false;
		}
	}
	mmsg_free(&m);
}
