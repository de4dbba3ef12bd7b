/*
 * COMPRESS=DEFLATE's stream handling (mra/imap_compress): responses
 * deflated by us inflate with a plain raw zlib inflater, sync-flushed
 * per burst; commands deflated by a client (sync or partial flushes,
 * back-references across commands) inflate to the same bytes, also
 * across sleeps; the idle footprint is small; an empty stream, a
 * garbled one, a final block followed by more, and a bomb bounded by the
 * input buffer.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../../mra/imap_compress.h"
#include "test.h"

/* The client side: a raw deflater and inflater. */
struct peer {
	z_stream d, i;
};

static void peer_init(struct peer *p)
{
	memset(p, 0, sizeof *p);
	test_assert(deflateInit2(&p->d, 6, Z_DEFLATED, -15, 8,
				 Z_DEFAULT_STRATEGY) == Z_OK);
	test_assert(inflateInit2(&p->i, -15) == Z_OK);
}

static void peer_deinit(struct peer *p)
{
	deflateEnd(&p->d);
	inflateEnd(&p->i);
}

/* Deflates s with flush into the server's raw input. */
static void peer_send(struct peer *p, struct imap_compress *z, const void *s,
		      size_t n, int flush)
{
	unsigned char out[8192];
	p->d.next_in = (unsigned char *)s;
	p->d.avail_in = (uInt)n;
	do {
		p->d.next_out = out;
		p->d.avail_out = sizeof out;
		test_assert(deflate(&p->d, flush) != Z_STREAM_ERROR);
		size_t made = sizeof out - p->d.avail_out;
		test_assert(buf_append(imap_compress_raw_in(z), out, made) ==
			    0);
	} while (p->d.avail_out == 0);
}

/* Inflates all of the server's raw output; returns the bytes. */
static void peer_recv(struct peer *p, struct imap_compress *z, struct buf *got)
{
	struct buf *raw = imap_compress_raw_out(z);
	unsigned char out[8192];
	p->i.next_in = (unsigned char *)raw->p;
	p->i.avail_in = (uInt)raw->len;
	do {
		p->i.next_out = out;
		p->i.avail_out = sizeof out;
		int r = inflate(&p->i, Z_SYNC_FLUSH);
		test_assert(r == Z_OK || r == Z_BUF_ERROR);
		test_assert(buf_append(got, out, sizeof out - p->i.avail_out) ==
			    0);
	} while (p->i.avail_out == 0);
	test_assert(p->i.avail_in == 0);
	buf_reset(raw);
}

/* Server: deflate a response, as conn.c does, until all is out. */
static void server_send(struct imap_compress *z, const char *s)
{
	struct buf out;
	buf_init(&out, 1 << 20);
	test_assert(buf_append(&out, s, strlen(s)) == 0);
	while (out.len > 0 || imap_compress_out_len(z) > 0) {
		test_assert(imap_compress_deflate(z, &out) >= 0);
		if (imap_compress_out_len(z) > 0 &&
		    imap_compress_raw_out(z)->len == 0)
			continue;
		break;
	}
	test_assert(out.len == 0);
	buf_deinit(&out);
}

static void test_roundtrip(void)
{
	test_begin("roundtrip");
	struct imap_compress *z = imap_compress_new(NULL);
	struct peer p;
	peer_init(&p);
	struct buf in, got;
	buf_init(&in, 65536);
	buf_init(&got, 4 << 20);
	/* nothing in, nothing out */
	test_assert(imap_compress_inflate(z, &in) == 0);
	test_assert(imap_compress_out_len(z) == 0);
	static const char *cmds[] = {
	    "a1 SELECT INBOX\r\n",
	    "a2 UID FETCH 1:* (FLAGS)\r\n",
	    "a3 UID FETCH 1:* (FLAGS)\r\n", /* refers back to a2 */
	    "a4 NOOP\r\n",
	};
	for (size_t k = 0; k < 4; k++) {
		/* the client flushes with sync or partial flush */
		peer_send(&p, z, cmds[k], strlen(cmds[k]),
			  k % 2 ? Z_PARTIAL_FLUSH : Z_SYNC_FLUSH);
		test_assert(imap_compress_inflate(z, &in) == 1);
		test_assert(in.len == strlen(cmds[k]) &&
			    memcmp(in.p, cmds[k], in.len) == 0);
		buf_reset(&in);
		server_send(z, "* 1 FETCH (FLAGS (\\Seen))\r\na2 OK done\r\n");
		peer_recv(&p, z, &got);
		test_assert(strcmp(buf_cstr(&got),
				   "* 1 FETCH (FLAGS (\\Seen))\r\n"
				   "a2 OK done\r\n") == 0);
		buf_reset(&got);
		/* asleep between commands: the session goes on exactly;
		   after a partial flush only the deflater sleeps */
		if (k % 2 == 0) {
			test_assert(imap_compress_sleep(z) == 0);
			test_assert(imap_compress_footprint(z) < 1024);
		} else {
			test_assert(imap_compress_sleep(z) == -1);
			test_assert(imap_compress_footprint(z) < 48 * 1024);
		}
	}
	/* a big response in pieces: raw output stays bounded */
	struct buf big;
	buf_init(&big, 4 << 20);
	for (int k = 0; k < 40000; k++) {
		char line[64];
		int n = snprintf(line, sizeof line, "* %d FETCH (UID %d)\r\n",
				 k + 1, k * 7 + 3);
		test_assert(buf_append(&big, line, (size_t)n) == 0);
	}
	size_t want = big.len;
	struct buf copy;
	buf_init(&copy, 4 << 20);
	test_assert(buf_append(&copy, big.p, big.len) == 0);
	while (big.len > 0 || imap_compress_out_len(z) > 0) {
		test_assert(imap_compress_deflate(z, &big) >= 0);
		test_assert(imap_compress_raw_out(z)->len <=
			    IMAP_COMPRESS_OUT_HIGH + 16384);
		peer_recv(&p, z, &got);
	}
	test_assert(got.len == want && memcmp(got.p, copy.p, want) == 0);
	buf_deinit(&copy);
	buf_deinit(&big);
	buf_deinit(&in);
	buf_deinit(&got);
	peer_deinit(&p);
	imap_compress_free(&z);
	test_assert(z == NULL);
	imap_compress_free(&z);
}

/* A client that sent 32 KiB and more: the window is kept (compressed)
   and a back-reference 30 KiB back still resolves after a sleep. */
static void test_long_window(void)
{
	test_begin("long window");
	struct imap_compress *z = imap_compress_new(NULL);
	struct peer p;
	peer_init(&p);
	struct buf in;
	buf_init(&in, 65536);
	char text[40000];
	for (size_t k = 0; k < sizeof text; k++)
		text[k] = (char)('a' + (k * 7 + k / 13) % 26);
	peer_send(&p, z, text, sizeof text, Z_SYNC_FLUSH);
	while (imap_compress_in_pending(z))
		test_assert(imap_compress_inflate(z, &in) == 1);
	test_assert(in.len == sizeof text &&
		    memcmp(in.p, text, sizeof text) == 0);
	buf_reset(&in);
	test_assert(imap_compress_sleep(z) == 0);
	test_assert(imap_compress_footprint(z) < 16384);
	/* repeats text from 30000 bytes back */
	peer_send(&p, z, text + 10000, 2000, Z_SYNC_FLUSH);
	test_assert(imap_compress_inflate(z, &in) == 1);
	test_assert(in.len == 2000 && memcmp(in.p, text + 10000, 2000) == 0);
	buf_deinit(&in);
	peer_deinit(&p);
	imap_compress_free(&z);
}

static void test_bad_streams(void)
{
	test_begin("bad streams");
	struct buf in;
	buf_init(&in, 65536);
	/* garbage: block type 3 is invalid */
	struct imap_compress *z = imap_compress_new(NULL);
	test_assert(buf_append(imap_compress_raw_in(z), "\xff\xff\xff", 3) ==
		    0);
	test_assert(imap_compress_inflate(z, &in) == -1);
	imap_compress_free(&z);
	/* a final block, then more: refused */
	z = imap_compress_new(NULL);
	struct peer p;
	peer_init(&p);
	peer_send(&p, z, "a NOOP\r\n", 8, Z_FINISH);
	test_assert(buf_append(imap_compress_raw_in(z), "\x00", 1) == 0);
	test_assert(imap_compress_inflate(z, &in) == 1);
	test_assert(in.len == 8);
	test_assert(imap_compress_inflate(z, &in) == -1);
	peer_deinit(&p);
	imap_compress_free(&z);
	/* a bomb: 10 MB of zeros inflate only as far as `in` has room, and
	   the raw input buffer refuses more than its maximum */
	z = imap_compress_new(NULL);
	peer_init(&p);
	static char zeros[1 << 20];
	buf_reset(&in);
	for (int k = 0; k < 10; k++)
		peer_send(&p, z, zeros, sizeof zeros, Z_SYNC_FLUSH);
	test_assert(imap_compress_raw_in(z)->len <= IMAP_COMPRESS_IN_MAX);
	test_assert(imap_compress_inflate(z, &in) == 1);
	test_assert(in.len == 65536);
	test_assert(imap_compress_inflate(z, &in) == 0);
	/* not at a block boundary with input waiting: cannot sleep */
	test_assert(imap_compress_sleep(z) == -1);
	peer_deinit(&p);
	imap_compress_free(&z);
	buf_deinit(&in);
}

int main(void)
{
	test_roundtrip();
	test_long_window();
	test_bad_streams();
	return test_end();
}
