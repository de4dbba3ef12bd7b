/*
 * TLS with OpenSSL 3 on non-blocking fds; see tls.h.  OpenSSL reports "try
 * again" as SSL_ERROR_WANT_READ/WANT_WRITE; we hand that back as the loop
 * interest to wait for, so sessions never block and never busy-loop.
 *
 * Policy (Mozilla "intermediate", 2023): TLS 1.2 minimum (RFC 8996 retired
 * 1.0 and 1.1), ECDHE/DHE with AES-GCM or ChaCha20-Poly1305 for 1.2, the
 * OpenSSL default suites for 1.3, no compression (CRIME), no renegotiation
 * (CVE-2009-3555 and client-initiated renegotiation DoS).
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ev.h"
#include "log.h"
#include "xalloc.h"

#define TLS_CIPHERS_12                                                         \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"           \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"                 \
	"DHE-RSA-CHACHA20-POLY1305"

struct tls_ctx {
	SSL_CTX *ssl_ctx;
	bool server;
	bool verify;
};

struct tls_conn {
	SSL *ssl;
	bool server;
	char err[256];
};

/* Logs the OpenSSL error queue (then empty) under what. */
static void tls_log_queue(const char *what)
{
	unsigned long e;
	char msg[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, msg, sizeof msg);
		log_error("tls: %s: %s", what, msg);
	}
}

static struct tls_ctx *tls_ctx_common(bool server, const char **error_r)
{
	struct tls_ctx *ctx = xcalloc(1, sizeof *ctx);

	ERR_clear_error();
	ctx->server = server;
	ctx->ssl_ctx =
	    SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx->ssl_ctx == NULL) {
		*error_r = "SSL_CTX_new failed";
		goto fail;
	}
	if (SSL_CTX_set_min_proto_version(ctx->ssl_ctx, TLS1_2_VERSION) != 1) {
		*error_r = "cannot set TLS 1.2 minimum";
		goto fail;
	}
	/* IGNORE_UNEXPECTED_EOF: mail clients often drop TCP without
	   close_notify; our protocols frame their own data, so a plain EOF
	   is an ordinary end of stream. */
	SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_COMPRESSION |
					      SSL_OP_NO_RENEGOTIATION |
					      SSL_OP_CIPHER_SERVER_PREFERENCE |
					      SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (SSL_CTX_set_cipher_list(ctx->ssl_ctx, TLS_CIPHERS_12) != 1) {
		*error_r = "no usable TLS 1.2 cipher";
		goto fail;
	}
	/* buf_consume() moves the data we are retrying to send. */
	SSL_CTX_set_mode(ctx->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					   SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
fail:
	tls_log_queue(*error_r);
	tls_ctx_free(&ctx);
	return NULL;
}

struct tls_ctx *tls_server_ctx_new(const char *cert_file, const char *key_file,
				   const char **error_r)
{
	static const unsigned char sid_ctx[] = "youju";
	struct stat st;
	struct tls_ctx *ctx;

	if (stat(key_file, &st) < 0) {
		*error_r = "cannot stat key file";
		log_error("tls: %s: %s", key_file, strerror(errno));
		return NULL;
	}
	if (st.st_mode & 007) {
		*error_r = "key file is readable by other users";
		log_error("tls: %s: mode %03o: %s", key_file,
			  (unsigned)(st.st_mode & 0777), *error_r);
		return NULL;
	}
	ctx = tls_ctx_common(true, error_r);
	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, cert_file) != 1) {
		*error_r = "cannot load certificate";
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx->ssl_ctx, key_file,
					SSL_FILETYPE_PEM) != 1) {
		*error_r = "cannot load private key";
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx->ssl_ctx) != 1) {
		*error_r = "private key does not match certificate";
		goto fail;
	}
	if (SSL_CTX_set_session_id_context(ctx->ssl_ctx, sid_ctx,
					   sizeof sid_ctx - 1) != 1) {
		*error_r = "cannot set session id context";
		goto fail;
	}
	return ctx;
fail:
	log_error("tls: %s (certificate %s, key %s)", *error_r, cert_file,
		  key_file);
	tls_log_queue(*error_r);
	tls_ctx_free(&ctx);
	return NULL;
}

struct tls_ctx *tls_client_ctx_new(bool verify, const char *ca_file,
				   const char **error_r)
{
	struct tls_ctx *ctx = tls_ctx_common(false, error_r);

	if (ctx == NULL)
		return NULL;
	ctx->verify = verify;
	if (!verify) {
		SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	int r = ca_file != NULL
		    ? SSL_CTX_load_verify_locations(ctx->ssl_ctx, ca_file, NULL)
		    : SSL_CTX_set_default_verify_paths(ctx->ssl_ctx);
	if (r != 1) {
		*error_r = "cannot load CA certificates";
		log_error("tls: %s from %s", *error_r,
			  ca_file != NULL ? ca_file : "the system store");
		tls_log_queue(*error_r);
		tls_ctx_free(&ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

void tls_ctx_free(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	*ctxp = NULL;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd, const char *sni)
{
	struct tls_conn *conn = xcalloc(1, sizeof *conn);

	ERR_clear_error();
	conn->server = ctx->server;
	conn->ssl = SSL_new(ctx->ssl_ctx);
	if (conn->ssl == NULL || SSL_set_fd(conn->ssl, fd) != 1)
		goto fail;
	if (ctx->server) {
		SSL_set_accept_state(conn->ssl);
		return conn;
	}
	SSL_set_connect_state(conn->ssl);
	if (sni != NULL) {
		/* RFC 6066 3: no IP literals in server_name */
		unsigned char ip[16];
		bool literal = inet_pton(AF_INET, sni, ip) == 1 ||
			       inet_pton(AF_INET6, sni, ip) == 1;
		if (!literal && SSL_set_tlsext_host_name(conn->ssl, sni) != 1)
			goto fail;
		/* RFC 6125 name check against the name we asked for. */
		if (ctx->verify && SSL_set1_host(conn->ssl, sni) != 1)
			goto fail;
	}
	return conn;
fail:
	tls_log_queue("cannot set up connection");
	tls_conn_free(&conn);
	return NULL;
}

void tls_conn_free(struct tls_conn **connp)
{
	struct tls_conn *conn = *connp;

	if (conn == NULL)
		return;
	*connp = NULL;
	SSL_free(conn->ssl);
	free(conn);
}

/* Turns an SSL_* result r <= 0 into 0 (+ *want_r) or -1 (+ conn->err). */
static int tls_result(struct tls_conn *conn, int r, unsigned *want_r,
		      const char *op)
{
	int saved = errno;
	int e = SSL_get_error(conn->ssl, r);
	unsigned long code;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		*want_r = EV_READ;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*want_r = EV_WRITE;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		(void)snprintf(conn->err, sizeof conn->err,
			       "%s: connection closed", op);
		errno = 0;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (saved == 0) {
				(void)snprintf(conn->err, sizeof conn->err,
					       "%s: connection closed", op);
			} else {
				(void)snprintf(conn->err, sizeof conn->err,
					       "%s: %s", op, strerror(saved));
			}
			errno = saved;
			return -1;
		}
		break;
	default:
		break;
	}
	code = ERR_peek_last_error();
	if (code != 0) {
		char msg[200];
		ERR_error_string_n(code, msg, sizeof msg);
		(void)snprintf(conn->err, sizeof conn->err, "%s: %s", op, msg);
	} else {
		(void)snprintf(conn->err, sizeof conn->err, "%s: TLS error %d",
			       op, e);
	}
	ERR_clear_error();
	errno = EIO;
	return -1;
}

int tls_handshake(struct tls_conn *conn, unsigned *want_r)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_do_handshake(conn->ssl);
	if (r == 1)
		return 1;
	r = tls_result(conn, r, want_r, "handshake");
	if (r < 0 && errno == 0)
		errno = ECONNRESET; /* EOF in the middle is an error here */
	return r;
}

int tls_starttls(struct tls_conn *conn, struct buf *plain_in, unsigned *want_r)
{
	/* CVE-2011-0411: never let cleartext pipelined after STARTTLS be
	   read as if it had arrived through TLS. */
	buf_reset(plain_in);
	return tls_handshake(conn, want_r);
}

int tls_read(struct tls_conn *conn, struct buf *in, unsigned *want_r)
{
	char tmp[16384];
	size_t room = buf_room(in);
	size_t n = 0;

	if (room == 0) {
		errno = ENOBUFS;
		return -1;
	}
	if (room > sizeof tmp)
		room = sizeof tmp;
	ERR_clear_error();
	errno = 0;
	int r = SSL_read_ex(conn->ssl, tmp, room, &n);
	if (r != 1) {
		r = tls_result(conn, r, want_r, "read");
		explicit_bzero(tmp, sizeof tmp);
		return r;
	}
	r = buf_append(in, tmp, n);
	/* the plaintext may hold an AUTH payload */
	explicit_bzero(tmp, n);
	if (r < 0) {
		errno = ENOBUFS;
		return -1;
	}
	return 1;
}

bool tls_pending(const struct tls_conn *conn)
{
	return SSL_pending(conn->ssl) > 0;
}

int tls_write(struct tls_conn *conn, struct buf *out, unsigned *want_r)
{
	while (out->len > 0) {
		size_t n = 0;
		ERR_clear_error();
		errno = 0;
		int r = SSL_write_ex(conn->ssl, out->p, out->len, &n);
		if (r != 1) {
			r = tls_result(conn, r, want_r, "write");
			if (r < 0 && errno == 0)
				errno = EPIPE;
			return r;
		}
		buf_consume(out, n);
	}
	return 1;
}

int tls_shutdown(struct tls_conn *conn, unsigned *want_r)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_shutdown(conn->ssl);
	if (r >= 0)
		return 1; /* 0: ours sent, the peer's not awaited */
	return tls_result(conn, r, want_r, "shutdown");
}

const char *tls_conn_error(const struct tls_conn *conn)
{
	return conn->err;
}

const char *tls_conn_version(const struct tls_conn *conn)
{
	return SSL_get_version(conn->ssl);
}

const char *tls_conn_cipher(const struct tls_conn *conn)
{
	const char *c = SSL_get_cipher_name(conn->ssl);

	return c != NULL ? c : "";
}

int tls_conn_cipher_bits(const struct tls_conn *conn)
{
	return SSL_get_cipher_bits(conn->ssl, NULL);
}

static int accept_any_cert(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	(void)store;
	return 1;
}

void tls_server_ctx_ask_cert(struct tls_ctx *ctx)
{
	SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, accept_any_cert);
}

/* one name's CN into out ("" when none, with control bytes, too long) */
static void name_cn(X509_NAME *name, char *out, size_t sz)
{
	out[0] = '\0';
	if (name == NULL || sz < 2)
		return;
	int n = X509_NAME_get_text_by_NID(name, NID_commonName, out, (int)sz);
	if (n < 0 || (size_t)n >= sz - 1 || strlen(out) != (size_t)n) {
		out[0] = '\0';
		return;
	}
	for (int i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
			out[0] = '\0';
			return;
		}
}

bool tls_conn_peer_cn(const struct tls_conn *conn, char *subject_r,
		      char *issuer_r, size_t sz)
{
	subject_r[0] = issuer_r[0] = '\0';
	X509 *cert = SSL_get1_peer_certificate(conn->ssl);
	if (cert == NULL)
		return false;
	name_cn(X509_get_subject_name(cert), subject_r, sz);
	name_cn(X509_get_issuer_name(cert), issuer_r, sz);
	X509_free(cert);
	return true;
}
