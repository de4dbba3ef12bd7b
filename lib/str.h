/*
 * Byte strings from the network or disk (pointer + length, never assumed to
 * be NUL-terminated) and the range-checked number parsers that replace
 * atoi() and friends.
 */
#ifndef YOUJU_STR_H
#define YOUJU_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct str {
	const char *p;
	size_t len;
};

#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})

/* A str over a C string (borrowed). */
struct str str_from_cstr(const char *s);
bool str_eq(struct str a, struct str b);
bool str_eq_cstr(struct str a, const char *s);
/* ASCII case-insensitive comparisons. */
bool str_case_eq_cstr(struct str a, const char *s);
bool str_has_prefix_case(struct str a, const char *prefix);
/* Drops leading and trailing spaces and tabs. */
struct str str_trim(struct str s);
/*
 * snprintf into out (size sz) that truncates on purpose: replies and
 * reasons meant for logs and error messages, where a cut text is better
 * than none.  An encoding error leaves "".  Not for names or paths.
 */
__attribute__((format(printf, 3, 4))) void str_fmt_trunc(char *out, size_t sz,
							 const char *fmt, ...);

/*
 * Parses all of s as a decimal number in [min, max].  Leading '+', '-',
 * spaces and trailing junk are rejected.  Returns 0, or -1 with *v untouched.
 */
__attribute__((warn_unused_result)) int str_to_u64(struct str s, uint64_t min,
						   uint64_t max, uint64_t *v_r);
/* The same for a C string. */
__attribute__((warn_unused_result)) int
str_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v_r);
/* Like str_parse_u64 for a signed range. */
__attribute__((warn_unused_result)) int
str_parse_i64(const char *s, int64_t min, int64_t max, int64_t *v_r);

/* The UTF-8 form of code point cp (at most 0x10ffff; callers refuse or
   replace surrogates first) into out.  Returns its length, 1 to 4. */
size_t str_utf8_encode(uint32_t cp, char out[4]);

/* The length (1 to 4) of the well-formed UTF-8 sequence at p[0..n), n >= 1,
   with its code point in *cp_r (when cp_r is not NULL); 0 when p does not
   start with one (a stray or cut-short sequence, an overlong form, a
   surrogate, past U+10FFFF). */
size_t str_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp_r);

/* Lower-cases ASCII letters in place. */
void str_lower(char *s);
/* True when every byte of s is printable ASCII (0x20..0x7e). */
bool str_is_printable(struct str s);

/*
 * Host-name bytes, the one rule for HELO names, PTR names, listen
 * addresses and the domains of SMTP addresses: letters, digits, '-', '.'
 * and '_' (RFC 1123 2.1 plus the underscore that real names carry, as
 * Postfix's valid_hostname() lets through).
 */
bool str_is_host_char(unsigned char c);
/* True when s is 1..STR_HOSTNAME_MAX host-name bytes (no NUL, no
   brackets: an address literal is not a name). */
#define STR_HOSTNAME_MAX 255
bool str_is_hostname(struct str s);

/* The value of one hexadecimal digit (either case), or -1. */
int str_hex_digit(char c);
/* Constant-time equality of two byte strings of equal length n. */
bool str_secure_eq(const void *a, const void *b, size_t n);

#endif
