/*
 * In-memory session store and cookie parsing (see websession.h).  IDs are
 * uniformly random hex, so their first digits pick a hash bucket directly;
 * the full ID is then compared in constant time.  One mutex guards the
 * store: every operation is a few pointer steps.
 */
#include "websession.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "str.h"
#include "xalloc.h"

#define BUCKETS		  4096
#define COOKIE_HEADER_MAX 8192
#define COOKIES_MAX	  64

struct sess {
	char id[WEBSESSION_ID_LEN + 1];
	struct websession_info info;
	struct sess *next;
};

struct websession_store {
	pthread_mutex_t lock;
	struct sess *bucket[BUCKETS];
	size_t n, max;
	int64_t idle, absolute;
};

static int64_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int websession_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	if (nbytes > sizeof raw) {
		errno = EINVAL;
		return -1;
	}
	size_t got = 0;
	while (got < nbytes) {
		ssize_t n = getrandom(raw + got, nbytes - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
	explicit_bzero(raw, sizeof raw);
	return 0;
}

bool websession_id_valid(const char *s)
{
	size_t i;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= WEBSESSION_ID_LEN)
			return false;
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return i == WEBSESSION_ID_LEN;
}

static size_t bucket_of(const char *id)
{
	size_t h = 0;
	for (int i = 0; i < 3; i++)
		h = h * 16 + (size_t)str_hex_digit(id[i]);
	return h % BUCKETS;
}

struct websession_store *websession_store_new(size_t max, int64_t idle,
					      int64_t absolute)
{
	struct websession_store *st = xcalloc(1, sizeof *st);
	pthread_mutex_init(&st->lock, NULL);
	st->max = max > 0 ? max : 1;
	st->idle = idle;
	st->absolute = absolute;
	return st;
}

static void sess_free(struct sess *s)
{
	explicit_bzero(s, sizeof *s);
	free(s);
}

void websession_store_free(struct websession_store **stp)
{
	struct websession_store *st = *stp;
	if (st == NULL)
		return;
	for (size_t b = 0; b < BUCKETS; b++)
		while (st->bucket[b] != NULL) {
			struct sess *s = st->bucket[b];
			st->bucket[b] = s->next;
			sess_free(s);
		}
	pthread_mutex_destroy(&st->lock);
	free(st);
	*stp = NULL;
}

static bool expired(const struct websession_store *st, const struct sess *s,
		    int64_t now)
{
	return now - s->info.last >= st->idle ||
	       now - s->info.created >= st->absolute;
}

/* Drops expired sessions; when still full, the oldest.  Lock held. */
static void make_room(struct websession_store *st, int64_t now)
{
	struct sess *oldest = NULL;
	for (size_t b = 0; b < BUCKETS; b++) {
		struct sess **pp = &st->bucket[b];
		while (*pp != NULL) {
			struct sess *s = *pp;
			if (expired(st, s, now)) {
				*pp = s->next;
				sess_free(s);
				st->n--;
				continue;
			}
			if (oldest == NULL || s->info.last < oldest->info.last)
				oldest = s;
			pp = &s->next;
		}
	}
	if (st->n < st->max || oldest == NULL)
		return;
	struct sess **pp = &st->bucket[bucket_of(oldest->id)];
	while (*pp != oldest)
		pp = &(*pp)->next;
	*pp = oldest->next;
	sess_free(oldest);
	st->n--;
}

int websession_create(struct websession_store *st, const char *user,
		      const char *role, char *id_r,
		      struct websession_info *info_r)
{
	struct sess *s = xcalloc(1, sizeof *s);
	if (websession_random_hex(s->id, WEBSESSION_ID_LEN / 2) < 0 ||
	    websession_random_hex(s->info.csrf, WEBSESSION_ID_LEN / 2) < 0) {
		sess_free(s);
		return -1;
	}
	snprintf(s->info.user, sizeof s->info.user, "%s", user);
	snprintf(s->info.role, sizeof s->info.role, "%s", role);
	int64_t now = now_s();
	s->info.created = s->info.last = now;
	pthread_mutex_lock(&st->lock);
	if (st->n >= st->max)
		make_room(st, now);
	size_t b = bucket_of(s->id);
	s->next = st->bucket[b];
	st->bucket[b] = s;
	st->n++;
	memcpy(id_r, s->id, sizeof s->id);
	*info_r = s->info;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* The session's link pointer, or NULL.  Lock held. */
static struct sess **find(struct websession_store *st, const char *id)
{
	struct sess **pp = &st->bucket[bucket_of(id)];
	for (; *pp != NULL; pp = &(*pp)->next)
		if (str_secure_eq((*pp)->id, id, WEBSESSION_ID_LEN))
			return pp;
	return NULL;
}

bool websession_get(struct websession_store *st, const char *id,
		    struct websession_info *info_r)
{
	if (id == NULL || !websession_id_valid(id))
		return false;
	int64_t now = now_s();
	bool ok = false;
	pthread_mutex_lock(&st->lock);
	struct sess **pp = find(st, id);
	if (pp != NULL) {
		struct sess *s = *pp;
		if (expired(st, s, now)) {
			*pp = s->next;
			sess_free(s);
			st->n--;
		} else {
			s->info.last = now;
			*info_r = s->info;
			ok = true;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return ok;
}

void websession_destroy(struct websession_store *st, const char *id)
{
	if (id == NULL || !websession_id_valid(id))
		return;
	pthread_mutex_lock(&st->lock);
	struct sess **pp = find(st, id);
	if (pp != NULL) {
		struct sess *s = *pp;
		*pp = s->next;
		sess_free(s);
		st->n--;
	}
	pthread_mutex_unlock(&st->lock);
}

size_t websession_destroy_user(struct websession_store *st, const char *user)
{
	size_t n = 0;
	pthread_mutex_lock(&st->lock);
	for (size_t b = 0; b < BUCKETS; b++) {
		struct sess **pp = &st->bucket[b];
		while (*pp != NULL) {
			struct sess *s = *pp;
			if (strcmp(s->info.user, user) == 0) {
				*pp = s->next;
				sess_free(s);
				st->n--;
				n++;
				continue;
			}
			pp = &s->next;
		}
	}
	pthread_mutex_unlock(&st->lock);
	return n;
}

bool websession_csrf_ok(const struct websession_info *info, const char *token)
{
	if (token == NULL || strlen(token) != WEBSESSION_ID_LEN)
		return false;
	return str_secure_eq(info->csrf, token, WEBSESSION_ID_LEN);
}

/* RFC 6265 §4.1.1 cookie-octet */
static bool cookie_octet(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) ||
	       (c >= 0x2d && c <= 0x3a) || (c >= 0x3c && c <= 0x5b) ||
	       (c >= 0x5d && c <= 0x7e);
}

bool websession_cookie_get(const char *header, size_t len, const char *name,
			   char *out, size_t outsz)
{
	if (header == NULL || len > COOKIE_HEADER_MAX || outsz == 0)
		return false;
	size_t nlen = strlen(name);
	size_t i = 0, count = 0;
	while (i < len) {
		if (++count > COOKIES_MAX)
			return false;
		while (i < len && (header[i] == ' ' || header[i] == '\t'))
			i++;
		size_t start = i;
		while (i < len && header[i] != ';')
			i++;
		size_t end = i;
		if (i < len)
			i++; /* the ';' */
		/* one pair: [start, end) */
		const char *p = header + start;
		size_t plen = end - start;
		const char *eq = memchr(p, '=', plen);
		if (eq == NULL)
			continue;
		size_t klen = (size_t)(eq - p);
		while (klen > 0 && (p[klen - 1] == ' ' || p[klen - 1] == '\t'))
			klen--;
		if (klen != nlen || memcmp(p, name, nlen) != 0)
			continue;
		const char *v = eq + 1;
		size_t vlen = plen - (size_t)(v - p);
		while (vlen > 0 && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
			v++, vlen -= 2;
		if (vlen >= outsz)
			return false;
		for (size_t k = 0; k < vlen; k++)
			if (!cookie_octet((unsigned char)v[k]))
				return false;
		memcpy(out, v, vlen);
		out[vlen] = '\0';
		return true;
	}
	return false;
}

int websession_set_cookie(char *out, size_t outsz, const char *name,
			  const char *id, bool secure)
{
	int n;
	if (id[0] == '\0')
		n = snprintf(out, outsz,
			     "%s=; Path=/; Max-Age=0; HttpOnly; "
			     "SameSite=Strict%s",
			     name, secure ? "; Secure" : "");
	else
		n = snprintf(out, outsz,
			     "%s=%s; Path=/; HttpOnly; SameSite=Strict%s", name,
			     id, secure ? "; Secure" : "");
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}
