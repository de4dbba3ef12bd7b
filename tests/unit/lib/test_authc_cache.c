/* Unit tests for lib/authc_cache: the clients' copies of youju-authd's
   LOOKUP answers, against a generation file written here as youju-authd
   writes it (authd/generation.c): kept only with a TTL, the token's
   generation and a mapped file; void past the TTL, after a bump, after
   the file is replaced; bounded; the TTL line's parser. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authc.h"
#include "authc_cache.h"
#include "buf.h"
#include "test.h"

static char sock[256], gen[300];

static void gen_write(uint64_t g)
{
	unsigned char b[AUTHC_GEN_SIZE];
	memcpy(b, AUTHC_GEN_MAGIC, AUTHC_GEN_MAGIC_LEN);
	memcpy(b + AUTHC_GEN_OFFSET, &g, sizeof(g));
	int fd = open(gen, O_RDWR | O_CREAT, 0640);
	if (fd < 0 || pwrite(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		abort();
	close(fd);
}

/* The answer kept for key: 1 hit (into out), 0 miss (token into tok). */
static int get(const char *key, char *out, size_t outsz,
	       struct authc_cache_token *tok)
{
	struct buf b;
	buf_init(&b, AUTHC_CACHE_BODY_MAX);
	int hit = authc_cache_get(sock, key, strlen(key), &b, tok) ? 1 : 0;
	if (hit)
		snprintf(out, outsz, "%s", buf_cstr(&b));
	buf_deinit(&b);
	return hit;
}

static void put(const char *key, const struct authc_cache_token *tok,
		uint64_t ttl, const char *body)
{
	authc_cache_put(sock, tok, key, strlen(key), ttl, body, strlen(body));
}

static long ttl_of(const char *s, uint64_t *ttl, bool *bad)
{
	return authc_reply_ttl(s, strlen(s), ttl, bad);
}

int main(void)
{
	char dir[] = "/tmp/test_authc_cache.XXXXXX";
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(sock, sizeof(sock), "%s/socket", dir);
	snprintf(gen, sizeof(gen), "%s/socket%s", dir, AUTHC_GEN_SUFFIX);
	const char *reply = "TYPE=mailbox\nDOMAIN_TRANSPORT=\nADDRESS=a@b\n.\n";
	char out[256];
	struct authc_cache_token tok;

	test_begin("no generation file: nothing kept");
	test_assert(get("rcpt a@b", out, sizeof(out), &tok) == 0 && !tok.ok);
	put("rcpt a@b", &tok, 5000, reply);
	test_assert(get("rcpt a@b", out, sizeof(out), &tok) == 0);
	test_assert(authc_cache_count() == 0);

	test_begin("kept byte for byte, while the TTL and generation hold");
	gen_write(7);
	test_assert(get("rcpt a@b", out, sizeof(out), &tok) == 0 && tok.ok &&
		    tok.gen == 7);
	put("rcpt a@b", &tok, 5000, reply);
	test_assert(get("rcpt a@b", out, sizeof(out), &tok) == 1 &&
		    strcmp(out, reply) == 0);
	test_assert(get("rcpt A@b", out, sizeof(out), &tok) == 0);
	test_assert(get("domain a@b", out, sizeof(out), &tok) == 0);
	put("rcpt n@b", &tok, 2000, "FAIL\n");
	test_assert(get("rcpt n@b", out, sizeof(out), &tok) == 1 &&
		    strcmp(out, "FAIL\n") == 0);

	test_begin("a bump of the generation voids every entry");
	gen_write(8);
	test_assert(get("rcpt a@b", out, sizeof(out), &tok) == 0);
	test_assert(get("rcpt n@b", out, sizeof(out), &tok) == 0);
	test_assert(tok.gen == 8);

	test_begin("an answer asked before a bump is not kept");
	test_assert(get("rcpt a@b", out, sizeof(out), &tok) == 0);
	gen_write(9);
	put("rcpt a@b", &tok, 5000, reply);
	test_assert(get("rcpt a@b", out, sizeof(out), &tok) == 0);

	test_begin("TTL 0, an empty or too big body: not kept");
	put("rcpt z@b", &tok, 0, reply);
	test_assert(get("rcpt z@b", out, sizeof(out), &tok) == 0);
	put("rcpt z@b", &tok, 5000, "");
	test_assert(get("rcpt z@b", out, sizeof(out), &tok) == 0);
	char *big = malloc(AUTHC_CACHE_BODY_MAX + 2);
	memset(big, 'x', AUTHC_CACHE_BODY_MAX + 1);
	big[AUTHC_CACHE_BODY_MAX + 1] = '\0';
	put("rcpt z@b", &tok, 5000, big);
	test_assert(get("rcpt z@b", out, sizeof(out), &tok) == 0);
	big[AUTHC_CACHE_BODY_MAX] = '\0'; /* the maximum is kept */
	put("rcpt z@b", &tok, 5000, big);
	struct buf b;
	buf_init(&b, AUTHC_CACHE_BODY_MAX);
	test_assert(authc_cache_get(sock, "rcpt z@b", 8, &b, &tok) &&
		    b.len == AUTHC_CACHE_BODY_MAX);
	buf_deinit(&b);
	free(big);

	test_begin("past its TTL: void");
	test_assert(get("rcpt t@b", out, sizeof(out), &tok) == 0);
	tok.t_ms -= 1001;
	put("rcpt t@b", &tok, 1000, reply);
	test_assert(get("rcpt t@b", out, sizeof(out), &tok) == 0);
	tok.t_ms -= 500;
	put("rcpt t@b", &tok, 1000, reply);
	test_assert(get("rcpt t@b", out, sizeof(out), &tok) == 1);

	test_begin("another socket: not from this cache");
	char other[300];
	snprintf(other, sizeof(other), "%s/other", dir);
	struct buf o;
	buf_init(&o, 1024);
	struct authc_cache_token tok2;
	test_assert(!authc_cache_get(other, "rcpt t@b", 8, &o, &tok2));
	test_assert(!tok2.ok);
	buf_deinit(&o);
	test_assert(get("rcpt t@b", out, sizeof(out), &tok) == 0);

	test_begin("the file replaced: mapped again, entries dropped");
	test_assert(get("rcpt r@b", out, sizeof(out), &tok) == 0 && tok.ok);
	put("rcpt r@b", &tok, 5000, reply);
	test_assert(get("rcpt r@b", out, sizeof(out), &tok) == 1);
	unlink(gen);
	gen_write(9); /* the same number in a new file */
	test_assert(get("rcpt x@b", out, sizeof(out), &tok) == 0 && tok.ok);
	test_assert(authc_cache_count() == 0);
	test_assert(get("rcpt r@b", out, sizeof(out), &tok) == 0);

	test_begin("bounded: AUTHC_CACHE_MAX entries at most");
	for (int i = 0; i < AUTHC_CACHE_MAX + 100; i++) {
		char k[64];
		snprintf(k, sizeof(k), "rcpt u%d@b", i);
		test_assert(get(k, out, sizeof(out), &tok) == 0);
		put(k, &tok, 60000, reply);
	}
	test_assert(authc_cache_count() == AUTHC_CACHE_MAX);
	char k[64];
	snprintf(k, sizeof(k), "rcpt u%d@b", AUTHC_CACHE_MAX + 99);
	test_assert(get(k, out, sizeof(out), &tok) == 1);

	test_begin("the TTL line");
	uint64_t t;
	bool bad;
	test_assert(ttl_of("TTL=5000\nFAIL\n", &t, &bad) == 9 && t == 5000);
	test_assert(ttl_of("TTL=0\n", &t, &bad) == 6 && t == 0);
	test_assert(ttl_of("TTL=4294967295\n", &t, &bad) == 15 &&
		    t == 4294967295u);
	test_assert(ttl_of("FAIL\n", &t, &bad) == 0 && t == 0);
	test_assert(ttl_of("DOMAIN=x\n.\n", &t, &bad) == 0);
	test_assert(ttl_of("", &t, &bad) == -1 && !bad);
	test_assert(ttl_of("TT", &t, &bad) == -1 && !bad);
	test_assert(ttl_of("TTL=12", &t, &bad) == -1 && !bad);
	test_assert(ttl_of("TTL=\n", &t, &bad) == -1 && bad);
	test_assert(ttl_of("TTL=1x\n", &t, &bad) == -1 && bad);
	test_assert(ttl_of("TTL=1\r\n", &t, &bad) == -1 && bad);
	test_assert(ttl_of("TTL=12345678901\n", &t, &bad) == -1 && bad);
	test_assert(authc_reply_ttl("TTL=1\0\n", 7, &t, &bad) == -1 && bad);
	/* a connection closed before any byte: an empty buffer's NULL */
	test_assert(authc_reply_ttl(NULL, 0, &t, &bad) == -1 && !bad);
	test_assert(!authc_reply_framed(NULL, 0));

	test_begin("framing after the TTL line");
	test_assert(authc_reply_framed("TTL=5\nFAIL\n", 11));
	test_assert(authc_reply_framed("TTL=5\nA=1\n.\n", 12));
	test_assert(!authc_reply_framed("TTL=5\nA=1\n", 10));
	test_assert(!authc_reply_framed("TTL=5", 5));
	test_assert(authc_reply_framed("FAIL\n", 5));

	authc_cache_reset();
	unlink(gen);
	rmdir(dir);
	return test_end();
}
