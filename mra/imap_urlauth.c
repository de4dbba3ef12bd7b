/*
 * URLAUTH; see imap_urlauth.h.  Only the mailbox owner can make a URL
 * (GENURLAUTH checks the URL's user against the session's); anyone the
 * access identifier admits can fetch it.  A URL of another user's
 * mailbox needs that user's Maildir: it is looked up in youju-authd
 * (LOOKUP user) on a thread of the login pool (mra_pool_submit) while
 * the session waits, paused like a LOGIN, so the loop never blocks on
 * authd.  A URL that fails any check is answered NIL, never with the
 * reason (RFC 4467 §7: no oracle for tokens or mailboxes).
 */
#include "imap_urlauth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "authc.h"
#include "buf.h"
#include "file.h"
#include "imap_body.h"
#include "imap_mbox.h"
#include "imap_render.h"
#include "imap_sess.h"
#include "imap_url.h"
#include "log.h"
#include "mime.h"
#include "mra.h"
#include "xalloc.h"

/* The key file is small: one line per mailbox. */
#define URLAUTH_FILE_MAX (1u << 20)
#define URLAUTH_KEY_LEN	 32
#define URLAUTH_LOCK_MS	 2000

/* ---- URLs ------------------------------------------------------------ */

/* Decodes %xx of [p, e) into out (size outsz).  0 or -1. */
static int ua_unescape(const char *p, const char *e, char *out, size_t outsz)
{
	size_t n = 0;
	while (p < e) {
		int ch = (unsigned char)*p++;
		if (ch == '%') {
			static const char hex[] = "0123456789abcdef";
			if (e - p < 2 || p[0] == '\0' || p[1] == '\0')
				return -1;
			const char *h = strchr(hex, p[0] | 0x20);
			const char *l = strchr(hex, p[1] | 0x20);
			if (h == NULL || l == NULL)
				return -1;
			ch = (int)((h - hex) * 16 + (l - hex));
			p += 2;
		}
		if (ch == 0 || n + 1 >= outsz)
			return -1;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" (RFC 3339) */
static int ua_datetime(const char *p, const char *e, long long *t_r)
{
	char tmp[64];
	if ((size_t)(e - p) >= sizeof tmp)
		return -1;
	memcpy(tmp, p, (size_t)(e - p));
	tmp[e - p] = '\0';
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	int used = 0;
	if (sscanf(tmp, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
		   &used) != 6 ||
	    used != 19)
		return -1;
	const char *q = tmp + used;
	if (*q == '.') {
		q++;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	long off = 0;
	if (*q == 'Z' || *q == 'z') {
		q++;
	} else if (*q == '+' || *q == '-') {
		int hh, mm, u2 = 0;
		if (sscanf(q + 1, "%2d:%2d%n", &hh, &mm, &u2) != 2 || u2 != 5)
			return -1;
		off = (hh * 60L + mm) * 60L * (*q == '-' ? -1 : 1);
		q += 6;
	} else {
		return -1;
	}
	if (*q != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t_r = (long long)timegm(&tm) - off;
	return 0;
}

int imap_urlauth_parse(const char *url, struct imap_urlauth_url *u)
{
	memset(u, 0, sizeof *u);
	if (strncasecmp(url, "imap://", 7) != 0)
		return -1;
	const char *srv = url + 7;
	const char *slash = strchr(srv, '/');
	const char *at = NULL;
	if (slash == NULL)
		return -1;
	for (const char *q = srv; q < slash; q++)
		if (*q == '@')
			at = q;
	if (at == NULL || at == srv)
		return -1;
	/* user[;AUTH=...]@host[:port] */
	const char *uend = memchr(srv, ';', (size_t)(at - srv));
	if (uend == NULL)
		uend = at;
	char user[256], host[256];
	const char *hend = memchr(at + 1, ':', (size_t)(slash - at - 1));
	if (hend == NULL)
		hend = slash;
	if (ua_unescape(srv, uend, user, sizeof user) < 0 ||
	    ua_unescape(at + 1, hend, host, sizeof host) < 0 ||
	    user[0] == '\0' || host[0] == '\0')
		return -1;
	int k = strchr(user, '@') != NULL
		    ? snprintf(u->owner, sizeof u->owner, "%s", user)
		    : snprintf(u->owner, sizeof u->owner, "%s@%s", user, host);
	if (k < 0 || (size_t)k >= sizeof u->owner)
		return -1;
	/* the last ";URLAUTH=" ends the message part */
	const char *ua = NULL;
	for (const char *q = slash; (q = strchr(q, ';')) != NULL; q++)
		if (strncasecmp(q, ";urlauth=", 9) == 0)
			ua = q;
	if (ua == NULL)
		return -1;
	const char *rend = ua;
	const char *ex = NULL;
	for (const char *q = slash; q < ua; q++)
		if (*q == ';' && strncasecmp(q, ";expire=", 8) == 0)
			ex = q;
	if (ex != NULL) {
		if (ua_datetime(ex + 8, ua, &u->expire) < 0)
			return -1;
		rend = ex;
	}
	if ((size_t)(rend - slash) >= sizeof u->rel)
		return -1;
	memcpy(u->rel, slash, (size_t)(rend - slash));
	u->rel[rend - slash] = '\0';
	const char *acc = ua + 9;
	const char *colon = strchr(acc, ':');
	const char *aend = colon ? colon : acc + strlen(acc);
	if (aend == acc || (size_t)(aend - acc) >= sizeof u->access)
		return -1;
	memcpy(u->access, acc, (size_t)(aend - acc));
	u->access[aend - acc] = '\0';
	u->rump_len = (size_t)(aend - url);
	if (colon == NULL)
		return 0;
	const char *c2 = strchr(colon + 1, ':');
	if (c2 == NULL || c2 == colon + 1 ||
	    (size_t)(c2 - colon - 1) >= sizeof u->mech ||
	    strlen(c2 + 1) >= sizeof u->token || c2[1] == '\0')
		return -1;
	memcpy(u->mech, colon + 1, (size_t)(c2 - colon - 1));
	u->mech[c2 - colon - 1] = '\0';
	size_t tl = strlen(c2 + 1);
	for (size_t i = 0; i < tl; i++)
		if (!((c2[1 + i] >= '0' && c2[1 + i] <= '9') ||
		      ((c2[1 + i] | 0x20) >= 'a' && (c2[1 + i] | 0x20) <= 'f')))
			return -1;
	memcpy(u->token, c2 + 1, tl + 1);
	return 0;
}

/* ---- keys -------------------------------------------------------------- */

static bool ua_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

static bool ua_name_eq(const char *a, const char *b)
{
	return ua_is_inbox(a) ? ua_is_inbox(b) : strcmp(a, b) == 0;
}

static int ua_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Looks for mailbox's key in the file data; a line is "<64 hex> name".
 * Returns the line's offset and length through off_r and len_r and fills
 * key, or returns false.
 */
static bool ua_find(const char *data, size_t len, const char *mailbox,
		    unsigned char key[URLAUTH_KEY_LEN], size_t *off_r,
		    size_t *len_r)
{
	static const char magic[] = "youju-urlauth 1\n";
	if (len < sizeof magic - 1 || memcmp(data, magic, sizeof magic - 1))
		return false;
	size_t o = sizeof magic - 1;
	while (o < len) {
		const char *nl = memchr(data + o, '\n', len - o);
		size_t ll = nl ? (size_t)(nl - (data + o)) : len - o;
		const char *l = data + o;
		char name[1024];
		if (ll > 2 * URLAUTH_KEY_LEN + 1 &&
		    l[2 * URLAUTH_KEY_LEN] == ' ' &&
		    ll - 2 * URLAUTH_KEY_LEN - 1 < sizeof name) {
			size_t n = ll - 2 * URLAUTH_KEY_LEN - 1;
			memcpy(name, l + 2 * URLAUTH_KEY_LEN + 1, n);
			name[n] = '\0';
			bool ok = ua_name_eq(name, mailbox);
			for (size_t i = 0; ok && i < URLAUTH_KEY_LEN; i++) {
				int h = ua_hexval(l[2 * i]);
				int lo = ua_hexval(l[2 * i + 1]);
				ok = h >= 0 && lo >= 0;
				if (ok)
					key[i] = (unsigned char)(h * 16 + lo);
			}
			if (ok) {
				*off_r = o;
				*len_r = nl ? ll + 1 : ll;
				return true;
			}
		}
		o += nl ? ll + 1 : ll;
	}
	return false;
}

static int ua_path(const char *maildir, const char *name, char *out,
		   size_t outsz)
{
	int k = snprintf(out, outsz, "%s/%s", maildir, name);
	if (k < 0 || (size_t)k >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * The key of mailbox in maildir: 1 found (key filled), 0 none (made
 * when create), -1 error with errno.  remove: take the mailbox's line
 * out instead (mailbox NULL: every line).
 */
static int ua_key(const char *maildir, const char *mailbox, bool create,
		  bool remove, unsigned char key[URLAUTH_KEY_LEN])
{
	char path[4096], lock[4100];
	if (ua_path(maildir, IMAP_URLAUTH_FILE, path, sizeof path) < 0 ||
	    snprintf(lock, sizeof lock, "%s.lock", path) < 0)
		return -1;
	bool write = create || remove;
	if (write && file_dotlock(lock, URLAUTH_LOCK_MS, 30) < 0)
		return -1;
	char *data = NULL;
	size_t len = 0;
	int rr =
	    file_read(path, URLAUTH_FILE_MAX, O_NOFOLLOW, &data, &len, NULL);
	int r = -1;
	if (rr < 0 && errno != ENOENT)
		goto out;
	if (rr <= 0) {
		free(data);
		data = xstrdup("youju-urlauth 1\n");
		len = strlen(data);
	}
	size_t off = 0, ll = 0;
	bool found =
	    mailbox != NULL && ua_find(data, len, mailbox, key, &off, &ll);
	struct buf b;
	buf_init(&b, URLAUTH_FILE_MAX);
	r = found ? 1 : 0;
	int w = 0; /* building b */
	if (remove && mailbox == NULL) {
		w = buf_append(&b, "youju-urlauth 1\n", 16);
	} else if (remove) {
		w = buf_append(&b, data, found ? off : len);
		if (w == 0 && found)
			w = buf_append(&b, data + off + ll, len - off - ll);
	} else if (create && !found) {
		if (RAND_bytes(key, URLAUTH_KEY_LEN) != 1) {
			errno = EIO;
			r = -1;
		}
		w = r < 0 ? 0 : buf_append(&b, data, len);
		for (size_t i = 0; r == 0 && w == 0 && i < URLAUTH_KEY_LEN; i++)
			w = buf_printf(&b, "%02x", key[i]);
		if (r == 0 && w == 0)
			w = buf_printf(&b, " %s\n",
				       ua_is_inbox(mailbox) ? "INBOX"
							    : mailbox);
		if (r == 0)
			r = 1;
	}
	if (w < 0) {
		errno = EFBIG;
		r = -1;
	}
	if (r >= 0 && b.len > 0 && file_replace(path, b.p, b.len, NULL) < 0)
		r = -1;
	buf_deinit(&b);
out : {
	int e = errno;
	free(data);
	if (write)
		file_dotunlock(lock);
	errno = e;
}
	return r;
}

/* The token of the rump (len bytes) under key: 64 hex digits. */
static void ua_token(const unsigned char key[URLAUTH_KEY_LEN], const char *rump,
		     size_t len, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	/* a failure (none is expected) gives a token nothing matches */
	if (HMAC(EVP_sha256(), key, URLAUTH_KEY_LEN,
		 (const unsigned char *)rump, len, mac, &ml) == NULL ||
	    ml != 32) {
		memset(out, 'x', 64);
		out[64] = '\0';
		return;
	}
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	OPENSSL_cleanse(mac, sizeof mac);
}

/* The mailbox name of a URL's relative part, or -1. */
static int ua_mailbox(const struct imap_urlauth_url *u, struct imap_url *pu)
{
	return imap_url_parse(u->rel, pu);
}

/* ---- commands ---------------------------------------------------------- */

static void ua_quoted(struct mra_conn *c, const char *s)
{
	struct buf q;
	buf_init(&q, 2 * strlen(s) + 3);
	if (imap_render_quoted(&q, s, strlen(s)) == 0)
		(void)mra_conn_write(c, q.p, q.len);
	buf_deinit(&q);
}

void imap_cmd_genurlauth(struct imap_ctx *x)
{
	struct imap_arg *a = x->cmd->args;
	size_t n = x->cmd->nargs;
	if (n == 0 || n % 2 != 0) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	struct buf out;
	buf_init(&out, 64 * 1024);
	int w = buf_printf(&out, "* GENURLAUTH");
	for (size_t i = 0; i < n; i += 2) {
		struct imap_urlauth_url u;
		struct imap_url pu;
		const char *why = NULL;
		if (!imap_arg_is_astring(&a[i]) ||
		    a[i + 1].type != IMAP_ARG_ATOM)
			why = "BAD Invalid arguments.";
		else if (strcasecmp(a[i + 1].s, "INTERNAL") != 0)
			why = "NO Unknown URLAUTH mechanism.";
		else if (imap_urlauth_parse(a[i].s, &u) < 0 ||
			 u.mech[0] != '\0' || ua_mailbox(&u, &pu) < 0)
			why = "NO [BADURL] Invalid URL.";
		else if (strcasecmp(u.owner, x->s->login_user) != 0)
			why = "NO [BADURL] Not your mailbox.";
		char *path = why == NULL
				 ? imap_mbox_path(x->s->maildir, pu.mailbox)
				 : NULL;
		if (why == NULL && (path == NULL || access(path, F_OK) < 0))
			why = "NO [BADURL] No such mailbox.";
		free(path);
		unsigned char key[URLAUTH_KEY_LEN];
		if (why == NULL &&
		    ua_key(x->s->maildir, pu.mailbox, true, false, key) < 0) {
			log_error("imap(%s): %s/" IMAP_URLAUTH_FILE ": %s",
				  x->s->login_user, x->s->maildir,
				  strerror(errno));
			why = "NO [SERVERBUG] Cannot store the URLAUTH key.";
		}
		if (why != NULL) {
			buf_deinit(&out);
			imap_tagged(x->c, x->cmd->tag, "%s", why);
			return;
		}
		char tok[65];
		ua_token(key, a[i].s, u.rump_len, tok);
		OPENSSL_cleanse(key, sizeof key);
		struct buf full;
		buf_init(&full, strlen(a[i].s) + 80);
		if (w == 0)
			w = buf_printf(&full, "%s:INTERNAL:%s", a[i].s, tok);
		if (w == 0)
			w = buf_printf(&out, " ");
		if (w == 0)
			w = imap_render_quoted(&out, full.p, full.len);
		buf_deinit(&full);
	}
	if (w == 0)
		w = buf_printf(&out, "\r\n");
	if (w == 0)
		(void)mra_conn_write(x->c, out.p, out.len);
	buf_deinit(&out);
	imap_tagged(x->c, x->cmd->tag,
		    w == 0 ? "OK GENURLAUTH completed."
			   : "NO [TOOBIG] URLs too long.");
}

void imap_cmd_resetkey(struct imap_ctx *x)
{
	struct imap_arg *a = x->cmd->args;
	size_t n = x->cmd->nargs;
	const char *mailbox = NULL;
	if (n > 0) {
		if (!imap_arg_is_astring(&a[0])) {
			imap_tagged(x->c, x->cmd->tag,
				    "BAD Invalid arguments.");
			return;
		}
		for (size_t i = 1; i < n; i++)
			if (a[i].type != IMAP_ARG_ATOM ||
			    strcasecmp(a[i].s, "INTERNAL") != 0) {
				imap_tagged(x->c, x->cmd->tag,
					    "NO Unknown URLAUTH mechanism.");
				return;
			}
		mailbox = a[0].s;
		char *path = imap_mbox_path(x->s->maildir, mailbox);
		bool ok = path != NULL && access(path, F_OK) == 0;
		free(path);
		if (!ok) {
			imap_tagged(x->c, x->cmd->tag,
				    "NO [NONEXISTENT] Mailbox doesn't exist.");
			return;
		}
	}
	unsigned char key[URLAUTH_KEY_LEN];
	if (ua_key(x->s->maildir, mailbox, false, true, key) < 0) {
		log_error("imap(%s): %s/" IMAP_URLAUTH_FILE ": %s",
			  x->s->login_user, x->s->maildir, strerror(errno));
		imap_tagged(x->c, x->cmd->tag,
			    "NO [SERVERBUG] Cannot reset the key.");
		return;
	}
	OPENSSL_cleanse(key, sizeof key);
	imap_tagged(x->c, x->cmd->tag, "OK RESETKEY completed.");
}

/* Whether the session may fetch a URL with access identifier acc (RFC
   4467 §3). */
static bool ua_access_ok(const struct imap_sess *s, const char *acc)
{
	if (strcasecmp(acc, "anonymous") == 0 ||
	    strcasecmp(acc, "authuser") == 0)
		return true; /* URLFETCH needs a login anyway */
	if (strncasecmp(acc, "user+", 5) == 0)
		return strcasecmp(acc + 5, s->login_user) == 0;
	/* submit+: for a submission server, which this is not */
	return false;
}

/* The Maildir of another user, looked up in youju-authd (blocking: on a
   pool thread), malloc'd, or NULL (unknown, inactive, authd down). */
static char *ua_lookup_maildir(const char *authd_socket, const char *owner)
{
	struct authc_reply r;
	if (authc_lookup_user(authd_socket, owner, &r) != AUTHC_OK)
		return NULL;
	struct authc_account acct;
	const char *err;
	const char *active = authc_get(&r, "ACTIVE");
	char *md = NULL;
	if ((active == NULL || strcmp(active, "1") == 0) &&
	    authc_account_get(&r, &acct, &err) == 0 && acct.maildir[0] != '\0')
		md = xstrdup(acct.maildir);
	authc_reply_free(&r);
	return md;
}

/* Every check of a URLFETCH URL (RFC 4467 §7): syntax, mechanism,
   access, expiry, the owner's key and the token.  other: the Maildir of
   the URL's owner when that is another user (NULL: none).  0 with the
   owner's Maildir, the parts and the relative URL parsed; -1. */
static int ua_verify(const struct imap_sess *s, const char *url,
		     const char *other, char *maildir, size_t msz,
		     struct imap_urlauth_url *u, struct imap_url *pu)
{
	if (imap_urlauth_parse(url, u) < 0 ||
	    strcasecmp(u->mech, "INTERNAL") != 0 || ua_mailbox(u, pu) < 0 ||
	    !ua_access_ok(s, u->access) ||
	    (u->expire != 0 && u->expire <= (long long)time(NULL)) ||
	    strlen(u->token) != 64)
		return -1;
	const char *md =
	    strcasecmp(u->owner, s->login_user) == 0 ? s->maildir : other;
	int k = md != NULL ? snprintf(maildir, msz, "%s", md) : -1;
	if (k <= 0 || (size_t)k >= msz)
		return -1;
	unsigned char key[URLAUTH_KEY_LEN];
	if (ua_key(maildir, pu->mailbox, false, false, key) != 1)
		return -1;
	char tok[65], low[65];
	ua_token(key, url, u->rump_len, tok);
	OPENSSL_cleanse(key, sizeof key);
	for (size_t i = 0; i < 65; i++) /* hex in either case */
		low[i] = (char)(u->token[i] | (u->token[i] ? 0x20 : 0));
	return CRYPTO_memcmp(tok, low, 64) == 0 ? 0 : -1;
}

/* ---- URLAUTH=BINARY (RFC 5524) ------------------------------------------ */

static bool ua_encoded(const struct mime_part *p)
{
	return p->kind == MIME_LEAF && p->encoding != NULL &&
	       (strcasecmp(p->encoding, "base64") == 0 ||
		strcasecmp(p->encoding, "quoted-printable") == 0);
}

/* Copies msg[*pos, to) to out and moves *pos.  0 or -1. */
static int ua_copy(const char *msg, size_t *pos, size_t to, struct buf *out)
{
	int r = to > *pos ? buf_append(out, msg + *pos, to - *pos) : 0;
	if (to > *pos)
		*pos = to;
	return r;
}

/*
 * The binary form of msg below part p (Dovecot's, as imaptest's
 * urlauth-binary expects): every base64 or quoted-printable leaf decoded
 * and, unless keep_cte, its Content-Transfer-Encoding field made
 * "binary"; everything else (headers, preambles, boundaries) as it is.
 */
static int ua_binary_walk(const char *msg, const struct mime_part *p,
			  bool keep_cte, size_t *pos, struct buf *out)
{
	if (ua_encoded(p)) {
		if (!keep_cte) {
			size_t hp = 0;
			struct mime_field f;
			while (mime_header_field_next(msg + p->hdr_off,
						      p->hdr_len, &hp, &f)) {
				if (f.name.len != 25 ||
				    strncasecmp(f.name.p,
						"Content-Transfer-Encoding",
						25) != 0)
					continue;
				size_t at = (size_t)(f.raw.p - msg);
				if (ua_copy(msg, pos, at, out) < 0 ||
				    buf_printf(out, "Content-Transfer-Encoding:"
						    " binary\r\n") < 0)
					return -1;
				*pos = at + f.raw.len;
			}
		}
		if (ua_copy(msg, pos, p->body_off, out) < 0 ||
		    mime_decode_cte(p->encoding, msg + p->body_off, p->body_len,
				    out) < 0)
			return -1;
		*pos = p->body_off + p->body_len;
		return 0;
	}
	for (const struct mime_part *c = p->children; c != NULL; c = c->next)
		if (ua_binary_walk(msg, c, keep_cte, pos, out) < 0)
			return -1;
	return 0;
}

static int ua_binary_form(const char *msg, size_t len,
			  const struct mime_part *root, bool keep_cte,
			  struct buf *out)
{
	size_t pos = 0;
	if (ua_binary_walk(msg, root, keep_cte, &pos, out) < 0 ||
	    ua_copy(msg, &pos, len, out) < 0)
		return -1;
	return 0;
}

/* The part of the URL's section (whole message: root; part numbers
   only), or NULL. */
static const struct mime_part *ua_part(const struct mime_part *root,
				       const char *section)
{
	if (section[0] == '\0')
		return root;
	if (strspn(section, "0123456789.") != strlen(section))
		return NULL;
	return imap_body_find(root, section);
}

/*
 * "(BODYPARTSTRUCTURE (...) BODY {n}... BINARY ~{n}...)" for the items
 * asked (RFC 5524 §4), into out.  With BINARY the structure describes
 * the binary form (its sizes and line counts; the encodings named as
 * written), as Dovecot answers.  0, or -1 (NIL).
 */
static int ua_fetch_ext(const char *maildir, const struct imap_url *pu,
			bool body, bool binary, bool bps, struct buf *out)
{
	struct buf msg, conv, keep;
	buf_init(&msg, mra_srv.message_size_limit * 2 + 1024);
	buf_init(&conv, mra_srv.message_size_limit * 4 + 1024);
	buf_init(&keep, mra_srv.message_size_limit * 4 + 1024);
	struct mime_part *root = NULL, *croot = NULL, *kroot = NULL;
	int rc = -1;
	if (imap_url_message(maildir, pu, &msg) < 0)
		goto out;
	const char *m = msg.p ? msg.p : "";
	root = mime_parse(m, msg.len);
	const struct mime_part *part = ua_part(root, pu->section);
	if (part == NULL || pu->partial)
		goto out;
	const char *sep = "(";
	if (bps) {
		const char *sm = m;
		const struct mime_part *sp = part;
		if (binary) {
			if (ua_binary_form(m, msg.len, root, true, &keep) < 0)
				goto out;
			sm = keep.p ? keep.p : "";
			kroot = mime_parse(sm, keep.len);
			sp = ua_part(kroot, pu->section);
		}
		if (sp == NULL ||
		    buf_printf(out, "%sBODYPARTSTRUCTURE ", sep) < 0 ||
		    imap_body_structure(out, sm, sp, true) < 0)
			goto out;
		sep = " ";
	}
	if (body) {
		size_t o = part == root ? 0 : part->body_off;
		size_t l = part == root ? msg.len : part->body_len;
		if (buf_printf(out, "%sBODY ", sep) < 0 ||
		    imap_render_literal(out, m + o, l) < 0)
			goto out;
		sep = " ";
	}
	if (binary) {
		if (ua_binary_form(m, msg.len, root, false, &conv) < 0)
			goto out;
		const char *cm = conv.p ? conv.p : "";
		croot = mime_parse(cm, conv.len);
		const struct mime_part *cp = ua_part(croot, pu->section);
		if (cp == NULL)
			goto out;
		size_t o = cp == croot ? 0 : cp->body_off;
		size_t l = cp == croot ? conv.len : cp->body_len;
		bool nul = memchr(cm + o, '\0', l) != NULL;
		if (buf_printf(out, "%sBINARY %s{%zu}\r\n", sep, nul ? "~" : "",
			       l) < 0 ||
		    buf_append(out, cm + o, l) < 0)
			goto out;
		sep = " ";
	}
	if (buf_printf(out, ")") == 0)
		rc = 0;
out:
	mime_free(&root);
	mime_free(&croot);
	mime_free(&kroot);
	buf_deinit(&msg);
	buf_deinit(&conv);
	buf_deinit(&keep);
	return rc;
}

/* One URLFETCH argument: a URL, or (url item ...) (RFC 5524), copied
   out of the command so that the answer can wait for youju-authd. */
struct ua_item {
	char *url;
	bool ext, body, binary, bps;
	bool other;    /* the URL names another user: look the owner up */
	char *owner;   /* then: the URL's user */
	char *maildir; /* then: the owner's Maildir from authd, or NULL */
};

struct ua_fetch {
	uint64_t conn_id;
	char *tag;
	char authd_socket[108];
	struct ua_item *items;
	size_t n;
};

static void ua_fetch_free(struct ua_fetch *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].url);
		free(f->items[i].owner);
		free(f->items[i].maildir);
	}
	free(f->items);
	free(f->tag);
	free(f);
}

/* Writes the "* URLFETCH" response of it. */
static void ua_urlfetch_one(struct mra_conn *c, const struct imap_sess *s,
			    const struct ua_item *it)
{
	struct buf data;
	buf_init(&data, mra_srv.message_size_limit * 8 + 4096);
	char maildir[4096];
	struct imap_urlauth_url u;
	struct imap_url pu;
	int r = ua_verify(s, it->url, it->maildir, maildir, sizeof maildir, &u,
			  &pu);
	if (r == 0 && it->ext)
		r = ua_fetch_ext(maildir, &pu, it->body, it->binary, it->bps,
				 &data);
	else if (r == 0) {
		struct buf text;
		buf_init(&text, mra_srv.message_size_limit * 2 + 1024);
		r = imap_url_fetch(maildir, u.rel, &text);
		if (r == 0)
			r = imap_render_literal(&data, text.p ? text.p : "",
						text.len);
		buf_deinit(&text);
	}
	(void)mra_conn_write(c, "* URLFETCH ", 11);
	ua_quoted(c, it->url);
	if (r == 0) {
		(void)mra_conn_write(c, " ", 1);
		(void)mra_conn_write(c, data.p, data.len);
	} else {
		(void)mra_conn_write(c, " NIL", 4);
	}
	(void)mra_conn_write(c, "\r\n", 2);
	buf_deinit(&data);
}

static void ua_fetch_answer(struct mra_conn *c, const struct imap_sess *s,
			    const struct ua_fetch *f)
{
	for (size_t i = 0; i < f->n; i++)
		ua_urlfetch_one(c, s, &f->items[i]);
	imap_tagged(c, f->tag, "OK URLFETCH completed.");
}

/* On a pool thread: the other owners' Maildirs. */
static void ua_fetch_lookup(void *ctx)
{
	struct ua_fetch *f = ctx;
	for (size_t i = 0; i < f->n; i++) {
		struct ua_item *it = &f->items[i];
		if (!it->other)
			continue;
		/* one lookup per owner: later URLs of the same one share it */
		for (size_t k = 0; k < i && it->maildir == NULL; k++)
			if (f->items[k].other &&
			    strcasecmp(f->items[k].owner, it->owner) == 0)
				it->maildir = f->items[k].maildir
						  ? xstrdup(f->items[k].maildir)
						  : NULL;
		if (it->maildir == NULL)
			it->maildir =
			    ua_lookup_maildir(f->authd_socket, it->owner);
	}
}

/* On the loop: answer, and let the session go on (it may have gone). */
static void ua_fetch_done(void *ctx)
{
	struct ua_fetch *f = ctx;
	struct mra_conn *c = mra_conn_find(f->conn_id);
	if (c != NULL && c->sess != NULL) {
		c->paused = false;
		ua_fetch_answer(c, c->sess, f);
		mra_conn_kick(c);
	}
	ua_fetch_free(f);
}

static void ua_fetch_cancel(void *ctx)
{
	ua_fetch_free(ctx);
}

void imap_cmd_urlfetch(struct imap_ctx *x)
{
	struct imap_arg *a = x->cmd->args;
	size_t n = x->cmd->nargs;
	bool ok = n > 0;
	for (size_t i = 0; ok && i < n; i++) {
		if (a[i].type != IMAP_ARG_LIST) {
			ok = imap_arg_is_astring(&a[i]);
			continue;
		}
		ok = a[i].n >= 2 && imap_arg_is_astring(&a[i].list[0]);
		for (size_t k = 1; ok && k < a[i].n; k++) {
			const struct imap_arg *it = &a[i].list[k];
			ok = it->type == IMAP_ARG_ATOM &&
			     (strcasecmp(it->s, "BODY") == 0 ||
			      strcasecmp(it->s, "BINARY") == 0 ||
			      strcasecmp(it->s, "BODYPARTSTRUCTURE") == 0);
		}
	}
	if (!ok) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	struct ua_fetch *f = xcalloc(1, sizeof *f);
	f->conn_id = x->c->id;
	f->tag = xstrdup(x->cmd->tag);
	f->items = xcalloc(n, sizeof *f->items);
	f->n = n;
	bool lookup = false;
	for (size_t i = 0; i < n; i++) {
		struct ua_item *it = &f->items[i];
		it->ext = a[i].type == IMAP_ARG_LIST;
		it->url = xstrdup(it->ext ? a[i].list[0].s : a[i].s);
		for (size_t k = 1; it->ext && k < a[i].n; k++) {
			const char *w = a[i].list[k].s;
			it->body |= strcasecmp(w, "BODY") == 0;
			it->binary |= strcasecmp(w, "BINARY") == 0;
			it->bps |= strcasecmp(w, "BODYPARTSTRUCTURE") == 0;
		}
		struct imap_urlauth_url u;
		if (imap_urlauth_parse(it->url, &u) == 0 &&
		    strcasecmp(u.owner, x->s->login_user) != 0 &&
		    ua_access_ok(x->s, u.access)) {
			it->other = lookup = true;
			it->owner = xstrdup(u.owner);
		}
	}
	int k = snprintf(f->authd_socket, sizeof f->authd_socket, "%s",
			 mra_srv.authd_socket);
	if (lookup && (k <= 0 || (size_t)k >= sizeof f->authd_socket ||
		       mra_pool_submit(ua_fetch_lookup, ua_fetch_done,
				       ua_fetch_cancel, f) < 0)) {
		lookup = false; /* no lookup possible: those URLs are NIL */
		for (size_t i = 0; i < n; i++)
			f->items[i].other = false;
	}
	if (lookup) {
		x->c->paused = true; /* like a LOGIN: input waits */
		return;
	}
	ua_fetch_answer(x->c, x->s, f);
	ua_fetch_free(f);
}
