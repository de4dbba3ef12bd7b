/*
 * Eight MD5-crypt evaluations in the eight 32-bit lanes of one vector.
 *
 * MD5 is RFC 1321: 64 steps over a 16-word block, four 32-bit state words.
 * Its steps are sequential, but eight unrelated messages can go through
 * them side by side, one per lane, for about the price of one: the lane
 * type below is a GCC vector of eight uint32_t, which becomes one AVX2
 * register in the functions compiled with target("avx2") and with
 * AVX-512VL added, and two SSE2 registers (or plain words on other CPUs)
 * in the baseline copy.  All copies come from the same always-inline
 * body, so they cannot disagree.
 *
 * MD5-crypt (libxcrypt's crypt(5), from FreeBSD): with P the password, S
 * the salt (at most 8 characters),
 *   A = MD5(P S P)
 *   D = MD5(P "$1$" S, then len(P) bytes of A repeated, then for each bit
 *       of len(P) from the lowest up: a NUL byte if the bit is 1, else P[0])
 *   1,000 rounds i = 0..999: D = MD5((i odd ? P : D) (i%3 ? S : "")
 *                                    (i%7 ? P : "") (i odd ? D : P))
 * and the output is "$1$" S "$" and D's bytes in crypt's base-64 in the
 * order (0,6,12) (1,7,13) (2,8,14) (3,9,15) (4,10,5) (11).
 *
 * Lanes of different password or salt lengths need different numbers of
 * 64-byte blocks in a round (a 12-byte password fits one, a 30-byte one
 * needs two in the rounds with i%7 != 0).  We build each lane's padded
 * message per round in its own buffer and run as many block steps as the
 * longest lane needs; a lane whose message has ended keeps its state
 * through the extra steps by a mask (state = new & m | old & ~m).  That
 * costs a wasted compression for the short lanes only in rounds where some
 * lane is longer, and needs no grouping by length in the caller: a batch
 * of typical passwords (under ~20 bytes) is one block for every lane in
 * every round.
 */
#include "md5crypt_x8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define LANES	 MD5CRYPT_X8_LANES
#define SALT_MAX 8
/* The longest message: the second digest's P "$1$" S A-bytes bits, or a
   round's P S P D; plus padding, in whole blocks. */
#define MSG_MAX	   (2 * MD5CRYPT_X8_PASSWORD_MAX + 3 + SALT_MAX + 16 + 9 + 64 + 63)
#define BLOCKS_MAX (MSG_MAX / 64)
#define BUF_SIZE   (BLOCKS_MAX * 64)

typedef uint32_t lane_v __attribute__((vector_size(4 * LANES)));

#define AI static inline __attribute__((always_inline))

static const char b64[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* RFC 1321 §3.4: T[i] = floor(2^32 * |sin(i + 1)|) */
static const uint32_t md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
    0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
    0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
    0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
    0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* One pair's inputs, checked. */
struct lane_in {
	const char *pw;
	size_t plen;
	const char *salt;
	size_t slen;
};

/*
 * The eight shapes of a round's message, by (i odd) | (i%3 != 0) << 1 |
 * (i%7 != 0) << 2.  For each shape and lane the password and salt bytes
 * and the padding sit in a template built once per batch; a round only
 * writes the previous digest into its place (doff) and reads the blocks.
 */
#define SHAPES 8

/* Working memory of one batch (~80 KiB: on the heap, not a worker's
   stack).  msg[l] / nblocks[l]: what md5_lanes() reads; dst[l]: where it
   writes lane l's digest. */
/* One step of putting the previous digest into a round's message: word w
   (of the whole message) of the lanes in mask gets digest word i, shifted
   into place (hi: the part that spills into the next word). */
struct insert {
	lane_v mask;
	unsigned w, i;
	bool hi;
};

/* At most: 8 lanes x 4 digest words x (lo, hi). */
#define INSERTS_MAX (LANES * 8)

/* A round shape in vector form: its blocks word by word, all lanes side
   by side (w->tv, digest bytes zero), and the steps that put the digest
   in. */
struct shape {
	size_t nblocks;	 /* the longest lane's */
	bool ragged;	 /* some lane has fewer blocks */
	lane_v shl, shr; /* per lane: 8 r and 31 - 8 r, r = doff % 4 */
	struct insert ins[INSERTS_MAX];
	size_t nins;
};

struct work {
	uint8_t tpl[SHAPES][LANES][BUF_SIZE];
	size_t tpl_nblocks[SHAPES][LANES];
	size_t doff[SHAPES][LANES];
	uint8_t buf[LANES][BUF_SIZE];
	uint8_t digest[LANES][16];
	const uint8_t *msg[LANES];
	size_t nblocks[LANES];
	uint8_t *dst[LANES];
	struct shape shape[SHAPES];
	/* tv[k]: shape k's blocks, nblocks x 16 words, in tv_all (its own
	   allocation, sized by the longest message) */
	lane_v *tv[SHAPES];
	lane_v *tv_all;
	size_t tv_words;
};

static bool use_generic, use_avx2;

static bool is_salt_char(char c)
{
	return c != '\0' && strchr(b64, c) != NULL;
}

/* Parses a setting into the salt libxcrypt uses.  Returns 0 or -1. */
static int parse_setting(const char *setting, const char **salt_r,
			 size_t *slen_r)
{
	size_t n;

	if (setting == NULL || strncmp(setting, "$1$", 3) != 0)
		return -1;
	/* libxcrypt refuses a setting with a control, space or non-ASCII
	   byte, or one of "!*:;\\", anywhere in it (past the salt too) */
	for (const char *p = setting; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("!*:;\\", *p) != NULL)
			return -1;
	setting += 3;
	n = strcspn(setting, "$");
	for (size_t i = 0; i < n; i++)
		if (!is_salt_char(setting[i]))
			return -1;
	*salt_r = setting;
	*slen_r = n > SALT_MAX ? SALT_MAX : n;
	return 0;
}

bool md5crypt_x8_accepts(const char *password, const char *setting)
{
	const char *salt;
	size_t slen;

	return password != NULL &&
	       strlen(password) <= MD5CRYPT_X8_PASSWORD_MAX &&
	       parse_setting(setting, &salt, &slen) == 0;
}

/* Appends MD5's padding to the len message bytes in buf (RFC 1321 §3.1,
   §3.2).  Returns the number of 64-byte blocks. */
AI size_t md5_pad(uint8_t *buf, size_t len)
{
	size_t total = (len + 8) / 64 * 64 + 64;
	uint64_t bits = (uint64_t)len * 8;

	buf[len] = 0x80;
	memset(buf + len + 1, 0, total - 8 - len - 1);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(buf + total - 8, &bits, 8);
#else
	for (int i = 0; i < 8; i++)
		buf[total - 8 + i] = (uint8_t)(bits >> (8 * i));
#endif
	return total / 64;
}

AI uint32_t le32(const uint8_t *p)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
#endif
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* a macro, not a function: a vector by value would change the ABI of
   the baseline copy (-Wpsabi) */
#define ROTL(x, s) (((x) << (s)) | ((x) >> (32 - (s))))

/* The four state words of eight MD5s. */
struct state {
	lane_v a, b, c, d;
};

#define STEP(f, a, b, c, d, k, t, s)                                           \
	do {                                                                   \
		(a) += f((b), (c), (d)) + x[(k)] + (t);                        \
		(a) = (b) + ROTL((a), (s));                                    \
	} while (0)
#define FF(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define GG(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define HH(x, y, z) ((x) ^ (y) ^ (z))
#define II(x, y, z) ((y) ^ ((x) | ~(z)))

/* RFC 1321 §3.4: one block per lane into *st. */
AI void md5_compress(struct state *st, const lane_v x[16])
{
	lane_v a = st->a, b = st->b, c = st->c, d = st->d;
	static const int s1[4] = {7, 12, 17, 22}, s2[4] = {5, 9, 14, 20},
			 s3[4] = {4, 11, 16, 23}, s4[4] = {6, 10, 15, 21};

#pragma GCC unroll 4
	for (int i = 0; i < 16; i += 4) {
		STEP(FF, a, b, c, d, i, md5_t[i], s1[0]);
		STEP(FF, d, a, b, c, i + 1, md5_t[i + 1], s1[1]);
		STEP(FF, c, d, a, b, i + 2, md5_t[i + 2], s1[2]);
		STEP(FF, b, c, d, a, i + 3, md5_t[i + 3], s1[3]);
	}
#pragma GCC unroll 4
	for (int i = 16; i < 32; i += 4) {
		STEP(GG, a, b, c, d, (5 * i + 1) % 16, md5_t[i], s2[0]);
		STEP(GG, d, a, b, c, (5 * i + 6) % 16, md5_t[i + 1], s2[1]);
		STEP(GG, c, d, a, b, (5 * i + 11) % 16, md5_t[i + 2], s2[2]);
		STEP(GG, b, c, d, a, (5 * i + 16) % 16, md5_t[i + 3], s2[3]);
	}
#pragma GCC unroll 4
	for (int i = 32; i < 48; i += 4) {
		STEP(HH, a, b, c, d, (3 * i + 5) % 16, md5_t[i], s3[0]);
		STEP(HH, d, a, b, c, (3 * i + 8) % 16, md5_t[i + 1], s3[1]);
		STEP(HH, c, d, a, b, (3 * i + 11) % 16, md5_t[i + 2], s3[2]);
		STEP(HH, b, c, d, a, (3 * i + 14) % 16, md5_t[i + 3], s3[3]);
	}
#pragma GCC unroll 4
	for (int i = 48; i < 64; i += 4) {
		STEP(II, a, b, c, d, (7 * i) % 16, md5_t[i], s4[0]);
		STEP(II, d, a, b, c, (7 * i + 7) % 16, md5_t[i + 1], s4[1]);
		STEP(II, c, d, a, b, (7 * i + 14) % 16, md5_t[i + 2], s4[2]);
		STEP(II, b, c, d, a, (7 * i + 21) % 16, md5_t[i + 3], s4[3]);
	}
	st->a += a;
	st->b += b;
	st->c += c;
	st->d += d;
}

/* *st = *nx in the lanes of m, unchanged in the others (their messages
   have ended). */
AI void keep_ended(struct state *st, const struct state *nx, const lane_v *m)
{
	st->a = (nx->a & *m) | (st->a & ~*m);
	st->b = (nx->b & *m) | (st->b & ~*m);
	st->c = (nx->c & *m) | (st->c & ~*m);
	st->d = (nx->d & *m) | (st->d & ~*m);
}

/* MD5 of every lane's padded message w->msg[l] (w->nblocks[l] blocks)
   into w->dst[l]. */
AI void md5_lanes(struct work *w)
{
	struct state st, nx;
	size_t maxb = 0;
	lane_v x[16];

	for (int l = 0; l < LANES; l++)
		if (w->nblocks[l] > maxb)
			maxb = w->nblocks[l];
	st.a = (lane_v){0} + 0x67452301u;
	st.b = (lane_v){0} + 0xefcdab89u;
	st.c = (lane_v){0} + 0x98badcfeu;
	st.d = (lane_v){0} + 0x10325476u;
	for (size_t k = 0; k < maxb; k++) {
		lane_v m;
#pragma GCC unroll 16
		for (int j = 0; j < 16; j++) {
			const size_t o = 64 * k + 4 * (size_t)j;
			x[j] =
			    (lane_v){le32(w->msg[0] + o), le32(w->msg[1] + o),
				     le32(w->msg[2] + o), le32(w->msg[3] + o),
				     le32(w->msg[4] + o), le32(w->msg[5] + o),
				     le32(w->msg[6] + o), le32(w->msg[7] + o)};
		}
		nx = st;
		md5_compress(&nx, x);
		for (int l = 0; l < LANES; l++)
			m[l] = k < w->nblocks[l] ? UINT32_MAX : 0;
		keep_ended(&st, &nx, &m);
	}
	{
		uint32_t v[4][LANES];
		memcpy(v[0], &st.a, sizeof(st.a));
		memcpy(v[1], &st.b, sizeof(st.b));
		memcpy(v[2], &st.c, sizeof(st.c));
		memcpy(v[3], &st.d, sizeof(st.d));
		for (int l = 0; l < LANES; l++) {
			for (int i = 0; i < 4; i++) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				memcpy(w->dst[l] + 4 * i, &v[i][l], 4);
#else
				for (int j = 0; j < 4; j++)
					w->dst[l][4 * i + j] =
					    (uint8_t)(v[i][l] >> (8 * j));
#endif
			}
		}
	}
	explicit_bzero(x, sizeof(x));
}

AI uint8_t *put(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

/* Lane l's template for round shape k (see SHAPES). */
static void build_shape(struct work *w, int k, int l, const struct lane_in *in)
{
	uint8_t *p = w->tpl[k][l];

	/* the digest's bytes stay zero: rounds() or-s it in */
	if (k & 1) {
		p = put(p, in->pw, in->plen);
	} else {
		w->doff[k][l] = 0;
		memset(p, 0, 16);
		p += 16;
	}
	if (k & 2)
		p = put(p, in->salt, in->slen);
	if (k & 4)
		p = put(p, in->pw, in->plen);
	if (k & 1) {
		w->doff[k][l] = (size_t)(p - w->tpl[k][l]);
		memset(p, 0, 16);
		p += 16;
	} else {
		p = put(p, in->pw, in->plen);
	}
	w->tpl_nblocks[k][l] =
	    md5_pad(w->tpl[k][l], (size_t)(p - w->tpl[k][l]));
}

/* Sets lane l in the mask of shape sh's insert (wd, i, hi), adding it in
   word order. */
static void add_insert(struct shape *sh, unsigned wd, unsigned i, bool hi,
		       int l)
{
	size_t e = 0;

	while (e < sh->nins &&
	       (sh->ins[e].w != wd || sh->ins[e].i != i || sh->ins[e].hi != hi))
		e++;
	if (e == sh->nins) {
		/* after every insert of a word up to wd */
		e = 0;
		while (e < sh->nins && sh->ins[e].w <= wd)
			e++;
		memmove(&sh->ins[e + 1], &sh->ins[e],
			(sh->nins - e) * sizeof(sh->ins[0]));
		sh->ins[e] = (struct insert){.w = wd, .i = i, .hi = hi};
		sh->nins++;
	}
	sh->ins[e].mask[l] = UINT32_MAX;
}

/* The shapes in vector form (struct shape, w->tv) from the lanes' byte
   templates. */
static void vectorize(struct work *w)
{
	size_t total = 0;

	for (int k = 0; k < SHAPES; k++) {
		struct shape *sh = &w->shape[k];
		sh->nblocks = 0;
		sh->ragged = false;
		sh->nins = 0;
		for (int l = 0; l < LANES; l++)
			if (w->tpl_nblocks[k][l] > sh->nblocks)
				sh->nblocks = w->tpl_nblocks[k][l];
		for (int l = 0; l < LANES; l++)
			if (w->tpl_nblocks[k][l] != sh->nblocks)
				sh->ragged = true;
		total += 16 * sh->nblocks;
	}
	w->tv_words = total;
	w->tv_all = aligned_alloc(sizeof(lane_v), total * sizeof(lane_v));
	if (w->tv_all == NULL)
		abort(); /* as xmalloc */
	lane_v *p = w->tv_all;
	for (int k = 0; k < SHAPES; k++) {
		struct shape *sh = &w->shape[k];
		w->tv[k] = p;
		for (size_t b = 0; b < sh->nblocks; b++)
			for (size_t j = 0; j < 16; j++)
				for (int l = 0; l < LANES; l++)
					p[16 * b + j][l] =
					    b < w->tpl_nblocks[k][l]
						? le32(w->tpl[k][l] + 64 * b +
						       4 * j)
						: 0;
		p += 16 * sh->nblocks;
		for (int l = 0; l < LANES; l++) {
			unsigned q = (unsigned)(w->doff[k][l] / 4);
			unsigned r = (unsigned)(w->doff[k][l] % 4);
			sh->shl[l] = 8 * r;
			sh->shr[l] = 31 - 8 * r;
			for (unsigned i = 0; i < 4; i++) {
				add_insert(sh, q + i, i, false, l);
				if (r != 0)
					add_insert(sh, q + i + 1, i, true, l);
			}
		}
	}
}

static unsigned shape_of(unsigned i)
{
	return (i & 1) | (i % 3 != 0) << 1 | (i % 7 != 0) << 2;
}

/*
 * The 1,000 rounds with the digest kept in vectors: round i's message is
 * shape k's template words with the previous digest (d, four words per
 * lane) or-ed in at each lane's offset, word by word: a lane whose digest
 * starts at byte 4q + r gets d[i] << 8r in word q + i and d[i] >> (32 -
 * 8r) in word q + i + 1.  No byte copies, and no word is stored and read
 * back between rounds.  d: D in, the final digest out.
 */
AI void rounds(const struct work *w, lane_v d[4])
{
	lane_v x[16];

	for (unsigned r = 0; r < 1000; r++) {
		const unsigned k = shape_of(r);
		const struct shape *sh = &w->shape[k];
		const lane_v *tv = w->tv[k];
		lane_v lo[4], hi[4];
		struct state st;
		size_t e = 0;

		for (int i = 0; i < 4; i++) {
			lo[i] = d[i] << sh->shl;
			/* two shifts: a count of 32 is not defined */
			hi[i] = (d[i] >> 1) >> sh->shr;
		}
		st.a = (lane_v){0} + 0x67452301u;
		st.b = (lane_v){0} + 0xefcdab89u;
		st.c = (lane_v){0} + 0x98badcfeu;
		st.d = (lane_v){0} + 0x10325476u;
		for (size_t b = 0; b < sh->nblocks; b++) {
			struct state nx = st;
#pragma GCC unroll 16
			for (int j = 0; j < 16; j++)
				x[j] = tv[16 * b + (size_t)j];
			for (; e < sh->nins && sh->ins[e].w < 16 * (b + 1);
			     e++) {
				const struct insert *in = &sh->ins[e];
				x[in->w - 16 * b] |=
				    (in->hi ? hi[in->i] : lo[in->i]) & in->mask;
			}
			md5_compress(&nx, x);
			if (sh->ragged) {
				lane_v m;
				for (int l = 0; l < LANES; l++)
					m[l] = b < w->tpl_nblocks[k][l]
						   ? UINT32_MAX
						   : 0;
				keep_ended(&st, &nx, &m);
			} else {
				st = nx;
			}
		}
		d[0] = st.a;
		d[1] = st.b;
		d[2] = st.c;
		d[3] = st.d;
	}
	explicit_bzero(x, sizeof(x));
}

/* The whole of MD5-crypt for eight lanes: w->digest gets each lane's
   final digest.  The templates are built by the caller. */
AI void crypt_body(struct work *w, const struct lane_in in[LANES])
{
	/* A = MD5(P S P) */
	for (int l = 0; l < LANES; l++) {
		uint8_t *p = w->buf[l];
		p = put(p, in[l].pw, in[l].plen);
		p = put(p, in[l].salt, in[l].slen);
		p = put(p, in[l].pw, in[l].plen);
		w->nblocks[l] = md5_pad(w->buf[l], (size_t)(p - w->buf[l]));
		w->msg[l] = w->buf[l];
		w->dst[l] = w->digest[l];
	}
	md5_lanes(w);
	/* D = MD5(P "$1$" S A... bits), into round 0's template */
	for (int l = 0; l < LANES; l++) {
		uint8_t *p = w->buf[l];
		p = put(p, in[l].pw, in[l].plen);
		p = put(p, "$1$", 3);
		p = put(p, in[l].salt, in[l].slen);
		for (size_t n = in[l].plen; n > 0; n -= n > 16 ? 16 : n)
			p = put(p, w->digest[l], n > 16 ? 16 : n);
		for (size_t n = in[l].plen; n > 0; n >>= 1)
			*p++ = (n & 1) ? 0 : (uint8_t)in[l].pw[0];
		w->nblocks[l] = md5_pad(w->buf[l], (size_t)(p - w->buf[l]));
		w->dst[l] = w->digest[l];
	}
	md5_lanes(w);
	lane_v d[4];
	for (int i = 0; i < 4; i++)
		for (int l = 0; l < LANES; l++)
			d[i][l] = le32(w->digest[l] + 4 * i);
	rounds(w, d);
	for (int l = 0; l < LANES; l++) {
		for (int i = 0; i < 4; i++) {
			uint32_t v = d[i][l];
			for (int j = 0; j < 4; j++)
				w->digest[l][4 * i + j] =
				    (uint8_t)(v >> (8 * j));
		}
	}
	explicit_bzero(d, sizeof(d));
}

#if defined(__x86_64__) || defined(__i386__)
#define HAVE_AVX2_PATH 1
__attribute__((target("avx2"))) static void
crypt_avx2(struct work *w, const struct lane_in in[LANES])
{
	crypt_body(w, in);
}

/* The same eight lanes in one 256-bit register, with AVX-512VL's
   instructions on it: GCC turns ROTL into one vprold (AVX2: two shifts
   and an or) and each of FF, GG, HH, II into one vpternlogd, which
   shortens the chain of dependent instructions in every MD5 step, and
   the 32 vector registers spare the spills.  About a quarter less CPU per
   evaluation than the AVX2 copy (docs/authd.md, "Eighth round"). */
__attribute__((target("avx2,avx512f,avx512vl"))) static void
crypt_avx512vl(struct work *w, const struct lane_in in[LANES])
{
	crypt_body(w, in);
}
#endif

static void crypt_generic(struct work *w, const struct lane_in in[LANES])
{
	crypt_body(w, in);
}

enum impl { IMPL_GENERIC, IMPL_AVX2, IMPL_AVX512VL };

/* The best copy this CPU runs. */
static enum impl cpu_impl(void)
{
#ifdef HAVE_AVX2_PATH
	static int cached = -1;
	if (cached < 0) {
		__builtin_cpu_init();
		cached = !__builtin_cpu_supports("avx2") ? IMPL_GENERIC
			 : __builtin_cpu_supports("avx512f") &&
				 __builtin_cpu_supports("avx512vl")
			     ? IMPL_AVX512VL
			     : IMPL_AVX2;
	}
	return (enum impl)cached;
#else
	return IMPL_GENERIC;
#endif
}

/* The copy md5crypt_x8() runs now. */
static enum impl current_impl(void)
{
	enum impl i = cpu_impl();
	if (use_generic)
		return IMPL_GENERIC;
	if (use_avx2 && i > IMPL_AVX2)
		return IMPL_AVX2;
	return i;
}

const char *md5crypt_x8_impl(void)
{
	static const char *const name[] = {"generic", "avx2", "avx512vl"};
	return name[current_impl()];
}

void md5crypt_x8_force_generic(bool on)
{
	use_generic = on;
}

void md5crypt_x8_force_avx2(bool on)
{
	use_avx2 = on;
}

/* crypt's base-64 of three digest bytes (n characters). */
static char *to64(char *p, uint32_t v, int n)
{
	while (n-- > 0) {
		*p++ = b64[v & 0x3f];
		v >>= 6;
	}
	return p;
}

static void encode(char *out, const struct lane_in *in, const uint8_t *d)
{
	char *p = out;

	memcpy(p, "$1$", 3);
	p += 3;
	memcpy(p, in->salt, in->slen);
	p += in->slen;
	*p++ = '$';
	p = to64(p, (uint32_t)d[0] << 16 | (uint32_t)d[6] << 8 | d[12], 4);
	p = to64(p, (uint32_t)d[1] << 16 | (uint32_t)d[7] << 8 | d[13], 4);
	p = to64(p, (uint32_t)d[2] << 16 | (uint32_t)d[8] << 8 | d[14], 4);
	p = to64(p, (uint32_t)d[3] << 16 | (uint32_t)d[9] << 8 | d[15], 4);
	p = to64(p, (uint32_t)d[4] << 16 | (uint32_t)d[10] << 8 | d[5], 4);
	p = to64(p, d[11], 2);
	*p = '\0';
}

/* Wipes what held passwords or digests: the used part of each buffer. */
static void wipe(struct work *w)
{
	explicit_bzero(w->tv_all, w->tv_words * sizeof(lane_v));
	free(w->tv_all);
	for (int k = 0; k < SHAPES; k++)
		for (int l = 0; l < LANES; l++)
			explicit_bzero(w->tpl[k][l], 64 * w->tpl_nblocks[k][l]);
	explicit_bzero(w->buf, sizeof(w->buf));
	explicit_bzero(w->digest, sizeof(w->digest));
}

int md5crypt_x8(size_t n, const char *const password[],
		const char *const setting[], char out[][MD5CRYPT_X8_OUT_SIZE])
{
	struct lane_in in[LANES];
	struct work *w;

	if (n == 0 || n > LANES)
		return -1;
	for (size_t l = 0; l < n; l++) {
		if (!md5crypt_x8_accepts(password[l], setting[l]) ||
		    parse_setting(setting[l], &in[l].salt, &in[l].slen) < 0)
			return -1;
		in[l].pw = password[l];
		in[l].plen = strlen(password[l]);
	}
	/* unused lanes hash the empty password with no salt: one block in
	   every round, never more than a used lane needs */
	for (size_t l = n; l < LANES; l++)
		in[l] = (struct lane_in){"", 0, "", 0};
	/* vector members: aligned for them */
	w = aligned_alloc(sizeof(lane_v), sizeof(*w));
	if (w == NULL)
		abort(); /* as xmalloc */
	memset(w->shape, 0, sizeof(w->shape));
	for (int k = 0; k < SHAPES; k++)
		for (int l = 0; l < LANES; l++)
			build_shape(w, k, l, &in[l]);
	vectorize(w);
	switch (current_impl()) {
#ifdef HAVE_AVX2_PATH
	case IMPL_AVX512VL:
		crypt_avx512vl(w, in);
		break;
	case IMPL_AVX2:
		crypt_avx2(w, in);
		break;
#endif
	default:
		crypt_generic(w, in);
		break;
	}
	for (size_t l = 0; l < n; l++)
		encode(out[l], &in[l], w->digest[l]);
	wipe(w);
	free(w);
	return 0;
}
