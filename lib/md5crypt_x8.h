/*
 * MD5-crypt ("$1$", FreeBSD's scheme as libxcrypt implements it) for up to
 * eight (password, setting) pairs at once: a multi-buffer MD5 keeps eight
 * independent MD5 states, one per 32-bit lane of a 256-bit vector (with
 * AVX-512VL's rotate and ternary-logic instructions, or AVX2, when the CPU
 * has them, chosen at run time; the same code on the baseline instruction
 * set elsewhere).  Each result is byte-for-byte what crypt_r()
 * returns; the unit test and the fuzz target compare them.  Thread-safe:
 * no shared state beyond a dispatch flag set once.
 */
#ifndef YOUJU_MD5CRYPT_X8_H
#define YOUJU_MD5CRYPT_X8_H

#include <stdbool.h>
#include <stddef.h>

#define MD5CRYPT_X8_LANES 8
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
 * Hashes n (1..MD5CRYPT_X8_LANES) pairs: out[i] gets the NUL-terminated
 * "$1$<salt>$<hash>" of password[i] under setting[i].  Returns 0, or -1
 * (nothing written) when n is out of range or a pair is not accepted by
 * md5crypt_x8_accepts().  Temporary copies of the passwords are wiped.
 */
int md5crypt_x8(size_t n, const char *const password[],
		const char *const setting[], char out[][MD5CRYPT_X8_OUT_SIZE]);

/* "avx512vl", "avx2" or "generic": the implementation md5crypt_x8() runs
   now. */
const char *md5crypt_x8_impl(void);

/* Tests and benchmarks: force the baseline code even on an AVX2 CPU. */
void md5crypt_x8_force_generic(bool on);

/* Tests and benchmarks: the AVX2 code even on an AVX-512VL CPU (no effect
   on a CPU without AVX-512VL; force_generic wins). */
void md5crypt_x8_force_avx2(bool on);

#endif
