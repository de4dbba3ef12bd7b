/*
 * The lane-width half of lib/md5crypt_x8.c, not a public interface: that
 * file includes it once with LANES 8 (one 256-bit vector per state word,
 * in a baseline, an AVX2 and an AVX-512VL copy) and, on x86, once with
 * LANES 16 (one 512-bit vector, an AVX-512 copy only).  The names below
 * get the width appended, so that both instances live in one file; the
 * algorithm and the lane-independent parts (parsing, padding, encoding)
 * are in md5crypt_x8.c.
 */
#ifndef LANES
#error "included by lib/md5crypt_x8.c only, with LANES defined"
#endif

#define lane_v	       MD5X8_NS(lane_v)
#define insert	       MD5X8_NS(insert)
#define shape	       MD5X8_NS(shape)
#define work	       MD5X8_NS(work)
#define state	       MD5X8_NS(state)
#define md5_compress   MD5X8_NS(md5_compress)
#define keep_ended     MD5X8_NS(keep_ended)
#define md5_lanes      MD5X8_NS(md5_lanes)
#define build_shape    MD5X8_NS(build_shape)
#define add_insert     MD5X8_NS(add_insert)
#define vectorize      MD5X8_NS(vectorize)
#define rounds	       MD5X8_NS(rounds)
#define crypt_body     MD5X8_NS(crypt_body)
#define crypt_avx2     MD5X8_NS(crypt_avx2)
#define crypt_avx512vl MD5X8_NS(crypt_avx512vl)
#define crypt_avx512   MD5X8_NS(crypt_avx512)
#define crypt_generic  MD5X8_NS(crypt_generic)
#define wipe	       MD5X8_NS(wipe)
#define hash_lanes     MD5X8_NS(hash_lanes)

typedef uint32_t lane_v __attribute__((vector_size(4 * LANES)));

/* Working memory of one batch (~80 KiB for eight lanes: on the heap, not a
   worker's stack).  msg[l] / nblocks[l]: what md5_lanes() reads; dst[l]: where
   it writes lane l's digest. */
/* One step of putting the previous digest into a round's message: word w
   (of the whole message) of the lanes in mask gets digest word i, shifted
   into place (hi: the part that spills into the next word). */
struct insert {
	lane_v mask;
	unsigned w, i;
	bool hi;
};

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

/* The four state words of LANES MD5s. */
struct state {
	lane_v a, b, c, d;
};

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
			for (int l = 0; l < LANES; l++)
				x[j][l] = le32(w->msg[l] + o);
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

#if LANES == 8
#ifdef HAVE_AVX2_PATH
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
#else
/* Sixteen lanes in one 512-bit register: on a CPU with full-width
   AVX-512 an evaluation of sixteen costs about 1.1 of eight (the MD5
   steps are bound by their dependency chain, not by the vector width). */
__attribute__((target("avx2,avx512f,avx512vl"))) static void
crypt_avx512(struct work *w, const struct lane_in in[LANES])
{
	crypt_body(w, in);
}
#endif

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

/* md5crypt_x8() for n (1..LANES) checked pairs in the copy impl (for
   LANES 16: the AVX-512 one, whatever impl says). */
static void hash_lanes(size_t n, const struct lane_in *used, enum impl impl,
		       char out[][MD5CRYPT_X8_OUT_SIZE])
{
	struct lane_in in[LANES];
	struct work *w;

	memcpy(in, used, n * sizeof(in[0]));
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
#if LANES == 8
	switch (impl) {
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
#else
	(void)impl;
	crypt_avx512(w, in);
#endif
	for (size_t l = 0; l < n; l++)
		encode(out[l], &in[l], w->digest[l]);
	wipe(w);
	free(w);
}

#undef lane_v
#undef insert
#undef shape
#undef work
#undef state
#undef md5_compress
#undef keep_ended
#undef md5_lanes
#undef build_shape
#undef add_insert
#undef vectorize
#undef rounds
#undef crypt_body
#undef crypt_avx2
#undef crypt_avx512vl
#undef crypt_avx512
#undef crypt_generic
#undef wipe
#undef hash_lanes
