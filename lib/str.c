/* Byte-string helpers and range-checked number parsing; see str.h. */
#include "str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct str str_from_cstr(const char *s)
{
	return (struct str){s, strlen(s)};
}

bool str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool str_eq_cstr(struct str a, const char *s)
{
	return str_eq(a, str_from_cstr(s));
}

bool str_case_eq_cstr(struct str a, const char *s)
{
	size_t n = strlen(s);
	return a.len == n && (n == 0 || strncasecmp(a.p, s, n) == 0);
}

bool str_has_prefix_case(struct str a, const char *prefix)
{
	size_t n = strlen(prefix);
	return a.len >= n && (n == 0 || strncasecmp(a.p, prefix, n) == 0);
}

struct str str_trim(struct str s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

void str_fmt_trunc(char *out, size_t sz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, sz, fmt, ap);
	va_end(ap);
	if (n < 0 && sz > 0)
		out[0] = '\0';
}

size_t str_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp_r)
{
	unsigned char c = p[0];
	size_t l;
	uint32_t v;
	if (c < 0x80) {
		l = 1;
		v = c;
	} else if (c >= 0xc2 && c <= 0xdf) {
		l = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		l = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		l = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (n < l)
		return 0;
	for (size_t i = 1; i < l; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if ((l == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (l == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	if (cp_r != NULL)
		*cp_r = v;
	return l;
}

size_t str_utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int str_to_u64(struct str s, uint64_t min, uint64_t max, uint64_t *v_r)
{
	if (s.len == 0 || s.len > 20)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c < '0' || c > '9')
			return -1;
		unsigned d = c - '0';
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*v_r = v;
	return 0;
}

int str_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v_r)
{
	return str_to_u64(str_from_cstr(s), min, max, v_r);
}

int str_parse_i64(const char *s, int64_t min, int64_t max, int64_t *v_r)
{
	bool neg = s[0] == '-';
	uint64_t u;
	if (str_parse_u64(s + neg, 0, (uint64_t)INT64_MAX + neg, &u) < 0)
		return -1;
	int64_t v = neg ? (int64_t)(0 - u) : (int64_t)u;
	if (neg && u == 0)
		return -1; /* "-0" is not a number anyone means */
	if (v < min || v > max)
		return -1;
	*v_r = v;
	return 0;
}

void str_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

bool str_is_printable(struct str s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] < 0x20 ||
		    (unsigned char)s.p[i] > 0x7e)
			return false;
	return true;
}

bool str_is_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool str_is_hostname(struct str s)
{
	if (s.len == 0 || s.len > STR_HOSTNAME_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!str_is_host_char((unsigned char)s.p[i]))
			return false;
	return true;
}

bool str_secure_eq(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

int str_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
