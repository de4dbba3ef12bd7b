/*
 * TLS over non-blocking sockets with OpenSSL 3.  A tls_ctx holds the
 * settings (server: certificate chain and key; client: verification and
 * CA), a tls_conn wraps one connected fd.  Every I/O step returns 1
 * (progress), 0 (would block: *want_r says which loop interest to set,
 * EV_READ or EV_WRITE, from OpenSSL's WANT_READ / WANT_WRITE) or -1 (error,
 * or end of stream where noted).  Both sides allow TLS 1.2 and 1.3 only,
 * with forward-secret AEAD ciphers for 1.2, no compression and no
 * renegotiation.
 *
 * Implicit TLS (port 465, 993, 995): create the tls_conn right after
 * accept and call tls_handshake() until it returns 1.
 * STARTTLS: after sending the "go ahead" reply, call tls_starttls() with
 * the session's plaintext input buffer.  Bytes the client pipelined after
 * the STARTTLS command were sent in clear and must never be read as if
 * they came through TLS (CVE-2011-0411, the Postfix/Wietse STARTTLS
 * command injection): tls_starttls() empties that buffer before the
 * handshake.  Callers that handshake by other means MUST buf_reset() their
 * input buffer themselves.
 */
#ifndef YOUJU_TLS_H
#define YOUJU_TLS_H

#include <stdbool.h>

#include "buf.h"

struct tls_ctx;
struct tls_conn;

/*
 * A server context from PEM files: cert_file holds the certificate chain
 * (leaf first), key_file the private key, which must not be readable by
 * "other" (mode & 007 == 0).  Returns the context (free with
 * tls_ctx_free), or NULL with *error_r (a static string; details are
 * logged with log_error).
 */
struct tls_ctx *tls_server_ctx_new(const char *cert_file, const char *key_file,
				   const char **error_r);

/*
 * A client context.  verify: require a certificate that chains to ca_file
 * (NULL: the system store) and matches the SNI name given to
 * tls_conn_new().  Without verify (opportunistic SMTP TLS, RFC 7435) any
 * certificate is accepted.  Returns the context or NULL with *error_r.
 */
struct tls_ctx *tls_client_ctx_new(bool verify, const char *ca_file,
				   const char **error_r);

void tls_ctx_free(struct tls_ctx **ctx);

/*
 * Wraps the connected non-blocking fd (still the caller's to close, after
 * tls_conn_free).  sni: the server name to send (client contexts; NULL for
 * none, and ignored by servers).  ctx must outlive the connection.
 * Returns NULL only when OpenSSL cannot allocate (logged).
 */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd, const char *sni);
/* Frees without sending close_notify (see tls_shutdown); NULL-safe. */
void tls_conn_free(struct tls_conn **conn);

/* Drives the handshake.  1 done, 0 call again when *want_r is ready, -1
   failed (tls_conn_error() says why; the connection must be dropped). */
int tls_handshake(struct tls_conn *conn, unsigned *want_r);

/* Empties plain_in (see above), then tls_handshake(). */
int tls_starttls(struct tls_conn *conn, struct buf *plain_in, unsigned *want_r);

/*
 * Appends decrypted bytes to in, at most buf_room(in).  1 progress, 0 would
 * block, -1 with errno 0 at the end of the stream (close_notify or TCP
 * EOF), ENOBUFS when in is full, EIO for a TLS error (tls_conn_error).
 * After 1, consume lines and call again while tls_pending() is true:
 * OpenSSL may hold decrypted data that epoll will not report.
 */
int tls_read(struct tls_conn *conn, struct buf *in, unsigned *want_r);
/* True when decrypted input is waiting inside OpenSSL. */
bool tls_pending(const struct tls_conn *conn);

/*
 * Encrypts and sends out, consuming what was taken.  1 all sent, 0 partial
 * (call again when *want_r is ready; out may grow meanwhile but must not
 * be otherwise changed), -1 error (errno EIO, tls_conn_error()).
 */
int tls_write(struct tls_conn *conn, struct buf *out, unsigned *want_r);

/* Sends close_notify.  1 sent, 0 would block, -1 error. */
int tls_shutdown(struct tls_conn *conn, unsigned *want_r);

/* The reason of the last failure ("" if none); borrowed until the next
   call on conn. */
const char *tls_conn_error(const struct tls_conn *conn);
/* After the handshake: "TLSv1.3", the cipher name and its secret bits, for
   logs and Received: headers.  Borrowed while conn lives. */
const char *tls_conn_version(const struct tls_conn *conn);
const char *tls_conn_cipher(const struct tls_conn *conn);
int tls_conn_cipher_bits(const struct tls_conn *conn);

/* Makes a server context ask clients for a certificate (Postfix's
   smtpd_tls_ask_ccert).  Any certificate, or none, is accepted: it is
   only reported (tls_conn_peer_cn), never trusted. */
void tls_server_ctx_ask_cert(struct tls_ctx *ctx);
/* The common names of the peer certificate's subject and issuer into
   subject_r and issuer_r (sz bytes each; "" when missing, or when a name
   holds control bytes or does not fit).  False when the peer presented
   no certificate. */
bool tls_conn_peer_cn(const struct tls_conn *conn, char *subject_r,
		      char *issuer_r, size_t sz);

#endif
