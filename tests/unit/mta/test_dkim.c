/* Unit tests for mta/dkim (canonicalisation, RFC 6376 §3.4.5's example),
   mta/dkim_sign (keys, signature fields) and mta/policysvc (the policy
   delegation request and reply). */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../mta/dkim.h"
#include "../../../mta/dkim_sign.h"
#include "../../../mta/junk.h"
#include "../../../mta/policysvc.h"
#include "../../../mta/restrict.h"
#include "base64.h"
#include "test.h"

static void b64_sha(const char *p, size_t n, char out[64])
{
	unsigned char d[32];
	unsigned int dl = 32;
	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	test_assert(base64_encode(d, 32, out, 64) == 0);
}

static void body_b64(const char *body, bool relaxed, char out[64])
{
	unsigned char d[32];
	dkim_body_hash(body, strlen(body), relaxed, -1, d);
	test_assert(base64_encode(d, 32, out, 64) == 0);
}

static void test_canon(void)
{
	test_begin("dkim canonicalisation (RFC 6376 3.4.5)");
	struct buf b;
	buf_init(&b, 4096);
	const char *msg = "A: X\nB : Y\t\n\tZ  \n\n C \nD \t E\n\n\n";
	struct dkim_msg *m = malloc(sizeof(*m));
	dkim_msg_parse(msg, strlen(msg), m);
	test_assert(m->nf == 2);
	test_assert(dkim_field_is(&m->f[1], "b"));
	test_assert(dkim_headers_data(m, "a:b", true, &b) == 0);
	test_assert(strcmp(b.p, "a:X\r\nb:Y Z\r\n") == 0);
	buf_reset(&b);
	test_assert(dkim_headers_data(m, "a:B", false, &b) == 0);
	test_assert(strcmp(b.p, "A: X\r\nB : Y\t\r\n\tZ  \r\n") == 0);
	/* a name listed more often than present adds nothing */
	buf_reset(&b);
	test_assert(dkim_headers_data(m, "b:b:c", true, &b) == 0);
	test_assert(strcmp(b.p, "b:Y Z\r\n") == 0);
	char want[64], got[64];
	b64_sha(" C\r\nD E\r\n", 9, want);
	body_b64(m->body, true, got);
	test_assert(strcmp(want, got) == 0);
	b64_sha(" C \r\nD \t E\r\n", 12, want);
	body_b64(m->body, false, got);
	test_assert(strcmp(want, got) == 0);
	/* empty bodies: relaxed nothing, simple one CRLF */
	body_b64("", true, got);
	test_assert(
	    strcmp(got, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=") == 0);
	body_b64("", false, got);
	test_assert(
	    strcmp(got, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=") == 0);
	body_b64("\n\n", false, got);
	test_assert(
	    strcmp(got, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=") == 0);
	/* a last line without LF, l= limit */
	b64_sha("abc\r\n", 5, want);
	body_b64("abc", true, got);
	test_assert(strcmp(want, got) == 0);
	unsigned char d[32];
	dkim_body_hash("abcdef\n", 7, true, 2, d);
	char lim[64];
	test_assert(base64_encode(d, 32, lim, 64) == 0);
	b64_sha("ab", 2, want);
	test_assert(strcmp(want, lim) == 0);
	/* no empty line: all header, no body */
	dkim_msg_parse("A: b\n", 5, m);
	test_assert(m->nf == 1 && m->body_len == 0);
	/* a bare CR is kept in a header value; an embedded NUL too */
	dkim_msg_parse("A: x\ry\0z\n\n", 10, m);
	buf_reset(&b);
	test_assert(
	    dkim_canon_header(m->f[0].p, m->f[0].len, true, false, &b) == 0);
	test_assert(b.len == 9 && memcmp(b.p, "a:x\ry\0z\r\n", 9) == 0);
	free(m);
	buf_deinit(&b);
}

static void test_sign(void)
{
	test_begin("dkim keys and signing");
	char dir[] = "/tmp/youju-test-dkim-XXXXXX";
	test_assert(mkdtemp(dir) != NULL);
	char path[256];
	snprintf(path, sizeof(path), "%s/example.org.sel.key", dir);
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f = fopen(path, "w");
	test_assert(f != NULL && pk != NULL);
	test_assert(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	EVP_PKEY_free(pk);
	struct dkim_keys *k = NULL;
	char err[600];
	/* readable by others: refused */
	test_assert(chmod(path, 0644) == 0);
	test_assert(dkim_keys_load(dir, &k, err, sizeof(err)) < 0);
	test_assert(strstr(err, "chmod 600") != NULL);
	test_assert(chmod(path, 0600) == 0);
	test_assert(dkim_keys_load(dir, &k, err, sizeof(err)) == 0);
	test_assert(dkim_keys_count(k) == 1);
	test_assert(dkim_keys_have(k, "EXAMPLE.org"));
	test_assert(!dkim_keys_have(k, "example.net"));
	const char *msg = "Received: x\nFrom: A <a@Example.ORG>\nTo: b@c\n"
			  "Subject: s\n\nbody\n";
	char dom[64];
	test_assert(dkim_from_domain(msg, strlen(msg), dom, sizeof(dom)));
	test_assert(strcmp(dom, "example.org") == 0);
	test_assert(!dkim_from_domain("From: a@b.c\nFrom: d@e.f\n\n", 24, dom,
				      sizeof(dom)));
	struct buf out;
	buf_init(&out, 65536);
	test_assert(dkim_sign(k, "example.net", msg, strlen(msg), 1, &out) ==
		    0);
	test_assert(out.len == 0);
	test_assert(dkim_sign(k, "example.org", msg, strlen(msg), 1, &out) ==
		    1);
	test_assert(strncmp(out.p,
			    "DKIM-Signature: v=1; a=ed25519-sha256; "
			    "c=relaxed/relaxed;\n\td=example.org; s=sel; t=1;\n"
			    "\th=from:from:subject:to;\n",
			    100) == 0);
	test_assert(out.p[out.len - 1] == '\n');
	buf_deinit(&out);
	dkim_keys_free(&k);
	test_assert(k == NULL);
	unlink(path);
	/* a file name without a selector */
	snprintf(path, sizeof(path), "%s/nosel.key", dir);
	f = fopen(path, "w");
	fclose(f);
	test_assert(dkim_keys_load(dir, &k, err, sizeof(err)) < 0);
	unlink(path);
	test_assert(dkim_keys_load(dir, &k, err, sizeof(err)) == 0 &&
		    k == NULL);
	rmdir(dir);
	test_assert(dkim_keys_load(dir, &k, err, sizeof(err)) == 0 &&
		    k == NULL);
}

static void test_policy(void)
{
	test_begin("policy delegation protocol");
	test_assert(policysvc_spec_ok("inet:127.0.0.1:10023"));
	test_assert(policysvc_spec_ok("inet:[::1]:10023"));
	test_assert(policysvc_spec_ok("unix:/run/postgrey.sock"));
	test_assert(!policysvc_spec_ok("inet:127.0.0.1"));
	test_assert(!policysvc_spec_ok("inet:127.0.0.1:x"));
	test_assert(!policysvc_spec_ok("unix:relative"));
	test_assert(!policysvc_spec_ok("127.0.0.1:10023"));
	struct restrict_ctx c = {0};
	c.client_addr = "192.0.2.1";
	c.client_name = "unknown";
	c.helo = "h";
	c.sender = "a@b\nrecipient=evil";
	c.rcpt = "r@x";
	c.rcpt_count = 2;
	char req[4096];
	int n = policysvc_request(&c, req, sizeof(req));
	test_assert(n > 0 && req[n - 1] == '\n' && req[n - 2] == '\n');
	test_assert(strncmp(req,
			    "request=smtpd_access_policy\n"
			    "protocol_state=RCPT\n",
			    47) == 0);
	test_assert(strstr(req, "sender=a@b?recipient=evil\n") != NULL);
	test_assert(strstr(req, "\nrecipient=r@x\n") != NULL);
	test_assert(strstr(req, "\nrecipient_count=2\n") != NULL);
	test_assert(policysvc_request(&c, req, 100) < 0);
	char a[64];
	test_assert(
	    policysvc_parse_reply("action=DUNNO\n\n", 14, a, sizeof(a)) == 1);
	test_assert(strcmp(a, "DUNNO") == 0);
	test_assert(policysvc_parse_reply("action=DEFER_IF_PERMIT x\r\n", 26, a,
					  sizeof(a)) == 0);
	test_assert(policysvc_parse_reply("action=DEFER_IF_PERMIT x\r\n\r\n",
					  28, a, sizeof(a)) == 1);
	test_assert(strcmp(a, "DEFER_IF_PERMIT x") == 0);
	test_assert(policysvc_parse_reply("other=1\naction=OK\n\n", 19, a,
					  sizeof(a)) == 1);
	test_assert(policysvc_parse_reply("\n", 1, a, sizeof(a)) < 0);
	test_assert(policysvc_parse_reply("garbage\n\n", 9, a, sizeof(a)) < 0);
	test_assert(policysvc_parse_reply("", 0, a, sizeof(a)) == 0);
	/* a long action is cut to the buffer */
	char longr[200];
	memset(longr, 'x', sizeof(longr));
	memcpy(longr, "action=", 7);
	longr[198] = '\n';
	longr[199] = '\n';
	test_assert(policysvc_parse_reply(longr, 200, a, sizeof(a)) == 1);
	test_assert(strlen(a) == sizeof(a) - 1);
	/* a line too long without a newline: refused */
	static char huge[POLICYSVC_LINE_MAX + 10];
	memset(huge, 'a', sizeof(huge));
	test_assert(policysvc_parse_reply(huge, sizeof(huge), a, sizeof(a)) <
		    0);
}

static void test_junk(void)
{
	test_begin("spam verdicts");
	static const struct {
		const char *msg;
		bool junk;
	} t[] = {
	    {"X-Spam-Flag: YES\n\nb\n", true},
	    {"Subject: x\nx-spam-flag:yes\n\n", true},
	    {"X-Spam-Status: Yes, score=9.1\n\n", true},
	    {"X-Spam-Status: No, score=1.2\n\n", false},
	    {"X-Spam: Yes\n\n", true},
	    {"X-Spam: Yesterday\n\n", false},
	    {"Subject: a\n\nX-Spam-Flag: YES\n", false},
	    {"", false},
	    {"X-Spam-Flag: YES", true},
	    {"X-Spam-Flag: NO\r\n\r\n", false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		test_assert(junk_verdict(t[i].msg, strlen(t[i].msg)) ==
			    t[i].junk);
}

int main(void)
{
	test_junk();
	test_canon();
	test_sign();
	test_policy();
	return test_end();
}
