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

#if defined(__x86_64__) || defined(__i386__)
#define HAVE_AVX2_PATH 1
#endif

#define SALT_MAX 8
/* The longest message: the second digest's P "$1$" S A-bytes bits, or a
   round's P S P D; plus padding, in whole blocks. */
#define MSG_MAX	   (2 * MD5CRYPT_X8_PASSWORD_MAX + 3 + SALT_MAX + 16 + 9 + 64 + 63)
#define BLOCKS_MAX (MSG_MAX / 64)
#define BUF_SIZE   (BLOCKS_MAX * 64)

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

/* At most: LANES x 4 digest words x (lo, hi). */
#define INSERTS_MAX (LANES * 8)

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

#define STEP(f, a, b, c, d, k, t, s)                                           \
	do {                                                                   \
		(a) += f((b), (c), (d)) + x[(k)] + (t);                        \
		(a) = (b) + ROTL((a), (s));                                    \
	} while (0)
#define FF(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define GG(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define HH(x, y, z) ((x) ^ (y) ^ (z))
#define II(x, y, z) ((y) ^ ((x) | ~(z)))

AI uint8_t *put(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

static unsigned shape_of(unsigned i)
{
	return (i & 1) | (i % 3 != 0) << 1 | (i % 7 != 0) << 2;
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

/* The lane-width half, once per width (md5crypt_x8_width.h): lane_v,
   struct work, crypt_body ... become lane_v_8, work_8, crypt_body_8 and
   lane_v_16 ... */
#define MD5X8_CAT(a, b)	 a##_##b
#define MD5X8_XCAT(a, b) MD5X8_CAT(a, b)
#define MD5X8_NS(name)	 MD5X8_XCAT(name, LANES)
#define LANES		 MD5CRYPT_X8_LANES
#include "md5crypt_x8_width.h"
#undef LANES
#ifdef HAVE_AVX2_PATH
#define LANES MD5CRYPT_X8_LANES_MAX
#include "md5crypt_x8_width.h"
#undef LANES
#endif

size_t md5crypt_x8_max(void)
{
	return current_impl() == IMPL_AVX512VL ? MD5CRYPT_X8_LANES_MAX
					       : MD5CRYPT_X8_LANES;
}

int md5crypt_x8(size_t n, const char *const password[],
		const char *const setting[], char out[][MD5CRYPT_X8_OUT_SIZE])
{
	struct lane_in in[MD5CRYPT_X8_LANES_MAX];

	if (n == 0 || n > md5crypt_x8_max())
		return -1;
	for (size_t l = 0; l < n; l++) {
		if (!md5crypt_x8_accepts(password[l], setting[l]) ||
		    parse_setting(setting[l], &in[l].salt, &in[l].slen) < 0)
			return -1;
		in[l].pw = password[l];
		in[l].plen = strlen(password[l]);
	}
	/* eight or fewer: the 256-bit copy, which costs less than sixteen
	   lanes with half of them empty */
#ifdef HAVE_AVX2_PATH
	if (n > MD5CRYPT_X8_LANES)
		hash_lanes_16(n, in, current_impl(), out);
	else
#endif
		hash_lanes_8(n, in, current_impl(), out);
	return 0;
}
