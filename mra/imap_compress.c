/*
 * COMPRESS=DEFLATE (RFC 4978) on one connection, with zlib, and the
 * process-wide sweep that puts quiet connections' zlib state to sleep so
 * an idle compressed session costs little more than an uncompressed one
 * (see imap_compress.h for the numbers).
 *
 * Why sleeping is exact.  Output: every burst of responses ends with
 * Z_SYNC_FLUSH, which leaves the raw stream byte-aligned outside any
 * block; a new raw deflater emits blocks that only refer back into what
 * it emitted itself, which the client's inflater has at the same
 * distances, so ending the deflater only costs history (RFC 4978 §4 lets
 * a compressor forget its dictionary at any time).  Input: the client's
 * compressor may refer back 32 KiB into what it sent, so the inflater's
 * window is kept; an inflater that has just finished a block (zlib's
 * data_type bit 128: waiting for the next block header) holds, besides
 * the window, only 0-7 unread bits, the top bits of the last byte it
 * took.  inflateSetDictionary() and inflatePrime() on a fresh raw
 * inflater restore both, so the client may even flush with
 * Z_PARTIAL_FLUSH (bits left over) and the session continues exactly.
 */
#include "imap_compress.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <zlib.h>

#include "ev.h"
#include "imap_sess.h"
#include "mra.h"
#include "xalloc.h"

/* a saved window above this is kept compressed */
#define IMAP_COMPRESS_DICT_RAW_MAX 1024
/* a piece of zlib output at a time */
#define IMAP_COMPRESS_CHUNK 16384

struct imap_compress {
	struct buf raw_in, raw_out;
	z_stream d, i;
	bool d_on, i_on;	 /* zlib state allocated */
	bool d_more;		 /* deflate() has output left */
	bool i_ended;		 /* the client's stream ended (BFINAL) */
	unsigned char last_byte; /* last compressed byte inflate() took */
	/* asleep inflater: its window (compressed when dict_zlen > 0) and
	   the unread bits of last_byte */
	unsigned char *dict;
	size_t dict_len, dict_zlen;
	int i_bits;
	bool i_asleep;
	size_t zbytes; /* held by zlib through imap_compress_alloc */
	uint64_t last_used;
	struct ev_loop *loop;
	struct imap_compress *prev, *next; /* the sweep's list */
};

static struct imap_compress *imap_compress_all;
static struct ev_timer *imap_compress_timer;
static bool imap_compress_timer_on;

/*
 * zlib's allocations, counted per connection (footprint, tests).  The
 * large ones (windows, hash tables: 4 KiB and more) are mappings of their
 * own, so that a connection put to sleep gives its pages back to the
 * kernel at once: from the heap they would leave holes that small
 * allocations of other sessions then keep resident.
 */
#define IMAP_COMPRESS_MMAP_MIN 4096

static void *imap_compress_alloc(void *opaque, unsigned items, unsigned size)
{
	struct imap_compress *z = opaque;
	size_t n = (size_t)items * size + 16; /* the size, kept aligned */
	size_t *p;
	if (n >= IMAP_COMPRESS_MMAP_MIN) {
		void *m = mmap(NULL, n, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p = m == MAP_FAILED ? NULL : m;
	} else {
		p = malloc(n);
	}
	if (p == NULL)
		return Z_NULL;
	p[0] = n;
	z->zbytes += n;
	return (char *)p + 16;
}

static void imap_compress_release(void *opaque, void *ptr)
{
	struct imap_compress *z = opaque;
	size_t *p = (size_t *)((char *)ptr - 16);
	size_t n = p[0];
	z->zbytes -= n;
	if (n >= IMAP_COMPRESS_MMAP_MIN)
		(void)munmap(p, n);
	else
		free(p);
}

static void imap_compress_sweep(struct ev_timer *t, void *ctx);

/* Marks z busy now, and makes sure the sweep will look at it. */
static void imap_compress_touch(struct imap_compress *z)
{
	if (z->loop == NULL)
		return;
	z->last_used = ev_now_ms(z->loop);
	if (imap_compress_timer == NULL)
		imap_compress_timer = ev_timer_new(
		    z->loop, IMAP_COMPRESS_SLEEP_MS, imap_compress_sweep, NULL);
	else if (!imap_compress_timer_on)
		ev_timer_set(imap_compress_timer, IMAP_COMPRESS_SLEEP_MS);
	imap_compress_timer_on = imap_compress_timer != NULL;
}

static bool imap_compress_awake(const struct imap_compress *z)
{
	return z->d_on || (z->i_on && !z->i_ended) || z->raw_in.p != NULL ||
	       z->raw_out.p != NULL;
}

static void imap_compress_sweep(struct ev_timer *t, void *ctx)
{
	(void)ctx;
	imap_compress_timer_on = false;
	bool slept = false, awake = false;
	for (struct imap_compress *z = imap_compress_all; z != NULL;
	     z = z->next) {
		if (!imap_compress_awake(z))
			continue;
		if (ev_now_ms(z->loop) - z->last_used >=
			IMAP_COMPRESS_SLEEP_MS &&
		    imap_compress_sleep(z) == 0)
			slept = true;
		else
			awake = true;
	}
	/* give the freed zlib blocks back to the kernel, so that idle
	   sessions really cost what they hold */
	if (slept)
		(void)malloc_trim(0);
	if (awake) {
		ev_timer_set(t, IMAP_COMPRESS_SLEEP_MS);
		imap_compress_timer_on = true;
	}
}

struct imap_compress *imap_compress_new(struct ev_loop *loop)
{
	struct imap_compress *z = xcalloc(1, sizeof *z);
	buf_init(&z->raw_in, IMAP_COMPRESS_IN_MAX);
	/* deflate stops adding at IMAP_COMPRESS_OUT_HIGH; one chunk more */
	buf_init(&z->raw_out, IMAP_COMPRESS_OUT_HIGH + IMAP_COMPRESS_CHUNK);
	z->loop = loop;
	if (loop != NULL) {
		z->next = imap_compress_all;
		if (z->next != NULL)
			z->next->prev = z;
		imap_compress_all = z;
	}
	return z;
}

void imap_compress_free(struct imap_compress **zp)
{
	struct imap_compress *z = *zp;
	if (z == NULL)
		return;
	*zp = NULL;
	if (z->d_on)
		(void)deflateEnd(&z->d);
	if (z->i_on)
		(void)inflateEnd(&z->i);
	free(z->dict);
	buf_deinit(&z->raw_in);
	buf_deinit(&z->raw_out);
	if (z->loop != NULL) {
		if (z->prev != NULL)
			z->prev->next = z->next;
		else
			imap_compress_all = z->next;
		if (z->next != NULL)
			z->next->prev = z->prev;
	}
	free(z);
}

struct buf *imap_compress_raw_in(struct imap_compress *z)
{
	imap_compress_touch(z);
	return &z->raw_in;
}

struct buf *imap_compress_raw_out(struct imap_compress *z)
{
	return &z->raw_out;
}

bool imap_compress_in_pending(const struct imap_compress *z)
{
	return z->raw_in.len > 0 && !z->i_ended;
}

size_t imap_compress_out_len(const struct imap_compress *z)
{
	return z->raw_out.len + (z->d_more ? 1 : 0);
}

/* A fresh raw inflater, with the window and bits of a sleeping one. */
static int imap_compress_inflate_wake(struct imap_compress *z)
{
	memset(&z->i, 0, sizeof z->i);
	z->i.zalloc = imap_compress_alloc;
	z->i.zfree = imap_compress_release;
	z->i.opaque = z;
	if (inflateInit2(&z->i, -15) != Z_OK)
		return -1;
	z->i_on = true;
	if (!z->i_asleep)
		return 0;
	int r = 0;
	unsigned char *win = z->dict;
	if (z->dict_zlen > 0) {
		win = malloc(z->dict_len);
		uLongf n = z->dict_len;
		if (win == NULL ||
		    uncompress(win, &n, z->dict, z->dict_zlen) != Z_OK ||
		    n != z->dict_len)
			r = -1;
	}
	if (r == 0 && z->dict_len > 0 &&
	    inflateSetDictionary(&z->i, win, (uInt)z->dict_len) != Z_OK)
		r = -1;
	if (r == 0 && z->i_bits > 0 &&
	    inflatePrime(&z->i, z->i_bits, z->last_byte >> (8 - z->i_bits)) !=
		Z_OK)
		r = -1;
	if (win != z->dict)
		free(win);
	free(z->dict);
	z->dict = NULL;
	z->dict_len = z->dict_zlen = 0;
	z->i_asleep = false;
	return r;
}

int imap_compress_inflate(struct imap_compress *z, struct buf *in)
{
	if (z->raw_in.len == 0 || buf_room(in) == 0)
		return 0;
	if (z->i_ended) {
		errno = EPROTO;
		return -1;
	}
	imap_compress_touch(z);
	if (!z->i_on && imap_compress_inflate_wake(z) < 0) {
		errno = ENOMEM;
		return -1;
	}
	unsigned char tmp[IMAP_COMPRESS_CHUNK];
	int progress = 0;
	while (z->raw_in.len > 0 && buf_room(in) > 0) {
		size_t room = buf_room(in);
		z->i.next_in = (unsigned char *)z->raw_in.p;
		z->i.avail_in = (uInt)z->raw_in.len;
		z->i.next_out = tmp;
		z->i.avail_out = (uInt)(room < sizeof tmp ? room : sizeof tmp);
		uInt out0 = z->i.avail_out;
		int r = inflate(&z->i, Z_SYNC_FLUSH);
		size_t took = z->raw_in.len - z->i.avail_in;
		size_t made = out0 - z->i.avail_out;
		if (took > 0)
			z->last_byte = (unsigned char)z->raw_in.p[took - 1];
		buf_consume(&z->raw_in, took);
		if (made > 0 && buf_append(in, tmp, made) < 0)
			return -1; /* cannot happen: made <= room */
		if (took > 0 || made > 0)
			progress = 1;
		if (r == Z_STREAM_END) {
			/* a final block: nothing may follow (RFC 4978 §3
			   has no way to end compression) */
			z->i_ended = true;
			break;
		}
		if (r == Z_BUF_ERROR)
			break;
		if (r != Z_OK) {
			errno = r == Z_MEM_ERROR ? ENOMEM : EPROTO;
			return -1;
		}
	}
	return progress;
}

int imap_compress_deflate(struct imap_compress *z, struct buf *out)
{
	if (out->len == 0 && !z->d_more)
		return 0;
	imap_compress_touch(z);
	if (!z->d_on) {
		memset(&z->d, 0, sizeof z->d);
		z->d.zalloc = imap_compress_alloc;
		z->d.zfree = imap_compress_release;
		z->d.opaque = z;
		if (deflateInit2(&z->d, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
				 -IMAP_COMPRESS_WBITS, IMAP_COMPRESS_MEMLEVEL,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return -1;
		z->d_on = true;
	}
	unsigned char tmp[IMAP_COMPRESS_CHUNK];
	int progress = 0;
	while ((out->len > 0 || z->d_more) &&
	       z->raw_out.len < IMAP_COMPRESS_OUT_HIGH) {
		z->d.next_in = (unsigned char *)out->p;
		z->d.avail_in =
		    (uInt)(out->len < UINT32_MAX ? out->len : UINT32_MAX);
		size_t in0 = z->d.avail_in;
		z->d.next_out = tmp;
		z->d.avail_out = sizeof tmp;
		int r = deflate(&z->d, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR)
			return -1;
		size_t took = in0 - z->d.avail_in;
		size_t made = sizeof tmp - z->d.avail_out;
		buf_consume(out, took);
		if (made > 0 && buf_append(&z->raw_out, tmp, made) < 0)
			return -1; /* cannot happen: below the high mark */
		/* a full output piece may hide more (zlib.h, deflate()) */
		z->d_more = z->d.avail_out == 0;
		if (took > 0 || made > 0)
			progress = 1;
		else
			break;
	}
	return progress;
}

int imap_compress_sleep(struct imap_compress *z)
{
	if (z->raw_out.len > 0 || z->d_more)
		return -1;
	if (z->d_on) {
		(void)deflateEnd(&z->d);
		z->d_on = false;
	}
	buf_deinit(&z->raw_out);
	/* the inflater only between blocks (bit 128 of data_type): a client
	   flushing with Z_PARTIAL_FLUSH leaves it inside the empty fixed
	   block that flush ends with, a state that cannot be rebuilt */
	if (z->raw_in.len > 0 ||
	    (z->i_on && !z->i_ended && !(z->i.data_type & 128)))
		return -1;
	if (z->i_on && !z->i_ended) {
		uInt n = 0;
		if (inflateGetDictionary(&z->i, NULL, &n) != Z_OK)
			return -1;
		unsigned char *win = n > 0 ? malloc(n) : NULL;
		if (n > 0 && (win == NULL ||
			      inflateGetDictionary(&z->i, win, &n) != Z_OK)) {
			free(win);
			return -1;
		}
		z->dict_len = n;
		z->dict_zlen = 0;
		z->i_bits = z->i.data_type & 7;
		if (n > IMAP_COMPRESS_DICT_RAW_MAX) {
			uLongf zn = compressBound(n);
			unsigned char *c = malloc(zn);
			if (c != NULL && compress2(c, &zn, win, n, 1) == Z_OK &&
			    zn < n) {
				free(win);
				win = realloc(c, zn);
				if (win == NULL)
					win = c;
				z->dict_zlen = zn;
			} else {
				free(c);
			}
		}
		z->dict = win;
		(void)inflateEnd(&z->i);
		z->i_on = false;
		z->i_asleep = true;
	}
	buf_deinit(&z->raw_in);
	return 0;
}

size_t imap_compress_footprint(const struct imap_compress *z)
{
	return sizeof *z + z->raw_in.cap + z->raw_out.cap + z->zbytes +
	       (z->dict_zlen > 0 ? z->dict_zlen : z->dict_len);
}

void imap_compress_cmd(struct imap_ctx *x)
{
	struct imap_arg *a = x->cmd->args;
	if (x->cmd->nargs != 1 || a[0].type != IMAP_ARG_ATOM) {
		imap_tagged(x->c, x->cmd->tag, "BAD Invalid arguments.");
		return;
	}
	if (x->c->z != NULL || x->c->compress_pending) {
		imap_tagged(x->c, x->cmd->tag,
			    "NO [COMPRESSIONACTIVE] Compression already "
			    "active.");
		return;
	}
	if (strcasecmp(a[0].s, "DEFLATE") != 0) {
		imap_tagged(x->c, x->cmd->tag,
			    "BAD Unknown compression mechanism.");
		return;
	}
	imap_tagged(x->c, x->cmd->tag, "OK Begin compression.");
	mra_conn_compress(x->c);
}
