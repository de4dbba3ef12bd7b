/*
 * POP3 fetch, ExtMail's "POP mail" (docs/webmail.md "POP3 fetch"): up to
 * WM_POPFETCH_MAX remote accounts per user in Maildir/youju-popfetch.json,
 * their passwords sealed with AES-256-GCM under a key the daemon keeps
 * outside every Maildir (webmail_popfetch_key_file, read as root), bound
 * to the owner and the account by the AEAD's associated data.
 *
 * "Fetch now" starts a background thread (at most PF_JOBS_MAX in the
 * process, one per user) and answers 202 at once; the page polls GET
 * /api/popfetch for each account's last result.  The job resolves the
 * host and refuses loopback, private, link-local and other special
 * addresses, and ports other than 110 and 995, unless
 * webmail_popfetch_allow_private is on (an SSRF guard: the webmail host
 * must not become a probe of its own network); port 995 is POP3S with the
 * certificate checked against the system store.  New messages (by UIDL,
 * remembered in youju-popfetch-<id>.uidl) are delivered to the Inbox
 * through lib/mailbox (quota counted), at most PF_MESSAGES_MAX per run,
 * each at most message_size_limit; "keep" leaves them on the server,
 * otherwise they are deleted there once stored here.
 */
#include "popfetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "ev.h"
#include "file.h"
#include "listfile.h"
#include "log.h"
#include "mailbox.h"
#include "str.h"
#include "tls.h"
#include "webjson.h"
#include "websession.h"
#include "wm.h"
#include "xalloc.h"

#define PF_ACCOUNTS_FILE "youju-popfetch.json"
/* the accounts file's bytes, at most */
#define PF_ACCOUNTS_MAX (256u * 1024)
#define PF_JOBS_MAX	4
#define PF_MESSAGES_MAX 200
#define PF_UIDLS_MAX	100000
#define PF_IO_MS	30000
#define PF_CONNECT_MS	10000
#define PF_LINE_MAX	1024

static unsigned char pf_key[32];
static bool pf_ready, pf_allow_private;
static pthread_mutex_t pf_lock = PTHREAD_MUTEX_INITIALIZER;
static char pf_busy[PF_JOBS_MAX][256]; /* users with a job running */

/* ---- the key and the sealed passwords ---- */

int wm_popfetch_init(const char *key_file, bool allow_private,
		     const char **error_r)
{
	pf_allow_private = allow_private;
	char hex[65];
	int fd = open(key_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (websession_random_hex(hex, 32) < 0) {
			*error_r = "no random bytes";
			return -1;
		}
		fd = open(key_file,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd < 0 || file_write_all(fd, hex, 64) < 0 ||
		    fsync(fd) < 0) {
			*error_r = "cannot create the key file";
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		fd = open(key_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		*error_r = "cannot open the key file";
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ssize_t n = (st.st_mode & 077) != 0 ? -1 : read(fd, hex, 64);
	close(fd);
	if ((st.st_mode & 077) != 0) {
		*error_r = "the key file may be read by others (chmod 600)";
		return -1;
	}
	if (n != 64) {
		*error_r = "the key file does not hold 64 hex digits";
		return -1;
	}
	for (size_t i = 0; i < 32; i++) {
		int v = 0;
		for (size_t k = 0; k < 2; k++) {
			char c = hex[2 * i + k];
			int d = str_hex_digit(c);
			if (d < 0) {
				*error_r = "the key file does not hold 64 "
					   "hex digits";
				return -1;
			}
			v = v * 16 + d;
		}
		pf_key[i] = (unsigned char)v;
	}
	explicit_bzero(hex, sizeof hex);
	pf_ready = true;
	return 0;
}

/* AES-256-GCM of pw under pf_key, aad = "user\naccount id": base64 of
   nonce(12) | ciphertext | tag(16), owned; NULL on failure. */
static char *pf_seal(const char *aad, const char *pw)
{
	size_t pl = strlen(pw);
	unsigned char raw[12 + 256 + 16];
	if (pl > 255 || getrandom(raw, 12, 0) != 12)
		return NULL;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	bool ok =
	    x != NULL &&
	    EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, pf_key, raw) == 1 &&
	    EVP_EncryptUpdate(x, NULL, &l1, (const unsigned char *)aad,
			      (int)strlen(aad)) == 1 &&
	    EVP_EncryptUpdate(x, raw + 12, &l1, (const unsigned char *)pw,
			      (int)pl) == 1 &&
	    EVP_EncryptFinal_ex(x, raw + 12 + l1, &l2) == 1 &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16,
				raw + 12 + l1 + l2) == 1;
	EVP_CIPHER_CTX_free(x);
	char *out = NULL;
	if (ok) {
		size_t n = 12 + (size_t)l1 + (size_t)l2 + 16;
		out = xmalloc(4 * ((n + 2) / 3) + 1);
		if (base64_encode(raw, n, out, 4 * ((n + 2) / 3) + 1) < 0) {
			free(out);
			out = NULL;
		}
	}
	explicit_bzero(raw, sizeof raw);
	return out;
}

/* The reverse into out (outsz > 255); 0 or -1 (tampered, wrong key). */
static int pf_open(const char *aad, const char *b64, char *out, size_t outsz)
{
	unsigned char raw[12 + 256 + 16];
	size_t n = 0;
	if (b64 == NULL ||
	    base64_decode(str_from_cstr(b64), false, raw, sizeof raw, &n) < 0 ||
	    n < 12 + 16 || n - 28 >= outsz)
		return -1;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	bool ok =
	    x != NULL &&
	    EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, pf_key, raw) == 1 &&
	    EVP_DecryptUpdate(x, NULL, &l1, (const unsigned char *)aad,
			      (int)strlen(aad)) == 1 &&
	    EVP_DecryptUpdate(x, (unsigned char *)out, &l1, raw + 12,
			      (int)(n - 28)) == 1 &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, raw + n - 16) ==
		1 &&
	    EVP_DecryptFinal_ex(x, (unsigned char *)out + l1, &l2) == 1;
	EVP_CIPHER_CTX_free(x);
	if (!ok) {
		explicit_bzero(out, outsz);
		return -1;
	}
	out[l1 + l2] = '\0';
	return 0;
}

/* ---- address policy ---- */

bool wm_popfetch_addr_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a =
		    ntohl(((const struct sockaddr_in *)(const void *)sa)
			      ->sin_addr.s_addr);
		return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
		       (a >> 20) == (172u << 4 | 1) ||		/* 172.16/12 */
		       (a >> 16) == (192u << 8 | 168) ||	/* 192.168/16 */
		       (a >> 16) == (169u << 8 | 254) ||	/* link-local */
		       (a >> 22) == (100u << 2 | 1) ||		/* 100.64/10 */
		       (a >> 8) == (192u << 16 | 0 << 8 | 0) || /* 192.0.0/24 */
		       (a >> 28) >= 14; /* multicast, reserved, broadcast */
	}
	if (sa->sa_family == AF_INET6) {
		const unsigned char *b =
		    ((const struct sockaddr_in6 *)(const void *)sa)
			->sin6_addr.s6_addr;
		static const unsigned char zero[16] = {0};
		static const unsigned char v4map[12] = {0, 0, 0, 0, 0,	  0,
							0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(b, v4map, 12) == 0) {
			struct sockaddr_in s4 = {.sin_family = AF_INET};
			memcpy(&s4.sin_addr, b + 12, 4);
			return wm_popfetch_addr_private(
			    (const struct sockaddr *)(const void *)&s4);
		}
		return memcmp(b, zero, 15) == 0 || /* :: and ::1 */
		       (b[0] & 0xfe) == 0xfc ||	   /* fc00::/7 */
		       (b[0] == 0xfe &&
			(b[1] & 0xc0) == 0x80) || /* fe80::/10 */
		       b[0] == 0xff ||		  /* multicast */
		       (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d &&
			b[3] == 0xb8) || /* documentation */
		       (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff &&
			b[3] == 0x9b); /* NAT64: an IPv4 in disguise */
	}
	return true;
}

/* ---- the stored accounts ---- */

static int pf_path(const char *maildir, const char *name, char *out,
		   size_t outsz)
{
	return file_path(out, outsz, maildir, name);
}

/* The accounts (a new reference), or NULL (logged) when unreadable. */
static json_t *pf_load(const char *maildir)
{
	json_t *list;
	int rc = wm_listfile_load(maildir, PF_ACCOUNTS_FILE, "accounts",
				  PF_ACCOUNTS_MAX, &list);
	return rc == 0 ? json_array() : list;
}

static int pf_save(const char *maildir, json_t *list)
{
	return wm_listfile_save(maildir, PF_ACCOUNTS_FILE, "accounts", list,
				PF_ACCOUNTS_MAX);
}

static bool pf_lock_file(const char *maildir, char *lock, size_t locksz)
{
	return pf_path(maildir, PF_ACCOUNTS_FILE ".lock", lock, locksz) == 0 &&
	       file_dotlock(lock, 5000, 60) == 0;
}

static bool pf_is_busy(const char *user)
{
	for (size_t i = 0; i < PF_JOBS_MAX; i++)
		if (strcmp(pf_busy[i], user) == 0)
			return true;
	return false;
}

/* ---- a POP3 conversation ---- */

struct pc {
	int fd;
	struct tls_ctx *ctx;
	struct tls_conn *tls;
	struct buf in, out;
};

static int pc_wait(struct pc *c, short ev)
{
	struct pollfd p = {.fd = c->fd, .events = ev};
	int r = poll(&p, 1, PF_IO_MS);
	if (r <= 0) {
		errno = r == 0 ? ETIMEDOUT : errno;
		return -1;
	}
	return 0;
}

/* More input into c->in; -1 on EOF, timeout or error. */
static int pc_fill(struct pc *c)
{
	for (;;) {
		if (c->tls != NULL) {
			unsigned want = 0;
			int r = tls_read(c->tls, &c->in, &want);
			if (r > 0)
				return 0;
			if (r < 0 ||
			    pc_wait(c, want & EV_WRITE ? POLLOUT : POLLIN) < 0)
				return -1;
			continue;
		}
		char chunk[16384];
		size_t room = c->in.max - c->in.len;
		if (room == 0) {
			errno = ENOBUFS;
			return -1;
		}
		ssize_t n = read(c->fd, chunk,
				 room < sizeof chunk ? room : sizeof chunk);
		if (n > 0)
			return buf_append(&c->in, chunk, (size_t)n);
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		if (pc_wait(c, POLLIN) < 0)
			return -1;
	}
}

/* The next line (CRLF or LF stripped) into out; -1 when too long/EOF. */
static int pc_line(struct pc *c, char *out, size_t outsz)
{
	for (;;) {
		char *nl =
		    c->in.len > 0 ? memchr(c->in.p, '\n', c->in.len) : NULL;
		if (nl != NULL) {
			size_t n = (size_t)(nl - c->in.p);
			size_t k = n > 0 && nl[-1] == '\r' ? n - 1 : n;
			if (k >= outsz)
				return -1;
			memcpy(out, c->in.p, k);
			out[k] = '\0';
			buf_consume(&c->in, n + 1);
			return 0;
		}
		if (c->in.len > PF_LINE_MAX * 64 || pc_fill(c) < 0)
			return -1;
	}
}

static int pc_send(struct pc *c, const char *line)
{
	buf_reset(&c->out);
	if (buf_append_str(&c->out, line) < 0 ||
	    buf_append_str(&c->out, "\r\n") < 0)
		return -1;
	while (c->out.len > 0) {
		if (c->tls != NULL) {
			unsigned want = 0;
			int r = tls_write(c->tls, &c->out, &want);
			if (r > 0)
				break;
			if (r < 0 ||
			    pc_wait(c, want & EV_READ ? POLLIN : POLLOUT) < 0)
				return -1;
			continue;
		}
		ssize_t n = write(c->fd, c->out.p, c->out.len);
		if (n > 0)
			buf_consume(&c->out, (size_t)n);
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		else if (pc_wait(c, POLLOUT) < 0)
			return -1;
	}
	return 0;
}

/* Sends cmd (NULL: only read the greeting); 1 "+OK", 0 "-ERR", -1. */
static int pc_cmd(struct pc *c, const char *cmd, char *line, size_t linesz)
{
	if (cmd != NULL && pc_send(c, cmd) < 0)
		return -1;
	if (pc_line(c, line, linesz) < 0)
		return -1;
	if (strncmp(line, "+OK", 3) == 0)
		return 1;
	return strncmp(line, "-ERR", 4) == 0 ? 0 : -1;
}

/* A multi-line body after "+OK" into out (dot-unstuffed, CRLF). */
static int pc_multi(struct pc *c, struct buf *out)
{
	char line[PF_LINE_MAX * 64];
	for (;;) {
		if (pc_line(c, line, sizeof line) < 0)
			return -1;
		if (strcmp(line, ".") == 0)
			return 0;
		const char *l = line[0] == '.' ? line + 1 : line;
		if (buf_append_str(out, l) < 0 ||
		    buf_append_str(out, "\r\n") < 0)
			return -1;
	}
}

static int pc_connect(struct pc *c, const char *host, unsigned port,
		      const char **why_r)
{
	char ps[8];
	snprintf(ps, sizeof ps, "%u", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_family = AF_UNSPEC},
			*res = NULL;
	if (getaddrinfo(host, ps, &hints, &res) != 0 || res == NULL) {
		*why_r = "host not found";
		return -1;
	}
	*why_r = "connection refused or timed out";
	for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
		if (!pf_allow_private && wm_popfetch_addr_private(a->ai_addr)) {
			*why_r = "private or loopback address refused";
			continue;
		}
		int fd = socket(a->ai_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int err = 0;
		socklen_t el = sizeof err;
		if (poll(&p, 1, PF_CONNECT_MS) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 ||
		    err != 0) {
			close(fd);
			continue;
		}
		c->fd = fd;
		freeaddrinfo(res);
		if (port != 995)
			return 0;
		const char *terr = NULL;
		c->ctx = tls_client_ctx_new(!pf_allow_private, NULL, &terr);
		c->tls = c->ctx != NULL ? tls_conn_new(c->ctx, fd, host) : NULL;
		for (;;) {
			unsigned want = 0;
			int r =
			    c->tls != NULL ? tls_handshake(c->tls, &want) : -1;
			if (r > 0)
				return 0;
			if (r < 0 || pc_wait(c, want & EV_WRITE ? POLLOUT
								: POLLIN) < 0) {
				*why_r = "TLS handshake failed";
				return -1;
			}
		}
	}
	freeaddrinfo(res);
	return -1;
}

static void pc_close(struct pc *c)
{
	tls_conn_free(&c->tls);
	tls_ctx_free(&c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_deinit(&c->in);
	buf_deinit(&c->out);
}

/* ---- the job ---- */

struct pf_account {
	char id[17], host[256], user[256], pass[256];
	unsigned port;
	bool keep;
};

struct pf_job {
	char user[256];
	char maildir[4096];
	char quota[128];
	size_t size_limit;
	size_t n;
	struct pf_account acct[WM_POPFETCH_MAX];
};

/* The UIDLs fetched before (kept accounts), one a line. */
static bool uidl_seen(const struct buf *seen, const char *u)
{
	size_t ul = strlen(u);
	const char *p = seen->p, *end = seen->p + seen->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (l == ul && memcmp(p, u, ul) == 0)
			return true;
		p += l + 1;
	}
	return false;
}

/* Fetches one account; returns the result text, *fetched_r counted. */
static const char *pf_fetch(const struct pf_job *job,
			    const struct pf_account *a,
			    const struct mailbox_user *mu, size_t *fetched_r)
{
	struct pc c = {.fd = -1};
	buf_init(&c.in, PF_LINE_MAX * 128);
	buf_init(&c.out, 2048);
	char line[PF_LINE_MAX * 64], cmd[600];
	const char *why = "ok";
	struct buf list, seen, msg, keep_seen;
	buf_init(&list, 8u << 20);
	buf_init(&seen, 8u << 20);
	buf_init(&keep_seen, 8u << 20);
	buf_init(&msg, job->size_limit + 65536);
	char seen_path[4300], name[64];
	snprintf(name, sizeof name, "youju-popfetch-%s.uidl", a->id);
	if (pf_path(job->maildir, name, seen_path, sizeof seen_path) < 0 ||
	    file_read_buf(seen_path, &seen) < 0)
		buf_reset(&seen);
	if (pc_connect(&c, a->host, a->port, &why) < 0)
		goto out;
	why = "the server did not greet";
	if (pc_cmd(&c, NULL, line, sizeof line) != 1)
		goto out;
	why = "login refused";
	snprintf(cmd, sizeof cmd, "USER %s", a->user);
	if (pc_cmd(&c, cmd, line, sizeof line) != 1)
		goto out;
	snprintf(cmd, sizeof cmd, "PASS %s", a->pass);
	int pr = pc_cmd(&c, cmd, line, sizeof line);
	explicit_bzero(cmd, sizeof cmd);
	if (pr != 1)
		goto out;
	why = "UIDL failed";
	if (pc_cmd(&c, "UIDL", line, sizeof line) != 1 ||
	    pc_multi(&c, &list) < 0)
		goto out;
	why = "ok";
	const char *p = list.p, *end = list.p + list.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		char row[PF_LINE_MAX];
		unsigned long num = 0;
		char uidl[PF_LINE_MAX];
		if (l < sizeof row) {
			memcpy(row, p, l);
			row[l] = '\0';
			if (l > 0 && row[l - 1] == '\r')
				row[l - 1] = '\0';
		} else {
			row[0] = '\0';
		}
		p += l + 1;
		if (sscanf(row, "%lu %1000s", &num, uidl) != 2 || num == 0)
			continue;
		if (uidl_seen(&seen, uidl)) {
			if (a->keep)
				(void)(buf_append_str(&keep_seen, uidl) |
				       buf_append_char(&keep_seen, '\n'));
			continue;
		}
		if (*fetched_r >= PF_MESSAGES_MAX)
			continue;
		/* a message over message_size_limit stays where it is (and
		   does not stop the ones after it) */
		unsigned long lnum = 0, size = 0;
		snprintf(cmd, sizeof cmd, "LIST %lu", num);
		if (pc_cmd(&c, cmd, line, sizeof line) == 1 &&
		    sscanf(line, "+OK %lu %lu", &lnum, &size) == 2 &&
		    size > job->size_limit) {
			why = "message too large (left on the server)";
			continue;
		}
		buf_reset(&msg);
		snprintf(cmd, sizeof cmd, "RETR %lu", num);
		int r = pc_cmd(&c, cmd, line, sizeof line);
		if (r < 0 || (r == 1 && pc_multi(&c, &msg) < 0)) {
			why = msg.len >= job->size_limit ? "message too large"
							 : "RETR failed";
			break;
		}
		if (r == 0)
			continue;
		const char *derr = NULL;
		if (mailbox_deliver(mu, job->maildir, msg.p, msg.len, &derr) <
		    0) {
			why = errno == EDQUOT ? "over quota" : "cannot store";
			break;
		}
		(*fetched_r)++;
		if (a->keep) {
			(void)(buf_append_str(&keep_seen, uidl) |
			       buf_append_char(&keep_seen, '\n'));
		} else {
			snprintf(cmd, sizeof cmd, "DELE %lu", num);
			if (pc_cmd(&c, cmd, line, sizeof line) < 0) {
				why = "DELE failed";
				break;
			}
		}
	}
	/* QUIT commits the deletions (RFC 1939 §6) */
	(void)pc_cmd(&c, "QUIT", line, sizeof line);
	if (a->keep &&
	    file_replace(seen_path, keep_seen.p, keep_seen.len, NULL) < 0)
		log_warning("webmail: %s: %s", seen_path, strerror(errno));
out:
	pc_close(&c);
	buf_deinit(&list);
	buf_deinit(&seen);
	buf_deinit(&keep_seen);
	buf_deinit(&msg);
	return why;
}

static void *pf_thread(void *arg)
{
	struct pf_job *job = arg;
	struct mailbox_user mu;
	if (mailbox_user_init(&mu, job->maildir, job->quota) < 0)
		log_warning("webmail: %s: malformed quota", job->user);
	for (size_t i = 0; i < job->n; i++) {
		const struct pf_account *a = &job->acct[i];
		size_t fetched = 0;
		const char *why = pf_fetch(job, a, &mu, &fetched);
		char esc[300];
		log_info("webmail: popfetch: user=<%s>, account=%s@%s:%u, "
			 "fetched=%zu, result=%s",
			 job->user,
			 log_escape(esc, sizeof esc, a->user, strlen(a->user)),
			 a->host, a->port, fetched, why);
		char lock[4300];
		if (!pf_lock_file(job->maildir, lock, sizeof lock))
			continue;
		json_t *list = pf_load(job->maildir);
		size_t k;
		json_t *x;
		json_array_foreach(list, k, x)
		{
			const char *id =
			    json_string_value(json_object_get(x, "id"));
			if (id == NULL || strcmp(id, a->id) != 0)
				continue;
			json_object_set_new(
			    x, "last_run",
			    json_integer((json_int_t)time(NULL)));
			json_object_set_new(x, "last_result", json_string(why));
			json_object_set_new(x, "last_fetched",
					    json_integer((json_int_t)fetched));
		}
		if (list != NULL && pf_save(job->maildir, list) < 0)
			log_warning("webmail: %s: cannot write %s",
				    job->maildir, PF_ACCOUNTS_FILE);
		json_decref(list);
		file_dotunlock(lock);
	}
	pthread_mutex_lock(&pf_lock);
	for (size_t i = 0; i < PF_JOBS_MAX; i++)
		if (strcmp(pf_busy[i], job->user) == 0) {
			pf_busy[i][0] = '\0';
			break;
		}
	pthread_mutex_unlock(&pf_lock);
	explicit_bzero(job, sizeof *job);
	free(job);
	return NULL;
}

/* ---- routes ---- */

static json_t *public_view(json_t *list, const char *user)
{
	json_t *out = json_array();
	size_t i;
	json_t *a;
	json_array_foreach(list, i, a)
	{
		json_t *c = json_deep_copy(a);
		json_object_del(c, "password");
		json_array_append_new(out, c);
	}
	json_t *o = json_object();
	json_object_set_new(o, "enabled", json_boolean(pf_ready));
	pthread_mutex_lock(&pf_lock);
	json_object_set_new(o, "running", json_boolean(pf_is_busy(user)));
	pthread_mutex_unlock(&pf_lock);
	json_object_set_new(o, "accounts", out);
	return o;
}

void wm_popfetch_get(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	json_t *list = pf_load(me->acct.maildir);
	if (list == NULL) {
		webjson_error(req, 500, "internal",
			      "the POP3 accounts cannot be read", NULL);
		return;
	}
	webjson_reply(req, 200, public_view(list, me->acct.user));
	json_decref(list);
}

static bool host_ok(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':'))
			return false;
	}
	return true;
}

static bool word_ok(const char *s)
{
	if (s[0] == '\0' || strlen(s) > 255)
		return false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

static void pf_add(struct http_req *req, json_t *in, json_t *list)
{
	const struct wm_caller *me = wm_caller(req);
	const char *host = NULL, *user = NULL, *pass = NULL;
	int64_t port = 110;
	bool keep = true;
	if (webjson_get_str(req, in, "host", true, 253, &host) < 0 ||
	    webjson_get_str(req, in, "user", true, 255, &user) < 0 ||
	    webjson_get_str(req, in, "password", true, 255, &pass) < 0 ||
	    webjson_get_int(req, in, "port", false, 1, 65535, &port) < 0 ||
	    webjson_get_bool(req, in, "keep", false, &keep) < 0)
		return;
	if (!host_ok(host)) {
		webjson_error(req, 400, "invalid", "bad host name", "host");
		return;
	}
	if (!pf_allow_private && port != 110 && port != 995) {
		webjson_error(req, 400, "invalid", "port 110 or 995", "port");
		return;
	}
	if (!word_ok(user) || !word_ok(pass) || strchr(user, ' ') != NULL) {
		webjson_error(req, 400, "invalid", "bad user or password",
			      "user");
		return;
	}
	if (json_array_size(list) >= WM_POPFETCH_MAX) {
		webjson_error(req, 409, "full", "at most 6 accounts", NULL);
		return;
	}
	char id[17], aad[300];
	if (websession_random_hex(id, 8) < 0) {
		webjson_error(req, 500, "internal", "no random bytes", NULL);
		return;
	}
	snprintf(aad, sizeof aad, "%s\n%s", me->acct.user, id);
	char *sealed = pf_seal(aad, pass);
	if (sealed == NULL) {
		webjson_error(req, 500, "internal", "cannot seal the password",
			      NULL);
		return;
	}
	json_t *a = json_object();
	json_object_set_new(a, "id", json_string(id));
	json_object_set_new(a, "host", json_string(host));
	json_object_set_new(a, "port", json_integer(port));
	json_object_set_new(a, "user", json_string(user));
	json_object_set_new(a, "password", json_string(sealed));
	json_object_set_new(a, "keep", json_boolean(keep));
	json_object_set_new(a, "active", json_true());
	json_array_append_new(list, a);
	free(sealed);
	if (pf_save(me->acct.maildir, list) < 0)
		webjson_error(req, 500, "internal", "cannot save", NULL);
	else
		webjson_reply(req, 200, public_view(list, me->acct.user));
}

static void pf_run(struct http_req *req, json_t *list)
{
	struct wm *wm = http_req_app(req);
	const struct wm_caller *me = wm_caller(req);
	struct pf_job *job = xcalloc(1, sizeof *job);
	snprintf(job->user, sizeof job->user, "%s", me->acct.user);
	snprintf(job->maildir, sizeof job->maildir, "%s", me->acct.maildir);
	snprintf(job->quota, sizeof job->quota, "%s", me->acct.quota);
	job->size_limit = (size_t)wm->message_size_limit;
	size_t i;
	json_t *a;
	json_array_foreach(list, i, a)
	{
		if (job->n >= WM_POPFETCH_MAX ||
		    !json_is_true(json_object_get(a, "active")))
			continue;
		struct pf_account *x = &job->acct[job->n];
		const char *id = json_string_value(json_object_get(a, "id"));
		const char *h = json_string_value(json_object_get(a, "host"));
		const char *u = json_string_value(json_object_get(a, "user"));
		char aad[300];
		if (id == NULL || h == NULL || u == NULL || strlen(id) > 16 ||
		    strlen(h) > 255 || strlen(u) > 255)
			continue;
		snprintf(aad, sizeof aad, "%s\n%s", me->acct.user, id);
		if (pf_open(aad,
			    json_string_value(json_object_get(a, "password")),
			    x->pass, sizeof x->pass) < 0) {
			log_warning("webmail: popfetch: user=<%s>, account "
				    "%s: the password cannot be opened "
				    "(another key?)",
				    me->acct.user, id);
			continue;
		}
		snprintf(x->id, sizeof x->id, "%s", id);
		snprintf(x->host, sizeof x->host, "%s", h);
		snprintf(x->user, sizeof x->user, "%s", u);
		x->port =
		    (unsigned)json_integer_value(json_object_get(a, "port"));
		x->keep = json_is_true(json_object_get(a, "keep"));
		job->n++;
	}
	pthread_mutex_lock(&pf_lock);
	size_t slot = PF_JOBS_MAX;
	bool busy = pf_is_busy(job->user);
	for (size_t k = 0; !busy && k < PF_JOBS_MAX; k++)
		if (pf_busy[k][0] == '\0') {
			slot = k;
			break;
		}
	if (!busy && slot < PF_JOBS_MAX)
		snprintf(pf_busy[slot], sizeof pf_busy[slot], "%s", job->user);
	pthread_mutex_unlock(&pf_lock);
	if (busy || slot == PF_JOBS_MAX) {
		explicit_bzero(job, sizeof *job);
		free(job);
		webjson_error(req, busy ? 409 : 503, busy ? "running" : "busy",
			      busy ? "a fetch is running already"
				   : "too many fetches running, try later",
			      NULL);
		return;
	}
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &at, pf_thread, job);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		pthread_mutex_lock(&pf_lock);
		pf_busy[slot][0] = '\0';
		pthread_mutex_unlock(&pf_lock);
		explicit_bzero(job, sizeof *job);
		free(job);
		webjson_error(req, 503, "busy", "cannot start the fetch", NULL);
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "started", json_true());
	webjson_reply(req, 202, o);
}

/* POST /api/popfetch {"op": "add"|"delete"|"run", ...} */
void wm_popfetch_post(struct http_req *req)
{
	const struct wm_caller *me = wm_caller(req);
	json_t *in = webjson_request(req);
	if (in == NULL)
		return;
	static const char *const allowed[] = {
	    "op", "id", "host", "port", "user", "password", "keep", NULL};
	const char *op = NULL, *id = NULL;
	char lock[4300];
	bool locked = false;
	json_t *list = NULL;
	if (webjson_only(req, in, allowed) < 0 ||
	    webjson_get_str(req, in, "op", true, 16, &op) < 0 ||
	    webjson_get_str(req, in, "id", false, 16, &id) < 0)
		goto out;
	if (!pf_ready) {
		webjson_error(req, 503, "popfetch_off",
			      "POP3 fetch is not configured", NULL);
		goto out;
	}
	if (!pf_lock_file(me->acct.maildir, lock, sizeof lock)) {
		webjson_error(req, 503, "busy", "busy, try again", NULL);
		goto out;
	}
	locked = true;
	list = pf_load(me->acct.maildir);
	if (list == NULL) {
		webjson_error(req, 500, "internal",
			      "the POP3 accounts cannot be read", NULL);
	} else if (strcmp(op, "add") == 0) {
		pf_add(req, in, list);
	} else if (strcmp(op, "delete") == 0) {
		size_t i;
		json_t *a;
		bool found = false;
		json_array_foreach(list, i, a)
		{
			const char *x =
			    json_string_value(json_object_get(a, "id"));
			if (id != NULL && x != NULL && strcmp(x, id) == 0) {
				json_array_remove(list, i);
				found = true;
				break;
			}
		}
		if (!found)
			webjson_error(req, 404, "not_found", "no such account",
				      "id");
		else if (pf_save(me->acct.maildir, list) < 0)
			webjson_error(req, 500, "internal", "cannot save",
				      NULL);
		else
			webjson_reply(req, 200,
				      public_view(list, me->acct.user));
	} else if (strcmp(op, "run") == 0) {
		pf_run(req, list);
	} else {
		webjson_error(req, 400, "invalid", "unknown op", "op");
	}
out:
	json_decref(list);
	if (locked)
		file_dotunlock(lock);
	json_decref(in);
}
