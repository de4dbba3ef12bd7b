/*
 * Unit tests for lib/tls: a self-signed certificate made at test time, a
 * server and a client in one process over a non-blocking socketpair,
 * pumped by hand: handshake, data both ways, STARTTLS buffer reset,
 * verification by name, TLS 1.1 refused, key file permission check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "ev.h"
#include "log.h"
#include "tls.h"
#include "test.h"

static char dir[] = "/tmp/test_tls.XXXXXX";
static char cert[128], key[128];

static int make_cert(void)
{
	char cmd[512];

	if (mkdtemp(dir) == NULL)
		return -1;
	int n1 = snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	int n2 = snprintf(key, sizeof key, "%s/key.pem", dir);
	int n3 = snprintf(cmd, sizeof cmd,
			  "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
			  "-subj /CN=localhost -keyout %s -out %s "
			  ">/dev/null 2>&1",
			  key, cert);
	if (n1 < 0 || (size_t)n1 >= sizeof cert || n2 < 0 ||
	    (size_t)n2 >= sizeof key || n3 < 0 || (size_t)n3 >= sizeof cmd)
		return -1;
	if (system(cmd) != 0)
		return -1;
	return chmod(key, 0600);
}

static void nonblock_pair(int sv[2])
{
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(sv[i], F_GETFL);
		test_assert(fl >= 0 &&
			    fcntl(sv[i], F_SETFL, fl | O_NONBLOCK) == 0);
	}
}

/* Pumps both handshakes; returns 1 when both done, -1 when one failed. */
static int pump_handshake(struct tls_conn *s, struct tls_conn *c, int *srv_r,
			  int *cli_r)
{
	int sr = 0, cr = 0;
	unsigned want;

	for (int i = 0; i < 100; i++) {
		if (sr == 0)
			sr = tls_handshake(s, &want);
		if (sr == 0)
			test_assert(want == EV_READ || want == EV_WRITE);
		if (cr == 0)
			cr = tls_handshake(c, &want);
		if (sr < 0 || cr < 0 || (sr == 1 && cr == 1))
			break;
	}
	*srv_r = sr;
	*cli_r = cr;
	return sr == 1 && cr == 1 ? 1 : -1;
}

/* Reads from conn into in until it holds n bytes (bounded attempts). */
static void read_until(struct tls_conn *conn, struct buf *in, size_t n)
{
	unsigned want;

	for (int i = 0; i < 100 && in->len < n; i++) {
		int r = tls_read(conn, in, &want);
		if (r < 0)
			break;
	}
}

static void test_handshake_data(void)
{
	const char *err = NULL;
	int sv[2], sr, cr;
	unsigned want;
	struct buf in, out;

	test_begin("handshake + data");
	struct tls_ctx *sctx = tls_server_ctx_new(cert, key, &err);
	test_assert(sctx != NULL);
	struct tls_ctx *cctx = tls_client_ctx_new(false, NULL, &err);
	test_assert(cctx != NULL);
	if (sctx == NULL || cctx == NULL)
		return;
	nonblock_pair(sv);
	struct tls_conn *s = tls_conn_new(sctx, sv[0], NULL);
	struct tls_conn *c = tls_conn_new(cctx, sv[1], "localhost");
	test_assert(s != NULL && c != NULL);

	/* STARTTLS: the server drops the pipelined cleartext first */
	buf_init(&in, 4096);
	test_assert(buf_append_str(&in, "RCPT TO:<evil>\r\n") == 0);
	test_assert(tls_starttls(s, &in, &want) == 0);
	test_assert(in.len == 0);
	test_assert(want == EV_READ);

	test_assert(pump_handshake(s, c, &sr, &cr) == 1);
	test_assert(strcmp(tls_conn_version(s), "TLSv1.2") == 0 ||
		    strcmp(tls_conn_version(s), "TLSv1.3") == 0);
	test_assert(tls_conn_cipher(s)[0] != '\0');
	test_assert(tls_conn_cipher_bits(c) >= 128);

	/* client -> server */
	buf_init(&out, 65536);
	test_assert(buf_append_str(&out, "EHLO client\r\n") == 0);
	test_assert(tls_write(c, &out, &want) == 1);
	test_assert(out.len == 0);
	read_until(s, &in, 13);
	test_assert(in.len == 13 && memcmp(in.p, "EHLO client\r\n", 13) == 0);
	/* nothing more: would block, wanting to read */
	test_assert(tls_read(s, &in, &want) == 0 && want == EV_READ);

	/* server -> client, more than one record and more than the socket
	   buffer takes at once: partial writes resume */
	struct buf cin;
	buf_init(&cin, 65536);
	int fails = 0;
	for (int i = 0; i < 60000; i++)
		fails += buf_append_char(&out, (char)('a' + i % 26)) != 0;
	test_assert(fails == 0);
	size_t total = out.len;
	for (int i = 0; i < 1000 && (out.len > 0 || cin.len < total); i++) {
		if (out.len > 0) {
			int r = tls_write(s, &out, &want);
			test_assert(r >= 0);
			if (r == 0)
				test_assert(want == EV_WRITE ||
					    want == EV_READ);
		}
		int r;
		do
			r = tls_read(c, &cin, &want);
		while (r == 1);
	}
	test_assert(out.len == 0);
	test_assert(cin.len == total);
	test_assert(cin.len == total && cin.p[0] == 'a' && cin.p[25] == 'z' &&
		    cin.p[59999] == (char)('a' + 59999 % 26));

	/* a full buffer is reported, not silently ignored */
	struct buf tiny;
	buf_init(&tiny, 2);
	test_assert(buf_append_str(&out, "xyz") == 0);
	test_assert(tls_write(c, &out, &want) == 1);
	read_until(s, &tiny, 2);
	test_assert(tiny.len == 2);
	test_assert(tls_read(s, &tiny, &want) == -1 && errno == ENOBUFS);
	buf_deinit(&tiny);

	/* close_notify from the client: EOF on the server */
	test_assert(tls_shutdown(c, &want) == 1);
	buf_reset(&in);
	int r = 1;
	for (int i = 0; i < 10 && r == 1; i++)
		r = tls_read(s, &in, &want);
	test_assert(r == -1 && errno == 0);

	tls_conn_free(&s);
	tls_conn_free(&c);
	test_assert(s == NULL && c == NULL);
	close(sv[0]);
	close(sv[1]);
	buf_deinit(&in);
	buf_deinit(&out);
	buf_deinit(&cin);
	tls_ctx_free(&sctx);
	tls_ctx_free(&cctx);
	test_assert(sctx == NULL);
}

static void test_verify(void)
{
	const char *err = NULL;
	int sv[2], sr, cr;

	test_begin("verify");
	struct tls_ctx *sctx = tls_server_ctx_new(cert, key, &err);
	struct tls_ctx *good = tls_client_ctx_new(true, cert, &err);
	test_assert(sctx != NULL && good != NULL);

	/* the self-signed cert as CA, right name: accepted */
	nonblock_pair(sv);
	struct tls_conn *s = tls_conn_new(sctx, sv[0], NULL);
	struct tls_conn *c = tls_conn_new(good, sv[1], "localhost");
	test_assert(pump_handshake(s, c, &sr, &cr) == 1);
	tls_conn_free(&s);
	tls_conn_free(&c);
	close(sv[0]);
	close(sv[1]);

	/* wrong name: refused by the client */
	nonblock_pair(sv);
	s = tls_conn_new(sctx, sv[0], NULL);
	c = tls_conn_new(good, sv[1], "mail.example.org");
	test_assert(pump_handshake(s, c, &sr, &cr) == -1);
	test_assert(cr == -1);
	test_assert(tls_conn_error(c)[0] != '\0');
	tls_conn_free(&s);
	tls_conn_free(&c);
	close(sv[0]);
	close(sv[1]);

	/* system store does not know our cert */
	struct tls_ctx *sys = tls_client_ctx_new(true, NULL, &err);
	test_assert(sys != NULL);
	nonblock_pair(sv);
	s = tls_conn_new(sctx, sv[0], NULL);
	c = tls_conn_new(sys, sv[1], "localhost");
	test_assert(pump_handshake(s, c, &sr, &cr) == -1);
	tls_conn_free(&s);
	tls_conn_free(&c);
	close(sv[0]);
	close(sv[1]);

	tls_ctx_free(&sys);
	tls_ctx_free(&good);
	tls_ctx_free(&sctx);
}

/* A client limited to TLS 1.1 (security level 0 so OpenSSL lets it try). */
static void test_old_tls_refused(void)
{
	const char *err = NULL;
	int sv[2];
	unsigned want;

	test_begin("tls 1.1 refused");
	struct tls_ctx *sctx = tls_server_ctx_new(cert, key, &err);
	SSL_CTX *old = SSL_CTX_new(TLS_client_method());
	test_assert(sctx != NULL && old != NULL);
	SSL_CTX_set_security_level(old, 0);
	test_assert(SSL_CTX_set_cipher_list(old, "ALL:@SECLEVEL=0") == 1);
	test_assert(SSL_CTX_set_min_proto_version(old, TLS1_1_VERSION) == 1);
	test_assert(SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION) == 1);
	nonblock_pair(sv);
	struct tls_conn *s = tls_conn_new(sctx, sv[0], NULL);
	SSL *c = SSL_new(old);
	test_assert(c != NULL && SSL_set_fd(c, sv[1]) == 1);
	SSL_set_connect_state(c);
	int sr = 0, cr = -1;
	for (int i = 0; i < 50 && sr == 0; i++) {
		cr = SSL_do_handshake(c);
		sr = tls_handshake(s, &want);
	}
	test_assert(sr == -1);
	test_assert(cr != 1);
	test_assert(strstr(tls_conn_error(s), "unsupported protocol") != NULL);
	if (strstr(tls_conn_error(s), "unsupported protocol") == NULL)
		fprintf(stderr, "  server said: %s\n", tls_conn_error(s));
	SSL_free(c);
	SSL_CTX_free(old);
	tls_conn_free(&s);
	tls_ctx_free(&sctx);
	close(sv[0]);
	close(sv[1]);
}

static void test_bad_files(void)
{
	const char *err = NULL;

	test_begin("bad files");
	log_set_stderr(false);
	test_assert(tls_server_ctx_new(cert, "/nonexistent/key", &err) == NULL);
	test_assert(err != NULL);
	test_assert(tls_server_ctx_new(key, key, &err) == NULL);
	test_assert(tls_server_ctx_new("/nonexistent/c", key, &err) == NULL);
	test_assert(chmod(key, 0604) == 0);
	err = NULL;
	test_assert(tls_server_ctx_new(cert, key, &err) == NULL);
	test_assert(err != NULL && strstr(err, "readable") != NULL);
	test_assert(chmod(key, 0600) == 0);
	test_assert(tls_client_ctx_new(true, "/nonexistent/ca", &err) == NULL);
}

int main(void)
{
	test_begin("make cert");
	int ok = make_cert() == 0;
	test_assert(ok);
	if (ok) {
		test_handshake_data();
		test_verify();
		test_old_tls_refused();
		test_bad_files();
	}
	char cmd[256];
	int n = snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (n > 0 && (size_t)n < sizeof cmd && system(cmd) != 0)
		test_assert(!"cleanup");
	return test_end();
}
