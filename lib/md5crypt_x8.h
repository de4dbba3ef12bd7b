/*
 * MD5-crypt ("$1$", FreeBSD's scheme as libxcrypt implements it) for up to
 * eight (password, setting) pairs at once, sixteen on a CPU with AVX-512: a
 * multi-buffer MD5 keeps independent MD5 states, one per 32-bit lane of a
 * 256-bit vector (with AVX-512VL's rotate and ternary-logic instructions,
 * or AVX2, when the CPU has them, chosen at run time; the same code on the
 * baseline instruction set elsewhere) or of a 512-bit one.  Each result is
 * byte-for-byte what crypt_r() returns; the unit test and the fuzz target
 * compare them.  Thread-safe: no shared state beyond a dispatch flag set once.
 */
#ifndef YOUJU_MD5CRYPT_X8_H
#define YOUJU_MD5CRYPT_X8_H

#include <stdbool.h>
#include <stddef.h>

/* The lanes of one 256-bit vector; a CPU with AVX-512 also runs sixteen in
   one 512-bit vector (md5crypt_x8_max). */
#define MD5CRYPT_X8_LANES     8
#define MD5CRYPT_X8_LANES_MAX 16
/* "$1$" + salt (at most 8) + "$" + 22 characters + NUL */
#define MD5CRYPT_X8_OUT_SIZE 36
/* Longest password accepted (libxcrypt's limit, its size counts the NUL). */
#define MD5CRYPT_X8_PASSWORD_MAX 511

/*
 * True when md5crypt_x8() can hash password with setting: setting starts
 * with "$1$", the salt (what follows, up to a '$' or the end) uses only
 * crypt's "./0-9A-Za-z" (more than 8 characters are cut to 8, as libxcrypt
 * does), and password is at most MD5CRYPT_X8_PASSWORD_MAX bytes.  Anything
 * else (crypt_r may still accept some of it) is the caller's to hand to
 * crypt_r().
 */
bool md5crypt_x8_accepts(const char *password, const char *setting);

/*
 * Hashes n (1..md5crypt_x8_max()) pairs: out[i] gets the NUL-terminated
 * "$1$<salt>$<hash>" of password[i] under setting[i].  Returns 0, or -1
 * (nothing written) when n is out of range or a pair is not accepted by
 * md5crypt_x8_accepts().  Temporary copies of the passwords are wiped.
 */
int md5crypt_x8(size_t n, const char *const password[],
		const char *const setting[], char out[][MD5CRYPT_X8_OUT_SIZE]);

/* The most pairs md5crypt_x8() takes now: MD5CRYPT_X8_LANES_MAX with the
   AVX-512 code, else MD5CRYPT_X8_LANES.  Up to eight run in a 256-bit
   vector, nine to sixteen in a 512-bit one (about 1.1 times the cost). */
size_t md5crypt_x8_max(void);

/* "avx512vl" (with sixteen lanes in AVX-512), "avx2" or "generic": the
   implementation md5crypt_x8() runs now. */
const char *md5crypt_x8_impl(void);

/* Tests and benchmarks: force the baseline code even on an AVX2 CPU. */
void md5crypt_x8_force_generic(bool on);

/* Tests and benchmarks: the AVX2 code even on an AVX-512VL CPU (no effect
   on a CPU without AVX-512VL; force_generic wins). */
void md5crypt_x8_force_avx2(bool on);

#endif
